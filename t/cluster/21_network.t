# RateLimitWAFNetwork on a cluster (two nodes, two memcached): the attacks
# of many addresses of one /24, each far below the client threshold, add up
# exactly in the pool under parallel attack on both nodes: TN-1 ban nobody
# anywhere, the TN-th bans the network everywhere, logged once; then every
# address of it gets 404 on both nodes, another /24 is served, an exempt
# address inside is served. The same for an IPv6 /48. Clean requests cost
# no memcached call, banned network or not. An operator's ban of a /16 (an
# IPv6 /40) holds on both nodes too.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";

use Test::More;
use Time::HiRes qw(time sleep);
use RLW::Client qw(:all);
use RLW::Cluster;
use RLW::Httpd;

plan skip_all => 'mod_ratelimit_waf.so is not built'
    unless RLW::Httpd::have_module();

my $W  = 16;             # concurrent attackers per node
my $TN = 2 * $W + 1;     # network threshold: 2W attacks ban nobody
my $c = RLW::Cluster->new(threshold => 1000, window => '60s', ban => '30s',
    extra => "RateLimitWAFNetwork 24 48 $TN\nRateLimitWAFExempt 198.51.100.250\n")
    ->start;
my ($A, $B) = $c->nodes;

sub net_lines {
    my ($net, $marks) = @_;
    return map { $_->[0] } $c->log_lines(qr/RLW00053: ban network=\Q$net\E /, $marks);
}
sub net_count {
    my ($net, $marks) = @_;
    my @l = $c->log_lines(qr/RLW00053: ban network=\Q$net\E /, $marks);
    return @l && $l[0][1] =~ /count=(\d+)/ ? $1 : undef;
}
# n attacks at once: worker i attacks node i % 2 from address addr->(i).
sub burst {
    my ($n, $addr) = @_;
    my $go = time + 0.5;
    return parallel($n, sub {
        my ($i) = @_;
        my $port = $c->node($i % 2)->port;
        sleep $go - time if $go > time;
        return attack($port, $addr->($i));
    });
}
sub ops { map { $c->mc_counters($_)->{ops} // 0 } $c->nodes }

for my $case (
    ['IPv4 /24', '198.51.100.0/24', sub { '198.51.100.' . (1 + $_[0] % 100) },
     '198.51.100.200', '198.51.101.7', '198.51.100.250'],
    ['IPv6 /48', '2001:db8:55::/48',
     sub { sprintf '2001:db8:55:%x::%x', 1 + $_[0] % 40, 1 + $_[0] },
     '2001:db8:55:ffff::1', '2001:db8:56::1', undef])
{
    my ($what, $net, $addr, $inside, $outside, $exempt) = @$case;
    my $marks = $c->log_marks;

    my @s = burst(2 * $W, $addr);
    is statuses(@s), '403 x' . (2 * $W),
        "$what: TN-1 = ${\ (2 * $W)} attacks at once from many addresses, "
        . "$W per node";
    settle();
    sleep 0.6;    # both nodes have synced the journal since
    is_deeply [$c->cleans_everywhere($inside)], [200, 200],
        "$what: after TN-1 the network is served on both nodes";
    is scalar(net_lines($net, $marks)), 0, "$what: no network ban line";
    is scalar($c->log_lines(qr/RLW00010: ban client=/, $marks)), 0,
        "$what: no client banned on its own";

    is attack($B->port, $addr->(7)), 403, "$what: one more attack (on B)";
    ok wait_until(sub { net_lines($net, $marks) >= 1 }, 5),
        "$what: a ban line for network=$net";
    sleep 0.5;    # a duplicate would show by now
    my @l = net_lines($net, $marks);
    is scalar(@l), 1, "$what: exactly one RLW00053 line on both nodes";
    is $l[0], 1, "$what: logged by B";
    is net_count($net, $marks), $TN,
        "$what: count=$TN: the pool counted every attack exactly once";

    ok defined $c->wait_everywhere($inside, 404, 3),
        "$what: an address of the network that never attacked: 404 on "
        . 'both nodes';
    my @ops0 = ops();
    is_deeply [$c->cleans_everywhere($outside)], [200, 200],
        "$what: a client of another network is served on both nodes";
    is_deeply [$c->cleans_everywhere($inside)], [404, 404],
        "$what: still refused on both nodes";
    my @ops1 = ops();
    is_deeply [map { $ops1[$_] - $ops0[$_] } 0, 1], [0, 0],
        "$what: clean and refused requests made no memcached call";
    if (defined $exempt) {
        is_deeply [$c->cleans_everywhere($exempt)], [200, 200],
            "$what: the exempt address inside the banned network is "
            . 'served on both nodes';
    }
}

# An operator's ban at a prefix length the nodes do not count: a /16 and
# an IPv6 /40 where they count /24 and /48. Both nodes learn it through
# the journal and refuse every address inside, and no other.
SKIP: {
    skip 'rlwafctl is not built', 8 unless RLW::Cluster::have_ctl();
    for my $case (['203.0.0.0/16', '203.0.113.5', '203.1.0.1'],
                  ['2001:db8:100::/40', '2001:db8:1ff:7::1', '2001:db8:200::1'])
    {
        my ($net, $inside, $outside) = @$case;
        my ($rc, $out) = $c->ctl('ban', $net, '10m');
        is $rc, 0, "rlwafctl ban $net" or diag $out;
        ok defined $c->wait_everywhere($inside, 404, 3),
            "$net: $inside refused on both nodes";
        is_deeply [$c->cleans_everywhere($outside)], [200, 200],
            "$net: $outside (outside) served on both nodes";
        ($rc, $out) = $c->ctl('unban', $net);
        ok $rc == 0 && defined $c->wait_everywhere($inside, 200, 3),
            "$net: lifted with rlwafctl, $inside served on both nodes"
            or diag $out;
    }
}

$c->stop;
done_testing();
