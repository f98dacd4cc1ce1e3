# RateLimitWAFKey order across a cluster (two nodes, two memcached): a
# key's subjects carry its NAME's index, so nodes that declare the NAMEs
# in different orders would silently split the keys' counts and ignore
# each other's key bans. Each node publishes its list (sealed, under
# rlw:o:ref and rlw:o:alt) and compares it with the others' every 5 s
# (rlw_mc_keyorder.c):
#   - the same order on both nodes: no warning, no set-up problem;
#   - a list written to memcached by someone without the secret: not
#     believed, counted as a bad record (RLW00124) and replaced;
#   - node B reloaded (graceful) with the order swapped: RLW00123 on both
#     nodes, naming both lists, and the set-up problem key_order on both
#     status pages (JSON and Prometheus), within a bounded time; both keep
#     serving;
#   - node B reloaded with the first order again: the problem ends on both
#     nodes (RLW00125) once the disagreeing list has expired (30 s).
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

my $EVERY = 5;     # RLW_MC_KEYORDER_EVERY_MS, in seconds
my $TTL   = 30;    # RLW_MC_KEYORDER_TTL
my $API     = "RateLimitWAFKey api \"%{HTTP:X-Api-Key}\" 50\n";
my $SESSION = "RateLimitWAFKey session \"%{HTTP:X-Session}\" 50\n";
my $c = RLW::Cluster->new(threshold => 1000, window => '60s', ban => '30s',
    node_extra => ["$API$SESSION", "$API$SESSION"])->start;
my ($A, $B) = $c->nodes;

sub problem {
    my ($h) = @_;
    my $s = $c->status($h) or return undef;
    my ($p) = grep { ($_->{kind} // '') eq 'key_order' }
        @{ $s->{setup}{problems} || [] };
    return $p;
}

sub gauge {
    my ($h) = @_;
    my $r = http_request(port => $h->port,
                         path => '/ratelimit-waf?prometheus');
    return $r->{body} =~ /^ratelimit_waf_setup_problem\{node="[^"]*",kind="key_order"\} (\d)$/m
        ? $1 : undef;
}

sub warned { $c->log_lines(qr/RLW00123: /, $_[0]) }

sub reload_b {
    my ($extra) = @_;
    $c->{node_extra}[1] = $extra;
    $B->{directives} = $c->node_directives(1);
    $B->write_config;
    $B->graceful;
}

# --- the same order -----------------------------------------------------
ok wait_until(sub { defined $c->server_of_key('rlw:o:ref') }, 3 * $EVERY),
    'a node published its key order (rlw:o:ref)';
sleep 2 * $EVERY + 1;    # both nodes compared at least twice since
is scalar(warned()), 0, 'same order: no RLW00123 line';
for my $h ($A, $B) {
    my $s = $c->status($h) || {};
    ok !problem($h), 'same order: no key_order problem on ' . $h->{name};
    is gauge($h), 0, '... ratelimit_waf_setup_problem{kind="key_order"} 0';
}

# --- a forged record is not believed ------------------------------------
# Whoever can write to memcached may put a list there, but not a sealed
# one: the nodes count it as bad, say so (RLW00124) and replace it.
my $marks = $c->log_marks;
my $srv = $c->server_of_key('rlw:o:ref');
my $forged = '1 session,api node-x';
ok $c->mc($srv)->set('rlw:o:alt', $forged, 0), 'a forged list in rlw:o:alt';
ok wait_until(sub { $c->log_lines(qr/RLW00124: memcached record rlw:o:alt /,
                                  $marks) }, 3 * $EVERY),
    'RLW00124: the forged record does not open';
ok wait_until(sub { ($c->mc($srv)->get('rlw:o:alt') // '') ne $forged },
              2 * $EVERY), '... and is replaced';
ok +(grep { ($c->mc_counters($_)->{bad_records} // 0) > 0 } $A, $B),
    '... counted in bad_records';
sleep $EVERY + 1;    # each node compared again since
is scalar(warned($marks)), 0, 'no RLW00123 line for it';
ok !problem($A) && !problem($B), 'no key_order problem for it';

# --- B reloaded with the order swapped ---------------------------------
$marks = $c->log_marks;
reload_b("$SESSION$API");
my $t0 = time;
ok wait_until(sub { grep { $_->[0] == 1 } warned($marks) }, 4 * $EVERY),
    'swapped on B: B logs RLW00123';
my ($lb) = grep { $_->[0] == 1 } warned($marks);
like $lb->[1] // '',
    qr/this node \(node-b\) declares session, api; node node-a declares api, session/,
    '... naming both lists';
ok wait_until(sub { grep { $_->[0] == 0 } warned($marks) }, 4 * $EVERY),
    'A logs RLW00123 too (it reads B\'s list, rlw:o:alt)';
my ($la) = grep { $_->[0] == 0 } warned($marks);
like $la->[1] // '',
    qr/this node \(node-a\) declares api, session; node node-b declares session, api/,
    '... naming both lists';
for my $h ($B, $A) {
    my $p;
    ok wait_until(sub { $p = problem($h) }, 2 * $EVERY),
        'key_order on the status page of ' . $h->{name};
    like $p->{detail} // '', qr/declares api, session/, '... with the lists';
    like $p->{fix} // '', qr/same order/, '... and the fix';
    is(($c->status($h) || {})->{setup}{ok}, JSON::PP::false(),
       '... setup ok: false');
    is gauge($h), 1, '... ratelimit_waf_setup_problem{kind="key_order"} 1';
}
diag sprintf 'both nodes reported it within %.1f s', time - $t0;
ok wait_until(sub { (problem($B) || {})->{requests} >= 3
                 && (problem($A) || {})->{requests} >= 3 }, 4 * $EVERY),
    'three checks on each node found it';
is_deeply [map { my $i = $_; scalar(() = grep { $_->[0] == $i } warned($marks)) } 0, 1],
    [1, 1], 'one warning line per node (at most every 10 minutes)';
is_deeply [map { clean($_->port, '203.0.113.9') } $A, $B], [200, 200],
    'both nodes keep serving';
is attack($B->port, '203.0.113.10'), 403, '... and counting';

# --- B reloaded with the first order again -----------------------------
$marks = $c->log_marks;
reload_b("$API$SESSION");
$t0 = time;
ok wait_until(sub { !problem($A) && !problem($B) }, $TTL + 3 * $EVERY),
    'fixed: the problem ends on both nodes';
diag sprintf 'ended within %.1f s', time - $t0;
ok scalar($c->log_lines(qr/RLW00125: /, $marks)) >= 1,
    'RLW00125: the order agrees again';
is gauge($A), 0, 'ratelimit_waf_setup_problem{kind="key_order"} 0 on A';

done_testing;
