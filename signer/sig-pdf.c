/* sig-pdf.c — qpdf-backed reading and the incremental update writer.
 *
 * qpdf parses; it cannot write incremental updates, so the appended section (changed
 * objects re-serialised with qpdf_oh_unparse, new objects, the cross-reference section
 * and trailer) is written here.  Every string the qpdf C API returns is copied at once:
 * it is only valid until the next call.
 */
#include "sig-pdf.h"

#include "tte-cursor.h"
#include "tte-error.h"
#include "tte-limits.h"

#include <qpdf/qpdf-c.h>

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bytes read at startxref to tell "xref" from "N G obj". */
#define SIG_XREF_PROBE 64u

typedef struct {
  char *name;       /* full field name */
  qpdf_oh oh;       /* the field dictionary */
  gboolean signed_; /* has a /V */
} SigField;

struct SigDoc {
  qpdf_data q;
  int fd;        /* file source, or -1 */
  GBytes *bytes; /* memory source, or NULL */
  char *path;
  guint64 size;
  guint64 startxref;
  SigXrefKind xref_kind;
  guint64 xref_stream_num, xref_stream_gen; /* the last xref stream's own number */
  gboolean hybrid;
  guint64 trailer_size;
  char *root_ref, *info_ref, *id_text;
  guint page_count;
  GPtrArray *fields; /* SigField*: signature fields */
  GHashTable *names; /* every field name in use */
  guint sig_count;
  int docmdp;
};

static void
sig_field_free(gpointer p)
{
  SigField *f = p;
  g_free(f->name);
  g_free(f);
}

void
sig_doc_free(SigDoc *doc)
{
  if (doc == NULL)
    return;
  if (doc->q != NULL)
    qpdf_cleanup(&doc->q);
  if (doc->fd >= 0)
    close(doc->fd);
  g_clear_pointer(&doc->bytes, g_bytes_unref);
  g_free(doc->path);
  g_free(doc->root_ref);
  g_free(doc->info_ref);
  g_free(doc->id_text);
  g_clear_pointer(&doc->fields, g_ptr_array_unref);
  g_clear_pointer(&doc->names, g_hash_table_unref);
  g_free(doc);
}

guint64
sig_doc_get_size(const SigDoc *doc)
{
  return doc->size;
}
SigXrefKind
sig_doc_get_xref_kind(const SigDoc *doc)
{
  return doc->xref_kind;
}
gboolean
sig_doc_is_hybrid(const SigDoc *doc)
{
  return doc->hybrid;
}
guint64
sig_doc_get_startxref(const SigDoc *doc)
{
  return doc->startxref;
}
guint
sig_doc_get_page_count(const SigDoc *doc)
{
  return doc->page_count;
}
guint
sig_doc_get_signature_count(const SigDoc *doc)
{
  return doc->sig_count;
}
int
sig_doc_get_docmdp(const SigDoc *doc)
{
  return doc->docmdp;
}

gboolean
sig_doc_read_at(SigDoc *doc, guint64 offset, void *buf, gsize len, GError **error)
{
  if (offset > doc->size || len > doc->size - offset) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_PDF_DAMAGED, "read past the end of the document");
    return FALSE;
  }
  if (doc->bytes != NULL) {
    memcpy(buf, (const guint8 *)g_bytes_get_data(doc->bytes, NULL) + offset, len);
    return TRUE;
  }
  for (gsize done = 0; done < len;) {
    ssize_t n = pread(doc->fd, (guint8 *)buf + done, len - done, (off_t)(offset + done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_IO, "cannot read %s: %s", doc->path,
                  n < 0 ? g_strerror(errno) : "file shrank while reading");
      return FALSE;
    }
    done += (gsize)n;
  }
  return TRUE;
}

/* --- qpdf error handling ---------------------------------------------------------- */

/* TRUE when qpdf has neither an error nor a warning pending.  Any warning means qpdf
 * worked around something in the file, which we refuse rather than build on. */
static gboolean
q_check(SigDoc *doc, GError **error)
{
  if (qpdf_has_error(doc->q)) {
    qpdf_error e = qpdf_get_error(doc->q);
    g_set_error(error, TTE_ERROR, TTE_ERROR_PDF_DAMAGED,
                "qpdf cannot read the document (%s); a file qpdf can only read by "
                "repairing it cannot take an incremental update safely",
                qpdf_get_error_full_text(doc->q, e));
    return FALSE;
  }
  if (qpdf_more_warnings(doc->q)) {
    qpdf_error w = qpdf_next_warning(doc->q);
    g_set_error(error, TTE_ERROR, TTE_ERROR_PDF_DAMAGED,
                "qpdf had to repair the document (%s); a file qpdf can only read by "
                "repairing it cannot take an incremental update safely",
                qpdf_get_error_full_text(doc->q, w));
    return FALSE;
  }
  return TRUE;
}

static char *
q_unparse(SigDoc *doc, qpdf_oh oh)
{
  return g_strdup(qpdf_oh_unparse(doc->q, oh));
}

static qpdf_oh
q_key(SigDoc *doc, qpdf_oh dict, const char *key)
{
  if (!qpdf_oh_is_dictionary(doc->q, dict) || !qpdf_oh_has_key(doc->q, dict, key))
    return qpdf_oh_new_null(doc->q);
  return qpdf_oh_get_key(doc->q, dict, key);
}

static gboolean
q_is_name(SigDoc *doc, qpdf_oh oh, const char *name)
{
  return qpdf_oh_is_name_and_equals(doc->q, oh, name);
}

/* --- raw structure: header, startxref, last section kind ----------------------------- */

static gboolean
check_header(SigDoc *doc, GError **error)
{
  gsize n = (gsize)MIN(doc->size, (guint64)TTE_LIMIT_PDF_HEADER_SCAN);
  g_autofree guint8 *buf = g_malloc(n + 1);
  TteCursor c;

  if (!sig_doc_read_at(doc, 0, buf, n, error))
    return FALSE;
  tte_cursor_init(&c, buf, n);
  if (tte_cursor_match(&c, "%PDF-")) {
    guint8 d1 = 0, dot = 0, d2 = 0;
    /* qpdf takes the first "%PDF-" followed by a version as the header and reads every
     * offset relative to it; without a version at 0 it may pick a later one (found by
     * fuzzing), and our absolute offsets would disagree with the file's. */
    if (tte_cursor_get_u8(&c, &d1) && tte_cursor_get_u8(&c, &dot) &&
        tte_cursor_get_u8(&c, &d2) && g_ascii_isdigit(d1) && dot == '.' && g_ascii_isdigit(d2))
      return TRUE;
    g_set_error(error, TTE_ERROR, TTE_ERROR_PDF_DAMAGED,
                "the %%PDF- header has no version number");
    return FALSE;
  }
  for (gsize i = 1; i + 5 <= n; i++) {
    if (!tte_cursor_seek(&c, i))
      break;
    if (tte_cursor_match(&c, "%PDF-")) {
      /* Offsets in such files are relative to the header, ours would be absolute. */
      g_set_error(error, TTE_ERROR, TTE_ERROR_PDF_UNSUPPORTED,
                  "the document has %" G_GSIZE_FORMAT " bytes before its %%PDF- header; "
                  "re-save it with a PDF tool first",
                  i);
      return FALSE;
    }
  }
  g_set_error(error, TTE_ERROR, TTE_ERROR_NOT_PDF,
              "this is not a PDF file (no %%PDF- header in the first %u bytes)",
              TTE_LIMIT_PDF_HEADER_SCAN);
  return FALSE;
}

/* Find the last "startxref N %%EOF" in the tail and look at what N points to. */
static gboolean
check_tail(SigDoc *doc, GError **error)
{
  gsize n = (gsize)MIN(doc->size, (guint64)TTE_LIMIT_PDF_TAIL_SCAN);
  guint64 tail_off = doc->size - n;
  g_autofree guint8 *buf = g_malloc(n + 1);
  guint8 probe[SIG_XREF_PROBE];
  gsize probe_len;
  TteCursor c;
  gboolean found = FALSE;
  guint64 v, gen;

  if (!sig_doc_read_at(doc, tail_off, buf, n, error))
    return FALSE;
  tte_cursor_init(&c, buf, n);
  for (gsize i = n >= 9 ? n - 9 + 1 : 0; i-- > 0;) {
    if (!tte_cursor_seek(&c, i))
      continue;
    if (tte_cursor_match(&c, "startxref")) {
      found = TRUE;
      break;
    }
  }
  if (!found) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_PDF_DAMAGED,
                "no startxref in the last %u bytes: the file is truncated or damaged",
                TTE_LIMIT_PDF_TAIL_SCAN);
    return FALSE;
  }
  tte_cursor_skip_pdf_ws(&c);
  if (!tte_cursor_get_uint(&c, &v) || v >= doc->size) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_PDF_DAMAGED,
                "the startxref offset is missing or beyond the end of the file");
    return FALSE;
  }
  /* Not tte_cursor_skip_pdf_ws: it would take "%%EOF" for a comment. */
  for (guint8 b; tte_cursor_peek(&c, &b) && tte_pdf_is_ws(b);)
    if (!tte_cursor_skip(&c, 1))
      break;
  if (!tte_cursor_match(&c, "%%EOF")) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_PDF_DAMAGED,
                "no %%%%EOF after the last startxref: the file is truncated");
    return FALSE;
  }
  doc->startxref = v;

  probe_len = (gsize)MIN((guint64)SIG_XREF_PROBE, doc->size - v);
  if (!sig_doc_read_at(doc, v, probe, probe_len, error))
    return FALSE;
  tte_cursor_init(&c, probe, probe_len);
  if (tte_cursor_match(&c, "xref")) {
    doc->xref_kind = SIG_XREF_TABLE;
    return TRUE;
  }
  if (tte_cursor_get_uint(&c, &v) && (tte_cursor_skip_pdf_ws(&c), tte_cursor_get_uint(&c, &gen)) &&
      (tte_cursor_skip_pdf_ws(&c), tte_cursor_match(&c, "obj"))) {
    doc->xref_kind = SIG_XREF_STREAM;
    doc->xref_stream_num = v;
    doc->xref_stream_gen = gen;
    return TRUE;
  }
  g_set_error(error, TTE_ERROR, TTE_ERROR_PDF_DAMAGED,
              "startxref does not point at a cross-reference section");
  return FALSE;
}

/* --- fields, signatures, certification --------------------------------------------- */

static gboolean
walk_field(SigDoc *doc, qpdf_oh f, const char *parent, gboolean parent_sig, guint depth,
           GHashTable *seen, guint *visited, GError **error)
{
  qpdf_data q = doc->q;
  g_autofree char *name = NULL;
  gboolean is_sig = parent_sig;
  qpdf_oh t, ft, kids;
  gboolean has_field_kids = FALSE;

  if (!qpdf_oh_is_dictionary(q, f))
    return TRUE;
  if (depth > TTE_LIMIT_PDF_MAX_DEPTH || ++*visited > TTE_LIMIT_PDF_MAX_FIELDS) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT,
                "the form has more than %u fields or is nested deeper than %u "
                "(TTE_LIMIT_PDF_MAX_FIELDS, TTE_LIMIT_PDF_MAX_DEPTH)",
                TTE_LIMIT_PDF_MAX_FIELDS, TTE_LIMIT_PDF_MAX_DEPTH);
    return FALSE;
  }
  if (qpdf_oh_is_indirect(q, f)) {
    gpointer id = GINT_TO_POINTER(qpdf_oh_get_object_id(q, f));
    if (g_hash_table_contains(seen, id))
      return TRUE; /* a loop or a shared kid: visit once */
    g_hash_table_add(seen, id);
  }
  t = q_key(doc, f, "/T");
  if (qpdf_oh_is_string(q, t)) {
    const char *tv = qpdf_oh_get_utf8_value(q, t);
    name = parent != NULL ? g_strconcat(parent, ".", tv, NULL) : g_strdup(tv);
  } else if (parent != NULL) {
    name = g_strdup(parent);
  }
  ft = q_key(doc, f, "/FT");
  if (qpdf_oh_is_name(q, ft))
    is_sig = q_is_name(doc, ft, "/Sig");

  kids = q_key(doc, f, "/Kids");
  if (qpdf_oh_is_array(q, kids)) {
    int n = qpdf_oh_get_array_n_items(q, kids);
    if (n < 0 || (guint)n > TTE_LIMIT_PDF_MAX_ARRAY) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT, "a /Kids array is too long");
      return FALSE;
    }
    for (int i = 0; i < n; i++) {
      qpdf_oh k = qpdf_oh_get_array_item(q, kids, i);
      if (qpdf_oh_is_dictionary(q, k) && qpdf_oh_has_key(q, k, "/T")) {
        has_field_kids = TRUE;
        if (!walk_field(doc, k, name, is_sig, depth + 1, seen, visited, error))
          return FALSE;
      }
    }
  }
  if (name != NULL)
    g_hash_table_add(doc->names, g_strdup(name));
  if (!has_field_kids && is_sig && name != NULL) {
    SigField *sf = g_new0(SigField, 1);
    qpdf_oh v = q_key(doc, f, "/V");
    sf->name = g_strdup(name);
    sf->oh = f;
    sf->signed_ = qpdf_oh_is_dictionary(q, v);
    if (sf->signed_)
      doc->sig_count++;
    g_ptr_array_add(doc->fields, sf);
  }
  return TRUE;
}

static gboolean
inspect(SigDoc *doc, GError **error)
{
  qpdf_data q = doc->q;
  qpdf_oh trailer = qpdf_get_trailer(q);
  qpdf_oh root = qpdf_get_root(q);
  qpdf_oh v, acro, fields, perms;
  int pages;

  if (!q_check(doc, error))
    return FALSE;
  v = q_key(doc, trailer, "/Size");
  if (!qpdf_oh_is_integer(q, v) || qpdf_oh_get_int_value(q, v) <= 0 ||
      (guint64)qpdf_oh_get_int_value(q, v) > TTE_LIMIT_PDF_MAX_OBJECTS) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_PDF_DAMAGED, "the trailer has no usable /Size");
    return FALSE;
  }
  doc->trailer_size = (guint64)qpdf_oh_get_int_value(q, v);
  if (!qpdf_oh_is_dictionary(q, root) || !qpdf_oh_is_indirect(q, root)) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_PDF_DAMAGED, "the document has no catalog");
    return FALSE;
  }
  doc->root_ref = q_unparse(doc, root);
  v = q_key(doc, trailer, "/Info");
  if (qpdf_oh_is_indirect(q, v))
    doc->info_ref = q_unparse(doc, v);
  v = q_key(doc, trailer, "/ID");
  if (qpdf_oh_is_array(q, v))
    doc->id_text = g_strdup(qpdf_oh_unparse_resolved(q, v));
  doc->hybrid = doc->xref_kind == SIG_XREF_TABLE && qpdf_oh_has_key(q, trailer, "/XRefStm");
  if (doc->xref_kind == SIG_XREF_STREAM) {
    /* The xref stream's own object number must name that stream.  If the file's xref
     * maps the number to another object, a reader that follows our /Prev would meet
     * two different objects under one number (found by fuzzing). */
    qpdf_oh xs;
    if (doc->xref_stream_num == 0 || doc->xref_stream_num > G_MAXINT ||
        doc->xref_stream_gen > G_MAXINT) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_PDF_DAMAGED,
                  "the cross-reference stream has an invalid object number");
      return FALSE;
    }
    xs = qpdf_get_object_by_id(q, (int)doc->xref_stream_num, (int)doc->xref_stream_gen);
    if (!qpdf_oh_is_stream(q, xs) ||
        !q_is_name(doc, q_key(doc, qpdf_oh_get_dict(q, xs), "/Type"), "/XRef")) {
      (void)qpdf_has_error(q);
      g_set_error(error, TTE_ERROR, TTE_ERROR_PDF_DAMAGED,
                  "the cross-reference stream's object number %" G_GUINT64_FORMAT
                  " belongs to another object in the file's own cross-reference data",
                  doc->xref_stream_num);
      return FALSE;
    }
  }

  pages = qpdf_get_num_pages(q);
  if (!q_check(doc, error))
    return FALSE;
  if (pages <= 0) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_PDF_DAMAGED, "the document has no readable pages");
    return FALSE;
  }
  if ((guint)pages > TTE_LIMIT_PDF_MAX_PAGES) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT, "more than %u pages (TTE_LIMIT_PDF_MAX_PAGES)",
                TTE_LIMIT_PDF_MAX_PAGES);
    return FALSE;
  }
  doc->page_count = (guint)pages;

  acro = q_key(doc, root, "/AcroForm");
  fields = q_key(doc, acro, "/Fields");
  if (qpdf_oh_is_array(q, fields)) {
    g_autoptr(GHashTable) seen = g_hash_table_new(NULL, NULL);
    guint visited = 0;
    int n = qpdf_oh_get_array_n_items(q, fields);
    if (n < 0 || (guint)n > TTE_LIMIT_PDF_MAX_FIELDS) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT,
                  "more than %u form fields (TTE_LIMIT_PDF_MAX_FIELDS)", TTE_LIMIT_PDF_MAX_FIELDS);
      return FALSE;
    }
    for (int i = 0; i < n; i++)
      if (!walk_field(doc, qpdf_oh_get_array_item(q, fields, i), NULL, FALSE, 0, seen, &visited,
                      error))
        return FALSE;
  }

  /* Certified?  /Perms /DocMDP points at the certification signature; its
   * /Reference entry with /TransformMethod /DocMDP carries P (default 2). */
  perms = q_key(doc, root, "/Perms");
  v = q_key(doc, perms, "/DocMDP");
  if (qpdf_oh_is_dictionary(q, v)) {
    qpdf_oh refs = q_key(doc, v, "/Reference");
    doc->docmdp = 2;
    if (qpdf_oh_is_array(q, refs)) {
      int n = MIN(qpdf_oh_get_array_n_items(q, refs), (int)TTE_LIMIT_PDF_MAX_ARRAY);
      for (int i = 0; i < n; i++) {
        qpdf_oh r = qpdf_oh_get_array_item(q, refs, i);
        if (q_is_name(doc, q_key(doc, r, "/TransformMethod"), "/DocMDP")) {
          qpdf_oh p = q_key(doc, q_key(doc, r, "/TransformParams"), "/P");
          if (qpdf_oh_is_integer(q, p)) {
            long long pv = qpdf_oh_get_int_value(q, p);
            doc->docmdp = pv >= 1 && pv <= 3 ? (int)pv : 2;
          }
        }
      }
    }
  }
  return q_check(doc, error);
}

static SigDoc *
open_common(SigDoc *doc, GError **error)
{
  QPDF_ERROR_CODE rc;

  if (doc->size > TTE_LIMIT_PDF_MAX_SIZE) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT,
                "the document is larger than %" G_GUINT64_FORMAT " bytes (TTE_LIMIT_PDF_MAX_SIZE)",
                (guint64)TTE_LIMIT_PDF_MAX_SIZE);
    goto fail;
  }
  if (doc->size == 0) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_NOT_PDF, "this is not a PDF file (it is empty)");
    goto fail;
  }
  if (!check_header(doc, error) || !check_tail(doc, error))
    goto fail;

  doc->q = qpdf_init();
  qpdf_silence_errors(doc->q); /* a library does not print */
  qpdf_set_suppress_warnings(doc->q, QPDF_TRUE);
  qpdf_set_attempt_recovery(doc->q, QPDF_FALSE);
  if (doc->bytes != NULL)
    rc = qpdf_read_memory(doc->q, "document", g_bytes_get_data(doc->bytes, NULL),
                          (unsigned long long)doc->size, NULL);
  else
    rc = qpdf_read(doc->q, doc->path, NULL);
  if (rc & QPDF_ERRORS) {
    qpdf_error e = qpdf_get_error(doc->q);
    enum qpdf_error_code_e code = qpdf_get_error_code(doc->q, e);
    if (code == qpdf_e_password)
      g_set_error(error, TTE_ERROR, TTE_ERROR_PDF_ENCRYPTED,
                  "the document is encrypted with a password; signing encrypted documents "
                  "is not supported");
    else
      g_set_error(error, TTE_ERROR, TTE_ERROR_PDF_DAMAGED,
                  "qpdf cannot read the document without repairing it (%s); a file qpdf can "
                  "only read by repairing it cannot take an incremental update safely",
                  qpdf_get_error_full_text(doc->q, e));
    goto fail;
  }
  if (qpdf_is_encrypted(doc->q)) {
    /* An update would have to encrypt its strings and streams with the document's key
     * and keep /Encrypt in the trailer; we do not do that (see docs/signing.md). */
    g_set_error(error, TTE_ERROR, TTE_ERROR_PDF_ENCRYPTED,
                "the document is encrypted; remove the encryption before signing");
    goto fail;
  }
  if (!q_check(doc, error) || !inspect(doc, error))
    goto fail;
  return doc;
fail:
  sig_doc_free(doc);
  return NULL;
}

static SigDoc *
doc_new(void)
{
  SigDoc *doc = g_new0(SigDoc, 1);
  doc->fd = -1;
  doc->fields = g_ptr_array_new_with_free_func(sig_field_free);
  doc->names = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  return doc;
}

SigDoc *
sig_doc_open_file(const char *path, GError **error)
{
  SigDoc *doc = doc_new();
  struct stat st;

  doc->path = g_strdup(path);
  doc->fd = open(path, O_RDONLY | O_CLOEXEC);
  if (doc->fd < 0 || fstat(doc->fd, &st) != 0) {
    int e = errno;
    g_set_error(error, TTE_ERROR, TTE_ERROR_IO, "cannot open %s: %s", path, g_strerror(e));
    sig_doc_free(doc);
    return NULL;
  }
  if (!S_ISREG(st.st_mode)) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_IO, "%s is not a regular file", path);
    sig_doc_free(doc);
    return NULL;
  }
  doc->size = (guint64)st.st_size;
  return open_common(doc, error);
}

SigDoc *
sig_doc_open_bytes(GBytes *bytes, GError **error)
{
  SigDoc *doc = doc_new();

  doc->bytes = g_bytes_ref(bytes);
  doc->size = g_bytes_get_size(bytes);
  return open_common(doc, error);
}

/* --- text helpers -------------------------------------------------------------------- */

char *
sig_pdf_text_string(const char *utf8)
{
  gboolean ascii = TRUE;
  GString *s;

  if (!g_utf8_validate(utf8, -1, NULL))
    return NULL;
  for (const char *p = utf8; *p; p++)
    if ((guchar)*p < 0x20 || (guchar)*p > 0x7e)
      ascii = FALSE;
  if (ascii) {
    s = g_string_new("(");
    for (const char *p = utf8; *p; p++) {
      if (*p == '(' || *p == ')' || *p == '\\')
        g_string_append_c(s, '\\');
      g_string_append_c(s, *p);
    }
    g_string_append_c(s, ')');
    return g_string_free(s, FALSE);
  }
  {
    glong n = 0;
    g_autofree gunichar2 *u16 = g_utf8_to_utf16(utf8, -1, NULL, &n, NULL);
    if (u16 == NULL)
      return NULL;
    s = g_string_new("<FEFF");
    for (glong i = 0; i < n; i++)
      g_string_append_printf(s, "%04X", (guint)u16[i]);
    g_string_append_c(s, '>');
    return g_string_free(s, FALSE);
  }
}

/* --- the update writer ------------------------------------------------------------- */

typedef struct {
  guint num;
  guint gen;
  guint64 offset; /* absolute */
} XrefEntry;

typedef struct {
  SigObjSink sink; /* first member: the sink pointer is the context */
  SigDoc *doc;
  GString *buf;    /* the update; absolute offset = doc->size + position */
  GArray *entries; /* XrefEntry */
  guint first_new;
  guint next_num;
  GHashTable *emitted;
} Writer;

static guint64
w_pos(Writer *w)
{
  return w->doc->size + w->buf->len;
}

static gboolean
w_room(Writer *w, gsize more, GError **error)
{
  if (w->buf->len + more > TTE_LIMIT_SIG_UPDATE_MAX) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT,
                "the signature's update would exceed %u bytes (TTE_LIMIT_SIG_UPDATE_MAX)",
                TTE_LIMIT_SIG_UPDATE_MAX);
    return FALSE;
  }
  return TRUE;
}

static gboolean
w_begin_obj(Writer *w, guint num, guint gen, GError **error)
{
  XrefEntry e = {num, gen, 0};

  if (g_hash_table_contains(w->emitted, GUINT_TO_POINTER(num))) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_FAILED, "object %u written twice", num);
    return FALSE;
  }
  g_hash_table_add(w->emitted, GUINT_TO_POINTER(num));
  e.offset = w_pos(w);
  g_array_append_val(w->entries, e);
  g_string_append_printf(w->buf, "%u %u obj\n", num, gen);
  return TRUE;
}

static gboolean
w_object(Writer *w, guint num, guint gen, const char *body, GError **error)
{
  if (!w_room(w, strlen(body) + 64, error) || !w_begin_obj(w, num, gen, error))
    return FALSE;
  g_string_append(w->buf, body);
  g_string_append(w->buf, "\nendobj\n");
  return TRUE;
}

static guint
sink_alloc(SigObjSink *sink)
{
  Writer *w = (Writer *)sink;
  return w->next_num++;
}

static gboolean
sink_emit(SigObjSink *sink, guint num, const char *dict, const guint8 *stream, gsize stream_len,
          GError **error)
{
  Writer *w = (Writer *)sink;

  if (num < w->first_new || num >= w->next_num) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_FAILED, "object %u was not allocated", num);
    return FALSE;
  }
  if (stream == NULL)
    return w_object(w, num, 0, dict, error);
  if (!w_room(w, strlen(dict) + stream_len + 96, error) || !w_begin_obj(w, num, 0, error))
    return FALSE;
  g_string_append_printf(w->buf, "<< %s /Length %" G_GSIZE_FORMAT " >>\nstream\n", dict,
                         stream_len);
  g_string_append_len(w->buf, (const char *)stream, (gssize)stream_len);
  g_string_append(w->buf, "\nendstream\nendobj\n");
  return TRUE;
}

/* "<< (every entry of @dict except @skip) @extra >>" with the values as qpdf unparses
 * them: indirect values stay references, direct ones are written out. */
static gboolean
dict_with(SigDoc *doc, qpdf_oh dict, const char *const *skip, const char *extra, GString *out,
          GError **error)
{
  qpdf_data q = doc->q;
  g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func(g_free);

  qpdf_oh_begin_dict_key_iter(q, dict);
  while (qpdf_oh_dict_more_keys(q)) {
    if (keys->len >= TTE_LIMIT_PDF_MAX_ARRAY) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT, "a dictionary has too many keys");
      return FALSE;
    }
    g_ptr_array_add(keys, g_strdup(qpdf_oh_dict_next_key(q)));
  }
  g_string_append(out, "<<");
  for (guint i = 0; i < keys->len; i++) {
    const char *k = keys->pdata[i];
    qpdf_oh kn, val;
    gboolean skipped = FALSE;

    for (guint j = 0; skip != NULL && skip[j] != NULL; j++)
      if (strcmp(k, skip[j]) == 0)
        skipped = TRUE;
    if (skipped)
      continue;
    val = qpdf_oh_get_key(q, dict, k);
    if (qpdf_oh_is_null(q, val))
      continue; /* a null value is the same as an absent key */
    /* Name unparsing applies the #xx escapes a raw key may need. */
    kn = qpdf_oh_new_name(q, k);
    g_string_append_c(out, ' ');
    g_string_append(out, qpdf_oh_unparse(q, kn));
    g_string_append_c(out, ' ');
    g_string_append(out, qpdf_oh_unparse(q, val));
    qpdf_oh_release(q, kn);
  }
  if (extra != NULL && *extra) {
    g_string_append_c(out, ' ');
    g_string_append(out, extra);
  }
  g_string_append(out, " >>");
  return q_check(doc, error);
}

/* "[ items of @arr... @extra ]" */
static gboolean
array_with(SigDoc *doc, qpdf_oh arr, const char *extra, GString *out, GError **error)
{
  qpdf_data q = doc->q;
  int n = qpdf_oh_is_array(q, arr) ? qpdf_oh_get_array_n_items(q, arr) : 0;

  if (n < 0 || (guint)n > TTE_LIMIT_PDF_MAX_ARRAY) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT,
                "an array has more than %u elements (TTE_LIMIT_PDF_MAX_ARRAY)",
                TTE_LIMIT_PDF_MAX_ARRAY);
    return FALSE;
  }
  g_string_append_c(out, '[');
  for (int i = 0; i < n; i++) {
    g_string_append_c(out, ' ');
    g_string_append(out, qpdf_oh_unparse(q, qpdf_oh_get_array_item(q, arr, i)));
  }
  g_string_append_printf(out, " %s ]", extra);
  return q_check(doc, error);
}

/* An object we rewrite must be one the file's own xref knows: qpdf may have created
 * objects while normalising (e.g. a direct page made indirect), and those numbers would
 * collide with ours. */
static gboolean
check_existing(SigDoc *doc, qpdf_oh oh, GError **error)
{
  int id = qpdf_oh_get_object_id(doc->q, oh);
  if (id <= 0 || (guint64)id >= doc->trailer_size) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_PDF_UNSUPPORTED,
                "an object the signature must update is not in the file's cross-reference "
                "data (qpdf had to create it)");
    return FALSE;
  }
  return TRUE;
}

static gboolean
rewrite(Writer *w, qpdf_oh oh, const char *body, GError **error)
{
  if (!check_existing(w->doc, oh, error))
    return FALSE;
  return w_object(w, (guint)qpdf_oh_get_object_id(w->doc->q, oh),
                  (guint)qpdf_oh_get_generation(w->doc->q, oh), body, error);
}

/* Inherited page attribute (/MediaBox, /CropBox, /Rotate): walk /Parent a bounded
 * number of steps. */
static qpdf_oh
page_attr(SigDoc *doc, qpdf_oh page, const char *key)
{
  qpdf_oh cur = page;
  for (guint i = 0; i < TTE_LIMIT_PDF_MAX_DEPTH && qpdf_oh_is_dictionary(doc->q, cur); i++) {
    if (qpdf_oh_has_key(doc->q, cur, key))
      return qpdf_oh_get_key(doc->q, cur, key);
    cur = q_key(doc, cur, "/Parent");
  }
  return qpdf_oh_new_null(doc->q);
}

static gboolean
read_box(SigDoc *doc, qpdf_oh arr, double box[4])
{
  if (!qpdf_oh_is_array(doc->q, arr) || qpdf_oh_get_array_n_items(doc->q, arr) != 4)
    return FALSE;
  for (int i = 0; i < 4; i++) {
    qpdf_oh v = qpdf_oh_get_array_item(doc->q, arr, i);
    if (!qpdf_oh_is_number(doc->q, v))
      return FALSE;
    box[i] = qpdf_oh_get_numeric_value(doc->q, v);
  }
  return TRUE;
}

static void
fill_geometry(SigDoc *doc, qpdf_oh page, SigAppearanceRequest *req)
{
  qpdf_oh rot;
  static const double letter[4] = {0, 0, 612, 792};

  if (!read_box(doc, page_attr(doc, page, "/MediaBox"), req->mediabox))
    memcpy(req->mediabox, letter, sizeof letter);
  if (!read_box(doc, page_attr(doc, page, "/CropBox"), req->cropbox))
    memcpy(req->cropbox, req->mediabox, sizeof req->cropbox);
  rot = page_attr(doc, page, "/Rotate");
  req->rotate = qpdf_oh_is_integer(doc->q, rot)
                    ? (int)(((qpdf_oh_get_int_value(doc->q, rot) % 360) + 360) % 360)
                    : 0;
}

static gboolean
geometry_cb(void *ctx, guint page_index, double mediabox[4], double cropbox[4], int *rotate)
{
  SigDoc *doc = ctx;
  SigAppearanceRequest r = {0};

  if (page_index >= doc->page_count)
    return FALSE;
  fill_geometry(doc, qpdf_get_page_n(doc->q, page_index), &r);
  if (qpdf_has_error(doc->q))
    return FALSE;
  memcpy(mediabox, r.mediabox, sizeof r.mediabox);
  memcpy(cropbox, r.cropbox, sizeof r.cropbox);
  *rotate = r.rotate;
  return TRUE;
}

static const SigField *
find_field(SigDoc *doc, const char *name)
{
  for (guint i = 0; i < doc->fields->len; i++) {
    const SigField *f = doc->fields->pdata[i];
    if (strcmp(f->name, name) == 0)
      return f;
  }
  return NULL;
}

static void
append_real(GString *s, double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  g_string_append(s, g_ascii_formatd(buf, sizeof buf, "%.2f", v));
}

static void
append_rect(GString *s, const double r[4])
{
  g_string_append_c(s, '[');
  for (int i = 0; i < 4; i++) {
    append_real(s, r[i]);
    g_string_append_c(s, i < 3 ? ' ' : ']');
  }
}

/* The empty appearance: a form XObject with nothing to draw, sized like the widget. */
static gboolean
empty_appearance(Writer *w, const double rect[4], guint *num, GError **error)
{
  g_autoptr(GString) d = g_string_new("/Type /XObject /Subtype /Form /BBox [0 0 ");
  append_real(d, ABS(rect[2] - rect[0]));
  g_string_append_c(d, ' ');
  append_real(d, ABS(rect[3] - rect[1]));
  g_string_append(d, "] /Resources << >>");
  *num = w->sink.alloc(&w->sink);
  return w->sink.emit(&w->sink, *num, d->str, (const guint8 *)"", 0, error);
}

static gint
xref_entry_cmp(gconstpointer a, gconstpointer b)
{
  guint x = ((const XrefEntry *)a)->num, y = ((const XrefEntry *)b)->num;
  return x < y ? -1 : x > y;
}

static gboolean
write_xref(Writer *w, GError **error)
{
  SigDoc *doc = w->doc;
  GArray *e = w->entries;
  guint64 xref_off;
  guint max_num = 0;
  g_autoptr(GString) trailer = g_string_new(NULL);
  gboolean stream = doc->xref_kind == SIG_XREF_STREAM;
  guint xref_num = 0;

  if (stream) {
    /* The xref stream is an object too and lists itself. */
    XrefEntry self = {0, 0, 0};
    xref_num = w->next_num++;
    self.num = xref_num;
    self.offset = w_pos(w);
    g_array_append_val(e, self);
  }
  for (guint i = 0; i < e->len; i++)
    max_num = MAX(max_num, g_array_index(e, XrefEntry, i).num);
  g_array_sort(e, xref_entry_cmp);

  g_string_append_printf(
      trailer, "/Size %" G_GUINT64_FORMAT " /Prev %" G_GUINT64_FORMAT " /Root %s",
      MAX(doc->trailer_size, (guint64)max_num + 1), doc->startxref, doc->root_ref);
  if (doc->info_ref != NULL)
    g_string_append_printf(trailer, " /Info %s", doc->info_ref);
  if (doc->id_text != NULL)
    g_string_append_printf(trailer, " /ID %s", doc->id_text);

  if (!w_room(w, e->len * 32 + trailer->len + 256, error))
    return FALSE;
  if (!stream) {
    xref_off = w_pos(w);
    g_string_append(w->buf, "xref\n");
    for (guint i = 0; i < e->len;) {
      guint j = i + 1;
      while (j < e->len &&
             g_array_index(e, XrefEntry, j).num == g_array_index(e, XrefEntry, j - 1).num + 1)
        j++;
      g_string_append_printf(w->buf, "%u %u\n", g_array_index(e, XrefEntry, i).num, j - i);
      for (guint k = i; k < j; k++) {
        XrefEntry *x = &g_array_index(e, XrefEntry, k);
        g_string_append_printf(w->buf, "%010" G_GUINT64_FORMAT " %05u n\r\n", x->offset, x->gen);
      }
      i = j;
    }
    g_string_append_printf(w->buf, "trailer\n<< %s >>\n", trailer->str);
  } else {
    g_autoptr(GString) index = g_string_new(NULL);
    g_autoptr(GByteArray) data = g_byte_array_new();
    guint ow = 1;
    XrefEntry *self = NULL;

    for (guint i = 0; i < e->len; i++)
      if (g_array_index(e, XrefEntry, i).num == xref_num)
        self = &g_array_index(e, XrefEntry, i);
    xref_off = self->offset;
    for (guint64 v = xref_off; v > 0xff; v >>= 8)
      ow++;
    for (guint i = 0; i < e->len;) {
      guint j = i + 1;
      while (j < e->len &&
             g_array_index(e, XrefEntry, j).num == g_array_index(e, XrefEntry, j - 1).num + 1)
        j++;
      g_string_append_printf(index, "%s%u %u", i ? " " : "", g_array_index(e, XrefEntry, i).num,
                             j - i);
      for (guint k = i; k < j; k++) {
        XrefEntry *x = &g_array_index(e, XrefEntry, k);
        guint8 rec[1 + 8 + 2];
        rec[0] = 1;
        for (guint b = 0; b < ow; b++)
          rec[1 + b] = (guint8)(x->offset >> (8 * (ow - 1 - b)));
        rec[1 + ow] = (guint8)(x->gen >> 8);
        rec[2 + ow] = (guint8)(x->gen & 0xff);
        g_byte_array_append(data, rec, 3 + ow);
      }
      i = j;
    }
    g_string_append_printf(w->buf,
                           "%u 0 obj\n<< /Type /XRef %s /W [1 %u 2] /Index [%s] /Length %u >>\n"
                           "stream\n",
                           xref_num, trailer->str, ow, index->str, data->len);
    g_string_append_len(w->buf, (const char *)data->data, data->len);
    g_string_append(w->buf, "\nendstream\nendobj\n");
  }
  g_string_append_printf(w->buf, "startxref\n%" G_GUINT64_FORMAT "\n%%%%EOF\n", xref_off);
  return TRUE;
}

void
sig_update_clear(SigUpdate *u)
{
  g_clear_pointer(&u->update, g_bytes_unref);
  g_clear_pointer(&u->field_name, g_free);
}

/* Width of the /ByteRange placeholder: "[0 a b c]" with three 20-digit numbers fits. */
#define SIG_BYTERANGE_WIDTH 70u

gboolean
sig_doc_build_update(SigDoc *doc, const SigUpdateParams *p, SigUpdate *out, GError **error)
{
  qpdf_data q = doc->q;
  qpdf_oh root = qpdf_get_root(q);
  qpdf_oh acro = q_key(doc, root, "/AcroForm");
  qpdf_oh perms = q_key(doc, root, "/Perms");
  const SigField *field = NULL;
  g_autoptr(GString) buf = g_string_new(NULL);
  g_autoptr(GArray) entries = g_array_new(FALSE, FALSE, sizeof(XrefEntry));
  g_autoptr(GHashTable) emitted = g_hash_table_new(NULL, NULL);
  g_autoptr(GString) root_extra = g_string_new(NULL);
  g_autoptr(GPtrArray) root_skip = g_ptr_array_new();
  g_autoptr(GString) t = g_string_new(NULL);
  g_autofree char *name = NULL;
  Writer w = {0};
  guint sig_num, widget_num = 0, ap_num = 0;
  gsize br_pos, gap_pos, gap_end_pos;
  double rect[4];
  guint page_index = p->page_index;
  guint8 last = '\n';

  memset(out, 0, sizeof *out);
  if (p->contents_len == 0 || p->contents_len > TTE_LIMIT_CMS_MAX_LEN) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT,
                "the signature needs more than %u bytes (TTE_LIMIT_CMS_MAX_LEN)",
                TTE_LIMIT_CMS_MAX_LEN);
    return FALSE;
  }
  if (doc->docmdp == 1) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_CERTIFIED_NO_CHANGES,
                "the document is certified with \"no changes allowed\" (DocMDP P=1): "
                "no further signature may be added");
    return FALSE;
  }
  if (p->certify != 0) {
    if (p->certify < 1 || p->certify > 3) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                  "certification level must be 1, 2 or 3");
      return FALSE;
    }
    if (doc->sig_count > 0 || doc->docmdp != 0) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                  "only the first signature of a document can certify it; this document "
                  "already has %u signature(s)",
                  doc->sig_count);
      return FALSE;
    }
  }
  if (doc->sig_count >= TTE_LIMIT_PDF_MAX_SIGNATURES) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT,
                "the document already has %u signatures (TTE_LIMIT_PDF_MAX_SIGNATURES)",
                doc->sig_count);
    return FALSE;
  }
  if (p->field_name != NULL) {
    field = find_field(doc, p->field_name);
    if (field == NULL) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_FIELD_NOT_FOUND,
                  g_hash_table_contains(doc->names, p->field_name)
                      ? "the field \"%s\" is not a signature field"
                      : "the document has no signature field named \"%s\"",
                  p->field_name);
      return FALSE;
    }
    if (field->signed_) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_FIELD_SIGNED,
                  "the signature field \"%s\" is already signed", p->field_name);
      return FALSE;
    }
    if (!qpdf_oh_is_indirect(q, field->oh)) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_PDF_UNSUPPORTED,
                  "the signature field \"%s\" is a direct object; it cannot be updated",
                  p->field_name);
      return FALSE;
    }
    name = g_strdup(field->name);
  } else {
    for (guint i = 1; i <= TTE_LIMIT_PDF_MAX_FIELDS + 1 && name == NULL; i++) {
      g_autofree char *cand = g_strdup_printf("Signature%u", i);
      if (!g_hash_table_contains(doc->names, cand))
        name = g_steal_pointer(&cand);
    }
    if (page_index >= doc->page_count) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                  "page %u does not exist (the document has %u pages)", page_index + 1,
                  doc->page_count);
      return FALSE;
    }
  }

  w.sink.alloc = sink_alloc;
  w.sink.emit = sink_emit;
  w.doc = doc;
  w.buf = buf;
  w.entries = entries;
  w.emitted = emitted;
  w.first_new = (guint)doc->trailer_size;
  w.next_num = w.first_new;

  /* The update starts on a fresh line whatever the last byte of the file is. */
  if (!sig_doc_read_at(doc, doc->size - 1, &last, 1, error))
    return FALSE;
  if (last != '\n' && last != '\r')
    g_string_append_c(buf, '\n');

  /* 1. The signature dictionary, with fixed-width placeholders. */
  sig_num = w.next_num++;
  if (!w_begin_obj(&w, sig_num, 0, error))
    return FALSE;
  g_string_append(buf, "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached"
                       " /ByteRange ");
  br_pos = buf->len;
  for (guint i = 0; i < SIG_BYTERANGE_WIDTH; i++)
    g_string_append_c(buf, ' ');
  g_string_append(buf, " /Contents ");
  gap_pos = buf->len;
  if (!w_room(&w, p->contents_len * 2 + 4096, error))
    return FALSE;
  g_string_append_c(buf, '<');
  for (gsize i = 0; i < p->contents_len * 2; i++)
    g_string_append_c(buf, '0');
  g_string_append_c(buf, '>');
  gap_end_pos = buf->len;
  if (p->dict_extra != NULL && *p->dict_extra) {
    g_string_append_c(buf, ' ');
    g_string_append(buf, p->dict_extra);
  }
  if (p->certify != 0)
    g_string_append_printf(buf,
                           " /Reference [<< /Type /SigRef /TransformMethod /DocMDP"
                           " /TransformParams << /Type /TransformParams /P %d /V /1.2 >>"
                           " >>]",
                           p->certify);
  g_string_append(buf, " >>\nendobj\n");

  /* 2. Placement and appearance. */
  memcpy(rect, p->rect, sizeof rect);
  if (field != NULL) {
    qpdf_oh r = q_key(doc, field->oh, "/Rect");
    qpdf_oh kids = q_key(doc, field->oh, "/Kids");
    if (!read_box(doc, r, rect) && qpdf_oh_is_array(q, kids) &&
        qpdf_oh_get_array_n_items(q, kids) > 0)
      (void)read_box(doc, q_key(doc, qpdf_oh_get_array_item(q, kids, 0), "/Rect"), rect);
  }
  /* An existing field with a zero-size /Rect is invisible: it needs no stamp. */
  if (p->appearance != NULL &&
      (field == NULL || (ABS(rect[2] - rect[0]) > 0.01 && ABS(rect[3] - rect[1]) > 0.01))) {
    SigAppearanceRequest req = *p->appearance_request;
    SigAppearanceResult res = {0};
    qpdf_oh page;

    if (field != NULL) {
      qpdf_oh pg = q_key(doc, field->oh, "/P");
      req.existing_field = TRUE;
      memcpy(req.field_rect, rect, sizeof rect);
      page_index = 0;
      for (guint i = 0; i < doc->page_count; i++) {
        qpdf_oh cand = qpdf_get_page_n(q, i);
        if (qpdf_oh_get_object_id(q, cand) == qpdf_oh_get_object_id(q, pg))
          page_index = i;
      }
    }
    page = qpdf_get_page_n(q, page_index);
    req.page_index = page_index;
    req.page_geometry = geometry_cb;
    req.page_geometry_ctx = doc;
    req.page_count = doc->page_count;
    fill_geometry(doc, page, &req);
    if (!q_check(doc, error))
      return FALSE;
    {
      gsize saved_len = buf->len;
      guint saved_entries = entries->len, saved_next = w.next_num;
      g_autoptr(GError) local = NULL;

      if (!p->appearance(&w.sink, &req, &res, p->appearance_data, &local)) {
        /* Undo whatever the builder emitted before failing. */
        g_string_truncate(buf, saved_len);
        g_array_set_size(entries, saved_entries);
        for (guint n = saved_next; n < w.next_num; n++)
          g_hash_table_remove(emitted, GUINT_TO_POINTER(n));
        w.next_num = saved_next;
        /* A template's field too small for our stamp still gets signed: its own
         * appearance (or an empty one) stays.  Anything else is an error. */
        if (field == NULL || !g_error_matches(local, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT)) {
          g_propagate_error(error, g_steal_pointer(&local));
          return FALSE;
        }
        res.page_index = page_index;
        memcpy(res.rect, rect, sizeof rect);
        res.xobject_num = 0;
        if (!qpdf_oh_has_key(q, field->oh, "/AP") &&
            !empty_appearance(&w, rect, &res.xobject_num, error))
          return FALSE;
      }
    }
    if (res.page_index >= doc->page_count) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_FAILED,
                  "the appearance chose a page that does not exist");
      return FALSE;
    }
    if (field == NULL)
      page_index = res.page_index;
    memcpy(rect, res.rect, sizeof rect);
    ap_num = res.xobject_num;
  } else if (field == NULL || !qpdf_oh_has_key(q, field->oh, "/AP")) {
    if (!empty_appearance(&w, rect, &ap_num, error))
      return FALSE;
  }

  /* 3. The field: fill the existing one, or a new merged field + widget. */
  if (field != NULL) {
    /* An existing field changes as little as possible: /V, and /AP when we drew one.
     * Its flags (/F) stay the template author's: under DocMDP P=2 a validator may count
     * any other change to an existing widget against the certification. */
    static const char *const skip_ap[] = {"/V", "/AP", NULL};
    static const char *const skip_v[] = {"/V", NULL};
    g_string_truncate(t, 0);
    g_string_printf(t, "/V %u 0 R", sig_num);
    if (ap_num != 0)
      g_string_append_printf(t, " /AP << /N %u 0 R >>", ap_num);
    {
      g_autoptr(GString) body = g_string_new(NULL);
      if (!dict_with(doc, field->oh, ap_num != 0 ? skip_ap : skip_v, t->str, body, error) ||
          !rewrite(&w, field->oh, body->str, error))
        return FALSE;
    }
  } else {
    qpdf_oh page = qpdf_get_page_n(q, page_index);
    qpdf_oh annots = q_key(doc, page, "/Annots");
    g_autofree char *tname = sig_pdf_text_string(name);
    g_autofree char *page_ref = q_unparse(doc, page);
    g_autoptr(GString) body = g_string_new(NULL);
    g_autoptr(GString) ref = g_string_new(NULL);

    if (!q_check(doc, error))
      return FALSE;
    widget_num = w.next_num++;
    g_string_append_printf(body,
                           "<< /Type /Annot /Subtype /Widget /FT /Sig /T %s /V %u 0 R"
                           " /F 132 /P %s /Rect ",
                           tname, sig_num, page_ref);
    append_rect(body, rect);
    g_string_append_printf(body, " /AP << /N %u 0 R >> >>", ap_num);
    if (!w_object(&w, widget_num, 0, body->str, error))
      return FALSE;

    g_string_printf(ref, "%u 0 R", widget_num);
    g_string_truncate(body, 0);
    if (qpdf_oh_is_indirect(q, annots)) {
      /* An indirect /Annots array is updated in place; the page stays as it is. */
      if (!qpdf_oh_is_array(q, annots)) {
        g_set_error(error, TTE_ERROR, TTE_ERROR_PDF_DAMAGED, "a page's /Annots is not an array");
        return FALSE;
      }
      if (!array_with(doc, annots, ref->str, body, error) || !rewrite(&w, annots, body->str, error))
        return FALSE;
    } else {
      static const char *const skip[] = {"/Annots", NULL};
      g_autoptr(GString) arr = g_string_new("/Annots ");
      if (!array_with(doc, annots, ref->str, arr, error) ||
          !dict_with(doc, page, skip, arr->str, body, error) ||
          !rewrite(&w, page, body->str, error))
        return FALSE;
    }
  }

  /* 4. The AcroForm: list a new field, and /SigFlags 3 (SignaturesExist|AppendOnly). */
  {
    qpdf_oh fields = q_key(doc, acro, "/Fields");
    qpdf_oh sf = q_key(doc, acro, "/SigFlags");
    gboolean flags_ok = qpdf_oh_is_integer(q, sf) && (qpdf_oh_get_int_value(q, sf) & 3) == 3;
    g_autoptr(GString) extra = g_string_new(NULL);
    g_autoptr(GString) body = g_string_new(NULL);
    g_autoptr(GPtrArray) skip = g_ptr_array_new();
    gboolean acro_changes = !flags_ok;

    g_ptr_array_add(skip, (gpointer) "/SigFlags");
    g_string_append(extra, "/SigFlags 3");
    if (widget_num != 0) {
      g_autofree char *ref = g_strdup_printf("%u 0 R", widget_num);
      if (qpdf_oh_is_indirect(q, fields) && qpdf_oh_is_array(q, fields)) {
        g_autoptr(GString) arr = g_string_new(NULL);
        if (!array_with(doc, fields, ref, arr, error) || !rewrite(&w, fields, arr->str, error))
          return FALSE;
      } else {
        g_string_append(extra, " /Fields ");
        g_ptr_array_add(skip, (gpointer) "/Fields");
        if (!array_with(doc, fields, ref, extra, error))
          return FALSE;
        acro_changes = TRUE;
      }
    }
    g_ptr_array_add(skip, NULL);
    if (!qpdf_oh_is_dictionary(q, acro)) {
      guint acro_num = w.next_num++;
      g_string_printf(body, "<< %s >>", extra->str);
      if (!w_object(&w, acro_num, 0, body->str, error))
        return FALSE;
      g_string_append_printf(root_extra, " /AcroForm %u 0 R", acro_num);
      g_ptr_array_add(root_skip, (gpointer) "/AcroForm");
    } else if (acro_changes) {
      if (!dict_with(doc, acro, (const char *const *)skip->pdata, extra->str, body, error))
        return FALSE;
      if (qpdf_oh_is_indirect(q, acro)) {
        if (!rewrite(&w, acro, body->str, error))
          return FALSE;
      } else {
        g_string_append_printf(root_extra, " /AcroForm %s", body->str);
        g_ptr_array_add(root_skip, (gpointer) "/AcroForm");
      }
    }
  }

  /* 5. Certification: /Perms /DocMDP in the catalog points at our signature. */
  if (p->certify != 0) {
    static const char *const skip[] = {"/DocMDP", NULL};
    g_autofree char *extra = g_strdup_printf("/DocMDP %u 0 R", sig_num);
    g_autoptr(GString) body = g_string_new(NULL);
    if (qpdf_oh_is_dictionary(q, perms)) {
      if (!dict_with(doc, perms, skip, extra, body, error))
        return FALSE;
      if (qpdf_oh_is_indirect(q, perms)) {
        if (!rewrite(&w, perms, body->str, error))
          return FALSE;
      } else {
        g_string_append_printf(root_extra, " /Perms %s", body->str);
        g_ptr_array_add(root_skip, (gpointer) "/Perms");
      }
    } else {
      g_string_append_printf(root_extra, " /Perms << %s >>", extra);
      g_ptr_array_add(root_skip, (gpointer) "/Perms");
    }
  }

  /* 6. The catalog, when one of its direct entries changed. */
  if (root_extra->len > 0) {
    g_autoptr(GString) body = g_string_new(NULL);
    g_ptr_array_add(root_skip, NULL);
    if (!dict_with(doc, root, (const char *const *)root_skip->pdata, root_extra->str + 1, body,
                   error) ||
        !rewrite(&w, root, body->str, error))
      return FALSE;
  }

  if (!q_check(doc, error) || !write_xref(&w, error))
    return FALSE;

  /* 7. Now every offset is known: fill the /ByteRange in place. */
  {
    guint64 total = doc->size + buf->len;
    guint64 a = doc->size + gap_pos, b = doc->size + gap_end_pos;
    g_autofree char *br = g_strdup_printf(
        "[0 %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT "]", a, b, total - b);
    gsize n = strlen(br);
    g_assert(n <= SIG_BYTERANGE_WIDTH);
    memcpy(buf->str + br_pos, br, n);
    out->gap_start = a;
    out->gap_end = b;
    out->byte_range[0] = 0;
    out->byte_range[1] = a;
    out->byte_range[2] = b;
    out->byte_range[3] = total - b;
  }
  out->field_name = g_steal_pointer(&name);
  out->sig_obj_num = sig_num;
  out->update = g_bytes_new(buf->str, buf->len);
  return TRUE;
}
