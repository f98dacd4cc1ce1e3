# Client identity is r->useragent_ip as set by mod_remoteip from the trusted
# proxy's X-Forwarded-For; garbage does not hurt.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More import => ["!plan"];
use Apache::Test qw(-withtestmore);
use RLW::Client qw(:all);

plan tests => 10, need need_rlw();

my $port = port();
my $elog = log_path();
my $ip   = '198.51.100.40';
my $off  = log_size($elog);

is statuses(attacks($port, $ip, 5)), '403 x5', '5 attacks via X-Forwarded-For';
my $b = wait_ban($elog, $off, $ip);
ok $b, 'ban line names the X-Forwarded-For client';
is log_count($elog, $off, qr/RLW00010: ban client=127\.0\.0\.1 /), 0,
    'the proxy is not banned';

is clean($port, $ip), 404, 'client banned';
is clean($port, '198.51.100.41'), 200, 'neighbour address served';
is clean($port, undef), 200, 'proxy itself (no header) served';
is clean($port, "203.0.113.9, $ip"), 404,
    'rightmost untrusted address is the client';
is clean($port, "$ip, 127.0.0.1"), 404,
    'trusted proxies are skipped from the right';
is clean($port, 'garbage!!'), 200, 'garbage X-Forwarded-For: served';
is clean($port, undef), 200, 'server still serving';
