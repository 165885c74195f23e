/* vfy-pdf.c — signature discovery with qpdf, the DSS, revision ends, ByteRange coverage.
 *
 * qpdf reads the object structure (no recovery: a file it must repair is not a file
 * whose signatures we can vouch for).  Everything about raw byte positions — where the
 * /Contents gap is, where revisions end — is read with TteCursor over the same bytes,
 * because qpdf does not expose object offsets.
 */
#include "vfy-pdf.h"

#include "tte-cursor.h"
#include "tte-error.h"
#include "tte-mapguard.h"
#include "vfy-limits.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <qpdf/qpdf-c.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

void
vfy_pdf_sig_free(VfyPdfSig *s)
{
  if (s == NULL)
    return;
  g_free(s->field);
  g_free(s->type);
  g_free(s->subfilter);
  g_free(s->m);
  g_clear_pointer(&s->contents, g_bytes_unref);
  g_free(s);
}

void
vfy_pdf_info_free(VfyPdfInfo *info)
{
  if (info == NULL)
    return;
  g_clear_pointer(&info->sigs, g_ptr_array_unref);
  g_clear_pointer(&info->dss_certs, g_ptr_array_unref);
  g_clear_pointer(&info->dss_ocsps, g_ptr_array_unref);
  g_clear_pointer(&info->dss_crls, g_ptr_array_unref);
  g_clear_pointer(&info->revisions, g_array_unref);
  g_clear_pointer(&info->overlap_pages, g_array_unref);
  g_free(info->first_warning);
  g_free(info);
}

/* --- the input file ------------------------------------------------------------------ */

struct VfyInput {
  VfyMapping map;
  GThread *thread;   /* the mapping is registered for this thread */
  gpointer previous; /* what was registered before (nested opens) */
  int guard;         /* tte_map_guard_add() slot, -1: not guarded */
  struct stat st;    /* the file when it was opened */
};

VfyInput *
vfy_input_open(const char *path, GError **error)
{
  g_autoptr(VfyInput) in = NULL;
  struct stat st;
  void *p;
  int fd, saved;
  long page;

  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    saved = errno;
    g_set_error(error, TTE_ERROR, TTE_ERROR_IO, "cannot read %s: %s", path, g_strerror(saved));
    return NULL;
  }
  if (fstat(fd, &st) != 0) {
    saved = errno;
    close(fd);
    g_set_error(error, TTE_ERROR, TTE_ERROR_IO, "cannot read %s: %s", path, g_strerror(saved));
    return NULL;
  }
  if (st.st_size < 0 || (guint64)st.st_size > TTE_LIMIT_PDF_MAX_SIZE || (guint64)st.st_size > G_MAXSIZE) {
    close(fd);
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT, "%s is larger than TTE_LIMIT_PDF_MAX_SIZE", path);
    return NULL;
  }
  if (st.st_size == 0) {
    close(fd);
    g_set_error(error, TTE_ERROR, TTE_ERROR_NOT_PDF, "%s is empty", path);
    return NULL;
  }
  /* Private and read-only: released pages come back from the page cache unchanged. */
  p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  saved = errno;
  if (p == MAP_FAILED) {
    close(fd);
    g_set_error(error, TTE_ERROR, TTE_ERROR_IO, "cannot read %s: %s", path, g_strerror(saved));
    return NULL;
  }
  page = sysconf(_SC_PAGESIZE);
  in = g_new0(VfyInput, 1);
  in->map.base = p;
  in->map.len = (gsize)st.st_size;
  in->map.page = page > 0 ? (gsize)page : 4096;
  in->map.fd = fd;
  in->st = st;
  /* qpdf reads the mapping in place: a file shrinking under us reads as zeros, and
   * vfy_input_check_unchanged() turns that into an error (tte-mapguard.h). */
  in->guard = tte_map_guard_add(p, in->map.len);
  in->thread = g_thread_self();
  in->previous = g_dataset_get_data(in->thread, VFY_MAPPING_KEY);
  g_dataset_set_data(in->thread, VFY_MAPPING_KEY, &in->map);
  return g_steal_pointer(&in);
}

const guint8 *
vfy_input_data(const VfyInput *in)
{
  return in->map.base;
}

gsize
vfy_input_len(const VfyInput *in)
{
  return in->map.len;
}

void
vfy_input_close(VfyInput *in)
{
  if (in == NULL)
    return;
  if (in->thread != NULL) {
    if (in->previous != NULL)
      g_dataset_set_data(in->thread, VFY_MAPPING_KEY, in->previous);
    else
      g_dataset_remove_data(in->thread, VFY_MAPPING_KEY);
  }
  if (in->map.base != NULL) {
    tte_map_guard_remove(in->guard);
    munmap((void *)in->map.base, in->map.len);
    close(in->map.fd);
  }
  g_free(in);
}

gboolean
vfy_input_check_unchanged(const VfyInput *in, const char *path, GError **error)
{
  struct stat now;

  if (tte_map_guard_hit(in->guard)) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_IO,
                "%s became shorter while it was being verified; no verdict is given "
                "(verify it again once nothing is writing to it)",
                path);
    return FALSE;
  }
  if (fstat(in->map.fd, &now) != 0 || now.st_size != in->st.st_size ||
      now.st_mtim.tv_sec != in->st.st_mtim.tv_sec ||
      now.st_mtim.tv_nsec != in->st.st_mtim.tv_nsec) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_IO,
                "%s changed while it was being verified; no verdict is given "
                "(verify it again once nothing is writing to it)",
                path);
    return FALSE;
  }
  return TRUE;
}

/* --- revision ends ------------------------------------------------------------------ */

static void
skip_ws_only(TteCursor *c)
{
  guint8 b;
  /* Not tte_cursor_skip_pdf_ws: "%%EOF" itself looks like a comment. */
  while (tte_cursor_peek(c, &b) && tte_pdf_is_ws(b))
    c->pos++;
}

/* TRUE when "startxref <digits>" ends right before @eof_pos (white space allowed). */
static gboolean
preceded_by_startxref(const guint8 *data, gsize eof_pos)
{
  /* "startxref" + EOL + up to 19 digits + EOL fits easily in this window. */
  enum { WINDOW = 64 };
  gsize from = eof_pos > WINDOW ? eof_pos - WINDOW : 0;
  const guint8 *hit = NULL;
  TteCursor c;
  guint64 off;

  /* The last "startxref" before %%EOF is the one that belongs to it. */
  for (gsize p = eof_pos >= 9 ? eof_pos - 9 + 1 : 0; p-- > from;) {
    if (memcmp(data + p, "startxref", 9) == 0) {
      hit = data + p;
      break;
    }
  }
  if (hit == NULL)
    return FALSE;
  tte_cursor_init(&c, data, eof_pos);
  if (!tte_cursor_seek(&c, (gsize)(hit - data) + 9))
    return FALSE;
  skip_ws_only(&c);
  if (!tte_cursor_get_uint(&c, &off))
    return FALSE;
  skip_ws_only(&c);
  return tte_cursor_at_end(&c);
}

/* A "%%EOF" at @p: record it when it ends a revision. */
static gboolean
add_revision_end(GArray *revs, const guint8 *data, gsize len, gsize p, GError **error)
{
  VfyRevisionEnd r;

  if (!preceded_by_startxref(data, p))
    return TRUE;
  r.eof_end = p + 5;
  r.eol_end = r.eof_end;
  if (r.eol_end < len && data[r.eol_end] == '\r')
    r.eol_end++;
  if (r.eol_end < len && data[r.eol_end] == '\n')
    r.eol_end++;
  if (revs->len >= TTE_LIMIT_PDF_MAX_REVISIONS) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT,
                "the file has more than %u revisions (TTE_LIMIT_PDF_MAX_REVISIONS)",
                TTE_LIMIT_PDF_MAX_REVISIONS);
    return FALSE;
  }
  g_array_append_val(revs, r);
  return TRUE;
}

GArray *
vfy_pdf_revisions(const guint8 *data, gsize len, GError **error)
{
  g_autoptr(GArray) revs = g_array_new(FALSE, FALSE, sizeof(VfyRevisionEnd));
  VfyWindows w;
  const guint8 *win;
  gsize wl, ws, at = 0;
  gboolean ok = TRUE;

  /* The whole file is swept through windows, not through the mapping; only the few
   * bytes around each "%%EOF" are then read in place, and given back per window. */
  vfy_windows_init(&w, data, len, 4);
  while (ok && vfy_windows_next(&w, &win, &wl, &ws)) {
    gsize q = 0;
    gboolean touched = FALSE;
    for (;;) {
      const guint8 *h = memmem(win + q, wl - q, "%%EOF", 5);
      if (h == NULL || (gsize)(h - win) >= ws)
        break;
      q = (gsize)(h - win);
      touched = TRUE;
      ok = add_revision_end(revs, data, len, at + q, error);
      if (!ok)
        break;
      q += 5; /* "%%EOF" cannot overlap itself */
    }
    if (touched) {
      gsize from = at > 64 ? at - 64 : 0;
      vfy_release(data + from, MIN(len, at + ws + 7) - from);
    }
    at += ws;
  }
  if (w.failed) {
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_IO,
                        "the file changed or could not be read while it was verified");
    ok = FALSE;
  }
  vfy_windows_clear(&w);
  return ok ? g_steal_pointer(&revs) : NULL;
}

/* --- coverage ----------------------------------------------------------------------- */

gboolean
vfy_pdf_check_coverage(const guint8 *data, gsize len, const VfyPdfSig *sig,
                       const GArray *revisions, gboolean encrypted, VfyCoverage *coverage,
                       gsize *signed_len, GBytes **cms, GError **error)
{
  const gint64 *br = sig->byte_range;
  guint64 a, b, c, end;
  TteCursor cur;
  g_autoptr(GBytes) hex = NULL;
  gsize k;

  if (!sig->byte_range_ok) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_FORMAT,
                "/ByteRange is missing or is not an array of exactly four integers (%u found)",
                sig->byte_range_count);
    return FALSE;
  }
  if (br[0] != 0 || br[1] < 0 || br[2] < 0 || br[3] < 0) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_FORMAT,
                "/ByteRange must start at 0 and hold no negative numbers");
    return FALSE;
  }
  a = (guint64)br[1];
  b = (guint64)br[2];
  c = (guint64)br[3];
  /* Each comparison is against len first, so the sums below cannot overflow. */
  if (a > len || b > len || c > len || b + c > len) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_FORMAT, "/ByteRange reaches beyond the end of the file");
    return FALSE;
  }
  if (b < a + 2) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_FORMAT,
                "/ByteRange ranges overlap or leave no room for /Contents");
    return FALSE;
  }
  if (sig->contents == NULL && !encrypted) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_FORMAT, "/Contents is missing or not a string");
    return FALSE;
  }

  /* The gap must be exactly one hex string: '<' at its first byte, '>' at its last. */
  tte_cursor_init(&cur, data, (gsize)b);
  if (!tte_cursor_seek(&cur, (gsize)a) ||
      !tte_cursor_get_hex_string(&cur, TTE_LIMIT_CMS_MAX_LEN, &hex) || cur.pos != (gsize)b) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_FORMAT,
                "the unsigned gap of /ByteRange is not exactly one hex string");
    return FALSE;
  }
  /* ... and it must be this dictionary's /Contents: same value as qpdf read, and the
   * key right before it. */
  /* qpdf decrypts /Contents of an encrypted file although ISO 32000-1 7.6.1 leaves it
   * in clear: there the raw hex alone is the signature. */
  if (!encrypted && !g_bytes_equal(hex, sig->contents)) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_FORMAT,
                "the unsigned gap of /ByteRange is not this signature's /Contents");
    return FALSE;
  }
  k = (gsize)a;
  while (k > 0 && tte_pdf_is_ws(data[k - 1]))
    k--;
  if (k < 9 || memcmp(data + k - 9, "/Contents", 9) != 0) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_FORMAT,
                "the unsigned gap of /ByteRange is not preceded by the /Contents key");
    return FALSE;
  }
  /* The gap may be megabytes of hex; it has been read. */
  vfy_release(data + a, (gsize)(b - a));

  end = b + c;
  *signed_len = (gsize)end;
  *cms = g_bytes_ref(hex);
  if (end == len) {
    *coverage = VFY_COVERAGE_ENTIRE_FILE;
    return TRUE;
  }
  for (guint i = 0; revisions != NULL && i < revisions->len; i++) {
    const VfyRevisionEnd *r = &g_array_index(revisions, VfyRevisionEnd, i);
    if (end != r->eof_end && end != r->eol_end)
      continue;
    /* A signer that stops right after %%EOF of the last revision leaves only its
     * end-of-line uncovered: that is still the whole file. */
    *coverage = r->eol_end == len ? VFY_COVERAGE_ENTIRE_FILE : VFY_COVERAGE_ENTIRE_REVISION;
    return TRUE;
  }
  g_set_error(error, TTE_ERROR, TTE_ERROR_FORMAT,
              "the signed bytes end at offset %" G_GUINT64_FORMAT
              ", which is not the end of a revision",
              end);
  return FALSE;
}

/* --- dates --------------------------------------------------------------------------- */

static gboolean
take_digits(const char **p, guint n, int *out)
{
  int v = 0;
  for (guint i = 0; i < n; i++) {
    if (!g_ascii_isdigit((*p)[i]))
      return FALSE;
    v = v * 10 + ((*p)[i] - '0');
  }
  *p += n;
  *out = v;
  return TRUE;
}

gboolean
vfy_pdf_parse_date(const char *s, gint64 *out)
{
  int y, mo = 1, d = 1, h = 0, mi = 0, sec = 0, oh = 0, om = 0, sign = 0;
  const char *p = s;
  g_autoptr(GDateTime) dt = NULL;

  if (s == NULL)
    return FALSE;
  if (g_str_has_prefix(p, "D:"))
    p += 2;
  if (!take_digits(&p, 4, &y))
    return FALSE;
  /* Each later part is optional, in order. */
  if (take_digits(&p, 2, &mo) && take_digits(&p, 2, &d) && take_digits(&p, 2, &h) &&
      take_digits(&p, 2, &mi) && take_digits(&p, 2, &sec)) {
  }
  if (*p == 'Z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    sign = *p == '-' ? -1 : 1;
    p++;
    if (!take_digits(&p, 2, &oh))
      return FALSE;
    if (*p == '\'')
      p++;
    if (take_digits(&p, 2, &om) && *p == '\'')
      p++;
  }
  if (*p == '\'')
    p++;
  if (*p != '\0')
    return FALSE;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || oh > 23 || om > 59)
    return FALSE;
  dt = g_date_time_new_utc(y, mo, d, h, mi, MIN(sec, 59));
  if (dt == NULL)
    return FALSE;
  *out = g_date_time_to_unix(dt) - (gint64)sign * (oh * 3600 + om * 60);
  return TRUE;
}

/* --- qpdf walk ----------------------------------------------------------------------- */

typedef struct {
  qpdf_data q;
  VfyPdfInfo *info;
  GHashTable *seen_fields; /* object ids already walked (loops in /Kids) */
  GHashTable *seen_sigs;   /* signature dictionary ids already recorded */
  guint nfields;
  GError *error;
} Walk;

static gboolean
qpdf_failed(qpdf_data q, GError **error, const char *what)
{
  if (!qpdf_has_error(q))
    return FALSE;
  g_set_error(error, TTE_ERROR, TTE_ERROR_FORMAT, "%s: %s", what,
              qpdf_get_error_full_text(q, qpdf_get_error(q)));
  return TRUE;
}

/* Text from the file ends up on terminals and in JSON: control characters become '?'
 * so a field name cannot carry escape sequences. */
static char *
defang(char *s)
{
  for (char *p = s; p != NULL && *p != '\0'; p++)
    if ((guchar)*p < 0x20 || *p == 0x7f)
      *p = '?';
  return s;
}

static char *
dup_name(qpdf_data q, qpdf_oh oh)
{
  const char *n;
  if (!qpdf_oh_is_name(q, oh))
    return NULL;
  n = qpdf_oh_get_name(q, oh);
  /* Drop the leading '/' so reports say "ETSI.CAdES.detached". */
  n = n[0] == '/' ? n + 1 : n;
  if (!g_utf8_validate(n, -1, NULL))
    return defang(g_utf8_make_valid(n, -1));
  return defang(g_strdup(n));
}

static char *
dup_string(qpdf_data q, qpdf_oh oh)
{
  const char *s;
  size_t n = 0;
  if (!qpdf_oh_is_string(q, oh))
    return NULL;
  s = qpdf_oh_get_binary_utf8_value(q, oh, &n);
  if (s == NULL || !g_utf8_validate(s, (gssize)n, NULL) || memchr(s, 0, n) != NULL)
    return NULL;
  return defang(g_strndup(s, n));
}

static int
read_docmdp(qpdf_data q, qpdf_oh sigdict)
{
  qpdf_oh refs = qpdf_oh_get_key(q, sigdict, "/Reference");
  int n;

  if (!qpdf_oh_is_array(q, refs))
    return 0;
  n = qpdf_oh_get_array_n_items(q, refs);
  for (int i = 0; i < n && i < 16; i++) {
    qpdf_oh r = qpdf_oh_get_array_item(q, refs, i);
    qpdf_oh tp, p;
    long long v = 2;
    if (!qpdf_oh_is_dictionary(q, r) ||
        !qpdf_oh_is_name_and_equals(q, qpdf_oh_get_key(q, r, "/TransformMethod"), "/DocMDP"))
      continue;
    tp = qpdf_oh_get_key(q, r, "/TransformParams");
    /* P defaults to 2 (ISO 32000-1, 12.8.2.2). */
    if (qpdf_oh_is_dictionary(q, tp)) {
      p = qpdf_oh_get_key(q, tp, "/P");
      if (qpdf_oh_is_integer(q, p) && !qpdf_oh_get_value_as_longlong(q, p, &v))
        v = 2;
    }
    return v >= 1 && v <= 3 ? (int)v : 2;
  }
  return 0;
}

static void
record_sig(Walk *w, qpdf_oh v, const char *field)
{
  qpdf_data q = w->q;
  VfyPdfSig *s;
  int id = qpdf_oh_get_object_id(q, v);
  qpdf_oh br, contents;

  if (id != 0) {
    if (g_hash_table_contains(w->seen_sigs, GINT_TO_POINTER(id)))
      return;
    g_hash_table_add(w->seen_sigs, GINT_TO_POINTER(id));
  }
  if (w->info->sigs->len >= TTE_LIMIT_PDF_MAX_SIGNATURES) {
    if (w->error == NULL)
      g_set_error(&w->error, TTE_ERROR, TTE_ERROR_LIMIT,
                  "the file holds more than %u signatures (TTE_LIMIT_PDF_MAX_SIGNATURES)",
                  TTE_LIMIT_PDF_MAX_SIGNATURES);
    return;
  }
  s = g_new0(VfyPdfSig, 1);
  s->field = g_strdup(field);
  s->obj_num = id;
  s->obj_gen = id != 0 ? qpdf_oh_get_generation(q, v) : 0;
  s->type = dup_name(q, qpdf_oh_get_key(q, v, "/Type"));
  s->subfilter = dup_name(q, qpdf_oh_get_key(q, v, "/SubFilter"));
  s->m = dup_string(q, qpdf_oh_get_key(q, v, "/M"));
  s->docmdp = read_docmdp(q, v);

  br = qpdf_oh_get_key(q, v, "/ByteRange");
  if (qpdf_oh_is_array(q, br)) {
    int n = qpdf_oh_get_array_n_items(q, br);
    s->byte_range_count = (guint)MAX(n, 0);
    s->byte_range_ok = n == 4;
    for (int i = 0; i < 4 && i < n; i++) {
      qpdf_oh e = qpdf_oh_get_array_item(q, br, i);
      long long x = 0;
      if (!qpdf_oh_is_integer(q, e) || !qpdf_oh_get_value_as_longlong(q, e, &x))
        s->byte_range_ok = FALSE;
      s->byte_range[i] = x;
    }
  }
  contents = qpdf_oh_get_key(q, v, "/Contents");
  if (qpdf_oh_is_string(q, contents)) {
    size_t n = 0;
    const char *p = qpdf_oh_get_binary_string_value(q, contents, &n);
    if (n > TTE_LIMIT_CMS_MAX_LEN)
      s->contents_too_big = TRUE;
    else if (p != NULL)
      s->contents = g_bytes_new(p, n);
  }
  g_ptr_array_add(w->info->sigs, s);
}

static void
walk_field(Walk *w, qpdf_oh f, const char *parent_name, gboolean parent_is_sig, guint depth)
{
  qpdf_data q = w->q;
  int id = qpdf_oh_get_object_id(q, f);
  g_autofree char *name = NULL;
  g_autofree char *t = NULL;
  qpdf_oh ft, v, kids;
  gboolean is_sig = parent_is_sig;

  if (w->error != NULL)
    return;
  if (qpdf_oh_is_null(q, f) && id != 0) {
    /* The form names an object the cross-reference data does not hold: its
     * signatures (if it was one) cannot be examined, and cannot be assumed absent. */
    w->info->dangling_fields++;
    return;
  }
  if (!qpdf_oh_is_dictionary(q, f))
    return;
  if (depth > TTE_LIMIT_PDF_MAX_DEPTH) {
    g_set_error(&w->error, TTE_ERROR, TTE_ERROR_LIMIT,
                "form fields nest deeper than %u (TTE_LIMIT_PDF_MAX_DEPTH)", TTE_LIMIT_PDF_MAX_DEPTH);
    return;
  }
  if (id != 0) {
    if (g_hash_table_contains(w->seen_fields, GINT_TO_POINTER(id)))
      return; /* a loop or a shared kid: walked once */
    g_hash_table_add(w->seen_fields, GINT_TO_POINTER(id));
  }
  if (++w->nfields > TTE_LIMIT_PDF_MAX_FIELDS) {
    w->info->fields_capped = TRUE;
    g_set_error(&w->error, TTE_ERROR, TTE_ERROR_LIMIT,
                "the form has more than %u fields (TTE_LIMIT_PDF_MAX_FIELDS)", TTE_LIMIT_PDF_MAX_FIELDS);
    return;
  }

  t = dup_string(q, qpdf_oh_get_key(q, f, "/T"));
  if (t != NULL)
    name = parent_name != NULL ? g_strconcat(parent_name, ".", t, NULL) : g_strdup(t);
  else
    name = g_strdup(parent_name);

  /* /FT is inheritable (ISO 32000-1, 12.7.3.1). */
  ft = qpdf_oh_get_key(q, f, "/FT");
  if (qpdf_oh_is_name(q, ft))
    is_sig = qpdf_oh_is_name_and_equals(q, ft, "/Sig");
  v = qpdf_oh_get_key(q, f, "/V");
  if (is_sig && qpdf_oh_is_dictionary(q, v))
    record_sig(w, v, name != NULL ? name : "(unnamed)");

  kids = qpdf_oh_get_key(q, f, "/Kids");
  if (qpdf_oh_is_array(q, kids)) {
    int n = qpdf_oh_get_array_n_items(q, kids);
    for (int i = 0; i < n && w->error == NULL; i++)
      walk_field(w, qpdf_oh_get_array_item(q, kids, i), name, is_sig, depth + 1);
  }
}

/* Inflate @in into at most @cap bytes; NULL when it is not valid zlib data or too big.
 * Our own inflate, not qpdf's, because qpdf would decode a bomb without a cap. */
static GBytes *
inflate_capped(const guint8 *in, gsize in_len, gsize cap)
{
  z_stream zs = { 0 };
  g_autoptr(GByteArray) out = g_byte_array_new();
  guint8 buf[16384];
  int rc;

  if (inflateInit(&zs) != Z_OK)
    return NULL;
  zs.next_in = (Bytef *)in;
  zs.avail_in = (uInt)MIN(in_len, G_MAXUINT32);
  do {
    zs.next_out = buf;
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&zs);
      return NULL;
    }
    g_byte_array_append(out, buf, (guint)(sizeof buf - zs.avail_out));
    if (out->len > cap) {
      inflateEnd(&zs);
      return NULL;
    }
  } while (rc != Z_STREAM_END && (zs.avail_in > 0 || zs.avail_out == 0));
  inflateEnd(&zs);
  if (rc != Z_STREAM_END)
    return NULL;
  return g_byte_array_free_to_bytes(g_steal_pointer(&out));
}

static GBytes *
stream_bytes(qpdf_data q, qpdf_oh st)
{
  unsigned char *raw = NULL;
  size_t n = 0;
  qpdf_oh dict, filter;
  GBytes *out = NULL;

  if (!qpdf_oh_is_stream(q, st))
    return NULL;
  dict = qpdf_oh_get_dict(q, st);
  filter = qpdf_oh_get_key(q, dict, "/Filter");
  if (qpdf_oh_is_array(q, filter) && qpdf_oh_get_array_n_items(q, filter) == 1)
    filter = qpdf_oh_get_array_item(q, filter, 0);
  if (qpdf_oh_has_key(q, dict, "/DecodeParms") && !qpdf_oh_is_null(q, qpdf_oh_get_key(q, dict, "/DecodeParms")))
    return NULL; /* predictors are not used for DER data; refuse rather than guess */
  if (!qpdf_oh_is_null(q, filter) && !qpdf_oh_is_name_and_equals(q, filter, "/FlateDecode"))
    return NULL;
  {
    /* qpdf reads the whole stream into memory: refuse a long one before it does.  Its
     * raw data is /Length bytes (no recovery), less at most 32 for AES (IV and padding),
     * so this only refuses streams the size check below would refuse anyway. */
    qpdf_oh length = qpdf_oh_get_key(q, dict, "/Length");
    long long l = 0;
    if (qpdf_oh_is_integer(q, length) && qpdf_oh_get_value_as_longlong(q, length, &l) &&
        l > (long long)TTE_LIMIT_DSS_ITEM_MAX + 32)
      return NULL;
  }
  if ((qpdf_oh_get_stream_data(q, st, qpdf_dl_none, NULL, &raw, &n) & QPDF_ERRORS) != 0 || raw == NULL) {
    free(raw);
    return NULL;
  }
  if (n <= TTE_LIMIT_DSS_ITEM_MAX) {
    if (qpdf_oh_is_null(q, filter))
      out = g_bytes_new(raw, n);
    else
      out = inflate_capped(raw, n, TTE_LIMIT_DSS_ITEM_MAX);
  }
  free(raw);
  return out;
}

static void
read_dss_array(Walk *w, qpdf_oh dss, const char *key, GPtrArray *into, guint *total)
{
  qpdf_data q = w->q;
  qpdf_oh arr = qpdf_oh_get_key(q, dss, key);
  int n;

  if (!qpdf_oh_is_array(q, arr))
    return;
  n = qpdf_oh_get_array_n_items(q, arr);
  for (int i = 0; i < n; i++) {
    GBytes *b;
    if (++*total > TTE_LIMIT_DSS_MAX_ITEMS)
      return; /* the rest is ignored: revocation then reads as "unknown", never "good" */
    b = stream_bytes(q, qpdf_oh_get_array_item(q, arr, i));
    if (b != NULL)
      g_ptr_array_add(into, b);
  }
}

/* --- overlapping annotations ------------------------------------------------------- */

typedef struct {
  double x0, y0, x1, y1;
} Box;

/* The annotation's /Rect, normalised, when it is drawn and has an area.  Releases @a and
 * every handle it takes: the C API keeps handles until released, and a file may have
 * TTE_LIMIT_OVERLAP_PAGES x TTE_LIMIT_OVERLAP_ANNOTS_PER_PAGE of these. */
static gboolean
annot_box(qpdf_data q, qpdf_oh a, Box *b)
{
  qpdf_oh h[5] = { a, 0, 0, 0, 0 }; /* a, /Rect, /F, /Subtype, one number of /Rect */
  gboolean ok = FALSE;
  double v[4];

  if (!qpdf_oh_is_dictionary(q, a))
    goto out;
  h[1] = qpdf_oh_get_key(q, a, "/Rect");
  h[2] = qpdf_oh_get_key(q, a, "/F");
  h[3] = qpdf_oh_get_key(q, a, "/Subtype");
  if (!qpdf_oh_is_array(q, h[1]) || qpdf_oh_get_array_n_items(q, h[1]) != 4)
    goto out;
  /* Hidden (bit 2) or NoView (bit 6): never drawn on screen. */
  if (qpdf_oh_is_integer(q, h[2]) && (qpdf_oh_get_int_value(q, h[2]) & (2 | 32)) != 0)
    goto out;
  /* A pop-up belongs over its parent; it is not content that hides content. */
  if (qpdf_oh_is_name_and_equals(q, h[3], "/Popup"))
    goto out;
  for (int i = 0; i < 4; i++) {
    gboolean num;
    h[4] = qpdf_oh_get_array_item(q, h[1], i);
    num = qpdf_oh_is_number(q, h[4]);
    v[i] = num ? qpdf_oh_get_numeric_value(q, h[4]) : 0;
    qpdf_oh_release(q, h[4]);
    h[4] = 0;
    if (!num || !isfinite(v[i]))
      goto out;
  }
  b->x0 = MIN(v[0], v[2]);
  b->x1 = MAX(v[0], v[2]);
  b->y0 = MIN(v[1], v[3]);
  b->y1 = MAX(v[1], v[3]);
  ok = b->x1 - b->x0 > 0 && b->y1 - b->y0 > 0;
out:
  for (guint i = 0; i < G_N_ELEMENTS(h); i++)
    if (h[i] != 0)
      qpdf_oh_release(q, h[i]);
  return ok;
}

/* Pages where the rectangles of two drawn annotations share an area, as DSS reports them
 * ("annotations overlap"): one annotation may hide another, or the content under it. */
static void
find_overlaps(qpdf_data q, VfyPdfInfo *info)
{
  int pages = qpdf_get_num_pages(q);
  g_autoptr(GArray) boxes = g_array_new(FALSE, FALSE, sizeof(Box));

  info->overlap_pages = g_array_new(FALSE, FALSE, sizeof(guint));
  if (pages < 0) {
    qpdf_get_error(q); /* a broken page tree is reported elsewhere; clear it here */
    return;
  }
  if ((guint)pages > TTE_LIMIT_OVERLAP_PAGES) {
    info->overlap_capped = TRUE;
    pages = (int)TTE_LIMIT_OVERLAP_PAGES;
  }
  for (int p = 0; p < pages; p++) {
    qpdf_oh page = qpdf_get_page_n(q, (size_t)p);
    qpdf_oh annots = qpdf_oh_get_key(q, page, "/Annots");
    int n = qpdf_oh_is_array(q, annots) ? qpdf_oh_get_array_n_items(q, annots) : 0;
    gboolean hit = FALSE;

    if ((guint)n > TTE_LIMIT_OVERLAP_ANNOTS_PER_PAGE) {
      info->overlap_capped = TRUE;
      n = (int)TTE_LIMIT_OVERLAP_ANNOTS_PER_PAGE;
    }
    g_array_set_size(boxes, 0);
    for (int i = 0; i < n; i++) {
      Box b;
      if (annot_box(q, qpdf_oh_get_array_item(q, annots, i), &b))
        g_array_append_val(boxes, b);
    }
    qpdf_oh_release(q, annots);
    qpdf_oh_release(q, page);
    for (guint i = 0; i < boxes->len && !hit; i++)
      for (guint j = i + 1; j < boxes->len && !hit; j++) {
        const Box *a = &g_array_index(boxes, Box, i), *b = &g_array_index(boxes, Box, j);
        hit = MIN(a->x1, b->x1) > MAX(a->x0, b->x0) && MIN(a->y1, b->y1) > MAX(a->y0, b->y0);
      }
    if (hit) {
      guint one_based = (guint)p + 1;
      g_array_append_val(info->overlap_pages, one_based);
    }
  }
}

VfyPdfInfo *
vfy_pdf_scan(const guint8 *data, gsize len, GError **error)
{
  g_autoptr(VfyPdfInfo) info = g_new0(VfyPdfInfo, 1);
  qpdf_data q = NULL;
  Walk w = { 0 };
  qpdf_oh root, acro, fields, dss;
  QPDF_ERROR_CODE rc;
  TteCursor c;
  gboolean found = FALSE;

  if (len > TTE_LIMIT_PDF_MAX_SIZE) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT, "the file is larger than TTE_LIMIT_PDF_MAX_SIZE");
    return NULL;
  }
  /* qpdf looks further than we want for a header; insist on it near the start. */
  tte_cursor_init(&c, data, MIN(len, (gsize)TTE_LIMIT_PDF_HEADER_SCAN));
  found = memmem(c.data, c.len, "%PDF-", 5) != NULL;
  if (!found) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_NOT_PDF, "no %%PDF- header in the first %u bytes",
                TTE_LIMIT_PDF_HEADER_SCAN);
    return NULL;
  }

  info->sigs = g_ptr_array_new_with_free_func((GDestroyNotify)vfy_pdf_sig_free);
  info->dss_certs = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
  info->dss_ocsps = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
  info->dss_crls = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
  info->revisions = vfy_pdf_revisions(data, len, error);
  if (info->revisions == NULL)
    return NULL;

  q = qpdf_init();
  /* A library does not print: warnings are collected below instead. */
  qpdf_silence_errors(q);
  qpdf_set_suppress_warnings(q, QPDF_TRUE);
  qpdf_set_attempt_recovery(q, QPDF_FALSE);
  rc = qpdf_read_memory(q, "input.pdf", (const char *)data, len, NULL);
  if ((rc & QPDF_ERRORS) != 0) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_PDF_DAMAGED, "qpdf cannot read the file without repairing it: %s",
                qpdf_get_error_full_text(q, qpdf_get_error(q)));
    qpdf_cleanup(&q);
    return NULL;
  }
  /* Opened with the empty user password; signature /Contents are never encrypted
   * (ISO 32000-1, 7.6.1), and the gap check compares qpdf's value with the raw hex. */
  info->encrypted = qpdf_is_encrypted(q);

  w.q = q;
  w.info = info;
  w.seen_fields = g_hash_table_new(g_direct_hash, g_direct_equal);
  w.seen_sigs = g_hash_table_new(g_direct_hash, g_direct_equal);

  root = qpdf_get_root(q);
  acro = qpdf_oh_get_key(q, root, "/AcroForm");
  fields = qpdf_oh_get_key(q, acro, "/Fields");
  if (qpdf_oh_is_array(q, fields)) {
    int n = qpdf_oh_get_array_n_items(q, fields);
    for (int i = 0; i < n && w.error == NULL; i++)
      walk_field(&w, qpdf_oh_get_array_item(q, fields, i), NULL, FALSE, 0);
  }
  dss = qpdf_oh_get_key(q, root, "/DSS");
  if (w.error == NULL && qpdf_oh_is_dictionary(q, dss)) {
    guint total = 0;
    read_dss_array(&w, dss, "/Certs", info->dss_certs, &total);
    read_dss_array(&w, dss, "/OCSPs", info->dss_ocsps, &total);
    read_dss_array(&w, dss, "/CRLs", info->dss_crls, &total);
  }
  if (w.error == NULL && info->sigs->len > 0)
    find_overlaps(q, info);
  g_hash_table_unref(w.seen_fields);
  g_hash_table_unref(w.seen_sigs);
  if (w.error != NULL) {
    g_propagate_error(error, w.error);
    qpdf_cleanup(&q);
    return NULL;
  }
  if (qpdf_failed(q, error, "qpdf failed while reading the signature fields")) {
    qpdf_cleanup(&q);
    return NULL;
  }
  while (qpdf_more_warnings(q)) {
    qpdf_error e = qpdf_next_warning(q);
    if (!info->warnings)
      info->first_warning = g_strdup(qpdf_get_error_full_text(q, e));
    info->warnings = TRUE;
  }
  qpdf_cleanup(&q);
  /* Give back what qpdf touched (objects, cross-reference data). */
  vfy_release(data, len);
  /* No signature reachable, yet signature data in the bytes: a damaged or hidden
   * signature must not read as "unsigned". */
  if (info->sigs->len == 0) {
    gboolean failed;
    info->unreachable_signature_data = vfy_find(data, len, "/ByteRange", 10, &failed) != NULL;
    if (failed) {
      g_set_error_literal(error, TTE_ERROR, TTE_ERROR_IO, "the file changed or could not be read while it was verified");
      return NULL;
    }
  }
  return g_steal_pointer(&info);
}
