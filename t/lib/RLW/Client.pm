package RLW::Client;

# RLW::Client - HTTP client side of mod_ratelimit_waf's integration tests.
#
# A tiny HTTP/1.1 client on raw sockets (so that the tests control every
# byte: hostile headers, kept-alive connections, connection close), helpers
# to send attacks and clean requests as a given client (X-Forwarded-For from
# the trusted proxy 127.0.0.1), a parallel helper, and error-log helpers.
#
# Works against the Apache::Test server (port('rlw_xxx')) and against
# private servers (RLW::Httpd->port).
#
# Client address plan - the attack table is shared by every virtual host,
# so each test file owns its addresses (documentation ranges only):
#   00_modsec        192.0.2.1-19
#   01_threshold     198.51.100.10-19
#   02_keepalive     198.51.100.20-29
#   03_escalation    198.51.100.30-39
#   04_exempt        203.0.113.0-15 (exempt), 203.0.113.40-49, 192.0.2.248-251
#   05_allow         203.0.113.64-95 (allowlisted), 203.0.113.100-109
#   06_remoteip      198.51.100.40-49
#   07_ipv6          2001:db8:1::/48, 198.51.100.50-59
#   08_modsec_bypass 198.51.100.60-69
#   09_concurrency   198.51.100.70-79
#   10_hostile       198.51.100.80-89, 127.0.0.1 (exempt on rlw_hostile)
#   11_vhosts        203.0.113.150-169
#   20_window (private servers from here on: their own tables)
#   21_table_full, 22_graceful, 23_config_errors, 24_two_servers,
#   25_events, 26_dry_run, 27_table_resize
#   28_event_stall   198.18.0.0/15
#   32_network (private server): 198.51.100.0/24, 198.51.101.0/24,
#                    2001:db8:77::/48, 2001:db8:78::/48
#   34_windows (private server): 198.51.100.230-239, 192.0.2.100-139

use strict;
use warnings;

use Exporter 'import';
use IO::Socket::INET ();
use IO::Select ();
use Time::HiRes qw(time sleep);
use POSIX ();

our @EXPORT_OK = qw(
    port need_rlw rlw_loaded
    http_request attack attacks clean cleans statuses
    wait_until wait_banned measure_ban
    parallel
    log_path log_size log_since log_count wait_log
    parse_duration parse_iso8601
    ban_re exempt_re parse_ban wait_ban settle
    $ATTACK $SQLI
);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

# A reflected XSS that the CRS 3.3 scores 15+ (several 941xxx rules) at
# paranoia level 1, and a classic SQL injection (942xxx), both denied (403).
our $ATTACK = '/?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E';
our $SQLI   = '/?id=1%27%20OR%20%271%27%3D%271';

my $TIMEOUT = 15;    # seconds for any single network read or write

# ---------------------------------------------------------------------------
# The Apache::Test server

# Port of the Apache::Test main server (no argument) or of the virtual host
# named in t/conf/extra.conf.in.
sub port {
    my ($vhost) = @_;
    require Apache::Test;
    my $cfg = Apache::Test::config();
    return $cfg->{vars}->{port} unless defined $vhost;
    my $vh = $cfg->{vhosts}->{$vhost}
        or die "no virtual host '$vhost' in t/conf/extra.conf.in\n";
    return $vh->{port};
}

# 1 when the Apache::Test server was configured with the module.
sub rlw_loaded {
    require Apache::Test;
    my $cfg = Apache::Test::config();
    my $conf = "$cfg->{vars}->{t_conf}/extra.conf";
    open my $fh, '<', $conf or return 0;
    local $/;
    my $text = <$fh>;
    my ($so) = $text =~ /^\s*<IfFile\s+(\S+)>/m or return 0;
    return -f $so ? 1 : 0;
}

# For Apache::Test's plan(): plan tests => N, need need_rlw();
# skips the file unless the module is loaded.
sub need_rlw {
    return { 'mod_ratelimit_waf.so (make build)' => rlw_loaded() };
}

# ---------------------------------------------------------------------------
# HTTP

# One connection. new(port => N [, host => '127.0.0.1']).
package RLW::Client::Conn;

sub new {
    my ($class, %o) = @_;
    my $host = $o{host} || '127.0.0.1';
    my $sock = IO::Socket::INET->new(
        PeerAddr => $host,
        PeerPort => $o{port},
        Proto    => 'tcp',
        Timeout  => $TIMEOUT,
    ) or die "connect $host:$o{port}: $!\n";
    binmode $sock;
    return bless { sock => $sock, buf => '', port => $o{port},
                   eof => 0 }, $class;
}

# Sends one request and reads its response. Options: method (GET), path
# (/), xff (X-Forwarded-For value, none when undef), host (Host header,
# 'localhost'), ua (User-Agent, 'rlw-test/1.0'), headers (array of raw "Name: value" lines), body, close (1:
# "Connection: close", default keep-alive). Returns a hash: status (0 when
# the server closed without answering), reason, headers (lower-case names),
# body, raw_head, closed (1 when the server closed the connection after the
# response, as far as can be told without waiting: "Connection: close").
sub request {
    my ($self, %o) = @_;
    my $method = $o{method} || 'GET';
    my $path   = defined $o{path} ? $o{path} : '/';
    my @h = ('Host: ' . (defined $o{host} ? $o{host} : 'localhost'),
             'User-Agent: ' . (defined $o{ua} ? $o{ua} : 'rlw-test/1.0'),
             'Accept: */*');
    push @h, "X-Forwarded-For: $o{xff}" if defined $o{xff};
    push @h, @{ $o{headers} || [] };
    push @h, 'Connection: ' . ($o{close} ? 'close' : 'keep-alive');
    my $body = defined $o{body} ? $o{body} : '';
    push @h, 'Content-Length: ' . length($body) if length $body;
    my $req = "$method $path HTTP/1.1\r\n" . join('', map {"$_\r\n"} @h)
        . "\r\n" . $body;
    return { status => 0, closed => 1, error => 'closed before request' }
        if $self->{eof};
    local $SIG{PIPE} = 'IGNORE';
    my $off = 0;
    while ($off < length $req) {
        my $n = syswrite($self->{sock}, $req, length($req) - $off, $off);
        return { status => 0, closed => 1, error => "write: $!" }
            unless defined $n;
        $off += $n;
    }
    return $self->read_response($method eq 'HEAD');
}

sub _fill {
    my ($self) = @_;
    return 0 if $self->{eof};
    my $sel = IO::Select->new($self->{sock});
    die "read timeout ($TIMEOUT s) on port $self->{port}\n"
        unless $sel->can_read($TIMEOUT);
    my $n = sysread($self->{sock}, my $chunk, 65536);
    if (!$n) {
        $self->{eof} = 1;
        return 0;
    }
    $self->{buf} .= $chunk;
    return $n;
}

sub _line {
    my ($self) = @_;
    while ((my $i = index($self->{buf}, "\n")) < 0) {
        return undef unless $self->_fill;
    }
    my $i = index($self->{buf}, "\n");
    my $line = substr($self->{buf}, 0, $i + 1, '');
    $line =~ s/\r?\n\z//;
    return $line;
}

sub _bytes {
    my ($self, $n) = @_;
    while (length($self->{buf}) < $n) {
        last unless $self->_fill;
    }
    return substr($self->{buf}, 0, $n, '');
}

sub read_response {
    my ($self, $head_only) = @_;
    my $status_line = $self->_line;
    return { status => 0, closed => 1, error => 'no response' }
        unless defined $status_line && length $status_line;
    my ($status, $reason) = $status_line =~ m{^HTTP/1\.[01] (\d{3}) ?(.*)$}
        or return { status => 0, closed => 1,
                    error => "bad status line: $status_line" };
    my (%h, $raw);
    $raw = "$status_line\n";
    while (defined(my $l = $self->_line)) {
        last if $l eq '';
        $raw .= "$l\n";
        my ($k, $v) = $l =~ /^([^:]+):\s*(.*)$/ or next;
        $k = lc $k;
        $h{$k} = exists $h{$k} ? "$h{$k}, $v" : $v;
    }
    my $body = '';
    if ($head_only || $status == 204 || $status == 304) {
        # no body
    }
    elsif (($h{'transfer-encoding'} || '') =~ /chunked/i) {
        while (defined(my $l = $self->_line)) {
            my $n = hex(($l =~ /^([0-9a-fA-F]+)/)[0] || 0);
            if ($n == 0) {
                while (defined(my $t = $self->_line)) { last if $t eq '' }
                last;
            }
            $body .= $self->_bytes($n);
            $self->_line;
        }
    }
    elsif (defined $h{'content-length'}) {
        $body = $self->_bytes($h{'content-length'});
    }
    else {
        1 while $self->_fill;
        $body = $self->{buf};
        $self->{buf} = '';
    }
    my $closed = ($h{connection} || '') =~ /close/i ? 1 : 0;
    return { status => $status + 0, reason => $reason, headers => \%h,
             body => $body, raw_head => $raw, closed => $closed };
}

# 1 when the server has closed the connection: EOF within wait seconds
# (default 2) with nothing else to read.
sub server_closed {
    my ($self, $wait) = @_;
    return 1 if $self->{eof};
    my $sel = IO::Select->new($self->{sock});
    return 0 unless $sel->can_read(defined $wait ? $wait : 2);
    my $n = sysread($self->{sock}, my $chunk, 65536);
    if (!$n) {
        $self->{eof} = 1;
        return 1;
    }
    $self->{buf} .= $chunk;
    return 0;
}

sub close {
    my ($self) = @_;
    close $self->{sock} if $self->{sock};
    $self->{eof} = 1;
}

package RLW::Client;

# One request on a fresh connection ("Connection: close"). Takes port plus
# the options of RLW::Client::Conn::request. Returns the response hash; a
# refused connection is reported as status 0.
sub http_request {
    my (%o) = @_;
    my $conn = eval { RLW::Client::Conn->new(port => $o{port}, host => $o{peer}) };
    return { status => 0, closed => 1, error => $@ } unless $conn;
    my $res = eval { $conn->request(%o, close => 1) }
        || { status => 0, closed => 1, error => $@ };
    $conn->close;
    return $res;
}

# Status of one attack / clean request from client xff (undef: no header).
sub attack {
    my ($port, $xff, %o) = @_;
    return http_request(port => $port, xff => $xff, path => $ATTACK, %o)
        ->{status};
}

sub clean {
    my ($port, $xff, %o) = @_;
    return http_request(port => $port, xff => $xff,
                        path => defined $o{path} ? $o{path} : '/', %o)
        ->{status};
}

# Statuses of n attacks / clean requests, one connection each.
sub attacks {
    my ($port, $xff, $n, %o) = @_;
    return map { attack($port, $xff, %o) } 1 .. $n;
}

sub cleans {
    my ($port, $xff, $n, %o) = @_;
    return map { clean($port, $xff, %o) } 1 .. $n;
}

# "403 x4, 404 x2" style summary, for test names and diagnostics.
sub statuses {
    my %n;
    $n{$_}++ for @_;
    return join ', ', map {"$_ x$n{$_}"} sort keys %n;
}

# Calls cond every interval seconds until it is true or timeout passes.
# Returns the seconds waited when it became true, undef on timeout.
sub wait_until {
    my ($cond, $timeout, $interval) = @_;
    $interval ||= 0.05;
    my $t0 = time;
    while (1) {
        return time - $t0 if $cond->();
        return undef if time - $t0 > $timeout;
        sleep $interval;
    }
}

# Waits (at most timeout, default 5s) until a clean request from xff gets
# status (default 404). Returns seconds waited or undef.
sub wait_banned {
    my ($port, $xff, %o) = @_;
    my $want = $o{status} || 404;
    return wait_until(sub { clean($port, $xff) == $want }, $o{timeout} || 5);
}

# Polls clean requests from xff until one gets another status than
# ban_status; returns (seconds since t0 when that happened, that status,
# number of polls that were still banned). Gives up after timeout seconds
# (returns undef seconds).
sub measure_ban {
    my ($port, $xff, $t0, %o) = @_;
    my $ban_status = $o{status} || 404;
    my $timeout = $o{timeout} || 30;
    my $banned = 0;
    while (1) {
        my $s = clean($port, $xff);
        my $t = time - $t0;
        return ($t, $s, $banned) if $s != $ban_status;
        $banned++;
        return (undef, $s, $banned) if $t > $timeout;
        sleep($o{interval} || 0.05);
    }
}

# Runs code->($i) in k forked workers (i = 0..k-1) and returns the
# concatenation of the lists they return (numbers or short strings), in
# worker order. A worker that dies contributes "died: <message>".
sub parallel {
    my ($k, $code) = @_;
    my @kids;
    for my $i (0 .. $k - 1) {
        pipe(my $r, my $w) or die "pipe: $!";
        my $pid = fork;
        die "fork: $!" unless defined $pid;
        if (!$pid) {
            close $r;
            my @out = eval { $code->($i) };
            @out = ("died: $@") if $@;
            s/\n/ /g for @out;
            print {$w} map {"$_\n"} @out;
            close $w;
            POSIX::_exit(0);
        }
        close $w;
        push @kids, [$pid, $r];
    }
    my @all;
    for my $kid (@kids) {
        my ($pid, $r) = @$kid;
        while (my $l = <$r>) {
            chomp $l;
            push @all, $l;
        }
        close $r;
        waitpid $pid, 0;
    }
    return @all;
}

# ---------------------------------------------------------------------------
# Logs

# Path of a log of the Apache::Test server: 'error_log' (default),
# 'rlw_access_log', 'modsec_audit.log'.
sub log_path {
    my ($name) = @_;
    require Apache::Test;
    return Apache::Test::vars('t_logs') . '/' . ($name || 'error_log');
}

sub log_size {
    my ($path) = @_;
    return -s $path || 0;
}

# Lines of file from byte offset on (all when offset is undef), matching re
# when given.
sub log_since {
    my ($path, $offset, $re) = @_;
    open my $fh, '<', $path or return ();
    seek $fh, $offset || 0, 0;
    my @l = <$fh>;
    close $fh;
    chomp @l;
    return defined $re ? grep {/$re/} @l : @l;
}

sub log_count {
    my ($path, $offset, $re) = @_;
    return scalar(my @l = log_since($path, $offset, $re));
}

# Waits (at most timeout, default 5s) until at least n (default 1) lines
# match re after offset. Returns the matching lines (possibly fewer than n on
# timeout).
sub wait_log {
    my ($path, $offset, $re, %o) = @_;
    my $n = $o{count} || 1;
    my @l;
    wait_until(sub { @l = log_since($path, $offset, $re); @l >= $n },
               $o{timeout} || 5);
    return @l;
}

# ---------------------------------------------------------------------------
# The module's log lines

# RLW00010 (a ban) and RLW00011 (an exempt client crossed the threshold) of
# one client ("198.51.100.7", "2001:db8:1:2::/64"); the trailing space keeps
# 198.51.100.1 from matching 198.51.100.10.
sub ban_re    { my ($c) = @_; qr/RLW00010: ban client=\Q$c\E / }
sub exempt_re { my ($c) = @_; qr/RLW00011: exempt client=\Q$c\E / }

# Fields of an RLW00010 line: client, count, window_ms, ban_ms, strike,
# until (epoch seconds), level, threshold (of the pair that banned, when
# the line has one); undef when the line does not have the
# documented shape.
sub parse_ban {
    my ($line) = @_;
    return undef unless defined $line;
    my ($level) = $line =~ /\[ratelimit_waf:(\w+)\]/;
    my ($client, $count, $window, $ban, $strike, $until) = $line =~
        /RLW00010: ban client=(\S+) count=(\d+) window=(\S+) ban=(\S+) strike=(\d+) until=(\S+)/
        or return undef;
    # The pair whose count banned (RateLimitWAFThreshold pairs).
    my ($threshold) = $line =~ / threshold=(\d+)/;
    return {
        threshold => defined $threshold ? $threshold + 0 : undef,
        client    => $client,
        count     => $count + 0,
        window_ms => parse_duration($window),
        ban_ms    => parse_duration($ban),
        strike    => $strike + 0,
        until     => parse_iso8601($until),
        until_raw => $until,
        level     => $level,
    };
}

# Waits for the ban line of client after offset in log (the module logs it
# in log_transaction, after the response went out). Returns the parsed line
# (undef on timeout).
sub wait_ban {
    my ($log, $offset, $client, %o) = @_;
    my @l = wait_log($log, $offset, ban_re($client), %o);
    return @l ? parse_ban($l[-1]) : undef;
}

# Gives the server time to run the log_transaction hooks of requests whose
# responses were already read (the module counts attacks there).
sub settle { sleep($_[0] || 0.3) }

# ---------------------------------------------------------------------------
# Values in log lines

# "90" (seconds), "90s", "500ms", "15m", "8h", "1d" -> milliseconds; undef
# when it is none of these.
sub parse_duration {
    my ($t) = @_;
    return undef unless defined $t;
    my ($n, $u) = $t =~ /^(\d+)(ms|s|m|h|d)?$/ or return undef;
    my %mul = (ms => 1, s => 1000, m => 60_000, h => 3_600_000,
               d => 86_400_000);
    return $n * $mul{ $u || 's' };
}

# ISO 8601 time ("2026-11-29T10:20:30Z", "...T10:20:30.250+01:00", or
# without zone = UTC) -> epoch seconds (with fraction); undef if unparsable.
sub parse_iso8601 {
    my ($t) = @_;
    my ($Y, $M, $D, $h, $m, $s, $frac, $zone) = $t =~
        /^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)?$/
        or return undef;
    require Time::Local;
    my $e = Time::Local::timegm($s, $m, $h, $D, $M - 1, $Y);
    $e += $frac if $frac;
    if ($zone && $zone ne 'Z') {
        my ($sign, $zh, $zm) = $zone =~ /^([+-])(\d\d):?(\d\d)$/;
        my $off = ($zh * 3600 + $zm * 60) * ($sign eq '+' ? 1 : -1);
        $e -= $off;
    }
    return $e;
}

1;
