/* tte-signing-key.h — what the signer needs from a key, and nothing more.
 *
 * The signer (signer/) builds CMS around whatever implements this interface: pkcs11/
 * implements it over libp11 (an HSM or smartcard); tests and tools may use the file
 * key below.  A key is reference counted and may be used from several threads at once
 * (each implementation documents how it achieves that).
 */
#pragma once

#include <glib.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "tte-ossl.h"

G_BEGIN_DECLS

typedef enum {
  TTE_HASH_SHA256 = 0,
  TTE_HASH_SHA384,
  TTE_HASH_SHA512,
} TteHash;

typedef enum {
  TTE_SCHEME_RSA_PKCS1 = 0, /* RSASSA-PKCS1-v1_5 */
  TTE_SCHEME_RSA_PSS,       /* RSASSA-PSS, MGF1 with the same hash, salt = hash length */
  TTE_SCHEME_ECDSA,         /* ECDSA, DER Ecdsa-Sig-Value */
} TteSigScheme;

const EVP_MD *tte_hash_md(TteHash h);
const char *tte_hash_name(TteHash h); /* "sha256", ... */
gsize tte_hash_len(TteHash h);
gboolean tte_hash_from_name(const char *name, TteHash *out, GError **error) G_GNUC_WARN_UNUSED_RESULT;
const char *tte_scheme_name(TteSigScheme s); /* "rsa-pkcs1", "rsa-pss", "ecdsa" */
gboolean tte_scheme_from_name(const char *name, TteSigScheme *out, GError **error) G_GNUC_WARN_UNUSED_RESULT;

typedef struct TteSigningKey TteSigningKey;

typedef struct {
  /* Sign @digest (the output of @hash over the data) with @scheme.  On success
   * *sig_out is a new GBytes with the raw signature value (RSA: the signature block;
   * ECDSA: DER Ecdsa-Sig-Value).  Must be callable from several threads at once. */
  gboolean (*sign)(TteSigningKey *key, TteSigScheme scheme, TteHash hash, const guint8 *digest,
                   gsize digest_len, GBytes **sig_out, GError **error);
  /* Free the implementation's own state (not the base fields). May be NULL. */
  void (*finalize)(TteSigningKey *key);
} TteSigningKeyClass;

struct TteSigningKey {
  const TteSigningKeyClass *klass;
  gint ref_count;
  X509 *cert;           /* the signer certificate */
  TteX509Stack *chain;  /* intermediates and optionally the root; never NULL, may be empty */
  EVP_PKEY *public_key; /* from cert */
};

/* For implementations: fill the base fields of a freshly allocated key.  Takes a new
 * reference on @cert and copies @chain (may be NULL).  Fails (TTE_ERROR_INVALID_ARGUMENT)
 * when the certificate has no usable public key or an unsupported key type. */
gboolean tte_signing_key_init(TteSigningKey *key, const TteSigningKeyClass *klass, X509 *cert,
                              TteX509Stack *chain, GError **error) G_GNUC_WARN_UNUSED_RESULT;

TteSigningKey *tte_signing_key_ref(TteSigningKey *key);
void tte_signing_key_unref(TteSigningKey *key); /* accepts NULL */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TteSigningKey, tte_signing_key_unref)

/* Borrowed pointers, valid while @key lives. */
X509 *tte_signing_key_get_cert(TteSigningKey *key);
TteX509Stack *tte_signing_key_get_chain(TteSigningKey *key);

/* EVP_PKEY_RSA, EVP_PKEY_EC, ... of the certificate's key. */
int tte_signing_key_get_type(TteSigningKey *key);
/* Upper bound of a raw signature value for this key, in bytes. */
gsize tte_signing_key_max_signature_size(TteSigningKey *key);
/* The natural scheme for the key: RSA_PKCS1 for RSA, ECDSA for EC. */
TteSigScheme tte_signing_key_default_scheme(TteSigningKey *key);

/* Checks that @scheme suits the key and @digest_len suits @hash, then calls the
 * implementation.  Returns the signature or NULL with @error set. */
GBytes *tte_signing_key_sign(TteSigningKey *key, TteSigScheme scheme, TteHash hash,
                             const guint8 *digest, gsize digest_len,
                             GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Verify @sig over @digest with the certificate's public key (used by tests and as a
 * post-sign self-check against a faulty token). */
gboolean tte_signing_key_verify(TteSigningKey *key, TteSigScheme scheme, TteHash hash,
                                const guint8 *digest, gsize digest_len, GBytes *sig,
                                GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Shared helper: sign a digest with any private EVP_PKEY (software or libp11-backed)
 * using a fresh EVP_PKEY_CTX, so it is safe from several threads on one EVP_PKEY. */
GBytes *tte_evp_sign_digest(EVP_PKEY *pkey, TteSigScheme scheme, TteHash hash,
                            const guint8 *digest, gsize digest_len,
                            GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* A software key from PEM files: for tests and tools only, never for production
 * letters.  @chain_path may be NULL.  The key must match the certificate. */
TteSigningKey *tte_file_key_new(const char *key_path, const char *cert_path,
                                const char *chain_path, GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
