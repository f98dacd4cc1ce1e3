# Round trips of an attack with two (count, window) pairs
# (RateLimitWAFThreshold 1000 60s 5000 1h): the second window's increment
# goes out unanswered just before the first window's, then one multi-get
# reads both windows and the ban record - 2 round trips, as with one
# window. Both memcached servers answer
# through RLW::SlowProxy with a fixed delay D, and the time an attack keeps
# its kept-alive connection busy (it is counted in log_transaction, before
# the next request is read) is measured for an exempt client (its attacks
# count for itself only: one subject).
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
my $c = RLW::Cluster->new(threshold => '1000 60s 5000 1h', window => '60s',
    timeout => '2s', extra => "RateLimitWAFExempt 198.51.100.9\n");
my @px = map { RLW::SlowProxy->new(target => $c->mc($_)->port)->start } 0, 1;
$c->set_config(join(' ', map { '--SERVER=' . $_->server } @px)
               . ' --DISTRIBUTION=consistent');
$c->start;
my ($A) = $c->nodes;
$_->set_delay($D) for @px;

sub busy_ms {
    my ($ip) = @_;
    my $conn = RLW::Client::Conn->new(port => $A->port);
    my $t0 = time;
    my $a = $conn->request(path => $ATTACK, xff => $ip);
    my $b = $conn->request(path => '/', xff => $ip);
    my $ms = 1000 * (time - $t0);
    return $a->{status} == 403 && $b->{status} == 200 ? $ms : undef;
}
sub median { my @v = sort { $a <=> $b } @_; return $v[@v / 2] }

# The first attacks create the bucket counters of each window (a round
# more each): warm up, then measure.
busy_ms('198.51.100.9') for 1, 2;
my @two = map { busy_ms('198.51.100.9') } 1 .. 9;
ok !grep({ !defined } @two), 'every attack 403, every clean request 200';
my $m = median(@two);
diag sprintf 'round trip %d ms: attack + clean request with two pairs '
    . '%.0f ms (median of 9)', $D, $m;
cmp_ok $m, '>=', 2 * $D, 'two pairs: at least 2 round trips';
cmp_ok $m, '<', 3 * $D, 'two pairs: less than 3 round trips, as one window';
is scalar($c->log_lines(qr/RLW0011[01]/)), 0, 'no memcached failure logged';

$_->stop for @px;
$c->stop;
done_testing();
