#!/bin/bash
# t/monitoring/test_monitoring.sh - the shipped Prometheus rules and Grafana
# dashboard (monitoring/) against the real module (make monitoring-test).
#
# 1. promtool check rules, and promtool test rules with
#    t/monitoring/ratelimit-waf.rules.test.yml (alerts that fire, and ones
#    that must not).
# 2. Three private httpd nodes with ModSecurity + CRS and the status page:
#    one with RateLimitWAFStore shm, one with RateLimitWAFStore memcached on
#    a private memcached (the store-only metrics), one with the module
#    loaded but not On. An XSS burst bans a client on the shm node; each
#    node's ?prometheus answer is scraped and linted (promtool check
#    metrics).
# 3. t/monitoring/check_monitoring.py: every name in every expression of
#    the rules and the dashboard (panels and variables) is one the scrapes
#    show; the dashboard parses and uses its datasource variable; each
#    alert has a severity, a summary, a description and a runbook link to
#    a heading of docs/monitoring.md; docs/status.md lists exactly the
#    exported metrics and their labels. The dashboard's expressions pass
#    promtool check rules too. Copies with a misspelled metric name must
#    fail it.
# 4. A real Prometheus (Debian's prometheus package) scrapes the nodes with
#    monitoring/prometheus/ratelimit-waf.scrape.yml and evaluates the rules:
#    every target up, every rule healthy, every dashboard query answers
#    with data, RateLimitWAFDisabled pending for the node that is not On and
#    no other alert; then memcached is stopped (RateLimitWAFStoreDegraded
#    goes pending) and the memcached node is stopped (RateLimitWAFNodeDown
#    goes pending for it only).
#
# Usage (as root): bash t/monitoring/test_monitoring.sh
#   RLW_MONITORING_DIR=DIR  check DIR's prometheus/ and grafana/ files
#                           instead of monitoring/ (to see the test fail)
#   RLW_KEEP=1              keep the temporary directory
# Ports: httpd and Prometheus in 8960-8989, memcached in 11960-11969 (the
# first free ones). Prints "N passed, M failed" last; exits non-zero on any
# failure, 2 when something it needs is missing.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../tools/lib/rlw-sh.sh
. "$top/tools/lib/rlw-sh.sh"
so="$top/mod_ratelimit_waf/.libs/mod_ratelimit_waf.so"
mon=${RLW_MONITORING_DIR:-$top/monitoring}
mon=$(cd "$mon" && pwd) || exit 2
rules="$mon/prometheus/ratelimit-waf.rules.yml"
scrape_cfg="$mon/prometheus/ratelimit-waf.scrape.yml"
dash="$mon/grafana/ratelimit-waf.json"
unit="$top/t/monitoring/ratelimit-waf.rules.test.yml"
checker=(python3 "$top/t/monitoring/check_monitoring.py")
docs="$top/docs/monitoring.md"

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }
# check "description" command...: ok when the command succeeds; its output
# is shown when it fails.
check() {
    local what=$1 out
    shift
    if out=$("$@" 2>&1); then ok "$what"; else not_ok "$what"; sed 's/^/    /' <<<"$out"; fi
}
# fails "description" PATTERN command...: ok when the command fails and
# its output matches PATTERN (grep -E), which is shown.
fails() {
    local what=$1 pattern=$2 out
    shift 2
    if out=$("$@" 2>&1); then
        not_ok "$what (it passed)"
    elif grep -qE "$pattern" <<<"$out"; then
        ok "$what"
        grep -E "$pattern" <<<"$out" | head -3 | sed 's/^/    # /'
    else
        not_ok "$what (not for the expected reason)"
        sed 's/^/    /' <<<"$out"
    fi
}

for tool in promtool prometheus curl python3 memcached; do
    command -v $tool >/dev/null || {
        echo "test_monitoring: $tool is not installed (make deps: Debian packages prometheus, curl, python3-yaml, memcached)" >&2
        exit 2
    }
done
python3 -c 'import yaml' 2>/dev/null || { echo "test_monitoring: python3-yaml is not installed" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "test_monitoring: run as root (httpd drops to www-data, memcached to nobody)" >&2; exit 2; }
[ -f "$so" ] || { echo "test_monitoring: $so is not built (make build)" >&2; exit 2; }
for f in "$rules" "$scrape_cfg" "$dash" "$unit" "$docs"; do
    [ -f "$f" ] || { echo "test_monitoring: $f is missing" >&2; exit 2; }
done

port_busy() { ss -Hltn "sport = :$1" | grep -q .; }
# free_port FROM TO [TAKEN...]: the first port of FROM..TO nothing listens on
free_port() {
    local p from=$1 to=$2
    shift 2
    for p in $(seq "$from" "$to"); do
        case " $* " in *" $p "*) continue ;; esac
        port_busy "$p" || { echo "$p"; return 0; }
    done
    return 1
}

W=$(mktemp -d /tmp/rlw-monitoring.XXXXXX)
chmod 755 "$W"
prom_pid=
cleanup() {
    [ -n "$prom_pid" ] && kill "$prom_pid" 2>/dev/null && wait "$prom_pid" 2>/dev/null
    rlw_httpd_stop "$W/shm/run/httpd.pid" 5
    rlw_httpd_stop "$W/mc/run/httpd.pid" 5
    rlw_httpd_stop "$W/off/run/httpd.pid" 5
    rlw_mc_stop "$W"
    if [ -n "${RLW_KEEP:-}" ]; then echo "test_monitoring: kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "# checking $mon"
echo "# 1. promtool"
check "promtool check rules $(basename "$rules")" promtool check rules "$rules"
# The unit tests name the rules file relative to themselves: point them at
# the one under test.
sed "s|^  - .*ratelimit-waf.rules.yml\$|  - $rules|" "$unit" > "$W/rules.test.yml"
check "promtool test rules $(basename "$unit")" promtool test rules "$W/rules.test.yml"
check "  the unit tests cover firing and silent alerts" \
    python3 -c 'import sys, yaml
t = yaml.safe_load(open(sys.argv[1]))
cases = [c for test in t["tests"] for c in test.get("alert_rule_test", [])]
fire = {c["alertname"] for c in cases if c.get("exp_alerts")}
quiet = {c["alertname"] for c in cases if not c.get("exp_alerts")}
sys.exit(0 if len(fire) >= 2 and len(quiet) >= 1 else 1)' "$unit"

echo "# 2. three real nodes, scraped"
p_shm=$(free_port 8960 8989) || { echo "test_monitoring: no free port in 8960-8989" >&2; exit 2; }
p_mc=$(free_port 8960 8989 "$p_shm") || { echo "test_monitoring: no free port in 8960-8989" >&2; exit 2; }
p_off=$(free_port 8960 8989 "$p_shm" "$p_mc") || { echo "test_monitoring: no free port in 8960-8989" >&2; exit 2; }
p_prom=$(free_port 8960 8989 "$p_shm" "$p_mc" "$p_off") || { echo "test_monitoring: no free port in 8960-8989" >&2; exit 2; }
p_memc=$(free_port 11960 11969) || { echo "test_monitoring: no free port in 11960-11969" >&2; exit 2; }
rlw_mc_start "$W" "$p_memc" -m 16 || exit 2
head -c 48 /dev/urandom | base64 -w0 > "$W/cluster.key"

# node NAME PORT STORE-LINE...: a private httpd with ModSecurity + CRS and
# the status page at /ratelimit-waf, as the docs set it up.
node() {
    local name=$1 port=$2 root="$W/$1"
    shift 2
    mkdir -p "$root"/{conf,logs,run,htdocs,data,tmp}
    echo '<html><body>hello</body></html>' > "$root/htdocs/index.html"
    chown www-data:www-data "$root/data" "$root/tmp"
    [ -f "$W/cluster.key" ] && install -m 0640 -g www-data "$W/cluster.key" "$root/conf/cluster.key"
    chmod -R a+rX "$root/htdocs"
    rlw_conf --generated-by t/monitoring/test_monitoring.sh \
        --root "$root" --listen "$port" --user www-data --group www-data \
        --loglevel 'warn ratelimit_waf:info' --module --load authz_host \
        --modsec --conf-dir "$top/conf" \
        --directive-file /dev/stdin > "$root/conf/httpd.conf" <<EOF || return 1
RateLimitWAFThreshold 3
RateLimitWAFWindow 2m
RateLimitWAFBanTime 10m
RateLimitWAFNodeName mon-$name
$*
<Location "/ratelimit-waf">
    SetHandler ratelimit-waf-status
    Require ip 127.0.0.1
</Location>
EOF
    /usr/sbin/apache2 -d "$root" -f "$root/conf/httpd.conf" -k start 2> "$W/$name.start.err" || {
        cat "$W/$name.start.err" "$root/logs/error_log" >&2 2>/dev/null
        return 1
    }
    for _ in $(seq 100); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/")" = 200 ] && return 0
        sleep 0.1
    done
    return 1
}
before=$failed
check "httpd node mon-shm (RateLimitWAFStore shm) on port $p_shm" \
    node shm "$p_shm" 'RateLimitWAF On
RateLimitWAFStore shm'
check "httpd node mon-mc (RateLimitWAFStore memcached, memcached on $p_memc) on port $p_mc" \
    node mc "$p_mc" "RateLimitWAF On
RateLimitWAFStore memcached \"--SERVER=127.0.0.1:$p_memc\"
RateLimitWAFSecretFile conf/cluster.key
RateLimitWAFSyncInterval 250ms"
check "httpd node mon-off (the module loaded, RateLimitWAF not On) on port $p_off" \
    node off "$p_off" ''
if [ "$failed" -gt "$before" ]; then
    echo "$passed passed, $failed failed (the rest needs the nodes)"
    exit 1
fi

# An XSS burst from 203.0.113.9 bans it on the shm node, one attack on the
# memcached node: the counters are not all zero.
for i in 1 2 3 4; do
    curl -s -o /dev/null -H 'X-Forwarded-For: 203.0.113.9' \
        "http://127.0.0.1:$p_shm/?q=%3Cscript%3Ealert($i)%3C%2Fscript%3E"
done
curl -s -o /dev/null -H 'X-Forwarded-For: 203.0.113.10' \
    "http://127.0.0.1:$p_mc/?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E"
for n in shm mc off; do
    eval "port=\$p_$n"
    curl -s -o "$W/$n.prom" -w '%{http_code}' "http://127.0.0.1:$port/ratelimit-waf?prometheus" > "$W/$n.code"
    check "  ?prometheus of mon-$n answers 200" [ "$(cat "$W/$n.code")" = 200 ]
    check "  promtool check metrics: no lint problem in mon-$n's scrape" \
        bash -c 'promtool check metrics < "$1"' _ "$W/$n.prom"
done
check "  the shm node banned the attacker (ratelimit_waf_active_bans 1)" \
    grep -qx 'ratelimit_waf_active_bans{node="mon-shm"} 1' "$W/shm.prom"
check "  the memcached node exports the store-only metrics" \
    grep -q '^ratelimit_waf_store_journal_position{node="mon-mc"}' "$W/mc.prom"
check "  the node without RateLimitWAF On says enabled 0, table capacity 0" \
    bash -c 'grep -qx "ratelimit_waf_enabled{node=\"mon-off\"} 0" "$1" &&
             grep -qx "ratelimit_waf_table_capacity{node=\"mon-off\"} 0" "$1"' _ "$W/off.prom"
echo "# metrics exported: $(cat "$W/shm.prom" "$W/mc.prom" | sed -n 's/^# TYPE \([^ ]*\) .*/\1/p' | sort -u | tr '\n' ' ')"

echo "# 3. every name in every expression"
check "check_monitoring.py: rules and dashboard name only exported metrics and labels" \
    "${checker[@]}" --scrape "$W/shm.prom" --scrape "$W/mc.prom" --scrape "$W/off.prom" --rules "$rules" \
    --dashboard "$dash" --docs "$docs" --emit-rules "$W/dashboard.rules.yml"
check "  docs/status.md's metrics table lists exactly the exported metrics and labels" \
    "${checker[@]}" --scrape "$W/shm.prom" --scrape "$W/mc.prom" --scrape "$W/off.prom" \
    --metric-doc "$top/docs/status.md"
"${checker[@]}" --scrape "$W/shm.prom" --scrape "$W/mc.prom" --scrape "$W/off.prom" --rules "$rules" \
    --dashboard "$dash" --docs "$docs" 2>&1 | sed -n 's/^\([0-9]* expressions.*\)/# \1/p'
check "promtool check rules: the dashboard's expressions parse" \
    promtool check rules "$W/dashboard.rules.yml"
# The checker must fail on what it is for: a misspelled metric in a copy.
sed 's/ratelimit_waf_store_degraded/ratelimit_waf_store_degarded/' "$rules" > "$W/bad.rules.yml"
sed 's/ratelimit_waf_rejected_total/ratelimit_waf_rejects_total/' "$dash" > "$W/bad.json"
fails "  a rules copy with ratelimit_waf_store_degarded fails it" \
    'RateLimitWAFStoreDegraded: metric ratelimit_waf_store_degarded is not exported' \
    "${checker[@]}" --scrape "$W/shm.prom" --scrape "$W/mc.prom" --scrape "$W/off.prom" --rules "$W/bad.rules.yml" \
    --dashboard "$dash" --docs "$docs"
fails "  a dashboard copy with ratelimit_waf_rejects_total fails it" \
    'metric ratelimit_waf_rejects_total is not exported' \
    "${checker[@]}" --scrape "$W/shm.prom" --scrape "$W/mc.prom" --scrape "$W/off.prom" --rules "$rules" \
    --dashboard "$W/bad.json" --docs "$docs"
fails "  the memcached-only metrics are missing from the shm scrape alone" \
    'metric ratelimit_waf_store_(journal_position|bad_records_total) is not exported' \
    "${checker[@]}" --scrape "$W/shm.prom" --scrape "$W/off.prom" --rules "$rules" --dashboard "$dash" --docs "$docs"

echo "# 4. a real Prometheus scraping the nodes and evaluating the rules"
# The shipped scrape job with this test's targets and a 1 s interval.
python3 - "$scrape_cfg" "$rules" "$p_shm" "$p_mc" "$p_off" > "$W/prometheus.yml" <<'EOF' || exit 2
import sys, yaml
cfg = yaml.safe_load(open(sys.argv[1]))
job = cfg["scrape_configs"][0]
job["static_configs"] = [{"targets": ["127.0.0.1:" + p for p in sys.argv[3:6]]}]
cfg["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
cfg["rule_files"] = [sys.argv[2]]
yaml.safe_dump(cfg, sys.stdout)
EOF
prometheus --config.file="$W/prometheus.yml" --storage.tsdb.path="$W/tsdb" \
    --web.listen-address="127.0.0.1:$p_prom" > "$W/prometheus.log" 2>&1 &
prom_pid=$!
api="http://127.0.0.1:$p_prom/api/v1"
# until SECONDS PYTHON-CONDITION URL: polls URL until the condition on its
# JSON answer (j) holds
until_json() {
    local secs=$1 cond=$2 url=$3
    for _ in $(seq $((secs * 4))); do
        curl -s "$url" | python3 -c 'import json,sys
try: j = json.load(sys.stdin)
except ValueError: sys.exit(1)
sys.exit(0 if eval(sys.argv[1]) else 1)' "$cond" 2>/dev/null && return 0
        sleep 0.25
    done
    echo "after ${secs}s: $(curl -s "$url" | head -c 1500)"
    return 1
}
check "Prometheus (port $p_prom) scrapes the three nodes with the shipped job: up" \
    until_json 60 'sorted(t["labels"]["instance"] for t in j["data"]["activeTargets"] if t["health"] == "up" and t["labels"]["job"] == "ratelimit_waf") == sorted(["127.0.0.1:'"$p_shm"'", "127.0.0.1:'"$p_mc"'", "127.0.0.1:'"$p_off"'"])' "$api/targets"
check "  every rule loaded, evaluated and healthy" \
    until_json 30 'len([r for g in j["data"]["groups"] for r in g["rules"]]) > 0 and all(r["health"] == "ok" and not r["lastEvaluation"].startswith("0001") for g in j["data"]["groups"] for r in g["rules"])' "$api/rules"
# Every dashboard query (Grafana's variables filled in) answers with data
# once rate() has two samples.
sleep 3
check "  every dashboard query answers with data" \
    python3 - "$W/dashboard.rules.yml" "$api" <<'EOF'
import json, sys, urllib.parse, urllib.request, yaml
bad = 0
for r in yaml.safe_load(open(sys.argv[1]))["groups"][0]["rules"]:
    url = sys.argv[2] + "/query?" + urllib.parse.urlencode({"query": r["expr"]})
    j = json.load(urllib.request.urlopen(url))
    if j["status"] != "success" or not j["data"]["result"]:
        print("%s: no data: %s" % (r["record"], r["expr"]))
        bad += 1
sys.exit(1 if bad else 0)
EOF
check "  Prometheus sees the ban (ratelimit_waf_active_bans{node=\"mon-shm\"} 1)" \
    until_json 10 'j["data"]["result"] and j["data"]["result"][0]["value"][1] == "1"' \
    "$api/query?query=ratelimit_waf_active_bans%7Bnode%3D%22mon-shm%22%7D"
check "  RateLimitWAFDisabled pending for mon-off, and no other alert (no table-filling for its capacity 0)" \
    until_json 10 '[(a["labels"]["alertname"], a["labels"].get("node")) for a in j["data"]["alerts"]] == [("RateLimitWAFDisabled", "mon-off")]' "$api/alerts"
rlw_mc_stop "$W"
curl -s -o /dev/null -H 'X-Forwarded-For: 203.0.113.11' \
    "http://127.0.0.1:$p_mc/?q=%3Cscript%3Ealert(2)%3C%2Fscript%3E"
check "memcached stopped: RateLimitWAFStoreDegraded pending for mon-mc" \
    until_json 30 'any(a["labels"]["alertname"] == "RateLimitWAFStoreDegraded" and a["labels"]["node"] == "mon-mc" and a["labels"]["store"] == "memcached" and a["state"] in ("pending", "firing") for a in j["data"]["alerts"])' "$api/alerts"
rlw_httpd_stop "$W/mc/run/httpd.pid" 10
check "node mon-mc stopped: RateLimitWAFNodeDown pending for 127.0.0.1:$p_mc" \
    until_json 30 'any(a["labels"]["alertname"] == "RateLimitWAFNodeDown" and a["labels"]["instance"] == "127.0.0.1:'"$p_mc"'" and a["state"] in ("pending", "firing") for a in j["data"]["alerts"])' "$api/alerts"
check "  and not for mon-shm, which still answers" \
    until_json 5 'not any(a["labels"]["alertname"] == "RateLimitWAFNodeDown" and a["labels"]["instance"] == "127.0.0.1:'"$p_shm"'" for a in j["data"]["alerts"])' "$api/alerts"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
