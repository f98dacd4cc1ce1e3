#!/usr/bin/perl
# bench/compare/client.pl - the attacker and the clean client of
# bench/compare.sh: HTTP/1.1 requests on kept-alive connections, counted by
# answer.
#
# Usage: perl bench/compare/client.pl PORT PATH [OPTION...]
#   --host ADDR   server address (127.0.0.1)
#   --xff IP      send "X-Forwarded-For: IP" (a client behind the proxy)
#   --bind ADDR   local address of the connections (a client of its own)
#   --n N         requests in all (1)
#   --conns C     C connections in parallel, one process each, sharing the
#                 N requests (the first N % C take one more)
#   --secs S      each connection stops after S seconds (none)
#   --stop CODE   a connection stops after the first answer with status
#                 CODE, or, with "fail", after a connection that fails
#   --fresh       one connection per request (Connection: close)
#
# A connection that the server closes is opened again; one that cannot be
# opened, or whose answer does not come within 3 s, counts as "fail" (and
# is tried again, unless --stop fail). Prints "CODE COUNT" lines (and
# "fail COUNT") summed over the connections, then "first_stop N": the
# 1-based number, on its connection, of the first request answered CODE
# (smallest over the connections; 0 when none was) and, if one stopped,
# "stop_secs S": seconds from its start to that answer (smallest).
use strict;
use warnings;
use Getopt::Long;
use IO::Socket::INET ();
use IO::Select ();
use Time::HiRes qw(time);

my ($port, $path) = splice @ARGV, 0, 2;
my %o = (host => '127.0.0.1', n => 1, conns => 1, stop => '');
GetOptions(\%o, 'host=s', 'xff=s', 'bind=s', 'n=i', 'conns=i', 'secs=f',
           'stop=s', 'fresh') or exit 2;
die "usage: $0 PORT PATH [OPTION...]\n" unless defined $path && $port =~ /^\d+$/;
my $TIMEOUT = 3;

my $req = "GET $path HTTP/1.1\r\nHost: localhost\r\nUser-Agent: rlw-compare\r\n"
    . ($o{xff} ? "X-Forwarded-For: $o{xff}\r\n" : '')
    . ($o{fresh} ? "Connection: close\r\n" : '') . "\r\n";

sub conn {
    IO::Socket::INET->new(PeerAddr => $o{host}, PeerPort => $port, Proto => 'tcp',
                          Timeout => $TIMEOUT,
                          ($o{bind} ? (LocalAddr => $o{bind}) : ()));
}

# Reads one answer; returns (status, keep) or () on failure.
sub answer {
    my ($s) = @_;
    my $sel = IO::Select->new($s);
    my $buf = '';
    my $deadline = time + $TIMEOUT;
    my $need;
    my ($status, $keep);
    while (1) {
        if (!defined $need && (my $i = index($buf, "\r\n\r\n")) >= 0) {
            my $head = substr($buf, 0, $i);
            ($status) = $head =~ m{^HTTP/1\.\d (\d{3})} or return;
            my ($len) = $head =~ /^Content-Length:\s*(\d+)/mi;
            return if !defined $len && $head =~ /^Transfer-Encoding:/mi;   # not sent here
            $keep = $head !~ /^Connection:\s*close/mi;
            $need = $i + 4 + ($len // 0);
        }
        return ($status, $keep) if defined $need && length $buf >= $need;
        my $left = $deadline - time;
        return if $left <= 0 || !$sel->can_read($left);
        my $r = sysread($s, $buf, 65536, length $buf);
        return unless $r;
    }
}

# One connection's share: returns "CODE COUNT" lines and "first_stop N".
sub run {
    my ($n) = @_;
    my (%count, $s, $first, $secs);
    my $t0 = time;
    my $t_end = defined $o{secs} ? time + $o{secs} : undef;
    for my $i (1 .. $n) {
        last if defined $t_end && time > $t_end;
        my ($status, $keep);
        # A kept-alive connection the server has just closed is no failure:
        # the request is sent once more on a new one.
        for my $try (1, 2) {
            my $reused = defined $s;
            $s ||= conn();
            if ($s && syswrite($s, $req)) {
                ($status, $keep) = answer($s);
            }
            last if defined $status || !$reused;
            $s = undef;
        }
        if (!defined $status) {
            $count{fail}++;
            $s = undef;
            if ($o{stop} eq 'fail') { $first //= $i; $secs = time - $t0; last }
            next;
        }
        $count{$status}++;
        $s = undef if !$keep || $o{fresh};
        if ($status eq $o{stop}) { $first //= $i; $secs = time - $t0; last }
    }
    return join('', map { "$_ $count{$_}\n" } sort keys %count)
        . 'first_stop ' . ($first // 0) . "\n"
        . (defined $secs ? sprintf("stop_secs %.2f\n", $secs) : '');
}

my @pipes;
for my $c (0 .. $o{conns} - 1) {
    my $share = int($o{n} / $o{conns}) + ($c < $o{n} % $o{conns} ? 1 : 0);
    pipe(my $r, my $w) or die "pipe: $!\n";
    my $pid = fork // die "fork: $!\n";
    if (!$pid) {
        close $r;
        print $w run($share);
        close $w;
        exit 0;
    }
    close $w;
    push @pipes, $r;
}
my (%sum, $first, $secs);
for my $r (@pipes) {
    while (<$r>) {
        my ($k, $v) = split;
        if ($k eq 'first_stop') { $first = $v if $v && (!$first || $v < $first) }
        elsif ($k eq 'stop_secs') { $secs = $v if !defined $secs || $v < $secs }
        else { $sum{$k} += $v }
    }
}
1 while wait != -1;
print "$_ $sum{$_}\n" for sort keys %sum;
print 'first_stop ', ($first // 0), "\n";
print "stop_secs $secs\n" if defined $secs;
