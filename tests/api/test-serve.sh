#!/usr/bin/env bash
# Integration test of `tte serve` on a free loopback port, driven with curl (TAP).
# Covers: bootstrap, healthz/readyz/metrics, the role x endpoint matrix, bad inputs,
# body caps, document register and withdrawal, audit API and offline verification,
# tamper detection with sqlite3, restart, SIGTERM graceful stop, sd_notify.
set -u
TTE="${TTE_BUILD_DIR:?TTE_BUILD_DIR not set}/api/tte"
WORK=$(mktemp -d /tmp/tte-serve-test.XXXXXX)
# TAP helpers, start_server/stop_server, cleanup of $WORK
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
matches() { [[ $1 =~ $2 ]]; }

require_tools curl sqlite3 python3

DB="$WORK/tte.db"
CONF="$WORK/tte.conf"
LOG="$WORK/serve.log"
cat >"$CONF" <<CONF
[server]
listen = 127.0.0.1:0
threads = 2
body_max = 65536
spool_threshold = 1024
spool_dir = $WORK
timeout = 10
shutdown_grace = 20
[database]
path = $DB
busy_timeout_ms = 500
CONF

# ---- helpers ---------------------------------------------------------------------------
# req METHOD PATH TOKEN [JSON] -> $STATUS, body in $WORK/body
req() {
  local method=$1 path=$2 token=$3 data=${4-}
  local args=(-s -o "$WORK/body" -w '%{http_code}' -X "$method")
  [ -n "$token" ] && args+=(-H "Authorization: Bearer $token")
  [ -n "$data" ] && args+=(-H 'Content-Type: application/json' --data-binary "$data")
  STATUS=$(curl "${args[@]}" "$BASE$path")
}

# json EXPR: evaluate a Python expression over the last body (bound to j)
json() { python3 -c "import json,sys; j=json.load(open('$WORK/body')); print($1)"; }

# The service writes compact JSON, so the error shape can be checked without a parser.
is_error_body() {
  grep -Eq '^\{"error":\{"code":"[A-Z_]+","message":"([^"\\]|\\.)+"\}\}$' "$WORK/body"
}

expect() { # expect DESC STATUS METHOD PATH TOKEN [JSON]
  local d=$1 want=$2; shift 2
  req "$@"
  if [ "$STATUS" = "$want" ]; then
    if [ "${want:0:1}" != 2 ] && ! is_error_body; then
      not_ok "$d (status $STATUS but body is not a JSON error: $(head -c 200 "$WORK/body"))"
    else
      ok "$d"
    fi
  else
    not_ok "$d (want $want, got $STATUS: $(head -c 200 "$WORK/body"))"
  fi
}

# ---- configuration files ----------------------------------------------------------------
EXAMPLE="${TTE_SOURCE_DIR:?}/api/tte.conf.example"
"$TTE" serve --config "$EXAMPLE" --check-config >/dev/null 2>&1
check "api/tte.conf.example is a valid configuration" [ $? = 0 ]
missing=$(sed -n 's/^\([a-z_]*\) =.*/\1/p' "$EXAMPLE" | while read -r k; do
  grep -q "\`$k\`" "$TTE_SOURCE_DIR/docs/config.md" || echo "$k"; done)
check "every key of the example is documented in docs/config.md (${missing:-all})" [ -z "$missing" ]
printf '[server]\nthreds = 1\n' >"$WORK/typo.conf"
"$TTE" serve --config "$WORK/typo.conf" --check-config >/dev/null 2>&1
check "a misspelt key is a usage error" [ $? = 2 ]

# ---- bootstrap (offline) ----------------------------------------------------------------
ADMIN=$("$TTE" serve --config "$CONF" --bootstrap-admin "first admin" 2>>"$LOG")
check "bootstrap-admin prints one token" matches "$ADMIN" '^tte_[A-Za-z0-9_-]{43}$'
read -r SIGNER_A TOKEN_A < <("$TTE" serve --config "$CONF" --bootstrap-signer 3201010101010001 \
  --name "Siti Aminah" --title "Sekretaris" --org "Dinas Kominfo" 2>>"$LOG")
read -r SIGNER_B TOKEN_B < <("$TTE" serve --config "$CONF" --bootstrap-signer budi@kominfo.go.id \
  --name "Budi" 2>>"$LOG")
check "bootstrap-signer prints id and token" matches "$SIGNER_A $TOKEN_A $SIGNER_B" '^s_[^ ]+ tte_[^ ]+ s_[^ ]+$'
"$TTE" serve --config "$CONF" --bootstrap-signer 3201010101010001 --name dup >/dev/null 2>&1
check "bootstrap-signer refuses a duplicate identifier" [ $? = 1 ]

# ---- start, probes ----------------------------------------------------------------------
check "server starts and reports its port" start_server
expect "GET /healthz" 200 GET /healthz ""
check "healthz body" [ "$(json "j['status']")" = ok ]
expect "GET /readyz" 200 GET /readyz ""
check "readyz checks the database" [ "$(json "j['checks']['database']")" = ok ]
req GET /metrics ""
check "GET /metrics is Prometheus text with counters and histogram" \
  grep -q 'tte_http_requests_total{route="/healthz",method="GET",status="200"} 1' "$WORK/body"
check "metrics histogram has +Inf bucket" grep -q 'tte_http_request_duration_seconds_bucket{route="/readyz",le="+Inf"} 1' "$WORK/body"

# A writer holding the database lock beyond busy_timeout_ms makes the service not ready.
printf 'BEGIN IMMEDIATE;\nUPDATE signers SET state = state;\n.shell sleep 3\nCOMMIT;\n' | sqlite3 "$DB" &
LOCK_PID=$!
sleep 1
expect "GET /readyz while another process holds the write lock -> 503" 503 GET /readyz ""
wait $LOCK_PID
expect "GET /readyz after the lock is released -> 200" 200 GET /readyz ""

# ---- role x endpoint matrix -------------------------------------------------------------
SIGNER_BODY='{"identifier":"matrix@x.go.id","name":"M"}'
TOKEN_BODY='{"role":"admin"}'
ADMIN_ONLY=(
  "GET /api/v1/admin/signers"
  "POST /api/v1/admin/signers $SIGNER_BODY"
  "POST /api/v1/admin/signers/s_none/disable"
  "POST /api/v1/admin/tokens $TOKEN_BODY"
  "DELETE /api/v1/admin/tokens/t_none"
  "GET /api/v1/audit"
  "GET /api/v1/audit/verify"
)
for e in "${ADMIN_ONLY[@]}"; do
  read -r m p b <<<"$e"
  expect "public $m $p -> 401" 401 "$m" "$p" "" "${b-}"
  expect "signer $m $p -> 403" 403 "$m" "$p" "$TOKEN_A" "${b-}"
  expect "bad token $m $p -> 401" 401 "$m" "$p" "tte_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "${b-}"
done
expect "public withdraw -> 401" 401 POST /api/v1/documents/d_x/withdraw "" '{"reason":"x"}'
expect "bad token on a public endpoint -> 401" 401 GET /api/v1/documents/d_x "garbage"
req GET /healthz "" ; check "401 carries WWW-Authenticate" \
  bash -c "curl -s -i -X GET '$BASE/api/v1/audit' | grep -qi '^WWW-Authenticate: Bearer'"

# ---- admin flows ------------------------------------------------------------------------
expect "admin creates a signer" 201 POST /api/v1/admin/signers "$ADMIN" \
  '{"identifier":"3201010101010099","name":"Rina","title":"Kepala","organization":"Bappeda"}'
SIGNER_C=$(json "j['signer']['id']")
expect "duplicate identifier -> 409" 409 POST /api/v1/admin/signers "$ADMIN" \
  '{"identifier":"3201010101010099","name":"Rina"}'
expect "admin lists signers" 200 GET /api/v1/admin/signers "$ADMIN"
check "list holds the three signers" [ "$(json "len(j['signers'])")" = 3 ]
expect "admin issues a signer token" 201 POST /api/v1/admin/tokens "$ADMIN" \
  "{\"role\":\"signer\",\"signer_id\":\"$SIGNER_C\",\"label\":\"e-office\"}"
TOKEN_C=$(json "j['token']"); TOKEN_C_ID=$(json "j['id']")
check "issued token is shown with its id" matches "$TOKEN_C $TOKEN_C_ID" '^tte_[^ ]{43} t_[^ ]+$'
expect "token for an unknown signer -> 400" 400 POST /api/v1/admin/tokens "$ADMIN" \
  '{"role":"signer","signer_id":"s_nobody"}'
expect "admin token with signer_id -> 400" 400 POST /api/v1/admin/tokens "$ADMIN" \
  "{\"role\":\"admin\",\"signer_id\":\"$SIGNER_C\"}"
expect "role public -> 400" 400 POST /api/v1/admin/tokens "$ADMIN" '{"role":"public"}'
expect "new signer token works (403 on admin endpoint, not 401)" 403 GET /api/v1/audit "$TOKEN_C"
expect "admin revokes the token" 200 DELETE "/api/v1/admin/tokens/$TOKEN_C_ID" "$ADMIN"
expect "revoked token -> 401" 401 GET /api/v1/audit "$TOKEN_C"
expect "revoking again -> 404" 404 DELETE "/api/v1/admin/tokens/$TOKEN_C_ID" "$ADMIN"
expect "admin disables signer B" 200 POST "/api/v1/admin/signers/$SIGNER_B/disable" "$ADMIN"
expect "disabling again -> 409" 409 POST "/api/v1/admin/signers/$SIGNER_B/disable" "$ADMIN"
expect "disable unknown signer -> 404" 404 POST /api/v1/admin/signers/s_none/disable "$ADMIN"
expect "disabled signer's token -> 401" 401 POST /api/v1/documents/d_x/withdraw "$TOKEN_B" '{"reason":"x"}'

# ---- documents (rows inserted as the signing endpoint will, until it exists) ------------
NOW=$(($(date +%s) * 1000000))
sqlite3 "$DB" "PRAGMA busy_timeout=5000;
  INSERT INTO documents (id, signer_id, signed_at, sha256, status) VALUES
  ('docA1', '$SIGNER_A', $NOW, '$(printf a%.0s {1..64})', 'valid'),
  ('docA2', '$SIGNER_A', $NOW, '$(printf b%.0s {1..64})', 'valid'),
  ('docC1', '$SIGNER_C', $NOW, '$(printf c%.0s {1..64})', 'valid');" >/dev/null
expect "public reads a register record" 200 GET /api/v1/documents/docA1 ""
check "record shows signer name, status, no NIK" \
  bash -c "[ \"\$(python3 -c \"import json; j=json.load(open('$WORK/body')); print(j['status'], j['signer']['name'])\")\" = 'valid Siti Aminah' ] && ! grep -q 3201010101010001 '$WORK/body'"
expect "unknown document -> 404" 404 GET /api/v1/documents/nope ""
expect "id with bad characters -> 404" 404 GET '/api/v1/documents/a%27b' ""
expect "signer C may not withdraw signer A's letter -> 401 (token revoked) " 401 POST /api/v1/documents/docA1/withdraw "$TOKEN_C" '{"reason":"x"}'
expect "admin issues a second token for C" 201 POST /api/v1/admin/tokens "$ADMIN" \
  "{\"role\":\"signer\",\"signer_id\":\"$SIGNER_C\"}"
TOKEN_C2=$(json "j['token']")
expect "other signer withdraws -> 403" 403 POST /api/v1/documents/docA1/withdraw "$TOKEN_C2" '{"reason":"not mine"}'
expect "withdraw without reason -> 400" 400 POST /api/v1/documents/docA1/withdraw "$TOKEN_A" '{}'
expect "own signer withdraws" 200 POST /api/v1/documents/docA1/withdraw "$TOKEN_A" '{"reason":"salah alamat"}'
check "record now withdrawn with reason" [ "$(json "j['status'] + '/' + j['withdraw_reason']")" = "withdrawn/salah alamat" ]
expect "withdraw twice -> 409" 409 POST /api/v1/documents/docA1/withdraw "$TOKEN_A" '{"reason":"again"}'
expect "admin withdraws any letter" 200 POST /api/v1/documents/docC1/withdraw "$ADMIN" '{"reason":"admin"}'
expect "withdraw unknown document -> 404" 404 POST /api/v1/documents/nope/withdraw "$ADMIN" '{"reason":"x"}'

# ---- bad inputs -------------------------------------------------------------------------
expect "malformed JSON -> 400" 400 POST /api/v1/admin/signers "$ADMIN" '{"identifier":'
expect "JSON array -> 400" 400 POST /api/v1/admin/signers "$ADMIN" '[1,2]'
expect "empty body -> 400" 400 POST /api/v1/admin/signers "$ADMIN"
expect "missing field -> 400" 400 POST /api/v1/admin/signers "$ADMIN" '{"identifier":"q@x.id"}'
expect "wrong type -> 400" 400 POST /api/v1/admin/signers "$ADMIN" '{"identifier":"q@x.id","name":5}'
expect "duplicate keys -> 400" 400 POST /api/v1/admin/signers "$ADMIN" '{"identifier":"q@x.id","name":"a","name":"b"}'
expect "control characters -> 400" 400 POST /api/v1/admin/signers "$ADMIN" '{"identifier":"q@x.id","name":"a\u0000b"}'
expect "bad identifier -> 400" 400 POST /api/v1/admin/signers "$ADMIN" '{"identifier":"12","name":"a"}'
expect "unknown route -> 404" 404 GET /api/v1/nothing ""
expect "wrong method -> 405" 405 PUT /healthz ""
expect "bad audit filter -> 400" 400 GET '/api/v1/audit?since=yesterday' "$ADMIN"
head -c 8000000 /dev/zero >"$WORK/big"
UP=$(curl -s -o "$WORK/body" -w '%{http_code} %{size_upload}' -H 'Expect: 100-continue' -H "Authorization: Bearer $ADMIN" \
  -H 'Content-Type: application/json' --data-binary @"$WORK/big" "$BASE/api/v1/admin/signers")
check "oversize body (Content-Length) -> 413 before any byte is read ($UP)" [ "$UP" = "413 0" ]
check "413 body is a JSON error" is_error_body
UP=$(curl -s -o "$WORK/body" -w '%{http_code} %{size_upload}' -H 'Expect:' -H "Authorization: Bearer $ADMIN" \
  --data-binary @"$WORK/big" "$BASE/api/v1/admin/signers")
# Without Expect the client may see the reset of the closed connection before the 413.
check "oversize body without Expect -> 413 or reset, not read in full ($UP)" \
  bash -c "[ '${UP%% *}' = 413 -o '${UP%% *}' = 000 ] && [ '${UP##* }' -lt 8000000 ]"
head -c 200000 /dev/zero >"$WORK/over"
UP=$(curl -s -o "$WORK/body" -w '%{http_code}' -H 'Transfer-Encoding: chunked' -H 'Expect:' \
  -H "Authorization: Bearer $ADMIN" --data-binary @"$WORK/over" "$BASE/api/v1/admin/signers")
check "oversize chunked body -> 413 after draining ($UP)" [ "$UP" = 413 ]
UP=$(curl -s -o "$WORK/body" -w '%{http_code}' -H 'Transfer-Encoding: chunked' -H 'Expect:' \
  -H "Authorization: Bearer $ADMIN" --data-binary @"$WORK/big" "$BASE/api/v1/admin/signers")
check "far oversize chunked body -> connection closed ($UP)" [ "$UP" = 000 ]
UP=$(curl -s -o "$WORK/body" -w '%{http_code} %{size_upload}' -H 'Expect:' --data-binary @"$WORK/big" \
  "$BASE/api/v1/admin/signers")
check "unauthenticated upload refused before the body ($UP)" \
  bash -c "[ '${UP%% *}' = 401 -o '${UP%% *}' = 000 ] && [ '${UP##* }' -lt 8000000 ]"
UP=$(curl -s -o "$WORK/body" -w '%{http_code} %{size_upload}' -H 'Expect: 100-continue' \
  --data-binary @"$WORK/big" "$BASE/api/v1/admin/signers")
check "unauthenticated upload with Expect: 401, nothing uploaded ($UP)" [ "$UP" = "401 0" ]
python3 -c "import json; print(json.dumps({'identifier':'spool@x.id','name':'Spool','pad':'p'*20000}))" >"$WORK/mid"
UP=$(curl -s -o "$WORK/body" -w '%{http_code}' -H "Authorization: Bearer $ADMIN" --data-binary @"$WORK/mid" \
  "$BASE/api/v1/admin/signers")
check "a 20 kB body (spooled to an unlinked file) is accepted" [ "$UP" = 201 ]
check "no spool files are left behind" bash -c "! ls '$WORK' | grep -q tte-upload"

# ---- concurrent writers through HTTP (group commit) ------------------------------------
seq 1 40 | xargs -P 16 -I{} curl -s -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer $ADMIN" \
  --data-binary '{"identifier":"par{}@x.go.id","name":"P"}' "$BASE/api/v1/admin/signers" >"$WORK/par.out"
check "40 concurrent creations all 201 ($(sort "$WORK/par.out" | uniq -c | tr -s ' \n' ' '))" \
  [ "$(grep -c '^201$' "$WORK/par.out")" = 40 ]

# ---- audit API --------------------------------------------------------------------------
expect "admin reads the audit log" 200 GET '/api/v1/audit?action=document.withdraw' "$ADMIN"
check "filter by action" [ "$(json "sorted(set(e['action'] for e in j['entries']))")" = "['document.withdraw']" ]
check "withdrawal audited with actor and reason" [ "$(json "[ (e['actor'], e['details']['reason']) for e in j['entries'] ][0]")" = "('signer:$SIGNER_A', 'salah alamat')" ]
expect "audit filter by actor + paging" 200 GET "/api/v1/audit?actor=cli:bootstrap&limit=2" "$ADMIN"
check "page of 2 with next_after_id" [ "$(json "(len(j['entries']), 'next_after_id' in j)")" = "(2, True)" ]
expect "audit verify via API" 200 GET /api/v1/audit/verify "$ADMIN"
check "chain ok" [ "$(json "j['ok']")" = True ]

# ---- secrets never leak -----------------------------------------------------------------
leaks=0
for t in "$ADMIN" "$TOKEN_A" "$TOKEN_B" "$TOKEN_C" "$TOKEN_C2"; do
  for f in "$LOG" "$DB" "$DB-wal"; do
    [ -f "$f" ] && grep -aqF "$t" "$f" && leaks=1
  done
done
check "no API token in the log or the database files" [ $leaks = 0 ]

# ---- SIGTERM: stop accepting, finish in-flight -----------------------------------------
python3 -c "import json; print(json.dumps({'identifier':'slow@x.id','name':'Slow','pad':'p'*40000}))" >"$WORK/slow"
curl -s -o "$WORK/slow.out" -w '%{http_code}' --limit-rate 10k -H 'Expect:' -H "Authorization: Bearer $ADMIN" \
  --data-binary @"$WORK/slow" "$BASE/api/v1/admin/signers" >"$WORK/slow.status" &
CURL_PID=$!
sleep 1.5
kill -TERM "$SERVER_PID"
sleep 0.5
NEW=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$BASE/healthz")
check "after SIGTERM new connections are refused (got '$NEW')" [ "$NEW" = 000 ]
wait $CURL_PID
check "the in-flight upload still completed with 201" [ "$(cat "$WORK/slow.status")" = 201 ]
wait "$SERVER_PID"; RC=$?; SERVER_PID=
check "server exited 0 after SIGTERM" [ $RC = 0 ]
check "log says stopped" grep -q 'tte: stopped' "$LOG"

# ---- restart keeps data -----------------------------------------------------------------
check "server restarts on the same database" start_server
expect "signers survive a restart" 200 GET /api/v1/admin/signers "$ADMIN"
check "all 45 signers present" [ "$(json "len(j['signers'])")" = 45 ]
expect "withdrawn letter still withdrawn" 200 GET /api/v1/documents/docA1 ""
check "status persisted" [ "$(json "j['status']")" = withdrawn ]
check "SIGINT also stops cleanly" bash -c "kill -INT $SERVER_PID; wait $SERVER_PID 2>/dev/null; true"
wait "$SERVER_PID" 2>/dev/null; SERVER_PID=

# ---- sd_notify --------------------------------------------------------------------------
NS="$WORK/notify.sock"
python3 - "$NS" >"$WORK/notify.out" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); s.settimeout(20)
try:
    print(s.recv(256).decode())
except Exception as e:
    print("timeout", e)
PY
NPID=$!
for _ in $(seq 1 50); do [ -S "$NS" ] && break; sleep 0.1; done
NOTIFY_SOCKET="$NS" start_server
wait $NPID
check "READY=1 sent to \$NOTIFY_SOCKET" grep -q '^READY=1$' "$WORK/notify.out"
check "stop after notify" stop_server

# ---- TLS (libmicrohttpd + GnuTLS) -----------------------------------------------------
if command -v openssl >/dev/null; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
    -keyout "$WORK/tls-key.pem" -out "$WORK/tls-cert.pem" 2>/dev/null
  cp "$CONF" "$WORK/tls.conf"
  printf '[server]\ntls_cert = %s\ntls_key = %s\n' "$WORK/tls-cert.pem" "$WORK/tls-key.pem" >>"$WORK/tls.conf"
  # GKeyFile merges a repeated group, so the TLS keys join [server].
  PLAIN_CONF=$CONF; CONF="$WORK/tls.conf"
  check "server starts with TLS" start_server
  UP=$(curl -s -o "$WORK/body" -w '%{http_code}' --cacert "$WORK/tls-cert.pem" "https://localhost:$PORT/healthz")
  check "HTTPS request succeeds ($UP)" [ "$UP" = 200 ]
  UP=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://127.0.0.1:$PORT/healthz")
  check "plain HTTP to the TLS port fails ($UP)" [ "$UP" = 000 ]
  check "stop TLS server" stop_server
  CONF=$PLAIN_CONF
else
  N=$((N + 1)); echo "ok $N - TLS # SKIP openssl not installed"
fi

# ---- offline audit tools and tamper detection --------------------------------------------
OUT=$("$TTE" audit verify --db "$DB"); RC=$?
check "tte audit verify: intact log exits 0 ($OUT)" [ $RC = 0 ]
COUNT=$("$TTE" audit list --db "$DB" --action token.issue | wc -l)
check "tte audit list --action token.issue ($COUNT entries)" [ "$COUNT" = 5 ]
"$TTE" audit list --db "$DB" --json --actor cli:bootstrap --since 2000-01-01 >"$WORK/list.json"
check "tte audit list --json --actor --since" python3 -c "
import json
rows=[json.loads(l) for l in open('$WORK/list.json')]
assert rows and all(r['actor']=='cli:bootstrap' for r in rows)"
"$TTE" audit verify >/dev/null 2>&1
check "tte audit verify without --db is a usage error" [ $? = 2 ]
cp "$DB" "$WORK/copy.db"
sqlite3 "$DB" "DROP TRIGGER audit_no_update; UPDATE audit SET details='{\"reason\":\"edited\"}' WHERE action='document.withdraw' AND subject='docA1';"
BAD=$(sqlite3 "$DB" "SELECT id FROM audit WHERE subject='docA1'")
OUT=$("$TTE" audit verify --db "$DB"); RC=$?
check "edited row: exit 1 naming entry #$BAD ($OUT)" bash -c "[ $RC = 1 ] && grep -q '#$BAD:' <<<'$OUT'"
sqlite3 "$WORK/copy.db" "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE id = 4;"
OUT=$("$TTE" audit verify --db "$WORK/copy.db"); RC=$?
check "deleted row: exit 1 naming entry #5 ($OUT)" bash -c "[ $RC = 1 ] && grep -q '#5:' <<<'$OUT'"

tap_done
