# Chaos: a memcached server answers slowly. The issue asks for a netem
# delay on a veth pair; this machine's kernel has no sch_netem
# (CONFIG_NET_SCH_NETEM is not set, no loadable modules), so the nodes reach
# server 1 through RLW::SlowProxy, a relay that holds back every chunk the
# nodes send by a fixed delay. Two phases:
#   - 30 ms per round trip, below RateLimitWAFMemcachedTimeout (100 ms):
#     slow but answering. No degradation, exact counts, bans at T.
#   - 250 ms, above the timeout: every call to it times out, which is a
#     degradation (RLW::Chaos::run_fault: no false ban, no crash, clean p99
#     below the timeout, status page and events, fallback bans, exact
#     counting once the delay is gone).
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
use RLW::SlowProxy;

plan skip_all => 'mod_ratelimit_waf.so is not built'
    unless RLW::Httpd::have_module();

my $c = RLW::Cluster->new(RLW::Chaos::cluster_options());
my $px = RLW::SlowProxy->new(target => $c->mc(1)->port)->start;
$c->set_config('--SERVER=' . $c->mc(0)->server . ' --SERVER=' . $px->server
               . ' --DISTRIBUTION=consistent');
$c->start;
my ($A, $B) = $c->nodes;
my $T = $c->{threshold};

my ($K, $X, $Y) = prepare($c, K => 1);

# Milliseconds of one "version" round trip to server 1 through the relay.
sub round_trip {
    my $m = RLW::Memcached->new(port => $px->port);
    my $t0 = time;
    my $v = eval { $m->command('version') } // '';
    return $v =~ /^VERSION/ ? 1000 * (time - $t0) : -1;
}

# --- slow, within the timeout -------------------------------------------
{
    my $name = 'slow 30ms';
    my $marks = $c->log_marks;
    my @ev = map { RLW::Chaos::event_mark($_) } $A, $B;
    my $fb0 = [map { fallbacks($c, $_) } $A, $B];
    my $load = RLW::Chaos::CleanLoad->start(ports => [$A->port, $B->port]);
    sleep 0.5;
    my $t0 = time;
    $px->set_delay(30);
    my $rt = round_trip();
    cmp_ok $rt, '>=', 25, sprintf '%s: a round trip through the relay takes '
        . '%.0f ms', $name, $rt;
    # A fresh client on the slow server: exact counts, ban at T.
    my ($S) = clients_on($c, $A, $K, 1, map {"203.0.113.$_"} 100 .. 150);
    ok defined $S, "$name: a client counted on the slow server";
    my $t_attack = time;
    my @s = map { attack($c->node($_ % 2)->port, $S) } 1 .. $T - 2;
    settle(0.5);
    is statuses(@s), '403 x' . ($T - 2), "$name: attacks answered 403";
    my $n;
    wait_until(sub { ($n = mc_count($c, $S)) == $T - 1 }, 3, 0.1);
    is $n, $T - 1, "$name: memcached counts its T-1 attacks";
    is_deeply [$c->cleans_everywhere($S)], [200, 200],
        "$name: at T-1 it is banned nowhere";
    attack($A->port, $S);
    my @b = $c->wait_ban_lines($S, $marks);
    is $b[0] && $b[0]{count}, $T, "$name: the T-th attack bans with count=$T";
    my $everywhere = $c->wait_everywhere($S, 404, 5);
    ok defined $everywhere, "$name: banned on both nodes";
    sleep 1;
    my $t1 = time;
    $px->set_delay(0);
    my $r = $load->finish;
    my @lat = map { 1000 * $_->[1] } $load->between($t0, $t1);
    my $p99 = percentile(\@lat, 99);
    is statuses(@{ $r->{statuses} }), '200 x' . scalar(@{ $r->{statuses} }),
        "$name: every clean request answered 200";
    cmp_ok $p99, '<', 100, sprintf '%s: p99 of %d clean requests %.1f ms '
        . '< timeout 100 ms', $name, scalar(@lat), $p99;
    is_deeply [map { fallbacks($c, $_) - $fb0->[$_ == $A ? 0 : 1] } $A, $B],
        [0, 0], "$name: nothing fell back to shared memory";
    is_deeply [map { scalar events($_, 'store_degraded', $ev[$_ == $A ? 0 : 1]) }
               $A, $B], [0, 0], "$name: no store_degraded event";
    is_deeply [map { degraded($c, $_) } $A, $B], [0, 0],
        "$name: both status pages say the store answers";
    is_deeply [$c->log_lines(qr/RLW0011[01]/, $marks)], [],
        "$name: no degradation logged";
    diag fault_report($name, clean_p99_ms => sprintf('%.1f', $p99),
                      clean_requests => scalar @lat,
                      ban_everywhere_s => sprintf('%.2f', $everywhere // -1));
}

# --- slower than the timeout --------------------------------------------
run_fault(c => $c, K => $K, X => $X, Y => $Y, name => 'slow 250ms',
          inject => sub { $px->set_delay(250);
                          my $rt = round_trip();
                          cmp_ok $rt, '>=', 240, sprintf 'slow 250ms: a '
                              . 'round trip takes %.0f ms', $rt },
          heal   => sub { $px->set_delay(0) });

$c->stop;
$px->stop;
done_testing();
