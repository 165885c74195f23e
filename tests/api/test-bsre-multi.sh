#!/usr/bin/env bash
# Integration test of POST /api/v2/sign/pdf with several signatureProperties entries (TAP,
# curl + jq) against `tte serve` on a free loopback port, with the demo PKI and SoftHSM2
# tokens of certs-example/demo-setup.  Each entry is one more signature of the signer's key
# on every file, in array order, as successive incremental revisions; one register record
# per file (the final file's SHA-256).  Every signed file is checked by pdfsig (poppler),
# `tte verify --json` and `qpdf --check`; failures (bad page or image in entry 2, more
# entries than TTE_LIMIT_BSRE_SIGNATURE_PROPERTIES, wrong passphrase) must record nothing.
set -u
TTE="${TTE_BUILD_DIR:?TTE_BUILD_DIR not set}/api/tte"
SRC="${TTE_SOURCE_DIR:?TTE_SOURCE_DIR not set}"
LETTER_TOOL="$TTE_BUILD_DIR/certs-example/tte-sample-letter"
WORK=$(mktemp -d /tmp/tte-bsre-multi.XXXXXX)
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$SRC/tests/lsan.supp:print_suppressions=0}"
# TAP helpers, start_server/stop_server, cleanup of $WORK
. "$SRC/tests/lib.sh"

LIMIT=16 # TTE_LIMIT_BSRE_SIGNATURE_PROPERTIES (api/routes-bsre.c)

require_tools curl jq softhsm2-util openssl sqlite3 pdfsig certutil qpdf python3
[ -x "$LETTER_TOOL" ] || { echo "1..0 # SKIP sample letter tool not built"; exit 0; }

# ---- demo PKI and tokens (kept in the build tree; a directory of its own so that this test
# and api-sign never run demo-setup on the same directory) --------------------------------
DEMO="$TTE_BUILD_DIR/tests/api/bsre-demo"
demo_tokens "$DEMO"
PIN_K=$(cat "$DEMO/pins/opd-kominfo.pin")
URI_K="pkcs11:token=opd-kominfo;object=sekretaris-2026"
NIK=5203014107850001
"$LETTER_TOOL" "$WORK/letter3.pdf" --pages 3 >/dev/null 2>&1
"$LETTER_TOOL" "$WORK/letter4.pdf" --pages 4 >/dev/null 2>&1
# A small RGB PNG for the stamps (imageBase64).
python3 - "$WORK/stamp.png" <<'PY'
import struct, sys, zlib
w, h = 48, 24
raw = b"".join(b"\0" + bytes((20, 60 + y * 3, 160)) * w for y in range(h))
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
png += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
open(sys.argv[1], "wb").write(png)
PY
IMG=$(base64 -w0 "$WORK/stamp.png")
L3=$(base64 -w0 "$WORK/letter3.pdf")
L4=$(base64 -w0 "$WORK/letter4.pdf")

DB="$WORK/tte.db"
CONF="$WORK/tte.conf"
LOG="$WORK/serve.log"
cat >"$CONF" <<CONF
[server]
listen = 127.0.0.1:0
threads = 2
body_max = 4194304
timeout = 60
[database]
path = $DB
[verify]
trust_roots = $DEMO/pki/root.pem
intermediates = $DEMO/pki/intermediate.pem
crls = $DEMO/pki/root.crl;$DEMO/pki/intermediate.crl
base_url = https://tte.example.go.id
CONF

basic() { printf 'Basic %s' "$(printf 'eoffice:%s' "$1" | base64 -w0)"; }
# v2sign JSONFILE: POST /api/v2/sign/pdf as the Kominfo signer (HTTP Basic, like e-office)
v2sign() {
  call POST /api/v2/sign/pdf "" -H "Authorization: $(basic "$TK")" -H 'Content-Type: application/json' \
    --data-binary "@$1"
}
message() { jq -r '.error.message // empty' "$WORK/body" 2>/dev/null; }
# want_msg DESC STATUS CODE TEXT: the error also names TEXT (a fixed string)
want_msg() {
  local d=$1 s=$2 c=$3 t=$4
  if [ "$STATUS" = "$s" ] && [ "$(code)" = "$c" ] && message | grep -qF -- "$t"; then
    ok "$d"
  else
    not_ok "$d (want $s $c naming '$t', got $STATUS: $(head -c 300 "$WORK/body"))"
  fi
}
# sig_fields FILE: "page:reason" of each signature, in signing order (by the end of its
# /ByteRange), read by qpdf
sig_fields() {
  qpdf --json --json-key=acroform --json-key=qpdf "$1" | python3 -c '
import json, sys
j = json.load(sys.stdin)
objs = j["qpdf"][1]
out = []
for f in j["acroform"]["fields"]:
    if f["fieldtype"] != "/Sig":
        continue
    v = objs.get("obj:" + f["value"], {}).get("value", {})
    br = v.get("/ByteRange", [0, 0, 0, 0])
    out.append((br[2] + br[3], "%s:%s" % (f["pageposfrom1"], v.get("/Reason", "")[2:])))
print(",".join(t for _, t in sorted(out)))'
}
docs_count() { sqlite3 "file:$DB?mode=ro" 'SELECT count(*) FROM documents;'; }
# request ENTRIES_JSON OUT [FILES_JSON]: the request body with these signatureProperties and
# files (default: the three-page letter)
request() {
  jq -n --arg p "$PIN_K" --arg nik "$NIK" --argjson props "$1" --argjson files "${3:-[\"$L3\"]}" \
    '{nik:$nik, passphrase:$p, signatureProperties:$props, file:$files}' >"$2"
}

# ---- NSS database for pdfsig: the demo root trusted -----------------------------------------
mkdir -p "$WORK/nss"
certutil -N -d "sql:$WORK/nss" --empty-password >/dev/null 2>&1
certutil -A -d "sql:$WORK/nss" -n root -t CT,C,C -i "$DEMO/pki/root.pem" >/dev/null 2>&1
certutil -A -d "sql:$WORK/nss" -n inter -t ,, -i "$DEMO/pki/intermediate.pem" >/dev/null 2>&1

# check_signed DESC FILE N ORIGINAL DOC_ID: everything a file signed N times must satisfy
check_signed() {
  local d=$1 f=$2 n=$3 orig=$4 id=$5 sum
  sum=$(sha256sum <"$f" | cut -d' ' -f1)
  check "$d: the original is a byte-exact prefix" cmp -s -n "$(stat -c %s "$orig")" "$orig" "$f"
  check "$d: qpdf --check passes" bash -c "qpdf --check '$f' >'$WORK/qpdf.out' 2>&1"

  # pdfsig: N signatures, each valid with a trusted certificate; the last covers the whole
  # file, every earlier one ends exactly at the end of a revision (just after a %%EOF).
  pdfsig -nssdir "sql:$WORK/nss" -no-ocsp "$f" >"$WORK/pdfsig.out" 2>&1
  check "$d: pdfsig finds $n signatures" [ "$(grep -c '^Signature #' "$WORK/pdfsig.out")" = "$n" ]
  check "$d: pdfsig: every signature is valid" \
    [ "$(grep -c 'Signature Validation: Signature is Valid.' "$WORK/pdfsig.out")" = "$n" ]
  # poppler 22.12 (NSS) reports a certificate it already met in the same run as "Unknown
  # issue with Certificate or corrupted data" (also for two `tte sign` runs, or any one
  # signer signing twice): pdfsig judges the first signature's certificate only; openssl
  # below judges each signature's chain.
  check "$d: pdfsig: the first signature's certificate is trusted" \
    [ "$(grep -m1 'Certificate Validation:' "$WORK/pdfsig.out")" = "  - Certificate Validation: Certificate is Trusted." ]
  check "$d: pdfsig: the last signature covers the whole file" \
    [ "$(grep -E 'Total document signed|Not total document signed' "$WORK/pdfsig.out" | tail -1 | tr -d ' -')" = "Totaldocumentsigned" ]
  python3 - "$f" "$WORK/pdfsig.out" "$n" <<'PY' >"$WORK/ranges.out" 2>&1
import re, sys
data = open(sys.argv[1], "rb").read()
ends = sorted(int(m.group(1)) for m in re.finditer(r"Signed Ranges: \[\d+ - \d+\], \[\d+ - (\d+)\]", open(sys.argv[2]).read()))
assert len(ends) == int(sys.argv[3]), ends
assert ends[-1] in (len(data), len(data) - 1, len(data) - 2), (ends[-1], len(data))
for e in ends[:-1]:
    # a revision end: %%EOF with or without its end-of-line, and the next revision follows
    assert re.search(rb"%%EOF\r?\n?$", data[max(0, e - 8):e]), (e, data[e - 8:e + 2])
assert len(set(ends)) == len(ends), ends
PY
  check "$d: pdfsig: each earlier signature covers its own revision ($(tr '\n' ' ' <"$WORK/ranges.out"))" [ ! -s "$WORK/ranges.out" ]
  # openssl: each signature's CMS (dumped by pdfsig) over its signed ranges, chained to the
  # demo root.
  rm -rf "$WORK/dump" && mkdir "$WORK/dump"
  (cd "$WORK/dump" && pdfsig -nocert -dump "$f" >/dev/null 2>&1)
  python3 - "$f" "$WORK/pdfsig.out" "$WORK/dump" <<'PY'
import re, sys
data = open(sys.argv[1], "rb").read()
for i, m in enumerate(re.finditer(r"Signed Ranges: \[(\d+) - (\d+)\], \[(\d+) - (\d+)\]", open(sys.argv[2]).read())):
    a, b, c, e = map(int, m.groups())
    open(f"{sys.argv[3]}/content{i}", "wb").write(data[a:b] + data[c:e])
PY
  local good=0 sig i
  for sig in "$WORK/dump/"*.sig*; do # pdfsig names them FILE.sig%2d
    i=${sig##*.sig}
    i=${i// /}
    [ -f "$WORK/dump/content$i" ] && openssl cms -verify -binary -inform DER -in "$sig" \
      -content "$WORK/dump/content$i" -CAfile "$DEMO/pki/root.pem" \
      -certfile "$DEMO/pki/intermediate.pem" -purpose any -out /dev/null 2>/dev/null &&
      good=$((good + 1))
  done
  check "$d: openssl cms: all $n signatures verify over their ranges to the demo root" [ "$good" = "$n" ]

  # tte verify --json with the demo root
  "$TTE" verify "$f" --json --trust "$DEMO/pki/root.pem" --intermediate "$DEMO/pki/intermediate.pem" \
    --crl "$DEMO/pki/root.crl" --crl "$DEMO/pki/intermediate.crl" >"$WORK/verify.json" 2>"$WORK/verify.err"
  check "$d: tte verify exits 0, TOTAL-PASSED, $n signatures" \
    [ "$? $(jq -r '.indication + " " + (.signature_count|tostring)' "$WORK/verify.json")" = "0 TOTAL-PASSED $n" ]
  check "$d: tte verify: every signature intact, trusted, TOTAL-PASSED" \
    [ "$(jq '[.signatures[] | select(.integrity and .trusted and .indication == "TOTAL-PASSED")] | length' "$WORK/verify.json")" = "$n" ]
  check "$d: tte verify: the last covers the file, the others their revision" \
    [ "$(jq -r '[.signatures[].coverage] | join(",")' "$WORK/verify.json")" = "$(for ((i = 1; i < n; i++)); do printf 'ENTIRE_REVISION,'; done)ENTIRE_FILE" ]
  check "$d: tte verify: later revisions only add signatures (allowed signature-added changes)" \
    [ "$(jq -r '[.signatures[] | .modifications[] | select((.allowed | not) or (.classification | test("^signature-added") | not))] | length' "$WORK/verify.json")" = 0 ]
  if [ "$n" -gt 1 ]; then
    check "$d: tte verify: every earlier signature saw the signatures added after it" \
      [ "$(jq '[.signatures[:-1][] | select(.modifications_analysed and ([.modifications[] | select(.classification == "signature-added")] | length) > 0)] | length' "$WORK/verify.json")" = $((n - 1)) ]
  fi

  # the register: one record, the final file's SHA-256, audited with the number applied
  check "$d: the register record has the final file's SHA-256" \
    [ "$(sqlite3 "file:$DB?mode=ro" "SELECT sha256 FROM documents WHERE id = '$id';")" = "$sum" ]
  call GET "/api/v1/documents/$id" ""
  check "$d: GET /api/v1/documents/{id}: valid, the final SHA-256" \
    [ "$STATUS $(jq -r '.status + " " + .sha256' "$WORK/body")" = "200 valid $sum" ]
  call GET "/api/v1/audit?action=document.sign&limit=1000" "$ADMIN"
  check "$d: one document.sign audit entry saying $n signatures applied, with the final hash" \
    [ "$(jq -r --arg id "$id" '[.entries[] | select(.subject == $id) | "\(.details.signatures_applied) \(.details.sha256)"] | join(";")' "$WORK/body")" = "$n $sum" ]
}

# ---- bootstrap, key, start --------------------------------------------------------------
ADMIN=$("$TTE" serve --config "$CONF" --bootstrap-admin "admin" 2>>"$LOG")
read -r SK TK < <("$TTE" serve --config "$CONF" --bootstrap-signer "$NIK" \
  --name "Baiq Nurul Aini" --title "Sekretaris Dinas" --org "Dinas Kominfo" 2>>"$LOG")
check "bootstrap: admin and signer" [ -n "$ADMIN" ] && [ -n "$TK" ]
check "server starts" start_server
jq -n --arg uri "$URI_K" --rawfile c "$DEMO/pki/signers/opd-kominfo.pem" --arg p "$PIN_K" \
  '{uri:$uri, certificate:$c, passphrase:$p}' >"$WORK/imp.json"
call POST "/api/v1/admin/signers/$SK/keys/import" "$ADMIN" -H 'Content-Type: application/json' \
  --data-binary "@$WORK/imp.json"
want "import the signer's key" 201
K1=$(jq -r .key.id "$WORK/body")
call POST "/api/v1/admin/keys/$K1/activate" "$ADMIN"
want "activate it" 200
check "the letters have 3 and 4 pages" \
  [ "$(qpdf --show-npages "$WORK/letter3.pdf") $(qpdf --show-npages "$WORK/letter4.pdf")" = "3 4" ]

# ---- one entry: as before ------------------------------------------------------------------
request '[{"tampilan":"VISIBLE","page":3,"originX":320,"originY":90,"width":200,"height":70,"reason":"Menyetujui","location":"Selong"}]' "$WORK/one.json"
v2sign "$WORK/one.json"
want "one entry: 200" 200
check "one entry: time, one file, one id" \
  [ "$(jq -r '(.time|type) + "/" + (.file|length|tostring) + "/" + (.id|length|tostring)' "$WORK/body")" = "number/1/1" ]
jq -r '.file[0]' "$WORK/body" | base64 -d >"$WORK/one.pdf"
check_signed "one entry" "$WORK/one.pdf" 1 "$WORK/letter3.pdf" "$(jq -r '.id[0]' "$WORK/body")"
jq -n --arg p "$PIN_K" --arg nik "$NIK" --arg f "$L3" \
  '{nik:$nik, passphrase:$p, signatureProperties:{tampilan:"INVISIBLE", reason:"Setuju"}, file:$f}' >"$WORK/obj.json"
v2sign "$WORK/obj.json"
want "one entry as a lone object, one file as a string: 200" 200
jq -r '.file[0]' "$WORK/body" | base64 -d >"$WORK/obj.pdf"
check "lone object: one signature" [ "$(pdfsig "$WORK/obj.pdf" 2>/dev/null | grep -c '^Signature #')" = 1 ]

# ---- two entries: visible on the last page with an image, then invisible -----------------
BEFORE=$(docs_count)
request "[{\"tampilan\":\"VISIBLE\",\"imageBase64\":\"$IMG\",\"page\":3,\"originX\":320,\"originY\":90,\"width\":200,\"height\":70,\"reason\":\"Menyetujui\",\"location\":\"Selong\",\"contactInfo\":\"kominfo@lotim.go.id\"},{\"tampilan\":\"INVISIBLE\",\"reason\":\"Paraf\"}]" "$WORK/two.json"
v2sign "$WORK/two.json"
want "two entries: 200" 200
check "two entries: one file, one id" [ "$(jq -r '(.file|length|tostring) + "/" + (.id|length|tostring)' "$WORK/body")" = "1/1" ]
ID2=$(jq -r '.id[0]' "$WORK/body")
jq -r '.file[0]' "$WORK/body" | base64 -d >"$WORK/two.pdf"
check "two entries: exactly one document recorded" [ "$(docs_count)" = $((BEFORE + 1)) ]
check_signed "two entries" "$WORK/two.pdf" 2 "$WORK/letter3.pdf" "$ID2"
check "two entries: page and reason of each signature, in array order" \
  [ "$(sig_fields "$WORK/two.pdf")" = "3:Menyetujui,1:Paraf" ]
# the revision signed by entry 1 is not in the register: only the final file is
python3 - "$WORK/two.pdf" "$(jq -r '.signatures[0].signed_length' "$WORK/verify.json")" "$WORK/two-rev1.pdf" <<'PY'
import sys
open(sys.argv[3], "wb").write(open(sys.argv[1], "rb").read()[: int(sys.argv[2])])
PY
check "two entries: the intermediate revision is not recorded" \
  [ "$(sqlite3 "file:$DB?mode=ro" "SELECT count(*) FROM documents WHERE sha256 = '$(sha256sum <"$WORK/two-rev1.pdf" | cut -d' ' -f1)';")" = 0 ]

# ---- three entries on two files: paraf on pages 1 and 2, signature on page 3 ---------------
BEFORE=$(docs_count)
PARAF='{"tampilan":"VISIBLE","page":1,"originX":400,"originY":30,"width":160,"height":50,"reason":"Paraf"}'
request "[$PARAF, $(jq -c '.page = 2' <<<"$PARAF"), {\"tampilan\":\"VISIBLE\",\"imageBase64\":\"$IMG\",\"page\":3,\"originX\":320,\"originY\":90,\"width\":200,\"height\":70,\"reason\":\"Menyetujui\"}]" \
  "$WORK/three.json" "[\"$L3\", \"$L4\"]"
v2sign "$WORK/three.json"
want "three entries, two files: 200" 200
check "three entries: two files, two ids" [ "$(jq -r '(.file|length|tostring) + "/" + (.id|length|tostring)' "$WORK/body")" = "2/2" ]
IDA=$(jq -r '.id[0]' "$WORK/body")
IDB=$(jq -r '.id[1]' "$WORK/body")
jq -r '.file[0]' "$WORK/body" | base64 -d >"$WORK/three-a.pdf"
jq -r '.file[1]' "$WORK/body" | base64 -d >"$WORK/three-b.pdf"
check "three entries: one document recorded per file" [ "$(docs_count)" = $((BEFORE + 2)) ] && [ "$IDA" != "$IDB" ]
check_signed "three entries, file[0]" "$WORK/three-a.pdf" 3 "$WORK/letter3.pdf" "$IDA"
check "three entries, file[0]: the stamps on pages 1, 2, 3 in array order" \
  [ "$(sig_fields "$WORK/three-a.pdf")" = "1:Paraf,2:Paraf,3:Menyetujui" ]
check_signed "three entries, file[1]" "$WORK/three-b.pdf" 3 "$WORK/letter4.pdf" "$IDB"
if command -v zbarimg >/dev/null && command -v pdftoppm >/dev/null; then
  pdftoppm -r 150 -png "$WORK/three-a.pdf" "$WORK/page" 2>/dev/null
  check "three entries: every stamp's QR code points at the one record" \
    [ "$(for p in "$WORK"/page-*.png; do zbarimg -q --raw "$p" 2>/dev/null; done | sort -u | tr '\n' ' ')" = "https://tte.example.go.id/v/$IDA " ]
else
  ok "# SKIP zbarimg/pdftoppm not installed"
fi

# ---- failures: nothing recorded, the entry named (0-based, like JSON arrays) -------------
BEFORE=$(docs_count)
request '[{"tampilan":"VISIBLE","page":1,"originX":320,"originY":90,"width":200,"height":70},{"tampilan":"VISIBLE","page":9,"originX":320,"originY":90,"width":200,"height":70}]' "$WORK/badpage.json"
v2sign "$WORK/badpage.json"
want_msg "entry 2 on a page beyond the letter: 400 naming signatureProperties[1]" 400 INVALID_ARGUMENT "signatureProperties[1] on file[0]: page 9 does not exist"
check "bad page: no file in the answer" [ "$(jq -r 'has("file")' "$WORK/body")" = false ]
check "bad page: no document recorded" [ "$(docs_count)" = "$BEFORE" ]

request '[{"tampilan":"INVISIBLE"},{"tampilan":"INVISIBLE"},{"tampilan":"VISIBLE","page":1,"originX":320,"originY":90,"width":200,"height":70,"imageBase64":"aGFsbyBkdW5pYQ=="}]' "$WORK/badimg.json"
v2sign "$WORK/badimg.json"
want_msg "entry 3 with an image that is no PNG/JPEG: 422 naming signatureProperties[2]" 422 NOT_SUPPORTED "signatureProperties[2] on file[0]: stamp image"
check "bad image: no document recorded" [ "$(docs_count)" = "$BEFORE" ]

request '[{"tampilan":"INVISIBLE"},{"tampilan":"VISIBLE","page":1,"originX":1,"originY":1,"width":10,"height":10,"imageBase64":"@@@"}]' "$WORK/badb64.json"
v2sign "$WORK/badb64.json"
want_msg "entry 2 with an image that is not base64: 400 naming signatureProperties[1].imageBase64" 400 BAD_REQUEST "signatureProperties[1].imageBase64"
request '[{"tampilan":"INVISIBLE"},{"tampilan":"VISIBLE","page":"x"}]' "$WORK/badnum.json"
v2sign "$WORK/badnum.json"
want_msg "entry 2 with a page that is no number: 400 naming signatureProperties[1].page" 400 BAD_REQUEST "signatureProperties[1].page must be a number"
request '[{"tampilan":"INVISIBLE"},{"tampilan":"VISIBLE","page":1}]' "$WORK/norect.json"
v2sign "$WORK/norect.json"
want_msg "entry 2 VISIBLE without its rectangle: 400 naming signatureProperties[1]" 400 BAD_REQUEST "signatureProperties[1]: a VISIBLE signature needs"
request '[{"tampilan":"INVISIBLE"},"INVISIBLE"]' "$WORK/notobj.json"
v2sign "$WORK/notobj.json"
want_msg "entry 2 not an object: 400 naming signatureProperties[1]" 400 BAD_REQUEST "signatureProperties[1] must be an object"
request '[{"tampilan":"INVISIBLE"},{"tampilan":"KADANG"}]' "$WORK/badtamp.json"
v2sign "$WORK/badtamp.json"
want_msg "entry 2 with an unknown tampilan: 400 naming signatureProperties[1].tampilan" 400 BAD_REQUEST "signatureProperties[1].tampilan"
# Two files, the entry fits the first only: the first stays signed and recorded (like
# BSrE, the first failing file answers for the request), the second names itself.
request '[{"tampilan":"VISIBLE","page":4,"originX":320,"originY":90,"width":200,"height":70}]' "$WORK/badfile2.json" "[\"$L4\", \"$L3\"]"
v2sign "$WORK/badfile2.json"
want_msg "page 4 fits file[0] but not file[1]: 400 naming file[1]" 400 INVALID_ARGUMENT "signatureProperties[0] on file[1]: page 4 does not exist"
check "file[0] before the failing file stays recorded, file[1] not" [ "$(docs_count)" = $((BEFORE + 1)) ]
check "the service log names the document that stays recorded" grep -q 'file\[1\] failed; 1 file(s) signed before it stay recorded' "$LOG"
BEFORE=$(docs_count)

# ---- the limit --------------------------------------------------------------------------
request "$(jq -nc --argjson n $((LIMIT + 1)) '[range($n) | {tampilan:"INVISIBLE", reason:"Paraf"}]')" "$WORK/over.json"
v2sign "$WORK/over.json"
want_msg "$((LIMIT + 1)) entries: 413 LIMIT naming the limit" 413 LIMIT "at most $LIMIT signatureProperties entries per request"
check "over the limit: no document recorded" [ "$(docs_count)" = "$BEFORE" ]
request "$(jq -nc --argjson n $LIMIT '[range($n) | {tampilan:"INVISIBLE", reason:"Paraf \(. + 1)"}]')" "$WORK/atlimit.json"
v2sign "$WORK/atlimit.json"
want "exactly $LIMIT entries: 200" 200
jq -r '.file[0]' "$WORK/body" | base64 -d >"$WORK/atlimit.pdf"
check_signed "$LIMIT entries" "$WORK/atlimit.pdf" "$LIMIT" "$WORK/letter3.pdf" "$(jq -r '.id[0]' "$WORK/body")"
check "$LIMIT entries: the reasons in array order" \
  [ "$(sig_fields "$WORK/atlimit.pdf")" = "$(seq -f '1:Paraf %g' 1 $LIMIT | paste -sd,)" ]

# ---- passphrase: checked once, the same answers as before ------------------------------------
BEFORE=$(docs_count)
jq '.passphrase = "salah"' "$WORK/three.json" >"$WORK/badpin.json"
v2sign "$WORK/badpin.json"
want "wrong passphrase with three entries: 403 PIN_INCORRECT" 403 PIN_INCORRECT
jq '.passphrase = "salah"' "$WORK/one.json" >"$WORK/badpin1.json"
v2sign "$WORK/badpin1.json"
want "wrong passphrase with one entry: 403 PIN_INCORRECT" 403 PIN_INCORRECT
jq 'del(.passphrase)' "$WORK/two.json" >"$WORK/nopin.json"
v2sign "$WORK/nopin.json"
want "no passphrase: 400 PIN_INVALID" 400 PIN_INVALID
check "passphrase failures: no document recorded" [ "$(docs_count)" = "$BEFORE" ]
check "the passphrase is in no log line" bash -c "! grep -qF -- '$PIN_K' '$LOG'"

# ---- shutdown ----------------------------------------------------------------------------
check "audit chain verifies" bash -c "curl -s -H 'Authorization: Bearer $ADMIN' '$BASE/api/v1/audit/verify' | jq -e '.ok == true' >/dev/null"
check "server stops cleanly" stop_server
check "no sanitizer report in the service log" bash -c "! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' '$LOG'"
tap_done
