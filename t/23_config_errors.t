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

# Every directive and where it may appear: "main" = main server only
# (refused inside <VirtualHost>), "server" = main server and <VirtualHost>,
# "directory" = also <Directory>/<Location>. Checked against the module's
# own table (httpd -L) and docs/directives.md, so a directive added without
# a line here, without docs, or with another context, fails this test.
my @directives = (
    [RateLimitWAF                 => 'server'],
    [RateLimitWAFDryRun           => 'server'],
    [RateLimitWAFEventLog         => 'main'],
    [RateLimitWAFEventQueue       => 'main'],
    [RateLimitWAFThreshold        => 'server'],
    [RateLimitWAFNetwork          => 'server'],
    [RateLimitWAFKey              => 'server'],
    [RateLimitWAFWindow           => 'main'],
    [RateLimitWAFBanTime          => 'server'],
    [RateLimitWAFBanMax           => 'server'],
    [RateLimitWAFStrikeDecay      => 'server'],
    [RateLimitWAFBanStatus        => 'server'],
    [RateLimitWAFBanAction        => 'server'],
    [RateLimitWAFScoreVar         => 'server'],
    [RateLimitWAFAttackScore      => 'server'],
    [RateLimitWAFExempt           => 'server'],
    [RateLimitWAFAllow            => 'server'],
    [RateLimitWAFAllowBanTime     => 'server'],
    [RateLimitWAFIPv6Prefix       => 'main'],
    [RateLimitWAFStore            => 'main'],
    [RateLimitWAFTableSize        => 'main'],
    [RateLimitWAFSecretFile       => 'main'],
    [RateLimitWAFSyncInterval     => 'main'],
    [RateLimitWAFKeyPrefix        => 'main'],
    [RateLimitWAFMemcachedTimeout => 'main'],
    [RateLimitWAFMemcachedRetry   => 'main'],
    [RateLimitWAFNodeName         => 'main'],
    [RateLimitWAFEngine           => 'server'],
    [RateLimitWAFRules            => 'server'],
    [RateLimitWAFRequestBodyVariable => 'server'],
    [RateLimitWAFAdmin            => 'directory'],
);
my %context = map { @$_ } @directives;

# The secret file of the good configuration and of the mode checks below.
my $dir = File::Temp::tempdir('rlw-secret-XXXXXX', TMPDIR => 1,
                              CLEANUP => 1);
chmod 0755, $dir;
my $secret = "$dir/cluster.secret";
{
    open my $fh, '>', $secret or die "$secret: $!\n";
    print {$fh} 'x' x 48, "\n";
    close $fh;
    chmod 0600, $secret or die "chmod $secret: $!\n";
    open $fh, '>', "$dir/rules.conf" or die "$dir/rules.conf: $!\n";
    print {$fh} "SecRuleEngine On\n";
    close $fh;
    chmod 0644, "$dir/rules.conf";
}

# A good value of every directive (as written in httpd.conf).
my %good = (
    RateLimitWAF                 => 'On',
    RateLimitWAFDryRun           => 'Off',
    RateLimitWAFEventLog         => "$dir/events.log",
    RateLimitWAFEventQueue       => '256',
    RateLimitWAFThreshold        => '5000',
    RateLimitWAFNetwork          => '24 48 20000',
    RateLimitWAFKey              => 'api "%{HTTP:X-Api-Key}" 1000',
    RateLimitWAFWindow           => '10m',
    RateLimitWAFBanTime          => '15m',
    RateLimitWAFBanMax           => '24h',
    RateLimitWAFStrikeDecay      => '1d',
    RateLimitWAFBanStatus        => '404',
    RateLimitWAFBanAction        => 'respond',
    RateLimitWAFScoreVar         => 'MODSEC_ANOMALY_SCORE',
    RateLimitWAFAttackScore      => '5',
    RateLimitWAFExempt           => '192.0.2.0/24 2001:db8::/32 ::ffff:198.51.100.0/120',
    RateLimitWAFAllow            => '203.0.113.0/24 198.51.100.7',
    RateLimitWAFAllowBanTime     => '1m',
    RateLimitWAFIPv6Prefix       => '64',
    RateLimitWAFStore            => 'shm',
    RateLimitWAFTableSize        => '100000',
    RateLimitWAFSecretFile       => $secret,
    RateLimitWAFSyncInterval     => '250ms',
    RateLimitWAFKeyPrefix        => 'rlw:',
    RateLimitWAFMemcachedTimeout => '50ms',
    RateLimitWAFMemcachedRetry   => '2s',
    RateLimitWAFNodeName         => 'waf-03',
    RateLimitWAFEngine           => 'modsecurity2',
    RateLimitWAFRules            => "$dir/rules.conf",
    RateLimitWAFRequestBodyVariable => 'urlencoded',
    RateLimitWAFAdmin            => 'Off',
);

# [directive, bad value as written, the value the message must name (when
# not the same), directives written before it] in the main server.
my $memcached = qq{RateLimitWAFStore memcached "--SERVER=127.0.0.1:1"\n};
my @bad = (
    [RateLimitWAF               => 'maybe'],
    [RateLimitWAF               => 'yes'],
    [RateLimitWAFDryRun         => 'maybe'],
    [RateLimitWAFDryRun         => '1'],
    [RateLimitWAFEventLog       => 'syslog:nosuch'],
    [RateLimitWAFEventLog       => 'syslog:'],
    [RateLimitWAFEventLog       => '|'],
    [RateLimitWAFThreshold      => '0'],
    [RateLimitWAFThreshold      => '-1'],
    [RateLimitWAFThreshold      => 'abc'],
    [RateLimitWAFThreshold      => '1.5'],
    [RateLimitWAFThreshold      => '99999999999999999999'],
    # (count, window) pairs: a count without its window, a window given
    # twice, a zero or bad window, a zero count, too many pairs.
    [RateLimitWAFThreshold      => '5000 10m 20000'],
    [RateLimitWAFThreshold      => '5000 10m 20000 10m', "window '10m' is given twice"],
    [RateLimitWAFThreshold      => '5000 10m 20000 600s', "window '600s' is given twice"],
    [RateLimitWAFThreshold      => '5000 0s 20000 24h', "window '0s'"],
    [RateLimitWAFThreshold      => '5000 10x 20000 24h', "window '10x'"],
    [RateLimitWAFThreshold      => '0 10m 20000 24h', "count '0'"],
    [RateLimitWAFThreshold      => '5000 10m -1 24h', "count '-1'"],
    [RateLimitWAFThreshold      => '1 1m 2 2m 3 3m 4 4m'],
    # Pairs give the windows: RateLimitWAFWindow as well is refused.
    [RateLimitWAFWindow         => '10m', 'the main server\'s RateLimitWAFThreshold gives its windows (1m 1h)',
     "RateLimitWAFThreshold 5 1m 10 1h\n"],
    [RateLimitWAFWindow         => '10x'],
    [RateLimitWAFWindow         => '-5s'],
    [RateLimitWAFWindow         => '1.5s'],
    [RateLimitWAFWindow         => '367d'],
    [RateLimitWAFWindow         => 's'],
    [RateLimitWAFWindow         => '0'],
    [RateLimitWAFBanTime        => 'abc'],
    [RateLimitWAFBanTime        => '-1'],
    [RateLimitWAFBanTime        => '1w'],
    [RateLimitWAFBanMax         => 'forever'],
    [RateLimitWAFBanMax         => '99999999999999999999d'],
    [RateLimitWAFStrikeDecay    => 'xyz'],
    [RateLimitWAFStrikeDecay    => '"5 m"', '5 m'],
    [RateLimitWAFBanStatus      => '200'],
    [RateLimitWAFBanStatus      => '399'],
    [RateLimitWAFBanStatus      => '600'],
    [RateLimitWAFBanStatus      => 'abc'],
    [RateLimitWAFBanAction      => 'drop'],
    [RateLimitWAFBanAction      => 'Respondx'],
    [RateLimitWAFScoreVar       => 'BAD-NAME'],
    [RateLimitWAFScoreVar       => 'a.b'],
    [RateLimitWAFScoreVar       => 'V' x 129],
    [RateLimitWAFAttackScore    => 'abc'],
    [RateLimitWAFAttackScore    => '-1'],
    [RateLimitWAFAttackScore    => '1000001'],
    [RateLimitWAFExempt         => '10.0.0.1/8'],
    [RateLimitWAFExempt         => '300.1.1.1'],
    [RateLimitWAFExempt         => '2001:db8::/129'],
    [RateLimitWAFExempt         => '192.0.2.0/33'],
    [RateLimitWAFExempt         => 'nonsense'],
    [RateLimitWAFAllow          => '198.51.100.1/24'],
    [RateLimitWAFAllow          => 'proxy.example'],
    [RateLimitWAFAllowBanTime   => 'soon'],
    [RateLimitWAFNetwork        => '24 48 0', '0'],
    [RateLimitWAFNetwork        => '24 48 abc', 'abc'],
    [RateLimitWAFNetwork        => '24 48 99999999999', '99999999999'],
    [RateLimitWAFNetwork        => '33 48 100', '33'],
    [RateLimitWAFNetwork        => '32 48 100', '32'],
    [RateLimitWAFNetwork        => '-1 48 100', '-1'],
    [RateLimitWAFNetwork        => '24 129 100', '129'],
    [RateLimitWAFNetwork        => '24 /48 100', '/48'],
    [RateLimitWAFNetwork        => '0 0 100', '0 0'],
    [RateLimitWAFNetwork        => '24 48', '24 48'],
    [RateLimitWAFNetwork        => 'On', 'On'],
    [RateLimitWAFNetwork        => '24 48 100 5m 200', '24 48 100 5m 200'],
    [RateLimitWAFNetwork        => '24 48 100 5m 200 5m', "window '5m' is given twice"],
    # Networks and keys count in the server-wide windows.
    [RateLimitWAFNetwork        => '24 48 100 5m 200 1h', "'5m 1h' are not the server-wide ones (10m)"],
    [RateLimitWAFKey            => 'api "%{HTTP:X-Api-Key}" 100 1m 200 1d', "'1m 1d' are not the server-wide ones (1m 1h)",
     "RateLimitWAFThreshold 5 1m 10 1h\n"],
    [RateLimitWAFKey            => 'api "%{HTTP:X-Api-Key}" 100 1m', "'1m' are not the server-wide ones (10m)"],
    [RateLimitWAFKey            => 'api', "'api' is not NAME"],
    [RateLimitWAFKey            => 'api "%{HTTP:X-Api-Key" 100', '%{HTTP:X-Api-Key'],
    [RateLimitWAFKey            => 'api "%{NO_SUCH_FN:x}" 100', 'NO_SUCH_FN'],
    # No file functions: they would read a file on every request.
    [RateLimitWAFKey            => 'api "%{file:/etc/hostname}" 10', 'file'],
    [RateLimitWAFKey            => 'api "%{HTTP:X-Api-Key}" 0', '0'],
    [RateLimitWAFKey            => 'api "%{HTTP:X-Api-Key}" many', 'many'],
    [RateLimitWAFKey            => 'api "%{HTTP:X-Api-Key}" 1000000001', '1000000001'],
    [RateLimitWAFKey            => '"a b" "%{HTTP:X-Api-Key}" 10', 'a b'],
    [RateLimitWAFKey            => 'k' x 33 . ' "%{HTTP:X-Api-Key}" 10', 'k' x 33],
    # The same NAME twice in one server.
    [RateLimitWAFKey            => 'api "%{HTTP:X-Other}" 20', "'api' is already used",
     "RateLimitWAFKey api \"%{HTTP:X-Api-Key}\" 10\n"],
    # A fifth key in one server (the client, its network and four keys make
    # one round of counting).
    [RateLimitWAFKey            => 'k5 "%{HTTP:X-5}" 10', 'k5: too many keys',
     join('', map { "RateLimitWAFKey k$_ \"%{HTTP:X-$_}\" 10\n" } 1 .. 4)],
    # A ninth NAME in the configuration (each server may hold four).
    [RateLimitWAFKey            => 'k9 "%{HTTP:X-9}" 10', 'k9: too many key names',
     join('', map { "<VirtualHost 127.0.0.1:18998>\n" . join('', map { "RateLimitWAFKey k$_ \"%{HTTP:X-$_}\" 10\n" } @$_) . "</VirtualHost>\n" } [1 .. 4], [5 .. 8])],
    # A network longer than the grouped IPv6 client it would lie in.
    [RateLimitWAFNetwork        => '24 80 100', '80', "RateLimitWAFIPv6Prefix 64
"],
    [RateLimitWAFIPv6Prefix     => '0'],
    [RateLimitWAFIPv6Prefix     => '129'],
    [RateLimitWAFIPv6Prefix     => 'abc'],
    [RateLimitWAFStore          => 'redis'],
    [RateLimitWAFStore          => 'shm "x"', 'x'],
    [RateLimitWAFStore          => 'memcached', 'memcached'],
    [RateLimitWAFStore          => 'memcached "--BOGUS"', '--BOGUS'],
    [RateLimitWAFTableSize      => '15'],
    [RateLimitWAFTableSize      => '0'],
    [RateLimitWAFTableSize      => 'abc'],
    [RateLimitWAFSecretFile     => "$dir/missing.secret", undef, $memcached],
    [RateLimitWAFSyncInterval   => '0'],
    [RateLimitWAFSyncInterval   => 'fast'],
    [RateLimitWAFKeyPrefix      => '"a b"', 'a b'],
    [RateLimitWAFKeyPrefix      => 'k' x 65],
    [RateLimitWAFMemcachedTimeout => '0ms'],
    [RateLimitWAFMemcachedTimeout => 'abc'],
    [RateLimitWAFMemcachedRetry => '-1'],
    [RateLimitWAFMemcachedRetry => '2x'],
    [RateLimitWAFNodeName       => 'n' x 64],
    [RateLimitWAFEventQueue     => '15'],
    [RateLimitWAFEventQueue     => '65537'],
    [RateLimitWAFEventQueue     => '-1'],
    [RateLimitWAFEventQueue     => 'lots'],
    [RateLimitWAFAdmin          => 'maybe'],
    [RateLimitWAFAdmin          => 'true'],
    [RateLimitWAFEngine         => 'modsecurity'],
    [RateLimitWAFEngine         => 'ModSecurity3'],
    [RateLimitWAFRequestBodyVariable => 'never'],
    [RateLimitWAFRequestBodyVariable => 'multipart'],
    # With the embedded engine: a missing file, a glob matching nothing.
    [RateLimitWAFRules          => "$dir/missing.conf", undef,
     "RateLimitWAFEngine modsecurity3\n"],
    [RateLimitWAFRules          => "$dir/none-*.conf", undef,
     "RateLimitWAFEngine modsecurity3\n"],
);

# Bad values in a virtual host (per-vhost directives).
my @bad_vhost = (
    [RateLimitWAFEngine     => 'modsecurity4'],
    [RateLimitWAFRequestBodyVariable => 'sometimes'],
    [RateLimitWAFThreshold  => 'abc'],
    # The windows are the main server's (here RateLimitWAFWindow's, 10m).
    [RateLimitWAFThreshold  => '5 10m 10 1h', "'10m 1h' are not the server-wide ones"],
    [RateLimitWAFNetwork    => 'Of'],
    [RateLimitWAFKey        => 'api "%{HTTP:X-Api-Key}" -5', "threshold '-5'"],
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

my $vhost = sub {
    "<VirtualHost 127.0.0.1:18999>\n    ServerName vhost.example\n"
        . join('', map { "    $_\n" } @_) . "</VirtualHost>\n";
};

# The list above, the module's table and the documentation agree.
{
    my $h = RLW::Httpd->new(name => 'directives', modsec => 0,
                            directives => "RateLimitWAF On\n");
    my $out = `${\ RLW::Httpd::httpd_bin()} -L -f ${\ $h->conf_file} 2>&1`;
    my (@module, %where);
    while ($out =~ /^(RateLimitWAF\w*) \(mod_ratelimit_waf\.c\)\n(?:\t.*\n)*?\tAllowed in \*\.conf (.*)$/mg) {
        push @module, $1;
        $where{$1} = $2 eq 'anywhere' ? 'directory' : 'server or main';
    }
    is_deeply [sort @module], [sort keys %context],
        'httpd -L lists exactly the directives this test knows'
        or diag $out;
    is_deeply \%where,
        { map { $_ => $context{$_} eq 'directory' ? 'directory'
                                                  : 'server or main' }
          keys %context },
        'httpd -L: only the directory directives are allowed in <Location>';

    my $doc_file = "$FindBin::Bin/../docs/directives.md";
    open my $fh, '<', $doc_file or die "$doc_file: $!\n";
    my $doc = do { local $/; <$fh> };
    close $fh;
    my %words = ('server config (main server only)' => 'main',
                 'server config, virtual host' => 'server',
                 'server config, virtual host, directory' => 'directory');
    my (%summary, %section);
    $summary{$1} = $words{$2} // $2
        while $doc =~ /^\| \[(RateLimitWAF\w*)\]\(#\w+\) \| [^|]+ \| ([^|]+?) \|$/mg;
    $section{$1} = $words{$2} // $2
        while $doc =~ /^## (RateLimitWAF\w*)\n(?:(?!## ).*\n)*?\| Context: \| ([^|]+?) \|$/mg;
    is_deeply \%summary, \%context,
        'docs/directives.md summary: every directive, with its context';
    is_deeply \%section, \%context,
        'docs/directives.md sections: every directive, with its context';

    my %has_bad = map { $_->[0] => 1 } @bad;
    ok $has_bad{$_}, "$_ has a bad value below" for map { $_->[0] } @directives;
    ok exists $good{$_}, "$_ has a good value below" for map { $_->[0] } @directives;
}

# Good: every directive with a valid value, in the main server and a vhost
# (and RateLimitWAFAdmin in a <Location>).
{
    my ($rc, $out) = RLW::Httpd->configtest(modsec => 0,
        directives => join('', map { "$_->[0] $good{$_->[0]}\n" }
                               grep { $_->[1] ne 'directory' } @directives),
        vhosts => $vhost->(
            'RateLimitWAF On',
            'RateLimitWAFDryRun On',
            'RateLimitWAFThreshold 10',
            'RateLimitWAFNetwork 16 0 50',
            'RateLimitWAFKey session "%{HTTP:Cookie}" 50',
            'RateLimitWAFKey api "%{HTTP:X-Api-Key}" 20',
            'RateLimitWAFBanTime 90',
            'RateLimitWAFBanMax 8h',
            'RateLimitWAFStrikeDecay 500ms',
            'RateLimitWAFBanStatus 429',
            'RateLimitWAFBanAction close',
            'RateLimitWAFScoreVar MY_SCORE_2',
            'RateLimitWAFAttackScore 10',
            'RateLimitWAFExempt 10.0.0.0/8',
            'RateLimitWAFAllow 172.16.0.0/12',
            'RateLimitWAFAllowBanTime 30s',
            'RateLimitWAFEngine modsecurity2',
            "RateLimitWAFRules $dir/rules.conf",
            'RateLimitWAFAdmin On',
            '<Location "/ratelimit-waf-admin">',
            '    SetHandler ratelimit-waf-status',
            '    RateLimitWAFAdmin On',
            '</Location>'));
    is $rc, 0, 'good configuration: httpd -t passes' or diag $out;
    like $out, qr/Syntax OK/, 'good configuration: Syntax OK';
}

# Good: (count, window) pairs in the main server, the same windows in a
# virtual host, bare counts for a network and a key (scaled to every
# window), pairs for another key.
{
    my ($rc, $out) = RLW::Httpd->configtest(modsec => 0,
        directives => "RateLimitWAF On\nRateLimitWAFThreshold 5000 10m 20000 24h\n"
            . "RateLimitWAFNetwork 24 48 20000\n"
            . "RateLimitWAFKey api \"%{HTTP:X-Api-Key}\" 1000 10m 4000 24h\n",
        vhosts => $vhost->('RateLimitWAF On',
                           'RateLimitWAFThreshold 100 10m 400 1d',
                           'RateLimitWAFKey s "%{HTTP:Cookie}" 50'));
    is $rc, 0, 'pairs: httpd -t passes' or diag $out;
    like $out, qr/Syntax OK/, 'pairs: Syntax OK';
}

for my $c (@bad) {
    my ($d, $arg, $v, $before) = @$c;
    $v //= $arg;
    my ($rc, $out) = RLW::Httpd->configtest(modsec => 0,
        directives => "RateLimitWAF On\n" . ($before // '') . "$d $arg\n");
    isnt $rc, 0, "$d $arg: httpd -t fails";
    like $out, qr/\Q$d\E\b.*\Q$v\E|\Q$v\E.*\Q$d\E\b/s,
        "$d $arg: message names the directive and the value"
        or diag $out;
}

# Every main-server-only directive, with a good value, in a virtual host.
for my $d (grep { $context{$_} eq 'main' } map { $_->[0] } @directives) {
    my $v = $good{$d};
    my ($rc, $out) = RLW::Httpd->configtest(modsec => 0,
        directives => "RateLimitWAF On\n", vhosts => $vhost->("$d $v"));
    isnt $rc, 0, "$d in a virtual host: httpd -t fails";
    like $out,
        qr/\Q$d\E cannot occur within <VirtualHost> section.*'\Q$v\E'/s,
        "$d in a virtual host: message names it, the value and why"
        or diag $out;
}

# Every directive but the directory ones, in a <Location>.
for my $d (grep { $context{$_} ne 'directory' } map { $_->[0] } @directives) {
    my ($rc, $out) = RLW::Httpd->configtest(modsec => 0,
        directives => "RateLimitWAF On\n<Location /x>\n    $d $good{$d}\n"
            . "</Location>\n");
    isnt $rc, 0, "$d in a <Location>: httpd -t fails";
    like $out, qr/\Q$d\E not allowed in <Location> context/,
        "$d in a <Location>: message names it" or diag $out;
}

for my $c (@bad_vhost) {
    my ($d, $v, $w) = @$c;
    $w //= $v;    # what the message must name, when not the whole value
    my ($rc, $out) = RLW::Httpd->configtest(modsec => 0,
        directives => "RateLimitWAF On\n", vhosts => $vhost->("$d $v"));
    isnt $rc, 0, "vhost: $d $v: httpd -t fails";
    like $out, qr/\Q$d\E\b.*\Q$w\E|\Q$w\E.*\Q$d\E\b/s,
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
    my $path = $secret;
    for my $c (@secret_modes) {
        my ($mode, $ok, $why) = @$c;
        my $m = sprintf '%04o', $mode;
        chmod $mode, $path or die "chmod $path: $!\n";
        my ($rc, $out) = RLW::Httpd->configtest(modsec => 0,
            directives => "RateLimitWAF On\n" . $memcached
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

done_testing();
