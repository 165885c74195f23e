#!/usr/bin/env bash
# Acceptance 5: every refusal exits non-zero, prints its error code, and leaves no output
# file (and no temporary file) behind.
set -u
. "$(dirname "$0")/lib.sh"
for t in openssl qpdf python3; do
  command -v $t >/dev/null || { echo "1..0 # SKIP $t not installed"; exit 0; }
done
WORK=$(mktemp -d); PKI=$WORK/pki
trap 'rm -rf "$WORK"' EXIT
make_pki "$PKI"
"$MKLETTER" "$WORK/letter.pdf"
mkdir "$WORK/out"

# refuse LABEL CODE INPUT [sign args...]
refuse() {
  local label="$1" code="$2" in="$3"
  shift 3
  rm -rf "$WORK/out"/* "$WORK/out"/.[!.]* 2>/dev/null
  sign "$in" "$WORK/out/signed.pdf" rsa "$@" >"$WORK/stdout" 2>"$WORK/stderr"
  local rc=$?
  if [ "$rc" -ne 0 ] && grep -q "\[$code\]" "$WORK/stderr" && [ -z "$(ls -A "$WORK/out")" ]; then
    ok "$label: exit $rc, $code, no file left ($(head -c 160 "$WORK/stderr" | tr '\n' ' '))"
  else
    not_ok "$label: want $code and no output (exit $rc)"
    diag <"$WORK/stderr"; ls -A "$WORK/out" | diag
  fi
}

printf 'Surat ini bukan PDF.\n' >"$WORK/text.pdf"
refuse "not a PDF" NOT_PDF "$WORK/text.pdf"
: >"$WORK/empty.pdf"
refuse "empty file" NOT_PDF "$WORK/empty.pdf"

# Damaged: startxref off by a few bytes (qpdf could only recover it by repair).
python3 - "$WORK/letter.pdf" "$WORK/badxref.pdf" <<'PY'
import sys, re
d = open(sys.argv[1], 'rb').read()
m = list(re.finditer(rb'startxref\s+(\d+)', d))[-1]
d = d[:m.start(1)] + str(int(m.group(1)) + 3).encode() + d[m.end(1):]
open(sys.argv[2], 'wb').write(d)
PY
refuse "wrong startxref (needs repair)" PDF_DAMAGED "$WORK/badxref.pdf"
# Damaged: an object offset in the xref table is wrong.
python3 - "$WORK/letter.pdf" "$WORK/badobj.pdf" <<'PY'
import sys, re
d = bytearray(open(sys.argv[1], 'rb').read())
x = d.rfind(b'\nxref')
m = re.search(rb'\n(\d{10}) 00000 n', bytes(d[x:]))
pos = x + m.start(1)
d[pos:pos + 10] = b'%010d' % (int(m.group(1)) + 7)
open(sys.argv[2], 'wb').write(bytes(d))
PY
refuse "wrong object offset (needs repair)" PDF_DAMAGED "$WORK/badobj.pdf"
head -c 3000 "$WORK/letter.pdf" >"$WORK/truncated.pdf"
refuse "truncated" PDF_DAMAGED "$WORK/truncated.pdf"

qpdf --encrypt "" owner 256 -- "$WORK/letter.pdf" "$WORK/enc-empty.pdf"
refuse "encrypted (AES-256, empty user password)" PDF_ENCRYPTED "$WORK/enc-empty.pdf"
qpdf --encrypt user owner 128 --use-aes=y -- "$WORK/letter.pdf" "$WORK/enc-pw.pdf"
refuse "encrypted (AES-128, with a user password)" PDF_ENCRYPTED "$WORK/enc-pw.pdf"

refuse "field does not exist" FIELD_NOT_FOUND "$WORK/letter.pdf" --field Kepala_Dinas
sign "$WORK/letter.pdf" "$WORK/signed1.pdf" rsa >/dev/null 2>&1
refuse "field already signed" FIELD_SIGNED "$WORK/signed1.pdf" --field Signature1
refuse "--certify on a signed document" INVALID_ARGUMENT "$WORK/signed1.pdf" --certify 2
sign "$WORK/letter.pdf" "$WORK/certified1.pdf" rsa --certify 1 >/dev/null 2>&1
refuse "certified with P=1 (no changes)" CERTIFIED_NO_CHANGES "$WORK/certified1.pdf"
refuse "page out of range" INVALID_ARGUMENT "$WORK/letter.pdf" --page 9
refuse "key and certificate do not match" CERT_MISMATCH "$WORK/letter.pdf" --cert "$PKI/ec.pem"
refuse "scheme does not suit the key" INVALID_ARGUMENT "$WORK/letter.pdf" --scheme ecdsa

# The anchor search belongs to the appearance module; only when it is built.
sign "$WORK/letter.pdf" "$WORK/probe.pdf" rsa --anchor "[TTE]" >/dev/null 2>"$WORK/probe.err"
if grep -q NOT_SUPPORTED "$WORK/probe.err"; then
  ok "anchor not found # SKIP visible signatures not built"
else
  refuse "anchor not found" ANCHOR_NOT_FOUND "$WORK/letter.pdf" --anchor "[TIDAK-ADA]"
fi

# Usage errors exit 2.
"$TTE" sign "$WORK/letter.pdf" >/dev/null 2>&1
check "no -o: usage error (exit 2)" test $? = 2
"$TTE" sign "$WORK/letter.pdf" -o "$WORK/out/x.pdf" --key-file "$PKI/rsa.key" --cert "$PKI/rsa.pem" --certify 7 >/dev/null 2>&1
check "--certify 7: usage error (exit 2)" test $? = 2

echo "1..$n"
exit 0
