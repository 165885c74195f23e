#!/usr/bin/env bash
# test-keys-cli.sh — `tte keys` end to end against SoftHSM2 in a private token directory:
# generate, csr, issue with the openssl CLI, import-cert, list; exit codes 0/1/2 and the
# "[CODE]" of each failure.  TAP output.
set -u
TTE="${TTE_BUILD_DIR:?}/api/tte"
if ! command -v softhsm2-util >/dev/null || [ ! -e /usr/lib/softhsm/libsofthsm2.so ]; then
  echo "1..0 # SKIP SoftHSM2 is not installed"
  exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tte-keys-cli-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
mkdir tokens
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$tmp" >softhsm2.conf
export SOFTHSM2_CONF="$tmp/softhsm2.conf"
unset TTE_PIN TTE_PKCS11_MODULE TTE_PKCS11_ALLOWED_MODULES
softhsm2-util --init-token --free --label cli-test --so-pin so-secret --pin 2468-cli >/dev/null
printf '2468-cli\n' >pin
printf 'wrong-pin\n' >badpin
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem \
  -subj "/C=ID/O=Uji/CN=Uji Root CA" -days 30 2>/dev/null

n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; sed 's/^/# /' out err 2>/dev/null; }

# expect RC DESCRIPTION CMD... ; stdout in ./out, stderr in ./err
expect() {
  local want=$1 desc=$2
  shift 2
  "$@" >out 2>err
  local rc=$?
  if [ "$rc" -eq "$want" ]; then ok "$desc"; else echo "# exit $rc, wanted $want"; nok "$desc"; fi
}
# expect_code CODE DESCRIPTION CMD... : exit 1 with "tte: ... [CODE]" on stderr
expect_code() {
  local code=$1 desc=$2
  shift 2
  "$@" >out 2>err
  local rc=$?
  if [ "$rc" -eq 1 ] && grep -q "^tte: .*\[$code\]\$" err; then ok "$desc"; else echo "# exit $rc"; nok "$desc"; fi
}

U='pkcs11:token=cli-test;object=budi-2026'

expect 0 "keys --help" "$TTE" keys --help
grep -q "import-cert" out && ok "help names import-cert" || nok "help names import-cert"
for sub in list generate csr import-cert; do
  expect 0 "keys $sub --help" "$TTE" keys "$sub" --help
  grep -q "tte keys $sub" out && ok "$sub --help has an example" || nok "$sub --help has an example"
done
expect 2 "no subcommand is a usage error" "$TTE" keys
expect 2 "unknown subcommand" "$TTE" keys frobnicate
expect 2 "generate without URI" "$TTE" keys generate --pin-file pin
expect 2 "generate with a bad --type" "$TTE" keys generate "$U" --type rsa:1024 --pin-file pin
expect 2 "csr without --subject" "$TTE" keys csr "$U" --pin-file pin
expect 2 "unknown option" "$TTE" keys list --pin=1234

expect 0 "generate (default RSA-3072)" "$TTE" keys generate "$U" --pin-file pin
grep -q '^pkcs11:token=cli-test;.*object=budi-2026;id=' out && ok "generate prints the new URI" || nok "generate prints the new URI"
expect_code KEY_EXISTS "generate twice" "$TTE" keys generate "$U" --pin-file pin
TTE_PIN=2468-cli expect 0 "generate EC P-256 with TTE_PIN" "$TTE" keys generate \
  'pkcs11:token=cli-test;object=seal;id=%02' --type ec:p256

expect 0 "csr" "$TTE" keys csr "$U" --pin-file pin \
  --subject "/C=ID/O=Pemerintah Kota Uji/OU=Diskominfo/CN=Budi Santoso" -o req.pem
expect 0 "openssl accepts the request" openssl req -in req.pem -verify -noout
openssl req -in req.pem -noout -subject >out 2>&1
grep -q "CN = Budi Santoso" out && ok "request subject" || nok "request subject"
expect 0 "csr, RFC 2253 subject to stdout" "$TTE" keys csr "$U" --pin-file pin --subject "CN=Budi,O=Uji,C=ID"
grep -q "BEGIN CERTIFICATE REQUEST" out && ok "csr on stdout" || nok "csr on stdout"

openssl x509 -req -in req.pem -CA ca.pem -CAkey ca.key -set_serial 77 -days 30 -out budi.pem 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.pem -subj /CN=other -days 1 2>/dev/null
expect_code CERT_MISMATCH "import a certificate of another key" "$TTE" keys import-cert "$U" other.pem --pin-file pin
expect 0 "import-cert with chain" "$TTE" keys import-cert "$U" budi.pem --chain ca.pem --pin-file pin

expect 0 "list with PIN" "$TTE" keys list 'pkcs11:token=cli-test' --pin-file pin
for want in 'private key  label "budi-2026"' 'RSA-3072' 'EC-P256' 'subject CN=Budi Santoso' \
  'Uji Root CA' 'valid   20'; do
  grep -qF "$want" out && ok "list shows $want" || nok "list shows $want"
done
softhsm2-util --init-token --free --label cli-other --so-pin so-secret --pin other-pin >/dev/null
expect_code INVALID_ARGUMENT "a PIN with several tokens listed" "$TTE" keys list --pin-file pin
expect 0 "list without PIN" "$TTE" keys list
if grep -q "private key  label" out; then nok "no private keys without PIN"; else ok "no private keys without PIN"; fi

expect_code PIN_INCORRECT "wrong PIN" "$TTE" keys csr "$U" --pin-file badpin --subject /CN=x
grep -q "wrong-pin" err && nok "PIN not echoed" || ok "PIN not echoed"
expect_code PIN_INVALID "missing PIN file" "$TTE" keys csr "$U" --pin-file nonexistent --subject /CN=x
expect_code TOKEN_NOT_FOUND "missing token" "$TTE" keys csr 'pkcs11:token=nope;object=x' --pin-file pin --subject /CN=x
expect_code KEY_NOT_FOUND "missing key" "$TTE" keys csr 'pkcs11:token=cli-test;object=nope' --pin-file pin --subject /CN=x
expect_code INVALID_ARGUMENT "pin-value in the URI" "$TTE" keys list 'pkcs11:token=cli-test?pin-value=2468-cli'
grep -q "2468-cli" err && nok "pin-value not echoed" || ok "pin-value not echoed"
expect_code MODULE_NOT_ALLOWED "module outside the allowlist" "$TTE" keys list --module /lib/x86_64-linux-gnu/libc.so.6
SOFTHSM2_CONF=/nonexistent.conf expect_code MODULE_LOAD "module that fails to initialise" "$TTE" keys list
TTE_PKCS11_ALLOWED_MODULES=/nonexistent.so expect_code MODULE_NOT_ALLOWED "allowlist from the environment" "$TTE" keys list

echo "1..$n"
[ "$fails" -eq 0 ]
