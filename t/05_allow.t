# Allowlisted shared proxies: banned for AllowBanTime (1s), never escalated
# (strike stays 0); others on the same vhost get BanTime (3s), strike 1.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More import => ["!plan"];
use Apache::Test qw(-withtestmore);
use Time::HiRes qw(time sleep);
use RLW::Client qw(:all);

plan tests => 3 * 6 + 5, need need_rlw();

my $port = port('rlw_allow');
my $elog = log_path();

for my $round (1 .. 3) {
    my $ip  = '203.0.113.70';
    my $off = log_size($elog);
    is statuses(attacks($port, $ip, 3)), '403 x3', "allow round $round: 3 attacks";
    my $t0 = time;
    my $b = wait_ban($elog, $off, $ip);
    ok $b, "allow round $round: ban line";
    $b ||= {};
    is $b->{strike}, 0,    "allow round $round: strike=0";
    is $b->{ban_ms}, 1000, "allow round $round: ban=1s (AllowBanTime, no escalation)";
    my ($t, $s) = measure_ban($port, $ip, $t0);
    is $s, 200, "allow round $round: served after the ban";
    ok defined $t && $t >= 0.8 && $t <= 2.2, "allow round $round: ban lasted about 1s"
        or diag 'lasted ' . (defined $t ? sprintf('%.2fs', $t) : 'forever');
}

{
    my $ip  = '203.0.113.100';
    my $off = log_size($elog);
    is statuses(attacks($port, $ip, 3)), '403 x3', 'not allowlisted: 3 attacks';
    my $b = wait_ban($elog, $off, $ip) || {};
    is $b->{strike}, 1,    'not allowlisted: strike=1';
    is $b->{ban_ms}, 3000, 'not allowlisted: ban=3s (BanTime)';
    is clean($port, $ip), 404, 'not allowlisted: 404';
    is clean($port, '203.0.113.71'), 200,
        'another allowlisted address is a different client';
}
