# Several private servers at once (what the cluster tests build on): each
# has its own port, logs and shared-memory table, so a ban on one is not a
# ban on the other.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use RLW::Client qw(:all);
use RLW::Httpd;

plan skip_all => 'mod_ratelimit_waf.so is not built'
    unless RLW::Httpd::have_module();
plan tests => 7;

my $conf = "RateLimitWAF On\nRateLimitWAFThreshold 3\nRateLimitWAFBanTime 30s\n";
my $one = RLW::Httpd->new(name => 'node1', directives => $conf)->start;
my $two = RLW::Httpd->new(name => 'node2', directives => $conf)->start;
isnt $one->port, $two->port, 'two servers, two ports';
isnt $one->dir, $two->dir, 'two server roots';

my $ip  = '198.51.100.230';
my $off = log_size($one->error_log);
is statuses(attacks($one->port, $ip, 3)), '403 x3', 'node1: 3 attacks';
ok wait_ban($one->error_log, $off, $ip), 'node1: banned';
is clean($one->port, $ip), 404, 'node1: 404';
is clean($two->port, $ip), 200, 'node2: its own table, not banned';
is log_count($two->error_log, 0, ban_re($ip)), 0, 'node2: no ban line';

$one->stop;
$two->stop;
