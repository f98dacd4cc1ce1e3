#!/bin/bash
# build-deb.sh - builds the Debian package (make deb; docs/packaging.md).
#
# Refuses when debian/changelog and core/rlw_version.h name different
# versions. Copies the tree (the files git knows, plus new ones it does not
# ignore; the whole tree when it is not a git checkout) to build/deb/src and
# runs dpkg-buildpackage -us -uc -b there, so the source tree stays clean.
# The .deb, its -dbgsym .deb, .buildinfo and .changes land in build/deb/;
# then lintian runs on the .deb and its output is kept in
# build/deb/lintian.txt. Exit status: dpkg-buildpackage's, or 1 when
# lintian reports an error.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=${RLW_DEB_DIR:-$top/build/deb}
cd "$top"

hdr_version=$(sed -n 's/^#define RLW_VERSION "\(.*\)"$/\1/p' \
    mod_ratelimit_waf/core/rlw_version.h)
deb_version=$(dpkg-parsechangelog -l debian/changelog -S Version)
if [ -z "$hdr_version" ] || [ "$hdr_version" != "$deb_version" ]; then
    echo "build-deb: debian/changelog names $deb_version but" \
         "mod_ratelimit_waf/core/rlw_version.h names '$hdr_version'" >&2
    exit 1
fi
package=$(dpkg-parsechangelog -l debian/changelog -S Source)

rm -rf "$out"
mkdir -p "$out/src"
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
    git -C "$top" ls-files -z -co --exclude-standard |
        while IFS= read -r -d '' f; do
            [ -e "$f" ] && printf '%s\0' "$f"
        done | tar -C "$top" --null -T - -cf - | tar -C "$out/src" -xf -
else
    tar -C "$top" --exclude=./build --exclude-vcs -cf - . |
        tar -C "$out/src" -xf -
fi

(cd "$out/src" && dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1 || {
    tail -n 40 "$out/build.log" >&2
    echo "build-deb: dpkg-buildpackage failed, see $out/build.log" >&2
    exit 1
}
rm -rf "$out/src"
deb=$out/${package}_${deb_version}_$(dpkg-architecture -qDEB_HOST_ARCH).deb
[ -f "$deb" ] || { echo "build-deb: $deb is missing" >&2; exit 1; }
echo "build-deb: $deb"

if command -v lintian >/dev/null; then
    # As root, lintian wants to be told; the package is only read.
    lintian --allow-root --info "$deb" >"$out/lintian.txt" 2>&1 || true
    echo "build-deb: lintian $(basename "$deb"):"
    sed 's/^/  /' "$out/lintian.txt"
    if grep -q '^E: ' "$out/lintian.txt"; then
        echo "build-deb: lintian reports errors" >&2
        exit 1
    fi
else
    echo "build-deb: lintian is not installed (tools/install-deps.sh)" >&2
fi
