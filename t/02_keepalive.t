# The ban answer keeps a kept-alive connection open with
# RateLimitWAFBanAction respond (main server) and closes it with close
# (rlw_close), also on connections opened before the ban.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Test::More import => ["!plan"];
use Apache::Test qw(-withtestmore);
use Time::HiRes qw(sleep);
use RLW::Client qw(:all);

plan tests => 22, need need_rlw();

my $elog = log_path();
my @paths = ('/', '/hello.txt', '/no/such/file', $ATTACK, '/index.html');

# --- respond
{
    my $port = port();
    my $ip   = '198.51.100.20';
    my $off  = log_size($elog);

    # A connection opened (and used) before the ban.
    my $early = RLW::Client::Conn->new(port => $port);
    is $early->request(xff => $ip, path => '/hello.txt')->{status}, 200,
        'respond: early connection served before the ban';

    # Attacks on one kept-alive connection up to the ban.
    my $c = RLW::Client::Conn->new(port => $port);
    my @s = map { $c->request(xff => $ip, path => $ATTACK)->{status} } 1 .. 5;
    is statuses(@s), '403 x5', 'respond: 5 attacks on one connection';
    ok wait_ban($elog, $off, $ip), 'respond: banned';

    my @r = map { $c->request(xff => $ip, path => $_) } @paths;
    is statuses(map { $_->{status} } @r), '404 x5',
        'respond: 5 more requests on the same connection: all 404';
    is scalar(grep { $_->{closed} } @r), 0,
        'respond: no "Connection: close" on the ban answers';
    ok !$c->server_closed(0.3), 'respond: connection still open';
    is $c->request(xff => $ip, path => '/')->{status}, 404,
        'respond: and still answering';

    my @e = map { $early->request(xff => $ip, path => $_) } @paths;
    is statuses(map { $_->{status} } @e), '404 x5',
        'respond: connection opened before the ban: 404 x5';
    ok !$early->server_closed(0.3),
        'respond: connection opened before the ban still open';

    # A fresh connection with several requests.
    my $n = RLW::Client::Conn->new(port => $port);
    my @f = map { $n->request(xff => $ip, path => $_)->{status} } @paths;
    is statuses(@f), '404 x5', 'respond: new connection: 404 x5';
    ok !$n->server_closed(0.3), 'respond: new connection still open';
    $_->close for $c, $early, $n;
}

# --- close
{
    my $port = port('rlw_close');
    my $ip   = '198.51.100.21';
    my $off  = log_size($elog);

    my $early = RLW::Client::Conn->new(port => $port);
    is $early->request(xff => $ip, path => '/hello.txt')->{status}, 200,
        'close: early connection served before the ban';

    my $c = RLW::Client::Conn->new(port => $port);
    my @s = map { $c->request(xff => $ip, path => $ATTACK)->{status} } 1 .. 5;
    is statuses(@s), '403 x5', 'close: 5 attacks on one connection';
    ok wait_ban($elog, $off, $ip), 'close: banned';

    my $r = $c->request(xff => $ip, path => '/');
    is $r->{status}, 404, 'close: ban answer 404 on the attack connection';
    ok $r->{closed}, 'close: answer says "Connection: close"';
    ok $c->server_closed(2), 'close: server closed the connection';
    is $c->request(xff => $ip, path => '/')->{status}, 0,
        'close: no second answer on that connection';

    my $e = $early->request(xff => $ip, path => '/hello.txt');
    is $e->{status}, 404, 'close: early connection gets 404';
    ok $early->server_closed(2), 'close: early connection closed';

    my $n = RLW::Client::Conn->new(port => $port);
    is $n->request(xff => $ip, path => '/')->{status}, 404,
        'close: new connection gets 404';
    ok $n->server_closed(2), 'close: new connection closed';
    $_->close for $c, $early, $n;
}
