#!/usr/bin/env bash
# Load figures (not a test): wrk against release builds on loopback, in one
# run: a raw hyper hello-world (the ceiling), GET /api/health, and
# authenticated GET /api/me, each at 64 connections. Prints req/s, p50/p99
# and the ratio to the ceiling, and writes them to BENCHMARKS.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
duration=${BENCH_DURATION:-8s}
connections=${BENCH_CONNECTIONS:-64}

if ! command -v wrk >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
fi
cargo build --release -p oqto-server --bin oqto -p oqto-tests --bin oqto-standin-agent --example hyper_hello --example mux_bench --example history_bench

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# start NAME CMD... : runs a server, waits for "listening on URL", sets $url
start() {
  local name=$1; shift
  "$@" >"$work/$name.out" 2>"$work/$name.err" &
  pids+=($!)
  url=""
  for _ in $(seq 1 100); do
    url=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$work/$name.out" | head -1)
    [ -n "$url" ] && return 0
    sleep 0.1
  done
  echo "$name did not start"; cat "$work/$name.err"; exit 1
}

start hello target/release/examples/hyper_hello 127.0.0.1:0
hello_url=$url
start oqto env XDG_CONFIG_HOME="$work/config" OQTO_AUTH__LOGIN_MAX_FAILURES_PER_ADDRESS=1000000 \
  target/release/oqto serve --bind 127.0.0.1:0 --data-dir "$work/data"
oqto_url=$url
oqto_pid=${pids[-1]}
password=$(cat "$work/data/initial-admin-password")
token=$(curl -sf "$oqto_url/api/auth/login" -H 'content-type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$password\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

# measure NAME URL [wrk args...] : prints "name req/s p50 p99"
measure() {
  local name=$1 target=$2; shift 2
  local out
  out=$(wrk -t2 -c"$connections" -d"$duration" --latency "$@" "$target")
  local rps p50 p99
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  if grep -q "Non-2xx" <<<"$out"; then echo "$name: non-2xx responses"; echo "$out"; exit 1; fi
  echo "$name $rps $p50 $p99"
}

mux_table=$(ulimit -n 65536 2>/dev/null; target/release/examples/mux_bench)
history_table=$(target/release/examples/history_bench)

results=$(
  measure "hyper hello-world (ceiling)" "$hello_url/" | sed 's/ (ceiling)/_(ceiling)/;s/ hello-world/_hello-world/'
  measure "GET /api/health" "$oqto_url/api/health" | sed 's|GET /api/health|GET_/api/health|'
  measure "GET /api/me" "$oqto_url/api/me" -H "Authorization: Bearer $token" | sed 's|GET /api/me|GET_/api/me_(Bearer)|'
)
# A login flood: wrong passwords for distinct names, 64 at a time (argon2id
# with the argon2 crate's defaults: m=19456 KiB, t=2, p=1). The server's
# memory before, at its peak and after.
rss() { awk -v k="$1" '$1==k":" {print int($2/1024)}' "/proc/$oqto_pid/status"; }
flood() {
  seq 1 "$1" | xargs -P 64 -I{} curl -s -o /dev/null -w '%{http_code}\n' "$oqto_url/api/auth/login" \
    -H 'content-type: application/json' -d '{"username":"flood{}","password":"wrong-password"}'
}
rss_before=$(rss VmRSS)
flood 64 >/dev/null
rss_first=$(rss VmRSS)
logins=512
start_ns=$(date +%s%N)
codes=$(flood $logins)
elapsed_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
login_table=$(cat <<TABLE
| logins | concurrency | 401 | 503 | elapsed | logins/s | RSS before / after 64 / after $logins more / peak (MiB) |
| ---: | ---: | ---: | ---: | ---: | ---: | --- |
| $logins | 64 | $(grep -c '^401' <<<"$codes" || true) | $(grep -c '^503' <<<"$codes" || true) | ${elapsed_ms} ms | $(( logins * 1000 / (elapsed_ms + 1) )) | $rss_before / $rss_first / $(rss VmRSS) / $(rss VmHWM) |
TABLE
)

ceiling=$(awk 'NR==1 {print $2}' <<<"$results")
table=$(awk -v c="$ceiling" '{ gsub("_", " ", $1); printf "| %s | %.0f | %s | %s | %.2f |\n", $1, $2, $3, $4, $2 / c }' <<<"$results")

cat > BENCHMARKS.md <<MD
# Benchmarks

Measured by \`make bench\` (\`tests/scripts/bench.sh\`) on $(nproc) cores, $(date -u +%Y-%m-%d):
release builds, \`wrk -t2 -c$connections -d$duration --latency\` on loopback, wrk sharing the
machine with the server. The ceiling is a raw hyper hello-world in the same run.

| target | req/s | p50 | p99 | ratio to ceiling |
| --- | ---: | ---: | ---: | ---: |
$table

\`GET /api/me\` checks the JWT signature and expiry, the in-memory revocation set and
per-user token state, then reads the user from the database (SQLite, WAL).

## Logins under a flood

Wrong logins for distinct names (so the per-account limit stays out of the way; the per-address
limit is lifted for this server), 64 at a time with curl. Password hashing runs on one thread per
core behind a bounded queue, so memory stays where the first burst put it however long the flood.

$login_table

## The multiplexed WebSocket

\`target/release/examples/mux_bench\` (\`tests/examples/mux_bench.rs\`): a release server with the
stand-in agent; clients are typed mux clients in one process on the same machine. A flood is
one prompt whose answer is that many text deltas; "events" are the chat's sequence numbers
(every agent event relayed), "frames" what a subscriber actually received after the server
merged the deltas that queued up while it was behind. Latency: the stand-in writes its wall
clock into each delta (2 ms apart, so nothing queues); the client subtracts it on arrival.

$mux_table

## History, search and files

\`target/release/examples/history_bench\` (\`tests/examples/history_bench.rs\`): a release server
on SQLite; one user with 1000 chats of 10 messages each (20 words from a 2000-word vocabulary),
written as Pi session files. The first listing indexes all 10k messages; later ones find nothing
new (the supervisor marks chats whose agents write, so nothing is re-read per request). Searches
are 200 queries of one or two of those words. Files are read over one mux connection, one request
at a time, against reading the same file in-process. Every HTTP figure is one request at a time,
against \`GET /api/health\` in the same run.

$history_table
MD
cat BENCHMARKS.md
