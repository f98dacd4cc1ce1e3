#!/bin/bash
# install-deps.sh - installs the Debian packages that building, testing and
# the demo need. Idempotent: does nothing when everything is present.
#
# Usage: bash tools/install-deps.sh [--compare]
#   --compare   also the peers of make compare (bench/compare.sh): tools a
#               farm would use instead of this module; make test needs none
set -euo pipefail

PKGS=(apache2 apache2-dev libapache2-mod-security2 modsecurity-crs
      libapache2-mod-perl2 check pkg-config memcached libmemcached-dev
      libmemcached-tools libssl-dev wrk apache2-utils nghttp2-client curl
      openssl make gcc chromium
      nftables iproute2 python3 python3-yaml
      valgrind linux-perf
      prometheus
      clang libclang-rt-14-dev llvm clang-format
      libmodsecurity3
      # make deb (dh_apache2, "dh-apache2", comes with apache2-dev)
      debhelper dpkg-dev lintian)
# make compare only: mod_evasive, mod_qos, fail2ban (with the inotify
# backend Debian recommends for it).
COMPARE_PKGS=(libapache2-mod-evasive libapache2-mod-qos fail2ban python3-pyinotify)
compare=0
case ${1:-} in
--compare) compare=1; PKGS+=("${COMPARE_PKGS[@]}") ;;
"") ;;
*) echo "install-deps: unknown option '$1' (--compare)" >&2; exit 2 ;;
esac

missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
        || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing packages: ${missing[*]} (run as root to install)" >&2
    exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Packages install a default site and start it: this project runs its own
# httpd instances, so keep the system one from holding port 80.
if command -v systemctl >/dev/null && systemctl is-active -q apache2 2>/dev/null; then
    systemctl stop apache2 || true
fi
# Likewise Debian's prometheus (installed for promtool and the monitoring
# suite's own Prometheus): keep its service from holding port 9090.
if [[ " ${missing[*]} " == *" prometheus "* ]] && command -v systemctl >/dev/null; then
    systemctl disable --now prometheus 2>/dev/null || true
fi
if [ $compare = 1 ]; then
    # Their packages enable mod_evasive and mod_qos in the system Apache,
    # whose configuration then fails: Debian 12's mod_qos needs a LoadFile
    # of libpcre first (bench/compare.sh loads them in its own servers).
    a2dismod -q -f evasive qos >/dev/null 2>&1 || true
    # fail2ban runs in bench/compare.sh's own namespace, not as a service.
    if command -v systemctl >/dev/null; then
        systemctl disable --now fail2ban 2>/dev/null || true
    fi
fi
