#!/bin/bash
# test_bridge.sh - tools/rlw-nft-bridge and tools/nftables-ratelimit-waf.nft
# for real, in two network namespaces joined by a veth pair:
#
#   rlwtest-cli  198.51.100.2, 198.51.100.3   ---veth---   rlwtest-srv
#                2001:db8:1::2, 2001:db8:2::2             198.51.100.1
#                                                          2001:db8:1::1
#                                                          2001:db8:2::1
#
# The server namespace runs a web server on port 80, the example ruleset
# and the bridge; events come from the module's own formatter (mkevent.c,
# built from mod_ratelimit_waf/core/rlw_event.c), so the bridge is tested on what
# the module writes. The addresses are documentation ranges that exist only
# inside the namespaces.
#
# Run as root: bash t/bridge/test_bridge.sh. Prints TAP and a last line
# "N passed, M failed"; exits 0 when all passed, 1 otherwise. Safe to run
# again after an interrupted run: leftovers are removed first.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BRIDGE=$ROOT/tools/rlw-nft-bridge
RULESET=$ROOT/tools/nftables-ratelimit-waf.nft
SRC=$ROOT/mod_ratelimit_waf/core
SRV=rlwtest-srv
CLI=rlwtest-cli
TMP=
HTTP_PID=

n=0
passed=0
failed=0

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

# check DESCRIPTION COMMAND...: one test, passed when COMMAND succeeds.
check() {
    local desc=$1
    shift
    if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# Removes what this test creates (and what an interrupted run left): the
# processes inside our two namespaces, then the namespaces (with the veth).
cleanup() {
    local ns pid
    if [ -n "$HTTP_PID" ]; then
        kill "$HTTP_PID" 2>/dev/null
        wait "$HTTP_PID" 2>/dev/null
    fi
    for ns in "$SRV" "$CLI"; do
        if ip netns list 2>/dev/null | grep -qw "$ns"; then
            for pid in $(ip netns pids "$ns" 2>/dev/null); do
                kill "$pid" 2>/dev/null
            done
            ip netns del "$ns" 2>/dev/null
        fi
    done
    if [ -n "$TMP" ]; then rm -rf "$TMP"; fi
}

finish() {
    local rc=$?
    cleanup
    exit $rc
}

if [ "$(id -u)" -ne 0 ]; then
    echo "1..0 # SKIP needs root (network namespaces, nftables)"
    exit 0
fi
for tool in ip nft curl python3 cc; do
    if ! command -v "$tool" >/dev/null; then
        echo "Bail out! $tool is missing (bash tools/install-deps.sh)"
        exit 1
    fi
done

cleanup
trap finish EXIT
trap 'exit 1' INT TERM
TMP=$(mktemp -d /tmp/rlw-bridge-test.XXXXXX)

# ---- helpers ----

in_srv() { ip netns exec "$SRV" "$@"; }
in_cli() { ip netns exec "$CLI" "$@"; }

# reach SOURCE DEST: one HTTP request from SOURCE (client namespace) to DEST.
reach() {
    local url=http://$2/
    case $2 in *:*) url="http://[$2]/" ;; esac
    in_cli curl -g -s -o /dev/null --max-time 2 --interface "$1" "$url"
}
blocked() { ! reach "$@"; }

# bridge [OPTION...] < LINES: runs the bridge in the server namespace,
# stderr kept in $TMP/bridge.err.
bridge() { in_srv "$BRIDGE" "$@" 2>"$TMP/bridge.err"; }

# event KIND ADDRESS SECONDS [REASON] [dry]: a line from the real formatter.
event() { "$TMP/mkevent" "$@"; }

# in_set SET ELEMENT: ELEMENT ("198.51.100.2", "2001:db8:1::/64") is in SET.
in_set() {
    in_srv nft list set inet ratelimit_waf "$1" 2>/dev/null \
        | grep -qE "[{ ,]$(printf '%s' "$2" | sed 's/[.]/[.]/g') "
}
not_in_set() { ! in_set "$@"; }

# set_empty SET: no element at all.
set_empty() { ! in_srv nft list set inet ratelimit_waf "$1" | grep -q elements; }

# timeout_of SET ELEMENT: the element's timeout as nft shows it ("1m40s").
timeout_of() {
    in_srv nft list set inet ratelimit_waf "$1" \
        | grep -oE "$(printf '%s' "$2" | sed 's/[.]/[.]/g') timeout [0-9a-z]+" \
        | awk '{print $3}'
}

# iso_in SECONDS: an ISO8601 UTC time SECONDS from now (may be negative).
iso_in() {
    python3 -c 'import datetime, sys, time
t = datetime.datetime.fromtimestamp(time.time() + float(sys.argv[1]),
                                    datetime.timezone.utc)
print(t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000))' "$1"
}

no_nft_error() { ! grep -q "nft failed\|internal error" "$TMP/bridge.err"; }

# ---- set-up ----

if ! cc -O1 -Wall -Wextra -Werror -I"$SRC" -o "$TMP/mkevent" "$HERE/mkevent.c" \
        "$SRC/rlw_event.c" "$SRC/rlw_addr.c" "$SRC/rlw_duration.c" \
        "$SRC/rlw_time.c" "$SRC/rlw_subject.c" 2>"$TMP/cc.err"; then
    echo "Bail out! cannot build mkevent: $(head -3 "$TMP/cc.err")"
    exit 1
fi

ip netns add "$SRV" && ip netns add "$CLI" \
    && ip link add rlwt-s netns "$SRV" type veth peer name rlwt-c netns "$CLI" \
    || { echo "Bail out! cannot create the namespaces"; exit 1; }
in_srv ip link set lo up
in_cli ip link set lo up
in_srv ip addr add 198.51.100.1/24 dev rlwt-s
in_srv ip addr add 2001:db8:1::1/64 dev rlwt-s nodad
in_srv ip addr add 2001:db8:2::1/64 dev rlwt-s nodad
in_cli ip addr add 198.51.100.2/24 dev rlwt-c
in_cli ip addr add 198.51.100.3/24 dev rlwt-c
in_cli ip addr add 2001:db8:1::2/64 dev rlwt-c nodad
in_cli ip addr add 2001:db8:2::2/64 dev rlwt-c nodad
in_srv ip link set rlwt-s up
in_cli ip link set rlwt-c up

mkdir "$TMP/www" && echo hello >"$TMP/www/index.html"
# http.server on "::" takes IPv4 too (dual-stack socket).
ip netns exec "$SRV" python3 -m http.server 80 --bind :: \
    --directory "$TMP/www" >/dev/null 2>&1 &
HTTP_PID=$!
for _ in $(seq 1 50); do
    reach 198.51.100.3 198.51.100.1 && break
    sleep 0.1
done

# ---- the ruleset ----

check "ruleset loads" in_srv nft -f "$RULESET"
in_srv nft add element inet ratelimit_waf banned4 '{ 198.51.100.99 timeout 60s }'
check "ruleset loads again (idempotent)" in_srv nft -f "$RULESET"
check "a reload keeps running bans" in_set banned4 198.51.100.99
rules=$(in_srv nft list chain inet ratelimit_waf input | grep -c 'drop')
check "a reload does not double the rules ($rules drop rules)" test "$rules" -eq 4
in_srv nft delete element inet ratelimit_waf banned4 '{ 198.51.100.99 }'
check "chain hooks input at priority filter - 10" \
    bash -c "ip netns exec $SRV nft list chain inet ratelimit_waf input \
             | grep -q 'hook input priority filter - 10'"

check "before any ban: 198.51.100.2 reaches the server" reach 198.51.100.2 198.51.100.1
check "before any ban: 198.51.100.3 reaches the server" reach 198.51.100.3 198.51.100.1
check "before any ban: 2001:db8:1::2 reaches the server" reach 2001:db8:1::2 2001:db8:1::1
check "before any ban: 2001:db8:2::2 reaches the server" reach 2001:db8:2::2 2001:db8:1::1

# ---- a 3 s ban that ends on its own ----

t0=$(date +%s.%N)
event ban 198.51.100.2 3 >"$TMP/ban.json"
check "bridge applies a ban and exits 0 at end of input" bridge <"$TMP/ban.json"
check "no nft error" no_nft_error
check "198.51.100.2 is in banned4" in_set banned4 198.51.100.2
check "banned 198.51.100.2 cannot connect" blocked 198.51.100.2 198.51.100.1
check "198.51.100.3 still can" reach 198.51.100.3 198.51.100.1
check "port 22 is not blocked (only web ports)" \
    bash -c "ip netns exec $CLI curl -s -o /dev/null --max-time 2 \
             --interface 198.51.100.2 http://198.51.100.1:22/; test \$? -eq 7"
# The bridge is gone already (end of its input): the kernel ends the ban.
gone=
for _ in $(seq 1 60); do
    if not_in_set banned4 198.51.100.2; then
        gone=$(python3 -c "import sys, time; print('%.1f' % (time.time() - float(sys.argv[1])))" "$t0")
        break
    fi
    sleep 0.1
done
if [ -n "$gone" ] && python3 -c "import sys; sys.exit(not 2.5 <= float(sys.argv[1]) <= 5.5)" "$gone"; then
    ok "the element timed out by itself after ${gone}s (ban 3s)"
else
    not_ok "the element timed out by itself after about 3s" "gone after: ${gone:-never}"
fi
check "after the timeout 198.51.100.2 gets through again" reach 198.51.100.2 198.51.100.1

# ---- re-ban: the timeout follows the newest ban ----

{ event ban 198.51.100.2 5; event ban 198.51.100.2 100; } | bridge
t=$(timeout_of banned4 198.51.100.2)
check "a second ban replaces the timeout (now ${t:-none}, want 1m40s)" test "$t" = 1m40s

# ---- unban ----

event unban 198.51.100.2 100 expired | bridge
check "an 'expired' unban leaves a running ban alone" in_set banned4 198.51.100.2
check "still blocked" blocked 198.51.100.2 198.51.100.1
event unban 198.51.100.2 100 manual | bridge
check "a manual unban deletes the element" not_in_set banned4 198.51.100.2
check "the client gets through right after the unban" reach 198.51.100.2 198.51.100.1
event unban 198.51.100.2 100 manual | bridge
check "unbanning what is not banned is fine (exit 0)" test $? -eq 0
check "... and logs no nft error" no_nft_error

# ---- events that must not block anything ----

{
    event ban 198.51.100.2 60 - dry
    event near 198.51.100.2 60
    event ban 198.51.100.2 -5
} | bridge
check "dry-run ban, near_threshold and already-over ban change nothing" set_empty banned4
check "198.51.100.2 still reaches the server" reach 198.51.100.2 198.51.100.1

event ban 198.51.100.2 60 | bridge --dry-run >"$TMP/dry.out"
check "--dry-run prints the nft command" \
    grep -q "add element inet ratelimit_waf banned4 { 198.51.100.2 timeout 60s }" "$TMP/dry.out"
check "--dry-run changes nothing" set_empty banned4

# ---- malformed and hostile lines ----

future=$(iso_in 60)
past=$(iso_in -60)
pwn=$TMP/pwned
{
    echo 'not json at all'
    echo '{}'
    echo '[1,2,3]'
    echo '"ban"'
    echo '{"event":{"action":"ban"}}'
    echo '{"event":{"action":["ban"]},"source":{"ip":"198.51.100.2"}}'
    echo "{\"event\":{\"action\":\"ban\",\"end\":\"$future\"},\"source\":{\"ip\":\"198.51.100.2; touch $pwn\"}}"
    echo "{\"event\":{\"action\":\"ban\",\"end\":\"$future\"},\"source\":{\"ip\":\"\$(touch $pwn)\"}}"
    echo "{\"event\":{\"action\":\"ban\",\"end\":\"$future\"},\"source\":{\"address\":\"198.51.100.2 } ; flush ruleset ; add element inet ratelimit_waf banned4 { 198.51.100.3\"}}"
    echo "{\"event\":{\"action\":\"ban\",\"end\":\"$future\"},\"source\":{\"address\":\"0.0.0.0/0\"}}"
    echo "{\"event\":{\"action\":\"ban\",\"end\":\"$future\"},\"source\":{\"address\":\"198.51.0.0/16\"}}"
    echo "{\"event\":{\"action\":\"ban\",\"end\":\"$future\"},\"source\":{\"address\":\"198.51.100.1/24\"}}"
    echo "{\"event\":{\"action\":\"ban\",\"end\":\"$future\"},\"source\":{\"ip\":\"127.0.0.1\"}}"
    echo "{\"event\":{\"action\":\"ban\",\"end\":\"$future\"},\"source\":{\"ip\":\"::\"}}"
    echo "{\"event\":{\"action\":\"ban\",\"end\":\"$future\"},\"source\":{\"ip\":\"fe80::1%rlwt-s\"}}"
    echo "{\"event\":{\"action\":\"ban\",\"end\":\"$future\"},\"source\":{\"ip\":\"fe80::1%x } ; flush ruleset ; add table ip pwned\"}}"
    echo "{\"event\":{\"action\":\"ban\",\"end\":\"$past\"},\"source\":{\"ip\":\"198.51.100.2\"}}"
    echo '{"event":{"action":"ban","end":"tomorrow"},"source":{"ip":"198.51.100.2"}}'
    echo '{"event":{"action":"ban","end":12345},"source":{"ip":"198.51.100.2"}}'
    echo '{"event":{"action":"ban","end":"2026-02-30T00:00:00.000Z"},"source":{"ip":"198.51.100.2"}}'
    echo "{\"event\":{\"action\":\"ban\",\"end\":\"$future\"},\"source\":{\"ip\":\"198.51.100.2\"},\"rlw\":{\"dry_run\":\"yes\"}}"
    echo '{"event":{"action":"ban","end":NaN},"source":{"ip":"198.51.100.2"}}'
    echo "{\"event\":{\"action\":\"ban\",\"end\":\"$future\"},\"source\":{\"address\":\"198.51.100.0/24\"},\"rlw\":{\"kind\":\"net; flush ruleset\"}}"
    printf '{"event":{"action":"ban\xff\xfe"},"source":{"ip":"198.51.100.2"}}\n'
    python3 -c 'print("[" * 30000 + "]" * 30000)'
    python3 -c 'print("{\"x\":\"" + "A" * 200000 + "\"}")'
    printf '\x00\x01\x02\x1b[31m\r\n'
    echo '{"event":{"action":"ban","end":"'"$future"'"},"source":{"ip":"198.51.100.2"},"event":{"action":"unban"}}'
    # The last line is a good one: the bridge must still be alive.
    event ban 198.51.100.2 30
} >"$TMP/hostile.jsonl"
bridge <"$TMP/hostile.jsonl"
rc=$?
check "bridge survives hostile input (exit $rc)" test "$rc" -eq 0
check "nothing from the input was executed" test ! -e "$pwn"
check "the table is still there" bash -c "ip netns exec $SRV nft list table inet ratelimit_waf >/dev/null"
check "no table was added" bash -c "! ip netns exec $SRV nft list tables | grep -q pwned"
skipped=$(grep -c "skipped" "$TMP/bridge.err")
check "every bad line was reported on stderr ($skipped of 27)" test "$skipped" -ge 27
check "no internal error" bash -c "! grep -q 'internal error' '$TMP/bridge.err'"
check "the good line after them was applied" in_set banned4 198.51.100.2
# JSON keeps the last of duplicate keys: that one was an unban of nothing.
elements=$(in_srv nft list set inet ratelimit_waf banned4 | grep -o '198\.51\.[0-9.]*' | sort -u | tr '\n' ' ')
check "banned4 holds only 198.51.100.2 (has: $elements)" test "$elements" = "198.51.100.2 "
check "198.51.100.3 still reaches the server" reach 198.51.100.3 198.51.100.1
check "banned6 is still empty" set_empty banned6
event unban 198.51.100.2 30 manual | bridge

# ---- IPv6: a /64 group ----

event ban 2001:db8:1::/64 30 | bridge
check "the /64 is in banned6" in_set banned6 2001:db8:1::/64
check "2001:db8:1::2 (in the /64) cannot connect" blocked 2001:db8:1::2 2001:db8:1::1
check "2001:db8:2::2 (another /64) still can" reach 2001:db8:2::2 2001:db8:1::1
check "IPv4 from the same client still can" reach 198.51.100.2 198.51.100.1
event unban 2001:db8:1::/64 30 manual | bridge
check "manual unban of the /64" not_in_set banned6 2001:db8:1::/64
check "2001:db8:1::2 gets through again" reach 2001:db8:1::2 2001:db8:1::1

# ---- a network's ban (RateLimitWAFNetwork): a prefix in the set ----

event ban 198.51.100.2 60 | bridge
event ban net:198.51.100.0/24 30 | bridge
check "a network's ban puts its prefix in bannednet4" in_set bannednet4 198.51.100.0/24
check "... over a client of it banned already, without an nft error" no_nft_error
check "198.51.100.3 (in the /24, never banned itself) cannot connect" \
    blocked 198.51.100.3 198.51.100.1
t=$(timeout_of bannednet4 198.51.100.0/24)
check "the prefix times out with the network's ban (${t:-none})" \
    bash -c "case '$t' in 2[0-9]s|30s) exit 0 ;; *) exit 1 ;; esac"
event ban 198.51.100.3 60 | bridge
check "a client ban inside a banned network: no nft error" no_nft_error
event unban net:198.51.100.0/24 30 manual | bridge
check "a manual unban of the network deletes the prefix" \
    not_in_set bannednet4 198.51.100.0/24
check "... and logs no nft error" no_nft_error
check "the client banned on its own stays blocked" blocked 198.51.100.2 198.51.100.1
event unban 198.51.100.2 60 manual | bridge
event unban 198.51.100.3 60 manual | bridge
check "198.51.100.2 gets through once its own ban is lifted" \
    reach 198.51.100.2 198.51.100.1
check "banned4 is empty again" set_empty banned4
event ban net:2001:db8::/32 30 | bridge
check "an IPv6 network's prefix in bannednet6" in_set bannednet6 2001:db8::/32
check "2001:db8:2::2 (in the network) cannot connect" blocked 2001:db8:2::2 2001:db8:1::1
event unban net:2001:db8::/32 30 manual | bridge
check "the IPv6 network's prefix is deleted by its unban" not_in_set bannednet6 2001:db8::/32
check "2001:db8:2::2 gets through again" reach 2001:db8:2::2 2001:db8:1::1

# ---- nested network bans (an operator's /16 over a /24 banned by count) ----

event ban net:198.51.100.0/24 30 | bridge --min-prefix4 16
event ban net:198.51.0.0/16 120 | bridge --min-prefix4 16
check "a /16 banned over a running /24 of it: the /16 in bannednet4" \
    in_set bannednet4 198.51.0.0/16
check "... in place of the /24 inside it" not_in_set bannednet4 198.51.100.0/24
check "... in one transaction, without an nft error" no_nft_error
t=$(timeout_of bannednet4 198.51.0.0/16)
check "... with the /16's own timeout (${t:-none})" \
    bash -c "case '$t' in 1m[0-9]*s|2m) exit 0 ;; *) exit 1 ;; esac"
check "198.51.100.3 (in both) cannot connect" blocked 198.51.100.3 198.51.100.1
event ban net:198.51.7.0/24 30 | bridge --min-prefix4 16
check "a /24 inside the running /16: nothing added, no nft error" \
    bash -c "! grep -q 'nft failed' '$TMP/bridge.err' && grep -q 'inside 198.51.0.0/16' '$TMP/bridge.err'"
check "... the /16 stays" in_set bannednet4 198.51.0.0/16
event unban net:198.51.0.0/16 120 manual | bridge --min-prefix4 16
check "the /16's unban deletes it" set_empty bannednet4

# ---- a request key's ban (RateLimitWAFKey): no address, ignored ----

KEYH=key#0:5d41402abc4b2a76b9719d911017c592
event ban "$KEYH" 30 | bridge
check "a key's ban adds nothing to banned4" set_empty banned4
check "... nor to banned6" set_empty banned6
check "... nor to bannednet4" set_empty bannednet4
check "... nor to bannednet6" set_empty bannednet6
check "... and is no bad line (nothing skipped, no nft error)" \
    bash -c "! grep -q 'skipped\|nft failed\|internal error' '$TMP/bridge.err'"
event unban "$KEYH" 30 manual | bridge
check "a key's manual unban is ignored too" \
    bash -c "! grep -q 'skipped\|nft failed\|internal error' '$TMP/bridge.err'"
event ban "$KEYH" 30 | bridge --verbose
check "--verbose says a key's ban has nothing to block" \
    grep -q "ban of a request key: no address, nothing to block" "$TMP/bridge.err"
check "198.51.100.2 still reaches the server" reach 198.51.100.2 198.51.100.1

# ---- options ----

event ban 198.51.100.2 30 | bridge --exempt 198.51.100.0/24
check "--exempt keeps a network from being blocked" set_empty banned4
bridge --table 'x; flush ruleset' </dev/null
check "a bad --table is refused (exit 2)" test $? -eq 2

echo "1..$n"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
