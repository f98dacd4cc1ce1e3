# Threshold, ban on every URL, tiny body, one log line per ban, ban end,
# and our own 404s are not counted as attacks (main server: threshold 5,
# window 20s, first ban 2s, second 4s).
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More import => ["!plan"];
use Apache::Test qw(-withtestmore);
use Time::HiRes qw(time sleep);
use RLW::Client qw(:all);

plan tests => 35, need need_rlw();

my $port = port();
my $elog = log_path();
my $ip   = '198.51.100.10';
my $off  = log_size($elog);

# Below the threshold.
is statuses(attacks($port, $ip, 4)), '403 x4',
    '4 attacks (threshold - 1) are denied by ModSecurity';
settle();
is clean($port, $ip), 200, 'below the threshold: clean request served';
is log_count($elog, $off, ban_re($ip)), 0, 'below the threshold: no ban line';

# The 5th attack bans. It is still answered by ModSecurity: the module
# counts it in log_transaction, after the response.
is attack($port, $ip), 403, 'the 5th attack itself gets ModSecurity\'s 403';
my $t_ban = time;
my $b = wait_ban($elog, $off, $ip);
ok $b, 'ban line RLW00010 logged for the client'
    or diag join "\n", log_since($elog, $off, qr/RLW|error/);
$b ||= {};
is $b->{level},     'warn', 'ban line at warn level';
is $b->{count},     5,      'ban line: count=5';
is $b->{window_ms}, 20000,  'ban line: window=20s';
is $b->{ban_ms},    2000,   'ban line: ban=2s';
is $b->{strike},    1,      'ban line: strike=1';
ok defined $b->{until} && abs($b->{until} - ($t_ban + 2)) <= 1.5,
    'ban line: until= is about now + 2s'
    or diag "until=" . ($b->{until_raw} || '?') . " now=" . scalar gmtime $t_ban;

# Banned: every URL, clean or not, existing or not.
for my $path ('/', '/hello.txt', '/index.html', '/no/such/file', '/?x=1',
              $ATTACK, $SQLI) {
    my $r = http_request(port => $port, xff => $ip, path => $path);
    is $r->{status}, 404, "banned: GET $path -> 404";
}
my $r = http_request(port => $port, xff => $ip, path => '/hello.txt',
                     method => 'POST', body => 'a=1',
                     headers => ['Content-Type: application/x-www-form-urlencoded']);
is $r->{status}, 404, 'banned: POST -> 404';
$r = http_request(port => $port, xff => $ip, path => '/hello.txt');
ok length($r->{body}) > 0 && length($r->{body}) <= 128,
    'ban answer has a tiny body (1..128 bytes)'
    or diag 'body: ' . length($r->{body}) . ' bytes';
like $r->{headers}->{'content-type'} || '', qr{^text/},
    'ban answer is text';
unlike $r->{body}, qr/hello/, 'ban answer is not the file';

# Other clients are not affected.
is clean($port, '198.51.100.11'), 200, 'another client is served';
is clean($port, undef), 200, 'the proxy itself (no X-Forwarded-For) is served';

# Blocked requests are not logged again and not counted.
is statuses(map { $_ % 2 ? attack($port, $ip) : clean($port, $ip) } 1 .. 20),
    '404 x20', '20 more requests while banned: all 404';
settle();
is log_count($elog, $off, ban_re($ip)), 1,
    'exactly one ban line for the client, whatever the blocked requests';

# The ban ends on time (2s), not extended by the blocked requests.
my ($t, $s) = measure_ban($port, $ip, $t_ban);
is $s, 200, 'after the ban: clean request served';
ok defined $t && $t >= 1.8 && $t <= 3.5, 'ban lasted about 2s'
    or diag 'ban lasted ' . (defined $t ? sprintf('%.2fs', $t) : 'forever');

# Our own 404s did not count: threshold - 1 attacks again are no ban.
my $off2 = log_size($elog);
is statuses(attacks($port, $ip, 4)), '403 x4',
    'after the ban: 4 attacks denied by ModSecurity';
settle();
is clean($port, $ip), 200,
    'after the ban: 4 attacks do not ban (count restarted, 404s not counted)';
is log_count($elog, $off2, ban_re($ip)), 0, 'no second ban line yet';

# The 5th bans again, as strike 2 (4s).
is attack($port, $ip), 403, 'the 5th attack after the ban';
my $b2 = wait_ban($elog, $off2, $ip) || {};
is $b2->{strike}, 2,    'second ban: strike=2';
is $b2->{ban_ms}, 4000, 'second ban: ban=4s (BanTime doubled)';
is clean($port, $ip), 404, 'second ban: clean request 404';
