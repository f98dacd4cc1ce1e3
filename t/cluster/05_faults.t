# Survives memcached faults: with one memcached server killed, all of them
# killed, or one frozen (SIGSTOP: it accepts connections and never answers),
# every request is still answered quickly (no worker stalls), clean requests
# never fail, and attacks are still counted and banned (on the surviving
# server, or in the node's shared memory). The node logs the degradation
# once (RLW00110), and a restarted server is used again by itself.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";

use List::Util qw(max);
use Test::More;
use Time::HiRes qw(time sleep);
use RLW::Client qw(:all);
use RLW::Cluster;
use RLW::Httpd;

plan skip_all => 'mod_ratelimit_waf.so is not built'
    unless RLW::Httpd::have_module();

my $T = 10;
my $c = RLW::Cluster->new(threshold => $T, window => '30s', ban => '30s',
                          timeout => '50ms', retry => '1s')->start;
my ($A, $B) = $c->nodes;
my $P = $c->prefix;

# A first ban creates the journal; its server is J, the other one K. (An
# operator's ban: this setup should not depend on counting.)
if (RLW::Cluster::have_ctl()) {
    $c->ctl('ban', '198.51.100.50', '30s');
}
else {
    attacks($A->port, '198.51.100.50', $T + 2);
}
ok defined $c->wait_everywhere('198.51.100.50', 404, 2), 'a first ban';
my $J = $c->server_of_key("${P}j:seq");
ok defined $J, 'the journal has a server';
$J //= 0;
my $K = 1 - $J;
my ($mJ, $mK) = ($c->mc($J), $c->mc($K));

# Clients whose counters live on K, and one on J (one attack each so far).
my (@onK, @onJ);
for my $n (51 .. 99) {
    last if @onK >= 4 && @onJ >= 2;
    my $ip = "198.51.100.$n";
    my (undef, $srv) = $c->learn_pseudonym($B, $ip);
    next unless defined $srv;
    push @{ $srv == $K ? \@onK : \@onJ }, $ip
        if ($srv == $K ? @onK < 4 : @onJ < 2);
}
is scalar(@onK), 4, 'found clients counted on K: @onK';
is scalar(@onJ), 2, 'and on J: @onJ';

# Runs a plan of [node, kind (attack|clean), ip] requests on one kept-alive
# connection per node, sleep_s apart. Returns (max latency in seconds,
# statuses of the attacks, statuses of the clean requests).
sub run_plan {
    my ($plan, $sleep_s) = @_;
    my (%conn, @lat, @att, @cln);
    for my $r (@$plan) {
        my ($i, $kind, $ip) = @$r;
        my $port = $c->node($i)->port;
        my $t0 = time;
        my $res;
        for my $try (1, 2) {
            $conn{$i} ||= eval { RLW::Client::Conn->new(port => $port) };
            $res = $conn{$i} ? eval { $conn{$i}->request(
                xff => $ip, path => $kind eq 'attack' ? $ATTACK : '/') }
                : undef;
            last if $res && $res->{status};
            delete $conn{$i};    # closed by the server: one new connection
        }
        push @lat, time - $t0;
        delete $conn{$i} if !$res || $res->{closed};
        push @{ $kind eq 'attack' ? \@att : \@cln }, $res ? $res->{status} : 0;
        sleep $sleep_s if $sleep_s;
    }
    $_->close for values %conn;
    return (max(@lat), \@att, \@cln);
}

sub count_re {
    my ($h, $mark, $re) = @_;
    return log_count($h->error_log, $mark, $re);
}

# --- one server killed ------------------------------------------------------
my $kill_mark = log_size($A->error_log);
{
    my $k1 = $onK[0];
    my $j1 = $onJ[0];
    my @mark = map { log_size($_->error_log) } $A, $B;
    $mK->crash;
    ok !$mK->running, "memcached K (port ${\ $mK->port}) killed (SIGKILL)";
    # 50 requests over ~2.5 s: k1 attacks A T times (its count on K is
    # gone: counted in A's shared memory now), j1 attacks both nodes up to
    # T-1 in all (on J), clean requests in between.
    my @plan;
    my ($nk, $nj) = (0, 1);
    for my $i (0 .. 49) {
        if ($i % 5 == 0 && $nk < $T) {
            push @plan, [0, attack => $k1];
            $nk++;
        }
        elsif ($i % 5 == 2 && $nj < $T - 1) {
            push @plan, [$i % 2, attack => $j1];
            $nj++;
        }
        else {
            push @plan, [$i % 2, clean => '192.0.2.' . (70 + $i % 10)];
        }
    }
    my ($max, $att, $cln) = run_plan(\@plan, 0.05);
    diag sprintf 'K killed: 50 requests, slowest %.0f ms', 1000 * $max;
    cmp_ok $max, '<', 1, 'K killed: every request answered within 1 s';
    is statuses(@$cln), '200 x' . scalar(@$cln),
        'K killed: every clean request served (no 5xx)';
    ok !grep({ $_ != 403 && $_ != 404 } @$att),
        'K killed: attacks answered 403 (or 404 once banned): '
        . statuses(@$att);
    settle();
    is clean($A->port, $k1), 404,
        'K killed: a client on K attacking T times is banned (shared memory)';
    my @b = wait_log($A->error_log, $mark[0], ban_re($k1));
    is scalar(@b), 1, 'K killed: one ban line for it on A';
    sleep 0.5;
    is_deeply [$c->cleans_everywhere($j1)], [200, 200],
        'K killed: a client on J with T-1 attacks is not banned';
    attack($B->port, $j1);
    ok defined $c->wait_everywhere($j1, 404, 2),
        'K killed: its T-th attack bans it on both nodes (J still counts)';
    my $deg = count_re($A, $mark[0], qr/RLW00110/);
    is $deg, 1, 'K killed: A logged the degradation once (RLW00110), not '
        . 'per request or per sync'
        or diag join "\n", map { substr($_, 0, 200) }
            log_since($A->error_log, $mark[0], qr/RLW0011[01]/);
}

# --- the server comes back ------------------------------------------------
{
    my $k2 = $onK[1];
    # Counters it creates (items) and increments (incr_hits).
    my $incr = sub { my $s = $mK->stats;
                     ($s->{incr_hits} || 0) + ($s->{total_items} || 0) };
    $mK->start;
    ok $mK->running, 'K restarted on the same port';
    my $t0 = time;
    my $i0 = $incr->();
    my $back = wait_until(sub { attack($A->port, $k2);
                                $incr->() > $i0 }, 6, 0.2);
    ok defined $back, sprintf 'attacks are counted on K again after %.1f s',
        $back // -1;
    ok scalar(wait_log($A->error_log, $kill_mark,
                       qr/RLW00111: memcached store recovered/)),
        'A logged a recovery (RLW00111) since the kill';
    # Every pooled connection has passed its retry time: exact again.
    sleep 1.5;
    my $k3 = $onK[2];
    my $marks = $c->log_marks;
    my @fb0 = map { $c->mc_counters($_)->{fallbacks} // 0 } $A, $B;
    my @s = map { attack($c->node($_ % 2)->port, $k3) } 1 .. $T - 1;
    settle();
    my @fb1 = map { $c->mc_counters($_)->{fallbacks} // 0 } $A, $B;
    is_deeply [map { $fb1[$_] - $fb0[$_] } 0, 1], [0, 0],
        'K back: none of its attacks fell back to shared memory (A, B)'
        or diag join "\n", map { substr($_->[1], 0, 200) }
            $c->log_lines(qr/RLW00110/, $marks);
    sleep 0.3;
    is_deeply [$c->cleans_everywhere($k3)], [200, 200],
        'K back: a client on K, T-1 attacks on both nodes: not banned';
    attack($B->port, $k3);
    my @b = $c->wait_ban_lines($k3, $marks);
    is $b[0] && $b[0]{count}, $T,
        "K back: its T-th attack bans it, count=$T (counted on K)";
    ok defined $c->wait_everywhere($k3, 404, 2), 'K back: on both nodes';
}

# --- every server killed ----------------------------------------------------
{
    my $a1 = '198.51.100.120';
    my @mark = map { log_size($_->error_log) } $A, $B;
    $_->crash for $mJ, $mK;
    my @plan = map { [1, attack => $a1] } 1 .. $T;
    push @plan, map { [$_ % 2, clean => '192.0.2.' . (80 + $_ % 10)] } 0 .. 19;
    my ($max, $att, $cln) = run_plan(\@plan, 0.02);
    diag sprintf 'all memcached killed: %d requests, slowest %.0f ms',
        scalar(@plan), 1000 * $max;
    cmp_ok $max, '<', 1, 'all killed: every request answered within 1 s';
    is statuses(@$cln), '200 x20', 'all killed: clean requests served';
    is statuses(@$att), "403 x$T", 'all killed: T attacks answered 403';
    settle();
    is clean($B->port, $a1), 404, 'all killed: still banning (on B, locally)';
    is scalar(log_since($B->error_log, $mark[1], ban_re($a1))), 1,
        'all killed: one ban line';
    is count_re($B, $mark[1], qr/RLW00110/), 1,
        'all killed: B logged the degradation once';
    is clean($A->port, '192.0.2.99'), 200, 'all killed: A still serves';
}

# --- a frozen server ---------------------------------------------------------
{
    $_->start for $mJ, $mK;
    # Back to the pool (and past every connection's retry time).
    my $i0 = $mK->stats->{total_items};
    wait_until(sub { attack($A->port, $onK[3]); attack($B->port, $onK[3]);
                     $mK->stats->{total_items} > $i0 }, 6, 0.2);
    sleep 1.5;
    my $s1 = '198.51.100.121';
    # s1 must be counted on K: pick a client that maps there.
    my @cand = map {"198.51.100.$_"} 122 .. 160;
    my $onk;
    for my $ip (@cand) {
        my (undef, $srv) = $c->learn_pseudonym($A, $ip);
        if (defined $srv && $srv == $K) { $onk = $ip; last }
    }
    ok $onk, "a fresh client counted on K: $onk";
    $onk //= $s1;
    my $mark = log_size($A->error_log);
    ok $mK->pause, 'memcached K frozen (SIGSTOP)';
    my @plan;
    for my $i (0 .. 49) {
        push @plan, $i % 4 == 0 && $i / 4 < $T + 1
            ? [0, attack => $onk]
            : [$i % 2, clean => '192.0.2.' . (10 + $i % 10)];
    }
    my ($max, $att, $cln) = run_plan(\@plan, 0.02);
    diag sprintf 'K frozen: 50 requests, slowest %.0f ms (timeout 50 ms)',
        1000 * $max;
    cmp_ok $max, '<', 1, 'K frozen: every request answered within 1 s';
    is statuses(@$cln), '200 x' . scalar(@$cln),
        'K frozen: clean requests served';
    ok !grep({ $_ != 403 && $_ != 404 } @$att),
        'K frozen: attacks answered: ' . statuses(@$att);
    settle();
    is clean($A->port, $onk), 404,
        'K frozen: a client on K attacking T times is banned';
    # Logged now, or earlier in an episode that has not ended (RLW00110 is
    # logged once per episode, at most once a minute).
    my $before = do {
        open my $fh, '<', $A->error_log or die;
        local $/;
        substr(<$fh>, 0, $mark);
    };
    my @ep = grep {/RLW0011[01]/} split /\n/, $before;
    my $open = @ep && $ep[-1] =~ /RLW00110/;
    ok scalar(log_since($A->error_log, $mark, qr/RLW00110/)) || $open,
        'K frozen: the degradation is logged (in this episode)'
        or diag 'last episode lines before the freeze: ' . join("\n", @ep[-2 .. -1]);
    $mK->resume;
    is_deeply [map { clean($_->port, '192.0.2.98') } $A, $B], [200, 200],
        'K thawed: both nodes serve';
}

$c->stop;
done_testing();
