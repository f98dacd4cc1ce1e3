#!/bin/bash
# bench/soak.sh - a long run of mixed traffic against one real httpd
# (mod_security2 + CRS + this module) with graceful restarts, watching for
# memory growth, errors of this module and unexpected answers.
#
# Usage: bash bench/soak.sh              (or: make soak SOAK_MINUTES=30)
# Not part of the test suites (it takes half an hour); run as root (httpd
# drops to nobody).
#
# Traffic (each stream one wrk, -t1, re-run every SOAK_SAMPLE_SECS with
# bench/soak.lua; the client is X-Forwarded-For, trusted by mod_remoteip):
#   clean    clean requests (GET /, /index.html) from 65536 clients
#            (10.1.0.0/16) that never attack: must answer 200
#   attack   the XSS attack URL from 256 clients (10.2.0.0/24): CRS denies
#            it (403) until the module bans the client (404); bans are
#            short (RateLimitWAFBanTime 30s, escalating to 2m) so that the
#            attackers go through ban, expiry and escalation again and again
#   spray    one attack from each of many distinct clients (10.64.0.0/10,
#            never one twice): fills the table (RateLimitWAFTableSize
#            SOAK_TABLE) and keeps evicting; 403 expected
#   banned   4 clients (10.4.0.0/30) hammering the attack URL: 404 while
#            banned, 403 in between bans
#   status   the status page, ?json and ?prometheus, polled every 5 s over
#            HTTPS: 200 (and parsable JSON) expected
# and a graceful restart (apache2 -k graceful) every SOAK_RESTART_SECS.
# Ban events go to a file (RateLimitWAFEventLog).
#
# Every SOAK_SAMPLE_SECS it records (OUT/samples.tsv): VmRSS, RssAnon and
# RssShmem (/proc/PID/status) of the parent and summed over its children,
# the shared memory the parent maps (anonymous shared mappings in
# /proc/PID/smaps: the module's table, the scoreboard, ...), the store's
# tracked clients and evictions (status page), this module's error-log
# lines by level and tag, child crashes, and each stream's answers.
#
# The report (OUT/report.md): RSS of parent and children a full restart
# cycle after the first restart (the sample just before the second
# restart) against the end (the last sample, at the same point of its
# cycle), growth in %; unexpected statuses; module error lines. Goals: RSS
# flat (< 1% growth), 0 unexpected statuses, 0 module errors. "Module
# errors" are this module's lines at warning level or above, except the
# ones the traffic is meant to cause: RLW00010 (a ban starts) and RLW00020
# (the table is full, a client was evicted; at most once a minute).
#
# Environment:
#   SOAK_MINUTES=30        duration
#   SOAK_RESTART_SECS=300  graceful restart period
#   SOAK_SAMPLE_SECS=10    sampling period (and length of each wrk run)
#   SOAK_STORE=shm         or memcached: two memcached servers on
#                          SOAK_MC_PORT and +1 (consistent hashing, a
#                          secret file), their RSS and items sampled too
#   SOAK_TABLE=4096        RateLimitWAFTableSize
#   SOAK_PORT=9470         HTTP port; HTTPS (status page) on +1; memcached
#   SOAK_MC_PORT=9472      on SOAK_MC_PORT and +1
#   SOAK_RATES="clean:4:20 attack:2:50 spray:2:50 banned:2:10"
#                          per stream: wrk connections and the pause (ms)
#                          of each connection between requests
#   SOAK_ROOT=/tmp/rlw-soak  ServerRoot (wiped at start)
#   OUT=bench/results/soak-<UTC time>
#   SOAK_MODULE=1          0: a control run without this module (ModSecurity
#                          + CRS alone, no status page, shm store only):
#                          the same traffic, to tell the module's memory
#                          from httpd's, ModSecurity's and the allocator's
#   KEEP=1                 keep SOAK_ROOT afterwards
# Exit status: 0 when every goal is met, 1 otherwise, 2 on a setup error.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tools/lib/rlw-sh.sh
. "$top/tools/lib/rlw-sh.sh"
MINUTES=${SOAK_MINUTES:-30}
RESTART=${SOAK_RESTART_SECS:-300}
SAMPLE=${SOAK_SAMPLE_SECS:-10}
STORE=${SOAK_STORE:-shm}
TABLE=${SOAK_TABLE:-4096}
PORT=${SOAK_PORT:-9470}
MC_PORT=${SOAK_MC_PORT:-9472}
RATES=${SOAK_RATES:-clean:4:20 attack:2:50 spray:2:50 banned:2:10}
ROOT=${SOAK_ROOT:-/tmp/rlw-soak}
MODULE=${SOAK_MODULE:-1}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${OUT:-$top/bench/results/soak-$STAMP}
SO=${RLW_MODULE_SO:-$top/mod_ratelimit_waf/.libs/mod_ratelimit_waf.so}
HTTPD=${RLW_HTTPD:-/usr/sbin/apache2}
export RLW_MODULE_SO=$ROOT/mod_ratelimit_waf.so TLS_DIR=$ROOT/tls

die() { echo "soak: $*" >&2; exit 2; }
say() { echo "soak: $(date -u +%H:%M:%S) $*" >&2; }

for v in MINUTES RESTART SAMPLE TABLE PORT MC_PORT; do
    [[ ${!v} =~ ^[0-9]+$ ]] && [ "${!v}" -ge 1 ] || die "$v='${!v}' is not a whole number >= 1"
done
[ "$STORE" = shm ] || [ "$STORE" = memcached ] || die "SOAK_STORE='$STORE': shm or memcached"
[ "$MODULE" = 1 ] || { [ "$MODULE" = 0 ] && [ "$STORE" = shm ]; } || die "SOAK_MODULE='$MODULE': 1, or 0 (with SOAK_STORE=shm)"
for t in wrk curl openssl perl "$HTTPD" pgrep ss; do
    command -v "$t" >/dev/null || die "$t is missing (make deps)"
done
[ "$STORE" = shm ] || command -v memcached >/dev/null || die "memcached is missing"
[ -f "$SO" ] || die "$SO is not built (make build)"
[ "$(id -u)" = 0 ] || die "run as root (httpd drops to nobody)"
for p in "$PORT" $((PORT + 1)) $([ "$STORE" = memcached ] && echo "$MC_PORT $((MC_PORT + 1))"); do
    ss -ltnH "sport = :$p" | grep -q . && die "port $p is in use (SOAK_PORT, SOAK_MC_PORT)"
done
STREAMS=()
for r in $RATES; do
    [[ $r =~ ^(clean|attack|spray|banned):([0-9]+):([0-9]+)$ ]] || die "SOAK_RATES: '$r' is not NAME:CONNS:PAUSE_MS"
    STREAMS+=("$r")
done

DIR=$ROOT/httpd
CONF=$DIR/httpd.conf
ELOG=$DIR/logs/error_log
DURATION=$((MINUTES * 60))
ip2n() { local IFS=.; set -- $1; echo $((($1 << 24) + ($2 << 16) + ($3 << 8) + $4)); }

# stream name -> "base span" of its clients
stream_clients() {
    case $1 in
    clean) echo "$(ip2n 10.1.0.0) 65536" ;;
    attack) echo "$(ip2n 10.2.0.0) 256" ;;
    spray) echo "$(ip2n 10.64.0.0) 4194304" ;;
    banned) echo "$(ip2n 10.4.0.0) 4" ;;
    esac
}

# --- servers ----------------------------------------------------------------
httpd_pid() { cat "$DIR/run/httpd.pid" 2>/dev/null; }

stop_httpd() {
    rlw_httpd_stop "$DIR/run/httpd.pid" 15 || say "httpd ignored SIGTERM: SIGKILL"
}

mc_stats() { rlw_mc_stats "$@"; } # mc_stats PORT: "name value" lines

start_memcached() {
    local port
    for port in "$MC_PORT" $((MC_PORT + 1)); do
        rlw_mc_start "$ROOT" "$port" -m 64 -c 1024 || die "memcached failed"
    done
}

stop_memcached() { rlw_mc_stop "$ROOT"; }

STREAM_PIDS=()
STATUS_PID=
cleanup() {
    trap - EXIT INT TERM HUP
    touch "$ROOT/stop" 2>/dev/null
    local p
    for p in "${STREAM_PIDS[@]}" $STATUS_PID; do
        kill -TERM "$p" 2>/dev/null
    done
    # Only the streams: the memcached servers are background jobs too.
    for p in "${STREAM_PIDS[@]}" $STATUS_PID; do
        wait "$p" 2>/dev/null
    done
    stop_httpd
    stop_memcached
    if [ -d "$OUT" ] && [ -d "$DIR" ]; then
        cp "$CONF" "$OUT/httpd.conf" 2>/dev/null
        grep -E 'RLW[0-9]{5}|AH00052|exit signal|\[core:(error|crit|alert|emerg)\]' "$ELOG" \
            | tail -n 2000 >"$OUT/error_log.module" 2>/dev/null
        tail -n 300 "$ELOG" >"$OUT/error_log.tail" 2>/dev/null
        cp "$DIR/logs/events.log" "$OUT/events.log" 2>/dev/null
    fi
    [ -n "${KEEP:-}" ] && say "kept $ROOT" || rm -rf "$ROOT"
}

# --- traffic ------------------------------------------------------------------
# One stream: wrk runs of SAMPLE seconds until ROOT/stop exists; each run's
# output goes to OUT/streams/NAME.txt ("run K" then soak.lua's lines).
run_stream() { # run_stream NAME CONNS PAUSE
    local name=$1 conns=$2 pause=$3 k=0 first=0 out=$OUT/streams/$1.txt
    local bs span
    bs=$(stream_clients "$name")
    span=${bs#* }
    while [ ! -e "$ROOT/stop" ]; do
        k=$((k + 1))
        echo "run $k $(date +%s)" >>"$out"
        wrk -t1 -c"$conns" -d"${SAMPLE}s" --timeout 10s -s "$top/bench/soak.lua" \
            "http://127.0.0.1:$PORT/" -- "$name" "${bs% *}" "$span" "$pause" "$first" \
            >"$ROOT/$name.run" 2>&1
        grep -E '^(status|sent|unexpected|errors) ' "$ROOT/$name.run" >>"$out"
        # spray: the next run starts with the next unused client
        first=$((first + $(awk '$1 == "sent" { print $2 }' "$ROOT/$name.run" | tail -n 1) + 0))
    done
}

# The status page, ?json and ?prometheus alternately every 5 s.
# OUT/streams/status.txt: "status CODE" or "badjson" per poll.
poll_status() {
    local out=$OUT/streams/status.txt code q=json
    while [ ! -e "$ROOT/stop" ]; do
        code=$(curl -sk -o "$ROOT/status.body" -w '%{http_code}' --max-time 10 \
            "https://localhost:$((PORT + 1))/ratelimit-waf?$q")
        echo "status $code $q" >>"$out"
        if [ "$q" = json ] && [ "$code" = 200 ]; then
            perl -MJSON::PP -0777 -e 'decode_json(<STDIN>)' <"$ROOT/status.body" 2>/dev/null \
                || echo "badjson" >>"$out"
            cp "$ROOT/status.body" "$ROOT/status.json"
        fi
        [ "$q" = json ] && q=prometheus || q=json
        sleep 5
    done
}

# --- sampling -----------------------------------------------------------------
# "VmRSS RssAnon RssShmem" in KiB of a process (0 0 0 when gone).
proc_mem() {
    awk '$1 == "VmRSS:" { r = $2 } $1 == "RssAnon:" { a = $2 } $1 == "RssShmem:" { s = $2 }
         END { printf "%d %d %d\n", r, a, s }' "/proc/$1/status" 2>/dev/null || echo "0 0 0"
}

# KiB of shared anonymous mappings of a process (apr_shm: "/dev/zero
# (deleted)", "/SYSV...", "[anon_shmem]" or a memfd).
shm_kib() {
    awk '/^[0-9a-f]+-[0-9a-f]+ / { m = ($2 ~ /s$/) && ($6 ~ /^\/dev\/zero|^\/SYSV|anon_shmem|^\/memfd:/) }
         m && $1 == "Size:" { t += $2 } END { print t + 0 }' "/proc/$1/smaps" 2>/dev/null || echo 0
}

# Cumulative answers of a stream: "sent unexpected status:N,... errors".
stream_totals() {
    local f=$OUT/streams/$1.txt
    [ -f "$f" ] || { echo "0 0 - 0"; return; }
    awk '$1 == "sent" { s += $2 } $1 == "unexpected" { u += $2 }
         $1 == "status" { c[$2] += $3 } $1 == "errors" { e += $2 + $3 + $4 + $5 }
         END { o = ""; for (k in c) o = o (o == "" ? "" : ",") k ":" c[k]
               printf "%d %d %s %d\n", s, u, o == "" ? "-" : o, e }' "$f"
}

status_totals() { # "polls unexpected"
    local f=$OUT/streams/status.txt
    [ -f "$f" ] || { echo "0 0"; return; }
    awk '$1 == "status" { n++; if ($2 != 200) u++ } $1 == "badjson" { u++ }
         END { printf "%d %d\n", n, u }' "$f"
}

# This module's error-log lines: "warn+ unexpected_warn+ crashes tags"
# (tags: TAG:LEVEL:N,...).
log_counts() {
    perl -ne '
        if (/\[(?:[\w.]+:)?(\w+)\].*?\b(RLW\d{5})\b/) {
            my ($lvl, $tag) = ($1, $2);
            $t{"$tag:$lvl"}++;
            if ($lvl =~ /^(warn|error|crit|alert|emerg)$/) {
                $w++;
                $u++ unless $tag eq "RLW00010" || $tag eq "RLW00020";
            }
        }
        $c++ if /AH00052|exit signal/;
        END { printf "%d %d %d %s\n", $w, $u, $c,
              join(",", map { "$_=$t{$_}" } sort keys %t) || "-" }' "$ELOG" 2>/dev/null
}

store_counts() { # "tracked evictions" from the last status page read
    perl -MJSON::PP -0777 -ne 'my $j = eval { decode_json($_) } or exit;
        printf "%d %d\n", $j->{store}{tracked}, $j->{store}{evictions}' "$ROOT/status.json" 2>/dev/null
}

mc_counts() { # "rss_kib items" of both memcached servers
    local port rss=0 items=0 pid
    for port in "$MC_PORT" $((MC_PORT + 1)); do
        pid=$(cat "$ROOT/memcached-$port.pid" 2>/dev/null)
        [ -n "$pid" ] && rss=$((rss + $(proc_mem "$pid" | cut -d' ' -f1)))
        items=$((items + $(mc_stats "$port" 2>/dev/null | awk '$1 == "curr_items" { print $2 }') + 0))
    done
    echo "$rss $items"
}

HEADER="t_s restarts parent_rss parent_anon parent_shmem children children_rss children_anon children_shmem shm_mapped_kib tracked evictions mod_warn module_errors crashes clean_sent clean_unexp attack_sent attack_unexp spray_sent spray_unexp banned_sent banned_unexp status_polls status_unexp sock_errors mc_rss_kib mc_items"
take_sample() { # take_sample ELAPSED RESTARTS
    local ppid kids k pr sc ca=0 cr=0 cs=0 n=0 line s tot unexp errs=0 su
    ppid=$(httpd_pid)
    pr=$(proc_mem "$ppid")
    kids=$(pgrep -P "$ppid" 2>/dev/null)
    for k in $kids; do
        read -r r a sh <<<"$(proc_mem "$k")"
        [ "$r" -gt 0 ] || continue
        n=$((n + 1)) cr=$((cr + r)) ca=$((ca + a)) cs=$((cs + sh))
    done
    sc=$(store_counts)
    line="$1 $2 $pr $n $cr $ca $cs $(shm_kib "$ppid") ${sc:-- -}"
    read -r w u c _ <<<"$(log_counts)"
    line="$line ${w:-0} ${u:-0} ${c:-0}"
    for s in clean attack spray banned; do
        read -r tot unexp _ e <<<"$(stream_totals "$s")"
        line="$line $tot $unexp"
        errs=$((errs + e))
    done
    su=$(status_totals)
    line="$line $su $errs"
    if [ "$STORE" = memcached ]; then line="$line $(mc_counts)"; else line="$line - -"; fi
    echo "$line" | tr ' ' '\t' >>"$OUT/samples.tsv"
}

# --- report -------------------------------------------------------------------
col() { # col NAME -> its 1-based column in samples.tsv
    echo "$HEADER" | tr ' ' '\n' | grep -nx "$1" | cut -d: -f1
}
row_at() { # row_at LINE_NO (1 = header)
    sed -n "${1}p" "$OUT/samples.tsv"
}
val() { # val ROW NAME
    echo "$1" | cut -f"$(col "$2")"
}

report() {
    local base_line end_line b e first_line name r g ok=1
    # The last sample before the second restart (a full cycle after the
    # first), else the last one before the end of the first cycle after it.
    base_line=$(awk -F'\t' 'NR > 1 && $2 == 1 { l = NR } END { print l + 0 }' "$OUT/samples.tsv")
    end_line=$(awk 'END { print NR }' "$OUT/samples.tsv")
    first_line=2
    {
        echo "# Soak: $(date -u -d @"$START" '+%Y-%m-%d %H:%M UTC'), $MINUTES min, $([ "$MODULE" = 1 ] && echo "store $STORE" || echo "CONTROL RUN WITHOUT THE MODULE (ModSecurity + CRS alone)")"
        echo
        echo "Module: $SO_ID. httpd: $("$HTTPD" -v | sed -n 's/^Server version: //p'), event MPM, 2 children x 16 threads."
        echo "Graceful restarts: $RESTARTS (every ${RESTART}s); samples every ${SAMPLE}s: $((end_line - 1))."
        echo "Traffic (wrk connections:pause ms): $RATES$([ "$MODULE" = 1 ] && echo "; RateLimitWAFTableSize $TABLE, threshold 5, ban 30s..2m")."
        echo "Machine: $(nproc) CPUs, load average at the end $(cut -d' ' -f1-3 /proc/loadavg) (shared machine: other work ran alongside)."
        echo
        if [ "$base_line" -lt 2 ] || [ "$base_line" -ge "$end_line" ]; then
            echo "Too short for a restart cycle: no growth figures (SOAK_MINUTES, SOAK_RESTART_SECS)."
            ok=0
        else
            b=$(row_at "$base_line")
            e=$(row_at "$end_line")
            echo "RSS in KiB: first sample (t=$(val "$(row_at $first_line)" t_s)s), a restart cycle after the first restart (t=$(val "$b" t_s)s) and at the end (t=$(val "$e" t_s)s)."
            echo
            echo "| | start | after 1st restart | end | growth |"
            echo "|---|---:|---:|---:|---:|"
            for name in parent_rss parent_anon parent_shmem children_rss children_anon children_shmem shm_mapped_kib; do
                g=$(awk -v a="$(val "$b" "$name")" -v z="$(val "$e" "$name")" \
                    'BEGIN { if (a > 0) printf "%+.2f%%", 100 * (z - a) / a; else print "-" }')
                echo "| $name | $(val "$(row_at $first_line)" "$name") | $(val "$b" "$name") | $(val "$e" "$name") | $g |"
                case $name in parent_rss | children_rss)
                    awk -v a="$(val "$b" "$name")" -v z="$(val "$e" "$name")" \
                        'BEGIN { exit !(a > 0 && 100 * (z - a) / a < 1) }' || ok=0 ;;
                esac
            done
            if [ "$STORE" = memcached ]; then
                echo "| memcached RSS (2 servers) | $(val "$(row_at $first_line)" mc_rss_kib) | $(val "$b" mc_rss_kib) | $(val "$e" mc_rss_kib) | |"
            fi
            echo
            # What one restart adds: growth over the cycles after the first
            # restart, per restart.
            echo "Per restart (from the end of cycle 1 to the end of the run, over $((RESTARTS - 1)) restarts): parent_anon $(awk -v a="$(val "$b" parent_anon)" -v z="$(val "$e" parent_anon)" -v n=$((RESTARTS - 1)) 'BEGIN { printf "%+.0f", (n > 0 ? (z - a) / n : 0) }') KiB, children_anon $(awk -v a="$(val "$b" children_anon)" -v z="$(val "$e" children_anon)" -v n=$((RESTARTS - 1)) 'BEGIN { printf "%+.0f", (n > 0 ? (z - a) / n : 0) }') KiB (compare with a control run, SOAK_MODULE=0: httpd, mod_security2 and the CRS grow by themselves at each restart)."
            echo
            echo "RSS in KiB at the end of each restart cycle (the last sample before the next restart, and the last one):"
            echo
            echo "| cycle | t (s) | parent_rss | parent_anon | children_rss | children_anon | children_shmem |$([ "$STORE" = memcached ] && echo " memcached RSS |")"
            echo "|---:|---:|---:|---:|---:|---:|---:|$([ "$STORE" = memcached ] && echo "---:|")"
            awk -F'\t' -v mc="$([ "$STORE" = memcached ] && echo 1)" -v cols="$(for c in t_s parent_rss parent_anon children_rss children_anon children_shmem mc_rss_kib; do printf '%s ' "$(col $c)"; done)" '
                BEGIN { n = split(cols, c, " ") }
                NR > 1 { last[$2] = $0; if (!($2 in seen)) { seen[$2] = 1; order[++k] = $2 } }
                END {
                    for (i = 1; i <= k; i++) {
                        split(last[order[i]], f, "\t")
                        printf "| %d | %s | %s | %s | %s | %s | %s |%s\n", order[i], f[c[1]], f[c[2]], f[c[3]], f[c[4]], f[c[5]], f[c[6]], mc ? " " f[c[7]] " |" : ""
                    }
                }' "$OUT/samples.tsv"
            echo
            echo "Children: $(val "$e" children) at the end. Max over all samples: parent_rss $(awk -F'\t' -v c="$(col parent_rss)" 'NR > 1 && $c > m { m = $c } END { print m }' "$OUT/samples.tsv"), children_rss $(awk -F'\t' -v c="$(col children_rss)" 'NR > 1 && $c > m { m = $c } END { print m }' "$OUT/samples.tsv")."
        fi
        e=$(row_at "$end_line")
        echo
        echo "| stream | requests | unexpected statuses | statuses |"
        echo "|---|---:|---:|---|"
        for name in clean attack spray banned; do
            read -r tot unexp st errs <<<"$(stream_totals "$name")"
            echo "| $name | $tot | $unexp | $st |"
            [ "$unexp" = 0 ] || ok=0
        done
        read -r polls sunexp <<<"$(status_totals)"
        echo "| status page (json, prometheus) | $polls | $sunexp | |"
        [ "$sunexp" = 0 ] || ok=0
        echo
        read -r w u c tags <<<"$(log_counts)"
        echo "Module error-log lines at warning or above: $w; of which unexpected (not RLW00010 ban, not RLW00020 eviction): **$u**; child crashes: $c."
        echo "Tags seen (tag:level=lines): $tags."
        echo "Socket errors reported by wrk (connections closed by graceful restarts): $(val "$e" sock_errors)."
        echo "Store at the end: tracked $(val "$e" tracked), evictions $(val "$e" evictions)."
        [ "$u" = 0 ] && [ "$c" = 0 ] || ok=0
        echo
        [ $ok = 1 ] && echo "Goals met: RSS growth < 1%, 0 unexpected statuses, 0 module errors." \
            || echo "GOALS NOT MET (see above)."
    } >"$OUT/report.md"
    return $((1 - ok))
}

# --- main -------------------------------------------------------------------
main() {
    local t next_restart next_sample now
    rm -rf "$ROOT"
    mkdir -p "$ROOT/tls" "$DIR"/{logs,run,htdocs,data,tmp} "$OUT/streams" || die "cannot create $ROOT or $OUT"
    chown nobody:nogroup "$DIR/data" "$DIR/tmp"
    chmod 755 "$ROOT"
    trap cleanup EXIT
    trap 'exit 1' INT TERM HUP
    printf '<!DOCTYPE html>\n<html><head><title>ok</title></head><body>ok</body></html>\n' >"$DIR/htdocs/index.html"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj /CN=localhost -addext subjectAltName=DNS:localhost -keyout "$ROOT/tls/key.pem" \
        -out "$ROOT/tls/cert.pem" >/dev/null 2>&1 || die "openssl could not make a certificate"
    cp "$SO" "$RLW_MODULE_SO" || die "cannot copy $SO"
    SO_ID="$(sha256sum "$SO" | cut -c1-12), built $(date -u -r "$SO" '+%Y-%m-%d %H:%M UTC')"
    [ -d "$top/.git" ] || [ -f "$top/.git" ] && SO_ID="$SO_ID, tree $(git -C "$top" rev-parse --short HEAD 2>/dev/null)"
    local opts="modsec rlw status"
    [ "$MODULE" = 0 ] && opts="modsec"
    if [ "$STORE" = memcached ]; then
        export RLW_MC_CONFIG="--SERVER=127.0.0.1:$MC_PORT --SERVER=127.0.0.1:$((MC_PORT + 1)) --DISTRIBUTION=consistent"
        export RLW_MC_SECRET=$ROOT/cluster.secret
        (umask 077 && openssl rand -base64 48 >"$RLW_MC_SECRET") || die "cannot write the secret"
        start_memcached
        opts="$opts mc prefix=soak: node=soak sync=250ms"
    fi
    # shellcheck disable=SC2086
    bash "$top/bench/httpd-conf.sh" "$DIR" "$PORT" $((PORT + 1)) $opts >"$CONF" || die "httpd-conf.sh failed"
    [ "$MODULE" = 1 ] && cat >>"$CONF" <<EOF

# bench/soak.sh: short, escalating bans (attackers go through ban, expiry
# and the next strike), a small table (the spray keeps evicting), events.
RateLimitWAFBanTime 30s
RateLimitWAFBanMax 2m
RateLimitWAFStrikeDecay 5m
RateLimitWAFTableSize $TABLE
RateLimitWAFEventLog "$DIR/logs/events.log"
EOF
    "$HTTPD" -f "$CONF" -k start || die "httpd did not start: $(tail -n 5 "$ELOG")"
    for _ in $(seq 300); do
        [ -n "$(httpd_pid)" ] && curl -s -o /dev/null "http://127.0.0.1:$PORT/" && break
        sleep 0.1
    done
    curl -s -o /dev/null "http://127.0.0.1:$PORT/" || die "httpd does not answer: $(tail -n 5 "$ELOG")"
    say "httpd $(httpd_pid) on :$PORT (store $STORE), $MINUTES min, graceful restart every ${RESTART}s; results in $OUT"

    echo "$HEADER" | tr ' ' '\t' >"$OUT/samples.tsv"
    START=$(date +%s)
    RESTARTS=0
    local s
    for s in "${STREAMS[@]}"; do
        IFS=: read -r name conns pause <<<"$s"
        run_stream "$name" "$conns" "$pause" &
        STREAM_PIDS+=($!)
    done
    if [ "$MODULE" = 1 ]; then
        poll_status &
        STATUS_PID=$!
    fi
    next_restart=$((START + RESTART))
    next_sample=$((START + SAMPLE))
    while :; do
        now=$(date +%s)
        [ $((now - START)) -ge "$DURATION" ] && break
        if [ "$now" -ge "$next_sample" ]; then
            take_sample $((now - START)) "$RESTARTS"
            next_sample=$((next_sample + SAMPLE))
        fi
        if [ "$now" -ge "$next_restart" ] && [ $((now - START + 5)) -lt "$DURATION" ]; then
            "$HTTPD" -f "$CONF" -k graceful || say "graceful restart failed"
            RESTARTS=$((RESTARTS + 1))
            say "graceful restart $RESTARTS"
            next_restart=$((next_restart + RESTART))
        fi
        sleep 1
    done
    take_sample $(($(date +%s) - START)) "$RESTARTS"
    touch "$ROOT/stop"
    for s in "${STREAM_PIDS[@]}" $STATUS_PID; do
        wait "$s" 2>/dev/null
    done
    STREAM_PIDS=()
    STATUS_PID=
    report
    local rc=$?
    cat "$OUT/report.md"
    ln -sfn "$(basename "$OUT")" "$(dirname "$OUT")/soak-latest" 2>/dev/null
    say "results in $OUT"
    return $rc
}

main "$@"
exit
