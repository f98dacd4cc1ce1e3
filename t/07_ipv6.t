# IPv6 clients are grouped by /64 (RateLimitWAFIPv6Prefix default);
# IPv4-mapped IPv6 is the IPv4 client.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More import => ["!plan"];
use Apache::Test qw(-withtestmore);
use RLW::Client qw(:all);

plan tests => 17, need need_rlw();

my $port = port();    # threshold 5
my $elog = log_path();

{
    my $off = log_size($elog);
    is statuses(attacks($port, '2001:db8:1:2::1', 3)), '403 x3',
        '3 attacks from 2001:db8:1:2::1';
    is attack($port, '2001:db8:1:2::ffff'), 403, '1 from 2001:db8:1:2::ffff';
    is statuses(attacks($port, '2001:db8:1:3::1', 4)), '403 x4',
        '4 from 2001:db8:1:3::1 (another /64)';
    settle();
    is clean($port, '2001:db8:1:2::abcd'), 200, 'same /64: 4 attacks, not banned';
    is clean($port, '2001:db8:1:3::1'), 200,
        'other /64: 4 attacks of its own, not banned (counts are not shared)';
    is log_count($elog, $off, qr/RLW00010: ban client=2001:db8:1:/), 0,
        'no ban yet';

    is attack($port, '2001:db8:1:2:ffff:ffff:ffff:ffff'), 403,
        '5th attack from the same /64';
    my $b = wait_ban($elog, $off, '2001:db8:1:2::/64');
    ok $b, 'ban line names the /64: client=2001:db8:1:2::/64'
        or diag join "\n", log_since($elog, $off, qr/RLW/);
    is $b && $b->{count}, 5, 'count=5 (both addresses counted together)';
    is clean($port, '2001:db8:1:2::1'), 404, 'banned: 2001:db8:1:2::1';
    is clean($port, '2001:db8:1:2:aaaa::5'), 404, 'banned: any address of the /64';
    is clean($port, '2001:db8:1:3::1'), 200, 'other /64 still served';
}

{
    my $ip  = '198.51.100.50';
    my $off = log_size($elog);
    is statuses(attacks($port, "::ffff:$ip", 3)), '403 x3',
        "3 attacks from ::ffff:$ip";
    is statuses(attacks($port, $ip, 2)), '403 x2', "2 from $ip";
    ok wait_ban($elog, $off, $ip),
        "IPv4-mapped counted as $ip: banned, logged as client=$ip";
    is clean($port, $ip), 404, "$ip banned";
    is clean($port, "::ffff:$ip"), 404, "::ffff:$ip banned";
}
