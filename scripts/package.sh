#!/usr/bin/env bash
# Builds the Debian package build/packages/flume_<version>_<arch>.deb from this source tree.
#
#   scripts/package.sh            build the package (a clean build every time, a few minutes)
#   scripts/package.sh --lintian  build it, then run lintian on it (fails on an error)
#
# The tree is copied (without build/ and .git, so a copy without .git works too) to
# build/packaging/flume-<version>/, packaging/debian/ becomes its debian/, debian/changelog is
# written from VERSION, and dpkg-buildpackage -b builds it there: the checkout stays clean. The
# build is a user's build (warnings not fatal, no tests) with the prefix /usr. It needs the
# packages in Build-Depends (packaging/debian/control): `scripts/setup-deps.sh test` installs them.
set -euo pipefail

run_lintian=0
for arg in "$@"; do
  case "$arg" in
    --lintian) run_lintian=1 ;;
    -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "package.sh: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version=$(tr -d '[:space:]' <"$root/VERSION")
arch=$(dpkg --print-architecture)
stage="$root/build/packaging"
src="$stage/flume-$version"
out="$root/build/packages"
deb="flume_${version}_${arch}.deb"

# dpkg-buildpackage checks the Build-Depends itself; this only says what to run when one is missing.
for tool in dpkg-buildpackage dh help2man; do
  command -v "$tool" >/dev/null || {
    echo "package.sh: $tool is missing; scripts/setup-deps.sh test installs the packaging tools" >&2
    exit 1
  }
done

rm -rf "$stage"
mkdir -p "$src" "$out"
tar -C "$root" --exclude=./build --exclude=./.git --exclude=./out --exclude='__pycache__' \
  --exclude='*.pyc' -cf - . | tar -C "$src" -xf -
cp -r "$root/packaging/debian" "$src/debian"

# The changelog's date is the last commit's when there is one (the same tree gives the same
# package), else VERSION's modification time.
if [ -e "$root/.git" ] && epoch=$(git -C "$root" log -1 --format=%ct 2>/dev/null) && [ -n "$epoch" ]; then
  :
else
  epoch=$(stat -c %Y "$root/VERSION")
fi
maintainer=$(sed -n 's/^Maintainer: //p' "$src/debian/control")
cat >"$src/debian/changelog" <<EOF
flume ($version) unstable; urgency=medium

  * Flume $version, built from the source tree by scripts/package.sh.

 -- $maintainer  $(date -u -R -d "@$epoch")
EOF

jobs=$(nproc)
echo "package.sh: building $deb in $src" >&2
(cd "$src" && DEB_BUILD_OPTIONS="parallel=$jobs ${DEB_BUILD_OPTIONS:-}" \
  nice -n 10 dpkg-buildpackage -b -us -uc >"$stage/build.log" 2>&1) || {
  tail -n 40 "$stage/build.log" >&2
  echo "package.sh: dpkg-buildpackage failed; the whole log is $stage/build.log" >&2
  exit 1
}
rm -f "$out/$deb"
mv "$stage/$deb" "$out/$deb"
echo "$out/$deb"

if [ "$run_lintian" = 1 ]; then
  lintian --fail-on error --info "$out/$deb"
fi
