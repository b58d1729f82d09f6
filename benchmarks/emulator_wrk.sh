#!/usr/bin/env bash
# Single-job GETs per second served by the emulator (faults off), measured by wrk (not Python).
#
#   benchmarks/emulator_wrk.sh [JOBS] [DURATION]     # defaults: 10000 jobs, 10s
#
# Two runs of `wrk -t2 -c8 -d10s` with the Authorization header: one job id over and over
# (served from the emulator's cache of encoded jobs), then every id in turn (mostly uncached).
set -euo pipefail
JOBS=${1:-10000}
DURATION=${2:-10s}
# CLI=path/to/classify-frames picks the install to measure (e.g. a venv without [fast])
CLI=${CLI:-$(dirname "$0")/../.venv/bin/classify-frames}
[ -x "$CLI" ] || CLI=$(dirname "$0")/../../venv/bin/classify-frames
[ -x "$CLI" ] || CLI=classify-frames
WORK=$(mktemp -d)
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; rm -rf "$WORK"' EXIT

"$CLI" emulator --port 0 --jobs "$JOBS" --labels-out "$WORK/labels.csv" \
    >"$WORK/out" 2>&1 &
SERVER=$!
for _ in $(seq 100); do grep -q '^LLAMA_CLOUD_API_KEY=' "$WORK/out" && break; sleep 0.1; done
URL=$(sed -n 's/^LLAMA_CLOUD_BASE_URL=//p' "$WORK/out")
KEY=$(sed -n 's/^LLAMA_CLOUD_API_KEY=//p' "$WORK/out")
ID=$(sed -n 2p "$WORK/labels.csv" | cut -d, -f1)

echo "== one job id, repeated =="
wrk -t2 -c8 -d"$DURATION" -H "Authorization: Bearer $KEY" "$URL/api/v2/classify/$ID"

tail -n +2 "$WORK/labels.csv" | cut -d, -f1 >"$WORK/ids.txt"
cat >"$WORK/ids.lua" <<LUA
local ids = {}
for line in io.lines("$WORK/ids.txt") do ids[#ids + 1] = line end
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", "/api/v2/classify/" .. ids[(n % #ids) + 1])
end
LUA
echo "== every job id in turn ($JOBS ids) =="
wrk -t2 -c8 -d"$DURATION" -H "Authorization: Bearer $KEY" -s "$WORK/ids.lua" "$URL"
