# Exact counts across nodes: the attacks of one client spread over two nodes
# add up in the memcached pool, whether they come one after the other on
# alternating nodes or all at once (2 nodes x 32 connections). T-1 attacks
# ban nobody anywhere; the T-th bans the client everywhere, logged once.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";

use Test::More;
use Time::HiRes qw(time sleep);
use RLW::Client qw(:all);
use RLW::Cluster;
use RLW::Httpd;

plan skip_all => 'mod_ratelimit_waf.so is not built'
    unless RLW::Httpd::have_module();

my $T = 10;
my $c = RLW::Cluster->new(threshold => $T, window => '30s', ban => '5s')
    ->start;
my ($A, $B) = $c->nodes;

# Every node has polled the journal at least twice since time t0.
sub after_sync { sleep 0.6 }

# --- back to back, right after start -----------------------------------------
# The nodes' first attacks (each process opens its memcached connections):
# T-1 attacks back to back on A, each answered before the next is sent, so
# one attack's count may still be on its way when the next is counted. The
# pool must hold exactly T-1, none counted in a node's shared memory.
SKIP: {
    skip 'tools/rlwafctl is not built', 4 unless RLW::Cluster::have_ctl();
    my $ip = '198.51.100.10';
    my $marks = $c->log_marks;
    is statuses(attacks($A->port, $ip, $T - 1)), '403 x' . ($T - 1),
        'first attacks after start: T-1 back to back on A';
    settle();
    my ($rc, $out, $err, $j) = $c->ctl('--json', 'status', $ip);
    is $j && $j->{count}, $T - 1, 'first attacks: the pool holds exactly T-1'
        or diag "rlwafctl: rc=$rc $out $err";
    is $c->mc_counters($A)->{fallbacks}, 0,
        'first attacks: none counted in shared memory instead'
        or diag join "\n", map { substr($_->[1], 0, 200) }
            $c->log_lines(qr/RLW0011[01]/, $marks);
    is scalar($c->ban_lines($ip, $marks)), 0, 'first attacks: no ban';
}

# --- sequential, alternating nodes ----------------------------------------
{
    my $ip = '198.51.100.11';
    my $marks = $c->log_marks;
    my @s = map { attack(($_ % 2 ? $A : $B)->port, $ip) } 1 .. $T - 1;
    is statuses(@s), '403 x' . ($T - 1),
        "sequential: T-1 = ${\ ($T - 1)} attacks alternating A,B, all 403";
    settle();
    after_sync();
    is_deeply [$c->cleans_everywhere($ip)], [200, 200],
        'sequential: after T-1 attacks the client is served on both nodes';
    is scalar($c->ban_lines($ip, $marks)), 0, 'sequential: no ban line';
    SKIP: {
        skip 'tools/rlwafctl is not built', 1 unless RLW::Cluster::have_ctl();
        my ($rc, $out, $err, $j) = $c->ctl('--json', 'status', $ip);
        is $j && $j->{count}, $T - 1,
            'sequential: the pool holds exactly T-1 attacks (rlwafctl status)'
            or diag "rlwafctl: rc=$rc $out $err";
    }
    # The T-th goes to the node that did not get the (T-1)-th.
    my $last = ($T % 2 ? $A : $B);
    is attack($last->port, $ip), 403, 'sequential: the T-th attack';
    my @b = $c->wait_ban_lines($ip, $marks);
    sleep 0.5;    # a duplicate would show by now
    @b = $c->ban_lines($ip, $marks);
    is scalar(@b), 1, 'sequential: exactly one RLW00010 line on both nodes'
        or diag explain \@b;
    is $b[0]{count}, $T, "sequential: count=$T in the ban line";
    is $b[0]{strike}, 1, 'sequential: strike=1';
    is $b[0]{node}, ($T % 2 ? 0 : 1),
        'sequential: logged by the node that got the T-th attack';
    ok defined $c->wait_everywhere($ip, 404, 2),
        'sequential: clean requests get 404 on every node after sync';
}

# --- parallel: 2 nodes x 32 connections -----------------------------------
# A new threshold for this part: T-1 = 64 concurrent attacks.
my $W = 32;
my $TP = 2 * $W + 1;
$c->{threshold} = $TP;
for my $i (0 .. 1) {
    my $h = $c->node($i);
    $h->stop;
    $h->{directives} = $c->node_directives($i);
    $h->write_config;
    $h->start;
}

# Runs n attacks from ip at once: worker i attacks node i % 2 after a
# common start time. Returns the statuses.
sub burst {
    my ($ip, $n) = @_;
    my $go = time + 0.5;
    return parallel($n, sub {
        my ($i) = @_;
        my $port = $c->node($i % 2)->port;
        sleep $go - time if $go > time;
        return attack($port, $ip);
    });
}

{
    my $ip = '198.51.100.12';
    my $marks = $c->log_marks;
    my @s = burst($ip, 2 * $W);
    is statuses(@s), '403 x' . (2 * $W),
        "parallel: T-1 = ${\ (2 * $W)} concurrent attacks (32 per node), all 403";
    settle();
    after_sync();
    is_deeply [$c->cleans_everywhere($ip)], [200, 200],
        'parallel: not banned on either node after T-1';
    is scalar($c->ban_lines($ip, $marks)), 0, 'parallel: no ban line';
    SKIP: {
        skip 'tools/rlwafctl is not built', 1 unless RLW::Cluster::have_ctl();
        my ($rc, $out, $err, $j) = $c->ctl('--json', 'status', $ip);
        is $j && $j->{count}, $TP - 1,
            'parallel: the pool holds exactly T-1 attacks'
            or diag "rlwafctl: rc=$rc $out $err";
    }
    is attack($B->port, $ip), 403, 'parallel: one more attack (on B)';
    my @b = $c->wait_ban_lines($ip, $marks);
    sleep 0.5;
    @b = $c->ban_lines($ip, $marks);
    is scalar(@b), 1, 'parallel: exactly one RLW00010 line'
        or diag explain \@b;
    is $b[0]{count}, $TP, "parallel: count=$TP";
    is $b[0]{node}, 1, 'parallel: logged by B';
    ok defined $c->wait_everywhere($ip, 404, 2),
        'parallel: 404 on every node after sync';
}

# --- parallel, the threshold crossed inside the burst ---------------------
{
    my $ip = '198.51.100.13';
    my $marks = $c->log_marks;
    my @s = burst($ip, 2 * $W + 8);
    ok !grep({ $_ != 403 && $_ != 404 } @s),
        'parallel over T: every attack answered 403 or 404: ' . statuses(@s);
    my @b = $c->wait_ban_lines($ip, $marks);
    sleep 0.5;
    @b = $c->ban_lines($ip, $marks);
    is scalar(@b), 1, 'parallel over T: exactly one RLW00010 line'
        or diag explain \@b;
    cmp_ok $b[0]{count} // 0, '>=', $TP,
        "parallel over T: the winner saw count >= $TP";
    ok defined $c->wait_everywhere($ip, 404, 2),
        'parallel over T: 404 on every node';
}

# --- first attacks at once -------------------------------------------------
# Each of 16 new clients attacks four times at the same moment, twice on
# each node: several increments may find its counter missing and create
# it (memcached answers all but one NOT_STORED); every one must count.
SKIP: {
    skip 'tools/rlwafctl is not built', 3 unless RLW::Cluster::have_ctl();
    my @fb0 = map { $c->mc_counters($_)->{fallbacks} // 0 } $c->nodes;
    my @ips = map {"203.0.113.$_"} 1 .. 16;
    my $go = time + 0.5;
    my @s = parallel(64, sub {
        my ($i) = @_;
        my $port = $c->node($i % 2)->port;
        sleep $go - time if $go > time;
        return attack($port, $ips[$i % 16]);
    });
    is statuses(@s), '403 x64', '16 new clients, four attacks each at once';
    settle();
    my @fb1 = map { $c->mc_counters($_)->{fallbacks} // 0 } $c->nodes;
    my %count;
    for my $ip (@ips) {
        my (undef, undef, undef, $j) = $c->ctl('--json', 'status', $ip);
        $count{$ip} = $j ? $j->{count} : 'error';
    }
    is_deeply [grep { $count{$_} ne 4 } @ips], [],
        'each client\'s count in the pool is 4'
        or diag explain \%count;
    is_deeply [map { $fb1[$_] - $fb0[$_] } 0, 1], [0, 0],
        'no attack fell back to a node\'s shared memory'
        or diag join "\n", map { substr($_->[1], 0, 200) }
            $c->log_lines(qr/RLW00110/);
}

$c->stop;
done_testing();
