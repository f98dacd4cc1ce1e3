#!/bin/bash
# t/fuzz/run.sh - runs libFuzzer targets for a while each (make fuzz).
#
# Usage: bash t/fuzz/run.sh SECONDS target...   (targets built by make
# fuzz-build as build/fuzz/fuzz_<target>)
#
# Each target runs alone (one core), from its seeds in t/fuzz/corpus/<target>
# (read only) and its working corpus build/fuzz/corpus/<target> (what
# earlier runs found; kept between runs, removed by make clean). Prints one
# line per target: executions, executions per second, coverage (edges cov,
# features ft) and corpus size. A crash, leak, sanitizer report or broken
# promise stops that target; its input is saved as
# build/fuzz/crashes/<target>-crash-<sha1> and the script exits non-zero
# once every target ran. Reproduce with build/fuzz/fuzz_<target> <file>.
#   FUZZ_ARGS="-jobs=..."  more libFuzzer options
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
secs=${1:?usage: run.sh SECONDS target...}
shift
[ $# -gt 0 ] || { echo "fuzz: no targets" >&2; exit 2; }

out=build/fuzz
mkdir -p "$out/crashes" "$out/logs"
failed=""
declare -a lines

for t in "$@"; do
    bin="$out/fuzz_$t"
    seeds="t/fuzz/corpus/$t"
    work="$out/corpus/$t"
    log="$out/logs/$t.log"
    if [ ! -x "$bin" ]; then
        echo "fuzz: $bin is not built (make fuzz-build)" >&2
        failed="$failed $t"
        continue
    fi
    mkdir -p "$work" "$seeds"
    echo "=== fuzz $t: ${secs}s"
    # detect_leaks: every target frees what it takes, so a leak is a bug.
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        "$bin" -max_total_time="$secs" -max_len=4096 -timeout=10 \
        -rss_limit_mb=1024 -print_final_stats=1 \
        -artifact_prefix="$out/crashes/$t-" ${FUZZ_ARGS:-} \
        "$work" "$seeds" > "$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
    cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -1)
    line="fuzz $t: ${runs:-?} runs in ${secs}s (${rate:-?}/s), ${cov:-no coverage line}"
    if [ "$rc" != 0 ]; then
        line="$line: FAILED (exit $rc, log $log)"
        failed="$failed $t"
        grep -E 'ERROR|runtime error|broken promise|SUMMARY|Test unit written' \
            "$log" | head -20
    fi
    echo "$line"
    lines+=("$line")
done

echo
echo "=== fuzz summary"
printf '%s\n' "${lines[@]}"
if [ -n "$failed" ]; then
    echo "fuzz: failed:$failed (inputs in $out/crashes/)"
    exit 1
fi
exit 0
