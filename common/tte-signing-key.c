#include "tte-signing-key.h"

#include "tte-error.h"
#include "tte-limits.h"

#include <openssl/pem.h>
#include <openssl/rsa.h>

const EVP_MD *
tte_hash_md(TteHash h)
{
  switch (h) {
  case TTE_HASH_SHA384:
    return EVP_sha384();
  case TTE_HASH_SHA512:
    return EVP_sha512();
  case TTE_HASH_SHA256:
  default:
    return EVP_sha256();
  }
}

const char *
tte_hash_name(TteHash h)
{
  switch (h) {
  case TTE_HASH_SHA384:
    return "sha384";
  case TTE_HASH_SHA512:
    return "sha512";
  case TTE_HASH_SHA256:
  default:
    return "sha256";
  }
}

gsize
tte_hash_len(TteHash h)
{
  return (gsize)EVP_MD_get_size(tte_hash_md(h));
}

gboolean
tte_hash_from_name(const char *name, TteHash *out, GError **error)
{
  if (g_ascii_strcasecmp(name, "sha256") == 0 || g_ascii_strcasecmp(name, "sha-256") == 0)
    *out = TTE_HASH_SHA256;
  else if (g_ascii_strcasecmp(name, "sha384") == 0 || g_ascii_strcasecmp(name, "sha-384") == 0)
    *out = TTE_HASH_SHA384;
  else if (g_ascii_strcasecmp(name, "sha512") == 0 || g_ascii_strcasecmp(name, "sha-512") == 0)
    *out = TTE_HASH_SHA512;
  else {
    g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                "unknown hash \"%s\" (use sha256, sha384 or sha512)", name);
    return FALSE;
  }
  return TRUE;
}

const char *
tte_scheme_name(TteSigScheme s)
{
  switch (s) {
  case TTE_SCHEME_RSA_PSS:
    return "rsa-pss";
  case TTE_SCHEME_ECDSA:
    return "ecdsa";
  case TTE_SCHEME_RSA_PKCS1:
  default:
    return "rsa-pkcs1";
  }
}

gboolean
tte_scheme_from_name(const char *name, TteSigScheme *out, GError **error)
{
  if (g_ascii_strcasecmp(name, "rsa-pkcs1") == 0 || g_ascii_strcasecmp(name, "pkcs1") == 0)
    *out = TTE_SCHEME_RSA_PKCS1;
  else if (g_ascii_strcasecmp(name, "rsa-pss") == 0 || g_ascii_strcasecmp(name, "pss") == 0)
    *out = TTE_SCHEME_RSA_PSS;
  else if (g_ascii_strcasecmp(name, "ecdsa") == 0)
    *out = TTE_SCHEME_ECDSA;
  else {
    g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                "unknown signature scheme \"%s\" (use rsa-pkcs1, rsa-pss or ecdsa)", name);
    return FALSE;
  }
  return TRUE;
}

gboolean
tte_signing_key_init(TteSigningKey *key, const TteSigningKeyClass *klass, X509 *cert,
                     TteX509Stack *chain, GError **error)
{
  EVP_PKEY *pub = X509_get_pubkey(cert);
  int type;

  if (pub == NULL) {
    tte_set_error_openssl(error, TTE_ERROR_INVALID_ARGUMENT,
                          "the signer certificate has no usable public key");
    return FALSE;
  }
  type = EVP_PKEY_get_base_id(pub);
  if (type != EVP_PKEY_RSA && type != EVP_PKEY_EC) {
    EVP_PKEY_free(pub);
    g_set_error(error, TTE_ERROR, TTE_ERROR_NOT_SUPPORTED,
                "the signer certificate's key type is neither RSA nor EC");
    return FALSE;
  }
  key->klass = klass;
  key->ref_count = 1;
  X509_up_ref(cert);
  key->cert = cert;
  key->public_key = pub;
  key->chain = chain != NULL ? X509_chain_up_ref(chain) : sk_X509_new_null();
  return TRUE;
}

TteSigningKey *
tte_signing_key_ref(TteSigningKey *key)
{
  g_atomic_int_inc(&key->ref_count);
  return key;
}

void
tte_signing_key_unref(TteSigningKey *key)
{
  if (key == NULL || !g_atomic_int_dec_and_test(&key->ref_count))
    return;
  if (key->klass != NULL && key->klass->finalize != NULL)
    key->klass->finalize(key);
  X509_free(key->cert);
  EVP_PKEY_free(key->public_key);
  tte_x509_stack_free(key->chain);
  g_free(key);
}

X509 *
tte_signing_key_get_cert(TteSigningKey *key)
{
  return key->cert;
}

TteX509Stack *
tte_signing_key_get_chain(TteSigningKey *key)
{
  return key->chain;
}

int
tte_signing_key_get_type(TteSigningKey *key)
{
  return EVP_PKEY_get_base_id(key->public_key);
}

gsize
tte_signing_key_max_signature_size(TteSigningKey *key)
{
  return (gsize)EVP_PKEY_get_size(key->public_key);
}

TteSigScheme
tte_signing_key_default_scheme(TteSigningKey *key)
{
  return tte_signing_key_get_type(key) == EVP_PKEY_EC ? TTE_SCHEME_ECDSA : TTE_SCHEME_RSA_PKCS1;
}

static gboolean
check_scheme(TteSigningKey *key, TteSigScheme scheme, TteHash hash, gsize digest_len,
             GError **error)
{
  int type = tte_signing_key_get_type(key);
  gboolean rsa_scheme = scheme == TTE_SCHEME_RSA_PKCS1 || scheme == TTE_SCHEME_RSA_PSS;

  if ((type == EVP_PKEY_RSA) != rsa_scheme) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                "signature scheme %s does not suit a %s key", tte_scheme_name(scheme),
                type == EVP_PKEY_RSA ? "RSA" : "EC");
    return FALSE;
  }
  if (digest_len != tte_hash_len(hash)) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                "digest is %" G_GSIZE_FORMAT " bytes, %s needs %" G_GSIZE_FORMAT, digest_len,
                tte_hash_name(hash), tte_hash_len(hash));
    return FALSE;
  }
  return TRUE;
}

GBytes *
tte_signing_key_sign(TteSigningKey *key, TteSigScheme scheme, TteHash hash,
                     const guint8 *digest, gsize digest_len, GError **error)
{
  GBytes *sig = NULL;

  if (!check_scheme(key, scheme, hash, digest_len, error))
    return NULL;
  if (!key->klass->sign(key, scheme, hash, digest, digest_len, &sig, error))
    return NULL;
  return sig;
}

static gboolean
setup_ctx(EVP_PKEY_CTX *ctx, TteSigScheme scheme, TteHash hash)
{
  if (EVP_PKEY_CTX_set_signature_md(ctx, tte_hash_md(hash)) <= 0)
    return FALSE;
  if (scheme == TTE_SCHEME_RSA_PSS) {
    if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, tte_hash_md(hash)) <= 0 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) <= 0)
      return FALSE;
  } else if (scheme == TTE_SCHEME_RSA_PKCS1) {
    if (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0)
      return FALSE;
  }
  return TRUE;
}

GBytes *
tte_evp_sign_digest(EVP_PKEY *pkey, TteSigScheme scheme, TteHash hash, const guint8 *digest,
                    gsize digest_len, GError **error)
{
  g_autoptr(EVP_PKEY_CTX) ctx = EVP_PKEY_CTX_new(pkey, NULL);
  g_autofree guint8 *sig = NULL;
  size_t sig_len = 0;

  if (ctx == NULL || EVP_PKEY_sign_init(ctx) <= 0 || !setup_ctx(ctx, scheme, hash)) {
    tte_set_error_openssl(error, TTE_ERROR_CRYPTO, "cannot set up %s/%s signing",
                          tte_scheme_name(scheme), tte_hash_name(hash));
    return NULL;
  }
  if (EVP_PKEY_sign(ctx, NULL, &sig_len, digest, digest_len) <= 0 || sig_len == 0 ||
      sig_len > TTE_LIMIT_SIG_MAX_LEN) {
    tte_set_error_openssl(error, TTE_ERROR_CRYPTO, "cannot size the signature");
    return NULL;
  }
  sig = g_malloc(sig_len);
  if (EVP_PKEY_sign(ctx, sig, &sig_len, digest, digest_len) <= 0) {
    tte_set_error_openssl(error, TTE_ERROR_CRYPTO, "signing failed");
    return NULL;
  }
  return g_bytes_new_take(g_steal_pointer(&sig), sig_len);
}

gboolean
tte_signing_key_verify(TteSigningKey *key, TteSigScheme scheme, TteHash hash,
                       const guint8 *digest, gsize digest_len, GBytes *sig, GError **error)
{
  g_autoptr(EVP_PKEY_CTX) ctx = EVP_PKEY_CTX_new(key->public_key, NULL);
  gsize n = 0;
  const guint8 *s = g_bytes_get_data(sig, &n);
  int r;

  if (!check_scheme(key, scheme, hash, digest_len, error))
    return FALSE;
  if (ctx == NULL || EVP_PKEY_verify_init(ctx) <= 0 || !setup_ctx(ctx, scheme, hash)) {
    tte_set_error_openssl(error, TTE_ERROR_CRYPTO, "cannot set up verification");
    return FALSE;
  }
  r = EVP_PKEY_verify(ctx, s, n, digest, digest_len);
  if (r != 1) {
    tte_set_error_openssl(error, TTE_ERROR_CRYPTO,
                          "the signature does not verify with the certificate's key");
    return FALSE;
  }
  return TRUE;
}

/* --- file key ---------------------------------------------------------------- */

typedef struct {
  TteSigningKey base;
  EVP_PKEY *priv;
} FileKey;

static gboolean
file_key_sign(TteSigningKey *key, TteSigScheme scheme, TteHash hash, const guint8 *digest,
              gsize digest_len, GBytes **sig_out, GError **error)
{
  FileKey *fk = (FileKey *)key;
  *sig_out = tte_evp_sign_digest(fk->priv, scheme, hash, digest, digest_len, error);
  return *sig_out != NULL;
}

static void
file_key_finalize(TteSigningKey *key)
{
  EVP_PKEY_free(((FileKey *)key)->priv);
}

static const TteSigningKeyClass file_key_class = {
  .sign = file_key_sign,
  .finalize = file_key_finalize,
};

TteSigningKey *
tte_file_key_new(const char *key_path, const char *cert_path, const char *chain_path,
                 GError **error)
{
  g_autoptr(TteX509Stack) certs = NULL;
  g_autoptr(TteX509Stack) chain = NULL;
  g_autoptr(BIO) bio = NULL;
  g_autoptr(EVP_PKEY) priv = NULL;
  FileKey *fk;

  certs = tte_x509_load_file(cert_path, error);
  if (certs == NULL)
    return NULL;
  if (chain_path != NULL) {
    chain = tte_x509_load_file(chain_path, error);
    if (chain == NULL)
      return NULL;
  }
  bio = BIO_new_file(key_path, "r");
  if (bio == NULL || (priv = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL)) == NULL) {
    tte_set_error_openssl(error, TTE_ERROR_KEY_NOT_FOUND, "cannot read private key %s",
                          key_path);
    return NULL;
  }
  if (!tte_pkey_equal(priv, X509_get0_pubkey(sk_X509_value(certs, 0)))) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_CERT_MISMATCH,
                "certificate %s does not belong to key %s", cert_path, key_path);
    return NULL;
  }
  fk = g_new0(FileKey, 1);
  if (!tte_signing_key_init(&fk->base, &file_key_class, sk_X509_value(certs, 0), chain, error)) {
    g_free(fk);
    return NULL;
  }
  fk->priv = g_steal_pointer(&priv);
  return &fk->base;
}
