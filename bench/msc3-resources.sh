#!/bin/bash
# bench/msc3-resources.sh - the embedded engine's (RateLimitWAFEngine
# modsecurity3) resource tests: memory of the children under mixed traffic,
# leaks under valgrind, memory across graceful restarts.
#
# Usage: bash bench/msc3-resources.sh      (or: make msc3-resources)
# As root (httpd drops to nobody). About 5 minutes with the defaults; not
# part of make test.
#
# One httpd (event MPM, two children of 16 threads that live through the
# run: no process churn), the module with its embedded engine and Debian's
# CRS 3.3.4 (the configuration of bench/httpd-conf.sh "modsec engine3
# rlw": RateLimitWAFThreshold 5, RateLimitWAFBanTime 1h, shm store), on
# 127.0.0.1:RES_PORT. Traffic is bench/msc3-mix.lua: clean GETs, clean
# POSTs (1 KB urlencoded, and 100 KB that the module keeps in a
# temporary file), attacks each
# from a new client (inspected, 403), attacks from 64 attackers (403 until
# banned, then 404) and from 4 clients banned before the run (404, no WAF
# transaction); clients played through X-Forwarded-For (mod_remoteip).
#
#   1. RSS: RES_WARM requests to warm up, then more in parts of
#      RES_WARM_STEP until no child's RSS moves by more than 1% over a part
#      (at most RES_WARM_MAX in all), then the RSS of each child
#      (VmRSS of /proc/PID/status); RES_REQUESTS requests in RES_SAMPLES
#      parts, each child's RSS after each. Goal: every sample of every
#      child within +-RES_RSS_PCT % (5) of its value after the warm-up, the
#      same children from start to end, no unexpected status. The
#      module's table is small (RateLimitWAFTableSize 4096, 0.4 MB): its
#      shared pages, which a child touches as new clients come, count in
#      its RSS; with the default 100,000 entries (9.6 MB) the sprayed
#      attackers would raise RSS by that much, bounded but not a leak.
#   2. Graceful restarts: RES_RESTARTS times (10) apache2 -k graceful; once
#      the new children answer, RES_RESTART_REQUESTS requests (5,000), then
#      the RSS of the parent (VmRSS, RssAnon) and of the children (summed).
#      The first restart raises the parent's RSS once (the allocator's high
#      water mark of two rule sets alive at once); the goal is no growth
#      after that: the parent's RSS after the last restart within
#      RES_RESTART_PCT % (1) of its value after restart RES_RESTART_BASE
#      (3) - the rule set (about 20 MB) leaked once per restart would
#      exceed it at once -, and the new children never above the first
#      generation's RSS at the end of part 1 + RES_RESTART_KIDS_PCT % (5)
#      (they are new after each restart: their RSS depends on how many of
#      their threads the traffic reached, so it is compared with the
#      warmest, not with the last).
#   3. valgrind: apache2 -X (one process) under memcheck, RES_VG_REQUESTS
#      requests (400) of the same mix after the same bans, then SIGTERM
#      (httpd frees its pools: the rule set and engine go with the
#      configuration's). Goal: no definitely lost block allocated from the
#      module (a loss record with a frame of the module in its stack), no
#      memcheck error whose faulting instruction is the module's among
#      the 1,000 error contexts memcheck lists (the others, in PCRE2's JIT
#      code and the dynamic loader, are counted in the report). bench/msc3-valgrind.supp suppresses what is known to
#      belong to others (see the file).
#
# Environment:
#   RES_PORT=18250     the port (127.0.0.1)
#   RES_REQUESTS=100000 RES_WARM=10000 RES_WARM_STEP=5000 RES_WARM_MAX=50000
#   RES_SAMPLES=10 RES_RSS_PCT=5
#   RES_RESTARTS=10 RES_RESTART_REQUESTS=5000 RES_RESTART_BASE=3
#   RES_RESTART_PCT=1 RES_RESTART_KIDS_PCT=5
#   RES_VALGRIND=1     0: leave out the valgrind part
#   RES_VG_REQUESTS=400
#   RES_THREADS=16     wrk threads, one connection each
#   RES_ROOT=/tmp/rlw-msc3-res   ServerRoot (wiped at start)
#   OUT=bench/results/msc3-resources-<UTC time>
#   KEEP=1             keep RES_ROOT
# Output: OUT/report.md (figures and verdicts), OUT/rss.tsv,
# OUT/restarts.tsv, OUT/valgrind.log, OUT/wrk-*.txt. Exit status 0 when
# every goal is met, 1 when one is missed, 2 on a setup error.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tools/lib/rlw-sh.sh
. "$top/tools/lib/rlw-sh.sh"
PORT=${RES_PORT:-18250}
REQUESTS=${RES_REQUESTS:-100000}
WARM=${RES_WARM:-10000}
WARM_STEP=${RES_WARM_STEP:-5000}
WARM_MAX=${RES_WARM_MAX:-50000}
SAMPLES=${RES_SAMPLES:-10}
RSS_PCT=${RES_RSS_PCT:-5}
RESTARTS=${RES_RESTARTS:-10}
RESTART_REQUESTS=${RES_RESTART_REQUESTS:-5000}
RESTART_BASE=${RES_RESTART_BASE:-3}
RESTART_PCT=${RES_RESTART_PCT:-1}
RESTART_KIDS_PCT=${RES_RESTART_KIDS_PCT:-5}
VALGRIND=${RES_VALGRIND:-1}
VG_REQUESTS=${RES_VG_REQUESTS:-400}
THREADS=${RES_THREADS:-16}
ROOT=${RES_ROOT:-/tmp/rlw-msc3-res}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT=${OUT:-$top/bench/results/msc3-resources-$STAMP}
HTTPD=${RLW_HTTPD:-/usr/sbin/apache2}
SO=${RLW_MODULE_SO:-$top/mod_ratelimit_waf/.libs/mod_ratelimit_waf.so}
SUPP=$top/bench/msc3-valgrind.supp
LUA=$top/bench/msc3-mix.lua
ATTACK='/?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E'
BANNED="10.4.0.0 10.4.0.1 10.4.0.2 10.4.0.3"

die() { echo "msc3-resources: $*" >&2; exit 2; }
say() { echo "msc3-resources: $*" >&2; }

for v in PORT REQUESTS WARM WARM_STEP WARM_MAX SAMPLES RSS_PCT RESTARTS RESTART_REQUESTS RESTART_BASE RESTART_PCT RESTART_KIDS_PCT VG_REQUESTS THREADS; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "RES_$v='${!v}' is not a whole number"
done
[ "$SAMPLES" -ge 1 ] && [ "$THREADS" -ge 1 ] || die "RES_SAMPLES and RES_THREADS must be >= 1"
[ "$RESTARTS" -eq 0 ] || [ "$RESTART_BASE" -lt "$RESTARTS" ] \
    || die "RES_RESTART_BASE ($RESTART_BASE) must be below RES_RESTARTS ($RESTARTS)"
[ "$(id -u)" = 0 ] || die "run as root (httpd drops to nobody)"
for t in wrk curl "$HTTPD" pgrep; do
    command -v "$t" >/dev/null || die "$t is missing (make deps)"
done
[ "$VALGRIND" = 0 ] || command -v valgrind >/dev/null || die "valgrind is missing (make deps; or RES_VALGRIND=0)"
[ -f "$SO" ] || die "$SO is not built (make build)"
# (grep reads all: with -q, ldconfig could die of SIGPIPE and pipefail fail
# the test.)
ldconfig -p 2>/dev/null | grep 'libmodsecurity[.]so[.]3 ' >/dev/null || die "libmodsecurity.so.3 is not installed"

DIR=$ROOT/httpd
PIDFILE=$DIR/run/httpd.pid
VG_PID='' WRK_PID=''
cleanup() {
    trap - EXIT INT TERM HUP
    [ -n "$WRK_PID" ] && kill -0 "$WRK_PID" 2>/dev/null && kill -KILL "$WRK_PID"
    rlw_httpd_stop "$PIDFILE" >/dev/null 2>&1
    [ -n "$VG_PID" ] && kill -0 "$VG_PID" 2>/dev/null && kill -KILL "$VG_PID"
    [ -d "$OUT" ] && [ -f "$DIR/httpd.conf" ] && cp "$DIR/httpd.conf" "$OUT/httpd.conf"
    [ -d "$OUT" ] && tail -n 100 "$DIR/logs/error_log" >"$OUT/error_log.tail" 2>/dev/null
    [ -z "${KEEP:-}" ] && rm -rf "$ROOT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

ss -Hltn "sport = :$PORT" | grep -q . && die "port $PORT is in use"
rm -rf "$ROOT"
mkdir -p "$DIR"/{logs,run,htdocs,data,tmp} "$OUT" || die "cannot create $ROOT or $OUT"
chown nobody:nogroup "$DIR/data" "$DIR/tmp"
printf '<!DOCTYPE html>\n<html><head><title>ok</title></head><body>ok</body></html>\n' >"$DIR/htdocs/index.html"
# The server loads a copy: the tree's module may be rebuilt meanwhile.
cp "$SO" "$ROOT/mod_ratelimit_waf.so" || die "cannot copy $SO"
rlw_conf --generated-by "bench/msc3-resources.sh" --root "$DIR" --listen "$PORT" \
    --mpm event --mpm-tuning bench --user nobody --group nogroup --loglevel warn \
    --modsec --engine modsecurity3 --module-so "$ROOT/mod_ratelimit_waf.so" \
    --directive 'RateLimitWAF On
RateLimitWAFThreshold 5
RateLimitWAFBanTime 1h
RateLimitWAFStore shm
RateLimitWAFTableSize 4096' >"$DIR/httpd.conf" || die "cannot write the httpd.conf"

REPORT=$OUT/report.md
FAILED=0
fail() { FAILED=1; echo "**missed**: $*" >>"$REPORT"; say "missed: $*"; }

# --- helpers ---------------------------------------------------------------
answering() { curl -s -o /dev/null -m 5 "http://127.0.0.1:$PORT/"; }
wait_answering() { # wait_answering SECONDS
    local i
    for i in $(seq $(($1 * 5))); do
        answering && return 0
        sleep 0.2
    done
    return 1
}
status_of() { # status_of IP PATH
    curl -s -o /dev/null -m 60 -w '%{http_code}' -H "X-Forwarded-For: $1" "http://127.0.0.1:$PORT$2"
}
ban() { # ban IP: attacks until the answer is 404
    local code i
    for i in $(seq 20); do
        code=$(status_of "$1" "$ATTACK")
        [ "$code" = 404 ] && return 0
    done
    die "could not ban $1 (last answer $code)"
}
SPRAYED=0
# mix N LABEL: N requests of bench/msc3-mix.lua; adds its counts to the
# totals, returns 1 when an answer was not the expected one.
TOTAL_SENT=0 TOTAL_BAD=0
mix() {
    local n=$1 label=$2 f=$OUT/wrk-$2.txt t=$THREADS sent bad
    [ "$n" -lt "$t" ] && t=$n
    rm -f "$ROOT/mix.done"
    MIX_THREADS=$t MIX_DONE=$ROOT/mix.done wrk -t"$t" -c"$t" -d3600s --timeout 60s \
        -s "$LUA" "http://127.0.0.1:$PORT/" -- "$n" "$SPRAYED" >"$f" 2>&1 &
    WRK_PID=$!
    # Every thread has its share: wrk would still wait for its -d.
    while kill -0 "$WRK_PID" 2>/dev/null; do
        [ -f "$ROOT/mix.done" ] && [ "$(wc -l <"$ROOT/mix.done")" -ge "$t" ] \
            && kill -INT "$WRK_PID"
        sleep 0.2
    done
    wait "$WRK_PID"
    WRK_PID=
    sent=$(awk '$1 == "sent" { print $2 }' "$f")
    bad=$(awk '$1 == "unexpected" { print $2 }' "$f")
    SPRAYED=$((SPRAYED + $(awk '$1 == "sprayed" { print $2 }' "$f")))
    [ -n "$sent" ] || die "wrk ($label) failed: $(tail -n 3 "$f")"
    TOTAL_SENT=$((TOTAL_SENT + sent)) TOTAL_BAD=$((TOTAL_BAD + bad))
    [ "$bad" = 0 ]
}
kids() { pgrep -P "$(cat "$PIDFILE")" | sort -n | tr '\n' ' '; }
st() { # st PID FIELD -> kB
    awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null
}

# --- 1. RSS of the children over RES_REQUESTS requests ------------------------
"$HTTPD" -f "$DIR/httpd.conf" -k start || die "httpd did not start"
wait_answering 60 || die "httpd does not answer: $(tail -n 5 "$DIR/logs/error_log")"
for ip in $BANNED; do ban "$ip"; done
say "banned $BANNED; warming up ($WARM requests)"
{
    echo "# The embedded engine's resource tests"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), \`bash bench/msc3-resources.sh\`; module sha256" \
        "$(sha256sum "$SO" | cut -c1-12), tree $(git -C "$top" rev-parse --short HEAD 2>/dev/null)," \
        "libmodsecurity $(dpkg-query -W -f '${Version}' libmodsecurity3 2>/dev/null)," \
        "CRS $(dpkg-query -W -f '${Version}' modsecurity-crs 2>/dev/null)."
    echo
    echo "## Children's RSS over $REQUESTS requests"
    echo
} >"$REPORT"
# Warm-up: RES_WARM requests, then parts of RES_WARM_STEP until no child's
# RSS moved by more than 1% over the last part (each thread of a child
# grows its allocator arena when the traffic first reaches it, and the
# listener does not spread connections evenly), at most RES_WARM_MAX.
rss_of_kids() { local p; for p in $(kids); do printf '%s ' "$(st "$p" VmRSS)"; done; }
mix "$WARM" warm || fail "unexpected answers during the warm-up ($(grep unexpected "$OUT/wrk-warm.txt"))"
warmed=$WARM
before=$(rss_of_kids)
while [ "$warmed" -lt "$WARM_MAX" ]; do
    mix "$WARM_STEP" "warm$warmed" || fail "unexpected answers during the warm-up"
    warmed=$((warmed + WARM_STEP))
    after=$(rss_of_kids)
    say "warm-up, $warmed requests: $after kB"
    awk -v a="$before" -v b="$after" 'BEGIN { n = split(a, x, " "); split(b, y, " ")
        for (i = 1; i <= n; i++) if ((y[i] - x[i]) * 100 > x[i] || (x[i] - y[i]) * 100 > x[i]) exit 1 }' \
        && break
    before=$after
done
KIDS0=$(kids)
printf 'requests\tpid\tVmRSS_kB\tRssAnon_kB\tRssShmem_kB\n' >"$OUT/rss.tsv"
declare -A RSS0
for p in $KIDS0; do
    RSS0[$p]=$(st "$p" VmRSS)
    printf '0\t%s\t%s\t%s\t%s\n' "$p" "${RSS0[$p]}" "$(st "$p" RssAnon)" "$(st "$p" RssShmem)" >>"$OUT/rss.tsv"
done
say "children $KIDS0 after the warm-up: $(for p in $KIDS0; do printf '%s ' "${RSS0[$p]}"; done)kB"
TOTAL_SENT=0 TOTAL_BAD=0
part=$((REQUESTS / SAMPLES))
done_n=0
t0=$(date +%s)
for i in $(seq "$SAMPLES"); do
    n=$part
    [ "$i" = "$SAMPLES" ] && n=$((REQUESTS - done_n))
    mix "$n" "part$i"
    done_n=$((done_n + n))
    for p in $KIDS0; do
        printf '%s\t%s\t%s\t%s\t%s\n' "$TOTAL_SENT" "$p" "$(st "$p" VmRSS)" "$(st "$p" RssAnon)" "$(st "$p" RssShmem)" >>"$OUT/rss.tsv"
    done
    say "$TOTAL_SENT requests: $(for p in $KIDS0; do printf '%s ' "$(st "$p" VmRSS)"; done)kB"
done
secs=$(($(date +%s) - t0))
KIDS1=$(kids)
KIDS_END=0
for p in $KIDS1; do KIDS_END=$((KIDS_END + $(st "$p" VmRSS))); done
statuses=$(cat "$OUT"/wrk-part*.txt | awk '$1 == "status" { n[$2] += $3 } END { for (c in n) printf "%s: %d, ", c, n[c] }')
{
    echo "$TOTAL_SENT requests in $secs s after $warmed to warm up (statuses ${statuses%, });" \
        "$TOTAL_BAD unexpected. VmRSS of each child, kB:"
    echo
    echo "| child | after the warm-up | min | max | end | end / warm-up |"
    echo "|---|---:|---:|---:|---:|---:|"
    for p in $KIDS0; do
        awk -F'\t' -v p="$p" -v pct="$RSS_PCT" 'NR > 1 && $2 == p {
                if (first == "") first = $3
                if (min == "" || $3 < min) min = $3
                if ($3 > max) max = $3
                last = $3 }
            END { printf "| %s | %d | %d | %d | %d | %+.2f%% |\n", p, first, min, max, last, (last - first) * 100 / first }' \
            "$OUT/rss.tsv"
    done
    echo
} >>"$REPORT"
[ "$TOTAL_BAD" = 0 ] || fail "$TOTAL_BAD unexpected answers (see $OUT/wrk-part*.txt)"
[ "$KIDS0" = "$KIDS1" ] || fail "the children changed during the run ($KIDS0-> $KIDS1)"
for p in $KIDS0; do
    awk -F'\t' -v p="$p" -v pct="$RSS_PCT" 'NR > 1 && $2 == p {
            if (first == "") { first = $3; next }
            d = ($3 - first) * 100 / first; if (d < 0) d = -d
            if (d > pct) bad = 1 }
        END { exit bad }' "$OUT/rss.tsv" \
        || fail "child $p: RSS moved by more than $RSS_PCT% of its value after the warm-up"
done

# --- 2. graceful restarts ------------------------------------------------------
if [ "$RESTARTS" -gt 0 ]; then
    PARENT=$(cat "$PIDFILE")
    printf 'restart\tparent_VmRSS_kB\tparent_RssAnon_kB\tchildren_VmRSS_kB\tchildren_RssAnon_kB\n' >"$OUT/restarts.tsv"
    sample_restart() { # sample_restart N
        local p r=0 a=0
        for p in $(kids); do
            r=$((r + $(st "$p" VmRSS))) a=$((a + $(st "$p" RssAnon)))
        done
        printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$(st "$PARENT" VmRSS)" "$(st "$PARENT" RssAnon)" "$r" "$a" >>"$OUT/restarts.tsv"
    }
    sample_restart 0
    for i in $(seq "$RESTARTS"); do
        old=$(kids)
        "$HTTPD" -f "$DIR/httpd.conf" -k graceful || die "graceful restart $i failed"
        # New children (none of the old pids), answering.
        for _ in $(seq 600); do
            now=$(kids)
            fresh=1
            for p in $old; do [[ " $now " == *" $p "* ]] && fresh=0; done
            [ "$fresh" = 1 ] && [ -n "$now" ] && answering && break
            sleep 0.1
        done
        [ "$fresh" = 1 ] || die "restart $i: the old children are still there after 60 s"
        [ "$(cat "$PIDFILE")" = "$PARENT" ] || die "restart $i: the parent changed"
        mix "$RESTART_REQUESTS" "restart$i" || fail "restart $i: unexpected answers"
        sample_restart "$i"
        say "restart $i: $(tail -n 1 "$OUT/restarts.tsv" | cut -f2-)"
    done
    {
        echo "## $RESTARTS graceful restarts"
        echo
        echo "\`apache2 -k graceful\`, then $RESTART_REQUESTS requests of the same mix, then the RSS (kB;" \
            "children: the sum over the two new ones):"
        echo
        echo "| after restart | parent VmRSS | parent RssAnon | children VmRSS | children RssAnon |"
        echo "|---:|---:|---:|---:|---:|"
        awk -F'\t' 'NR > 1 { printf "| %s | %d | %d | %d | %d |\n", $1, $2, $3, $4, $5 }' "$OUT/restarts.tsv"
        echo
        awk -F'\t' -v b="$RESTART_BASE" -v first="$KIDS_END" 'NR > 1 && $1 == b { p = $2 }
            NR > 2 && $4 > maxc { maxc = $4 }
            NR > 1 { lp = $2; n = $1 }
            END { printf "From restart %d to %d: parent %+d kB (%+.2f%%). Children: at most %d kB after a restart, against %d kB for the first generation at the end of the run above.\n\n",
                  b, n, lp - p, (lp - p) * 100 / p, maxc, first }' "$OUT/restarts.tsv"
    } >>"$REPORT"
    awk -F'\t' -v b="$RESTART_BASE" -v pct="$RESTART_PCT" 'NR > 1 && $1 == b { p = $2; c = $4 }
        NR > 1 { lp = $2; lc = $4 }
        END { exit !((lp - p) * 100 <= pct * p) }' "$OUT/restarts.tsv" \
        || fail "the parent's RSS grew by more than $RESTART_PCT% from restart $RESTART_BASE to restart $RESTARTS"
    # New children after each restart: none may hold more than the first
    # generation did after the long run, warm (+ RES_RESTART_KIDS_PCT %).
    awk -F'\t' -v first="$KIDS_END" -v pct="$RESTART_KIDS_PCT" 'NR > 2 && $4 * 100 > first * (100 + pct) { bad = 1 }
        END { exit bad }' "$OUT/restarts.tsv" \
        || fail "after a restart the children held more than $RESTART_KIDS_PCT% above the first generation's $KIDS_END kB"
fi
rlw_httpd_stop "$PIDFILE" || say "httpd ignored SIGTERM: killed"

# --- 3. valgrind -----------------------------------------------------------------
if [ "$VALGRIND" = 1 ]; then
    say "valgrind: apache2 -X under memcheck, $VG_REQUESTS requests"
    SPRAYED=$((SPRAYED + 1000000))
    # --keep-debuginfo: httpd unloads its modules before valgrind reports
    # the leaks; without it the module's frames would read "???". memcheck
    # lists the first 1,000 error contexts only (PCRE2's JIT code makes
    # about that many in 400 requests; --error-limit=no makes it compare
    # each new error with every one before, and the run crawls): the
    # check of errors in the module covers those listed. Leaks are all
    # listed whatever the limit.
    valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite --keep-debuginfo=yes \
        --num-callers=40 --suppressions="$SUPP" --log-file="$OUT/valgrind.log" \
        "$HTTPD" -X -f "$DIR/httpd.conf" >"$OUT/valgrind.out" 2>&1 &
    VG_PID=$!
    for _ in $(seq 3000); do
        answering && break
        kill -0 "$VG_PID" 2>/dev/null || die "httpd under valgrind died: $(tail -n 5 "$OUT/valgrind.log")"
        sleep 0.2
    done
    answering || die "httpd under valgrind does not answer after 600 s"
    for ip in $BANNED; do ban "$ip"; done
    THREADS=2 mix "$VG_REQUESTS" valgrind || fail "unexpected answers under valgrind"
    kill -TERM "$VG_PID"
    wait "$VG_PID"
    VG_PID=
    definite=$(awk '/definitely lost:/ { gsub(",", "", $4); print $4; exit }' "$OUT/valgrind.log")
    indirect=$(awk '/indirectly lost:/ { gsub(",", "", $4); print $4; exit }' "$OUT/valgrind.log")
    # memcheck's reports are blank-line separated blocks; a frame of the
    # module reads "(mod_rlw_x.c:LINE)" (or rlw_x.c) with its debug
    # information, "(in .../mod_ratelimit_waf.so)" without.
    sed 's/^==[0-9]*== \{0,1\}//' "$OUT/valgrind.log" >"$OUT/valgrind.blocks"
    MOD_RE='mod_ratelimit_waf[.]so|[(](mod_)?rlw_[a-z0-9_]+[.][ch]:'
    # Definitely lost records with a frame of the module in their stack.
    ours=$(awk -v re="$MOD_RE" 'BEGIN { RS = "" } /definitely lost in loss record/ && $0 ~ re { n++ } END { print n + 0 }' \
        "$OUT/valgrind.blocks")
    # Other errors (invalid reads, uninitialised values...), by whether
    # the faulting instruction is the module's (the first frame).
    errors=$(awk -v re="$MOD_RE" 'BEGIN { RS = "" }
        /^(Invalid|Conditional|Use of|Syscall|Mismatched|Source and|Argument)/ {
            split($0, l, "\n"); all++; if (l[2] ~ re) mod++
            k = l[1]; sub(/ at 0x.*/, "", k); kinds[k]++ }
        END { printf "%d|%d|", all + 0, mod + 0; sep = ""
              for (k in kinds) { printf "%s%s: %d", sep, k, kinds[k]; sep = "; " } }' \
        "$OUT/valgrind.blocks")
    suppressed=$(awk '/ERROR SUMMARY:/ { s = $0; sub(/.*[(]suppressed: /, "", s); sub(/[)].*/, "", s); print s " contexts"; exit }' "$OUT/valgrind.log")
    # Without any block left at exit, memcheck prints no leak summary.
    if grep -q 'no leaks are possible' "$OUT/valgrind.log"; then
        definite=0 indirect=0
    fi
    {
        echo "## valgrind"
        echo
        echo "memcheck on \`apache2 -X\` (one process), $VG_REQUESTS requests of the same mix, SIGTERM:" \
            "definitely lost ${definite:-?} bytes, indirectly lost ${indirect:-?} bytes" \
            "(errors suppressed by bench/msc3-valgrind.supp: ${suppressed:-none}); loss records from the module: $ours." \
            "Other errors: ${errors%%|*} contexts (${errors##*|}), of which" \
            "$(echo "$errors" | cut -d'|' -f2) with the faulting instruction in the module" \
            "(memcheck lists the first 1,000 contexts only)."
        echo
    } >>"$REPORT"
    [ -n "$definite" ] || fail "no leak summary from valgrind (see $OUT/valgrind.log)"
    [ "$ours" = 0 ] || fail "$ours definitely lost record(s) allocated from the module ($OUT/valgrind.log)"
    [ "$(echo "$errors" | cut -d'|' -f2)" = 0 ] || fail "memcheck errors in the module ($OUT/valgrind.log)"
fi

[ "$FAILED" = 0 ] && echo "Every goal met." >>"$REPORT"
cat "$REPORT"
exit "$FAILED"
