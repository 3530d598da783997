#!/usr/bin/env bash
# The README's two-host walk-through, on one machine over localhost TCP: three sensors on
# "host 1" send 1,000 readings each through the bridge to the collector on "host 2", which
# checks that each sensor's readings come in order. CI runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q -p ipmpsc-bridge --bins --examples
bin=target/debug
port=${PORT:-27447}
sensors=/dev/shm/ipmpsc-walkthrough-sensors-$$
collector=/dev/shm/ipmpsc-walkthrough-collector-$$
cleanup() {
    kill $(jobs -p) 2>/dev/null || true
    wait 2>/dev/null || true
    rm -f "$sensors" "$collector"
}
trap cleanup EXIT

# host 2: the consumer's channel, and the importer listening for exporters
timeout 120 $bin/examples/collector "$collector" --count 3000 &
collector_pid=$!
$bin/ipmpsc-bridge import site/readings "$collector" --listen "tcp/127.0.0.1:$port" --isolated &

# host 1: the exporter creates the sensors' channel for the importer's schema; the sensors
# send into it as they would to a local consumer
$bin/ipmpsc-bridge export "$sensors" site/readings --capacity 65536 \
    --connect "tcp/127.0.0.1:$port" --isolated &
for id in 1 2 3; do
    $bin/examples/sensor "$sensors" --id "$id" --count 1000 &
done

wait "$collector_pid"
