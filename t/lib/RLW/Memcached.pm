package RLW::Memcached;

# RLW::Memcached - private memcached servers for the cluster tests.
#
# Each instance is one memcached process (run as nobody, 127.0.0.1 only, on a
# free port of RLW_MC_PORTS, 11700-11799 by default), started in the
# foreground from a fork so that its pid is known: the tests kill it
# (SIGKILL), freeze it (SIGSTOP: it still accepts TCP connections but never
# answers) and start it again on the same port. A tiny text-protocol client
# reads its stats, lists its keys (lru_crawler metadump) and reads and
# writes raw values, to look at and tamper with what the module stores.
#
#   my $m = RLW::Memcached->new->start;
#   my $s = $m->stats;                  # { curr_items => 3, cmd_get => ... }
#   my @k = $m->key_names;              # decoded key names
#   my $v = $m->get('rlw:j:seq');       # raw bytes, undef when missing
#   $m->set('rlw:j:9', 'garbage', 60);
#   $m->crash; $m->start;               # same port
#   $m->pause; $m->resume;              # SIGSTOP / SIGCONT
#
# Every server still running is stopped when the test ends. With RLW_TMPDIR
# set, its pid is also kept in RLW_TMPDIR/memcached-PORT.pid while it runs,
# for a runner that must clean up after a test killed hard.

use strict;
use warnings;

use IO::Socket::INET ();
use IO::Select ();
use POSIX ();
use Time::HiRes qw(time sleep);

my %live;    # pid => instance

sub bin { $ENV{RLW_MEMCACHED} || '/usr/bin/memcached' }

# A port of RLW_MC_PORTS on which nothing listens, from a random start,
# and not handed out before in this process (servers made with new() but
# not started yet listen nowhere: two of them must not share a port).
my %handed_out;

sub free_port {
    my ($lo, $hi) = split /-/, ($ENV{RLW_MC_PORTS} || '11700-11799');
    my $span = $hi - $lo + 1;
    my $start = int(rand $span);
    for my $i (0 .. $span - 1) {
        my $p = $lo + ($start + $i) % $span;
        next if $handed_out{$p} || _listening($p);
        my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                      LocalPort => $p, Proto => 'tcp',
                                      Listen => 1, ReuseAddr => 1)
            or next;
        close $s;
        $handed_out{$p} = 1;
        return $p;
    }
    die "no free memcached port in $lo-$hi\n";
}

sub _listening {
    my ($port) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                  Proto => 'tcp', Timeout => 1)
        or return 0;
    close $s;
    return 1;
}

# new(%o) - o: port (default: a free one), memory (MiB, default 64),
# name (for diagnostics), args (more memcached options, e.g. ['-I', '512k']
# for -m 1).
sub new {
    my ($class, %o) = @_;
    my $self = bless { memory => 64, name => 'memcached', %o }, $class;
    $self->{port} ||= free_port();
    return $self;
}

sub port   { $_[0]{port} }
sub pid    { $_[0]{pid} }
sub server { "127.0.0.1:$_[0]{port}" }

# 1 while the process lives (a frozen one too).
sub running {
    my ($self) = @_;
    my $pid = $self->{pid} or return 0;
    return 1 if waitpid($pid, POSIX::WNOHANG()) == 0;
    $self->_reap;
    return 0;
}

# Starts memcached and waits until it answers "version". Dies otherwise.
sub start {
    my ($self, %o) = @_;
    die "memcached $self->{port} is already running\n" if $self->running;
    my $t0 = time;
    # A server killed a moment ago may still hold the port for a while.
    sleep 0.05 while _listening($self->{port}) && time - $t0 < 5;
    my $pid = fork;
    die "fork: $!\n" unless defined $pid;
    if (!$pid) {
        POSIX::setsid();
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', '/dev/null';
        my @cmd = (bin(), '-l', '127.0.0.1', '-p', $self->{port},
                   '-U', '0', '-m', $self->{memory}, '-c', '1024',
                   @{ $self->{args} || [] });
        push @cmd, '-u', 'nobody' if $> == 0;
        exec @cmd or POSIX::_exit(127);
    }
    $self->{pid} = $pid;
    $live{$pid} = $self;
    if ($ENV{RLW_TMPDIR} && open my $fh, '>', $self->_pid_file) {
        print {$fh} "$pid\n";
        close $fh;
    }
    until (eval { $self->command('version') =~ /^VERSION/ }) {
        if (waitpid($pid, POSIX::WNOHANG()) != 0) {
            delete $live{$pid};
            delete $self->{pid};
            die "memcached on port $self->{port} exited at start\n";
        }
        die "memcached on port $self->{port} not ready after 10s\n"
            if time - $t0 > 10;
        sleep 0.02;
    }
    return $self;
}

# Waits (at most timeout seconds) for the process to exit and forgets it;
# 1 when it exited.
sub _reap {
    my ($self, $timeout) = @_;
    my $pid = $self->{pid} or return 1;
    my $t0 = time;
    my $gone = 1;
    while (waitpid($pid, POSIX::WNOHANG()) == 0) {
        if (time - $t0 > ($timeout || 5)) {
            $gone = 0;
            last;
        }
        sleep 0.01;
    }
    delete $live{$pid};
    delete $self->{pid};
    delete $self->{sock};
    unlink $self->_pid_file if $ENV{RLW_TMPDIR} && $gone;
    return $gone;
}

sub _pid_file { "$ENV{RLW_TMPDIR}/memcached-$_[0]{port}.pid" }

# SIGKILL: the server dies at once, with its data.
sub crash {
    my ($self) = @_;
    my $pid = $self->{pid} or return;
    CORE::kill 'CONT', $pid;
    CORE::kill 'KILL', $pid;
    $self->_reap;
    return 1;
}

# SIGTERM and wait.
sub stop {
    my ($self) = @_;
    my $pid = $self->{pid} or return;
    CORE::kill 'CONT', $pid;
    CORE::kill 'TERM', $pid;
    if (!$self->_reap(5)) {
        CORE::kill 'KILL', $pid;
        waitpid $pid, 0;
        unlink $self->_pid_file if $ENV{RLW_TMPDIR};
    }
    return 1;
}

# SIGSTOP: connections are still accepted (by the kernel) but nothing is
# ever answered. resume() sends SIGCONT.
sub pause  { my ($s) = @_; delete $s->{sock}; CORE::kill 'STOP', $s->{pid} }
sub resume { my ($s) = @_; CORE::kill 'CONT', $s->{pid} }

# --- text protocol ------------------------------------------------------

sub _sock {
    my ($self) = @_;
    return $self->{sock} if $self->{sock} && $self->{sock}->connected;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $self->{port},
                                  Proto => 'tcp', Timeout => 2)
        or die "connect memcached $self->{port}: $!\n";
    binmode $s;
    $self->{buf} = '';
    return $self->{sock} = $s;
}

sub _send {
    my ($self, $data) = @_;
    my $s = $self->_sock;
    local $SIG{PIPE} = 'IGNORE';
    my $off = 0;
    while ($off < length $data) {
        my $n = syswrite($s, $data, length($data) - $off, $off);
        if (!defined $n) {
            delete $self->{sock};
            die "write memcached $self->{port}: $!\n";
        }
        $off += $n;
    }
}

sub _fill {
    my ($self) = @_;
    my $sel = IO::Select->new($self->{sock});
    if (!$sel->can_read(5)) {
        delete $self->{sock};
        die "memcached $self->{port}: no answer within 5s\n";
    }
    my $n = sysread($self->{sock}, my $chunk, 65536);
    if (!$n) {
        delete $self->{sock};
        die "memcached $self->{port}: connection closed\n";
    }
    $self->{buf} .= $chunk;
}

# One line; metadump ends its lines with a bare "\n", the rest with "\r\n".
sub _line {
    my ($self) = @_;
    my $i;
    $self->_fill while ($i = index($self->{buf}, "\n")) < 0;
    my $l = substr($self->{buf}, 0, $i + 1, '');
    $l =~ s/\r?\n\z//;
    return $l;
}

sub _bytes {
    my ($self, $n) = @_;
    $self->_fill while length($self->{buf}) < $n;
    return substr($self->{buf}, 0, $n, '');
}

# One command with a one-line answer.
sub command {
    my ($self, $cmd) = @_;
    $self->_send("$cmd\r\n");
    return $self->_line;
}

# Lines of a multi-line answer up to (without) the terminator re.
sub _lines_until {
    my ($self, $cmd, $end) = @_;
    $self->_send("$cmd\r\n");
    my @l;
    while (1) {
        my $l = $self->_line;
        last if $l =~ $end;
        die "memcached $self->{port}: $cmd: $l\n"
            if $l =~ /^(?:ERROR|CLIENT_ERROR|SERVER_ERROR|BUSY)/;
        push @l, $l;
    }
    return @l;
}

# { name => value } of "stats".
sub stats {
    my ($self) = @_;
    my %s;
    for ($self->_lines_until('stats', qr/^END$/)) {
        $s{$1} = $2 if /^STAT (\S+) (.*)$/;
    }
    return \%s;
}

# The keys the server holds (live items), URL-decoded, as metadump prints
# them; keys_raw() keeps them as printed. metadump walks the LRUs while the
# server works: an item moved between LRUs meanwhile can be missed, so
# look up keys you know by name with get().
sub keys_raw {
    my ($self) = @_;
    my @l;
    for my $try (1 .. 50) {
        @l = eval { $self->_lines_until('lru_crawler metadump all',
                                        qr/^END$/) };
        last unless $@;
        # Another crawl still runs ("BUSY"): try again shortly.
        die $@ unless $@ =~ /BUSY/ && $try < 50;
        sleep 0.05;
    }
    return map { /^key=(\S+)/ ? $1 : () } @l;
}

sub key_names {
    my ($self) = @_;
    return map { (my $k = $_) =~ s/%([0-9A-Fa-f]{2})/chr hex $1/ge; $k }
        $self->keys_raw;
}

# The raw value of key, or undef when missing.
sub get {
    my ($self, $key) = @_;
    $self->_send("get $key\r\n");
    my $l = $self->_line;
    return undef if $l eq 'END';
    my ($n) = $l =~ /^VALUE \S+ \d+ (\d+)/
        or die "memcached $self->{port}: get $key: $l\n";
    my $v = $self->_bytes($n + 2);
    substr($v, -2) = '';
    $self->_line;    # END
    return $v;
}

# Stores value under key (exptime seconds, 0: never); 1 on STORED.
sub set {
    my ($self, $key, $value, $exptime) = @_;
    $self->_send(sprintf "set %s 0 %d %d\r\n%s\r\n", $key, $exptime || 0,
                 length $value, $value);
    return $self->_line eq 'STORED' ? 1 : 0;
}

sub remove {
    my ($self, $key) = @_;
    return $self->command("delete $key") eq 'DELETED' ? 1 : 0;
}

# Every key and its value: { key => value }.
sub dump {
    my ($self) = @_;
    my %d;
    for my $k ($self->key_names) {
        my $v = $self->get($k);
        $d{$k} = $v if defined $v;
    }
    return \%d;
}

sub DESTROY {
    my ($self) = @_;
    local ($?, $!, $@);
    $self->stop if $self->{pid} && $live{ $self->{pid} };
}

END {
    local ($?, $!, $@);
    $_->stop for values %live;
}

1;
