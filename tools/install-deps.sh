#!/bin/bash
# install-deps.sh - installs the Debian packages that building, testing and
# the demo need. Idempotent: does nothing when everything is present.
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
