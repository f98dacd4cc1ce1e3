# Chaos: the journal's memcached server dies and comes back empty (every
# counter, ban record and journal entry it held is lost), while clean
# traffic flows. Before it dies: a client banned by counting (its record
# and journal entry on that server), a client lifted by an operator's
# unban, and a client counted up to T-2. Afterwards the running ban is
# still enforced by both nodes (their shared memory), the lifted ban does
# not come back, the counted client starts again from zero (one more
# attack: count 1, not banned), and the restarted journal carries new bans
# to both nodes. Plus what RLW::Chaos::run_fault checks of every fault.
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

my $c = RLW::Cluster->new(RLW::Chaos::cluster_options())->start;
my ($A, $B) = $c->nodes;
my $T = $c->{threshold};
my ($K, $X, $Y) = prepare($c, where => 'journal');
my $m = $c->mc($K);

# Three more clients on K: banned (B1), lifted (U1), counted to T-2 (C1).
my ($B1, $U1, $C1) = clients_on($c, $A, $K, 3, map {"198.51.100.$_"} 81 .. 140);
ok defined $C1, "three more clients on server $K";
my $marks = $c->log_marks;
attack($c->node($_ % 2)->port, $B1) for 2 .. $T;
ok defined $c->wait_everywhere($B1, 404, 5), 'B1 banned by counting, everywhere';
attack($c->node($_ % 2)->port, $U1) for 2 .. $T;
ok defined $c->wait_everywhere($U1, 404, 5), 'U1 banned by counting, everywhere';
SKIP: {
    skip 'tools/rlwafctl is not built', 1 unless RLW::Cluster::have_ctl();
    my ($rc) = $c->ctl('unban', $U1);
    is $rc, 0, 'U1 unbanned by an operator';
}
ok defined $c->wait_everywhere($U1, 200, 5), 'U1 served everywhere again';
attack($c->node($_ % 2)->port, $C1) for 2 .. $T - 2;
settle();
is mc_count($c, $C1), $T - 2, 'C1 counted to T-2 in memcached';
my $seen0 = $c->mc_counters($A)->{journal_seen};
diag "journal position before the restart: $seen0";

run_fault(c => $c, K => $K, X => $X, Y => $Y, name => 'restart empty',
          inject => sub { ok $m->crash, "memcached $K killed (SIGKILL)" },
          heal   => sub { ok $m->start, "memcached $K started again, empty" },
          # Until a ban is journaled again there is no sequence to read,
          # and a missing sequence is no success that ends the episode.
          passive_todo => 'a missing journal sequence does not end a '
                          . 'degradation (mc_sync returns before note_success)');

ok !defined $m->get($c->prefix . 'b:' . $c->pseudonym($B1)),
    "B1's ban record is gone from server $K";
is_deeply [$c->cleans_everywhere($B1)], [404, 404],
    'B1 is still banned on both nodes (their shared memory)';
is_deeply [$c->cleans_everywhere($U1)], [200, 200],
    'the unbanned U1 stays unbanned after the journal restarted';
attack($A->port, $C1);
settle();
is mc_count($c, $C1), 1, 'C1 counts from zero again: 1';
is_deeply [$c->cleans_everywhere($C1)], [200, 200], 'C1 is not banned';
my $seen1 = $c->mc_counters($B)->{journal_seen};
diag "journal position on B after the restart: $seen1";
cmp_ok $seen1, '<', $seen0, 'B follows the restarted journal (its position went down)';

$c->stop;
done_testing();
