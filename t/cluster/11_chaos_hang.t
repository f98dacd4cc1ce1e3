# Chaos: a memcached server hangs (SIGSTOP: the kernel still accepts
# connections, nothing is ever answered) while clean traffic flows on both
# nodes. No false ban, no crash, clean requests as fast as before (p99 below
# RateLimitWAFMemcachedTimeout), the degradation on both status pages and
# in both event logs, an attacker on the hung server still banned (local
# fallback), and exact counting in memcached once the server runs again
# (RLW::Chaos::run_fault has the details).
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";

use Test::More;
use RLW::Chaos qw(:all);
use RLW::Client qw(:all);
use RLW::Cluster;
use RLW::Httpd;

plan skip_all => 'mod_ratelimit_waf.so is not built'
    unless RLW::Httpd::have_module();

my $c = RLW::Cluster->new(RLW::Chaos::cluster_options())->start;
# The hung server holds the journal too: every node's background task
# meets the fault on its own, without traffic.
my ($K, $X, $Y) = prepare($c, where => 'journal');
my $m = $c->mc($K);
run_fault(c => $c, K => $K, X => $X, Y => $Y, name => 'hang',
          inject => sub { ok $m->pause, "memcached $K frozen (SIGSTOP)" },
          heal   => sub { ok $m->resume, "memcached $K thawed (SIGCONT)" });

$c->stop;
done_testing();
