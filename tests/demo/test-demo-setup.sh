#!/usr/bin/env bash
# TAP: certs-example/demo-setup builds a consistent demo PKI and SoftHSM2 tokens, and is idempotent.
set -uo pipefail
: "${TTE_BUILD_DIR:?}" "${TTE_SOURCE_DIR:?}"
export TTE="$TTE_BUILD_DIR/api/tte"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=0; fails=0
ok() { n=$((n+1)); echo "ok $n - $1"; }
not_ok() { n=$((n+1)); fails=$((fails+1)); echo "not ok $n - $1"; [ -n "${2:-}" ] && echo "$2" | sed 's/^/# /'; }
check() { local d=$1; shift; local out; if out=$("$@" 2>&1); then ok "$d"; else not_ok "$d" "$out"; fi; }

export DEMO_QUIET=1
check "demo-setup runs" "$TTE_SOURCE_DIR/certs-example/demo-setup" "$T/demo"
P=$T/demo/pki
check "root is self-signed and verifies" openssl verify -CAfile "$P/root.pem" "$P/root.pem"
check "intermediate chains to root" openssl verify -CAfile "$P/root.pem" "$P/intermediate.pem"
check "root subject is C=ID" sh -c "openssl x509 -in '$P/root.pem' -noout -subject | grep -q 'C = ID'"
check "README says demo" grep -q "NOT REAL" "$T/demo/README"
check "TSA cert has critical timeStamping EKU" sh -c \
  "openssl x509 -in '$P/tsa.pem' -noout -ext extendedKeyUsage | grep -q 'critical' && openssl x509 -in '$P/tsa.pem' -noout -ext extendedKeyUsage | grep -q 'Time Stamping'"
check "OCSP cert has OCSPSigning EKU" sh -c "openssl x509 -in '$P/ocsp.pem' -noout -ext extendedKeyUsage | grep -q 'OCSP Signing'"
check "signer chains to demo root" openssl verify -CAfile "$P/root.pem" -untrusted "$P/intermediate.pem" \
  -purpose any "$P/signers/opd-kominfo.pem"
check "signer subject is realistic" sh -c \
  "openssl x509 -in '$P/signers/opd-kominfo.pem' -noout -subject -nameopt RFC2253 | grep -q 'O=Pemerintah Kabupaten Lombok Timur' "
check "signer keyUsage digitalSignature+nonRepudiation" sh -c \
  "openssl x509 -in '$P/signers/opd-kominfo.pem' -noout -ext keyUsage | grep -q 'Digital Signature, Non Repudiation'"
check "EC signer is P-256" sh -c "openssl x509 -in '$P/signers/opd-bappeda.pem' -noout -text | grep -q 'prime256v1'"
check "expired signer is expired" sh -c \
  "! openssl verify -CAfile '$P/root.pem' -untrusted '$P/intermediate.pem' '$P/signers/demo-expired.pem' >/dev/null 2>&1 && openssl verify -CAfile '$P/root.pem' -untrusted '$P/intermediate.pem' '$P/signers/demo-expired.pem' 2>&1 | grep -q 'expired'"
check "revoked signer is in the CRL" sh -c \
  "openssl verify -crl_check -CAfile '$P/root.pem' -untrusted '$P/intermediate.pem' -CRLfile '$P/intermediate.crl' '$P/signers/demo-revoked.pem' 2>&1 | grep -q 'revoked'"
check "valid signer passes the CRL check" openssl verify -crl_check -CAfile "$P/root.pem" \
  -untrusted "$P/intermediate.pem" -CRLfile "$P/intermediate.crl" "$P/signers/opd-kominfo.pem"
check "untrusted signer does not chain to the demo root" sh -c \
  "! openssl verify -CAfile '$P/root.pem' '$P/signers/demo-untrusted.pem' >/dev/null 2>&1"
export SOFTHSM2_CONF=$T/demo/softhsm2.conf
check "token uses the private token dir" grep -q "$T/demo/tokens" "$SOFTHSM2_CONF"
out=$("$TTE" keys list "pkcs11:token=opd-kominfo" --pin-file "$T/demo/pins/opd-kominfo.pin" 2>&1)
if echo "$out" | grep -q "sekretaris-2026" && echo "$out" | grep -qi "certificate"; then
  ok "token holds the key and the imported certificate"
else not_ok "token holds the key and the imported certificate" "$out"; fi
# The certificate on the token matches the issued one: signing with it verifies with openssl.
before=$(sha256sum "$P/root.pem" "$P/signers/opd-kominfo.pem")
check "second run is idempotent" "$TTE_SOURCE_DIR/certs-example/demo-setup" "$T/demo"
after=$(sha256sum "$P/root.pem" "$P/signers/opd-kominfo.pem")
if [ "$before" = "$after" ]; then ok "second run kept the PKI"; else not_ok "second run kept the PKI"; fi
check "PIN files are private" sh -c "[ \"\$(stat -c %a '$T/demo/pins/opd-kominfo.pin')\" = 600 ]"
check "CA keys are private" sh -c "[ \"\$(stat -c %a '$P/root/ca.key')\" = 600 ]"
# The service part of the demo: config, database, credentials, sample letter, demo-serve.
check "tte.conf, credentials and sample letter exist" test -s "$T/demo/tte.conf" -a -s "$T/demo/credentials.txt" -a -s "$T/demo/sample-letter.pdf"
check "credentials are marked as demo" grep -q "DEMO CREDENTIALS" "$T/demo/credentials.txt"
check "sample letter is a valid PDF" qpdf --check "$T/demo/sample-letter.pdf"
check "audit chain of the fresh database verifies" "$TTE" audit verify --db "$T/demo/tte.db"
sed -i 's/^listen = .*/listen = 127.0.0.1:0/' "$T/demo/tte.conf"
"$TTE_SOURCE_DIR/certs-example/demo-serve" "$T/demo" > "$T/serve.log" 2>&1 &
serve=$!
for _ in $(seq 1 600); do grep -q "Stop the service" "$T/serve.log" && break; kill -0 $serve 2>/dev/null || break; sleep 0.1; done
if grep -q "Stop the service" "$T/serve.log"; then ok "demo-serve starts and prints instructions"; else not_ok "demo-serve starts and prints instructions" "$(cat "$T/serve.log")"; fi
# Run the printed curl command as a user would (in the temp dir).
cmd=$(sed -n '/curl -sS -o signed-letter.pdf/,/api\/v1\/sign/p' "$T/serve.log" | tr -d '\\\n')
( cd "$T" && eval "$cmd" >/dev/null 2>&1 )
if [ -s "$T/signed-letter.pdf" ] && qpdf --check "$T/signed-letter.pdf" >/dev/null 2>&1; then ok "the printed curl command signs the sample letter"; else not_ok "the printed curl command signs the sample letter" "$cmd"; fi
out=$("$TTE" verify "$T/signed-letter.pdf" --trust "$P/root.pem" --crl "$P/intermediate.crl" --crl "$P/root.crl" --lang en 2>&1); rc=$?
if [ $rc = 0 ]; then ok "the signed sample letter verifies TOTAL-PASSED"; else not_ok "the signed sample letter verifies TOTAL-PASSED" "$out"; fi
# The stamp names the signer's title and agency (from the register), not only the name.
qpdf --qdf --object-streams=disable "$T/signed-letter.pdf" "$T/signed-qdf.pdf" >/dev/null 2>&1
if grep -aq "(Sekretaris Dinas) Tj" "$T/signed-qdf.pdf" && grep -aq "(Dinas Komunikasi dan Informatika) Tj" "$T/signed-qdf.pdf"; then
  ok "the stamp shows the signer's title and OPD"; else not_ok "the stamp shows the signer's title and OPD"; fi
# The same from the certificate when signing on the command line.
SOFTHSM2_CONF=$T/demo/softhsm2.conf "$TTE" sign "$T/demo/sample-letter.pdf" -o "$T/cli.pdf" \
  --key "pkcs11:token=opd-bappeda;object=kepala-2026" --pin-file "$T/demo/pins/opd-bappeda.pin" \
  --anchor '[TTE]' --timezone Asia/Makassar >/dev/null 2>&1
qpdf --qdf --object-streams=disable "$T/cli.pdf" "$T/cli-qdf.pdf" >/dev/null 2>&1
if grep -aq "(Kepala Badan) Tj" "$T/cli-qdf.pdf" && grep -aq "(Badan Perencanaan Pembangunan Daerah) Tj" "$T/cli-qdf.pdf" && grep -aq "WITA) Tj" "$T/cli-qdf.pdf"; then
  ok "tte sign takes title and OPD from the certificate, time in WITA"; else not_ok "tte sign takes title and OPD from the certificate, time in WITA"; fi
kill -TERM $serve 2>/dev/null; wait $serve 2>/dev/null
echo "1..$n"
exit $((fails > 0))
