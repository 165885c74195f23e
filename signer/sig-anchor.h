/* sig-anchor.h — find a text placeholder such as "[TTE]" where the stamp should go.
 *
 * Uses poppler's text extraction (poppler_page_find_text_with_options), so the anchor
 * is found as a reader would see it, whatever the producer did to the content stream.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Bytes of an anchor text. */
#define SIG_ANCHOR_TEXT_MAX_LEN 256u

/* Search @pdf (the whole file) for @text (UTF-8, case-sensitive) and return its
 * @occurrence-th match (0 = the first) in document order: pages in order, and on a
 * page in poppler's reading order (top to bottom).
 * On success *@page_index is the 0-based page and @reader_rect (x0 y0 x1 y1) the
 * match's box in reader space — points from the bottom-left corner of the visible
 * page as displayed (CropBox origin, /Rotate applied), the same space as
 * sig_placement_from_reader_rect() and sig_placement_anchor_box() take.
 * Errors: TTE_ERROR_ANCHOR_NOT_FOUND (no such match), TTE_ERROR_INVALID_ARGUMENT
 * (empty/overlong/non-UTF-8 text), TTE_ERROR_NOT_PDF / TTE_ERROR_PDF_ENCRYPTED /
 * TTE_ERROR_PDF_DAMAGED (poppler cannot open it), TTE_ERROR_LIMIT (too many pages). */
gboolean sig_anchor_find(GBytes *pdf, const char *text, guint occurrence, guint *page_index,
                         double reader_rect[4], GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
