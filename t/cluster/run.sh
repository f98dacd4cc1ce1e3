#!/bin/bash
# t/cluster/run.sh - the cluster tests (make cluster-test; "cluster" suite of
# t/run-all.sh).
#
# Usage: bash t/cluster/run.sh [t/cluster/03_propagation.t ...]
#   RLW_KEEP=1   keep the temporary tree (ServerRoots, logs) even on success
#   RLW_MPM=...  the nodes' MPM (default event)
#   RLW_PROVE_ARGS=-v  more prove options
#   RLW_MODULE_SO, RLW_HTTPD, RLW_CTL  another build of the module, an
#                httpd command, another rlwafctl (make test-asan)
#
# Each t/cluster/*.t starts what it needs and stops it at the end: its own
# memcached servers (memcached -u nobody, 127.0.0.1, ports 11700-11799) and
# two or three private httpd nodes (RLW::Httpd: ModSecurity + CRS, the two
# ModSecurity snippets of conf/, mod_remoteip trusting X-Forwarded-For from
# 127.0.0.1, and the module with RateLimitWAFStore memcached; ports
# 18900-18999). Nothing is started globally. Runs as root: the nodes' workers
# drop to nobody (RLW::Httpd) and memcached runs as nobody; the cluster
# secret stays a root-only 0600 file, read by httpd's parent at start-up.
#
# Everything lives in one temporary directory; anything a killed test left
# running is stopped by pid on exit. On failure the tree is kept and its
# path printed. Ends with prove's summary; exits non-zero on failure.
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
so=${RLW_MODULE_SO:-$top/mod_ratelimit_waf/.libs/mod_ratelimit_waf.so}

if [ "$(id -u)" != 0 ]; then
    echo "cluster: run as root (memcached -u nobody, httpd workers as nobody)" >&2
    exit 2
fi
for tool in memcached prove /usr/sbin/apache2; do
    command -v "$tool" >/dev/null || { echo "cluster: $tool is not installed" >&2; exit 2; }
done
if [ ! -f "$so" ]; then
    echo "cluster: $so is not built (make build)" >&2
    exit 2
fi
if [ -z "${RLW_CTL:-}" ] && [ ! -x "$top/tools/rlwafctl" ]; then
    make -C "$top" cli >/dev/null 2>&1 ||
        echo "cluster: tools/rlwafctl is not built; the tests that use it skip" >&2
fi

tmp=$(mktemp -d /tmp/rlw-cluster.XXXXXX)
chmod 755 "$tmp"

cleanup() {
    local f pid
    # Nodes, memcached servers and relays (RLW::SlowProxy) a test could
    # not stop itself.
    for f in "$tmp"/*/run/httpd.pid "$tmp"/memcached-*.pid "$tmp"/proxy-*.pid; do
        [ -f "$f" ] || continue
        pid=$(cat "$f" 2>/dev/null)
        [ -n "$pid" ] && kill "$pid" 2>/dev/null
    done
    if [ -n "${RLW_KEEP:-}" ] || [ "${status:-1}" != 0 ]; then
        echo "cluster: kept $tmp (ServerRoots and their logs)"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The tests are read by root; what the nodes' workers (nobody) read lives
# in their ServerRoots, which RLW::Cluster opens up.
chmod -R a+rX "$top/t/cluster" "$top/t/lib" "$top/conf" 2>/dev/null

if [ $# -gt 0 ]; then
    tests=("$@")
else
    tests=("$top"/t/cluster/*.t)
fi

RLW_TMPDIR="$tmp" RLW_KEEP=1 RLW_MODULE_SO="$so" \
RLW_PORTS=18900-18999 RLW_MC_PORTS=11700-11799 \
    prove ${RLW_PROVE_ARGS:-} -I "$top/t/lib" "${tests[@]}"
status=$?
exit $status
