/* sig-hook.h — the seam between the update writer and the visible-stamp builder.
 *
 * The writer (sig-pdf.c) calls a SigAppearanceFunc once per signature when the caller
 * asked for a visible signature (page + rectangle, an anchor text, or an existing field
 * with a non-empty /Rect).  The function emits its objects (the /AP /N form XObject and
 * whatever it references: fonts, images, QR drawing) through the SigObjSink and returns
 * the XObject's object number and the widget /Rect in the page's default user space.
 *
 * When no appearance function is available the writer gives the widget an empty /AP /N
 * form XObject (a zero-size box for invisible signatures), which PDF 2.0 §12.7.4.5 and
 * PAdES viewers accept.
 */
#pragma once

#include <glib.h>

#include "sig-objsink.h"

G_BEGIN_DECLS

/* Geometry of page @page_index (0-based) of the document being signed: boxes as in
 * SigAppearanceRequest.  FALSE when the page does not exist. */
typedef gboolean (*SigPageGeometryFunc)(void *ctx, guint page_index, double mediabox[4],
                                        double cropbox[4], int *rotate);

typedef struct {
  /* the document being signed, for text search and rendering (exactly one is set) */
  const char *pdf_path;
  GBytes *pdf_bytes;

  /* where: page_index (0-based) and its geometry, read by the writer from the page
   * tree with inheritance resolved.  Boxes are [x1 y1 x2 y2]; rotate is 0/90/180/270. */
  guint page_index;
  double mediabox[4];
  double cropbox[4];
  int rotate;
  /* the same for any page (an anchor may be found on another page) */
  SigPageGeometryFunc page_geometry;
  void *page_geometry_ctx;
  guint page_count;

  /* what the caller asked for (any may be unset) */
  gboolean have_rect;
  double rect[4];          /* x, y, width, height as the reader sees the page (--rect) */
  const char *anchor;      /* text to look for, e.g. "[TTE]" (--anchor) */
  const char *image_path;  /* stamp image (--image) */
  const char *qr_url_base; /* QR target: qr_url_base + document_id */
  const char *document_id;
  const char *timezone; /* for the printed time, e.g. "Asia/Jakarta" */

  /* text for the stamp */
  const char *signer_name; /* from the certificate's CN when not given */
  const char *title;        /* from the certificate's title when not given */
  const char *organization; /* the OPD: the certificate's OU (else O) when not given */
  const char *reason;
  const char *location;
  GDateTime *time;

  /* filling an existing field: its /Rect (x1 y1 x2 y2) on page_index */
  gboolean existing_field;
  double field_rect[4];
} SigAppearanceRequest;

typedef struct {
  guint page_index;  /* the page the widget goes on (an anchor may choose it) */
  double rect[4];    /* widget /Rect, default user space, x1 y1 x2 y2 */
  guint xobject_num; /* the /AP /N form XObject, emitted through the sink */
} SigAppearanceResult;

/* Emit the appearance for @req through @sink.  Returns FALSE with @error on failure
 * (e.g. TTE_ERROR_ANCHOR_NOT_FOUND); nothing it emitted is written then. */
typedef gboolean (*SigAppearanceFunc)(SigObjSink *sink, const SigAppearanceRequest *req,
                                      SigAppearanceResult *out, void *user_data, GError **error);

G_END_DECLS
