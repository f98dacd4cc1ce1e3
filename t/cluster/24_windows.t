# Several (count, window) pairs per threshold on two nodes
# (RateLimitWAFThreshold 3 2s 6 20s): attacks spaced so that the short
# window never holds 3, alternating between the nodes, ban once when the
# long window reaches 6 - one ban line in the cluster naming window=20s
# threshold=6, the client refused on both nodes, both status pages naming
# the pair. The long window's
# counters ("<prefix>c1.<index>:<pseudonym>") live on the server of the
# client's ban record (one multi-get reads every window). Exact counts for
# the long window under parallel attack: 64 concurrent attacks (32 per
# node) against 1000 in 2s / 65 in 20s ban nobody, the 65th bans once. A
# network's bare threshold (RateLimitWAFNetwork 24 0 4) counts in every
# window, scaled: 8 spaced attacks of one /24 ban it naming the 20s pair.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";

use Test::More;
use File::Temp ();
use JSON::PP qw(decode_json);
use Time::HiRes qw(time sleep);
use RLW::Client qw(:all);
use RLW::Cluster;
use RLW::Httpd;

plan skip_all => 'mod_ratelimit_waf.so is not built'
    unless RLW::Httpd::have_module();

my $c = RLW::Cluster->new(threshold => '3 2s 6 20s', window => '2s',
                          ban => '3s',
                          extra => "RateLimitWAFNetwork 24 0 4\n")->start;
my ($A, $B) = $c->nodes;
my $SPACE = 1.2;

# --- slow: the long window bans -----------------------------------------------
{
    my $ip = '198.51.100.24';
    my $marks = $c->log_marks;
    my $t0 = time;
    my @s;
    for my $i (0 .. 4) {
        sleep $t0 + $i * $SPACE - time if $t0 + $i * $SPACE > time;
        push @s, attack(($i % 2 ? $B : $A)->port, $ip);
    }
    is statuses(@s), '403 x5', "slow: 5 attacks every ${SPACE}s, alternating A,B";
    settle();
    is_deeply [$c->cleans_everywhere($ip)], [200, 200],
        'slow: never 3 in 2s: served on both nodes';
    is scalar($c->ban_lines($ip, $marks)), 0, 'slow: no ban line yet';
    # rlwafctl reads the pairs from a configuration (-f) and counts in
    # every window: the 5 attacks are all in the 20s one.
    SKIP: {
        skip 'rlwafctl is not built', 2 unless RLW::Cluster::have_ctl();
        my $conf = File::Temp->new(SUFFIX => '.conf');
        print {$conf} "RateLimitWAFThreshold 3 2s 6 20s\n";
        close $conf;
        my ($rc, $out) = $c->ctl('-f', $conf->filename, '--json', 'status', $ip);
        my $j = eval { decode_json($out) } || {};
        is_deeply [map { [$_->{window_ms}, $_->{count}] }
                   @{ $j->{windows} || [] }]->[1], [20_000, 5],
            'slow: rlwafctl status --json: 5 attacks in the 20s window'
            or diag $out;
        ($rc, $out) = $c->ctl('-f', $conf->filename, 'status', $ip);
        like $out, qr/^attacks +\d+ in the last 2s, 5 in the last 20s$/m,
            'slow: rlwafctl status names both windows' or diag $out;
    }
    sleep $t0 + 5 * $SPACE - time if $t0 + 5 * $SPACE > time;
    is attack($B->port, $ip), 403, 'slow: the 6th attack (on B)';
    my @b = $c->wait_ban_lines($ip, $marks);
    sleep 0.5;    # a duplicate would show by now
    @b = $c->ban_lines($ip, $marks);
    is scalar(@b), 1, 'slow: exactly one RLW00010 line across both nodes'
        or diag explain \@b;
    is $b[0]{window_ms}, 20_000, 'slow: the ban line names window=20s';
    is $b[0]{threshold}, 6, 'slow: ... threshold=6';
    is $b[0]{count}, 6, 'slow: ... count=6 (3 on A, 3 on B)';
    is $b[0]{node}, 1, 'slow: decided by B, which got the 6th';
    ok defined $c->wait_everywhere($ip, 404, 2), 'slow: banned on both nodes';

    # Both status pages name the pair: B decided, A learnt the ban from
    # the journal (a version 4 entry carries the pair).
    for my $n ([A => $A], [B => $B]) {
        my $ban;
        wait_until(sub {
            my $st = $c->status($n->[1]) // {};
            ($ban) = grep { ($_->{client} // '') eq $ip }
                          @{ $st->{bans} // [] };
            $ban && defined $ban->{window_s};
        }, 3, 0.1);
        is $ban && $ban->{window_s}, 20,
            "slow: status page ($n->[0]): window_s 20";
        is $ban && $ban->{threshold}, 6,
            "slow: status page ($n->[0]): threshold 6";
    }

    # Every window's counters on the server of the ban record.
    my $p = $c->pseudonym($ip);
    my $pre = $c->prefix;
    my @keys = $c->all_keys;
    my %rec = map { $_->[0] => 1 } grep { $_->[1] eq "${pre}b:$p" } @keys;
    my %long = map { $_->[0] => 1 }
        grep { $_->[1] =~ /^\Q$pre\Ec1\.\d+:\Q$p\E$/ } @keys;
    my %short = map { $_->[0] => 1 }
        grep { $_->[1] =~ /^\Q$pre\Ec\d+:\Q$p\E$/ } @keys;
    is scalar(keys %rec), 1, 'memcached: one ban record';
    is_deeply [sort keys %long], [sort keys %rec],
        'memcached: the 20s window\'s counters (c1.<index>) beside the record';
    is_deeply [sort keys %short], [sort keys %rec],
        'memcached: the 2s window\'s counters (c<index>) beside the record';
}

# --- fast: the short window still bans on its own -----------------------------
{
    my $ip = '198.51.101.25';
    my $marks = $c->log_marks;
    attack($A->port, $ip);
    attack($B->port, $ip);
    attack($A->port, $ip);
    my @b = $c->wait_ban_lines($ip, $marks);
    is scalar(@b), 1, 'fast: 3 attacks at once on A,B,A: one ban line';
    is $b[0] && $b[0]{window_ms}, 2000, 'fast: it names window=2s';
    is $b[0] && $b[0]{threshold}, 3, 'fast: ... threshold=3';
}

# --- a network: its bare threshold scaled to every window ----------------------
# RateLimitWAFNetwork 24 0 4 under "3 2s 6 20s": 4 in 2s, 8 in 20s. Eight
# addresses of one /24 attack once each, spaced, alternating nodes.
{
    my $marks = $c->log_marks;
    my $t0 = time;
    for my $i (0 .. 7) {
        sleep $t0 + $i * $SPACE - time if $t0 + $i * $SPACE > time;
        attack(($i % 2 ? $B : $A)->port, "203.0.113." . (10 + $i));
    }
    my $re = qr/RLW00053: ban network=203\.0\.113\.0\/24 /;
    wait_until(sub { $c->log_lines($re, $marks) >= 1 }, 5, 0.05);
    sleep 0.5;
    my @l = $c->log_lines($re, $marks);
    is scalar(@l), 1, 'network: one ban line across both nodes';
    like $l[0] && $l[0][1], qr/ count=8 window=20s .* threshold=8\b/,
        'network: the 8th attack in 20s bans it, naming window=20s threshold=8';
    ok defined $c->wait_everywhere('203.0.113.99', 404, 2),
        'network: another address of it refused on both nodes';
}

# --- parallel: the long window is exact across nodes --------------------------
my $W = 32;
my $TP = 2 * $W + 1;
$c->{threshold} = "1000 2s $TP 20s";
$c->{extra} = '';
for my $i (0 .. 1) {
    my $h = $c->node($i);
    $h->stop;
    $h->{directives} = $c->node_directives($i);
    $h->write_config;
    $h->start;
}

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
    my $ip = '198.51.102.26';
    my $marks = $c->log_marks;
    my @s = burst($ip, 2 * $W);
    is statuses(@s), '403 x' . (2 * $W),
        "parallel: ${\ (2 * $W)} concurrent attacks (32 per node), all 403";
    settle();
    sleep 0.6;
    is_deeply [$c->cleans_everywhere($ip)], [200, 200],
        'parallel: T-1 in 20s: not banned on either node';
    is scalar($c->ban_lines($ip, $marks)), 0, 'parallel: no ban line';
    is attack($B->port, $ip), 403, 'parallel: one more attack (on B)';
    my @b = $c->wait_ban_lines($ip, $marks);
    sleep 0.5;
    @b = $c->ban_lines($ip, $marks);
    is scalar(@b), 1, 'parallel: exactly one RLW00010 line' or diag explain \@b;
    is $b[0]{count}, $TP, "parallel: count=$TP";
    is $b[0]{window_ms}, 20_000, 'parallel: window=20s';
    is $b[0]{threshold}, $TP, "parallel: threshold=$TP";
    ok defined $c->wait_everywhere($ip, 404, 2),
        'parallel: 404 on every node after sync';
}

$c->stop;
done_testing();
