/* tte-qpdf-crypto.c — the ten GnuTLS calls that Debian's libqpdf makes, answered by
 * OpenSSL, for the lean `tte` that links libqpdf.a statically.
 *
 * Why: Debian builds qpdf with GnuTLS as its crypto provider.  Linking libgnutls.a
 * beside libp11.a fails (both define pkcs11_login & co.), and linking libgnutls.so
 * brings eight more shared libraries whose loading was a third of a one-page
 * signature's time.  qpdf only hashes (MD5, SHA-2), runs RC4 and AES-CBC for encrypted
 * files and asks for random bytes; OpenSSL does all of that already in this process.
 *
 * Scope: exactly what libqpdf 11's QPDFCrypto_gnutls uses — gnutls_hash_init/_hash/
 * _hash_deinit for MD5/SHA-256/384/512; gnutls_cipher_init/_encrypt2/_decrypt2/_deinit
 * for ARCFOUR_128 (any key length 1..256, as PDF uses 5..16 bytes) and AES-128/192/256-CBC
 * without padding; gnutls_cipher_get_key_size; gnutls_rnd; gnutls_strerror.  Anything
 * else answers GNUTLS_E_INVALID_REQUEST.  tests/common/test-qpdf-crypto.c checks the
 * known-answer vectors; the corpus tests open encrypted PDFs through it.
 *
 * Only the lean executable links this file; everything else uses the real GnuTLS. */
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdlib.h>
#include <string.h>

struct hash_hd_st {
  EVP_MD_CTX *md;
};

enum { CIPHER_RC4, CIPHER_AES_CBC };

struct api_cipher_hd_st {
  int kind;
  /* RC4 state (RFC 6229 keystream; the algorithm is public and tiny). */
  unsigned char s[256];
  unsigned char i, j;
  /* AES-CBC: set up on the first call, in the direction of that call. */
  const EVP_CIPHER *aes;
  EVP_CIPHER_CTX *ctx;
  int dir; /* -1 not yet, 1 encrypt, 0 decrypt */
  unsigned char key[32];
  unsigned char iv[16];
};

const char *
gnutls_strerror(int error)
{
  switch (error) {
  case 0:
    return "Success.";
  case GNUTLS_E_INVALID_REQUEST:
    return "The request is invalid.";
  case GNUTLS_E_MEMORY_ERROR:
    return "Internal error in memory allocation.";
  case GNUTLS_E_RANDOM_FAILED:
    return "Failed to acquire random data.";
  case GNUTLS_E_ENCRYPTION_FAILED:
    return "Encryption has failed.";
  case GNUTLS_E_DECRYPTION_FAILED:
    return "Decryption has failed.";
  default:
    return "Unknown error (OpenSSL stand-in for GnuTLS).";
  }
}

int
gnutls_rnd(gnutls_rnd_level_t level, void *data, size_t len)
{
  (void)level;
  if (len > (size_t)0x7fffffff)
    return GNUTLS_E_INVALID_REQUEST;
  return RAND_bytes(data, (int)len) == 1 ? 0 : GNUTLS_E_RANDOM_FAILED;
}

int
gnutls_hash_init(gnutls_hash_hd_t *dig, gnutls_digest_algorithm_t algorithm)
{
  const EVP_MD *md;
  struct hash_hd_st *h;

  switch (algorithm) {
  case GNUTLS_DIG_MD5:
    md = EVP_md5();
    break;
  case GNUTLS_DIG_SHA256:
    md = EVP_sha256();
    break;
  case GNUTLS_DIG_SHA384:
    md = EVP_sha384();
    break;
  case GNUTLS_DIG_SHA512:
    md = EVP_sha512();
    break;
  default:
    return GNUTLS_E_INVALID_REQUEST;
  }
  h = calloc(1, sizeof *h);
  if (h == NULL)
    return GNUTLS_E_MEMORY_ERROR;
  h->md = EVP_MD_CTX_new();
  if (h->md == NULL || EVP_DigestInit_ex(h->md, md, NULL) != 1) {
    EVP_MD_CTX_free(h->md);
    free(h);
    return GNUTLS_E_INVALID_REQUEST;
  }
  *dig = h;
  return 0;
}

int
gnutls_hash(gnutls_hash_hd_t handle, const void *text, size_t textlen)
{
  return EVP_DigestUpdate(handle->md, text, textlen) == 1 ? 0 : GNUTLS_E_INVALID_REQUEST;
}

void
gnutls_hash_deinit(gnutls_hash_hd_t handle, void *digest)
{
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;

  if (handle == NULL)
    return;
  if (EVP_DigestFinal_ex(handle->md, out, &n) == 1 && digest != NULL)
    memcpy(digest, out, n);
  OPENSSL_cleanse(out, sizeof out);
  EVP_MD_CTX_free(handle->md);
  free(handle);
}

size_t
gnutls_cipher_get_key_size(gnutls_cipher_algorithm_t algorithm)
{
  switch (algorithm) {
  case GNUTLS_CIPHER_ARCFOUR_128:
  case GNUTLS_CIPHER_AES_128_CBC:
    return 16;
  case GNUTLS_CIPHER_AES_192_CBC:
    return 24;
  case GNUTLS_CIPHER_AES_256_CBC:
    return 32;
  default:
    return 0;
  }
}

int
gnutls_cipher_init(gnutls_cipher_hd_t *handle, gnutls_cipher_algorithm_t cipher,
                   const gnutls_datum_t *key, const gnutls_datum_t *iv)
{
  struct api_cipher_hd_st *c;

  if (handle == NULL || key == NULL || key->data == NULL)
    return GNUTLS_E_INVALID_REQUEST;
  c = calloc(1, sizeof *c);
  if (c == NULL)
    return GNUTLS_E_MEMORY_ERROR;
  c->dir = -1;
  switch (cipher) {
  case GNUTLS_CIPHER_ARCFOUR_128: {
    unsigned char t;
    unsigned j = 0;
    if (key->size == 0 || key->size > 256)
      goto bad;
    c->kind = CIPHER_RC4;
    for (unsigned k = 0; k < 256; k++)
      c->s[k] = (unsigned char)k;
    for (unsigned k = 0; k < 256; k++) {
      j = (j + c->s[k] + key->data[k % key->size]) & 0xff;
      t = c->s[k];
      c->s[k] = c->s[j];
      c->s[j] = t;
    }
    break;
  }
  case GNUTLS_CIPHER_AES_128_CBC:
  case GNUTLS_CIPHER_AES_192_CBC:
  case GNUTLS_CIPHER_AES_256_CBC:
    c->kind = CIPHER_AES_CBC;
    c->aes = cipher == GNUTLS_CIPHER_AES_128_CBC   ? EVP_aes_128_cbc()
             : cipher == GNUTLS_CIPHER_AES_192_CBC ? EVP_aes_192_cbc()
                                                   : EVP_aes_256_cbc();
    if (key->size != gnutls_cipher_get_key_size(cipher) || iv == NULL || iv->data == NULL ||
        iv->size != 16)
      goto bad;
    memcpy(c->key, key->data, key->size);
    memcpy(c->iv, iv->data, 16);
    break;
  default:
    goto bad;
  }
  *handle = c;
  return 0;
bad:
  free(c);
  return GNUTLS_E_INVALID_REQUEST;
}

static int
run(gnutls_cipher_hd_t c, int encrypt, const unsigned char *in, size_t inlen, unsigned char *out,
    size_t outlen)
{
  if (c == NULL || outlen < inlen)
    return GNUTLS_E_INVALID_REQUEST;
  if (c->kind == CIPHER_RC4) {
    for (size_t k = 0; k < inlen; k++) {
      unsigned char t;
      c->i = (unsigned char)(c->i + 1);
      c->j = (unsigned char)(c->j + c->s[c->i]);
      t = c->s[c->i];
      c->s[c->i] = c->s[c->j];
      c->s[c->j] = t;
      out[k] = in[k] ^ c->s[(unsigned char)(c->s[c->i] + c->s[c->j])];
    }
    return 0;
  }
  if (inlen % 16 != 0 || inlen > (size_t)0x7ffffff0)
    return GNUTLS_E_INVALID_REQUEST;
  if (c->dir != encrypt) {
    if (c->dir != -1) /* one direction per handle, as qpdf uses it */
      return GNUTLS_E_INVALID_REQUEST;
    c->ctx = EVP_CIPHER_CTX_new();
    if (c->ctx == NULL || EVP_CipherInit_ex(c->ctx, c->aes, NULL, c->key, c->iv, encrypt) != 1 ||
        EVP_CIPHER_CTX_set_padding(c->ctx, 0) != 1)
      return GNUTLS_E_INVALID_REQUEST;
    c->dir = encrypt;
  }
  {
    int n = 0;
    if (EVP_CipherUpdate(c->ctx, out, &n, in, (int)inlen) != 1 || (size_t)n != inlen)
      return encrypt ? GNUTLS_E_ENCRYPTION_FAILED : GNUTLS_E_DECRYPTION_FAILED;
  }
  return 0;
}

int
gnutls_cipher_encrypt2(gnutls_cipher_hd_t handle, const void *text, size_t textlen, void *ciphertext,
                       size_t ciphertextlen)
{
  return run(handle, 1, text, textlen, ciphertext, ciphertextlen);
}

int
gnutls_cipher_decrypt2(gnutls_cipher_hd_t handle, const void *ciphertext, size_t ciphertextlen,
                       void *text, size_t textlen)
{
  return run(handle, 0, ciphertext, ciphertextlen, text, textlen);
}

void
gnutls_cipher_deinit(gnutls_cipher_hd_t handle)
{
  if (handle == NULL)
    return;
  EVP_CIPHER_CTX_free(handle->ctx);
  OPENSSL_cleanse(handle, sizeof *handle);
  free(handle);
}
