/* vfy-visual.c — pixel comparison of the signed revision with the whole file, and page
 * rendering for people.  The last line of defence behind the object-level analysis:
 * whatever the change analysis could not name, the pixels still show. */
#include "vfy-changes.h"

#include <cairo.h>
#include <errno.h>
#include <gio/gio.h>
#include <poppler.h>
#include <string.h>
#include <unistd.h>

#include "tte-error.h"
#include "tte-limits.h"
#include "vfy-pdf.h"

/* Modest resolution: enough to see a changed word, cheap enough for 50 pages. */
#define VFY_VISUAL_DPI 60.0
#define VFY_RENDER_DPI_MIN 18u
#define VFY_RENDER_DPI_MAX 150u

G_DEFINE_AUTOPTR_CLEANUP_FUNC(cairo_surface_t, cairo_surface_destroy)
/* poppler-glib 22.12 declares no autoptr cleanups for its GObjects. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PopplerPage, g_object_unref)

/* --- reading a mapped file through pread() -----------------------------------------
 *
 * Poppler reads what it renders from its input as it goes; over a GBytes it reads the
 * bytes in place, so rendering a page of a mapped file touches (and counts in the RSS)
 * every page of the mapping that the page's content and images lie in: a whole 1 GB
 * image.  When the bytes lie in the file mapping registered for this thread (vfy-pdf.h),
 * poppler reads them instead through VfyPreadStream: a GMemoryInputStream over the same
 * range, so that poppler_document_new_from_stream() takes it for a random-access buffer
 * (PopplerInputStream: reads on demand, no copy of what was read; any other GInputStream
 * goes through poppler's CachedFile, which keeps every chunk it loaded), whose read_fn
 * takes the bytes from the descriptor with pread() into one window of VFY_WINDOW_SIZE
 * bytes.  The memory stream itself keeps the position and the length (reads stop at
 * @len exactly, as over the GBytes) and never dereferences the mapping. */
typedef struct {
  GMemoryInputStream parent;
  int fd;
  goffset off;  /* file offset of the stream's byte 0 */
  gsize len;    /* bytes in the stream */
  guint8 *win;  /* VFY_WINDOW_SIZE bytes read ahead */
  gsize win_pos, win_len; /* stream offset and length of what win holds */
  gboolean failed; /* pread() failed or came back short: the file changed under us */
} VfyPreadStream;

typedef struct {
  GMemoryInputStreamClass parent_class;
} VfyPreadStreamClass;

static GType vfy_pread_stream_get_type(void);
G_DEFINE_TYPE(VfyPreadStream, vfy_pread_stream, G_TYPE_MEMORY_INPUT_STREAM)

static void
vfy_pread_stream_init(VfyPreadStream *self)
{
  self->fd = -1;
}

static void
vfy_pread_stream_finalize(GObject *object)
{
  VfyPreadStream *self = (VfyPreadStream *)object;
  g_free(self->win);
  G_OBJECT_CLASS(vfy_pread_stream_parent_class)->finalize(object);
}

/* Fill the window with the bytes from stream offset @pos on; FALSE when the file could
 * not be read. */
static gboolean
pread_window(VfyPreadStream *self, gsize pos)
{
  gsize want = MIN((gsize)VFY_WINDOW_SIZE, self->len - pos), done = 0;

  if (self->win == NULL)
    self->win = g_malloc(MIN(self->len, (gsize)VFY_WINDOW_SIZE));
  self->win_pos = pos;
  self->win_len = 0;
  while (done < want) {
    ssize_t r = pread(self->fd, self->win + done, want - done, (off_t)(self->off + (goffset)(pos + done)));
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return FALSE;
    done += (gsize)r;
  }
  self->win_len = done;
  return TRUE;
}

static gssize
vfy_pread_stream_read(GInputStream *stream, void *buffer, gsize count, GCancellable *cancellable,
                      GError **error)
{
  VfyPreadStream *self = (VfyPreadStream *)stream;
  goffset tell = g_seekable_tell(G_SEEKABLE(stream));
  gsize pos, n;

  (void)cancellable;
  if (tell < 0 || (guint64)tell >= self->len || count == 0)
    return 0;
  pos = (gsize)tell;
  if (pos < self->win_pos || pos >= self->win_pos + self->win_len) {
    if (!pread_window(self, pos)) {
      self->failed = TRUE;
      g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_FAILED, "the file cannot be read");
      return -1;
    }
  }
  n = MIN(count, self->win_pos + self->win_len - pos);
  memcpy(buffer, self->win + (pos - self->win_pos), n);
  /* The memory stream keeps the position: move it past what was read. */
  if (!g_seekable_seek(G_SEEKABLE(stream), (goffset)(pos + n), G_SEEK_SET, NULL, error))
    return -1;
  return (gssize)n;
}

static void
vfy_pread_stream_class_init(VfyPreadStreamClass *klass)
{
  G_OBJECT_CLASS(klass)->finalize = vfy_pread_stream_finalize;
  G_INPUT_STREAM_CLASS(klass)->read_fn = vfy_pread_stream_read;
}

/* A stream over [data, data + len) that lies in @m. */
static VfyPreadStream *
vfy_pread_stream_new(const VfyMapping *m, const guint8 *data, gsize len)
{
  VfyPreadStream *self = g_object_new(vfy_pread_stream_get_type(), NULL);
  g_autoptr(GBytes) range = g_bytes_new_static(data, len); /* length only: never read */

  g_memory_input_stream_add_bytes(G_MEMORY_INPUT_STREAM(self), range);
  self->fd = m->fd;
  self->off = (goffset)((guintptr)data - (guintptr)m->base);
  self->len = len;
  return self;
}

/* An open revision: the document and, when it reads a mapped file, its stream. */
typedef struct {
  PopplerDocument *doc;
  VfyPreadStream *stream; /* NULL: poppler reads the bytes in place */
} Revision;

static void
revision_clear(Revision *r)
{
  g_clear_object(&r->doc);
  g_clear_object(&r->stream);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Revision, revision_clear)

static gboolean
open_revision(Revision *r, const guint8 *data, gsize len, const char *what, GError **error)
{
  g_autoptr(GError) perr = NULL;
  const VfyMapping *m = vfy_mapping_of(data, len);

  memset(r, 0, sizeof *r);
  if (m != NULL) {
    r->stream = vfy_pread_stream_new(m, data, len);
    r->doc = poppler_document_new_from_stream(G_INPUT_STREAM(r->stream), (goffset)len, NULL, NULL,
                                              &perr);
  } else {
    /* Poppler keeps a reference; the caller's buffer outlives the document. */
    g_autoptr(GBytes) bytes = g_bytes_new_static(data, len);
    r->doc = poppler_document_new_from_bytes(bytes, NULL, &perr);
  }
  if (r->doc == NULL) {
    gboolean io = r->stream != NULL && r->stream->failed;
    revision_clear(r);
    if (io)
      g_set_error(error, TTE_ERROR, TTE_ERROR_IO, "cannot read the %s for rendering", what);
    else
      g_set_error(error, TTE_ERROR, TTE_ERROR_FORMAT, "cannot open the %s for rendering: %s", what,
                  perr != NULL ? perr->message : "unknown error");
    return FALSE;
  }
  return TRUE;
}

/* FALSE with TTE_ERROR_IO when a read of @r's file failed since it was opened: what was
 * rendered from it cannot be trusted. */
static gboolean
revision_read_ok(const Revision *r, const char *what, GError **error)
{
  if (r->stream != NULL && r->stream->failed) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_IO, "cannot read the %s for rendering", what);
    return FALSE;
  }
  return TRUE;
}

/* Render one page into a new ARGB32 surface on a white background (so that pages
 * with transparent areas compare by what a reader sees).  @printing: the paper copy
 * (annotations with the Print flag, optional content's print state); otherwise the
 * screen (annotations without NoView, the view state). */
static cairo_surface_t *
render_page(PopplerPage *page, double dpi, gboolean printing, GError **error)
{
  double w_pt = 0, h_pt = 0;
  double scale = dpi / 72.0;
  int w, h;
  cairo_surface_t *surface;
  cairo_t *cr;

  poppler_page_get_size(page, &w_pt, &h_pt);
  if (!(w_pt > 0 && h_pt > 0 && w_pt < 200000 && h_pt < 200000)) {
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_FORMAT, "page has an unusable size");
    return NULL;
  }
  w = (int)(w_pt * scale + 0.5);
  h = (int)(h_pt * scale + 0.5);
  if (w < 1)
    w = 1;
  if (h < 1)
    h = 1;
  if ((guint64)w * (guint64)h > TTE_LIMIT_IMAGE_MAX_PIXELS) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT,
                "page of %dx%d pixels exceeds TTE_LIMIT_IMAGE_MAX_PIXELS", w, h);
    return NULL;
  }
  surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, w, h);
  if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS) {
    cairo_surface_destroy(surface);
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_FAILED, "cannot allocate a page image");
    return NULL;
  }
  cr = cairo_create(surface);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_scale(cr, scale, scale);
  if (printing)
    poppler_page_render_for_printing(page, cr);
  else
    poppler_page_render(page, cr);
  cairo_destroy(cr);
  cairo_surface_flush(surface);
  return surface;
}

static gboolean
surfaces_equal(cairo_surface_t *a, cairo_surface_t *b)
{
  int w = cairo_image_surface_get_width(a), h = cairo_image_surface_get_height(a);
  int sa = cairo_image_surface_get_stride(a), sb = cairo_image_surface_get_stride(b);
  const guint8 *pa = cairo_image_surface_get_data(a), *pb = cairo_image_surface_get_data(b);

  if (w != cairo_image_surface_get_width(b) || h != cairo_image_surface_get_height(b))
    return FALSE;
  if (pa == NULL || pb == NULL)
    return FALSE;
  /* Same renderer, same input bytes for unchanged content: no tolerance needed. */
  for (int y = 0; y < h; y++)
    if (memcmp(pa + (gsize)y * (gsize)sa, pb + (gsize)y * (gsize)sb, (gsize)w * 4u) != 0)
      return FALSE;
  return TRUE;
}

typedef struct {
  int x0, y0, x1, y1; /* pixels, x1/y1 exclusive */
  gboolean placed;    /* a field placed before signing: its old appearance may go */
} PixArea;

/* Compare two renderings of one page.  Differences inside @areas are excused where the
 * signed rendering @b is blank there: a later stamp may fill empty space only. */
static gboolean
page_differs(cairo_surface_t *b, cairo_surface_t *a, const GArray *areas)
{
  int w = cairo_image_surface_get_width(b), h = cairo_image_surface_get_height(b);
  int sb = cairo_image_surface_get_stride(b), sa = cairo_image_surface_get_stride(a);
  const guint8 *pb = cairo_image_surface_get_data(b), *pa = cairo_image_surface_get_data(a);

  if (areas == NULL || areas->len == 0)
    return !surfaces_equal(b, a);
  if (w != cairo_image_surface_get_width(a) || h != cairo_image_surface_get_height(a) || pb == NULL ||
      pa == NULL)
    return TRUE;
  for (int y = 0; y < h; y++) {
    const guint32 *rb = (const guint32 *)(const void *)(pb + (gsize)y * (gsize)sb);
    const guint32 *ra = (const guint32 *)(const void *)(pa + (gsize)y * (gsize)sa);
    if (memcmp(rb, ra, (gsize)w * 4u) == 0)
      continue;
    for (int x = 0; x < w; x++) {
      gboolean excused = FALSE;
      if (rb[x] == ra[x])
        continue;
      for (guint k = 0; k < areas->len && !excused; k++) {
        const PixArea *ar = &g_array_index(areas, PixArea, k);
        /* The signed page was white here: the stamp covers nothing that was signed. */
        excused = x >= ar->x0 && x < ar->x1 && y >= ar->y0 && y < ar->y1 &&
                  (rb[x] == 0xFFFFFFFFu || ar->placed);
      }
      if (!excused)
        return TRUE;
    }
  }
  return FALSE;
}

/* TRUE when the paper copy of @page can differ from the screen: an annotation that one
 * of them draws and the other does not.  Poppler draws an annotation unless it is Hidden,
 * or printing and it lacks Print, or on screen and it has NoView; these flags are the
 * only part of the choice that depends on printing. */
static gboolean
page_has_mode_dependent_annots(PopplerPage *page)
{
  GList *mapping = poppler_page_get_annot_mapping(page);
  gboolean dependent = FALSE;

  for (GList *l = mapping; l != NULL && !dependent; l = l->next) {
    const PopplerAnnotMapping *m = l->data;
    PopplerAnnotFlag f = poppler_annot_get_flags(m->annot);
    if ((f & POPPLER_ANNOT_FLAG_HIDDEN) != 0)
      continue;
    if ((f & POPPLER_ANNOT_FLAG_PRINT) == 0 || (f & POPPLER_ANNOT_FLAG_NO_VIEW) != 0)
      dependent = TRUE;
  }
  poppler_page_free_annot_mapping(mapping);
  return dependent;
}

/* TRUE when the document has optional content (layers), whose print and view states
 * may differ: such pages are always rendered both ways. */
static gboolean
has_optional_content(PopplerDocument *doc)
{
  PopplerLayersIter *it = poppler_layers_iter_new(doc);

  if (it == NULL)
    return FALSE;
  poppler_layers_iter_free(it);
  return TRUE;
}

/* The areas of page @idx, in a w x h rendering, that allowed changes may draw on. */
static GArray *
excused_areas(const GPtrArray *changes, guint idx, int w, int h)
{
  GArray *areas = g_array_new(FALSE, FALSE, sizeof(PixArea));

  for (guint k = 0; changes != NULL && k < changes->len; k++) {
    const VfyChange *c = g_ptr_array_index(changes, k);
    PixArea ar;
    if (!c->allowed || !c->has_area || c->area_page != idx)
      continue;
    /* One pixel of slack for antialiased stamp borders. */
    ar.x0 = MAX((int)(c->area[0] * w) - 1, 0);
    ar.y0 = MAX((int)(c->area[1] * h) - 1, 0);
    ar.x1 = MIN((int)(c->area[2] * w + 0.999) + 1, w);
    ar.y1 = MIN((int)(c->area[3] * h + 0.999) + 1, h);
    ar.placed = c->area_was_placed;
    g_array_append_val(areas, ar);
  }
  return areas;
}

static gboolean diff_pages(const guint8 *data, gsize len, gsize signed_len, guint max_pages,
                           const GPtrArray *changes, GArray **out_pages, gboolean *out_capped,
                           GError **error);

gboolean
vfy_visual_diff(const guint8 *data, gsize len, gsize signed_len, guint max_pages,
                GArray **out_pages, gboolean *out_capped, GError **error)
{
  return diff_pages(data, len, signed_len, max_pages, NULL, out_pages, out_capped, error);
}

gboolean
vfy_visual_diff_allowing(const guint8 *data, gsize len, gsize signed_len, guint max_pages,
                         const GPtrArray *changes, GArray **out_pages, gboolean *out_capped,
                         GError **error)
{
  return diff_pages(data, len, signed_len, max_pages, changes, out_pages, out_capped, error);
}

static gboolean
diff_pages(const guint8 *data, gsize len, gsize signed_len, guint max_pages,
           const GPtrArray *changes, GArray **out_pages, gboolean *out_capped, GError **error)
{
  g_auto(Revision) before = { 0 };
  g_auto(Revision) after = { 0 };
  g_autoptr(GArray) pages = NULL;
  int n_before, n_after, n_max;
  gboolean capped = FALSE, layers;

  g_return_val_if_fail(out_pages != NULL && out_capped != NULL, FALSE);
  *out_pages = NULL;
  *out_capped = FALSE;
  if (data == NULL || signed_len == 0 || signed_len > len) {
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                        "signed length lies outside the file");
    return FALSE;
  }
  if (max_pages == 0 || max_pages > TTE_LIMIT_VISUAL_DIFF_PAGES)
    max_pages = TTE_LIMIT_VISUAL_DIFF_PAGES;

  if (!open_revision(&before, data, signed_len, "signed revision", error))
    return FALSE;
  if (!open_revision(&after, data, len, "whole file", error))
    return FALSE;

  pages = g_array_new(FALSE, FALSE, sizeof(guint));
  layers = has_optional_content(before.doc) || has_optional_content(after.doc);
  n_before = poppler_document_get_n_pages(before.doc);
  n_after = poppler_document_get_n_pages(after.doc);
  n_max = MAX(n_before, n_after);
  for (int i = 0; i < n_max; i++) {
    g_autoptr(PopplerPage) pb = NULL;
    g_autoptr(PopplerPage) pa = NULL;
    g_autoptr(cairo_surface_t) sb = NULL;
    g_autoptr(cairo_surface_t) sa = NULL;
    guint idx = (guint)i;

    if (idx >= max_pages) {
      capped = TRUE;
      break;
    }
    /* A page that exists on one side only is a difference without rendering. */
    if (i >= n_before || i >= n_after) {
      g_array_append_val(pages, idx);
      continue;
    }
    pb = poppler_document_get_page(before.doc, i);
    pa = poppler_document_get_page(after.doc, i);
    if (pb == NULL || pa == NULL) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_FORMAT, "page %d cannot be loaded", i + 1);
      return FALSE;
    }
    /* Paper and screen: an annotation can be drawn in one and not the other (Print and
     * NoView flags), so a change hidden from one rendering must still show in the other.
     * Where no annotation on either side and no layer can tell the two apart, the screen
     * alone is compared: printing keeps large images at up to 8192 pixels, which cost a
     * 1 GB scan ~100 MB. */
    g_autoptr(GArray) areas = NULL; /* the same for both renderings: same page, same size */
    for (int mode = layers || page_has_mode_dependent_annots(pb) || page_has_mode_dependent_annots(pa) ? 0 : 1;
         mode < 2; mode++) {
      int w, h;

      g_clear_pointer(&sb, cairo_surface_destroy);
      g_clear_pointer(&sa, cairo_surface_destroy);
      sb = render_page(pb, VFY_VISUAL_DPI, mode == 0, error);
      if (sb == NULL)
        return FALSE;
      sa = render_page(pa, VFY_VISUAL_DPI, mode == 0, error);
      if (sa == NULL)
        return FALSE;
      if (!revision_read_ok(&before, "signed revision", error) ||
          !revision_read_ok(&after, "whole file", error))
        return FALSE;
      w = cairo_image_surface_get_width(sb);
      h = cairo_image_surface_get_height(sb);
      if (areas == NULL)
        areas = excused_areas(changes, idx, w, h);
      if (page_differs(sb, sa, areas)) {
        g_array_append_val(pages, idx);
        break;
      }
    }
  }
  if (!revision_read_ok(&before, "signed revision", error) ||
      !revision_read_ok(&after, "whole file", error))
    return FALSE;
  *out_pages = g_steal_pointer(&pages);
  *out_capped = capped;
  return TRUE;
}

typedef struct {
  GByteArray *buf;
  gboolean too_big;
} PngSink;

static cairo_status_t
png_write(void *closure, const unsigned char *data, unsigned int length)
{
  PngSink *s = closure;
  /* The PNG of a capped-size page cannot exceed this; bound it anyway. */
  if (s->buf->len + (guint64)length > TTE_LIMIT_IMAGE_MAX_SIZE * 8u) {
    s->too_big = TRUE;
    return CAIRO_STATUS_WRITE_ERROR;
  }
  g_byte_array_append(s->buf, data, length);
  return CAIRO_STATUS_SUCCESS;
}

GBytes *
vfy_render_page_png(const guint8 *data, gsize len, gsize revision_len, guint page_index, guint dpi,
                    GError **error)
{
  g_auto(Revision) doc = { 0 };
  g_autoptr(PopplerPage) page = NULL;
  g_autoptr(cairo_surface_t) surface = NULL;
  PngSink sink = { 0 };
  cairo_status_t st;

  if (data == NULL || revision_len == 0 || revision_len > len) {
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                        "revision length lies outside the file");
    return NULL;
  }
  dpi = CLAMP(dpi, VFY_RENDER_DPI_MIN, VFY_RENDER_DPI_MAX);
  if (!open_revision(&doc, data, revision_len, "revision", error))
    return NULL;
  if (page_index >= (guint)MAX(poppler_document_get_n_pages(doc.doc), 0)) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT, "page %u does not exist",
                page_index + 1);
    return NULL;
  }
  page = poppler_document_get_page(doc.doc, (int)page_index);
  if (page == NULL) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_FORMAT, "page %u cannot be loaded", page_index + 1);
    return NULL;
  }
  surface = render_page(page, (double)dpi, TRUE, error);
  if (surface == NULL || !revision_read_ok(&doc, "revision", error))
    return NULL;
  sink.buf = g_byte_array_new();
  st = cairo_surface_write_to_png_stream(surface, png_write, &sink);
  if (st != CAIRO_STATUS_SUCCESS) {
    g_byte_array_unref(sink.buf);
    g_set_error(error, TTE_ERROR, sink.too_big ? TTE_ERROR_LIMIT : TTE_ERROR_FAILED,
                "cannot encode the page as PNG: %s", cairo_status_to_string(st));
    return NULL;
  }
  return g_byte_array_free_to_bytes(sink.buf);
}
