# A dry run affects nothing else, across the cluster: a ban decided by a
# RateLimitWAFDryRun virtual host on node A reaches node B as a dry-run ban
# (its dry-run host counts what it would have rejected), and no enforcing
# host on any node enforces it or counts its attacks; rlwafctl lists and
# addresses the enforced bans only.
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

my $T = 5;
# The first virtual host is the default for any other Host.
my $c = RLW::Cluster->new(threshold => $T, window => '30s', ban => '20s',
                          extra => <<'CONF')->start;
<VirtualHost *>
    ServerName enforce.example
</VirtualHost>
<VirtualHost *>
    ServerName dry.example
    RateLimitWAFDryRun On
</VirtualHost>
CONF
my ($A, $B) = $c->nodes;
my %enf = (host => 'enforce.example');
my %dry = (host => 'dry.example');
my $ip = '198.51.100.90';

sub dry_bans {
    my ($h) = @_;
    my $s = $c->status($h) or return ();
    return grep { $_->{client} eq $ip && $_->{dry_run} } @{ $s->{bans} || [] };
}

my $marks = $c->log_marks;
is statuses(attacks($A->port, $ip, $T, %dry)), "403 x$T",
    "A, dry-run host: $T attacks";
my @b = $c->wait_ban_lines($ip, $marks);
is scalar(@b), 1, 'one ban line, on A';
is scalar($c->log_lines(qr/RLW00010: ban client=\Q$ip\E .* dry_run=1$/, $marks)),
    1, '  logged with dry_run=1';
ok wait_until(sub { scalar dry_bans($B) }, 5),
    'B learns it as a dry-run ban (status page marks it)';
is_deeply [map { clean($_->port, $ip, %enf) } $A, $B], [200, 200],
    'no enforcing host enforces it, on A or B';
is_deeply [map { clean($_->port, $ip, %dry) } $A, $B], [200, 200],
    'the dry-run hosts serve it';
ok $c->status($B)->{totals}{dry_run_would_reject} >= 1,
    "B's dry-run host counted what it would have rejected";

SKIP: {
    skip 'tools/rlwafctl is not built', 2 unless RLW::Cluster::have_ctl();
    my ($rc, $out, $err, $j) = $c->ctl('--json', 'list');
    is scalar(grep { $_->{client} eq $ip } @{ $j->{bans} || [] }), 0,
        'rlwafctl list: not an enforced ban' or diag $out, $err;
    ($rc) = $c->ctl('status', $ip);
    is $rc, 1, 'rlwafctl status: not banned (exit 1)';
}

# The enforcing hosts count from zero: T-1 attacks through B do not ban.
is statuses(attacks($B->port, $ip, $T - 1, %enf)), '403 x' . ($T - 1),
    'B, enforcing host: ' . ($T - 1) . ' attacks';
settle();
is_deeply [map { clean($_->port, $ip, %enf) } $A, $B], [200, 200],
    'not banned: the dry-run attacks did not count for the enforcing hosts';
is attack($B->port, $ip, %enf), 403, "the ${T}th attack through B";
ok $c->wait_everywhere($ip, 404), 'banned, on every node';
is clean($A->port, $ip, %dry), 200, "A's dry-run host still serves it";
SKIP: {
    skip 'tools/rlwafctl is not built', 1 unless RLW::Cluster::have_ctl();
    my ($rc, $out, $err, $j) = $c->ctl('--json', 'list');
    is scalar(grep { $_->{client} eq $ip } @{ $j->{bans} || [] }), 1,
        'rlwafctl list: the enforced ban, once' or diag $out, $err;
}

$c->stop;
done_testing();
