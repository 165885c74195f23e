/* vfy.h — the verifier's public API: verify every signature and document timestamp in
 * a PDF and describe the outcome as a report (ETSI EN 319 102-1 style indications).
 *
 * The verifier is strict by default: anything it cannot check makes a signature
 * INDETERMINATE, never TOTAL-PASSED.  docs/verify-report.md describes the JSON form.
 */
#pragma once

#include <glib.h>

#include "vfy-changes.h"

G_BEGIN_DECLS

/* Ordered by severity: a signature's indication is the worst one any check gave. */
typedef enum {
  VFY_TOTAL_PASSED = 0,
  VFY_INDETERMINATE = 1,
  VFY_TOTAL_FAILED = 2,
} VfyIndication;

/* "TOTAL-PASSED", "INDETERMINATE", "TOTAL-FAILED". */
const char *vfy_indication_name(VfyIndication ind);

typedef struct {
  /* PEM bundles of trust anchors (--trust), NULL-terminated; may be NULL. */
  const char *const *trust_files;
  /* PEM bundles of extra intermediate certificates (never anchors); may be NULL. */
  const char *const *intermediate_files;
  /* CRL files (PEM or DER) given by the caller; may be NULL. */
  const char *const *crl_files;
  gboolean system_trust; /* also trust the system store (off by default) */
  gboolean online;       /* fetch OCSP (AIA) and CRLs (CDP) with libcurl */
  guint visual_max_pages; /* 0 = TTE_LIMIT_VISUAL_DIFF_PAGES; capped by it */
  gboolean skip_visual;   /* do not render pages (fuzzing, quick checks) */
  gint64 now;             /* validation time (Unix seconds); 0 = the current time */
} VfyOptions;

typedef enum {
  VFY_REVOCATION_NOT_CHECKED = 0, /* checking never started (an earlier check failed) */
  VFY_REVOCATION_GOOD,
  VFY_REVOCATION_REVOKED,
  VFY_REVOCATION_UNKNOWN, /* no usable OCSP response or CRL */
} VfyRevocationStatus;

const char *vfy_revocation_status_name(VfyRevocationStatus s);

typedef struct {
  char *field;       /* fully qualified field name */
  char *kind;        /* "signature" or "document-timestamp" */
  char *subfilter;   /* as in the file, NULL when absent */
  char *level;       /* "B-B", "B-T", "B-LT", "B-LTA", or NULL (not a PAdES baseline signature) */
  char *signer_subject, *signer_issuer, *signer_serial; /* NULL when no signer certificate */
  char *signing_time; /* ISO 8601 UTC, NULL when unknown */
  char *time_source;  /* "claimed" (/M) or "timestamp" (a verified signature timestamp) */
  char *claimed_time; /* /M as ISO 8601, NULL when absent or unparsable */
  char *coverage;     /* "ENTIRE_FILE", "ENTIRE_REVISION", or NULL (coverage check failed) */
  gint64 byte_range[4];
  gboolean byte_range_valid;
  guint64 signed_length; /* end of the signed revision (byte_range[2] + byte_range[3]) */
  char *digest_algorithm; /* e.g. "SHA256" */
  char *signature_algorithm;
  gboolean integrity; /* coverage well formed, digest matches, signature value verifies */
  gboolean trusted;   /* chain to a configured anchor, valid at the signing time */
  int docmdp;         /* DocMDP P of a certification signature, 0 otherwise */

  VfyRevocationStatus revocation;
  char *revocation_source; /* "ocsp", "crl", or NULL */
  char *revocation_time;   /* ISO 8601 when revoked */

  gboolean timestamp_present;
  gboolean timestamp_intact; /* the token verifies over the signature value (TSA not judged) */
  gboolean timestamp_valid;  /* intact and from a trusted TSA: its time is used */
  char *timestamp_time;   /* genTime of the signature timestamp (or of the document timestamp) */
  char *timestamp_tsa;    /* TSA certificate subject */

  gboolean modifications_analysed;
  GPtrArray *modifications; /* VfyChange* (owned) */
  GArray *visual_pages;     /* guint: pages that differ visually; NULL when not compared */
  gboolean visual_compared;
  gboolean visual_capped;

  VfyIndication indication;
  char *subindication; /* ETSI sub-indication name, NULL when TOTAL-PASSED */
  GPtrArray *reasons_id; /* char*: one sentence per finding, Bahasa Indonesia */
  GPtrArray *reasons_en; /* char*: the same in English */
} VfySignature;

typedef struct {
  char *file;          /* path or description */
  guint64 file_size;
  gboolean pdf_warnings; /* qpdf warned while reading (no repair was attempted) */
  GPtrArray *warnings_en; /* char*: file-level notes */
  GPtrArray *warnings_id;
  /* Structure problems that make the file fail as a whole (e.g. form fields that refer
   * to missing objects, which could hide signatures); each makes indication TOTAL-FAILED. */
  GPtrArray *structure_errors_en;
  GPtrArray *structure_errors_id;
  GPtrArray *signatures; /* VfySignature* in file order of their signed revisions */
  VfyIndication indication; /* worst over all signatures; TOTAL-PASSED when none */
  gint64 validation_time;
} VfyReport;

void vfy_report_free(VfyReport *report);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VfyReport, vfy_report_free)

/* Verify the PDF at @path.  Returns a report (caller frees) — also when signatures fail
 * or the file holds none (then report->signatures is empty) — or NULL with @error when
 * the file cannot be read (TTE_ERROR_IO), is not a PDF qpdf accepts (TTE_ERROR_NOT_PDF,
 * TTE_ERROR_FORMAT), exceeds a limit (TTE_ERROR_LIMIT), or an option is unusable
 * (TTE_ERROR_INVALID_ARGUMENT, e.g. an unreadable trust file). */
VfyReport *vfy_verify_file(const char *path, const VfyOptions *opts,
                           GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Same over bytes held by the caller (the service); @name appears in the report. */
VfyReport *vfy_verify_bytes(const guint8 *data, gsize len, const char *name,
                            const VfyOptions *opts, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* The report as a JSON document (docs/verify-report.md); caller frees with g_free. */
char *vfy_report_to_json(const VfyReport *report);

/* The report as text for people, in "id" (Bahasa Indonesia) or "en"; caller frees. */
char *vfy_report_to_text(const VfyReport *report, const char *lang);

G_END_DECLS
