# Bounded: what the cluster writes to memcached expires. Counters live a
# window, ban records a ban plus RateLimitWAFStrikeDecay; only the journal
# (its sequence number and entries kept at least 60 s) stays a while. Clean
# requests write nothing, and attacks from many clients below the threshold
# leave one counter key per client and bucket, which expire with the window.
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

my $T = 10;
my $c = RLW::Cluster->new(threshold => $T, window => '2s', ban => '2s',
                          strike_decay => '3s')->start;
my ($A, $B) = $c->nodes;
my $P = $c->prefix;

sub items { $c->mc_stats_sum('curr_items')->{curr_items} }
sub keys_like { my ($re) = @_; scalar grep { $_->[1] =~ $re } $c->all_keys }

# Asks every server to reclaim its expired items now (memcached otherwise
# does it lazily), then waits until at most max items remain (timeout s).
sub reclaim_until {
    my ($max, $timeout) = @_;
    return wait_until(sub {
        for my $m ($c->mcs) { eval { $m->command('lru_crawler crawl all') } }
        sleep 0.2;
        items() <= $max }, $timeout, 0.3);
}

is items(), 0, 'a new pool holds nothing';
is_deeply [map { clean($_->port, '192.0.2.1') } $A, $B], [200, 200],
    'clean requests';
is items(), 0, 'and still nothing: clean requests write nothing';

# Two bans, and a client below the threshold.
my $t0 = time;
attacks($A->port, '198.51.100.61', $T);
attacks($B->port, '198.51.100.62', $T);
attacks($A->port, '198.51.100.63', $T - 1);
settle();
ok defined $c->wait_everywhere('198.51.100.61', 404, 2), 'client 1 banned';
ok defined $c->wait_everywhere('198.51.100.62', 404, 2), 'client 2 banned';
ok exists $c->client_keys($_)->{"${P}b:" . $c->pseudonym($_)},
    "a ban record for $_" for '198.51.100.61', '198.51.100.62';
ok defined $c->server_of_client('198.51.100.63'), 'counters of client 3';
my $jm = $c->mc($c->server_of_key("${P}j:seq") // 0);
my $seq = $jm->get("${P}j:seq");
is $seq, 2, 'two journal entries';

# 500 clients, one attack each, from 8 workers; then 500 clean requests
# from 500 other clients.
my $before = items();
my @s = parallel(8, sub {
    my ($w) = @_;
    map { attack($c->node($_ % 2)->port, sprintf '198.18.%d.%d',
                 1 + int($_ / 250), 1 + $_ % 250) }
        grep { $_ % 8 == $w } 0 .. 499;
});
my $t_attacks = time;
is statuses(@s), '403 x500', '500 attacks from 500 distinct clients';
settle();
my $mid = items();
my $new = $mid - $before;
cmp_ok $new, '>=', 500, "every attack counted ($new new items)";
cmp_ok $new, '<=', 2 * 500,
    'at most one counter per client and bucket (<= 2 x 500 items)';
is $jm->get("${P}j:seq"), $seq, 'no ban below the threshold (journal)';
my @cl = map { clean($c->node($_ % 2)->port, sprintf '198.19.%d.%d',
                     1 + int($_ / 250), 1 + $_ % 250) } 0 .. 499;
is statuses(@cl), '200 x500', '500 clean requests from 500 other clients';
is items(), $mid, 'they added no item';

# Counters expire a window after their last increment (plus rounding),
# ban records a ban plus the strike decay after the ban began.
my $wait_until = max2($t0 + 2 + 3 + 2, $t_attacks + 2 + 2) + 0.5;
sleep $wait_until - time if $wait_until > time;
my $journal = 1 + $seq;
ok defined reclaim_until($journal, 5),
    "after window + ban + strike decay: only the journal is left "
    . "($journal items)" or diag explain [map { $_->[1] } $c->all_keys];
is keys_like(qr/^\Q$P\Ec\d+:/), 0, 'no counter left';
is keys_like(qr/^\Q$P\Eb:/), 0, 'no ban record left';
is_deeply [grep { $_->[1] !~ /^\Q$P\Ej:(?:seq|\d+)$/ } $c->all_keys], [],
    'what is left is the journal';
cmp_ok items(), '<=', $journal, 'items: at most journal entries + 1';
note sprintf 'pool items: %d before, %d with 500 clients, %d at the end',
    $before, $mid, items();

sub max2 { $_[0] > $_[1] ? $_[0] : $_[1] }

$c->stop;
done_testing();
