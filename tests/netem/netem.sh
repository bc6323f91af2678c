#!/usr/bin/env bash
# The network emulator's command line (see tests/netem/README.md and `netem.sh --help`):
#   netem.sh up --name X --delay 5ms --jitter 1ms --loss 10% [--mode tun|nft|tc|auto] [--owner PID]
#   netem.sh exec X a CMD...    netem.sh set X a b --loss 20%    netem.sh stats X
#   netem.sh down X             netem.sh down --all-stale        netem.sh list
#   netem.sh run [up options] -- CMD...   (scoped: torn down when CMD ends or on INT/TERM/HUP)
# The run's owner defaults to the process that called this script: when it exits, the run goes.
# flume-netem is found through $FLUME_NETEM_BIN or the newest build/*/tests/netem/flume-netem.
set -euo pipefail
python=$(command -v python3) || { echo "netem.sh: python3 is required" >&2; exit 1; }
exec "$python" "$(dirname "$(readlink -f "$0")")/netem.py" "$@"
