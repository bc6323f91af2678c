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
  libnats-dev libhiredis-dev redis-server         # tests/bench/loss: NATS and Redis baselines
  python3-matplotlib                              # tests/bench/loss: plots
  python3-dev python3-venv                        # the Python binding (scripts/test-python.sh)
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

# nats-server for tests/bench/loss: a current release from the Go module proxy (Debian's 2.9 is too
# old), built into the project-local build/tools/bin. Skipped at once when that version is there.
install_nats_server() {
  local version=v2.15.2 root bin
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  bin="$root/build/tools/bin"
  if [ -x "$bin/nats-server" ] && "$bin/nats-server" --version 2>/dev/null | grep -q "${version#v}"; then
    return 0
  fi
  command -v go >/dev/null || { echo "setup-deps: go is needed to build nats-server (skipped)" >&2; return 0; }
  echo "setup-deps: building nats-server $version into $bin" >&2
  mkdir -p "$bin"
  GOBIN="$bin" GOFLAGS=-buildvcs=false go install "github.com/nats-io/nats-server/v2@$version"
}

if [ ${#missing[@]} -eq 0 ] && [ $quic_ok -eq 1 ]; then
  install_nats_server
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
install_nats_server
echo "setup-deps: all build and test packages are installed" >&2
