# A ban starts a new count, for as long as the attacks before it are in the
# window: also with a RateLimitWAFStrikeDecay shorter than the window (the
# ban record then lives for the ban plus the window, not the decay). After
# the ban, T-1 attacks must ban nobody; the T-th bans with count=T.
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
my $c = RLW::Cluster->new(threshold => $T, window => '30s', ban => '2s',
                          strike_decay => '2s')->start;
my ($A, $B) = $c->nodes;
my $P = $c->prefix;

my $ip = '198.51.100.80';
my $bkey = "${P}b:" . $c->pseudonym($ip);
my $marks = $c->log_marks;
$c->fresh_bucket(1);
is statuses(attacks($A->port, $ip, $T)), "403 x$T", "$T attacks on A";
ok defined $c->wait_everywhere($ip, 404, 2), 'banned on both nodes';
my @b = $c->wait_ban_lines($ip, $marks);
is scalar(@b), 1, 'one ban line';

# The record must outlive the counters it cuts off: past the ban plus the
# strike decay (about 5 s), it is still there while the window (30 s) holds
# the attacks from before the ban.
ok exists $c->client_keys($ip)->{$bkey}, 'the ban record is there';
sleep 6;
ok exists $c->client_keys($ip)->{$bkey},
    'the ban record outlives ban + strike decay (the window is longer)';
my $k = $c->client_keys($ip);
my $left = 0;
$left += $k->{$_} for grep { /^\Q$P\Ec/ } keys %$k;
note "counters still in the window: $left attacks";

$marks = $c->log_marks;
my @s = map { attack($c->node($_ % 2)->port, $ip) } 1 .. $T - 1;
settle();
is_deeply [$c->cleans_everywhere($ip)], [200, 200],
    'after the ban: T-1 attacks ban nobody'
    or diag explain [$c->ban_lines($ip, $marks)];
attack($B->port, $ip);
my @b2 = $c->wait_ban_lines($ip, $marks);
is $b2[0] && $b2[0]{count}, $T, "the T-th bans, count=$T"
    or diag explain \@b2;

$c->stop;
done_testing();
