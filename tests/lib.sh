# tests/lib.sh — what the bash TAP integration tests share (sourced, not run).
#
#   . "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
#
# Set before sourcing: WORK (a fresh temporary directory, removed on exit) and TTE (the
# tte binary).  Set before calling start_server: CONF (the configuration; it must
# listen on port 0 unless --listen is given) and optionally LOG (default
# $WORK/serve.log).
#
#   ok DESC / not_ok DESC          one TAP line; N counts them, FAILED=1 after a not ok
#   check DESC CMD [ARGS...]       ok when CMD succeeds, else not ok
#   tap_done                       prints the plan "1..N" and exits with FAILED
#   start_server [ARGS...]         tte serve --config $CONF --port-file ... [ARGS] in the
#                                  background; waits for the bound port, sets SERVER_PID,
#                                  PORT and BASE; fails when it does not come up
#   stop_server                    SIGTERM, wait; returns the server's exit status
#   require_tools TOOL...          skip the whole test (plan 1..0) unless each is on PATH
#   demo_tokens DIR                the demo PKI and tokens in DIR (certs-example/demo-setup,
#                                  idempotent; needs SRC); exports SOFTHSM2_CONF; skips
#                                  the test when demo-setup fails
# A trap stops a server still running and removes $WORK when the script exits.
: "${WORK:?set WORK before sourcing tests/lib.sh}" "${TTE:?set TTE before sourcing tests/lib.sh}"
N=0
FAILED=0
SERVER_PID=
PORT=0
BASE=

ok() {
  N=$((N + 1))
  echo "ok $N - $*"
  if [ -n "${TTE_TEST_TIMES-}" ]; then date +%T.%N >&2; fi
}
not_ok() { N=$((N + 1)); FAILED=1; echo "not ok $N - $*"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
tap_done() { echo "1..$N"; exit "$FAILED"; }

tests_lib_cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
  fi
  rm -rf "$WORK"
}
trap tests_lib_cleanup EXIT

start_server() {
  rm -f "$WORK/port"
  "$TTE" serve --config "${CONF:?set CONF before start_server}" --port-file "$WORK/port" "$@" \
    2>>"${LOG:-$WORK/serve.log}" &
  SERVER_PID=$!
  # Up to 20 s: ASan builds on a busy machine start slowly.
  for _ in $(seq 1 200); do
    [ -s "$WORK/port" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  PORT=$(cat "$WORK/port" 2>/dev/null || echo 0)
  BASE="http://127.0.0.1:$PORT"
  [ "$PORT" != 0 ]
}

# call METHOD PATH TOKEN [curl args...] -> $STATUS, body in $WORK/body, headers in $WORK/hdr
call() {
  local method=$1 path=$2 token=$3
  shift 3
  local args=(-s -o "$WORK/body" -D "$WORK/hdr" -w '%{http_code}' -X "$method")
  [ -n "$token" ] && args+=(-H "Authorization: Bearer $token")
  STATUS=$(curl "${args[@]}" "$@" "$BASE$path")
}
code() { jq -r '.error.code // empty' "$WORK/body" 2>/dev/null; }
want() { # want DESC STATUS [CODE]: the last call answered STATUS (and error code CODE)
  local d=$1 s=$2 c=${3-}
  if [ "$STATUS" = "$s" ] && { [ -z "$c" ] || [ "$(code)" = "$c" ]; }; then
    ok "$d"
  else
    not_ok "$d (want $s${c:+ $c}, got $STATUS: $(head -c 300 "$WORK/body"))"
  fi
}

stop_server() {
  kill -TERM "$SERVER_PID" && wait "$SERVER_PID"
  local rc=$?
  SERVER_PID=
  return $rc
}

require_tools() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "1..0 # SKIP $tool not installed"; exit 0; }
  done
}

demo_tokens() {
  mkdir -p "$1"
  if ! TTE="$TTE" DEMO_QUIET=1 "$SRC/certs-example/demo-setup" "$1" >"$WORK/demo.log" 2>&1; then
    echo "1..0 # SKIP demo-setup failed: $(tail -3 "$WORK/demo.log" | tr '\n' ' ')"
    exit 0
  fi
  export SOFTHSM2_CONF="$1/softhsm2.conf"
}
