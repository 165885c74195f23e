#!/usr/bin/env bash
# `tte sign --key pkcs11:...` with keys generated ON a SoftHSM2 token (private token
# directory) by `tte keys`, certified by the throwaway PKI: the production path, checked
# like the file-key signatures.  Also: a wrong PIN is refused and leaves no file.
set -u
. "$(dirname "$0")/lib.sh"
for t in softhsm2-util pdfsig mutool openssl qpdf certutil python3; do
  command -v $t >/dev/null || { echo "1..0 # SKIP $t not installed"; exit 0; }
done
"$TTE" keys --help >/dev/null 2>&1 || { echo "1..0 # SKIP tte built without keys (pkcs11/)"; exit 0; }
WORK=$(mktemp -d); PKI=$WORK/pki
trap 'rm -rf "$WORK"' EXIT
make_pki "$PKI" && make_nssdb "$PKI" >/dev/null 2>&1
"$MKLETTER" "$WORK/letter.pdf"
mkdir "$WORK/tokens" "$WORK/out"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$WORK" >"$WORK/softhsm2.conf"
export SOFTHSM2_CONF="$WORK/softhsm2.conf"
unset TTE_PIN TTE_PKCS11_MODULE TTE_PKCS11_ALLOWED_MODULES
softhsm2-util --init-token --free --label opd-uji --so-pin so-secret --pin 1357-uji >/dev/null
printf '1357-uji\n' >"$WORK/pin"
printf 'salah\n' >"$WORK/badpin"

for kt in rsa:2048 ec:p256; do
  name=sekretaris-${kt%%:*}
  uri="pkcs11:token=opd-uji;object=$name"
  if "$TTE" keys generate "$uri" --type "$kt" --pin-file "$WORK/pin" >/dev/null 2>"$WORK/err" &&
     "$TTE" keys csr "$uri" --pin-file "$WORK/pin" --subject "/C=ID/O=Pemda Uji/CN=$name" -o "$WORK/$name.csr" 2>"$WORK/err" &&
     openssl x509 -req -in "$WORK/$name.csr" -CA "$PKI/int.pem" -CAkey "$PKI/int.key" -CAcreateserial \
       -out "$WORK/$name.pem" -days 30 -extfile "$PKI/ext.cnf" -extensions leaf 2>"$WORK/err" &&
     "$TTE" keys import-cert "$uri" "$WORK/$name.pem" --pin-file "$WORK/pin" >/dev/null 2>"$WORK/err"; then
    ok "$kt: key generated on the token, certified, certificate imported"
  else
    not_ok "$kt: token setup"; diag <"$WORK/err"; continue
  fi
  if "$TTE" sign "$WORK/letter.pdf" -o "$WORK/$name.pdf" --key "$uri" --pin-file "$WORK/pin" \
       --chain "$PKI/chain.pem" --reason "Menyetujui" >/dev/null 2>"$WORK/err"; then
    ok "$kt: tte sign --key $uri"
    check_signed "$WORK/$name.pdf" 1 "token $kt"
  else
    not_ok "$kt: tte sign --key"; diag <"$WORK/err"
  fi
done

rm -f "$WORK/out/"*
"$TTE" sign "$WORK/letter.pdf" -o "$WORK/out/x.pdf" --key "pkcs11:token=opd-uji;object=sekretaris-rsa" \
  --pin-file "$WORK/badpin" >/dev/null 2>"$WORK/err"
rc=$?
if [ $rc = 1 ] && grep -q "\[PIN_INCORRECT\]" "$WORK/err" && [ -z "$(ls -A "$WORK/out")" ] && ! grep -q salah "$WORK/err"; then
  ok "wrong PIN: PIN_INCORRECT, no file, PIN not echoed"
else
  not_ok "wrong PIN (exit $rc)"; diag <"$WORK/err"
fi

echo "1..$n"
exit 0
