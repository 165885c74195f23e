/* floor.c — the least any OpenSSL 3 signer or verifier does per letter, for bench/sign.sh
 * and bench/verify.sh: start a process (linked like the lean `tte`: libcrypto from the
 * static archive), initialise OpenSSL as the lean `tte` does (no openssl.cnf, no error
 * strings, no clean-up at exit: tte_openssl_init_lean()), then
 *   floor CERT.pem KEY.pem    read a PEM certificate and key, sign one SHA-256 digest;
 *   floor --verify CERT.pem   read a PEM certificate, check one RSA/ECDSA signature
 *                             with its key (the signature is made up, so the check says
 *                             "no"; the work is the same).
 * No PDF at all. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <stdio.h>
#include <string.h>

int
main(int argc, char **argv)
{
  FILE *f;
  X509 *cert;
  EVP_PKEY *key;
  EVP_MD_CTX *md;
  unsigned char sig[1024];
  size_t siglen = sizeof sig;
  static const unsigned char msg[32] = { 1 };
  int ok;

  OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS |
                      OPENSSL_INIT_NO_ATEXIT, NULL);
  if (argc == 3 && strcmp(argv[1], "--verify") == 0) {
    if ((f = fopen(argv[2], "r")) == NULL)
      return 1;
    cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    md = EVP_MD_CTX_new();
    memset(sig, 0x5a, sizeof sig);
    ok = cert != NULL && md != NULL &&
         EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, X509_get0_pubkey(cert)) == 1 &&
         EVP_DigestVerify(md, sig, (size_t)EVP_PKEY_get_size(X509_get0_pubkey(cert)), msg, sizeof msg) >= 0;
    EVP_MD_CTX_free(md);
    X509_free(cert);
    return ok ? 0 : 1;
  }
  if (argc != 3)
    return 2;
  if ((f = fopen(argv[1], "r")) == NULL)
    return 1;
  cert = PEM_read_X509(f, NULL, NULL, NULL);
  fclose(f);
  if ((f = fopen(argv[2], "r")) == NULL)
    return 1;
  key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
  fclose(f);
  md = EVP_MD_CTX_new();
  ok = cert != NULL && key != NULL && md != NULL &&
       EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
       EVP_DigestSign(md, sig, &siglen, msg, sizeof msg) == 1;
  EVP_MD_CTX_free(md);
  EVP_PKEY_free(key);
  X509_free(cert);
  return ok ? 0 : 1;
}
