#!/bin/bash
# t/cli/test_cli.sh - rlwafctl against a real cluster store (make cli-test).
#
# Starts two memcached servers on 127.0.0.1:11611-11612 and, when the module
# is built, one private httpd node (own ServerRoot in /tmp, a port in
# 18800-18899) using them; then drives tools/rlwafctl: ban, status, list,
# unban, their SIEM events (--event-log, RateLimitWAFEventLog), IPv6
# grouping, reading an httpd configuration, hostile input and exit codes, a
# dead memcached, and bans flowing both ways between the tool and the node;
# then a second node on the shm store driven with rlwafctl --url through
# its status page's admin API (ban, status, list, unban of a client, a
# network and a key; a location without RateLimitWAFAdmin, dead, stalled
# and hostile servers). Everything it starts is stopped on exit, by pid.
#
# Needs root (memcached -u nobody, httpd User www-data), memcached, curl and
# python3. Prints "N passed, M failed"; exits non-zero when anything failed.
#   RLW_KEEP=1   keep the temporary directory (logs, configurations)
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../tools/lib/rlw-sh.sh
. "$top/tools/lib/rlw-sh.sh"
ctl="$top/tools/rlwafctl"
so="$top/mod_ratelimit_waf/.libs/mod_ratelimit_waf.so"
moddir=/usr/lib/apache2/modules
# RLW_CLI_MC_PORTS="P1 P2", RLW_CLI_MC_SPARE="P3 P4", RLW_CLI_PORTS=LO-HI:
# other ports than the defaults (when another run holds them).
read -r -a mc_ports <<<"${RLW_CLI_MC_PORTS:-11611 11612}"
servers="--SERVER=127.0.0.1:${mc_ports[0]} --SERVER=127.0.0.1:${mc_ports[1]}"
http_ports=${RLW_CLI_PORTS:-18800-18899}
# A port that hangs, one where nobody listens (RLW_CLI_MC_SPARE="P3 P4").
read -r hung_port dead_port <<<"${RLW_CLI_MC_SPARE:-11613 11619}"
pass=0
fail=0

ok()   { pass=$((pass + 1)); echo "ok   - $1"; }
nok()  { fail=$((fail + 1)); echo "FAIL - $1"; [ -n "${2:-}" ] && echo "       $2"; }
# check NAME CONDITION-COMMAND...
check() { local name=$1; shift; if "$@"; then ok "$name"; else nok "$name"; fi; }
now_ms() { date +%s%3N; }

for tool in memcached curl python3; do
    command -v $tool >/dev/null || { echo "test_cli: $tool is not installed" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "test_cli: run as root (memcached -u nobody, httpd User www-data)" >&2; exit 2; }
if [ ! -x "$ctl" ]; then
    make -C "$top" cli >/dev/null || { echo "test_cli: cannot build $ctl" >&2; exit 2; }
fi

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

W=$(mktemp -d /tmp/rlw-cli.XXXXXX)
chmod 755 "$W"
httpd_conf=
shm_started=
cleanup() {
    [ -n "$httpd_conf" ] && rlw_httpd_stop "$W/httpd/run/httpd.pid" 5
    [ -n "$shm_started" ] && rlw_httpd_stop "$W/shm/run/httpd.pid" 5
    rlw_mc_stop "$W/mc"
    if [ -z "${RLW_KEEP:-}" ]; then rm -rf "$W"; else echo "test_cli: kept $W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the cluster store ---------------------------------------------------
mkdir "$W/mc"
for p in "${mc_ports[@]}"; do
    if port_busy "$p"; then
        echo "test_cli: port $p is already in use (a memcached left over?); stop it first" >&2
        exit 2
    fi
    rlw_mc_start "$W/mc" "$p" || { echo "test_cli: memcached on $p did not start" >&2; exit 2; }
done

head -c 48 /dev/urandom | base64 -w0 > "$W/secret"
chmod 600 "$W/secret"
R=("$ctl" --memcached "$servers" --secret "$W/secret")

# run CMD...: sets $out, $err, $rc
run() { out=$("$@" 2>"$W/stderr"); rc=$?; err=$(cat "$W/stderr"); }
# json EXPR: evaluates a Python expression on the JSON document in $out (j)
json() { python3 -c 'import json,sys; j=json.loads(sys.stdin.read()); sys.exit(0 if eval(sys.argv[1]) else 1)' "$1" <<<"$out"; }

echo "# ban / status / list / unban"
C=192.0.2.10
run "${R[@]}" status $C;            check "status of a fresh client exits 1" [ $rc = 1 ]
check "  and says not banned" grep -q '^banned *no' <<<"$out"
run "${R[@]}" ban $C 10m;           check "ban $C 10m exits 0" [ $rc = 0 ]
check "  and says so" grep -q "banned $C for 10m" <<<"$out"
run "${R[@]}" status $C;            check "status of the banned client exits 0" [ $rc = 0 ]
run "${R[@]}" --json status $C
check "status --json exits 0" [ $rc = 0 ]
check "  parses, banned, remaining > 0" json "j['banned'] is True and j['client']=='$C' and 0 < j['ban']['remaining_ms'] <= 600000 and j['exit']==0"
run "${R[@]}" list
check "list exits 0 and shows $C" bash -c '[ '$rc' = 0 ] && grep -q "^'$C' " <<<"$1"' _ "$out"
check "  with the tool as node" grep -q "rlwafctl@" <<<"$out"
run "${R[@]}" list --json
check "list --json parses and holds $C" json "[b['client'] for b in j['bans']]==['$C'] and j['bans'][0]['remaining_ms']>0"
run "${R[@]}" ban $C 20m;           check "a second ban replaces the running one" bash -c '[ '$rc' = 0 ] && grep -q replacing <<<"$1"' _ "$out"
run "${R[@]}" unban $C;             check "unban exits 0" [ $rc = 0 ]
run "${R[@]}" unban $C;             check "a second unban exits 1 (nothing to do)" [ $rc = 1 ]
run "${R[@]}" status $C;            check "status after unban exits 1" [ $rc = 1 ]
run "${R[@]}" --json status $C
check "  --json: banned false, the lifted ban kept" json "j['banned'] is False and j['ban']['active'] is False and j['exit']==1"
run "${R[@]}" list;                 check "list is empty" bash -c '[ '$rc' = 0 ] && grep -q "^no running bans" <<<"$1"' _ "$out"
run "${R[@]}" --json list;          check "list --json is empty" json "j['bans']==[] and j['active']==0"

echo "# networks (RateLimitWAFNetwork): a prefix shorter than a client's"
NET=203.0.113.0/24
run "${R[@]}" status $NET;          check "status of a fresh network exits 1" [ $rc = 1 ]
check "  and names it a network" grep -q "^network  *$NET" <<<"$out"
run "${R[@]}" ban $NET 10m;         check "ban $NET 10m exits 0" [ $rc = 0 ]
check "  and says it banned the network" grep -q "banned network $NET for 10m" <<<"$out"
run "${R[@]}" --json status $NET
check "  status --json: banned, kind network" json "j['banned'] is True and j['client']=='$NET' and j['kind']=='network'"
run "${R[@]}" status 203.0.113.7;   check "  an address inside is not banned as a client" [ $rc = 1 ]
run "${R[@]}" --json list
check "  list --json holds the network, kind network" json "[(b['client'],b.get('kind')) for b in j['bans']]==[('$NET','network')]"
run "${R[@]}" --json status 2001:db8:1::/48
check "an IPv6 /48 is a network too" json "j['kind']=='network' and j['client']=='2001:db8:1::/48'"
run "${R[@]}" --json status 2001:db8:1:2::/64
check "an IPv6 /64 is a grouped client (no kind)" json "'kind' not in j and j['client']=='2001:db8:1:2::/64'"
run "${R[@]}" --event-log "$W/net-events.log" unban $NET
check "unban $NET exits 0" [ $rc = 0 ]
check "  its event has source.address $NET, rlw.kind network, no source.ip" python3 -c 'import json,sys
e=[json.loads(l) for l in open(sys.argv[1])]
sys.exit(0 if len(e)==1 and e[0]["source"]=={"address":sys.argv[2]} and e[0]["rlw"]["kind"]=="network" else 1)' "$W/net-events.log" $NET
run "${R[@]}" list;                 check "list is empty again" grep -q "^no running bans" <<<"$out"

echo "# SIEM events of ban and unban (--event-log)"
# events FILE EXPR: every line of FILE parses as JSON; EXPR (Python) holds
# for the list of objects e
events() { python3 -c 'import json,sys
lines=open(sys.argv[1]).read().splitlines()
e=[json.loads(l) for l in lines]
sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"; }
E=192.0.2.40
EV="$W/events.log"
env -u SUDO_USER USER=alice "${R[@]}" --event-log "$EV" ban $E 10m >/dev/null
rc1=$?
env -u SUDO_USER USER=alice "${R[@]}" unban $E --event-log "$EV" >/dev/null
rc2=$?
check "ban + unban with --event-log exit 0" [ $rc1 = 0 -a $rc2 = 0 ]
check "  exactly two lines, each one JSON object" events "$EV" "len(lines)==2 and all(type(x) is dict for x in e)"
check "  ban then unban, reason manual, by alice, source.ip $E" events "$EV" \
    "[x['event']['action'] for x in e]==['ban','unban'] and all(x['event']['reason']=='manual' and x['user']['name']=='alice' and x['source']['ip']=='$E' for x in e)"
check "  observer and rlw.node are the tool, store memcached" events "$EV" \
    "all(x['observer']['hostname'].startswith('rlwafctl@') and x['rlw']['node']==x['observer']['hostname'] and x['rlw']['store']=='memcached' for x in e)"
check "  the ban's 10m, then the ban as it ran (ended by the unban)" events "$EV" \
    "e[0]['event']['duration']==600*10**9 and e[1]['event']['start']==e[0]['event']['start'] and e[1]['event']['end']<e[0]['event']['end'] and e[1]['event']['kind']=='event'"
SUDO_USER=bob USER=alice "${R[@]}" --event-log "$W/sudo.log" ban $E 1m >/dev/null
check "  \$SUDO_USER wins over \$USER" events "$W/sudo.log" "len(e)==1 and e[0]['user']['name']=='bob'"
run "${R[@]}" --json --event-log "$W/sudo.log" unban $E
check "  unban --json says the event was written" json "j['event'] is True and j['exit']==0"
"${R[@]}" ban $E 1m >/dev/null
run "${R[@]}" --json unban $E
check "without --event-log (and no -f): no event, exit 0" json "j['event'] is False and j['exit']==0"
expect2() { run "$@"; [ $rc = 2 ] || { echo "       exit $rc: $err"; return 1; }; }
check "--event-log '|cat' is refused (exit 2)" expect2 "${R[@]}" --event-log '|cat' ban $E 1m
check "--event-log syslog:bogus is refused (exit 2)" expect2 "${R[@]}" --event-log syslog:bogus ban $E 1m
run "${R[@]}" --event-log "$W/no/such/dir/ev.log" ban $E 1m
check "an event log that cannot be opened exits 3" bash -c '[ '$rc' = 3 ] && grep -q "nothing was changed" <<<"$1"' _ "$err"
run "${R[@]}" status $E
check "  and bans nothing" [ $rc = 1 ]

echo "# IPv6 clients are grouped by /64"
run "${R[@]}" ban 2001:db8:7:8::1 5m
check "ban of an IPv6 address exits 0" [ $rc = 0 ]
run "${R[@]}" status 2001:db8:7:8:ffff::2
check "another address of the /64 is banned" [ $rc = 0 ]
run "${R[@]}" status 2001:db8:7:9::1
check "the next /64 is not" [ $rc = 1 ]
run "${R[@]}" list
check "list shows the network" grep -q '^2001:db8:7:8::/64 ' <<<"$out"
run "${R[@]}" unban 2001:db8:7:8::/64
check "unban by the network as listed" [ $rc = 0 ]
run "${R[@]}" --v6-prefix 48 status 2001:db8:7:8::1
check "--v6-prefix 48 is another client" [ $rc = 1 ]

echo "# the secret seals the records"
head -c 48 /dev/urandom | base64 -w0 > "$W/other"; chmod 600 "$W/other"
"${R[@]}" ban 192.0.2.11 5m >/dev/null
run "$ctl" --memcached "$servers" --secret "$W/other" status 192.0.2.11
check "another secret does not see the ban (other pseudonym)" [ $rc = 1 ]
run "$ctl" --memcached "$servers" --secret "$W/other" list
check "  and its list warns about entries that do not open" grep -q "do not open" <<<"$err"
run "$ctl" --memcached "$servers" --secret "$W/secret" --prefix other: status 192.0.2.11
check "another key prefix does not see it" [ $rc = 1 ]
"${R[@]}" unban 192.0.2.11 >/dev/null

echo "# settings from an httpd configuration"
mkdir -p "$W/etc/conf.d" "$W/etc/keys"
cp "$W/secret" "$W/etc/keys/cluster.key"
cat > "$W/etc/httpd.conf" <<CONF
# a comment
ServerRoot "$W/etc"
Define STORE_SERVERS "$servers"
IncludeOptional conf.d/*.conf
IncludeOptional nothing-here/*.conf
CONF
cat > "$W/etc/conf.d/rlw.conf" <<'CONF'
<IfModule ratelimit_waf_module>
    RateLimitWAF On
    RateLimitWAFStore memcached "${STORE_SERVERS}"
    RateLimitWAFSecretFile keys/cluster.key
    RateLimitWAFKeyPrefix \
        "rlw:"
    RateLimitWAFIPv6Prefix 56
    RateLimitWAFWindow 2m
    RateLimitWAFNodeName "web 7"
</IfModule>
CONF
run "$ctl" -f "$W/etc/httpd.conf" ban 2001:db8:1:ff::1 5m
check "-f: ban through an included file, quotes, \${VAR}, continuation" [ $rc = 0 ]
check "  with the v6 prefix read (/56)" grep -q '2001:db8:1::/56' <<<"$out"
run "${R[@]}" --v6-prefix 56 --json list
check "  node named after RateLimitWAFNodeName" json "any(b['node']=='rlwafctl@web 7' for b in j['bans'])"
run "$ctl" -f "$W/etc/httpd.conf" --json status 2001:db8:1:22::1
check "  status -f --json: window read (2m)" json "j['banned'] and j['window_ms']==120000"
"$ctl" -f "$W/etc/httpd.conf" unban 2001:db8:1::/56 >/dev/null
# RateLimitWAFEventLog of the file: a file relative to ServerRoot
mkdir -p "$W/etc/logs"
cat > "$W/etc/events.conf" <<CONF
ServerRoot "$W/etc"
RateLimitWAFStore memcached "$servers"
RateLimitWAFSecretFile keys/cluster.key
RateLimitWAFEventLog logs/events.log
RateLimitWAFThreshold 7
<VirtualHost *:80>
    RateLimitWAFThreshold 99
</VirtualHost>
CONF
USER=carol "$ctl" -f "$W/etc/events.conf" ban 192.0.2.41 5m >/dev/null
rc1=$?
USER=carol "$ctl" -f "$W/etc/events.conf" unban 192.0.2.41 >/dev/null
rc2=$?
check "-f: ban + unban write to RateLimitWAFEventLog (ServerRoot-relative)" [ $rc1 = 0 -a $rc2 = 0 ]
check "  two lines, ban and unban by carol, main-server threshold 7" events "$W/etc/logs/events.log" \
    "[x['event']['action'] for x in e]==['ban','unban'] and all(x['user']['name']=='carol' for x in e) and e[0]['rlw']['threshold']==7"
"$ctl" -f "$W/etc/events.conf" --event-log "$W/override.log" ban 192.0.2.41 5m >/dev/null
"$ctl" -f "$W/etc/events.conf" unban 192.0.2.41 >/dev/null
check "  --event-log wins over the file's" events "$W/override.log" "len(e)==1 and e[0]['event']['action']=='ban'"
check "  (the file's got only the unban)" events "$W/etc/logs/events.log" "len(e)==3 and e[2]['event']['action']=='unban'"
sed 's#^RateLimitWAFEventLog .*#RateLimitWAFEventLog "|/usr/bin/logger -t rlw"#' "$W/etc/events.conf" > "$W/etc/piped.conf"
run "$ctl" -f "$W/etc/piped.conf" ban 192.0.2.42 5m
check "-f: a piped RateLimitWAFEventLog: ban exits 0, stderr says no event was written" bash -c '[ '$rc' = 0 ] && grep -q "no event was written" <<<"$1"' _ "$err"
run "$ctl" -f "$W/etc/piped.conf" --event-log "$W/piped.log" unban 192.0.2.42
check "  with --event-log: written, and no such note" bash -c '[ '$rc' = 0 ] && ! grep -q "no event" <<<"$1"' _ "$err"
check "  one unban line" events "$W/piped.log" "len(e)==1 and e[0]['event']['action']=='unban'"
printf 'Include missing/*.conf\n' > "$W/etc/bad.conf"
run "$ctl" -f "$W/etc/bad.conf" list
check "-f: Include matching nothing exits 3 naming file and line" bash -c '[ '$rc' = 3 ] && grep -q "bad.conf line 1" <<<"$1"' _ "$err"
printf 'RateLimitWAFStore shm\n' > "$W/etc/shm.conf"
run "$ctl" -f "$W/etc/shm.conf" list
check "-f: a shm store exits 3" bash -c '[ '$rc' = 3 ] && grep -q "memcached" <<<"$1"' _ "$err"
printf 'Include %s\n' "$W/etc/loop.conf" > "$W/etc/loop.conf"
run "$ctl" -f "$W/etc/loop.conf" list
check "-f: an Include loop exits 3" bash -c '[ '$rc' = 3 ] && grep -q "nested" <<<"$1"' _ "$err"
run "$ctl" -f "$W/nonexistent.conf" list
check "-f: a missing file exits 3" bash -c '[ '$rc' = 3 ] && grep -q "nonexistent.conf" <<<"$1"' _ "$err"
printf 'RateLimitWAFStore memcached "%s\n' "$servers" > "$W/etc/quote.conf"
run "$ctl" -f "$W/etc/quote.conf" list
check "-f: an unclosed quote exits 3" [ $rc = 3 ]

echo "# usage errors and hostile input (exit 2)"
expect() { # expect CODE PATTERN NAME CMD...
    local code=$1 pat=$2 name=$3; shift 3
    run "$@"
    if [ "$rc" = "$code" ] && grep -qi -- "$pat" <<<"$err"; then ok "$name"
    else nok "$name" "exit $rc, stderr: $err"; fi
}
expect 2 "not a client address" "bad IP" "${R[@]}" status 300.1.2.3
expect 2 "not a client address" "an address with a zone" "${R[@]}" status fe80::1%eth0
expect 2 "not a client address" "a host name" "${R[@]}" ban www.example.com 1m
expect 2 "not a client nor a network" "an IPv6 network longer than a client" "${R[@]}" status 2001:db8::/96
expect 2 "not a client nor a network" "a /0" "${R[@]}" status 0.0.0.0/0
expect 2 "not a client address" "an empty client" "${R[@]}" status ""
run "${R[@]}" status $'192.0.2.1\n[error] forged line'
check "a newline in the client cannot forge a line" bash -c '[ '$rc' = 2 ] && [ $(wc -l <<<"$1") = 1 ]' _ "$err"
run "${R[@]}" status "$(head -c 5000 /dev/zero | tr '\0' A)"
check "a 5000-byte client is refused and cut in the message" bash -c '[ '$rc' = 2 ] && [ ${#1} -lt 300 ]' _ "$err"
expect 2 "not a ban duration" "bad duration unit" "${R[@]}" ban 192.0.2.12 10x
expect 2 "not a ban duration" "fractional duration" "${R[@]}" ban 192.0.2.12 1.5h
expect 2 "no sign" "negative duration" "${R[@]}" ban 192.0.2.12 -5m
expect 2 "too short" "zero duration" "${R[@]}" ban 192.0.2.12 0
expect 2 "too long" "duration over 366 days" "${R[@]}" ban 192.0.2.12 400d
expect 2 "two arguments" "ban without a duration" "${R[@]}" ban 192.0.2.12
expect 2 "no argument" "list with an argument" "${R[@]}" list extra
expect 2 "unknown command" "unknown command" "${R[@]}" frobnicate
expect 2 "no command" "no command" "${R[@]}"
expect 2 "unknown" "unknown option" "${R[@]}" --frob list
expect 2 "prefix length" "bad --v6-prefix" "${R[@]}" --v6-prefix 200 list
expect 2 "key prefix" "a key prefix with a space" "${R[@]}" --prefix "a b" list
expect 2 "memcached configuration" "bad --memcached" "$ctl" --memcached "--NOPE=1" --secret "$W/secret" list
run "${R[@]}" --json ban 192.0.2.12 10x
check "--json error: one document with error and exit 2" json "j['exit']==2 and 'duration' in j['error']"
run "${R[@]}" --help
check "--help exits 0" bash -c '[ '$rc' = 0 ] && grep -q "exit codes" <<<"$1"' _ "$out"
version=$(sed -n 's/^#define RLW_VERSION "\(.*\)"$/\1/p' "$top/mod_ratelimit_waf/core/rlw_version.h")
run "$ctl" --version
check "--version prints rlw_version.h's $version, exit 0" \
    test "$rc:$out" = "0:rlwafctl (mod_ratelimit_waf) $version"

echo "# configuration errors (exit 3)"
expect 3 "no cluster secret" "missing secret option" "$ctl" --memcached "$servers" list
expect 3 "No such file" "missing secret file" "$ctl" --memcached "$servers" --secret "$W/none" list
cp "$W/secret" "$W/secret644"; chmod 644 "$W/secret644"
expect 3 "readable or writable by others" "world-readable secret" "$ctl" --memcached "$servers" --secret "$W/secret644" status 192.0.2.1
cp "$W/secret" "$W/secret620"; chmod 620 "$W/secret620"
expect 3 "writable by its group" "group-writable secret" "$ctl" --memcached "$servers" --secret "$W/secret620" status 192.0.2.1
if [ "$(id -u)" = 0 ]; then
    mkdir -m 755 "$W/pub"; cp "$W/secret" "$W/pub/secret-daemon"; chown daemon "$W/pub/secret-daemon"
    expect 3 "belongs to uid $(id -u daemon)" "a secret of another user" "$ctl" --memcached "$servers" --secret "$W/pub/secret-daemon" status 192.0.2.1
    run runuser -u daemon -- "$ctl" --memcached "$servers" --secret "$W/pub/secret-daemon" status 192.0.2.1
    check "  its own user may use it" [ $rc != 3 ]
fi
printf 'short' > "$W/short"; chmod 600 "$W/short"
expect 3 "secret refused" "too short a secret" "$ctl" --memcached "$servers" --secret "$W/short" list
ln -s "$W/secret" "$W/link"
expect 3 "secret refused" "a symlinked secret" "$ctl" --memcached "$servers" --secret "$W/link" list
expect 3 "secret refused" "a directory as secret" "$ctl" --memcached "$servers" --secret "$W" list

echo "# memcached unreachable (exit 4)"
for cmd in "status 192.0.2.1" "ban 192.0.2.1 1m" "unban 192.0.2.1" "list"; do
    t0=$(now_ms)
    run "$ctl" --memcached "--SERVER=127.0.0.1:$dead_port" --secret "$W/secret" $cmd
    dt=$(( $(now_ms) - t0 ))
    if [ $rc = 4 ] && [ $dt -lt 2500 ] && grep -q "127.0.0.1:$dead_port" <<<"$err"; then
        ok "dead memcached: $cmd exits 4 in ${dt}ms naming the server"
    else nok "dead memcached: $cmd" "exit $rc after ${dt}ms: $err"; fi
done
# An address nobody answers (libmemcached 1.1 reports some of these reads as
# a plain miss: the tool must not print "not banned").
t0=$(now_ms)
run "$ctl" --memcached "--SERVER=10.255.255.1:11211" --secret "$W/secret" --timeout 500ms status 192.0.2.1
dt=$(( $(now_ms) - t0 ))
check "unreachable memcached: exit 4 within 2.5s (${dt}ms)" bash -c "[ $rc = 4 ] && [ $dt -lt 2500 ]"
# A server that takes connections and never answers: the timeout bounds it.
python3 -c 'import socket,sys,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64); time.sleep(60)' "$hung_port" &
hung=$!
for _ in $(seq 30); do port_busy $hung_port && break; sleep 0.1; done
for cmd in "status 192.0.2.1" "list"; do
    t0=$(now_ms)
    run "$ctl" --memcached "--SERVER=127.0.0.1:$hung_port" --secret "$W/secret" $cmd
    dt=$(( $(now_ms) - t0 ))
    check "hung memcached: $cmd exits 4 within 2.5s (${dt}ms)" bash -c "[ $rc = 4 ] && [ $dt -lt 2500 ]"
done
kill $hung 2>/dev/null; wait $hung 2>/dev/null
# One of the two servers dead: whatever hashes to it fails, loudly.
fails=0
for i in $(seq 1 8); do
    run "$ctl" --memcached "--SERVER=127.0.0.1:${mc_ports[0]} --SERVER=127.0.0.1:$dead_port" --secret "$W/secret" ban 192.0.2.$((100 + i)) 1m
    case $rc in 0) ;; 4) fails=$((fails + 1)) ;; *) fails=99 ;; esac
done
check "half the pool dead: some bans exit 4, none exits otherwise ($fails of 8)" bash -c "[ $fails -ge 1 ] && [ $fails -le 8 ]"
for i in $(seq 1 8); do "${R[@]}" unban 192.0.2.$((100 + i)) >/dev/null; done

if command -v valgrind >/dev/null; then
    echo "# valgrind"
    for cmd in "ban 192.0.2.13 1m --event-log $W/vg.log" "status 192.0.2.13" "unban 192.0.2.13 --event-log $W/vg.log" "list --json"; do
        valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
            --error-exitcode=99 "${R[@]}" $cmd >/dev/null 2>"$W/vg"
        rc=$?
        check "valgrind: $cmd is clean" bash -c "[ $rc != 99 ]" || cat "$W/vg"
    done
fi

# --- one private httpd node ----------------------------------------------
if [ ! -f "$so" ]; then
    echo "# $so is not built: httpd node tests skipped"
else
    echo "# one httpd node using the same memcached"
    port=
    for p in $(seq ${http_ports%-*} ${http_ports#*-}); do port_busy "$p" || { port=$p; break; }; done
    H="$W/httpd"
    mkdir -p "$H/run" "$H/logs" "$H/htdocs" "$H/conf.d"
    echo ok > "$H/htdocs/index.html"
    echo ok > "$H/htdocs/attack"
    cp "$W/secret" "$H/cluster.key"
    chmod -R a+rX "$H"; chmod 600 "$H/cluster.key"
    httpd_conf="$H/httpd.conf"
    # The generator every private server shares; rlwafctl -f reads this file too.
    rlw_conf --generated-by t/cli/test_cli.sh \
        --root "$H" --listen "$port" --user www-data --group www-data \
        --mpm-tuning none --loglevel 'warn ratelimit_waf:info' \
        --module-dir "$moddir" --load setenvif --module-so "$so" \
        --directive 'SetEnvIf Request_URI "^/attack" MODSEC_ANOMALY_SCORE=10' \
        --directive 'IncludeOptional conf.d/*.conf' > "$httpd_conf" || exit 2
    cat > "$H/conf.d/ratelimit_waf.conf" <<CONF
RateLimitWAF On
RateLimitWAFThreshold 5
RateLimitWAFWindow 1m
RateLimitWAFBanTime 2m
RateLimitWAFStore memcached "$servers"
RateLimitWAFSecretFile cluster.key
RateLimitWAFSyncInterval 200ms
RateLimitWAFNodeName node-a
RateLimitWAFNetwork 24 48 1000
CONF
    F=("$ctl" -f "$httpd_conf")
    if ! /usr/sbin/apache2 -d "$H" -f "$httpd_conf" -k start 2>"$W/httpd.err"; then
        nok "httpd starts" "$(cat "$W/httpd.err")"
    else
        code() { curl -s -o /dev/null -w '%{http_code}' -H "X-Forwarded-For: $1" "http://127.0.0.1:$port${2:-/}"; }
        # wait_code CLIENT CODE: polls / for up to 3s; echoes the ms it took
        wait_code() {
            local t0 c; t0=$(now_ms)
            while [ $(( $(now_ms) - t0 )) -lt 3000 ]; do
                c=$(code "$1"); [ "$c" = "$2" ] && { echo $(( $(now_ms) - t0 )); return 0; }
                sleep 0.05
            done
            echo $(( $(now_ms) - t0 )); return 1
        }
        for _ in $(seq 50); do [ "$(code 198.51.100.1)" = 200 ] && break; sleep 0.1; done
        check "httpd node answers on port $port" [ "$(code 198.51.100.1)" = 200 ]
        sleep 0.5 # the first sync of the node's watchdog

        N=198.51.100.20
        check "$N gets 200 before any ban" [ "$(code $N)" = 200 ]
        run "${F[@]}" ban $N 2m
        check "rlwafctl -f (the node's own configuration) bans $N" [ $rc = 0 ]
        ms=$(wait_code $N 404); r=$?
        check "  the node answers 404 to $N within 1s (${ms}ms)" bash -c "[ $r = 0 ] && [ $ms -le 1200 ]"
        check "  another client still gets 200" [ "$(code 198.51.100.21)" = 200 ]
        run "${F[@]}" unban $N
        check "rlwafctl unban $N" [ $rc = 0 ]
        ms=$(wait_code $N 200); r=$?
        check "  the node lets $N through again within 1s (${ms}ms)" bash -c "[ $r = 0 ] && [ $ms -le 1200 ]"

        run "${F[@]}" ban 192.0.2.0/24 2m
        check "rlwafctl bans the network 192.0.2.0/24" [ $rc = 0 ]
        ms=$(wait_code 192.0.2.77 404); r=$?
        check "  the node answers 404 to an address inside within 1s (${ms}ms)" bash -c "[ $r = 0 ] && [ $ms -le 1200 ]"
        check "  and 200 to another network" [ "$(code 192.0.3.1)" = 200 ]
        run "${F[@]}" unban 192.0.2.0/24
        ms=$(wait_code 192.0.2.77 200); r=$?
        check "  unban of the network reaches the node (${ms}ms)" bash -c "[ $rc = 0 ] && [ $r = 0 ] && [ $ms -le 1200 ]"

        A=198.51.100.30
        for _ in 1 2; do code $A /attack >/dev/null; done
        run "${F[@]}" --json status $A
        check "2 attacks on the node: status shows count 2, not banned" json "j['count']==2 and j['banned'] is False"
        for _ in 1 2 3; do code $A /attack >/dev/null; done
        check "the 5th attack bans $A on the node" [ "$(code $A)" = 404 ]
        run "${F[@]}" --json status $A
        check "  rlwafctl status sees the node's ban" json "j['banned'] and j['ban']['strikes']==1 and j['ban']['count']==5 and 100000 < j['ban']['remaining_ms'] <= 120000"
        check "  status exits 0" [ $rc = 0 ]
        run "${F[@]}" --json list
        check "  rlwafctl list shows it, decided by node-a" json "any(b['client']=='$A' and b['node']=='node-a' and b['strikes']==1 for b in j['bans'])"
        run "${F[@]}" unban $A
        ms=$(wait_code $A 200); r=$?
        check "  unban of the node's ban reaches the node (${ms}ms)" bash -c "[ $rc = 0 ] && [ $r = 0 ] && [ $ms -le 1200 ]"
        run "${F[@]}" --json list
        check "list is empty at the end" json "j['bans']==[]"
        if grep -E '\[(emerg|alert|crit)\]|AH00052|segfault' "$H/logs/error_log" >/dev/null; then
            nok "httpd error log is free of crashes" "$(grep -E 'emerg|alert|crit|AH00052' "$H/logs/error_log" | head -3)"
        else ok "httpd error log is free of crashes"; fi
    fi
fi

# --- one node on the shm store: rlwafctl --url (its status page) -----------
if [ -f "$so" ]; then
    echo "# rlwafctl --url: a node on the shm store, through its admin API"
    port2=
    for p in $(seq ${http_ports%-*} ${http_ports#*-}); do
        [ "$p" = "${port:-}" ] && continue
        port_busy "$p" || { port2=$p; break; }
    done
    S="$W/shm"
    mkdir -p "$S/run" "$S/logs" "$S/htdocs"
    echo ok > "$S/htdocs/index.html"
    echo ok > "$S/htdocs/attack"
    chmod -R a+rX "$S"
    chown www-data "$S/logs"
    shm_conf="$S/httpd.conf"
    rlw_conf --generated-by t/cli/test_cli.sh \
        --root "$S" --listen "$port2" --user www-data --group www-data \
        --mpm-tuning none --loglevel 'warn ratelimit_waf:info' \
        --module-dir "$moddir" --load setenvif --load authz_host \
        --load authn_core --load auth_basic --load authn_file --load authz_user \
        --module-so "$so" \
        --directive 'SetEnvIf Request_URI "^/attack" MODSEC_ANOMALY_SCORE=10' \
        --directive-file /dev/stdin > "$shm_conf" <<CONF || exit 2
RateLimitWAF On
RateLimitWAFStore shm
RateLimitWAFThreshold 5
RateLimitWAFWindow 1m
RateLimitWAFBanTime 2m
RateLimitWAFNodeName node-shm
RateLimitWAFNetwork 24 48 1000
RateLimitWAFKey api "%{HTTP:X-Api-Key}" 1000
RateLimitWAFEventLog "$S/logs/events.log"
<Location "/rlw-admin">
    SetHandler ratelimit-waf-status
    Require ip 127.0.0.1
    RateLimitWAFAdmin On
</Location>
<Location "/rlw-status">
    SetHandler ratelimit-waf-status
    Require ip 127.0.0.1
</Location>
<Location "/rlw-closed">
    SetHandler ratelimit-waf-status
    Require all denied
</Location>
<Location "/rlw-auth">
    SetHandler ratelimit-waf-status
    AuthType Basic
    AuthName "rlw admin"
    AuthUserFile "$S/htpasswd"
    Require valid-user
    RateLimitWAFAdmin On
</Location>
CONF
    htpasswd -cbB "$S/htpasswd" operator 'op s3cret' 2>/dev/null
    chmod a+r "$S/htpasswd"
    if ! /usr/sbin/apache2 -d "$S" -f "$shm_conf" -k start 2>"$W/shm.err"; then
        nok "shm httpd starts" "$(cat "$W/shm.err")"
    else
        shm_started=1
        scode() { curl -s -o /dev/null -w '%{http_code}' -H "X-Forwarded-For: $1" ${3:+-H "X-Api-Key: $3"} "http://127.0.0.1:$port2${2:-/}"; }
        for _ in $(seq 50); do [ "$(scode 198.51.100.1)" = 200 ] && break; sleep 0.1; done
        check "shm node answers on port $port2" [ "$(scode 198.51.100.1)" = 200 ]
        U=("$ctl" --url "http://127.0.0.1:$port2/rlw-admin")
        # manual_events: the node's manual ban/unban events, as "action subject" lines
        manual_events() { python3 -c 'import json,sys
for l in open(sys.argv[1]):
    e=json.loads(l)
    if e["event"].get("reason")=="manual":
        r=e.get("rlw",{})
        print(e["event"]["action"], e.get("source",{}).get("ip") or r.get("network") or r.get("key",{}).get("hash"))' "$S/logs/events.log" 2>/dev/null; }

        run "${U[@]}" list
        check "--url list of a fresh node: exit 0, no running bans" bash -c '[ '$rc' = 0 ] && grep -q "^no running bans on node-shm" <<<"$1"' _ "$out"
        X=198.51.100.60
        run "${U[@]}" status $X
        check "--url status of a fresh client exits 1, not banned" bash -c '[ '$rc' = 1 ] && grep -q "^banned *no" <<<"$1"' _ "$out"
        check "$X gets 200 before the ban" [ "$(scode $X)" = 200 ]
        run "${U[@]}" ban $X 10m
        check "--url ban $X 10m exits 0 and says so" bash -c '[ '$rc' = 0 ] && grep -q "banned '$X' for 10m" <<<"$1"' _ "$out"
        check "  the node answers 404 to $X at once" [ "$(scode $X)" = 404 ]
        check "  and 200 to another client" [ "$(scode 198.51.100.61)" = 200 ]
        run "${U[@]}" --json status $X
        check "--url status --json: banned, 10m, node-shm, exit 0" json "j['banned'] is True and j['client']=='$X' and 590000 < j['ban']['remaining_ms'] <= 600000 and j['ban']['node']=='node-shm' and j['exit']==0"
        run "${U[@]}" list
        check "--url list shows $X decided by node-shm" grep -qE "^$X +.* node-shm$" <<<"$out"
        run "${U[@]}" ban 192.0.2.0/24 5m
        check "--url ban of a network exits 0" bash -c '[ '$rc' = 0 ] && grep -q "banned network 192.0.2.0/24 for 5m" <<<"$1"' _ "$out"
        check "  the node answers 404 to an address inside" [ "$(scode 192.0.2.77)" = 404 ]
        check "  and 200 to another network" [ "$(scode 192.0.3.1)" = 200 ]
        run "${U[@]}" --json list
        check "--url list --json: both bans, the network with kind network" json "sorted((b['client'],b.get('kind','client')) for b in j['bans'])==[('192.0.2.0/24','network'),('$X','client')] and j['active']==2 and j['exit']==0"
        # A request key: its hash from the page's top offenders (the value
        # is never shown), banned by hash; any address carrying it gets 404.
        scode 203.0.113.5 /attack k-9f8e7d6c >/dev/null
        KH=$(curl -s "http://127.0.0.1:$port2/rlw-status?json" | python3 -c 'import json,sys
k=json.load(sys.stdin)["top_by_kind"]["key"]; print(k[0]["client"] if len(k)==1 else "")')
        check "the key's hash from the page (top_by_kind)" grep -qE '^key#0:[0-9a-f]{32}$' <<<"$KH"
        run "${U[@]}" --json status "$KH"
        check "--url status of the key: count 1 from the top offenders, not banned" json "j['kind']=='key' and j['count']==1 and j['banned'] is False and j['exit']==1"
        run "${U[@]}" ban "$KH" 5m
        check "--url ban of the key by hash exits 0" bash -c '[ '$rc' = 0 ] && grep -q "banned key key#0:" <<<"$1"' _ "$out"
        check "  any address carrying the key gets 404" [ "$(scode 198.51.100.99 / k-9f8e7d6c)" = 404 ]
        check "  the same address without it gets 200" [ "$(scode 198.51.100.99)" = 200 ]
        run "${U[@]}" unban "$KH"
        check "--url unban of the key exits 0" [ $rc = 0 ]
        check "  the key is served again" [ "$(scode 198.51.100.99 / k-9f8e7d6c)" = 200 ]
        run "${U[@]}" unban 192.0.2.0/24
        check "--url unban of the network exits 0" [ $rc = 0 ]
        check "  its addresses are served again" [ "$(scode 192.0.2.77)" = 200 ]
        run "${U[@]}" --json unban $X
        check "--url unban --json of $X: unbanned, no event by the tool" json "j['unbanned'] is True and j['event'] is False and j['exit']==0"
        check "  the node answers 200 to $X again" [ "$(scode $X)" = 200 ]
        run "${U[@]}" unban $X
        check "--url unban of a client not banned exits 1 (nothing to do)" bash -c '[ '$rc' = 1 ] && grep -q "is not banned" <<<"$1"' _ "$out"
        run "${U[@]}" status $X
        check "--url status after the unban exits 1" [ $rc = 1 ]
        check "the node wrote each manual event once (the tool none)" test "$(manual_events | sort | tr '\n' ,)" = \
            "$(printf '%s\n' "ban $X" "unban $X" "ban 192.0.2.0/24" "unban 192.0.2.0/24" "ban ${KH#key#0:}" "unban ${KH#key#0:}" | sort | tr '\n' ,)"
        check "  and logged them (RLW00040, RLW00041)" bash -c "[ \$(grep -c 'RLW0004[01]: manual' '$S/logs/error_log') = 6 ]"
        A2=198.51.100.70
        for _ in 1 2; do scode $A2 /attack >/dev/null; done
        run "${U[@]}" --json status $A2
        check "--url status: 2 attacks counted, from the top offenders" json "j['count']==2 and j['banned'] is False and j['window_ms']==60000"
        for _ in 1 2 3; do scode $A2 /attack >/dev/null; done
        run "${U[@]}" --json status $A2
        check "  the node's own ban after 5: strike 1, count 5" json "j['banned'] and j['ban']['strikes']==1 and j['ban']['count']==5"
        "${U[@]}" unban $A2 >/dev/null

        echo "# rlwafctl --url: errors"
        expect 3 "RateLimitWAFAdmin is Off" "--url of a page without RateLimitWAFAdmin: ban exits 3" \
            "$ctl" --url "http://127.0.0.1:$port2/rlw-status" ban 198.51.100.62 5m
        check "  and bans nothing" [ "$(scode 198.51.100.62)" = 200 ]
        expect 3 "RateLimitWAFAdmin is Off" "  unban too" "$ctl" --url "http://127.0.0.1:$port2/rlw-status" unban $X
        run "$ctl" --url "http://127.0.0.1:$port2/rlw-status" list
        check "  but list works there (reading needs no admin)" [ $rc = 0 ]
        expect 3 "refused (HTTP 403)" "--url of a location that denies the tool exits 3" \
            "$ctl" --url "http://127.0.0.1:$port2/rlw-closed" list
        expect 3 "no status page at .* (HTTP 404)" "--url of a missing page exits 3" \
            "$ctl" --url "http://127.0.0.1:$port2/nothing-here" list
        expect 4 "not valid JSON" "--url of a page that is not the status page exits 4" \
            "$ctl" --url "http://127.0.0.1:$port2/index.html" list
        t0=$(now_ms)
        expect 4 "does not answer" "--url where nobody listens exits 4" \
            "$ctl" --url "http://127.0.0.1:$dead_port/rlw-admin" list
        # (every connection is served alike: port_busy's probe takes one)
        python3 -c 'import socket,sys,threading,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64)
def stall(c):
    c.recv(4096); c.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n"); time.sleep(60)
while True:
    c,_=s.accept(); threading.Thread(target=stall, args=(c,), daemon=True).start()' "$hung_port" &
        hung=$!
        for _ in $(seq 30); do port_busy $hung_port && break; sleep 0.1; done
        t0=$(now_ms)
        run "$ctl" --url "http://127.0.0.1:$hung_port/x" --timeout 300ms list
        dt=$(( $(now_ms) - t0 ))
        check "--url of a node that stalls mid-reply: exit 4 within 2s (${dt}ms)" bash -c "[ $rc = 4 ] && [ $dt -lt 2000 ] && grep -q 'did not finish its reply' <<<\"\$1\"" _ "$err"
        kill $hung 2>/dev/null; wait $hung 2>/dev/null
        # Replies a node must never send: each refused, exit 4.
        bogus() { # bogus NAME PATTERN PYTHON-BYTES-LITERAL
            python3 -c 'import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64)
reply=eval(sys.argv[2])
while True:
    c,_=s.accept()
    try:
        c.recv(4096); c.sendall(reply); c.shutdown(socket.SHUT_WR); c.recv(1 << 16)
    except OSError:
        pass
    c.close()' "$hung_port" "$3" 2>/dev/null &
            local pid=$!
            for _ in $(seq 30); do port_busy $hung_port && break; sleep 0.1; done
            expect 4 "$2" "--url: $1 is refused (exit 4)" "$ctl" --url "http://127.0.0.1:$hung_port/x" list
            kill $pid 2>/dev/null; wait $pid 2>/dev/null
        }
        bogus "a reply that is not HTTP" "not HTTP/1.x" 'b"SSH-2.0-OpenSSH\r\n\r\n"'
        bogus "a short body (Content-Length)" "Content-Length says" 'b"HTTP/1.0 200 OK\r\nContent-Length: 500\r\n\r\n{}"'
        bogus "a chunked reply" "Transfer-Encoding" 'b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"'
        bogus "JSON with a trailing comma" "not valid JSON" 'b"HTTP/1.0 200 OK\r\n\r\n{\"module\":\"mod_ratelimit_waf\",\"bans\":[],}"'
        bogus "another JSON document" "not a mod_ratelimit_waf status page" 'b"HTTP/1.0 200 OK\r\n\r\n{\"module\":\"other\",\"bans\":[]}"'
        bogus "a reply over 8 MB" "more than" 'b"HTTP/1.0 200 OK\r\n\r\n" + b"[" * (9 << 20)'
        expect 2 "HTTPS" "--url https:// is refused (exit 2)" "$ctl" --url "https://127.0.0.1:$port2/rlw-admin" list
        expect 2 "query or fragment" "--url with a query is refused" "$ctl" --url "http://127.0.0.1:$port2/rlw-admin?json" list
        expect 2 "user name" "--url with a user is refused" "$ctl" --url "http://admin:pw@127.0.0.1:$port2/rlw-admin" list
        expect 2 "port between" "--url with a bad port is refused" "$ctl" --url "http://127.0.0.1:99999/rlw-admin" list
        expect 2 "not an http:// URL" "--url without a scheme is refused" "$ctl" --url "127.0.0.1/rlw-admin" list
        expect 2 "no meaning with --url" "--url with --event-log is refused (the node writes the events)" \
            "${U[@]}" --event-log "$W/x.log" ban $X 1m
        expect 2 "no meaning with --url" "--url with --memcached is refused" "${U[@]}" --memcached "$servers" list
        expect 2 "not a client address" "--url with a bad client" "${U[@]}" ban 300.1.2.3 1m
        expect 2 "not a ban duration" "--url with a bad duration" "${U[@]}" ban $X 10x
        run "${U[@]}" --json ban $X 10x
        check "--url --json error: one document, exit 2" json "j['exit']==2 and 'duration' in j['error']"
        echo "# rlwafctl --url: a location behind a password (--http-user)"
        A=("$ctl" --url "http://127.0.0.1:$port2/rlw-auth")
        expect 3 "HTTP 401" "--url of a password-protected page without --http-user exits 3" "${A[@]}" list
        printf 'op s3cret\n' > "$W/pw"
        run env RLWAFCTL_HTTP_PASSWORD='op s3cret' "${A[@]}" --http-user operator ban 198.51.100.64 5m
        check "--http-user with RLWAFCTL_HTTP_PASSWORD: ban exits 0" bash -c "[ $rc = 0 ]"
        st=$(scode 198.51.100.64)
        check "  the node refuses 198.51.100.64 ($st)" [ "$st" = 404 ]
        run "${A[@]}" --http-user operator --http-password-file "$W/pw" --json list
        check "--http-password-file: list --json holds the ban" json "'198.51.100.64' in [b['client'] for b in j['bans']] and j['exit']==0"
        run "${A[@]}" --http-user operator --http-password-file "$W/pw" unban 198.51.100.64
        st=$(scode 198.51.100.64)
        check "--http-password-file: unban exits 0, the node serves it again ($st)" bash -c "[ $rc = 0 ] && [ $st = 200 ]"
        check "  the ban and the unban were decided by user operator (RLW00040/41)" bash -c "grep -E 'RLW0004[01].*198.51.100.64' '$S/logs/error_log' | grep -c operator | grep -qx 2"
        printf 'wrong\n' > "$W/pw-bad"
        expect 3 "HTTP 401" "a wrong password exits 3" "${A[@]}" --http-user operator --http-password-file "$W/pw-bad" list
        expect 2 "needs a password" "--http-user without a password exits 2" env -u RLWAFCTL_HTTP_PASSWORD "${A[@]}" --http-user operator list
        expect 2 "colon" "--http-user with a colon exits 2" "${A[@]}" --http-user 'a:b' --http-password-file "$W/pw" list
        expect 3 "cannot read --http-password-file" "a missing password file exits 3" "${A[@]}" --http-user operator --http-password-file "$W/none" list
        expect 2 "without --url" "--http-user without --url exits 2" "${R[@]}" --http-user operator list
        if command -v valgrind >/dev/null; then
            for cmd in "ban 198.51.100.63 1m" "--json list" "status 198.51.100.63" "unban 198.51.100.63"; do
                valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
                    --error-exitcode=99 "${U[@]}" $cmd >/dev/null 2>"$W/vg"
                rc=$?
                check "valgrind: --url $cmd is clean" bash -c "[ $rc != 99 ]" || cat "$W/vg"
            done
        fi
        if grep -E '\[(emerg|alert|crit)\]|AH00052|segfault' "$S/logs/error_log" >/dev/null; then
            nok "shm httpd error log is free of crashes" "$(grep -E 'emerg|alert|crit|AH00052' "$S/logs/error_log" | head -3)"
        else ok "shm httpd error log is free of crashes"; fi
    fi
fi

echo "$pass passed, $fail failed"
[ $fail = 0 ]
