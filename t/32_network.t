# RateLimitWAFNetwork (private server): the attacks of every client of one
# network add up; at the network threshold the whole network is banned,
# before ModSecurity, while each address stays below its own threshold. A
# client of another network is still served; an exempt address inside the
# banned network is never refused; an allowlisted one gets at most its
# short ban. The same for an IPv6 /48 (made of several grouped /64
# clients). The ban line, the event and the status page name the network.
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
plan tests => 41;

# Client threshold 5: every address below makes 2 attacks (never banned on
# its own); network threshold 12: the 6th address's 2nd attack bans it.
my $h = RLW::Httpd->new(name => 'network', directives => <<'CONF', vhosts => <<'VHOSTS');
RateLimitWAF On
RateLimitWAFWindow 60s
RateLimitWAFThreshold 5
RateLimitWAFNetwork 24 48 12
RateLimitWAFBanTime 30s
RateLimitWAFAllowBanTime 1s
RateLimitWAFExempt 198.51.100.250
RateLimitWAFAllow 198.51.100.240
RateLimitWAFEventLog logs/events.json
RateLimitWAFSyncInterval 200ms
<Location "/rlw-status">
    SetHandler ratelimit-waf-status
</Location>
CONF
# The first is the default for any other Host.
<VirtualHost *>
    ServerName enforce.example
</VirtualHost>
<VirtualHost *>
    ServerName dry.example
    RateLimitWAFDryRun On
</VirtualHost>
VHOSTS
$h->start;
my $port   = $h->port;
my $elog   = $h->error_log;
my $events = $h->dir . '/logs/events.json';

sub read_events {
    open my $fh, '<', $events or return ();
    return map { chomp; eval { decode_json($_) } // { _bad => $_ } } <$fh>;
}
sub net_events {
    my ($action, $net) = @_;
    return grep {
        !$_->{_bad} && $_->{event}{action} eq $action
            && ($_->{rlw}{network} // '') eq $net
    } read_events();
}
sub net_ban_re { my ($n) = @_; qr/RLW00053: ban network=\Q$n\E / }

# --- IPv4 /24 -------------------------------------------------------------
my $off = log_size($elog);
# The exempt and the allowlisted addresses attack too: an exempt client's
# attacks never count against its network, an allowlisted one's do.
is statuses(attacks($port, '198.51.100.250', 4)), '403 x4',
    'v4: exempt address inside attacks 4 times';
my @ips = map {"198.51.100.$_"} 1 .. 5;
my $all = join ', ', map { statuses(attacks($port, $_, 2)) } @ips;
is $all, join(', ', ('403 x2') x 5), 'v4: 5 addresses, 2 attacks each';
is attack($port, '198.51.100.240'), 403,
    'v4: the allowlisted address attacks once (11 counted)';
settle();
is clean($port, '198.51.100.1'), 200, 'v4: 11 attacks, network not banned yet';
is log_count($elog, $off, qr/RLW000(10|53): ban/), 0, 'v4: no ban line yet';

is attack($port, '198.51.100.6'), 403, 'v4: a 6th address attacks (12)';
my @l = wait_log($elog, $off, net_ban_re('198.51.100.0/24'));
ok @l, 'v4: ban line names network=198.51.100.0/24'
    or diag join "\n", log_since($elog, $off, qr/RLW/);
like $l[-1] // '', qr/count=12 .* strike=1 .* last_client=198\.51\.100\.6\b/,
    'v4: count=12, strike 1, the last client named';
is log_count($elog, $off, qr/RLW00010: ban client=/), 0,
    'v4: no client was banned on its own';
is clean($port, '198.51.100.6'), 404, 'v4: the last attacker gets 404';
is clean($port, '198.51.100.77'), 404,
    'v4: an address of the /24 that never attacked gets 404';
is clean($port, '198.51.101.1'), 200, 'v4: a client of another /24 is served';
is clean($port, '198.51.100.250'), 200,
    'v4: the exempt address inside the banned network is served';
ok wait_until(sub { clean($port, '198.51.100.240') == 200 }, 10),
    'v4: the allowlisted address is served again after its short ban';
is clean($port, '198.51.100.9'), 404, 'v4: while the network stays banned';

# Refused before ModSecurity: the banned request is never inspected.
{
    my $o = log_size($elog);
    is attack($port, '198.51.100.99'), 404,
        'v4: an attack from the banned network gets 404, not 403';
    settle();
    is log_count($elog, $o, qr/ModSecurity: Access denied/), 0,
        'v4: ModSecurity never saw it';
}

ok wait_until(sub { scalar net_events('ban', '198.51.100.0/24') }, 5),
    'v4: a ban event for the network';
my ($ev) = net_events('ban', '198.51.100.0/24');
is $ev->{rlw}{kind}, 'network', 'v4: event rlw.kind network';
is $ev->{source}{address}, '198.51.100.0/24',
    'v4: event source.address is the prefix';
ok !exists $ev->{source}{ip}, 'v4: no source.ip for a network';

# --- IPv6 /48: several /64 clients of one /48 -----------------------------
$off = log_size($elog);
my @v6 = map { sprintf '2001:db8:77:%x::1', $_ } 1 .. 6;
$all = join ', ', map { statuses(attacks($port, $_, 2)) } @v6[0 .. 4];
is $all, join(', ', ('403 x2') x 5), 'v6: 5 /64s of one /48, 2 attacks each';
is attack($port, $v6[5]), 403, 'v6: a 6th /64 attacks once (11)';
settle();
is clean($port, '2001:db8:77:ff::1'), 200, 'v6: 11 attacks, not banned yet';
is attack($port, $v6[5]), 403, 'v6: the 12th attack';
ok wait_log($elog, $off, net_ban_re('2001:db8:77::/48')),
    'v6: ban line names network=2001:db8:77::/48'
    or diag join "\n", log_since($elog, $off, qr/RLW/);
is log_count($elog, $off, qr/RLW00010: ban client=/), 0,
    'v6: no /64 was banned on its own';
is clean($port, '2001:db8:77:abcd::5'), 404, 'v6: any address of the /48: 404';
is clean($port, '2001:db8:78::1'), 200, 'v6: another /48 is served';

# --- the status page ------------------------------------------------------
{
    my $r = http_request(port => $port, path => '/rlw-status?json');
    my $j = eval { decode_json($r->{body}) } || {};
    is $r->{status}, 200, 'status page answers';
    my @nets = grep { ($_->{kind} // '') eq 'network' }
        @{ $j->{bans} || [] };
    is scalar(@nets), 2, 'status page: two bans of kind network'
        or diag $r->{body};
    is join(' ', sort map { $_->{client} } @nets),
        '198.51.100.0/24 2001:db8:77::/48', 'status page: the two networks';
    my $html = http_request(port => $port, path => '/rlw-status')->{body};
    like $html, qr{198\.51\.100\.0/24 <span class="tag meta">network</span>},
        'status page HTML: the ban is marked as a network';
    my $prom = http_request(port => $port, path => '/rlw-status?prometheus')
        ->{body};
    like $prom, qr/^ratelimit_waf_active_bans_by_kind\{node="[^"]*",kind="network"\} 2$/m,
        'Prometheus: 2 running bans of kind network';
}

# --- dry run: a network's ban reported, never enforced ------------------
{
    my $o = log_size($elog);
    my %dry = (host => 'dry.example');
    my $all = join ', ', map { statuses(attacks($port, "203.0.113.$_", 2, %dry)) }
        1 .. 6;
    is $all, join(', ', ('403 x2') x 6),
        'dry run: 6 addresses of 203.0.113.0/24, 2 attacks each';
    ok wait_log($elog, $o, qr{RLW00053: ban network=203\.0\.113\.0/24 .* dry_run=1$}),
        'dry run: the network ban line says dry_run=1';
    is clean($port, '203.0.113.50', %dry), 200,
        'dry run: the dry-run host serves the network';
    is clean($port, '203.0.113.50', host => 'enforce.example'), 200,
        'dry run: and so does the enforcing host';
    ok wait_until(sub { grep { $_->{rlw}{dry_run} } net_events('ban', '203.0.113.0/24') }, 5),
        'dry run: a ban event of the network with dry_run true';
}

# --- a network inside one grouped client is refused --------------------
{
    my ($rc, $out) = RLW::Httpd->configtest(directives => <<'CONF');
RateLimitWAF On
RateLimitWAFIPv6Prefix 56
RateLimitWAFNetwork 24 64 100
CONF
    isnt $rc, 0, 'an IPv6 network prefix longer than RateLimitWAFIPv6Prefix '
        . 'fails httpd -t';
    like $out, qr/RateLimitWAFNetwork: IPv6 prefix 64 is not shorter than RateLimitWAFIPv6Prefix 56/,
        '... naming both';
}
$h->stop;
