#!/bin/bash
# t/run-apache-tests.sh - runs the Apache::Test suite (make itest).
#
# Usage: bash t/run-apache-tests.sh [t/01_threshold.t ...]
#   RLW_MPMS="event prefork"  MPMs to run the whole suite under, in turn
#   RLW_PORT=8529             Apache::Test's first port (vhosts follow it)
#   RLW_PORTS=18000-18999     port range of the tests' private servers
#   RLW_KEEP=1                keep the temporary tree
#   RLW_NO_MODULE=1           run without the module (checks the ModSecurity
#                             setup; tests that need the module skip)
#   RLW_MODULE_SO=...         test another build of the module (make test-asan)
#   RLW_HTTPD=...             start httpd with this command instead of
#                             /usr/sbin/apache2 (make test-asan's wrapper)
#   RLW_ENGINE=modsecurity3   the WAF of the Apache::Test server and of the
#                             private servers: the module's embedded
#                             libmodsecurity instead of mod_security2
#   RLW_CRS=4                 the CRS of those servers: the CRS 4 copy
#                             (RLW_CRS4_DIR, else ../shared/crs/v4.28.0) with
#                             the module's CRS 4 plugin instead of Debian's
#                             CRS 3.3; without the copy the run says so and
#                             skips (exit 0; RLW_CRS_REQUIRED=1: exit 1)
#
# Why the copy: Apache::Test refuses to run as root, and the servers it and
# the tests start drop to (or run as) "nobody". So the tree the tests need
# (t/, conf/ and the built module) is copied to a temporary directory owned
# by nobody, and the suite runs there as nobody, once per MPM: each run
# inherits a minimal generated httpd config (-httpd_conf) that loads that
# MPM, so the result does not depend on what /etc/apache2 enables. The logs
# of each run (Apache::Test's and the private servers') are copied back to
# t/logs/<mpm>/ for inspection. Exits non-zero when any run failed.
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
so=${RLW_MODULE_SO:-$top/mod_ratelimit_waf/.libs/mod_ratelimit_waf.so}
mpms=${RLW_MPMS:-event prefork}
port=${RLW_PORT:-8529}
moddir=/usr/lib/apache2/modules
apxs=$(command -v apxs || echo /usr/bin/apxs)

# Only the top-level t/*.t belong to this suite: t/cluster/ and the others
# are suites of their own (t/run-all.sh), and Apache::Test would otherwise
# collect every .t below t/.
if [ $# -eq 0 ]; then
    set -- $(cd "$top" && ls t/*.t)
fi

if [ ! -f "$so" ]; then
    echo "run-apache-tests: $so is not built; tests needing it will skip" >&2
fi

# The CRS 4 copy: for RLW_CRS=4, and for the tests of the CRS 4 plugin
# (which skip without it) whatever the CRS.
crs4=
for d in ${RLW_CRS4_DIR:-} "$top/../shared/crs/v4.28.0" \
    "$top/../../shared/crs/v4.28.0"; do
    if [ -z "$crs4" ] && [ -f "$d/crs-setup.conf.example" ]; then
        crs4=$(cd "$d" && pwd)
    fi
done
if [ "${RLW_CRS:-3}" = 4 ]; then
    if [ -z "$crs4" ]; then
        echo "SKIP: RLW_CRS=4 but no CRS 4 copy (../shared/crs/v4.28.0 or" \
            "RLW_CRS4_DIR): the integration tests did not run under CRS 4"
        [ "${RLW_CRS_REQUIRED:-0}" = 1 ] && exit 1
        exit 0
    fi
    echo "run-apache-tests: CRS 4 from $crs4 with conf/crs4-plugin"
fi

tmp=$(mktemp -d /tmp/rlw-itest.XXXXXX)
chmod 755 "$tmp"

# Stops, by pid, servers left behind by an interrupted run.
cleanup() {
    local pidfile pid
    for pidfile in "$tmp"/*/t/logs/httpd.pid "$tmp"/*/t/logs/private/*/run/httpd.pid; do
        [ -f "$pidfile" ] || continue
        pid=$(cat "$pidfile" 2>/dev/null)
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null
        fi
    done
    if [ -z "${RLW_KEEP:-}" ]; then
        rm -rf "$tmp"
    else
        echo "run-apache-tests: kept $tmp"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The source tree, without what earlier runs generated (and the directive
# reference, which t/23_config_errors.t checks against the module).
mkdir -p "$tmp/src/mod_ratelimit_waf/.libs"
tar -C "$top" -cf - \
    --exclude='t/logs' --exclude='t/TEST' --exclude='t/unit' \
    --exclude='t/conf/apache_test_config.pm' --exclude='t/conf/*.conf' \
    --exclude='t/htdocs/index.html' \
    t conf docs/directives.md | tar -C "$tmp/src" -xf -
if [ -f "$so" ] && [ -z "${RLW_NO_MODULE:-}" ]; then
    install -m 0644 "$so" "$tmp/src/mod_ratelimit_waf/.libs/"
fi

# Another httpd command (a wrapper that preloads the sanitizer runtimes)
# for Apache::Test's server and the tests' private ones alike.
httpd_opt=()
httpd_env=()
defines=
if [ "${RLW_ENGINE:-modsecurity2}" = modsecurity3 ]; then
    defines="$defines RLW_MSC3"
    httpd_env+=(RLW_ENGINE=modsecurity3)
fi
# The private servers' port range (RLW::Httpd), when the caller sets one.
if [ -n "${RLW_PORTS:-}" ]; then
    httpd_env+=(RLW_PORTS="$RLW_PORTS")
fi
[ -n "$crs4" ] && httpd_env+=(RLW_CRS4_DIR="$crs4")
if [ "${RLW_CRS:-3}" = 4 ]; then
    defines="$defines RLW_CRS4"
    httpd_env+=(RLW_CRS=4)
fi
[ -n "$defines" ] && httpd_opt+=(-defines "${defines# }")
if [ -n "${RLW_HTTPD:-}" ]; then
    httpd_opt+=(-httpd "$RLW_HTTPD")
    httpd_env+=(RLW_HTTPD="$RLW_HTTPD")
fi

run_user=()
if [ "$(id -u)" = 0 ]; then
    run_user=(runuser -u nobody --)
fi

declare -A summary result
status=0
for mpm in $mpms; do
    if [ ! -f "$moddir/mod_mpm_$mpm.so" ]; then
        echo "run-apache-tests: no $moddir/mod_mpm_$mpm.so" >&2
        status=1
        continue
    fi
    w="$tmp/$mpm"
    cp -a "$tmp/src" "$w"
    mkdir -p "$w/t/logs/private"
    # The config Apache::Test inherits LoadModule lines from.
    cat > "$w/inherit.conf" <<EOF
# Generated by t/run-apache-tests.sh: modules for the $mpm run.
LoadModule mpm_${mpm}_module $moddir/mod_mpm_${mpm}.so
LoadModule authz_core_module $moddir/mod_authz_core.so
LoadModule authz_host_module $moddir/mod_authz_host.so
LoadModule mime_module $moddir/mod_mime.so
LoadModule dir_module $moddir/mod_dir.so
LoadModule alias_module $moddir/mod_alias.so
LoadModule env_module $moddir/mod_env.so
LoadModule setenvif_module $moddir/mod_setenvif.so
LoadModule unique_id_module $moddir/mod_unique_id.so
LoadModule remoteip_module $moddir/mod_remoteip.so
LoadModule security2_module $moddir/mod_security2.so
EOF
    if [ "$(id -u)" = 0 ]; then
        chown -R nobody:nogroup "$w"
    fi

    echo "=== mod_ratelimit_waf integration tests, MPM $mpm ==="
    out="$w/run.out"
    (
        cd "$w" &&
        "${run_user[@]}" env \
            RLW_MODULE_SO="$w/mod_ratelimit_waf/.libs/mod_ratelimit_waf.so" \
            RLW_CONF_DIR="$w/conf" \
            RLW_MPM="$mpm" \
            RLW_TMPDIR="$w/t/logs/private" \
            RLW_KEEP=1 \
            "${httpd_env[@]}" \
            APACHE_TEST_STARTUP_TIMEOUT=${APACHE_TEST_STARTUP_TIMEOUT:-30} \
            HOME="$w" \
            perl t/TEST.PL -apxs "$apxs" "${httpd_opt[@]}" \
                -httpd_conf "$w/inherit.conf" \
                -port "$port" -verbose "$@"
    ) 2>&1 | tee "$out" | grep -Ev '^ok [0-9]+|^\[ *(info|debug)\]|^server localhost:'
    # (the console shows failures and their diagnostics; run.out has all)
    rc=${PIPESTATUS[0]}
    # Apache::Test can exit 0 when the server did not start: trust the
    # harness's own verdict too.
    if [ "$rc" = 0 ] && ! grep -q '^Result: PASS' "$out"; then
        rc=1
    fi
    result[$mpm]=$rc
    summary[$mpm]=$(grep -E '^(All tests successful|Files=|Result:|Failed )' "$out" | tr '\n' ' ')
    [ "$rc" = 0 ] || status=1

    # Logs back for inspection (t/logs is ignored by git).
    rm -rf "$top/t/logs/$mpm"
    mkdir -p "$top/t/logs/$mpm"
    cp -a "$w/t/logs/." "$top/t/logs/$mpm/" 2>/dev/null
    cp "$out" "$top/t/logs/$mpm/run.out"
done

echo
echo "=== summary ==="
for mpm in $mpms; do
    echo "$mpm: exit ${result[$mpm]:-?}: ${summary[$mpm]:-no result}"
done
[ "$status" = 0 ] || echo "logs: $top/t/logs/<mpm>/"
exit $status
