# An attack counted for its client and its network waits for one round of
# memcached requests, not two: the network's calls go out at the same time
# as the client's (each subject on its own connection). Both memcached
# servers answer through RLW::SlowProxy with a fixed delay, so a round trip
# costs D ms whatever the server; the time an attack keeps its connection
# busy (its log_transaction, where it is counted, runs before the next
# request on the kept-alive connection is read) is measured for an exempt
# client (its attacks count for itself only: one subject) and for a
# normal one (client and network: two subjects), and for a normal one
# carrying two request keys (RateLimitWAFKey: four subjects). Counted one
# after the other, the second would take twice as long, the third four
# times.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";

use Test::More;
use Time::HiRes qw(time sleep);
use RLW::Client qw(:all);
use RLW::Cluster;
use RLW::Httpd;
use RLW::SlowProxy;

plan skip_all => 'mod_ratelimit_waf.so is not built'
    unless RLW::Httpd::have_module();

my $D = 40;    # ms per round trip to either server
my $c = RLW::Cluster->new(threshold => 1000, window => '60s', timeout => '2s',
    extra => "RateLimitWAFNetwork 24 48 1000\n"
           . "RateLimitWAFKey api \"%{HTTP:X-Api-Key}\" 1000\n"
           . "RateLimitWAFKey session \"%{HTTP:X-Session}\" 1000\n"
           . "RateLimitWAFExempt 198.51.100.9\n");
my @px = map { RLW::SlowProxy->new(target => $c->mc($_)->port)->start } 0, 1;
$c->set_config(join(' ', map { '--SERVER=' . $_->server } @px)
               . ' --DISTRIBUTION=consistent');
$c->start;
my ($A) = $c->nodes;
$_->set_delay($D) for @px;

# Milliseconds from sending an attack to the answer of a clean request
# sent right after it on the same connection: the attack's response, its
# counting, then the clean request.
sub busy_ms {
    my ($ip, @h) = @_;
    my $conn = RLW::Client::Conn->new(port => $A->port);
    my $t0 = time;
    my $a = $conn->request(path => $ATTACK, xff => $ip, headers => [@h]);
    my $b = $conn->request(path => '/', xff => $ip, headers => [@h]);
    my $ms = 1000 * (time - $t0);
    return $a->{status} == 403 && $b->{status} == 200 ? $ms : undef;
}
sub median { my @v = sort { $a <=> $b } @_; return $v[@v / 2] }

# The first attacks of each subject create its bucket counters (a round
# more): warm both up, then measure in the same buckets.
my @keys = ('X-Api-Key: k-1', 'X-Session: s-1');
busy_ms($_) for ('198.51.100.9', '198.51.100.10') x 2;
busy_ms('198.51.100.11', @keys) for 1, 2;
my (@one, @two, @four);
for (1 .. 9) {
    push @one, busy_ms('198.51.100.9');
    push @two, busy_ms('198.51.100.10');
    push @four, busy_ms('198.51.100.11', @keys);
}
ok !grep({ !defined } @one, @two, @four),
    'every attack 403, every clean request 200';
my ($m1, $m2, $m4) = (median(@one), median(@two), median(@four));
diag sprintf 'round trip %d ms: attack + clean request, one subject %.0f ms, '
    . 'client and network %.0f ms, client, network and two keys %.0f ms '
    . '(medians of 9)', $D, $m1, $m2, $m4;
cmp_ok $m1, '>=', 2 * $D, 'one subject: at least its two round trips';
cmp_ok $m2, '<', $m1 + $D,
    'client and network: less than one round trip more than one subject '
    . '(counted one after the other: two round trips more)';
cmp_ok $m4, '<', $m1 + $D,
    'client, network and two keys: less than one round trip more than one '
    . 'subject (counted one after the other: six round trips more)';
is scalar($c->log_lines(qr/RLW0011[01]/)), 0, 'no memcached failure logged';

$_->stop for @px;
$c->stop;
done_testing();
