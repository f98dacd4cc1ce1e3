#!/bin/bash
# tools/demo.sh - a self-contained demonstration of mod_ratelimit_waf.
#
# Usage: bash tools/demo.sh start | stop
#   (make demo installs the packages, builds the module, then runs start;
#    make demo-stop runs stop)
#
# start: stops an earlier demo, generates a private Apache under /tmp/rlw-demo
#        (its own ServerRoot and httpd.conf, Listen 127.0.0.1:8090, children
#        as www-data) with ModSecurity + the OWASP CRS, the two ModSecurity
#        snippets of conf/ and this module, then plays the scenario and leaves
#        the server running:
#          1. clean requests from a client: 200
#          2. an attack burst from that client: 403 (ModSecurity), then 404
#             (banned after RateLimitWAFThreshold attacks)
#          3. the ban line (RLW00010) from the error log, and the ban event
#             (RateLimitWAFEventLog, one JSON line) pretty-printed
#          4. the banned client gets 404 on every URL, and ModSecurity does
#             not inspect it any more ("ModSecurity:" error-log lines unchanged)
#          5. another client is still served, and still inspected
#        RLW_ENGINE=modsecurity3: the module's embedded libmodsecurity
#        inspects the requests instead of mod_security2
#        (docs/engine-modsecurity3.md).
#          6. the status page (/ratelimit-waf): a few lines of ?json and
#             ?prometheus, and the URL of the HTML page
#          7. a manual unban by POST to the status page (RateLimitWAFAdmin
#             On): the attacker gets 200 again; the unban event
#        Two clients are played through X-Forwarded-For, which mod_remoteip
#        accepts from the trusted local proxy 127.0.0.1.
# stop:  stops the demo server (the files stay in /tmp/rlw-demo for reading).
#
# Run as root (the server starts as root and its children run as www-data).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
demo=/tmp/rlw-demo
conf=$demo/httpd.conf
pidfile=$demo/run/httpd.pid
elog=$demo/logs/error.log
alog=$demo/logs/access.log
evlog=$demo/logs/events.json
marker=$demo/.rlw-demo
addr=127.0.0.1
port=8090
vhost=www.example.test
httpd=${RLW_HTTPD:-/usr/sbin/apache2}
moddir=/usr/lib/apache2/modules
so=$top/mod_ratelimit_waf/.libs/mod_ratelimit_waf.so
crs_setup=/etc/modsecurity/crs/crs-setup.conf
crs_rules=/usr/share/modsecurity-crs/rules
attacker=203.0.113.7
bystander=198.51.100.23
status_path=/ratelimit-waf

# Settings of the scenario (written into httpd.conf below).
threshold=20
window=1m
bantime=30s
burst=25

die() {
    echo "demo: $*" >&2
    exit 1
}

# The pid of a running demo server, or nothing.
demo_pid() {
    local pid
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile" 2>/dev/null || true)
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        echo "$pid"
    fi
}

# 0 when something accepts connections on addr:port.
port_busy() {
    (exec 3<>"/dev/tcp/$addr/$port") 2>/dev/null
}

stop_demo() {
    local pid i
    pid=$(demo_pid)
    if [ -z "$pid" ]; then
        return 0
    fi
    "$httpd" -f "$conf" -k stop 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        die "the demo server (pid $pid) did not stop"
    fi
    echo "demo: stopped the demo server (pid $pid)"
}

check_prerequisites() {
    local f
    [ "$(id -u)" = 0 ] || die "run as root (the demo server starts as root and runs its children as www-data)"
    id www-data >/dev/null 2>&1 || die "no user www-data (install apache2: make deps)"
    for f in "$httpd" "$moddir/mod_security2.so" "$moddir/mod_remoteip.so" \
             "$moddir/mod_unique_id.so" "$crs_setup" "$crs_rules/REQUEST-901-INITIALIZATION.conf" \
             "$top/conf/modsecurity-ratelimit-waf-before.conf" \
             "$top/conf/modsecurity-ratelimit-waf.conf"; do
        [ -e "$f" ] || die "missing $f (run: make deps)"
    done
    command -v curl >/dev/null || die "missing curl (run: make deps)"
    command -v python3 >/dev/null || die "missing python3 (run: make deps)"
    if [ ! -f "$so" ]; then
        echo "demo: building the module"
        make -C "$top" build >/dev/null
    fi
}

# Creates /tmp/rlw-demo from scratch: files readable by www-data, the
# ModSecurity data directory writable by it.
make_tree() {
    if [ -L "$demo" ] || { [ -e "$demo" ] && [ ! -f "$marker" ]; }; then
        die "$demo exists and was not made by this script; remove it first"
    fi
    rm -rf "$demo"
    umask 022
    mkdir -p "$demo"/{htdocs,logs,run,modules,conf,modsec}
    touch "$marker"
    install -m 0644 "$so" "$demo/modules/"
    install -m 0644 "$top/conf/modsecurity-ratelimit-waf-before.conf" \
                    "$top/conf/modsecurity-ratelimit-waf.conf" \
                    "$top/conf/modsecurity3-ratelimit-waf.conf" "$demo/conf/"
    chown www-data:www-data "$demo/modsec"
    chmod 0750 "$demo/modsec"
    cat > "$demo/htdocs/index.html" <<'EOF'
<!DOCTYPE html>
<html><head><title>mod_ratelimit_waf demo</title></head>
<body><p>Hello from the mod_ratelimit_waf demo.</p></body></html>
EOF
    cat > "$demo/htdocs/about.html" <<'EOF'
<!DOCTYPE html>
<html><head><title>About</title></head>
<body><p>A second page, to show that a ban covers every URL.</p></body></html>
EOF
    write_conf
}

# httpd.conf from the generator the tests and benchmarks share
# (tools/rlw-httpd-conf), with the demo's own paths and settings.
write_conf() {
    perl "$top/tools/rlw-httpd-conf" \
        --generated-by "tools/demo.sh - the mod_ratelimit_waf demo server" \
        --root "$demo" --listen "$addr:$port" --server-name "$vhost" \
        --user www-data --group www-data --mpm-tuning none \
        --error-log "$elog" --loglevel 'warn ratelimit_waf:info' \
        --module-dir "$moddir" --load authz_host \
        --module-so "$demo/modules/mod_ratelimit_waf.so" \
        --access-log "$alog" \
        --log-format '%a %>s "%r" score=%{MODSEC_ANOMALY_SCORE}e banned=%{RLW_BANNED}e' \
        --modsec --engine "${RLW_ENGINE:-modsecurity2}" --conf-dir "$demo/conf" \
        --sec-data-dir "$demo/modsec" --sec-tmp-dir "$demo/modsec" \
        --directive-file /dev/stdin > "$conf" <<EOF || die "cannot write $conf"

# Start: $httpd -f $conf -k start
# Stop:  $httpd -f $conf -k stop
# (The module's start-up line, RLW00003, is at info. In the access log, %a
# is the client after mod_remoteip; score is what ModSecurity exported at
# phase 5, "-": not inspected; banned is set by mod_ratelimit_waf.)

<Directory />
    AllowOverride None
    Require all denied
</Directory>

# mod_ratelimit_waf: $threshold attacks within $window ban the client for $bantime.
RateLimitWAF On
RateLimitWAFStore shm
RateLimitWAFThreshold $threshold
RateLimitWAFWindow $window
RateLimitWAFBanTime $bantime
# SIEM events: one JSON line per ban, unban, ... (relative to ServerRoot).
RateLimitWAFEventLog logs/events.json

# The status page (HTML, ?json, ?prometheus), from this host only; POST
# bans and unbans by hand (RateLimitWAFAdmin On).
<Location "$status_path">
    SetHandler ratelimit-waf-status
    Require ip 127.0.0.1
    RateLimitWAFAdmin On
</Location>
EOF
    chmod 0644 "$conf"
}

start_server() {
    local out i
    if ! out=$("$httpd" -f "$conf" -t 2>&1); then
        echo "$out" >&2
        die "the generated configuration $conf does not parse"
    fi
    port_busy && die "$addr:$port is already in use by another program"
    "$httpd" -f "$conf" -k start
    for i in $(seq 1 100); do
        if [ -n "$(demo_pid)" ] && port_busy; then
            return 0
        fi
        sleep 0.1
    done
    tail -n 20 "$elog" >&2 || true
    die "the demo server did not start (log: $elog)"
}

# req CLIENT PATH - one request over a new connection; prints the status.
req() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
        -H "Host: $vhost" -H "X-Forwarded-For: $1" "http://$addr:$port$2"
}

# req_keepalive CLIENT PATH... - all paths over one connection; prints
# "status connections-opened" per request.
req_keepalive() {
    local client=$1 p args=()
    shift
    for p in "$@"; do
        args+=("http://$addr:$port$p" -o /dev/null)
    done
    curl -s --max-time 10 -H "Host: $vhost" -H "X-Forwarded-For: $client" \
        -w '%{http_code} %{num_connects}\n' "${args[@]}"
}

modsec_lines() {
    grep -c 'ModSecurity: ' "$elog" || true
}

# Waits (up to 2s) until log_transaction has written everything logged so
# far: the error log stops growing.
settle() {
    local a b i
    a=$(stat -c %s "$elog")
    for i in $(seq 1 20); do
        sleep 0.1
        b=$(stat -c %s "$elog")
        [ "$a" = "$b" ] && return 0
        a=$b
    done
}

attack_path() {
    # /?q=<script>alert(N)</script>, URL-encoded
    echo "/?q=%3Cscript%3Ealert($1)%3C%2Fscript%3E"
}

# event ACTION CLIENT - the newest event line of that action and client,
# pretty-printed and indented; waits up to 2s for it to be written.
event() {
    local line="" i
    for i in $(seq 1 20); do
        line=$(grep -F "\"action\":\"$1\"" "$evlog" 2>/dev/null |
               grep -F "\"address\":\"$2\"" | tail -n 1 || true)
        [ -n "$line" ] && break
        sleep 0.1
    done
    if [ -n "$line" ]; then
        printf '%s\n' "$line" | python3 -m json.tool | sed 's/^/     /'
    else
        echo "     (!) no $1 event for $2 in $evlog"
    fi
}

# status QUERY - the status page's answer, asked from this host (no
# X-Forwarded-For: the client is 127.0.0.1, which Require ip lets in).
status() {
    curl -s --max-time 10 -H "Host: $vhost" "http://$addr:$port$status_path$1"
}

scenario() {
    local i s codes=() n403=0 n404=0 nother=0 before after line
    local ms_ver crs_ver

    ms_ver=$(dpkg-query -W -f='${Version}' libapache2-mod-security2 2>/dev/null || echo '?')
    crs_ver=$(dpkg-query -W -f='${Version}' modsecurity-crs 2>/dev/null || echo '?')
    echo
    echo "mod_ratelimit_waf demo"
    echo "======================"
    echo "Server    http://$addr:$port/  (ServerRoot $demo, MPM event, children as www-data)"
    echo "WAF       mod_security2 $ms_ver, OWASP CRS $crs_ver, SecRuleEngine On"
    echo "Module    RateLimitWAFThreshold $threshold, RateLimitWAFWindow $window, RateLimitWAFBanTime $bantime, store shm"
    echo "Clients   played with X-Forwarded-For (mod_remoteip trusts $addr):"
    echo "            attacker  $attacker"
    echo "            bystander $bystander"
    grep -h 'RLW00003' "$elog" | sed 's/^/Log       /' | tail -n 1

    echo
    echo "1. Clean requests from the attacker's address, before any attack"
    for p in / /about.html '/?q=hello'; do
        printf '   GET %-14s -> %s\n' "$p" "$(req "$attacker" "$p")"
    done

    echo
    echo "2. Attack burst: $burst x GET /?q=<script>alert(N)</script> from $attacker"
    for i in $(seq 1 "$burst"); do
        s=$(req "$attacker" "$(attack_path "$i")")
        codes+=("$s")
        case $s in
            403) n403=$((n403 + 1)) ;;
            404) n404=$((n404 + 1)) ;;
            *) nother=$((nother + 1)) ;;
        esac
    done
    for i in $(seq 0 10 $((burst - 1))); do
        printf '   %-7s %s\n' "#$((i + 1))-$((i + 10 > burst ? burst : i + 10))" \
            "${codes[*]:$i:10}"
    done
    echo "   -> $n403 x 403: blocked by ModSecurity + CRS, each one counted as an attack;"
    echo "      $n404 x 404: answered by mod_ratelimit_waf, the client is banned."
    [ "$nother" = 0 ] || echo "   (!) $nother other statuses"
    settle

    echo
    echo "3. The ban, in $elog"
    line=$(grep -h "RLW00010: ban client=$attacker " "$elog" | tail -n 1)
    if [ -n "$line" ]; then
        echo "   $line"
    else
        echo "   (!) no RLW00010 line for $attacker"
    fi
    echo "   The same ban as a SIEM event, one JSON line in $evlog"
    echo "   (RateLimitWAFEventLog; shown with python3 -m json.tool):"
    event ban "$attacker"

    echo
    echo "4. While banned, the attacker gets 404 on every URL, clean or not,"
    echo "   over one kept-alive connection (\"new conn\": connections opened):"
    before=$(modsec_lines)
    local paths=(/ /about.html /index.html '/?q=hello' "$(attack_path 99)")
    local shown=(/ /about.html /index.html '/?q=hello' '/?q=<script>alert(99)</script>')
    i=0
    while read -r s nc; do
        printf '   GET %-32s -> %s  (new conn: %s)\n' "${shown[$i]}" "$s" "$nc"
        i=$((i + 1))
    done < <(req_keepalive "$attacker" "${paths[@]}")
    settle
    after=$(modsec_lines)
    echo "   ModSecurity no longer inspects the banned client:"
    echo "     \"ModSecurity:\" lines in the error log before these ${#paths[@]} requests: $before"
    echo "     \"ModSecurity:\" lines in the error log after them:              $after" \
        "$([ "$before" = "$after" ] && echo '(unchanged)' || echo '(!) changed')"
    echo "   Access log (score \"-\": ModSecurity exported no score, it did not run):"
    grep -h "^$attacker " "$alog" | grep -E 'alert\((19|20|21)\)' | sed 's/^/     /'
    grep -h "^$attacker " "$alog" | tail -n 2 | sed 's/^/     /'

    echo
    echo "5. The bystander $bystander is still served, and still inspected"
    for p in / /about.html; do
        printf '   GET %-32s -> %s\n' "$p" "$(req "$bystander" "$p")"
    done
    before=$(modsec_lines)
    printf '   GET %-32s -> %s\n' '/?q=<script>alert(1)</script>' \
        "$(req "$bystander" "$(attack_path 1)")"
    settle
    after=$(modsec_lines)
    echo "     \"ModSecurity:\" lines for this one attack: $((after - before))"

    echo
    echo "6. The status page: http://$addr:$port$status_path (HTML, for a browser)"
    echo "   ?json (a few fields):"
    status '?json' | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(json.dumps({"threat": d["threat"]["level"], "totals": d["totals"]}))
for b in d["bans"]:
    print(json.dumps({k: b[k] for k in ("client", "until", "strike", "ban_count", "node")}))
' | sed 's/^/     /' || echo "     (!) no JSON from the status page"
    echo "   ?prometheus (a few samples):"
    status '?prometheus' |
        grep -E '^ratelimit_waf_(attacks_total|bans_total|rejected_total|active_bans)[{ ]' |
        sed 's/^/     /' || echo "     (!) no samples from the status page"

    echo
    echo "7. A manual unban: POST to the status page (RateLimitWAFAdmin On),"
    echo "   with the form token the page's ?json gives this operator"
    token=$(status '?json' | python3 -c 'import json, sys; print(json.load(sys.stdin)["tokens"]["unban"])' 2>/dev/null)
    echo "   curl -d action=unban -d client=$attacker -d token=$token http://$addr:$port$status_path"
    printf '   -> %s (See Other: done, back to the page)\n' "$(curl -s -o /dev/null -w '%{http_code}' \
        --max-time 10 -H "Host: $vhost" -d action=unban -d "client=$attacker" -d "token=$token" \
        "http://$addr:$port$status_path")"
    for p in / /about.html; do
        printf '   GET %-14s from %s -> %s\n' "$p" "$attacker" "$(req "$attacker" "$p")"
    done
    grep -h "RLW00041: manual unban client=$attacker " "$elog" | tail -n 1 | sed 's/^/   /' || true
    echo "   The unban event:"
    event unban "$attacker"

    echo
    echo "The demo server keeps running at http://$addr:$port/ ($attacker was unbanned by"
    echo "hand; $threshold more attacks within $window ban it again, for twice $bantime: strike 2)."
    echo "Try:"
    echo "  curl -i -H 'X-Forwarded-For: $attacker' http://$addr:$port/"
    echo "  curl -s 'http://$addr:$port$status_path?json' | python3 -m json.tool"
    echo "Logs: $elog, $alog, $evlog"
    echo "Stop it with: make demo-stop   (or: apache2 -f $conf -k stop)"
}

case ${1:-} in
    start)
        check_prerequisites
        stop_demo
        make_tree
        start_server
        scenario
        ;;
    stop)
        if [ -z "$(demo_pid)" ]; then
            echo "demo: no demo server running"
        else
            stop_demo
        fi
        ;;
    *)
        echo "usage: $0 start|stop" >&2
        exit 2
        ;;
esac
