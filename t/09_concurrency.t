# Parallel clients (rlw_conc: threshold 100): 99 attacks from 8 workers do
# not ban, the 100th does; a parallel flood logs exactly one ban.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More import => ["!plan"];
use Apache::Test qw(-withtestmore);
use Time::HiRes qw(sleep);
use RLW::Client qw(:all);

plan tests => 11, need need_rlw();

my $port = port('rlw_conc');
my $elog = log_path();
my $workers = 8;

{
    my $ip  = '198.51.100.70';
    my $off = log_size($elog);
    # 99 = 7 x 12 + 15
    my @s = parallel($workers, sub {
        my $n = $_[0] == $workers - 1 ? 15 : 12;
        return attacks($port, $ip, $n);
    });
    is statuses(@s), '403 x99', '99 attacks from 8 parallel workers: all 403';
    settle(0.5);
    is clean($port, $ip), 200, '99 parallel attacks (threshold 100): not banned';
    is log_count($elog, $off, ban_re($ip)), 0, 'no ban line';
    is attack($port, $ip), 403, 'the 100th attack';
    my $b = wait_ban($elog, $off, $ip);
    ok $b, 'the 100th attack bans';
    is $b && $b->{count}, 100, 'ban line: count=100 (no attack lost)';
    is clean($port, $ip), 404, 'banned';
}

{
    my $ip  = '198.51.100.71';
    my $off = log_size($elog);
    my @s = parallel($workers, sub { attacks($port, $ip, 20) });
    my $n403 = grep { $_ == 403 } @s;
    my $n404 = grep { $_ == 404 } @s;
    is $n403 + $n404, 160, '160 parallel attacks: every answer 403 or 404'
        or diag statuses(@s);
    ok $n403 >= 100 && $n403 <= 100 + 2 * $workers,
        "flood: 100 attacks reached ModSecurity before the ban (+ in flight): $n403";
    ok wait_ban($elog, $off, $ip), 'flood: banned';
    settle(1);
    is log_count($elog, $off, ban_re($ip)), 1, 'flood: exactly one ban line';
}
