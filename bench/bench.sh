#!/bin/bash
# bench/bench.sh - what a ban saves: mod_ratelimit_waf's answer to a banned
# client against ModSecurity's inspection of the same attack, and what the
# module costs clean traffic. One run starts every server side by side and
# measures them in interleaved rounds, so machine noise hits all alike.
#
# Usage: bash bench/bench.sh            (or: make bench)
#
# Variants (wrk, keep-alive, over HTTP and HTTPS):
#   A  ModSecurity + CRS inspect the attack URL and deny it (403)
#   B  the same attack from a client this module banned: 404 from its
#      quick_handler, connection kept, ModSecurity's engine switched off
#   C  as B with RateLimitWAFBanAction close (one connection per request)
#   D  as B without mod_security2 loaded (the ceiling); the ban comes from
#      a SetEnvIfExpr stand-in score (bench/httpd-conf.sh, "scoreenv")
#   Bm as B with the memcached store (RateLimitWAFStore memcached)
#   A3 as A, inspected by the module's embedded engine (RateLimitWAFEngine
#      modsecurity3, libmodsecurity v3) with the same CRS: 403; the module
#      counts the attacks but its threshold is never reached
#   B3 as B under the embedded engine: banned, 404, no WAF transaction
# Clean traffic (GET /, a small static file, HTTP only):
#   E1 plain httpd            E2 + module   E2b + module, another client banned
#   E3 ModSecurity + CRS      E4 + module   E4b + module, another client banned
#   E5 the module's embedded engine + the same CRS (nobody banned)
#   E2m E2mb E4m E4mb: E2 E2b E4 E4b with the memcached store
#   E2km as E2k with the memcached store (server plain-mc-keys)
#   E2k as E2 with RateLimitWAFNetwork and two RateLimitWAFKey over
#      X-Api-Key and Host, headers every wrk request carries (nobody
#      banned: no key ban runs, so the keys are evaluated and hashed only
#      when an attack is counted)
# With MC=1 (the default) the script starts two memcached servers on
# 127.0.0.1:MC_PORT_BASE and +1; every memcached-store server uses both
# ("--SERVER=... --SERVER=... --DISTRIBUTION=consistent", one secret file),
# each under its own RateLimitWAFKeyPrefix so that no server sees another's
# bans. After the rounds it also measures, with the memcached store:
#   - memcached commands (memcached "stats": cmd_get, cmd_set, cmd_touch,
#     incr, decr, delete; cas is counted in cmd_set) and store round trips
#     (the module's own "ops" counter, status page ?json) per clean request:
#     deltas over a DURATION-second wrk run of E2m and of E2mb, minus the
#     deltas of an idle period of the same length (the nodes' background
#     journal polls);
#   - the same per attack below the threshold: ATTACKS attacks, each from
#     another client, one after the other on one connection (plain-mc),
#     then the same clients once more (their bucket counters exist);
#   - the same with networks and two request keys (E2km, plain-mc-keys:
#     RateLimitWAFNetwork and two RateLimitWAFKey, bench/httpd-conf.sh
#     "apikeys"): per clean request, and per attack, where each attack
#     carries its own X-Api-Key and counts four subjects (the client, its
#     /24, its API key, the Host key) in parallel; round-trip times per
#     attack = round trips / 4;
#   - ban propagation: two nodes (node-a, node-b: plain httpd + module,
#     one key prefix, RateLimitWAFSyncInterval SYNC) share the pool; a
#     client is banned on node A, node B is polled with its clean requests
#     every 5 ms until it answers 404 (bench/propagation.pl); PROP_REPEATS
#     times, each with a new client.
# E1-E4 are measured one after the other like A-D; and, because a few
# percent are lost in the noise of a shared machine that way, the pairs
# E2:E1 E2b:E1 E4:E3 E4b:E3 (and E5:E4) are also measured side by side: both servers
# loaded at the same time (two wrk), sharing the server CPU, so that any
# noise hits both alike; the ratio of their req/s is then the inverse of
# the ratio of their costs per request.
#
# Environment:
#   DURATION=3     seconds of each measured wrk run
#   CONNS=16       wrk connections (keep-alive)
#   THREADS=2      wrk threads
#   ROUNDS=5       rounds over all points; the median round is reported,
#                  and ratios are medians of the per-round ratios (both
#                  sides measured minutes apart at most). Odd rounds run
#                  the points in order, even ones reversed.
#   WARMUP=1       seconds of unrecorded load per point before round 1
#   POINTS="A.http B.http ..."  points measured one after the other
#                  (default: E1 E2 E3 E4 and A B Bm C D over HTTP and TLS;
#                  with libmodsecurity.so.3 installed also E5, A3, B3;
#                  E2b E4b E2m E2mb E4m E4mb can be added)
#   PAIRS="E2:E1 E2b:E1 E2k:E2 E4:E3 E4b:E3 E2m:E1 E2mb:E1 E4m:E3 E4mb:E3 E5:E4"
#                  points measured side by side (PAIRS= for none; E5:E4
#                  only with libmodsecurity.so.3)
#   MSC3=auto      1: the embedded engine's points (E5 A3 B3, pair E5:E4)
#                  in the defaults; 0: not; auto: 1 if ldconfig knows
#                  libmodsecurity.so.3
#   MC=1           0: no memcached store (no Bm, E*m points, no memcached
#                  measurements; the defaults drop them)
#   MC_PORT_BASE=9100  the two memcached servers' ports (and +1)
#   ATTACKS=200    attacks (distinct clients) for the round trips per attack
#   PROP_REPEATS=10    bans whose propagation is timed
#   SYNC=250ms     RateLimitWAFSyncInterval of the two propagation nodes
#   ACCESS_LOG=0   1: every server writes an access log (default: none)
#   PIN=1          httpd on CPU 0, wrk on CPU 1 (taskset); PIN=0: let the
#                  scheduler share both cores between them
#   BENCH_ROOT=/tmp/rlw-bench   ServerRoots (wiped at start)
#   PORT_BASE=9000 server i listens on PORT_BASE+2i (HTTP) and +1 (HTTPS)
#   OUT=bench/results/<UTC time>   raw wrk output, samples, report
#   KEEP=1         keep BENCH_ROOT (configs, logs) after the run
#   PERF=1         after the rounds, profile each POINT once more for
#                  DURATION seconds: perf record (call graphs) of the
#                  server's processes, summaries in OUT/perf/<point>.txt.
#                  Best with a few POINTS, e.g. POINTS="B.http D.http".
#
# Output: OUT/report.md (tables, goals, machine), OUT/samples.tsv and
# OUT/pairs.tsv (one line per measured run), OUT/raw/*.txt (wrk output),
# OUT/probes.txt, OUT/mem.tsv (memory per child of the servers with the
# CRS: /proc/PID/smaps_rollup after the rounds), OUT/conf/*.conf, OUT/mc.txt (memcached measurements:
# stats deltas, propagation delays). bench/results/latest points at the
# newest OUT.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tools/lib/rlw-sh.sh
. "$top/tools/lib/rlw-sh.sh"
DURATION=${DURATION:-3}
CONNS=${CONNS:-16}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-5}
WARMUP=${WARMUP:-1}
ACCESS_LOG=${ACCESS_LOG:-0}
PIN=${PIN:-1}
ROOT=${BENCH_ROOT:-/tmp/rlw-bench}
PORT_BASE=${PORT_BASE:-9000}
MC=${MC:-1}
MC_PORT_BASE=${MC_PORT_BASE:-9100}
ATTACKS=${ATTACKS:-200}
PROP_REPEATS=${PROP_REPEATS:-10}
SYNC=${SYNC:-250ms}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${OUT:-$top/bench/results/$STAMP}
SO=${RLW_MODULE_SO:-$top/mod_ratelimit_waf/.libs/mod_ratelimit_waf.so}
HTTPD=${RLW_HTTPD:-/usr/sbin/apache2}
# The servers load a copy: the tree's module may be rebuilt during a run.
export RLW_MODULE_SO=$ROOT/mod_ratelimit_waf.so TLS_DIR=$ROOT/tls

# The attack every variant sends: a reflected XSS that CRS 3.3 scores 15 at
# paranoia level 1 (same as t/lib/RLW/Client.pm). Clean traffic gets /.
ATTACK='/?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E'
CLEAN='/'
# The request key every measured request carries (the E2k servers count
# a RateLimitWAFKey over it; the others ignore the header).
BENCH_API_KEY=bench-api-key-0001

die() { echo "bench: $*" >&2; exit 1; }
say() { echo "bench: $*" >&2; }

for v in DURATION CONNS THREADS ROUNDS WARMUP PORT_BASE MC_PORT_BASE ATTACKS PROP_REPEATS; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v='${!v}' is not a whole number"
done
[ "$ROUNDS" -ge 1 ] && [ "$DURATION" -ge 1 ] || die "ROUNDS and DURATION must be >= 1"
[ "${PERF:-0}" = 1 ] && ! command -v perf >/dev/null && die "PERF=1 needs perf (make deps)"
for t in wrk curl openssl "$HTTPD" pgrep ss taskset; do
    command -v "$t" >/dev/null || die "$t is missing (make deps)"
done
[ -f "$SO" ] || die "$SO is not built (make build)"
[ "$MC" = 0 ] || [ "$MC" = 1 ] || die "MC='$MC': 0 or 1"
[[ $SYNC =~ ^[0-9]+(ms|s)$ ]] || die "SYNC='$SYNC': a duration such as 250ms or 1s"
if [ "$MC" = 1 ]; then
    for t in memcached perl; do
        command -v "$t" >/dev/null || die "$t is missing (make deps; or MC=0)"
    done
    [ "$ATTACKS" -ge 1 ] && [ "$ATTACKS" -le 62500 ] || die "ATTACKS: 1-62500"
fi
# SYNC in ms, and the watchdog's period: mod_watchdog wakes up every
# 100 ms, the module rounds the interval down to that (at least 100 ms).
sync_ms() { [[ $SYNC == *ms ]] && echo "${SYNC%ms}" || echo $((${SYNC%s} * 1000)); }
sync_poll_ms() { local m; m=$(sync_ms); m=$((m - m % 100)); [ "$m" -ge 100 ] && echo "$m" || echo 100; }
# The memcached store's pool: both servers, consistent hashing (docs/cluster.md).
MC_CONFIG="--SERVER=127.0.0.1:$MC_PORT_BASE --SERVER=127.0.0.1:$((MC_PORT_BASE + 1)) --DISTRIBUTION=consistent"
export RLW_MC_CONFIG=$MC_CONFIG RLW_MC_SECRET=$ROOT/cluster.secret

# --- servers ----------------------------------------------------------------
# name | bench/httpd-conf.sh options | client banned before the rounds
SERVERS=(
    "plain|scoreenv|"
    "plain-rlw|scoreenv rlw|"
    "plain-rlw-ban|scoreenv rlw|198.51.100.40"
    "plain-rlw-keys|scoreenv rlw keys|"
    "modsec|modsec|"
    "modsec-rlw|modsec rlw|"
    "modsec-rlw-ban|modsec rlw|198.51.100.20"
    "modsec-rlw-close|modsec rlw close|198.51.100.30"
    "plain-mc|scoreenv rlw mc prefix=e2m: status|"
    "plain-mc-ban|scoreenv rlw mc prefix=e2mb: status|198.51.100.41"
    "plain-mc-keys|scoreenv rlw apikeys mc prefix=e2km: status|"
    "modsec-mc|modsec rlw mc prefix=e4m:|"
    "modsec-mc-ban|modsec rlw mc prefix=e4mb:|198.51.100.21"
    "node-a|scoreenv rlw mc prefix=prop: node=node-a sync=$SYNC status|"
    "node-b|scoreenv rlw mc prefix=prop: node=node-b sync=$SYNC status|"
    "msc3|modsec engine3 rlw threshold=1000000000|"
    "msc3-ban|modsec engine3 rlw|198.51.100.51"
)
# Ports 9000-9099 by default; another range of unprivileged ports (a shared
# machine's own) may be given, clear of the memcached ports.
[ "$PORT_BASE" -ge 1024 ] && [ $((PORT_BASE + 2 * ${#SERVERS[@]} - 1)) -le 65535 ] \
    || die "PORT_BASE=$PORT_BASE: the servers must fit in ports 1024-65535"
[ $((PORT_BASE + 2 * ${#SERVERS[@]} - 1)) -lt "$MC_PORT_BASE" ] || [ "$PORT_BASE" -gt $((MC_PORT_BASE + 1)) ] \
    || die "PORT_BASE=$PORT_BASE: the servers' ports overlap MC_PORT_BASE=$MC_PORT_BASE"
[ "$ACCESS_LOG" = 1 ] && ACCESS_OPT=accesslog || ACCESS_OPT=
if [ "$PIN" = 1 ] && [ "$(nproc)" -ge 2 ]; then
    ON_SERVER_CPU=(taskset -c 0)
    ON_CLIENT_CPU=(taskset -c 1)
else
    PIN=0
    ON_SERVER_CPU=()
    ON_CLIENT_CPU=()
fi

srv_field() { # srv_field NAME N -> field N (1-based) of NAME's line
    local s
    for s in "${SERVERS[@]}"; do
        [ "${s%%|*}" = "$1" ] && { echo "$s" | cut -d'|' -f"$2"; return; }
    done
    die "no server '$1'"
}
srv_index() {
    local i
    for i in "${!SERVERS[@]}"; do
        [ "${SERVERS[$i]%%|*}" = "$1" ] && { echo "$i"; return; }
    done
    die "no server '$1'"
}
srv_port() { # srv_port NAME http|https
    local p=$((PORT_BASE + 2 * $(srv_index "$1")))
    [ "$2" = https ] && p=$((p + 1))
    echo "$p"
}
srv_pid() { cat "$ROOT/$1/run/httpd.pid" 2>/dev/null; }

# --- points -----------------------------------------------------------------
# id | server | scheme | path | client (X-Forwarded-For) | expected status
# Listed so that the pairs compared with each other sit next to each other;
# even rounds run the list backwards.
ALL_POINTS=(
    "E1|plain|http|$CLEAN|192.0.2.11|200"
    "E2|plain-rlw|http|$CLEAN|192.0.2.12|200"
    "E2b|plain-rlw-ban|http|$CLEAN|192.0.2.13|200"
    "E2k|plain-rlw-keys|http|$CLEAN|192.0.2.22|200"
    "E3|modsec|http|$CLEAN|192.0.2.14|200"
    "E4|modsec-rlw|http|$CLEAN|192.0.2.15|200"
    "E4b|modsec-rlw-ban|http|$CLEAN|192.0.2.16|200"
    "E2m|plain-mc|http|$CLEAN|192.0.2.17|200"
    "E2mb|plain-mc-ban|http|$CLEAN|192.0.2.18|200"
    "E2km|plain-mc-keys|http|$CLEAN|192.0.2.23|200"
    "E4m|modsec-mc|http|$CLEAN|192.0.2.19|200"
    "E4mb|modsec-mc-ban|http|$CLEAN|192.0.2.20|200"
    "A.http|modsec|http|$ATTACK|198.51.100.10|403"
    "B.http|modsec-rlw-ban|http|$ATTACK|198.51.100.20|404"
    "Bm.http|modsec-mc-ban|http|$ATTACK|198.51.100.21|404"
    "C.http|modsec-rlw-close|http|$ATTACK|198.51.100.30|404"
    "D.http|plain-rlw-ban|http|$ATTACK|198.51.100.40|404"
    "A.tls|modsec|https|$ATTACK|198.51.100.10|403"
    "B.tls|modsec-rlw-ban|https|$ATTACK|198.51.100.20|404"
    "Bm.tls|modsec-mc-ban|https|$ATTACK|198.51.100.21|404"
    "C.tls|modsec-rlw-close|https|$ATTACK|198.51.100.30|404"
    "D.tls|plain-rlw-ban|https|$ATTACK|198.51.100.40|404"
    "E5|msc3|http|$CLEAN|192.0.2.21|200"
    "A3.http|msc3|http|$ATTACK|198.51.100.50|403"
    "B3.http|msc3-ban|http|$ATTACK|198.51.100.51|404"
    "A3.tls|msc3|https|$ATTACK|198.51.100.50|403"
    "B3.tls|msc3-ban|https|$ATTACK|198.51.100.51|404"
)
MSC3=${MSC3:-auto}
if [ "$MSC3" = auto ]; then
    ldconfig -p 2>/dev/null | grep 'libmodsecurity[.]so[.]3 ' >/dev/null && MSC3=1 || MSC3=0
fi
[ "$MSC3" = 0 ] || [ "$MSC3" = 1 ] || die "MSC3='$MSC3': 0, 1 or auto"
if [ "$MSC3" = 1 ]; then
    MSC3_POINTS=" E5 A3.http B3.http A3.tls B3.tls" MSC3_PAIRS=" E5:E4"
else
    MSC3_POINTS= MSC3_PAIRS=
fi
if [ "$MC" = 1 ]; then
    POINTS=${POINTS-E1 E2 E3 E4 A.http B.http Bm.http C.http D.http A.tls B.tls Bm.tls C.tls D.tls$MSC3_POINTS}
    PAIRS=${PAIRS-E2:E1 E2b:E1 E2k:E2 E4:E3 E4b:E3 E2m:E1 E2mb:E1 E4m:E3 E4mb:E3$MSC3_PAIRS}
else
    POINTS=${POINTS-E1 E2 E3 E4 A.http B.http C.http D.http A.tls B.tls C.tls D.tls$MSC3_POINTS}
    PAIRS=${PAIRS-E2:E1 E2b:E1 E2k:E2 E4:E3 E4b:E3$MSC3_PAIRS}
fi
point_by_id() {
    local p
    for p in "${ALL_POINTS[@]}"; do
        [ "${p%%|*}" = "$1" ] && { echo "$p"; return 0; }
    done
    return 1
}
POINT_LIST=()  # measured one after the other
for id in $POINTS; do
    p=$(point_by_id "$id") || die "POINTS: no point '$id'"
    POINT_LIST+=("$p")
done
PAIR_LIST=()   # "X|Y": X and Y measured side by side
USED=" $POINTS "
for pair in $PAIRS; do
    [[ $pair =~ ^([^:]+):([^:]+)$ ]] || die "PAIRS: '$pair' is not X:Y"
    for id in "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"; do
        point_by_id "$id" >/dev/null || die "PAIRS: no point '$id'"
        [ "$(point_by_id "$id" | cut -d'|' -f3)" = http ] || die "PAIRS: '$id' is not over HTTP"
        [[ $USED == *" $id "* ]] || USED="$USED$id "
    done
    [ "$(point_by_id "${BASH_REMATCH[1]}" | cut -d'|' -f2)" != \
      "$(point_by_id "${BASH_REMATCH[2]}" | cut -d'|' -f2)" ] \
        || die "PAIRS: '$pair' loads one server twice"
    PAIR_LIST+=("${BASH_REMATCH[1]}|${BASH_REMATCH[2]}")
done
USED_LIST=()   # every point in use, for the status checks
for id in $USED; do
    USED_LIST+=("$(point_by_id "$id")")
done
[ ${#USED_LIST[@]} -gt 0 ] || [ "$MC" = 1 ] || die "POINTS and PAIRS are both empty"
if [ "$MC" = 0 ]; then
    for p in "${USED_LIST[@]}"; do
        [[ " $(srv_field "$(echo "$p" | cut -d'|' -f2)" 2) " == *" mc "* ]] \
            && die "point '${p%%|*}' uses the memcached store: MC=0 does not start memcached"
    done
fi
pt() { echo "$1" | cut -d'|' -f"$2"; } # pt POINT N -> field N
pt_url() { echo "$(pt "$1" 3)://localhost:$(srv_port "$(pt "$1" 2)" "$(pt "$1" 3)")$(pt "$1" 4)"; }

# --- start, stop --------------------------------------------------------------
stop_server() { # by the pid in its pid file; its children go with it
    rlw_httpd_stop "$1/run/httpd.pid" \
        || say "httpd ($1) ignored SIGTERM for 10 s: SIGKILL"
}

cleanup() {
    local d
    trap - EXIT INT TERM HUP
    for d in "$ROOT"/*/; do
        [ -f "$d/run/httpd.pid" ] && stop_server "${d%/}"
    done
    stop_memcached
    if [ -d "$OUT" ]; then
        mkdir -p "$OUT/conf"
        for d in "$ROOT"/*/; do
            [ -f "$d/httpd.conf" ] || continue
            cp "$d/httpd.conf" "$OUT/conf/$(basename "$d").conf"
            # The error logs of the inspected variants are big: keep a tail.
            tail -n 200 "$d/logs/error_log" >"$OUT/conf/$(basename "$d").error_log.tail" 2>/dev/null
        done
    fi
    if [ -z "${KEEP:-}" ]; then
        rm -rf "$ROOT"
    else
        say "kept $ROOT"
    fi
}

# --- memcached --------------------------------------------------------------
# Two servers on the loopback, as the cluster tests run them
# (t/lib/RLW/Memcached.pm): no UDP, 64 MiB, 1024 connections, as nobody.
# Their pids are kept in ROOT/memcached-PORT.pid, also for a later run to
# stop what a killed one left behind.
start_memcached() {
    local i
    RLW_MC_PREFIX=("${ON_SERVER_CPU[@]}") # on the server CPU, like httpd
    for i in 0 1; do
        rlw_mc_start "$ROOT" $((MC_PORT_BASE + i)) -m 64 -c 1024 || die "memcached failed"
    done
    say "memcached on 127.0.0.1:$MC_PORT_BASE and :$((MC_PORT_BASE + 1)) ($(mc_stats "$MC_PORT_BASE" | awk '$1 == "version" { print $2 }'))"
}

stop_memcached() { rlw_mc_stop "$ROOT"; }
mc_stats() { rlw_mc_stats "$@"; } # mc_stats PORT: "name value" lines

# The commands of both servers so far: "get set touch incr decr delete cas"
# (decr = decr_hits + decr_misses and so on; cas = cas_hits + cas_misses +
# cas_badval, already counted in cmd_set). incr = incr_hits + incr_misses +
# total_items - cmd_set: memcached 1.6 counts a binary-protocol increment
# that creates its key (initial value) neither as a hit nor as a miss, only
# as an item stored (total_items, which otherwise grows by the successful
# sets, adds and cas). The module speaks the text protocol (its first
# attack of a client in a bucket is an incr miss and an add: incr_misses
# and cmd_set), so the last term is 0 for it; kept for other writers. Exact
# in deltas over a period in which no set, add or cas fails.
mc_counts() {
    { mc_stats "$MC_PORT_BASE"; mc_stats "$((MC_PORT_BASE + 1))"; } | awk '
        { v[$1] += $2 }
        END { printf "%d %d %d %d %d %d %d\n", v["cmd_get"], v["cmd_set"], v["cmd_touch"],
              v["incr_hits"] + v["incr_misses"] + v["total_items"] - v["cmd_set"], v["decr_hits"] + v["decr_misses"],
              v["delete_hits"] + v["delete_misses"], v["cas_hits"] + v["cas_misses"] + v["cas_badval"] }'
}

# The store's round trips so far on a server (its status page ?json, in
# its HTTPS virtual host: bench/httpd-conf.sh "status").
store_ops() { # store_ops SERVER
    curl -sk "https://localhost:$(srv_port "$1" https)/ratelimit-waf?json" \
        | perl -MJSON::PP -0777 -ne 'my $j = eval { decode_json($_) };
            print defined $j && defined $j->{store}{memcached}{ops} ? $j->{store}{memcached}{ops} : ""'
}

start_server() { # start_server NAME
    local name=$1 dir=$ROOT/$1 opts i
    opts=$(srv_field "$name" 2)
    mkdir -p "$dir"/{logs,run,htdocs,data,tmp}
    chown nobody:nogroup "$dir/data" "$dir/tmp"
    printf '<!DOCTYPE html>\n<html><head><title>ok</title></head><body>ok</body></html>\n' \
        >"$dir/htdocs/index.html"
    # shellcheck disable=SC2086 # options are words
    bash "$top/bench/httpd-conf.sh" "$dir" "$(srv_port "$name" http)" \
        "$(srv_port "$name" https)" $opts $ACCESS_OPT >"$dir/httpd.conf" \
        || die "could not write $dir/httpd.conf"
    "${ON_SERVER_CPU[@]}" "$HTTPD" -f "$dir/httpd.conf" -k start \
        || die "httpd $name did not start: $(tail -n 5 "$dir/logs/error_log" 2>/dev/null)"
    for i in $(seq 300); do
        if [ -n "$(srv_pid "$name")" ] \
            && curl -s -o /dev/null "http://localhost:$(srv_port "$name" http)/"; then
            return 0
        fi
        sleep 0.1
    done
    die "httpd $name is not answering: $(tail -n 5 "$dir/logs/error_log")"
}

# curl as client IP; prints "status connects" per URL given (same connection
# for all of them when the server keeps it open).
probe() { # probe IP URL...
    local ip=$1
    shift
    curl -sk -o /dev/null -o /dev/null -H "X-Forwarded-For: $ip" \
        -w '%{http_code} %{num_connects}\n' "$@"
}

# Attacks over HTTP as IP until the server answers the ban status (404).
ban_client() { # ban_client SERVER IP
    local url codes="" code i
    url="http://localhost:$(srv_port "$1" http)$ATTACK"
    for i in $(seq 20); do
        code=$(probe "$2" "$url" | cut -d' ' -f1)
        codes="$codes $code"
        if [ "$code" = 404 ]; then
            say "banned $2 on $1 (answers:$codes)"
            return 0
        fi
    done
    die "could not ban $2 on $1 (answers:$codes)"
}

# Checks each point's status; for B and C also whether the connection is
# kept (B) or closed (C) after the answer.
check_points() { # check_points LABEL
    local p id url out codes conns bad=0
    for p in "${USED_LIST[@]}"; do
        id=$(pt "$p" 1)
        url=$(pt_url "$p")
        out=$(probe "$(pt "$p" 5)" "$url" "$url")
        codes=$(echo "$out" | cut -d' ' -f1 | tr '\n' ' ')
        conns=$(echo "$out" | cut -d' ' -f2 | tr '\n' ' ')
        echo "$1 $id $url client=$(pt "$p" 5) status=[${codes% }] new_connections=[${conns% }]" >>"$OUT/probes.txt"
        if [ "$codes" != "$(pt "$p" 6) $(pt "$p" 6) " ]; then
            say "$1: $id answered [$codes], expected $(pt "$p" 6)"
            bad=1
        fi
        case $id in
        B.* | Bm.* | B3.*) [ "$conns" = "1 0 " ] || { say "$1: $id did not keep the connection ($conns)"; bad=1; } ;;
        C.*) [ "$conns" = "1 1 " ] || { say "$1: $id did not close the connection ($conns)"; bad=1; } ;;
        esac
    done
    return $bad
}

# --- measuring ----------------------------------------------------------------
CLK_TCK=$(getconf CLK_TCK)

# CPU ticks used so far by a server: parent and live children, and the
# children the parent has reaped.
cpu_ticks() {
    local ppid files
    ppid=$(srv_pid "$1")
    files="/proc/$ppid/stat"
    for k in $(pgrep -P "$ppid"); do files="$files /proc/$k/stat"; done
    # shellcheck disable=SC2086
    cat $files 2>/dev/null | awk -v pp="$ppid" \
        '{ t += $14 + $15; if ($1 == pp) t += $16 + $17 } END { print t + 0 }'
}

# CPU ticks of this shell's reaped children (wrk, once it has exited).
# Reads /proc without forking, so nothing else is counted.
child_ticks() {
    local st
    read -r -a st </proc/$$/stat
    echo $((st[15] + st[16]))
}

# "busy steal total" jiffies of the whole machine (/proc/stat).
sys_ticks() {
    awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i;
                   print t - $5 - $6, $9, t; exit }' /proc/stat
}

# One wrk run of a point. With a round number, appends a line to
# samples.tsv: id round req/s requests non2xx socket_errors httpd_us/req
# modsec_lines/req machine_busy% steal% other% where other% is the share
# of the machine's CPU time used by neither this server nor wrk: other
# tenants of a shared machine (high values mean a noisy run).
run_point() { # run_point POINT SECONDS ROUND|warmup
    local p=$1 secs=$2 round=$3 id srv errlog raw c0 c1 l0 s0 s1 w0 w1 lines
    id=$(pt "$p" 1)
    srv=$(pt "$p" 2)
    errlog=$ROOT/$srv/logs/error_log
    raw=$OUT/raw/$id.$round.txt
    echo "${ON_CLIENT_CPU[*]}${ON_CLIENT_CPU:+ }wrk -t$THREADS -c$CONNS -d${secs}s -H 'X-Forwarded-For: $(pt "$p" 5)' -H 'X-Api-Key: $BENCH_API_KEY' '$(pt_url "$p")'" >"$raw"
    c0=$(cpu_ticks "$srv")
    l0=$(stat -c %s "$errlog")
    s0=$(sys_ticks)
    w0=$(child_ticks)
    "${ON_CLIENT_CPU[@]}" wrk -t"$THREADS" -c"$CONNS" -d"${secs}s" -H "X-Forwarded-For: $(pt "$p" 5)" \
        -H "X-Api-Key: $BENCH_API_KEY" "$(pt_url "$p")" >>"$raw" 2>&1
    w1=$(child_ticks)
    s1=$(sys_ticks)
    c1=$(cpu_ticks "$srv")
    lines=$(tail -c +$((l0 + 1)) "$errlog" | grep -c 'ModSecurity:')
    [ "$round" = warmup ] && return 0
    awk -v id="$id" -v round="$round" -v cpu=$((c1 - c0)) -v hz="$CLK_TCK" -v wrk=$((w1 - w0)) \
        -v lines="$lines" -v s0="$s0" -v s1="$s1" '
        /requests in/       { n = $1 }
        /^Requests\/sec:/   { rps = $2 }
        /Non-2xx or 3xx/    { non2xx = $NF }
        /Socket errors:/    { gsub(/,/, ""); err = $4 + $6 + $8 + $10 }
        END {
            split(s0, a, " "); split(s1, b, " ")
            tot = b[3] - a[3]
            busy = tot > 0 ? 100 * (b[1] - a[1]) / tot : 0
            steal = tot > 0 ? 100 * (b[2] - a[2]) / tot : 0
            other = tot > 0 ? 100 * (b[1] - a[1] - cpu - wrk) / tot : 0
            if (other < 0) other = 0
            if (n == "" || rps == "") { n = 0; rps = 0 }
            printf "%s\t%s\t%.0f\t%d\t%d\t%d\t%.1f\t%.2f\t%.0f\t%.1f\t%.0f\n", id, round,
                rps, n, non2xx, err, n ? cpu * 1e6 / hz / n : 0,
                n ? lines / n : 0, busy, steal, other
        }' "$raw" >>"$OUT/samples.tsv"
    tail -n 1 "$OUT/samples.tsv" | awk -F'\t' '{ printf "bench: %-7s round %s: %8s req/s  httpd %6s us/req  ModSecurity lines/req %s  other tenants %s%%\n", $1, $2, $3, $7, $8, $11 }' >&2
}

# Parses a wrk output: "req/s requests non2xx socket_errors".
wrk_numbers() {
    awk '/requests in/ { n = $1 } /^Requests\/sec:/ { rps = $2 }
         /Non-2xx or 3xx/ { non2xx = $NF }
         /Socket errors:/ { gsub(/,/, ""); err = $4 + $6 + $8 + $10 }
         END { printf "%.0f %d %d %d\n", rps, n, non2xx, err }' "$1"
}

# Points X and Y loaded at the same time, each by its own wrk. Appends to
# pairs.tsv: X Y round req/s(X) req/s(Y) httpd_us/req(X) httpd_us/req(Y)
# errors(X+Y: non-2xx, socket) other%.
run_pair() { # run_pair "X|Y" ROUND
    local x=${1%%|*} y=${1##*|} round=$2 px py sx sy cx0 cy0 cx1 cy1 s0 s1 w0 w1 pidx pidy
    px=$(point_by_id "$x")
    py=$(point_by_id "$y")
    sx=$(pt "$px" 2)
    sy=$(pt "$py" 2)
    cx0=$(cpu_ticks "$sx")
    cy0=$(cpu_ticks "$sy")
    s0=$(sys_ticks)
    w0=$(child_ticks)
    "${ON_CLIENT_CPU[@]}" wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" \
        -H "X-Forwarded-For: $(pt "$px" 5)" "$(pt_url "$px")" >"$OUT/raw/pair.$x.$y.$x.$round.txt" 2>&1 &
    pidx=$!
    "${ON_CLIENT_CPU[@]}" wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" \
        -H "X-Forwarded-For: $(pt "$py" 5)" "$(pt_url "$py")" >"$OUT/raw/pair.$x.$y.$y.$round.txt" 2>&1 &
    pidy=$!
    wait "$pidx" "$pidy"
    w1=$(child_ticks)
    s1=$(sys_ticks)
    cx1=$(cpu_ticks "$sx")
    cy1=$(cpu_ticks "$sy")
    # shellcheck disable=SC2046 # word splitting of wrk_numbers is wanted
    set -- $(wrk_numbers "$OUT/raw/pair.$x.$y.$x.$round.txt") $(wrk_numbers "$OUT/raw/pair.$x.$y.$y.$round.txt")
    awk -v x="$x" -v y="$y" -v round="$round" -v rx="$1" -v nx="$2" -v ex=$(($3 + $4)) \
        -v ry="$5" -v ny="$6" -v ey=$(($7 + $8)) -v cx=$((cx1 - cx0)) -v cy=$((cy1 - cy0)) \
        -v hz="$CLK_TCK" -v wrk=$((w1 - w0)) -v s0="$s0" -v s1="$s1" 'BEGIN {
        split(s0, a, " "); split(s1, b, " ")
        tot = b[3] - a[3]
        other = tot > 0 ? 100 * (b[1] - a[1] - cx - cy - wrk) / tot : 0
        if (other < 0) other = 0
        printf "%s\t%s\t%s\t%.0f\t%.0f\t%.1f\t%.1f\t%d\t%.0f\n", x, y, round, rx, ry,
            nx ? cx * 1e6 / hz / nx : 0, ny ? cy * 1e6 / hz / ny : 0, ex + ey, other
    }' >>"$OUT/pairs.tsv"
    tail -n 1 "$OUT/pairs.tsv" | awk -F'\t' '{ printf "bench: %s beside %s round %s: %s / %s req/s = %.3f  httpd %s / %s us/req  other tenants %s%%\n", $1, $2, $3, $4, $5, ($5 > 0 ? $4 / $5 : 0), $6, $7, $9 }' >&2
}

# --- the memcached store's round trips and propagation ------------------------
# Appends to mc.tsv: kind id count seconds "run deltas" "idle deltas"
# store_ops_delta, where the deltas are mc_counts' seven numbers over the
# measured period and over an idle period of the same length just after it
# (the background journal polls of every memcached-store server). A period
# shorter than 2 s (the attacks) gets an idle period of 2 s, its deltas
# scaled down to the period's length: a rate, not a draw of 0 or 1 poll.
mc_record() { # mc_record KIND ID COUNT NS_START NS_END C0 C1 O0 O1
    local kind=$1 id=$2 n=$3 t0=$4 t1=$5 c0=$6 c1=$7 o0=$8 o1=$9 i0 i1 secs isecs
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
    isecs=$(awk -v s="$secs" 'BEGIN { printf "%.3f", s < 2 ? 2 : s }')
    i0=$(mc_counts)
    sleep "$isecs"
    i1=$(mc_counts)
    awk -v kind="$kind" -v id="$id" -v n="$n" -v secs="$secs" -v c0="$c0" -v c1="$c1" \
        -v i0="$i0" -v i1="$i1" -v o0="$o0" -v o1="$o1" -v scale="$(awk -v s="$secs" -v i="$isecs" 'BEGIN { print s / i }')" 'BEGIN {
        split(c0, a, " "); split(c1, b, " "); split(i0, c, " "); split(i1, d, " ")
        run = idle = ""
        for (k = 1; k <= 7; k++) {
            run = run (k > 1 ? " " : "") b[k] - a[k]
            idle = idle (k > 1 ? " " : "") sprintf("%.2f", (d[k] - c[k]) * scale)
        }
        ops = (o0 != "" && o1 != "") ? o1 - o0 : "-"
        printf "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", kind, id, n, secs, run, idle, ops
    }' >>"$OUT/mc.tsv"
    tail -n 1 "$OUT/mc.tsv" | awk -F'\t' '{ split($5, r, " "); split($6, i, " ")
        printf "bench: memcached, %s %s: %d in %ss; commands get/set/incr: %d/%d/%d, idle %s/%s/%s; store round trips %s\n",
            $1, $2, $3, $4, r[1], r[2], r[4], i[1], i[2], i[4], $7 }' >&2
}

# Clean traffic on a memcached-store point, DURATION seconds of wrk.
mc_clean() { # mc_clean POINT_ID
    local p srv raw c0 c1 o0 o1 t0 t1 n
    p=$(point_by_id "$1")
    srv=$(pt "$p" 2)
    raw=$OUT/raw/mc.clean.$1.txt
    o0=$(store_ops "$srv")
    c0=$(mc_counts)
    t0=$(date +%s%N)
    "${ON_CLIENT_CPU[@]}" wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" \
        -H "X-Forwarded-For: $(pt "$p" 5)" "$(pt_url "$p")" >"$raw" 2>&1
    t1=$(date +%s%N)
    c1=$(mc_counts)
    o1=$(store_ops "$srv")
    n=$(wrk_numbers "$raw" | cut -d' ' -f2)
    [ "$(wrk_numbers "$raw" | cut -d' ' -f3)" = 0 ] || say "memcached clean run $1: non-2xx answers (see $raw)"
    mc_record clean "$1" "$n" "$t0" "$t1" "$c0" "$c1" "$o0" "$o1"
}

# ATTACKS attacks, one per client (198.18.0.1, ...), one after the other
# on one connection (curl --next), on server SERVER (plain-mc): all below
# the threshold, so none bans. KIND "attack": the clients' first attacks
# (each creates its bucket counter: incr misses, add); "attack-again": the
# same clients once more, right after (their counters exist: incr). On
# plain-mc-keys each attack also counts the client's /24 (250 clients per
# /24) and two request keys: X-Api-Key (another value per client) and
# Host (one value for all).
mc_attacks() { # mc_attacks KIND [SERVER]
    local kind=$1 srv=${2:-plain-mc} url args=() i codes c0 c1 o0 o1 t0 t1 bad
    url="http://localhost:$(srv_port "$srv" http)$ATTACK"
    for i in $(seq "$ATTACKS"); do
        [ "$i" -gt 1 ] && args+=(--next)
        args+=(-s -o /dev/null -w '%{http_code}\n' \
            -H "X-Forwarded-For: 198.18.$(((i - 1) / 250)).$(((i - 1) % 250 + 1))" \
            -H "X-Api-Key: bench-key-$i" "$url")
    done
    o0=$(store_ops "$srv")
    c0=$(mc_counts)
    t0=$(date +%s%N)
    codes=$("${ON_CLIENT_CPU[@]}" curl "${args[@]}")
    t1=$(date +%s%N)
    c1=$(mc_counts)
    o1=$(store_ops "$srv")
    bad=$(echo "$codes" | grep -vc '^200$')
    [ "$bad" = 0 ] || say "memcached attacks ($kind): $bad of $ATTACKS answers were not 200"
    echo "$kind on $srv: $(echo "$codes" | sort | uniq -c | tr -s ' \n' ' ')" >>"$OUT/mc.txt"
    mc_record "$kind" "$srv" "$(echo "$codes" | grep -c .)" "$t0" "$t1" "$c0" "$c1" "$o0" "$o1"
}

# Ban propagation from node-a to node-b (bench/propagation.pl).
mc_propagation() {
    local out=$OUT/propagation.txt
    echo "# perl bench/propagation.pl $(srv_port node-a http) $(srv_port node-b http) $PROP_REPEATS 5 198.19.0" \
        "(node-a, node-b: RateLimitWAFSyncInterval $SYNC)" >"$out"
    echo "# repeat client delay_ms polls_of_node_b attacks_on_node_a" >>"$out"
    if ! "${ON_CLIENT_CPU[@]}" perl "$top/bench/propagation.pl" "$(srv_port node-a http)" \
        "$(srv_port node-b http)" "$PROP_REPEATS" 5 198.19.0 >>"$out" 2>&1; then
        say "propagation: a repeat failed (see $out)"
        PROP_FAILED=1
    fi
    PROP=$(tail -n 1 "$out")
    say "propagation node-a -> node-b: median, max ms: $PROP"
}

# The memcached-store servers' failed calls and fallbacks to shm (status
# page, where there is one) and degradation lines (RLW00110, every one).
mc_errors() {
    local s out="" d
    for s in plain-mc plain-mc-ban plain-mc-keys node-a node-b; do
        out+="$s $(curl -sk "https://localhost:$(srv_port "$s" https)/ratelimit-waf?json" \
            | perl -MJSON::PP -0777 -ne 'my $m = eval { decode_json($_)->{store}{memcached} };
                print $m ? "errors=$m->{errors} fallbacks=$m->{fallbacks}" : "status page unreadable"'); "
    done
    for d in "$ROOT"/*/; do
        [ -f "$d/httpd.conf" ] && grep -q '^RateLimitWAFStore memcached' "$d/httpd.conf" || continue
        out+="$(basename "$d") RLW00110 lines=$(grep -c RLW00110 "$d/logs/error_log"); "
    done
    echo "${out%; }"
}

mc_measurements() {
    : >"$OUT/mc.tsv"
    : >"$OUT/mc.txt"
    PROP_FAILED=0
    mc_clean E2m
    mc_clean E2mb
    mc_attacks attack
    mc_attacks attack-again
    mc_clean E2km
    mc_attacks attack plain-mc-keys
    mc_attacks attack-again plain-mc-keys
    mc_propagation
    {
        echo "memcached stats at the end, per server:"
        for port in "$MC_PORT_BASE" "$((MC_PORT_BASE + 1))"; do
            echo "127.0.0.1:$port $(mc_stats "$port" | awk '$1 ~ /^(cmd_|get_|incr_|decr_|delete_|cas_|curr_items|curr_connections|total_connections)/' | tr '\n' ' ')"
        done
        for s in plain-mc plain-mc-ban plain-mc-keys node-a node-b; do
            echo "$s store round trips (ops): $(store_ops "$s")"
        done
    } >>"$OUT/mc.txt"
}

# A wrk run of a point under perf record; writes OUT/perf/ID.{data,txt}.
profile_point() { # profile_point POINT
    local p=$1 id srv pids data txt wpid
    id=$(pt "$p" 1)
    srv=$(pt "$p" 2)
    data=$OUT/perf/$id.data
    txt=$OUT/perf/$id.txt
    mkdir -p "$OUT/perf"
    pids=$(pgrep -P "$(srv_pid "$srv")" | paste -sd, -)
    "${ON_CLIENT_CPU[@]}" wrk -t"$THREADS" -c"$CONNS" -d"$((DURATION + 2))s" \
        -H "X-Forwarded-For: $(pt "$p" 5)" "$(pt_url "$p")" >"$OUT/perf/$id.wrk.txt" 2>&1 &
    wpid=$!
    sleep 1
    perf record -q -F 499 --call-graph dwarf,16384 -o "$data" -p "$pids" \
        -- sleep "$DURATION" >/dev/null 2>&1
    wait "$wpid"
    {
        echo "# perf record -F 499 --call-graph dwarf -p <children of $srv>, ${DURATION}s of: $(head -c 300 "$OUT/raw/$id.1.txt" | head -n 1)"
        echo "# $(grep '^Requests/sec' "$OUT/perf/$id.wrk.txt")"
        echo
        echo "## Share of the samples whose call stack holds ..."
        perf script -i "$data" 2>/dev/null | awk '
            BEGIN {
                RS = ""
                npat = split("mod_security2[.]so mod_ratelimit_waf[.]so" \
                    " ap_run_post_read_request ap_run_quick_handler ap_run_log_transaction" \
                    " apr_pool_(destroy|clear) mmap64 munmap exc_page_fault writev" \
                    " (libssl|libcrypto)", pat, " ")
            }
            { total++; for (i = 1; i <= npat; i++) if ($0 ~ pat[i]) hit[i]++ }
            END { for (i = 1; i <= npat; i++) printf "%6.1f%%  %s\n", total ? 100 * hit[i] / total : 0, pat[i] }'
        echo
        echo "## Self time by object"
        perf report -i "$data" --no-children --sort dso --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' | head -n 15
        echo
        echo "## Self time by symbol"
        perf report -i "$data" --no-children --sort dso,symbol --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' | head -n 40
        echo
        echo "## Inclusive time by symbol (call graphs)"
        perf report -i "$data" --children --sort symbol --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' | head -n 60
    } >"$txt"
    say "profile of $id: $txt"
}

# --- report ---------------------------------------------------------------------
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "";
    else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
col() { awk -F'\t' -v id="$1" -v c="$2" '$1 == id { print $c }' "$OUT/samples.tsv"; }
med() { col "$1" "$2" | median; }
spread() { col "$1" 3 | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (NR) printf "%s-%s", lo, hi }'; }
# Median over the rounds of ID's column C divided by BASE's, same round.
pratio() { # pratio ID BASE C
    awk -F'\t' -v id="$1" -v base="$2" -v c="$3" '
        $1 == id { a[$2] = $c } $1 == base { b[$2] = $c }
        END { for (r in a) if ((r in b) && b[r] > 0) print a[r] / b[r] }' \
        "$OUT/samples.tsv" | median | awk '{ v = $1 } END { if (v != "") printf "%.2f", v; else printf "-" }'
}
# Column C of the pair X beside Y, one line per round.
pcol() { awk -F'\t' -v x="$1" -v y="$2" -v c="$3" '$1 == x && $2 == y { print $c }' "$OUT/pairs.tsv"; }
# Column C over column D of the pair X beside Y, one line per round.
pcolratio() {
    awk -F'\t' -v x="$1" -v y="$2" -v c="$3" -v d="$4" \
        '$1 == x && $2 == y && $d > 0 { print $c / $d }' "$OUT/pairs.tsv"
}
fmt2() { awk '{ v = $1 } END { if (v == "") printf "-"; else printf "%.3f", v }'; }
fmt0() { awk -v a="$1" 'BEGIN { if (a == "") printf "-"; else printf "%.0f", a }'; }
fmt1() { awk -v a="$1" 'BEGIN { if (a == "") printf "-"; else printf "%.1f", a }'; }
goal() { # goal LABEL VALUE MIN
    awk -v l="$1" -v v="$2" -v m="$3" 'BEGIN {
        if (v == "-" || v == "") { printf "- %s: not measured (goal >= %s)\n", l, m; exit }
        if (v + 0 >= m + 0) printf "- %s: %s (goal >= %s): met\n", l, v, m
        else printf "- %s: %s (goal >= %s): MISSED by %.1f%%\n", l, v, m, 100 * (m - v) / m }'
}

goal_max() { # goal_max LABEL VALUE MAX [UNIT]
    awk -v l="$1" -v v="$2" -v m="$3" -v u="${4:-}" 'BEGIN {
        if (v == "-" || v == "") { printf "- %s: not measured (goal <= %s%s)\n", l, m, u; exit }
        if (v + 0 <= m + 0) printf "- %s: %s%s (goal <= %s%s): met\n", l, v, u, m, u
        else printf "- %s: %s%s (goal <= %s%s): MISSED\n", l, v, u, m, u }'
}

# Per request (or attack) from mc.tsv: field F of the run deltas minus the
# idle ones, divided by the count; F=0: the commands (get set touch incr
# decr delete); F=ops: the store's round trips; F=net: "commands in all
# (net of idle) / count".
mcval() { # mcval KIND ID F
    awk -F'\t' -v kind="$1" -v id="$2" -v f="$3" '
        function z(s) { return s ~ /^-0[.]0*$/ ? substr(s, 2) : s }
        $1 == kind && $2 == id && $3 > 0 {
            split($5, r, " "); split($6, i, " ")
            if (f == "ops") { if ($7 == "-") print "-"; else printf "%.3f\n", $7 / $3; exit }
            if (f == 0 || f == "net") { v = 0; for (k = 1; k <= 6; k++) v += r[k] - i[k] }
            else v = r[f] - i[f]
            if (f == "net") { printf "%s in %d\n", z(sprintf("%.1f", v)), $3; exit }
            print z(sprintf("%.4f", v / $3)); exit
        }' "$OUT/mc.tsv" 2>/dev/null
}

# Milliseconds per attack of a run in mc.tsv (its length over its count).
mcms() { # mcms KIND ID
    awk -F'\t' -v kind="$1" -v id="$2" '$1 == kind && $2 == id && $3 > 0 {
        printf "%.2f", 1000 * $4 / $3; exit }' "$OUT/mc.tsv" 2>/dev/null
}

machine() {
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "- machine: $(nproc) x $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)," \
        "$(free -g | awk '/^Mem:/ { print $2 }') GiB RAM, $(uname -sr)," \
        "Debian $(cat /etc/debian_version 2>/dev/null)" \
        "$(systemd-detect-virt 2>/dev/null || true)"
    echo "- load average at start: $LOAD0; at end: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- CPU used by other tenants during the measured runs (% of the machine):" \
        "median $(cut -f11 "$OUT/samples.tsv" | median), max $(cut -f11 "$OUT/samples.tsv" | sort -g | tail -n 1)"
    echo "- software: $("$HTTPD" -v | awk -F': ' '/version/ { print $2 }')," \
        "mod_security2 $(dpkg-query -W -f='${Version}' libapache2-mod-security2 2>/dev/null)," \
        "CRS $(dpkg-query -W -f='${Version}' modsecurity-crs 2>/dev/null)," \
        "$(openssl version | cut -d' ' -f1-2), wrk $(dpkg-query -W -f='${Version}' wrk 2>/dev/null)$(
        [ "$MC" = 1 ] && echo ", memcached $(dpkg-query -W -f='${Version}' memcached 2>/dev/null), libmemcached $(dpkg-query -W -f='${Version}' libmemcached11 2>/dev/null)")"
    echo "- tree: $(git -C "$top" rev-parse --short HEAD 2>/dev/null)$(git -C "$top" diff --quiet HEAD -- mod_ratelimit_waf conf 2>/dev/null || echo ' (module or conf modified)');" \
        "module: mod_ratelimit_waf.so sha256 $SO_ID"
    echo "- settings: DURATION=${DURATION}s CONNS=$CONNS THREADS=$THREADS ROUNDS=$ROUNDS" \
        "WARMUP=${WARMUP}s ACCESS_LOG=$ACCESS_LOG PIN=$PIN"
    if [ "$PIN" = 1 ]; then
        echo "- placement: every httpd on CPU 0, wrk on CPU 1 (taskset)"
    else
        echo "- placement: httpd and wrk share all $(nproc) CPUs"
    fi
}

# --- the embedded engine (issue 9's benchmark goals) ------------------------------
# Memory of each child of the servers with the CRS: appends to mem.tsv
# "server pid rss_kB pss_kB private_dirty_kB" (smaps_rollup).
mem_measure() {
    local s k
    : >"$OUT/mem.tsv"
    for s in modsec modsec-rlw msc3; do
        [[ $needed == *" $s "* ]] || continue
        for k in $(pgrep -P "$(srv_pid "$s")"); do
            awk -v s="$s" -v k="$k" '/^Rss:/ { r = $2 } /^Pss:/ { p = $2 } /^Private_Dirty:/ { d = $2 }
                END { if (r != "") printf "%s\t%s\t%s\t%s\t%s\n", s, k, r, p, d }' \
                "/proc/$k/smaps_rollup" 2>/dev/null >>"$OUT/mem.tsv"
        done
    done
}
memcol() { awk -F'\t' -v s="$1" -v c="$2" '$1 == s { print $c }' "$OUT/mem.tsv" 2>/dev/null; }
mb() { awk '{ v = $1 } END { if (v == "") printf "-"; else printf "%.1f", v / 1024 }'; }
# 1 / pratio: ID's cost per request over BASE's, from req/s at saturation.
pinv() { pratio "$2" "$1" 3; }

msc3_report() {
    echo
    echo "## The embedded engine (libmodsecurity v3) against mod_security2, same CRS"
    echo
    echo "Ratios of req/s, medians of the per-round ratios (same run, same round). At saturation"
    echo "(httpd pinned to one CPU, always busy) req/s is the inverse of the CPU per request, so"
    echo "\"CPU ratio\" = req/s(mod_security2) / req/s(embedded); \"httpd us/req ratio\" is the"
    echo "same from the measured CPU time of the httpd processes."
    echo
    echo "| ratio | HTTP | TLS |"
    echo "|---|---:|---:|"
    echo "| B3 / D req/s: banned under the embedded engine / banned, no WAF loaded | $(pratio B3.http D.http 3) | $(pratio B3.tls D.tls 3) |"
    echo "| B3 / A req/s: banned under the embedded engine / attack inspected by mod_security2 | $(pratio B3.http A.http 3) | $(pratio B3.tls A.tls 3) |"
    echo "| B3 / A3 req/s: banned / attack inspected, both under the embedded engine | $(pratio B3.http A3.http 3) | $(pratio B3.tls A3.tls 3) |"
    echo "| B3 / B req/s: banned under the embedded engine / banned under mod_security2 | $(pratio B3.http B.http 3) | $(pratio B3.tls B.tls 3) |"
    echo "| B / D req/s: banned under mod_security2 / banned, no WAF loaded | $(pratio B.http D.http 3) | $(pratio B.tls D.tls 3) |"
    echo "| CPU per attack, embedded / mod_security2: req/s A / A3 | $(pinv A3.http A.http) | $(pinv A3.tls A.tls) |"
    echo "| CPU per attack, embedded / mod_security2: httpd us/req A3 / A | $(pratio A3.http A.http 7) | $(pratio A3.tls A.tls 7) |"
    echo "| CPU per clean request, embedded / mod_security2 + module: req/s E4 / E5 | $(pinv E5 E4) | - |"
    echo "| CPU per clean request, embedded / mod_security2 + module: httpd us/req E5 / E4 | $(pratio E5 E4 7) | - |"
    echo "| CPU per clean request, embedded / mod_security2 without module: req/s E3 / E5 | $(pinv E5 E3) | - |"
    if [ -n "$(pcol E5 E4 4)" ]; then
        echo "| CPU per clean request, E5 beside E4 (side by side): req/s E4 / E5 | $(pcolratio E5 E4 5 4 | median | fmt2) | - |"
    fi
    echo
    echo "A is mod_security2 + CRS without this module; A3 has the module (the engine is in it),"
    echo "which also counts each attack (threshold never reached): A3 carries that cost too."
}

msc3_goals() {
    goal "banned under the embedded engine / no WAF (B3 / D) over HTTP" "$(pratio B3.http D.http 3)" 0.9
    goal "banned under the embedded engine / no WAF (B3 / D) over TLS" "$(pratio B3.tls D.tls 3)" 0.9
    goal "banned under the embedded engine / inspected by mod_security2 (B3 / A) over HTTP" "$(pratio B3.http A.http 3)" 25
    goal "banned under the embedded engine / inspected by mod_security2 (B3 / A) over TLS" "$(pratio B3.tls A.tls 3)" 25
    goal_max "CPU per attack, embedded / mod_security2 (req/s A / A3, HTTP)" "$(pinv A3.http A.http)" 0.7
    goal_max "CPU per attack, embedded / mod_security2 (req/s A / A3, TLS)" "$(pinv A3.tls A.tls)" 0.7
    goal_max "CPU per clean request, embedded / mod_security2, both with the module (req/s E4 / E5)" "$(pinv E5 E4)" 0.7
    if [ -n "$(pcol E5 E4 4)" ]; then
        goal_max "CPU per clean request, embedded / mod_security2 (E5 beside E4, req/s E4 / E5)" "$(pcolratio E5 E4 5 4 | median | fmt2)" 0.7
    fi
}

report() {
    local v h t hc tc lines title e base
    echo "# mod_ratelimit_waf benchmark $STAMP"
    echo
    echo "Command: \`$CMDLINE\`"
    echo
    machine
    echo
    echo "## Attack traffic: banned (B, C, D) against inspected (A)"
    echo
    echo "Median of $ROUNDS rounds of ${DURATION}s; wrk -t$THREADS -c$CONNS, keep-alive; attack URL \`$ATTACK\`."
    echo "\"x A\" = req/s divided by A's on the same protocol in the same round (median over"
    echo "rounds). httpd CPU = CPU time of all httpd processes per request (the client's CPU"
    echo "is not included)."
    echo
    echo "| variant | HTTP req/s | TLS req/s | HTTP x A | TLS x A | httpd CPU us/req HTTP / TLS | ModSecurity log lines/req | HTTP req/s min-max |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    for v in A A3 B B3 Bm C D; do
        case $v in
        A) title="A inspected: ModSecurity + CRS deny (403)" ;;
        A3) title="A3 inspected: embedded engine (libmodsecurity v3) + CRS deny (403)" ;;
        B3) title="B3 banned under the embedded engine: 404, no WAF transaction" ;;
        B) title="B banned, respond: 404 on the kept connection" ;;
        Bm) title="Bm as B, memcached store" ;;
        C) title="C banned, close: 404, connection closed" ;;
        D) title="D banned, no mod_security2 loaded (ceiling)" ;;
        esac
        h=$(med $v.http 3)
        t=$(med $v.tls 3)
        [ -n "$h$t" ] || [ "$v" = A ] || [ "$v" = B ] || [ "$v" = C ] || [ "$v" = D ] || continue
        hc=$(med $v.http 7)
        tc=$(med $v.tls 7)
        lines=$(med $v.http 8)
        [ -z "$lines" ] && lines=$(med $v.tls 8)
        echo "| $title | $(fmt0 "$h") | $(fmt0 "$t") | $(pratio $v.http A.http 3) | $(pratio $v.tls A.tls 3) |" \
            "$(fmt1 "$hc") / $(fmt1 "$tc") | $(echo "$lines" | awk '{ v = $1 } END { if (v == "") printf "-"; else printf "%.2f", v }') | $(spread $v.http) |"
    done
    cut -f1 "$OUT/samples.tsv" | grep -q '^E' && {
    echo
    echo "## Clean traffic (GET $CLEAN, 200, HTTP)"
    echo
    echo "| variant | req/s | x without module | httpd CPU us/req | CPU x without module | req/s min-max |"
    echo "|---|---:|---:|---:|---:|---:|"
    }
    for e in E1 E2 E2b E2k E2m E2mb E2km E3 E4 E4b E4m E4mb E5; do
        case $e in
        E5) title="E5 embedded engine (libmodsecurity v3) + CRS + module (nobody banned)"; base=E3 ;;
        E2m) title="E2m plain httpd + module, memcached store (nobody banned)"; base=E1 ;;
        E2mb) title="E2mb plain httpd + module, memcached store (another client banned)"; base=E1 ;;
        E2km) title="E2km plain httpd + module, memcached store, networks and two request keys (nobody banned)"; base=E1 ;;
        E4m) title="E4m ModSecurity + CRS + module, memcached store (nobody banned)"; base=E3 ;;
        E4mb) title="E4mb ModSecurity + CRS + module, memcached store (another client banned)"; base=E3 ;;
        E1) title="E1 plain httpd"; base=E1 ;;
        E2) title="E2 plain httpd + module (nobody banned)"; base=E1 ;;
        E2b) title="E2b plain httpd + module (another client banned)"; base=E1 ;;
        E2k) title="E2k plain httpd + module, networks and two request keys (nobody banned)"; base=E1 ;;
        E3) title="E3 ModSecurity + CRS"; base=E3 ;;
        E4) title="E4 ModSecurity + CRS + module (nobody banned)"; base=E3 ;;
        E4b) title="E4b ModSecurity + CRS + module (another client banned)"; base=E3 ;;
        esac
        h=$(med $e 3)
        hc=$(med $e 7)
        [ -n "$h" ] || continue
        echo "| $title | $(fmt0 "$h") | $(pratio $e $base 3) | $(fmt1 "$hc") |" \
            "$(pratio $e $base 7) | $(spread $e) |"
    done
    if [ -s "$OUT/pairs.tsv" ]; then
        echo
        echo "## Clean traffic side by side (GET $CLEAN, 200, HTTP)"
        echo
        echo "Both servers of a pair loaded at the same time by their own wrk (-t$THREADS -c$CONNS each),"
        echo "sharing the server CPU: noise hits both alike. Medians of $ROUNDS rounds of ${DURATION}s;"
        echo "ratios are medians of the per-round ratios."
        echo
        echo "| pair | req/s | req/s beside | req/s ratio | ratio min-max | httpd CPU us/req | CPU ratio |"
        echo "|---|---:|---:|---:|---:|---:|---:|"
        awk -F'\t' '{ print $1 "\t" $2 }' "$OUT/pairs.tsv" | sort -u | while IFS=$'\t' read -r x y; do
            echo "| $x beside $y | $(fmt0 "$(pcol "$x" "$y" 4 | median)") |" \
                "$(fmt0 "$(pcol "$x" "$y" 5 | median)") | $(pcolratio "$x" "$y" 4 5 | median | fmt2) |" \
                "$(pcolratio "$x" "$y" 4 5 | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.3f-%.3f", lo, hi }') |" \
                "$(fmt1 "$(pcol "$x" "$y" 6 | median)") / $(fmt1 "$(pcol "$x" "$y" 7 | median)") |" \
                "$(pcolratio "$x" "$y" 6 7 | median | fmt2) |"
        done
        echo
        echo "E2, E4: + module, nobody banned; E2b, E4b: another client banned; E2k: E2 with"
        echo "RateLimitWAFNetwork and two RateLimitWAFKey over headers every request carries; E2m, E2mb, E4m, E4mb:"
        echo "the same with the memcached store; E5: the module's embedded engine with the same CRS."
    fi
    if [ -n "$(col A3.http 3)$(col A3.tls 3)$(col B3.http 3)$(col B3.tls 3)$(col E5 3)" ]; then
        msc3_report
    fi
    if [ -s "$OUT/mem.tsv" ]; then
        echo
        echo "## Memory per child with the CRS loaded"
        echo
        echo "/proc/PID/smaps_rollup of each child (event MPM, 2 children) after the rounds, in MB;"
        echo "median over the children. Pss shares the pages shared with the parent and the other"
        echo "child among them; private dirty is what each child holds alone."
        echo
        echo "| server | children | Rss MB | Pss MB | private dirty MB |"
        echo "|---|---:|---:|---:|---:|"
        for e in "modsec mod_security2 + CRS (A, E3)" "modsec-rlw mod_security2 + CRS + module (E4)" \
                 "msc3 embedded engine + CRS + module (A3, E5)"; do
            set -- $e
            x=$1
            shift
            [ -n "$(memcol "$x" 3)" ] || continue
            echo "| $* | $(memcol "$x" 3 | wc -l) | $(memcol "$x" 3 | median | mb) | $(memcol "$x" 4 | median | mb) |" \
                "$(memcol "$x" 5 | median | mb) |"
        done
    fi
    if [ -s "$OUT/mc.tsv" ] || [ -n "${PROP:-}" ]; then
        echo
        echo "## memcached store: round trips and propagation"
        echo
        echo "Two memcached servers on the loopback, \`RateLimitWAFStore memcached \"$MC_CONFIG\"\`."
        echo "Commands: memcached \`stats\` deltas of both servers (cmd_get + cmd_set + cmd_touch + incr + decr"
        echo "+ delete; a multi-get of k keys counts k gets; cas is counted in cmd_set; incr includes the"
        echo "increments that create their key, which memcached counts only in total_items) over the"
        echo "measured period, minus the deltas of an idle period of the same length right after it (at"
        echo "least 2 s, scaled to the period: the background journal polls of every node). Round trips:"
        echo "the module's own \`ops\` counter (status page ?json)."
        echo
        echo "| measure | commands | of which get / set / incr | commands net of idle, in all | store round trips | goal |"
        echo "|---|---:|---:|---:|---:|---|"
        for e in "clean E2m per clean request, nobody banned (E2m, ${DURATION}s of wrk)" \
                 "clean E2mb per clean request, another client banned (E2mb, ${DURATION}s of wrk)" \
                 "attack plain-mc per attack below the threshold, a client's first in its bucket ($ATTACKS clients, one attack each)" \
                 "attack-again plain-mc per attack below the threshold, the same clients again ($ATTACKS attacks)"; do
            set -- $e
            k=$1 id=$2
            shift 2
            case $k in
                clean) g="0 round trips" ;;
                attack) g="<= 3 round trips" ;;
                *) g="<= 2 round trips" ;;
            esac
            echo "| $* | $(mcval "$k" "$id" 0) | $(mcval "$k" "$id" 1) / $(mcval "$k" "$id" 2) / $(mcval "$k" "$id" 4) |" \
                "$(mcval "$k" "$id" net) | $(mcval "$k" "$id" ops) | $g |"
        done
        if [ -n "$(mcval attack plain-mc-keys ops)" ]; then
            echo
            echo "With networks and two request keys (plain-mc-keys: \`RateLimitWAFNetwork 24 48 20000\`,"
            echo "\`RateLimitWAFKey\` over X-Api-Key and Host, threshold 20000: nobody banned). An attack,"
            echo "carrying an X-Api-Key of its own, counts 4 subjects (the client, its /24, its two key"
            echo "values), each on a connection of"
            echo "its own at the same time (the first in the request's thread, the others in short-lived"
            echo "threads), so it takes the round-trip times of one subject: the store's round trips"
            echo "divided by the 4 subjects (exact when each subject makes the same calls: the same"
            echo "clients again). Time per attack: the whole run over the attacks, curl on one connection,"
            echo "beside the same figure of plain-mc (one subject)."
            echo
            echo "| measure | commands | store round trips | subjects | round-trip times | ms per attack (plain-mc) | goal |"
            echo "|---|---:|---:|---:|---:|---:|---|"
            echo "| per clean request (E2km, ${DURATION}s of wrk) | $(mcval clean E2km 0) | $(mcval clean E2km ops) | - | - | - | 0 round trips |"
            for k in attack attack-again; do
                [ $k = attack ] && t="per attack, a client's first in its bucket ($ATTACKS clients)" g="<= 3 round-trip times" \
                    || { t="per attack, the same clients again ($ATTACKS attacks)"; g="<= 2 round-trip times"; }
                echo "| $t | $(mcval "$k" plain-mc-keys 0) | $(mcval "$k" plain-mc-keys ops) | 4 |" \
                    "$(mcval "$k" plain-mc-keys ops | awk '$1 != "-" && $1 != "" { printf "%.3f", $1 / 4 }') |" \
                    "$(mcms "$k" plain-mc-keys) ($(mcms "$k" plain-mc)) | $g |"
            done
        fi
        if [ -n "${PROP:-}" ]; then
            echo
            echo "Ban propagation, node A to node B (two nodes sharing the pool and one key prefix,"
            echo "RateLimitWAFSyncInterval $SYNC: the watchdog polls the journal every $(sync_poll_ms) ms):"
            echo "ban a client on node A, poll node B with its clean requests every 5 ms until 404"
            echo "(bench/propagation.pl; $PROP_REPEATS bans, each of a new client)."
            echo
            echo "| median | max | every delay (ms) |"
            echo "|---:|---:|---|"
            echo "| $(echo "$PROP" | cut -d' ' -f1) ms | $(echo "$PROP" | cut -d' ' -f2) ms |" \
                "$(awk '!/^#/ && NF >= 3 && $3 != "-" { printf "%s%s", (n++ ? " " : ""), $3 }' "$OUT/propagation.txt") |"
        fi
    fi
    echo
    echo "## Goals"
    echo
    goal "B / A over HTTP" "$(pratio B.http A.http 3)" 8
    goal "B / A over TLS" "$(pratio B.tls A.tls 3)" 6
    if [ -n "$(col B3.http 3)$(col B3.tls 3)$(col A3.http 3)$(col E5 3)" ]; then
        msc3_goals
    fi
    if [ -n "$(mcval attack-again plain-mc-keys ops)" ]; then
        goal_max "memcached round-trip times per attack with networks and two request keys (4 subjects in parallel), counters existing" \
            "$(mcval attack-again plain-mc-keys ops | awk '{ printf "%.3f", $1 / 4 }')" 2
        goal_max "memcached round trips per clean request with networks and two request keys (E2km)" \
            "$(mcval clean E2km ops)" 0
    fi
    if [ -n "$(pcol E2k E2 4)" ]; then
        goal "clean, networks and two request keys / module alone (E2k / E2 side by side)" "$(pcolratio E2k E2 4 5 | median | fmt2)" 0.97
    fi
    for e in "E2 E1 plain httpd" "E4 E3 ModSecurity + CRS"; do
        set -- $e
        x=$1 y=$2
        shift 2
        if [ -n "$(pcol "$x" "$y" 4)" ]; then
            goal "clean, module / no module, $* ($x / $y side by side)" "$(pcolratio "$x" "$y" 4 5 | median | fmt2)" 0.97
        fi
        if [ -n "$(col "$x" 3)" ] && [ -n "$(col "$y" 3)" ]; then
            goal "clean, module / no module, $* ($x / $y one after the other)" "$(pratio "$x" "$y" 3)" 0.97
        fi
    done
    for e in "E2m E1 plain httpd, memcached store" "E4m E3 ModSecurity + CRS, memcached store"; do
        set -- $e
        x=$1 y=$2
        shift 2
        if [ -n "$(pcol "$x" "$y" 4)" ]; then
            goal "clean, module / no module, $* ($x / $y side by side)" "$(pcolratio "$x" "$y" 4 5 | median | fmt2)" 0.97
        fi
    done
    if [ -s "$OUT/mc.tsv" ]; then
        goal_max "memcached round trips per clean request (E2m, store ops)" "$(mcval clean E2m ops)" 0
        goal_max "memcached commands per clean request (E2m, stats minus idle)" "$(mcval clean E2m 0 | awk '{ v = sprintf("%.3f", $1); sub(/^-0[.]000$/, "0.000", v); print v }')" 0
        goal_max "memcached round trips per clean request, another client banned (E2mb)" "$(mcval clean E2mb ops)" 0
        goal_max "memcached round trips per attack below the threshold, a client's first in its bucket (incr misses, add)" "$(mcval attack plain-mc ops)" 3
        goal_max "memcached round trips per attack below the threshold, the counter exists" "$(mcval attack-again plain-mc ops)" 2
    fi
    if [ -n "${PROP:-}" ]; then
        goal_max "ban propagation node A -> node B, max of $PROP_REPEATS (SyncInterval $SYNC + 50 ms)" \
            "$(echo "$PROP" | cut -d' ' -f2)" "$(($(sync_ms) + 50))" " ms"
    fi
    echo
    echo "## Checks"
    echo
    echo "$CHECKS" | sed '/^$/d; s/^/- /'
    echo
    echo "## Every run"
    echo
    echo "other % = CPU time used by neither this server nor wrk, in % of the machine."
    echo
    echo "| point | round | req/s | requests | non-2xx | socket errors | httpd us/req | ModSecurity lines/req | machine busy % | steal % | other % |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    sort -t$'\t' -k1,1 -k2,2n "$OUT/samples.tsv" | awk -F'\t' -v OFS=' | ' '{ $1 = $1; print "| " $0 " |" }'
    if [ -s "$OUT/pairs.tsv" ]; then
        echo
        echo "| point | beside | round | req/s | req/s beside | httpd us/req | httpd us/req beside | non-2xx + socket errors | other % |"
        echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
        sort -t$'\t' -k1,2 -k3,3n "$OUT/pairs.tsv" | awk -F'\t' -v OFS=' | ' '{ $1 = $1; print "| " $0 " |" }'
    fi
}

# Sanity of the samples: status classes, ModSecurity silent on bans.
verify_samples() {
    awk -F'\t' '
        { expect_err = ($1 !~ /^E/) }
        expect_err && $5 != $4 { printf "%s round %s: %d of %d answers were 2xx/3xx, expected none\n", $1, $2, $4 - $5, $4 }
        !expect_err && $5 != 0 { printf "%s round %s: %d non-2xx answers, expected none\n", $1, $2, $5 }
        $6 > 0 { printf "%s round %s: %d socket errors\n", $1, $2, $6 }
        $1 ~ /^(B|B3|Bm|C|D)\./ { banned[$1] += $4; seen[$1] += $8 * $4 }
        $1 ~ /^A3?\./ && $8 < 1 { printf "%s round %s: only %.2f ModSecurity lines per request: not inspected?\n", $1, $2, $8 }
        $1 ~ /^E/ && $8 > 0 { printf "%s round %s: clean traffic logged %.2f ModSecurity lines per request\n", $1, $2, $8 }
        END {
            for (k in banned)
                printf "%s: %d banned requests, %d new \"ModSecurity:\" error-log lines%s\n",
                    k, banned[k], seen[k] + 0.5, (seen[k] > 0 ? " (INSPECTED!)" : " (not inspected)")
        }' "$OUT/samples.tsv" | sort
    awk -F'\t' '$8 > 0 { printf "%s beside %s round %s: %d non-2xx answers or socket errors\n", $1, $2, $3, $8 }' \
        "$OUT/pairs.tsv"
}

# --- main -------------------------------------------------------------------------
# A function, so that bash has read all of it before it starts: the file
# may be edited while a run goes on.
main() {
    CMDLINE="bash bench/bench.sh"
    for v in DURATION CONNS THREADS ROUNDS WARMUP ACCESS_LOG PIN POINTS PAIRS PERF MC MSC3 ATTACKS PROP_REPEATS SYNC; do
        [ -n "${!v+x}" ] && [ -n "$(printenv "$v")" ] && CMDLINE="$v=$(printenv "$v") $CMDLINE"
    done
    LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)

    # Servers a killed earlier run left behind (found by their pid files).
    for d in "$ROOT"/*/; do
        [ -f "$d/run/httpd.pid" ] && stop_server "${d%/}"
    done
    stop_memcached
    busy=$(ss -Hltn "sport >= :$PORT_BASE and sport <= :$((PORT_BASE + 2 * ${#SERVERS[@]} - 1))" | head -n 3)
    [ -z "$busy" ] || die "ports $PORT_BASE+ are in use: $busy"
    if [ "$MC" = 1 ]; then
        busy=$(ss -Hltn "sport >= :$MC_PORT_BASE and sport <= :$((MC_PORT_BASE + 1))" | head -n 3)
        [ -z "$busy" ] || die "memcached ports $MC_PORT_BASE-$((MC_PORT_BASE + 1)) are in use: $busy"
    fi
    rm -rf "$ROOT"
    mkdir -p "$ROOT/tls" "$OUT/raw" || die "cannot create $ROOT or $OUT"
    trap cleanup EXIT
    trap 'exit 130' INT TERM HUP
    : >"$OUT/samples.tsv"
    : >"$OUT/pairs.tsv"
    : >"$OUT/probes.txt"

    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -days 2 -subj /CN=localhost -addext basicConstraints=critical,CA:FALSE \
        -addext subjectAltName=DNS:localhost -keyout "$ROOT/tls/key.pem" \
        -out "$ROOT/tls/cert.pem" >/dev/null 2>&1 || die "openssl could not make a certificate"
    chmod 0644 "$ROOT/tls/cert.pem"
    cp "$SO" "$RLW_MODULE_SO" || die "cannot copy $SO"
    SO_ID="$(sha256sum "$SO" | cut -c1-12), built $(date -u -r "$SO" '+%Y-%m-%d %H:%M UTC')"

    needed=" "
    for p in "${USED_LIST[@]}"; do
        s=$(pt "$p" 2)
        [[ $needed == *" $s "* ]] || needed="$needed$s "
    done
    if [ "$MC" = 1 ]; then
        # The memcached measurements after the rounds.
        for s in plain-mc plain-mc-ban plain-mc-keys node-a node-b; do
            [[ $needed == *" $s "* ]] || needed="$needed$s "
        done
        # The cluster secret (48 random bytes, base64, 0600: httpd reads it
        # as root at start-up).
        (umask 077 && openssl rand -base64 48 >"$RLW_MC_SECRET") || die "cannot write $RLW_MC_SECRET"
        start_memcached
    fi
    for s in $needed; do
        start_server "$s"
    done
    say "servers up under $ROOT:$needed"
    for s in $needed; do
        ip=$(srv_field "$s" 3)
        [ -n "$ip" ] && ban_client "$s" "$ip"
    done
    check_points before || die "a point does not answer as it should (see $OUT/probes.txt)"

    npts=${#POINT_LIST[@]}
    npairs=${#PAIR_LIST[@]}
    say "$npts points and $npairs pairs x $ROUNDS rounds x ${DURATION}s (+ ${WARMUP}s warm-up each)" \
        "$([ "$MC" = 1 ] && echo "+ memcached measurements"):" \
        "about $((((npts + npairs) * (ROUNDS * DURATION + WARMUP) + (MC * (4 * DURATION + 2 * PROP_REPEATS)) ) * 11 / 600 + 1)) min"
    if [ "$WARMUP" -gt 0 ]; then
        for p in "${USED_LIST[@]}"; do
            run_point "$p" "$WARMUP" warmup
        done
    fi
    for r in $(seq "$ROUNDS"); do
        if [ $((r % 2)) = 1 ]; then
            order=$(seq 0 $((npts - 1)))
            porder=$(seq 0 $((npairs - 1)))
        else
            order=$(seq $((npts - 1)) -1 0)
            porder=$(seq $((npairs - 1)) -1 0)
        fi
        for i in $order; do
            run_point "${POINT_LIST[$i]}" "$DURATION" "$r"
        done
        for i in $porder; do
            run_pair "${PAIR_LIST[$i]}" "$r"
        done
    done
    if [ "${PERF:-0}" = 1 ]; then
        for p in "${POINT_LIST[@]}"; do
            profile_point "$p"
        done
    fi
    if check_points after; then
        CHECKS="every point answered its expected status before and after the rounds (probes.txt); B kept its connection, C closed it"
    else
        CHECKS="PROBES FAILED after the rounds: see probes.txt"
    fi
    CHECKS+=$'\n'"$(verify_samples)"
    mem_measure
    if [ "$MC" = 1 ]; then
        mc_measurements
        [ "${PROP_FAILED:-0}" = 1 ] && CHECKS+=$'\n'"PROPAGATION: a repeat failed (see propagation.txt)"
        CHECKS+=$'\n'"memcached store: $(mc_errors)"
    fi

    report >"$OUT/report.md"
    ln -sfn "$(basename "$OUT")" "$(dirname "$OUT")/latest" 2>/dev/null
    cat "$OUT/report.md"
    say "results in $OUT"
}

main "$@"
exit
