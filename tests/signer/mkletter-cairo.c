/* mkletter-cairo.c — write a one-page A4 "surat dinas" with cairo's PDF backend, as one of
 * the real producers the signer is tested against.  Usage: mkletter-cairo OUT.pdf [PAGES] */
#include <cairo-pdf.h>
#include <cairo.h>
#include <glib.h>

int
main(int argc, char **argv)
{
  cairo_surface_t *s;
  cairo_t *cr;
  guint64 pages = 1;

  if (argc < 2)
    return 2;
  if (argc > 2 && (!g_ascii_string_to_unsigned(argv[2], 10, 1, 500, &pages, NULL)))
    return 2;
  s = cairo_pdf_surface_create(argv[1], 595.28, 841.89);
  cr = cairo_create(s);
  for (guint64 p = 0; p < pages; p++) {
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, 14);
    cairo_move_to(cr, 72, 90);
    cairo_show_text(cr, "PEMERINTAH KOTA CONTOH — DINAS KOMUNIKASI DAN INFORMATIKA");
    cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 11);
    cairo_move_to(cr, 72, 140);
    cairo_show_text(cr, "Nomor: 800/123/Diskominfo/2026        Perihal: Undangan Rapat");
    cairo_move_to(cr, 72, 180);
    cairo_show_text(
        cr,
        "Dengan hormat, bersama ini kami mengundang Bapak/Ibu untuk hadir pada rapat koordinasi.");
    cairo_move_to(cr, 380, 640);
    cairo_show_text(cr, "[TTE]");
    cairo_rectangle(cr, 72, 100, 451, 1);
    cairo_fill(cr);
    cairo_show_page(cr);
  }
  cairo_destroy(cr);
  cairo_surface_finish(s);
  cairo_surface_destroy(s);
  return 0;
}
