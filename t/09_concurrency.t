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

plan tests => 14, need need_rlw();

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
    # The module counts in log_transaction, which httpd runs after the
    # response went out (with the event MPM, tens of ms later under load),
    # so a fast client has several attacks answered by ModSecurity before
    # the ban decision. What must hold: no ban before the 100th counted
    # attack, exactly one ban line, and every request that reached httpd
    # after the ban was decided is refused.
    my $ip  = '198.51.100.71';
    my $off = log_size($elog);
    my $acc = log_path('rlw_access_log');
    my $acc_off = log_size($acc);
    my @s = parallel($workers, sub { attacks($port, $ip, 20) });
    my $n403 = grep { $_ == 403 } @s;
    my $n404 = grep { $_ == 404 } @s;
    is $n403 + $n404, 160, '160 parallel attacks: every answer 403 or 404'
        or diag statuses(@s);
    cmp_ok $n403, '>=', 100, 'flood: no ban before 100 attacks';
    my @ban = wait_log($elog, $off, ban_re($ip));
    ok @ban, 'flood: banned';
    settle(1);
    is log_count($elog, $off, ban_re($ip)), 1, 'flood: exactly one ban line';

    # Ban time from the error log ("[... 10:49:20.623629 2026]"), request
    # start times from the access log ("t=10:49:20.547"), same clock.
    my ($h, $m, $sec) = ($ban[0] || '') =~ /^\[\w+ \w+ +\d+ (\d\d):(\d\d):(\d\d\.\d+) /;
    my $t_ban = defined $sec ? $h * 3600 + $m * 60 + $sec : 0;
    ok $t_ban > 0, 'flood: time of the ban line parsed';
    my (@late, $parsed);
    for my $l (log_since($acc, $acc_off, qr/^\Q$ip\E 403 /)) {
        my ($ah, $am, $as) = $l =~ / t=(\d\d):(\d\d):(\d\d\.\d+) / or next;
        $parsed++;
        push @late, $l if $ah * 3600 + $am * 60 + $as >= $t_ban + 0.001;
    }
    is $parsed, $n403, 'flood: every 403 found in the access log';
    is scalar(@late), 0,
        'flood: no request that started after the ban got past it'
        or diag join "\n", "ban: $ban[0]", @late[0 .. ($#late < 9 ? $#late : 9)];
}
