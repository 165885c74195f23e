/* vfy-pdf.h — the PDF side of verification: signature discovery through qpdf, the
 * document security store, revision boundaries and ByteRange coverage (internal). */
#pragma once

#include <errno.h>
#include <glib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

G_BEGIN_DECLS

/* --- reading the input through bounded windows ---------------------------------------
 *
 * vfy_verify_file() maps the file read-only (qpdf, poppler and the bounds-checked cursor
 * read objects from it in place) and registers the mapping, with the open descriptor, for
 * the calling thread while it verifies.  Mapped pages count in the process' RSS from the
 * first touch, so nothing may sweep a long stretch of the mapping: hashing the ByteRange,
 * scanning for %%EOF and comparing stream data go through VfyWindows, which reads a
 * registered file with pread() into one buffer of at most VFY_WINDOW_SIZE bytes, and
 * hands out bytes in ordinary memory (vfy_verify_bytes() over the service's upload)
 * where they are.  Whatever a phase did touch in place goes back with vfy_release()
 * (files over VFY_RELEASE_MIN_FILE): later reads fault the pages in again from the page
 * cache, with the same bytes.
 *
 * The registration is kept in GLib (a dataset on the current GThread) rather than in a
 * variable of vfy-pdf.c because vfy-changes.c is also linked on its own
 * (tests/verifier/attacks); these helpers are therefore inline.
 */
/* Bytes read from the file at once.  Small enough to stay in the CPU cache between the
 * copy and the hashing: 4 MiB windows made a 10 MB file verify twice as slowly as the
 * mapping did (page faults on the buffer, cache misses); 256 KiB is as fast. */
#define VFY_WINDOW_SIZE (256u << 10)
#define VFY_MAPPING_KEY "vfy-file-mapping"
/* Files up to this size keep the pages they touch: at most this much RSS, and each
 * madvise() that gives pages back costs more than a one-page letter's whole scan. */
#define VFY_RELEASE_MIN_FILE (16u << 20)

typedef struct {
  const guint8 *base; /* page-aligned start of the read-only private mapping */
  gsize len;          /* bytes of the file */
  gsize page;         /* page size */
  int fd;             /* the file, for pread() */
} VfyMapping;

/* The mapping registered for this thread that holds all of [p, p + n), or NULL. */
static inline const VfyMapping *
vfy_mapping_of(const void *p, gsize n)
{
  const VfyMapping *m = (const VfyMapping *)g_dataset_get_data(g_thread_self(), VFY_MAPPING_KEY);
  guintptr a = (guintptr)p, lo, hi;

  if (m == NULL)
    return NULL;
  lo = (guintptr)m->base;
  hi = lo + m->len;
  if (a < lo || a > hi || n > hi - a)
    return NULL;
  return m;
}

/* Done with the bytes [p, p + n) read in place: when they lie in this thread's file
 * mapping, give the pages that hold them back (whole pages, rounded outwards).  No
 * effect on any other memory. */
static inline void
vfy_release(const void *p, gsize n)
{
  const VfyMapping *m = vfy_mapping_of(p, n);
  guintptr a = (guintptr)p, b;

  if (m == NULL || n == 0 || m->len <= VFY_RELEASE_MIN_FILE)
    return;
  b = a + n;
  a &= ~(guintptr)(m->page - 1);
  b = (b + m->page - 1) & ~(guintptr)(m->page - 1);
  /* A private read-only file mapping: MADV_DONTNEED drops our page-table entries; the
   * page cache keeps the bytes. */
  (void)madvise((void *)a, b - a, MADV_DONTNEED);
}

/* Sequential windows over [p, p + n): each vfy_windows_next() gives the next @step bytes
 * (fewer at the end) followed by up to @overlap bytes of look-ahead, which the next
 * window starts with again (a pattern that straddles two windows is seen whole). */
typedef struct {
  const guint8 *p;
  gsize n, pos, step, overlap;
  const VfyMapping *m; /* NULL: the bytes are in memory and handed out in place */
  guint8 *buf;
  gboolean failed;     /* pread() came back short: the file changed under us */
} VfyWindows;

static inline void
vfy_windows_init(VfyWindows *w, const void *p, gsize n, gsize overlap)
{
  memset(w, 0, sizeof *w);
  w->p = (const guint8 *)p;
  w->n = n;
  w->overlap = overlap;
  w->m = vfy_mapping_of(p, n);
  /* In memory, one window is the whole range. */
  w->step = w->m != NULL ? VFY_WINDOW_SIZE : MAX(n, (gsize)1);
}

/* The next window: *out (valid until the next call) holds *out_len bytes, of which the
 * first *out_step are this window's own.  FALSE at the end, or with w->failed set when
 * the file could not be read. */
static inline gboolean
vfy_windows_next(VfyWindows *w, const guint8 **out, gsize *out_len, gsize *out_step)
{
  gsize k, len, done = 0;

  if (w->failed || w->pos >= w->n)
    return FALSE;
  k = MIN(w->step, w->n - w->pos);
  len = MIN(k + w->overlap, w->n - w->pos);
  if (w->m == NULL) {
    *out = w->p + w->pos;
  } else {
    if (w->buf == NULL)
      w->buf = (guint8 *)g_malloc(MIN(w->n, (gsize)VFY_WINDOW_SIZE + w->overlap));
    while (done < len) {
      ssize_t r = pread(w->m->fd, w->buf + done, len - done,
                        (off_t)((guintptr)(w->p + w->pos + done) - (guintptr)w->m->base));
      if (r < 0 && errno == EINTR)
        continue;
      if (r <= 0) {
        w->failed = TRUE;
        return FALSE;
      }
      done += (gsize)r;
    }
    *out = w->buf;
  }
  *out_len = len;
  *out_step = k;
  w->pos += k;
  return TRUE;
}

static inline void
vfy_windows_clear(VfyWindows *w)
{
  g_clear_pointer(&w->buf, g_free);
}

/* memmem(@hay, @len, @needle, @nlen) through VfyWindows: the same first match, without
 * touching a mapped file's pages.  *failed (may be NULL) is set when the file could not
 * be read; then NULL is returned. */
static inline const guint8 *
vfy_find(const guint8 *hay, gsize len, const char *needle, gsize nlen, gboolean *failed)
{
  VfyWindows w;
  const guint8 *win, *hit = NULL;
  gsize wl, ws, at = 0;

  if (failed != NULL)
    *failed = FALSE;
  if (nlen == 0)
    return len > 0 ? hay : NULL;
  vfy_windows_init(&w, hay, len, nlen - 1);
  while (hit == NULL && vfy_windows_next(&w, &win, &wl, &ws)) {
    const guint8 *h = (const guint8 *)memmem(win, wl, needle, nlen);
    if (h != NULL)
      hit = hay + at + (gsize)(h - win);
    at += ws;
  }
  if (failed != NULL)
    *failed = w.failed;
  vfy_windows_clear(&w);
  return hit;
}

/* The input file mapped read-only and registered, with its descriptor, for the calling
 * thread (above) until vfy_input_close().  Use from one thread only. */
typedef struct VfyInput VfyInput;

/* Open and map @path.  NULL with TTE_ERROR_IO (cannot open or map), TTE_ERROR_LIMIT
 * (larger than TTE_LIMIT_PDF_MAX_SIZE) or TTE_ERROR_NOT_PDF (empty). */
VfyInput *vfy_input_open(const char *path, GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* The file's bytes (valid until vfy_input_close) and their number. */
const guint8 *vfy_input_data(const VfyInput *in);
gsize vfy_input_len(const VfyInput *in);
/* Unregister, unmap and close; accepts NULL.  Must be called on the thread that opened it. */
/* FALSE (TTE_ERROR_IO naming @path) when the file shrank under the mapping, or its size
 * or modification time differ from when it was opened: what was read is then not one
 * version of the file, and no verdict may be given on it. */
gboolean vfy_input_check_unchanged(const VfyInput *in, const char *path, GError **error);
void vfy_input_close(VfyInput *in);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(VfyInput, vfy_input_close)

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
  GArray *overlap_pages;  /* guint, 1-based: pages of the file as it is where two visible
                           * annotations overlap (signed files only) */
  gboolean overlap_capped; /* TTE_LIMIT_OVERLAP_* cut that comparison short */
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
