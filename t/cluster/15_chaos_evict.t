# Chaos: memcached runs out of memory and evicts. Both servers get 1 MiB
# (-m 1) and a minimum item size of 1500 bytes (-n 1500), so that each
# holds about 675 items and a spray of 2000 one-attack addresses through
# the nodes overflows them within seconds (with -m 1 alone a server holds
# about 11000 counters: the same test would need a spray of 25000). The
# LRU then evicts counters (and anything else not used lately: ban records,
# journal entries). Eviction is no error: the nodes see no failure, the
# status page says the store answers. What is checked:
#   - no false ban: no sprayer, no clean client, and no attacker below the
#     threshold is ever banned (an evicted counter only lowers a count);
#   - an attacker active during the spray is still banned (on both
#     nodes); counters it has not touched since they were created go cold
#     and can be evicted, so it may need more than T attacks (at most 2T:
#     the T after the spray are counted exactly);
#   - a running ban stays enforced by both nodes even if its record went;
#   - after the spray, a fresh client is counted exactly and its ban
#     reaches both nodes (through what is left of the journal or through
#     its record);
#   - clean requests all answered, p99 below the memcached timeout;
#     no crash.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";

use Test::More;
use Time::HiRes qw(time sleep);
use RLW::Chaos qw(:all);
use RLW::Client qw(:all);
use RLW::Cluster;
use RLW::Httpd;

plan skip_all => 'mod_ratelimit_waf.so is not built'
    unless RLW::Httpd::have_module();

my $N = 2000;    # sprayed addresses, one attack each
my $c = RLW::Cluster->new(RLW::Chaos::cluster_options(),
                          mc_opts => { memory => 1,
                                       args => ['-I', '512k', '-n', '1500'] })
    ->start;
my ($A, $B) = $c->nodes;
my $T = $c->{threshold};
my ($K, $X, $Y) = prepare($c, where => 'journal');
my ($B1) = clients_on($c, $A, $K, 1, map {"198.51.100.$_"} 81 .. 140);
ok defined $B1, 'one more client on the journal server';

attack($c->node($_ % 2)->port, $B1) for 2 .. $T;
ok defined $c->wait_everywhere($B1, 404, 5), 'B1 banned by counting';
attack($c->node($_ % 2)->port, $Y) for 2 .. $T - 1;
settle();
is mc_count($c, $Y), $T - 1, 'Y counted to T-1 in memcached';

my $marks = $c->log_marks;
my @ev = map { RLW::Chaos::event_mark($_) } $A, $B;
my $errors0 = [map { $c->mc_counters($_)->{errors} // 0 } $A, $B];
my $ev0 = $c->mc_stats_sum('evictions')->{evictions};
my $load = RLW::Chaos::CleanLoad->start(ports => [$A->port, $B->port]);
sleep 0.5;

# The spray, in 5 rounds of 400 addresses (4 workers, both nodes); X
# attacks A twice after each of the first four.
my @spray = map { sprintf '198.18.%d.%d', int($_ / 250), 1 + $_ % 250 }
    0 .. $N - 1;
my $t0 = time;
my @xs;
my %st;
for my $round (0 .. 4) {
    my @mine = @spray[$round * 400 .. $round * 400 + 399];
    $st{$_}++ for parallel(4, sub {
        my ($w) = @_;
        map { attack($c->node($_ % 2)->port, $mine[$_]) }
            grep { $_ % 4 == $w } 0 .. $#mine });
    push @xs, attack($A->port, $X), attack($A->port, $X) if $round < 4;
}
my $spray_s = time - $t0;
settle();
my $t1 = time;
my $evicted = $c->mc_stats_sum('evictions')->{evictions} - $ev0;
diag sprintf 'spray: %d addresses in %.1f s (%.0f attacks/s), %d evictions',
    $N, $spray_s, $N / $spray_s, $evicted;
is join(',', map {"$_=$st{$_}"} sort keys %st), "403=$N",
    'every sprayed attack answered 403';
cmp_ok $evicted, '>=', 200, "memcached evicted $evicted items";

my $x_left = mc_count($c, $X);
diag "X's count left in memcached after the spray: $x_left of 9";
# X goes on until banned: at most T more attacks, counted exactly now.
my $nx = 9;
while ($nx < 2 * $T) {
    push @xs, attack($A->port, $X);
    $nx++;
    last if defined wait_until(sub { clean($A->port, $X) == 404 }, 0.5, 0.1);
}
ok !grep({ $_ != 403 } @xs), "X's attacks answered 403: " . statuses(@xs);
ok defined $c->wait_everywhere($X, 404, 5),
    "X, attacking during the spray, banned on both nodes after $nx attacks";
my @b = $c->wait_ban_lines($X, $marks);
is $b[0] && $b[0]{count}, $T, "X's ban line says count=$T";
is_deeply [$c->cleans_everywhere($Y)], [200, 200], 'Y (T-1) is not banned';
my $y_left = mc_count($c, $Y);
diag "Y's count left in memcached after the spray: $y_left of " . ($T - 1);
is_deeply [$c->cleans_everywhere($B1)], [404, 404],
    'B1 still banned on both nodes';
my $b1_rec = defined($c->mc($K)->get($c->prefix . 'b:' . $c->pseudonym($B1)))
    ? 'kept' : 'evicted';
my $seq = defined($c->mc($K)->get($c->prefix . 'j:seq')) ? 'kept' : 'evicted';
diag "B1's ban record: $b1_rec; journal sequence: $seq";

# Eviction is no failure: nothing degraded, nothing fell over.
is_deeply [map { degraded($c, $_) } $A, $B], [0, 0],
    'both status pages: the store answers';
is_deeply [map { scalar events($_, 'store_degraded', $ev[$_ == $A ? 0 : 1]) }
           $A, $B], [0, 0], 'no store_degraded event';
is_deeply [map { ($c->mc_counters($_)->{errors} // 0) } $A, $B], $errors0,
    'no memcached error counted';

# A fresh client after the spray: exact, and its ban reaches both nodes.
my ($Z) = clients_on($c, $A, $K, 1, map {"203.0.113.$_"} 10 .. 60);
ok defined $Z, 'a fresh client on the journal server';
my @zs = map { attack($c->node($_ % 2)->port, $Z) } 1 .. $T - 2;
settle();
is mc_count($c, $Z), $T - 1, 'Z counted exactly: T-1';
is_deeply [$c->cleans_everywhere($Z)], [200, 200], 'Z at T-1 is not banned';
my $zm = $c->log_marks;
attack($B->port, $Z);
my @zb = $c->wait_ban_lines($Z, $zm);
is $zb[0] && $zb[0]{count}, $T, "Z's T-th attack bans it, count=$T";
ok defined $c->wait_everywhere($Z, 404, 5), 'Z banned on both nodes';

my $r = $load->finish;
my @lat = map { 1000 * $_->[1] } $load->between($t0, $t1);
my $p99 = percentile(\@lat, 99);
is statuses(@{ $r->{statuses} }), '200 x' . scalar(@{ $r->{statuses} }),
    'every clean request answered 200';
cmp_ok $p99, '<', 100, sprintf 'p99 of %d clean requests during the spray '
    . '%.1f ms < timeout 100 ms', scalar(@lat), $p99;
my @who = sort keys %{{ map { (parse_ban($_->[1]) || {})->{client} // '?' => 1 }
    $c->log_lines(qr/RLW00010: ban /, $marks) }};
is_deeply \@who, [sort $X, $Z], "nobody but X and Z banned (bans: @who)";
for my $i (0, 1) {
    is_deeply [crash_lines($c->node($i), $marks->[$i])], [],
        "node $i logged no crash";
}
diag fault_report('evict', clean_p99_ms => sprintf('%.1f', $p99),
                  clean_max_ms => sprintf('%.1f', percentile(\@lat, 100)),
                  clean_requests => scalar @lat, evictions => $evicted,
                  spray_per_s => sprintf('%.0f', $N / $spray_s),
                  y_count_left => $y_left, b1_record => $b1_rec,
                  x_count_left => $x_left, x_attacks => $nx,
                  journal_seq => $seq);

$c->stop;
done_testing();
