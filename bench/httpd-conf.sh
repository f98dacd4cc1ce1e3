#!/bin/bash
# bench/httpd-conf.sh - prints the httpd.conf of one benchmark server: the
# benchmark variants below, in terms of tools/rlw-httpd-conf (the generator
# the tests and the demo use too).
#
# Usage: bash bench/httpd-conf.sh DIR HTTP_PORT TLS_PORT [OPTION...]
#   modsec       load mod_security2 with the OWASP CRS (stock: without
#                this module's two ModSecurity snippets)
#   rlw          load mod_ratelimit_waf (RateLimitWAF On) and, with modsec,
#                wrap the CRS in conf/modsecurity-ratelimit-waf-before.conf
#                and conf/modsecurity-ratelimit-waf.conf
#   engine3      with modsec and rlw: the CRS inspected by the module's
#                embedded engine (RateLimitWAFEngine modsecurity3, the CRS
#                through RateLimitWAFRules) instead of mod_security2, which
#                is then not loaded
#   threshold=N  with rlw: RateLimitWAFThreshold N (default: 5)
#   snippets     with modsec: include the two snippets without the module
#                (to tell their cost from the module's)
#   close        RateLimitWAFBanAction close (default: respond)
#   scoreenv     without ModSecurity: SetEnvIfExpr gives a request whose
#                query string holds "<script" the anomaly score 10 in
#                MODSEC_ANOMALY_SCORE, a stand-in attack source to ban with
#   accesslog    write a combined access log to DIR/logs/access_log
#   mc           with rlw: RateLimitWAFStore memcached "$RLW_MC_CONFIG",
#                RateLimitWAFSecretFile $RLW_MC_SECRET (default: shm store)
#   prefix=P     with mc: RateLimitWAFKeyPrefix P (servers with different
#                prefixes share the memcached pool without seeing each other)
#   node=NAME    with mc: RateLimitWAFNodeName NAME
#   sync=D       with mc: RateLimitWAFSyncInterval D (default: 250ms)
#   status       the status page (ratelimit-waf-status) at /ratelimit-waf,
#                in the HTTPS virtual host only: the HTTP listener, where
#                clean traffic is measured, walks no extra <Location>
#   keys         with rlw: RateLimitWAFNetwork 24 48 20000 and two
#                RateLimitWAFKey over X-Api-Key and Host (headers every
#                request of bench.sh carries: both evaluated and hashed
#                whenever a key ban runs). Not X-Forwarded-For: mod_remoteip
#                consumes it, and a key over it would always be empty.
#   apikeys      the same (an older name)
#
# Every server gets the same base: event MPM with two children of 16
# threads (no process churn during a run), unlimited keep-alive requests,
# LogLevel warn, mod_remoteip trusting X-Forwarded-For from 127.0.0.1 (the
# client identity of each wrk run), a plain HTTP listener on HTTP_PORT and
# an HTTPS one (mod_ssl, DIR/../tls/{cert,key}.pem) on TLS_PORT. Only the
# options above differ, so the variants compare like with like.
#
# Environment: RLW_MODULE_SO (default: the built module of this tree),
# RLW_CONF_DIR (default: conf/ of this tree), MODDIR, TLS_DIR; with mc:
# RLW_MC_CONFIG (the libmemcached configuration string), RLW_MC_SECRET.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
dir=$1 http_port=$2 tls_port=$3
shift 3
modsec=0 engine3=0 rlw=0 snippets=0 close=0 scoreenv=0 accesslog=0 mc=0 status=0 keys=0
prefix= node= sync=250ms threshold=5
for o in "$@"; do
    case $o in
    modsec) modsec=1 ;;
    engine3) engine3=1 ;;
    threshold=*) threshold=${o#threshold=} ;;
    rlw) rlw=1 snippets=1 ;;
    snippets) snippets=1 ;;
    close) close=1 ;;
    scoreenv) scoreenv=1 ;;
    accesslog) accesslog=1 ;;
    mc) mc=1 ;;
    prefix=*) prefix=${o#prefix=} ;;
    node=*) node=${o#node=} ;;
    sync=*) sync=${o#sync=} ;;
    status) status=1 ;;
    keys | apikeys) keys=1 ;;
    *) echo "httpd-conf.sh: unknown option '$o'" >&2; exit 2 ;;
    esac
done
if [ $engine3 = 1 ] && { [ $modsec = 0 ] || [ $rlw = 0 ]; }; then
    echo "httpd-conf.sh: engine3 needs modsec and rlw" >&2
    exit 2
fi
if [ $mc = 1 ] && { [ -z "${RLW_MC_CONFIG:-}" ] || [ -z "${RLW_MC_SECRET:-}" ]; }; then
    echo "httpd-conf.sh: mc needs RLW_MC_CONFIG and RLW_MC_SECRET" >&2
    exit 2
fi
so=${RLW_MODULE_SO:-$top/mod_ratelimit_waf/.libs/mod_ratelimit_waf.so}
confdir=${RLW_CONF_DIR:-$top/conf}
moddir=${MODDIR:-/usr/lib/apache2/modules}
tlsdir=${TLS_DIR:-$(dirname "$dir")/tls}

# The skeleton every variant shares comes from the one generator of the
# tests and the demo (tools/rlw-httpd-conf); only the options differ.
args=(--generated-by "bench/httpd-conf.sh: options: ${*:-none}"
    --root "$dir" --listen "$http_port" --tls-listen "$tls_port"
    --tls-dir "$tlsdir" --mpm event --mpm-tuning bench
    --user nobody --group nogroup --loglevel warn
    --module-dir "$moddir" --load setenvif --conf-dir "$confdir")
[ $rlw = 1 ] && args+=(--module-so "$so")
if [ $modsec = 1 ]; then
    args+=(--modsec)
    [ $engine3 = 1 ] && args+=(--engine modsecurity3)
    [ $snippets = 1 ] || args+=(--no-snippets)
fi
# The status page in the HTTPS virtual host only: the HTTP listener, where
# clean traffic is measured, walks no extra <Location>.
[ $status = 1 ] && args+=(--tls-directive '<Location "/ratelimit-waf">
    SetHandler ratelimit-waf-status
</Location>')
[ $accesslog = 1 ] && args+=(--access-log "$dir/logs/access_log"
    --log-format '%a %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"')
[ $scoreenv = 1 ] && args+=(--directive '# Stand-in attack source (no ModSecurity here): a query string holding
# "<script", plain or percent-encoded, scores 10.
SetEnvIfExpr "%{QUERY_STRING} =~ /(?:<|%3c)script/i" MODSEC_ANOMALY_SCORE=10')
if [ $rlw = 1 ]; then
    args+=(--directive '# Five attacks (or threshold=N) ban for an hour: a benchmark'"'"'s ban never runs out.
RateLimitWAF On
RateLimitWAFThreshold '"$threshold"'
RateLimitWAFBanTime 1h')
    if [ $mc = 1 ]; then
        args+=(--directive "RateLimitWAFStore memcached \"$RLW_MC_CONFIG\"
RateLimitWAFSecretFile \"$RLW_MC_SECRET\"
RateLimitWAFSyncInterval $sync")
        [ -n "$prefix" ] && args+=(--directive "RateLimitWAFKeyPrefix $prefix")
        [ -n "$node" ] && args+=(--directive "RateLimitWAFNodeName $node")
    else
        args+=(--directive "RateLimitWAFStore shm")
    fi
    [ $close = 1 ] && args+=(--directive "RateLimitWAFBanAction close")
    # Networks and two request keys over headers every request of
    # bench.sh carries (wrk sends Host and X-Api-Key): while a key ban
    # runs, each clean request evaluates both and hashes two values.
    [ $keys = 1 ] && args+=(--directive 'RateLimitWAFNetwork 24 48 20000
RateLimitWAFKey api "%{HTTP:X-Api-Key}" 20000
RateLimitWAFKey host "%{HTTP:Host}" 20000')
fi
exec perl "$top/tools/rlw-httpd-conf" "${args[@]}"
