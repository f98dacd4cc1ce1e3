# A poisoned journal sequence neither stops nor floods propagation:
# - far ahead (2^62): a sync round reads the last 4096 entries at most, so
#   a new ban still reaches every node within seconds and the nodes make a
#   handful of gets, not millions;
# - beyond 2^63 (the next increment would wrap to 0) or not a number
#   ("abc"): replaced like a garbage counter, and the next ban is journaled
#   and propagates.
# And an entry written after its number was taken is not skipped: a node
# that syncs between the two waits for it (here: the entry is held back by
# deleting it and putting it back); one that never comes is skipped after a
# few seconds, logged.
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
my $c = RLW::Cluster->new(threshold => $T, window => '30s', ban => '60s',
                          sync => '250ms')->start;
my ($A, $B) = $c->nodes;
my $P = $c->prefix;

attacks($A->port, '198.51.100.100', $T);
ok defined $c->wait_everywhere('198.51.100.100', 404, 5), 'a first ban';
my $J = $c->server_of_key("${P}j:seq");
ok defined $J, 'the journal has a server';
my $m = $c->mc($J // 0);

sub seq { my $v = $m->get("${P}j:seq") // ''; $v =~ s/ +\z//; $v }

my $next = 101;
sub client { '198.51.100.' . $next++ }

# A ban decided on A reaches B within secs seconds?
sub propagates {
    my ($secs) = @_;
    my $who = client();
    attacks($A->port, $who, $T);
    my $t = wait_until(sub { clean($B->port, $who) == 404 }, $secs, 0.05);
    return ($t, $who);
}

# Deletes journal entry n as soon as it is written (the node may write it
# just after answering the attack that decided the ban); returns what it
# held, undef when it did not show up within 2 s.
sub take_entry {
    my ($n) = @_;
    my $v;
    wait_until(sub { defined($v = $m->get("${P}j:$n")) }, 2, 0.002);
    $m->remove("${P}j:$n") if defined $v;
    return $v;
}

# --- far ahead --------------------------------------------------------------
{
    my $huge = 4611686018427387904;    # 2^62
    my $marks = $c->log_marks;
    ok $m->set("${P}j:seq", $huge, 0), "journal sequence set to $huge";
    my ($t, $who) = propagates(6);
    ok defined $t, 'a new ban still reaches B'
        . (defined $t ? sprintf(' (%.1f s)', $t) : '');
    is seq(), $huge + 1, 'its entry follows the poisoned number';
    ok scalar($c->log_lines(qr/RLW00121: memcached journal sequence jumped to /,
                            $marks)),
        'RLW00121: the nodes jumped to the last entries';
    # The nodes are done with it: no catch-up loop behind the scenes.
    sleep 0.5;
    my $s0 = $c->mc_stats_sum(qw(cmd_get get_hits get_misses));
    sleep 2;
    my $s1 = $c->mc_stats_sum(qw(cmd_get get_hits get_misses));
    my $gets = $s1->{cmd_get} - $s0->{cmd_get};
    cmp_ok $gets, '<', 200,
        "idle nodes then make a few gets, not a catch-up ($gets in 2 s)";
    my ($t2) = propagates(3);
    ok defined $t2, 'and the ban after it too';
}

# --- beyond 2^63 and not a number: repaired ---------------------------------
for my $bad ('18446744073709551615', '9223372036854775808', 'abc', '-1',
             ' 5', '5 junk') {
    my $before = seq();
    my $marks = $c->log_marks;
    ok $m->set("${P}j:seq", $bad, 0), "journal sequence set to '$bad'";
    my ($t) = propagates(5);
    ok defined $t, "'$bad': the next ban is journaled and reaches B"
        . (defined $t ? sprintf(' (%.1f s)', $t) : '');
    my $now = seq();
    like $now, qr/^\d+\z/, "'$bad': the sequence is a count again ($now)";
    cmp_ok $now, '<', 9223372036854775808, "'$bad': below 2^63";
    ok scalar($c->log_lines(qr/RLW0011[789]: memcached journal sequence /, $marks)),
        "'$bad': repair logged (RLW00117, RLW00118 or RLW00119)";
}

# --- a late entry is waited for, a lost one skipped in time -----------------
# Bans H1 then H2 on A; deletes H1's entry the moment it is written and
# puts it back later. B syncs every 250 ms: it must wait for H1's entry,
# not skip it. (If B happened to read H1's entry before it was deleted,
# the round proves nothing: tried again with other clients.)
my $proved = 0;
for my $try (1 .. 3) {
    my ($h1, $h2) = (client(), client());
    my $n = seq() + 1;
    attacks($A->port, $h1, $T);
    my $held = take_entry($n);
    next unless defined $held;
    next if clean($B->port, $h1) == 404;    # B was quicker
    attacks($A->port, $h2, $T);
    wait_until(sub { seq() == $n + 1 }, 2, 0.01);
    is seq(), $n + 1, "H1's entry is $n, H2's " . ($n + 1);
    sleep 0.3;
    is clean($B->port, $h1), 200, 'B does not know H1 (entry held back)';
    ok $m->set("${P}j:$n", $held, 120), "H1's entry $n written late";
    my $t = wait_until(sub { clean($B->port, $h1) == 404 }, 5, 0.05);
    ok defined $t, 'B applies the late entry: H1 banned on B'
        . (defined $t ? sprintf(' (%.1f s)', $t) : '');
    ok defined wait_until(sub { clean($B->port, $h2) == 404 }, 5, 0.05),
        'and H2 after it';
    $proved = 1;
    last;
}
ok $proved, 'the late-entry case was played';

{
    my $l1 = client();
    my $n = seq() + 1;
    my $marks = $c->log_marks;
    attacks($A->port, $l1, $T);
    ok defined take_entry($n), "L1's entry $n deleted: lost for good";
    my ($t) = propagates(10);
    ok defined $t, 'a ban after a lost entry still reaches B'
        . (defined $t ? sprintf(' (%.1f s)', $t) : '');
    ok !defined $t || $t < 8, 'within a few seconds';
    ok scalar($c->log_lines(qr/RLW00122: 1 memcached journal entries from \Q$n\E never appeared/, $marks)),
        'RLW00122 names the skipped entry'
        or diag explain [$c->log_lines(qr/RLW001/, $marks)];
}

# An entry after a missing one is read again while the node waits: it is
# applied, or reported bad, once.
{
    my $n = seq() + 1;
    my $marks = $c->log_marks;
    ok $m->set("${P}j:" . ($n + 1), 'garbage, not a sealed entry', 60),
        'garbage at ' . ($n + 1) . ", nothing at $n";
    ok $m->set("${P}j:seq", $n + 1, 0), 'sequence moved to ' . ($n + 1);
    my $bad_re = qr/RLW00114: journal entry \Q${P}j:\E@{[$n + 1]} /;
    my $t = wait_until(sub { scalar $c->log_lines($bad_re, $marks) >= 2 },
                       8, 0.1);
    ok defined $t, "both nodes skip $n after a while, then read "
        . ($n + 1) . (defined $t ? sprintf(' (%.1f s)', $t) : '');
    sleep 0.5;
    my @bad = $c->log_lines($bad_re, $marks);
    is_deeply [sort map { $_->[0] } @bad], [0, 1],
        'the garbage after it is reported once per node';
}

$c->stop;
done_testing();
