# lib.sh — shared helpers for the signer's TAP scripts (sourced, not run).
#   make_pki DIR      throwaway PKI: root CA (C=ID), intermediate, RSA-2048, EC P-256 and RSA-3072 signers
#   make_nssdb DIR    NSS database trusting DIR/root.pem, for pdfsig
#   check_signed F    pdfsig/mutool/openssl cms/qpdf checks of every signature in F
set -u
TTE=${TTE_EXE:-${TTE_BUILD_DIR:-build}/api/tte}
n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $*"; }
check() { local d="$1"; shift; if "$@" >"$WORK/check.log" 2>&1; then ok "$d"; else not_ok "$d"; sed 's/^/# /' "$WORK/check.log" | head -20; fi; }
diag() { sed 's/^/# /'; }

make_pki() {
  local d="$1"
  mkdir -p "$d"
  (
    cd "$d" || exit 1
    cat > ext.cnf <<'CNF'
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[leaf]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
CNF
    openssl req -x509 -newkey rsa:2048 -nodes -keyout root.key -out root.pem -days 30 \
      -subj "/C=ID/O=TTE Test/CN=TTE Test Root CA" -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout int.key -out int.csr \
      -subj "/C=ID/O=TTE Test/CN=TTE Test Intermediate CA" 2>/dev/null
    openssl x509 -req -in int.csr -CA root.pem -CAkey root.key -CAcreateserial -out int.pem \
      -days 30 -extfile ext.cnf -extensions ca 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -keyout rsa.key -out rsa.csr \
      -subj "/C=ID/O=Pemda Test/CN=Sekretaris RSA" 2>/dev/null
    openssl x509 -req -in rsa.csr -CA int.pem -CAkey int.key -CAcreateserial -out rsa.pem \
      -days 30 -extfile ext.cnf -extensions leaf 2>/dev/null
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ec.key -out ec.csr \
      -subj "/C=ID/O=Pemda Test/CN=Kepala Dinas EC" 2>/dev/null
    openssl x509 -req -in ec.csr -CA int.pem -CAkey int.key -CAcreateserial -out ec.pem \
      -days 30 -extfile ext.cnf -extensions leaf 2>/dev/null
    openssl req -newkey rsa:3072 -nodes -keyout rsa2.key -out rsa2.csr \
      -subj "/C=ID/O=Pemda Test/CN=Sekretaris Daerah RSA" 2>/dev/null
    openssl x509 -req -in rsa2.csr -CA int.pem -CAkey int.key -CAcreateserial -out rsa2.pem \
      -days 30 -extfile ext.cnf -extensions leaf 2>/dev/null
    cp int.pem chain.pem
  )
}

make_nssdb() {
  local d="$1"
  mkdir -p "$d/nss"
  certutil -N -d "sql:$d/nss" --empty-password
  certutil -A -d "sql:$d/nss" -n root -t "CT,C,C" -i "$d/root.pem"
}

# sign IN OUT KIND [extra args...]  (KIND = rsa or ec)
sign() {
  local in="$1" out="$2" kind="$3"
  shift 3
  "$TTE" sign "$in" -o "$out" --key-file "$PKI/$kind.key" --cert "$PKI/$kind.pem" \
    --chain "$PKI/chain.pem" "$@"
}

# Extract signature number I (0-based, in file order) of F: writes $WORK/sigI.der and
# $WORK/sigI.content (the signed byte ranges).  Uses only sed/dd/xxd-free tools.
extract_sig() {
  local f="$1" i="$2"
  python3 - "$f" "$i" "$WORK" <<'PY'
import re, sys, binascii
f, i, work = sys.argv[1], int(sys.argv[2]), sys.argv[3]
data = open(f, 'rb').read()
brs = list(re.finditer(rb'/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]', data))
a, b, c, d = map(int, brs[i].groups())
content = data[a:a + b] + data[c:c + d]
hexs = data[a + b:c].strip()[1:-1]
der = binascii.unhexlify(hexs)
# strip the zero padding after the DER (outer SEQUENCE length)
if der[1] & 0x80:
    nb = der[1] & 0x7f
    ln = int.from_bytes(der[2:2 + nb], 'big') + 2 + nb
else:
    ln = der[1] + 2
open(f'{work}/sig{i}.der', 'wb').write(der[:ln])
open(f'{work}/sig{i}.content', 'wb').write(content)
print(len(brs))
PY
}

count_sigs() { grep -a -c "/ByteRange" "$1" 2>/dev/null || true; }

# Full independent check of every signature of F (N signatures expected).  ORIG (optional)
# is the unsigned input: when pdfsig hangs on it too, the pdfsig check is skipped (a
# poppler problem with that file, not with the signature).
check_signed() {
  local f="$1" nsig="$2" label="$3" orig="${4:-}"
  local out i=0 cmsok=1 pss=0 last_pss=0

  # openssl: every CMS verifies against the root alone; PAdES attributes.
  while [ "$i" -lt "$nsig" ]; do
    extract_sig "$f" "$i" >/dev/null || cmsok=0
    openssl cms -verify -binary -inform DER -in "$WORK/sig$i.der" -content "$WORK/sig$i.content" \
      -CAfile "$PKI/root.pem" -purpose any -out /dev/null >"$WORK/cms.log" 2>&1 || { cmsok=0; diag <"$WORK/cms.log"; }
    openssl cms -cmsout -print -inform DER -in "$WORK/sig$i.der" >"$WORK/sig$i.txt" 2>&1
    if grep -q "signingTime" "$WORK/sig$i.txt" || ! grep -q "id-smime-aa-signingCertificateV2" "$WORK/sig$i.txt"; then
      cmsok=0; echo "# sig $i: signing-time present or signing-certificate-v2 missing"
    fi
    last_pss=0
    if grep -q "rsassaPss" "$WORK/sig$i.txt"; then pss=$((pss + 1)); last_pss=1; fi
    i=$((i + 1))
  done
  if [ "$cmsok" = 1 ]; then ok "$label: openssl cms -verify (root only), no signingTime, signingCertificateV2"; else not_ok "$label: openssl cms"; fi

  out=$(timeout 60 pdfsig -nssdir "sql:$PKI/nss" "$f" 2>&1)
  if [ $? = 124 ] && [ -n "$orig" ] && ! timeout 30 pdfsig "$orig" >/dev/null 2>&1; then
    ok "$label: pdfsig # SKIP pdfsig hangs on the unsigned original too"
  elif [ "$(grep -c "Signature Validation: Signature is Valid." <<<"$out")" = "$nsig" ] &&
       [ "$(grep -c "Certificate Validation: Certificate is Trusted." <<<"$out")" = "$nsig" ] &&
       [ "$(grep -c "Total document signed" <<<"$out")" = 1 ] &&
       tail -n 12 <<<"$out" | grep -q "Total document signed"; then
    ok "$label: pdfsig: $nsig valid, trusted, last covers the whole document"
  else
    not_ok "$label: pdfsig"
    diag <<<"$out"
  fi

  # mupdf 1.21 has no trust store ("Certificate error: Unknown error." is expected) and
  # cannot check RSA-PSS ("Digest error: Unknown error."); its digest check must pass for
  # every other signature and find the last one unchanged.
  out=$(timeout 120 mutool sign -v "$f" 2>&1)
  if [ "$(grep -c "Distinguished name" <<<"$out")" = "$nsig" ] &&
     [ "$(grep -c "Digest error" <<<"$out")" = "$(grep -c "Digest error: Unknown error." <<<"$out")" ] &&
     [ "$(grep -c "Digest error" <<<"$out")" -le "$pss" ] &&
     { [ "$last_pss" = 1 ] || tail -n 1 <<<"$out" | grep -q "The document is unchanged since signing."; }; then
    ok "$label: mutool sign -v: digests OK$([ "$pss" -gt 0 ] && echo " (RSA-PSS not checked by mupdf 1.21)")"
  else
    not_ok "$label: mutool sign -v"
    diag <<<"$out"
  fi
  if qpdf --check "$f" >"$WORK/qpdf.log" 2>&1; then ok "$label: qpdf --check"; else not_ok "$label: qpdf --check"; diag <"$WORK/qpdf.log"; fi
}
