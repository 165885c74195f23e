/* sig-cms.c — CAdES-style detached CMS for PAdES B-B, built without CMS_SignerInfo_sign.
 *
 * Why by hand: OpenSSL 3.0's CMS_SignerInfo_sign() adds a signing-time attribute when
 * none is present, and PAdES baseline forbids it.  So the SignerInfo is created partial,
 * the three signed attributes are added here, their DER SET OF is hashed and signed by
 * the TteSigningKey (a token never sees the document), and the value is stored with
 * CMS_SignerInfo_get0_signature().
 */
#include "sig-cms.h"

#include "tte-error.h"
#include "tte-limits.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/objects.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <string.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ESS_SIGNING_CERT_V2, ESS_SIGNING_CERT_V2_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(RSA_PSS_PARAMS, RSA_PSS_PARAMS_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(X509_ALGOR, X509_ALGOR_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ASN1_STRING, ASN1_STRING_free)

typedef struct {
  guint8 *der;
  int len;
} Enc;

/* DER orders a SET OF by comparing the encodings as octet strings; OpenSSL's encoder
 * does the same (memcmp over the shorter length, then the shorter first), and it will
 * re-sort the SignerInfo's signedAttrs the same way when it writes them, so the bytes
 * we sign are the bytes a verifier re-encodes. */
static int
enc_cmp(gconstpointer a, gconstpointer b)
{
  const Enc *x = a, *y = b;
  int m = memcmp(x->der, y->der, (size_t)MIN(x->len, y->len));
  if (m != 0)
    return m;
  return x->len - y->len;
}

static void
enc_clear(gpointer p)
{
  OPENSSL_free(((Enc *)p)->der);
}

/* DER of the signed attributes as the SET OF that RFC 5652 §5.4 says is signed. */
static GBytes *
signed_attrs_der(CMS_SignerInfo *si, GError **error)
{
  g_autoptr(GArray) encs = g_array_new(FALSE, TRUE, sizeof(Enc));
  g_autoptr(GByteArray) out = g_byte_array_new();
  gsize body = 0;
  int n = CMS_signed_get_attr_count(si);

  g_array_set_clear_func(encs, enc_clear);
  for (int i = 0; i < n; i++) {
    Enc e = {NULL, 0};
    e.len = i2d_X509_ATTRIBUTE(CMS_signed_get_attr(si, i), &e.der);
    if (e.len <= 0) {
      tte_set_error_openssl(error, TTE_ERROR_CRYPTO, "cannot encode a signed attribute");
      return NULL;
    }
    g_array_append_val(encs, e);
    body += (gsize)e.len;
  }
  g_array_sort(encs, enc_cmp);

  /* SET tag and a definite DER length (short or long form). */
  g_byte_array_append(out, (const guint8 *)"\x31", 1);
  if (body < 0x80) {
    guint8 l = (guint8)body;
    g_byte_array_append(out, &l, 1);
  } else {
    guint8 lb[9];
    guint nb = 0;
    for (gsize v = body; v > 0; v >>= 8)
      nb++;
    lb[0] = (guint8)(0x80 | nb);
    for (guint k = 0; k < nb; k++)
      lb[1 + k] = (guint8)(body >> (8 * (nb - 1 - k)));
    g_byte_array_append(out, lb, 1 + nb);
  }
  for (guint i = 0; i < encs->len; i++) {
    Enc *e = &g_array_index(encs, Enc, i);
    g_byte_array_append(out, e->der, (guint)e->len);
  }
  return g_byte_array_free_to_bytes(g_steal_pointer(&out));
}

/* RSASSA-PSS-params (RFC 4055): the hash, MGF1 with the same hash, salt = hash length,
 * matching what tte_evp_sign_digest() asks the key for. */
static gboolean
set_pss_algorithm(X509_ALGOR *sigalg, const EVP_MD *md, GError **error)
{
  g_autoptr(RSA_PSS_PARAMS) pss = RSA_PSS_PARAMS_new();
  g_autoptr(X509_ALGOR) mgf1_hash = X509_ALGOR_new();
  ASN1_STRING *mgf1_param = NULL;
  ASN1_STRING *param = NULL;

  if (pss == NULL || mgf1_hash == NULL)
    goto fail;
  pss->hashAlgorithm = X509_ALGOR_new();
  pss->maskGenAlgorithm = X509_ALGOR_new();
  pss->saltLength = ASN1_INTEGER_new();
  if (pss->hashAlgorithm == NULL || pss->maskGenAlgorithm == NULL || pss->saltLength == NULL)
    goto fail;
  X509_ALGOR_set_md(pss->hashAlgorithm, md);
  X509_ALGOR_set_md(mgf1_hash, md);
  mgf1_param = ASN1_item_pack(mgf1_hash, ASN1_ITEM_rptr(X509_ALGOR), NULL);
  if (mgf1_param == NULL ||
      !X509_ALGOR_set0(pss->maskGenAlgorithm, OBJ_nid2obj(NID_mgf1), V_ASN1_SEQUENCE, mgf1_param)) {
    ASN1_STRING_free(mgf1_param);
    goto fail;
  }
  if (!ASN1_INTEGER_set(pss->saltLength, EVP_MD_get_size(md)))
    goto fail;
  param = ASN1_item_pack(pss, ASN1_ITEM_rptr(RSA_PSS_PARAMS), NULL);
  if (param == NULL ||
      !X509_ALGOR_set0(sigalg, OBJ_nid2obj(NID_rsassaPss), V_ASN1_SEQUENCE, param)) {
    ASN1_STRING_free(param);
    goto fail;
  }
  return TRUE;
fail:
  tte_set_error_openssl(error, TTE_ERROR_CRYPTO, "cannot encode the RSASSA-PSS parameters");
  return FALSE;
}

static gboolean
add_signing_cert_v2(CMS_SignerInfo *si, X509 *cert, const EVP_MD *md, GError **error)
{
  g_autoptr(ESS_SIGNING_CERT_V2) sc = OSSL_ESS_signing_cert_v2_new_init(md, cert, NULL, 1);
  unsigned char *der = NULL;
  int len;
  int ok;

  if (sc == NULL || (len = i2d_ESS_SIGNING_CERT_V2(sc, &der)) <= 0) {
    tte_set_error_openssl(error, TTE_ERROR_CRYPTO, "cannot build signing-certificate-v2");
    return FALSE;
  }
  ok = CMS_signed_add1_attr_by_NID(si, NID_id_smime_aa_signingCertificateV2, V_ASN1_SEQUENCE, der,
                                   len);
  OPENSSL_free(der);
  if (!ok) {
    tte_set_error_openssl(error, TTE_ERROR_CRYPTO, "cannot add signing-certificate-v2");
    return FALSE;
  }
  return TRUE;
}

/* Build the CMS.  With @dry_run the key is not used: the signature value is zeros of the
 * key's maximum size, which gives the size bound for the /Contents placeholder. */
static GBytes *
build(TteSigningKey *key, TteSigScheme scheme, TteHash hash, const guint8 *digest, gsize digest_len,
      gboolean dry_run, GError **error)
{
  const EVP_MD *md = tte_hash_md(hash);
  X509 *cert = tte_signing_key_get_cert(key);
  TteX509Stack *chain = tte_signing_key_get_chain(key);
  g_autoptr(CMS_ContentInfo) cms = NULL;
  g_autoptr(GBytes) attrs = NULL;
  g_autoptr(GBytes) sig = NULL;
  CMS_SignerInfo *si;
  X509_ALGOR *sigalg = NULL;
  guint8 attr_digest[EVP_MAX_MD_SIZE];
  unsigned int attr_digest_len = 0;
  unsigned char *der = NULL;
  int der_len;

  if (digest_len != tte_hash_len(hash)) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                "content digest has the wrong length for %s", tte_hash_name(hash));
    return NULL;
  }
  {
    int type = tte_signing_key_get_type(key);
    gboolean rsa_scheme = scheme == TTE_SCHEME_RSA_PKCS1 || scheme == TTE_SCHEME_RSA_PSS;
    if ((type == EVP_PKEY_RSA) != rsa_scheme) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                  "signature scheme %s does not suit a %s key", tte_scheme_name(scheme),
                  type == EVP_PKEY_RSA ? "RSA" : "EC");
      return NULL;
    }
  }

  cms = CMS_sign(NULL, NULL, NULL, NULL, CMS_PARTIAL | CMS_DETACHED | CMS_BINARY);
  if (cms == NULL) {
    tte_set_error_openssl(error, TTE_ERROR_CRYPTO, "cannot create CMS SignedData");
    return NULL;
  }
  /* The public key stands in for the private one: CMS_add1_signer only compares it
   * with the certificate and derives the algorithm identifiers from it.  No default
   * attributes (NOSMIMECAP; no CADES/REUSE_DIGEST) and no signing (PARTIAL). */
  si = CMS_add1_signer(cms, cert, key->public_key, md, CMS_PARTIAL | CMS_NOSMIMECAP | CMS_BINARY);
  if (si == NULL) {
    tte_set_error_openssl(error, TTE_ERROR_CRYPTO, "cannot add the signer to the CMS");
    return NULL;
  }
  for (int i = 0; i < sk_X509_num(chain); i++) {
    X509 *c = sk_X509_value(chain, i);
    if (X509_cmp(c, cert) == 0)
      continue;
    if (!CMS_add1_cert(cms, c)) {
      /* A chain file may repeat a certificate; CMS refuses duplicates, which is fine. */
      tte_openssl_clear_errors();
    }
  }

  if (!CMS_signed_add1_attr_by_NID(si, NID_pkcs9_contentType, V_ASN1_OBJECT,
                                   OBJ_nid2obj(NID_pkcs7_data), -1) ||
      !CMS_signed_add1_attr_by_NID(si, NID_pkcs9_messageDigest, V_ASN1_OCTET_STRING, digest,
                                   (int)digest_len)) {
    tte_set_error_openssl(error, TTE_ERROR_CRYPTO, "cannot add the signed attributes");
    return NULL;
  }
  if (!add_signing_cert_v2(si, cert, md, error))
    return NULL;

  CMS_SignerInfo_get0_algs(si, NULL, NULL, NULL, &sigalg);
  if (scheme == TTE_SCHEME_RSA_PSS && !set_pss_algorithm(sigalg, md, error))
    return NULL;

  attrs = signed_attrs_der(si, error);
  if (attrs == NULL)
    return NULL;
  if (!EVP_Digest(g_bytes_get_data(attrs, NULL), g_bytes_get_size(attrs), attr_digest,
                  &attr_digest_len, md, NULL)) {
    tte_set_error_openssl(error, TTE_ERROR_CRYPTO, "cannot hash the signed attributes");
    return NULL;
  }

  if (dry_run) {
    gsize max = tte_signing_key_max_signature_size(key);
    sig = g_bytes_new_take(g_malloc0(max), max);
  } else {
    sig = tte_signing_key_sign(key, scheme, hash, attr_digest, attr_digest_len, error);
    if (sig == NULL)
      return NULL;
    if (!tte_signing_key_verify(key, scheme, hash, attr_digest, attr_digest_len, sig, error)) {
      g_prefix_error(error, "the token returned a bad signature: ");
      return NULL;
    }
  }
  if (g_bytes_get_size(sig) > TTE_LIMIT_SIG_MAX_LEN) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT,
                "signature value exceeds %u bytes (TTE_LIMIT_SIG_MAX_LEN)", TTE_LIMIT_SIG_MAX_LEN);
    return NULL;
  }
  if (!ASN1_OCTET_STRING_set(CMS_SignerInfo_get0_signature(si), g_bytes_get_data(sig, NULL),
                             (int)g_bytes_get_size(sig))) {
    tte_set_error_openssl(error, TTE_ERROR_CRYPTO, "cannot store the signature value");
    return NULL;
  }

  der_len = i2d_CMS_ContentInfo(cms, &der);
  if (der_len <= 0) {
    tte_set_error_openssl(error, TTE_ERROR_CRYPTO, "cannot encode the CMS");
    return NULL;
  }
  if ((gsize)der_len > TTE_LIMIT_CMS_MAX_LEN) {
    OPENSSL_free(der);
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT,
                "the CMS is %d bytes, more than %u (TTE_LIMIT_CMS_MAX_LEN)", der_len,
                TTE_LIMIT_CMS_MAX_LEN);
    return NULL;
  }
  {
    GBytes *out = g_bytes_new(der, (gsize)der_len);
    OPENSSL_free(der);
    return out;
  }
}

GBytes *
sig_cms_build(TteSigningKey *key, TteSigScheme scheme, TteHash hash, const guint8 *digest,
              gsize digest_len, GError **error)
{
  return build(key, scheme, hash, digest, digest_len, FALSE, error);
}

/* The bound depends only on the certificate, the chain, the scheme, the hash and the
 * key's maximum signature size, and the dry run is a whole CMS encoding: the service
 * asked for it on every signature with the same few keys.  The last bounds are kept
 * with references to the certificates they were computed for and found again by exact
 * comparison (X509_cmp: the cached SHA-1, then the DER bytes), never by a digest alone. */
#define CMS_SIZE_CACHE_MAX 8u

typedef struct {
  X509 *cert;
  TteX509Stack *chain;
  TteSigScheme scheme;
  TteHash hash;
  gsize max_sig;
  gsize size;
} SizeEntry;

G_LOCK_DEFINE_STATIC(size_cache);
static GQueue size_cache = G_QUEUE_INIT; /* SizeEntry*, newest first */

static void
size_entry_free(SizeEntry *e)
{
  X509_free(e->cert);
  sk_X509_pop_free(e->chain, X509_free);
  g_free(e);
}

static gboolean
same_chain(TteX509Stack *a, TteX509Stack *b)
{
  int n = sk_X509_num(a);

  if (n != sk_X509_num(b))
    return FALSE;
  for (int i = 0; i < n; i++)
    if (X509_cmp(sk_X509_value(a, i), sk_X509_value(b, i)) != 0)
      return FALSE;
  return TRUE;
}

static gsize
size_cached(X509 *cert, TteX509Stack *chain, TteSigScheme scheme, TteHash hash, gsize max_sig)
{
  gsize size = 0;

  G_LOCK(size_cache);
  for (GList *l = size_cache.head; l != NULL; l = l->next) {
    SizeEntry *e = l->data;
    if (e->scheme == scheme && e->hash == hash && e->max_sig == max_sig &&
        X509_cmp(e->cert, cert) == 0 && same_chain(e->chain, chain)) {
      size = e->size;
      break;
    }
  }
  G_UNLOCK(size_cache);
  return size;
}

static void
size_remember(X509 *cert, TteX509Stack *chain, TteSigScheme scheme, TteHash hash, gsize max_sig,
              gsize size)
{
  SizeEntry *e = g_new0(SizeEntry, 1);

  e->chain = X509_chain_up_ref(chain);
  if (e->chain == NULL || !X509_up_ref(cert)) {
    sk_X509_pop_free(e->chain, X509_free);
    g_free(e);
    tte_openssl_clear_errors();
    return; /* not kept: the next call builds it again */
  }
  e->cert = cert;
  e->scheme = scheme;
  e->hash = hash;
  e->max_sig = max_sig;
  e->size = size;
  G_LOCK(size_cache);
  g_queue_push_head(&size_cache, e);
  while (g_queue_get_length(&size_cache) > CMS_SIZE_CACHE_MAX)
    size_entry_free(g_queue_pop_tail(&size_cache));
  G_UNLOCK(size_cache);
}

gsize
sig_cms_max_size(TteSigningKey *key, TteSigScheme scheme, TteHash hash, GError **error)
{
  guint8 zero[EVP_MAX_MD_SIZE] = {0};
  X509 *cert = tte_signing_key_get_cert(key);
  TteX509Stack *chain = tte_signing_key_get_chain(key);
  gsize max_sig = tte_signing_key_max_signature_size(key);
  gsize size = size_cached(cert, chain, scheme, hash, max_sig);
  g_autoptr(GBytes) der = NULL;

  if (size != 0)
    return size;
  der = build(key, scheme, hash, zero, tte_hash_len(hash), TRUE, error);
  if (der == NULL)
    return 0;
  size = g_bytes_get_size(der);
  size_remember(cert, chain, scheme, hash, max_sig, size);
  return size;
}
