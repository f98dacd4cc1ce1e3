#!/bin/bash
# t/events/stall_syslog.sh - t/28_event_stall.t with its syslog case: a
# /dev/log whose reader never reads.
#
# Usage (root): bash t/events/stall_syslog.sh
#   RLW_MPMS="event prefork"   MPMs to run it under, in turn
#
# glibc's syslog() always writes to /dev/log, which this machine may not
# have and which other programs share. So the test runs in a private mount
# namespace (unshare -m): /dev there is a tmpfs with every real entry bound
# back, plus our own /dev/log, a datagram socket whose reader never reads
# (its queue fills after a few lines, then every send() blocks). The test
# itself runs as nobody, like the Apache::Test suite, with
# RLW_STALL_SYSLOG=1 (it then runs the pipe, file and syslog cases).
set -u

top=$(cd "$(dirname "$0")/../.." && pwd)
so="$top/mod_ratelimit_waf/.libs/mod_ratelimit_waf.so"
mpms=${RLW_MPMS:-event prefork}

if [ "$(id -u)" != 0 ]; then
    echo "stall_syslog: run as root (mount namespace, private /dev/log)" >&2
    exit 2
fi
if [ ! -f "$so" ]; then
    echo "stall_syslog: $so is not built (make build)" >&2
    exit 2
fi

tmp=$(mktemp -d /tmp/rlw-stall-syslog.XXXXXX)
chmod 755 "$tmp"
# (Never remove a tree that still has /dev bound below it.)
trap 'mountpoint -q "$tmp/olddev" 2>/dev/null || rm -rf "$tmp"' EXIT

# What the test needs, readable by nobody.
mkdir -p "$tmp/src/t" "$tmp/src/mod_ratelimit_waf/.libs" "$tmp/w"
cp -a "$top/t/lib" "$tmp/src/t/"
cp -a "$top/conf" "$tmp/src/"
cp "$top/t/28_event_stall.t" "$tmp/src/t/"
install -m 0644 "$so" "$tmp/src/mod_ratelimit_waf/.libs/"
chown -R nobody:nogroup "$tmp/src" "$tmp/w"

cat > "$tmp/inner.sh" <<'EOF'
set -eu
tmp=$1
shift
# /dev: a tmpfs with the real entries bound back (this namespace only).
mkdir "$tmp/olddev"
mount --rbind /dev "$tmp/olddev"
mount -t tmpfs -o mode=755 tmpfs /dev
for e in "$tmp"/olddev/* "$tmp"/olddev/.[!.]*; do
    [ -e "$e" ] || [ -L "$e" ] || continue
    n=${e##*/}
    if [ -L "$e" ]; then
        cp -a "$e" /dev/
        continue
    fi
    if [ -d "$e" ]; then mkdir -p "/dev/$n"; else touch "/dev/$n"; fi
    mount --bind "$e" "/dev/$n"
done
rm -f /dev/log
# The stalled reader: binds /dev/log and never reads.
python3 -c '
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
os.chmod("/dev/log", 0o666)
open(sys.argv[1], "w").close()
time.sleep(3600)
' "$tmp/ready" &
reader=$!
for _ in $(seq 100); do [ -e "$tmp/ready" ] && break; sleep 0.1; done
status=0
for mpm in "$@"; do
    echo "=== t/28_event_stall.t with syslog, MPM $mpm ==="
    # setpriv, not runuser: PAM would log to the stalled /dev/log.
    (cd "$tmp/src" && setpriv --reuid=nobody --regid=nogroup --clear-groups \
        env HOME="$tmp/w" \
        RLW_STALL_SYSLOG=1 RLW_MPM="$mpm" RLW_TMPDIR="$tmp/w" \
        RLW_MODULE_SO="$tmp/src/mod_ratelimit_waf/.libs/mod_ratelimit_waf.so" \
        RLW_CONF_DIR="$tmp/src/conf" \
        timeout 600 prove -v -I t/lib t/28_event_stall.t) || status=1
done
kill "$reader"
exit $status
EOF

# shellcheck disable=SC2086
unshare -m --propagation private bash "$tmp/inner.sh" "$tmp" $mpms
