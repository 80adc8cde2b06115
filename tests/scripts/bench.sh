#!/usr/bin/env bash
# Load figures (not a test), in one run against release builds on loopback,
# written to BENCHMARKS.md:
# - the ceilings: a raw hyper hello-world and a Dropshot hello-world;
# - on SQLite, then on PostgreSQL when one answers on OQTO_TEST_PG_URL: a
#   server seeded with 1000 chats and 50 workspace sessions, under wrk at 64
#   connections (health, /me, sessions, a history page), logins against the
#   bare argon2 rate, and the history/search/files figures one request at a
#   time at 100 / 1000 / 10000 chats;
# - the mux relay and idle connections (SQLite).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
duration=${BENCH_DURATION:-5s}
connections=${BENCH_CONNECTIONS:-64}
sizes=${BENCH_CHATS:-100 1000 10000}
pg_url=${OQTO_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/test}

if ! command -v wrk >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
fi
cargo build --release -p oqto-server --bin oqto -p oqto-tests --bin oqto-standin-agent \
  --example hyper_hello --example dropshot_hello --example mux_bench --example history_bench \
  --example argon2_rate
ulimit -n 65536 2>/dev/null || true

work=$(mktemp -d)
pids=()
cleanup() {
  exec 3>&- 2>/dev/null || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# wait_url NAME : waits for "listening on URL" in $work/NAME.out, sets $url
wait_url() {
  url=""
  for _ in $(seq 1 600); do
    url=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$work/$1.out" | head -1)
    [ -n "$url" ] && return 0
    sleep 0.1
  done
  echo "$1 did not start"; cat "$work/$1.err"; exit 1
}

# start NAME CMD... : runs a server in the background, sets $url
start() {
  local name=$1; shift
  "$@" >"$work/$name.out" 2>"$work/$name.err" &
  pids+=($!)
  wait_url "$name"
}

# measure NAME URL [wrk args...] : prints "NAME req/s p50 p99" (NAME without spaces)
measure() {
  local name=$1 target=$2; shift 2
  local out
  out=$(wrk -t2 -c"$connections" -d"$duration" --latency "$@" "$target")
  if grep -q "Non-2xx" <<<"$out"; then echo "$name: non-2xx responses" >&2; echo "$out" >&2; exit 1; fi
  echo "$name $(awk '/^Requests\/sec/ {print $2}' <<<"$out") $(awk '$1=="50%" {print $2}' <<<"$out") \
$(awk '$1=="99%" {print $2}' <<<"$out")"
}

start hello target/release/examples/hyper_hello 127.0.0.1:0
hyper=$(measure "hyper_hello-world" "$url/")
start dropshot target/release/examples/dropshot_hello 127.0.0.1:0
dropshot=$(measure "Dropshot_hello-world" "$url/api/health")
dropshot_rps=$(awk '{print $2}' <<<"$dropshot")
hyper_rps=$(awk '{print $2}' <<<"$hyper")

read -r argon2_params argon2_rate < <(target/release/examples/argon2_rate 4)

cat > "$work/login.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["content-type"] = "application/json"
wrk.body = '{"username":"bench","password":"correct horse battery"}'
LUA

# backend_tables BACKEND : the load table, the login line and the history table
backend_tables() {
  local backend=$1
  mkfifo "$work/hold-$backend"
  OQTO_TEST_DB=$backend OQTO_TEST_PG_URL=$pg_url \
    target/release/examples/history_bench --serve 1000 50 <"$work/hold-$backend" \
    >"$work/fixture-$backend.out" 2>"$work/fixture-$backend.err" &
  local fixture=$!
  exec 3>"$work/hold-$backend"
  wait_url "fixture-$backend"
  local token
  token=$(sed -n 's/^token //p' "$work/fixture-$backend.out")
  local rows
  rows=$(
    measure "GET_/api/health" "$url/api/health"
    measure "GET_/api/me_(Bearer)" "$url/api/me" -H "Authorization: Bearer $token"
    measure "GET_/api/sessions_(50_sessions)" "$url/api/sessions" -H "Authorization: Bearer $token"
    measure "GET_/api/chat-history?limit=50_(1000_chats)" "$url/api/chat-history?limit=50" \
      -H "Authorization: Bearer $token"
  )
  local login_out login_rps login_p50
  login_out=$(wrk -t2 -c8 -d"$duration" --latency -s "$work/login.lua" "$url/api/auth/login")
  # Refusals (the login limits, a full hashing queue) are counted, not fatal.
  local refused
  refused=$(awk '/Non-2xx/ {print $5}' <<<"$login_out")
  # Accepted logins per second (refusals are quick and not counted).
  login_rps=$(awk -v r="$(awk '/Non-2xx/ {print $5}' <<<"$login_out")" \
    '/requests in/ {sub("s,", "", $4); printf "%.1f", ($1 - r) / $4}' <<<"$login_out")
  login_p50=$(awk '$1=="50%" {print $2}' <<<"$login_out")
  exec 3>&-
  wait "$fixture" || true
  echo "### Under load ($backend)"
  echo
  echo "| target | req/s | p50 | p99 | × Dropshot hello | × hyper hello |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: |"
  awk -v d="$dropshot_rps" -v h="$hyper_rps" \
    '{ gsub("_", " ", $1); printf "| %s | %.0f | %s | %s | %.2f | %.2f |\n", $1, $2, $3, $4, $2 / d, $2 / h }' \
    <<<"$rows"
  printf '| POST /api/auth/login (correct password, 8 connections; %s refused, not counted) | %.1f | %s | | %s of bare argon2 (%s/s) | |\n' \
    "${refused:-0}" "$login_rps" "$login_p50" "$(awk -v l="$login_rps" -v a="$argon2_rate" 'BEGIN {printf "%.2f", l / a}')" \
    "$argon2_rate"
  echo
  echo "### One request at a time ($backend)"
  echo
  # shellcheck disable=SC2086
  OQTO_TEST_DB=$backend OQTO_TEST_PG_URL=$pg_url target/release/examples/history_bench $sizes
  echo
}

sqlite_tables=$(backend_tables sqlite)
pg_host=$(sed -E 's|^[a-z]+://([^@/]*@)?([^/:?]+)(:([0-9]+))?.*|\2|' <<<"$pg_url")
pg_port=$(sed -E 's|^[a-z]+://([^@/]*@)?([^/:?]+)(:([0-9]+))?.*|\4|' <<<"$pg_url")
if timeout 3 bash -c "</dev/tcp/$pg_host/${pg_port:-5432}" 2>/dev/null; then
  pg_tables=$(backend_tables postgres)
else
  pg_tables="PostgreSQL did not answer at $pg_host:${pg_port:-5432}: not measured."
fi
mux_table=$(target/release/examples/mux_bench)

ceilings=$(printf '%s\n%s\n' "$hyper" "$dropshot" | awk -v d="$dropshot_rps" -v h="$hyper_rps" \
  '{ gsub("_", " ", $1); printf "| %s | %.0f | %s | %s | %.2f | %.2f |\n", $1, $2, $3, $4, $2 / d, $2 / h }')

cat > BENCHMARKS.md <<MD
# Benchmarks

Measured by \`make bench\` (\`tests/scripts/bench.sh\`) on $(nproc) cores, $(date -u +%Y-%m-%d), in one
run: release builds, \`wrk -t2 -c$connections -d$duration --latency\` on loopback, wrk sharing the
machine with the server. The ceilings are a raw hyper hello-world and a Dropshot hello-world
(\`tests/examples/dropshot_hello.rs\`: one endpoint answering health's body, logging every request
at \`info\` as the server does), measured in the same run.

## Ceilings

| target | req/s | p50 | p99 | × Dropshot hello | × hyper hello |
| --- | ---: | ---: | ---: | ---: | ---: |
$ceilings

## SQLite

The server under load is \`history_bench --serve 1000 50\`: the user \`bench\` with 1000 indexed
chats of 10 messages and 50 workspace sessions. Health reads the liveness a background probe
keeps (one \`SELECT 1\` a second); \`/me\` and every authenticated route take the caller's row from
the auth cache. The session list and chat-history pages are kept serialised per user until one of
the user's writes (or an agent starting or stopping) changes them, so these rows measure a list
read again unchanged; the one-at-a-time table also shows pages that are not kept. Logins verify
argon2id ($argon2_params) on the server's hashing threads, each reusing its memory; the bare rate
is \`target/release/examples/argon2_rate\` (allocating per verification, as the argon2 crate does)
on all cores in the same run.

One request at a time: \`target/release/examples/history_bench $sizes\`, a fresh server per size:
chats of 10 messages (20 words from a 2000-word vocabulary) written as Pi session files; the
first look indexes them all; searches are 200 queries of one or two of those words; files are
read over one mux connection (one read at a time, each waiting for its reply), the bytes raw in a
binary frame (\`read\` with \`binary: true\`) or base64 in JSON as the original sends them, against
reading the same file in-process.

$sqlite_tables

## PostgreSQL

The same on PostgreSQL (\`OQTO_TEST_DB=postgres\`, a fresh database on the local server).

$pg_tables

## The multiplexed WebSocket

\`target/release/examples/mux_bench\` (\`tests/examples/mux_bench.rs\`): a release server with the
stand-in agent on SQLite; clients are typed mux clients in one process on the same machine. A
flood is one prompt whose answer is that many text deltas; "events" are the chat's sequence
numbers (every agent event relayed), "frames" what a subscriber actually received after the
server merged the deltas that queued up while it was behind. Latency: the stand-in writes its
wall clock into each delta (2 ms apart, so nothing queues); the client subtracts it on arrival.

$mux_table
MD
cat BENCHMARKS.md
