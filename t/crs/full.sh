#!/bin/bash
# t/crs/full.sh - make crs-corpus: both CRS regression corpora, whole,
# against every engine, then the agreement of the engines per corpus.
#
# Results in build/crs/CRS-ENGINE/ (results.tsv, summary.json) and
# build/crs/summary.md: the lines docs/crs-corpus.md quotes. An engine
# httpd refuses (modsecurity3 before the module has it) is reported as not
# available, its tests skipped, and there is nothing to compare; that is
# not a failure of this target. Exit status: non-zero when a run could not
# be set up (e.g. the corpora are missing).
# Ports: RLW_CRS_PORT (8970) and the next three.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
port=${RLW_CRS_PORT:-8970}
out=build/crs
mkdir -p "$out"
sum="$out/summary.md"
rc=0
{
    echo "# CRS regression corpora, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "Command: make crs-corpus (t/crs/full.sh)."
    echo
} >"$sum"
for crs in 3.3.4 4.28.0; do
    for engine in modsecurity2 modsecurity3; do
        echo "=== crs $crs, engine $engine"
        python3 t/crs/crs_corpus.py run --crs "$crs" --engine "$engine" \
            --port "$port" --out "$out/$crs-$engine" | tee "$out/$crs-$engine.log"
        [ "${PIPESTATUS[0]}" -eq 0 ] || rc=1
        port=$((port + 1))
        printf '    %s\n' "$(tail -n 1 "$out/$crs-$engine.log")" >>"$sum"
    done
    a="$out/$crs-modsecurity2/summary.json"
    b="$out/$crs-modsecurity3/summary.json"
    if grep -q '"not_run": null' "$a" 2>/dev/null &&
        grep -q '"not_run": null' "$b" 2>/dev/null; then
        python3 t/crs/crs_corpus.py compare \
            "$out/$crs-modsecurity2/results.tsv" \
            "$out/$crs-modsecurity3/results.tsv" \
            | tee "$out/$crs-compare.log"
        printf '    crs %s %s\n' "$crs" "$(tail -n 1 "$out/$crs-compare.log")" >>"$sum"
    else
        echo "crs $crs: no comparison, an engine did not run"
        printf '    crs %s: no comparison, an engine did not run\n' "$crs" >>"$sum"
    fi
done
echo
cat "$sum"
exit $rc
