/* sig-appearance.h — the visible signature stamp as a PDF Form XObject.
 *
 * The stamp says who signed, in which office, when (in the configured time zone,
 * Indonesian month names), why and where, with an optional image (Pemda logo or a
 * scanned signature) and an optional QR code carrying a verification URL.
 *
 * PDF/A safety: a PDF/A input must stay PDF/A after signing, so everything this
 * module writes is self-contained and opaque: fonts are embedded (subset TrueType,
 * /FontFile2, WinAnsiEncoding, /ToUnicode), images are opaque (alpha is flattened onto
 * white, no /SMask), no transparency group, no /ExtGState, colours DeviceGray (text,
 * QR, frame) and DeviceGray/DeviceRGB (images; an RGB image needs the RGB output
 * intent that nearly every PDF/A file carries), and no .notdef glyph is drawn (a
 * character the font lacks shows as '?').  PNG images are re-encoded at no more than
 * 300 dpi at the size they are drawn; JPEG goes in unchanged (/DCTDecode).
 */
#pragma once

#include <glib.h>

#include "sig-objsink.h"

G_BEGIN_DECLS

typedef enum {
  SIG_QR_LEFT = 0,
  SIG_QR_RIGHT,
} SigQrPosition;

/* Everything shown in the stamp.  Strings are UTF-8 (validated; characters outside
 * Windows-1252 are shown as '?').  Only @signer_name and @time are required. */
typedef struct {
  const char *signer_name;    /* from the certificate, overridable by the caller */
  const char *title;          /* jabatan, or NULL */
  const char *organization;   /* OPD, or NULL */
  const char *reason;         /* or NULL: shown as "Alasan: …" */
  const char *location;       /* or NULL: shown as "Lokasi: …" */
  GDateTime *time;            /* the signing time (the same instant as /M) */
  GTimeZone *time_zone;       /* zone the time is shown in; NULL = @time's own zone */
  const char *timezone_label; /* e.g. "WITA"; NULL = from the offset (WIB/WITA/WIT/UTC±hh:mm) */
  const char *image_path;     /* PNG or JPEG file, or NULL */
  GBytes *image_data;         /* the same from memory (used when @image_path is NULL) */
  const char *qr_url;         /* verification URL, or NULL for no QR code */
  SigQrPosition qr_position;
  const char *font_path;      /* TrueType font; NULL = SIG_APPEARANCE_DEFAULT_FONT */
  const char *bold_font_path; /* for the name; NULL = the regular font when @font_path is
                               * set, else SIG_APPEARANCE_DEFAULT_BOLD_FONT if it exists */
} SigStamp;

#define SIG_APPEARANCE_DEFAULT_FONT "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
#define SIG_APPEARANCE_DEFAULT_BOLD_FONT "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"

/* Default stamp size for placements that do not give one (text anchors), in points.
 * 64 pt high: the stamp hangs down from the placeholder's top into the gap a letter
 * leaves for a wet signature (about 70 pt between "[TTE]" and the printed name in the
 * demo letter), so it must not be taller or it covers the name. */
#define SIG_APPEARANCE_DEFAULT_WIDTH 200.0
#define SIG_APPEARANCE_DEFAULT_HEIGHT 64.0

/* Write the stamp's Form XObject (/BBox [0 0 @width @height], /Matrix for the page's
 * @rotate, see sig-placement.h) and every object it depends on (fonts with their
 * embedded font programs, image XObject) through @sink.  On success
 * *@out_xobject_num is the Form's object number, for the widget's /AP << /N n 0 R >>.
 * @matrix is SigPlacement.matrix (NULL = identity).
 * Layout: text shrinks (10 pt down to 5 pt) and wraps to fit; if it still does not fit,
 * location, reason, the header line, organization and title are left out in that
 * order — the name and the time always stay.
 * Errors: TTE_ERROR_INVALID_ARGUMENT (missing name/time, box too small for name and
 * time at the minimum font size, bad UTF-8), TTE_ERROR_LIMIT (image, font or text over its
 * limit), TTE_ERROR_IO (unreadable file), TTE_ERROR_NOT_SUPPORTED (image kind or font
 * format we do not handle), or whatever the sink reports. */
gboolean sig_appearance_emit(const SigStamp *stamp, double width, double height,
                             const double matrix[6], SigObjSink *sink, guint *out_xobject_num,
                             GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* "27 November 2026 14:05 WITA": @time shown in @tz (NULL = its own zone), Indonesian
 * month name, @label or the zone name derived from the offset.  Caller frees. */
char *sig_appearance_format_time(GDateTime *time, GTimeZone *tz, const char *label);

/* Check an uploaded stamp image the way sig_appearance_emit() will use it (size and
 * pixel limits, PNG decodes, JPEG is baseline/progressive 8-bit gray or RGB), so the
 * service can refuse a bad image when it is uploaded rather than at signing time.
 * On success *@width and *@height are its pixel size (either may be NULL).
 * Errors as for sig_appearance_emit()'s image. */
gboolean sig_appearance_check_image(GBytes *image, guint *width, guint *height,
                                    GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* --- exposed for tests ------------------------------------------------------------ */

/* One horizontal run of dark QR modules: row @y (0 = top), columns @x .. @x+@len-1. */
typedef struct {
  guint x, y, len;
} SigQrRun;

/* Merge the dark modules of a @size x @size QR symbol (libqrencode layout: one byte per
 * module, bit 0 set = dark, rows top to bottom) into runs, row by row, left to right.
 * Returns a GArray of SigQrRun (caller frees). */
GArray *sig_qr_runs(const guint8 *modules, guint size);

/* Subset the TrueType font in @font (not copied; a whole .ttf file) to the glyphs
 * that the Unicode code points @chars (@n_chars of them) map to, plus .notdef and the
 * components of composite glyphs.  The result keeps glyf, loca (long), hmtx, hhea,
 * maxp, head, cvt, fpgm, prep and a fresh (3,1) format 4 cmap for @chars.
 * Errors: TTE_ERROR_NOT_SUPPORTED (not a TrueType-outline font, no Unicode cmap),
 * TTE_ERROR_INVALID_ARGUMENT (truncated or inconsistent tables). */
GBytes *sig_font_subset(GBytes *font, const gunichar *chars, gsize n_chars,
                        GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
