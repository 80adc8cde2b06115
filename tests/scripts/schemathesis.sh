#!/usr/bin/env bash
# Contract fuzzing: schemathesis against a running oqto (debug build) with the
# checked-in document, authenticated as the first administrator, over every
# operation. Fails on any server error or any response that breaks the
# document. New operations are covered without changes here.
#
# Excluded: operations that would end the run's own session (logout,
# password change). The WebSocket upgrade (mux_connect) is covered by the mux
# tests, the voice sockets by the voice tests, the browser's screen by the
# browser test, the never-ending metrics stream
# (admin_metrics_stream) by the metrics tests.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
venv=${OQTO_VENV:-$root/target/venv}
target_dir=${CARGO_TARGET_DIR:-$root/target}
oqto=${OQTO_BIN:-$target_dir/debug/oqto}

if [ ! -x "$venv/bin/st" ]; then
  python3 -m venv "$venv"
  for try in 1 2 3; do
    "$venv/bin/pip" install --quiet -r "$root/tools/schemathesis/requirements.txt" && break
    [ "$try" = 3 ] && exit 1
    echo "!! pip install failed (try $try of 3); again in 20 s"; sleep 20
  done
fi

data=$(mktemp -d)
log="$data/server.log"
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$data"' EXIT
# Routes that start agents (delegation) get the stand-in agent, as in the
# end-to-end tests; a missing agent program would be a 503.
standin="$target_dir/debug/oqto-standin-agent"
env -u OQTO_CONFIG XDG_CONFIG_HOME="$data/config" OQTO_AGENT__COMMAND="['$standin', '--mode', 'rpc']" \
  "$oqto" serve --bind 127.0.0.1:0 --data-dir "$data/oqto" >"$data/stdout" 2>"$log" &
pid=$!
url=""
for _ in $(seq 1 100); do
  url=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$data/stdout" | head -1)
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { echo "oqto did not start:"; cat "$log"; exit 1; }
password=$(cat "$data/oqto/initial-admin-password")
token=$(curl -sf "$url/api/auth/login" -H 'content-type: application/json' \
  -d "{\"username\":\"admin\",\"password\":\"$password\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

"$venv/bin/st" run "$root/api-spec/openapi/oqto.json" \
  --url "$url" \
  -H "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --exclude-operation-id auth_logout \
  --exclude-operation-id auth_password_change \
  --exclude-operation-id mux_connect \
  --exclude-operation-id admin_metrics_stream \
  --exclude-operation-id voice_stt \
  --exclude-operation-id voice_tts \
  --exclude-operation-id browser_stream \
  --max-examples "${OQTO_FUZZ_EXAMPLES:-50}" \
  --workers 2 \
  --suppress-health-check all \
  "$@"
