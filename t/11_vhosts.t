# Per-vhost settings: ban status, RateLimitWAF Off, ScoreVar, AttackScore;
# a ban applies on every virtual host with RateLimitWAF On.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More import => ["!plan"];
use Apache::Test qw(-withtestmore);
use RLW::Client qw(:all);

plan tests => 21, need need_rlw();

my $elog = log_path();

{   # RateLimitWAFBanStatus 429, and the shared table
    my $ip  = '203.0.113.150';
    my $off = log_size($elog);
    is statuses(attacks(port('rlw_status'), $ip, 3)), '403 x3', 'status: 3 attacks';
    ok wait_ban($elog, $off, $ip), 'status: banned';
    my $r = http_request(port => port('rlw_status'), xff => $ip);
    is $r->{status}, 429, 'status: RateLimitWAFBanStatus 429';
    ok length($r->{body}) <= 128, 'status: tiny body';
    is clean(port(), $ip), 404, 'ban applies on the main server (its status 404)';
    is clean(port('rlw_escalate'), $ip), 404, 'ban applies on another vhost';
    is clean(port('rlw_off'), $ip), 200, 'but not where RateLimitWAF is Off';
}

{   # RateLimitWAF Off: attacks are not counted
    my $ip  = '203.0.113.151';
    my $off = log_size($elog);
    is statuses(attacks(port('rlw_off'), $ip, 10)), '403 x10',
        'off: 10 attacks, ModSecurity still denies';
    settle();
    is clean(port('rlw_off'), $ip), 200, 'off: not banned';
    is attack(port(), $ip), 403, 'off: then one attack on the main server';
    settle();
    is clean(port(), $ip), 200, 'off: attacks on the Off vhost were not counted';
    is log_count($elog, $off, ban_re($ip)), 0, 'off: no ban line';
}

SKIP: {   # RateLimitWAFScoreVar RLW_TEST_SCORE (set from X-Test-Score), score >= 5
    # The variable is where mod_security2's verdict comes from; the
    # embedded engine (RLW_ENGINE=modsecurity3) reads its own.
    skip 'RateLimitWAFScoreVar is read by the modsecurity2 engine only', 7
        if ($ENV{RLW_ENGINE} || '') eq 'modsecurity3';
    my $port = port('rlw_scorevar');
    my $off  = log_size($elog);
    my $low  = '203.0.113.160';
    my $hit  = '203.0.113.161';
    is statuses(map { clean($port, $low, headers => ['X-Test-Score: 4']) } 1 .. 4),
        '200 x4', 'scorevar: 4 requests scoring 4';
    settle();
    is clean($port, $low), 200, 'scorevar: score 4 < 5 is not an attack';
    is statuses(map { clean($port, $hit, headers => ['X-Test-Score: 5']) } 1 .. 3),
        '200 x3', 'scorevar: 3 requests scoring 5';
    ok wait_ban($elog, $off, $hit), 'scorevar: score 5 is an attack: banned';
    is clean($port, $hit), 404, 'scorevar: 404';

    my $real = '203.0.113.162';
    is statuses(attacks($port, $real, 4)), '403 x4',
        'scorevar: real attacks (MODSEC_ANOMALY_SCORE) on this vhost';
    settle();
    is clean($port, $real), 200, 'scorevar: are not read from the other variable';
}

{   # RateLimitWAFAttackScore 1000
    my $ip   = '203.0.113.165';
    my $off  = log_size($elog);
    is statuses(attacks(port('rlw_highscore'), $ip, 5)), '403 x5',
        'attack score 1000: 5 attacks (threshold 3)';
    settle();
    is clean(port('rlw_highscore'), $ip), 200,
        'attack score 1000: their scores are below it: not banned';
}
