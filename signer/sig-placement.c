/* sig-placement.c — page geometry for the visible stamp; see sig-placement.h. */
#include "sig-placement.h"

#include <math.h>
#include <string.h>

#include "tte-error.h"

/* Slack for rectangles computed by callers in floating point (e.g. from a page size
 * read as a real number): a stamp 0.001 pt past the edge is still "inside". */
#define SIG_PLACEMENT_TOLERANCE 0.01

static gboolean
box_from_array(const double a[4], SigBox *out)
{
  for (int i = 0; i < 4; i++)
    if (!isfinite(a[i]))
      return FALSE;
  out->x0 = MIN(a[0], a[2]);
  out->x1 = MAX(a[0], a[2]);
  out->y0 = MIN(a[1], a[3]);
  out->y1 = MAX(a[1], a[3]);
  return TRUE;
}

gboolean
sig_page_geometry_init(SigPageGeometry *geom, const double media_box[4], const double crop_box[4],
                       int rotate, GError **error)
{
  SigBox media, crop;

  if (rotate % 90 != 0) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_PDF_UNSUPPORTED,
                "page /Rotate %d is not a multiple of 90", rotate);
    return FALSE;
  }
  if (!box_from_array(media_box, &media)) {
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_PDF_UNSUPPORTED,
                        "page /MediaBox is not a finite rectangle");
    return FALSE;
  }
  /* A CropBox reaching past the MediaBox is clipped to it (ISO 32000-1, 14.11.2). */
  if (crop_box != NULL) {
    if (!box_from_array(crop_box, &crop)) {
      g_set_error_literal(error, TTE_ERROR, TTE_ERROR_PDF_UNSUPPORTED,
                          "page /CropBox is not a finite rectangle");
      return FALSE;
    }
    geom->visible.x0 = MAX(media.x0, crop.x0);
    geom->visible.y0 = MAX(media.y0, crop.y0);
    geom->visible.x1 = MIN(media.x1, crop.x1);
    geom->visible.y1 = MIN(media.y1, crop.y1);
  } else {
    geom->visible = media;
  }
  if (!(geom->visible.x1 > geom->visible.x0) || !(geom->visible.y1 > geom->visible.y0)) {
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_PDF_UNSUPPORTED,
                        "the page's visible area (CropBox within MediaBox) is empty");
    return FALSE;
  }
  rotate %= 360;
  if (rotate < 0)
    rotate += 360;
  geom->rotate = rotate;
  return TRUE;
}

void
sig_page_reader_size(const SigPageGeometry *geom, double *width, double *height)
{
  double w = geom->visible.x1 - geom->visible.x0;
  double h = geom->visible.y1 - geom->visible.y0;

  if (geom->rotate == 90 || geom->rotate == 270) {
    *width = h;
    *height = w;
  } else {
    *width = w;
    *height = h;
  }
}

/* /Rotate turns the page clockwise for display, so walking right/up on the screen
 * walks along a different user-space axis per rotation:
 *   0:   right = +x, up = +y, origin (x0, y0)
 *   90:  right = +y, up = -x, origin (x1, y0)
 *   180: right = -x, up = -y, origin (x1, y1)
 *   270: right = -y, up = +x, origin (x0, y1) */
void
sig_page_reader_to_user(const SigPageGeometry *geom, double rx, double ry, double *ux, double *uy)
{
  const SigBox *v = &geom->visible;

  switch (geom->rotate) {
  case 90:
    *ux = v->x1 - ry;
    *uy = v->y0 + rx;
    break;
  case 180:
    *ux = v->x1 - rx;
    *uy = v->y1 - ry;
    break;
  case 270:
    *ux = v->x0 + ry;
    *uy = v->y1 - rx;
    break;
  default:
    *ux = v->x0 + rx;
    *uy = v->y0 + ry;
    break;
  }
}

void
sig_page_user_to_reader(const SigPageGeometry *geom, double ux, double uy, double *rx, double *ry)
{
  const SigBox *v = &geom->visible;

  switch (geom->rotate) {
  case 90:
    *rx = uy - v->y0;
    *ry = v->x1 - ux;
    break;
  case 180:
    *rx = v->x1 - ux;
    *ry = v->y1 - uy;
    break;
  case 270:
    *rx = v->y1 - uy;
    *ry = ux - v->x0;
    break;
  default:
    *rx = ux - v->x0;
    *ry = uy - v->y0;
    break;
  }
}

/* The Form is drawn upright in [0 0 w h]; to look upright after the page is turned
 * clockwise by R for display it must be turned counter-clockwise by R in user space.
 * The translation keeps the turned BBox at the origin, so BBox-after-Matrix has the
 * widget's size and the annotation's fit-to-/Rect step (ISO 32000-1, 12.5.5) is a
 * pure translation: no scaling distorts the stamp. */
static void
set_matrix(SigPlacement *p)
{
  double w = p->width, h = p->height;
  // clang-format off
  double m[4][6] = {
    { 1, 0, 0, 1, 0, 0 },
    { 0, 1, -1, 0, h, 0 },
    { -1, 0, 0, -1, w, h },
    { 0, -1, 1, 0, 0, w },
  };
  // clang-format on
  memcpy(p->matrix, m[p->rotate / 90], sizeof p->matrix);
}

gboolean
sig_placement_from_reader_rect(const SigPageGeometry *geom, double x, double y, double width,
                               double height, SigPlacement *out, GError **error)
{
  double pw, ph, ux0, uy0, ux1, uy1;

  if (!isfinite(x) || !isfinite(y) || !isfinite(width) || !isfinite(height) || !(width > 0) ||
      !(height > 0)) {
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                        "stamp rectangle must have a positive width and height");
    return FALSE;
  }
  sig_page_reader_size(geom, &pw, &ph);
  if (x < -SIG_PLACEMENT_TOLERANCE || y < -SIG_PLACEMENT_TOLERANCE ||
      x + width > pw + SIG_PLACEMENT_TOLERANCE || y + height > ph + SIG_PLACEMENT_TOLERANCE) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                "stamp rectangle %g,%g,%g,%g lies outside the visible page (%g x %g pt)", x, y,
                width, height, pw, ph);
    return FALSE;
  }
  sig_page_reader_to_user(geom, x, y, &ux0, &uy0);
  sig_page_reader_to_user(geom, x + width, y + height, &ux1, &uy1);
  out->rect[0] = MIN(ux0, ux1);
  out->rect[1] = MIN(uy0, uy1);
  out->rect[2] = MAX(ux0, ux1);
  out->rect[3] = MAX(uy0, uy1);
  out->width = width;
  out->height = height;
  out->rotate = geom->rotate;
  set_matrix(out);
  return TRUE;
}

gboolean
sig_placement_from_user_rect(const SigPageGeometry *geom, const double rect[4], SigPlacement *out,
                             GError **error)
{
  SigBox b;

  if (!box_from_array(rect, &b) || !(b.x1 > b.x0) || !(b.y1 > b.y0)) {
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                        "the field's /Rect is empty or not a finite rectangle");
    return FALSE;
  }
  out->rect[0] = b.x0;
  out->rect[1] = b.y0;
  out->rect[2] = b.x1;
  out->rect[3] = b.y1;
  if (geom->rotate == 90 || geom->rotate == 270) {
    out->width = b.y1 - b.y0;
    out->height = b.x1 - b.x0;
  } else {
    out->width = b.x1 - b.x0;
    out->height = b.y1 - b.y0;
  }
  out->rotate = geom->rotate;
  set_matrix(out);
  return TRUE;
}

gboolean
sig_placement_anchor_box(const SigPageGeometry *geom, const double anchor[4], double width,
                         double height, double out[4], GError **error)
{
  SigBox a;
  double pw, ph;

  if (!box_from_array(anchor, &a) || !isfinite(width) || !isfinite(height) || !(width > 0) ||
      !(height > 0)) {
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                        "anchor rectangle or stamp size is not usable");
    return FALSE;
  }
  sig_page_reader_size(geom, &pw, &ph);
  if (width > pw || height > ph) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                "stamp of %g x %g pt does not fit on the visible page (%g x %g pt)", width, height,
                pw, ph);
    return FALSE;
  }
  out[0] = CLAMP(a.x0, 0.0, pw - width);
  out[1] = CLAMP(a.y1 - height, 0.0, ph - height);
  out[2] = width;
  out[3] = height;
  return TRUE;
}
