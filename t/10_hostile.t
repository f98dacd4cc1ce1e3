# Hostile X-Forwarded-For values: the server answers as httpd and
# mod_remoteip would without the module, and keeps serving.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More import => ["!plan"];
use Apache::Test qw(-withtestmore);
use RLW::Client qw(:all);

my @cases = (
    # [name, X-Forwarded-For, status of a clean request]
    ['4KB of digits',          '1' x 4096,                               200],
    ['4KB list of addresses',  join(', ', ('198.51.100.80') x 290),      200],
    ['4KB of IPv6 colons',     ':' x 4096,                               200],
    ['bad mapped IPv4',        '::ffff:999.1.1.1',                       200],
    ['bracketed with port',    '[::1]:80',                               200],
    ['IPv4 with port',         '198.51.100.81:8080',                     200],
    ['zone index',             '2001:db8::1%eth0',                       200],
    ['too many groups',        '2001:db8:1:2:3:4:5:6:7:8:9',             200],
    ['mapped network',         '::ffff:198.51.100.82/96',                200],
    ['garbage',                'garbage!!',                              200],
    ['unknown',                'unknown',                                200],
    ['empty',                  '',                                       200],
    ['commas only',            ' , ,',                                   200],
    ['percent-encoded digits', '%31%39%38.%35%31.%31%30%30.%38%36',      200],
    ['control char',           "198.51.100.83\x01",                      400],
    ['DEL char',               "a\x7fb",                                 400],
    ['NUL byte',               "\x00",                                   400],
    ['NUL inside address',     "198.51.\x00100.84",                      400],
);

plan tests => 2 * @cases + 4;

my $elog = log_path();
my $off  = log_size($elog);

for my $port (port('rlw_hostile'), port()) {
    for my $c (@cases) {
        my ($name, $xff, $want) = @$c;
        is clean($port, $xff), $want, "port $port: $name: $want";
    }
    is clean($port, '198.51.100.85'), 200, "port $port: still serving";
}
is attack(port('rlw_hostile'), ':' x 4096), 403,
    'attack with hostile header: ModSecurity 403';
is log_count($elog, $off, qr/exit signal|Segmentation|dumped core/), 0,
    'no child crashed';
