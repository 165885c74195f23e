/* sig-sign.h — apply one PAdES baseline B-B signature to a PDF.
 *
 * The signature goes into one incremental update appended to the unchanged original
 * bytes (earlier signatures stay valid).  The key is any TteSigningKey: a PKCS#11 token
 * (pkcs11/) in production, a file key in tests.  See docs/signing.md for what is
 * supported and what is refused.
 */
#pragma once

#include <glib.h>

#include "sig-hook.h"
#include "tte-signing-key.h"

G_BEGIN_DECLS

typedef struct {
  /* which field: an existing empty signature field by full name, or NULL for a new one */
  const char *field_name;
  /* 0 = approval signature; 1, 2, 3 = certify with DocMDP P=1 (no changes), P=2 (form
   * fill and signing), P=3 (also annotations).  Only for the first signature. */
  int certify;
  TteHash hash; /* message digest; default SHA-256 */
  int scheme;   /* a TteSigScheme, or -1 for the key's natural scheme */

  /* signature dictionary entries (UTF-8, each at most TTE_LIMIT_SIG_TEXT_MAX_LEN bytes) */
  const char *reason, *location, *contact, *signer_name;
  /* stamp text (visible signatures only): NULL = from the certificate's title and OU/O */
  const char *title, *organization;
  GDateTime *time; /* for /M; NULL = now (local time zone) */

  /* visible signature (the appearance module); all unset = invisible signature */
  guint page; /* 1-based page for a new field; 0 = first page (or anchor's) */
  gboolean have_rect;
  double rect[4]; /* x, y, width, height in points, as the reader sees the page */
  const char *anchor;
  const char *image_path;
  const char *qr_url_base;
  const char *document_id;
  const char *timezone;
  /* Override the appearance builder (NULL = the signer's own module when built). */
  SigAppearanceFunc appearance;
  void *appearance_data;
} SigOptions;

/* Defaults: new invisible approval signature on page 1, SHA-256, the key's scheme. */
void sig_options_init(SigOptions *opts);

/* Parse "X,Y,WIDTH,HEIGHT" (points, as the reader sees the page) into @rect for
 * SigOptions.rect: four finite numbers within +-14400 (the largest PDF page), positive
 * width and height.  Returns FALSE on anything else; the caller words the error. */
gboolean sig_parse_rect(const char *text, double rect[4]) G_GNUC_WARN_UNUSED_RESULT;

typedef struct {
  char document_sha256[65]; /* hex SHA-256 of the signed output */
  guint signature_count;    /* signatures in the output */
  guint64 byte_range[4];
  guint64 size;            /* bytes of the output */
  gsize contents_reserved; /* bytes reserved for the CMS in /Contents */
  gsize cms_len;           /* bytes of the CMS */
  char *field_name;        /* the field signed (owned; sig_result_clear frees) */
} SigResult;

void sig_result_clear(SigResult *result);

/* Sign the PDF at @in_path into @out_path (may equal @in_path).  The output is written
 * to a new temporary file next to @out_path (O_EXCL, mode 0666 minus umask), fsync'ed,
 * then renamed over @out_path: a reader never sees a half-written file, and on any
 * error nothing is left at @out_path.  Memory stays bounded for large inputs: the
 * document is copied and hashed in chunks.  @result may be NULL.
 * Errors: see sig_doc_open_file() and sig_doc_build_update() (sig-pdf.h), plus
 * TTE_ERROR_IO, TTE_ERROR_CRYPTO, the key's errors, TTE_ERROR_NOT_SUPPORTED for a
 * visible signature when no appearance builder is available. */
gboolean sig_sign_file(const char *in_path, const char *out_path, TteSigningKey *key,
                       const SigOptions *opts, SigResult *result,
                       GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* The same in memory: returns the signed document (the input followed by the update)
 * without touching the file system.  For the service. */
GBytes *sig_sign_bytes(GBytes *in, TteSigningKey *key, const SigOptions *opts, SigResult *result,
                       GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
