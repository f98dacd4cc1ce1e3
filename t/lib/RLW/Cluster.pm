package RLW::Cluster;

# RLW::Cluster - a private mod_ratelimit_waf cluster for t/cluster/*.t:
# memcached servers (RLW::Memcached) and httpd nodes (RLW::Httpd, with
# ModSecurity + CRS, mod_remoteip and the module) sharing them through
# RateLimitWAFStore memcached, one secret file and one key prefix.
#
#   my $c = RLW::Cluster->new(threshold => 10, ban => '3s')->start;
#   my ($a, $b) = $c->nodes;            # RLW::Httpd instances
#   RLW::Client::attack($a->port, '198.51.100.7');
#   my @bans = $c->ban_lines('198.51.100.7');   # across every node's log
#   my $st = $c->status($a);            # the node's ?json status page
#   my $p = $c->pseudonym('198.51.100.7');   # its memcached key name part
#   my ($rc, $out) = $c->ctl('status', '198.51.100.7');   # tools/rlwafctl
#   $c->stop;                           # also done when $c goes away
#
# Options of new (all optional):
#   memcached  number of memcached servers (2)     nodes  httpd nodes (2)
#   threshold, window, ban, ban_max, strike_decay, sync, timeout, retry,
#   prefix     the RateLimitWAF* values (10, 30s, 3s, 1m, 60s, 250ms,
#              50ms, 1s, rlw:); a threshold of pairs ("3 2s 6 20s")
#              writes no RateLimitWAFWindow: give window as its first
#   extra      more main-server directives for every node
#   node_extra more main-server directives per node: [node 0's, node 1's]
#              (after extra; may be changed before make_node)
#   config     the libmemcached configuration string (default: every
#              server, --DISTRIBUTION=consistent)
#   mc_opts    more RLW::Memcached->new options for every server, e.g.
#              { memory => 1, args => [...] } (default none)
#
# Ports: memcached in RLW_MC_PORTS (11700-11799), httpd in RLW_PORTS
# (18900-18999 unless the caller set it). Started by root, the nodes' worker
# processes run as nobody (RLW::Httpd), so their ServerRoots are opened up
# here; the secret file stays 0600 root: httpd reads it as root at start-up.

use strict;
use warnings;

use Cwd ();
use Digest::SHA ();
use File::Basename ();
use File::Temp ();
use JSON::PP ();
use MIME::Base64 ();
use Socket ();
use Time::HiRes qw(time sleep);

use RLW::Client qw(:all);
use RLW::Httpd;
use RLW::Memcached;

BEGIN { $ENV{RLW_PORTS} ||= '18900-18999' }

our @NAMES = qw(node-a node-b node-c node-d);

my $TOP = Cwd::abs_path(File::Basename::dirname(Cwd::abs_path(__FILE__))
                        . '/../../..');

# rlwafctl: RLW_CTL names another build of it (make test-asan's).
sub ctl_bin { $ENV{RLW_CTL} || "$TOP/tools/rlwafctl" }
sub have_ctl { -x ctl_bin() }

sub new {
    my ($class, %o) = @_;
    my $self = bless {
        memcached    => 2,
        nodes        => 2,
        threshold    => 10,
        window       => '30s',
        ban          => '3s',
        ban_max      => '1m',
        strike_decay => '60s',
        sync         => '250ms',
        timeout      => '50ms',
        retry        => '1s',
        prefix       => 'rlw:',
        extra        => '',
        %o,
    }, $class;
    my %taken;    # (ports are picked now, the servers started later)
    for my $i (1 .. $self->{memcached}) {
        my $m;
        do { $m = RLW::Memcached->new(name => "mc$i",
                                      %{ $self->{mc_opts} || {} }) }
            while $taken{ $m->port }++;
        push @{ $self->{mcs} }, $m;
    }
    $self->{config} ||= join(' ', map { '--SERVER=' . $_->server }
                                      @{ $self->{mcs} })
                        . ' --DISTRIBUTION=consistent';
    $self->{secret} ||= make_secret();
    return $self;
}

# A new random cluster secret (48 bytes, base64) in a root-only 0600 file.
sub make_secret {
    my (%o) = @_;
    my $dir = File::Temp::tempdir('rlw-secret-XXXXXX',
                                  DIR => $ENV{RLW_TMPDIR} || '/tmp',
                                  CLEANUP => 1);
    my $path = "$dir/cluster.secret";
    open my $fh, '<', '/dev/urandom' or die "urandom: $!\n";
    read $fh, my $raw, 48;
    close $fh;
    open my $out, '>', $path or die "write $path: $!\n";
    print {$out} MIME::Base64::encode_base64($raw, ''), "\n";
    close $out;
    chmod($o{mode} || 0600, $path);
    return $path;
}

sub mcs         { @{ $_[0]{mcs} } }
sub mc          { $_[0]{mcs}[ $_[1] ] }
sub nodes       { @{ $_[0]{nodes_list} || [] } }
# Nodes built elsewhere (started RLW::Httpd instances), for the helpers.
sub set_nodes   { $_[0]{nodes_list} = [ @_[1 .. $#_] ] }
sub node        { $_[0]{nodes_list}[ $_[1] ] }
sub config      { $_[0]{config} }
# Another libmemcached configuration string for the nodes (before start:
# e.g. a server reached through a relay).
sub set_config  { $_[0]{config} = $_[1] }
sub secret_file { $_[0]{secret} }
sub prefix      { $_[0]{prefix} }

# The RateLimitWAF* block of node i (also what conf/cluster-node-sample.conf
# shows, with the test's short times).
sub node_directives {
    my ($self, $i) = @_;
    my $name = $NAMES[$i];
    my $own = ($self->{node_extra} || [])->[$i] // '';
    # Pairs ("3 2s 6 20s") give the windows themselves; window is then
    # their first, for the bucket helpers below.
    my $window = $self->{threshold} =~ /\s/ ? ''
               : "RateLimitWAFWindow $self->{window}\n";
    return <<"EOF";
RateLimitWAF On
RateLimitWAFStore memcached "$self->{config}"
RateLimitWAFSecretFile "$self->{secret}"
RateLimitWAFKeyPrefix $self->{prefix}
RateLimitWAFNodeName $name
RateLimitWAFSyncInterval $self->{sync}
RateLimitWAFMemcachedTimeout $self->{timeout}
RateLimitWAFMemcachedRetry $self->{retry}
RateLimitWAFThreshold $self->{threshold}
${window}RateLimitWAFBanTime $self->{ban}
RateLimitWAFBanMax $self->{ban_max}
RateLimitWAFStrikeDecay $self->{strike_decay}
<Location "/ratelimit-waf">
    SetHandler ratelimit-waf-status
</Location>
$self->{extra}
$own
EOF
}

# An RLW::Httpd for node i, not started, its tree readable by nobody.
sub make_node {
    my ($self, $i, %o) = @_;
    my $h = RLW::Httpd->new(name => $NAMES[$i],
                            directives => $self->node_directives($i), %o);
    open_up($h);
    return $h;
}

# The workers of a root-started RLW::Httpd run as nobody: let them in.
sub open_up {
    my ($h) = @_;
    return unless $> == 0;
    my ($uid, $gid) = (getpwnam('nobody'))[2, 3];
    chmod 0755, $h->dir;
    for my $d (qw(data tmp)) {
        chown $uid, $gid, $h->dir . "/$d";
    }
}

# Starts the memcached servers, then the nodes.
sub start {
    my ($self) = @_;
    $_->start for @{ $self->{mcs} };
    # One after the other: a node listens before the next picks its port.
    $self->{nodes_list} = [map { $self->make_node($_)->start }
                           0 .. $self->{nodes} - 1];
    return $self;
}

sub stop {
    my ($self) = @_;
    $_->stop for grep {defined} @{ $self->{nodes_list} || [] };
    $_->stop for grep {defined} @{ $self->{mcs} || [] };
}

# --- looking at the nodes ----------------------------------------------

# Current sizes of every node's error log (offsets for the *_since calls).
sub log_marks {
    my ($self) = @_;
    return [map { log_size($_->error_log) } $self->nodes];
}

# Error-log lines matching re, since marks (default: the whole logs), of
# every node: a list of [node index, line].
sub log_lines {
    my ($self, $re, $marks) = @_;
    my @out;
    my @n = $self->nodes;
    for my $i (0 .. $#n) {
        push @out, map { [$i, $_] }
            log_since($n[$i]->error_log, $marks ? $marks->[$i] : 0, $re);
    }
    return @out;
}

# RLW00010 lines of client on every node since marks, parsed (parse_ban),
# each with {node} = the index of the node that logged it.
sub ban_lines {
    my ($self, $client, $marks) = @_;
    return map {
        my $b = parse_ban($_->[1]);
        $b->{node} = $_->[0] if $b;
        $b || { node => $_->[0], bad => $_->[1] };
    } $self->log_lines(ban_re($client), $marks);
}

# Waits (at most timeout seconds, default 5) until client has at least n
# (default 1) ban lines across the nodes since marks; returns them.
sub wait_ban_lines {
    my ($self, $client, $marks, %o) = @_;
    my @b;
    wait_until(sub { @b = $self->ban_lines($client, $marks);
                     @b >= ($o{count} || 1) }, $o{timeout} || 5, 0.02);
    return @b;
}

# The ?json status page of a node, decoded (undef when it does not parse).
sub status {
    my ($self, $h) = @_;
    my $r = http_request(port => $h->port, path => '/ratelimit-waf?json');
    return undef unless $r->{status} == 200;
    return eval { JSON::PP::decode_json($r->{body}) };
}

# The node's memcached counters ({ops, errors, fallbacks, bad_records, ...}).
sub mc_counters {
    my ($self, $h) = @_;
    my $s = $self->status($h) or return {};
    return $s->{store}{memcached} || {};
}

# Statuses of a clean request from client on every node.
sub cleans_everywhere {
    my ($self, $client) = @_;
    return map { clean($_->port, $client) } $self->nodes;
}

# Waits until a clean request from client gets want (404 default) on every
# node; returns the seconds it took, undef on timeout (default 5).
sub wait_everywhere {
    my ($self, $client, $want, $timeout) = @_;
    $want ||= 404;
    return wait_until(sub {
        !grep { $_ != $want } $self->cleans_everywhere($client) },
        $timeout || 5, 0.02);
}

# --- looking at memcached -----------------------------------------------

# { stat => sum over the running servers } for the stats named.
sub mc_stats_sum {
    my ($self, @names) = @_;
    my %sum = map { $_ => 0 } @names;
    for my $m (grep { $_->running } $self->mcs) {
        my $s = $m->stats;
        $sum{$_} += $s->{$_} || 0 for @names;
    }
    return \%sum;
}

# tools/rlwafctl on this cluster (the nodes' store settings), with args.
# Returns (exit code, stdout, stderr); the decoded JSON document as a 4th
# value when args include --json.
sub ctl {
    my ($self, @args) = @_;
    my $bin = ctl_bin();
    my $err = File::Temp->new;
    my @cmd = ($bin, '--memcached', $self->{config}, '--secret',
               $self->{secret}, '--prefix', $self->{prefix}, '--window',
               $self->{window}, @args);
    # The child inherits STDERR as it is while it is forked.
    open my $saved, '>&', \*STDERR or die "dup stderr: $!\n";
    open STDERR, '>', $err->filename or die "stderr: $!\n";
    my $ok = open my $fh, '-|', @cmd;
    open STDERR, '>&', $saved or die "restore stderr: $!\n";
    die "run $bin: $!\n" unless $ok;
    local $/;
    my $out = <$fh>;
    close $fh;
    my $rc = $? >> 8;
    my $errtext = do { local @ARGV = ($err->filename); <> };
    my $json = grep({ $_ eq '--json' } @args)
        ? eval { JSON::PP::decode_json($out) } : undef;
    return ($rc, $out // '', $errtext // '', $json);
}

# Index of the memcached server holding key (undef: none).
sub server_of_key {
    my ($self, $key) = @_;
    my @m = $self->mcs;
    for my $i (0 .. $#m) {
        next unless $m[$i]->running;
        return $i if defined $m[$i]->get($key);
    }
    return undef;
}

# Keys of every running server: [server index, key] pairs.
sub all_keys {
    my ($self) = @_;
    my @m = $self->mcs;
    my @out;
    for my $i (0 .. $#m) {
        next unless $m[$i]->running;
        push @out, map { [$i, $_] } $m[$i]->key_names;
    }
    return @out;
}

# The pseudonym of client under this cluster's secret, as the module
# computes it (rlw_crypto.c): HMAC-SHA256 with the subkey
# HMAC-SHA256(secret, "rlw pseudonym v1") over family, prefix, scope (0:
# enforcing, as here), a zero byte and the 16 address bytes (IPv6 masked to
# /64), its first 16 bytes in base64url without padding.
sub pseudonym {
    my ($self, $client) = @_;
    open my $fh, '<', $self->{secret} or die "$self->{secret}: $!\n";
    my $secret = do { local $/; <$fh> };
    close $fh;
    $secret =~ s/\r?\n\z//;
    my $key = Digest::SHA::hmac_sha256('rlw pseudonym v1', $secret);
    my $wire;
    if ($client =~ /:/) {
        my $b = Socket::inet_pton(Socket::AF_INET6(), $client)
            or die "bad address $client\n";
        $wire = pack('CCCC', 6, 64, 0, 0) . substr($b, 0, 8) . "\0" x 8;
    }
    else {
        my $b = Socket::inet_pton(Socket::AF_INET(), $client)
            or die "bad address $client\n";
        $wire = pack('CCCC', 4, 32, 0, 0) . $b . "\0" x 12;
    }
    my $mac = substr(Digest::SHA::hmac_sha256($wire, $key), 0, 16);
    (my $p = MIME::Base64::encode_base64($mac, '')) =~ tr{+/}{-_};
    $p =~ s/=+\z//;
    return $p;
}

sub window_ms { RLW::Client::parse_duration($_[0]{window}) }

# Index of the server that holds client's counters or ban record now,
# undef when none does.
sub server_of_client {
    my ($self, $client) = @_;
    my $p = $self->pseudonym($client);
    my $idx = bucket_index($self->window_ms, int(time * 1000));
    my @m = $self->mcs;
    for my $i (0 .. $#m) {
        next unless $m[$i]->running;
        for my $k ("$self->{prefix}b:$p",
                   map { "$self->{prefix}c$_:$p" } reverse $idx - 16 .. $idx + 1) {
            return $i if defined $m[$i]->get($k);
        }
    }
    return undef;
}

# What memcached holds for client: { key => value } of its ban record and
# its counters of the last 16 buckets, read with get from every server (a
# listing by metadump can miss items that move between LRUs meanwhile).
sub client_keys {
    my ($self, $client) = @_;
    my $p = $self->pseudonym($client);
    my $idx = bucket_index($self->window_ms, int(time * 1000));
    my @k = ("$self->{prefix}b:$p",
             map { "$self->{prefix}c$_:$p" } $idx - 16 .. $idx + 1);
    my %v;
    for my $m (grep { $_->running } $self->mcs) {
        for my $k (@k) {
            my $v = $m->get($k);
            $v{$k} = $v if defined $v;
        }
    }
    return \%v;
}

# One attack by client on node h, then (pseudonym, index of the server
# holding its counters), or () when no counter shows up within 3 s.
sub learn_pseudonym {
    my ($self, $h, $client) = @_;
    my $p = $self->pseudonym($client);
    attack($h->port, $client);
    my $srv;
    wait_until(sub { defined($srv = $self->server_of_client($client)) },
               3, 0.02);
    return defined $srv ? ($p, $srv) : ();
}

# Bucket index of the window's head at now (the module's rlw_window width:
# ceil(window / 16) ms).
sub bucket_index {
    my ($window_ms, $now_ms) = @_;
    my $width = int(($window_ms + 15) / 16);
    return int($now_ms / $width);
}

# Waits until the current bucket of the window has at least need seconds
# left (and began 50 ms ago or more), so that what follows falls in one
# bucket (a ban leaves out the attacks counted in the bucket of its start).
sub fresh_bucket {
    my ($self, $need) = @_;
    my $width = int(($self->window_ms + 15) / 16) / 1000;
    die "a bucket of ${width}s is shorter than ${need}s + 50 ms\n"
        if $width < $need + 0.05;
    my $into = time - int(time / $width) * $width;
    sleep $width - $into + 0.05 if $into < 0.05 || $width - $into < $need;
}

sub DESTROY {
    my ($self) = @_;
    local ($?, $!, $@);
    $self->stop;
}

1;
