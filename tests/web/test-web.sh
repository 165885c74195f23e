#!/usr/bin/env bash
# Browser acceptance test of the citizen verification pages (TAP).
#
# Prepares a running `tte serve` on a free loopback port with a temporary database, the
# demo PKI and SoftHSM2 token, a letter signed through POST /api/v1/sign and a tampered
# copy; then web.spec.mjs drives headless Chromium (Debian's, through playwright-core)
# through the pages and prints the TAP lines.  Screenshots are kept in
# $TTE_BUILD_DIR/tests/web/screenshots/.  Skips when chromium or node is missing.
set -u
: "${TTE_BUILD_DIR:?TTE_BUILD_DIR not set}" "${TTE_SOURCE_DIR:?TTE_SOURCE_DIR not set}"
TTE="$TTE_BUILD_DIR/api/tte"
HERE="$TTE_SOURCE_DIR/tests/web"
OUT="$TTE_BUILD_DIR/tests/web"
CHROMIUM=${TTE_CHROMIUM:-/usr/bin/chromium}
WORK=$(mktemp -d /tmp/tte-web-test.XXXXXX)
CONF="$WORK/tte.conf"
# start_server/stop_server and cleanup of $WORK (the TAP lines come from web.spec.mjs)
. "$TTE_SOURCE_DIR/tests/lib.sh"

skip() { echo "1..0 # SKIP $*"; exit 0; }
# Setup failures are not browser failures: print the reason as a failing TAP plan.
bail() { echo "Bail out! $*"; [ -f "$WORK/serve.log" ] && tail -20 "$WORK/serve.log" | sed 's/^/# /'; exit 1; }

[ -x "$CHROMIUM" ] || skip "chromium not installed ($CHROMIUM)"
command -v node >/dev/null || skip "node not installed"
command -v npm >/dev/null || skip "npm not installed"
for tool in curl python3 qpdf; do
  command -v $tool >/dev/null || skip "$tool not installed"
done

# playwright-core, pinned by package-lock.json; installed once into tests/web/node_modules.
if [ ! -d "$HERE/node_modules/playwright-core" ]; then
  (cd "$HERE" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >"$WORK/npm.log" 2>&1) ||
    skip "npm ci failed: $(tail -2 "$WORK/npm.log" | tr '\n' ' ')"
fi

# ---- demo PKI and token (kept in the build tree: demo-setup is idempotent) ---------------
DEMO="$OUT/demo"
mkdir -p "$DEMO" "$OUT/screenshots"
rm -f "$OUT"/screenshots/*.png
TTE="$TTE" DEMO_QUIET=1 "$TTE_SOURCE_DIR/certs-example/demo-setup" "$DEMO" >"$WORK/demo.log" 2>&1 ||
  bail "demo-setup failed: $(tail -3 "$WORK/demo.log" | tr '\n' ' ')"
export SOFTHSM2_CONF="$DEMO/softhsm2.conf"
PIN=$(cat "$DEMO/pins/opd-kominfo.pin")

# ---- service ----------------------------------------------------------------------------
cat >"$WORK/tte.conf" <<CONF
[server]
listen = 127.0.0.1:0
threads = 2
body_max = 4194304
spool_threshold = 262144
spool_dir = $WORK
timeout = 60
[database]
path = $WORK/tte.db
[verify]
trust_roots = $DEMO/pki/root.pem
intermediates = $DEMO/pki/intermediate.pem
crls = $DEMO/pki/root.crl;$DEMO/pki/intermediate.crl
CONF
ADMIN=$("$TTE" serve --config "$WORK/tte.conf" --bootstrap-admin admin 2>>"$WORK/serve.log") ||
  bail "bootstrap admin"
read -r SIGNER STOKEN < <("$TTE" serve --config "$WORK/tte.conf" --bootstrap-signer 5203014107850001 \
  --name "Baiq Nurul Aini, S.Kom." --title "Sekretaris Dinas" \
  --org "Dinas Komunikasi dan Informatika" 2>>"$WORK/serve.log")
[ -n "${STOKEN:-}" ] || bail "bootstrap signer"
# The QR code must point at this very server: base_url is only known once it listens,
# so start once to learn a free port, then restart on that port with base_url set.
start_server || bail "tte serve did not start"
kill -TERM "$SERVER_PID" && wait "$SERVER_PID"
printf 'base_url = http://127.0.0.1:%s\n' "$PORT" >>"$WORK/tte.conf"
start_server --listen "127.0.0.1:$PORT" || bail "tte serve did not restart on port $PORT"
BASE="http://127.0.0.1:$PORT"

# api METHOD PATH TOKEN [curl args] -> body in $WORK/body, headers in $WORK/hdr, $STATUS
api() {
  local m=$1 p=$2 t=$3
  shift 3
  STATUS=$(curl -s -o "$WORK/body" -D "$WORK/hdr" -w '%{http_code}' -X "$m" \
    ${t:+-H "Authorization: Bearer $t"} "$@" "$BASE$p")
}
json() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]]["id"])' "$@"; }

python3 - "$DEMO/pki/signers/opd-kominfo.pem" "$PIN" >"$WORK/import.json" <<'PY'
import json, sys
print(json.dumps({"uri": "pkcs11:token=opd-kominfo;object=sekretaris-2026",
                  "certificate": open(sys.argv[1]).read(), "passphrase": sys.argv[2]}))
PY
api POST "/api/v1/admin/signers/$SIGNER/keys/import" "$ADMIN" -H 'Content-Type: application/json' \
  --data-binary "@$WORK/import.json"
[ "$STATUS" = 201 ] || bail "key import: $STATUS $(head -c 300 "$WORK/body")"
KEY=$(json "$WORK/body" key)
api POST "/api/v1/admin/keys/$KEY/activate" "$ADMIN"
[ "$STATUS" = 200 ] || bail "key activation: $STATUS"

ASAN_OPTIONS=detect_leaks=0 "$TTE_BUILD_DIR/certs-example/tte-sample-letter" "$WORK/letter.pdf" >/dev/null 2>&1 || bail "sample letter"
api POST /api/v1/sign "$STOKEN" -H "X-TTE-Passphrase: $PIN" -F "file=@$WORK/letter.pdf;type=application/pdf" \
  -F 'anchor=[TTE]' -F reason=Menyetujui -F location=Selong
[ "$STATUS" = 201 ] || bail "sign: $STATUS $(head -c 300 "$WORK/body")"
cp "$WORK/body" "$WORK/signed.pdf"
DOC=$(sed -n 's/^X-Document-Id: *\([A-Za-z0-9_-]*\).*/\1/ip' "$WORK/hdr")
[ -n "$DOC" ] || bail "no X-Document-Id"
python3 "$HERE/tamper.py" "$WORK/signed.pdf" "$WORK/tampered.pdf" || bail "tamper.py"
# A second signed letter for the no-JavaScript path (withdrawn state must not leak into it).
api POST /api/v1/sign "$STOKEN" -H "X-TTE-Passphrase: $PIN" -F "file=@$WORK/letter.pdf;type=application/pdf" \
  -F 'anchor=[TTE]' -F reason=Menyetujui
[ "$STATUS" = 201 ] || bail "second sign: $STATUS"
cp "$WORK/body" "$WORK/signed2.pdf"
printf 'GIF89a this is a picture, not a letter\n' >"$WORK/not-a-pdf.pdf"
# A letter signed by a key whose certificate is not under the national root (CLI signing;
# leak checking is off for this fixture only: fontconfig's caches are not ours).
ASAN_OPTIONS=detect_leaks=0 "$TTE" sign "$WORK/letter.pdf" -o "$WORK/untrusted.pdf" \
  --key 'pkcs11:token=demo-untrusted;object=untrusted-2026' \
  --pin-file "$DEMO/pins/demo-untrusted.pin" >/dev/null 2>"$WORK/sign-untrusted.log" ||
  bail "tte sign (untrusted): $(tail -2 "$WORK/sign-untrusted.log" | tr '\n' ' ')"
# A self-made certificate whose name is markup: it must appear as text, never as HTML.
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -keyout "$WORK/evil.key" -out "$WORK/evil.pem" \
  -subj '/CN=<img src=x onerror=alert(1)>Kepala Dinas/title=<b>Bupati<\/b>/O=Evil & "Co"' \
  -addext keyUsage=critical,digitalSignature,nonRepudiation >/dev/null 2>&1 || bail "openssl req"
ASAN_OPTIONS=detect_leaks=0 "$TTE" sign "$WORK/letter.pdf" -o "$WORK/hostile.pdf" \
  --key-file "$WORK/evil.key" --cert "$WORK/evil.pem" >/dev/null 2>"$WORK/sign-hostile.log" ||
  bail "tte sign (hostile name): $(tail -2 "$WORK/sign-hostile.log" | tr '\n' ' ')"
# Above body_max (4 MiB): refused by the HTTP core before the handler, still as a page.
{ printf '%%PDF-1.7\n'; head -c 5000000 /dev/zero; } >"$WORK/too-large.pdf"
# The URL in the stamp's QR code, read from the rendered page like a phone camera would.
QR_URL=
if command -v pdftoppm >/dev/null && command -v zbarimg >/dev/null; then
  pdftoppm -r 200 -f 1 -l 1 -png "$WORK/signed.pdf" "$WORK/page" 2>/dev/null
  QR_URL=$(zbarimg -q --raw "$WORK"/page*.png 2>/dev/null | head -1)
  case "$QR_URL" in
    "$BASE/v/$DOC") ;;
    *) bail "the stamp's QR code reads '$QR_URL', expected $BASE/v/$DOC" ;;
  esac
fi
export TTE_WEB_QR_URL="$QR_URL"

# ---- the browser --------------------------------------------------------------------------
export TTE_WEB_BASE="$BASE" TTE_WEB_DOC="$DOC" TTE_WEB_ADMIN="$ADMIN" TTE_WEB_SIGNER_TOKEN="$STOKEN"
export TTE_WEB_SIGNED="$WORK/signed.pdf" TTE_WEB_SIGNED2="$WORK/signed2.pdf"
export TTE_WEB_TAMPERED="$WORK/tampered.pdf" TTE_WEB_UNSIGNED="$WORK/letter.pdf"
export TTE_WEB_UNTRUSTED="$WORK/untrusted.pdf" TTE_WEB_HOSTILE="$WORK/hostile.pdf" TTE_WEB_NOTPDF="$WORK/not-a-pdf.pdf" TTE_WEB_TOOLARGE="$WORK/too-large.pdf" TTE_WEB_SHOTS="$OUT/screenshots"
export TTE_WEB_PROFILE="$WORK/chromium-profile" TTE_CHROMIUM="$CHROMIUM"
export TTE_WEB_SERVE_LOG="$WORK/serve.log"
# Chromium must not inherit the sanitizer settings meant for our binaries.
env -u ASAN_OPTIONS -u UBSAN_OPTIONS -u LSAN_OPTIONS node "$HERE/web.spec.mjs"
rc=$?
# The server must have survived every request (sanitizers abort it on a finding).
if ! kill -0 "$SERVER_PID" 2>/dev/null; then
  echo "# tte serve died during the test:"
  tail -30 "$WORK/serve.log" | sed 's/^/# /'
  rc=1
fi
exit $rc
