# Chaos: memcached runs out of memory and refuses to store (memcached -M:
# "SERVER_ERROR out of memory" instead of evicting). Both servers get 1 MiB
# with a minimum item size of 1500 bytes (about 675 items each); the test
# fills server K (not the journal's) with filler items of its own until it
# refuses, so that every counter or record the nodes must create there
# fails, while increments of existing counters still succeed. That is a
# degradation (RLW::Chaos::run_fault: no false ban, no crash, clean p99
# below the timeout, status page and events, fallback bans, exact counting
# once the filler is deleted and memory is free again).
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";

use Test::More;
use RLW::Chaos qw(:all);
use RLW::Client qw(:all);
use RLW::Cluster;
use RLW::Httpd;

plan skip_all => 'mod_ratelimit_waf.so is not built'
    unless RLW::Httpd::have_module();

my $c = RLW::Cluster->new(RLW::Chaos::cluster_options(),
                          mc_opts => { memory => 1,
                                       args => ['-I', '512k', '-n', '1500',
                                                '-M'] })->start;
my ($K, $X, $Y) = prepare($c, where => 'other');
my $m = $c->mc($K);
my @filler;

# This fault used to kill httpd children: libmemcached 1.1.4 (Debian,
# assertions on) answers a binary-protocol out-of-memory reply to an
# increment with
#   auto.cc:32: auto_response: Assertion `memcached_last_error(...) !=
#   MEMCACHED_SUCCESS' failed
# and abort() (AH00052 exit signal Abort): nothing counted, nothing
# degraded, the attacker never banned. The store now speaks the text
# protocol only (incr, add of 1 on a miss, rlw_mcctr.h), where the same
# reply is "SERVER_ERROR out of memory", an ordinary failure of that
# server: the checks below are real.
run_fault(c => $c, K => $K, X => $X, Y => $Y, name => 'out of memory',
          # Each attack of X may find its counter of the current bucket
          # (an increment: no new memory) or not (a refused creation): its
          # attacks split between memcached and shared memory.
          x_max => 2 * $c->{threshold},
          inject => sub {
              my $i = 0;
              while ($i < 5000) {
                  my $k = "filler:$i";
                  $i++;
                  last unless $m->set($k, 'x' x 100, 0);
                  push @filler, $k;
              }
              my $s = $m->stats;
              diag sprintf 'server %d full after %d filler items '
                  . '(curr_items %d)', $K, scalar @filler, $s->{curr_items};
              ok !$m->set('filler:probe', 'x', 0),
                  "memcached $K refuses to store (out of memory)";
          },
          heal => sub {
              $m->remove($_) for @filler;
              ok $m->set('filler:probe', 'x', 0) && $m->remove('filler:probe'),
                  "memcached $K stores again (filler deleted)";
          });

$c->stop;
done_testing();
