# Exempt clients are never banned; crossing the threshold is logged once
# (RLW00011). A list in a virtual host replaces the inherited one.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More import => ["!plan"];
use Apache::Test qw(-withtestmore);
use Time::HiRes qw(sleep);
use RLW::Client qw(:all);

plan tests => 17, need need_rlw();

my $elog = log_path();
my $ex   = port('rlw_exempt');    # threshold 3, exempt 203.0.113.0/28 ...
my $main = port();                # threshold 5, exempt 192.0.2.248/30

{
    my $ip  = '203.0.113.5';
    my $off = log_size($elog);
    is statuses(attacks($ex, $ip, 10)), '403 x10',
        'exempt: 10 attacks (threshold 3) all answered by ModSecurity';
    settle();
    is clean($ex, $ip), 200, 'exempt: not banned';
    is clean($main, $ip), 200, 'exempt: not banned on the main server either';
    my @x = wait_log($elog, $off, exempt_re($ip));
    settle(0.5);
    @x = log_since($elog, $off, exempt_re($ip));
    is scalar(@x), 1, 'exempt: exactly one RLW00011 line for one crossing'
        or diag join "\n", @x;
    like $x[0] || '', qr/RLW00011: exempt client=\Q$ip\E crossed threshold count=3 window=20s/,
        'exempt: RLW00011 names the client, count and window';
    is log_count($elog, $off, ban_re($ip)), 0, 'exempt: no ban line';
}

{
    my $ip  = '2001:db8:e:5::1';
    my $off = log_size($elog);
    is statuses(attacks($ex, $ip, 5)), '403 x5', 'exempt IPv6 /48: 5 attacks';
    settle();
    is clean($ex, $ip), 200, 'exempt IPv6 /48: not banned';
    is log_count($elog, $off, qr/RLW00010: ban client=2001:db8:e:/), 0,
        'exempt IPv6 /48: no ban line';
}

{
    my $ip  = '203.0.113.40';
    my $off = log_size($elog);
    is statuses(attacks($ex, $ip, 3)), '403 x3', 'not exempt: 3 attacks';
    ok wait_ban($elog, $off, $ip), 'not exempt: banned';
    is clean($ex, $ip), 404, 'not exempt: 404';
}

{
    # Inherited on the main server ...
    my $ip  = '192.0.2.249';
    my $off = log_size($elog);
    is statuses(attacks($main, $ip, 8)), '403 x8',
        'main server list: 8 attacks (threshold 5)';
    settle();
    is clean($main, $ip), 200, 'main server list: exempt';
    is log_count($elog, $off, ban_re($ip)), 0, 'main server list: no ban line';

    # ... replaced (not merged) in rlw_exempt.
    $ip  = '192.0.2.250';
    $off = log_size($elog);
    attacks($ex, $ip, 3);
    ok wait_ban($elog, $off, $ip),
        'vhost list replaces the main server list: 192.0.2.250 banned there';
    is clean($ex, $ip), 404, 'vhost list replaces: 404';
}
