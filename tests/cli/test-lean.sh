#!/usr/bin/env bash
# test-lean.sh — the lean `tte` and its hand-over to `tte-full` (docs/architecture.md):
#   - the lean program carries no renderer, HTTP server or HTTP client;
#   - it signs and verifies by itself, with the same report as the full program;
#   - stamps, --online, files with later revisions, keys/serve/audit run in tte-full;
#   - encrypted PDFs open through its OpenSSL stand-in for qpdf's GnuTLS calls;
#   - without tte-full it says which program is missing, exit 1.
source "$TTE_SOURCE_DIR/tests/signer/lib.sh"
FULL=$(dirname "$TTE")/tte-full
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
make_pki "$WORK/pki" >/dev/null 2>&1
P=$WORK/pki
"$TTE_BUILD_DIR/certs-example/tte-sample-letter" "$WORK/letter.pdf" >/dev/null

# 1. What the lean program links.
libs=$(ldd "$TTE" 2>/dev/null)
if grep -qE 'libpoppler|libcairo|libmicrohttpd|libcurl|libsqlite3|libgnutls' <<<"$libs"; then
  not_ok "lean tte links no renderer, HTTP server/client, database or GnuTLS"
  grep -E 'poppler|cairo|microhttpd|curl|sqlite|gnutls' <<<"$libs" | diag
else
  ok "lean tte links no renderer, HTTP server/client, database or GnuTLS"
fi
check "tte-full sits beside tte" test -x "$FULL"

# 2. Sign and verify by itself: same report as the full program.
check "lean: invisible signature" "$TTE" sign "$WORK/letter.pdf" -o "$WORK/s1.pdf" \
  --key-file "$P/rsa.key" --cert "$P/rsa.pem" --chain "$P/chain.pem"
check "pdfsig accepts the lean signature" sh -c "pdfsig '$WORK/s1.pdf' | grep -q 'Signature is Valid'"
strip_time() { python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
def drop(o):
    if isinstance(o, dict):
        return {k: drop(v) for k, v in o.items() if k not in ("validation_time", "file")}
    if isinstance(o, list):
        return [drop(v) for v in o]
    return o
print(json.dumps(drop(r), sort_keys=True))' "$1"; }
"$TTE" verify "$WORK/s1.pdf" --trust "$P/root.pem" --json >"$WORK/lean.json"; lrc=$?; s1rc=$lrc
"$FULL" verify "$WORK/s1.pdf" --trust "$P/root.pem" --json >"$WORK/full.json"; frc=$?
if [ "$lrc" = "$frc" ] && [ "$(strip_time "$WORK/lean.json")" = "$(strip_time "$WORK/full.json")" ]; then
  ok "lean and full verify give the same report (exit $lrc)"
else
  not_ok "lean and full verify give the same report (exit $lrc vs $frc)"
  diff <(strip_time "$WORK/lean.json") <(strip_time "$WORK/full.json") | head -20 | diag
fi

# 3. Hand-overs.
check "stamp (--anchor) runs in tte-full" "$TTE" sign "$WORK/letter.pdf" -o "$WORK/s2.pdf" \
  --key-file "$P/rsa.key" --cert "$P/rsa.pem" --chain "$P/chain.pem" --anchor '[TTE]'
check "the stamp is there (widget with an appearance)" sh -c \
  "qpdf --show-npages '$WORK/s2.pdf' >/dev/null && pdfsig '$WORK/s2.pdf' | grep -q 'Signature is Valid' && \
   grep -a -q '/AP' '$WORK/s2.pdf'"
# a second signature makes the first one cover a revision with later changes
check "second signature on the signed letter" "$TTE" sign "$WORK/s1.pdf" -o "$WORK/s3.pdf" \
  --key-file "$P/ec.key" --cert "$P/ec.pem" --chain "$P/chain.pem"
"$TTE" verify "$WORK/s3.pdf" --trust "$P/root.pem" --json >"$WORK/two.json"; rc=$?
if [ "$rc" != 4 ] && python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))["signatures"]
assert len(s) == 2, s
assert sum(1 for x in s if x["visual"]["compared"]) == 1, [x["visual"] for x in s]
' "$WORK/two.json" 2>"$WORK/err"; then
  ok "later revisions: verify hands over to tte-full, which compares the pages (exit $rc)"
else
  not_ok "later revisions: verify hands over to tte-full, which compares the pages (exit $rc)"
  diag <"$WORK/err"
fi
"$FULL" verify "$WORK/s3.pdf" --trust "$P/root.pem" --json >"$WORK/two-full.json"
if [ "$(strip_time "$WORK/two.json")" = "$(strip_time "$WORK/two-full.json")" ]; then
  ok "the handed-over report is the full program's"
else
  not_ok "the handed-over report is the full program's"
fi
out=$("$TTE" verify "$WORK/s1.pdf" --trust "$P/root.pem" --online 2>&1); rc=$?
if [ "$rc" != 4 ] && ! grep -q NOT_BUILT_IN <<<"$out"; then
  ok "--online runs in tte-full (exit $rc)"
else
  not_ok "--online runs in tte-full (exit $rc)"; diag <<<"$out"
fi
check "sign --help names the input once" sh -c "[ \$('$TTE' sign --help | sed -n 2p | grep -o 'IN.pdf' | wc -l) = 1 ]"
check "verify --help names the input once" sh -c "[ \$('$TTE' verify --help | sed -n 2p | grep -o 'FILE.pdf' | wc -l) = 1 ]"
for c in keys serve audit; do
  check "tte $c --help runs in tte-full" sh -c "'$TTE' $c --help | grep -qi usage"
done

# 4. Encrypted PDFs through the stand-in crypto (RC4 and AES), as the full program reads them.
for bits in 40 128 256; do
  extra=""
  [ "$bits" = 128 ] && extra="--use-aes=n"
  qpdf --allow-weak-crypto --encrypt "" owner-pw "$bits" $extra -- "$WORK/s1.pdf" "$WORK/enc$bits.pdf" 2>/dev/null
  "$TTE" verify "$WORK/enc$bits.pdf" --json >"$WORK/enc-lean.json" 2>&1; lrc=$?
  "$FULL" verify "$WORK/enc$bits.pdf" --json >"$WORK/enc-full.json" 2>&1; frc=$?
  if [ "$lrc" = "$frc" ] && [ "$lrc" != 4 ] && grep -q 'encrypted' "$WORK/enc-lean.json" &&
     [ "$(strip_time "$WORK/enc-lean.json")" = "$(strip_time "$WORK/enc-full.json")" ]; then
    ok "encrypted ($bits-bit): lean reads it as the full program does (exit $lrc)"
  else
    not_ok "encrypted ($bits-bit): lean reads it as the full program does (exit $lrc vs $frc)"
    head -c 600 "$WORK/enc-lean.json" | diag
  fi
done

# 5. Without tte-full.
mkdir -p "$WORK/alone"
cp "$TTE" "$WORK/alone/tte"
out=$("$WORK/alone/tte" serve --help 2>&1); rc=$?
if [ "$rc" = 1 ] && grep -q "tte-full" <<<"$out"; then
  ok "without tte-full: names the missing program, exit 1"
else
  not_ok "without tte-full: names the missing program, exit 1 (got $rc)"; diag <<<"$out"
fi
check "without tte-full: invisible signing still works" "$WORK/alone/tte" sign "$WORK/letter.pdf" \
  -o "$WORK/s4.pdf" --key-file "$P/rsa.key" --cert "$P/rsa.pem"

# 6. The lean program loads the locale's character set only when GLib converts with it
#    (option values that are not ASCII, --help); the rest runs in the C locale.
reason='Disetujui — Kepala Dinas ✓'
if LC_ALL=C.UTF-8 "$TTE" sign "$WORK/letter.pdf" -o "$WORK/s5.pdf" --key-file "$P/rsa.key" \
     --cert "$P/rsa.pem" --reason "$reason" >"$WORK/err" 2>&1 &&
   python3 -c '
import re, sys
d = open(sys.argv[1], "rb").read()
m = re.findall(rb"/Reason\s*(<[0-9A-Fa-f]*>|\((?:[^()\\]|\\.)*\))", d)
assert m, "no /Reason"
t = m[-1]
if t.startswith(b"<"):
    b = bytes.fromhex(t[1:-1].decode())
else:
    b = t[1:-1]  # a literal string: the reason is not ASCII, so this would be wrong
assert b.startswith(b"\xfe\xff"), b[:4]
assert b[2:].decode("utf-16-be") == sys.argv[2], b[2:].decode("utf-16-be")
' "$WORK/s5.pdf" "$reason" 2>>"$WORK/err"; then
  ok "non-ASCII --reason under a UTF-8 locale reaches the signature intact"
else
  not_ok "non-ASCII --reason under a UTF-8 locale reaches the signature intact"; diag <"$WORK/err"
fi
check "verify --help under a UTF-8 locale prints its em dash as UTF-8" sh -c \
  "LC_ALL=C.UTF-8 '$TTE' verify --help | sed -n 2p | grep -q '—'"
cp "$WORK/s1.pdf" "$WORK/surat-ñ.pdf"
"$TTE" verify "$WORK/surat-ñ.pdf" --trust "$P/root.pem" --json >"$WORK/u.json" 2>"$WORK/err"; rc=$?
if [ "$rc" = "$s1rc" ] && [ "$(strip_time "$WORK/u.json")" = "$(strip_time "$WORK/lean.json")" ]; then
  ok "a non-ASCII file name verifies like any other (exit $rc)"
else
  not_ok "a non-ASCII file name verifies like any other (exit $rc)"
  { cat "$WORK/err"; diff <(strip_time "$WORK/u.json") <(strip_time "$WORK/lean.json"); } | head -20 | diag
fi
"$TTE" verify "$WORK/nothing-here.pdf" >"$WORK/out" 2>&1; rc=$?
if [ "$rc" = 4 ] && grep -q "nothing-here.pdf" "$WORK/out"; then
  ok "C locale: a missing file is named in the error, exit 4"
else
  not_ok "C locale: a missing file is named in the error, exit 4 (got $rc)"; diag <"$WORK/out"
fi

echo "1..$n"
[ "$fails" = 0 ]
