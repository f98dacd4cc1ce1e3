# A stalled event reader (private server): RateLimitWAFEventLog "|program"
# whose program never reads. Hundreds of bans fill the pipe and every
# process's event queue many times over; requests must still be answered
# promptly (events are dropped and counted, never waited for), bans still
# enforced, the drops shown on the status page, warned about at most once a
# minute per process, and a graceful restart must not hang on the stalled
# pipe.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use JSON::PP;
use Time::HiRes qw(time sleep);
use RLW::Client qw(:all);
use RLW::Httpd;

plan skip_all => 'mod_ratelimit_waf.so is not built'
    unless RLW::Httpd::have_module();
plan tests => 18;

# Clients: 198.18.0.0/15 (benchmarking range), owned by this test.
my $NBAN   = 400;                                  # attacking clients
my @bad    = map { '198.18.' . (1 + int($_ / 250)) . '.' . (1 + $_ % 250) }
             0 .. $NBAN - 1;
my @fresh  = map {"198.19.0.$_"} 1 .. 40;          # clean, never seen
my $QUEUE  = 16;                                   # lines per process
my $LIMIT  = 10;                                   # s: "promptly", generous
my $SLEEP  = 1000000 + $$;                         # names our reader

# The readers httpd started for this test, found by their unique sleep
# time: killed at the end should httpd have left one behind.
sub readers {
    my @pids;
    for my $d (glob '/proc/[0-9]*') {
        open my $fh, '<', "$d/cmdline" or next;
        my $c = do { local $/; <$fh> } // '';
        push @pids, $d =~ m{(\d+)$} if $c eq "/bin/sleep\0$SLEEP\0";
    }
    return @pids;
}
END { kill 'KILL', readers() }

my $h = RLW::Httpd->new(name => 'event-stall', directives => <<"CONF");
RateLimitWAF On
RateLimitWAFWindow 1m
RateLimitWAFThreshold 1
RateLimitWAFBanTime 10m
RateLimitWAFNodeName stall-node
# A reader that never reads: the pipe fills after ~64 KiB of events.
RateLimitWAFEventLog "|/bin/sleep $SLEEP"
# Children exit (and new ones start) while the reader is stalled.
MaxConnectionsPerChild 60
RateLimitWAFEventQueue $QUEUE
<Location "/rlw-status">
    SetHandler ratelimit-waf-status
    Require all granted
</Location>
CONF
$h->start;
my $port = $h->port;

# One request with a hard time limit (a wedged server must fail the test,
# not hang it): (response or undef when it did not answer in time, seconds).
sub fetch {
    my (%o) = @_;
    my $t0 = time;
    my $res = eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        alarm $LIMIT;
        my $r = http_request(port => $port, %o);
        alarm 0;
        $r;
    };
    alarm 0;
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
    "$NBAN attacks from $NBAN clients answered by ModSecurity"
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
    scalar(@fresh) . ' clean requests of new clients: all answered 200'
    or diag explain \@clean;
ok defined $max && $max < $LIMIT,
    sprintf('each within %d s (slowest %.3f s)', $LIMIT, $max // -1);

# Bans are still enforced while the events are dropped.
my @ban;
for my $i (0 .. 19) {
    my ($s) = timed(xff => $bad[$i * 20]);
    push @ban, $s;
    last unless $s;
}
is statuses(@ban), '404 x20', 'banned clients still get the ban status';

# The drops are counted in shared memory and shown.
my $d;
ok wait_until(sub {
        $d = status_json();
        $d && $d->{totals}{events_dropped};
    }, 20), 'status JSON: totals.events_dropped > 0';
my $dropped = $d ? $d->{totals}{events_dropped} : 0;
# Each process holds at most QUEUE lines, the pipe ~64 KiB (about 70
# lines): most of the NBAN ban events must be gone.
cmp_ok $dropped, '>=', $NBAN / 4, "dropped $dropped of $NBAN ban events";
is $d->{totals}{bans}, $NBAN, 'every ban was decided and counted';

my ($prom) = fetch(path => '/rlw-status?prometheus');
my ($pv) = ($prom->{body} // '') =~
    /^ratelimit_waf_events_dropped_total\{node="stall-node"\} (\d+)$/m;
ok defined $pv && $pv >= $dropped, "Prometheus: events_dropped_total "
    . ($pv // 'missing');
like $prom->{body} // '', qr/^# TYPE ratelimit_waf_events_dropped_total counter$/m,
    'Prometheus declares it a counter';
my ($html) = fetch(path => '/rlw-status');
like $html->{body} // '', qr/events dropped/, 'HTML page shows events dropped';

# Warned about, at most once a minute per process (this test runs for less
# than a minute after the first drop).
my @warn = grep {/RLW00050: event queue full/} split /\n/, $h->error_log_text;
ok scalar(@warn), 'RLW00050 warning logged: ' . scalar(@warn) . ' line(s)';
my %per_pid;
$per_pid{$_}++ for map { /\[pid (\d+)/ ? $1 : 'unknown' } @warn;
ok !(grep { $_ > 1 } values %per_pid),
    'at most one RLW00050 per process'
    or diag explain \%per_pid;
ok !(grep {/RLW00033/} split /\n/, $h->error_log_text),
    'no write error: the writer waits on the pipe, requests do not';

# Children that exit while the reader is stalled (MaxConnectionsPerChild
# above, a graceful restart here) give their writer a second, then exit and
# say what they left; the restart does not hang on the stalled pipe.
my $g0 = time;
my $restarted = eval { $h->graceful(timeout => 30); 1 };
my $g_s = time - $g0;
ok $restarted, sprintf('graceful restart done in %.1f s', $g_s)
    or diag $@;
my @exit;
ok wait_until(sub {
        @exit = grep {/RLW00052: process exit: \d+ events dropped since the last warning, \d+ still queued/}
            split /\n/, $h->error_log_text;
    }, 20), 'the exiting children report what they could not write (RLW00052)';
ok((grep {/still queued/ && !/, 0 still queued/} @exit),
   'a child exited with lines still queued: its writer was stuck on the '
   . 'pipe, the exit did not wait for it') or diag explain \@exit;
my ($s2, $sec2) = timed(xff => '198.19.1.1');
is $s2, 200, sprintf('a new client is served after the restart (%.3f s)',
                     $sec2);

my $s0 = time;
$h->stop(timeout => 20);
ok time - $s0 < 20, sprintf('the server stops in %.1f s', time - $s0);
