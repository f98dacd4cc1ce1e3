package RLW::Httpd;

# RLW::Httpd - private httpd instances for the integration tests.
#
# The Apache::Test server cannot change main-server-only settings per test
# (RateLimitWAFWindow, RateLimitWAFTableSize, ...), restart gracefully in the
# middle of a test, or fail to start on purpose. This helper starts as many
# independent servers as a test needs: each has its own ServerRoot under a
# temporary directory, its own free loopback port, its own logs, the chosen
# MPM, ModSecurity with the CRS and our two snippets, mod_ratelimit_waf, and
# the directives the test passes; the httpd.conf text comes from RLW::Conf,
# the generator the shell suites, bench/ and the demo use too. The cluster
# tests start several at once.
#
#   my $h = RLW::Httpd->new(directives => "RateLimitWAFWindow 2s\n...");
#   $h->start;                          # dies with the error_log on failure
#   RLW::Client::attack($h->port, '198.51.100.7');
#   $h->graceful;                       # SIGUSR1, waits for the new generation
#   $h->stop;                           # also done when $h goes away
#
#   my ($rc, $out) = RLW::Httpd->configtest(directives => 'RateLimitWAF maybe');
#
# Environment (set by t/run-apache-tests.sh, all optional):
#   RLW_MODULE_SO  the built module    (default: ../mod_ratelimit_waf/.libs/...)
#   RLW_CONF_DIR   our ModSecurity snippets (default: ../conf)
#   RLW_MPM        event | prefork | worker (default: event)
#   RLW_HTTPD      the httpd binary    (default: /usr/sbin/apache2)
#   RLW_TMPDIR     where ServerRoots go (default: File::Spec->tmpdir)
#   RLW_PORTS      port range for private servers (default: 18000-18999)
#   RLW_ENGINE     modsecurity2 | modsecurity3: the WAF of the servers that
#                  do not choose one (default: modsecurity2)
#   RLW_CRS        3 | 4: the CRS of the servers that do not choose one
#                  (default 3; 4: the CRS 4 copy with the module's plugin)

use strict;
use warnings;

use Cwd ();
use File::Basename ();
use File::Path ();
use File::Spec ();
use File::Temp ();
use IO::Socket::INET ();
use POSIX ();
use Time::HiRes qw(time sleep);

use RLW::Conf;

my $HERE = File::Basename::dirname(Cwd::abs_path(__FILE__));    # t/lib/RLW
my $TOP  = Cwd::abs_path("$HERE/../../..");

our $MODULE_DIR = '/usr/lib/apache2/modules';

sub module_so {
    return $ENV{RLW_MODULE_SO}
        || "$TOP/mod_ratelimit_waf/.libs/mod_ratelimit_waf.so";
}

sub conf_dir { $ENV{RLW_CONF_DIR} || "$TOP/conf" }
sub httpd_bin { $ENV{RLW_HTTPD} || '/usr/sbin/apache2' }
sub mpm { $ENV{RLW_MPM} || 'event' }

# 1 when the module is built (tests that need it skip otherwise).
sub have_module { -f module_so() ? 1 : 0 }

my %live;    # pid => instance, stopped in END if a test dies

# new(%o) - o:
#   directives  text appended to the main server config (default '')
#   vhosts      text appended after it (whole <VirtualHost> blocks)
#   mpm         event | prefork | worker (default RLW_MPM or event)
#   port        fixed port (default: a free one from RLW_PORTS)
#   module      0: do not load mod_ratelimit_waf (default 1)
#   modsec      0: no ModSecurity / CRS (default 1)
#   engine      modsecurity2 (mod_security2, default) or modsecurity3 (the
#               module's embedded libmodsecurity); default RLW_ENGINE
#   crs         3 (Debian's CRS 3.3) or 4 (the CRS 4 copy and the module's
#               plugin, RLW::Conf); default RLW_CRS or 3
#   crs_settings  rule files read right after the CRS setup file: [paths]
#   conf_dir    this module's snippets, plugin and embedded engine base
#               settings (default RLW_CONF_DIR or conf/ of the tree)
#   audit       1: ModSecurity audit log in logs/modsec_audit.log
#   snippets    1 (default): both ModSecurity snippets around the CRS;
#               "before", "after": only that one; 0: neither
#   remoteip    0: no RemoteIPHeader (clients are the connections'
#               addresses; default 1: X-Forwarded-For from the loopback)
#   loglevel    LogLevel line (default "notice ratelimit_waf:info")
#   load        extra "LoadModule name_module mod_x.so" pairs: [[name, file]]
#   name        label for temp dir names and diagnostics
#   dir         ServerRoot to use (default: a new temp dir, removed at the
#               end unless RLW_KEEP is set or the test failed)
sub new {
    my ($class, %o) = @_;
    my $self = bless {
        directives => '',
        vhosts     => '',
        mpm        => mpm(),
        module     => 1,
        modsec     => 1,
        engine     => $ENV{RLW_ENGINE} || 'modsecurity2',
        crs        => $ENV{RLW_CRS} || 3,
        crs_settings => [],
        audit      => 0,
        snippets   => 1,
        remoteip   => 1,
        loglevel   => undef,
        load       => [],
        name       => 'httpd',
        %o,
    }, $class;
    $self->{loglevel} ||= $self->{module}
        ? 'notice ratelimit_waf:info' : 'notice';
    my $base = $ENV{RLW_TMPDIR} || File::Spec->tmpdir;
    $self->{dir} ||= File::Temp::tempdir("rlw-$self->{name}-XXXXXX",
                                         DIR => $base,
                                         CLEANUP => !$ENV{RLW_KEEP});
    for my $d (qw(logs run htdocs data tmp)) {
        File::Path::make_path("$self->{dir}/$d");
    }
    _write("$self->{dir}/htdocs/index.html", "<html>ok</html>\n");
    _write("$self->{dir}/htdocs/hello.txt", "hello\n");
    $self->{port} ||= free_port();
    $self->write_config;
    return $self;
}

sub dir       { $_[0]{dir} }
sub port      { $_[0]{port} }
sub conf_file { "$_[0]{dir}/httpd.conf" }
sub error_log { "$_[0]{dir}/logs/error_log" }
sub access_log { "$_[0]{dir}/logs/access_log" }
sub audit_log { "$_[0]{dir}/logs/modsec_audit.log" }
sub pid_file  { "$_[0]{dir}/run/httpd.pid" }
sub url       { "http://127.0.0.1:$_[0]{port}" . ($_[1] || '/') }

# A free TCP port on 127.0.0.1 in RLW_PORTS (18000-18999), tried from a
# random start so that parallel test files rarely collide.
sub free_port {
    my ($lo, $hi) = split /-/, ($ENV{RLW_PORTS} || '18000-18999');
    my $span = $hi - $lo + 1;
    my $start = int(rand $span);
    for my $i (0 .. $span - 1) {
        my $p = $lo + ($start + $i) % $span;
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                      LocalPort => $p, Proto => 'tcp',
                                      Listen => 1, ReuseAddr => 0)
            or next;
        close $s;
        return $p;
    }
    die "no free port in $lo-$hi\n";
}

sub _write {
    my ($path, $text) = @_;
    open my $fh, '>', $path or die "write $path: $!\n";
    print {$fh} $text;
    close $fh or die "write $path: $!\n";
}

sub _slurp {
    my ($path) = @_;
    open my $fh, '<', $path or return '';
    local $/;
    return scalar <$fh>;
}

# The whole httpd.conf text for options o (also used by configtest), from
# the generator every private server shares (RLW::Conf).
sub config_text {
    my ($self) = @_;
    my $d = $self->{dir};
    my @text = ("# --- test directives\n$self->{directives}");
    push @text, "# --- test virtual hosts\n$self->{vhosts}" if $self->{vhosts};
    return RLW::Conf::httpd_conf(
        generated_by => "t/lib/RLW/Httpd.pm ($self->{name})",
        root         => $d,
        listen       => [ $self->{port} ],
        mpm          => $self->{mpm},
        loglevel     => $self->{loglevel},
        module_dir   => $MODULE_DIR,
        load         => [ 'setenvif', @{ $self->{load} } ],
        module_so    => $self->{module} ? module_so() : undef,
        # Started by root (by hand): drop to nobody like Apache::Test does.
        # Started by nobody (make itest): User/Group would be ignored anyway.
        ($> == 0 ? (user => 'nobody', group => 'nogroup') : ()),
        access_log   => "$d/logs/access_log",
        log_format   => '%a %>s %v:%p "%r" t=%{%H:%M:%S}t.%{msec_frac}t'
            . ' pid=%P tid=%{tid}P score=%{MODSEC_ANOMALY_SCORE}e'
            . ' banned=%{RLW_BANNED}e',
        remoteip_proxy => '127.0.0.1 ::1',
        remoteip     => $self->{remoteip},
        snippets     => $self->{snippets},
        modsec       => $self->{modsec},
        engine       => $self->{engine},
        crs          => $self->{crs},
        crs_settings => $self->{crs_settings},
        conf_dir     => $self->{conf_dir} || conf_dir(),
        audit        => $self->{audit},
        directive    => \@text,
    );
}

# (Re)writes httpd.conf; call after changing {directives} before a restart.
sub write_config {
    my ($self) = @_;
    _write($self->conf_file, $self->config_text);
}

sub pid {
    my ($self) = @_;
    my $p = _slurp($self->pid_file);
    return $p =~ /^(\d+)/ ? $1 : undef;
}

sub running {
    my ($self) = @_;
    my $pid = $self->pid or return 0;
    return kill(0, $pid) ? 1 : 0;
}

sub _can_connect {
    my ($self) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $self->{port},
                                  Proto => 'tcp', Timeout => 1)
        or return 0;
    close $s;
    return 1;
}

# Starts the server and waits until it accepts connections (and its pid file
# names a live process). Dies with the end of the error_log when it does not.
sub start {
    my ($self, %o) = @_;
    my $timeout = $o{timeout} || 30;
    unlink $self->pid_file;
    my $out = `${\ httpd_bin()} -f ${\ $self->conf_file} -k start 2>&1`;
    my $rc = $? >> 8;
    die "httpd ($self->{name}) did not start (exit $rc): $out\n"
        . $self->error_log_tail . "\n" if $rc;
    my $t0 = time;
    until ($self->running && $self->_can_connect) {
        if (time - $t0 > $timeout) {
            die "httpd ($self->{name}) not ready after ${timeout}s\n"
                . $self->error_log_tail . "\n";
        }
        sleep 0.05;
    }
    $self->{started_pid} = $self->pid;
    $live{ $self->{started_pid} } = $self;
    return $self;
}

# Stops the server (SIGTERM, SIGKILL after timeout) and waits for the parent
# to exit and the port to be free.
sub stop {
    my ($self, %o) = @_;
    my $pid = $self->pid || $self->{started_pid} or return;
    delete $live{$pid};
    delete $self->{started_pid};
    kill 'TERM', $pid or return;
    my $t0 = time;
    while (kill 0, $pid) {
        if (time - $t0 > ($o{timeout} || 15)) {
            kill 'KILL', $pid;
            last;
        }
        sleep 0.05;
    }
    # The children of a TERMinated parent go with it; wait for the port.
    my $t1 = time;
    sleep 0.05 while $self->_can_connect && time - $t1 < 5;
    return 1;
}

# Number of "resuming normal operations" lines: one per generation.
sub generations {
    my ($self) = @_;
    my @l = grep {/AH00489:|resuming normal operations/}
        split /\n/, _slurp($self->error_log);
    return scalar @l;
}

# Graceful restart (SIGUSR1, what "apachectl -k graceful" sends) and wait
# until the next generation runs and accepts connections.
sub graceful {
    my ($self, %o) = @_;
    return $self->_restart('USR1', %o);
}

# Full restart (SIGHUP).
sub restart {
    my ($self, %o) = @_;
    return $self->_restart('HUP', %o);
}

sub _restart {
    my ($self, $sig, %o) = @_;
    my $pid = $self->pid or die "httpd ($self->{name}) is not running\n";
    my $gen = $self->generations;
    kill $sig, $pid or die "kill $sig $pid: $!\n";
    my $t0 = time;
    until ($self->generations > $gen && $self->_can_connect) {
        die "httpd ($self->{name}) did not come back after SIG$sig\n"
            . $self->error_log_tail . "\n"
            if time - $t0 > ($o{timeout} || 30) || !kill(0, $pid);
        sleep 0.05;
    }
    return $self;
}

sub error_log_text { _slurp($_[0]->error_log) }

sub error_log_tail {
    my ($self, $n) = @_;
    my @l = split /\n/, $self->error_log_text;
    $n ||= 30;
    @l = @l[-$n .. -1] if @l > $n;
    return join "\n", @l;
}

# Runs "httpd -t" on the config built from %o (same options as new, but
# the server is never started). Returns (exit code, stdout+stderr).
# Class or instance method.
sub configtest {
    my ($self, %o) = @_;
    $self = $self->new(name => 'configtest', %o) unless ref $self;
    my $out = `${\ httpd_bin()} -t -f ${\ $self->conf_file} 2>&1`;
    return ($? >> 8, $out);
}

sub DESTROY {
    my ($self) = @_;
    local ($?, $!, $@);
    $self->stop if $self->{started_pid};
}

END {
    local ($?, $!, $@);
    $_->stop for values %live;
}

1;
