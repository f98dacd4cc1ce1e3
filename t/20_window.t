# The window slides (private server: RateLimitWAFWindow 2s, threshold 3).
# The window has 16 buckets: an attack counts for 1875..2000ms.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use Time::HiRes qw(time sleep);
use RLW::Client qw(:all);
use RLW::Httpd;

plan skip_all => 'mod_ratelimit_waf.so is not built'
    unless RLW::Httpd::have_module();
plan tests => 12;

my $h = RLW::Httpd->new(name => 'window', directives => <<'CONF');
RateLimitWAF On
RateLimitWAFWindow 2s
RateLimitWAFThreshold 3
RateLimitWAFBanTime 1s
CONF
$h->start;
my $port = $h->port;
my $elog = $h->error_log;

{   # attacks older than the window are forgotten
    my $ip  = '198.51.100.200';
    my $off = log_size($elog);
    is statuses(attacks($port, $ip, 2)), '403 x2', 'old: 2 attacks';
    sleep 2.3;
    is statuses(attacks($port, $ip, 2)), '403 x2', 'old: 2.3s later, 2 more';
    settle();
    is clean($port, $ip), 200, 'old: not banned (the first 2 left the window)';
    is log_count($elog, $off, ban_re($ip)), 0, 'old: no ban line';
    is attack($port, $ip), 403, 'old: a third recent attack';
    my $b = wait_ban($elog, $off, $ip);
    is $b && $b->{count}, 3, 'old: banned with count=3';
}

{   # attacks within the window add up
    my $ip  = '198.51.100.201';
    my $off = log_size($elog);
    attacks($port, $ip, 2);
    sleep 1.0;
    attack($port, $ip);
    ok wait_ban($elog, $off, $ip), 'recent: 2 attacks, 1s later 1 more: banned';
}

{   # sliding, not a fixed 2s block: at 0, 1.2s, 2.4s -> 2 in the window
    my $ip  = '198.51.100.202';
    my $off = log_size($elog);
    is attack($port, $ip), 403, 'slide: attack at 0s';
    sleep 1.2;
    is attack($port, $ip), 403, 'slide: attack at 1.2s';
    sleep 1.2;
    is attack($port, $ip), 403, 'slide: attack at 2.4s';
    settle();
    is clean($port, $ip), 200, 'slide: only 2 in the window: not banned';
    attack($port, $ip);
    ok wait_ban($elog, $off, $ip), 'slide: a 4th at once makes 3: banned';
}

$h->stop;
