package RLW::SlowProxy;

# RLW::SlowProxy - a TCP relay in front of a memcached server that holds
# back what the nodes send by a fixed delay: a memcached that answers
# slowly, for t/cluster/12_chaos_slow.t.
#
# The issue asks for netem on a veth pair; this machine's kernel has no
# sch_netem (CONFIG_NET_SCH_NETEM is not set, and it loads no modules), so
# the delay is made in user space: every chunk read from a node is
# forwarded to memcached delay_ms later (chunks keep their order), answers
# go back at once. Each request/answer round trip thus takes delay_ms more,
# like a netem delay on the path towards the server.
#
#   my $p = RLW::SlowProxy->new(target => 11701)->start;   # delay 0
#   # nodes use "--SERVER=127.0.0.1:" . $p->port
#   $p->set_delay(30);          # ms, applies to chunks read from now on
#   $p->stop;                   # also at the end of the test
#
# The relay is one forked process (select loop, no threads). With
# RLW_TMPDIR set its pid is kept in RLW_TMPDIR/proxy-PORT.pid while it
# runs, for t/cluster/run.sh to stop it after a test killed hard.

use strict;
use warnings;

use IO::Select ();
use IO::Socket::INET ();
use POSIX ();
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use Time::HiRes qw(time sleep);

use RLW::Memcached ();

my %live;    # pid => instance

# new(target => port of the server [, port => listening port, delay_ms])
sub new {
    my ($class, %o) = @_;
    my $self = bless { delay_ms => 0, %o }, $class;
    $self->{port} ||= RLW::Memcached::free_port();
    $self->{ctl} = ($ENV{RLW_TMPDIR} || '/tmp') . "/proxy-$self->{port}.delay";
    return $self;
}

sub port   { $_[0]{port} }
sub server { "127.0.0.1:$_[0]{port}" }
sub pid    { $_[0]{pid} }
sub delay  { $_[0]{delay_ms} }

sub _write_delay {
    my ($self) = @_;
    open my $fh, '>', "$self->{ctl}.new" or die "write $self->{ctl}: $!\n";
    print {$fh} "$self->{delay_ms}\n";
    close $fh;
    rename "$self->{ctl}.new", $self->{ctl} or die "rename: $!\n";
}

sub start {
    my ($self) = @_;
    $self->_write_delay;
    my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                  LocalPort => $self->{port}, Proto => 'tcp',
                                  Listen => 128, ReuseAddr => 1)
        or die "proxy listen 127.0.0.1:$self->{port}: $!\n";
    my $pid = fork;
    die "fork: $!\n" unless defined $pid;
    if (!$pid) {
        POSIX::setsid();
        $self->_serve($l);
        POSIX::_exit(0);
    }
    close $l;
    $self->{pid} = $pid;
    $live{$pid} = $self;
    if ($ENV{RLW_TMPDIR} && open my $fh, '>', $self->_pid_file) {
        print {$fh} "$pid\n";
        close $fh;
    }
    return $self;
}

sub _pid_file { "$ENV{RLW_TMPDIR}/proxy-$_[0]{port}.pid" }

# Sets the delay (ms) for every chunk read from now on.
sub set_delay {
    my ($self, $ms) = @_;
    $self->{delay_ms} = $ms;
    $self->_write_delay;
    kill 'HUP', $self->{pid} if $self->{pid};
    return $self;
}

sub stop {
    my ($self) = @_;
    my $pid = delete $self->{pid} or return;
    delete $live{$pid};
    kill 'TERM', $pid;
    waitpid $pid, 0;
    unlink $self->_pid_file if $ENV{RLW_TMPDIR};
    unlink $self->{ctl};
    return 1;
}

# --- the relay (child process) -----------------------------------------

sub _serve {
    my ($self, $listen) = @_;
    my $delay = $self->{delay_ms} / 1000;
    my $reload = 0;
    local $SIG{HUP} = sub { $reload = 1 };
    local $SIG{TERM} = sub { POSIX::_exit(0) };
    local $SIG{PIPE} = 'IGNORE';
    my $sel = IO::Select->new($listen);
    # fileno => { sock, peer (fileno), queue [[due, bytes]], delay (0|1),
    # eof (no more reads), last_due }
    my %s;
    my $close = sub {
        my ($fd) = @_;
        my $e = delete $s{$fd} or return;
        $sel->remove($e->{sock});
        close $e->{sock};
    };
    while (1) {
        if ($reload) {
            $reload = 0;
            if (open my $fh, '<', $self->{ctl}) {
                my $v = <$fh>;
                $delay = ($v // 0) / 1000 if ($v // '') =~ /^\d+/;
            }
        }
        my $now = time;
        my $wait = 0.05;
        for my $e (values %s) {
            next unless @{ $e->{queue} };
            my $d = $e->{queue}[0][0] - $now;
            $wait = $d if $d < $wait;
        }
        $wait = 0 if $wait < 0;
        my @ready = $sel->can_read($wait);
        for my $fh (@ready) {
            if ($fh == $listen) {
                my $c = $listen->accept or next;
                my $t = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                              PeerPort => $self->{target},
                                              Proto => 'tcp', Timeout => 2);
                if (!$t) { close $c; next }
                for ($c, $t) {
                    binmode $_;
                    setsockopt($_, IPPROTO_TCP, TCP_NODELAY, 1);
                }
                # What a node sends (read on c) goes to t, delayed.
                $s{ fileno $c } = { sock => $c, peer => fileno $t,
                                    queue => [], delay => 0, last_due => 0 };
                $s{ fileno $t } = { sock => $t, peer => fileno $c,
                                    queue => [], delay => 1, last_due => 0 };
                $sel->add($c, $t);
                next;
            }
            my $e = $s{ fileno $fh } or next;
            my $n = sysread($fh, my $buf, 65536);
            my $peer = $s{ $e->{peer} };
            if (!$n) {
                # EOF or error: drop this side, let the peer drain then go.
                $sel->remove($fh);
                $e->{eof} = 1;
                $peer->{eof_src} = 1 if $peer;
                next;
            }
            next unless $peer;
            my $due = time + ($peer->{delay} ? $delay : 0);
            $due = $peer->{last_due} if $due < $peer->{last_due};
            $peer->{last_due} = $due;
            push @{ $peer->{queue} }, [$due, $buf];
        }
        $now = time;
        for my $fd (keys %s) {
            my $e = $s{$fd} or next;
            while (@{ $e->{queue} } && $e->{queue}[0][0] <= $now) {
                my $b = shift(@{ $e->{queue} })->[1];
                my $off = 0;
                while ($off < length $b) {
                    my $w = syswrite($e->{sock}, $b, length($b) - $off, $off);
                    last unless $w;
                    $off += $w;
                }
            }
            # The other side closed and everything it sent went out.
            if ($e->{eof_src} && !@{ $e->{queue} }) {
                my $peer = $e->{peer};
                $close->($fd);
                $close->($peer);
            }
        }
    }
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
