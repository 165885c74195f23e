#!/usr/bin/env bash
# Acceptance 1-3 on letters made by real producers (cairo, Ghostscript, mupdf), and on
# the same letters rewritten by qpdf into the file shapes the signer must handle: xref
# stream with object streams, linearized, PDF 1.3 and 2.0 headers, already updated.
set -u
. "$(dirname "$0")/lib.sh"
SRC=${SIGNER_TEST_DIR:-$(dirname "$0")}
for t in pdfsig mutool openssl qpdf certutil python3; do
  command -v $t >/dev/null || { echo "1..0 # SKIP $t not installed"; exit 0; }
done
WORK=$(mktemp -d); PKI=$WORK/pki
trap 'rm -rf "$WORK"' EXIT
make_pki "$PKI" && make_nssdb "$PKI" >/dev/null 2>&1

letters=()
"$MKLETTER" "$WORK/cairo.pdf" 3 && letters+=(cairo)
if command -v gs >/dev/null; then
  gs -q -dSAFER -dNOPAUSE -dBATCH -sDEVICE=pdfwrite -sOutputFile="$WORK/ghostscript.pdf" "$SRC/letter.ps" &&
    letters+=(ghostscript)
else
  ok "ghostscript letter # SKIP gs not installed (Debian package ghostscript)"
fi
mutool create -o "$WORK/mupdf.pdf" "$SRC/letter-mutool.txt" && letters+=(mupdf)

for l in "${letters[@]}"; do
  base="$WORK/$l.pdf"
  qpdf --object-streams=generate "$base" "$WORK/$l-xrefstream.pdf"
  qpdf --linearize "$base" "$WORK/$l-linearized.pdf"
  qpdf --force-version=1.3 "$base" "$WORK/$l-pdf13.pdf"
  qpdf --force-version=2.0 --object-streams=generate "$base" "$WORK/$l-pdf20.pdf"
  for v in "" -xrefstream -linearized -pdf13 -pdf20; do
    in="$WORK/$l$v.pdf"
    if sign "$in" "$WORK/s.pdf" rsa --reason "Menyetujui" >/dev/null 2>"$WORK/err"; then
      ok "$l$v: signed"
      check_signed "$WORK/s.pdf" 1 "$l$v"
      # The update's xref section is of the same kind as the file's last one.
      if grep -aq "/Type /XRef" <(tail -c 2000 "$WORK/s.pdf"); then kind=stream; else kind=table; fi
      want=table; [[ "$v" == -xrefstream || "$v" == -pdf20 ]] && want=stream
      [ "$v" = -linearized ] && want=$kind # depends on qpdf's choice for the first-page section
      check "$l$v: update uses an xref $want" test "$kind" = "$want"
      # ... and a second signature on top of the first (an already-updated file).
      sign "$WORK/s.pdf" "$WORK/s2.pdf" ec >/dev/null 2>"$WORK/err" || diag <"$WORK/err"
      check_signed "$WORK/s2.pdf" 2 "$l$v + second signature"
    else
      not_ok "$l$v: signed"; diag <"$WORK/err"
    fi
  done
done

# Visible signatures through the appearance module (when built): --rect and --anchor.
sign "$WORK/cairo.pdf" "$WORK/v.pdf" rsa --page 1 --rect 350,80,200,80 >/dev/null 2>"$WORK/err"
if grep -q NOT_SUPPORTED "$WORK/err"; then
  ok "visible signature # SKIP appearance module not built"
else
  check "visible --rect: signed" test -s "$WORK/v.pdf"
  check_signed "$WORK/v.pdf" 1 "visible --rect"
  sign "$WORK/cairo.pdf" "$WORK/va.pdf" ec --anchor "[TTE]" >/dev/null 2>"$WORK/err" || diag <"$WORK/err"
  check_signed "$WORK/va.pdf" 1 "visible --anchor [TTE]"
fi

echo "1..$n"
exit 0
