# What an operator's changes leave in memcached and in the journal, through
# rlwafctl (a store with no local table):
# - an operator's ban record is kept like any other ban record: past the
#   ban for the strike decay (rlwafctl: the default, 1 day), not only for
#   the ban and the window (its strikes were forgotten with it);
# - the journal is read in sequence order by the nodes and by list alike,
#   across batches: a ban, its unban and a new ban of one client, with
#   hundreds of entries between them, end banned everywhere, and a client
#   banned then unbanned ends free everywhere;
# - a change memcached took but whose journal entry it did not (the
#   journal's server down) is reported as such (ban()/unban() answer
#   APR_INCOMPLETE), distinct from a change not made.
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
plan skip_all => 'tools/rlwafctl is not built'
    unless RLW::Cluster::have_ctl();

my $c = RLW::Cluster->new(nodes => 1, threshold => 10, window => '30s',
                          ban => '3s', strike_decay => '60s',
                          timeout => '50ms', retry => '1s')->start;
my ($A) = $c->nodes;
my $P = $c->prefix;

# Remaining lifetime (s) of key on the server that holds it, or undef.
sub ttl_of {
    my ($key) = @_;
    for my $m (grep { $_->running } $c->mcs) {
        my $l = $m->command("mg $key t");
        return $1 if $l =~ /^HD\b.*\bt(-?\d+)/;
    }
    return undef;
}

# --- the record of an operator's ban ------------------------------------

my $ip = '198.51.100.90';
my ($rc, $out, $err) = $c->ctl('ban', $ip, '5s');
is $rc, 0, "rlwafctl ban $ip 5s" or diag $err;
my $ttl = ttl_of("${P}b:" . $c->pseudonym($ip));
ok defined $ttl, 'its ban record is there';
# ban + window + width would be about 37 s; the strike decay is a day.
cmp_ok $ttl // 0, '>', 23 * 3600,
    "kept for the strike decay after the ban (ttl ${\($ttl // 'none')} s)";

# --- one journal reader, in sequence order ------------------------------

my $X = '198.51.100.91';    # banned, unbanned, banned again
my $Y = '198.51.100.92';    # banned, then unbanned
ok defined $c->wait_everywhere($ip, 404, 5), 'the first ban reached the node';
is(($c->ctl('ban', $X, '10m'))[0], 0, "ban $X");
is(($c->ctl('ban', $Y, '10m'))[0], 0, "ban $Y");
# Enough entries between the changes to cross a batch of 256.
my $fill = 0;
for my $n (1 .. 270) {
    my $other = sprintf '203.0.113.%d', $n % 250 + 1;
    $other = sprintf '192.0.2.%d', $n % 250 + 1 if $n > 250;
    $fill++ if ($c->ctl('ban', $other, '10m'))[0] == 0;
}
is $fill, 270, 'entries in between';
is(($c->ctl('unban', $X))[0], 0, "unban $X");
is(($c->ctl('unban', $Y))[0], 0, "unban $Y");
is(($c->ctl('ban', $X, '10m'))[0], 0, "ban $X again");

ok defined $c->wait_everywhere($X, 404, 10), "$X banned on the node";
ok defined $c->wait_everywhere($Y, 200, 10), "$Y free on the node";
my $st = $c->status($A);
my (undef, undef, undef, $j) = $c->ctl('--json', 'list');
ok $j, 'list --json';
my %listed = map { $_->{client} => $_ } @{ $j->{bans} || [] };
ok $listed{$X}, "list shows $X banned";
ok !$listed{$Y}, "list does not show $Y";
is $j->{journal_seq}, 1 + 2 + 270 + 3, 'journal_seq counts every entry';
is $j->{bad_entries}, 0, 'no bad entries';
ok $listed{$X} && $listed{$X}{seq} == $j->{journal_seq},
    "$X listed with its last entry";
ok wait_until(sub {
        ($c->mc_counters($A)->{journal_seen} // 0) == $j->{journal_seq} },
        10, 0.1),
    'the node read every entry';

# --- a change memcached took, without its journal entry -----------------

my $J = $c->server_of_key("${P}j:seq");
ok defined $J, 'the journal has a server';
$J //= 0;
# A client whose record lives on the other server.
my $Z;
for my $n (1 .. 250) {
    my $cand = sprintf '203.0.113.%d', $n;
    my $k = "${P}b:" . $c->pseudonym($cand);
    if (!defined $c->mc($J)->get($k)) { $Z = $cand; last }
}
ok defined $Z, 'a client on the other server: ' . ($Z // 'none');
$c->mc($J)->stop;
SKIP: {
    skip 'no client on the other server', 4 unless defined $Z;
    ($rc, $out, $err) = $c->ctl('ban', $Z, '20m');
    is $rc, 4, 'ban with the journal down: exit 4 (store)';
    like $err, qr/\Q$Z\E is banned in memcached until .* journal entry could not be written/,
        'said: banned in memcached, not journaled' or diag $err;
    ($rc, $out, $err) = $c->ctl('unban', $Z);
    is $rc, 4, 'unban with the journal down: exit 4 (store)';
    like $err, qr/ban of \Q$Z\E is lifted in memcached, but its journal entry could not be written/,
        'said: lifted in memcached, not journaled' or diag $err;
}

$c->stop;
done_testing();
