/* vfy-cms.h — CMS SignedData checks for PDF signatures and timestamps (internal). */
#pragma once

#include <glib.h>
#include <openssl/x509.h>

#include "tte-ossl.h"

G_BEGIN_DECLS

/* The signed bytes: one or two slices of memory, hashed in order without copying. */
typedef struct {
  const guint8 *p1;
  gsize n1;
  const guint8 *p2;
  gsize n2;
} VfyRanges;

typedef enum {
  VFY_CMS_DETACHED, /* ETSI.CAdES.detached, adbe.pkcs7.detached: content = the ranges */
  VFY_CMS_SHA1,     /* adbe.pkcs7.sha1: eContent = SHA-1 of the ranges */
  VFY_CMS_TST,      /* RFC 3161 token: TSTInfo messageImprint = digest of the ranges */
} VfyCmsMode;

typedef enum {
  VFY_CMS_OK = 0,
  VFY_CMS_FORMAT,        /* not a usable SignedData (FORMAT_FAILURE) */
  VFY_CMS_HASH,          /* digest/imprint mismatch (HASH_FAILURE) */
  VFY_CMS_SIG,           /* signature value or algorithm wrong (SIG_CRYPTO_FAILURE) */
  VFY_CMS_NO_SIGNER,     /* signer certificate not found (NO_SIGNING_CERTIFICATE_FOUND) */
  VFY_CMS_SIGNER_MISMATCH, /* ESS signing-certificate(-v2) names another certificate */
  VFY_CMS_UNSUPPORTED,   /* algorithm we cannot check (CRYPTO_CONSTRAINTS_FAILURE) */
} VfyCmsStatus;

typedef struct {
  VfyCmsStatus status;
  char *message;        /* English, technical; NULL when OK */
  X509 *signer;         /* signer certificate (owned), NULL when not found */
  TteX509Stack *certs;  /* certificates carried in the CMS (owned, may be empty) */
  GPtrArray *crls_der;  /* GBytes*: CMS crls + adbe-revocationInfoArchival CRLs */
  GPtrArray *ocsps_der; /* GBytes*: adbe-revocationInfoArchival OCSP responses */
  GPtrArray *timestamps; /* GBytes*: DER of unsigned signature-timestamp tokens */
  GBytes *signature_value;
  char *digest_name;
  char *signature_name;
  gboolean has_signed_attrs;
  gboolean ess_present;
  gboolean econtent_present;
  gint64 gen_time;      /* TST mode: genTime (Unix seconds) */
  gboolean has_gen_time;
  int signer_infos;
  gboolean trailing_garbage; /* non-zero bytes after the CMS in /Contents (unsigned) */
} VfyCmsResult;

void vfy_cms_result_free(VfyCmsResult *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VfyCmsResult, vfy_cms_result_free)

/* Check the DER CMS @der (trailing zero padding allowed) against @ranges in @mode.
 * @extra_certs (may be NULL) are searched for the signer certificate when the CMS does
 * not carry it.  @allow_same_signer_twice tolerates a second SignerInfo by the same
 * certificate (legacy adbe.pkcs7.* writers); both must verify.  Never NULL: the outcome
 * is in ->status (->signer_infos says how many there were). */
VfyCmsResult *vfy_cms_verify(const guint8 *der, gsize len, VfyCmsMode mode,
                             const VfyRanges *ranges, const TteX509Stack *extra_certs,
                             gboolean allow_same_signer_twice);

/* Digest @ranges with @md into @out (EVP_MAX_MD_SIZE bytes); FALSE on an OpenSSL failure. */
gboolean vfy_digest_ranges(const EVP_MD *md, const VfyRanges *ranges, guint8 *out,
                           guint *out_len) G_GNUC_WARN_UNUSED_RESULT;

/* ISO 8601 UTC string of Unix seconds (caller frees). */
char *vfy_iso_time(gint64 t);

/* Unix seconds of an ASN1_TIME; FALSE when it cannot be converted. */
gboolean vfy_asn1_time_to_unix(const ASN1_TIME *t, gint64 *out) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
