/* sig-placement.h — where a visible signature stamp goes on a page.
 *
 * Pure geometry, no PDF parsing: the caller (the update writer) reads the page's
 * MediaBox, CropBox and /Rotate (inherited through the page tree) and hands them in.
 *
 * Two coordinate systems:
 *  - user space: the page's own PDF coordinates (what /Rect, /MediaBox are written in);
 *  - reader space: points from the bottom-left corner of the page *as a reader sees
 *    it*, i.e. of the visible area (CropBox ∩ MediaBox) after the page's /Rotate has
 *    turned it clockwise.  `--rect X,Y,W,H` and poppler's find-text results
 *    (sig-anchor.h) are in reader space.
 *
 * The stamp's appearance is a Form XObject drawn upright in its own space
 * [0 0 width height] (reader-space size); SigPlacement carries the widget /Rect and
 * the Form's /Matrix that together make it appear upright where it was asked for.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  double x0, y0, x1, y1; /* normalised: x0 < x1, y0 < y1 */
} SigBox;

typedef struct {
  SigBox visible; /* CropBox ∩ MediaBox in user space */
  int rotate;     /* 0, 90, 180 or 270: clockwise turn applied when displaying */
} SigPageGeometry;

typedef struct {
  double rect[4];   /* widget /Rect in user space: llx lly urx ury */
  double matrix[6]; /* the appearance Form XObject's /Matrix */
  double width;     /* the Form's /BBox is [0 0 width height]: the stamp as read */
  double height;
  int rotate; /* normalised page rotation, for sig_appearance_emit() */
} SigPlacement;

/* Build the geometry of a page.  @media_box and @crop_box are PDF rectangles as found
 * in the file (any two opposite corners); @crop_box may be NULL when the page has none.
 * @rotate is the page's /Rotate (inherited), any multiple of 90, negative allowed.
 * Fails with TTE_ERROR_PDF_UNSUPPORTED when the rotation is not a multiple of 90 or
 * the visible area is empty or not finite. */
gboolean sig_page_geometry_init(SigPageGeometry *geom, const double media_box[4],
                                const double crop_box[4], int rotate,
                                GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Width and height of the visible page as the reader sees it (rotation applied). */
void sig_page_reader_size(const SigPageGeometry *geom, double *width, double *height);

/* Map a reader-space point to user space, and back. */
void sig_page_reader_to_user(const SigPageGeometry *geom, double rx, double ry, double *ux,
                             double *uy);
void sig_page_user_to_reader(const SigPageGeometry *geom, double ux, double uy, double *rx,
                             double *ry);

/* Placement for a stamp at reader-space rectangle (@x, @y, @width, @height): `--page N
 * --rect X,Y,W,H`.  The rectangle must have a positive size and lie inside the visible
 * page (a tolerance of 0.01 pt is allowed for rounding); otherwise
 * TTE_ERROR_INVALID_ARGUMENT. */
gboolean sig_placement_from_reader_rect(const SigPageGeometry *geom, double x, double y,
                                        double width, double height, SigPlacement *out,
                                        GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Placement for an existing field's widget /Rect (user space, any two corners): the
 * /Rect is kept as it is and the stamp is drawn upright inside it.  Fails
 * (TTE_ERROR_INVALID_ARGUMENT) on an empty or non-finite rectangle. */
gboolean sig_placement_from_user_rect(const SigPageGeometry *geom, const double rect[4],
                                      SigPlacement *out, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Reader-space box of @width x @height for a text anchor found at reader-space
 * rectangle @anchor (x0 y0 x1 y1, e.g. from sig_anchor_find()): the box's top-left
 * corner is put at the anchor's top-left corner, then the box is moved (not
 * shrunk) to lie inside the visible page.  Fails (TTE_ERROR_INVALID_ARGUMENT) when
 * the box is larger than the page.  @out is x, y, width, height. */
gboolean sig_placement_anchor_box(const SigPageGeometry *geom, const double anchor[4], double width,
                                  double height, double out[4],
                                  GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
