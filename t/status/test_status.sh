#!/bin/bash
# t/status/test_status.sh - the status page (handler ratelimit-waf-status)
# against a real httpd with mod_security2 + OWASP CRS, mod_remoteip and
# mod_status, and the rendered page in a real headless Chromium.
#
# Usage (as root): bash t/status/test_status.sh     (or: make status-test)
#   RLW_STATUS_PORT=18742   port (default: the first free one in 18700-18799)
#   RLW_KEEP=1              keep the server root under /tmp
#   RLW_NO_BROWSER=1        skip the Chromium part
#
# The server runs as www-data from its own ServerRoot under /tmp. Clients
# are played through X-Forwarded-For from 127.0.0.1 (mod_remoteip): the
# attacker 203.0.113.77, a manually banned 198.51.100.23, and a few clients
# below the threshold for the top offenders. Outputs (the JSON, Prometheus
# and HTML answers, logs, the screenshot) are kept in t/logs/status/.
# Prints "N passed, M failed" last and exits non-zero on any failure.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../tools/lib/rlw-sh.sh
. "$top/tools/lib/rlw-sh.sh"
so="$top/mod_ratelimit_waf/.libs/mod_ratelimit_waf.so"
check="python3 $top/t/status/check.py"
moddir=/usr/lib/apache2/modules
out="$top/t/logs/status"
threshold=5
node='web-1<b>"x"'   # hostile on purpose: must come out escaped everywhere

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }
# check "description" command...: ok when the command succeeds.
check() {
    local what=$1
    shift
    if "$@" >/dev/null 2>&1; then ok "$what"; else not_ok "$what"; fi
}

if [ "$(id -u)" != 0 ]; then
    echo "test_status: run as root (httpd drops to www-data)" >&2
    exit 2
fi
if [ ! -f "$so" ]; then
    echo "test_status: $so is not built (make build)" >&2
    exit 2
fi

port=${RLW_STATUS_PORT:-}
if [ -z "$port" ]; then
    for p in $(seq 18700 18799); do
        if ! ss -Hltn "sport = :$p" | grep -q .; then
            port=$p
            break
        fi
    done
fi
[ -n "$port" ] || { echo "test_status: no free port in 18700-18799" >&2; exit 2; }
base="http://127.0.0.1:$port"
# A second listener: a virtual host that also counts networks and a
# request key (the first one keeps the plain client counts).
port2=
for p in $(seq $((port + 1)) $((port + 50))); do
    if ! ss -Hltn "sport = :$p" | grep -q .; then
        port2=$p
        break
    fi
done
[ -n "$port2" ] || { echo "test_status: no free port after $port" >&2; exit 2; }
base2="http://127.0.0.1:$port2"
apikey='k-Sup3rSecret-value'   # a key value: never shown anywhere

root=$(mktemp -d /tmp/rlw-status.XXXXXX)
chmod 755 "$root"
mkdir -p "$root"/{conf,logs,run,htdocs,data,tmp}
chown www-data:www-data "$root/data" "$root/tmp"
rm -rf "$out"
mkdir -p "$out"

stop_httpd() { rlw_httpd_stop "$root/run/httpd.pid" 5; }
cleanup() {
    stop_httpd
    cp -a "$root/logs/." "$out/" 2>/dev/null
    if [ -n "${RLW_KEEP:-}" ]; then
        echo "test_status: kept $root"
    else
        rm -rf "$root"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo '<html><body>hello</body></html>' > "$root/htdocs/index.html"
chmod 644 "$root/htdocs/index.html"
htpasswd -cbB "$root/conf/htpasswd" admin 's3cret' 2>/dev/null
chgrp www-data "$root/conf/htpasswd"
chmod 640 "$root/conf/htpasswd"

# The skeleton comes from the generator every private server shares.
rlw_conf --generated-by t/status/test_status.sh \
    --root "$root" --listen "$port" --listen "$port2" --user www-data --group www-data \
    --loglevel 'warn ratelimit_waf:info' --module-dir "$moddir" \
    --load authz_host --load authz_user --load authn_core \
    --load authn_file --load auth_basic --load status --module-so "$so" \
    --access-log "$root/logs/access_log" \
    --log-format '%a %>s "%r" score=%{MODSEC_ANOMALY_SCORE}e user=%u' \
    --modsec --conf-dir "$top/conf" \
    --directive-file /dev/stdin > "$root/conf/httpd.conf" <<EOF || exit 2

RateLimitWAF On
RateLimitWAFThreshold $threshold
RateLimitWAFWindow 2m
RateLimitWAFBanTime 10m
RateLimitWAFNodeName '$node'
RateLimitWAFEventLog "$root/logs/events.log"

# Read-only page.
<Location "/rlw-status">
    SetHandler ratelimit-waf-status
    Require ip 127.0.0.1
</Location>
# Page with the admin API.
<Location "/rlw-admin">
    SetHandler ratelimit-waf-status
    Require ip 127.0.0.1
    RateLimitWAFAdmin On
</Location>
# Admin API behind a password: the user is logged and in the events.
<Location "/rlw-auth">
    SetHandler ratelimit-waf-status
    AuthType Basic
    AuthName "mod_ratelimit_waf"
    AuthUserFile "$root/conf/htpasswd"
    Require valid-user
    RateLimitWAFAdmin On
</Location>
<Location "/server-status">
    SetHandler server-status
    Require ip 127.0.0.1
</Location>
# Networks and a request key, counted with high thresholds (never banned
# here): the top offenders by kind.
<VirtualHost 127.0.0.1:$port2>
    ServerName netkey.test
    RateLimitWAFNetwork 24 48 1000
    RateLimitWAFKey api "%{HTTP:X-Api-Key}" 1000
</VirtualHost>
EOF

if ! out_start=$(/usr/sbin/apache2 -f "$root/conf/httpd.conf" -k start 2>&1); then
    echo "$out_start"
    cat "$root/logs/error_log" 2>/dev/null
    not_ok "httpd starts"
    echo "$passed passed, $failed failed"
    exit 1
fi
for _ in $(seq 100); do
    curl -s -o /dev/null "$base/" && break
    sleep 0.1
done
check "httpd starts on port $port" curl -sf -o /dev/null "$base/"

# code URL [curl args...]: prints the status code, the body goes to $root/body.
code() {
    local url=$1 host='Host: localhost'
    shift
    case " $* " in *" Host: "*) host= ;; esac # the caller's own Host
    curl -s -o "$root/body" -w '%{http_code}' ${host:+-H "$host"} "$@" "$base$url"
}
# expect WANT "description" URL [curl args...]
expect() {
    local want=$1 what=$2 got
    shift 2
    got=$(code "$@")
    if [ "$got" = "$want" ]; then
        ok "$what ($got)"
    else
        not_ok "$what: got $got, want $want: $(head -c 300 "$root/body")"
    fi
}
attack='/?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E'
xff() { echo "X-Forwarded-For: $1"; }

# --- a ban from an attack burst, and clients below the threshold --------
expect 200 "clean request before the burst" / -H "$(xff 203.0.113.77)"
for i in $(seq $threshold); do
    code "$attack" -H "$(xff 203.0.113.77)" >/dev/null
done
expect 404 "attacker is banned after $threshold attacks" / -H "$(xff 203.0.113.77)"
for c in 192.0.2.10 192.0.2.10 192.0.2.10 192.0.2.11 192.0.2.11 \
         2001:db8:1:2::5 2001:db8:1:2::6 192.0.2.12; do
    code "$attack" -H "$(xff $c)" >/dev/null
done
code /?search=hello -H "$(xff 192.0.2.12)" >/dev/null

# --- JSON ----------------------------------------------------------------
expect 200 "GET ?json" '/rlw-status?json'
cp "$root/body" "$out/status.json"
check "?json parses and lists the ban of 203.0.113.77" $check json "$out/status.json" \
    "d['active_bans'] == 1" \
    "[b['client'] for b in d['bans']] == ['203.0.113.77']" \
    "d['bans'][0]['node'] == '''$node'''" \
    "d['bans'][0]['strike'] == 1 and d['bans'][0]['remaining_s'] > 500" \
    "d['bans'][0]['ban_count'] == $threshold" \
    "d['node'] == '''$node'''" \
    "d['totals']['attacks'] >= $threshold + 8 and d['totals']['bans'] == 1" \
    "d['totals']['rejected'] >= 1" \
    "d['threat']['level'] == 'elevated'" \
    "d['store']['name'] == 'shm' and d['store']['tracked'] >= 5" \
    "d['store']['untracked'] == 0" \
    "len(d['history']['attacks']) == 60 and sum(d['history']['attacks']) >= 13" \
    "sum(d['history']['rejected']) >= 1" \
    "d['admin'] is False"
check "?json top offenders: by count, IPv6 grouped by /64" $check json "$out/status.json" \
    "[(o['client'], o['count']) for o in d['top_offenders']][:3] == [('192.0.2.10', 3), ('192.0.2.11', 2), ('2001:db8:1:2::/64', 2)]" \
    "d['top_offenders'][3]['client'] == '192.0.2.12' and d['top_offenders'][3]['count'] == 1" \
    "all(r['category'] == 'xss' for o in d['top_offenders'] for r in o['rules'] if r['id'] // 1000 == 941)" \
    "'203.0.113.77' not in [o['client'] for o in d['top_offenders']]"

# --- top offenders by kind -------------------------------------------------
# Three addresses of one /24 (one attack each) and one API key over two
# more addresses, on the virtual host that counts networks and keys.
for c in 198.18.7.1 198.18.7.2 198.18.7.3; do
    curl -s -o /dev/null -H "$(xff $c)" "$base2$attack"
done
for c in 198.18.8.1 198.18.9.1; do
    curl -s -o /dev/null -H "$(xff $c)" -H "X-Api-Key: $apikey" "$base2$attack"
done
expect 200 "GET ?json after network and key attacks" '/rlw-status?json'
cp "$root/body" "$out/status-kinds.json"
check "?json top_by_kind: clients, the network and the key, each ranked" $check json "$out/status-kinds.json" \
    "sorted(d['top_by_kind']) == ['client', 'key', 'network']" \
    "[(o['client'], o['count']) for o in d['top_by_kind']['client']][:3] == [('192.0.2.10', 3), ('192.0.2.11', 2), ('2001:db8:1:2::/64', 2)]" \
    "all('kind' not in o for o in d['top_by_kind']['client'])" \
    "[(o['client'], o['count'], o['kind']) for o in d['top_by_kind']['network']][0] == ('198.18.7.0/24', 3, 'network')" \
    "sorted(o['client'] for o in d['top_by_kind']['network'][1:]) == ['198.18.8.0/24', '198.18.9.0/24']" \
    "len(d['top_by_kind']['key']) == 1 and d['top_by_kind']['key'][0]['count'] == 2" \
    "d['top_by_kind']['key'][0]['kind'] == 'key' and d['top_by_kind']['key'][0]['key_name'] == 'api'" \
    "d['top_by_kind']['key'][0]['client'].startswith('key#0:') and len(d['top_by_kind']['key'][0]['client']) == 38" \
    "max(len(v) for v in d['top_by_kind'].values()) <= 10" \
    "'198.18.7.0/24' in [o['client'] for o in d['top_offenders']]"
expect 200 "GET the HTML page after network and key attacks" /rlw-status
cp "$root/body" "$out/status-kinds.html"
check "HTML: top offenders tables by kind, the network and the key by NAME" bash -c "
    grep -q 'id=\"top-client\"' '$out/status-kinds.html' &&
    grep -q 'id=\"top-network\"' '$out/status-kinds.html' &&
    grep -q 'id=\"top-key\"' '$out/status-kinds.html' &&
    grep -q '198\.18\.7\.0/24' '$out/status-kinds.html' &&
    grep -q 'key api</span> key#0:' '$out/status-kinds.html'"
check "the key value is in no status answer" bash -c "
    curl -s -H 'Host: localhost' '$base/rlw-status?prometheus' > '$root/prom-kinds.txt' &&
    ! grep -qF '$apikey' '$out/status-kinds.json' '$out/status-kinds.html' '$root/prom-kinds.txt'"

# --- Prometheus ------------------------------------------------------------
ctype=$(curl -s -o "$out/metrics.txt" -w '%{content_type}' "$base/rlw-status?prometheus")
check "?prometheus Content-Type is text/plain; version=0.0.4" \
    test "${ctype%%;*}" = text/plain -a "$(echo "$ctype" | grep -c 'version=0.0.4')" = 1
check "?prometheus parses strictly, counters and gauges right" $check prom "$out/metrics.txt" \
    "v('ratelimit_waf_attacks_total') >= $threshold" \
    "v('ratelimit_waf_bans_total') >= 1" \
    "v('ratelimit_waf_rejected_total') >= 1" \
    "v('ratelimit_waf_active_bans') >= 1" \
    "v('ratelimit_waf_store_errors_total') == 0" \
    "v('ratelimit_waf_store_degraded') == 0" \
    "v('ratelimit_waf_store_untracked_total') == 0" \
    "v('ratelimit_waf_table_capacity') >= 16" \
    "v('ratelimit_waf_tracked_clients') >= 5" \
    "'ratelimit_waf_unbans_total' in m and 'ratelimit_waf_dry_run_would_reject_total' in m" \
    "'ratelimit_waf_near_threshold_total' in m and 'ratelimit_waf_exempt_threshold_total' in m" \
    "v('ratelimit_waf_events_dropped_total') == 0" \
    "m['ratelimit_waf_active_bans'][0][0]['node'] == '''$node'''"
check "?prometheus declares counters and gauges" \
    grep -qx '# TYPE ratelimit_waf_attacks_total counter' "$out/metrics.txt"
check "?prometheus: active_bans is a gauge" \
    grep -qx '# TYPE ratelimit_waf_active_bans gauge' "$out/metrics.txt"

# --- HTML ------------------------------------------------------------------
expect 200 "GET the HTML page" /rlw-status
cp "$root/body" "$out/status.html"
check "HTML lists the banned client" grep -q '203\.0\.113\.77' "$out/status.html"
check "HTML has an inline SVG chart" grep -q '<svg' "$out/status.html"
check "HTML shows the threat level" grep -q 'class="threat elevated"' "$out/status.html"
check "HTML escapes the node name" grep -qF 'web-1&lt;b&gt;&quot;x&quot;' "$out/status.html"
check "HTML never has the raw node name" bash -c "! grep -qF '<b>\"x\"' '$out/status.html'"
check "HTML has no external assets" bash -c "! grep -qiE '<(script|link)|src=\"http' '$out/status.html'"
check "read-only page has no admin form" bash -c "! grep -q 'name=\"action\"' '$out/status.html'"
expect 200 "GET the admin page" /rlw-admin
check "admin page has the ban/unban form" grep -q 'name="action" value="unban"' "$root/body"
check "OPTIONS: Allow lists GET and POST" bash -c "
    curl -s -i -X OPTIONS '$base/rlw-status' | grep -i '^Allow:' | grep -q 'GET.*POST\|POST.*GET'"

# --- server-status ---------------------------------------------------------
expect 200 "server-status" /server-status
check "server-status has the mod_ratelimit_waf section" grep -q '<h2>mod_ratelimit_waf</h2>' "$root/body"
expect 200 "server-status?auto" '/server-status?auto'
cp "$root/body" "$out/server-status-auto.txt"
check "server-status?auto has the key lines" bash -c "
    grep -qx 'RateLimitWAFActiveBans: 1' '$root/body' &&
    grep -qx 'RateLimitWAFThreat: elevated' '$root/body' &&
    grep -qx 'RateLimitWAFStore: shm' '$root/body' &&
    grep -qE '^RateLimitWAFAttacksTotal: [0-9]+$' '$root/body' &&
    grep -qE '^RateLimitWAFBansTotal: [1-9][0-9]*$' '$root/body' &&
    grep -qE '^RateLimitWAFDryRunWouldRejectTotal: 0$' '$root/body' &&
    ! grep -q '<' '$root/body'"

# --- admin POST ------------------------------------------------------------
# tok ACTION [LOCATION [curl args...]]: the form token for ACTION, as the
# page's ?json gives it to this operator (docs/status.md).
tok() {
    local action=$1 loc=${2:-/rlw-admin}
    shift; shift
    curl -s -H 'Host: localhost' "$@" "$base$loc?json" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["tokens"][sys.argv[1]])' "$action"
}
T_BAN=$(tok ban)
T_UNBAN=$(tok unban)
check "?json of an admin location gives two tokens" \
    test "${#T_BAN}:${#T_UNBAN}:$([ "$T_BAN" != "$T_UNBAN" ] && echo differ)" = 43:43:differ
check "the HTML form carries the same tokens" bash -c "
    curl -s -H 'Host: localhost' '$base/rlw-admin' > '$root/page.html' &&
    grep -q 'name=\"token\" value=\"$T_BAN\"' '$root/page.html' &&
    grep -q 'name=\"token\" value=\"$T_UNBAN\"' '$root/page.html'"
check "no tokens without RateLimitWAFAdmin" bash -c "
    curl -s -H 'Host: localhost' '$base/rlw-status?json' | python3 -c 'import json, sys; sys.exit(\"tokens\" in json.load(sys.stdin))'"
expect 403 "POST unban without RateLimitWAFAdmin" /rlw-status \
    --data "action=unban&client=203.0.113.77&token=$T_UNBAN"
expect 404 "... and the client stays banned" / -H "$(xff 203.0.113.77)"
expect 403 "POST from another site (Origin) is refused" /rlw-admin \
    -H 'Origin: http://evil.example' --data "action=unban&client=203.0.113.77&token=$T_UNBAN"
# CSRF: a post needs the token of its form, for this operator.
expect 403 "POST without a token is refused" /rlw-admin \
    --data 'action=unban&client=203.0.113.77'
check "... saying so" grep -q 'form token' "$root/body"
expect 403 "POST with a forged token is refused" /rlw-admin \
    --data 'action=unban&client=203.0.113.77&token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
expect 403 "POST with the other form's token is refused" /rlw-admin \
    --data "action=unban&client=203.0.113.77&token=$T_BAN"
expect 403 "POST with a token altered in one character is refused" /rlw-admin \
    --data "action=unban&client=203.0.113.77&token=${T_UNBAN%?}$([ "${T_UNBAN: -1}" = A ] && echo B || echo A)"
expect 403 "POST with another operator's token is refused" /rlw-admin \
    --data "action=unban&client=203.0.113.77&token=$(tok unban /rlw-auth -u admin:s3cret)"
expect 404 "... and the client stays banned" / -H "$(xff 203.0.113.77)"
# The Origin, when a browser sends one, names this virtual host and scheme.
expect 403 "DNS rebinding (Host and Origin the attacker's name) is refused" /rlw-admin \
    -H 'Host: evil.example' -H 'Origin: http://evil.example' \
    --data "action=unban&client=203.0.113.77&token=$T_UNBAN"
expect 403 "an Origin with another scheme is refused" /rlw-admin \
    -H 'Origin: https://localhost' --data "action=unban&client=203.0.113.77&token=$T_UNBAN"
expect 403 "Origin: null is refused" /rlw-admin \
    -H 'Origin: null' --data "action=unban&client=203.0.113.77&token=$T_UNBAN"
expect 404 "... and the client stays banned" / -H "$(xff 203.0.113.77)"
expect 303 "POST unban with a token, no Origin nor Sec-Fetch-Site" /rlw-admin \
    --data "action=unban&client=203.0.113.77&token=$T_UNBAN"
expect 200 "unbanned client is served again" / -H "$(xff 203.0.113.77)"
expect 303 "POST ban of a new client, as a browser (Origin, same-origin)" /rlw-admin \
    -H "Origin: http://localhost:$port" -H 'Sec-Fetch-Site: same-origin' \
    --data "action=ban&client=198.51.100.23&duration=5m&token=$T_BAN"
check "the 303 goes back to the page" test "$(curl -s -o /dev/null -w '%{redirect_url}' \
    -H 'Host: localhost' --data "action=ban&client=198.51.100.23&duration=5m&token=$T_BAN" \
    "$base/rlw-admin")" = "$base/rlw-admin?done=ban"
expect 404 "manually banned client is rejected" / -H "$(xff 198.51.100.23)"
expect 404 "unban of a client that is not banned" /rlw-admin \
    --data "action=unban&client=192.0.2.200&token=$T_UNBAN"
expect 200 "POST ?json unban answers JSON" '/rlw-admin?json' \
    --data "action=unban&client=198.51.100.23&token=$T_UNBAN"
check "... which parses" $check json "$root/body" \
    "d == {'ok': True, 'action': 'unban', 'client': '198.51.100.23'}"
expect 200 "... and the client is served again" / -H "$(xff 198.51.100.23)"
expect 403 "POST ?json without a token answers JSON" '/rlw-admin?json' \
    --data 'action=unban&client=198.51.100.23'
check "... which parses" $check json "$root/body" \
    "d['ok'] is False and 'token' in d['error']"
expect 401 "password location without a password" /rlw-auth \
    --data "action=ban&client=198.51.100.23&duration=15m&token=$T_BAN"
expect 403 "logged-in admin with the token of the address, not the user" /rlw-auth -u 'admin:s3cret' \
    --data "action=ban&client=198.51.100.23&duration=15m&token=$T_BAN"
expect 303 "ban by a logged-in admin" /rlw-auth -u 'admin:s3cret' \
    --data "action=ban&client=198.51.100.23&duration=15m&token=$(tok ban /rlw-auth -u admin:s3cret)"
expect 303 "ban of an IPv6 client by its /64" /rlw-admin \
    --data "action=ban&client=2001:db8:9:9::/64&duration=1h&token=$T_BAN"
expect 404 "any address of that /64 is rejected" / -H "$(xff 2001:db8:9:9::abcd)"

# Bad input: 400 with a message.
bad() {
    local t=$T_BAN
    case $1 in *action=unban*) t=$T_UNBAN ;; esac
    expect 400 "bad input: $1" '/rlw-admin' --data "$1&token=$t"
    check "... says why" grep -qi "$2" "$root/body"
}
bad 'action=nuke&client=192.0.2.1' 'action must be ban or unban'
bad 'client=192.0.2.1' 'action must be ban or unban'
bad 'action=ban' 'client is missing'
bad 'action=ban&client=not-an-ip' "'not-an-ip' is not an IPv4 or IPv6"
bad 'action=ban&client=192.0.2.1%25eth0' 'is not an IPv4 or IPv6'
bad 'action=ban&client=2001:db8::/96' 'neither an address, a client network'
bad 'action=ban&client=192.0.2.0/0' 'neither an address, a client network'
bad 'action=ban&client=192.0.2.1&duration=0' 'longer than zero'
bad 'action=ban&client=192.0.2.1&duration=abc' "duration 'abc'"
bad 'action=ban&client=192.0.2.1&duration=400d' 'duration'
expect 400 "bad input as JSON" '/rlw-admin?json' --data "action=ban&client=x&token=$T_BAN"
check "... which parses" $check json "$root/body" \
    "d['ok'] is False and 'not an IPv4' in d['error']"

# Re-offend for a strike 2 ban, so the page shows escalation.
for i in $(seq $threshold); do
    code "$attack" -H "$(xff 203.0.113.77)" >/dev/null
done
expect 404 "attacker banned again" / -H "$(xff 203.0.113.77)"
code '/rlw-status?json' >/dev/null
cp "$root/body" "$out/status-after.json"
check "?json after the admin actions" $check json "$out/status-after.json" \
    "sorted(b['client'] for b in d['bans']) == ['198.51.100.23', '2001:db8:9:9::/64', '203.0.113.77']" \
    "[b['strike'] for b in d['bans'] if b['client'] == '203.0.113.77'] == [2]" \
    "[b['remaining_s'] for b in d['bans'] if b['client'] == '198.51.100.23'][0] in range(880, 901)" \
    "d['totals']['unbans'] == 2 and d['totals']['bans'] == 6" \
    "d['totals']['events_dropped'] == 0"

# Logs and events of the admin actions.
check "error log: manual unban (RLW00041) names user and client" \
    grep -q 'RLW00041: manual unban client=203.0.113.77 user=-' "$root/logs/error_log"
check "error log: manual ban (RLW00040) by admin" \
    grep -qE 'RLW00040: manual ban client=198.51.100.23 ban=15m until=[0-9T:-]+Z user=admin' \
    "$root/logs/error_log"
check "error log: refused admin POST (RLW00043)" \
    grep -q 'RLW00043: status admin request refused' "$root/logs/error_log"
check "error log: refused admin POST without a token (RLW00045)" \
    grep -q 'RLW00045: status admin request refused (no form token for action=unban)' "$root/logs/error_log"
check "error log: refused admin POST with a bad token (RLW00045)" \
    grep -q 'RLW00045: status admin request refused (invalid or expired form token for action=unban)' "$root/logs/error_log"
check "error log: DNS rebinding refused by the Origin check (RLW00043)" \
    grep -q 'RLW00043: status admin request refused (cross-site request (Origin is not a ServerName' "$root/logs/error_log"
check "events: manual ban with user.name" $check json /dev/stdin \
    "any(e['event']['action'] == 'ban' and e['event'].get('reason') == 'manual' and e.get('user', {}).get('name') == 'admin' for e in d)" \
    < <(python3 -c 'import json,sys; print(json.dumps([json.loads(l) for l in open(sys.argv[1])]))' "$root/logs/events.log")
check "events: manual unban" $check json /dev/stdin \
    "any(e['event']['action'] == 'unban' and e['event'].get('reason') == 'manual' for e in d)" \
    < <(python3 -c 'import json,sys; print(json.dumps([json.loads(l) for l in open(sys.argv[1])]))' "$root/logs/events.log")

# A network (RateLimitWAFNetwork): a prefix shorter than a client's.
expect 303 "ban of a network by its /48" /rlw-admin \
    --data "action=ban&client=2001:db8:7::/48&duration=1h&token=$T_BAN"
check "... the status page lists it with kind network" bash -c "
    curl -s -H 'Host: localhost' '$base/rlw-status?json' | python3 -c 'import json, sys
sys.exit(0 if any(b[\"client\"] == \"2001:db8:7::/48\" and b.get(\"kind\") == \"network\" for b in json.load(sys.stdin)[\"bans\"]) else 1)'"
expect 303 "... and its unban" /rlw-admin \
    --data "action=unban&client=2001:db8:7::/48&token=$T_UNBAN"
check "events: the network's manual ban and unban, kind network" $check json /dev/stdin \
    "[e['event']['action'] for e in d if e.get('rlw', {}).get('network') == '2001:db8:7::/48' and e['rlw'].get('kind') == 'network'] == ['ban', 'unban']" \
    < <(python3 -c 'import json,sys; print(json.dumps([json.loads(l) for l in open(sys.argv[1])]))' "$root/logs/events.log")

# A request key (RateLimitWAFKey), by its hash as the page shows it.
KEYH=key#0:5d41402abc4b2a76b9719d911017c592
expect 303 "ban of a request key by its hash" /rlw-admin \
    --data "action=ban&client=$KEYH&duration=1h&token=$T_BAN"
check "... the status page lists it with kind key" bash -c "
    curl -s -H 'Host: localhost' '$base/rlw-status?json' | python3 -c 'import json, sys
sys.exit(0 if any(b[\"client\"] == \"$KEYH\" and b.get(\"kind\") == \"key\" for b in json.load(sys.stdin)[\"bans\"]) else 1)'"
expect 303 "... and its unban" /rlw-admin \
    --data "action=unban&client=$KEYH&token=$T_UNBAN"
check "events: the key's manual ban and unban, kind key, by its hash" $check json /dev/stdin \
    "[e['event']['action'] for e in d if e.get('rlw', {}).get('key', {}).get('hash') == '${KEYH#key#0:}' and e['rlw'].get('kind') == 'key' and 'source' not in e] == ['ban', 'unban']" \
    < <(python3 -c 'import json,sys; print(json.dumps([json.loads(l) for l in open(sys.argv[1])]))' "$root/logs/events.log")
bad 'action=ban&client=key#0:5d41' "is not a key's hash"

# --- the page in a real browser ------------------------------------------
if [ -n "${RLW_NO_BROWSER:-}" ]; then
    echo "skip - Chromium (RLW_NO_BROWSER)"
elif ! command -v chromium >/dev/null; then
    not_ok "Chromium is installed (apt-get install chromium, or make deps)"
else
    chrome() {
        local prof
        prof=$(mktemp -d "$root/chromium.XXXXXX")
        timeout 60 chromium --headless --no-sandbox --disable-gpu \
            --disable-quic --no-first-run --disable-background-networking \
            --disable-component-update --disable-sync --hide-scrollbars \
            --user-data-dir="$prof" "$@" 2>>"$out/chromium.log"
    }
    shot="$out/status.png"
    chrome --screenshot="$shot" --window-size=1280,1600 "$base/rlw-admin"
    check "Chromium screenshot is a PNG of some size" $check png "$shot" 40000
    $check png "$shot" 0 | sed 's/^/# /'
    chrome --dump-dom --window-size=1280,1600 "$base/rlw-admin" > "$out/status-dom.html"
    check "rendered DOM lists the bans" bash -c "
        grep -q '203\.0\.113\.77' '$out/status-dom.html' &&
        grep -q '198\.51\.100\.23' '$out/status-dom.html'"
    check "rendered DOM has the chart and the threat level" bash -c "
        grep -q '<svg' '$out/status-dom.html' &&
        grep -q '<polyline' '$out/status-dom.html' &&
        grep -q '>Elevated<' '$out/status-dom.html'"
    check "rendered DOM keeps the node name as text" \
        grep -qF 'web-1&lt;b&gt;"x"' "$out/status-dom.html"
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
