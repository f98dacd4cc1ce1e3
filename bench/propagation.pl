#!/usr/bin/perl
# bench/propagation.pl - how long a ban decided on one cluster node takes to
# be enforced on another (bench/bench.sh runs it; RateLimitWAFStore
# memcached, both nodes on one pool and one key prefix).
#
# Usage: perl bench/propagation.pl A_PORT B_PORT REPEATS POLL_MS CLIENT_BASE [MAX_ATTACKS]
#
# Each repeat takes a new client, CLIENT_BASE.<i> (X-Forwarded-For, both
# nodes trust 127.0.0.1), checks that node B answers its clean request
# (GET /) with 200, then, on one kept-alive connection to node A, sends it
# the attack followed by a clean request, again and again, until the clean
# request is answered 404 (at most MAX_ATTACKS attacks, default 20). t0 is
# when the answer to the last attack (the one that earned the ban) arrived: node A decides and journals the ban in
# that request's log_transaction, after its answer and before it reads the
# next request on the connection, so the ban cannot be older than t0 and
# the delay measured is an upper bound. Then node B gets a clean request
# from the client every POLL_MS ms (kept-alive connection) until it answers
# 404: t1 is when that answer arrived. Between repeats a random pause of
# 0-500 ms, so that the bans fall at random points of the nodes' sync cycle.
#
# Prints one line per repeat, "i client delay_ms polls attacks", then
# "median_ms max_ms"; exits 1 when a repeat failed (its line says why).
use strict;
use warnings;
use IO::Socket::INET ();
use IO::Select ();
use Time::HiRes qw(time sleep);

my ($pa, $pb, $repeats, $poll_ms, $base, $max_attacks) = @ARGV;
$max_attacks //= 20;
die "usage: $0 A_PORT B_PORT REPEATS POLL_MS CLIENT_BASE [MAX_ATTACKS]\n"
    unless defined $base && $repeats =~ /^\d+$/ && $poll_ms =~ /^\d+$/
        && $max_attacks =~ /^\d+$/;
my $ATTACK = '/?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E';
my $TIMEOUT = 5;          # seconds for one answer
my $GIVE_UP = 3;          # seconds of polling node B before a repeat fails

sub conn {
    my ($port) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => $TIMEOUT)
        or die "connect 127.0.0.1:$port: $!\n";
    $s->setsockopt(6, 1, 1);    # TCP_NODELAY
    binmode $s;
    return { s => $s, port => $port, buf => '' };
}

sub fill {
    my ($c) = @_;
    IO::Select->new($c->{s})->can_read($TIMEOUT)
        or die "port $c->{port}: no answer within ${TIMEOUT}s\n";
    my $n = sysread($c->{s}, my $chunk, 65536);
    die "port $c->{port}: connection closed\n" unless $n;
    $c->{buf} .= $chunk;
}

# One request on the kept-alive connection; returns (status, arrival time).
sub request {
    my ($c, $ip, $path) = @_;
    my $req = "GET $path HTTP/1.1\r\nHost: localhost\r\n"
            . "X-Forwarded-For: $ip\r\nUser-Agent: rlw-bench\r\n\r\n";
    defined syswrite($c->{s}, $req) or die "port $c->{port}: write: $!\n";
    my $i;
    fill($c) while ($i = index($c->{buf}, "\r\n\r\n")) < 0;
    my $head = substr($c->{buf}, 0, $i + 4, '');
    my ($status) = $head =~ m{^HTTP/1\.\d (\d{3})}
        or die "port $c->{port}: bad answer: " . substr($head, 0, 80) . "\n";
    if ($head =~ /^Content-Length:\s*(\d+)/mi) {
        my $n = $1;
        fill($c) while length($c->{buf}) < $n;
        substr($c->{buf}, 0, $n, '');
    }
    elsif ($head =~ /^Transfer-Encoding:\s*chunked/mi) {
        while (1) {
            fill($c) while ($i = index($c->{buf}, "\r\n")) < 0;
            my $n = hex substr($c->{buf}, 0, $i + 2, '');
            fill($c) while length($c->{buf}) < $n + 2;
            substr($c->{buf}, 0, $n + 2, '');
            last if $n == 0;
        }
    }
    return ($status, time);
}

my (@delays, $failed);
for my $i (1 .. $repeats) {
    my $ip = "$base.$i";
    my $b = conn($pb);
    my ($st) = request($b, $ip, '/');
    if ($st != 200) {
        print "$i $ip - 0 0 node B answered $st before the ban\n";
        $failed = 1;
        next;
    }
    my $a = conn($pa);
    my ($t0, $attacks, $banned) = (0, 0, 0);
    while ($attacks < $max_attacks) {
        (undef, $t0) = request($a, $ip, $ATTACK);
        $attacks++;
        my ($cs) = request($a, $ip, '/');
        if ($cs == 404) { $banned = 1; last }
    }
    close $a->{s};
    if (!$banned) {
        print "$i $ip - 0 $attacks node A did not ban\n";
        $failed = 1;
        next;
    }
    my ($polls, $t1) = (0, 0);
    my $next = time;
    while (1) {
        my $s;
        ($s, $t1) = request($b, $ip, '/');
        $polls++;
        last if $s == 404;
        if ($t1 - $t0 > $GIVE_UP) { $t1 = 0; last }
        $next += $poll_ms / 1000;
        my $wait = $next - time;
        sleep $wait if $wait > 0;
    }
    close $b->{s};
    if (!$t1) {
        print "$i $ip - $polls $attacks node B did not refuse within ${GIVE_UP}s\n";
        $failed = 1;
        next;
    }
    my $d = 1000 * ($t1 - $t0);
    push @delays, $d;
    printf "%d %s %.1f %d %d\n", $i, $ip, $d, $polls, $attacks;
    sleep rand 0.5;
}
my @s = sort { $a <=> $b } @delays;
my $med = !@s ? '-' : @s % 2 ? $s[$#s / 2] : ($s[@s / 2 - 1] + $s[@s / 2]) / 2;
printf "%s %s\n", @s ? sprintf('%.1f', $med) : '-', @s ? sprintf('%.1f', $s[-1]) : '-';
exit($failed ? 1 : 0);
