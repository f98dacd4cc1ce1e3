# A first run that cannot fail silently (private servers, mod_security2 +
# CRS): each set-up mistake a new user can make is reproduced and must be
# told in the error log (its own tag, once per period) and on the status
# page (JSON, Prometheus, HTML):
#   A. the score snippet (modsecurity-ratelimit-waf.conf) missing: ModSecurity
#      blocks, nothing is counted -> RLW00076, "not_counting";
#   B. the before snippet missing: a banned client's requests are still
#      inspected -> RLW00077, "bans_inspected";
#   C. no RemoteIPHeader (behind a proxy): a notice at start-up (RLW00078,
#      logged under LogLevel warn, like every notice, RLW00013 included),
#      attacks counted against a loopback address -> RLW00079,
#      "proxy_address"; then with many User-Agents -> RLW00082,
#      "shared_address"; the trap itself: one ban answers every client;
#   D. the right set-up: none of these, and a ban's end is logged (RLW00080,
#      with the ban line's fields) without any event log.
# The snippet checks are mod_security2's (the embedded engine has no
# snippets): these servers use it whatever RLW_ENGINE says.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use JSON::PP;
use Time::HiRes qw(sleep);
use RLW::Client qw(:all);
use RLW::Httpd;

plan skip_all => 'mod_ratelimit_waf.so is not built'
    unless RLW::Httpd::have_module();
plan tests => 61;

my $STATUS = <<'CONF';
<Location "/rlw-status">
    SetHandler ratelimit-waf-status
</Location>
CONF

# The probe: a phase 1 rule that logs every request carrying X-RLW-Probe
# (CRS 3.3 detects attacks in phase 2, which a banned request never
# reaches; a phase 1 match shows that ModSecurity inspected it).
my $PROBE = <<'CONF';
SecRule REQUEST_HEADERS:X-RLW-Probe "@rx ." \
    "id:9523091,phase:1,pass,log,auditlog,t:none,msg:'rlw test probe phase 1'"
CONF
my @probe = (headers => ['X-RLW-Probe: 1']);

sub status_json {
    my ($port) = @_;
    my $r = http_request(port => $port, path => '/rlw-status?json');
    return eval { decode_json($r->{body}) } || { _status => $r->{status} };
}

sub status_text {
    my ($port, $args) = @_;
    return http_request(port => $port, path => "/rlw-status$args")->{body}
        // '';
}

# The kinds of the set-up problems the JSON shows.
sub problems {
    my ($j) = @_;
    return join ',', map { $_->{kind} } @{ $j->{setup}{problems} || [] };
}

sub gauge {
    my ($port, $kind) = @_;
    my $p = status_text($port, '?prometheus');
    return $p =~ /^ratelimit_waf_setup_problem\{node="[^"]*",kind="\Q$kind\E"\} (\d+)$/m
        ? $1 : 'none';
}

{   # A. modsecurity-ratelimit-waf.conf not included: ModSecurity blocks,
    # nothing reaches the module.
    my $h = RLW::Httpd->new(name => 'no-after', engine => 'modsecurity2',
                            snippets => 'before', directives => <<"CONF");
RateLimitWAF On
RateLimitWAFThreshold 3
RateLimitWAFBanTime 30s
$STATUS
CONF
    $h->start;
    my ($port, $elog) = ($h->port, $h->error_log);
    my $ip = '198.51.100.130';
    my $j = status_json($port);
    is problems($j), '', 'A: no problem before any request';
    ok $j->{setup}{ok}, 'A: setup ok before any request';
    is statuses(attacks($port, $ip, 6)), '403 x6',
        'A: ModSecurity blocks 6 attacks';
    my @w = wait_log($elog, 0, qr/RLW00076: /);
    is scalar(@w), 1, 'A: one not-counting warning (RLW00076)';
    like $w[0] // '', qr/\[ratelimit_waf:warn\].*modsecurity-ratelimit-waf\.conf AFTER the CRS/,
        'A: the warning names the missing file and where it goes';
    is log_count($elog, 0, ban_re($ip)), 0, 'A: the trap: nobody banned';
    # The last attacks' log_transaction may still run: poll.
    wait_until(sub { (status_json($port)->{setup}{problems}[0]{requests} // 0)
                         >= 6 }, 10);
    $j = status_json($port);
    is problems($j), 'not_counting', 'A: status JSON: not_counting';
    ok !$j->{setup}{ok}, 'A: status JSON: setup not ok';
    is $j->{setup}{problems}[0]{requests}, 6, 'A: 6 requests showed it';
    is gauge($port, 'not_counting'), 1, 'A: Prometheus gauge not_counting 1';
    is gauge($port, 'bans_inspected'), 0, 'A: Prometheus gauge bans_inspected 0';
    like status_text($port, ''), qr/id="setup-not_counting".*Not counting/s,
        'A: the HTML page shows it in red';
    attacks($port, $ip, 3);
    wait_until(sub { (status_json($port)->{setup}{problems}[0]{requests} // 0)
                         >= 9 }, 10);
    is status_json($port)->{setup}{problems}[0]{requests}, 9,
        'A: the evidence still counts (9 requests)';
    is log_count($elog, 0, qr/RLW00076: /), 1,
        'A: the warning is rate limited (still one line)';
    is log_count($elog, 0, qr/RLW00078: /), 0,
        'A: RemoteIPHeader set: no start-up notice';
    $h->stop;
}

{   # B. modsecurity-ratelimit-waf-before.conf not included: a banned
    # client is answered by the module, but ModSecurity still inspects it.
    my $h = RLW::Httpd->new(name => 'no-before', engine => 'modsecurity2',
                            snippets => 'after', directives => <<"CONF");
RateLimitWAF On
RateLimitWAFThreshold 3
RateLimitWAFBanTime 30s
$STATUS
$PROBE
CONF
    $h->start;
    my ($port, $elog) = ($h->port, $h->error_log);
    my $ip = '198.51.100.131';
    is statuses(attacks($port, $ip, 3)), '403 x3', 'B: 3 attacks';
    ok wait_ban($elog, 0, $ip), 'B: banned (the score snippet is there)';
    is clean($port, '198.51.100.132', @probe), 200,
        'B: a probe from a client that is not banned';
    settle(0.5);
    is problems(status_json($port)), '',
        'B: no problem while no banned request was inspected';
    is statuses(map { clean($port, $ip, @probe) } 1 .. 3), '404 x3',
        'B: the banned client gets 404';
    my @w = wait_log($elog, 0, qr/RLW00077: /);
    is scalar(@w), 1, 'B: one bans-inspected warning (RLW00077)';
    like $w[0] // '', qr/modsecurity-ratelimit-waf-before\.conf BEFORE the CRS/,
        'B: the warning names the missing file and where it goes';
    like $w[0] // '', qr/\[client 198\.51\.100\.131:/, 'B: ... and the client';
    cmp_ok log_count($elog, 0, qr/rlw test probe phase 1.*198\.51\.100\.131/
                     . '|198\.51\.100\.131.*rlw test probe phase 1'), '>=', 3,
        'B: the trap: ModSecurity inspected the banned requests';
    my $j = status_json($port);
    is problems($j), 'bans_inspected', 'B: status JSON: bans_inspected only';
    is gauge($port, 'bans_inspected'), 1, 'B: Prometheus gauge bans_inspected 1';
    is gauge($port, 'not_counting'), 0, 'B: Prometheus gauge not_counting 0';
    like status_text($port, ''), qr/id="setup-bans_inspected".*Bans still inspected/s,
        'B: the HTML page shows it in red';
    $h->stop;
}

{   # C. No RemoteIPHeader: behind a proxy every client is the proxy. The
    # loopback plays the proxy; LogLevel warn, as on Debian.
    my $h = RLW::Httpd->new(name => 'no-remoteip', remoteip => 0,
                            loglevel => 'warn', directives => <<"CONF");
RateLimitWAF On
RateLimitWAFThreshold 40
RateLimitWAFBanTime 30s
$STATUS
CONF
    $h->start;
    my ($port, $elog) = ($h->port, $h->error_log);
    my @n = wait_log($elog, 0, qr/RLW00078: /);
    is scalar(@n), 1, 'C: one start-up notice (RLW00078) under LogLevel warn';
    like $n[0] // '', qr/\[ratelimit_waf:notice\].*no RemoteIPHeader is set.*a2enmod remoteip/,
        'C: the notice says what is missing and what to do';
    # Two "users" behind the proxy, each with its own X-Forwarded-For,
    # which nothing reads; one User-Agent.
    is statuses(attacks($port, '203.0.113.7', 10), attacks($port, '203.0.113.8', 10)),
        '403 x20', 'C: 20 attacks from two users behind the proxy';
    my @w = wait_log($elog, 0, qr/RLW00079: /);
    is scalar(@w), 1, 'C: one proxy warning (RLW00079)';
    like $w[0] // '', qr/\[ratelimit_waf:warn\].*private address 127\.0\.0\.1.*RemoteIPHeader/,
        'C: the warning names the address and the fix';
    wait_until(sub { (status_json($port)->{totals}{attacks} // 0) >= 20 }, 10);
    my $j = status_json($port);
    is problems($j), 'proxy_address',
        'C: status JSON: proxy_address (one User-Agent: not shared_address)';
    is gauge($port, 'proxy_address'), 1, 'C: Prometheus gauge proxy_address 1';
    is gauge($port, 'shared_address'), 0, 'C: Prometheus gauge shared_address 0';
    like status_text($port, ''), qr/id="setup-proxy_address".*Counting a proxy/s,
        'C: the HTML page shows it in red';
    # Now 12 users with their own browsers.
    is statuses(map { attack($port, "203.0.113.1$_", ua => "browser-$_/1.0") } 10 .. 21),
        '403 x12', 'C: 12 attacks with 12 different User-Agents';
    my @s = wait_log($elog, 0, qr/RLW00082: /);
    is scalar(@s), 1, 'C: one shared-address warning (RLW00082)';
    like $s[0] // '', qr/one address, many clients: 127\.0\.0\.1 carries most of the attacks counted, with \d+ different User-Agents.*RateLimitWAFAllow/,
        'C: the warning names the address and the fixes';
    ok wait_log($elog, 0, qr/RLW00013: near threshold client=127\.0\.0\.1 count=32 /),
        'C: a notice line (RLW00013) is logged under LogLevel warn too';
    is problems(status_json($port)), 'proxy_address,shared_address',
        'C: status JSON: proxy_address and shared_address';
    is gauge($port, 'shared_address'), 1, 'C: Prometheus gauge shared_address 1';
    attacks($port, '203.0.113.7', 8);
    ok wait_ban($elog, 0, '127.0.0.1'), 'C: the trap: the proxy is banned';
    is clean($port, '203.0.113.99'), 404, 'C: ... and every user gets 404';
    is log_count($elog, 0, qr/RLW0007[9]: |RLW00082: /), 2,
        'C: the warnings are rate limited (still one line each)';
    $h->stop;
}

{   # D. The right set-up: no problem; a ban's end is logged with no event
    # log.
    my $h = RLW::Httpd->new(name => 'right', engine => 'modsecurity2',
                            directives => <<"CONF");
RateLimitWAF On
RateLimitWAFThreshold 3
RateLimitWAFBanTime 1s
RateLimitWAFSyncInterval 200ms
$STATUS
$PROBE
CONF
    $h->start;
    my ($port, $elog) = ($h->port, $h->error_log);
    my $ip = '198.51.100.133';
    is statuses(attacks($port, $ip, 3)), '403 x3', 'D: 3 attacks';
    my $b = wait_ban($elog, 0, $ip);
    ok $b, 'D: banned';
    is statuses(map { clean($port, $ip, @probe) } 1 .. 2), '404 x2',
        'D: banned probes get 404';
    my @e = wait_log($elog, 0, qr/RLW00080: ban ended client=\Q$ip\E /,
                     timeout => 15);
    is scalar(@e), 1, 'D: the end of the ban is logged (RLW00080)';
    my ($count, $win, $len, $strike, $until) = ($e[0] // '') =~
        /RLW00080: ban ended client=\S+ count=(\d+) window=(\S+) ban=(\S+) strike=(\d+) until=(\S+) reason=expired/;
    is $count, $b && $b->{count}, 'D: end line: count as in the ban line';
    is parse_duration($len // ''), $b && $b->{ban_ms}, 'D: end line: ban length';
    is $strike, $b && $b->{strike}, 'D: end line: strike';
    is $until, $b && $b->{until_raw}, 'D: end line: until as in the ban line';
    is parse_duration($win // ''), $b && $b->{window_ms}, 'D: end line: window';
    like $e[0] // '', qr/\[ratelimit_waf:warn\]/, 'D: logged at warn';
    is clean($port, $ip), 200, 'D: served again after the end';
    sleep 1;
    is log_count($elog, 0, qr/RLW00080: .*client=\Q$ip\E /), 1,
        'D: the end is logged once';
    is log_count($elog, 0, qr/RLW0007[6-9]: |RLW00082: /), 0,
        'D: no set-up warning with both snippets and RemoteIPHeader';
    my $j = status_json($port);
    ok $j->{setup}{ok}, 'D: status JSON: setup ok';
    is join('', map { gauge($port, $_) }
                qw(not_counting bans_inspected proxy_address shared_address)),
        '0000', 'D: every Prometheus gauge 0';
    $h->stop;
}
