/* vfy-visual.c — pixel comparison of the signed revision with the whole file.
 * First milestone: the API links and fails honestly until rendering lands. */
#include "vfy-changes.h"

#include "tte-error.h"

gboolean
vfy_visual_diff(const guint8 *data, gsize len, gsize signed_len, guint max_pages,
                GArray **out_pages, gboolean *out_capped, GError **error)
{
  g_set_error_literal(error, TTE_ERROR, TTE_ERROR_NOT_SUPPORTED,
                      "visual comparison is not implemented yet");
  return FALSE;
}

GBytes *
vfy_render_page_png(const guint8 *data, gsize len, gsize revision_len, guint page_index, guint dpi,
                    GError **error)
{
  g_set_error_literal(error, TTE_ERROR, TTE_ERROR_NOT_SUPPORTED,
                      "page rendering is not implemented yet");
  return NULL;
}
