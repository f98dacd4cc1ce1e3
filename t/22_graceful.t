# Bans survive a graceful restart (SIGUSR1, and apache2 -k graceful).
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use RLW::Client qw(:all);
use RLW::Httpd;

plan skip_all => 'mod_ratelimit_waf.so is not built'
    unless RLW::Httpd::have_module();
plan tests => 10;

my $h = RLW::Httpd->new(name => 'graceful', directives => <<'CONF');
RateLimitWAF On
RateLimitWAFThreshold 3
RateLimitWAFBanTime 60s
CONF
$h->start;
my $port = $h->port;
my $elog = $h->error_log;
my $ip   = '198.51.100.220';
my $off  = log_size($elog);

attacks($port, $ip, 3);
ok wait_ban($elog, $off, $ip), 'banned';
is clean($port, $ip), 404, 'banned: 404';
my $pid = $h->pid;

ok eval { $h->graceful; 1 }, 'graceful restart (SIGUSR1)' or diag $@;
is $h->pid, $pid, 'same parent process';
is clean($port, $ip), 404, 'after SIGUSR1: still banned';
is clean($port, '198.51.100.221'), 200, 'after SIGUSR1: others served';

my $gen = $h->generations;
my $out = `${\ RLW::Httpd::httpd_bin()} -f ${\ $h->conf_file} -k graceful 2>&1`;
is $?, 0, 'apache2 -k graceful' or diag $out;
ok wait_until(sub { $h->generations > $gen }, 30),
    'new generation after -k graceful';
is clean($port, $ip), 404, 'after -k graceful: still banned';
is log_count($elog, $off, ban_re($ip)), 1, 'the ban was logged once';

$h->stop;
