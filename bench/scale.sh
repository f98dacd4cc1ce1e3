#!/bin/bash
# bench/scale.sh - the memcached store at 1 to 20 simulated nodes
# (bench/nodesim, no httpd), the figures of docs/scale.md.
#
# Usage: bash bench/scale.sh      (after make nodesim)
#
# For each node count in NODES and each mode (nodesim's spray, botnet,
# exact, propagate), starts MC fresh memcached servers on the loopback
# (MC_PORT, +1, ...; -m 256, -c 4096, consistent hashing),
# runs bench/nodesim, then reads the servers' stats: the run's items and
# bytes (what it left stored: memory per client), the key-level commands
# (cmd_get counts every key of a multi-get), the busiest server's share
# of them (the journal's server is hot), connections. Fresh servers per
# run, so nothing of one run is counted in another.
#
# Environment:
#   NODES="1 2 5 10 20"   simulated node counts
#   MC=3                  memcached servers
#   MC_PORT=9480          first memcached port
#   SECONDS_RUN=10        seconds of each spray and botnet run
#   BOTNET=100000         botnet clients (random choice; T=5)
#   EXACT=4000            exact: clients (K = T, T-1, 2T)
#   REPEATS=20            propagate: bans timed
#   SYNC_MS=250           every node's sync period
#   THREADS=1             attacking threads per node
#   OUT=bench/results/scale-<UTC time>
# Output: OUT/results.tsv (one line per run), OUT/report.md, OUT/raw/.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tools/lib/rlw-sh.sh
. "$top/tools/lib/rlw-sh.sh"
NODES=${NODES:-1 2 5 10 20}
MC=${MC:-3}
MC_PORT=${MC_PORT:-9480}
SECONDS_RUN=${SECONDS_RUN:-10}
BOTNET=${BOTNET:-100000}
EXACT=${EXACT:-4000}
REPEATS=${REPEATS:-20}
SYNC_MS=${SYNC_MS:-250}
THREADS=${THREADS:-1}
OUT=${OUT:-$top/bench/results/scale-$(date -u +%Y%m%dT%H%M%SZ)}
SIM=$top/bench/nodesim
WORK=$(mktemp -d /tmp/rlw-scale.XXXXXX)

die() { echo "scale: $*" >&2; exit 2; }
say() { echo "scale: $(date -u +%H:%M:%S) $*" >&2; }
[ -x "$SIM" ] || die "$SIM is not built (make nodesim)"
command -v memcached >/dev/null || die "memcached is missing"
for i in $(seq 0 $((MC - 1))); do
    ss -ltnH "sport = :$((MC_PORT + i))" | grep -q . && die "port $((MC_PORT + i)) is in use (MC_PORT)"
done
mkdir -p "$OUT/raw" || die "cannot create $OUT"
CONFIG=
for i in $(seq 0 $((MC - 1))); do CONFIG="$CONFIG--SERVER=127.0.0.1:$((MC_PORT + i)) "; done
CONFIG="$CONFIG--DISTRIBUTION=consistent"

mc_stats() { rlw_mc_stats "$@"; } # mc_stats PORT: "name value" lines

# Fresh servers for each run (their pid files in WORK).
start_mc() {
    local i
    for i in $(seq 0 $((MC - 1))); do
        rlw_mc_start "$WORK" $((MC_PORT + i)) -m 256 -c 4096 -t 2 || die "memcached failed"
    done
}
stop_mc() { rlw_mc_stop "$WORK"; }
trap 'stop_mc; rm -rf "$WORK"' EXIT

# Key-level commands, items, bytes over all servers, and the busiest
# server's share of the commands.
mc_summary() {
    local i
    for i in $(seq 0 $((MC - 1))); do
        mc_stats $((MC_PORT + i)) | sed "s/^/$i /"
    done | awk '
        { v[$1, $2] = $3; s[$1] = 1 }
        END {
            for (i in s) {
                c = v[i, "cmd_get"] + v[i, "cmd_set"] + v[i, "cmd_touch"] + v[i, "incr_hits"] + v[i, "incr_misses"] \
                    + v[i, "total_items"] - v[i, "cmd_set"] + v[i, "delete_hits"] + v[i, "delete_misses"]
                cmds += c; if (c > top) top = c
                gets += v[i, "cmd_get"]; sets += v[i, "cmd_set"]
                incr += v[i, "incr_hits"] + v[i, "incr_misses"] + v[i, "total_items"] - v[i, "cmd_set"]
                items += v[i, "curr_items"]; bytes += v[i, "bytes"]; conns += v[i, "total_connections"]
            }
            printf "mc_cmds=%d mc_gets=%d mc_sets=%d mc_incr=%d mc_items=%d mc_bytes=%d mc_top_share=%.2f mc_conns=%d\n",
                cmds, gets, sets, incr, items, bytes, cmds ? top / cmds : 0, conns
        }'
}

: >"$OUT/results.tsv"
run() { # run MODE NODES ARGS...
    local mode=$1 n=$2 raw
    shift 2
    raw=$OUT/raw/$mode-$n.txt
    start_mc
    "$SIM" --config "$CONFIG" --nodes "$n" --threads "$THREADS" \
        --sync-ms "$SYNC_MS" "$@" "$mode" >"$raw" 2>&1
    echo "exit $?" >>"$raw"
    echo "$(grep '^result ' "$raw" | tail -n 1 | cut -d' ' -f2-) $(mc_summary)" >>"$OUT/results.tsv"
    stop_mc
    say "$mode at $n nodes: $(grep -E '^(nodes|exact|propagation)' "$raw" | head -n 3 | tr '\n' ' ')"
}

say "$MC memcached servers, nodes: $NODES; results in $OUT"
for n in $NODES; do
    run spray "$n" --seconds "$SECONDS_RUN" --table 262144
    run botnet "$n" --seconds "$SECONDS_RUN" --clients "$BOTNET" --table 262144
    run exact "$n" --clients "$EXACT"
    [ "$n" -ge 2 ] && run propagate "$n" --repeats "$REPEATS"
done

# --- report: one table per mode from the key=value lines ---------------------
kv() { # kv LINE KEY
    echo " $1 " | grep -o " $2=[^ ]*" | head -n 1 | cut -d= -f2
}
{
    echo "# Scale: $(date -u '+%Y-%m-%d %H:%M UTC'), $MC memcached servers, sync every ${SYNC_MS} ms, $THREADS attacking thread(s) per node"
    echo
    echo "Machine: $(nproc) CPUs (nodes, memcached and the driver share them), load average $(cut -d' ' -f1-3 /proc/loadavg); memcached $(memcached -V | cut -d' ' -f2)."
    echo
    echo "| mode | nodes | attacks/s | bans | round trips/attack | cas retries | sync (us) | memcached keys touched/attack | busiest server | items | bytes | errors | ok |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    while read -r line; do
        m=$(kv "$line" mode)
        [ "$m" = propagate ] && continue
        a=$(kv "$line" attacks)
        echo "| $m | $(kv "$line" nodes) | $(kv "$line" attacks_per_s) | $(kv "$line" bans) | $(kv "$line" ops_per_attack) | $(kv "$line" cas_retries) | $(kv "$line" sync_us) | $(awk -v c="$(kv "$line" mc_cmds)" -v a="$a" 'BEGIN { printf "%.2f", a ? c / a : 0 }') | $(kv "$line" mc_top_share) | $(kv "$line" mc_items) | $(kv "$line" mc_bytes) | $(kv "$line" errors) | $(kv "$line" ok) |"
    done <"$OUT/results.tsv"
    echo
    echo "exact (K = T for half the clients, T-1 for a quarter, 2T for a quarter, spread over the nodes):"
    echo
    echo "| nodes | clients | banned once (of K >= T) | double bans | false bans (K = T-1) | ban count == T (K = T) | not learnt after sync |"
    echo "|---:|---:|---:|---:|---:|---:|---:|"
    grep -E '(^| )mode=exact ' "$OUT/results.tsv" | while read -r line; do
        echo "| $(kv "$line" nodes) | $EXACT | $(kv "$line" bans) | $(kv "$line" double_bans) | $(kv "$line" false_bans) | $(kv "$line" count_eq_t) | $(kv "$line" unknown_bans) |"
    done
    echo
    echo "propagate (node 0 bans; the time until each other node's banned() is true, after its sync):"
    echo
    echo "| nodes | node-bans | mean ms | p50 ms | p95 ms | max ms | missing | sync (us) |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
    grep -E '(^| )mode=propagate ' "$OUT/results.tsv" | while read -r line; do
        echo "| $(kv "$line" nodes) | $(kv "$line" prop_n) | $(kv "$line" prop_mean_ms) | $(kv "$line" prop_p50_ms) | $(kv "$line" prop_p95_ms) | $(kv "$line" prop_max_ms) | $(kv "$line" prop_missing) | $(kv "$line" sync_us) |"
    done
} >"$OUT/report.md"
cat "$OUT/report.md"
ln -sfn "$(basename "$OUT")" "$(dirname "$OUT")/scale-latest" 2>/dev/null
grep -q ' ok=0' "$OUT/results.tsv" && exit 1
exit 0
