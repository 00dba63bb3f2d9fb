#!/usr/bin/env bash
# Two `serve` processes on one PostgreSQL database, measured against one: the authenticated
# GET /api/holds/{id} with wrk at 64 connections on one instance alone, then on both at once
# (one wrk each, same moment). Prints requests per second, p99 and requests per server
# CPU-second (the fair figure on a shared 2-core machine).
#
#   swift build -c release --product chittycharge
#   BENCH_DATABASE_URL=postgres://user@127.0.0.1:5432/empty_db?sslmode=disable \
#     BIN=.build/release/chittycharge bash Benchmarks/several-instances.sh
#
# Knobs: DURATION (10s), RUNS (3), LOG_LEVEL (info). Uses wrk and the helpers of
# ../shared/bench/lib/wrkbench.sh when present (CPU accounting per process).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${BENCH_DATABASE_URL:?an empty PostgreSQL database}" "${BIN:?the release chittycharge}"
DURATION=${DURATION:-10s}; RUNS=${RUNS:-3}
W=$(mktemp -d /tmp/bench-instances-XXXX)
cp -r "$HERE/../policies" "$W/pol"
sed -i 's/^local RATE_LIMIT *= *[0-9]*/local RATE_LIMIT = 1000000000/' "$W/pol/policy.lua"
rm -rf "$W/pol/tests"   # the shipped tests expect the shipped limit
CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { local a; read -ra a <<< "$(sed 's/^.*) //' "/proc/$1/stat")"; echo $(( a[11] + a[12] )); }

PIDS=()
for port in 18091 18092; do
    env CHITTY_ID_TOKEN=tok ADMIN_TOKEN=adm_0123456789abcdef DATABASE_URL="$BENCH_DATABASE_URL" POLICY_DIR="$W/pol" \
        STRIPE_SECRET_KEY=sk_test_bench STRIPE_API_BASE=http://127.0.0.1:18099 PORT=$port HOST=127.0.0.1 \
        LOG_LEVEL=${LOG_LEVEL:-info} "$BIN" serve --chittyid emulator > "$W/server-$port.log" 2>&1 &
    PIDS+=($!)
    sleep 1
done
"$BIN" stripe-emulator --port 18099 > "$W/emulator.log" 2>&1 &
EMU=$!
trap 'kill "${PIDS[@]}" $EMU 2>/dev/null; wait 2>/dev/null || true' EXIT
for port in 18091 18092; do
    for _ in $(seq 1 200); do curl -fs -o /dev/null "http://127.0.0.1:$port/health" && break; sleep 0.1; done
done
ID=$(curl -fsS -H 'ChittyID-Token: tok' -H 'Content-Type: application/json' \
    -d '{"amount":25000,"description":"bench"}' http://127.0.0.1:18091/api/holds | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
# Warm both.
for port in 18091 18092; do wrk -t1 -c16 -d3s -H 'ChittyID-Token: tok' "http://127.0.0.1:$port/api/holds/$ID" > /dev/null; done

# one_run PORT...: wrk -t1 -c64 at each port at once; prints "rps p99_ms" per port and server CPU seconds.
one_run() {
    local before=() after=() port i outs=()
    for i in "${!PIDS[@]}"; do before+=("$(cpu_ticks "${PIDS[$i]}")"); done
    for port in "$@"; do
        wrk -t1 -c64 -d"$DURATION" --latency -H 'ChittyID-Token: tok' -H 'Origin: https://app.chitty.cc' \
            "http://127.0.0.1:$port/api/holds/$ID" > "$W/wrk-$port.txt" &
        outs+=($!)
    done
    wait "${outs[@]}"
    for i in "${!PIDS[@]}"; do after+=("$(cpu_ticks "${PIDS[$i]}")"); done
    local total_rps=0 cpu=0 line
    for port in "$@"; do
        rps=$(awk '/Requests\/sec/ {print $2}' "$W/wrk-$port.txt")
        p99=$(awk '$1=="99%" {print $2}' "$W/wrk-$port.txt")
        errors=$(grep -E "Non-2xx|Socket errors" "$W/wrk-$port.txt" | tr -s ' ' || true)
        echo "    :$port  ${rps} req/s  p99 ${p99}  ${errors}"
        total_rps=$(python3 -c "print($total_rps + $rps)")
    done
    for i in "${!PIDS[@]}"; do cpu=$(( cpu + after[i] - before[i] )); done
    python3 -c "import sys; r,c,hz,d=float(sys.argv[1]),int(sys.argv[2]),int(sys.argv[3]),float(sys.argv[4].rstrip('s')); s=c/hz; print(f'    total {r:,.0f} req/s, server CPU {s:.1f} s, {r*d/s:,.0f} requests per server CPU-second')" \
        "$total_rps" "$cpu" "$CLK_TCK" "$DURATION"
}

echo "several-instances: GET /api/holds/{id} on PostgreSQL, wrk -t1 -c64 per instance, $RUNS x $DURATION"
for r in $(seq 1 "$RUNS"); do
    echo "  run $r, one instance:"; one_run 18091; sleep 2
    echo "  run $r, two instances at once:"; one_run 18091 18092; sleep 2
done
echo "RSS: $(for p in "${PIDS[@]}"; do awk '/VmRSS/{printf "%s kB ", $2}' /proc/$p/status; done)"
