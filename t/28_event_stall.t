# A stalled event reader (private servers): RateLimitWAFEventLog whose
# reader never reads, for each kind of target:
#   pipe    "|program" where the program never reads its input
#   file    a FIFO as the file, held open by a process that never reads
#   syslog  a /dev/log whose reader never reads: needs a private /dev, so
#           only under t/events/stall_syslog.sh (root, a mount namespace),
#           which sets RLW_STALL_SYSLOG=1; skipped otherwise
# Hundreds of bans fill the target and every process's event queue many
# times over; requests must still be answered promptly (events are dropped
# and counted, never waited for), bans still enforced, the drops shown on
# the status page, warned about at most once a minute per process, and
# children that exit (MaxConnectionsPerChild, a graceful restart) must not
# hang on the stalled reader.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use JSON::PP;
use POSIX ();
use Time::HiRes qw(time sleep);
use RLW::Client qw(:all);
use RLW::Httpd;

plan skip_all => 'mod_ratelimit_waf.so is not built'
    unless RLW::Httpd::have_module();
my $PER = 18;                                      # checks per target
plan tests => 3 * $PER;

# Clients: 198.18.0.0/15 (benchmarking range), owned by this test (each
# target has a server, and a table, of its own).
my $NBAN   = 400;                                  # attacking clients
my @bad    = map { '198.18.' . (1 + int($_ / 250)) . '.' . (1 + $_ % 250) }
             0 .. $NBAN - 1;
my @fresh  = map {"198.19.0.$_"} 1 .. 40;          # clean, never seen
my $QUEUE  = 16;                                   # lines per process
my $LIMIT  = 10;                                   # s: "promptly", generous
my $SLEEP  = 1000000 + $$;                         # names our pipe reader

# The pipe readers httpd started for this test, found by their unique
# sleep time: killed at the end should httpd have left one behind.
sub readers {
    my @pids;
    for my $d (glob '/proc/[0-9]*') {
        open my $fh, '<', "$d/cmdline" or next;
        my $c = do { local $/; <$fh> } // '';
        push @pids, $d =~ m{(\d+)$} if $c eq "/bin/sleep\0$SLEEP\0";
    }
    return @pids;
}
my @ours;                                          # FIFO holders we forked
END { kill 'KILL', readers(), @ours }

my ($h, $port);

# One request with a hard time limit (a wedged server must fail the test,
# not hang it): (response or undef when it did not answer in time, seconds).
# A connection closed at once without an answer is tried again (up to 3
# times): the event MPM drops the odd connection when a child exits at
# MaxConnectionsPerChild, with or without this module.
sub fetch {
    my (%o) = @_;
    my $t0 = time;
    my $res;
    for my $try (1 .. 3) {
        $res = eval {
            local $SIG{ALRM} = sub { die "timeout\n" };
            alarm $LIMIT;
            my $r = http_request(port => $port, %o);
            alarm 0;
            $r;
        };
        alarm 0;
        last unless $res && !$res->{status}
            && ($res->{error} // '') =~ /^no response/;
    }
    return ($res, time - $t0);
}

# (status, seconds) of one request; status 0 when it did not answer in time.
sub timed {
    my ($res, $sec) = fetch(@_);
    return ($res ? $res->{status} : 0, $sec);
}

sub status_json {
    my ($r) = fetch(path => '/rlw-status?json');
    return $r && $r->{status} == 200 ? eval { decode_json($r->{body}) }
                                     : undef;
}

sub scenario {
    my ($kind, $target) = @_;

    $h = RLW::Httpd->new(name => "event-stall-$kind", directives => <<~"CONF");
    RateLimitWAF On
    RateLimitWAFWindow 1m
    RateLimitWAFThreshold 1
    RateLimitWAFBanTime 10m
    RateLimitWAFNodeName stall-node
    # A reader that never reads: it fills after ~64 KiB of events.
    RateLimitWAFEventLog $target
    # Children exit (and new ones start) while the reader is stalled.
    MaxConnectionsPerChild 60
    RateLimitWAFEventQueue $QUEUE
    <Location "/rlw-status">
        SetHandler ratelimit-waf-status
        Require all granted
    </Location>
    CONF
    $h->start;
    $port = $h->port;

    # Hundreds of bans from 8 parallel clients; a worker stops at its first
    # unanswered request (the old behaviour: every worker pinned in write()).
    my $t0 = time;
    my @st = parallel(8, sub {
        my ($k) = @_;
        my @out;
        for (my $i = $k; $i < $NBAN; $i += 8) {
            my ($s) = timed(xff => $bad[$i], path => $ATTACK);
            push @out, $s;
            last unless $s;
        }
        return @out;
    });
    my $attack_s = time - $t0;
    is statuses(@st), "403 x$NBAN",
        "$kind: $NBAN attacks from $NBAN clients answered by ModSecurity"
        . sprintf(' (%.1f s)', $attack_s);

    # Clean requests from new clients, 4 at a time: every one answered, in time.
    my @clean = parallel(4, sub {
        my ($k) = @_;
        my @out;
        for (my $i = $k; $i < @fresh; $i += 4) {
            my ($s, $sec) = timed(xff => $fresh[$i]);
            push @out, sprintf('%d %.3f', $s, $sec);
            last unless $s;
        }
        return @out;
    });
    my @ok = grep { /^200 / } @clean;
    my ($max) = sort { $b <=> $a } map { (split / /)[1] } @clean;
    is scalar(@ok), scalar(@fresh),
        "$kind: " . scalar(@fresh) . ' clean requests of new clients: all answered 200'
        or diag explain \@clean;
    ok defined $max && $max < $LIMIT,
        sprintf('%s: each within %d s (slowest %.3f s)', $kind, $LIMIT, $max // -1);

    # Bans are still enforced while the events are dropped.
    my @ban;
    for my $i (0 .. 19) {
        my ($s) = timed(xff => $bad[$i * 20]);
        push @ban, $s;
        last unless $s;
    }
    is statuses(@ban), '404 x20', "$kind: banned clients still get the ban status";

    # The drops are counted in shared memory and shown.
    my $d;
    ok wait_until(sub {
            $d = status_json();
            $d && $d->{totals}{events_dropped};
        }, 20), "$kind: status JSON: totals.events_dropped > 0";
    my $dropped = $d ? $d->{totals}{events_dropped} : 0;
    # Each process holds at most QUEUE lines, the target ~64 KiB (about 70
    # lines): most of the NBAN ban events must be gone.
    cmp_ok $dropped, '>=', $NBAN / 4, "$kind: dropped $dropped of $NBAN ban events";
    is $d->{totals}{bans}, $NBAN, "$kind: every ban was decided and counted";

    my ($prom) = fetch(path => '/rlw-status?prometheus');
    my ($pv) = ($prom->{body} // '') =~
        /^ratelimit_waf_events_dropped_total\{node="stall-node"\} (\d+)$/m;
    ok defined $pv && $pv >= $dropped, "$kind: Prometheus: events_dropped_total "
        . ($pv // 'missing');
    like $prom->{body} // '', qr/^# TYPE ratelimit_waf_events_dropped_total counter$/m,
        "$kind: Prometheus declares it a counter";
    my ($html) = fetch(path => '/rlw-status');
    like $html->{body} // '', qr/events dropped/, "$kind: HTML page shows events dropped";

    # Warned about, at most once a minute per process (this test runs for less
    # than a minute after the first drop).
    my @warn = grep {/RLW00050: event queue full/} split /\n/, $h->error_log_text;
    ok scalar(@warn), "$kind: RLW00050 warning logged: " . scalar(@warn) . ' line(s)';
    my %per_pid;
    $per_pid{$_}++ for map { /\[pid (\d+)/ ? $1 : 'unknown' } @warn;
    ok !(grep { $_ > 1 } values %per_pid),
        "$kind: at most one RLW00050 per process"
        or diag explain \%per_pid;
    ok !(grep {/RLW00033/} split /\n/, $h->error_log_text),
        "$kind: no write error: the writer waits on the target, requests do not";

    # Children that exit while the reader is stalled (MaxConnectionsPerChild
    # above, a graceful restart here) give their writer a second, then exit and
    # say what they left; the restart does not hang on the stalled reader.
    my $g0 = time;
    my $restarted = eval { $h->graceful(timeout => 30); 1 };
    my $g_s = time - $g0;
    ok $restarted, sprintf('%s: graceful restart done in %.1f s', $kind, $g_s)
        or diag $@;
    my @exit;
    ok wait_until(sub {
            @exit = grep {/RLW00052: process exit: \d+ events dropped since the last warning, \d+ still queued/}
                split /\n/, $h->error_log_text;
        }, 20), "$kind: the exiting children report what they could not write "
            . '(RLW00052)';
    ok((grep {/still queued/ && !/, 0 still queued/} @exit),
       "$kind: a child exited with lines still queued: its writer was stuck, "
       . 'the exit did not wait for it') or diag explain \@exit;
    my ($s2, $sec2) = timed(xff => '198.19.1.1');
    is $s2, 200, sprintf('%s: a new client is served after the restart (%.3f s)',
                     $kind, $sec2);

    my $s0 = time;
    $h->stop(timeout => 20);
    ok time - $s0 < 20, sprintf('%s: the server stops in %.1f s', $kind, time - $s0);
}

# pipe: a program that never reads its standard input.
scenario(pipe => qq{"|/bin/sleep $SLEEP"});

# file: a FIFO as the file, held open (read-write, so that neither side
# waits for the other to open it) by a process of ours that never reads.
{
    my $fifo = ($ENV{RLW_TMPDIR} || '/tmp') . "/rlw-stall-$$.fifo";
    POSIX::mkfifo($fifo, 0600) or die "mkfifo $fifo: $!\n";
    my $pid = fork // die "fork: $!\n";
    if (!$pid) {
        open my $fh, '+<', $fifo or POSIX::_exit(1);
        sleep 1 while 1;
    }
    push @ours, $pid;
    scenario(file => qq{"$fifo"});
    kill 'KILL', $pid;
    waitpid $pid, 0;
    unlink $fifo;
}

SKIP: {
    skip 'syslog: run t/events/stall_syslog.sh (root: a private /dev/log)',
        $PER unless $ENV{RLW_STALL_SYSLOG};
    scenario(syslog => 'syslog:local3');
}
