#!/bin/bash
# bench/compare.sh - the same attacker against what an Apache farm would use
# instead of this module, side by side in one run on the loopback, every
# peer from Debian's packages (make compare; docs/comparison.md).
#
# Usage: bash bench/compare.sh           (or: make compare; QUICK=1 for a smoke)
#
# Contenders (all ModSecurity 2 + the OWASP CRS 3.3 of Debian, paranoia
# level 1, except the embedded engine's row; event MPM, two children of 16
# threads, as bench/bench.sh runs them):
#   modsec    ModSecurity + CRS alone: every attack inspected, no ban
#   ipban     ModSecurity's own per-IP ban recipe (bench/compare/ipban-*.conf:
#             an "ip" collection on REMOTE_ADDR, counted in phase 5 from the
#             anomaly score, expirevar, a phase-1 deny with 404; SecDataDir
#             per server)
#   evasive   + mod_evasive (libapache2-mod-evasive): DOSPageCount and
#             DOSSiteCount THRESHOLD-1 within gaps of BAN s (it counts
#             requests, not attacks; see docs/comparison.md), 404
#   qos       + mod_qos (libapache2-mod-qos, LoadFile libpcre first):
#             QS_ClientEventLimitCount THRESHOLD BAN, the event set by the
#             CRS's blocking rule (bench/compare/qos-event.conf), 404
#   f2b       + fail2ban: a jail on ModSecurity's "Access denied" error-log
#             lines (filter apache-modsecurity, maxretry THRESHOLD), the
#             nftables-allports action; httpd, fail2ban-server (foreground,
#             its own socket, pid and database) and the clients inside a
#             network namespace of their own
#   rlw-shm   this module, shm store (RateLimitWAFThreshold THRESHOLD)
#   rlw-mc    this module, memcached store, two nodes (rlw-mc-a, rlw-mc-b)
#             on two memcached servers, one key prefix
#   rlw-msc3  this module's embedded engine (RateLimitWAFEngine
#             modsecurity3, libmodsecurity 3 from Debian, the same CRS), shm
# Every ban lasts BAN seconds and answers 404 (fail2ban: the kernel rejects
# the client's packets).
#
# Measured for each (columns of the table; docs/comparison.md explains them):
#   seq     attacks inspected before the ban: one attacker, one kept-alive
#           connection, attacks as fast as it gets answers, until the first
#           ban answer (at most 4 x THRESHOLD attacks; fail2ban: until the
#           first refused connection, at most F2B_SECS s). "Inspected" is
#           the number of ModSecurity "Access denied with code 403" lines
#           naming the client in the server's error log: an attack the CRS
#           really evaluated. REPEATS clients, one after the other: the
#           figure, or "median (min-max)" when they differ; fail2ban also
#           gets the seconds from the first attack to its "Ban" line.
#   par     the same with THRESHOLD attacks sent at once over PAR_CONNS
#           connections (one request per connection: they land on both
#           children), then one attack per connection until banned. Exact
#           when the ban holds right after the THRESHOLD-th attack. REPEATS
#           clients, as seq.
#   nodes   rlw-mc only (the others keep their state in one server): the
#           THRESHOLD attacks split over both nodes in parallel, a pause of
#           1 s (so a ban can reach the other node), then attacks
#           alternately on each node until both answer 404
#   prop    rlw-mc only: ms until a ban decided on node A is enforced on
#           node B (bench/propagation.pl, PROP_REPEATS bans, median / max)
#   rate    req/s of a banned client (wrk, WRK_CONNS kept-alive
#           connections, WRK_SECS s, HTTP and HTTPS; median of ROUNDS rounds,
#           every contender measured in each round, so noise hits all)
#   same    a clean request (GET /) from the banned client's address, during
#           its ban: a legitimate user behind the same proxy or NAT
#   alone   CLEAN_N clean requests of a client that never attacks
#
# Clients: the servers trust X-Forwarded-For from 127.0.0.1 (mod_remoteip)
# and clients are played by it, except where a tool ignores it: mod_evasive
# keys on the connection's address, mod_qos's QS_ClientIpFromHeader cannot
# read a header mod_remoteip has consumed, fail2ban bans packets. There
# each client connects from its own loopback address (127.0.0.N), and the
# banned client of the wrk runs is 127.0.0.1 itself.
#
# Environment:
#   QUICK=1          a smoke run: 1 round of 1 s, 1 client per column,
#                    2 propagation repeats (about a minute)
#   THRESHOLD=50     attacks (mod_evasive: requests) that start a ban
#   BAN=600          ban and window length, seconds
#   ROUNDS=5 WRK_SECS=3 WRK_CONNS=16 WRK_THREADS=2
#   REPEATS=3        clients of the seq and par columns (at most 3)
#   PAR_CONNS=8      parallel connections of the par and nodes columns
#   CLEAN_N=100      requests of the clean client (alone)
#   PROP_REPEATS=5   bans timed by bench/propagation.pl
#   F2B_SECS=20      longest fail2ban attack (s)
#   PORT_BASE=18140  server i listens on PORT_BASE+2i (HTTP) and +1 (HTTPS)
#   MC_PORT_BASE=18190  the two memcached servers (and +1)
#   NETNS=rlw-compare   the network namespace of fail2ban's server
#   ONLY="modsec ipban ..."  contenders to run (default: all)
#   PIN=1            httpd and memcached on CPU 0, the clients on CPU 1
#   ROOT=/tmp/rlw-compare  ServerRoots (wiped at start); KEEP=1 keeps it
#   OUT=bench/results/compare-<UTC time>   report.md, raw/, conf/
#   UPDATE_DOC=1     write the table into docs/comparison.md (between its
#                    markers); default 1, 0 with QUICK=1
#   CMDLINE          the command the table names (bash bench/compare.sh)
# Needs root (network namespace, nftables), the build (make build) and the
# packages of tools/install-deps.sh --compare (make compare installs them).
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tools/lib/rlw-sh.sh
. "$top/tools/lib/rlw-sh.sh"
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
    ROUNDS=${ROUNDS:-1} WRK_SECS=${WRK_SECS:-1} PROP_REPEATS=${PROP_REPEATS:-2} REPEATS=${REPEATS:-1}
    UPDATE_DOC=${UPDATE_DOC:-0}
fi
THRESHOLD=${THRESHOLD:-50}
BAN=${BAN:-600}
ROUNDS=${ROUNDS:-5}
WRK_SECS=${WRK_SECS:-3}
WRK_CONNS=${WRK_CONNS:-16}
WRK_THREADS=${WRK_THREADS:-2}
PAR_CONNS=${PAR_CONNS:-8}
REPEATS=${REPEATS:-3}
CLEAN_N=${CLEAN_N:-100}
PROP_REPEATS=${PROP_REPEATS:-5}
F2B_SECS=${F2B_SECS:-20}
PORT_BASE=${PORT_BASE:-18140}
MC_PORT_BASE=${MC_PORT_BASE:-18190}
NETNS=${NETNS:-rlw-compare}
PIN=${PIN:-1}
ROOT=${ROOT:-/tmp/rlw-compare}
UPDATE_DOC=${UPDATE_DOC:-1}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${OUT:-$top/bench/results/compare-$STAMP}
SO=${RLW_MODULE_SO:-$top/mod_ratelimit_waf/.libs/mod_ratelimit_waf.so}
HTTPD=${RLW_HTTPD:-/usr/sbin/apache2}
MODDIR=/usr/lib/apache2/modules
CLIENT=$top/bench/compare/client.pl
# The attack of bench/bench.sh: a reflected XSS the CRS scores 15.
ATTACK='/?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E'
CLEAN='/'
ALL="modsec ipban evasive qos f2b rlw-shm rlw-mc rlw-msc3"
ONLY=${ONLY:-$ALL}

die() { echo "compare: $*" >&2; exit 1; }
say() { echo "compare: $*" >&2; }

for v in REPEATS THRESHOLD BAN ROUNDS WRK_SECS WRK_CONNS WRK_THREADS PAR_CONNS CLEAN_N PROP_REPEATS F2B_SECS PORT_BASE MC_PORT_BASE; do
    [[ ${!v} =~ ^[0-9]+$ ]] && [ "${!v}" -ge 1 ] || die "$v='${!v}' is not a whole number >= 1"
done
[ "$REPEATS" -le 3 ] || die "REPEATS: at most 3 (each contender has 10 client addresses)"
[ "$THRESHOLD" -ge 2 ] || die "THRESHOLD must be >= 2 (mod_evasive's count is THRESHOLD-1)"
for c in $ONLY; do
    [[ " $ALL " == *" $c "* ]] || die "ONLY: no contender '$c' ($ALL)"
done
[ "$(id -u)" = 0 ] || die "run as root (network namespace, nftables; httpd drops to nobody)"
for t in wrk curl openssl perl "$HTTPD" memcached taskset ip nft fail2ban-server fail2ban-client; do
    command -v "$t" >/dev/null || die "$t is missing (bash tools/install-deps.sh --compare)"
done
for m in mod_security2.so mod_evasive20.so mod_qos.so; do
    [ -f "$MODDIR/$m" ] || die "$MODDIR/$m is missing (bash tools/install-deps.sh --compare)"
done
[ -f "$SO" ] || die "$SO is not built (make build)"
ldconfig -p | grep 'libmodsecurity[.]so[.]3 ' >/dev/null || die "libmodsecurity.so.3 is missing (make deps)"
PCRE=$(ldconfig -p | awk '/libpcre[.]so[.]3 / && !f { print $NF; f = 1 }')
[ -n "$PCRE" ] || die "libpcre.so.3 is missing (mod_qos needs it)"
if [ "$PIN" = 1 ] && [ "$(nproc)" -ge 2 ]; then
    ON_SERVER_CPU=(taskset -c 0) ON_CLIENT_CPU=(taskset -c 1)
else
    PIN=0 ON_SERVER_CPU=() ON_CLIENT_CPU=()
fi

# --- servers ----------------------------------------------------------------
# name | identity of its clients (xff: X-Forwarded-For; bind: own address)
SERVERS=(modsec ipban evasive qos f2b rlw-shm rlw-mc-a rlw-mc-b rlw-msc3)
srv_index() {
    local i
    for i in "${!SERVERS[@]}"; do
        [ "${SERVERS[$i]}" = "$1" ] && { echo "$i"; return; }
    done
    die "no server '$1'"
}
srv_port() { # srv_port NAME [https]
    local p=$((PORT_BASE + 2 * $(srv_index "$1")))
    [ "${2:-}" = https ] && p=$((p + 1))
    echo "$p"
}
[ $((PORT_BASE + 2 * ${#SERVERS[@]})) -le 18190 ] || [ "$PORT_BASE" != 18140 ] \
    || die "ports overlap"
ident_mode() { case $1 in evasive | qos | f2b) echo bind ;; *) echo xff ;; esac; }
# Runs a command inside the namespace for f2b's server, as is elsewhere.
in_ns() { # in_ns SERVER CMD...
    local s=$1
    shift
    if [ "$s" = f2b ]; then ip netns exec "$NETNS" "$@"; else "$@"; fi
}
# The address of client number N (1-99) of contender C: X-Forwarded-For
# 198.51.100.N or loopback 127.0.0.(100+N); each contender gets its own
# range of N (contender index x 10 + purpose).
client_ip() { # client_ip SERVER N
    if [ "$(ident_mode "$1")" = bind ]; then echo "127.0.0.$((100 + $2))"; else echo "198.51.100.$2"; fi
}
client_args() { # client_args SERVER IP -> the client.pl options for it
    if [ "$(ident_mode "$1")" = bind ]; then echo "--bind $2"; else echo "--xff $2"; fi
}
# client SERVER PORT IP PATH OPTION...: client.pl as that client.
client() {
    local s=$1 port=$2 ip=$3 path=$4
    shift 4
    # shellcheck disable=SC2046 # the identity options are words
    in_ns "$s" "${ON_CLIENT_CPU[@]}" perl "$CLIENT" "$port" "$path" $(client_args "$s" "$ip") "$@"
}
# The number of attacks the CRS evaluated and denied for IP on SERVER.
inspected() { # inspected SERVER IP
    grep -F "[client $2" "$ROOT/$1/logs/error_log" 2>/dev/null \
        | grep -E "\[client ${2//./\\.}[]:]" | grep -c 'Access denied with code 403'
}

# Text appended to a contender's httpd.conf.
extra_conf() {
    case $1 in
    evasive)
        cat <<EOF
# mod_evasive counts requests per address and URI (page) and per address
# (site), each count restarting after a gap of the interval; the request
# after DOSPageCount ones in a row is refused. THRESHOLD-1 thus lets
# THRESHOLD requests through (docs/comparison.md).
DOSHashTableSize 3097
DOSPageCount $((THRESHOLD - 1))
DOSPageInterval $BAN
DOSSiteCount $((THRESHOLD - 1))
DOSSiteInterval $BAN
DOSBlockingPeriod $BAN
DOSHTTPResponseCode 404
EOF
        ;;
    qos)
        cat <<EOF
# mod_qos on Debian 12 is linked against libpcre without declaring it.
LoadFile "$PCRE"
LoadModule qos_module "$MODDIR/mod_qos.so"
QS_ClientEventLimitCount $THRESHOLD $BAN
QS_ErrorResponseCode 404
EOF
        ;;
    rlw-*)
        cat <<EOF
RateLimitWAF On
RateLimitWAFThreshold $THRESHOLD
RateLimitWAFWindow ${BAN}s
RateLimitWAFBanTime ${BAN}s
EOF
        if [[ $1 == rlw-mc-* ]]; then
            cat <<EOF
RateLimitWAFStore memcached "--SERVER=127.0.0.1:$MC_PORT_BASE --SERVER=127.0.0.1:$((MC_PORT_BASE + 1)) --DISTRIBUTION=consistent"
RateLimitWAFSecretFile "$ROOT/cluster.secret"
RateLimitWAFKeyPrefix compare:
RateLimitWAFNodeName $1
RateLimitWAFSyncInterval 250ms
EOF
        else
            echo "RateLimitWAFStore shm"
        fi
        ;;
    esac
}

write_conf() { # write_conf NAME DIR
    local name=$1 d=$2 args rules=()
    args=(--generated-by "bench/compare.sh ($name)" --root "$d"
        --listen "$(srv_port "$name")" --tls-listen "$(srv_port "$name" https)"
        --tls-dir "$ROOT/tls" --mpm event --mpm-tuning bench
        --user nobody --group nogroup --loglevel warn --module-dir "$MODDIR")
    case $name in
    modsec | qos | f2b) args+=(--modsec --no-snippets) ;;
    evasive) args+=(--modsec --no-snippets --load evasive20_module=mod_evasive20.so) ;;
    ipban)
        sed -e "s/@THRESHOLD@/$THRESHOLD/g" -e "s/@BAN@/$BAN/g" \
            "$top/bench/compare/ipban-after.conf" >"$d/ipban-after.conf"
        rules=("$top/bench/compare/modsec-base.conf" "$top/bench/compare/ipban-before.conf"
            /etc/modsecurity/crs/crs-setup.conf '/usr/share/modsecurity-crs/rules/*.conf'
            "$d/ipban-after.conf")
        for r in "${rules[@]}"; do args+=(--modsec-rules "$r"); done
        ;;
    rlw-shm | rlw-mc-*) args+=(--modsec --module-so "$ROOT/mod_ratelimit_waf.so") ;;
    rlw-msc3) args+=(--modsec --engine modsecurity3 --module-so "$ROOT/mod_ratelimit_waf.so") ;;
    esac
    [ "$name" = qos ] && args+=(--directive "Include \"$top/bench/compare/qos-event.conf\"")
    args+=(--directive "$(extra_conf "$name")")
    rlw_conf "${args[@]}" >"$d/httpd.conf"
}

start_server() { # start_server NAME
    local name=$1 d=$ROOT/$1 port
    mkdir -p "$d"/{logs,run,htdocs,data,tmp}
    chown nobody:nogroup "$d/data" "$d/tmp"
    printf '<!DOCTYPE html>\n<html><head><title>ok</title></head><body>ok</body></html>\n' \
        >"$d/htdocs/index.html"
    write_conf "$name" "$d" || die "could not write $d/httpd.conf"
    in_ns "$name" "${ON_SERVER_CPU[@]}" "$HTTPD" -f "$d/httpd.conf" -k start \
        || die "httpd $name did not start: $(tail -n 5 "$d/logs/error_log" 2>/dev/null)"
    port=$(srv_port "$name")
    for _ in $(seq 300); do
        [ -f "$d/run/httpd.pid" ] \
            && in_ns "$name" curl -s -o /dev/null "http://127.0.0.1:$port/" && return 0
        sleep 0.1
    done
    die "httpd $name is not answering: $(tail -n 5 "$d/logs/error_log")"
}

# fail2ban-server in the foreground (in the background of this script),
# inside the namespace, with a configuration directory, socket, pid file
# and database of its own: Debian's filter apache-modsecurity, one jail.
F2B_PID=
start_fail2ban() {
    local d=$ROOT/f2b-server
    mkdir -p "$d"
    cp -r /etc/fail2ban "$d/etc"
    rm -rf "$d/etc/jail.d" "$d/etc/fail2ban.d"
    mkdir -p "$d/etc/jail.d"
    cat >"$d/etc/fail2ban.local" <<EOF
[Definition]
loglevel = INFO
logtarget = $d/fail2ban.log
socket = $d/fail2ban.sock
pidfile = $d/fail2ban.pid
dbfile = $d/fail2ban.sqlite3
EOF
    cat >"$d/etc/jail.local" <<EOF
[DEFAULT]
# The clients are loopback addresses of the namespace: do not spare them.
ignoreself = false
ignoreip =
[rlw-compare]
enabled = true
filter = apache-modsecurity
logpath = $ROOT/f2b/logs/error_log
backend = ${F2B_BACKEND:-auto}
maxretry = $THRESHOLD
findtime = $BAN
bantime = $BAN
banaction = nftables-allports
action = %(action_)s
EOF
    ip netns exec "$NETNS" fail2ban-server -f -x -c "$d/etc" -s "$d/fail2ban.sock" \
        -p "$d/fail2ban.pid" --logtarget "$d/fail2ban.log" >"$d/server.out" 2>&1 &
    F2B_PID=$!
    for _ in $(seq 100); do
        ip netns exec "$NETNS" fail2ban-client -c "$d/etc" -s "$d/fail2ban.sock" status rlw-compare \
            >"$d/status.txt" 2>&1 && return 0
        kill -0 "$F2B_PID" 2>/dev/null || break
        sleep 0.2
    done
    die "fail2ban-server did not start its jail: $(tail -n 5 "$d/server.out" "$d/fail2ban.log" 2>/dev/null)"
}

cleanup() {
    local d
    trap - EXIT INT TERM HUP
    for d in "$ROOT"/*/; do
        [ -f "$d/run/httpd.pid" ] && { rlw_httpd_stop "$d/run/httpd.pid" || say "httpd ($d) needed SIGKILL"; }
    done
    if [ -n "$F2B_PID" ] && kill -0 "$F2B_PID" 2>/dev/null; then
        kill -TERM "$F2B_PID"
        for _ in $(seq 50); do kill -0 "$F2B_PID" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$F2B_PID" 2>/dev/null && kill -KILL "$F2B_PID"
    fi
    ip netns del "$NETNS" 2>/dev/null
    rlw_mc_stop "$ROOT"
    if [ -d "$OUT" ]; then
        mkdir -p "$OUT/conf"
        for d in "$ROOT"/*/; do
            [ -f "$d/httpd.conf" ] || continue
            cp "$d/httpd.conf" "$OUT/conf/$(basename "$d").conf"
            tail -n 100 "$d/logs/error_log" >"$OUT/conf/$(basename "$d").error_log.tail" 2>/dev/null
        done
        [ -d "$ROOT/f2b-server" ] && cp "$ROOT/f2b-server/etc/jail.local" "$ROOT/f2b-server/fail2ban.log" "$OUT/conf/" 2>/dev/null
    fi
    if [ "${KEEP:-0}" = 1 ]; then say "kept $ROOT"; else rm -rf "$ROOT"; fi
}

# --- measurements -----------------------------------------------------------
declare -A R # R[contender.column] = the table's text

# "CODE COUNT" lines of client.pl -> "CODExCOUNT ..." (first_stop left out).
answers() { awk '$1 != "first_stop" && $1 != "stop_secs" { printf "%s%s ×%s", (n++ ? ", " : ""), $1, $2 }'; }
field() { awk -v k="$1" '$1 == k { print $2 }'; }

# fail2ban: seconds from IP's first attack denied (error log) to its ban
# (fail2ban's log), to 0.01 s. The client's own clock would add the time it
# takes to notice: an established connection waits for its timeout.
f2b_delay() { # f2b_delay IP
    perl -MTime::Local=timegm -e '
        my ($ip, $elog, $flog) = @ARGV;
        my %mon; @mon{qw(Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec)} = 0 .. 11;
        my ($t0, $t1);
        open my $e, "<", $elog or exit 1;
        while (<$e>) {
            next unless /\[client \Q$ip\E[]:]/ && /Access denied with code 403/;
            /^\[\w+ (\w+) (\d+) (\d+):(\d+):(\d+)(\.\d+) (\d+)\]/ or next;
            $t0 = timegm($5, $4, $3, $2, $mon{$1}, $7) + $6;
            last;
        }
        open my $f, "<", $flog or exit 1;
        while (<$f>) {
            /^(\d+)-(\d+)-(\d+) (\d+):(\d+):(\d+),(\d+) .* Ban \Q$ip\E$/ or next;
            $t1 = timegm($6, $5, $4, $3, $2 - 1, $1) + $7 / 1000;
            last;
        }
        printf "%.2f", $t1 - $t0 if defined $t0 && defined $t1;
    ' "$1" "$ROOT/f2b/logs/error_log" "$ROOT/f2b-server/fail2ban.log"
}

# "n n n" -> "n" when all agree, else "median (min-max)".
spread() {
    tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 }
        END { m = v[int((NR + 1) / 2)]; if (v[1] == v[NR]) print m; else printf "%s (%s-%s)\n", m, v[1], v[NR] }'
}

# seq: one attacker, one connection; par: THRESHOLD attacks at once over
# PAR_CONNS connections, then one per connection until banned. REPEATS
# times each, every time with a new client.
m_attack() { # m_attack seq|par CONTENDER SERVER
    local mode=$1 c=$2 s=$3 ip out1="" out2 n=$((4 * THRESHOLD)) stop=404 extra=() port k
    local counts="" delays="" never=0 first=1 base=1
    port=$(srv_port "$s")
    [ "$mode" = par ] && base=4
    [ "$s" = f2b ] && { n=1000000 stop=fail extra=(--secs "$F2B_SECS"); }
    for k in $(seq 0 $((REPEATS - 1))); do
        ip=$(client_ip "$s" "$(($(srv_index "$s") * 10 + base + k))")
        [ "$mode" = par ] && out1=$(client "$s" "$port" "$ip" "$ATTACK" --n "$THRESHOLD" --conns "$PAR_CONNS" --fresh)
        # shellcheck disable=SC2046 # --fresh or nothing
        out2=$(client "$s" "$port" "$ip" "$ATTACK" --n "$n" --stop "$stop" "${extra[@]}" $([ "$mode" = par ] && echo --fresh))
        echo "$c $mode $ip: ${out1:+burst: $(echo "$out1" | tr '\n' ' ')then: }$(echo "$out2" | tr '\n' ' ')" >>"$OUT/raw/clients.txt"
        counts="$counts $(inspected "$s" "$ip")"
        [ "$(echo "$out2" | field first_stop)" = 0 ] && never=1
        [ "$s" = f2b ] && delays="$delays $(f2b_delay "$ip")"
        [ "$first" = 1 ] && [ "$mode" = seq ] && SEQ_IP[$c]=$ip
        first=0
    done
    R[$c.$mode]=$(echo "$counts" | spread)
    if [ "$never" = 1 ]; then
        R[$c.$mode]="${R[$c.$mode]} (never banned)"
    elif [ "$mode" = par ] && [ "${R[$c.$mode]}" = "$THRESHOLD" ]; then
        R[$c.$mode]="$THRESHOLD: exact"
    fi
    [ "$s" = f2b ] && R[$c.$mode]="${R[$c.$mode]}; ban $(echo "$delays" | spread) s after the first"
}

# nodes: rlw-mc, the attacks split over both nodes.
m_nodes() {
    local ip a b pa pb ia ib ra rb pid out=""
    ip=$(client_ip rlw-mc-a 71) # numbers of rlw-mc-b: measured on rlw-mc-a
    pa=$(srv_port rlw-mc-a) pb=$(srv_port rlw-mc-b)
    a=$((THRESHOLD / 2)) b=$((THRESHOLD - THRESHOLD / 2))
    client rlw-mc-a "$pa" "$ip" "$ATTACK" --n "$a" --conns $((PAR_CONNS / 2)) --fresh >"$OUT/raw/nodes-a.txt" &
    pid=$!
    client rlw-mc-b "$pb" "$ip" "$ATTACK" --n "$b" --conns $((PAR_CONNS / 2)) --fresh >"$OUT/raw/nodes-b.txt"
    wait "$pid"
    sleep 1
    for _ in $(seq $((2 * THRESHOLD))); do
        ra=$(client rlw-mc-a "$pa" "$ip" "$ATTACK" | awk '$1 ~ /^[0-9]+$/ { print $1 }')
        rb=$(client rlw-mc-b "$pb" "$ip" "$ATTACK" | awk '$1 ~ /^[0-9]+$/ { print $1 }')
        out="$out $ra/$rb"
        [ "$ra" = 404 ] && [ "$rb" = 404 ] && break
    done
    ia=$(inspected rlw-mc-a "$ip") ib=$(inspected rlw-mc-b "$ip")
    echo "rlw-mc nodes $ip: $a on A + $b on B at once, then A/B:$out; inspected A $ia, B $ib" >>"$OUT/raw/clients.txt"
    R[rlw-mc.nodes]="$((ia + ib))"
    [ $((ia + ib)) = "$THRESHOLD" ] && R[rlw-mc.nodes]="$THRESHOLD: exact"
}

m_prop() {
    local out=$OUT/raw/propagation.txt
    "${ON_CLIENT_CPU[@]}" perl "$top/bench/propagation.pl" "$(srv_port rlw-mc-a)" "$(srv_port rlw-mc-b)" \
        "$PROP_REPEATS" 5 198.18.0 $((2 * THRESHOLD)) >"$out" 2>&1 || say "propagation: a repeat failed (see $out)"
    R[rlw-mc.prop]=$(tail -n 1 "$out" | awk 'NF == 2 { printf "%s ms (max %s)", $1, $2 }')
    [ -n "${R[rlw-mc.prop]}" ] || R[rlw-mc.prop]="failed (raw/propagation.txt)"
}

# same: clean requests from the banned attacker's address (3 of them).
m_same() { # m_same CONTENDER SERVER
    local c=$1 s=$2 out
    out=$(client "$s" "$(srv_port "$s")" "${SEQ_IP[$c]}" "$CLEAN" --n 3)
    echo "$c same ${SEQ_IP[$c]}: $(echo "$out" | tr '\n' ' ')" >>"$OUT/raw/clients.txt"
    R[$c.same]=$(echo "$out" | answers)
    [ "$(echo "$out" | field fail)" = 3 ] && R[$c.same]="refused (packets rejected)"
}

# alone: a client that never attacks, CLEAN_N requests on one connection.
m_alone() { # m_alone CONTENDER SERVER
    local c=$1 s=$2 ip out
    ip=$(client_ip "$s" "$(($(srv_index "$s") * 10 + 7))")
    out=$(client "$s" "$(srv_port "$s")" "$ip" "$CLEAN" --n "$CLEAN_N")
    echo "$c alone $ip: $(echo "$out" | tr '\n' ' ')" >>"$OUT/raw/clients.txt"
    R[$c.alone]=$(echo "$out" | answers)
}

# rate: wrk as the banned client (or, for modsec, the attacker it never
# bans). The contenders that key on the connection's address get
# 127.0.0.1 banned first (wrk cannot choose its address).
RATE_CLIENT=()
rate_prepare() { # rate_prepare CONTENDER SERVER
    local c=$1 s=$2 out
    [ "$s" = f2b ] && return 0 # not measured: the kernel rejects it
    if [ "$(ident_mode "$s")" = bind ]; then
        out=$(in_ns "$s" perl "$CLIENT" "$(srv_port "$s")" "$ATTACK" --n $((4 * THRESHOLD)) --stop 404)
        echo "$c rate: 127.0.0.1 attacked: $(echo "$out" | tr '\n' ' ')" >>"$OUT/raw/clients.txt"
        RATE_CLIENT[$(srv_index "$s")]=
    else
        RATE_CLIENT[$(srv_index "$s")]=${SEQ_IP[$c]}
    fi
}
wrk_run() { # wrk_run SERVER SCHEME ROUND -> req/s
    local s=$1 scheme=$2 r=$3 port hdr=() f
    port=$(srv_port "$s" "$scheme")
    [ -n "${RATE_CLIENT[$(srv_index "$s")]}" ] && hdr=(-H "X-Forwarded-For: ${RATE_CLIENT[$(srv_index "$s")]}")
    f=$OUT/raw/wrk-$s-$scheme-$r.txt
    in_ns "$s" "${ON_CLIENT_CPU[@]}" wrk -t "$WRK_THREADS" -c "$WRK_CONNS" -d "${WRK_SECS}s" \
        "${hdr[@]}" "$scheme://localhost:$port$ATTACK" >"$f" 2>&1
    awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$f"
}
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

# --- report -----------------------------------------------------------------
NAMES=(
    "modsec|ModSecurity + CRS alone"
    "ipban|ModSecurity per-IP ban recipe (ip collection, expirevar)"
    "evasive|mod_evasive (+ ModSecurity + CRS)"
    "qos|mod_qos client event limit fed by ModSecurity"
    "f2b|fail2ban on ModSecurity's log, nftables"
    "rlw-shm|mod_ratelimit_waf, shm store"
    "rlw-mc|mod_ratelimit_waf, memcached store, 2 nodes"
    "rlw-msc3|mod_ratelimit_waf, embedded engine (libmodsecurity 3), shm"
)
table() {
    local n c
    echo "| Contender | Attacks inspected before the ban (1 connection) | Same, $THRESHOLD attacks at once over $PAR_CONNS connections, 2 children | Count across 2 nodes | Ban on the 2nd node after | Banned client req/s, HTTP | Banned client req/s, TLS | Same address, clean request, during the ban | Clean client alone, $CLEAN_N requests |"
    echo "|---|---|---|---|---|---|---|---|---|"
    for n in "${NAMES[@]}"; do
        c=${n%%|*}
        [[ " $ONLY " == *" $c "* ]] || continue
        echo "| ${n#*|} | ${R[$c.seq]:-} | ${R[$c.par]:-} | ${R[$c.nodes]:-} | ${R[$c.prop]:-} | ${R[$c.http]:-} | ${R[$c.https]:-} | ${R[$c.same]:-} | ${R[$c.alone]:-} |"
    done
}

# Servers of a contender; the first is the one measured alone.
servers_of() { case $1 in rlw-mc) echo "rlw-mc-a rlw-mc-b" ;; *) echo "$1" ;; esac; }

main() {
    local c s r scheme v
    trap cleanup EXIT
    trap 'exit 130' INT TERM HUP
    # Leftovers of a killed run: its servers (pid files under ROOT) and namespace.
    for d in "$ROOT"/*/; do
        [ -f "$d/run/httpd.pid" ] && rlw_httpd_stop "$d/run/httpd.pid"
    done
    [ -f "$ROOT/f2b-server/fail2ban.pid" ] && kill "$(cat "$ROOT/f2b-server/fail2ban.pid")" 2>/dev/null
    rlw_mc_stop "$ROOT" 2>/dev/null
    ip netns del "$NETNS" 2>/dev/null
    rm -rf "$ROOT"
    mkdir -p "$ROOT/tls" "$OUT/raw" || die "cannot create $ROOT, $OUT"
    chmod 0755 "$ROOT"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
        -addext subjectAltName=DNS:localhost -keyout "$ROOT/tls/key.pem" \
        -out "$ROOT/tls/cert.pem" >/dev/null 2>&1 || die "openssl could not make a certificate"
    chmod 0644 "$ROOT/tls/cert.pem"
    cp "$SO" "$ROOT/mod_ratelimit_waf.so" || die "cannot copy $SO"
    (umask 077 && openssl rand -base64 48 >"$ROOT/cluster.secret")

    local t0=$SECONDS
    if [[ " $ONLY " == *" rlw-mc "* ]]; then
        # shellcheck disable=SC2034 # read by rlw_mc_start
        RLW_MC_PREFIX=("${ON_SERVER_CPU[@]}")
        rlw_mc_start "$ROOT" "$MC_PORT_BASE" -m 64 -c 1024 || die "memcached failed"
        rlw_mc_start "$ROOT" $((MC_PORT_BASE + 1)) -m 64 -c 1024 || die "memcached failed"
    fi
    if [[ " $ONLY " == *" f2b "* ]]; then
        ip netns add "$NETNS" || die "cannot create network namespace $NETNS"
        ip -n "$NETNS" link set lo up
    fi
    for c in $ONLY; do
        for s in $(servers_of "$c"); do start_server "$s"; done
    done
    [[ " $ONLY " == *" f2b "* ]] && start_fail2ban
    say "servers up: $ONLY"

    declare -gA SEQ_IP
    for c in $ONLY; do
        s=$(servers_of "$c" | cut -d' ' -f1)
        say "$c: attacks until banned"
        m_attack seq "$c" "$s"
        [ "$c" = modsec ] || m_attack par "$c" "$s"
        m_same "$c" "$s"
        m_alone "$c" "$s"
        rate_prepare "$c" "$s"
        say "$c: seq ${R[$c.seq]} | par ${R[$c.par]:-} | same ${R[$c.same]} | alone ${R[$c.alone]}"
    done
    for c in $ONLY; do
        case $c in
        rlw-mc) say "rlw-mc: two nodes"; m_nodes; m_prop ;;
        rlw-shm | rlw-msc3) R[$c.nodes]="no: one server's shared memory (use the memcached store)"
            R[$c.prop]="n/a" ;;
        ipban) R[$c.nodes]="no: SecDataDir is per server (a shared one is not safe across hosts)"
            R[$c.prop]="n/a" ;;
        evasive) R[$c.nodes]="no: a table per child process"; R[$c.prop]="n/a" ;;
        qos) R[$c.nodes]="no: one server's shared memory"; R[$c.prop]="n/a" ;;
        f2b) R[$c.nodes]="no: each host's fail2ban reads its own log"; R[$c.prop]="n/a" ;;
        modsec) R[$c.par]="n/a (no ban)"; R[$c.nodes]="n/a (no ban)"; R[$c.prop]="n/a" ;;
        esac
    done

    say "banned clients' req/s: $ROUNDS round(s) of ${WRK_SECS}s per contender and scheme"
    for r in $(seq "$ROUNDS"); do
        for c in $ONLY; do
            [ "$c" = f2b ] && continue
            s=$(servers_of "$c" | cut -d' ' -f1)
            for scheme in http https; do
                echo "$c $scheme $r $(wrk_run "$s" "$scheme" "$r")" >>"$OUT/raw/rates.txt"
            done
        done
    done
    for c in $ONLY; do
        for scheme in http https; do
            if [ "$c" = f2b ]; then
                R[$c.$scheme]="n/a: the kernel rejects it (no httpd work)"
                continue
            fi
            v=$(awk -v c="$c" -v s="$scheme" '$1 == c && $2 == s && $4 != "" { print $4 }' "$OUT/raw/rates.txt" | median)
            R[$c.$scheme]=${v:-failed}
            # wrk counts a connection the server closes after its answer as
            # a read error: when most answers did, the client reconnects
            # (and, over TLS, shakes hands again) for each request.
            if awk '/requests in/ { n += $1 } /Socket errors/ { sub(",", "", $6); e += $6 }
                    END { exit !(n > 0 && e * 2 > n) }' "$OUT"/raw/wrk-"$(servers_of "$c" | cut -d' ' -f1)"-"$scheme"-*.txt; then
                R[$c.$scheme]="${R[$c.$scheme]} (closes the connection)"
            fi
            [ "$c" = modsec ] && R[$c.$scheme]="${v:-failed} (not banned: 403s)"
        done
    done
    [[ " $ONLY " == *" f2b "* ]] && cp "$ROOT/f2b-server/fail2ban.log" "$OUT/raw/" 2>/dev/null

    {
        echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') by \`${CMDLINE:-bash bench/compare.sh}\` in $((SECONDS - t0)) s" \
            "(THRESHOLD=$THRESHOLD BAN=$BAN ROUNDS=$ROUNDS WRK_SECS=$WRK_SECS WRK_CONNS=$WRK_CONNS PAR_CONNS=$PAR_CONNS$([ "$QUICK" = 1 ] && echo ' QUICK=1'))" \
            "on $(nproc) cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), $(uname -r);" \
            "Apache $("$HTTPD" -v | awk -F/ '/version/ { print $2 }' | cut -d' ' -f1)," \
            "$(dpkg-query -W -f='${Package} ${Version}' libapache2-mod-security2), $(dpkg-query -W -f='${Package} ${Version}' modsecurity-crs)," \
            "$(dpkg-query -W -f='${Package} ${Version}' libmodsecurity3), $(dpkg-query -W -f='${Package} ${Version}' libapache2-mod-evasive)," \
            "$(dpkg-query -W -f='${Package} ${Version}' libapache2-mod-qos), $(dpkg-query -W -f='${Package} ${Version}' fail2ban)."
        echo
        table
    } >"$OUT/table.md"
    cp "$OUT/table.md" "$OUT/report.md"
    cat "$OUT/report.md"
    if [ "$UPDATE_DOC" = 1 ]; then
        perl -0pi -e 'BEGIN { local $/; open my $f, "<", $ENV{TABLE} or die; $t = <$f> }
            s/(<!-- compare:begin -->\n).*?(<!-- compare:end -->)/$1\n$t\n$2/s or die "no markers\n"' \
            "$top/docs/comparison.md" && say "table written to docs/comparison.md"
    fi
    say "results in $OUT"
}

export TABLE
TABLE=$OUT/table.md
main "$@"
