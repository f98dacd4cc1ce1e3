# RateLimitWAFKey on a cluster (two nodes, two memcached): the attacks
# carrying one API key from many addresses, on both nodes at once, add up
# exactly in the pool: TK-1 ban nothing anywhere, the TK-th bans the key
# everywhere, logged once, and no address is banned; then the key gets 404
# on both nodes from any address, the addresses are served without it, an
# exempt address with it is served. Clean requests make no memcached call.
# The value never appears in clear in memcached (every key and value of
# both servers, listed with lru_crawler metadump and read with get), nor
# on the status pages, which show the keyed hash the documentation defines
# (HMAC-SHA256 under HMAC-SHA256(secret, "rlw key v1") of "api\0" value).
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";

use Digest::SHA ();
use File::Temp ();
use JSON::PP;
use Test::More;
use Time::HiRes qw(time sleep);
use RLW::Client qw(:all);
use RLW::Cluster;
use RLW::Httpd;

plan skip_all => 'mod_ratelimit_waf.so is not built'
    unless RLW::Httpd::have_module();

my $W   = 16;            # concurrent attackers per node
my $TK  = 2 * $W + 1;    # key threshold: 2W attacks ban nothing
my $KEY = 'sk-cluster-7Hq2LmX0pRtVw9Yz';
my $c = RLW::Cluster->new(threshold => 1000, window => '60s', ban => '30s',
    extra => "RateLimitWAFKey api \"%{HTTP:X-Api-Key}\" $TK\n"
           . "RateLimitWAFExempt 192.0.2.250\n")
    ->start;
my ($A, $B) = $c->nodes;
my @key = (headers => ["X-Api-Key: $KEY"]);

# The hash the module shows, computed here from the secret file.
my $hash = do {
    open my $fh, '<', $c->secret_file or die $c->secret_file . ": $!\n";
    my $secret = do { local $/; <$fh> };
    $secret =~ s/\r?\n\z//;
    my $k = Digest::SHA::hmac_sha256('rlw key v1', $secret);
    unpack 'H32', Digest::SHA::hmac_sha256("api\0$KEY", $k);
};

sub key_lines { map { $_->[0] } $c->log_lines(qr/RLW00056: ban key=api /, $_[0]) }
sub everywhere { my ($xff, @o) = @_; map { clean($_->port, $xff, @o) } $c->nodes }
sub ops { map { $c->mc_counters($_)->{ops} // 0 } $c->nodes }

my $marks = $c->log_marks;
my $go = time + 0.5;
my @s = parallel(2 * $W, sub {
    my ($i) = @_;
    sleep $go - time if $go > time;
    return attack($c->node($i % 2)->port, '198.51.100.' . (1 + $i), @key);
});
is statuses(@s), '403 x' . (2 * $W),
    "TK-1 = ${\ (2 * $W)} attacks at once with one key from "
    . "${\ (2 * $W)} addresses, $W per node";
settle();
sleep 0.6;    # both nodes have synced the journal since
is_deeply [everywhere('203.0.113.5', @key)], [200, 200],
    'after TK-1 the key is served on both nodes';
is scalar(key_lines($marks)), 0, 'no key ban line';

is attack($B->port, '198.51.100.99', @key), 403, 'one more attack (on B)';
ok wait_until(sub { key_lines($marks) >= 1 }, 5), 'a ban line for key=api';
sleep 0.5;    # a duplicate would show by now
my @l = $c->log_lines(qr/RLW00056: ban key=api /, $marks);
is scalar(@l), 1, 'exactly one RLW00056 line on both nodes';
is $l[0][0], 1, 'logged by B';
like $l[0][1] // '', qr/hash=\Q${\ substr($hash, 0, 16)}\E count=$TK /,
    "count=$TK: the pool counted every attack exactly once; the hash is "
    . 'the documented one';
is scalar($c->log_lines(qr/RLW00010: ban client=/, $marks)), 0,
    'no address banned';

ok wait_until(sub { !grep { $_ != 404 } everywhere('203.0.113.77', @key) }, 3),
    'the key from an address never seen: 404 on both nodes';
my @ops0 = ops();
is_deeply [everywhere('198.51.100.1')], [200, 200],
    'an attacking address without the key is served on both nodes';
is_deeply [everywhere('198.51.100.2', @key)], [404, 404],
    'with the key: refused on both nodes';
is_deeply [everywhere('192.0.2.250', @key)], [200, 200],
    'the exempt address with the key is served on both nodes';
my @ops1 = ops();
is_deeply [map { $ops1[$_] - $ops0[$_] } 0, 1], [0, 0],
    'clean and refused requests made no memcached call';

for my $i (0, 1) {
    my $r = http_request(port => $c->node($i)->port,
                         path => '/ratelimit-waf?json');
    my $j = eval { decode_json($r->{body}) } || {};
    my @k = grep { ($_->{kind} // '') eq 'key' } @{ $j->{bans} || [] };
    is join(' ', map { $_->{client} } @k), "key#0:$hash",
        "status page of node $i: the key ban by its hash";
    unlike $r->{body}, qr/\Q$KEY\E/, '... never the value';
}

# memcached: every key and value of both servers.
my ($n, $clear) = (0, 0);
for my $m ($c->mcs) {
    eval { $m->command('lru_crawler crawl all') };
    my $d = $m->dump;
    for my $k (keys %$d) {
        $n++;
        $clear++ if index($k, $KEY) >= 0 || index($d->{$k}, $KEY) >= 0
                 || index($k, substr($KEY, 3)) >= 0;
    }
}
ok $n > 0, "memcached holds $n items";
is $clear, 0, 'the key value appears in no memcached key or value';

# rlwafctl: the key by its hash as list prints it, or by value (the value
# read from standard input; the key's index from a configuration's
# RateLimitWAFKey lines given with -f).
SKIP: {
    skip 'rlwafctl is not built', 9 unless RLW::Cluster::have_ctl();
    my ($rc, $out) = $c->ctl('list');
    is $rc, 0, 'rlwafctl list';
    like $out, qr/^key#0:\Q$hash\E /m, 'rlwafctl list: the key by its hash'
        or diag $out;
    unlike $out, qr/\Q$KEY\E/, 'rlwafctl list: never the value';
    my $conf = File::Temp->new(SUFFIX => '.conf');
    print {$conf} "RateLimitWAFKey other \"%{HTTP:X-Other}\" 10\n"
        . "RateLimitWAFKey api \"%{HTTP:X-Api-Key}\" $TK\n";
    close $conf;
    # The names in order of first appearance: here api is the second.
    ($rc, $out) = $c->ctl('-f', $conf->filename, 'status', "key:api=$KEY");
    is $rc, 1, 'rlwafctl status key:api=VALUE with api second: another '
        . 'key, not banned';
    open my $cf, '>', $conf->filename or die "$!\n";
    print {$cf} "RateLimitWAFKey api \"%{HTTP:X-Api-Key}\" $TK\n";
    close $cf;
    ($rc, $out) = $c->ctl('-f', $conf->filename, 'status', "key:api=$KEY");
    is $rc, 0, 'rlwafctl status key:api=VALUE: banned' or diag $out;
    like $out, qr/key#0:\Q$hash\E/, '... named by its hash';
    ($rc, $out) = $c->ctl('unban', "key#0:$hash");
    is $rc, 0, 'rlwafctl unban key#0:HASH' or diag $out;
    ok wait_until(sub { !grep { $_ != 200 } everywhere('203.0.113.78', @key) }, 5),
        'the key is served again on both nodes';
    {
        # By value on standard input: the value is on no command line.
        my $in = File::Temp->new;
        print {$in} "$KEY\n";
        close $in;
        open my $saved, '<&', \*STDIN or die "dup stdin: $!\n";
        open STDIN, '<', $in->filename or die "stdin: $!\n";
        ($rc, $out) = $c->ctl('-f', $conf->filename, 'ban', 'key:api=-', '5m');
        open STDIN, '<&', $saved or die "restore stdin: $!\n";
        is $rc, 0, 'rlwafctl ban key:api=- 5m (value on stdin)' or diag $out;
    }
}
ok wait_until(sub { !grep { $_ != 404 } everywhere('203.0.113.79', @key) }, 5),
    'banned by hand: 404 on both nodes';

$c->stop;
done_testing();
