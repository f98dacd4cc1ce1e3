# Private and tamper-evident: memcached never holds a client address, in
# keys or values, in any form; a garbage, altered or forged record (ban
# record, journal entry, counter) is logged and ignored, never trusted: it
# bans nobody, and the nodes keep serving. A secret file others can read or
# write (world-readable, group-writable, or another user's) is refused at
# configuration time.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../lib";

use Socket qw(inet_pton AF_INET AF_INET6);
use Test::More;
use Time::HiRes qw(time sleep);
use RLW::Client qw(:all);
use RLW::Cluster;
use RLW::Httpd;

plan skip_all => 'mod_ratelimit_waf.so is not built'
    unless RLW::Httpd::have_module();

my $T = 10;
my $BAN = 2;
my $WINDOW_MS = 30_000;
my $c = RLW::Cluster->new(threshold => $T, window => '30s', ban => "${BAN}s",
                          strike_decay => '60s')->start;
my ($A, $B) = $c->nodes;
my $P = $c->prefix;

# --- privacy --------------------------------------------------------------
my @v4 = map {"198.51.100.4$_"} 1 .. 3;
my $v6 = '2001:db8:41:7::7';
attacks($A->port, $v4[0], $T);             # banned
attacks($B->port, $v4[1], 3);              # counting
attacks($_->port, $v6, $T / 2) for $A, $B; # banned, as 2001:db8:41:7::/64
clean($_->port, $v4[2]) for $A, $B;        # clean only
settle();
ok defined $c->wait_everywhere($v4[0], 404, 2), 'v4 client banned';
ok defined $c->wait_everywhere($v6, 404, 2),
    'v6 client banned (exactly T attacks, half on each node)';

# Every form an address could take in a key or a value.
sub forms {
    my ($ip) = @_;
    my @f = ($ip, uc $ip);
    (my $url = $ip) =~ s/([^A-Za-z0-9_~-])/sprintf '%%%02X', ord $1/ge;
    push @f, $url, lc $url;
    if ($ip =~ /^[\d.]+$/) {
        my $bin = inet_pton(AF_INET, $ip);
        push @f, unpack('H*', $bin), uc unpack('H*', $bin);
        push @f, unpack('N', $bin);                  # as one number
        push @f, join '-', split /\./, $ip;
        push @f, join '_', split /\./, $ip;
        push @f, [bin => $bin];
    }
    else {
        my $bin = inet_pton(AF_INET6, $ip);
        my $net = substr($bin, 0, 8);
        push @f, unpack('H*', $net), uc unpack('H*', $net);
        push @f, '2001:db8:41:7::', '2001:db8:41:7:';
        push @f, [bin => $net];
    }
    return @f;
}

# Everything the servers list, plus what they hold under the clients' own
# key names (a listing can miss an item that moves meanwhile).
my %dump;
for my $i (0 .. 1) {
    my $d = $c->mc($i)->dump;
    $dump{$_} = $d->{$_} for keys %$d;
}
for my $ip (@v4, $v6) {
    my $k = $c->client_keys($ip);
    $dump{$_} = $k->{$_} for keys %$k;
}
for my $m ($c->mcs) {
    my $seq = $m->get("${P}j:seq") // next;
    $dump{"${P}j:seq"} = $seq;
    for my $n (1 .. $seq) {
        my $v = $m->get("${P}j:$n");
        $dump{"${P}j:$n"} = $v if defined $v;
    }
}
my @keys = sort keys %dump;
ok scalar(grep {/^\Q$P\Eb:/} @keys) >= 1, 'memcached holds ban records';
ok scalar(grep {/^\Q$P\Ec\d+:/} @keys) >= 1, 'and counters';
ok scalar(grep {/^\Q$P\Ej:\d+$/} @keys) >= 1, 'and journal entries';
ok exists $dump{"${P}j:seq"}, 'and the journal sequence number';
is_deeply [grep { !/^\Q$P\E(?:[bj]|c\d+):[A-Za-z0-9_-]+$/ } @keys], [],
    'every key is the prefix, a kind and a pseudonym or a number';
my @leaks;
for my $ip (@v4, $v6) {
    for my $f (forms($ip)) {
        my ($what, $needle) = ref $f ? ('binary', $f->[1]) : ('text', $f);
        for my $k (@keys) {
            push @leaks, "key $k contains $ip ($what form)"
                if index($k, $needle) >= 0 && !ref $f;
            push @leaks, "value of $k contains $ip ($what form)"
                if index($dump{$k}, $needle) >= 0 && $k !~ /^\Q$P\Ec\d+:/;
        }
    }
}
is_deeply \@leaks, [], 'no client address in any key or sealed value, in '
    . 'any form (text, URL-encoded, hex, number, binary)';
is_deeply [grep { $dump{$_} !~ /^\d+$/ } grep {/^\Q$P\Ec\d+:/} @keys], [],
    'counters hold digits only';

# --- a tampered ban record ------------------------------------------------
# Client X: banned once (strike 1), the ban over; one byte of its sealed
# record flipped. X's next ban must ignore the record (strike 1 again, and
# RLW00112), not trust it.
{
    my $x = '198.51.100.44';
    my ($px, $srv) = $c->learn_pseudonym($A, $x);
    ok $px, 'learnt X\'s pseudonym from its counter key';
    attacks($A->port, $x, $T - 1);
    ok defined $c->wait_everywhere($x, 404, 2), 'X banned (strike 1)';
    SKIP: {
        skip 'tools/rlwafctl is not built', 1 unless RLW::Cluster::have_ctl();
        my ($rc, $out, $err, $j) = $c->ctl('--json', 'status', $x);
        is $j && $j->{count}, 0, 'the ban started a new count for X'
            or diag "rlwafctl: rc=$rc $out $err";
    }
    ok defined $c->wait_everywhere($x, 200, $BAN + 2), 'X\'s ban over';
    my $m = $c->mc($srv);
    my $rec = $m->get("${P}b:$px");
    ok defined $rec && length $rec > 20, 'X\'s sealed ban record is there';
    substr($rec, int(length($rec) / 2), 1) ^= "\x01";
    ok $m->set("${P}b:$px", $rec, 60), 'one byte of it flipped';
    my $marks = $c->log_marks;
    is statuses(attacks($B->port, $x, $T - 1)), '403 x' . ($T - 1),
        'X: T-1 attacks';
    settle();
    is_deeply [$c->cleans_everywhere($x)], [200, 200],
        'the tampered record bans nobody (T-1 attacks since X\'s ban)'
        or diag explain [$c->ban_lines($x, $marks)];
    attack($B->port, $x);
    my @b = $c->wait_ban_lines($x, $marks);
    is scalar(@b), 1, 'X: the T-th attack bans';
    is $b[0]{strike}, 1,
        'strike=1: the tampered record (strike 1) was not trusted';
    ok scalar($c->log_lines(qr/RLW00112: memcached ban record \Q${P}b:$px\E /,
                            $marks)),
        'RLW00112 names the tampered record';
}

# --- a garbage ban record ---------------------------------------------------
{
    my $y = '198.51.100.45';
    my ($py, $srv) = $c->learn_pseudonym($B, $y);
    my $m = $c->mc($srv);
    ok $m->set("${P}b:$py", "\x01" . ("\xff" x 40) . 'banned until forever',
               60), 'garbage in Y\'s ban record';
    my $marks = $c->log_marks;
    attacks($A->port, $y, $T - 2);
    settle();
    sleep 0.5;
    is_deeply [$c->cleans_everywhere($y)], [200, 200],
        'Y (T-1 attacks and a garbage record) is not banned';
    attack($A->port, $y);
    my @b = $c->wait_ban_lines($y, $marks);
    is scalar(@b), 1, 'Y: the T-th attack bans';
    is $b[0]{count}, $T, "Y: count=$T";
    ok scalar($c->log_lines(qr/RLW00112: memcached ban record \Q${P}b:$py\E /,
                            $marks)),
        'RLW00112 for Y\'s garbage record';
}

# --- garbage and forged journal entries -----------------------------------
{
    my $js = $c->server_of_key("${P}j:seq");
    ok defined $js, 'the journal lives on one server';
    my $m = $c->mc($js // 0);
    my $seq = $m->get("${P}j:seq");
    ok defined $seq && $seq =~ /^\d+$/, "journal sequence number $seq";
    my $forged = '198.51.100.46';
    my $n = $seq + 5;    # 1-2 missing (expired) entries, then three bad ones
    my %bad = (
        $n - 2 => "garbage \x00\xff\x10 not a journal entry",
        $n - 1 => qq({"action":"ban","client":"$forged","until_ms":)
            . (int(time * 1000) + 600_000)
            . qq(,"strike":1,"node":"node-a"}),
        $n => "\x01" . ("\x00" x 12) . ("\x41" x 100),
    );
    my $marks = $c->log_marks;
    $m->set("${P}j:$_", $bad{$_}, 60) for sort keys %bad;
    ok $m->set("${P}j:seq", $n, 0), "journal sequence moved ahead to $n";
    my @lines;
    wait_until(sub { @lines = $c->log_lines(qr/RLW00114/, $marks);
                     @lines >= 6 }, 3, 0.05);
    for my $i (0, 1) {
        for my $k (sort keys %bad) {
            ok scalar(grep { $_->[0] == $i && $_->[1] =~ /journal entry \Q${P}j:$k\E fails/ } @lines),
                "node $RLW::Cluster::NAMES[$i]: RLW00114 for ${P}j:$k";
        }
    }
    sleep 0.5;
    is_deeply [$c->cleans_everywhere($forged)], [200, 200],
        'the forged JSON entry bans nobody';
    is scalar($c->ban_lines($forged)), 0, 'and logs no ban';
    is_deeply [map { clean($_->port, '192.0.2.61') } $A, $B], [200, 200],
        'the nodes keep serving clean requests';
    is_deeply [map { attack($_->port, '192.0.2.62') } $A, $B], [403, 403],
        'and blocking attacks';
    # A real ban after the tampering still travels (sequence continues).
    my $w = '198.51.100.47';
    attacks($A->port, $w, $T);
    my $t = $c->wait_everywhere($w, 404, 2);
    ok defined $t, 'a real ban after the forged entries still reaches B';
    my $seq2 = $m->get("${P}j:seq") // 0;
    cmp_ok $seq2, '>', $n, "its entry follows them (sequence $seq2)";
}

# --- garbage counters -------------------------------------------------------
# Older buckets of client Z hold "999999999junk": if read as numbers, one
# more attack would ban Z. They must be ignored.
{
    my $z = '198.51.100.48';
    my ($pz, $srv) = $c->learn_pseudonym($A, $z);
    my $m = $c->mc($srv);
    my ($idx) = map { /^\Q$P\Ec(\d+):\Q$pz\E$/ ? $1 : () } $m->key_names;
    ok defined $idx, "Z's first attack is in bucket $idx";
    my $bad0 = $c->mc_counters($A)->{bad_records} // 0;
    $m->set("${P}c" . ($idx - $_) . ":$pz", '999999999junk', 60) for 1 .. 14;
    my $marks = $c->log_marks;
    is statuses(attacks($A->port, $z, $T - 2)), '403 x' . ($T - 2),
        'Z: T-2 more attacks (T-1 in all)';
    settle();
    is_deeply [$c->cleans_everywhere($z)], [200, 200],
        'Z is not banned by the garbage in its counters';
    is scalar($c->ban_lines($z, $marks)), 0, 'no ban line for Z';
    cmp_ok $c->mc_counters($A)->{bad_records} // 0, '>', $bad0,
        'the node counted the bad records (status page bad_records)';
    attack($A->port, $z);
    my @b = $c->wait_ban_lines($z, $marks);
    is $b[0] && $b[0]{count}, $T, "the T-th attack bans Z with count=$T";
}

# Garbage in the very bucket being counted: the increment fails; the node
# must keep serving, count the attack somewhere, and not ban before T.
{
    my $v = '198.51.100.49';
    my ($pv, $srv) = $c->learn_pseudonym($A, $v);
    my $m = $c->mc($srv);
    my ($idx) = map { /^\Q$P\Ec(\d+):\Q$pv\E$/ ? $1 : () } $m->key_names;
    $m->set("${P}c" . ($idx + $_) . ":$pv", 'not a number', 60) for 0 .. 3;
    my $t0 = time;
    my @s = attacks($A->port, $v, $T - 2);
    is statuses(@s), '403 x' . ($T - 2),
        'V (garbage in its current counter): attacks still answered 403';
    settle();
    is_deeply [$c->cleans_everywhere($v)], [200, 200],
        'V is not banned before its T-th attack';
    is_deeply [map { clean($_->port, '192.0.2.63') } $A, $B], [200, 200],
        'the nodes keep serving';
}

$c->stop;

# --- the secret file must not be world-readable --------------------------
{
    my $loose = RLW::Cluster::make_secret(mode => 0644);
    my $d = $c->node_directives(0);
    $d =~ s/^RateLimitWAFSecretFile .*$/RateLimitWAFSecretFile "$loose"/m;
    my ($rc, $out) = RLW::Httpd->configtest(directives => $d);
    isnt $rc, 0, 'apache2 -t refuses a world-readable secret file';
    like $out, qr/RateLimitWAFSecretFile: secret file \Q$loose\E is readable or writable by others/,
        'the message names RateLimitWAFSecretFile and the file';
    chmod 0600, $loose;
    ($rc, $out) = RLW::Httpd->configtest(directives => $d);
    is $rc, 0, 'the same file at 0600 is accepted' or diag $out;

    # Whoever may write the file chooses every node's keys: no group write,
    # and it belongs to root or to the user the children run as.
    chmod 0620, $loose;
    ($rc, $out) = RLW::Httpd->configtest(directives => $d);
    isnt $rc, 0, 'apache2 -t refuses a group-writable secret file';
    like $out, qr/RateLimitWAFSecretFile: secret file \Q$loose\E is writable by its group/,
        '  the message says so';
    chmod 0600, $loose;
    SKIP: {
        skip 'chown needs root', 4 unless $> == 0;
        my $nobody = getpwnam('nobody');  # the children's User (RLW::Httpd)
        my $daemon = getpwnam('daemon');
        chown $daemon, 0, $loose;
        ($rc, $out) = RLW::Httpd->configtest(directives => $d);
        isnt $rc, 0, "apache2 -t refuses a secret file of another user (daemon)";
        like $out, qr/RateLimitWAFSecretFile: secret file \Q$loose\E belongs to uid $daemon; it must belong to root or to uid $nobody/,
            '  the message names the owner and who may own it';
        chown $nobody, 0, $loose;
        ($rc, $out) = RLW::Httpd->configtest(directives => $d);
        is $rc, 0, "the httpd User's own file is accepted" or diag $out;
        chown 0, 0, $loose;
        ($rc, $out) = RLW::Httpd->configtest(directives => $d);
        is $rc, 0, "root's file is accepted" or diag $out;
    }
}

done_testing();
