# RateLimitWAFTableSize changed across graceful restarts: 200000 -> 300000
# -> 400000 -> 200000. Each new size moves the clients into a new table and
# frees the old one, so the parent's shared memory stays bounded; a running
# ban is still enforced after every change; a ban lifted on the way is not
# brought back by returning to an earlier size.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More;
use RLW::Client qw(:all);
use RLW::Httpd;

plan skip_all => 'mod_ratelimit_waf.so is not built'
    unless RLW::Httpd::have_module();
plan tests => 18;

sub directives {
    my ($size) = @_;
    return <<"CONF";
RateLimitWAF On
RateLimitWAFThreshold 3
RateLimitWAFBanTime 10m
RateLimitWAFTableSize $size
<Location "/rlw-admin">
    SetHandler ratelimit-waf-status
    Require ip 127.0.0.1
    RateLimitWAFAdmin On
</Location>
CONF
}

# Bytes of shared (MAP_SHARED) anonymous or SysV memory mapped in pid: the
# tables and the module's other shared segments.
sub shared_mapped {
    my ($pid) = @_;
    open my $fh, '<', "/proc/$pid/smaps" or die "smaps of $pid: $!\n";
    my ($total, $want) = (0, 0);
    while (my $l = <$fh>) {
        if ($l =~ /^[0-9a-f]+-[0-9a-f]+\s+(\S+)\s+\S+\s+\S+\s+\S+\s*(.*)$/) {
            my ($perm, $name) = ($1, $2);
            $want = $perm =~ /s/ && $name =~ m{^/dev/zero|^/SYSV|^SYSV} ? 1 : 0;
        } elsif ($want && $l =~ /^Size:\s+(\d+) kB/) {
            $total += $1 * 1024;
        }
    }
    return $total;
}

# Lifts client's ban through the admin page, as a browser on the same site
# would post its form (every hidden field of the form included).
sub admin_unban {
    my ($port, $client) = @_;
    my $host = "localhost:$port";
    my $page = http_request(port => $port, path => '/rlw-admin',
                            host => $host);
    my %hidden;
    $hidden{$1} = $2
        while $page->{body} =~ /<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g;
    delete $hidden{action};
    delete $hidden{client};
    my $body = join '&', "action=unban", "client=$client",
        map {"$_=$hidden{$_}"} sort keys %hidden;
    return http_request(
        port => $port, method => 'POST', path => '/rlw-admin', host => $host,
        headers => ["Origin: http://$host", 'Sec-Fetch-Site: same-origin',
                    'Content-Type: application/x-www-form-urlencoded'],
        body => $body)->{status};
}

my $h = RLW::Httpd->new(name => 'resize', directives => directives(200000),
                        load => [[authz_host_module => 'mod_authz_host.so']]);
$h->start;
my $port = $h->port;
my $elog = $h->error_log;
my ($kept, $lifted) = ('198.51.100.230', '198.51.100.231');
my $off = log_size($elog);

attacks($port, $kept, 3);
attacks($port, $lifted, 3);
ok wait_ban($elog, $off, $kept), 'first client banned';
ok wait_ban($elog, $off, $lifted), 'second client banned';
my $pid = $h->pid;
my $base = shared_mapped($pid);
cmp_ok $base, '>', 200000 * 16, "shared memory at 200000 clients: $base bytes";

my %mapped;
for my $size (300000, 400000, 200000) {
    $h->{directives} = directives($size);
    $h->write_config;
    ok eval { $h->graceful; 1 }, "graceful restart to TableSize $size"
        or diag $@;
    is $h->pid, $pid, 'same parent process';
    is clean($port, $kept), 404, "TableSize $size: the running ban holds";
    if ($size == 300000) {
        my $st = admin_unban($port, $lifted);
        ok $st == 303 || $st == 200, "the second ban lifted by hand ($st)";
    }
    is clean($port, $lifted), 200,
        "TableSize $size: the lifted ban stays lifted";
    $mapped{$size} = shared_mapped($pid);
    diag "shared memory mapped at TableSize $size: $mapped{$size} bytes";
}

# Each table is freed when the next one is made: back at 200000, the
# parent maps what it did at first (a few pages of slack), not the sum of
# every size it went through.
cmp_ok $mapped{200000}, '<=', $base + 4 * 1024 * 1024,
    "back at 200000: $mapped{200000} bytes mapped, first $base";
cmp_ok $mapped{400000}, '<', 2 * $base + 4 * 1024 * 1024,
    'at 400000: one table, not three';

$h->stop;
