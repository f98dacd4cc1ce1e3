# A hung memcached server (SIGSTOP: the kernel still accepts connections,
# nothing is ever answered) that holds the keys of attacking clients, not
# the journal. libmemcached skips a server for a retry period only after a
# failed connect, never after a timed-out answer, so each attack counted
# there used to hold its worker for a whole RateLimitWAFMemcachedTimeout.
# The node now holds that server back for a retry period after a timeout
# (rlw_mc_hold()): the attacks on its keys are counted in shared memory at
# once, one timeout per retry period instead of one per attack; once the
# server answers again, counting goes back to memcached.
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
my ($A) = $c->nodes;
my $T = $c->{threshold};
my $retry_s = 1;    # cluster_options: RateLimitWAFMemcachedRetry 1s
my ($K, undef, undef, $J) = prepare($c, where => 'other');
isnt $K, $J, "the hung server $K does not hold the journal ($J)";
my @on = clients_on($c, $A, $K, 5, map {"203.0.113.$_"} 10 .. 150);
is scalar(@on), 5, "five clients counted on server $K: @on";
my $Z = pop @on;    # for after the thaw
my $m = $c->mc($K);

my $e0 = $c->mc_counters($A)->{errors} // 0;
my $f0 = fallbacks($c, $A);
ok $m->pause, "memcached $K frozen (SIGSTOP)";
my $t0 = time;
# One attack meets the hang (a timeout, after its answer went out); the
# attacks sent before that timeout ends are in flight at the same time and
# each meets it too. Then 5 rounds over 4 clients, a little apart (6 or 7
# attacks each in all, below T).
my @st = (attack($A->port, $on[0]));
wait_until(sub { fallbacks($c, $A) > $f0 }, 5, 0.05);
for my $round (1 .. 5) {
    for (@on) {
        push @st, attack($A->port, $_);
        sleep 0.03;
    }
}
my $n = @st;
is statuses(@st), "403 x$n", "the $n attacks answered 403";
# Counting comes after the answer: wait until every one was counted.
ok defined wait_until(sub { fallbacks($c, $A) - $f0 >= $n }, 15, 0.1),
    "node A counted the $n attacks in shared memory";
my $secs = time - $t0;
my $errors = ($c->mc_counters($A)->{errors} // 0) - $e0;
my $bound = 2 + int($secs / $retry_s);    # + the first, + one in flight
cmp_ok $errors, '<=', $bound, sprintf 'node A: %d timeouts for %d attacks '
    . 'on the hung server in %.1f s (at most %d: one per retry period, '
    . 'not one per attack)', $errors, $n, $secs, $bound;
cmp_ok $errors, '>=', 1, 'the hang was noticed (a timeout)';
is_deeply [$c->cleans_everywhere($_)], [200, 200], "$_ is banned nowhere"
    for $on[0];
ok $m->resume, "memcached $K thawed (SIGCONT)";

# The hold ends with its retry period: once the node says healthy again,
# an attack of a client on K is counted in memcached.
my $healthy = wait_until(sub {
    attack($A->port, '192.0.2.250');
    settle(0.2);
    !(degraded($c, $A) // 1) }, 15, 0.3);
ok defined $healthy, 'node A healthy again after the thaw';
my $f1 = fallbacks($c, $A);
attack($A->port, $Z);
settle();
is fallbacks($c, $A) - $f1, 0, "${Z}'s attack after the thaw did not fall back";
is mc_count($c, $Z), 2, "memcached counts ${Z}'s 2 attacks";
is_deeply [crash_lines($A, 0)], [], 'node A logged no crash';

$c->stop;
done_testing();
