# Sourced by the cli_*.sh tests: their arguments (FLUME CASE), a scratch directory removed on exit,
# and failed(), which prints every file left in it.
set -u
flume=$1
case_name=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/flume-cli-test.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

failed() {
  echo "FAILED ($case_name): $*" >&2
  for file in "$work"/*; do
    [ -f "$file" ] && { echo "--- $file" >&2; cat "$file" >&2; }
  done
  exit 1
}
