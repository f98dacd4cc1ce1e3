# Chaos: a memcached server flaps (stopped and started again, again and
# again, losing its data each time) while clean traffic and attacks flow.
# It is not the journal's server: the nodes see it fail only through the
# calls that reach it. No false ban (attackers below the threshold, whose
# counts are now in memcached, now in a node's shared memory, now lost,
# are never banned), no crash, clean p99 below the memcached timeout, the
# degradation shown and reported in a bounded number of episodes, and
# exact counting once it stays up (RLW::Chaos::run_fault).
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";

use Test::More;
use Time::HiRes qw(time sleep);
use RLW::Chaos qw(:all);
use RLW::Client qw(:all);
use RLW::Cluster;
use RLW::Httpd;

plan skip_all => 'mod_ratelimit_waf.so is not built'
    unless RLW::Httpd::have_module();

my $c = RLW::Cluster->new(RLW::Chaos::cluster_options())->start;
my ($K, $X, $Y) = prepare($c, where => 'other');
my $m = $c->mc($K);

# Down for 1 s, up for 1.5 s, from the inject on, as long as the fault
# lasts (tick is called between the test's requests).
my ($t_flap, $stops, $starts) = (0, 0, 0);
my $tick = sub {
    my $phase = (time - $t_flap) - 2.5 * int((time - $t_flap) / 2.5);
    if ($phase < 1 && $m->running) { $m->stop; $stops++ }
    elsif ($phase >= 1 && !$m->running) { $m->start; $starts++ }
};
my $f = run_fault(c => $c, K => $K, X => $X, Y => $Y, name => 'flap',
                  hold => 8,
                  inject => sub { $t_flap = time; $tick->() },
                  tick => $tick,
                  heal => sub { $m->start unless $m->running;
                                diag "flap: $stops stops, $starts starts" });
cmp_ok $stops, '>=', 3, "memcached $K was stopped $stops times";
# At most one episode per outage, plus one for connections that meet the
# last outage's failure after the heal (an up phase shorter than the quiet
# period after a failure does not even end one): never one per request.
for my $i (0, 1) {
    my ($n) = (split m{/}, $f->{degraded_events})[$i];
    cmp_ok $n, '<=', $stops + 1,
        "node $i: $n degradation episodes for $stops outages";
}

$c->stop;
done_testing();
