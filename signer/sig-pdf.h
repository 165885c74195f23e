/* sig-pdf.h — reading a PDF for signing (through qpdf) and writing the one incremental
 * update that adds a signature.
 *
 * The input is never repaired: a file qpdf can only read by reconstructing its
 * cross-reference data (or that makes qpdf warn at all) is refused with
 * TTE_ERROR_PDF_DAMAGED, since an incremental update must extend the file's own xref
 * chain.  The raw bytes qpdf does not interpret for us (header, startxref, the kind of
 * the last cross-reference section) are read only through a TteCursor.
 */
#pragma once

#include <glib.h>

#include "sig-hook.h"

G_BEGIN_DECLS

typedef enum {
  SIG_XREF_TABLE,  /* classic "xref" table (also the hybrid case: table + /XRefStm) */
  SIG_XREF_STREAM, /* /Type /XRef stream */
} SigXrefKind;

typedef struct SigDoc SigDoc;

/* Open @path (qpdf reads it lazily: memory stays bounded).  Errors: TTE_ERROR_IO,
 * TTE_ERROR_LIMIT (TTE_LIMIT_PDF_MAX_SIZE), TTE_ERROR_NOT_PDF, TTE_ERROR_PDF_DAMAGED,
 * TTE_ERROR_PDF_ENCRYPTED, TTE_ERROR_PDF_UNSUPPORTED.  Caller frees with sig_doc_free(). */
SigDoc *sig_doc_open_file(const char *path, GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* Same over bytes in memory (a reference on @bytes is kept). */
SigDoc *sig_doc_open_bytes(GBytes *bytes, GError **error) G_GNUC_WARN_UNUSED_RESULT;
void sig_doc_free(SigDoc *doc); /* accepts NULL */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SigDoc, sig_doc_free)

guint64 sig_doc_get_size(const SigDoc *doc);
SigXrefKind sig_doc_get_xref_kind(const SigDoc *doc);
gboolean sig_doc_is_hybrid(const SigDoc *doc);
guint64 sig_doc_get_startxref(const SigDoc *doc);
guint sig_doc_get_page_count(const SigDoc *doc);
/* Signature fields that carry a value (existing signatures). */
guint sig_doc_get_signature_count(const SigDoc *doc);
/* DocMDP permission level P (1, 2 or 3) when the document is certified, else 0. */
int sig_doc_get_docmdp(const SigDoc *doc);
/* Read @len bytes at @offset of the original document into @buf. */
gboolean sig_doc_read_at(SigDoc *doc, guint64 offset, void *buf, gsize len,
                         GError **error) G_GNUC_WARN_UNUSED_RESULT;

typedef struct {
  const char *field_name; /* fill this existing empty signature field; NULL = new field */
  guint page_index;       /* page of a new field (0-based) */
  double rect[4];         /* widget /Rect of a new field (x1 y1 x2 y2); zeros = invisible */
  int certify;            /* 0, or the DocMDP P value 1..3 */
  const char *dict_extra; /* more sig dictionary entries, PDF text ("/M (D:...) ...") */
  gsize contents_len;     /* bytes reserved for the DER CMS in /Contents */
  /* visible stamp: called with @appearance_request completed by the writer */
  SigAppearanceFunc appearance;
  void *appearance_data;
  const SigAppearanceRequest *appearance_request;
} SigUpdateParams;

typedef struct {
  GBytes *update;    /* bytes to append right after the original document */
  guint64 gap_start; /* absolute offset of the '<' opening /Contents */
  guint64 gap_end;   /* absolute offset one past its '>' */
  guint64 byte_range[4];
  char *field_name; /* the signature field's full name (UTF-8) */
  guint sig_obj_num;
} SigUpdate;

void sig_update_clear(SigUpdate *u);

/* Build the incremental update for one signature.  The /ByteRange is final; /Contents
 * holds zeros.  Errors: TTE_ERROR_FIELD_NOT_FOUND, TTE_ERROR_FIELD_SIGNED,
 * TTE_ERROR_CERTIFIED_NO_CHANGES, TTE_ERROR_INVALID_ARGUMENT (page out of range, certify
 * on a signed document), TTE_ERROR_PDF_DAMAGED, TTE_ERROR_PDF_UNSUPPORTED, TTE_ERROR_LIMIT,
 * and whatever the appearance function returns. */
gboolean sig_doc_build_update(SigDoc *doc, const SigUpdateParams *params, SigUpdate *out,
                              GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* A PDF text string for @utf8: a literal "(...)" when it is printable ASCII, else
 * "<FEFF...>" UTF-16BE hex.  Returns NULL when @utf8 is not valid UTF-8. */
char *sig_pdf_text_string(const char *utf8);

G_END_DECLS
