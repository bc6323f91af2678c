#!/usr/bin/env bash
# What link probes cost and see on an idle loopback link: two flume-broker nodes (b dials a) at
# probe RATE a second; after SECONDS, prints b's probe RTT, loss, the probes' HTTP/3 bytes a second
# and the whole link's UDP bytes a second (keep-alives included), read from `flume overlay --json`.
#
#   tests/bench/overlay/probe_cost.sh BUILD_DIR RATE SECONDS     e.g. build/dev-release 2 10
#
# Uses cluster ports 27501 and 27502 on 127.0.0.1; stops both nodes (by PID) when done.
set -euo pipefail
if [ $# -ne 3 ]; then
  sed -n '2,7p' "$0" >&2
  exit 2
fi
build=$1 rate=$2 seconds=$3
broker=$build/broker/flume-broker flume=$build/tools/flume
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"' EXIT
"$broker" cluster init-ca --dir "$work/c" >/dev/null
for n in a b ops; do "$broker" cluster issue-node "$n" --dir "$work/c" >/dev/null; done
start() {  # NAME CLUSTER-PORT [PEER]
  "$broker" --node-name "$1" --listen 127.0.0.1:0 --cluster-listen "127.0.0.1:$2" \
    --data-dir "$work/d$1" --cluster-ca "$work/c/ca.pem" --node-cert "$work/c/$1.pem" \
    --node-key "$work/c/$1.key" --cluster-probe-rate "$rate" ${3:+--peer "$3"} >"$work/$1.log" 2>&1 &
  pids+=($!)
}
start a 27501
sleep 0.5
start b 27502 127.0.0.1:27501
sleep 2
state() {
  "$flume" overlay --json --cluster-ca "$work/c/ca.pem" --cert "$work/c/ops.pem" \
    --key "$work/c/ops.key" 127.0.0.1:27502
}
state >"$work/s1.json"
t1=$(date +%s.%N)
sleep "$seconds"
state >"$work/s2.json"
t2=$(date +%s.%N)
python3 - "$work/s1.json" "$work/s2.json" "$t1" "$t2" "$rate" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))[0]["links"][0]
b = json.load(open(sys.argv[2]))[0]["links"][0]
dt = float(sys.argv[4]) - float(sys.argv[3])
m, q1, q2 = b["measured"], a["quic"], b["quic"]
udp = (q2["bytes_sent"] - q1["bytes_sent"] + q2["bytes_received"] - q1["bytes_received"]) / dt
print(f"rate={sys.argv[5]}/s probe srtt={m['srtt_us']} us rttvar={m['rttvar_us']} us "
      f"lost={m['lost']}/{m['settled']} probe cost (HTTP/3)={m['cost_bytes_per_second']} B/s "
      f"quic srtt={q2['srtt_us']} us; link UDP both ways={udp:.0f} B/s over {dt:.1f} s")
PY
