# RateLimitWAFKey (private server): the attacks of every request carrying
# one value of a request expression (here an API key header) add up,
# whatever address sends them; at the key's threshold the value is banned:
# any request carrying it gets 404 before ModSecurity, from any address,
# while the addresses themselves are not banned and are served without the
# key. An exempt address with the key is served; an allowlisted one gets
# at most its short ban. The value is a secret: it never appears in clear
# in the error log, the event log or the status page (JSON, HTML,
# Prometheus), only its keyed hash.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use JSON::PP;
use Time::HiRes qw(time sleep);
use RLW::Client qw(:all);
use RLW::Httpd;

plan skip_all => 'mod_ratelimit_waf.so is not built'
    unless RLW::Httpd::have_module();
plan tests => 38;

# Client threshold 5: each of 50 rotating addresses attacks once (never
# banned on its own); key threshold 40: the 40th attack carrying the key
# bans it.
my $KEY   = 'sk-live-Zq7rT93xUvBN5519';
my $OTHER = 'sk-live-other-0000000042';
my $h = RLW::Httpd->new(name => 'key', directives => <<'CONF');
RateLimitWAF On
RateLimitWAFWindow 60s
RateLimitWAFThreshold 5
RateLimitWAFKey api "%{HTTP:X-Api-Key}" 40
RateLimitWAFKey session "%{HTTP:X-Session}" 1000
RateLimitWAFKey tok "%{HTTP:X-Tok}%{HTTP:X-Tok2}" 3
RateLimitWAFBanTime 30s
RateLimitWAFAllowBanTime 1s
RateLimitWAFExempt 192.0.2.250
RateLimitWAFAllow 192.0.2.240
RateLimitWAFEventLog logs/events.json
LogLevel ratelimit_waf:debug
<Location "/rlw-status">
    SetHandler ratelimit-waf-status
</Location>
CONF
$h->start;
my $port   = $h->port;
my $elog   = $h->error_log;
my $events = $h->dir . '/logs/events.json';
my @key    = (headers => ["X-Api-Key: $KEY"]);

sub slurp { my ($f) = @_; open my $fh, '<', $f or return ''; local $/; <$fh> }
sub read_events {
    return map { eval { decode_json($_) } // { _bad => $_ } }
        split /\n/, slurp($events);
}

my $off = log_size($elog);
# The exempt address's attacks never count against the key.
is statuses(attacks($port, '192.0.2.250', 3, @key)), '403 x3',
    'the exempt address attacks with the key 3 times';
my @ips = map {"198.51.100.$_"} 1 .. 50;
# A request with an empty key is no key: never counted.
is statuses(attacks($port, '203.0.113.9', 2, headers => ['X-Api-Key: '])),
    '403 x2', 'an empty key value attacks twice';
my $all = statuses(map { attack($port, $_, @key) } @ips[0 .. 38]);
is $all, '403 x39', '39 rotating addresses attack once each with the key';
settle();
is clean($port, '198.51.100.200', @key), 200,
    '39 attacks: the key is not banned yet';
is log_count($elog, $off, qr/RLW000(10|56): ban/), 0, 'no ban line yet';

is attack($port, $ips[39], @key), 403, 'the 40th address attacks (40)';
my @l = wait_log($elog, $off, qr/RLW00056: ban key=api /);
ok @l, 'ban line RLW00056 names key=api'
    or diag join "\n", log_since($elog, $off, qr/RLW/);
like $l[-1] // '', qr/hash=[0-9a-f]{16} count=40 .* strike=1 .* last_client=198\.51\.100\.40\b/,
    'ban line: the hash prefix, count=40, strike 1, last client';
is log_count($elog, $off, qr/RLW00010: ban client=/), 0,
    'no address was banned on its own';

# Any address with the key: 404; the same addresses without it: served.
is join(' ', map { clean($port, $_, @key) } @ips[0, 10, 45]), '404 404 404',
    'the key is refused from attacking and fresh addresses alike';
is clean($port, '10.9.8.7', @key), 404, 'and from an address never seen';
is join(' ', map { clean($port, $_) } @ips[0, 10, 39, 45]), '200 200 200 200',
    'the addresses without the key are served';
is clean($port, $ips[0], headers => ["X-Api-Key: $OTHER"]), 200,
    'another key value is served';
is clean($port, '192.0.2.250', @key), 200,
    'the exempt address with the banned key is served';
ok wait_until(sub { clean($port, '192.0.2.240', @key) == 200 }, 10),
    'the allowlisted address with the key is served after its short ban';
is clean($port, $ips[5], @key), 404, 'while the key stays banned';
{
    my $o = log_size($elog);
    is attack($port, $ips[3], @key), 404,
        'an attack with the banned key gets 404, not 403';
    settle();
    is log_count($elog, $o, qr/ModSecurity: Access denied/), 0,
        'ModSecurity never saw it';
}

# A key that is not a plain header goes through the expression engine:
# two headers joined, banned at 3 from 3 addresses.
{
    my $o = log_size($elog);
    my @tok = (headers => ['X-Tok: ab', 'X-Tok2: cd']);
    is statuses(map { attack($port, "203.0.113.$_", @tok) } 21 .. 23),
        '403 x3', 'expression key: 3 attacks from 3 addresses';
    ok wait_log($elog, $o, qr/RLW00056: ban key=tok /),
        'expression key: banned (RLW00056 key=tok)';
    is clean($port, '203.0.113.99', headers => ['X-Tok: ab', 'X-Tok2: ce']),
        200, 'expression key: another value (ab + ce) is served';
    is clean($port, '203.0.113.99', @tok), 404,
        'expression key: the value ab + cd is refused';
}

# --- what is shown -------------------------------------------------------
ok wait_until(sub { grep { !$_->{_bad} && $_->{event}{action} eq 'ban' } read_events() }, 5),
    'a ban event';
my ($ev) = grep { !$_->{_bad} && $_->{event}{action} eq 'ban' } read_events();
is $ev->{rlw}{kind}, 'key', 'event rlw.kind key';
is $ev->{rlw}{key}{name}, 'api', 'event rlw.key.name api';
like $ev->{rlw}{key}{hash} // '', qr/^[0-9a-f]{32}$/, 'event rlw.key.hash';
ok !exists $ev->{source}, 'event: no source (a key has no address)';
my $hash = $ev->{rlw}{key}{hash} // 'none';
like join("\n", log_since($elog, $off, qr/RLW00056/)), qr/hash=\Q${\ substr($hash, 0, 16)}\E /,
    'the log line shows the prefix of the same hash';

my $json = http_request(port => $port, path => '/rlw-status?json')->{body};
my $j = eval { decode_json($json) } || {};
my @keys = grep { ($_->{kind} // '') eq 'key' } @{ $j->{bans} || [] };
is join(' ', sort map { $_->{client} =~ s/:.*//r } @keys), 'key#0 key#2',
    'status page JSON: two bans of kind key (api, tok)';
ok scalar(grep { $_->{client} eq "key#0:$hash" } @keys),
    'status page JSON: the api key by its hash';
is $j->{bans_by_kind}{key}, 2, 'status page JSON: bans_by_kind key 2';
my $html = http_request(port => $port, path => '/rlw-status')->{body};
like $html, qr{<span class="tag meta">key api</span> key\#0:\Q$hash\E},
    'status page HTML: the ban is tagged key api';
my $prom = http_request(port => $port, path => '/rlw-status?prometheus')->{body};
like $prom, qr/^ratelimit_waf_active_bans_by_kind\{node="[^"]*",kind="key"\} 2$/m,
    'Prometheus: 2 running bans of kind key';

# The shm table as it is (the shared mappings of the parent and of a
# child, read through /proc): it holds the key's hash, never the value.
sub shared_memory {
    my $out = '';
    my @pids = ($h->pid, map { /(\d+)/ ? $1 : () } `pgrep -P ${\ $h->pid}`);
    for my $pid (@pids[0 .. ($#pids < 1 ? $#pids : 1)]) {
        open my $maps, '<', "/proc/$pid/maps" or next;
        open my $mem, '<:raw', "/proc/$pid/mem" or next;
        while (<$maps>) {
            my ($lo, $hi, $perm) = /^([0-9a-f]+)-([0-9a-f]+) (\S+)/ or next;
            next unless $perm =~ /^r..s/;    # shared: the module's shm
            my ($a, $n) = (hex $lo, hex($hi) - hex($lo));
            next if $n > 256 << 20;
            sysseek($mem, $a, 0) or next;
            my $got = sysread($mem, my $buf, $n);
            $out .= $buf if $got;
        }
    }
    return $out;
}
SKIP: {
    my $shm = shared_memory();
    skip 'cannot read the servers\' memory through /proc', 2
        unless length $shm;
    ok index($shm, pack('H32', $hash)) >= 0,
        'shared memory holds the key\'s hash (' . length($shm) . ' bytes read)';
    ok index($shm, $KEY) < 0, 'shared memory never holds the value';
}

# The value in clear: nowhere.
my $seen = join '', map { index($_->[1], $KEY) >= 0 ? "$_->[0] " : '' }
    ['error log', slurp($elog)], ['event log', slurp($events)],
    ['status JSON', $json], ['status HTML', $html], ['Prometheus', $prom];
is $seen, '', 'the key value appears in clear nowhere';

# No RateLimitWAFSecretFile here: the random key secret is the parent's,
# kept across a graceful restart (as the shm table and its bans are), so
# the value still hashes to the banned key.
$h->graceful;
is clean($port, $ips[7], @key), 404,
    'after a graceful restart the key is still refused';
is clean($port, $ips[7]), 200, '... and the address without it served';
$h->stop;
