# Every bad value of every directive makes "httpd -t" fail with a message
# that names the directive and the value; main-server-only directives fail
# in a virtual host. A good configuration passes (so the failures below are
# about the values, not the test's configuration).
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use File::Temp ();
use Test::More;
use RLW::Httpd;

plan skip_all => 'mod_ratelimit_waf.so is not built'
    unless RLW::Httpd::have_module();

# [directive, bad value] in the main server
my @bad = (
    [RateLimitWAF               => 'maybe'],
    [RateLimitWAF               => 'yes'],
    [RateLimitWAFThreshold      => '0'],
    [RateLimitWAFThreshold      => '-1'],
    [RateLimitWAFThreshold      => 'abc'],
    [RateLimitWAFThreshold      => '1.5'],
    [RateLimitWAFThreshold      => '99999999999999999999'],
    [RateLimitWAFWindow         => '10x'],
    [RateLimitWAFWindow         => '-5s'],
    [RateLimitWAFWindow         => '1.5s'],
    [RateLimitWAFWindow         => '367d'],
    [RateLimitWAFWindow         => 's'],
    [RateLimitWAFBanTime        => 'abc'],
    [RateLimitWAFBanTime        => '-1'],
    [RateLimitWAFBanTime        => '1w'],
    [RateLimitWAFBanMax         => 'forever'],
    [RateLimitWAFBanMax         => '99999999999999999999d'],
    [RateLimitWAFStrikeDecay    => 'xyz'],
    [RateLimitWAFStrikeDecay    => '5 m'],
    [RateLimitWAFBanStatus      => '200'],
    [RateLimitWAFBanStatus      => '399'],
    [RateLimitWAFBanStatus      => '600'],
    [RateLimitWAFBanStatus      => 'abc'],
    [RateLimitWAFBanAction      => 'drop'],
    [RateLimitWAFBanAction      => 'Respondx'],
    [RateLimitWAFScoreVar       => 'BAD-NAME'],
    [RateLimitWAFScoreVar       => 'a.b'],
    [RateLimitWAFAttackScore    => 'abc'],
    [RateLimitWAFAttackScore    => '-1'],
    [RateLimitWAFExempt         => '10.0.0.1/8'],
    [RateLimitWAFExempt         => '300.1.1.1'],
    [RateLimitWAFExempt         => '2001:db8::/129'],
    [RateLimitWAFExempt         => '192.0.2.0/33'],
    [RateLimitWAFExempt         => 'nonsense'],
    [RateLimitWAFAllow          => '198.51.100.1/24'],
    [RateLimitWAFAllow          => 'proxy.example'],
    [RateLimitWAFAllowBanTime   => 'soon'],
    [RateLimitWAFIPv6Prefix     => '0'],
    [RateLimitWAFIPv6Prefix     => '129'],
    [RateLimitWAFIPv6Prefix     => 'abc'],
    [RateLimitWAFStore          => 'redis'],
    [RateLimitWAFTableSize      => '15'],
    [RateLimitWAFTableSize      => '0'],
    [RateLimitWAFTableSize      => 'abc'],
    [RateLimitWAFEventQueue     => '15'],
    [RateLimitWAFEventQueue     => '65537'],
    [RateLimitWAFEventQueue     => '-1'],
    [RateLimitWAFEventQueue     => 'lots'],
);

# Main-server-only directives with good values, in a virtual host.
my @main_only = (
    [RateLimitWAFWindow     => '10m'],
    [RateLimitWAFIPv6Prefix => '64'],
    [RateLimitWAFStore      => 'shm'],
    [RateLimitWAFTableSize  => '1000'],
    [RateLimitWAFEventQueue => '1024'],
);

# Bad values in a virtual host (per-vhost directives).
my @bad_vhost = (
    [RateLimitWAFThreshold  => 'abc'],
    [RateLimitWAFBanStatus  => '302'],
    [RateLimitWAFExempt     => '203.0.113.0/23'],
);

# RateLimitWAFSecretFile modes: [mode, accepted, what the message says]
my @secret_modes = (
    [0600, 1],
    [0640, 1],
    [0644, 0, 'is readable or writable by others'],
    [0620, 0, 'is writable by its group'],
    [0660, 0, 'is writable by its group'],
);

plan tests => 2 + 2 * @bad + 2 * @main_only + 2 * @bad_vhost + 2
    + 2 * @secret_modes;

# Good: every directive with a valid value, in the main server and a vhost.
{
    my ($rc, $out) = RLW::Httpd->configtest(modsec => 0, directives => <<'CONF',
RateLimitWAF On
RateLimitWAFThreshold 5000
RateLimitWAFWindow 10m
RateLimitWAFBanTime 15m
RateLimitWAFBanMax 24h
RateLimitWAFStrikeDecay 1d
RateLimitWAFBanStatus 404
RateLimitWAFBanAction respond
RateLimitWAFScoreVar MODSEC_ANOMALY_SCORE
RateLimitWAFAttackScore 5
RateLimitWAFExempt 192.0.2.0/24 2001:db8::/32 ::ffff:198.51.100.0/120
RateLimitWAFAllow 203.0.113.0/24 198.51.100.7
RateLimitWAFAllowBanTime 1m
RateLimitWAFIPv6Prefix 64
RateLimitWAFStore shm
RateLimitWAFTableSize 100000
RateLimitWAFEventQueue 256
CONF
        vhosts => <<'CONF');
<VirtualHost 127.0.0.1:18999>
    ServerName vhost.example
    RateLimitWAF On
    RateLimitWAFThreshold 10
    RateLimitWAFBanTime 90
    RateLimitWAFBanMax 8h
    RateLimitWAFStrikeDecay 500ms
    RateLimitWAFBanStatus 429
    RateLimitWAFBanAction close
    RateLimitWAFScoreVar MY_SCORE_2
    RateLimitWAFAttackScore 10
    RateLimitWAFExempt 10.0.0.0/8
    RateLimitWAFAllow 172.16.0.0/12
    RateLimitWAFAllowBanTime 30s
</VirtualHost>
CONF
    is $rc, 0, 'good configuration: httpd -t passes' or diag $out;
    like $out, qr/Syntax OK/, 'good configuration: Syntax OK';
}

for my $c (@bad) {
    my ($d, $v) = @$c;
    my $arg = $v =~ /\s/ ? qq{"$v"} : $v;
    my ($rc, $out) = RLW::Httpd->configtest(modsec => 0,
        directives => "RateLimitWAF On\n$d $arg\n");
    isnt $rc, 0, "$d $arg: httpd -t fails";
    like $out, qr/\Q$d\E\b.*\Q$v\E|\Q$v\E.*\Q$d\E\b/s,
        "$d $arg: message names the directive and the value"
        or diag $out;
}

for my $c (@main_only) {
    my ($d, $v) = @$c;
    my ($rc, $out) = RLW::Httpd->configtest(modsec => 0,
        directives => "RateLimitWAF On\n",
        vhosts => "<VirtualHost 127.0.0.1:18999>\n    ServerName vhost.example\n"
            . "    $d $v\n</VirtualHost>\n");
    isnt $rc, 0, "$d in a virtual host: httpd -t fails";
    like $out, qr/\Q$d\E/, "$d in a virtual host: message names it"
        or diag $out;
}

for my $c (@bad_vhost) {
    my ($d, $v) = @$c;
    my ($rc, $out) = RLW::Httpd->configtest(modsec => 0,
        directives => "RateLimitWAF On\n",
        vhosts => "<VirtualHost 127.0.0.1:18999>\n    ServerName vhost.example\n"
            . "    $d $v\n</VirtualHost>\n");
    isnt $rc, 0, "vhost: $d $v: httpd -t fails";
    like $out, qr/\Q$d\E\b.*\Q$v\E|\Q$v\E.*\Q$d\E\b/s,
        "vhost: $d $v: message names the directive and the value"
        or diag $out;
}

# BanMax shorter than BanTime makes no sense.
{
    my ($rc, $out) = RLW::Httpd->configtest(modsec => 0,
        directives => "RateLimitWAF On\nRateLimitWAFBanTime 1h\nRateLimitWAFBanMax 10m\n");
    isnt $rc, 0, 'BanMax 10m < BanTime 1h: httpd -t fails';
    like $out, qr/RateLimitWAFBanMax/, 'BanMax < BanTime: message names BanMax'
        or diag $out;
}

# The secret file: whoever may write it chooses every node's keys. The file
# is this test's (root's, or nobody's under make itest): its owner is
# accepted either way (root, or the user httpd runs as); the mode decides.
{
    my $dir = File::Temp::tempdir('rlw-secret-XXXXXX', TMPDIR => 1,
                                  CLEANUP => 1);
    my $path = "$dir/cluster.secret";
    open my $fh, '>', $path or die "$path: $!\n";
    print {$fh} 'x' x 48, "\n";
    close $fh;
    for my $c (@secret_modes) {
        my ($mode, $ok, $why) = @$c;
        my $m = sprintf '%04o', $mode;
        chmod $mode, $path or die "chmod $path: $!\n";
        my ($rc, $out) = RLW::Httpd->configtest(modsec => 0,
            directives => "RateLimitWAF On\n"
                . "RateLimitWAFStore memcached \"--SERVER=127.0.0.1:1\"\n"
                . "RateLimitWAFSecretFile \"$path\"\n");
        if ($ok) {
            is $rc, 0, "secret file $m: httpd -t passes" or diag $out;
            like $out, qr/Syntax OK/, "secret file $m: Syntax OK";
        }
        else {
            isnt $rc, 0, "secret file $m: httpd -t fails";
            like $out, qr/RateLimitWAFSecretFile: secret file \Q$path\E \Q$why\E \(mode $m\)/,
                "secret file $m: names the directive, the file and what is wrong"
                or diag $out;
        }
    }
}
