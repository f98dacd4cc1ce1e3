# SIEM events through RateLimitWAFEventLog (private server): one JSON object
# per line, one event per fact, hostile request text escaped.
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
plan tests => 34;

my $h = RLW::Httpd->new(name => 'events', directives => <<'CONF');
RateLimitWAF On
RateLimitWAFWindow 20s
RateLimitWAFThreshold 5
RateLimitWAFBanTime 2s
RateLimitWAFExempt 192.0.2.128/25
RateLimitWAFNodeName events-node
RateLimitWAFEventLog logs/events.json
CONF
$h->start;
my $port   = $h->port;
my $events = $h->dir . '/logs/events.json';

# Every line of the event log, decoded; dies on a line that is not one JSON
# object (that is a failure of the test, reported by the caller).
sub read_events {
    open my $fh, '<', $events or return ();
    my @ev;
    while (my $line = <$fh>) {
        chomp $line;
        push @ev, eval { decode_json($line) } // { _bad => $line };
    }
    return @ev;
}
sub of {
    my ($action, $ip) = @_;
    return grep {
        !$_->{_bad} && $_->{event}{action} eq $action
            && (!defined $ip || ($_->{rlw}{client} // '') eq $ip)
    } read_events();
}

# A hostile User-Agent and URI: quotes, backslashes, a forged field, UTF-8.
my $ua  = q{evil "agent" \\ ","event":{"action":"unban"} } . "\xc3\xa9";
my $uri = q{/?q=<script>alert("x")</script>&a=\\"};

my $ip = '203.0.113.150';
my @st = map {
    http_request(port => $port, xff => $ip, path => $uri, ua => $ua)->{status}
} 1 .. 5;
is_deeply \@st, [403, 403, 403, 403, 403], '5 attacks: 403 from ModSecurity';
ok wait_until(sub { scalar of('ban', $ip) }, 5), 'a ban event is written';
is clean($port, $ip), 404, 'the client is banned';
cleans($port, $ip, 10);    # blocked requests are not events

my @bad = grep { $_->{_bad} } read_events();
is scalar(@bad), 0, 'every line parses as JSON'
    or diag explain \@bad;

my @near = of('near_threshold', $ip);
is scalar(@near), 1, 'one near_threshold event (80% of 5 = 4th attack)';
is $near[0]{rlw}{count}, 4, 'near_threshold at count 4';

my @ban = of('ban', $ip);
is scalar(@ban), 1, 'exactly one ban event, whatever the blocked requests';
my $b = $ban[0];
is $b->{source}{ip}, $ip, 'source.ip';
is $b->{observer}{hostname}, 'events-node', 'observer.hostname is the node';
is $b->{rlw}{node}, 'events-node', 'rlw.node: the node that decided';
is $b->{rlw}{count}, 5, 'rlw.count = threshold';
is $b->{rlw}{threshold}, 5, 'rlw.threshold';
is $b->{rlw}{window_s}, 20, 'rlw.window_s';
is $b->{rlw}{strike}, 1, 'rlw.strike 1';
is $b->{event}{duration}, 2_000_000_000, 'event.duration 2s in ns';
like $b->{'@timestamp'}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
    '@timestamp ISO 8601 UTC with ms';
ok((grep { /^941\d{3}$/ } @{ $b->{rule}{id} || [] }),
    'rule.id lists the XSS rules (941xxx)')
    or diag explain $b->{rule};
ok(!(grep { /^(949|959|980)/ } @{ $b->{rule}{id} || [] }),
    'rule.id leaves out the scoring rules (949/959/980)');
ok((grep { $_ eq 'xss' } @{ $b->{rule}{category} || [] }),
    'rule.category has xss');
is $b->{user_agent}{original}, do { my $u = $ua; utf8::decode($u); $u },
    'user_agent.original is the hostile User-Agent, intact';
is $b->{url}{original}, $uri, 'url.original is the hostile URI, intact';
is $b->{event}{action}, 'ban', 'the forged "action" did not win';

# The ban ends by itself: one unban event, reason expired.
ok wait_until(sub { scalar of('unban', $ip) }, 6), 'an unban event follows';
my @unban = of('unban', $ip);
is scalar(@unban), 1, 'exactly one unban event';
is $unban[0]{event}{reason}, 'expired', 'unban reason: expired';
is clean($port, $ip), 200, 'the client is served again';

# An exempt client crossing the threshold: reported, never banned.
my $ex = '192.0.2.150';
attacks($port, $ex, 7);
ok wait_until(sub { scalar of('exempt_threshold', $ex) }, 5),
    'exempt_threshold event';
is scalar(of('exempt_threshold', $ex)), 1, 'once per crossing';
is scalar(of('ban', $ex)), 0, 'no ban event for the exempt client';
is clean($port, $ex), 200, 'the exempt client is served';

# A client that stays under 80% gives no event at all.
my $quiet = '203.0.113.151';
attacks($port, $quiet, 3);
settle();
is scalar(grep { ($_->{rlw}{client} // '') eq $quiet } read_events()), 0,
    '3 attacks of 5: no event';

# Lines stay whole: each ends with a newline, none is longer than 4096.
open my $fh, '<', $events or die;
my $raw = do { local $/; <$fh> };
ok $raw =~ /\n\z/, 'the log ends with a newline';
ok !(grep { length($_) > 4096 } split /\n/, $raw), 'no line over 4096 bytes';
is scalar(grep { $_->{_bad} } read_events()), 0, 'still every line parses';

$h->stop;
