# ModSecurity + CRS + our export rule, with or without the module: attacks
# are denied (403) and export an anomaly score >= 5, clean requests pass
# (200) and export 0; mod_remoteip gives the X-Forwarded-For client.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More import => ["!plan"];
use Apache::Test qw(-withtestmore);
use Time::HiRes qw(sleep);
use RLW::Client qw(:all);

plan tests => 12;

my $port = port();
my $log  = log_path('rlw_access_log');

my @cases = (
    # [client, path, expected status, score test]
    ['192.0.2.1', $ATTACK,      403, 'ge5'],
    ['192.0.2.2', $SQLI,        403, 'ge5'],
    ['192.0.2.3', '/',          200, 'zero'],
    ['192.0.2.4', '/hello.txt', 200, 'zero'],
);

for my $c (@cases) {
    my ($ip, $path, $want) = @$c;
    my $off = log_size($log);
    my $r = http_request(port => $port, xff => $ip, path => $path);
    is $r->{status}, $want, "$ip GET $path -> $want";
    # The access log line is written after the response: wait for it.
    my ($line) = wait_log($log, $off, qr/^\Q$ip\E /);
    ok defined $line, "$ip: access log line with the client from X-Forwarded-For"
        or diag "no line for $ip in $log";
    my ($score) = ($line || '') =~ /score=(\S+)/;
    if ($c->[3] eq 'ge5') {
        ok defined $score && $score =~ /^\d+$/ && $score >= 5,
            "$ip: MODSEC_ANOMALY_SCORE exported, >= 5"
            or diag "line: " . ($line || '(none)');
    }
    else {
        is $score, '0', "$ip: MODSEC_ANOMALY_SCORE exported as 0"
            or diag "line: " . ($line || '(none)');
    }
}
