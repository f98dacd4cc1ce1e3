#!/bin/bash
# test_deb.sh - the Debian package on this machine, for real (suite "deb").
#
# Builds libapache2-mod-ratelimit-waf with tools/build-deb.sh (lintian: no
# error), checks that the module, rlwafctl and the package name one version
# (core/rlw_version.h, debian/changelog), then, as an operator following
# README.md ("Install from a Debian package", "Configure"):
#   apt-get install ./…deb; the ModSecurity rule engine on; the "before"
#   snippet linked into /etc/modsecurity/, the "after" one included from
#   /etc/apache2/conf-enabled/; the thresholds set in the installed
#   ratelimit_waf.conf (a conffile); a2enmod ratelimit_waf; apache2ctl
#   configtest; the system Apache started with apache2ctl (no systemd
#   needed) on 127.0.0.1:$RLW_DEB_PORT only, an attacker banned (403s, then
#   404 on every URL) while another client is served; the version on the
#   start-up line and the status page; an upgrade to a next version built
#   from a copy of the tree (the edited conffile kept, the module still
#   enabled); the operator's includes taken out again; apt-get purge: nothing of the package left (every file dpkg
#   listed, its conffiles, its a2enmod links and state), and the system
#   Apache still passes configtest and starts.
# The package is installed for a few seconds only: Apache::Test suites read
# the system's mods-enabled.
#
# Leaves the system as found: /etc/apache2 and /etc/modsecurity are compared
# file by file with a snapshot taken first (ports.conf is swapped for a
# private one while the test runs, so the system Apache never binds port
# 80). Refuses to run when the package is already installed, the system
# Apache is running, or its configuration fails before the test.
#
# Run as root: bash t/deb/test_deb.sh. Prints TAP and a last line
# "N passed, M failed"; exits 0 when all passed, 1 otherwise.
#   RLW_DEB_PORT=18100   the private port
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PKG=libapache2-mod-ratelimit-waf
PORT=${RLW_DEB_PORT:-18100}
OUT=${RLW_DEB_DIR:-$ROOT/build/deb}
SHARE=/usr/share/mod_ratelimit_waf
MODS=/etc/apache2/mods-available
PORTS_CONF=/etc/apache2/ports.conf
HARNESS=rlw-deb-test            # conf-available/$HARNESS.conf: logs, status page
AFTER=ratelimit-waf-modsecurity # conf-available/$AFTER.conf: the "after" snippet
BEFORE_LINK=/etc/modsecurity/ratelimit-waf-before.conf
MODSEC_CONF=/etc/modsecurity/modsecurity.conf
AUDIT_LOG=/var/log/apache2/modsec_audit.log
export DEBIAN_FRONTEND=noninteractive

n=0
passed=0
failed=0
TMP=
INSTALLED=0   # we installed the package: the cleanup purges it
STARTED=0     # we started the system Apache: the cleanup stops it
PORTS_SAVED=0
MODSEC_MADE=0
AUDIT_MADE=0

ok() {
    n=$((n + 1))
    passed=$((passed + 1))
    echo "ok $n - $1"
}

not_ok() {
    n=$((n + 1))
    failed=$((failed + 1))
    echo "not ok $n - $1"
    shift
    for line in "$@"; do
        echo "#   $line"
    done
}

check() {
    local desc=$1
    shift
    if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# bail REASON: the test cannot go on; the cleanup still runs.
bail() {
    not_ok "$1" "${@:2}"
    echo "Bail out! $1"
    exit 1
}

apache_pid() {
    local f=/var/run/apache2/apache2.pid
    [ -s "$f" ] && kill -0 "$(cat "$f" 2>/dev/null)" 2>/dev/null &&
        cat "$f" 2>/dev/null
}

# Polls COMMAND until it succeeds or SECONDS pass.
wait_for() {
    local secs=$1 i
    shift
    for ((i = 0; i < secs * 10; i++)); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}

apache_stop() {
    apache2ctl stop >/dev/null 2>&1
    # apache2ctl stop returns before the parent is gone; wait for it.
    wait_for 30 test -z "$(apache_pid)"
}

# status CODE of GET URL from SOURCE address (127.0.0.1 or 127.0.0.2).
http_code() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
        --interface "$1" "http://127.0.0.1:$PORT$2"
}

# The state of /etc/apache2 and /etc/modsecurity: every entry, its type,
# link target and checksum.
snapshot() {
    find /etc/apache2 /etc/modsecurity -printf '%p %y %l\n' | sort
    find /etc/apache2 /etc/modsecurity -type f -print0 | sort -z |
        xargs -0 md5sum
    ls -1 /var/lib/apache2/module/*/ /var/lib/apache2/conf/*/ 2>/dev/null
}

# Everything the test set up, undone; safe to call more than once.
cleanup() {
    set +e
    [ "$STARTED" = 1 ] && { apache_stop; STARTED=0; }
    if [ "$INSTALLED" = 1 ] && dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null |
        grep -q installed; then
        rm -f /etc/apache2/conf-enabled/$AFTER.conf "$BEFORE_LINK"
        apt-get purge -y -qq "$PKG" >/dev/null 2>&1
        INSTALLED=0
    fi
    rm -f /etc/apache2/conf-enabled/$AFTER.conf /etc/apache2/conf-available/$AFTER.conf
    rm -f /etc/apache2/conf-enabled/$HARNESS.conf /etc/apache2/conf-available/$HARNESS.conf
    rm -f /var/lib/apache2/conf/*/$AFTER /var/lib/apache2/conf/*/$HARNESS
    rm -f "$BEFORE_LINK"
    [ "$MODSEC_MADE" = 1 ] && rm -f "$MODSEC_CONF" && MODSEC_MADE=0
    [ "$AUDIT_MADE" = 1 ] && rm -f "$AUDIT_LOG" && AUDIT_MADE=0
    # a2enmod and a2enconf create their (empty) state directories.
    if [ -f "$TMP/state.dirs" ]; then
        for d in /var/lib/apache2/*/*/; do
            grep -qxF "$d" "$TMP/state.dirs" || rmdir "$d" 2>/dev/null
        done
    fi
    if [ "$PORTS_SAVED" = 1 ]; then
        cp -p "$TMP/ports.conf" "$PORTS_CONF" && PORTS_SAVED=0
    fi
}
trap 'cleanup; [ -n "$TMP" ] && rm -rf "$TMP"' EXIT
trap 'exit 130' INT TERM

echo "# t/deb: $PKG on this machine (port $PORT)"
[ "$(id -u)" -eq 0 ] || { echo "Bail out! run as root"; exit 1; }
for tool in apt-get dpkg-buildpackage lintian apache2ctl a2enmod curl; do
    command -v "$tool" >/dev/null || {
        echo "Bail out! $tool is missing (bash tools/install-deps.sh)"
        exit 1
    }
done
TMP=$(mktemp -d /tmp/rlw-deb.XXXXXX)
chmod 0755 "$TMP"

# ---- preconditions ---------------------------------------------------------
if dpkg-query -W -f='${Status}' "$PKG" 2>/dev/null | grep -q 'install\|config-files'; then
    bail "$PKG is not installed before the test" \
        "it is: this test would remove it; purge it first"
fi
[ -z "$(apache_pid)" ] ||
    bail "the system Apache is not running" "it is (pid $(apache_pid)): the test starts and stops it"
for f in /etc/apache2/conf-available/$AFTER.conf \
    /etc/apache2/conf-available/$HARNESS.conf "$BEFORE_LINK"; do
    if [ -e "$f" ] || [ -L "$f" ]; then
        bail "$f does not exist before the test" "it does: the test would remove it"
    fi
done
if ss -ltn "sport = :$PORT" | grep -q LISTEN; then
    bail "port $PORT is free"
fi
if ! apache2ctl configtest >"$TMP/configtest0" 2>&1; then
    bail "the system Apache passes configtest before the test" \
        "$(tail -n 3 "$TMP/configtest0")"
fi
ok "preconditions: not installed, system Apache stopped and configtest OK"
snapshot >"$TMP/before.state"
ls -d /var/lib/apache2/*/*/ >"$TMP/state.dirs" 2>/dev/null
mods_before=$(ls /etc/apache2/mods-enabled | sort | tr '\n' ' ')

# ---- build -----------------------------------------------------------------
version=$(sed -n 's/^#define RLW_VERSION "\(.*\)"$/\1/p' \
    "$ROOT/mod_ratelimit_waf/core/rlw_version.h")
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb=$OUT/${PKG}_${version}_$arch.deb
tree_state() { (cd "$ROOT" && git status --porcelain 2>/dev/null); }
tree_before=$(tree_state)
if (cd "$ROOT" && make -s deb) >"$TMP/build.out" 2>&1; then
    ok "make deb builds ${PKG}_${version}_$arch.deb, lintian reports no error"
else
    bail "make deb builds the package" "$(tail -n 15 "$TMP/build.out")"
fi
sed -n 's/^  \([EWI]: .*\)/# lintian: \1/p' "$TMP/build.out"
check "the source tree is as before the build (it runs in a copy)" \
    test "$(tree_state)" = "$tree_before"
deb_version=$(dpkg-deb -f "$deb" Version)
cl_version=$(dpkg-parsechangelog -l "$ROOT/debian/changelog" -S Version)
check "one version: rlw_version.h $version = debian/changelog $cl_version = .deb $deb_version" \
    test "$version" = "$cl_version" -a "$version" = "$deb_version"
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' >"$TMP/contents"
missing=""
for f in /usr/lib/apache2/modules/mod_ratelimit_waf.so \
    $MODS/ratelimit_waf.load $MODS/ratelimit_waf.conf \
    $SHARE/modsecurity-ratelimit-waf-before.conf \
    $SHARE/modsecurity-ratelimit-waf.conf \
    $SHARE/modsecurity3-ratelimit-waf.conf \
    $SHARE/nftables-ratelimit-waf.nft \
    /usr/sbin/rlwafctl /usr/sbin/rlw-nft-bridge \
    /usr/share/man/man8/rlwafctl.8.gz /usr/share/man/man8/rlw-nft-bridge.8.gz \
    /usr/share/doc/$PKG/copyright /usr/share/doc/$PKG/README.md.gz; do
    grep -qx "$f" "$TMP/contents" || missing="$missing $f"
done
check "the package holds the module, a2enmod files, snippets, tools, man pages, docs" \
    test -z "$missing"
[ -z "$missing" ] || echo "#   missing:$missing"
dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles >"$TMP/conffiles" 2>/dev/null
conffiles_ok() {
    grep -qx "$MODS/ratelimit_waf.conf" "$TMP/conffiles" &&
        grep -qx "$MODS/ratelimit_waf.load" "$TMP/conffiles"
}
check "ratelimit_waf.conf and .load are conffiles" conffiles_ok

# The next version, for the upgrade: a copy of the tree with the version
# raised in both places and a changed ratelimit_waf.conf.
up_version=$version+upgrade1
up_deb=$TMP/updeb/${PKG}_${up_version}_$arch.deb
mkdir -p "$TMP/upsrc"
tar -C "$ROOT" --exclude=./build --exclude=./.git --exclude=./t/logs -cf - . |
    tar -C "$TMP/upsrc" -xf -
sed -i "s/^#define RLW_VERSION \".*\"$/#define RLW_VERSION \"$up_version\"/" \
    "$TMP/upsrc/mod_ratelimit_waf/core/rlw_version.h"
sed -i "1s/($version)/($up_version)/" "$TMP/upsrc/debian/changelog"
echo "# A line the next version adds." >>"$TMP/upsrc/conf/ratelimit_waf.conf"
if RLW_DEB_DIR=$TMP/updeb bash "$TMP/upsrc/tools/build-deb.sh" >"$TMP/upbuild.out" 2>&1 &&
    [ -f "$up_deb" ]; then
    ok "the next version, $up_version, builds too (for the upgrade)"
else
    bail "the next version builds" "$(tail -n 15 "$TMP/upbuild.out")"
fi
rm -rf "$TMP/upsrc"

# ---- install and configure, as README.md says ------------------------------
# The private port only: no Listen 80 while the test runs.
cp -p "$PORTS_CONF" "$TMP/ports.conf" && PORTS_SAVED=1
echo "Listen 127.0.0.1:$PORT" >"$PORTS_CONF"
[ -e "$AUDIT_LOG" ] || AUDIT_MADE=1
INSTALLED=1
installed_at=$SECONDS
if apt-get install -y -qq "$deb" >"$TMP/install.out" 2>&1; then
    ok "apt-get install ./${PKG}_${version}_$arch.deb"
else
    bail "apt-get install ./…deb" "$(tail -n 10 "$TMP/install.out")"
fi
check "installed, not enabled (a2enmod is the operator's step)" \
    test ! -e /etc/apache2/mods-enabled/ratelimit_waf.load
check "rlwafctl --version says $version" \
    test "$(/usr/sbin/rlwafctl --version)" = "rlwafctl (mod_ratelimit_waf) $version"
check "rlw-nft-bridge runs (python3 from Depends)" \
    sh -c '/usr/sbin/rlw-nft-bridge --help >/dev/null'

# Configure 1: the rule engine on, the two snippets around the CRS.
if [ ! -e "$MODSEC_CONF" ]; then
    MODSEC_MADE=1
    sed 's/^SecRuleEngine .*/SecRuleEngine On/' \
        /etc/modsecurity/modsecurity.conf-recommended >"$MODSEC_CONF"
fi
ln -s $SHARE/modsecurity-ratelimit-waf-before.conf "$BEFORE_LINK"
cat >/etc/apache2/conf-available/$AFTER.conf <<EOF
<IfModule security2_module>
    Include $SHARE/modsecurity-ratelimit-waf.conf
</IfModule>
EOF
# Configure 2: a first test's settings, in the installed conffile.
sed -i -e 's/^    RateLimitWAFThreshold 5000$/    RateLimitWAFThreshold 3/' \
    -e 's/^    #RateLimitWAFWindow 10m$/    RateLimitWAFWindow 1m/' \
    -e 's/^    #RateLimitWAFBanTime 15m$/    RateLimitWAFBanTime 2m/' \
    $MODS/ratelimit_waf.conf
# The harness: its own error log (the system's is left alone) and the
# status page.
cat >/etc/apache2/conf-available/$HARNESS.conf <<EOF
ErrorLog $TMP/error.log
<IfModule ratelimit_waf_module>
    <Location "/ratelimit-waf">
        SetHandler ratelimit-waf-status
        Require ip 127.0.0.1
    </Location>
</IfModule>
EOF
a2enconf -q $AFTER $HARNESS >/dev/null
if a2enmod ratelimit_waf >"$TMP/a2enmod.out" 2>&1; then
    ok "a2enmod ratelimit_waf"
else
    not_ok "a2enmod ratelimit_waf" "$(cat "$TMP/a2enmod.out")"
fi
check "configtest: Syntax OK" sh -c "apache2ctl configtest 2>&1 | grep -q 'Syntax OK'"

# ---- the system Apache bans --------------------------------------------------
STARTED=1
apache2ctl start >"$TMP/start.out" 2>&1
if wait_for 30 sh -c "curl -s -o /dev/null --max-time 2 http://127.0.0.1:$PORT/"; then
    ok "apache2ctl start: the system Apache answers on 127.0.0.1:$PORT"
else
    bail "apache2ctl start" "$(cat "$TMP/start.out")" "$(tail -n 5 "$TMP/error.log" 2>/dev/null)"
fi
startup=$(grep -m1 'AH00489: ' "$TMP/error.log")
echo "# ${startup#*AH00489: }"
check "httpd's start-up line names mod_ratelimit_waf/$version (LogLevel warn)" \
    grep -q " mod_ratelimit_waf/$version .*configured" <<<"$startup"
check "a clean request is served (200)" test "$(http_code 127.0.0.1 /)" = 200
attack='/?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E'
codes=""
for i in 1 2 3; do
    codes="$codes $(http_code 127.0.0.1 "$attack")"
done
check "3 attacks blocked by ModSecurity (403):$codes" test "$codes" = " 403 403 403"
# The third attack is counted after its answer is sent: poll.
if wait_for 10 sh -c "test \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
        --interface 127.0.0.1 http://127.0.0.1:$PORT/)\" = 404"; then
    ok "the attacker is banned: 404 on a clean URL"
else
    not_ok "the attacker is banned: 404 on a clean URL" "got $(http_code 127.0.0.1 /)"
fi
check "the ban is logged (RLW00010)" grep -q "RLW00010: ban client=127.0.0.1" "$TMP/error.log"
check "another client (127.0.0.2) is still served (200)" test "$(http_code 127.0.0.2 /)" = 200
# The status page (127.0.0.2: the attacker is banned on every URL).
sed -i 's/Require ip 127.0.0.1$/Require ip 127.0.0.2/' /etc/apache2/conf-available/$HARNESS.conf
apache2ctl graceful >/dev/null 2>&1
wait_for 15 sh -c "curl -s --max-time 2 --interface 127.0.0.2 \
    'http://127.0.0.1:$PORT/ratelimit-waf?json' | grep -q '\"version\"'"
html=$(curl -s --max-time 10 --interface 127.0.0.2 "http://127.0.0.1:$PORT/ratelimit-waf")
json=$(curl -s --max-time 10 --interface 127.0.0.2 "http://127.0.0.1:$PORT/ratelimit-waf?json")
prom=$(curl -s --max-time 10 --interface 127.0.0.2 "http://127.0.0.1:$PORT/ratelimit-waf?prometheus")
check "status page (HTML) shows version $version" \
    grep -q "version $version " <<<"$html"
json_ok() {
    grep -q "\"version\":\"$version\"" <<<"$json" &&
        grep -q '"client":"127.0.0.1"' <<<"$json"
}
check "status page (JSON) says \"version\":\"$version\", the ban listed" json_ok
check "ratelimit_waf_build_info has version=\"$version\"" \
    grep -q "^ratelimit_waf_build_info{.*version=\"$version\"} 1$" <<<"$prom"
apache_stop
STARTED=0
check "apache2ctl stop" test -z "$(apache_pid)"

# ---- upgrade -----------------------------------------------------------------
# The operator edited ratelimit_waf.conf and the new version changes it:
# with --force-confold apt keeps theirs and writes the new one aside.
if apt-get install -y -qq -o Dpkg::Options::=--force-confold "$up_deb" \
    >"$TMP/upgrade.out" 2>&1; then
    ok "apt-get install ./…_${up_version}_$arch.deb upgrades it"
else
    not_ok "apt-get install of $up_version" "$(tail -n 10 "$TMP/upgrade.out")"
fi
check "dpkg has version $up_version" \
    test "$(dpkg-query -W -f='${Version}' $PKG)" = "$up_version"
check "the edited ratelimit_waf.conf is kept (threshold 3)" \
    grep -q '^    RateLimitWAFThreshold 3$' $MODS/ratelimit_waf.conf
check "the new one is beside it as ratelimit_waf.conf.dpkg-dist" \
    grep -q '^# A line the next version adds' $MODS/ratelimit_waf.conf.dpkg-dist
check "still enabled after the upgrade" test -L /etc/apache2/mods-enabled/ratelimit_waf.load
check "rlwafctl --version says $up_version" \
    test "$(/usr/sbin/rlwafctl --version)" = "rlwafctl (mod_ratelimit_waf) $up_version"
STARTED=1
apache2ctl start >"$TMP/start1.out" 2>&1
wait_for 30 sh -c "curl -s -o /dev/null --max-time 2 --interface 127.0.0.2 http://127.0.0.1:$PORT/"
startup=$(grep 'AH00489: ' "$TMP/error.log" | tail -n 1)
check "the upgraded module starts: mod_ratelimit_waf/$up_version on the start-up line" \
    grep -q " mod_ratelimit_waf/$up_version " <<<"$startup"
apache_stop
STARTED=0

# ---- purge -------------------------------------------------------------------
# The operator's includes of the package's files go first (README.md,
# "Install from a Debian package"); a2dismod is the package's business.
a2disconf -q $AFTER >/dev/null
rm -f /etc/apache2/conf-available/$AFTER.conf "$BEFORE_LINK"
dpkg -L "$PKG" >"$TMP/files"
dpkg-query -W -f='${Conffiles}\n' "$PKG" | awk 'NF {print $1}' >"$TMP/pkg.conffiles"
if apt-get purge -y -qq "$PKG" >"$TMP/purge.out" 2>&1; then
    INSTALLED=0
    ok "apt-get purge -y $PKG (installed for $((SECONDS - installed_at)) s)"
else
    not_ok "apt-get purge -y $PKG" "$(tail -n 10 "$TMP/purge.out")"
fi
check "dpkg no longer knows the package" \
    sh -c "! dpkg-query -W -f='\${Status}' $PKG 2>/dev/null | grep -q 'installed\|config-files'"
# Every path dpkg listed is gone, or is a directory another package owns.
left=""
while IFS= read -r f; do
    [ "$f" = /. ] && continue
    if [ -e "$f" ] || [ -L "$f" ]; then
        [ -d "$f" ] && dpkg-query -S "$f" >/dev/null 2>&1 && continue
        left="$left $f"
    fi
done <"$TMP/files"
check "every file of the package is gone ($(wc -l <"$TMP/files") paths checked)" test -z "$left"
[ -z "$left" ] || echo "#   left:$left"
left=""
while IFS= read -r f; do
    for g in "$f" "$f".dpkg-*; do
        [ -e "$g" ] && left="$left $g"
    done
done <"$TMP/pkg.conffiles"
check "no conffile left ($(tr '\n' ' ' <"$TMP/pkg.conffiles"))" test -z "$left"
[ -z "$left" ] || echo "#   left:$left"
check "no dangling link in /etc/apache2/*-enabled" \
    test -z "$(find /etc/apache2/mods-enabled /etc/apache2/conf-enabled \
        /etc/apache2/sites-enabled -xtype l)"
check "no a2enmod state left for ratelimit_waf" \
    test -z "$(ls /var/lib/apache2/module/*/ratelimit_waf 2>/dev/null)"
check "mods-enabled as before the test" \
    test "$(ls /etc/apache2/mods-enabled | sort | tr '\n' ' ')" = "$mods_before"
check "configtest after purge: Syntax OK" \
    sh -c "apache2ctl configtest 2>&1 | grep -q 'Syntax OK'"
STARTED=1
apache2ctl start >"$TMP/start2.out" 2>&1
if wait_for 30 sh -c "test \"\$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
        http://127.0.0.1:$PORT/)\" = 200"; then
    ok "the system Apache starts and serves after the purge"
else
    not_ok "the system Apache starts and serves after the purge" "$(cat "$TMP/start2.out")"
fi
apache_stop
STARTED=0

# ---- the system as found ------------------------------------------------------
cleanup
snapshot >"$TMP/after.state"
if diff -u "$TMP/before.state" "$TMP/after.state" >"$TMP/state.diff"; then
    ok "/etc/apache2 and /etc/modsecurity exactly as before the test"
else
    not_ok "/etc/apache2 and /etc/modsecurity exactly as before the test" \
        "$(head -n 20 "$TMP/state.diff")"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
