#!/usr/bin/env bash
# Installs every system package Flume's build and tests need, by Debian package name.
# Idempotent: when everything is present it only checks (no apt-get update, no network) and exits.
set -euo pipefail

# Plain packages from bookworm.
packages=(
  build-essential cmake ninja-build pkg-config git
  clang clang-format libclang-rt-14-dev          # libFuzzer, sanitizers, the style check
  libgtest-dev libgmock-dev libbenchmark-dev      # tests and micro-benchmarks
  libgnutls28-dev                                 # TLS for the QUIC transport
  nlohmann-json3-dev                              # tests read the shared vectors (JSON)
  libtomlplusplus-dev                             # flume-broker configuration files
  nftables iproute2 python3                       # tests/netem: the network emulator
)
# ngtcp2/nghttp3 1.x live only in bookworm-backports (bookworm itself has the pre-1.0 API).
backports_packages=(libngtcp2-dev libngtcp2-crypto-gnutls-dev libnghttp3-dev)

missing=()
for p in "${packages[@]}" "${backports_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
quic_ok=1
pkg-config --atleast-version=1.11.0 libngtcp2 2>/dev/null || quic_ok=0
pkg-config --atleast-version=1.8.0 libnghttp3 2>/dev/null || quic_ok=0

if [ ${#missing[@]} -eq 0 ] && [ $quic_ok -eq 1 ]; then
  exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive

backports_list=/etc/apt/sources.list.d/bookworm-backports.sources
if [ ! -f "$backports_list" ] && ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  mirror=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)
  [ -n "$mirror" ] || mirror=$(awk '$1=="deb"{print $2; exit}' /etc/apt/sources.list 2>/dev/null)
  [ -n "$mirror" ] || { echo "setup-deps: cannot find the Debian mirror apt uses" >&2; exit 1; }
  printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$mirror" | $sudo tee "$backports_list" >/dev/null
fi

echo "setup-deps: installing ${missing[*]:-QUIC libraries}" >&2
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
$sudo apt-get install -y -qq --no-install-recommends -t bookworm-backports "${backports_packages[@]}" >/dev/null

pkg-config --atleast-version=1.11.0 libngtcp2 || { echo "setup-deps: libngtcp2 >= 1.11.0 is required (got $(pkg-config --modversion libngtcp2))" >&2; exit 1; }
pkg-config --atleast-version=1.8.0 libnghttp3 || { echo "setup-deps: libnghttp3 >= 1.8.0 is required" >&2; exit 1; }
echo "setup-deps: all build and test packages are installed" >&2
