# Several (count, window) pairs per threshold (private server,
# RateLimitWAFThreshold 3 2s 6 20s): attacks spaced so that the short
# window never holds 3 while the long one reaches 6 ban once, and the ban
# names the long pair in its log line (window=20s threshold=6) and its
# event (rlw.window_s 20, rlw.threshold 6). The short pair still bans on
# its own, naming itself. A key with its own pairs
# (RateLimitWAFKey ... 4 2s 8 20s) is banned the same way by attacks
# spread over rotating addresses. A ban starts a new count in every
# window.
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
plan tests => 29;

my $KEY = 'sk-live-windows-0000000034';
my $h = RLW::Httpd->new(name => 'windows', directives => <<'CONF');
RateLimitWAF On
RateLimitWAFThreshold 3 2s 6 20s
RateLimitWAFKey api "%{HTTP:X-Api-Key}" 4 2s 8 20s
RateLimitWAFBanTime 2s
RateLimitWAFEventLog logs/events.json
<Location "/rlw-status">
    SetHandler ratelimit-waf-status
</Location>
CONF
$h->start;
my $port   = $h->port;
my $elog   = $h->error_log;
my $events = $h->dir . '/logs/events.json';

sub read_events {
    open my $fh, '<', $events or return ();
    return map { chomp; eval { decode_json($_) } // { _bad => $_ } } <$fh>;
}
sub ban_events {
    my ($ip) = @_;
    return grep { ($_->{event}{action} // '') eq 'ban'
                  && ($_->{rlw}{client} // '') eq $ip } read_events();
}

# One attack every 1.2 s: the 2 s window (16 buckets of 125 ms) holds at
# most 2 of them; the 20 s window counts them all.
my $SPACE = 1.2;

{
    my $ip  = '198.51.100.230';
    my $off = log_size($elog);
    my $t0  = time;
    for my $i (1 .. 5) {
        sleep $t0 + ($i - 1) * $SPACE - time if $t0 + ($i - 1) * $SPACE > time;
        is attack($port, $ip), 403, "slow: attack $i of 6 (every ${SPACE}s)";
    }
    settle();
    is clean($port, $ip), 200, 'slow: 5 attacks, never 3 in 2s: not banned';
    is log_count($elog, $off, ban_re($ip)), 0, 'slow: no ban line yet';
    # Near-threshold reports come per pair: 5 of 6 in the long window.
    is log_count($elog, $off,
                 qr/RLW00013: near threshold client=\Q$ip\E count=5 of 6 window=20s/),
        1, 'slow: near threshold of the long pair (5 of 6 in 20s), once';
    sleep $t0 + 5 * $SPACE - time if $t0 + 5 * $SPACE > time;
    is attack($port, $ip), 403, 'slow: the 6th attack';
    my $b = wait_ban($elog, $off, $ip);
    ok $b, 'slow: the 6th attack in 20s bans the client'
        or diag join "\n", log_since($elog, $off, qr/RLW/);
    is $b && $b->{window_ms}, 20_000, 'slow: the ban line names window=20s';
    is $b && $b->{threshold}, 6, 'slow: ... and threshold=6';
    is $b && $b->{count}, 6, 'slow: ... count=6';
    is clean($port, $ip), 404, 'slow: banned';
    settle();
    is log_count($elog, $off, ban_re($ip)), 1, 'slow: one ban line';
    my @ev;
    wait_until(sub { @ev = ban_events($ip); @ev }, 5, 0.1);
    is scalar(@ev), 1, 'slow: one ban event';
    is $ev[0] && $ev[0]{rlw}{window_s}, 20, 'slow: event rlw.window_s 20';
    is $ev[0] && $ev[0]{rlw}{threshold}, 6, 'slow: event rlw.threshold 6';

    # The status page names the pair of the running ban.
    my $r = http_request(port => $port, path => '/rlw-status?json');
    my $st = eval { decode_json($r->{body}) } // {};
    my ($ban) = grep { ($_->{client} // '') eq $ip } @{ $st->{bans} // [] };
    is $ban && $ban->{window_s}, 20, 'slow: status page ban: window_s 20';
    is $ban && $ban->{threshold}, 6, 'slow: status page ban: threshold 6';

    # A ban starts a new count in every window: after it, 5 attacks spaced
    # the same way ban nobody.
    ok defined wait_until(sub { clean($port, $ip) == 200 }, 6, 0.1),
        'slow: the 2s ban ends';
    my @end = wait_log($elog, $off, qr/RLW00080: ban ended client=\Q$ip\E /);
    like $end[-1] // '', qr/ count=6 window=20s /,
        'slow: its end line (RLW00080) names the window that banned';
    $off = log_size($elog);
    $t0  = time;
    for my $i (1 .. 5) {
        sleep $t0 + ($i - 1) * $SPACE - time if $t0 + ($i - 1) * $SPACE > time;
        attack($port, $ip);
    }
    settle();
    is clean($port, $ip), 200,
        'slow: after the ban, 5 more spaced attacks: not banned (new count)';
}

{   # the short pair bans on its own
    my $ip  = '198.51.100.231';
    my $off = log_size($elog);
    is statuses(attacks($port, $ip, 3)), '403 x3', 'fast: 3 attacks at once';
    my $b = wait_ban($elog, $off, $ip);
    is $b && $b->{window_ms}, 2000, 'fast: the ban line names window=2s';
    is $b && $b->{threshold}, 3, 'fast: ... and threshold=3';
}

{   # a key's own pairs: one attack every 1.2 s from rotating addresses
    my $off = log_size($elog);
    my $t0  = time;
    my @ips = map {"192.0.2.$_"} 100 .. 107;
    for my $i (0 .. 6) {
        sleep $t0 + $i * $SPACE - time if $t0 + $i * $SPACE > time;
        attack($port, $ips[$i], headers => ["X-Api-Key: $KEY"]);
    }
    settle();
    is clean($port, '192.0.2.130', headers => ["X-Api-Key: $KEY"]), 200,
        'key: 7 spaced attacks: not banned';
    sleep $t0 + 7 * $SPACE - time if $t0 + 7 * $SPACE > time;
    attack($port, $ips[7], headers => ["X-Api-Key: $KEY"]);
    my @l = wait_log($elog, $off, qr/RLW00056: ban key=api /);
    like $l[-1] // '', qr/ count=8 window=20s .* threshold=8\b/,
        'key: the 8th attack in 20s bans the key, naming window=20s threshold=8'
        or diag join "\n", log_since($elog, $off, qr/RLW/);
    is clean($port, '192.0.2.131', headers => ["X-Api-Key: $KEY"]), 404,
        'key: banned from any address';
}

$h->stop;
