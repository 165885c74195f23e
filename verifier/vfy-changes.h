/* vfy-changes.h — what changed in a PDF after a signature, and whether it is allowed.
 *
 * The signed revision is the file's first @signed_len bytes (the end of the signature's
 * ByteRange).  Every object that the later revisions add, change or free is compared
 * with the signed revision and classified.  Only what the whitelist explains is
 * allowed; everything else makes the signature TOTAL-FAILED.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  VFY_MDP_NONE = 0, /* no DocMDP: approval signatures */
  VFY_MDP_P1 = 1,   /* no changes */
  VFY_MDP_P2 = 2,   /* form fill-in, signing */
  VFY_MDP_P3 = 3,   /* P2 + annotations */
} VfyMdpLevel;

typedef struct {
  /* Stable machine id, e.g. "signature-added", "dss-added", "doc-timestamp-added",
   * "form-filled", "annotation-added", "page-content-changed", "page-tree-changed",
   * "catalog-changed", "object-freed", "object-repointed", "resources-changed",
   * "annotation-on-page-changed", "signature-field-after-certification",
   * "locked-field-changed" (a field this signature locked with FieldMDP or /Lock),
   * "xref-only-revision", "trailing-data", "unexplained-change". */
  char *classification;
  gboolean allowed;  /* TRUE when the whitelist (and the MDP level) explains it */
  guint obj_num;     /* 0 when not about one object */
  guint obj_gen;
  guint revision;    /* 1-based index of the revision that made the change */
  char *detail_en;   /* one sentence for people */
  char *detail_id;   /* the same in Bahasa Indonesia */
  /* Added: where a new signature's widget paints, for the masked visual comparison.
   * has_area is FALSE for everything but visible signature widgets and allowed annotations.  area is
   * (left, top, right, bottom) as fractions 0..1 of the page as displayed (after
   * /Rotate, CropBox), origin at the top left; page is 0-based. */
  gboolean has_area;
  guint area_page;
  double area[4];
  /* Added: the area belongs to a signature field that was already placed when this
   * signature was made (signing it may replace its placeholder appearance), so the
   * masked comparison excuses every difference inside it, blank or not. */
  gboolean area_was_placed;
} VfyChange;

void vfy_change_free(VfyChange *c);

typedef struct {
  guint max_revisions; /* default TTE_LIMIT_PDF_MAX_REVISIONS */
  guint max_objects;   /* objects compared per revision; default TTE_LIMIT_PDF_MAX_OBJECTS */
  guint max_depth;     /* default TTE_LIMIT_PDF_MAX_DEPTH */
} VfyChangeLimits;

/* Compare the whole file @data/@len with its prefix of @signed_len bytes.  Returns a
 * GPtrArray of VfyChange* (empty when nothing changed after signing), or NULL with
 * @error (TTE_ERROR_FORMAT or TTE_ERROR_LIMIT naming the limit) when the structure
 * cannot be analysed — which the caller must treat as a failure, never as "no changes".
 * @limits may be NULL for the defaults.
 * VfyChange.revision counts the revisions appended after the signed one (1 = the first
 * update after signing).  Findings not about one object (trailing data, an xref-only
 * revision, a broken chain) have obj_num 0.  The classifications and the whitelist are
 * described in docs/attacks.md. */
GPtrArray *vfy_changes_analyse(const guint8 *data, gsize len, gsize signed_len, VfyMdpLevel mdp,
                               const VfyChangeLimits *limits,
                               GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Render every page (up to @max_pages) of the signed revision and of the whole file with
 * poppler and compare pixels.  *out_pages receives the 0-based indexes of pages that
 * differ (and pages added or removed); *out_capped is TRUE when @max_pages cut the
 * comparison short.  Returns FALSE with @error when rendering fails. */
gboolean vfy_visual_diff(const guint8 *data, gsize len, gsize signed_len, guint max_pages,
                         GArray **out_pages, gboolean *out_capped,
                         GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Like vfy_visual_diff, but knows what the change analysis allowed: inside the area of
 * each allowed change in @changes (VfyChange* from vfy_changes_analyse, has_area set)
 * a difference is excused only where the signed revision shows a blank area there —
 * a later signature's stamp may fill empty space, never cover signed content (the
 * Sneaky Signature on approval signatures).  Every other difference is reported.
 * @changes may be NULL (then this is vfy_visual_diff). */
gboolean vfy_visual_diff_allowing(const guint8 *data, gsize len, gsize signed_len, guint max_pages,
                                  const GPtrArray *changes, GArray **out_pages, gboolean *out_capped,
                                  GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Render page @page_index (0-based) of the revision made of the first @revision_len bytes
 * of @data (pass @len for the whole file) at @dpi (clamped to 18..150) as PNG bytes.  For
 * the citizen web page: "what the signer saw" next to "what the file shows now".
 * Returns a new GBytes, or NULL with @error (TTE_ERROR_FORMAT when poppler cannot open
 * the revision, TTE_ERROR_INVALID_ARGUMENT for a page that does not exist,
 * TTE_ERROR_LIMIT when the page would exceed TTE_LIMIT_IMAGE_MAX_PIXELS). */
GBytes *vfy_render_page_png(const guint8 *data, gsize len, gsize revision_len, guint page_index,
                            guint dpi, GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
