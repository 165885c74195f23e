/* Unit tests for the verifier internals that need no PKI: PDF dates, revision ends,
 * ByteRange coverage on hand-made bytes, CMS parsing failures, reports. */
#include "tte-error.h"
#include "tte-limits.h"
#include "tte-mapguard.h"
#include "vfy-cms.h"
#include "vfy-limits.h"
#include "vfy-pdf.h"
#include "vfy.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static void
test_dates(void)
{
  gint64 t;
  g_assert_true(vfy_pdf_parse_date("D:20261127131806Z", &t));
  g_assert_cmpint(t, ==, 1795785486);
  g_assert_true(vfy_pdf_parse_date("D:20261127201806+07'00'", &t));
  g_assert_cmpint(t, ==, 1795785486);
  g_assert_true(vfy_pdf_parse_date("D:20261127201806+07'00", &t));
  g_assert_cmpint(t, ==, 1795785486);
  g_assert_true(vfy_pdf_parse_date("D:2026", &t));
  g_assert_false(vfy_pdf_parse_date("D:20261327000000Z", &t));
  g_assert_false(vfy_pdf_parse_date("yesterday", &t));
  g_assert_false(vfy_pdf_parse_date("D:20261127131806Zjunk", &t));
  g_assert_false(vfy_pdf_parse_date(NULL, &t));
}

static const char *const rev_text = "%PDF-1.7\n1 0 obj\n<<>>\nendobj\nstartxref\n9\n%%EOF\r\n"
                                    "stream %%EOF inside data is no revision end\n"
                                    "startxref\n  123 \n%%EOF";

static void
test_revisions(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) revs = vfy_pdf_revisions((const guint8 *)rev_text, strlen(rev_text), &error);
  const VfyRevisionEnd *r;

  g_assert_no_error(error);
  g_assert_cmpuint(revs->len, ==, 2);
  r = &g_array_index(revs, VfyRevisionEnd, 0);
  g_assert_cmpuint(r->eol_end - r->eof_end, ==, 2); /* CR LF */
  g_assert_cmpint(memcmp(rev_text + r->eof_end - 5, "%%EOF", 5), ==, 0);
  r = &g_array_index(revs, VfyRevisionEnd, 1);
  g_assert_cmpuint(r->eol_end, ==, strlen(rev_text));
}

static void
test_revisions_limit(void)
{
  g_autoptr(GString) s = g_string_new("%PDF-1.7\n");
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) revs = NULL;

  for (guint i = 0; i <= TTE_LIMIT_PDF_MAX_REVISIONS; i++)
    g_string_append(s, "startxref\n1\n%%EOF\n");
  revs = vfy_pdf_revisions((const guint8 *)s->str, s->len, &error);
  g_assert_null(revs);
  g_assert_error(error, TTE_ERROR, TTE_ERROR_LIMIT);
}

/* A fake signed file: "<prefix>/Contents <hex><suffix>" with a revision end. */
typedef struct {
  GString *buf;
  VfyPdfSig sig;
  GArray *revs;
} Fake;

static void
fake_init(Fake *f, const char *hex, const char *suffix)
{
  static const guint8 cms[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
  g_autoptr(GError) error = NULL;
  gsize a;

  memset(f, 0, sizeof *f);
  f->buf = g_string_new("%PDF-1.7\n1 0 obj\n<< /Type /Sig /ByteRange [0 0 0 0] /Contents ");
  a = f->buf->len;
  g_string_append(f->buf, hex);
  f->sig.byte_range[0] = 0;
  f->sig.byte_range[1] = (gint64)a;
  f->sig.byte_range[2] = (gint64)(a + strlen(hex));
  g_string_append(f->buf, suffix);
  f->sig.byte_range[3] = (gint64)(f->buf->len - (a + strlen(hex)));
  f->sig.byte_range_ok = TRUE;
  f->sig.byte_range_count = 4;
  f->sig.contents = g_bytes_new(cms, sizeof cms);
  f->revs = vfy_pdf_revisions((const guint8 *)f->buf->str, f->buf->len, &error);
  g_assert_no_error(error);
}

static void
fake_clear(Fake *f)
{
  g_string_free(f->buf, TRUE);
  g_bytes_unref(f->sig.contents);
  g_array_unref(f->revs);
}

static gboolean
fake_check(Fake *f, VfyCoverage *cov, GError **error)
{
  gsize signed_len = 0;
  g_autoptr(GBytes) cms = NULL;
  return vfy_pdf_check_coverage((const guint8 *)f->buf->str, f->buf->len, &f->sig, f->revs, FALSE, cov,
                                &signed_len, &cms, error);
}

static const char *const tail = " >>\nendobj\nstartxref\n9\n%%EOF\n";

static void
test_coverage_ok(void)
{
  Fake f;
  VfyCoverage cov;
  g_autoptr(GError) error = NULL;

  fake_init(&f, "<30 03 02\n01 01>", tail);
  g_assert_true(fake_check(&f, &cov, &error));
  g_assert_no_error(error);
  g_assert_cmpint(cov, ==, VFY_COVERAGE_ENTIRE_FILE);
  fake_clear(&f);
}

static void
test_coverage_revision(void)
{
  Fake f;
  VfyCoverage cov;
  g_autoptr(GError) error = NULL;

  fake_init(&f, "<3003020101>", tail);
  /* A later incremental section: the signature now covers one revision. */
  g_string_append(f.buf, "2 0 obj\n<<>>\nendobj\nstartxref\n77\n%%EOF\n");
  g_array_unref(f.revs);
  f.revs = vfy_pdf_revisions((const guint8 *)f.buf->str, f.buf->len, &error);
  g_assert_true(fake_check(&f, &cov, &error));
  g_assert_cmpint(cov, ==, VFY_COVERAGE_ENTIRE_REVISION);
  /* ... but a range that stops inside the later section covers nothing defined. */
  f.sig.byte_range[3] += 5;
  g_assert_false(fake_check(&f, &cov, &error));
  g_assert_error(error, TTE_ERROR, TTE_ERROR_FORMAT);
  fake_clear(&f);
}

static void
test_coverage_bad(void)
{
  Fake f;
  VfyCoverage cov;
  GError *error = NULL;
  gint64 saved[4];

  fake_init(&f, "<3003020101>", tail);
  memcpy(saved, f.sig.byte_range, sizeof saved);

  f.sig.byte_range[0] = 1; /* must start at 0 */
  g_assert_false(fake_check(&f, &cov, &error));
  g_clear_error(&error);
  memcpy(f.sig.byte_range, saved, sizeof saved);

  f.sig.byte_range[3] += 1; /* beyond the end */
  g_assert_false(fake_check(&f, &cov, &error));
  g_clear_error(&error);
  memcpy(f.sig.byte_range, saved, sizeof saved);

  f.sig.byte_range[3] = -1;
  g_assert_false(fake_check(&f, &cov, &error));
  g_clear_error(&error);
  memcpy(f.sig.byte_range, saved, sizeof saved);

  f.sig.byte_range[1] += 1; /* gap no longer starts at '<' */
  f.sig.byte_range[2] += 1;
  f.sig.byte_range[3] -= 1;
  g_assert_false(fake_check(&f, &cov, &error));
  g_clear_error(&error);
  memcpy(f.sig.byte_range, saved, sizeof saved);

  f.sig.byte_range[2] += 3; /* gap larger than the string */
  f.sig.byte_range[3] -= 3;
  g_assert_false(fake_check(&f, &cov, &error));
  g_clear_error(&error);
  memcpy(f.sig.byte_range, saved, sizeof saved);

  f.sig.byte_range_ok = FALSE; /* not four integers */
  g_assert_false(fake_check(&f, &cov, &error));
  g_clear_error(&error);
  f.sig.byte_range_ok = TRUE;

  /* The hex must decode to what qpdf read for this dictionary. */
  g_bytes_unref(f.sig.contents);
  f.sig.contents = g_bytes_new_static("\x30\x03\x02\x01\x02", 5);
  g_assert_false(fake_check(&f, &cov, &error));
  g_assert_error(error, TTE_ERROR, TTE_ERROR_FORMAT);
  g_clear_error(&error);

  g_assert_true(TRUE);
  fake_clear(&f);
}

static void
test_coverage_not_contents_key(void)
{
  Fake f;
  VfyCoverage cov;
  g_autoptr(GError) error = NULL;

  fake_init(&f, "<3003020101>", tail);
  /* Same bytes, but the string is the value of another key. */
  memcpy(f.buf->str + f.sig.byte_range[1] - 10, "/Context  ", 10);
  g_assert_false(fake_check(&f, &cov, &error));
  g_assert_error(error, TTE_ERROR, TTE_ERROR_FORMAT);
  fake_clear(&f);
}

static void
test_cms_garbage(void)
{
  static const guint8 junk[] = { 0x30, 0x80, 0x06, 0x09, 0x2a, 0x86 };
  static const guint8 data[] = "signed bytes";
  VfyRanges r = { data, sizeof data, NULL, 0 };
  g_autoptr(VfyCmsResult) a = vfy_cms_verify(junk, sizeof junk, VFY_CMS_DETACHED, &r, NULL, FALSE);
  g_autoptr(VfyCmsResult) b = vfy_cms_verify(junk, 0, VFY_CMS_TST, &r, NULL, FALSE);

  g_assert_cmpint(a->status, ==, VFY_CMS_FORMAT);
  g_assert_nonnull(a->message);
  g_assert_cmpint(b->status, ==, VFY_CMS_FORMAT);
}

static void
test_not_pdf(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VfyReport) r = vfy_verify_bytes((const guint8 *)"hello", 5, "x", NULL, &error);
  g_assert_null(r);
  g_assert_error(error, TTE_ERROR, TTE_ERROR_NOT_PDF);
}

/* A file qpdf can read only by repairing it: with signature data it is a TOTAL-FAILED
 * verdict (nothing in it can be trusted); without, an input error. */
static void
test_damaged(void)
{
  static const char with_sig[] =
      "%PDF-1.7\n1 0 obj\n<< /Type /Sig /ByteRange [0 10 20 30] /Contents <00> >>\nendobj\n"
      "startxref\n999999\n%%EOF\n";
  static const char without[] = "%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\nstartxref\n999999\n%%EOF\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(VfyReport) r = vfy_verify_bytes((const guint8 *)with_sig, sizeof with_sig - 1, "x", NULL, &error);
  g_autoptr(VfyReport) r2 = NULL;

  g_assert_no_error(error);
  g_assert_nonnull(r);
  g_assert_cmpint(r->indication, ==, VFY_TOTAL_FAILED);
  g_assert_cmpuint(r->signatures->len, ==, 0);
  g_assert_cmpuint(r->structure_errors_en->len, ==, 1);
  g_assert_cmpuint(r->structure_errors_id->len, ==, 1);
  g_assert_nonnull(strstr(g_ptr_array_index(r->structure_errors_en, 0), "damaged"));
  r2 = vfy_verify_bytes((const guint8 *)without, sizeof without - 1, "x", NULL, &error);
  g_assert_null(r2);
  g_assert_error(error, TTE_ERROR, TTE_ERROR_PDF_DAMAGED);
}

static void
test_missing_file(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VfyReport) r = vfy_verify_file("/nonexistent/x.pdf", NULL, &error);
  g_assert_null(r);
  g_assert_error(error, TTE_ERROR, TTE_ERROR_IO);
}

static void
test_bad_trust_file(void)
{
  const char *trust[] = { "/nonexistent/root.pem", NULL };
  VfyOptions o = { .trust_files = trust };
  g_autoptr(GError) error = NULL;
  g_autoptr(VfyReport) r = vfy_verify_bytes((const guint8 *)"%PDF-1.7\n", 9, "x", &o, &error);
  g_assert_null(r);
  g_assert_nonnull(error);
}

static const char *const unsigned_pdf =
  "%PDF-1.7\n"
  "1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
  "2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
  "xref\n0 3\n0000000000 65535 f \n0000000009 00000 n \n0000000058 00000 n \n"
  "trailer\n<< /Size 3 /Root 1 0 R >>\nstartxref\n109\n%%EOF\n";

static void
test_unsigned_report(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VfyReport) r = vfy_verify_bytes((const guint8 *)unsigned_pdf, strlen(unsigned_pdf), "u.pdf", NULL,
                                            &error);
  g_autofree char *json = NULL;
  g_autofree char *text = NULL;
  json_t *root;
  json_error_t jerr;

  g_assert_no_error(error);
  g_assert_cmpuint(r->signatures->len, ==, 0);
  json = vfy_report_to_json(r);
  root = json_loads(json, 0, &jerr);
  g_assert_nonnull(root);
  g_assert_true(json_is_null(json_object_get(root, "indication")));
  g_assert_true(json_is_array(json_object_get(root, "signatures")));
  g_assert_cmpuint(json_array_size(json_object_get(root, "signatures")), ==, 0);
  json_decref(root);
  text = vfy_report_to_text(r, "id");
  g_assert_nonnull(strstr(text, "Tidak ada tanda tangan"));
  g_free(g_steal_pointer(&text));
  text = vfy_report_to_text(r, "en");
  g_assert_nonnull(strstr(text, "no signature"));
}

static void
test_names(void)
{
  g_assert_cmpstr(vfy_indication_name(VFY_TOTAL_PASSED), ==, "TOTAL-PASSED");
  g_assert_cmpstr(vfy_indication_name(VFY_INDETERMINATE), ==, "INDETERMINATE");
  g_assert_cmpstr(vfy_indication_name(VFY_TOTAL_FAILED), ==, "TOTAL-FAILED");
  g_assert_cmpstr(vfy_revocation_status_name(VFY_REVOCATION_REVOKED), ==, "revoked");
  g_assert_cmpstr(vfy_revocation_status_name(VFY_REVOCATION_NOT_CHECKED), ==, "not-checked");
}

/* --- reading through windows (vfy-pdf.h) ----------------------------------------------
 * Every check runs twice: over bytes in memory and over the same bytes mapped from a
 * file by vfy_input_open(), where sweeps go through pread() windows. */

/* A temporary file holding @len bytes of @data; caller unlinks and frees. */
static char *
write_temp(const void *data, gsize len)
{
  g_autoptr(GError) error = NULL;
  char *path = NULL;
  int fd = g_file_open_tmp("tte-vfy-XXXXXX.pdf", &path, &error);

  g_assert_no_error(error);
  close(fd);
  g_assert_true(g_file_set_contents(path, data, (gssize)len, &error));
  g_assert_no_error(error);
  return path;
}

static void
test_input_open_errors(void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *empty = write_temp("", 0);
  g_autofree char *dir = g_dir_make_tmp("tte-vfy-XXXXXX", NULL);
  VfyInput *in;

  in = vfy_input_open("/nonexistent/x.pdf", &error);
  g_assert_null(in);
  g_assert_error(error, TTE_ERROR, TTE_ERROR_IO);
  g_clear_error(&error);
  in = vfy_input_open(empty, &error);
  g_assert_null(in);
  g_assert_error(error, TTE_ERROR, TTE_ERROR_NOT_PDF);
  g_clear_error(&error);
  in = vfy_input_open(dir, &error);
  g_assert_null(in);
  g_assert_nonnull(error);
  g_clear_error(&error);
  /* Nothing stays registered after a failed open. */
  g_assert_null(vfy_mapping_of(empty, 1));
  g_unlink(empty);
  g_rmdir(dir);
}

/* Filler of @len bytes with @needle written at each offset in @at (-1 ends the list). */
static guint8 *
filler_with(gsize len, const char *needle, const gssize *at)
{
  guint8 *b = g_malloc(len);
  memset(b, 'x', len);
  for (guint i = 0; at[i] >= 0; i++)
    memcpy(b + at[i], needle, strlen(needle));
  return b;
}

static void
test_input_find(void)
{
  const gsize w = VFY_WINDOW_SIZE, len = 2 * w + w / 2;
  /* Straddling each window boundary, at its start, at the very end. */
  const gssize at[] = { (gssize)w - 2, (gssize)w, (gssize)(2 * w - 4), (gssize)(len - 5), -1 };
  g_autofree guint8 *buf = filler_with(len, "%%EOF", at);
  g_autofree char *path = write_temp(buf, len);
  g_autoptr(GError) error = NULL;
  g_autoptr(VfyInput) in = vfy_input_open(path, &error);
  const guint8 *m;

  g_assert_no_error(error);
  m = vfy_input_data(in);
  g_assert_cmpuint(vfy_input_len(in), ==, len);
  g_assert_nonnull(vfy_mapping_of(m, len));
  g_assert_null(vfy_mapping_of(buf, len));
  for (gsize from = 0; from < len; from += w / 3) {
    const guint8 *want = memmem(buf + from, len - from, "%%EOF", 5);
    gboolean failed = TRUE;
    const guint8 *got_mem = vfy_find(buf + from, len - from, "%%EOF", 5, &failed);
    const guint8 *got_map;
    g_assert_false(failed);
    got_map = vfy_find(m + from, len - from, "%%EOF", 5, &failed);
    g_assert_false(failed);
    g_assert_true(got_mem == want);
    g_assert_nonnull(got_map);
    g_assert_cmpuint((gsize)(got_map - m), ==, (gsize)(want - buf));
  }
  g_assert_null(vfy_find(m, len, "%%EOG", 5, NULL));
  g_assert_null(vfy_find(m, 4, "%%EOF", 5, NULL));
  g_unlink(path);
}

static void
test_input_revisions(void)
{
  const gsize w = VFY_WINDOW_SIZE, len = 4 * w;
  static const char rev[] = "startxref\n1\n%%EOF\r\n";
  const gsize eof_in_rev = 12; /* where "%%EOF" starts in rev */
  /* Revision ends whose "%%EOF", its end of line or its "startxref" crosses a window
   * boundary, and one at the end of the file. */
  const gssize at[] = { 100, (gssize)(w - eof_in_rev - 2), (gssize)(2 * w - eof_in_rev - 6),
                        (gssize)(3 * w - 9), (gssize)(len - sizeof rev + 1), -1 };
  g_autofree guint8 *buf = filler_with(len, rev, at);
  g_autofree char *path = write_temp(buf, len);
  g_autoptr(GError) error = NULL;
  g_autoptr(VfyInput) in = vfy_input_open(path, &error);
  g_autoptr(GArray) a = NULL;
  g_autoptr(GArray) b = NULL;

  g_assert_no_error(error);
  a = vfy_pdf_revisions(buf, len, &error);
  g_assert_no_error(error);
  b = vfy_pdf_revisions(vfy_input_data(in), vfy_input_len(in), &error);
  g_assert_no_error(error);
  g_assert_cmpuint(a->len, ==, 5);
  g_assert_cmpuint(b->len, ==, a->len);
  for (guint i = 0; i < a->len; i++) {
    const VfyRevisionEnd *x = &g_array_index(a, VfyRevisionEnd, i), *y = &g_array_index(b, VfyRevisionEnd, i);
    g_assert_cmpuint(x->eof_end, ==, (gsize)at[i] + eof_in_rev + 5);
    g_assert_cmpuint(x->eof_end, ==, y->eof_end);
    g_assert_cmpuint(x->eol_end, ==, y->eol_end);
  }
  g_unlink(path);
}

static void
test_input_digest(void)
{
  const gsize len = 2 * VFY_WINDOW_SIZE + 12345;
  g_autofree guint8 *buf = g_malloc(len);
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(VfyInput) in = NULL;
  guint8 d1[EVP_MAX_MD_SIZE], d2[EVP_MAX_MD_SIZE];
  guint l1 = 0, l2 = 0;

  for (gsize i = 0; i < len; i++)
    buf[i] = (guint8)(i * 2654435761u >> 13);
  path = write_temp(buf, len);
  in = vfy_input_open(path, &error);
  g_assert_no_error(error);
  {
    /* A gap in the middle, ranges crossing window boundaries. */
    const guint8 *m = vfy_input_data(in);
    VfyRanges rm = { buf, VFY_WINDOW_SIZE + 7, buf + VFY_WINDOW_SIZE + 99, len - VFY_WINDOW_SIZE - 99 };
    VfyRanges rf = { m, VFY_WINDOW_SIZE + 7, m + VFY_WINDOW_SIZE + 99, len - VFY_WINDOW_SIZE - 99 };
    g_assert_true(vfy_digest_ranges(EVP_sha256(), &rm, d1, &l1));
    g_assert_true(vfy_digest_ranges(EVP_sha256(), &rf, d2, &l2));
    g_assert_cmpuint(l1, ==, 32);
    g_assert_cmpmem(d1, l1, d2, l2);
  }
  g_unlink(path);
}

/* A file that shrinks while it is verified is an error, not a crash (SIGBUS): sweeps
 * read it with pread(), never through the mapping. */
static void
test_input_truncated(void)
{
  const gsize len = 2 * VFY_WINDOW_SIZE;
  const gssize at[] = { -1 };
  g_autofree guint8 *buf = filler_with(len, "", at);
  g_autofree char *path = write_temp(buf, len);
  g_autoptr(GError) error = NULL;
  g_autoptr(VfyInput) in = vfy_input_open(path, &error);
  g_autoptr(GArray) revs = NULL;
  guint8 d[EVP_MAX_MD_SIZE];
  guint dl = 0;
  VfyRanges r;

  g_assert_no_error(error);
  g_assert_cmpint(truncate(path, 4096), ==, 0);
  revs = vfy_pdf_revisions(vfy_input_data(in), vfy_input_len(in), &error);
  g_assert_null(revs);
  g_assert_error(error, TTE_ERROR, TTE_ERROR_IO);
  r = (VfyRanges){ vfy_input_data(in), len, NULL, 0 };
  g_assert_false(vfy_digest_ranges(EVP_sha256(), &r, d, &dl));
  g_unlink(path);
}

/* A small, well-formed, unsigned PDF whose content stream fills several pages, so that
 * truncating the file cuts the stream, the xref table and the trailer off. */
static GString *
padded_pdf(gsize stream_len)
{
  GString *s = g_string_new("%PDF-1.7\n");
  gsize off[5];

  off[1] = s->len;
  g_string_append(s, "1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n");
  off[2] = s->len;
  g_string_append(s, "2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n");
  off[3] = s->len;
  g_string_append(s, "3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
                     "/Contents 4 0 R >> endobj\n");
  off[4] = s->len;
  g_string_append_printf(s, "4 0 obj << /Length %zu >> stream\n", stream_len);
  for (gsize i = 0; i < stream_len; i++)
    g_string_append_c(s, i % 64 == 63 ? '\n' : '%');
  g_string_append(s, "\nendstream endobj\n");
  {
    gsize xref = s->len;
    g_string_append(s, "xref\n0 5\n0000000000 65535 f \n");
    for (guint i = 1; i <= 4; i++)
      g_string_append_printf(s, "%010zu 00000 n \n", off[i]);
    g_string_append_printf(s, "trailer << /Size 5 /Root 1 0 R >>\nstartxref\n%zu\n%%%%EOF\n", xref);
  }
  return s;
}

/* The file shrinks while qpdf reads the mapping in place: no SIGBUS, zeros where the file
 * went missing, and vfy_input_check_unchanged() refuses to let a verdict stand. */
static void
test_input_shrinks_under_reader(void)
{
  g_autoptr(GString) pdf = padded_pdf(5 * 4096);
  g_autofree char *path = write_temp(pdf->str, pdf->len);
  g_autoptr(GError) error = NULL;
  g_autoptr(VfyInput) in = vfy_input_open(path, &error);
  g_autoptr(VfyReport) rep = NULL;
  const guint8 *data;

  g_assert_no_error(error);
  data = vfy_input_data(in);
  /* Whole: it reads as an unsigned PDF and nothing has changed. */
  rep = vfy_verify_bytes(data, vfy_input_len(in), "shrink.pdf", NULL, &error);
  g_assert_no_error(error);
  g_assert_nonnull(rep);
  g_clear_pointer(&rep, vfy_report_free);
  g_assert_true(vfy_input_check_unchanged(in, path, &error));
  g_assert_no_error(error);

  g_assert_cmpint(truncate(path, 4096), ==, 0);
  /* Past the new end: this read used to be a SIGBUS. */
  g_assert_cmpuint(data[vfy_input_len(in) - 1], ==, 0);
  g_assert_cmpuint(data[100], ==, pdf->str[100]); /* still the file's bytes */
  /* qpdf over the mapping: the xref is gone, whatever it makes of that, it returns. */
  rep = vfy_verify_bytes(data, vfy_input_len(in), "shrink.pdf", NULL, &error);
  g_clear_error(&error);
  g_clear_pointer(&rep, vfy_report_free);
  g_assert_false(vfy_input_check_unchanged(in, path, &error));
  g_assert_error(error, TTE_ERROR, TTE_ERROR_IO);
  g_assert_nonnull(strstr(error->message, "shorter while it was being verified"));
  g_clear_pointer(&in, vfy_input_close);
  g_unlink(path);
}

/* Rewritten in place (same size, new time) while open: refused as well. */
static void
test_input_rewritten(void)
{
  g_autoptr(GString) pdf = padded_pdf(100);
  g_autofree char *path = write_temp(pdf->str, pdf->len);
  g_autoptr(GError) error = NULL;
  g_autoptr(VfyInput) in = vfy_input_open(path, &error);
  struct timespec times[2] = { { 0, UTIME_OMIT }, { 1000000000, 0 } };
  int fd;

  g_assert_no_error(error);
  fd = open(path, O_WRONLY);
  g_assert_cmpint(fd, >=, 0);
  g_assert_cmpint(pwrite(fd, "9", 1, 10), ==, 1);
  g_assert_cmpint(futimens(fd, times), ==, 0);
  close(fd);
  g_assert_false(vfy_input_check_unchanged(in, path, &error));
  g_assert_error(error, TTE_ERROR, TTE_ERROR_IO);
  g_assert_nonnull(strstr(error->message, "changed while it was being verified"));
  g_clear_pointer(&in, vfy_input_close);
  g_unlink(path);
}

/* The guard handles faults in guarded ranges only: any other SIGBUS still ends the
 * process (here: a mapping nobody guarded, read past its shrunken file). */
static void
test_mapguard_other_sigbus(void)
{
  if (!g_test_subprocess()) {
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
    g_test_trap_assert_stdout("*guarded slot released*");
    g_test_trap_assert_stdout_unmatched("*survived*");
    return;
  }
  {
    g_autoptr(GString) pdf = padded_pdf(3 * 4096);
    g_autofree char *path = write_temp(pdf->str, pdf->len);
    int fd = open(path, O_RDONLY), slot;
    volatile const guint8 *p;

    g_assert_cmpint(fd, >=, 0);
    p = mmap(NULL, pdf->len, PROT_READ, MAP_PRIVATE, fd, 0);
    g_assert_true(p != MAP_FAILED);
    /* Guard and release it: the handler is installed, this range is no longer its own. */
    slot = tte_map_guard_add((const void *)p, pdf->len);
    g_assert_cmpint(slot, >=, 0);
    g_assert_false(tte_map_guard_remove(slot));
    printf("guarded slot released\n");
    fflush(stdout);
    g_assert_cmpint(ftruncate(fd, 0), ==, 0);
    g_unlink(path);
    (void)p[pdf->len - 1];
    printf("survived\n");
  }
}

/* A PDF made of @objs ("<< ... >>" bodies for objects 1..n), with an xref table. */
static GString *
pdf_of(const char *const *objs)
{
  GString *s = g_string_new("%PDF-1.7\n");
  GArray *off = g_array_new(FALSE, FALSE, sizeof(gsize));
  gsize xref;
  guint n = 0;

  for (; objs[n] != NULL; n++) {
    gsize o = s->len;
    g_array_append_val(off, o);
    g_string_append_printf(s, "%u 0 obj\n%s\nendobj\n", n + 1, objs[n]);
  }
  xref = s->len;
  g_string_append_printf(s, "xref\n0 %u\n0000000000 65535 f \n", n + 1);
  for (guint i = 0; i < n; i++)
    g_string_append_printf(s, "%010zu 00000 n \n", g_array_index(off, gsize, i));
  g_string_append_printf(s, "trailer << /Size %u /Root 1 0 R >>\nstartxref\n%zu\n%%%%EOF\n", n + 1, xref);
  g_array_unref(off);
  return s;
}

/* Pages whose annotations overlap, for a file with a signature field and two more
 * annotations @a and @b on page 2 (page 1 has none). */
static GArray *
overlap_pages_of(const char *a, const char *b, gboolean signed_file)
{
  const char *objs[] = {
    signed_file ? "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [5 0 R] >> >>"
                : "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Annots [5 0 R 7 0 R 8 0 R] >>",
    "<< /FT /Sig /T (Sig1) /Type /Annot /Subtype /Widget /Rect [0 0 0 0] /P 4 0 R /V 6 0 R >>",
    "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached "
    "/ByteRange [0 10 20 10] /Contents <3003020101> >>",
    a,
    b,
    NULL,
  };
  g_autoptr(GString) pdf = pdf_of(objs);
  g_autoptr(GError) error = NULL;
  g_autoptr(VfyPdfInfo) info = vfy_pdf_scan((const guint8 *)pdf->str, pdf->len, &error);

  g_assert_no_error(error);
  g_assert_nonnull(info);
  g_assert_false(info->overlap_capped);
  return info->overlap_pages != NULL ? g_array_ref(info->overlap_pages) : NULL;
}

static void
test_annotation_overlap(void)
{
  const char *link_a = "<< /Type /Annot /Subtype /Link /Rect [100 100 200 120] >>";
  struct {
    const char *b;
    gboolean overlaps;
  } cases[] = {
    /* shares an area with link_a (corners given in the other order, too) */
    { "<< /Type /Annot /Subtype /Link /Rect [199.5 110 300 130] >>", TRUE },
    { "<< /Type /Annot /Subtype /Square /Rect [150 300 120 50] >>", TRUE },
    /* touches an edge only, or lies apart */
    { "<< /Type /Annot /Subtype /Link /Rect [200 100 300 120] >>", FALSE },
    { "<< /Type /Annot /Subtype /Link /Rect [100 500 200 520] >>", FALSE },
    /* over it, but never drawn: hidden, NoView, a pop-up, no area, a broken /Rect */
    { "<< /Type /Annot /Subtype /Link /F 2 /Rect [150 100 250 120] >>", FALSE },
    { "<< /Type /Annot /Subtype /Link /F 32 /Rect [150 100 250 120] >>", FALSE },
    { "<< /Type /Annot /Subtype /Popup /Rect [150 100 250 120] >>", FALSE },
    { "<< /Type /Annot /Subtype /Link /Rect [150 110 250 110] >>", FALSE },
    { "<< /Type /Annot /Subtype /Link /Rect [150 110 (x) 130] >>", FALSE },
    { "<< /Type /Annot /Subtype /Link /Rect [150 110 250] >>", FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autoptr(GArray) pages = overlap_pages_of(link_a, cases[i].b, TRUE);
    g_test_message("case %u: %s", i, cases[i].b);
    g_assert_nonnull(pages);
    if (cases[i].overlaps) {
      g_assert_cmpuint(pages->len, ==, 1);
      g_assert_cmpuint(g_array_index(pages, guint, 0), ==, 2);
    } else {
      g_assert_cmpuint(pages->len, ==, 0);
    }
  }
  /* Unsigned files are not looked at. */
  {
    g_autoptr(GArray) pages = overlap_pages_of(link_a, cases[0].b, FALSE);
    g_assert_true(pages == NULL || pages->len == 0);
  }
}

static gsize
peak_rss_bytes(void)
{
  struct rusage ru;
  g_assert_cmpint(getrusage(RUSAGE_SELF, &ru), ==, 0);
  return (gsize)ru.ru_maxrss * 1024;
}

/* Sweeping a large mapped file (revision ends, hashing, "/ByteRange" search of the scan)
 * leaves the peak RSS far below the file's size.  Runs in a fresh process so that the
 * peak is this test's. */
static void
test_input_bounded_rss(void)
{
  const gsize len = 96u << 20;
  g_autofree guint8 *buf = NULL;
  g_autofree char *path = NULL;

  if (!g_test_subprocess()) {
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    return;
  }
  {
    /* Written a MiB at a time: a buffer of the file's size would set the peak itself. */
    const gssize at[] = { 0, -1 };
    FILE *f;
    path = write_temp("", 0);
    buf = filler_with(1u << 20, "%PDF-1.7\n", at);
    f = fopen(path, "wb");
    g_assert_nonnull(f);
    for (gsize i = 0; i < len >> 20; i++) {
      g_assert_cmpuint(fwrite(buf, 1, 1u << 20, f), ==, 1u << 20);
      buf[0] = 'x';
    }
    g_assert_cmpint(fclose(f), ==, 0);
  }
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(VfyInput) in = vfy_input_open(path, &error);
    g_autoptr(GArray) revs = NULL;
    g_autoptr(VfyPdfInfo) info = NULL;
    guint8 d[EVP_MAX_MD_SIZE];
    guint dl = 0;
    VfyRanges r;
    gsize before = peak_rss_bytes(), grew;

    g_assert_no_error(error);
    revs = vfy_pdf_revisions(vfy_input_data(in), len, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(revs->len, ==, 0);
    r = (VfyRanges){ vfy_input_data(in), len / 2, vfy_input_data(in) + len / 2, len / 2 };
    g_assert_true(vfy_digest_ranges(EVP_sha256(), &r, d, &dl));
    /* Not a PDF qpdf reads, but only after the sweep for revision ends. */
    info = vfy_pdf_scan(vfy_input_data(in), len, &error);
    g_assert_null(info);
    g_assert_nonnull(error);
    grew = peak_rss_bytes() - before;
    g_test_message("peak RSS grew by %" G_GSIZE_FORMAT " KiB over a %" G_GSIZE_FORMAT " KiB file", grew / 1024,
                   len / 1024);
    g_assert_cmpuint(grew, <, len / 3);
  }
  g_unlink(path);
}

/* --- long streams in the change analysis ----------------------------------------------- */

/* A one-page PDF whose image XObject (object 5) holds @n bytes, then an incremental
 * update that writes object 5 again with @data2/@n2 (stream keyword followed by @eol).
 * *signed_len is the end of the first revision. */
static GString *
long_stream_pdf(const guint8 *data, gsize n, const guint8 *data2, gsize n2, const char *eol, gsize *signed_len)
{
  GString *s = g_string_new("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n");
  gsize off[6], xref, xref2, off5;
  static const char content[] = "q 100 0 0 100 0 0 cm /Im1 Do Q";

  off[1] = s->len;
  g_string_append(s, "1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
  off[2] = s->len;
  g_string_append(s, "2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n");
  off[3] = s->len;
  g_string_append(s, "3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] "
                     "/Resources << /XObject << /Im1 5 0 R >> >> /Contents 4 0 R >>\nendobj\n");
  off[4] = s->len;
  g_string_append_printf(s, "4 0 obj\n<< /Length %zu >>\nstream\n%s\nendstream\nendobj\n", strlen(content), content);
  off[5] = s->len;
  g_string_append_printf(s, "5 0 obj\n<< /Type /XObject /Subtype /Image /Width 1 /Height %zu /ColorSpace /DeviceGray "
                            "/BitsPerComponent 8 /Length %zu >>\nstream\n", n, n);
  g_string_append_len(s, (const char *)data, (gssize)n);
  g_string_append(s, "\nendstream\nendobj\n");
  xref = s->len;
  g_string_append(s, "xref\n0 6\n0000000000 65535 f \n");
  for (int i = 1; i <= 5; i++)
    g_string_append_printf(s, "%010zu 00000 n \n", off[i]);
  g_string_append_printf(s, "trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n%zu\n%%%%EOF\n", xref);
  *signed_len = s->len;

  off5 = s->len;
  g_string_append_printf(s, "5 0 obj\n<< /Type /XObject /Subtype /Image /Width 1 /Height %zu /ColorSpace /DeviceGray "
                            "/BitsPerComponent 8 /Length %zu >>\nstream%s", n2, n2, eol);
  g_string_append_len(s, (const char *)data2, (gssize)n2);
  g_string_append(s, "\nendstream\nendobj\n");
  xref2 = s->len;
  g_string_append_printf(s, "xref\n0 1\n0000000000 65535 f \n5 1\n%010zu 00000 n \n", off5);
  g_string_append_printf(s, "trailer\n<< /Size 6 /Root 1 0 R /Prev %zu >>\nstartxref\n%zu\n%%%%EOF\n", xref, xref2);
  return s;
}

/* The classifications not allowed, as one string, from memory and from the mapped file
 * (they must agree). */
static char *
long_stream_findings(GString *pdf, gsize signed_len)
{
  g_autofree char *path = write_temp(pdf->str, pdf->len);
  g_autoptr(GError) error = NULL;
  g_autoptr(VfyInput) in = vfy_input_open(path, &error);
  g_autoptr(GPtrArray) a = NULL;
  g_autoptr(GPtrArray) b = NULL;
  GString *out = g_string_new("");

  g_assert_no_error(error);
  a = vfy_changes_analyse((const guint8 *)pdf->str, pdf->len, signed_len, VFY_MDP_NONE, NULL, &error);
  g_assert_no_error(error);
  b = vfy_changes_analyse(vfy_input_data(in), vfy_input_len(in), signed_len, VFY_MDP_NONE, NULL, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(a->len, ==, b->len);
  for (guint i = 0; i < a->len; i++) {
    const VfyChange *x = g_ptr_array_index(a, i), *y = g_ptr_array_index(b, i);
    g_assert_cmpstr(x->classification, ==, y->classification);
    g_assert_cmpint(x->allowed, ==, y->allowed);
    if (!x->allowed)
      g_string_append_printf(out, "%s%s", out->len > 0 ? "," : "", x->classification);
  }
  g_unlink(path);
  return g_string_free(out, FALSE);
}

static void
test_changes_long_stream(void)
{
  /* Longer than what the analysis lets qpdf read into memory: compared in windows. */
  const gsize n = TTE_LIMIT_PDF_STREAM_IN_MEMORY + 4097;
  g_autofree guint8 *data = g_malloc(n + 1);
  g_autofree guint8 *flip = NULL;
  gsize sl;

  for (gsize i = 0; i <= n; i++)
    data[i] = (guint8)(i * 2246822519u >> 11);
  flip = g_memdup2(data, n);
  flip[n - 3] ^= 0x20;
  {
    g_autoptr(GString) pdf = NULL;
    g_autofree char *f = NULL;
    /* Written again unchanged, with another end of line after "stream": no finding. */
    pdf = long_stream_pdf(data, n, data, n, "\r\n", &sl);
    f = long_stream_findings(pdf, sl);
    g_assert_cmpstr(f, ==, "");
  }
  {
    g_autoptr(GString) pdf = long_stream_pdf(data, n, flip, n, "\n", &sl);
    g_autofree char *f = long_stream_findings(pdf, sl);
    g_assert_cmpstr(f, ==, "resources-changed");
  }
  {
    g_autoptr(GString) pdf = long_stream_pdf(data, n, data, n + 1, "\n", &sl);
    g_autofree char *f = long_stream_findings(pdf, sl);
    g_assert_cmpstr(f, ==, "resources-changed");
  }
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/verifier/pdf/dates", test_dates);
  g_test_add_func("/verifier/pdf/revisions", test_revisions);
  g_test_add_func("/verifier/pdf/revisions-limit", test_revisions_limit);
  g_test_add_func("/verifier/pdf/coverage-ok", test_coverage_ok);
  g_test_add_func("/verifier/pdf/coverage-revision", test_coverage_revision);
  g_test_add_func("/verifier/pdf/coverage-bad", test_coverage_bad);
  g_test_add_func("/verifier/pdf/coverage-not-contents-key", test_coverage_not_contents_key);
  g_test_add_func("/verifier/cms/garbage", test_cms_garbage);
  g_test_add_func("/verifier/report/not-pdf", test_not_pdf);
  g_test_add_func("/verifier/report/damaged", test_damaged);
  g_test_add_func("/verifier/report/missing-file", test_missing_file);
  g_test_add_func("/verifier/report/bad-trust-file", test_bad_trust_file);
  g_test_add_func("/verifier/report/unsigned", test_unsigned_report);
  g_test_add_func("/verifier/report/names", test_names);
  g_test_add_func("/verifier/input/open-errors", test_input_open_errors);
  g_test_add_func("/verifier/input/find", test_input_find);
  g_test_add_func("/verifier/input/revisions", test_input_revisions);
  g_test_add_func("/verifier/input/digest", test_input_digest);
  g_test_add_func("/verifier/input/truncated", test_input_truncated);
  g_test_add_func("/verifier/input/bounded-rss", test_input_bounded_rss);
  g_test_add_func("/verifier/input/shrinks-under-reader", test_input_shrinks_under_reader);
  g_test_add_func("/verifier/input/rewritten", test_input_rewritten);
  g_test_add_func("/verifier/input/other-sigbus", test_mapguard_other_sigbus);
  g_test_add_func("/verifier/pdf/annotation-overlap", test_annotation_overlap);
  g_test_add_func("/verifier/changes/long-stream", test_changes_long_stream);
  return g_test_run();
}
