package RLW::Chaos;

# RLW::Chaos - what the chaos tests (t/cluster/1x_chaos_*.t) share: clean
# traffic measured in the background while a memcached fault runs,
# latency percentiles, the nodes' event logs, the degradation as the
# status page shows it, and the signs of a crashed node.
#
#   my $c = RLW::Cluster->new(RLW::Chaos::cluster_options(), ...)->start;
#   my $load = RLW::Chaos::CleanLoad->start(ports => [map { $_->port } $c->nodes]);
#   ... inject the fault, attack ...
#   my $r = $load->finish;   # { lat_ms => [...], statuses => [...], ... }
#   my $p99 = RLW::Chaos::percentile($r->{lat_ms}, 99);
#   my @ev = RLW::Chaos::events($h, 'store_degraded');   # decoded lines
#   my @bad = RLW::Chaos::crash_lines($h);   # segfaults, "exit signal"
#
# The clean traffic runs in a forked process so that its requests go on
# while the test's own attacks wait for memcached timeouts: the figure
# measured is what a clean client sees during the fault.

use strict;
use warnings;

use Exporter 'import';
use File::Temp ();
use IO::Select ();
use JSON::PP ();
use POSIX ();
use Test::More ();
use Time::HiRes qw(time sleep);

use RLW::Client qw(:all);

# Test::More's functions, called from this package: a test file that sets
# local $RLW::Chaos::TODO turns the checks of run_fault into TODO tests.
our $TODO;
BEGIN { *ok = \&Test::More::ok; *is = \&Test::More::is;
        *is_deeply = \&Test::More::is_deeply; *cmp_ok = \&Test::More::cmp_ok;
        *diag = \&Test::More::diag }

our @EXPORT_OK = qw(percentile events crash_lines degraded fallbacks
                    clients_on mc_count prepare run_fault fault_report);
our %EXPORT_TAGS = (all => \@EXPORT_OK);

# The event log of every chaos node, relative to its ServerRoot.
our $EVENT_LOG = 'logs/events.json';

# RLW::Cluster options every chaos test starts from: a memcached timeout
# of 100 ms (the bound asserted on clean requests), a retry period of 1 s,
# bans long enough to be seen after the fault, and an event log per node.
sub cluster_options {
    return (threshold => 10, window => '60s', ban => '60s',
            timeout => '100ms', retry => '1s', sync => '250ms',
            extra => "RateLimitWAFEventLog $EVENT_LOG\n");
}

# The p-th percentile (nearest rank) of a list of numbers; undef if empty.
sub percentile {
    my ($list, $p) = @_;
    my @s = sort { $a <=> $b } @$list;
    return undef unless @s;
    my $rank = int($p / 100 * @s + 0.999999);
    $rank = 1 if $rank < 1;
    $rank = @s if $rank > @s;
    return $s[ $rank - 1 ];
}

# --- events -----------------------------------------------------------

sub event_log { $_[0]->dir . "/$EVENT_LOG" }

# Decoded event lines of node h (an RLW::Httpd) from byte offset mark on,
# of action (all when undef). A line that is not JSON is returned as
# { bad => line }.
sub events {
    my ($h, $action, $mark) = @_;
    my @out;
    for my $l (log_since(event_log($h), $mark || 0)) {
        my $e = eval { JSON::PP::decode_json($l) } || { bad => $l };
        push @out, $e
            if !defined $action || ($e->{event}{action} // '') eq $action;
    }
    return @out;
}

sub event_mark { log_size(event_log($_[0])) }

# Epoch seconds of an event's @timestamp.
sub event_time { parse_iso8601($_[0]{'@timestamp'} // '') }

# --- the store's health as the status page shows it --------------------

# 1 when node h's status page says the memcached store is degraded, 0 when
# it says it answers, undef when the page cannot be read.
sub degraded {
    my ($c, $h) = @_;
    my $s = $c->status($h) or return undef;
    my $m = $s->{store}{memcached} or return undef;
    return $m->{degraded} ? 1 : 0;
}

# Attacks node h counted in its shared memory because memcached failed.
sub fallbacks {
    my ($c, $h) = @_;
    return $c->mc_counters($h)->{fallbacks} // 0;
}

# --- crashes ------------------------------------------------------------

# Error-log lines of node h that tell of a crashed or killed child.
sub crash_lines {
    my ($h, $mark) = @_;
    return log_since($h->error_log, $mark || 0,
        qr/segfault|Segmentation|exit signal|AH00052|AH00060|double free|
           stack smashing|AddressSanitizer|runtime error:/x);
}

# One line of figures for the diagnostics of a test.
sub fault_report {
    my ($name, %f) = @_;
    return sprintf '%s: %s', $name,
        join ', ', map { "$_=" . ($f{$_} // 'n/a') } sort keys %f;
}

# --- clients and their servers -------------------------------------------

# Clients of candidates (in order) whose counters live on server K, n of
# them, each learnt with one attack on node h (RLW::Cluster::learn_pseudonym).
sub clients_on {
    my ($c, $h, $K, $n, @cand) = @_;
    my @out;
    for my $ip (@cand) {
        last if @out >= $n;
        my (undef, $srv) = $c->learn_pseudonym($h, $ip);
        push @out, $ip if defined $srv && $srv == $K;
    }
    return @out;
}

# Sum of the counters memcached holds for client (its window's buckets).
sub mc_count {
    my ($c, $client) = @_;
    my $v = $c->client_keys($client);
    my $sum = 0;
    for my $k (keys %$v) {
        $sum += $v->{$k} if $k =~ /:c\d+:/ && $v->{$k} =~ /^\d+$/;
    }
    return $sum;
}

# Starts the journal with an operator's ban (tools/rlwafctl; attacks
# without it), so that every node's background task reads the journal
# every sync interval from then on, and picks the faulty server: the
# journal's server (where => 'journal'), another one ('other'), or K => i.
# Then learns two clients counted there. Returns (K, X, Y, J).
sub prepare {
    my ($c, %o) = @_;
    my ($A) = $c->nodes;
    my $first = '198.51.100.250';
    if (RLW::Cluster::have_ctl()) {
        $c->ctl('ban', $first, '60s');
    }
    else {
        attack($A->port, $first) for 1 .. $c->{threshold};
    }
    Test::More::ok(defined $c->wait_everywhere($first, 404, 5),
                   'a first ban starts the journal');
    my $J = $c->server_of_key($c->prefix . 'j:seq');
    Test::More::ok(defined $J, 'the journal has a server');
    $J //= 0;
    my $K = defined $o{K} ? $o{K}
          : ($o{where} || 'journal') eq 'journal' ? $J : 1 - $J;
    my ($X, $Y) = clients_on($c, $A, $K, 2, map {"198.51.100.$_"} 10 .. 80);
    Test::More::ok(defined $Y, "two clients counted on server $K: "
                   . join(', ', grep {defined} $X, $Y));
    Test::More::diag("faulty server $K, journal on $J");
    return ($K, $X, $Y, $J);
}

# --- one fault, start to end ------------------------------------------

# Runs one memcached fault on server K of cluster c (two nodes A, B, with
# cluster_options) while clean traffic flows on both nodes, and checks what
# the issue asks of every fault. Options:
#   name     label of the fault in test names and figures
#   K        index of the faulty server
#   X, Y     clients counted on K (one attack each so far, clients_on)
#   inject   sub: starts the fault
#   tick     sub (optional): called between the requests the test sends
#            while the fault lasts (a flapping server changes state there)
#   heal     sub: ends the fault
#   hold     seconds the fault lasts at least (default 4)
#   x_max    at most this many attacks of X to get it banned (default 2T)
#   z_cand   candidate clients for the check after recovery
#   throwaway  clients that keep calls going to K (default 192.0.2.10-99)
#   passive_todo  reason why the status pages are not expected to turn
#            healthy by themselves after the heal (a TODO test then)
# During the fault: X attacks node A until a clean request of X gets 404
# there (the local fallback bans), Y attacks both nodes T-2 times (T-1 in
# all: never banned), throwaway clients attack now and then so that calls
# keep reaching K. The status pages of A and B must show the degradation
# and every node's event log must hold store_degraded; after the heal,
# store_recovered, the status page healthy again, and a fresh client Z on
# K counted exactly in memcached again (T-1 attacks: not banned, count
# T-1 read back from memcached; the T-th bans it everywhere with count T).
# Throughout: every clean request answered 200 and the p99 of their
# latencies during the fault below RateLimitWAFMemcachedTimeout; no ban of
# anyone but X and Z; no crash. Returns the figures (also diag'ed).
sub run_fault {
    my (%o) = @_;
    my $c = $o{c};
    my ($A, $B) = $c->nodes;
    my $T = $c->{threshold};
    my $timeout_ms = parse_duration($c->{timeout});
    my $name = $o{name};
    my ($X, $Y) = @o{qw(X Y)};
    my $hold = $o{hold} || 4;
    my $x_max = $o{x_max} || 2 * $T;
    my @W = @{ $o{throwaway} || [map {"192.0.2.$_"} 10 .. 99] };
    my $wi = 0;
    my %f = (fault => $name);

    my $log_marks = $c->log_marks;
    my @ev_marks = map { event_mark($_) } $A, $B;
    my @pids = map { $_->pid } $A, $B;
    my $load = RLW::Chaos::CleanLoad->start(ports => [map { $_->port } $A, $B]);
    sleep 1;    # a baseline before the fault
    my %seen;   # node index => first time its status page said degraded
    my $look = sub {
        my ($i) = @_;
        return if $seen{$i};
        $seen{$i} = time if degraded($c, $c->node($i));
    };
    my @att_lat;
    my $hit = sub {
        my ($h, $ip) = @_;
        my $t0 = time;
        my $s = attack($h->port, $ip);
        push @att_lat, time - $t0;
        return $s;
    };

    my $t_fault = time;
    $o{inject}->();
    my $tick = $o{tick} || sub {};

    # X on A until banned there (fallback to A's shared memory).
    my ($nx, @xs) = (0);
    while ($nx < $x_max) {
        $tick->();
        push @xs, $hit->($A, $X);
        $nx++;
        $look->(0);
        next if $nx < $T;
        # Attacks are counted after the response went out, the one at the
        # threshold possibly after a memcached timeout: wait for its ban.
        last if defined wait_until(sub { clean($A->port, $X) == 404 },
                                   1.5, 0.1);
    }
    $f{x_attacks} = $nx;
    ok !grep({ $_ != 403 && $_ != 404 } @xs),
        "$name: X's attacks answered 403 (404 once banned): " . statuses(@xs);
    settle();
    is clean($A->port, $X), 404,
        "$name: an attacker counted on the faulty server is banned on A "
        . "after $nx attacks (at most $x_max)";
    # Y: T-2 more (T-1 in all), on both nodes.
    my @ys;
    for my $k (1 .. $T - 2) {
        $tick->();
        my $i = $k % 2 ? 1 : 0;
        push @ys, $hit->($c->node($i), $Y);
        $look->($i);
    }
    ok !grep({ $_ != 403 } @ys), "$name: Y's attacks answered 403: "
        . statuses(@ys);
    # The fault lasts hold seconds in all; calls keep reaching K.
    while (time - $t_fault < $hold || !($seen{0} && $seen{1})) {
        last if time - $t_fault > $hold + 10;
        $tick->();
        my $i = $wi % 2;
        $hit->($c->node($i), $W[ $wi++ % @W ]);
        $look->($i);
        sleep 0.15;
    }
    settle();
    is_deeply [$c->cleans_everywhere($Y)], [200, 200],
        "$name: Y, T-1 attacks during the fault, is banned nowhere";
    ok $seen{0} && $seen{1}, "$name: both status pages showed the store "
        . 'degraded during the fault';
    $f{status_degraded_after_ms} = join '/', map {
        $seen{$_} ? int(1000 * ($seen{$_} - $t_fault)) : 'never' } 0, 1;

    my $t_heal = time;
    $o{heal}->();
    # Counting resumes: throwaway attacks on both nodes until none falls
    # back to shared memory.
    my $exact = settle_pool_from($c, \@W, \$wi, 20);
    ok defined $exact, sprintf '%s: counting in memcached resumed %.1f s '
        . 'after the heal', $name, $exact // -1;
    $f{resumed_after_s} = defined $exact ? sprintf('%.1f', $exact) : 'never';
    # The background task reads the journal every sync interval: with
    # nothing else going on, that ends the episode a retry period and one
    # second after the last failure. From then on no pooled connection of
    # the node skips the healed server any more (rlw_mc_note_success()).
    my $all_healthy = sub { !grep { (degraded($c, $_) // 1) != 0 } $A, $B };
    my $passive = wait_until($all_healthy, 5, 0.1);
    {
        local $TODO = $o{passive_todo};
        ok defined $passive, "$name: both status pages healthy again "
            . 'without further attacks';
    }
    # Else the next call that succeeds a retry period and one second after
    # the last failure ends it: an attack now and then.
    my $healthy = $passive // wait_until(sub {
        attack($c->node($wi % 2)->port, $W[ $wi++ % @W ]);
        settle(0.2);
        $all_healthy->() }, 15, 0.3);
    ok defined $healthy, "$name: both status pages healthy again";
    $f{healthy_passive} = defined $passive ? 'yes' : 'no';
    my @rec;
    wait_until(sub { @rec = map { [events($c->node($_), 'store_recovered',
                                          $ev_marks[$_])] } 0, 1;
                     !grep { !@$_ } @rec }, 10, 0.1);
    my @deg = map { [events($c->node($_), 'store_degraded', $ev_marks[$_])] }
        0, 1;
    for my $i (0, 1) {
        my $n = $i ? 'B' : 'A';
        ok scalar(@{ $deg[$i] }), "$name: $n emitted store_degraded ("
            . scalar(@{ $deg[$i] }) . ')';
        ok scalar(@{ $rec[$i] }), "$name: $n emitted store_recovered ("
            . scalar(@{ $rec[$i] }) . ')';
        my @all = events($c->node($i), undef, $ev_marks[$i]);
        my @st = grep { ($_->{event}{action} // '') =~ /^store_/ } @all;
        is $st[-1] && $st[-1]{event}{action}, 'store_recovered',
            "$name: ${n}'s last store event is store_recovered";
        ok !grep({ $_->{bad} } @all), "$name: ${n}'s event lines are JSON";
    }
    $f{degraded_events} = join '/', map { scalar @$_ } @deg;
    $f{recovered_events} = join '/', map { scalar @$_ } @rec;
    my @dt = map { @$_ ? int(1000 * (event_time($_->[0]) - $t_fault)) : 'n/a' }
        @deg;
    $f{detect_ms} = join '/', @dt;
    $f{recover_ms} = join '/', map {
        @$_ ? int(1000 * (event_time($_->[-1]) - $t_heal)) : 'n/a' } @rec;
    $f{episode_ms} = join '/', map {
        @$_ && ($_->[-1]{event}{reason} // '') =~ /(\d+) ms/ ? $1 : 'n/a' } @rec;
    my $t_end = time;

    # A fresh client on K after the recovery: exact again.
    my @zc = @{ $o{z_cand} || [map {"203.0.113.$_"} 10 .. 60] };
    my ($Z) = clients_on($c, $A, $o{K}, 1, @zc);
    ok defined $Z, "$name: a fresh client counted on the healed server";
    if (defined $Z) {
        my $fb0 = [map { fallbacks($c, $_) } $A, $B];
        my $marks = $c->log_marks;
        my @zs = map { attack($c->node($_ % 2)->port, $Z) } 1 .. $T - 2;
        settle();
        is statuses(@zs), '403 x' . ($T - 2), "$name: Z's attacks answered 403";
        is mc_count($c, $Z), $T - 1,
            "$name: after the recovery, memcached counts Z's T-1 attacks";
        is_deeply [$c->cleans_everywhere($Z)], [200, 200],
            "$name: Z at T-1 is not banned";
        attack($B->port, $Z);
        my @b = $c->wait_ban_lines($Z, $marks);
        is $b[0] && $b[0]{count}, $T,
            "$name: Z's T-th attack bans it with count=$T";
        ok defined $c->wait_everywhere($Z, 404, 5),
            "$name: Z banned on both nodes";
        is_deeply [map { fallbacks($c, $c->node($_)) - $fb0->[$_] } 0, 1],
            [0, 0], "$name: none of Z's attacks fell back to shared memory"
            or diag map { "node $_->[0]: $_->[1]\n" }
                $c->log_lines(qr/RLW0011\d/, $marks);
    }

    my $r = $load->finish;
    my @fault = $load->between($t_fault, $t_end);
    my @base = $load->between(0, $t_fault);
    my @lat = map { 1000 * $_->[1] } @fault;
    $f{clean_requests} = scalar @{ $r->{statuses} };
    $f{clean_p99_ms} = sprintf '%.1f', percentile(\@lat, 99) // -1;
    $f{clean_p50_ms} = sprintf '%.1f', percentile(\@lat, 50) // -1;
    $f{clean_max_ms} = sprintf '%.1f', percentile(\@lat, 100) // -1;
    $f{clean_baseline_p99_ms} = sprintf '%.1f',
        percentile([map { 1000 * $_->[1] } @base], 99) // -1;
    $f{attack_max_ms} = sprintf '%.0f', 1000 * (percentile([@att_lat], 100) // 0);
    is statuses(@{ $r->{statuses} }), '200 x' . scalar(@{ $r->{statuses} }),
        "$name: every clean request answered 200 (none banned, none failed)";
    $f{clean_retried} = $r->{retried};
    # A kept-alive connection can be closed under a request without an
    # answer: the event MPM closes idle keep-alive connections when its
    # workers run short (a slow, sanitized build, a loaded machine), and
    # browsers send such a request again. A crash is caught by the error
    # log check; here, at most 1% of the clean requests (and at least one)
    # may need that second try, and every one was answered 200 (above).
    my $allowed = int(@{ $r->{statuses} } / 100) || 1;
    cmp_ok $r->{retried}, '<=', $allowed, "$name: clean requests sent "
        . "again on a new connection: $r->{retried} (at most $allowed)";
    cmp_ok scalar(@fault), '>=', 50, "$name: clean requests measured during "
        . 'the fault: ' . scalar(@fault);
    cmp_ok percentile(\@lat, 99) // 1e9, '<', $timeout_ms,
        "$name: p99 of clean requests during the fault $f{clean_p99_ms} ms "
        . "< RateLimitWAFMemcachedTimeout $timeout_ms ms";
    cmp_ok $f{attack_max_ms}, '<', 3000,
        "$name: every attack answered within 3 s (slowest $f{attack_max_ms} ms)";

    my @who = sort keys %{{ map { (parse_ban($_->[1]) || {})->{client} // '?' => 1 }
        $c->log_lines(qr/RLW00010: ban /, $log_marks) }};
    my %ok = map { $_ => 1 } grep {defined} $X, $Z;
    is_deeply [grep { !$ok{$_} } @who], [],
        "$name: nobody but X and Z was banned (bans: @who)";
    for my $i (0, 1) {
        my $h = $c->node($i);
        is_deeply [crash_lines($h, $log_marks->[$i])], [],
            "$name: node $i logged no crash";
        is $h->pid, $pids[$i], "$name: node ${i}'s parent still runs";
        is clean($h->port, '192.0.2.250'), 200, "$name: node $i answers";
    }
    diag fault_report($name, %f);
    return \%f;
}

# After a recovery counts are exact again only once every pooled
# connection of every child has been used once more (each keeps its own
# view of a failed server): attack in bursts of concurrent requests (so
# that many connections are taken at once) on every node, from throwaway
# clients in turn (none nears the threshold), until a burst falls back to
# shared memory nowhere. Returns the seconds it took, undef on timeout.
sub settle_pool_from {
    my ($c, $W, $wi, $timeout) = @_;
    my @n = $c->nodes;
    return wait_until(sub {
        my @f0 = map { fallbacks($c, $_) } @n;
        my @who = map { $W->[ $$wi++ % @$W ] } 1 .. 8 * @n;
        parallel(scalar @who, sub {
            attack($n[ $_[0] % @n ]->port, $who[ $_[0] ]) });
        settle(0.3);
        my @f1 = map { fallbacks($c, $_) } @n;
        !grep { $f1[$_] != $f0[$_] } 0 .. $#f0;
    }, $timeout || 15, 0.3);
}

# --- clean traffic in the background ----------------------------------

package RLW::Chaos::CleanLoad;

use IO::Select ();
use POSIX ();
use Time::HiRes qw(time sleep);

# start(ports => [...], clients => [...], gap => seconds between requests)
# forks a process sending clean requests (GET /) round-robin to the ports,
# each port on one kept-alive connection (a new one when the server closes
# it), as the clients in turn (X-Forwarded-For). It runs until finish().
sub start {
    my ($class, %o) = @_;
    my $self = bless {
        clients => [map {"192.0.2.$_"} 100 .. 149],
        gap     => 0.01,
        %o,
    }, $class;
    $self->{out} = File::Temp->new(DIR => $ENV{RLW_TMPDIR} || '/tmp');
    pipe(my $r, my $w) or die "pipe: $!\n";
    my $pid = fork;
    die "fork: $!\n" unless defined $pid;
    if (!$pid) {
        close $w;
        $self->_run($r);
        POSIX::_exit(0);
    }
    close $r;
    $self->{pid} = $pid;
    $self->{stop} = $w;    # closing it tells the child to stop
    $self->{t0} = time;
    return $self;
}

sub _run {
    my ($self, $stop) = @_;
    my $sel = IO::Select->new($stop);
    open my $out, '>', $self->{out}->filename or POSIX::_exit(1);
    my %conn;
    my ($n, $i) = (0, 0);
    my @ports = @{ $self->{ports} };
    my @clients = @{ $self->{clients} };
    until ($sel->can_read(0)) {
        my $port = $ports[ $n % @ports ];
        my $ip = $clients[ $i++ % @clients ];
        $n++;
        my $t0 = time;
        my ($res, $retried) = (undef, 0);
        for my $try (1, 2) {
            $conn{$port} ||= eval { RLW::Client::Conn->new(port => $port) };
            $res = $conn{$port}
                ? eval { $conn{$port}->request(xff => $ip, path => '/') }
                : undef;
            last if $res && $res->{status};
            # Lost without an answer (a crash, or a kept-alive connection
            # the server closed as the request went out): once more on a
            # new connection, and the sample says so.
            delete $conn{$port};
            $retried = 1;
        }
        my $lat = time - $t0;
        delete $conn{$port} if !$res || $res->{closed};
        printf {$out} "%.3f %.6f %d %d %s %d\n", $t0, $lat,
            $res ? $res->{status} : 0, $port, $ip, $retried;
        sleep $self->{gap} if $self->{gap};
    }
    close $out;
}

# Stops the traffic and returns what it saw: { lat_ms => [...],
# statuses => [...], samples => [[t, lat_s, status, port, ip, retried],
# ...], retried => requests that had to be sent again, seconds => how
# long it ran }.
sub finish {
    my ($self) = @_;
    return $self->{result} if $self->{result};
    close $self->{stop};
    waitpid $self->{pid}, 0;
    delete $self->{pid};
    my @s;
    open my $fh, '<', $self->{out}->filename or die "read samples: $!\n";
    while (<$fh>) {
        chomp;
        push @s, [split / /];
    }
    close $fh;
    return $self->{result} = {
        samples  => \@s,
        lat_ms   => [map { 1000 * $_->[1] } @s],
        statuses => [map { $_->[2] } @s],
        retried  => scalar(grep { $_->[5] } @s),
        seconds  => time - $self->{t0},
    };
}

# The samples of a finished load taken between t0 and t1 (epoch seconds).
sub between {
    my ($self, $t0, $t1) = @_;
    my $r = $self->finish;
    return grep { $_->[0] >= $t0 && $_->[0] <= $t1 } @{ $r->{samples} };
}

sub DESTROY {
    my ($self) = @_;
    local ($?, $!, $@);
    if ($self->{pid}) {
        kill 'TERM', $self->{pid};
        waitpid $self->{pid}, 0;
    }
}

1;
