/* sig-anchor.c — text-anchor placement via poppler; see sig-anchor.h. */
#include "sig-anchor.h"

#include <poppler.h>
#include <string.h>

#include "tte-error.h"
#include "tte-limits.h"

static GMutex open_lock;
/* poppler-glib makes its GlobalParams (font configuration, built-in tables) when the
 * first document opens and destroys them when the last one closes: in the service, with
 * one search per signature, that was a third of the search.  One tiny document kept
 * open for the life of the process keeps them.  Guarded by open_lock. */
static PopplerDocument *keeper;

static void
keep_global_params(void)
{
  static const char *const objs[] = {
      "<< /Type /Catalog /Pages 2 0 R >>",
      "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
      "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 1 1] >>",
  };
  GString *pdf;
  gsize offs[G_N_ELEMENTS(objs)];
  gsize xref;

  if (keeper != NULL)
    return;
  pdf = g_string_new("%PDF-1.4\n");
  for (gsize i = 0; i < G_N_ELEMENTS(objs); i++) {
    offs[i] = pdf->len;
    g_string_append_printf(pdf, "%" G_GSIZE_FORMAT " 0 obj\n%s\nendobj\n", i + 1, objs[i]);
  }
  xref = pdf->len;
  g_string_append_printf(pdf, "xref\n0 %" G_GSIZE_FORMAT "\n0000000000 65535 f \n",
                         G_N_ELEMENTS(objs) + 1);
  for (gsize i = 0; i < G_N_ELEMENTS(objs); i++)
    g_string_append_printf(pdf, "%010" G_GSIZE_FORMAT " 00000 n \n", offs[i]);
  g_string_append_printf(pdf,
                         "trailer\n<< /Size %" G_GSIZE_FORMAT " /Root 1 0 R >>\nstartxref\n%"
                         G_GSIZE_FORMAT "\n%%EOF\n",
                         G_N_ELEMENTS(objs) + 1, xref);
  {
    g_autoptr(GBytes) b = g_string_free_to_bytes(pdf);
    keeper = poppler_document_new_from_bytes(b, NULL, NULL);
  }
}

static void
free_rects(GList *l)
{
  g_list_free_full(l, (GDestroyNotify)poppler_rectangle_free);
}

gboolean
sig_anchor_find(GBytes *pdf, const char *text, guint occurrence, guint *page_index,
                double reader_rect[4], GError **error)
{
  PopplerDocument *doc; /* poppler-glib 22.12 has no g_autoptr support */
  g_autoptr(GError) perr = NULL;
  guint seen = 0;
  int n_pages;

  if (text == NULL || *text == '\0' || strlen(text) > SIG_ANCHOR_TEXT_MAX_LEN ||
      !g_utf8_validate(text, -1, NULL)) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                "anchor text must be 1 to %u bytes of UTF-8", SIG_ANCHOR_TEXT_MAX_LEN);
    return FALSE;
  }
  if (g_bytes_get_size(pdf) > TTE_LIMIT_PDF_MAX_SIZE) {
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_LIMIT, "PDF exceeds TTE_LIMIT_PDF_MAX_SIZE");
    return FALSE;
  }
  /* poppler-glib creates its process-wide GlobalParams lazily, unguarded, when the
   * first document is opened; the service searches anchors from several threads. */
  g_mutex_lock(&open_lock);
  keep_global_params();
  doc = poppler_document_new_from_bytes(pdf, NULL, &perr);
  g_mutex_unlock(&open_lock);
  if (doc == NULL) {
    int code = TTE_ERROR_NOT_PDF;
    if (g_error_matches(perr, POPPLER_ERROR, POPPLER_ERROR_ENCRYPTED))
      code = TTE_ERROR_PDF_ENCRYPTED;
    else if (g_error_matches(perr, POPPLER_ERROR, POPPLER_ERROR_DAMAGED))
      code = TTE_ERROR_PDF_DAMAGED;
    g_set_error(error, TTE_ERROR, code, "cannot search the PDF for the anchor: %s", perr->message);
    return FALSE;
  }
  n_pages = poppler_document_get_n_pages(doc);
  if (n_pages < 0 || (guint)n_pages > TTE_LIMIT_PDF_MAX_PAGES) {
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_LIMIT,
                        "PDF has more pages than TTE_LIMIT_PDF_MAX_PAGES");
    g_object_unref(doc);
    return FALSE;
  }
  for (int i = 0; i < n_pages; i++) {
    PopplerPage *page = poppler_document_get_page(doc, i);
    GList *matches;
    guint n;

    if (page == NULL)
      continue;
    matches = poppler_page_find_text_with_options(page, text, POPPLER_FIND_CASE_SENSITIVE);
    g_object_unref(page);
    n = g_list_length(matches);
    if (occurrence - seen < n) {
      /* poppler already reports matches in reader space: its text page is laid out
       * with the page's /Rotate applied, origin at the CropBox, y flipped upwards. */
      const PopplerRectangle *r = g_list_nth_data(matches, occurrence - seen);
      reader_rect[0] = MIN(r->x1, r->x2);
      reader_rect[1] = MIN(r->y1, r->y2);
      reader_rect[2] = MAX(r->x1, r->x2);
      reader_rect[3] = MAX(r->y1, r->y2);
      *page_index = (guint)i;
      free_rects(matches);
      g_object_unref(doc);
      return TRUE;
    }
    seen += n;
    free_rects(matches);
  }
  g_object_unref(doc);
  if (seen == 0)
    g_set_error(error, TTE_ERROR, TTE_ERROR_ANCHOR_NOT_FOUND, "anchor text \"%s\" not found", text);
  else
    g_set_error(error, TTE_ERROR, TTE_ERROR_ANCHOR_NOT_FOUND,
                "anchor text \"%s\" occurs %u times; occurrence %u (0-based) does not exist", text,
                seen, occurrence);
  return FALSE;
}
