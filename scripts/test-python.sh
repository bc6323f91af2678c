#!/usr/bin/env bash
# Builds the Python binding the way a user installs it (pip install . of this checkout) into a venv
# and runs its pytest suite (tests/python). ctest runs it as python.pytest.
#
#   scripts/test-python.sh [WORK_DIR [FLUME_BROKER_BIN]]
#
# WORK_DIR (default build/python) holds the venv and scikit-build-core's build tree, both reused,
# so a rerun rebuilds only what changed. The build is Release, without the sanitizers (CPython does
# not load an ASan module), with warnings as errors. FLUME_BROKER_BIN (a flume-broker program) is
# passed to the tests that run against a broker process; without it they are skipped and say so.
# Extra pytest arguments can be given in $PYTEST_ARGS.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$root/build/python}
broker_bin=${2:-${FLUME_BROKER_BIN:-}}
mkdir -p "$work"
work=$(cd "$work" && pwd)
venv=$work/venv

# The python3 on PATH (pyenv's, here) is the one to build for; a venv made by another is remade.
python=$(command -v python3) || { echo "test-python: python3 not found" >&2; exit 1; }
want=$("$python" -c 'import sys; print(sys.version.split()[0], sys.base_prefix)')
if [ ! -x "$venv/bin/python" ] || [ "$("$venv/bin/python" -c 'import sys; print(sys.version.split()[0], sys.base_prefix)' 2>/dev/null)" != "$want" ]; then
  rm -rf "$venv"
  "$python" -m venv "$venv" || {
    echo "test-python: '$python -m venv' failed (on Debian: apt-get install python3-venv)" >&2
    exit 1
  }
fi

# Build and test requirements, installed once per change of this line. pip itself too: the venv
# starts with the pip python3-venv bundles (Debian 12: 23.0.1), which lacks -C (pip 23.1).
requirements="pip>=23.1 scikit-build-core>=0.10,<2 pybind11>=2.12,<4 pytest>=7,<10"
if [ "$(cat "$venv/.flume-requirements" 2>/dev/null)" != "$requirements" ]; then
  # shellcheck disable=SC2086
  "$venv/bin/python" -m pip install --disable-pip-version-check -q $requirements
  echo "$requirements" >"$venv/.flume-requirements"
fi

echo "test-python: pip install $root (build tree $work/build)"
start=$(date +%s)
"$venv/bin/python" -m pip install --disable-pip-version-check -q --no-build-isolation --no-deps \
  -Cbuild-dir="$work/build" -Ccmake.define.FLUME_WERROR=ON "$root"
echo "test-python: installed in $(($(date +%s) - start)) s"

export FLUME_BROKER_BIN=$broker_bin
export PYTHONDONTWRITEBYTECODE=1
cd "$root"
status=0
# shellcheck disable=SC2086
"$venv/bin/python" -m pytest -p no:cacheprovider tests/python ${PYTEST_ARGS:-} || status=$?
if [ $status -eq 5 ]; then
  echo "test-python: pytest collected no tests" >&2
  exit 1
fi
exit $status
