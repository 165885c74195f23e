#!/usr/bin/env bash
# Acceptance 1, 2, 4: signatures made by `tte sign` checked by tools nobody here wrote
# (pdfsig with an NSS trust store, mutool, openssl cms, qpdf), the CMS attributes
# (no signing-time, signing-certificate-v2 of the signer), the dictionary, certification,
# field filling, and three sequential signatures on one letter.
set -u
. "$(dirname "$0")/lib.sh"
for t in pdfsig mutool openssl qpdf certutil python3; do
  command -v $t >/dev/null || { echo "1..0 # SKIP $t not installed"; exit 0; }
done
WORK=$(mktemp -d); PKI=$WORK/pki
trap 'rm -rf "$WORK"' EXIT
make_pki "$PKI" && make_nssdb "$PKI" >/dev/null 2>&1
"$MKLETTER" "$WORK/letter.pdf" 2

# cert_hash_in SIGNUM PEM HASH: the signer certificate's digest is what ESS v2 names.
cert_hash_in() {
  local h
  h=$(openssl x509 -in "$2" -outform DER | openssl dgst -"$3" -binary | od -An -tx1 | tr -d ' \n' | tr a-f A-F)
  openssl asn1parse -inform DER -in "$WORK/sig$1.der" | grep -q "$h"
}

# 1, 2 for each key type / scheme / hash
for v in "rsa" "rsa --scheme rsa-pss --hash sha384" "ec" "ec --hash sha512" "rsa --hash sha512"; do
  set -- $v; kind=$1; shift
  out="$WORK/out-$kind-$#.pdf"
  if sign "$WORK/letter.pdf" "$out" "$kind" --reason "Menyetujui" --location "Kota Contoh" "$@" >/dev/null 2>"$WORK/err"; then
    ok "sign ($v)"
  else
    not_ok "sign ($v)"; diag <"$WORK/err"; continue
  fi
  check_signed "$out" 1 "$v"
  check "$v: input is a byte-exact prefix" cmp -n "$(stat -c %s "$WORK/letter.pdf")" "$WORK/letter.pdf" "$out"
  check "$v: /SubFilter /ETSI.CAdES.detached and /M" \
    bash -c "grep -aq '/SubFilter /ETSI.CAdES.detached' '$out' && grep -aq '/M (D:20' '$out'"
  hash=sha256; [[ "$v" == *--hash* ]] && hash=${v##*--hash }
  check "$v: signing-certificate-v2 names the signer certificate" cert_hash_in 0 "$PKI/$kind.pem" "$hash"
done

# Certification (DocMDP P=2) followed by an approval signature.
sign "$WORK/letter.pdf" "$WORK/cert.pdf" rsa --certify 2 >/dev/null 2>&1
check "certify 2: /Perms /DocMDP and /TransformParams P 2" \
  bash -c "grep -aq '/Perms << /DocMDP' '$WORK/cert.pdf' && grep -aq '/TransformMethod /DocMDP /TransformParams << /Type /TransformParams /P 2' '$WORK/cert.pdf'"
check_signed "$WORK/cert.pdf" 1 "certified P=2"
sign "$WORK/cert.pdf" "$WORK/cert2.pdf" ec >/dev/null 2>&1
check_signed "$WORK/cert2.pdf" 2 "certified P=2 + approval"

# 4: three sequential signatures by three officials (RSA, EC, RSA-3072 with PSS), each an
# incremental update.  (Three different certificates: see docs/signing.md for poppler's
# report on a certificate that signs twice in one document.)
cur="$WORK/letter.pdf"
i=0
for v in "rsa" "ec" "rsa2 --scheme rsa-pss"; do
  i=$((i + 1))
  set -- $v; kind=$1; shift
  sign "$cur" "$WORK/seq$i.pdf" "$kind" --reason "Paraf $i" "$@" >/dev/null 2>"$WORK/err" || diag <"$WORK/err"
  cur="$WORK/seq$i.pdf"
done
check_signed "$cur" 3 "three sequential signatures"
out=$(pdfsig -nssdir "sql:$PKI/nss" "$cur" 2>&1)
check "pdfsig lists Signature1..3" bash -c "grep -q 'Field Name: Signature1' <<<'$out' && grep -q 'Field Name: Signature2' <<<'$out' && grep -q 'Field Name: Signature3' <<<'$out'"

# --field: a letter template with an empty signature field (written with wrong offsets,
# then normalised by qpdf), filled by name.
cat >"$WORK/field-raw.pdf" <<'PDF'
%PDF-1.7
1 0 obj << /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [5 0 R] >> >> endobj
2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj
3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Annots [5 0 R] >> endobj
4 0 obj << /Length 0 >> stream
endstream endobj
5 0 obj << /Type /Annot /Subtype /Widget /FT /Sig /T (TTE_Sekretaris) /Rect [350 80 530 140] /P 3 0 R /F 4 >> endobj
trailer << /Root 1 0 R /Size 6 >>
%%EOF
PDF
qpdf "$WORK/field-raw.pdf" "$WORK/field.pdf" >/dev/null 2>&1
sign "$WORK/field.pdf" "$WORK/field-signed.pdf" rsa --field TTE_Sekretaris >/dev/null 2>"$WORK/err" || diag <"$WORK/err"
check_signed "$WORK/field-signed.pdf" 1 "--field TTE_Sekretaris"
check "--field: pdfsig names the field" bash -c "pdfsig '$WORK/field-signed.pdf' | grep -q 'Field Name: TTE_Sekretaris'"

# -o - writes the signed document to standard output.
sign "$WORK/letter.pdf" - ec >"$WORK/stdout.pdf" 2>/dev/null
check_signed "$WORK/stdout.pdf" 1 "-o - (stdout)"

echo "1..$n"
exit 0
