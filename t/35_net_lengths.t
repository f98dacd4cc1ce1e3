# Network bans at any prefix length: an operator bans a /16 (or an IPv6
# /40) where the server counts /24 (/48) networks, or on a virtual host
# that counts no network at all. Every address inside is answered 404
# before ModSecurity, addresses outside are served, the exempt address
# inside is never refused, and lifting the ban serves them all again.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use JSON::PP;
use RLW::Client qw(:all);
use RLW::Httpd;

plan skip_all => 'mod_ratelimit_waf.so is not built'
    unless RLW::Httpd::have_module();
plan tests => 22;

my $h = RLW::Httpd->new(name => 'netlen', directives => <<'CONF', vhosts => <<'VHOSTS',
RateLimitWAF On
RateLimitWAFThreshold 5
RateLimitWAFNetwork 24 48 100
RateLimitWAFBanTime 10m
RateLimitWAFExempt 198.51.7.250
<Location "/rlw-admin">
    SetHandler ratelimit-waf-status
    Require ip 127.0.0.1
    RateLimitWAFAdmin On
</Location>
CONF
# The first is the default for any other Host.
<VirtualHost *>
    ServerName counted.example
</VirtualHost>
<VirtualHost *>
    ServerName nonet.example
    RateLimitWAFNetwork Off
</VirtualHost>
VHOSTS
    load => [[authz_host_module => 'mod_authz_host.so']]);
$h->start;
my $port = $h->port;

# One admin POST (?json), with the token the page's JSON gives.
sub admin {
    my ($action, $client, $duration) = @_;
    my $page = http_request(port => $port, path => '/rlw-admin?json');
    my $tok = eval { decode_json($page->{body})->{tokens}{$action} } // '';
    my $body = "action=$action&client=$client&token=$tok";
    $body .= "&duration=$duration" if defined $duration;
    my $r = http_request(
        port => $port, method => 'POST', path => '/rlw-admin?json',
        headers => ['Content-Type: application/x-www-form-urlencoded'],
        body => $body);
    return $r->{status} . ' ' . ($r->{body} // '');
}

sub served {
    my ($ip, $host) = @_;
    return clean($port, $ip, host => $host // 'counted.example');
}

# Nothing banned: everyone is served.
is served('198.51.7.9'), 200, 'before: 198.51.7.9 served';

# --- IPv4: a /16 where /24 networks are counted --------------------------
like admin('ban', '198.51.0.0/16', '10m'), qr/^200 .*"ok":true/,
    'admin bans 198.51.0.0/16';
is served('198.51.7.9'), 404, '198.51.7.9 (in the /16) refused';
is served('198.51.100.1'), 404, '198.51.100.1 (another /24 of it) refused';
is served('198.51.7.9', 'nonet.example'), 404,
    '... also on a virtual host that counts no network';
is served('198.52.0.1'), 200, '198.52.0.1 (outside) served';
is served('198.51.7.250'), 200, 'the exempt address inside served';
is attack($port, '198.51.7.9'), 404,
    'an attack from inside is refused before ModSecurity (404, not 403)';
like admin('unban', '198.51.0.0/16'), qr/^200 .*"ok":true/,
    'admin lifts the /16';
is served('198.51.7.9'), 200, 'lifted: 198.51.7.9 served';
is served('198.51.100.1', 'nonet.example'), 200,
    'lifted: served on the other virtual host too';

# --- IPv6: a /40 where /48 networks are counted ----------------------------
like admin('ban', '2001:db8:100::/40', '10m'), qr/^200 .*"ok":true/,
    'admin bans 2001:db8:100::/40';
is served('2001:db8:1ff:1::5'), 404, '2001:db8:1ff:1::5 (in the /40) refused';
is served('2001:db8:100::1', 'nonet.example'), 404,
    '2001:db8:100::1 refused on the virtual host without networks';
is served('2001:db8:200::1'), 200, '2001:db8:200::1 (outside) served';
is served('198.51.7.9'), 200, 'an IPv4 client is not looked up at /40';

# --- the counted length still works beside it ------------------------------
like admin('ban', '203.0.113.0/24', '10m'), qr/^200 .*"ok":true/,
    'admin bans 203.0.113.0/24 (the counted length)';
is served('203.0.113.77'), 404, '203.0.113.77 refused';
is served('2001:db8:1ff:1::5'), 404, 'the /40 still holds';
like admin('unban', '2001:db8:100::/40'), qr/^200 .*"ok":true/,
    'admin lifts the /40';
is served('2001:db8:1ff:1::5'), 200, 'lifted: 2001:db8:1ff:1::5 served';
is served('203.0.113.77'), 404, 'the /24 still holds';
