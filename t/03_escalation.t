# Escalation: ban k lasts BanTime * 2^(k-1), capped at BanMax; strikes are
# forgotten after StrikeDecay of quiet (rlw_escalate: threshold 3, 1s, cap
# 3s, decay 3s). Blocked polling requests must not extend any ban.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More import => ["!plan"];
use Apache::Test qw(-withtestmore);
use Time::HiRes qw(time sleep);
use RLW::Client qw(:all);

plan tests => 4 * 6 + 7, need need_rlw();

my $port = port('rlw_escalate');
my $elog = log_path();

# One ban of client: 3 attacks, the ban line, then its length measured by
# polling clean requests. Returns (parsed line, measured seconds).
sub one_ban {
    my ($ip, $label) = @_;
    my $off = log_size($elog);
    is statuses(attacks($port, $ip, 3)), '403 x3', "$label: 3 attacks";
    my $t0 = time;
    my $b = wait_ban($elog, $off, $ip);
    ok $b, "$label: ban line" or diag join "\n", log_since($elog, $off, qr/RLW/);
    my ($t, $s) = measure_ban($port, $ip, $t0);
    return ($b || {}, $t, $s);
}

my @want = (1, 2, 3, 3);    # seconds: 1s, 2s, 4s capped at 3s, 8s capped
for my $k (1 .. 4) {
    my ($b, $t, $s) = one_ban('198.51.100.30', "strike $k");
    is $b->{strike}, $k, "strike $k: strike=$k";
    is $b->{ban_ms}, $want[$k - 1] * 1000, "strike $k: ban=$want[$k - 1]s";
    is $s, 200, "strike $k: served after the ban";
    ok defined $t && $t >= $want[$k - 1] - 0.2 && $t <= $want[$k - 1] + 1.2,
        "strike $k: ban lasted about $want[$k - 1]s"
        or diag 'lasted ' . (defined $t ? sprintf('%.2fs', $t) : 'forever');
}

# Strike decay: after 3s without a ban, the next ban is strike 1 again.
{
    my $ip = '198.51.100.31';
    my ($b1) = one_ban($ip, 'decay first ban');
    is $b1->{strike}, 1, 'decay: first ban strike=1';
    sleep 3.5;
    my ($b2) = one_ban($ip, 'decay after 3.5s quiet');
    is $b2->{strike}, 1, 'decay: after StrikeDecay the ban is strike 1 again';
    is $b2->{ban_ms}, 1000, 'decay: and lasts BanTime (1s)';
}
