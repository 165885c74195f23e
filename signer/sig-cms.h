/* sig-cms.h — CMS SignedData for PAdES baseline B-B (ETSI EN 319 142-1).
 *
 * Detached, one SignerInfo, signed attributes content-type, message-digest and ESS
 * signing-certificate-v2 — and no signing-time (PAdES puts the claimed time in the
 * signature dictionary's /M).  The signer certificate and the key's chain go into
 * `certificates`.  The key only ever sees the digest of the signed attributes.
 */
#pragma once

#include <glib.h>

#include "tte-signing-key.h"

G_BEGIN_DECLS

/* Build the DER CMS over content whose @hash digest is @digest (@digest_len bytes), signed
 * by @key with @scheme.  Checks the returned signature against the certificate's key
 * before returning (a faulty token must not produce a broken letter).  Returns new DER
 * bytes, or NULL with @error (TTE_ERROR_CRYPTO, or the key's own codes). */
GBytes *sig_cms_build(TteSigningKey *key, TteSigScheme scheme, TteHash hash, const guint8 *digest,
                      gsize digest_len, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Upper bound of the DER size sig_cms_build() will produce for this key, scheme and
 * hash (built once with a dummy signature of the key's maximum size; the key is not
 * asked to sign).  Returns 0 with @error on failure. */
gsize sig_cms_max_size(TteSigningKey *key, TteSigScheme scheme, TteHash hash,
                       GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
