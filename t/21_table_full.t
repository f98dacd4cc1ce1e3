# A full table (private server: RateLimitWAFTableSize 16) evicts idle
# clients, keeps running bans, logs RLW00020 once per interval against the
# request being served, and still tracks new clients.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use RLW::Client qw(:all);
use RLW::Httpd;

plan skip_all => 'mod_ratelimit_waf.so is not built'
    unless RLW::Httpd::have_module();
plan tests => 9;

my $h = RLW::Httpd->new(name => 'tablefull', directives => <<'CONF');
RateLimitWAF On
RateLimitWAFTableSize 16
RateLimitWAFWindow 20s
RateLimitWAFThreshold 3
RateLimitWAFBanTime 60s
CONF
$h->start;
my $port = $h->port;
my $elog = $h->error_log;
my $off  = log_size($elog);

my $banned = '198.51.100.210';
attacks($port, $banned, 3);
ok wait_ban($elog, $off, $banned), 'client A banned';

my @s = map { attack($port, "192.0.2.$_") } 100 .. 159;
is statuses(@s), '403 x60', '60 other clients, one attack each (table of 16)';
settle(0.5);
is clean($port, $banned), 404, 'A still banned: a running ban is not evicted';

my @full = log_since($elog, $off, qr/RLW00020/);
ok @full >= 1, 'RLW00020 logged when the table is full'
    or diag $h->error_log_tail;
ok @full <= 2, 'RLW00020 logged once per interval, not per eviction'
    or diag scalar(@full) . " lines";
# The store logged it while counting an attack: against that request (its
# virtual host's error log), which names the client.
like $full[0] // '', qr/\[client 192\.0\.2\.1[0-5]\d[\]:]/,
    'RLW00020 logged against the request being served'
    or diag $full[0];

my $new = '192.0.2.200';
attacks($port, $new, 3);
ok wait_ban($elog, $off, $new), 'a new client is still tracked and banned';
is clean($port, $new), 404, 'new client: 404';
is clean($port, '192.0.2.201'), 200, 'server still serving others';

$h->stop;
