/* floor.c — the least any OpenSSL 3 signer does per letter, for bench/sign.sh: start a
 * process (linked like the lean `tte`: libcrypto from the static archive), initialise
 * OpenSSL, read a PEM certificate and key, sign one SHA-256 digest.  No PDF at all.
 * Usage: floor CERT.pem KEY.pem */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <stdio.h>

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
