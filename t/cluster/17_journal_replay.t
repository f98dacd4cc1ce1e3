# Replayed journal entries change nothing: a memcached writer who lowers
# the journal sequence (so that nodes would read old entries again) or
# deletes the entry at the nodes' position (so that they take it for a
# restart and look back) can neither lift a running ban with the sealed
# unban entry of an older ban, nor bring back a lifted ban with its old ban
# entry. Entries are sealed under their own key, so an old entry can only
# come back at its own number: these are the replays there are.
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
plan skip_all => 'tools/rlwafctl is not built' unless RLW::Cluster::have_ctl();

my $T = 10;
my $c = RLW::Cluster->new(threshold => $T, window => '30s', ban => '40s',
                          ban_max => '5m', sync => '250ms')->start;
my ($A, $B) = $c->nodes;
my $P = $c->prefix;

# The first ban creates the journal on one server.
$c->ctl('ban', '198.51.100.90', '60s');
ok defined $c->wait_everywhere('198.51.100.90', 404, 5), 'a first ban';
my $J = $c->server_of_key("${P}j:seq");
ok defined $J, 'the journal has a server';
my $m = $c->mc($J // 0);

sub seq { my $v = $m->get("${P}j:seq") // ''; $v =~ s/ +\z//; $v }

# Runs code and returns the number of the one journal entry it wrote.
sub journaled {
    my ($what, $code) = @_;
    my $s0 = seq();
    $code->();
    my $s1;
    wait_until(sub { ($s1 = seq()) ne $s0 }, 5, 0.02);
    is $s1, $s0 + 1, "$what: one journal entry, number " . ($s0 + 1);
    return $s0 + 1;
}

# Waits for the next counting bucket: a ban starts a new count, leaving
# out the attacks counted in the bucket of its start.
sub next_bucket {
    my $w = int(($c->window_ms + 15) / 16) / 1000;
    sleep $w - (time - int(time / $w) * $w) + 0.05;
}

# Both nodes answer clean requests from client with want for secs seconds.
sub holds {
    my ($client, $want, $secs) = @_;
    my $t0 = time;
    my @got;
    while (time - $t0 < $secs) {
        @got = $c->cleans_everywhere($client);
        return "[@got] after " . sprintf('%.1f', time - $t0) . 's'
            if grep { $_ != $want } @got;
        sleep 0.1;
    }
    return 'held';
}

# --- a running ban is not lifted by an older ban's unban entry --------------
my $x = '198.51.100.91';
my $ban1 = journaled('X banned', sub { attacks($A->port, $x, $T) });
ok defined $c->wait_everywhere($x, 404, 5), 'X banned on every node';
my $unban1 = journaled('X unbanned', sub { $c->ctl('unban', $x) });
ok defined $c->wait_everywhere($x, 200, 5), 'X unbanned on every node';
my $sealed_unban = $m->get("${P}j:$unban1");
ok defined $sealed_unban, "X's unban entry $unban1 is there";
next_bucket();
my $ban2 = journaled('X banned again', sub { attacks($B->port, $x, $T) });
ok defined $c->wait_everywhere($x, 404, 5), 'X banned again on every node';
my $top = seq();

{
    # The writer lowers the sequence to the unban entry (and puts the
    # entry back at its own key, in case it expired).
    my $marks = $c->log_marks;
    $m->set("${P}j:$unban1", $sealed_unban, 120);
    ok $m->set("${P}j:seq", $unban1, 0),
        "journal sequence lowered from $top to $unban1";
    is holds($x, 404, 3), 'held',
        'X stays banned on every node (the old unban entry is not applied '
        . 'again)';
    ok scalar($c->log_lines(qr/RLW00119: memcached journal sequence went down to \Q$unban1\E /, $marks)),
        'RLW00119: the sequence went down while the entry at the position '
        . 'is there';
    my $now = seq();
    cmp_ok $now, '>=', $top, "the sequence is raised back ($now)";
}

{
    # Harder: the entries at the nodes' position are deleted too, so that
    # the nodes take it for a restart and read the journal again from the
    # start, old unban included: the ban running is newer.
    my $marks = $c->log_marks;
    my $now = seq();
    $m->remove("${P}j:$_") for $unban1 + 1 .. $now;
    $m->set("${P}j:$unban1", $sealed_unban, 120);
    ok $m->set("${P}j:seq", $unban1, 0),
        "entries after $unban1 deleted, sequence lowered to $unban1";
    ok defined wait_until(sub {
        scalar $c->log_lines(qr/RLW00120: memcached journal restarted/,
                             $marks) >= 2 }, 5, 0.05),
        'both nodes read the journal again (RLW00120)';
    is holds($x, 404, 2), 'held',
        'X stays banned on every node: the replayed unban is older than the '
        . 'ban running';
}

# --- a lifted ban does not come back through its old ban entry --------------
my $y = '198.51.100.92';
my $ban_y = journaled('Y banned', sub { attacks($A->port, $y, $T) });
ok defined $c->wait_everywhere($y, 404, 5), 'Y banned on every node';
my $sealed_ban_y = $m->get("${P}j:$ban_y");
ok defined $sealed_ban_y, "Y's ban entry $ban_y is there";
journaled('Y unbanned', sub { $c->ctl('unban', $y) });
ok defined $c->wait_everywhere($y, 200, 5), 'Y unbanned on every node';
{
    my $now = seq();
    my $marks = $c->log_marks;
    $m->remove("${P}j:$_") for $ban_y + 1 .. $now;
    $m->set("${P}j:$ban_y", $sealed_ban_y, 120);
    ok $m->set("${P}j:seq", $ban_y, 0),
        "entries after Y's ban deleted, sequence lowered to $ban_y";
    ok defined wait_until(sub {
        scalar $c->log_lines(qr/RLW00120: memcached journal restarted/,
                             $marks) >= 2 }, 5, 0.05),
        'both nodes read the journal again (RLW00120)';
    is holds($y, 200, 2), 'held',
        'Y stays unbanned on every node: its old ban entry was lifted';
    is scalar($c->ban_lines($y, $marks)), 0, 'no ban line for Y';
}

# --- the journal still works afterwards ------------------------------------
{
    my $z = '198.51.100.93';
    attacks($A->port, $z, $T);
    ok defined $c->wait_everywhere($z, 404, 5),
        'a new ban still reaches every node';
    is holds($x, 404, 0.5), 'held', 'X is still banned';
}

$c->stop;
done_testing();
