package RLW::Conf;

# RLW::Conf - the one httpd.conf generator for every private httpd the tests,
# the benchmarks and the demo start.
#
# Every such server has the same skeleton: its own ServerRoot, loopback
# listeners, pid file and logs, a few modules from the Debian module
# directory, ModSecurity with the OWASP CRS between this module's two
# snippets, and mod_ratelimit_waf. Only the options below differ, so a
# change to the skeleton (a new module, another CRS path) is made once.
#
#   use RLW::Conf;
#   print RLW::Conf::httpd_conf(root => $dir, listen => [18001],
#                               modsec => 1, directive => ['RateLimitWAF On']);
#
# From the shell (bench/, t/status, t/cli, tools/demo.sh): tools/rlw-httpd-conf
# takes the same options as --long-options and prints the same text.
#
# Options (keys; "list" ones take an array reference):
#   root            ServerRoot (required); logs/, run/, htdocs/, data/, tmp/
#                   below it are the defaults of the paths below
#   listen          list of [ADDR:]PORT (required; ADDR defaults to 127.0.0.1)
#   server_name     ServerName (localhost)
#   generated_by    who asked, for the first comment line
#   mpm             event | prefork | worker (event)
#   mpm_tuning      small: 2 children, at most 16 (prefork) or 32 (threaded)
#                   workers, one <IfModule> block per MPM (default);
#                   bench: exactly two event children of 16 threads, no
#                   process churn, keep-alive never closed on a count;
#                   none: httpd's defaults;
#                   serial: one prefork child serving one connection at a
#                   time, no keep-alive (the CRS corpus runner: requests and
#                   their log lines in strict order)
#   user, group     User / Group lines (none: whoever starts httpd; root
#                   callers pass them, httpd ignores them otherwise)
#   loglevel        LogLevel (warn)
#   error_log       ErrorLog (ROOT/logs/error_log)
#   access_log      CustomLog path; with log_format (a LogFormat string,
#                   quotes unescaped); none by default
#   module_dir      where mod_*.so live (/usr/lib/apache2/modules)
#   load            list of more modules: "x" (x_module, mod_x.so) or
#                   "x_module=FILE" (FILE relative to module_dir or absolute)
#   module_so       path of mod_ratelimit_waf.so; empty: not loaded
#   remoteip_proxy  RemoteIPInternalProxy list (127.0.0.1): X-Forwarded-For
#                   from there names the client
#   remoteip        0: no RemoteIPHeader at all (X-Forwarded-For reaches
#                   ModSecurity as the client sent it)
#   modsec          1: mod_security2 (SecRuleEngine On) with the CRS
#   modsec_rules    list of ModSecurity rule files or globs, in order, that
#                   replace the engine settings and the CRS above (the
#                   files carry their own SecRuleEngine etc.)
#   engine          modsecurity2 (default): mod_security2 (with
#                   modsec_rules: it Includes them; modsec_rules implies
#                   modsec); modsecurity3: this module's embedded engine
#                   instead of mod_security2, with modsec: conf_dir's
#                   modsecurity3-ratelimit-waf.conf and the CRS, with
#                   modsec_rules: one RateLimitWAFRules per entry; needs
#                   module_so
#   snippets        with modsec: 1 (default) wraps the CRS in this module's
#                   two snippets of conf_dir (CRS 4: its plugin,
#                   conf_dir/crs4-plugin); 0 is stock ModSecurity + CRS;
#                   "before" or "after" includes only that one (the set-up
#                   mistakes t/30_first_run.t reproduces)
#   crs             3 (default; env RLW_CRS): Debian's CRS 3.3 at
#                   $CRS_SETUP and $CRS_RULES; 4: the CRS 4 copy of crs4_dir
#                   (its crs-setup.conf.example and rules/) with this
#                   module's CRS 4 plugin (docs/crs4.md)
#   crs_settings    list of rule files read right after the CRS's setup
#                   file (where a site sets the CRS's and the plugin's
#                   tx variables), with either engine
#   crs4_dir        the CRS 4 copy (env RLW_CRS4_DIR, else
#                   ../shared/crs/v4.28.0 from the tree; crs4_dir() is
#                   undef when there is none, and crs 4 then dies)
#   conf_dir        where the snippets are (conf/ of this tree)
#   sec_data_dir, sec_tmp_dir   SecDataDir, SecTmpDir (ROOT/data, ROOT/tmp)
#   audit           1: ModSecurity audit log ROOT/logs/modsec_audit.log of
#                   the relevant (non-404 4xx, 5xx) transactions
#   tls_listen      [ADDR:]PORT of an HTTPS virtual host (mod_ssl), with
#   tls_dir         its cert.pem and key.pem
#   tls_directive   list of lines inside that virtual host
#   directive       list of text blocks appended verbatim, in order (the
#                   module's directives, <Location>s, virtual hosts, ...)

use strict;
use warnings;

use Cwd ();
use File::Basename ();

my $TOP = Cwd::abs_path(File::Basename::dirname(Cwd::abs_path(__FILE__))
                        . '/../../..');

our $MODULE_DIR = '/usr/lib/apache2/modules';
our $CRS_SETUP  = '/etc/modsecurity/crs/crs-setup.conf';
our $CRS_RULES  = '/usr/share/modsecurity-crs/rules';

# The built module of this tree.
sub default_module_so { "$TOP/mod_ratelimit_waf/.libs/mod_ratelimit_waf.so" }

# This tree's conf/ (the two ModSecurity snippets).
sub default_conf_dir { "$TOP/conf" }

# The CRS 4 copy for tests (../shared/crs/v4.28.0 next to the tree, or one
# level up from a worktree), or undef.
sub crs4_dir {
    for my $d ($ENV{RLW_CRS4_DIR} || (),
               "$TOP/../shared/crs/v4.28.0", "$TOP/../../shared/crs/v4.28.0") {
        return Cwd::abs_path($d)
            if -f "$d/crs-setup.conf.example" && -d "$d/rules";
    }
    return undef;
}

# The rule files, in order, of CRS $crs (3 or 4): setup and rules glob for
# CRS 3.3; CRS 4 adds the three globs of its plugin folder when $plugin,
# with this module's plugin folder as that folder (an installed plugin
# folder holds the same, apart from the CRS's empty placeholders).
sub _crs_files {
    my ($crs, $dir, $conf, $before, $after, @settings) = @_;
    return ($CRS_SETUP, @settings, "$CRS_RULES/*.conf") if $crs == 3;
    # The plugin's config file goes with either half (its switches).
    my $p = "$conf/crs4-plugin";
    return ("$dir/crs-setup.conf.example", @settings,
            $before || $after ? "$p/*-config.conf" : (),
            $before ? "$p/*-before.conf" : (),
            "$dir/rules/*.conf",
            $after ? "$p/*-after.conf" : ());
}

sub _addr { $_[0] =~ /:/ ? $_[0] : "127.0.0.1:$_[0]" }

# The LoadModule line of "x", "x_module=FILE" or [x_module, FILE].
sub _load_line {
    my ($m, $dir) = @_;
    my ($name, $file) = ref $m ? @$m
        : $m =~ /^(\w+)=(.+)$/ ? ($1, $2)
        : ("${m}_module", "mod_$m.so");
    $file = "$dir/$file" unless $file =~ m{^/};
    return "LoadModule $name \"$file\"\n";
}

# The threaded MPMs (event, worker) get the same limits.
my $THREADED = <<'EOF';
    StartServers 2
    ServerLimit 4
    ThreadsPerChild 8
    MinSpareThreads 8
    MaxSpareThreads 24
    MaxRequestWorkers 32
EOF

my %TUNING = (
    small => <<"EOF",
<IfModule mpm_prefork_module>
    StartServers 2
    MinSpareServers 2
    MaxSpareServers 6
    MaxRequestWorkers 16
</IfModule>
<IfModule mpm_event_module>
$THREADED</IfModule>
<IfModule mpm_worker_module>
$THREADED</IfModule>
KeepAlive On
EOF
    bench => <<'EOF',
# Two children of 16 threads from the start, never more, never fewer.
StartServers 2
ServerLimit 2
ThreadsPerChild 16
MaxRequestWorkers 32
MinSpareThreads 16
MaxSpareThreads 32
MaxConnectionsPerChild 0
# A benchmark of keep-alive connections: never close them on a count.
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 5
EOF
    none => '',
    serial => <<'EOF',
# One child, one connection at a time: the CRS corpus runner relies on each
# request's log lines being written before the next request is read.
StartServers 1
ServerLimit 1
MinSpareServers 1
MaxSpareServers 1
MaxRequestWorkers 1
MaxConnectionsPerChild 0
KeepAlive Off
EOF
);

# The whole httpd.conf text for options %o (see the head of this file).
sub httpd_conf {
    my (%o) = @_;
    my $d = $o{root} or die "RLW::Conf: no root\n";
    my @listen = @{ $o{listen} || [] } or die "RLW::Conf: no listen\n";
    my $mpm    = $o{mpm} || 'event';
    my $tuning = $TUNING{ $o{mpm_tuning} || 'small' };
    die "RLW::Conf: mpm_tuning '$o{mpm_tuning}': small, bench or none\n"
        unless defined $tuning;
    my $mdir = $o{module_dir} || $MODULE_DIR;
    my $conf = $o{conf_dir}   || default_conf_dir();
    my $so   = $o{module_so};
    my $tls  = $o{tls_listen};
    my $elog = $o{error_log} || "$d/logs/error_log";
    my $level = $o{loglevel} || 'warn';
    my $rules = $o{modsec_rules};
    my $engine = $o{engine} || 'modsecurity2';
    die "RLW::Conf: engine '$engine': modsecurity2 or modsecurity3\n"
        unless $engine =~ /^modsecurity[23]$/;
    # The engine matters only where rules are loaded (modsec or
    # modsec_rules): a server with neither has no WAF whatever the engine.
    my $v3 = $engine eq 'modsecurity3' && ($rules || $o{modsec});
    die "RLW::Conf: engine modsecurity3 with modsec_rules needs module_so\n"
        if $v3 && $rules && !$so;
    # The embedded engine with the CRS (no rule list of the caller's).
    my $msc3 = $v3 && !$rules;
    my $snip = $o{modsec} && !$msc3 && ($o{snippets} // 1);
    my $crs = $o{crs} || $ENV{RLW_CRS} || 3;
    die "RLW::Conf: crs '$crs': 3 or 4\n" unless $crs =~ /^[34]$/;
    my $crs4 = $crs == 4 ? $o{crs4_dir} || crs4_dir() : undef;
    die "RLW::Conf: crs 4 but no CRS 4 copy (crs4_dir, RLW_CRS4_DIR)\n"
        if $crs == 4 && !$crs4;
    my @settings = @{ $o{crs_settings} || [] };
    my $snip_before = $snip && $snip ne 'after';
    my $snip_after  = $snip && $snip ne 'before';
    $o{modsec} = !$v3 if $rules;
    die "RLW::Conf: mpm_tuning serial needs mpm prefork\n"
        if ($o{mpm_tuning} || '') eq 'serial' && $mpm ne 'prefork';

    my @load = ("mpm_$mpm", qw(authz_core mime dir remoteip),
                @{ $o{load} || [] });
    push @load, qw(socache_shmcb ssl) if $tls;
    push @load, 'unique_id' if $o{modsec} || $v3;
    # Debian's a2enmod order: ratelimit_waf.load sorts before security2.load.
    push @load, [ratelimit_waf_module => $so] if $so;
    push @load, 'security2' if $o{modsec} && !$msc3;

    my $t = '# Generated by t/lib/RLW/Conf.pm'
        . ($o{generated_by} ? " for $o{generated_by}" : '') . ".\n";
    $t .= <<"EOF";
ServerRoot "$d"
ServerName ${\ ($o{server_name} || 'localhost')}
EOF
    $t .= 'Listen ' . _addr($_) . "\n" for @listen, ($tls ? $tls : ());
    $t .= <<"EOF";
PidFile "$d/run/httpd.pid"
DefaultRuntimeDir "$d/run"
ErrorLog "$elog"
LogLevel $level
EOF
    $t .= _load_line($_, $mdir) for @load;
    $t .= "User $o{user}\n"   if $o{user};
    $t .= "Group $o{group}\n" if $o{group};
    $t .= $tuning;
    $t .= <<"EOF";
TypesConfig /etc/mime.types
DocumentRoot "$d/htdocs"
DirectoryIndex index.html
<Directory "$d/htdocs">
    Require all granted
</Directory>
EOF
    if ($o{access_log}) {
        (my $f = $o{log_format} || '%h %l %u %t "%r" %>s %b')
            =~ s/(["\\])/\\$1/g;
        $t .= "LogFormat \"$f\" rlw\nCustomLog \"$o{access_log}\" rlw\n";
    }
    $t .= "# Clients are played through X-Forwarded-For from these proxies.\n"
        . "RemoteIPHeader X-Forwarded-For\n"
        . 'RemoteIPInternalProxy ' . ($o{remoteip_proxy} || '127.0.0.1')
        . "\n" if $o{remoteip} // 1;
    if ($tls) {
        my $td = $o{tls_dir} or die "RLW::Conf: tls_listen without tls_dir\n";
        $t .= "SSLSessionCache \"shmcb:$d/run/ssl_scache(512000)\"\n"
            . '<VirtualHost ' . _addr($tls) . ">\n"
            . "    SSLEngine on\n"
            . "    SSLCertificateFile \"$td/cert.pem\"\n"
            . "    SSLCertificateKeyFile \"$td/key.pem\"\n";
        $t .= join '', map { s/^/    /mgr . "\n" }
                           @{ $o{tls_directive} || [] };
        $t .= "</VirtualHost>\n";
    }
    if ($rules && $v3) {
        # The same rule files, loaded by the embedded engine.
        $t .= "RateLimitWAFEngine modsecurity3\n";
        $t .= "RateLimitWAFRules \"$_\"\n" for @$rules;
    }
    elsif ($rules) {
        my $data = $o{sec_data_dir} || "$d/data";
        my $tmp  = $o{sec_tmp_dir}  || "$d/tmp";
        $t .= "# mod_security2 with the given rule files, in order.\n"
            . "SecDataDir \"$data\"\nSecTmpDir \"$tmp\"\n";
        $t .= "Include \"$_\"\n" for @$rules;
    }
    elsif ($msc3) {
        $t .= <<"EOF";
# The module's embedded engine (libmodsecurity v3) with the OWASP CRS $crs at
# its defaults (paranoia level 1, anomaly scoring, inbound threshold 5).
RateLimitWAFEngine modsecurity3
RateLimitWAFRules "$conf/modsecurity3-ratelimit-waf.conf"
EOF
        # CRS 4 with the module's plugin, the same files as mod_security2's.
        $t .= "RateLimitWAFRules \"$_\"\n"
            for _crs_files($crs, $crs4, $conf, 1, 1, @settings);
    }
    elsif ($o{modsec}) {
        my $data = $o{sec_data_dir} || "$d/data";
        my $tmp  = $o{sec_tmp_dir}  || "$d/tmp";
        $t .= <<"EOF";
# ModSecurity 2 with the OWASP CRS $crs at its defaults (paranoia level 1,
# anomaly scoring, inbound threshold 5).
SecRuleEngine On
SecRequestBodyAccess On
SecDataDir "$data"
SecTmpDir "$tmp"
EOF
        $t .= $o{audit} ? <<"EOF" : "SecAuditEngine Off\n";
SecAuditEngine RelevantOnly
SecAuditLogRelevantStatus "^(?:5|4(?!04))"
SecAuditLogParts ABHZ
SecAuditLogType Serial
SecAuditLog "$d/logs/modsec_audit.log"
EOF
        # The "before" snippet must come before the CRS, the other after it
        # (docs/architecture.md); CRS 4 reads the plugin's files in its own
        # order (docs/crs4.md).
        $t .= "Include \"$conf/modsecurity-ratelimit-waf-before.conf\"\n"
            if $snip_before && $crs == 3;
        $t .= "Include \"$_\"\n"
            for _crs_files($crs, $crs4, $conf, $snip_before, $snip_after,
                           @settings);
        $t .= "Include \"$conf/modsecurity-ratelimit-waf.conf\"\n"
            if $snip_after && $crs == 3;
    }
    $t .= "$_\n" for @{ $o{directive} || [] };
    return $t;
}

1;
