# Propagation, and clean traffic for free: a ban decided on node A reaches
# nodes B and C within one RateLimitWAFSyncInterval (measured); clean
# requests make
# no memcached round trip, with or without a ban running (memcached's own
# stats and the nodes' "ops" counters); an operator's unban and ban
# (tools/rlwafctl) reach every node; a ban that expires ends everywhere.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";

use List::Util qw(max sum);
use Test::More;
use Time::HiRes qw(time sleep);
use RLW::Client qw(:all);
use RLW::Cluster;
use RLW::Httpd;

plan skip_all => 'mod_ratelimit_waf.so is not built'
    unless RLW::Httpd::have_module();

my $T = 10;
my $BAN = 4;
my $SYNC_MS = 250;
my $c = RLW::Cluster->new(nodes => 3, threshold => $T, window => '30s',
                          ban => "${BAN}s", sync => "${SYNC_MS}ms")->start;
my ($A, $B, $C) = $c->nodes;
my @ALL = (0 .. 2);

# --- clean requests cost no memcached round trip -------------------------
my @WRITES = qw(cmd_set cmd_touch incr_hits incr_misses decr_hits
                decr_misses delete_hits delete_misses cas_hits cas_misses
                cas_badval touch_hits touch_misses);
my @READS = qw(cmd_get get_hits get_misses);

sub mc_snapshot { $c->mc_stats_sum(@WRITES, @READS) }

sub delta {
    my ($from, $to, @names) = @_;
    return sum(map { $to->{$_} - $from->{$_} } @names);
}

sub node_ops { [map { $c->mc_counters($_)->{ops} // -1 } $c->nodes] }

# 200 clean requests from 20 clients, spread over the nodes; then idle for
# as long, and checks what memcached saw in both periods.
sub clean_vs_idle {
    my ($label) = @_;
    my $ops0 = node_ops();
    my $s0 = mc_snapshot();
    my $t0 = time;
    my @st;
    for my $i (0 .. 199) {
        push @st, clean($c->node($i % 3)->port, '192.0.2.' . (100 + $i % 20));
    }
    my $len = max(time - $t0, 1.5);
    sleep $t0 + $len - time if $t0 + $len > time;
    my $s1 = mc_snapshot();
    sleep $len;
    my $s2 = mc_snapshot();
    my $ops1 = node_ops();
    is statuses(@st), '200 x200', "$label: 200 clean requests served";
    is delta($s0, $s1, @WRITES), 0,
        "$label: no memcached write, incr, delete, cas or touch";
    is delta($s1, $s2, @WRITES), 0, "$label: none while idle either";
    my $get_clean = delta($s0, $s1, 'cmd_get');
    my $get_idle  = delta($s1, $s2, 'cmd_get');
    # The sync task polls the journal's sequence number once per interval
    # and node (every 200 ms: the interval is rounded down to 100 ms steps).
    my $polls = 3 * (int($len / 0.2) + 2);
    diag sprintf '%s: %.2fs with 200 clean requests: %d gets; idle as '
        . 'long: %d gets (sync polls, at most %d)', $label, $len, $get_clean,
        $get_idle, $polls;
    cmp_ok $get_clean, '<=', $polls,
        "$label: gets while serving are only the sync task's polls";
    cmp_ok $get_clean, '<=', $get_idle + 6,
        "$label: serving clean requests adds no get to an idle period";
    is_deeply [map { $ops1->[$_] - $ops0->[$_] } @ALL], [0, 0, 0],
        "$label: the nodes' own round-trip counters (ops) did not move";
}

clean_vs_idle('no ban running');

# --- propagation ------------------------------------------------------------
# First, attacks from another client on every node, so that each process
# has opened its memcached connections: this part measures propagation, and
# t/cluster/01_exact.t checks counting right after a start.
for my $i (@ALL) {
    attack($c->node($i)->port, '192.0.2.250') for 1 .. 3;
    sleep 0.1;
}
sleep 0.3;
# A bans after T attacks; poll B and C every 10 ms until they answer 404.
my @delays;
for my $k (1 .. 3) {
    my $ip = "198.51.100.3$k";
    my @s = attacks($A->port, $ip, $T - 1);
    settle(0.1);
    my $last = attack($A->port, $ip);
    my $t0 = time;
    my %t;
    my $deadline = $t0 + 3;
    while (time < $deadline && keys(%t) < 3) {
        for my $i (@ALL) {
            $t{$i} //= time - $t0 if clean($c->node($i)->port, $ip) == 404;
        }
        sleep 0.01;
    }
    is statuses(@s, $last), "403 x$T", "client $k: $T attacks on A";
    ok defined $t{0}, sprintf 'client %d: A (which decided) answers 404 '
        . 'after %.0f ms', $k, 1000 * ($t{0} // 0);
    ok defined $t{1} && defined $t{2}, "client $k: B and C learn the ban";
    push @delays, $t{1} // 99, $t{2} // 99;
}
diag sprintf 'propagation A -> B, C: %s ms (SyncInterval %d ms)',
    join(', ', map { sprintf '%.0f', 1000 * $_ } @delays), $SYNC_MS;
cmp_ok 1000 * max(@delays), '<=', $SYNC_MS + 150,
    'B and C answer 404 within SyncInterval + 150 ms of the ban (each time)';

# --- a running ban does not make clean requests of others cost more -------
clean_vs_idle('a ban running');

SKIP: {
    skip 'tools/rlwafctl is not built', 10 unless RLW::Cluster::have_ctl();

    # --- an operator's unban reaches every node --------------------------
    my $ip = '198.51.100.33';
    is_deeply [$c->cleans_everywhere($ip)], [404, 404, 404],
        'client 3 is still banned on every node';
    my ($rc, $out, $err) = $c->ctl('unban', $ip);
    is $rc, 0, 'rlwafctl unban exits 0' or diag "$out $err";
    my $t = $c->wait_everywhere($ip, 200, 2);
    ok defined $t, sprintf 'the unban reaches every node (%.0f ms)',
        1000 * ($t // 0);

    # --- and an operator's ban --------------------------------------------
    my $ip2 = '198.51.100.34';
    ($rc, $out, $err) = $c->ctl('ban', $ip2, '30s');
    is $rc, 0, 'rlwafctl ban 30s exits 0' or diag "$out $err";
    $t = $c->wait_everywhere($ip2, 404, 2);
    ok defined $t, sprintf 'the ban reaches every node (%.0f ms)',
        1000 * ($t // 0);
    ($rc, $out, $err) = $c->ctl('unban', $ip2);
    is $rc, 0, 'rlwafctl unban of it';
    ok defined $c->wait_everywhere($ip2, 200, 2), 'lifted on every node';

    # --- a ban that expires ends on every node ---------------------------
    my $ip3 = '198.51.100.35';
    my $marks = $c->log_marks;
    attacks($B->port, $ip3, $T - 1);
    settle(0.1);
    attack($B->port, $ip3);
    my $t0 = time;
    ok defined $c->wait_everywhere($ip3, 404, 2), 'client 5 banned by B, everywhere';
    my %end;
    while (time - $t0 < $BAN + 3 && keys(%end) < 3) {
        for my $i (@ALL) {
            next if defined $end{$i};
            $end{$i} = time - $t0 if clean($c->node($i)->port, $ip3) == 200;
        }
        sleep 0.02;
    }
    diag sprintf 'a %ds ban ended after %s s on A, B, C', $BAN,
        join(', ', map { defined $end{$_} ? sprintf('%.2f', $end{$_}) : '-' }
             @ALL);
    ok 3 == grep({ defined $end{$_} && $end{$_} >= $BAN - 0.3
                   && $end{$_} <= $BAN + 0.6 } @ALL),
        "the ${BAN}s ban ends on every node, on time (within -0.3/+0.6 s)";
}

$c->stop;
done_testing();
