# Counters are read strictly: a counter is what memcached writes for a
# count (digits, maybe padded with spaces), at most what one client can do
# in one bucket. A memcached writer who puts "-1" (2^64 - 1 to strtoull),
# "+7", " 5", "5 junk" or a huge number into a client's counters neither
# bans it early nor lets it attack once more (no wrap): the value is
# ignored, counted as a bad record, logged and reset. A huge number in the
# bucket being counted (memcached increments it) is replaced like garbage.
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
my $c = RLW::Cluster->new(threshold => $T, window => '30s', ban => '10s',
                          sync => '250ms')->start;
my ($A, $B) = $c->nodes;
my $P = $c->prefix;

# Client's first attack on A; then (pseudonym, memcached server, index of
# the bucket that attack went to).
sub first_attack {
    my ($client) = @_;
    my ($p, $srv) = $c->learn_pseudonym($A, $client);
    return () unless $p;
    my ($idx) = map { /^\Q$P\Ec(\d+):\Q$p\E$/ ? $1 : () }
        $c->mc($srv)->key_names;
    return ($p, $srv, $idx);
}

my $n = 20;
for my $bad ('-1', '+7', ' 5', '5 junk', '18446744073709551615',
             '9223372036854775808', '4294967296') {
    my $who = '198.51.100.' . $n++;
    my ($p, $srv, $idx) = first_attack($who);
    ok defined $idx, "'$bad': $who counted in bucket " . ($idx // '?');
    next unless defined $idx;
    my $m = $c->mc($srv);
    my $key = "${P}c" . ($idx - 1) . ":$p";
    my $bad0 = $c->mc_counters($A)->{bad_records} // 0;
    my $marks = $c->log_marks;
    ok $m->set($key, $bad, 60), "'$bad' written to an older bucket";
    is statuses(attacks($A->port, $who, $T - 2)), '403 x' . ($T - 2),
        "'$bad': T-2 more attacks (T-1 in all)";
    settle();
    is_deeply [$c->cleans_everywhere($who)], [200, 200],
        "'$bad': not banned after T-1 attacks";
    is scalar($c->ban_lines($who, $marks)), 0, "'$bad': no ban line";
    my $now = $m->get($key) // 'missing';
    is $now, '0', "'$bad': the counter was reset to 0";
    cmp_ok $c->mc_counters($A)->{bad_records} // 0, '>', $bad0,
        "'$bad': counted as a bad record";
    ok scalar($c->log_lines(qr/RLW00116: 1 memcached counters of \Q$p\E hold something other than a count/, $marks)),
        "'$bad': RLW00116 logged";
    attack($A->port, $who);
    my @b = $c->wait_ban_lines($who, $marks);
    is scalar(@b), 1, "'$bad': the T-th attack bans";
    is $b[0] && $b[0]{count}, $T, "'$bad': with count=$T (no wrap)";
}

# A huge number in the bucket being counted: memcached increments it
# happily; the node replaces it.
{
    my $who = '198.51.100.' . $n++;
    $c->fresh_bucket(1.2);
    my ($p, $srv, $idx) = first_attack($who);
    ok defined $idx, "U counted in bucket " . ($idx // '?');
    my $m = $c->mc($srv // 0);
    my $key = "${P}c" . ($idx // 0) . ":$p";
    my $marks = $c->log_marks;
    ok $m->set($key, '9223372036854775808', 60),
        '2^63 written to the bucket being counted';
    is attack($A->port, $who), 403, 'U attacks once more';
    settle();
    is_deeply [$c->cleans_everywhere($who)], [200, 200],
        'U is not banned by it';
    is scalar($c->ban_lines($who, $marks)), 0, 'no ban line for U';
    my $now = $m->get($key) // 'missing';
    like $now, qr/^[1-9]\d{0,2} *\z/, "the counter holds a count again ($now)";
    ok scalar($c->log_lines(qr/RLW00115: memcached counter \Q$key\E holds something other than a count; replaced/, $marks)),
        'RLW00115 names the counter';
}

is_deeply [map { clean($_->port, '192.0.2.71') } $A, $B], [200, 200],
    'the nodes keep serving clean requests';

$c->stop;
done_testing();
