/* sig-visible.c — glue between the update writer and the visible-stamp modules. */
#include "sig-visible.h"

#include "sig-anchor.h"
#include "sig-appearance.h"
#include "sig-placement.h"
#include "tte-error.h"
#include "tte-limits.h"
#include "tte-mapguard.h"

#include <string.h>

static gboolean
geometry(const SigAppearanceRequest *req, guint page, SigPageGeometry *geom, GError **error)
{
  double mb[4], cb[4];
  int rot = 0;

  if (page == req->page_index) {
    memcpy(mb, req->mediabox, sizeof mb);
    memcpy(cb, req->cropbox, sizeof cb);
    rot = req->rotate;
  } else if (req->page_geometry == NULL ||
             !req->page_geometry(req->page_geometry_ctx, page, mb, cb, &rot)) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_PDF_DAMAGED, "cannot read the geometry of page %u",
                page + 1);
    return FALSE;
  }
  return sig_page_geometry_init(geom, mb, cb, rot, error);
}

/* The document as bytes for poppler's text search; a file is mapped, not copied.  The
 * mapping is guarded (tte-mapguard.h): a file shrinking under the search reads as zeros
 * instead of raising SIGBUS, and signing then reads the file again and fails on it. */
static GBytes *
document_bytes(const SigAppearanceRequest *req, GError **error)
{
  if (req->pdf_bytes != NULL)
    return g_bytes_ref(req->pdf_bytes);
  return tte_map_guard_file(req->pdf_path, NULL, error);
}

/* GTimeZone by identifier: g_time_zone_new_identifier() reads and parses the zone file
 * each time, once per stamp.  Zones are immutable; a few are kept for the process. */
static GTimeZone *
time_zone_cached(const char *id)
{
  G_LOCK_DEFINE_STATIC(zones);
  static GHashTable *zones; /* id -> GTimeZone* */
  GTimeZone *tz;

  G_LOCK(zones);
  if (zones == NULL)
    zones = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                  (GDestroyNotify)g_time_zone_unref);
  tz = g_hash_table_lookup(zones, id);
  if (tz != NULL) {
    g_time_zone_ref(tz);
  } else {
    tz = g_time_zone_new_identifier(id);
    if (tz != NULL) {
      if (g_hash_table_size(zones) >= 8)
        g_hash_table_remove_all(zones);
      g_hash_table_insert(zones, g_strdup(id), g_time_zone_ref(tz));
    }
  }
  G_UNLOCK(zones);
  return tz;
}

gboolean
sig_visible_build(SigObjSink *sink, const SigAppearanceRequest *req, SigAppearanceResult *out,
                  void *user_data, GError **error)
{
  SigPageGeometry geom;
  SigPlacement pl;
  SigStamp stamp = {0};
  g_autoptr(GTimeZone) tz = NULL;
  g_autofree char *qr = NULL;
  guint page = req->page_index;
  guint num = 0;

  if (req->existing_field) {
    if (!geometry(req, page, &geom, error) ||
        !sig_placement_from_user_rect(&geom, req->field_rect, &pl, error))
      return FALSE;
  } else if (req->anchor != NULL) {
    g_autoptr(GBytes) pdf = document_bytes(req, error);
    double found[4], box[4];
    if (pdf == NULL || !sig_anchor_find(pdf, req->anchor, 0, &page, found, error) ||
        !geometry(req, page, &geom, error) ||
        !sig_placement_anchor_box(&geom, found, SIG_APPEARANCE_DEFAULT_WIDTH,
                                  SIG_APPEARANCE_DEFAULT_HEIGHT, box, error) ||
        !sig_placement_from_reader_rect(&geom, box[0], box[1], box[2], box[3], &pl, error))
      return FALSE;
  } else if (req->have_rect) {
    if (!geometry(req, page, &geom, error) ||
        !sig_placement_from_reader_rect(&geom, req->rect[0], req->rect[1], req->rect[2],
                                        req->rect[3], &pl, error))
      return FALSE;
  } else {
    g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                "a visible signature needs --rect, --anchor or a field");
    return FALSE;
  }

  if (req->timezone != NULL) {
    tz = time_zone_cached(req->timezone);
    if (tz == NULL) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT, "unknown time zone \"%s\"",
                  req->timezone);
      return FALSE;
    }
  }
  if (req->qr_url_base != NULL)
    qr = g_strconcat(req->qr_url_base, req->document_id != NULL ? req->document_id : "", NULL);
  stamp.signer_name = req->signer_name;
  stamp.title = req->title;
  stamp.organization = req->organization;
  stamp.reason = req->reason;
  stamp.location = req->location;
  stamp.time = req->time;
  stamp.time_zone = tz;
  stamp.image_path = req->image_path;
  stamp.qr_url = qr;
  if (!sig_appearance_emit(&stamp, pl.width, pl.height, pl.matrix, sink, &num, error))
    return FALSE;
  out->page_index = page;
  memcpy(out->rect, pl.rect, sizeof out->rect);
  out->xobject_num = num;
  return TRUE;
}
