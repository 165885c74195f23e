#!/usr/bin/env bash
# Acceptance 3: every real-world unsigned PDF of the shared corpus either signs and passes
# the independent checks, or is refused with the documented code (corpus-expected.tsv,
# explained in docs/signing.md).  Skips cleanly without the corpus.
set -u
. "$(dirname "$0")/lib.sh"
SRC=${SIGNER_TEST_DIR:-$(dirname "$0")}
CORPUS=${TTE_CORPUS_DIR:-}/unsigned-real
if [ -z "${TTE_CORPUS_DIR:-}" ] || [ ! -d "$CORPUS" ]; then
  echo "1..0 # SKIP no corpus (TTE_CORPUS_DIR/unsigned-real)"; exit 0
fi
for t in pdfsig mutool openssl qpdf certutil python3; do
  command -v $t >/dev/null || { echo "1..0 # SKIP $t not installed"; exit 0; }
done
WORK=$(mktemp -d); PKI=$WORK/pki
trap 'rm -rf "$WORK"' EXIT
make_pki "$PKI" && make_nssdb "$PKI" >/dev/null 2>&1
mkdir "$WORK/out"

for f in "$CORPUS"/*.pdf; do
  b=$(basename "$f")
  want=$(awk -F'\t' -v b="$b" '$1 == b { print $2 }' "$SRC/corpus-expected.tsv")
  [ -n "$want" ] || want="(not listed)"
  rm -f "$WORK/out/"* "$WORK/out/".[!.]* 2>/dev/null
  if sign "$f" "$WORK/out/s.pdf" rsa >"$WORK/stdout" 2>"$WORK/err"; then
    got=SIGN
  else
    got=$(grep -o '\[[A-Z_]*\]$' "$WORK/err" | tr -d '[]')
  fi
  if [ "$got" != "$want" ]; then
    not_ok "$b: expected $want, got $got"; diag <"$WORK/err"; continue
  fi
  if [ "$got" = SIGN ]; then
    ok "$b: signed"
    check_signed "$WORK/out/s.pdf" 1 "$b" "$f"
  elif [ -z "$(ls -A "$WORK/out")" ]; then
    ok "$b: refused, $got ($(head -c 140 "$WORK/err" | sed 's/^tte: [^:]*: //' | tr '\n' ' '))"
  else
    not_ok "$b: refused but left a file behind"
  fi
done

echo "1..$n"
exit 0
