#!/usr/bin/env bash
# Installs the system packages Flume needs, by Debian package name, for one of two needs:
#
#   scripts/setup-deps.sh run    what building and running the broker, the CLI and libflume needs
#                                (scripts/run.sh, a plain CMake build, pip install .)
#   scripts/setup-deps.sh test   all of that, plus what the tests, benchmarks and packaging need
#                                (scripts/test.sh; the default when no argument is given)
#
# Idempotent: when everything is present it only checks (no apt-get update, no network) and exits.
# Needs root or sudo when something is missing.
set -euo pipefail

need=${1:-test}
case "$need" in
  run | test) ;;
  -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "setup-deps: unknown need '$need' (expected 'run' or 'test')" >&2; exit 2 ;;
esac

# Building and running: compiler, build tools, TLS, the broker's TOML configuration.
run_packages=(
  build-essential cmake ninja-build pkg-config
  libgnutls28-dev                                 # TLS for the QUIC transport
  libtomlplusplus-dev                             # flume-broker configuration files
  libspdlog-dev                                   # flume-broker's log (text or JSON lines)
  libcli11-dev                                    # the programs' command lines
  nlohmann-json3-dev                              # JSON output (flume sub, flume bench); test vectors
  libwslay-dev libhttp-parser-dev                 # the WebSocket edge (--ws-listen)
)
# ngtcp2/nghttp3 1.x live only in bookworm-backports (bookworm itself has the pre-1.0 API).
backports_packages=(libngtcp2-dev libngtcp2-crypto-gnutls-dev libnghttp3-dev)
# Tests, benchmarks and packaging, on top of the above.
test_packages=(
  git
  clang clang-format libclang-rt-14-dev          # libFuzzer, sanitizers, the style check
  libgtest-dev libgmock-dev libbenchmark-dev      # tests and micro-benchmarks
  nftables iproute2 python3                       # tests/netem: the network emulator
  libnats-dev libhiredis-dev redis-server         # tests/bench/loss: NATS and Redis baselines
  python3-matplotlib                              # tests/bench/loss: plots
  python3-dev python3-venv                        # the Python binding (scripts/test-python.sh)
  dpkg-dev debhelper fakeroot lintian help2man    # the Debian package (scripts/package.sh)
  abigail-tools                                   # the ABI check against capi/abi/libflume.abi
  chromium                                        # the browser client's test (playwright-core)
  swig default-jdk-headless maven               # the Java binding (bindings/swig/test.sh)
)
# Go builds nats-server (below); Debian's own golang-go (1.19) is too old, backports has 1.23.
backports_test_packages=()
command -v go >/dev/null || backports_test_packages+=(golang-go)

packages=("${run_packages[@]}")
backports=("${backports_packages[@]}")
if [ "$need" = test ]; then
  packages+=("${test_packages[@]}")
  backports+=("${backports_test_packages[@]}")
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# nats-server for tests/bench/loss: a current release from the Go module proxy (Debian's 2.9 is too
# old), built into the project-local build/tools/bin. Skipped at once when that version is there.
install_nats_server() {
  local version=v2.15.2 bin="$root/build/tools/bin"
  if [ -x "$bin/nats-server" ] && "$bin/nats-server" --version 2>/dev/null | grep -q "${version#v}"; then
    return 0
  fi
  command -v go >/dev/null || { echo "setup-deps: go is needed to build nats-server" >&2; return 1; }
  echo "setup-deps: building nats-server $version into $bin" >&2
  mkdir -p "$bin"
  # GOTOOLCHAIN=auto: an older go (Debian's) fetches the toolchain nats-server asks for from the
  # module proxy instead of refusing.
  GOTOOLCHAIN=auto GOBIN="$bin" GOFLAGS=-buildvcs=false go install "github.com/nats-io/nats-server/v2@$version"
}

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'
}
missing=()
for p in "${packages[@]}" "${backports[@]}"; do
  installed "$p" || missing+=("$p")
done
quic_ok=1
pkg-config --atleast-version=1.11.0 libngtcp2 2>/dev/null || quic_ok=0
pkg-config --atleast-version=1.8.0 libnghttp3 2>/dev/null || quic_ok=0

if [ ${#missing[@]} -gt 0 ] || [ $quic_ok -eq 0 ]; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || {
      echo "setup-deps: these packages are missing and installing them needs root: ${missing[*]}" >&2
      exit 1
    }
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive

  backports_list=/etc/apt/sources.list.d/bookworm-backports.sources
  if [ ! -f "$backports_list" ] && ! grep -rqsE '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    # The mirror apt already uses: deb822 debian.sources (container and cloud images) or the
    # one-line sources.list the Debian 12 installer writes. A missing file is not an error (with
    # pipefail, sed's exit status 2 would otherwise end the script silently under set -e).
    mirror=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1) || true
    [ -n "$mirror" ] || mirror=$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:\/\//) { print $i; exit } }' \
      /etc/apt/sources.list 2>/dev/null) || true
    [ -n "$mirror" ] || { echo "setup-deps: cannot find the Debian mirror apt uses" >&2; exit 1; }
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      "$mirror" | $sudo tee "$backports_list" >/dev/null
  fi

  echo "setup-deps ($need): installing ${missing[*]:-QUIC libraries}" >&2
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
  $sudo apt-get install -y -qq --no-install-recommends -t bookworm-backports "${backports[@]}" >/dev/null

  pkg-config --atleast-version=1.11.0 libngtcp2 || { echo "setup-deps: libngtcp2 >= 1.11.0 is required (got $(pkg-config --modversion libngtcp2))" >&2; exit 1; }
  pkg-config --atleast-version=1.8.0 libnghttp3 || { echo "setup-deps: libnghttp3 >= 1.8.0 is required" >&2; exit 1; }
  echo "setup-deps ($need): packages installed" >&2
fi

if [ "$need" = test ]; then
  install_nats_server
fi
