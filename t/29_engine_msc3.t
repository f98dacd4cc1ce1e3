# The embedded engine (RateLimitWAFEngine modsecurity3: libmodsecurity v3
# inside the module) against mod_security2 with the same CRS (Debian's
# 3.3.4, or 4.28.0 with the module's plugin under RLW_CRS=4), on
# private servers: the same verdicts and anomaly scores for XSS and SQLi in
# the query and in urlencoded, multipart, JSON and XML bodies, the same rule
# ids; rule messages in
# mod_security2's shape; clean requests and bodies reach the handler
# (small, spooled to a file, chunked, pipelined); deny, redirect and drop
# interventions; the body limit; REQUEST_BODY as mod_security2 fills it
# (RateLimitWAFRequestBodyVariable); @validateUrlEncoding on the URI as
# sent; a threshold ban, after which a banned
# client's requests create no transaction (no ModSecurity line at all);
# a rule error fails httpd -t with file and line; graceful restarts; both
# engines in one httpd on different virtual hosts.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/lib";

use Digest::MD5 qw(md5_hex);
use File::Temp ();
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(time sleep);
use RLW::Client qw(:all);
use RLW::Httpd;

plan skip_all => 'mod_ratelimit_waf.so is not built'
    unless RLW::Httpd::have_module();
plan skip_all => 'libmodsecurity3 is not installed'
    unless grep { -e "$_/libmodsecurity.so.3" }
        qw(/usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib
           /usr/local/lib);

# Files the servers read (as nobody): an echo handler for bodies, test
# rules, a broken rules file.
my $dir = File::Temp::tempdir('rlw-msc3-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;
sub put {
    my ($name, $text) = @_;
    open my $fh, '>', "$dir/$name" or die "$dir/$name: $!\n";
    print {$fh} $text;
    close $fh;
    chmod 0644, "$dir/$name";
    return "$dir/$name";
}
my $echo = put('echo.cgi', <<'CGI');
#!/usr/bin/perl
use Digest::MD5 qw(md5_hex);
binmode STDIN;
my $b = do { local $/; <STDIN> } // '';
print "Content-Type: text/plain\r\n\r\n";
printf "len=%d md5=%s\n", length $b, md5_hex($b);
CGI
chmod 0755, $echo;
my $rules = put('test-rules.conf', <<'RULES');
SecRule REQUEST_HEADERS:X-Test-Deny "@streq 1" \
    "id:9999001,phase:1,deny,status:403,log,msg:'test deny'"
SecRule ARGS_GET:go "@streq away" \
    "id:9999002,phase:1,redirect:http://example.com/away,log,msg:'test redirect'"
SecRule REQUEST_HEADERS:X-Test-Deny3 "@streq 1" \
    "id:9999003,phase:3,deny,status:403,log,msg:'test phase 3'"
SecRule REQUEST_HEADERS:X-Test-Nal "@streq 1" \
    "id:9999004,phase:5,pass,log,noauditlog,msg:'test log,noauditlog'"
SecRule REQUEST_HEADERS:X-Test-Word "@pmFromFile test-words.data" \
    "id:9999005,phase:1,pass,log,msg:'test relative data file'"
SecRule ARGS:bs "@rx ^a\\\\b$" \
    "id:9999006,phase:1,pass,log,msg:'test backslash pair'"
SecRule REQUEST_HEADERS:X-Test-Drop "@streq 1" \
    "id:9999007,phase:1,drop,log,msg:'test drop'"
SecRule ARGS_POST:drop "@streq 1" \
    "id:9999008,phase:2,drop,log,msg:'test drop phase 2'"
SecRule REQUEST_HEADERS:X-Test-Enc "@streq 1" \
    "id:9999009,phase:1,deny,status:403,log,msg:'test url encoding',chain"
    SecRule REQUEST_URI "@validateUrlEncoding" "t:none"
RULES
put('test-words.data', "nal-word\n");
my $broken = put('broken.conf', <<'RULES');
SecRule ARGS "@rx a" "id:9999010,phase:2,pass,log"
SecRule ARGS "@rx b" "id:9999011,phase:2,pass,bogusaction"
RULES

my $common = <<"CONF";
RateLimitWAF On
RateLimitWAFThreshold 4
RateLimitWAFBanTime 60s
ScriptAlias /echo "$echo"
CONF
# mod_cgid under the threaded MPMs, mod_cgi under prefork.
my $cgi = RLW::Httpd::mpm() eq 'prefork' ? 'cgi' : 'cgid';
# mod_security2 gets the XML and JSON body processors the embedded engine's
# base settings (conf/modsecurity3-ratelimit-waf.conf) switch on.
my $processors = <<'CONF';
SecRule REQUEST_HEADERS:Content-Type "^(?:application(?:/soap\+|/)|text/)xml" \
    "id:200000,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=XML"
SecRule REQUEST_HEADERS:Content-Type "^application/json" \
    "id:200001,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON"
CONF
my $m2 = RLW::Httpd->new(name => 'msc3-ref', engine => 'modsecurity2',
                         load => ['alias', $cgi],
                         directives => $common . $processors);
my $m3 = RLW::Httpd->new(name => 'msc3', engine => 'modsecurity3',
                         load => ['alias', $cgi, 'http2'],
                         directives => $common . "RateLimitWAFRules $rules\n"
                             . "Protocols h2c http/1.1\n");
$m2->start;
$m3->start;

my $form = ['Content-Type: application/x-www-form-urlencoded'];
# A multipart form with a field and a file.
my $bnd = 'rlwBoundary7d3';
sub multipart {
    my ($field) = @_;
    return "--$bnd\r\nContent-Disposition: form-data; name=\"q\"\r\n\r\n"
        . "$field\r\n--$bnd\r\nContent-Disposition: form-data; name=\"f\"; "
        . "filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello file\r\n"
        . "--$bnd--\r\n";
}
my @cases = (
    # [name, request options, status, attack?]
    ['GET XSS',  { path => $ATTACK }, 403, 1],
    ['GET SQLi', { path => $SQLI },   403, 1],
    ['POST XSS', { path => '/echo', method => 'POST', headers => $form,
                   body => 'q=%3Cscript%3Ealert(1)%3C%2Fscript%3E' }, 403, 1],
    ['POST SQLi', { path => '/echo', method => 'POST', headers => $form,
                    body => 'id=1%27%20OR%20%271%27%3D%271' }, 403, 1],
    ['multipart XSS', { path => '/echo', method => 'POST',
                        headers => ["Content-Type: multipart/form-data; boundary=$bnd"],
                        body => multipart('<script>alert(1)</script>') }, 403, 1],
    ['JSON XSS', { path => '/echo', method => 'POST',
                   headers => ['Content-Type: application/json'],
                   body => '{"q":"<script>alert(1)</script>"}' }, 403, 1],
    ['JSON SQLi', { path => '/echo', method => 'POST',
                    headers => ['Content-Type: application/json'],
                    body => q({"id":"1' OR '1'='1"}) }, 403, 1],
    ['XML XSS', { path => '/echo', method => 'POST',
                  headers => ['Content-Type: text/xml'],
                  body => '<a><q>&lt;script&gt;alert(1)&lt;/script&gt;</q></a>' },
     403, 1],
    ['multipart clean', { path => '/echo', method => 'POST',
                          headers => ["Content-Type: multipart/form-data; boundary=$bnd"],
                          body => multipart('hello') }, 200, 0],
    ['JSON clean', { path => '/echo', method => 'POST',
                     headers => ['Content-Type: application/json'],
                     body => '{"q":"hello","n":[1,2]}' }, 200, 0],
    ['XML clean', { path => '/echo', method => 'POST',
                    headers => ['Content-Type: text/xml'],
                    body => '<a><q>hello</q></a>' }, 200, 0],
    ['GET clean',  { path => '/hello.txt' }, 200, 0],
    ['POST clean', { path => '/echo', method => 'POST', headers => $form,
                     body => 'name=alice&city=paris' }, 200, 0],
);

# The access log line of one client, its score, and the rule ids of its
# ModSecurity lines (without the CRS summary rules 949/959/980).
sub outcome {
    my ($h, $ip, $aoff, $eoff) = @_;
    my ($line) = wait_log($h->access_log, $aoff, qr/^\Q$ip\E /);
    my ($score) = ($line || '') =~ /score=(\S+)/;
    my @ids = map { /\[id "(\d+)"\]/ ? $1 : () }
        log_since($h->error_log, $eoff, ms_re($ip));
    my %ids = map { $_ => 1 } grep { !/^9(49|59|80)\d{3}$/ } @ids;
    return ($score, join(',', sort keys %ids));
}

# The ModSecurity lines about client ip, as mod_security2 writes them:
# httpd's [client ip:port], then the message's own [client ip].
sub ms_re {
    my ($ip) = @_;
    return qr/\[client \Q$ip\E:\d+\] \[client \Q$ip\E\] ModSecurity:/;
}

# n free ports, all different (free_port() alone may return one twice:
# nothing is bound until a server starts).
sub ports {
    my ($n) = @_;
    my %seen;
    my @p;
    while (@p < $n) {
        my $p = RLW::Httpd::free_port();
        push @p, $p unless $seen{$p}++;
    }
    return @p;
}

my $n = 0;
my %score_of; # case name -> the embedded engine's score
for my $c (@cases) {
    my ($name, $req, $want, $is_attack) = @$c;
    my %got;
    for my $h ($m2, $m3) {
        my $ip = '198.51.100.' . (100 + $n++);
        my ($aoff, $eoff) = (log_size($h->access_log), log_size($h->error_log));
        my $r = http_request(port => $h->port, xff => $ip, %$req);
        is $r->{status}, $want, "$h->{engine}: $name -> $want";
        if ($want == 200 && $req->{path} eq '/echo') {
            # (the handler gets every body byte, the multipart file too)
            is $r->{body}, sprintf("len=%d md5=%s\n", length $req->{body},
                                   md5_hex($req->{body})),
                "$h->{engine}: $name: the handler got the body";
        }
        @{ $got{ $h->{engine} } } = outcome($h, $ip, $aoff, $eoff);
    }
    my ($s2, $ids2) = @{ $got{modsecurity2} };
    my ($s3, $ids3) = @{ $got{modsecurity3} };
    $score_of{$name} = $s3;
    if ($is_attack) {
        ok defined $s3 && $s3 =~ /^\d+$/ && $s3 >= 5,
            "modsecurity3: $name: anomaly score $s3 >= 5"
            or diag "score " . ($s3 // 'none');
        isnt $ids3, '', "modsecurity3: $name: rule ids $ids3";
    }
    else {
        is $s3, '0', "modsecurity3: $name: anomaly score 0";
    }
    is $s3, $s2, "$name: same anomaly score as mod_security2 ($s2)";
    is $ids3, $ids2, "$name: same rule ids as mod_security2";
}

# One transaction per top-level request: GET / goes through mod_dir's
# subrequest and internal redirect to index.html; a rule that matches but
# does not block (920350, numeric Host, 3 points) is logged once, and the
# score is 3, not 6 or 9.
{
    my $ip = '198.51.100.125';
    my ($aoff, $eoff) = (log_size($m3->access_log), log_size($m3->error_log));
    my $r = http_request(port => $m3->port, xff => $ip, path => '/',
                         host => '127.0.0.1');
    is $r->{status}, 200, 'modsecurity3: GET / with a numeric Host -> 200';
    like $r->{body}, qr/ok/, 'modsecurity3: GET /: index.html';
    my ($line) = wait_log($m3->access_log, $aoff, qr/^\Q$ip\E /);
    like $line || '', qr/ score=3 /, 'modsecurity3: GET /: score 3';
    settle(0.3);
    my %n;
    $n{$_}++ for map { /\[id "(\d+)"\]/ ? $1 : () }
        log_since($m3->error_log, $eoff, ms_re($ip));
    # CRS 4's correlation rule 980170 (log,noauditlog) reports any score in
    # phase 5, once per transaction too.
    cmp_ok delete $n{980170} // 0, '<=', 1,
        'modsecurity3: GET /: 980170 (CRS 4) at most once';
    is join(',', map {"$_=$n{$_}"} sort keys %n), '920350=1',
        'modsecurity3: GET /: 920350 logged once (one transaction)';
}

# Rule messages: mod_security2's shape, from the module, with its tag.
{
    my @l = grep {/\[id "941100"\]/} log_since($m3->error_log, 0,
                                                qr/ModSecurity: Warning\./);
    ok @l, 'modsecurity3: rule 941100 logged';
    like $l[0] || '',
        qr/\[ratelimit_waf:warn\] .*\[client ([\d.]+):\d+\] \[client \1\] ModSecurity: Warning\. .* \[file "[^"]+REQUEST-941-APPLICATION-ATTACK-XSS\.conf"\] \[line "\d+"\] \[id "941100"\] .*\[msg "[^"]+"\] \[data "[^"]*"\] \[severity "CRITICAL"\] .*\[tag "attack-xss"\] .*\[hostname "[^"]+"\] \[uri "\/"\] \[unique_id "[^"]+"\] .*\[rlw "RLW00072"\]$/,
        'the message has the fields of mod_security2\'s, severity as a name';
    ok !grep({/9529090|anomaly score [0-9a-f]{16}/}
             log_since($m3->error_log, 0)),
        'the score rule\'s messages are never logged';
    my @d = log_since($m3->error_log, 0,
                      qr/ModSecurity: Access denied with code 403 \(phase 2\)/);
    like $d[0] || '', qr/\[id "949110"\].*\[rlw "RLW00073"\]$/,
        'the intervention is logged (949110, only there: #2274)';
}

# A rule marked log,noauditlog is logged and counted as mod_security2 does
# (libmodsecurity alone silences it, #3180): the module loads its file with
# the log flag fixed up, as text; the line keeps its file and line number,
# and the relative data file beside it is found.
{
    my $ip = '198.51.100.126';
    my $eoff = log_size($m3->error_log);
    is http_request(port => $m3->port, xff => $ip, path => '/hello.txt',
                    headers => ["X-Test-Nal: 1", "X-Test-Word: a nal-word"])->{status}, 200,
        'modsecurity3: X-Test-Nal: 1 -> 200';
    ok wait_log($m3->error_log, $eoff, qr/\[id "9999004"\]/),
        'modsecurity3: the log,noauditlog rule is logged';
    my @l = log_since($m3->error_log, $eoff, ms_re($ip));
    my ($nal) = grep {/\[id "9999004"\]/} @l;
    like $nal || '', qr/ModSecurity: Warning\. .*\[file "\Q$rules\E"\] \[line "7"\] \[id "9999004"\] .*\[msg "test log,noauditlog"\]/,
        'modsecurity3: its file and line are the rule\'s';
    ok grep({/\[id "9999005"\]/} @l),
        'modsecurity3: a data file named relative to the rules file is found'
        or diag join "\n", @l;
}

# A pair of backslashes in an operator is one backslash, as Apache reads
# mod_security2's rules (#2148): "^a\\\\b$" matches a\b.
{
    my $ip = '198.51.100.127';
    my $eoff = log_size($m3->error_log);
    is http_request(port => $m3->port, xff => $ip,
                    path => '/hello.txt?bs=a%5Cb')->{status}, 200,
        'modsecurity3: ?bs=a%5Cb -> 200';
    ok wait_log($m3->error_log, $eoff, qr/\[id "9999006"\]/),
        'modsecurity3: a\\\\b in an operator matches a\\b';
}

# Bodies reach the handler: over the in-memory part (spooled to a file),
# chunked, and a pipelined request after a body.
{
    my $ip = '198.51.100.130';
    my $big = 'q=' . join '', map { chr(ord('a') + $_ % 26) } 1 .. 100_000;
    my $r = http_request(port => $m3->port, xff => $ip, path => '/echo',
                         method => 'POST', body => $big, headers => $form);
    is $r->{status}, 200, 'modsecurity3: 100 kB body (spooled) -> 200';
    is $r->{body}, sprintf("len=%d md5=%s\n", length $big, md5_hex($big)),
        'modsecurity3: the handler got the whole 100 kB body';

    my $conn = RLW::Client::Conn->new(port => $m3->port);
    my $body = 'name=bob&city=rome';
    my $chunked = sprintf("%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n",
                          8, substr($body, 0, 8),
                          length($body) - 8, substr($body, 8));
    syswrite $conn->{sock},
        "POST /echo HTTP/1.1\r\nHost: localhost\r\nX-Forwarded-For: $ip\r\n"
        . "Content-Type: application/x-www-form-urlencoded\r\n"
        . "Transfer-Encoding: chunked\r\n\r\n$chunked"
        . "GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n"
        . "X-Forwarded-For: $ip\r\nConnection: close\r\n\r\n";
    my $r1 = $conn->read_response;
    my $r2 = $conn->read_response;
    $conn->close;
    is $r1->{status}, 200, 'modsecurity3: chunked body -> 200';
    is $r1->{body}, sprintf("len=%d md5=%s\n", length $body, md5_hex($body)),
        'modsecurity3: the handler got the chunked body';
    is "$r2->{status} $r2->{body}", "200 hello\n",
        'modsecurity3: the pipelined request after it is answered';

}

# HTTP/2 (cleartext, prior knowledge) with a body: inspected, and given to
# the handler, also past the in-memory part.
SKIP: {
    my $v = `curl -V 2>/dev/null` // '';
    skip 'curl with HTTP/2 is not installed', 6 unless $v =~ /HTTP2/;
    my $h2 = sub {
        my ($ip, $file) = @_;
        my $out = `curl -s --http2-prior-knowledge -H 'Host: localhost' -H 'X-Forwarded-For: $ip' -H 'Content-Type: application/x-www-form-urlencoded' --data-binary \@$file -w ' %{http_code} %{http_version}' http://127.0.0.1:${\ $m3->port}/echo`;
        return $out =~ /^(.*) (\d{3}) (\S+)$/s ? ($1, $2, $3) : ('', 0, '');
    };
    my $clean = 'q=' . ('h2 body ' x 20_000);
    my $attack = 'q=%3Cscript%3Ealert(1)%3C%2Fscript%3E';
    my ($body, $st, $ver) = $h2->('198.51.100.180', put('h2-clean.txt', $clean));
    is "$st $ver", '200 2', 'modsecurity3: HTTP/2 POST, 160 kB clean body -> 200';
    is $body, sprintf("len=%d md5=%s\n", length $clean, md5_hex($clean)),
        'modsecurity3: HTTP/2: the handler got the whole body';
    my $eoff = log_size($m3->error_log);
    ($body, $st, $ver) = $h2->('198.51.100.181', put('h2-attack.txt', $attack));
    is "$st $ver", '403 2', 'modsecurity3: HTTP/2 POST, XSS body -> 403';
    ok wait_log($m3->error_log, $eoff,
                qr/\[client 198\.51\.100\.181\] ModSecurity: Warning\. .*\[id "941100"\]/),
        'modsecurity3: HTTP/2: the body\'s XSS is logged (941100)';
    my ($line) = wait_log($m3->access_log, 0, qr/^198\.51\.100\.181 /);
    # (the body of the 'POST XSS' case: 15 under CRS 3.3.4; CRS 4.28.0 adds
    # 941390, "Javascript method detected", for 20)
    my $want = $score_of{'POST XSS'} // 'none';
    like $line || '', qr/ 403 .*"POST \/echo HTTP\/2\.0".* score=\Q$want\E /,
        "modsecurity3: HTTP/2: score $want, as over HTTP/1.1";
    ($body, $st) = $h2->('198.51.100.182', put('h2-small.txt', 'a=1&b=2'));
    is $body, sprintf("len=7 md5=%s\n", md5_hex('a=1&b=2')),
        'modsecurity3: HTTP/2: a small body too';
}

# drop (phase 1 and 2): the connection is closed with no answer at all,
# as mod_security2 does it (libmodsecurity alone answers it as a deny).
{
    my $i = 0;
    for (['phase 1', "GET /hello.txt HTTP/1.1\r\nX-Test-Drop: 1\r\n"],
         ['phase 2', "POST /echo HTTP/1.1\r\nContent-Type: "
              . "application/x-www-form-urlencoded\r\nContent-Length: 6\r\n"]) {
        my ($what, $head) = @$_;
        my $ip = '198.51.100.' . (143 + $i++);
        my $eoff = log_size($m3->error_log);
        my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                         PeerPort => $m3->port, Timeout => 10)
            or die "connect: $!\n";
        print {$sock} $head . "Host: localhost\r\nX-Forwarded-For: $ip\r\n"
            . "\r\n" . ($what eq 'phase 2' ? 'drop=1' : '');
        my ($got, $buf, $n) = ('', '');
        my $t0 = time;
        while (time - $t0 < 10) {
            $n = sysread $sock, $buf, 4096;
            last if !defined $n || $n == 0;
            $got .= $buf;
        }
        close $sock;
        ok defined $n && $n == 0 && time - $t0 < 10,
            "modsecurity3: $what drop: the server closed the connection";
        is $got, '', "modsecurity3: $what drop: no answer at all";
        ok wait_log($m3->error_log, $eoff,
                    qr/\[client \Q$ip\E\] ModSecurity: Access denied with connection close \(phase \d\)\. .*\[id "999900[78]"\]/),
            "modsecurity3: $what drop: logged as mod_security2 words it";
    }
}

# @validateUrlEncoding judges REQUEST_URI as the client sent it (as
# mod_security2's REQUEST_URI), not libmodsecurity's decoded one: %25va is
# a valid encoding (of %va), %zz is not.
{
    my $ip = '198.51.100.147';
    for (['/hello.txt?foo=for%20%25variable', 200],
         ['/hello.txt?foo=%zz', 403]) {
        my ($path, $want) = @$_;
        is http_request(port => $m3->port, xff => $ip, path => $path,
                        headers => ['X-Test-Enc: 1'])->{status}, $want,
            "modsecurity3: \@validateUrlEncoding on REQUEST_URI: $path -> $want";
    }
}

# Interventions of the test rules: deny (phase 1 and 3), redirect.
{
    my $ip = '198.51.100.140';
    my $r = http_request(port => $m3->port, xff => $ip, path => '/hello.txt',
                         headers => ['X-Test-Deny: 1']);
    is $r->{status}, 403, 'modsecurity3: phase-1 deny -> 403';
    unlike $r->{body}, qr/hello/, 'modsecurity3: phase-1 deny: not the file';
    $r = http_request(port => $m3->port, xff => $ip,
                      path => '/hello.txt?go=away');
    is $r->{status}, 302, 'modsecurity3: redirect -> 302';
    is $r->{headers}{location}, 'http://example.com/away',
        'modsecurity3: redirect: Location';
    $r = http_request(port => $m3->port, xff => $ip, path => '/hello.txt',
                      headers => ['X-Test-Deny3: 1']);
    is $r->{status}, 403, 'modsecurity3: phase-3 deny (response headers) -> 403';
    unlike $r->{body}, qr/hello/, 'modsecurity3: phase-3 deny: not the file';
}

# Threshold, ban, and no WAF work at all for the banned client.
{
    my $ip = '198.51.100.150';
    my $off = log_size($m3->error_log);
    is statuses(attacks($m3->port, $ip, 4)), '403 x4',
        'modsecurity3: 4 attacks (threshold) denied';
    my $b = wait_ban($m3->error_log, $off, $ip);
    ok $b, 'modsecurity3: the threshold bans the client (RLW00010)';
    like join("\n", log_since($m3->error_log, $off, ban_re($ip))),
        qr/count=4/, 'modsecurity3: ban line count=4';
    settle(0.5);
    my $ms_re = ms_re($ip);
    my $before = log_count($m3->error_log, 0, $ms_re);
    my $aoff = log_size($m3->access_log);
    is statuses((map { attack($m3->port, $ip) } 1 .. 3),
                (map { clean($m3->port, $ip, path => '/hello.txt',
                             headers => ['X-Test-Deny: 1']) } 1 .. 3),
                http_request(port => $m3->port, xff => $ip, path => '/echo',
                             method => 'POST', headers => $form,
                             body => 'q=%3Cscript%3E')->{status}),
        '404 x7', 'modsecurity3: banned: attacks, phase-1 rules, bodies: 404';
    settle(0.5);
    is log_count($m3->error_log, 0, $ms_re) - $before, 0,
        'modsecurity3: banned requests: no ModSecurity line (no transaction)';
    my @acc = log_since($m3->access_log, $aoff, qr/^\Q$ip\E /);
    is scalar(grep { / 404 / && /score=- / && /banned=1$/ } @acc), 7,
        'modsecurity3: banned requests: 404, no score, RLW_BANNED=1'
        or diag join "\n", @acc;
    is clean($m3->port, '198.51.100.151', path => '/hello.txt'), 200,
        'modsecurity3: another client is served';
}

# Graceful restarts: the engine and rules are rebuilt, the ban stays.
{
    my $pid = $m3->pid;
    for my $i (1 .. 3) {
        ok eval { $m3->graceful; 1 }, "modsecurity3: graceful restart $i"
            or diag $@;
    }
    is $m3->pid, $pid, 'modsecurity3: same parent after the restarts';
    is clean($m3->port, '198.51.100.150'), 404,
        'modsecurity3: after the restarts: the ban holds';
    is attack($m3->port, '198.51.100.160'), 403,
        'modsecurity3: after the restarts: attacks still denied';
    is clean($m3->port, '198.51.100.160', path => '/hello.txt'), 200,
        'modsecurity3: after the restarts: clean requests served';
}
$m2->stop;
$m3->stop;

# SecRequestBodyLimit and its two actions, each in a virtual host of its own
# (libmodsecurity keeps the first value a rule set reads, so a host that
# inherits another's settings could not change them).
{
    my $base = "SecRuleEngine On\nSecRequestBodyAccess On\n"
        . "SecRule ARGS \"\@contains evil\" \"id:9999020,phase:2,deny,log\"\n";
    my $reject = put('reject.conf', $base . "SecRequestBodyLimit 1000\n"
                     . "SecRequestBodyLimitAction Reject\n");
    my $partial = put('partial.conf', $base . "SecRequestBodyLimit 1000\n"
                      . "SecRequestBodyLimitAction ProcessPartial\n");
    my ($pr, $pp, $pmain) = ports(3);
    my $vhosts = '';
    for ([$pr, $reject], [$pp, $partial]) {
        $vhosts .= "Listen 127.0.0.1:$_->[0]\n<VirtualHost 127.0.0.1:$_->[0]>\n"
            . "    RateLimitWAFEngine modsecurity3\n"
            . "    RateLimitWAFRules $_->[1]\n    ScriptAlias /echo \"$echo\"\n"
            . "</VirtualHost>\n";
    }
    my $h = RLW::Httpd->new(name => 'msc3-limits', modsec => 0, port => $pmain,
                            load => ['alias', $cgi, 'unique_id'],
                            directives => "RateLimitWAF On\n",
                            vhosts => "<VirtualHost 127.0.0.1:*>\n</VirtualHost>\n"
                                . $vhosts);
    $h->start;
    my $post = sub {
        my ($port, $body) = @_;
        return http_request(port => $port, xff => '198.51.100.135',
                            path => '/echo', method => 'POST', body => $body,
                            headers => $form);
    };
    my $small = 'a=' . ('x' x 500);
    my $long = 'a=' . ('x' x 3000) . '&b=evil';
    my $off = log_size($h->error_log);
    is $post->($pr, $small)->{status}, 200, 'Reject: a body under the limit -> 200';
    is $post->($pr, $long)->{status}, 403, 'Reject: a body over the limit -> 403';
    ok wait_log($h->error_log, $off,
                qr/Request body limit is marked to reject the request \[rlw "RLW00073"\]/),
        'Reject: the intervention is logged';
    my $r = $post->($pp, $long);
    is $r->{status}, 200,
        'ProcessPartial: an attack past the limit is not seen -> 200';
    is $r->{body}, sprintf("len=%d md5=%s\n", length $long, md5_hex($long)),
        'ProcessPartial: the handler gets the whole body';
    is $post->($pp, 'b=evil&' . ('x' x 3000))->{status}, 403,
        'ProcessPartial: an attack within the limit -> 403';
    # A HEAD request with a body: read and inspected as mod_security2 does
    # (httpd's ap_request_has_body() says no for every HEAD).
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $pr,
                                     Timeout => 10)
        or die "connect: $!\n";
    print {$sock} "HEAD /echo HTTP/1.1\r\nHost: localhost\r\n"
        . "Content-Type: application/x-www-form-urlencoded\r\n"
        . "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        . "6\r\nb=evil\r\n0\r\n\r\n";
    my $head = do { local $/; <$sock> } // '';
    close $sock;
    like $head, qr{^HTTP/1\.1 403 },
        'HEAD with a chunked body: the body is inspected -> 403';
    $h->stop;
}

# REQUEST_BODY as mod_security2 fills it (RateLimitWAFRequestBodyVariable
# urlencoded, the default): for an urlencoded body, and for a body without
# a body processor under ctl:forceRequestBodyVariable=On; not for
# multipart, JSON or XML bodies, which libmodsecurity alone puts in it too
# (RateLimitWAFRequestBodyVariable always). Rules that read only
# REQUEST_BODY, one of them in a chain.
{
    my $rb = put('reqbody.conf', <<'RULES');
SecRuleEngine On
SecRequestBodyAccess On
SecRule REQUEST_HEADERS:Content-Type "^application/json" \
    "id:9999049,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON"
SecRule REQUEST_HEADERS:X-Force "@streq 1" \
    "id:9999040,phase:1,pass,nolog,ctl:forceRequestBodyVariable=On"
SecRule REQUEST_BODY "@contains evil" "id:9999041,phase:2,deny,status:403,log"
SecRule REQUEST_METHOD "@streq PUT" "id:9999042,phase:2,deny,status:403,log,chain"
    SecRule REQUEST_BODY "@contains bad" "t:none"
SecRule REQUEST_HEADERS:X-Test-Part "@streq 1" \
    "id:9999043,phase:2,deny,status:403,log,chain"
    SecRule MULTIPART_PART_HEADERS "@rx ^content-type\s*:\s*(.*)$" \
        "capture,t:none,t:lowercase,chain"
        SecRule TX:1 "!@rx ^text/plain$" "t:none"
RULES
    my ($pu, $pa, $pmain) = ports(3);
    my $vhosts = '';
    for ([$pu, ''], [$pa, "    RateLimitWAFRequestBodyVariable always\n"]) {
        $vhosts .= "Listen 127.0.0.1:$_->[0]\n<VirtualHost 127.0.0.1:$_->[0]>\n"
            . "    RateLimitWAFEngine modsecurity3\n"
            . "    RateLimitWAFRules $rb\n$_->[1]    ScriptAlias /echo \"$echo\"\n"
            . "</VirtualHost>\n";
    }
    my $h = RLW::Httpd->new(name => 'msc3-reqbody', modsec => 0, port => $pmain,
                            load => ['alias', $cgi, 'unique_id'],
                            directives => "RateLimitWAF On\n",
                            vhosts => "<VirtualHost 127.0.0.1:*>\n</VirtualHost>\n"
                                . $vhosts);
    $h->start;
    my $mp = ["Content-Type: multipart/form-data; boundary=$bnd"];
    my @rb = (
        # [name, method, headers, body, status urlencoded, status always]
        ['urlencoded', 'POST', $form, 'a=evil', 403, 403],
        ['multipart', 'POST', $mp, multipart('evil'), 200, 403],
        ['JSON', 'POST', ['Content-Type: application/json'], '{"a":"evil"}',
         200, 403],
        ['multipart, chained rule', 'PUT', $mp, multipart('bad'), 200, 403],
        ['no processor', 'POST', ['Content-Type: text/plain'], 'evil', 200, 403],
        ['no processor, forceRequestBodyVariable=On', 'POST',
         ['Content-Type: text/plain', 'X-Force: 1'], 'evil', 403, 403],
        ['multipart, forceRequestBodyVariable=On', 'POST', [@$mp, 'X-Force: 1'],
         multipart('evil'), 200, 403],
        # (a part header without its CR LF, as mod_security2 has it)
        ['multipart part header', 'POST', [@$mp, 'X-Test-Part: 1'],
         multipart('hello'), 200, 200],
    );
    my $k = 0;
    for my $c (@rb) {
        my ($name, $method, $hd, $body, $wu, $wa) = @$c;
        for ([$pu, 'urlencoded', $wu], [$pa, 'always', $wa]) {
            my ($port, $mode, $want) = @$_;
            is http_request(port => $port, xff => '198.51.100.' . (170 + $k++),
                            path => '/echo', method => $method, headers => $hd,
                            body => $body)->{status}, $want,
                "RateLimitWAFRequestBodyVariable $mode: $name -> $want";
        }
    }
    $h->stop;
}

# Response bodies (phase 4): held and inspected only where the rule set
# runs phase 4 (SecResponseBodyAccess On, found by the module's probe),
# within SecResponseBodyLimit (ProcessPartial: the rest is not inspected;
# Reject: 403), only for SecResponseBodyMimeType's types.
{
    my $base = "SecRuleEngine On\nSecRequestBodyAccess On\n"
        . "SecResponseBodyMimeType text/plain text/html\n"
        . "SecResponseBodyLimit 2000\n"
        . "SecRule RESPONSE_BODY \"\@contains secret-token\" "
        . "\"id:9999030,phase:4,deny,status:403,log,msg:'test leak'\"\n";
    my %file = (
        on     => put('resp-on.conf', "SecResponseBodyAccess On\n"
                      . "SecResponseBodyLimitAction ProcessPartial\n" . $base),
        reject => put('resp-reject.conf', "SecResponseBodyAccess On\n"
                      . "SecResponseBodyLimitAction Reject\n" . $base),
        off    => put('resp-off.conf', "SecResponseBodyAccess Off\n" . $base),
    );
    my @p = ports(4);
    my %port = (on => $p[0], reject => $p[1], off => $p[2]);
    my $vhosts = '';
    for my $k (sort keys %port) {
        $vhosts .= "Listen 127.0.0.1:$port{$k}\n"
            . "<VirtualHost 127.0.0.1:$port{$k}>\n"
            . "    RateLimitWAFEngine modsecurity3\n"
            . "    RateLimitWAFRules $file{$k}\n</VirtualHost>\n";
    }
    my $h = RLW::Httpd->new(name => 'msc3-resp', modsec => 0, port => $p[3],
                            load => ['unique_id'],
                            directives => "RateLimitWAF On\n",
                            vhosts => "<VirtualHost 127.0.0.1:*>\n</VirtualHost>\n"
                                . $vhosts);
    my $doc = $h->dir . '/htdocs';
    for (['secret.txt', "x secret-token y\n"],
         ['late.txt', ('a' x 3000) . " secret-token\n"],
         ['secret.bin', "x secret-token y\n"]) {
        open my $fh, '>', "$doc/$_->[0]" or die "$doc/$_->[0]: $!\n";
        print {$fh} $_->[1];
        close $fh;
    }
    $h->start;
    like join("\n", grep {/RLW00070/} split /\n/, $h->error_log_text),
        qr/3 rule set\(s\) loaded in \d+ ms, 2 inspecting response bodies/,
        'response bodies: the probe finds the 2 rule sets that run phase 4';
    my %want = (
        on     => [200, 403, 200, 200],
        reject => [200, 403, 403, 200],
        off    => [200, 200, 200, 200],
    );
    for my $k (qw(on reject off)) {
        my @got;
        my $ok = 1;
        for my $path ('/hello.txt', '/secret.txt', '/late.txt', '/secret.bin') {
            my $r = http_request(port => $port{$k}, xff => '198.51.100.190',
                                 path => $path);
            push @got, $r->{status};
            $ok &&= $r->{status} != 200
                || $r->{body} eq do {
                    open my $fh, '<', "$doc$path" or die "$doc$path: $!\n";
                    local $/; <$fh> };
        }
        is "@got", "@{ $want{$k} }",
            "response bodies, $k: hello, secret, secret past the limit, "
            . 'secret in another type';
        ok $ok, "response bodies, $k: what passes is the whole file";
    }
    like $h->error_log_text,
        qr/\[client 198\.51\.100\.190\] ModSecurity: Access denied with code 403 \(phase 4\)\..*\[id "9999030"\]/,
        'response bodies: the phase-4 intervention is logged';
    $h->stop;
}

# A rule error fails httpd -t, naming the directive, the file and the line.
{
    my ($rc, $out) = RLW::Httpd->configtest(
        name => 'msc3-broken', engine => 'modsecurity3',
        directives => "RateLimitWAF On\nRateLimitWAFRules $broken\n");
    isnt $rc, 0, 'modsecurity3: a rule error fails httpd -t';
    like $out, qr/RLW00069: RateLimitWAFRules \Q$broken\E: .*\Q$broken\E.*Line: 2\b/s,
        'modsecurity3: the message names the directive, the file and line 2'
        or diag $out;
}

# Both engines in one httpd, on different virtual hosts: each request is
# inspected by exactly one; a virtual host both would inspect is refused.
# (Not with the sanitizer builds of make test-asan, RLW_HTTPD: their runtime
# refuses RTLD_DEEPBIND, so they refuse mod_security2 beside the engine.)
SKIP: {
    skip 'sanitizer build: no mod_security2 beside the embedded engine', 9
        if $ENV{RLW_HTTPD};
    my ($p2, $p1) = ports(2);
    my $vhost = <<"CONF";
Listen 127.0.0.1:$p2
<VirtualHost 127.0.0.1:$p2>
    SecRuleEngine Off
    RateLimitWAFEngine modsecurity3
    RateLimitWAFRules "${\ RLW::Httpd::conf_dir()}/modsecurity3-ratelimit-waf.conf"
    RateLimitWAFRules /etc/modsecurity/crs/crs-setup.conf
    RateLimitWAFRules "/usr/share/modsecurity-crs/rules/*.conf"
</VirtualHost>
CONF
    my $h = RLW::Httpd->new(name => 'msc3-both', engine => 'modsecurity2',
                            port => $p1,
                            directives => "RateLimitWAF On\n",
                            vhosts => "<VirtualHost 127.0.0.1:*>\n</VirtualHost>\n$vhost");
    ok eval { $h->start; 1 }, 'both engines: httpd starts' or diag $@;
    my ($ip2, $ip3) = ('198.51.100.170', '198.51.100.171');
    is attack($h->port, $ip2), 403, 'both engines: mod_security2 host denies';
    is attack($p2, $ip3), 403, 'both engines: modsecurity3 host denies';
    settle(0.5);
    my @l2 = log_since($h->error_log, 0, ms_re($ip2));
    my @l3 = log_since($h->error_log, 0, ms_re($ip3));
    ok @l2 && !grep({ !/\[security2:/ } @l2),
        'both engines: mod_security2 host: only mod_security2 inspected';
    ok @l3 && !grep({ !/\[ratelimit_waf:/ } @l3),
        'both engines: modsecurity3 host: only the embedded engine inspected'
        or diag join "\n", @l3;
    is clean($h->port, '198.51.100.172', path => '/hello.txt'), 200,
        'both engines: clean request on the mod_security2 host';
    is clean($p2, '198.51.100.173', path => '/hello.txt'), 200,
        'both engines: clean request on the modsecurity3 host';
    $h->stop;

    (my $twice = $vhost) =~ s/^\s*SecRuleEngine Off\n//m;
    my ($rc, $out) = RLW::Httpd->configtest(
        name => 'msc3-twice', engine => 'modsecurity2', port => $p1,
        directives => "RateLimitWAF On\n", vhosts => $twice);
    isnt $rc, 0, 'both engines: a host inspected twice fails httpd -t';
    like $out, qr/RLW00068: RateLimitWAFEngine modsecurity3 in server \S+:$p2, where mod_security2's SecRuleEngine is not Off/,
        'both engines: the message names the server and why' or diag $out;
}

done_testing();
