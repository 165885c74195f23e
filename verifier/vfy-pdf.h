/* vfy-pdf.h — the PDF side of verification: signature discovery through qpdf, the
 * document security store, revision boundaries and ByteRange coverage (internal). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  char *field;      /* fully qualified field name */
  char *type;       /* /Type of the signature dictionary ("Sig", "DocTimeStamp"), or NULL */
  char *subfilter;  /* /SubFilter, or NULL */
  char *m;          /* /M as a PDF date string, or NULL */
  int obj_num, obj_gen; /* the signature dictionary (0 when direct) */
  gboolean byte_range_ok; /* /ByteRange is an array of exactly four integers */
  guint byte_range_count; /* elements found */
  gint64 byte_range[4];
  GBytes *contents; /* /Contents as qpdf decoded it; NULL when absent or not a string */
  gboolean contents_too_big; /* longer than TTE_LIMIT_CMS_MAX_LEN */
  int docmdp;       /* P of a DocMDP transform in /Reference, 0 when none */
} VfyPdfSig;

void vfy_pdf_sig_free(VfyPdfSig *s);

typedef struct {
  gsize eof_end;   /* just after "%%EOF" */
  gsize eol_end;   /* after the end-of-line that follows it (== eof_end when none) */
} VfyRevisionEnd;

typedef struct {
  GPtrArray *sigs;       /* VfyPdfSig*, in field order */
  GPtrArray *dss_certs;  /* GBytes* (DER) */
  GPtrArray *dss_ocsps;  /* GBytes* (DER OCSPResponse) */
  GPtrArray *dss_crls;   /* GBytes* (DER CRL) */
  GArray *revisions;     /* VfyRevisionEnd, ascending */
  gboolean warnings;     /* qpdf issued warnings */
  char *first_warning;
  guint dangling_fields;  /* form fields referring to objects that do not exist */
  gboolean unreachable_signature_data; /* no signature found, but "/ByteRange" in the bytes */
  gboolean encrypted;     /* opened with the empty user password */
  gboolean fields_capped; /* TTE_LIMIT_PDF_MAX_FIELDS cut the field walk short */
} VfyPdfInfo;

void vfy_pdf_info_free(VfyPdfInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VfyPdfInfo, vfy_pdf_info_free)

/* Open @data with qpdf (no recovery), find every signature field with a value, read the
 * DSS and find the revision boundaries.  NULL with TTE_ERROR_NOT_PDF / TTE_ERROR_FORMAT /
 * TTE_ERROR_PDF_ENCRYPTED / TTE_ERROR_LIMIT when the file cannot be read safely. */
VfyPdfInfo *vfy_pdf_scan(const guint8 *data, gsize len, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Find the revision boundaries alone (also used by the scan). NULL with TTE_ERROR_LIMIT
 * past TTE_LIMIT_PDF_MAX_REVISIONS. */
GArray *vfy_pdf_revisions(const guint8 *data, gsize len, GError **error) G_GNUC_WARN_UNUSED_RESULT;

typedef enum {
  VFY_COVERAGE_ENTIRE_FILE,
  VFY_COVERAGE_ENTIRE_REVISION,
} VfyCoverage;

/* Check @sig's ByteRange against the raw bytes: four non-negative integers from 0, inside
 * the file, the gap exactly this dictionary's hex /Contents (equal to qpdf's value unless
 * the file is @encrypted), the signed range ending at a revision boundary.  On success
 * *coverage, *signed_len and *cms (the decoded gap, caller unrefs) are set; FALSE with
 * TTE_ERROR_FORMAT and a message saying what is wrong otherwise. */
gboolean vfy_pdf_check_coverage(const guint8 *data, gsize len, const VfyPdfSig *sig,
                                const GArray *revisions, gboolean encrypted, VfyCoverage *coverage,
                                gsize *signed_len, GBytes **cms, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Parse a PDF date "D:YYYYMMDDHHmmSSOHH'mm'" (trailing parts optional) into Unix seconds
 * UTC.  FALSE when malformed. */
gboolean vfy_pdf_parse_date(const char *s, gint64 *out) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
