# RateLimitWAFDryRun affects nothing else (private server): a virtual host in
# dry run counts and bans under the client's dry-run scope, so its bans are
# reported (log line, event with dry_run true, status page) and never
# enforced by a virtual host that is not in dry run, whose own counts they do
# not raise; attacks through the enforcing host still ban there.
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
plan tests => 27;

my $h = RLW::Httpd->new(name => 'dryrun', directives => <<'CONF', vhosts => <<'VHOSTS');
RateLimitWAF On
RateLimitWAFWindow 20s
RateLimitWAFThreshold 5
RateLimitWAFBanTime 10s
RateLimitWAFNodeName dry-node
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
    RateLimitWAFBanTime 2s
</VirtualHost>
VHOSTS
$h->start;
my $port   = $h->port;
my $events = $h->dir . '/logs/events.json';
my $elog   = $h->error_log;
my %enf    = (host => 'enforce.example');
my %dry    = (host => 'dry.example');

sub read_events {
    open my $fh, '<', $events or return ();
    return map { chomp; eval { decode_json($_) } // { _bad => $_ } } <$fh>;
}
sub of {
    my ($action, $ip) = @_;
    return grep {
        !$_->{_bad} && $_->{event}{action} eq $action
            && ($_->{rlw}{client} // '') eq $ip
    } read_events();
}
sub status_json {
    my $r = http_request(port => $port, path => '/rlw-status?json', @_);
    return eval { decode_json($r->{body}) } || {};
}

my $ip  = '203.0.113.170';
my $off = log_size($elog);

# --- a ban decided in dry run ---------------------------------------------
is statuses(attacks($port, $ip, 5, %dry)), '403 x5',
    'dry: 5 attacks, ModSecurity denies them';
ok wait_until(sub { scalar of('ban', $ip) }, 5), 'dry: a ban event';
my @ban = of('ban', $ip);
is scalar(@ban), 1, 'dry: one ban event';
ok $ban[0]{rlw}{dry_run}, 'dry: the event says dry_run true';
is $ban[0]{event}{type}[0], 'allowed', 'dry: event.type allowed';
is log_count($elog, $off, qr/RLW00010: ban client=\Q$ip\E .* dry_run=1$/), 1,
    'dry: the ban line says dry_run=1';
is clean($port, $ip, %dry), 200, 'dry: the dry-run host serves the client';
is clean($port, $ip, %enf), 200,
    'enforce: the dry-run ban is not enforced by the enforcing host';
is clean($port, $ip), 200, 'enforce: nor by the default host';
{
    my $j = status_json(%dry);
    my @b = grep { $_->{client} eq $ip } @{ $j->{bans} || [] };
    is scalar(@b), 1, 'status page: the dry-run ban is listed';
    ok $b[0] && $b[0]{dry_run}, '  marked dry_run';
    ok $j->{totals}{dry_run_would_reject} >= 1,
        '  and the dry-run host counted what it would have rejected';
}

# --- the enforcing host's count starts from zero ----------------------------
is statuses(attacks($port, $ip, 4, %enf)), '403 x4', 'enforce: 4 attacks';
settle();
is clean($port, $ip, %enf), 200,
    'enforce: not banned after 4 (the dry-run attacks did not count here)';
is scalar(of('ban', $ip)), 1, 'enforce: no new ban event yet';
is attack($port, $ip, %enf), 403, 'enforce: the 5th attack';
ok wait_banned($port, $ip, %enf), 'enforce: banned at its own threshold';
is clean($port, $ip, %enf), 404, 'enforce: 404';
is clean($port, $ip, %dry), 200, 'dry: the dry-run host still serves it';
@ban = grep { !$_->{rlw}{dry_run} } of('ban', $ip);
is scalar(@ban), 1, 'enforce: one enforced ban event';
is $ban[0]{rlw}{count}, 5, '  decided at count 5';
is $ban[0]{rlw}{strike}, 1, '  strike 1: dry-run strikes do not escalate it';
is $ban[0]{event}{type}[0], 'denied', '  event.type denied';

# --- the dry-run ban ends by itself, reported as dry run ------------------
ok wait_until(sub { scalar of('unban', $ip) }, 10), 'dry: an unban event';
my @unban = of('unban', $ip);
is scalar(@unban), 1, 'dry: one unban event (the enforced ban still runs)';
ok $unban[0]{rlw}{dry_run}, '  with dry_run true';
is clean($port, $ip, %enf), 404, 'enforce: the enforced ban still runs';

$h->stop;
