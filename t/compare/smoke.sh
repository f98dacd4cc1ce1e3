#!/bin/bash
# t/compare/smoke.sh - a smoke test of bench/compare.sh (not in make test:
# it needs the peers of tools/install-deps.sh --compare): a QUICK run of
# three contenders, then checks that the table says what they must.
#   ModSecurity + CRS alone never bans; this module's shm store bans after
#   exactly THRESHOLD attacks, also when they come in parallel, and refuses
#   the banned address's clean requests; mod_evasive counts clean requests
#   (a clean client alone gets refused).
# Usage (as root): bash t/compare/smoke.sh     Exit 0: ok, 1: failed.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp -d /tmp/rlw-compare-smoke.XXXXXX)
trap 'rm -rf "$out"' EXIT
QUICK=1 THRESHOLD=20 ONLY="modsec evasive rlw-shm" OUT="$out" ROOT=/tmp/rlw-compare-smoke \
    bash "$top/bench/compare.sh" >"$out/log" 2>&1 \
    || { cat "$out/log"; echo "compare smoke: bench/compare.sh failed"; exit 1; }
row() { grep -F "| $1 |" "$out/table.md"; }
fail=0
check() { # check DESCRIPTION ROW-TEXT PATTERN
    if [[ $2 =~ $3 ]]; then echo "ok - $1"; else echo "not ok - $1: $2"; fail=1; fi
}
check "ModSecurity alone never bans" "$(row 'ModSecurity + CRS alone')" '\| 80 \(never banned\) \|'
check "module: 20 attacks, one connection" "$(row 'mod_ratelimit_waf, shm store')" '^\| [^|]+ \| 20 \| 20: exact \|'
check "module: banned address refused" "$(row 'mod_ratelimit_waf, shm store')" '\| 404 ×3 \| 200 ×100 \|$'
check "mod_evasive refuses a clean client" "$(row 'mod_evasive (+ ModSecurity + CRS)')" '\| 200 ×20, 404 ×80 \|$'
[ $fail = 0 ] || { cat "$out/table.md"; exit 1; }
