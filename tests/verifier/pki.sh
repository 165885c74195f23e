# pki.sh — a throwaway PKI for the verifier tests, made with the openssl CLI (sourced).
#
#   pki_make DIR OCSP_PORT   root CA, a second unrelated root, an OCSP responder and
#                            signers: good (RSA), ec (P-256), expired, revoked (revoked
#                            at once), ocspgood/ocsprevoked (AIA -> 127.0.0.1:OCSP_PORT),
#                            nosign (keyUsage keyEncipherment only); root.crl after the
#                            revocations.  sub (a sub CA) with subsigner (+ sub.crl);
#                            subrevoked (a sub CA the root revoked) with subsigner2 (+ subrevoked.crl).  Each signer X has X.pem, X.key, X.p12 (pass "test").
#   pki_letter FILE          a one-page unsigned letter (PDF 1.7, classic xref)

pki_conf() {
  local d=$1 port=$2
  cat > "$d/ca.cnf" <<CNF
[ ca ]
default_ca = root
[ root ]
dir = $d
database = $d/index.txt
new_certs_dir = $d/newcerts
serial = $d/serial
crlnumber = $d/crlnumber
certificate = $d/root.pem
private_key = $d/root.key
default_md = sha256
default_days = 365
default_crl_days = 7
policy = any
unique_subject = no
copy_extensions = none
[ any ]
commonName = supplied
organizationName = optional
countryName = optional
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ v3_root ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ v3_subca ]
basicConstraints = critical, CA:true, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ sub ]
dir = $d/sub
database = $d/sub/index.txt
new_certs_dir = $d/sub/newcerts
serial = $d/sub/serial
crlnumber = $d/sub/crlnumber
certificate = $d/sub.pem
private_key = $d/sub.key
default_md = sha256
default_days = 365
default_crl_days = 7
policy = any
unique_subject = no
copy_extensions = none
[ v3_signer ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
crlDistributionPoints = URI:http://127.0.0.1:$port/root.crl
[ v3_signer_ocsp ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
authorityInfoAccess = OCSP;URI:http://127.0.0.1:$port
[ v3_nosign ]
basicConstraints = critical, CA:false
keyUsage = critical, keyEncipherment
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ v3_ocsp ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, OCSPSigning
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ v3_tsa ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
CNF
}

# pki_issue DIR NAME EXT [KEYALG] [extra openssl ca args...]
pki_issue() {
  local d=$1 name=$2 ext=$3 alg=${4:-rsa}
  shift 4 || shift $#
  if [ "$alg" = ec ]; then
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$d/$name.key" 2>/dev/null
  else
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$d/$name.key" 2>/dev/null
  fi
  openssl req -new -key "$d/$name.key" -subj "/CN=TTE Test $name/O=Pemerintah Kota Contoh/C=ID" \
    -out "$d/$name.csr" -config "$d/ca.cnf" 2>/dev/null
  openssl ca -batch -config "$d/ca.cnf" -extensions "$ext" -in "$d/$name.csr" -out "$d/$name.pem" \
    -notext "$@" >/dev/null 2>&1
  openssl pkcs12 -export -in "$d/$name.pem" -inkey "$d/$name.key" -name "$name" \
    -passout pass:test -out "$d/$name.p12" 2>/dev/null
}

pki_make() {
  local d=$1 port=$2
  mkdir -p "$d/newcerts"
  : > "$d/index.txt"
  echo 1000 > "$d/serial"
  echo 1000 > "$d/crlnumber"
  pki_conf "$d" "$port"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/root.key" -out "$d/root.pem" -days 3650 \
    -subj "/CN=TTE Test Root CA/O=Balai Sertifikasi Contoh/C=ID" -config "$d/ca.cnf" \
    -extensions v3_root 2>/dev/null
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/other.key" -out "$d/other.pem" -days 3650 \
    -subj "/CN=Some Other Root/C=ID" -config "$d/ca.cnf" -extensions v3_root 2>/dev/null
  pki_issue "$d" good v3_signer rsa
  pki_issue "$d" ec v3_signer ec
  pki_issue "$d" nosign v3_nosign rsa
  pki_issue "$d" expired v3_signer rsa -startdate 20200101000000Z -enddate 20210101000000Z
  pki_issue "$d" revoked v3_signer rsa
  pki_issue "$d" ocspgood v3_signer_ocsp rsa
  pki_issue "$d" ocsprevoked v3_signer_ocsp rsa
  pki_issue "$d" ocsp v3_ocsp rsa
  pki_issue "$d" tsa v3_tsa rsa
  # A sub CA under the root, one signer under it; and a second sub CA that the root revokes.
  mkdir -p "$d/sub/newcerts"
  : > "$d/sub/index.txt"
  echo 2000 > "$d/sub/serial"
  echo 2000 > "$d/sub/crlnumber"
  pki_issue "$d" sub v3_subca rsa
  pki_issue "$d" subrevoked v3_subca rsa
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$d/subsigner.key" 2>/dev/null
  openssl req -new -key "$d/subsigner.key" -subj "/CN=TTE Test subsigner/O=Pemerintah Kota Contoh/C=ID" \
    -out "$d/subsigner.csr" -config "$d/ca.cnf" 2>/dev/null
  openssl ca -batch -config "$d/ca.cnf" -name sub -extensions v3_signer -in "$d/subsigner.csr" \
    -out "$d/subsigner.pem" -notext >/dev/null 2>&1
  openssl ca -batch -config "$d/ca.cnf" -name sub -gencrl -out "$d/sub.crl" >/dev/null 2>&1
  # The same signer key certified by the revoked sub CA (cert and CRL signed with its key).
  sed "s|$d/sub.pem|$d/subrevoked.pem|; s|$d/sub.key|$d/subrevoked.key|" "$d/ca.cnf" > "$d/ca-subrevoked.cnf"
  openssl ca -batch -config "$d/ca-subrevoked.cnf" -name sub -extensions v3_signer -in "$d/subsigner.csr" \
    -out "$d/subsigner2.pem" -notext >/dev/null 2>&1
  openssl ca -batch -config "$d/ca-subrevoked.cnf" -name sub -gencrl -out "$d/subrevoked.crl" >/dev/null 2>&1
  openssl ca -batch -config "$d/ca.cnf" -revoke "$d/subrevoked.pem" >/dev/null 2>&1
  openssl ca -batch -config "$d/ca.cnf" -revoke "$d/revoked.pem" >/dev/null 2>&1
  openssl ca -batch -config "$d/ca.cnf" -revoke "$d/ocsprevoked.pem" >/dev/null 2>&1
  openssl ca -batch -config "$d/ca.cnf" -gencrl -out "$d/root.crl" >/dev/null 2>&1
  # Signing happens after the revocation: make sure the signing second is later.
  sleep 1
}

pki_letter() {
  local out=$1 tmp=$1.raw
  # Offsets in the xref are wrong on purpose: qpdf rewrites the file cleanly.
  printf '%s\n' '%PDF-1.7' \
    '1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj' \
    '2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj' \
    '3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >> endobj' \
    '4 0 obj << /Length 86 >> stream' \
    'BT /F1 14 Tf 72 760 Td (SURAT DINAS Nomor 001/TTE/2026 - Pemerintah Kota Contoh) Tj ET' \
    'endstream endobj' \
    '5 0 obj << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> endobj' \
    'xref' '0 1' '0000000000 65535 f ' 'trailer << /Size 6 /Root 1 0 R >>' 'startxref' '0' '%%EOF' > "$tmp"
  qpdf --object-streams=disable --compress-streams=n "$tmp" "$out" 2>/dev/null || [ $? -eq 3 ]
  rm -f "$tmp"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
