/* sample-letter — draw a realistic demo letter (surat dinas) as a PDF with cairo.
 *
 * The letter has a kop surat, nomor/lampiran/perihal, a body and a signature block
 * with a "[TTE]" placeholder where the visible stamp goes.  Used by the demo, the tests
 * (a cairo-produced letter) and the benchmarks (--pages, --noise-kb for big files).
 * All names are fictional. */
#include <cairo-pdf.h>
#include <cairo.h>
#include <glib.h>
#include <stdio.h>

#define A4_W 595.276
#define A4_H 841.89

static void
text(cairo_t *cr, double x, double y, double size, gboolean bold, const char *s)
{
  cairo_select_font_face(cr, "DejaVu Serif", CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
  cairo_move_to(cr, x, y);
  cairo_show_text(cr, s);
}

static void
centered(cairo_t *cr, double y, double size, gboolean bold, const char *s)
{
  cairo_text_extents_t ext;

  cairo_select_font_face(cr, "DejaVu Serif", CAIRO_FONT_SLANT_NORMAL,
                         bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
  cairo_text_extents(cr, s, &ext);
  text(cr, (A4_W - ext.x_advance) / 2 + 30, y, size, bold, s);
}

/* Wrap @para into lines no wider than @width; returns the next y. */
static double
paragraph(cairo_t *cr, double x, double y, double width, const char *para)
{
  g_auto(GStrv) words = g_strsplit(para, " ", -1);
  g_autoptr(GString) line = g_string_new(NULL);

  cairo_select_font_face(cr, "DejaVu Serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, 11);
  for (guint i = 0; words[i] != NULL; i++) {
    g_autofree char *candidate =
      line->len ? g_strdup_printf("%s %s", line->str, words[i]) : g_strdup(words[i]);
    cairo_text_extents_t ext;
    cairo_text_extents(cr, candidate, &ext);
    if (ext.x_advance > width && line->len) {
      text(cr, x, y, 11, FALSE, line->str);
      y += 16;
      g_string_assign(line, words[i]);
    } else {
      g_string_assign(line, candidate);
    }
  }
  if (line->len) {
    text(cr, x, y, 11, FALSE, line->str);
    y += 16;
  }
  return y + 6;
}

static void
letterhead(cairo_t *cr)
{
  /* A simple emblem: a shield drawn with paths (no image needed). */
  cairo_set_source_rgb(cr, 0.1, 0.35, 0.2);
  cairo_move_to(cr, 60, 40);
  cairo_line_to(cr, 110, 40);
  cairo_line_to(cr, 110, 80);
  cairo_curve_to(cr, 110, 100, 85, 110, 85, 112);
  cairo_curve_to(cr, 85, 110, 60, 100, 60, 80);
  cairo_close_path(cr);
  cairo_fill(cr);
  cairo_set_source_rgb(cr, 0.95, 0.8, 0.2);
  cairo_arc(cr, 85, 70, 12, 0, 2 * G_PI);
  cairo_fill(cr);
  cairo_set_source_rgb(cr, 0, 0, 0);

  centered(cr, 55, 14, TRUE, "PEMERINTAH KABUPATEN LOMBOK TIMUR");
  centered(cr, 75, 16, TRUE, "DINAS KOMUNIKASI DAN INFORMATIKA");
  centered(cr, 92, 9.5, FALSE, "Jalan Contoh Nomor 1, Selong, Lombok Timur 83612 (alamat fiktif)");
  centered(cr, 105, 9.5, FALSE, "Laman: contoh.lomboktimurkab.invalid  Pos-el: kominfo@contoh.invalid");
  cairo_set_line_width(cr, 2.5);
  cairo_move_to(cr, 50, 118);
  cairo_line_to(cr, A4_W - 50, 118);
  cairo_stroke(cr);
  cairo_set_line_width(cr, 0.8);
  cairo_move_to(cr, 50, 122);
  cairo_line_to(cr, A4_W - 50, 122);
  cairo_stroke(cr);
}

static void
noise_page(cairo_t *cr, guint kb)
{
  /* Incompressible pixels so that the file really grows (benchmarks). */
  guint side = 16;
  while ((side * side * 4) / 1024 < kb)
    side *= 2;
  while ((side * side * 4) / 1024 > kb * 2 && side > 16)
    side /= 2;
  {
    cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)side, (int)side);
    guint32 *px = (guint32 *)cairo_image_surface_get_data(img);
    int stride = cairo_image_surface_get_stride(img) / 4;
    GRand *rand = g_rand_new_with_seed(42);
    for (guint y = 0; y < side; y++)
      for (guint x = 0; x < side; x++)
        px[y * (guint)stride + x] = g_rand_int(rand) & 0xffffff;
    cairo_surface_mark_dirty(img);
    cairo_save(cr);
    cairo_translate(cr, 50, 150);
    cairo_scale(cr, 400.0 / side, 400.0 / side);
    cairo_set_source_surface(cr, img, 0, 0);
    cairo_paint(cr);
    cairo_restore(cr);
    g_rand_free(rand);
    cairo_surface_destroy(img);
  }
}

int
main(int argc, char **argv)
{
  gint pages = 1;
  gint noise_kb = 0;
  const char *anchor = "[TTE]";
  g_autoptr(GError) error = NULL;
  GOptionEntry entries[] = {
    { "pages", 0, 0, G_OPTION_ARG_INT, &pages, "number of pages (default 1)", "N" },
    { "noise-kb", 0, 0, G_OPTION_ARG_INT, &noise_kb,
      "add pages with about KB kilobytes of incompressible image each (default 0)", "KB" },
    { NULL },
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new("OUT.pdf — draw a demo letter");
  cairo_surface_t *surface;
  cairo_t *cr;
  double y;

  g_option_context_add_main_entries(ctx, entries, NULL);
  if (!g_option_context_parse(ctx, &argc, &argv, &error) || argc != 2 || pages < 1 ||
      pages > 10000 || noise_kb < 0 || noise_kb > 1024 * 1024) {
    fprintf(stderr, "sample-letter: %s\nUsage: sample-letter OUT.pdf [--pages N] [--noise-kb KB]\n",
            error ? error->message : "bad arguments");
    return 2;
  }
  surface = cairo_pdf_surface_create(argv[1], A4_W, A4_H);
  cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, "Undangan Rapat Koordinasi");
  cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_AUTHOR,
                                 "Dinas Komunikasi dan Informatika (DEMO)");
  cr = cairo_create(surface);
  cairo_set_source_rgb(cr, 0, 0, 0);

  letterhead(cr);
  text(cr, A4_W - 220, 150, 11, FALSE, "Selong, 27 November 2026");
  text(cr, 50, 175, 11, FALSE, "Nomor      : 000.1.2/123/Kominfo/XI/2026");
  text(cr, 50, 191, 11, FALSE, "Sifat        : Biasa");
  text(cr, 50, 207, 11, FALSE, "Lampiran  : -");
  text(cr, 50, 223, 11, FALSE, "Perihal     : Undangan Rapat Koordinasi Tanda Tangan Elektronik");
  text(cr, 50, 255, 11, FALSE, "Yth. Kepala Perangkat Daerah");
  text(cr, 50, 271, 11, FALSE, "se-Kabupaten Lombok Timur");
  text(cr, 50, 287, 11, FALSE, "di -");
  text(cr, 80, 303, 11, TRUE, "Tempat");
  y = 335;
  y = paragraph(cr, 50, y, A4_W - 100,
                "Dalam rangka penerapan tanda tangan elektronik pada naskah dinas di lingkungan "
                "Pemerintah Kabupaten Lombok Timur, dengan hormat kami mengundang Bapak/Ibu untuk "
                "menghadiri rapat koordinasi yang akan dilaksanakan pada:");
  text(cr, 80, y, 11, FALSE, "hari, tanggal : Kamis, 3 Desember 2026");
  text(cr, 80, y + 16, 11, FALSE, "pukul            : 09.00 WITA s.d. selesai");
  text(cr, 80, y + 32, 11, FALSE, "tempat          : Ruang Rapat Dinas Komunikasi dan Informatika");
  y += 56;
  y = paragraph(cr, 50, y, A4_W - 100,
                "Mengingat pentingnya acara dimaksud, kami mohon kehadiran Bapak/Ibu tepat pada "
                "waktunya. Demikian undangan ini kami sampaikan, atas perhatian dan kehadirannya "
                "kami ucapkan terima kasih.");
  text(cr, 330, y + 20, 11, FALSE, "Sekretaris Dinas,");
  text(cr, 330, y + 50, 11, FALSE, anchor);
  text(cr, 330, y + 120, 11, TRUE, "Baiq Nurul Aini, S.Kom.");
  text(cr, 330, y + 136, 11, FALSE, "Pembina (IV/a) — DEMO");
  text(cr, 50, A4_H - 40, 8, FALSE,
       "Dokumen ini ditandatangani secara elektronik. Contoh fiktif untuk demo TTE.");
  cairo_show_page(cr);

  for (gint p = 1; p < pages || (noise_kb > 0 && p == 1 && pages == 1); p++) {
    g_autofree char *footer = g_strdup_printf("Halaman %d", p + 1);
    letterhead(cr);
    if (noise_kb > 0)
      noise_page(cr, (guint)noise_kb);
    else
      paragraph(cr, 50, 160, A4_W - 100, "Lampiran: daftar undangan dan susunan acara (contoh).");
    text(cr, A4_W / 2 - 20, A4_H - 40, 9, FALSE, footer);
    cairo_show_page(cr);
    if (pages == 1)
      break;
  }

  cairo_destroy(cr);
  cairo_surface_finish(surface);
  if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS) {
    fprintf(stderr, "sample-letter: cannot write %s: %s\n", argv[1],
            cairo_status_to_string(cairo_surface_status(surface)));
    cairo_surface_destroy(surface);
    return 1;
  }
  cairo_surface_destroy(surface);
  return 0;
}
