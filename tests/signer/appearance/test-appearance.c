/* Tests for the visible signature stamp: placement geometry, QR run merging, the
 * TrueType subset, and end-to-end checks on standalone PDFs written by a test
 * SigObjSink (qpdf --check, pdffonts, pdftotext, pdftoppm pixels, zbarimg). */
#include "sig-anchor.h"
#include "sig-appearance.h"
#include "sig-placement.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <math.h>
#include <poppler.h>
#include <unistd.h>
#include <string.h>

#include "tte-error.h"
#include "tte-limits.h"

/* ------------------------------------------------------------------------------ */
/* placement */

static void
assert_rect(const double got[4], double a, double b, double c, double d)
{
  g_assert_cmpfloat_with_epsilon(got[0], a, 1e-9);
  g_assert_cmpfloat_with_epsilon(got[1], b, 1e-9);
  g_assert_cmpfloat_with_epsilon(got[2], c, 1e-9);
  g_assert_cmpfloat_with_epsilon(got[3], d, 1e-9);
}

static const double letter[4] = {0, 0, 612, 792};
static const double shifted[4] = {100, 200, 712, 992}; /* MediaBox not at the origin */

/* The Form's BBox after its /Matrix must have the widget's size (no scaling when the
 * viewer fits it into /Rect). */
static void
assert_matrix_fits(const SigPlacement *p)
{
  const double *m = p->matrix;
  double xs[4], ys[4], bx[4] = {0, p->width, 0, p->width}, by[4] = {0, 0, p->height, p->height};
  double x0 = G_MAXDOUBLE, y0 = G_MAXDOUBLE, x1 = -G_MAXDOUBLE, y1 = -G_MAXDOUBLE;
  for (int i = 0; i < 4; i++) {
    xs[i] = m[0] * bx[i] + m[2] * by[i] + m[4];
    ys[i] = m[1] * bx[i] + m[3] * by[i] + m[5];
    x0 = MIN(x0, xs[i]);
    y0 = MIN(y0, ys[i]);
    x1 = MAX(x1, xs[i]);
    y1 = MAX(y1, ys[i]);
  }
  g_assert_cmpfloat_with_epsilon(x0, 0, 1e-9);
  g_assert_cmpfloat_with_epsilon(y0, 0, 1e-9);
  g_assert_cmpfloat_with_epsilon(x1 - x0, p->rect[2] - p->rect[0], 1e-9);
  g_assert_cmpfloat_with_epsilon(y1 - y0, p->rect[3] - p->rect[1], 1e-9);
}

static void
test_placement_rotations(void)
{
  SigPageGeometry g;
  SigPlacement p;
  double w, h;
  g_autoptr(GError) error = NULL;

  g_assert_true(sig_page_geometry_init(&g, letter, NULL, 0, &error));
  g_assert_true(sig_placement_from_reader_rect(&g, 100, 150, 200, 80, &p, &error));
  assert_rect(p.rect, 100, 150, 300, 230);
  g_assert_cmpfloat(p.matrix[0], ==, 1);
  g_assert_cmpfloat(p.matrix[3], ==, 1);
  assert_matrix_fits(&p);

  g_assert_true(sig_page_geometry_init(&g, letter, NULL, 90, &error));
  sig_page_reader_size(&g, &w, &h);
  g_assert_cmpfloat(w, ==, 792);
  g_assert_cmpfloat(h, ==, 612);
  g_assert_true(sig_placement_from_reader_rect(&g, 100, 150, 200, 80, &p, &error));
  assert_rect(p.rect, 382, 100, 462, 300);
  g_assert_cmpint(p.rotate, ==, 90);
  g_assert_cmpfloat(p.matrix[1], ==, 1);
  g_assert_cmpfloat(p.matrix[2], ==, -1);
  assert_matrix_fits(&p);

  g_assert_true(sig_page_geometry_init(&g, letter, NULL, 180, &error));
  g_assert_true(sig_placement_from_reader_rect(&g, 100, 150, 200, 80, &p, &error));
  assert_rect(p.rect, 312, 562, 512, 642);
  g_assert_cmpfloat(p.matrix[0], ==, -1);
  assert_matrix_fits(&p);

  g_assert_true(sig_page_geometry_init(&g, letter, NULL, 270, &error));
  g_assert_true(sig_placement_from_reader_rect(&g, 100, 150, 200, 80, &p, &error));
  assert_rect(p.rect, 150, 492, 230, 692);
  g_assert_cmpfloat(p.matrix[1], ==, -1);
  g_assert_cmpfloat(p.matrix[2], ==, 1);
  assert_matrix_fits(&p);
  g_assert_no_error(error);
}

static void
test_placement_cropbox(void)
{
  const double crop[4] = {562, 732, 50, 60}; /* corners in the "wrong" order on purpose */
  const double wide_crop[4] = {-100, -100, 700, 700};
  SigPageGeometry g;
  SigPlacement p;
  double w, h;
  g_autoptr(GError) error = NULL;

  g_assert_true(sig_page_geometry_init(&g, letter, crop, 0, &error));
  sig_page_reader_size(&g, &w, &h);
  g_assert_cmpfloat(w, ==, 512);
  g_assert_cmpfloat(h, ==, 672);
  g_assert_true(sig_placement_from_reader_rect(&g, 100, 150, 200, 80, &p, &error));
  assert_rect(p.rect, 150, 210, 350, 290);

  /* Offset CropBox and a rotation together: origin at the crop's (x1, y0). */
  g_assert_true(sig_page_geometry_init(&g, letter, crop, 90, &error));
  g_assert_true(sig_placement_from_reader_rect(&g, 0, 0, 100, 50, &p, &error));
  assert_rect(p.rect, 512, 60, 562, 160);

  /* A MediaBox away from the origin, turned 180: reader (0,0) is its top-right. */
  g_assert_true(sig_page_geometry_init(&g, shifted, NULL, 180, &error));
  g_assert_true(sig_placement_from_reader_rect(&g, 0, 0, 100, 50, &p, &error));
  assert_rect(p.rect, 612, 942, 712, 992);

  /* A CropBox larger than the MediaBox is clipped to it. */
  g_assert_true(sig_page_geometry_init(&g, letter, wide_crop, 0, &error));
  assert_rect((const double *)&g.visible, 0, 0, 612, 700);
  g_assert_no_error(error);
}

static void
test_placement_normalise_and_errors(void)
{
  const double empty_crop[4] = {700, 0, 800, 100};
  const double nan_box[4] = {0, 0, NAN, 792};
  SigPageGeometry g;
  SigPlacement p;
  GError *error = NULL;

  g_assert_true(sig_page_geometry_init(&g, letter, NULL, -90, &error));
  g_assert_cmpint(g.rotate, ==, 270);
  g_assert_true(sig_page_geometry_init(&g, letter, NULL, 450, &error));
  g_assert_cmpint(g.rotate, ==, 90);

  g_assert_false(sig_page_geometry_init(&g, letter, NULL, 45, &error));
  g_assert_error(error, TTE_ERROR, TTE_ERROR_PDF_UNSUPPORTED);
  g_clear_error(&error);
  g_assert_false(sig_page_geometry_init(&g, letter, empty_crop, 0, &error));
  g_assert_error(error, TTE_ERROR, TTE_ERROR_PDF_UNSUPPORTED);
  g_clear_error(&error);
  g_assert_false(sig_page_geometry_init(&g, nan_box, NULL, 0, &error));
  g_assert_error(error, TTE_ERROR, TTE_ERROR_PDF_UNSUPPORTED);
  g_clear_error(&error);

  g_assert_true(sig_page_geometry_init(&g, letter, NULL, 90, &error));
  /* 792 x 612 as read: x + w up to 792 fits, y + h up to 612. */
  g_assert_true(sig_placement_from_reader_rect(&g, 592, 532, 200, 80, &p, &error));
  g_assert_false(sig_placement_from_reader_rect(&g, 593, 532, 200, 80, &p, &error));
  g_assert_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
  g_assert_false(sig_placement_from_reader_rect(&g, 10, 10, 0, 80, &p, &error));
  g_assert_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
  g_assert_false(sig_placement_from_reader_rect(&g, -5, 10, 20, 80, &p, &error));
  g_assert_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
}

static void
test_placement_roundtrip(void)
{
  const double crop[4] = {20, 30, 580, 760};
  for (int r = 0; r < 360; r += 90) {
    SigPageGeometry g;
    g_autoptr(GError) error = NULL;
    g_assert_true(sig_page_geometry_init(&g, letter, crop, r, &error));
    for (double x = 0; x < 500; x += 73) {
      double ux, uy, rx, ry;
      sig_page_reader_to_user(&g, x, 2 * x + 1, &ux, &uy);
      sig_page_user_to_reader(&g, ux, uy, &rx, &ry);
      g_assert_cmpfloat_with_epsilon(rx, x, 1e-9);
      g_assert_cmpfloat_with_epsilon(ry, 2 * x + 1, 1e-9);
    }
  }
}

static void
test_placement_field_rect(void)
{
  const double rect[4] = {462, 300, 382, 100};
  SigPageGeometry g;
  SigPlacement p;
  GError *error = NULL;

  g_assert_true(sig_page_geometry_init(&g, letter, NULL, 90, &error));
  g_assert_true(sig_placement_from_user_rect(&g, rect, &p, &error));
  assert_rect(p.rect, 382, 100, 462, 300);
  g_assert_cmpfloat(p.width, ==, 200); /* as read: the long side runs left to right */
  g_assert_cmpfloat(p.height, ==, 80);
  assert_matrix_fits(&p);
  {
    const double flat[4] = {10, 10, 10, 50};
    g_assert_false(sig_placement_from_user_rect(&g, flat, &p, &error));
    g_assert_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT);
    g_clear_error(&error);
  }
}

static void
test_placement_anchor_box(void)
{
  SigPageGeometry g;
  double box[4];
  GError *error = NULL;
  const double mid[4] = {300, 200, 330, 212};
  const double corner[4] = {580, 5, 600, 17};

  g_assert_true(sig_page_geometry_init(&g, letter, NULL, 0, &error));
  g_assert_true(sig_placement_anchor_box(&g, mid, 200, 80, box, &error));
  assert_rect(box, 300, 132, 200, 80); /* top-left at the anchor's top-left */
  g_assert_true(sig_placement_anchor_box(&g, corner, 200, 80, box, &error));
  assert_rect(box, 412, 0, 200, 80); /* moved inside, not shrunk */
  g_assert_false(sig_placement_anchor_box(&g, mid, 700, 80, box, &error));
  g_assert_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
}

/* ------------------------------------------------------------------------------ */
/* QR runs and text helpers */

static void
test_qr_runs(void)
{
  /* 5x5: row 0 all dark, row 1 alternating, row 2 empty, row 3 two runs, row 4 last. */
  // clang-format off
  static const guint8 m[25] = {
    1, 1, 1, 1, 1,
    1, 0, 1, 0, 1,
    0, 0, 0, 0, 0,
    3, 3, 0, 1, 1, /* other bits than bit 0 do not matter */
    2, 0, 0, 0, 1,
  };
  // clang-format on
  static const SigQrRun want[] = {
      {0, 0, 5}, {0, 1, 1}, {2, 1, 1}, {4, 1, 1}, {0, 3, 2}, {3, 3, 2}, {4, 4, 1},
  };
  g_autoptr(GArray) runs = sig_qr_runs(m, 5);

  g_assert_cmpuint(runs->len, ==, G_N_ELEMENTS(want));
  for (guint i = 0; i < runs->len; i++) {
    SigQrRun r = g_array_index(runs, SigQrRun, i);
    g_assert_cmpuint(r.x, ==, want[i].x);
    g_assert_cmpuint(r.y, ==, want[i].y);
    g_assert_cmpuint(r.len, ==, want[i].len);
  }
}

static GDateTime *
signing_time(void)
{
  return g_date_time_new_utc(2026, 11, 27, 6, 5, 30);
}

static void
test_time_format(void)
{
  g_autoptr(GDateTime) t = signing_time();
  g_autoptr(GTimeZone) wita = g_time_zone_new_identifier("+08:00");
  g_autoptr(GTimeZone) wib = g_time_zone_new_identifier("+07:00");
  g_autoptr(GTimeZone) odd = g_time_zone_new_identifier("-03:30");
  g_autofree char *a = sig_appearance_format_time(t, wita, NULL);
  g_autofree char *b = sig_appearance_format_time(t, wib, NULL);
  g_autofree char *c = sig_appearance_format_time(t, odd, NULL);
  g_autofree char *d = sig_appearance_format_time(t, wita, "WITA (Lombok)");
  g_autoptr(GDateTime) jan = g_date_time_new_utc(2027, 1, 1, 0, 0, 0);
  g_autofree char *e = sig_appearance_format_time(jan, NULL, NULL);

  g_assert_cmpstr(a, ==, "27 November 2026 14:05 WITA");
  g_assert_cmpstr(b, ==, "27 November 2026 13:05 WIB");
  g_assert_cmpstr(c, ==, "27 November 2026 02:35 UTC-03:30");
  g_assert_cmpstr(d, ==, "27 November 2026 14:05 WITA (Lombok)");
  g_assert_cmpstr(e, ==, "1 Januari 2027 00:00 UTC");
}

/* ------------------------------------------------------------------------------ */
/* A SigObjSink that collects objects, and a writer for a one-page standalone PDF with
 * the stamp as the appearance of an (unsigned) signature field. */

typedef struct {
  SigObjSink sink;
  GPtrArray *objs; /* index = object number; GBytes of "n 0 obj ... endobj\n" */
  guint next;
} TestSink;

static guint
tsink_alloc(SigObjSink *s)
{
  TestSink *t = s->user_data;
  return t->next++;
}

static gboolean
tsink_emit(SigObjSink *s, guint num, const char *dict, const guint8 *stream, gsize len,
           GError **error)
{
  TestSink *t = s->user_data;
  GString *o = g_string_new(NULL);

  g_assert_cmpuint(num, <, t->next);
  g_string_append_printf(o, "%u 0 obj\n", num);
  if (stream != NULL) {
    g_string_append_printf(o, "<< %s /Length %" G_GSIZE_FORMAT " >>\nstream\n", dict, len);
    g_string_append_len(o, (const char *)stream, (gssize)len);
    g_string_append(o, "\nendstream");
  } else {
    g_string_append(o, dict);
  }
  g_string_append(o, "\nendobj\n");
  if (t->objs->len <= num)
    g_ptr_array_set_size(t->objs, (gint)num + 1);
  g_assert_null(g_ptr_array_index(t->objs, num)); /* each object written once */
  g_ptr_array_index(t->objs, num) = g_string_free_to_bytes(o);
  return TRUE;
}

static void
tsink_init(TestSink *t, guint first_free)
{
  t->sink.alloc = tsink_alloc;
  t->sink.emit = tsink_emit;
  t->sink.user_data = t;
  t->objs = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
  t->next = first_free;
}

static void
tsink_put(TestSink *t, guint num, const char *body)
{
  g_autoptr(GError) error = NULL;
  g_assert_true(tsink_emit(&t->sink, num, body, NULL, 0, &error));
}

static void
tsink_put_stream(TestSink *t, guint num, const char *dict, const char *data)
{
  g_autoptr(GError) error = NULL;
  g_assert_true(tsink_emit(&t->sink, num, dict, (const guint8 *)data, strlen(data), &error));
}

/* Objects 1-6 are the document skeleton; the stamp's objects start at 7. */
#define FIRST_FREE 7

static char *
fmt_nums(const double *v, guint n)
{
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < n; i++) {
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_string_append_printf(s, "%s%s", i ? " " : "", g_ascii_formatd(buf, sizeof buf, "%.4f", v[i]));
  }
  return g_string_free(s, FALSE);
}

/* Write the document: catalog 1, pages 2, page 3, content 4, field/widget 5, font 6. */
static char *
write_pdf(TestSink *t, const double media[4], const double *crop, int rotate,
          const double *widget_rect, guint form_num, const char *content)
{
  g_autofree char *m = fmt_nums(media, 4);
  g_autofree char *c = crop != NULL ? fmt_nums(crop, 4) : NULL;
  g_autofree char *r = widget_rect != NULL ? fmt_nums(widget_rect, 4) : NULL;
  g_autofree char *page = NULL, *field = NULL, *catalog = NULL, *crop_entry = NULL;
  g_autoptr(GString) out = g_string_new("%PDF-1.7\n%\xE2\xE3\xCF\xD3\n");
  g_autoptr(GArray) offs = g_array_new(FALSE, TRUE, sizeof(gsize));
  g_autoptr(GError) error = NULL;
  char *path;
  int fd;

  catalog = widget_rect != NULL
                ? g_strdup("<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [5 0 R] >> >>")
                : g_strdup("<< /Type /Catalog /Pages 2 0 R >>");
  tsink_put(t, 1, catalog);
  /* /Rotate on the Pages node: the page inherits it, as real files do. */
  {
    g_autofree char *pages =
        g_strdup_printf("<< /Type /Pages /Kids [3 0 R] /Count 1 /Rotate %d >>", rotate);
    tsink_put(t, 2, pages);
  }
  crop_entry = c != NULL ? g_strdup_printf(" /CropBox [%s]", c) : g_strdup("");
  page = g_strdup_printf("<< /Type /Page /Parent 2 0 R /MediaBox [%s]%s /Contents 4 0 R"
                         " /Resources << /Font << /Helv 6 0 R >> >>%s >>",
                         m, crop_entry, widget_rect != NULL ? " /Annots [5 0 R]" : "");
  tsink_put(t, 3, page);
  tsink_put_stream(t, 4, "", content != NULL ? content : "");
  if (widget_rect != NULL)
    field = g_strdup_printf("<< /FT /Sig /T (Signature1) /Type /Annot /Subtype /Widget /F 4"
                            " /P 3 0 R /Rect [%s] /AP << /N %u 0 R >> >>",
                            r, form_num);
  else
    field = g_strdup("null");
  tsink_put(t, 5, field);
  tsink_put(t, 6,
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica"
            " /Encoding /WinAnsiEncoding >>");

  g_array_set_size(offs, t->objs->len);
  for (guint i = 1; i < t->objs->len; i++) {
    GBytes *b = g_ptr_array_index(t->objs, i);
    g_assert_nonnull(b); /* every allocated number was written */
    g_array_index(offs, gsize, i) = out->len;
    g_string_append_len(out, g_bytes_get_data(b, NULL), (gssize)g_bytes_get_size(b));
  }
  {
    gsize xref = out->len;
    g_string_append_printf(out, "xref\n0 %u\n0000000000 65535 f \n", t->objs->len);
    for (guint i = 1; i < t->objs->len; i++)
      g_string_append_printf(out, "%010" G_GSIZE_FORMAT " 00000 n \n",
                             g_array_index(offs, gsize, i));
    g_string_append_printf(
        out, "trailer\n<< /Size %u /Root 1 0 R >>\nstartxref\n%" G_GSIZE_FORMAT "\n%%%%EOF\n",
        t->objs->len, xref);
  }
  fd = g_file_open_tmp("tte-stamp-XXXXXX.pdf", &path, &error);
  g_assert_no_error(error);
  close(fd);
  g_assert_true(g_file_set_contents(path, out->str, (gssize)out->len, &error));
  return path;
}

static void
default_stamp(SigStamp *s, GDateTime *t, GTimeZone *tz)
{
  memset(s, 0, sizeof *s);
  s->signer_name = "Dr. H. Lalu Muhammad Iqbal, S.Sos., M.Si.";
  s->title = "Sekretaris Daerah";
  s->organization = "Sekretariat Daerah Kabupaten Lombok Tengah";
  s->reason = "Persetujuan surat dinas";
  s->location = "Praya";
  s->time = t;
  s->time_zone = tz;
  s->qr_url = "https://tte.lomboktengahkab.go.id/v/7f3a9c2e-1b4d-4e8a-9f61-2c0d5e7a8b91";
}

/* Emit @stamp into a fresh one-page PDF with the given page geometry; returns the
 * file name (caller unlinks and frees) and the placement used. */
static char *
make_stamped_pdf(const SigStamp *stamp, const double media[4], const double *crop, int rotate,
                 const double reader_rect[4], SigPlacement *pl_out, const char *content)
{
  SigPageGeometry g;
  SigPlacement pl;
  TestSink t;
  guint form = 0;
  g_autoptr(GError) error = NULL;
  char *path;

  g_assert_true(sig_page_geometry_init(&g, media, crop, rotate, &error));
  g_assert_no_error(error);
  g_assert_true(sig_placement_from_reader_rect(&g, reader_rect[0], reader_rect[1], reader_rect[2],
                                               reader_rect[3], &pl, &error));
  tsink_init(&t, FIRST_FREE);
  g_assert_true(sig_appearance_emit(stamp, pl.width, pl.height, pl.matrix, &t.sink, &form, &error));
  g_assert_no_error(error);
  g_assert_cmpuint(form, >=, FIRST_FREE);
  path = write_pdf(&t, media, crop, rotate, pl.rect, form, content);
  g_ptr_array_unref(t.objs);
  if (pl_out != NULL)
    *pl_out = pl;
  return path;
}

/* TTE_TEST_KEEP=1 keeps the generated PDFs for a look with a viewer. */
static void
drop_file(const char *path)
{
  if (g_getenv("TTE_TEST_KEEP") != NULL)
    g_test_message("kept %s", path);
  else
    g_unlink(path);
}

/* ------------------------------------------------------------------------------ */
/* external tools */

static gboolean
have_tool(const char *name)
{
  g_autofree char *p = g_find_program_in_path(name);
  if (p == NULL) {
    g_autofree char *msg = g_strdup_printf("%s not installed", name);
    g_test_skip(msg);
    return FALSE;
  }
  return TRUE;
}

/* Run @argv; returns stdout; asserts the exit status is in @ok_status (or 0). */
static char *
run(const char *const *argv, int *status_out)
{
  g_autoptr(GError) error = NULL;
  char *out = NULL;
  g_autofree char *err = NULL;
  int status = 0;

  g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err,
                             &status, &error));
  g_assert_no_error(error);
  if (status_out != NULL)
    *status_out = status;
  else if (!g_spawn_check_wait_status(status, NULL))
    g_error("%s failed: %s%s", argv[0], out, err);
  return out;
}

typedef struct {
  cairo_surface_t *surf;
  int w, h, stride;
  const guint8 *data;
} Raster;

static void
raster_free(Raster *r)
{
  cairo_surface_destroy(r->surf);
}

/* Render page 1 of @pdf with pdftoppm (an independent renderer process) at @dpi,
 * showing the CropBox as viewers do (pdftoppm shows the MediaBox by default). */
static gboolean
render(const char *pdf, int dpi, Raster *r, char **png_out)
{
  g_autofree char *prefix = g_strdup_printf("%s-r%d", pdf, dpi);
  g_autofree char *png = g_strdup_printf("%s.png", prefix);
  g_autofree char *res = g_strdup_printf("%d", dpi);
  const char *argv[] = {"pdftoppm",    "-cropbox", "-r",   res, "-png",
                        "-singlefile", pdf,        prefix, NULL};
  g_free(run(argv, NULL));

  r->surf = cairo_image_surface_create_from_png(png);
  g_assert_cmpint(cairo_surface_status(r->surf), ==, CAIRO_STATUS_SUCCESS);
  r->w = cairo_image_surface_get_width(r->surf);
  r->h = cairo_image_surface_get_height(r->surf);
  r->stride = cairo_image_surface_get_stride(r->surf);
  r->data = cairo_image_surface_get_data(r->surf);
  if (png_out != NULL)
    *png_out = g_steal_pointer(&png);
  else
    g_unlink(png);
  return TRUE;
}

static guint
luma(const Raster *r, int x, int y)
{
  guint32 p =
      *(const guint32 *)(const void *)(r->data + (gsize)y * (gsize)r->stride + 4 * (gsize)x);
  return (((p >> 16) & 0xFF) * 3 + ((p >> 8) & 0xFF) * 6 + (p & 0xFF)) / 10;
}

/* Bounding box (pixels, y down) of everything not white; FALSE if the page is blank. */
static gboolean
ink_bbox(const Raster *r, int box[4])
{
  box[0] = r->w;
  box[1] = r->h;
  box[2] = -1;
  box[3] = -1;
  for (int y = 0; y < r->h; y++)
    for (int x = 0; x < r->w; x++)
      if (luma(r, x, y) < 200) {
        box[0] = MIN(box[0], x);
        box[1] = MIN(box[1], y);
        box[2] = MAX(box[2], x + 1);
        box[3] = MAX(box[3], y + 1);
      }
  return box[2] >= 0;
}

static double
dark_fraction(const Raster *r, int x0, int y0, int x1, int y1)
{
  guint dark = 0, all = 0;
  for (int y = MAX(y0, 0); y < MIN(y1, r->h); y++)
    for (int x = MAX(x0, 0); x < MIN(x1, r->w); x++) {
      all++;
      dark += luma(r, x, y) < 128;
    }
  return all ? (double)dark / all : 0;
}

/* ------------------------------------------------------------------------------ */
/* stamp end-to-end */

static void
test_font_subset(void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *raw = NULL;
  gsize raw_len;
  g_autoptr(GBytes) font = NULL, sub = NULL, sub2 = NULL;
  /* "Åé" need composite glyphs in DejaVu (base + accent components). */
  const gunichar chars[] = {'A', 'b', ' ', 0xC5, 0xE9, 0x20AC, 'A'};
  g_autofree char *fcq = NULL;

  if (!g_file_get_contents(SIG_APPEARANCE_DEFAULT_FONT, &raw, &raw_len, NULL)) {
    g_test_skip("DejaVuSans.ttf not installed (package fonts-dejavu-core)");
    return;
  }
  font = g_bytes_new_take(g_steal_pointer(&raw), raw_len);
  sub = sig_font_subset(font, chars, G_N_ELEMENTS(chars), &error);
  g_assert_no_error(error);
  g_assert_cmpuint(g_bytes_get_size(sub), <, g_bytes_get_size(font) / 20);
  /* The subset is itself a font our parser accepts, with the same characters mapped. */
  sub2 = sig_font_subset(sub, chars, G_N_ELEMENTS(chars), &error);
  g_assert_no_error(error);
  g_assert_cmpuint(g_bytes_get_size(sub2), ==, g_bytes_get_size(sub));
  g_assert_cmpmem(g_bytes_get_data(sub2, NULL), g_bytes_get_size(sub2), g_bytes_get_data(sub, NULL),
                  g_bytes_get_size(sub));

  /* An independent reader (FreeType, through fontconfig's fc-query) accepts the subset
   * as a TrueType font that covers exactly the characters asked for. */
  fcq = g_find_program_in_path("fc-query");
  if (fcq != NULL) {
    g_autofree char *tmp = NULL;
    int fd = g_file_open_tmp("tte-subset-XXXXXX.ttf", &tmp, &error);
    g_assert_no_error(error);
    close(fd);
    g_assert_true(g_file_set_contents(tmp, g_bytes_get_data(sub, NULL),
                                      (gssize)g_bytes_get_size(sub), &error));
    {
      const char *argv[] = {"fc-query", "--format=%{fontformat}|%{charset}", tmp, NULL};
      g_autofree char *out = run(argv, NULL);
      g_test_message("fc-query: %s", out);
      g_assert_true(g_str_has_prefix(out, "TrueType|"));
      g_assert_nonnull(strstr(out, "20 41 62 c5 e9 20ac"));
    }
    g_unlink(tmp);
  }

  /* Hostile inputs: random byte changes anywhere in a (small, all-relevant) font either
   * give a font or an error — never a read out of bounds (ASan watches). */
  {
    g_autoptr(GRand) rnd = g_rand_new_with_seed(20261127);
    gsize n = g_bytes_get_size(sub);
    for (guint iter = 0; iter < 400; iter++) {
      guint8 *m = g_memdup2(g_bytes_get_data(sub, NULL), n);
      g_autoptr(GBytes) mb = NULL, res = NULL;
      guint flips = (guint)g_rand_int_range(rnd, 1, 9);
      for (guint k = 0; k < flips; k++) {
        /* Half the hits go to the table directory and the small tables after it. */
        gsize at = g_rand_boolean(rnd) ? (gsize)g_rand_int_range(rnd, 0, 400)
                                       : (gsize)g_rand_int_range(rnd, 0, (gint32)n);
        m[at] = (guint8)g_rand_int_range(rnd, 0, 256);
      }
      mb = g_bytes_new_take(m, n);
      res = sig_font_subset(mb, chars, G_N_ELEMENTS(chars), &error);
      g_assert_true((res == NULL) == (error != NULL));
      g_clear_error(&error);
    }
  }

  /* Truncations at every length of the header region fail cleanly. */
  for (gsize n = 0; n < 400; n += 7) {
    g_autoptr(GBytes) cut = g_bytes_new_from_bytes(font, 0, n);
    g_autoptr(GBytes) res = sig_font_subset(cut, chars, 3, &error);
    g_assert_null(res);
    g_assert_nonnull(error);
    g_clear_error(&error);
  }
}

static void
test_stamp_pdf_valid(void)
{
  g_autoptr(GDateTime) t = signing_time();
  g_autoptr(GTimeZone) tz = g_time_zone_new_identifier("+08:00");
  SigStamp s;
  const double rect[4] = {300, 100, 240, 96};
  g_autofree char *pdf = NULL;

  if (!have_tool("qpdf") || !have_tool("pdffonts") || !have_tool("pdftotext"))
    return;
  default_stamp(&s, t, tz);
  s.signer_name = "Baiq Nurul Aini Ramadhani Étoile, S.H.";
  pdf = make_stamped_pdf(&s, letter, NULL, 0, rect, NULL, NULL);
  {
    const char *argv[] = {"qpdf", "--check", pdf, NULL};
    int status;
    g_autofree char *out = run(argv, &status);
    if (!g_spawn_check_wait_status(status, NULL))
      g_error("qpdf --check: %s", out);
    g_assert_nonnull(strstr(out, "No syntax or stream encoding errors"));
  }
  {
    /* Both fonts embedded and subset; nothing else (no unembedded font). */
    const char *argv[] = {"pdffonts", pdf, NULL};
    g_autofree char *out = run(argv, NULL);
    g_auto(GStrv) lines = g_strsplit(out, "\n", -1);
    guint fonts = 0;
    for (guint i = 2; lines[i] != NULL; i++) {
      if (*lines[i] == '\0')
        continue;
      if (strstr(lines[i], "Helvetica") != NULL) /* the test page's own font, unused */
        continue;
      fonts++;
      g_assert_nonnull(strstr(lines[i], "TrueType"));
      g_assert_nonnull(strstr(lines[i], "WinAnsi"));
      g_assert_nonnull(strstr(lines[i], " yes yes yes "));
    }
    g_assert_cmpuint(fonts, ==, 2);
  }
  {
    const char *argv[] = {"pdftotext", "-raw", pdf, "-", NULL};
    g_autofree char *out = run(argv, NULL);
    g_assert_nonnull(strstr(out, "Ditandatangani secara elektronik oleh:"));
    g_assert_nonnull(strstr(out, "27 November 2026 14:05 WITA"));
    g_assert_nonnull(strstr(out, "Étoile"));
    g_assert_nonnull(strstr(out, "Lokasi: Praya"));
  }
  drop_file(pdf);
}

static void
test_stamp_qr_decodes(void)
{
  g_autoptr(GDateTime) t = signing_time();
  SigStamp s;
  const double rect[4] = {50, 50, 240, 96};
  g_autofree char *pdf = NULL, *png = NULL;
  Raster r;

  if (!have_tool("pdftoppm") || !have_tool("zbarimg"))
    return;
  for (int side = 0; side < 2; side++) {
    default_stamp(&s, t, NULL);
    s.qr_position = side ? SIG_QR_RIGHT : SIG_QR_LEFT;
    pdf = make_stamped_pdf(&s, letter, NULL, 0, rect, NULL, NULL);
    g_assert_true(render(pdf, 150, &r, &png));
    {
      const char *argv[] = {"zbarimg", "-q", "--raw", png, NULL};
      g_autofree char *out = run(argv, NULL);
      g_strchomp(out);
      g_assert_cmpstr(out, ==, s.qr_url);
    }
    raster_free(&r);
    g_unlink(png);
    drop_file(pdf);
    g_clear_pointer(&png, g_free);
    g_clear_pointer(&pdf, g_free);
  }
}

typedef struct {
  const char *name;
  int rotate;
  gboolean crop;
} RenderCase;

/* Acceptance: rendered by poppler (pdftoppm), the stamp's ink is exactly in the asked
 * reader-space rectangle, and it is upright: the QR code reads "UP" and sits on the
 * side it was asked for. */
static void
test_stamp_rendered_position(gconstpointer data)
{
  const RenderCase *rc = data;
  const double crop[4] = {40, 70, 560, 760};
  const double rect[4] = {90, 140, 230, 90}; /* x, y, w, h as read */
  g_autoptr(GDateTime) t = signing_time();
  SigStamp s;
  SigPlacement pl;
  g_autofree char *pdf = NULL, *png = NULL;
  Raster r;
  int box[4];
  double pw, ph;
  SigPageGeometry g;
  g_autoptr(GError) error = NULL;

  if (!have_tool("pdftoppm") || !have_tool("zbarimg"))
    return;
  default_stamp(&s, t, NULL);
  pdf = make_stamped_pdf(&s, letter, rc->crop ? crop : NULL, rc->rotate, rect, &pl, NULL);
  g_assert_true(sig_page_geometry_init(&g, letter, rc->crop ? crop : NULL, rc->rotate, &error));
  sig_page_reader_size(&g, &pw, &ph);

  g_assert_true(render(pdf, 72, &r, &png)); /* 1 px = 1 pt */
  g_assert_cmpint(r.w, ==, (int)lround(pw));
  g_assert_cmpint(r.h, ==, (int)lround(ph));
  g_assert_true(ink_bbox(&r, box));
  g_test_message("%s: ink %d,%d-%d,%d", rc->name, box[0], box[1], box[2], box[3]);
  g_assert_cmpint(abs(box[0] - (int)rect[0]), <=, 1);
  g_assert_cmpint(abs(box[2] - (int)(rect[0] + rect[2])), <=, 1);
  g_assert_cmpint(abs(box[1] - (int)(ph - rect[1] - rect[3])), <=, 1);
  g_assert_cmpint(abs(box[3] - (int)(ph - rect[1])), <=, 1);
  /* QR on the left: the left square is far darker than the right square. */
  {
    int x = (int)rect[0], top = box[1], hh = (int)rect[3], ww = (int)rect[2];
    double left = dark_fraction(&r, x + 4, top + 4, x + hh - 4, top + hh - 4);
    double right = dark_fraction(&r, x + ww - hh + 4, top + 4, x + ww - 4, top + hh - 4);
    g_test_message("dark left %.3f right %.3f", left, right);
    g_assert_cmpfloat(left, >, 2 * right);
  }
  raster_free(&r);
  g_unlink(png);
  g_clear_pointer(&png, g_free);

  g_assert_true(render(pdf, 150, &r, &png));
  {
    const char *argv[] = {"zbarimg", "-q", "--xml", png, NULL};
    g_autofree char *out = run(argv, NULL);
    g_assert_nonnull(strstr(out, s.qr_url));
    g_assert_nonnull(strstr(out, "orientation='UP'"));
  }
  raster_free(&r);
  g_unlink(png);
  drop_file(pdf);
}

/* Text shrinks and wraps to fit; a box too small fails instead of clipping. */
static void
test_stamp_fit_and_errors(void)
{
  g_autoptr(GDateTime) t = signing_time();
  SigStamp s;
  TestSink ts;
  guint form;
  GError *error = NULL;
  g_autofree char *long_name = NULL;

  tsink_init(&ts, FIRST_FREE);
  default_stamp(&s, t, NULL);
  long_name = g_strnfill(300, 'W');
  s.signer_name = long_name; /* one unbreakable 300-character word */
  g_assert_true(sig_appearance_emit(&s, 300, 150, NULL, &ts.sink, &form, &error));
  g_assert_no_error(error);

  g_assert_false(sig_appearance_emit(&s, 60, 20, NULL, &ts.sink, &form, &error));
  g_assert_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
  g_assert_false(sig_appearance_emit(&s, 10, 80, NULL, &ts.sink, &form, &error));
  g_assert_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);

  default_stamp(&s, t, NULL);
  s.signer_name = "   ";
  g_assert_false(sig_appearance_emit(&s, 200, 80, NULL, &ts.sink, &form, &error));
  g_assert_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);

  /* A QR code whose modules would be under 0.5 pt: refused rather than unscannable. */
  default_stamp(&s, t, NULL);
  g_assert_false(sig_appearance_emit(&s, 200, 18, NULL, &ts.sink, &form, &error));
  g_assert_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull(strstr(error->message, "QR"));
  g_clear_error(&error);

  default_stamp(&s, t, NULL);
  s.signer_name = NULL;
  g_assert_false(sig_appearance_emit(&s, 200, 80, NULL, &ts.sink, &form, &error));
  g_assert_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);

  default_stamp(&s, t, NULL);
  s.title = "\xC3\x28 broken UTF-8";
  g_assert_false(sig_appearance_emit(&s, 200, 80, NULL, &ts.sink, &form, &error));
  g_assert_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);

  default_stamp(&s, t, NULL);
  {
    g_autofree char *reason = g_strnfill(TTE_LIMIT_SIG_TEXT_MAX_LEN + 1, 'x');
    s.reason = reason;
    g_assert_false(sig_appearance_emit(&s, 200, 80, NULL, &ts.sink, &form, &error));
    g_assert_error(error, TTE_ERROR, TTE_ERROR_LIMIT);
    g_clear_error(&error);
  }

  default_stamp(&s, t, NULL);
  s.font_path = "/nonexistent/font.ttf";
  g_assert_false(sig_appearance_emit(&s, 200, 80, NULL, &ts.sink, &form, &error));
  g_assert_error(error, TTE_ERROR, TTE_ERROR_IO);
  g_clear_error(&error);

  default_stamp(&s, t, NULL);
  {
    g_autofree char *url = g_strnfill(4000, 'a');
    s.qr_url = url;
    g_assert_false(sig_appearance_emit(&s, 200, 80, NULL, &ts.sink, &form, &error));
    g_assert_error(error, TTE_ERROR, TTE_ERROR_LIMIT);
    g_clear_error(&error);
  }
  g_ptr_array_unref(ts.objs);
}

/* A small existing field: optional lines give way, name and time stay. */
static void
test_stamp_small_field(void)
{
  g_autoptr(GDateTime) t = signing_time();
  g_autoptr(GTimeZone) tz = g_time_zone_new_identifier("+08:00");
  SigStamp s;
  const double rect[4] = {100, 100, 150, 28};
  g_autofree char *pdf = NULL;

  if (!have_tool("pdftotext"))
    return;
  default_stamp(&s, t, tz);
  pdf = make_stamped_pdf(&s, letter, NULL, 0, rect, NULL, NULL);
  {
    const char *argv[] = {"pdftotext", "-raw", pdf, "-", NULL};
    g_autofree char *out = run(argv, NULL);
    g_test_message("%s", out);
    g_assert_nonnull(strstr(out, "Iqbal"));
    g_assert_nonnull(strstr(out, "14:05 WITA"));
    g_assert_null(strstr(out, "Lokasi"));
  }
  drop_file(pdf);
}

/* With a font that lacks a character, the stamp draws '?' instead of .notdef (which
 * PDF/A-2 forbids).  The font here is one of our own subsets: A, b, space and '?'. */
static void
test_stamp_missing_glyphs(void)
{
  static const gunichar have[] = {'A', 'b', ' ', '?', '0', '1', '2', '6', ':', 'N'};
  g_autoptr(GDateTime) t = signing_time();
  g_autoptr(GError) error = NULL;
  g_autofree char *raw = NULL, *font_path = NULL, *pdf = NULL;
  gsize raw_len;
  g_autoptr(GBytes) font = NULL, sub = NULL;
  SigStamp s;
  const double rect[4] = {50, 50, 300, 100};
  int fd;

  if (!have_tool("pdftotext"))
    return;
  if (!g_file_get_contents(SIG_APPEARANCE_DEFAULT_FONT, &raw, &raw_len, NULL)) {
    g_test_skip("DejaVuSans.ttf not installed (package fonts-dejavu-core)");
    return;
  }
  font = g_bytes_new_take(g_steal_pointer(&raw), raw_len);
  sub = sig_font_subset(font, have, G_N_ELEMENTS(have), &error);
  g_assert_no_error(error);
  fd = g_file_open_tmp("tte-font-XXXXXX.ttf", &font_path, &error);
  g_assert_no_error(error);
  close(fd);
  g_assert_true(g_file_set_contents(font_path, g_bytes_get_data(sub, NULL),
                                    (gssize)g_bytes_get_size(sub), &error));
  default_stamp(&s, t, NULL);
  s.signer_name = "Abz Ab";
  s.font_path = font_path;
  pdf = make_stamped_pdf(&s, letter, NULL, 0, rect, NULL, NULL);
  {
    const char *argv[] = {"pdftotext", "-raw", pdf, "-", NULL};
    g_autofree char *out = run(argv, NULL);
    g_assert_nonnull(strstr(out, "Ab? Ab"));
  }
  g_unlink(font_path);
  drop_file(pdf);
}

/* ------------------------------------------------------------------------------ */
/* images */

static char *
write_png_color(int w, int h, gboolean alpha, double r, double g, double b)
{
  cairo_surface_t *s =
      cairo_image_surface_create(alpha ? CAIRO_FORMAT_ARGB32 : CAIRO_FORMAT_RGB24, w, h);
  cairo_t *cr = cairo_create(s);
  g_autoptr(GError) error = NULL;
  char *path;
  int fd;

  /* Transparent background, an opaque dark blue disc: flattened onto white. */
  cairo_set_source_rgba(cr, 0, 0, 0, 0);
  cairo_set_operator(cr, CAIRO_OPERATOR_SOURCE);
  cairo_paint(cr);
  if (!alpha) {
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
  }
  cairo_set_source_rgb(cr, r, g, b);
  cairo_arc(cr, w / 2.0, h / 2.0, MIN(w, h) / 2.5, 0, 2 * G_PI);
  cairo_fill(cr);
  cairo_destroy(cr);
  fd = g_file_open_tmp("tte-img-XXXXXX.png", &path, &error);
  g_assert_no_error(error);
  close(fd);
  g_assert_cmpint(cairo_surface_write_to_png(s, path), ==, CAIRO_STATUS_SUCCESS);
  cairo_surface_destroy(s);
  return path;
}

static char *
write_png(int w, int h, gboolean alpha)
{
  return write_png_color(w, h, alpha, 0, 0, 0.5);
}

static void
check_image_stamp(const char *img_path, const char *want_filter, const char *want_cs)
{
  g_autoptr(GDateTime) t = signing_time();
  SigStamp s;
  const double rect[4] = {60, 300, 320, 100};
  g_autofree char *pdf = NULL, *raw = NULL;
  Raster r;

  default_stamp(&s, t, NULL);
  s.image_path = img_path;
  pdf = make_stamped_pdf(&s, letter, NULL, 0, rect, NULL, NULL);
  g_assert_true(g_file_get_contents(pdf, &raw, NULL, NULL));
  g_assert_nonnull(strstr(raw, want_filter));
  g_assert_nonnull(strstr(raw, want_cs));
  g_assert_null(strstr(raw, "/SMask"));
  g_assert_null(strstr(raw, "/Group"));
  {
    const char *argv[] = {"qpdf", "--check", pdf, NULL};
    g_free(run(argv, NULL));
  }
  /* The disc is drawn at the right end of the stamp (QR left, text middle, image right):
   * its centre is dark blue, not white. */
  g_assert_true(render(pdf, 72, &r, NULL));
  {
    int cx = (int)(rect[0] + rect[2] - 6 - 40), cy = (int)(792 - rect[1] - rect[3] / 2);
    g_test_message("luma at image centre %u", luma(&r, cx, cy));
    g_assert_cmpuint(luma(&r, cx, cy), <, 100);
  }
  raster_free(&r);
  drop_file(pdf);
}

static void
test_image_png(void)
{
  g_autofree char *a = NULL, *b = NULL;

  if (!have_tool("pdftoppm") || !have_tool("qpdf"))
    return;
  a = write_png(120, 120, TRUE);
  check_image_stamp(a, "/FlateDecode", "/DeviceRGB");
  b = write_png(120, 120, FALSE);
  check_image_stamp(b, "/FlateDecode", "/DeviceRGB");
  g_unlink(a);
  g_unlink(b);
}

/* A big gray PNG is reduced to 300 dpi at its drawn size and stored as DeviceGray. */
static void
test_image_png_downsample(void)
{
  g_autoptr(GDateTime) t = signing_time();
  g_autofree char *png = NULL, *raw = NULL;
  g_autoptr(GError) error = NULL;
  SigStamp s;
  TestSink ts;
  guint form;
  gsize n;
  const char *w;

  png = write_png_color(2400, 1800, TRUE, 0.2, 0.2, 0.2);
  tsink_init(&ts, FIRST_FREE);
  default_stamp(&s, t, NULL);
  s.image_path = png;
  g_assert_true(sig_appearance_emit(&s, 320, 100, NULL, &ts.sink, &form, &error));
  g_assert_no_error(error);
  for (guint i = FIRST_FREE; i < ts.objs->len; i++) {
    GBytes *b = g_ptr_array_index(ts.objs, i);
    const char *o = g_bytes_get_data(b, &n);
    if (g_strstr_len(o, (gssize)MIN(n, 400), "/Subtype /Image") == NULL)
      continue;
    raw = g_strndup(o, MIN(n, 400));
  }
  g_assert_nonnull(raw);
  g_assert_nonnull(strstr(raw, "/ColorSpace /DeviceGray"));
  w = strstr(raw, "/Width ");
  g_assert_nonnull(w);
  /* drawn at most 320 * 0.3 = 96 pt wide: 400 px at 300 dpi */
  {
    guint64 px = 0;
    g_auto(GStrv) parts = g_strsplit(w + 7, " ", 2);
    g_assert_true(g_ascii_string_to_unsigned(parts[0], 10, 1, 100000, &px, NULL));
    g_assert_cmpuint(px, <=, 400);
    g_assert_cmpuint(px, >=, 300);
  }
  g_ptr_array_unref(ts.objs);
  if (have_tool("pdftoppm") && have_tool("qpdf"))
    check_image_stamp(png, "/FlateDecode", "/DeviceGray");
  g_unlink(png);
}

static void
test_image_jpeg(void)
{
  g_autofree char *pdfsrc = NULL, *prefix = NULL, *jpg = NULL;

  if (!have_tool("pdftoppm") || !have_tool("qpdf"))
    return;
  /* Make a JPEG with pdftoppm from a PDF holding a big dark rectangle. */
  {
    TestSink t;
    const double small[4] = {0, 0, 100, 100};
    tsink_init(&t, FIRST_FREE);
    pdfsrc = write_pdf(&t, small, NULL, 0, NULL, 0, "0 0 0.5 rg 10 10 80 80 re f");
    g_ptr_array_unref(t.objs);
  }
  prefix = g_strdup_printf("%s-jpg", pdfsrc);
  {
    const char *argv[] = {"pdftoppm", "-r", "72", "-jpeg", "-singlefile", pdfsrc, prefix, NULL};
    g_free(run(argv, NULL));
  }
  jpg = g_strdup_printf("%s.jpg", prefix);
  check_image_stamp(jpg, "/DCTDecode", "/DeviceRGB");
  g_unlink(jpg);
  g_unlink(pdfsrc);
}

static void
test_image_hostile(void)
{
  g_autoptr(GDateTime) t = signing_time();
  SigStamp s;
  TestSink ts;
  guint form;
  GError *error = NULL;
  /* A PNG header claiming 100000 x 100000 pixels: refused before any decoding. */
  static const guint8 huge_png[] = {
      0x89, 'P',  'N',  'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R', 0,
      1,    0x86, 0xA0, 0,   1,    0x86, 0xA0, 8,    6, 0, 0, 0,  0,   0,   0,   0,
  };
  static const guint8 trunc_png[] = {
      0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0,  0, 0, 13, 'I', 'H', 'D',
      'R',  0,   0,   0,   16,   0,    0,    0,    16, 8, 6, 0,  0,   0,
  };
  static const guint8 cmyk_jpeg[] = {
      0xFF, 0xD8, 0xFF, 0xE0, 0,    4, 'J', 'F',  0xFF, 0xC0, 0,    20, 8, 0,    16,
      0,    16,   4,    1,    0x11, 0, 2,   0x11, 0,    3,    0x11, 0,  4, 0x11, 0,
  };
  static const guint8 trunc_jpeg[] = {0xFF, 0xD8, 0xFF, 0xE0, 0, 40, 'J', 'F'};
  static const guint8 gif[] = {'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0};
  struct {
    const guint8 *data;
    gsize len;
    int code;
  } cases[] = {
      {huge_png, sizeof huge_png, TTE_ERROR_LIMIT},
      {trunc_png, sizeof trunc_png, TTE_ERROR_INVALID_ARGUMENT},
      {cmyk_jpeg, sizeof cmyk_jpeg, TTE_ERROR_NOT_SUPPORTED},
      {trunc_jpeg, sizeof trunc_jpeg, TTE_ERROR_INVALID_ARGUMENT},
      {gif, sizeof gif, TTE_ERROR_NOT_SUPPORTED},
  };

  tsink_init(&ts, FIRST_FREE);
  /* Mutated JPEG headers and PNGs: an image or an error, never a crash. */
  {
    g_autoptr(GRand) rnd = g_rand_new_with_seed(7);
    g_autofree char *png_path = write_png(40, 30, TRUE);
    g_autofree char *png = NULL;
    gsize png_len;
    g_assert_true(g_file_get_contents(png_path, &png, &png_len, NULL));
    g_unlink(png_path);
    for (guint iter = 0; iter < 150; iter++) {
      gboolean jpeg = iter % 2 == 0;
      gsize n = jpeg ? sizeof cmyk_jpeg : png_len;
      guint8 *m = g_memdup2(jpeg ? (const void *)cmyk_jpeg : (const void *)png, n);
      g_autoptr(GBytes) b = NULL;
      for (guint k = 0; k < 3; k++)
        m[g_rand_int_range(rnd, jpeg ? 2 : 8, (gint32)n)] = (guint8)g_rand_int_range(rnd, 0, 256);
      b = g_bytes_new_take(m, n);
      default_stamp(&s, t, NULL);
      s.image_data = b;
      if (!sig_appearance_emit(&s, 300, 100, NULL, &ts.sink, &form, &error))
        g_assert_nonnull(error);
      g_clear_error(&error);
    }
  }
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autoptr(GBytes) b = g_bytes_new_static(cases[i].data, cases[i].len);
    default_stamp(&s, t, NULL);
    s.image_data = b;
    g_assert_false(sig_appearance_emit(&s, 300, 100, NULL, &ts.sink, &form, &error));
    g_test_message("case %u: %s", i, error->message);
    g_assert_error(error, TTE_ERROR, cases[i].code);
    g_clear_error(&error);
  }
  g_ptr_array_unref(ts.objs);
}

static GBytes *
inflate(const guint8 *data, gsize len)
{
  g_autoptr(GZlibDecompressor) z = g_zlib_decompressor_new(G_ZLIB_COMPRESSOR_FORMAT_ZLIB);
  g_autoptr(GInputStream) mem = g_memory_input_stream_new_from_data(data, (gssize)len, NULL);
  g_autoptr(GInputStream) conv = g_converter_input_stream_new(mem, G_CONVERTER(z));
  g_autoptr(GOutputStream) out = g_memory_output_stream_new_resizable();
  g_autoptr(GError) error = NULL;

  g_assert_cmpint(
      g_output_stream_splice(out, conv, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, &error), >=, 0);
  g_assert_no_error(error);
  return g_memory_output_stream_steal_as_bytes(G_MEMORY_OUTPUT_STREAM(out));
}

/* PDF/A hygiene of everything the stamp writes: no transparency of any kind, no
 * unembedded font, no filters or constructs PDF/A-1 forbids, no ExtGState or inline
 * image in the content. */
static void
test_stamp_pdfa_hygiene(void)
{
  static const char *const banned[] = {
      "/SMask", "/Group", "/Transparency",     "/ExtGState",   "/BM ",
      "/CA ",   "/ca ",   "/LZWDecode",        "/JBIG2Decode", "/JPXDecode",
      "/OPI",   "/PS ",   "/Interpolate true", "/AA ",         "/JavaScript",
  };
  g_autoptr(GDateTime) t = signing_time();
  g_autofree char *png = write_png(64, 64, TRUE);
  g_autoptr(GError) error = NULL;
  SigStamp s;
  TestSink ts;
  guint form, fonts = 0, descriptors = 0, programs = 0;

  tsink_init(&ts, FIRST_FREE);
  default_stamp(&s, t, NULL);
  s.image_path = png;
  g_assert_true(sig_appearance_emit(&s, 320, 100, NULL, &ts.sink, &form, &error));
  g_assert_no_error(error);
  for (guint i = FIRST_FREE; i < ts.objs->len; i++) {
    gsize n;
    const char *o = g_bytes_get_data(g_ptr_array_index(ts.objs, i), &n);
    const char *st = g_strstr_len(o, (gssize)n, "\nstream\n");
    g_autofree char *dict = g_strndup(o, st != NULL ? (gsize)(st - o) : n);

    for (guint k = 0; k < G_N_ELEMENTS(banned); k++)
      if (strstr(dict, banned[k]) != NULL)
        g_error("object %u has %s: %s", i, banned[k], dict);
    if (strstr(dict, "/Type /Font ") != NULL) {
      fonts++;
      g_assert_nonnull(strstr(dict, "/Subtype /TrueType"));
      g_assert_nonnull(strstr(dict, "/FontDescriptor"));
      g_assert_nonnull(strstr(dict, "/Widths ["));
      g_assert_nonnull(strstr(dict, "/Encoding /WinAnsiEncoding"));
    }
    if (strstr(dict, "/Type /FontDescriptor") != NULL) {
      descriptors++;
      g_assert_nonnull(strstr(dict, "/FontFile2"));
      g_assert_nonnull(strstr(dict, "/Flags 32"));
    }
    if (strstr(dict, "/Length1 ") != NULL)
      programs++;
    if (strstr(dict, "/Subtype /Form") != NULL) {
      const char *data = st + 8;
      gsize dlen = n - (gsize)(data - o) - strlen("\nendstream\nendobj\n");
      g_autoptr(GBytes) cs = inflate((const guint8 *)data, dlen);
      g_autofree char *text = g_strndup(g_bytes_get_data(cs, NULL), g_bytes_get_size(cs));
      g_assert_null(strstr(text, " gs"));
      g_assert_null(strstr(text, "BI "));
      g_assert_nonnull(strstr(text, "/Im1 Do"));
      g_assert_nonnull(strstr(text, " Tj"));
    }
  }
  g_assert_cmpuint(fonts, ==, 2);
  g_assert_cmpuint(descriptors, ==, 2);
  g_assert_cmpuint(programs, ==, 2);
  g_ptr_array_unref(ts.objs);
  g_unlink(png);
}

/* ------------------------------------------------------------------------------ */
/* anchors */

static GBytes *
cairo_letter_with_anchors(guint n_anchors)
{
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  cairo_surface_t *s;
  cairo_t *cr;
  char *data;
  gsize len;
  int fd = g_file_open_tmp("tte-anchor-XXXXXX.pdf", &path, &error);

  g_assert_no_error(error);
  close(fd);
  s = cairo_pdf_surface_create(path, 595.276, 841.89);
  cr = cairo_create(s);
  cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, 12);
  cairo_move_to(cr, 72, 100);
  cairo_show_text(cr, "PEMERINTAH KABUPATEN LOMBOK TENGAH");
  /* cairo's y grows downwards: baseline 600 from the top = 241.89 from the bottom. */
  for (guint i = 0; i < n_anchors; i++) {
    cairo_move_to(cr, 350 + 10 * i, 600 + 60 * i);
    cairo_show_text(cr, "[TTE]");
  }
  cairo_show_page(cr);
  cairo_move_to(cr, 100, 200);
  cairo_show_text(cr, n_anchors > 0 ? "halaman dua [TTE]" : "halaman dua");
  cairo_destroy(cr);
  cairo_surface_destroy(s);
  g_assert_true(g_file_get_contents(path, &data, &len, NULL));
  g_unlink(path);
  return g_bytes_new_take(data, len);
}

static void
test_anchor_found(void)
{
  g_autoptr(GBytes) pdf = cairo_letter_with_anchors(2);
  guint page;
  double r[4];
  GError *error = NULL;

  g_assert_true(sig_anchor_find(pdf, "[TTE]", 0, &page, r, &error));
  g_assert_no_error(error);
  g_assert_cmpuint(page, ==, 0);
  g_test_message("anchor %g %g %g %g", r[0], r[1], r[2], r[3]);
  g_assert_cmpfloat(fabs(r[0] - 350), <, 1.5);
  g_assert_cmpfloat(r[1], <=, 841.89 - 600 + 0.5); /* box reaches the baseline */
  g_assert_cmpfloat(r[1], >, 841.89 - 600 - 5);    /* descender at most */
  g_assert_cmpfloat(r[3], >, 841.89 - 600 + 7);    /* cap height of 12 pt text */
  g_assert_cmpfloat(r[3], <, 841.89 - 600 + 14);

  g_assert_true(sig_anchor_find(pdf, "[TTE]", 1, &page, r, &error));
  g_assert_cmpuint(page, ==, 0);
  g_assert_cmpfloat(fabs(r[0] - 360), <, 1.5);
  g_assert_true(sig_anchor_find(pdf, "[TTE]", 2, &page, r, &error));
  g_assert_cmpuint(page, ==, 1);

  g_assert_false(sig_anchor_find(pdf, "[TTE]", 3, &page, r, &error));
  g_assert_error(error, TTE_ERROR, TTE_ERROR_ANCHOR_NOT_FOUND);
  g_clear_error(&error);
  g_assert_false(sig_anchor_find(pdf, "[tte]", 0, &page, r, &error)); /* case-sensitive */
  g_assert_error(error, TTE_ERROR, TTE_ERROR_ANCHOR_NOT_FOUND);
  g_clear_error(&error);
  g_assert_false(sig_anchor_find(pdf, "", 0, &page, r, &error));
  g_assert_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
}

static void
test_anchor_not_found(void)
{
  g_autoptr(GBytes) pdf = cairo_letter_with_anchors(0);
  g_autoptr(GBytes) junk = g_bytes_new_static("not a pdf at all", 16);
  guint page;
  double r[4];
  GError *error = NULL;

  g_assert_false(sig_anchor_find(pdf, "[TTE]", 0, &page, r, &error));
  g_assert_error(error, TTE_ERROR, TTE_ERROR_ANCHOR_NOT_FOUND);
  g_clear_error(&error);
  g_assert_false(sig_anchor_find(junk, "[TTE]", 0, &page, r, &error));
  g_assert_nonnull(error);
  g_assert_true(error->code == TTE_ERROR_NOT_PDF || error->code == TTE_ERROR_PDF_DAMAGED);
  g_clear_error(&error);
}

/* On a /Rotate 90 page with an offset CropBox, text drawn to read upright is found in
 * reader space: mapping poppler's box back through sig-placement lands on the user-
 * space position the text was drawn at. */
static void
test_anchor_rotated_cropped(void)
{
  const double crop[4] = {30, 50, 580, 770};
  const double ux = 300, uy = 400; /* baseline start in user space */
  TestSink t;
  g_autofree char *path = NULL, *raw = NULL, *content = NULL;
  gsize raw_len;
  g_autoptr(GBytes) pdf = NULL;
  SigPageGeometry g;
  double r[4], rx, ry;
  guint page;
  GError *error = NULL;

  /* Upright for a page turned 90° clockwise: text x runs along user +y, text up is
   * user -x. */
  content = g_strdup_printf("BT /Helv 12 Tf 0 1 -1 0 %g %g Tm ([TTE]) Tj ET", ux, uy);
  tsink_init(&t, FIRST_FREE);
  path = write_pdf(&t, letter, crop, 90, NULL, 0, content);
  g_ptr_array_unref(t.objs);
  g_assert_true(g_file_get_contents(path, &raw, &raw_len, NULL));
  pdf = g_bytes_new_take(g_steal_pointer(&raw), raw_len);
  g_unlink(path);

  g_assert_true(sig_anchor_find(pdf, "[TTE]", 0, &page, r, &error));
  g_assert_no_error(error);
  g_assert_true(sig_page_geometry_init(&g, letter, crop, 90, &error));
  sig_page_user_to_reader(&g, ux, uy, &rx, &ry);
  g_test_message("anchor %g %g %g %g, baseline start in reader space %g %g", r[0], r[1], r[2], r[3],
                 rx, ry);
  g_assert_cmpfloat(fabs(r[0] - rx), <, 1.5);
  g_assert_cmpfloat(r[1], <=, ry + 0.5);
  g_assert_cmpfloat(r[1], >, ry - 5);
  g_assert_cmpfloat(r[3], >, ry + 7);
  g_assert_cmpfloat(r[3], <, ry + 14);
}

/* The whole --anchor path: find, box, place, draw; the stamp covers the placeholder. */
static void
test_anchor_to_stamp(void)
{
  g_autoptr(GBytes) pdf = cairo_letter_with_anchors(1);
  double r[4], box[4], media[4] = {0, 0, 595.276, 841.89};
  guint page;
  SigPageGeometry g;
  SigPlacement pl;
  GError *error = NULL;

  g_assert_true(sig_anchor_find(pdf, "[TTE]", 0, &page, r, &error));
  g_assert_true(sig_page_geometry_init(&g, media, NULL, 0, &error));
  g_assert_true(sig_placement_anchor_box(&g, r, SIG_APPEARANCE_DEFAULT_WIDTH,
                                         SIG_APPEARANCE_DEFAULT_HEIGHT, box, &error));
  g_assert_true(sig_placement_from_reader_rect(&g, box[0], box[1], box[2], box[3], &pl, &error));
  g_assert_no_error(error);
  /* The stamp box contains the placeholder box. */
  g_assert_cmpfloat(pl.rect[0], <=, r[0]);
  g_assert_cmpfloat(pl.rect[2], >=, r[2]);
  g_assert_cmpfloat(pl.rect[1], <=, r[1]);
  g_assert_cmpfloat(pl.rect[3], >=, r[3] - 1e-9);
}

/* fontconfig leaks a few bytes while parsing its configuration the first time cairo's
 * toy text API (used only to draw the test letters) needs a font.  That is third-party
 * and outside the code under test; LeakSanitizer picks this hook up by name. */
const char *__lsan_default_suppressions(void);
const char *
__lsan_default_suppressions(void)
{
  return "leak:libfontconfig.so\n";
}

int
main(int argc, char **argv)
{
  static const RenderCase cases[] = {
      {"normal", 0, FALSE},      {"rotate90", 90, FALSE}, {"rotate180", 180, FALSE},
      {"rotate270", 270, FALSE}, {"cropbox", 0, TRUE},    {"rotate90-cropbox", 90, TRUE},
  };
  int rc;

  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/signer/placement/rotations", test_placement_rotations);
  g_test_add_func("/signer/placement/cropbox", test_placement_cropbox);
  g_test_add_func("/signer/placement/normalise-and-errors", test_placement_normalise_and_errors);
  g_test_add_func("/signer/placement/roundtrip", test_placement_roundtrip);
  g_test_add_func("/signer/placement/field-rect", test_placement_field_rect);
  g_test_add_func("/signer/placement/anchor-box", test_placement_anchor_box);
  g_test_add_func("/signer/appearance/qr-runs", test_qr_runs);
  g_test_add_func("/signer/appearance/time-format", test_time_format);
  g_test_add_func("/signer/appearance/font-subset", test_font_subset);
  g_test_add_func("/signer/appearance/pdf-valid", test_stamp_pdf_valid);
  g_test_add_func("/signer/appearance/qr-decodes", test_stamp_qr_decodes);
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *name = g_strdup_printf("/signer/appearance/rendered/%s", cases[i].name);
    g_test_add_data_func(name, &cases[i], test_stamp_rendered_position);
  }
  g_test_add_func("/signer/appearance/fit-and-errors", test_stamp_fit_and_errors);
  g_test_add_func("/signer/appearance/small-field", test_stamp_small_field);
  g_test_add_func("/signer/appearance/pdfa-hygiene", test_stamp_pdfa_hygiene);
  g_test_add_func("/signer/appearance/missing-glyphs", test_stamp_missing_glyphs);
  g_test_add_func("/signer/appearance/image-png", test_image_png);
  g_test_add_func("/signer/appearance/image-png-downsample", test_image_png_downsample);
  g_test_add_func("/signer/appearance/image-jpeg", test_image_jpeg);
  g_test_add_func("/signer/appearance/image-hostile", test_image_hostile);
  g_test_add_func("/signer/anchor/found", test_anchor_found);
  g_test_add_func("/signer/anchor/not-found", test_anchor_not_found);
  g_test_add_func("/signer/anchor/rotated-cropped", test_anchor_rotated_cropped);
  g_test_add_func("/signer/anchor/to-stamp", test_anchor_to_stamp);
  rc = g_test_run();
  /* cairo's toy text API (used for the test letters) keeps fontconfig state alive. */
  cairo_debug_reset_static_data();
  return rc;
}
