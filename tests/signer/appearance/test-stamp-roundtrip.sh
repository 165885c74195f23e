#!/usr/bin/env bash
# TAP: acceptance for the visible stamp through the real signer (tte sign).
# For a normal page, a /Rotate 90 page (inherited from the page tree), a /Rotate 270
# page and a page with an offset CropBox, sign with --page 1 --rect X,Y,W,H and check,
# as an independent renderer (pdftoppm) shows the page:
#   - the stamp's ink is exactly the asked rectangle (reader space, 1 px = 1 pt);
#   - it is upright: zbarimg reads the QR code with orientation UP, and the QR code is
#     on the left of the box;
#   - the signature still verifies (pdfsig) and qpdf --check passes.
# Then --anchor on the demo letter: the stamp lands on the "[TTE]" placeholder.
set -uo pipefail
: "${TTE_SOURCE_DIR:?}" "${TTE_BUILD_DIR:?}"
. "$TTE_SOURCE_DIR/tests/signer/lib.sh"

for t in python3 openssl pdftoppm zbarimg pdfsig qpdf; do
  command -v "$t" >/dev/null || { echo "1..0 # SKIP $t not installed"; exit 0; }
done
[ -x "$TTE" ] || { echo "1..0 # SKIP $TTE not built"; exit 0; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
PKI=$WORK/pki
make_pki "$PKI" >/dev/null 2>&1 || { echo "1..0 # SKIP cannot make a test PKI"; exit 0; }
QR_BASE="https://tte.example.go.id/v/"
DOC_ID="acc-0001"

# blank PDF: MEDIA "x0 y0 x1 y1", CROP (or "-"), ROTATE on the Pages node (inherited)
blank_pdf() {
  python3 - "$@" <<'PY'
import sys
out, media, crop, rot = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
field = sys.argv[5] if len(sys.argv) > 5 else None  # an empty signature field's /Rect
cropent = '' if crop == '-' else f' /CropBox [{crop}]'
annots = ' /Annots [5 0 R]' if field else ''
acro = ' /AcroForm << /Fields [5 0 R] >>' if field else ''
objs = [
  f'<< /Type /Catalog /Pages 2 0 R{acro} >>'.encode(),
  f'<< /Type /Pages /Kids [3 0 R] /Count 1 /Rotate {rot} >>'.encode(),
  f'<< /Type /Page /Parent 2 0 R /MediaBox [{media}]{cropent} /Contents 4 0 R /Resources << >>{annots} >>'.encode(),
  b'<< /Length 0 >>\nstream\n\nendstream',
]
if field:
    objs.append(f'<< /FT /Sig /T (TTE_Sekretaris) /Type /Annot /Subtype /Widget /F 4 /P 3 0 R /Rect [{field}] >>'.encode())
data = bytearray(b'%PDF-1.7\n%\xe2\xe3\xcf\xd3\n')
offs = []
for i, o in enumerate(objs, 1):
    offs.append(len(data))
    data += f'{i} 0 obj\n'.encode() + o + b'\nendobj\n'
x = len(data)
data += f'xref\n0 {len(objs)+1}\n0000000000 65535 f \n'.encode()
for o in offs:
    data += f'{o:010d} 00000 n \n'.encode()
data += f'trailer\n<< /Size {len(objs)+1} /Root 1 0 R >>\nstartxref\n{x}\n%%EOF\n'.encode()
open(out, 'wb').write(data)
PY
}

# ink bbox of page 1 rendered at 72 dpi (CropBox, as viewers show it) and the dark
# fraction of the left and right squares of the box: prints "W H x0 y0 x1 y1 left right"
measure() {
  local pdf="$1" x="$2" y="$3" w="$4" h="$5"
  pdftoppm -cropbox -r 72 -gray -singlefile "$pdf" "$WORK/m" >/dev/null 2>&1 || return 1
  python3 - "$WORK/m.pgm" "$x" "$y" "$w" "$h" <<'PY'
import sys
f = open(sys.argv[1], 'rb').read()
parts, pos = [], 0
while len(parts) < 4:  # P5 W H MAX, separated by white space
    while f[pos:pos+1].isspace(): pos += 1
    start = pos
    while not f[pos:pos+1].isspace(): pos += 1
    parts.append(f[start:pos])
pos += 1
W, H = int(parts[1]), int(parts[2])
px = f[pos:pos + W * H]
x0, y0, x1, y1 = W, H, -1, -1
for yy in range(H):
    row = px[yy * W:(yy + 1) * W]
    for xx, v in enumerate(row):
        if v < 200:
            x0, y0, x1, y1 = min(x0, xx), min(y0, yy), max(x1, xx + 1), max(y1, yy + 1)
rx, ry, rw, rh = (int(float(a)) for a in sys.argv[2:6])
top = H - ry - rh
def dark(a, b, c, d):
    n = k = 0
    for yy in range(b, d):
        for xx in range(a, c):
            n += 1; k += px[yy * W + xx] < 128
    return k / max(n, 1)
left = dark(rx + 4, top + 4, rx + rh - 4, top + rh - 4)
right = dark(rx + rw - rh + 4, top + 4, rx + rw - 4, top + rh - 4)
print(W, H, x0, y0, x1, y1, f'{left:.3f}', f'{right:.3f}')
PY
}

# run_case LABEL MEDIA CROP ROTATE VISIBLE_W VISIBLE_H [FIELD_RECT]
# Without FIELD_RECT: --page 1 --rect 90,140,230,90.  With it: the blank page carries
# an empty signature field at that user-space /Rect (which must be where the reader
# sees 90,140,230,90) and the stamp fills it via --field.
run_case() {
  local label="$1" media="$2" crop="$3" rot="$4" vw="$5" vh="$6" field="${7:-}"
  local x=90 y=140 w=230 h=90
  local in="$WORK/$label.pdf" out="$WORK/$label-signed.pdf"
  local how=(--page 1 --rect "$x,$y,$w,$h")
  if [ -n "$field" ]; then
    blank_pdf "$in" "$media" "$crop" "$rot" "$field"
    how=(--field TTE_Sekretaris)
  else
    blank_pdf "$in" "$media" "$crop" "$rot"
  fi
  if ! sign "$in" "$out" rsa "${how[@]}" --qr-url "$QR_BASE" \
       --document-id "$DOC_ID" --timezone "+08:00" --reason "Uji penerimaan" >"$WORK/sign.log" 2>&1; then
    not_ok "$label: tte sign ${how[*]}"; diag <"$WORK/sign.log"; return
  fi
  ok "$label: tte sign ${how[*]}"
  local m
  m=$(measure "$out" $x $y $w $h) || { not_ok "$label: render"; return; }
  read -r W H x0 y0 x1 y1 left right <<<"$m"
  local ey0=$((vh - y - h)) ey1=$((vh - y))
  if [ "$W" = "$vw" ] && [ "$H" = "$vh" ] &&
     [ $((x0 - x)) -ge -1 ] && [ $((x0 - x)) -le 1 ] && [ $((x1 - x - w)) -ge -1 ] && [ $((x1 - x - w)) -le 1 ] &&
     [ $((y0 - ey0)) -ge -1 ] && [ $((y0 - ey0)) -le 1 ] && [ $((y1 - ey1)) -ge -1 ] && [ $((y1 - ey1)) -le 1 ]; then
    ok "$label: stamp ink at the asked rectangle ($m)"
  else
    not_ok "$label: stamp ink at $x0,$y0-$x1,$y1 on ${W}x$H, wanted $x,$ey0-$((x + w)),$ey1 on ${vw}x$vh"
  fi
  if python3 -c "import sys; sys.exit(0 if float('$left') > 2 * float('$right') else 1)"; then
    ok "$label: QR code on the left of the box"
  else
    not_ok "$label: QR code not on the left (dark left $left, right $right)"
  fi
  pdftoppm -cropbox -r 150 -png -singlefile "$out" "$WORK/q" >/dev/null 2>&1
  local z
  z=$(zbarimg -q --xml "$WORK/q.png" 2>/dev/null)
  if grep -q "orientation='UP'" <<<"$z" && grep -q "$QR_BASE$DOC_ID" <<<"$z"; then
    ok "$label: QR decodes to the verification URL, upright"
  else
    not_ok "$label: QR"; diag <<<"$z"
  fi
  if pdfsig "$out" 2>&1 | grep -q "Signature is Valid."; then ok "$label: pdfsig: signature valid"; else not_ok "$label: pdfsig"; pdfsig "$out" 2>&1 | diag; fi
  if qpdf --check "$out" >"$WORK/qpdf.log" 2>&1; then ok "$label: qpdf --check"; else not_ok "$label: qpdf --check"; diag <"$WORK/qpdf.log"; fi
}

run_case normal    "0 0 612 792" "-"            0   612 792
run_case rotate90  "0 0 612 792" "-"            90  792 612
run_case rotate270 "0 0 612 792" "-"            270 792 612
run_case cropbox   "0 0 612 792" "40 70 560 760" 0  520 690
run_case rot90crop "0 0 612 792" "40 70 560 760" 90 690 520
# reader 90,140 230x90 on a /Rotate 90 letter page is user [382 90 472 320]
run_case field-rotate90 "0 0 612 792" "-" 90 792 612 "382 90 472 320"
run_case field-normal   "0 0 612 792" "-" 0  612 792 "90 140 320 230"

# --anchor on the demo letter: the stamp's top-left sits on the placeholder's top-left.
LETTER_EXE="$TTE_BUILD_DIR/certs-example/tte-sample-letter"
if [ -x "$LETTER_EXE" ] && ASAN_OPTIONS=detect_leaks=0 "$LETTER_EXE" "$WORK/letter.pdf" >/dev/null 2>&1; then
  if sign "$WORK/letter.pdf" "$WORK/letter-signed.pdf" rsa --anchor "[TTE]" --qr-url "$QR_BASE" \
       --document-id "$DOC_ID" >"$WORK/sign.log" 2>&1; then
    ok "anchor: tte sign --anchor [TTE]"
    # pdftotext -bbox gives the placeholder's box (top-left origin, like the render);
    # the pixels that changed between the letter and the signed letter must be exactly
    # the default 200 x 64 pt box hanging from the placeholder's top-left corner.
    bb=$(pdftotext -bbox -f 1 -l 1 "$WORK/letter.pdf" - 2>/dev/null | grep '>\[TTE\]<' | head -1)
    ax=$(sed -E 's/.*xMin="([0-9.]+)".*/\1/' <<<"$bb"); ay=$(sed -E 's/.*yMin="([0-9.]+)".*/\1/' <<<"$bb")
    pdftoppm -r 72 -gray -singlefile "$WORK/letter.pdf" "$WORK/before" >/dev/null 2>&1
    pdftoppm -r 72 -gray -singlefile "$WORK/letter-signed.pdf" "$WORK/after" >/dev/null 2>&1
    d=$(python3 - "$WORK/before.pgm" "$WORK/after.pgm" <<'PY'
import sys
def load(p):
    f = open(p, 'rb').read(); parts, pos = [], 0
    while len(parts) < 4:
        while f[pos:pos+1].isspace(): pos += 1
        st = pos
        while not f[pos:pos+1].isspace(): pos += 1
        parts.append(f[st:pos])
    W, H = int(parts[1]), int(parts[2])
    return W, H, f[pos + 1:pos + 1 + W * H]
W, H, a = load(sys.argv[1]); _, _, b = load(sys.argv[2])
x0, y0, x1, y1 = W, H, -1, -1
for i in range(W * H):
    if abs(a[i] - b[i]) > 40:
        x, y = i % W, i // W
        x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x + 1), max(y1, y + 1)
print(x0, y0, x1, y1)
PY
)
    read -r dx0 dy0 dx1 dy1 <<<"$d"
    exp_x0=${ax%.*}; exp_y0=${ay%.*}
    pdftoppm -r 150 -png -singlefile "$WORK/letter-signed.pdf" "$WORK/aq" >/dev/null 2>&1
    if [ -n "$bb" ] && [ $((dx0 - exp_x0)) -ge -2 ] && [ $((dx0 - exp_x0)) -le 2 ] &&
       [ $((dy0 - exp_y0)) -ge -2 ] && [ $((dy0 - exp_y0)) -le 2 ] &&
       [ $((dx1 - dx0 - 200)) -ge -2 ] && [ $((dx1 - dx0 - 200)) -le 2 ] &&
       [ $((dy1 - dy0 - 64)) -ge -2 ] && [ $((dy1 - dy0 - 64)) -le 2 ]; then
      ok "anchor: the stamp hangs from the placeholder's top-left ($d vs $ax,$ay)"
    else
      not_ok "anchor: changed pixels $d, placeholder at $ax,$ay"; echo "# $bb"
    fi
    if zbarimg -q --raw "$WORK/aq.png" 2>/dev/null | grep -qx "$QR_BASE$DOC_ID"; then
      ok "anchor: QR decodes on the letter"
    else
      not_ok "anchor: QR on the letter"
    fi
  else
    not_ok "anchor: tte sign --anchor"; diag <"$WORK/sign.log"
  fi
else
  ok "anchor: # SKIP sample letter generator not built"
fi

echo "1..$n"
exit $((fails > 0))
