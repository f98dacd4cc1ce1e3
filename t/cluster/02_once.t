# Exactly once: many concurrent attacks past the threshold on two nodes
# start one ban, logged by one node (one RLW00010 line cluster-wide). The
# strike count lives in the shared ban record, so the next ban, won by the
# other node, is strike 2. A ban starts a new count: after it, T-1 attacks
# still ban nobody. A ban's end is logged once too (RLW00080), by the node
# that decided it.
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
my $BAN = 3;
my $c = RLW::Cluster->new(threshold => $T, window => '30s', ban => "${BAN}s",
                          strike_decay => '60s')->start;
my ($A, $B) = $c->nodes;
my $ip = '198.51.100.21';

# 64 attacks at once, 32 on each node, early in a bucket of the window:
# attacks still in flight when the ban starts are counted in the bucket of
# its start, which the next count leaves out (docs/cluster.md, "A ban
# starts a new count").
my $marks = $c->log_marks;
$c->fresh_bucket(1.2);
my $go = time + 0.3;
my @s = parallel(64, sub {
    my ($i) = @_;
    my $port = $c->node($i % 2)->port;
    sleep $go - time if $go > time;
    return attack($port, $ip);
});
ok !grep({ $_ != 403 && $_ != 404 } @s),
    '64 concurrent attacks, T=10: each answered 403 or 404: ' . statuses(@s);
my @b = $c->wait_ban_lines($ip, $marks);
sleep 1;    # stragglers on the slower node would have logged by now
@b = $c->ban_lines($ip, $marks);
is scalar(@b), 1, 'exactly one RLW00010 line across both nodes'
    or diag explain \@b;
is $b[0]{strike}, 1, 'strike=1';
cmp_ok $b[0]{count} // 0, '>=', $T, "the winner saw count >= $T";
my $won = $b[0]{node} // 0;
my $other = $c->node(1 - $won);
note "first ban won by $RLW::Cluster::NAMES[$won]";
ok defined $c->wait_everywhere($ip, 404, 2), 'banned on both nodes';

# Let the ban end everywhere.
my $t0 = time;
ok defined $c->wait_everywhere($ip, 200, $BAN + 3),
    'the ban ends on both nodes';
note sprintf 'ban over on both nodes %.2fs after the last check', time - $t0;

# Its end is logged (RLW00080) once in the cluster, by the node that
# decided it: the other node learnt the ban and drops its end silently.
my $end_re = qr/RLW00080: ban ended client=\Q$ip\E /;
wait_until(sub { $c->log_lines($end_re, $marks) >= 1 }, 5, 0.05);
sleep 1;    # a second line, from the other node, would be there by now
my @end = $c->log_lines($end_re, $marks);
is scalar(@end), 1, 'the ban\'s end is logged once across both nodes'
    or diag explain \@end;
is $end[0] && $end[0][0], $won, '... by the node that decided the ban';
like $end[0] && $end[0][1], qr/count=$b[0]{count} .*strike=1 until=\Q$b[0]{until_raw}\E reason=expired/,
    '... with the ban line\'s count, strike and end';

# Attacks that were in flight when the ban began are not counted
# (docs/architecture.md, "Escalation"): the ban dropped the counters, so the
# pool holds nothing for the client now.
SKIP: {
    skip 'tools/rlwafctl is not built', 1 unless RLW::Cluster::have_ctl();
    my ($rc, $out, $err, $j) = $c->ctl('--json', 'status', $ip);
    is $j && $j->{count}, 0,
        'after the ban: no attack of the burst left in the pool (rlwafctl status)'
        or diag "rlwafctl: rc=$rc $out $err";
}

# The second ban: every attack goes to the node that lost the first one.
$marks = $c->log_marks;
my @s2 = attacks($other->port, $ip, $T - 1);
is statuses(@s2), '403 x' . ($T - 1),
    'after the ban: T-1 attacks on the other node';
settle();
sleep 0.5;
is_deeply [$c->cleans_everywhere($ip)], [200, 200],
    'a ban starts a new count: T-1 attacks after it ban nobody'
    or diag explain [$c->ban_lines($ip, $marks)];
is attack($other->port, $ip), 403, 'the T-th attack after the ban';
my @b2 = $c->wait_ban_lines($ip, $marks);
sleep 0.5;
@b2 = $c->ban_lines($ip, $marks);
is scalar(@b2), 1, 'second ban: exactly one RLW00010 line'
    or diag explain \@b2;
is $b2[0]{node}, 1 - $won, 'second ban: decided by the other node';
is $b2[0]{strike}, 2,
    'second ban: strike=2 (escalation shared through the ban record)';
is $b2[0]{ban_ms}, 2 * $BAN * 1000, 'second ban: twice as long';
is $b2[0]{count}, $T, "second ban: count=$T";
ok defined $c->wait_everywhere($ip, 404, 2), 'second ban: 404 on both nodes';

$c->stop;
done_testing();
