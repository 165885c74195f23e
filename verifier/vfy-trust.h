/* vfy-trust.h — certificate paths and revocation for the verifier (internal). */
#pragma once

#include <glib.h>

#include "tte-ossl.h"
#include "vfy.h"

G_BEGIN_DECLS

typedef struct VfyTrust VfyTrust;

/* Load the anchors, intermediates and CRL files named in @opts.  NULL with
 * TTE_ERROR_INVALID_ARGUMENT / TTE_ERROR_IO / TTE_ERROR_LIMIT when one cannot be used. */
VfyTrust *vfy_trust_new(const VfyOptions *opts, GError **error) G_GNUC_WARN_UNUSED_RESULT;
void vfy_trust_free(VfyTrust *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VfyTrust, vfy_trust_free)

typedef enum {
  VFY_PURPOSE_SIGNING,   /* keyUsage digitalSignature or nonRepudiation */
  VFY_PURPOSE_TIMESTAMP, /* extendedKeyUsage timeStamping */
} VfyPurpose;

typedef struct {
  gboolean trusted;
  int x509_error;  /* X509_V_OK when trusted; else OpenSSL's verification error */
  int error_depth;
  gboolean key_usage_ok; /* checked only once the path is trusted */
  TteX509Stack *chain;   /* leaf first, anchor last; owned; NULL when none was built */
  char *message;         /* English, when not trusted */
} VfyPath;

void vfy_path_clear(VfyPath *p);

/* Build and check a path from @leaf to a configured anchor at time @at, using
 * @untrusted (the CMS and DSS certificates; may be NULL) and the configured
 * intermediates.  The outcome is in @out (always filled). */
void vfy_trust_path(VfyTrust *t, X509 *leaf, const TteX509Stack *untrusted, gint64 at,
                    VfyPurpose purpose, VfyPath *out);

typedef struct {
  VfyRevocationStatus status;
  const char *source;  /* "ocsp", "crl" or NULL (static string) */
  gint64 revoked_at;   /* when revoked */
  int depth;           /* certificate in the chain the status is about (0 = leaf) */
  char *message;       /* English detail */
} VfyRevocation;

void vfy_revocation_clear(VfyRevocation *r);

/* Revocation status of every certificate in @chain but the anchor, at signing time
 * @sig_time, from @crls_der / @ocsps_der (GBytes*, from the DSS and the CMS), the
 * configured CRLs and — when online — OCSP (AIA) and CRL (CDP) fetches. */
void vfy_trust_revocation(VfyTrust *t, const TteX509Stack *chain, gint64 sig_time,
                          const GPtrArray *crls_der, const GPtrArray *ocsps_der,
                          VfyRevocation *out);

/* Fetch @url (http/https only) with libcurl: POST @body when non-NULL, else GET; at
 * most @cap bytes, TTE_LIMIT_FETCH_TIMEOUT_S seconds. */
GBytes *vfy_fetch(const char *url, const void *body, gsize body_len, const char *content_type,
                  gsize cap, GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
