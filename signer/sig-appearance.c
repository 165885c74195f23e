/* sig-appearance.c — the visible signature stamp; see sig-appearance.h.
 *
 * Why our own TrueType subsetter rather than cairo's PDF surface: the stamp has to be
 * written as objects of *our* incremental update through SigObjSink.  Importing a
 * cairo-made page would mean parsing cairo's output, renumbering every reference and
 * then auditing it for the transparency groups, /SMask and Type 3 fallbacks cairo may
 * choose on its own (all fatal for PDF/A).  A subsetter that keeps only glyf/loca/hmtx
 * entries of the glyphs we draw is a few hundred lines, reads the font only through
 * TteCursor, and produces exactly the objects we intend: a simple TrueType font,
 * WinAnsiEncoding, /Widths, /FontFile2, /ToUnicode.  WinAnsi (one byte per character)
 * covers Indonesian names and titles; anything outside it shows as '?'.
 */
#include "sig-appearance.h"

#include <cairo.h>
#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <math.h>
#include <qrencode.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tte-cursor.h"
#include "tte-error.h"
#include "tte-limits.h"

/* Layout constants (points unless said otherwise). */
#define STAMP_MAX_FONT_SIZE 10.0
#define STAMP_MIN_FONT_SIZE 5.0 /* still legible on a printed letter */
#define STAMP_FONT_STEP 0.25
#define STAMP_LEADING 1.18 /* line height / font size */
#define STAMP_ASCENT 0.93  /* baseline below the line top, / font size */
#define STAMP_QR_QUIET 4   /* modules of white around the symbol (ISO 18004) */
#define STAMP_MIN_TEXT_WIDTH 24.0
#define STAMP_IMAGE_DPI 300.0   /* resolution PNG stamp images are reduced to */
#define STAMP_QR_MIN_MODULE 0.5 /* pt: two dots at 300 dpi; smaller will not scan from paper */

/* ------------------------------------------------------------------------------ */
/* small helpers */

static GBytes *
read_file_bounded(const char *path, gsize max, const char *what, GError **error)
{
  struct stat st;
  g_autoptr(GByteArray) buf = NULL;
  int fd;

  fd = g_open(path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) {
    int e = errno;
    g_set_error(error, TTE_ERROR, TTE_ERROR_IO, "cannot open %s %s: %s", what, path, g_strerror(e));
    return NULL;
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_IO, "%s %s is not a regular file", what, path);
    close(fd);
    return NULL;
  }
  if ((guint64)st.st_size > max) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT, "%s %s is larger than %" G_GSIZE_FORMAT " bytes",
                what, path, max);
    close(fd);
    return NULL;
  }
  /* The file may grow between fstat() and read(): the loop enforces the cap itself. */
  buf = g_byte_array_sized_new((guint)st.st_size + 1);
  for (;;) {
    guint8 chunk[65536];
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      int e = errno;
      g_set_error(error, TTE_ERROR, TTE_ERROR_IO, "cannot read %s %s: %s", what, path,
                  g_strerror(e));
      close(fd);
      return NULL;
    }
    if (n == 0)
      break;
    if (buf->len + (gsize)n > max) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT,
                  "%s %s is larger than %" G_GSIZE_FORMAT " bytes", what, path, max);
      close(fd);
      return NULL;
    }
    g_byte_array_append(buf, chunk, (guint)n);
  }
  close(fd);
  return g_byte_array_free_to_bytes(g_steal_pointer(&buf));
}

static gboolean
cur_u16(TteCursor *c, guint16 *out)
{
  const guint8 *p;
  if (!tte_cursor_get_bytes(c, 2, &p))
    return FALSE;
  *out = (guint16)((p[0] << 8) | p[1]);
  return TRUE;
}

static gboolean
cur_u32(TteCursor *c, guint32 *out)
{
  const guint8 *p;
  if (!tte_cursor_get_bytes(c, 4, &p))
    return FALSE;
  *out = ((guint32)p[0] << 24) | ((guint32)p[1] << 16) | ((guint32)p[2] << 8) | p[3];
  return TRUE;
}

static void
put_u16(GByteArray *a, guint v)
{
  guint8 b[2] = {(guint8)(v >> 8), (guint8)v};
  g_byte_array_append(a, b, 2);
}

static void
put_u32(GByteArray *a, guint32 v)
{
  guint8 b[4] = {(guint8)(v >> 24), (guint8)(v >> 16), (guint8)(v >> 8), (guint8)v};
  g_byte_array_append(a, b, 4);
}

static void
set_u16(guint8 *p, guint v)
{
  p[0] = (guint8)(v >> 8);
  p[1] = (guint8)v;
}

static void
set_u32(guint8 *p, guint32 v)
{
  p[0] = (guint8)(v >> 24);
  p[1] = (guint8)(v >> 16);
  p[2] = (guint8)(v >> 8);
  p[3] = (guint8)v;
}

/* A PDF real: fixed notation (PDF has no exponents), at most 3 decimals, no "-0". */
static void
append_num(GString *s, double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  gsize n;

  if (!isfinite(v) || fabs(v) < 0.0005)
    v = 0;
  /* Fast path (a stamp has a few thousand numbers): thousandths by integer arithmetic
   * when v * 1000 is clearly not halfway between two integers, where printf's exact
   * rounding could differ from ours; printf otherwise. */
  if (fabs(v) < 1e9) {
    double x = v * 1000.0, r = nearbyint(x);
    if (fabs(fabs(x - r) - 0.5) > 1e-6) {
      gint64 t = (gint64)r;
      guint64 a = (guint64)(t < 0 ? -t : t);
      guint frac = (guint)(a % 1000);
      if (a == 0) {
        g_string_append_c(s, '0');
        return;
      }
      {
        char d[24];
        gsize i = sizeof d;
        guint64 ip = a / 1000;
        do {
          d[--i] = (char)('0' + ip % 10);
          ip /= 10;
        } while (ip > 0);
        if (t < 0)
          d[--i] = '-';
        g_string_append_len(s, d + i, (gssize)(sizeof d - i));
      }
      if (frac != 0) {
        char d[5] = {'.', (char)('0' + frac / 100), (char)('0' + frac / 10 % 10),
                     (char)('0' + frac % 10), '\0'};
        for (int i = 3; i > 0 && d[i] == '0'; i--)
          d[i] = '\0';
        g_string_append(s, d);
      }
      return;
    }
  }
  g_ascii_formatd(buf, sizeof buf, "%.3f", v);
  n = strlen(buf);
  while (n > 0 && buf[n - 1] == '0')
    buf[--n] = '\0';
  if (n > 0 && buf[n - 1] == '.')
    buf[--n] = '\0';
  if (strcmp(buf, "-0") == 0)
    g_strlcpy(buf, "0", sizeof buf);
  g_string_append(s, buf);
}

static void
append_nums(GString *s, const double *v, guint n)
{
  for (guint i = 0; i < n; i++) {
    if (i > 0)
      g_string_append_c(s, ' ');
    append_num(s, v[i]);
  }
}

/* zlib levels.  Font subsets (made once, then cached) and stamp images keep the smallest
 * encoding; the streams drawn anew for every stamp (content stream with the QR code,
 * ToUnicode) the fastest: on the QR content stream level 1 is about four times quicker
 * than 9 for ~20 % more bytes (1.9 KB instead of 1.6 KB), a few hundred bytes in a
 * signed file of tens of KB. */
#define FLATE_BEST 9
#define FLATE_FAST 1

/* One-shot zlib compression into a buffer sized for the worst case (deflateBound's
 * stored-block overhead plus slack), without GIO streams in between. */
static GBytes *
flate(const guint8 *data, gsize len, int level, GError **error)
{
  g_autoptr(GZlibCompressor) z = g_zlib_compressor_new(G_ZLIB_COMPRESSOR_FORMAT_ZLIB, level);
  gsize cap = len + len / 8 + len / 64 + 64;
  guint8 *out = g_malloc(cap);
  gsize in_done = 0, out_done = 0;

  for (;;) {
    gsize r = 0, w = 0;
    GConverterResult res =
        g_converter_convert(G_CONVERTER(z), data + in_done, len - in_done, out + out_done,
                            cap - out_done, G_CONVERTER_INPUT_AT_END, &r, &w, error);
    if (res == G_CONVERTER_ERROR) {
      g_free(out);
      return NULL;
    }
    in_done += r;
    out_done += w;
    if (res == G_CONVERTER_FINISHED)
      break;
    /* Cannot happen with the bound above; stay correct (and finite) anyway. */
    if (cap - out_done < 64 || (r == 0 && w == 0)) {
      cap *= 2;
      out = g_realloc(out, cap);
    }
  }
  return g_bytes_new_take(out, out_done);
}

static gboolean
sink_emit_stream(SigObjSink *sink, guint num, const char *dict, GBytes *data, GError **error)
{
  gsize len;
  const guint8 *p = g_bytes_get_data(data, &len);
  return sink->emit(sink, num, dict, p != NULL ? p : (const guint8 *)"", len, error);
}

/* ------------------------------------------------------------------------------ */
/* WinAnsiEncoding (ISO 32000-1, Annex D): 0x20-0x7E ASCII, 0xA0-0xFF Latin-1, and
 * these code points in 0x80-0x9F (0 = unassigned). */

// clang-format off
static const gunichar winansi_80[32] = {
  0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
  0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0,      0x017D, 0,
  0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
  0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178,
};
// clang-format on

static gunichar
winansi_to_unicode(guint8 code)
{
  if (code >= 0x20 && code <= 0x7E)
    return code;
  if (code >= 0xA0)
    return code;
  if (code >= 0x80 && code <= 0x9F)
    return winansi_80[code - 0x80];
  return 0;
}

static guint8
unicode_to_winansi(gunichar u)
{
  if ((u >= 0x20 && u <= 0x7E) || (u >= 0xA0 && u <= 0xFF))
    return (guint8)u;
  for (guint i = 0; i < G_N_ELEMENTS(winansi_80); i++)
    if (winansi_80[i] != 0 && winansi_80[i] == u)
      return (guint8)(0x80 + i);
  if (g_unichar_isspace(u))
    return ' ';
  return '?';
}

/* UTF-8 → WinAnsi bytes (NUL-terminated).  NFC first, so that "e" + combining acute
 * becomes the single é WinAnsi has. */
static char *
utf8_to_winansi(const char *utf8, const char *what, GError **error)
{
  g_autofree char *nfc = NULL;
  GString *out;

  if (!g_utf8_validate(utf8, -1, NULL)) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT, "stamp %s is not valid UTF-8", what);
    return NULL;
  }
  nfc = g_utf8_normalize(utf8, -1, G_NORMALIZE_NFC);
  out = g_string_new(NULL);
  for (const char *p = nfc; *p != '\0'; p = g_utf8_next_char(p)) {
    gunichar u = g_utf8_get_char(p);
    if (g_unichar_iscntrl(u)) /* newlines and tabs: layout wraps by itself */
      u = ' ';
    g_string_append_c(out, (char)unicode_to_winansi(u));
  }
  return g_string_free(out, FALSE);
}

/* ------------------------------------------------------------------------------ */
/* TrueType reading.  Every offset comes from the file, so every access goes through a
 * cursor over the table it belongs to. */

typedef struct {
  const guint8 *p;
  gsize len;
} Span;

typedef struct {
  GBytes *bytes;
  Span head, hhea, maxp, hmtx, loca, glyf, cmap, cvt, fpgm, prep, os2;
  Span cmap4; /* the Unicode format 4 subtable */
  guint units_per_em, num_glyphs, num_hmetrics;
  gboolean long_loca;
  gint16 ascender, descender, xmin, ymin, xmax, ymax, cap_height;
} Ttf;

static void
ttf_clear(Ttf *t)
{
  g_clear_pointer(&t->bytes, g_bytes_unref);
}

static gboolean
span_u16(const Span *s, gsize off, guint16 *out)
{
  TteCursor c;
  tte_cursor_init(&c, s->p, s->len);
  return tte_cursor_seek(&c, off) && cur_u16(&c, out);
}

static gboolean
span_u32(const Span *s, gsize off, guint32 *out)
{
  TteCursor c;
  tte_cursor_init(&c, s->p, s->len);
  return tte_cursor_seek(&c, off) && cur_u32(&c, out);
}

static gboolean
ttf_bad(GError **error, const char *why)
{
  g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT, "stamp font: %s", why);
  return FALSE;
}

static gboolean
ttf_find_cmap4(Ttf *t)
{
  guint16 n, best_score = 0;
  TteCursor c;

  tte_cursor_init(&c, t->cmap.p, t->cmap.len);
  if (!tte_cursor_skip(&c, 2) || !cur_u16(&c, &n))
    return FALSE;
  for (guint i = 0; i < n; i++) {
    guint16 plat, enc, format, sublen;
    guint32 off;
    guint16 score;
    if (!cur_u16(&c, &plat) || !cur_u16(&c, &enc) || !cur_u32(&c, &off))
      return FALSE;
    /* Windows Unicode BMP is what PDF viewers consult for a non-symbolic font. */
    score = (plat == 3 && enc == 1) ? 2 : (plat == 0) ? 1 : 0;
    if (score <= best_score)
      continue;
    if (!span_u16(&t->cmap, off, &format) || format != 4 ||
        !span_u16(&t->cmap, (gsize)off + 2, &sublen) || sublen < 16 ||
        (gsize)off + sublen > t->cmap.len)
      continue;
    t->cmap4.p = t->cmap.p + off;
    t->cmap4.len = sublen;
    best_score = score;
  }
  return best_score > 0;
}

static gboolean
ttf_parse(Ttf *t, GBytes *bytes, GError **error)
{
  TteCursor c;
  gsize len;
  const guint8 *data = g_bytes_get_data(bytes, &len);
  guint32 version;
  guint16 ntables, u;
  struct {
    const char *tag;
    Span *span;
    gboolean required;
  } want[] = {
      {"head", &t->head, TRUE},  {"hhea", &t->hhea, TRUE}, {"maxp", &t->maxp, TRUE},
      {"hmtx", &t->hmtx, TRUE},  {"loca", &t->loca, TRUE}, {"glyf", &t->glyf, TRUE},
      {"cmap", &t->cmap, TRUE},  {"cvt ", &t->cvt, FALSE}, {"fpgm", &t->fpgm, FALSE},
      {"prep", &t->prep, FALSE}, {"OS/2", &t->os2, FALSE},
  };

  memset(t, 0, sizeof *t);
  t->bytes = g_bytes_ref(bytes);
  tte_cursor_init(&c, data, len);
  if (!cur_u32(&c, &version) || !cur_u16(&c, &ntables) || !tte_cursor_skip(&c, 6))
    return ttf_bad(error, "truncated header");
  if (version != 0x00010000u && version != 0x74727565u /* 'true' */) {
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_NOT_SUPPORTED,
                        "stamp font is not a TrueType-outline font (CFF/OpenType or a collection)");
    return FALSE;
  }
  for (guint i = 0; i < ntables; i++) {
    const guint8 *tag;
    guint32 sum, off, tlen;
    if (!tte_cursor_get_bytes(&c, 4, &tag) || !cur_u32(&c, &sum) || !cur_u32(&c, &off) ||
        !cur_u32(&c, &tlen))
      return ttf_bad(error, "truncated table directory");
    for (guint k = 0; k < G_N_ELEMENTS(want); k++) {
      if (memcmp(tag, want[k].tag, 4) != 0)
        continue;
      if (off > len || tlen > len - off)
        return ttf_bad(error, "table reaches past the end of the file");
      want[k].span->p = data + off;
      want[k].span->len = tlen;
    }
  }
  for (guint k = 0; k < G_N_ELEMENTS(want); k++)
    if (want[k].required && want[k].span->p == NULL) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_NOT_SUPPORTED,
                  "stamp font has no '%s' table (TrueType outlines required)", want[k].tag);
      return FALSE;
    }
  if (t->head.len < 54 || t->hhea.len < 36 || t->maxp.len < 6)
    return ttf_bad(error, "head, hhea or maxp table too short");

  if (!span_u16(&t->head, 18, &u) || u < 16 || u > 16384)
    return ttf_bad(error, "unitsPerEm out of range");
  t->units_per_em = u;
  if (!span_u16(&t->head, 36, &u))
    return ttf_bad(error, "head");
  t->xmin = (gint16)u;
  if (!span_u16(&t->head, 38, &u))
    return ttf_bad(error, "head");
  t->ymin = (gint16)u;
  if (!span_u16(&t->head, 40, &u))
    return ttf_bad(error, "head");
  t->xmax = (gint16)u;
  if (!span_u16(&t->head, 42, &u))
    return ttf_bad(error, "head");
  t->ymax = (gint16)u;
  if (!span_u16(&t->head, 50, &u) || u > 1)
    return ttf_bad(error, "bad indexToLocFormat");
  t->long_loca = (u == 1);
  if (!span_u16(&t->hhea, 4, &u))
    return ttf_bad(error, "hhea");
  t->ascender = (gint16)u;
  if (!span_u16(&t->hhea, 6, &u))
    return ttf_bad(error, "hhea");
  t->descender = (gint16)u;
  if (!span_u16(&t->hhea, 34, &u) || u == 0)
    return ttf_bad(error, "numberOfHMetrics is 0");
  t->num_hmetrics = u;
  if (!span_u16(&t->maxp, 4, &u) || u == 0)
    return ttf_bad(error, "numGlyphs is 0");
  t->num_glyphs = u;
  if (t->num_hmetrics > t->num_glyphs ||
      t->hmtx.len < (gsize)t->num_hmetrics * 4 + (gsize)(t->num_glyphs - t->num_hmetrics) * 2)
    return ttf_bad(error, "hmtx shorter than numGlyphs says");
  if (t->loca.len < ((gsize)t->num_glyphs + 1) * (t->long_loca ? 4 : 2))
    return ttf_bad(error, "loca shorter than numGlyphs says");
  /* sCapHeight exists from OS/2 version 2 on; otherwise estimate it from the ascender. */
  t->cap_height = (gint16)(t->ascender * 0.75);
  if (t->os2.p != NULL && span_u16(&t->os2, 0, &u) && u >= 2 && span_u16(&t->os2, 88, &u))
    t->cap_height = (gint16)u;
  if (!ttf_find_cmap4(t)) {
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_NOT_SUPPORTED,
                        "stamp font has no Unicode (format 4) cmap");
    return FALSE;
  }
  return TRUE;
}

/* Glyph id for a BMP code point via the format 4 cmap; 0 (.notdef) when absent. */
static guint
ttf_glyph_for(const Ttf *t, gunichar ch)
{
  const Span *s = &t->cmap4;
  guint16 segx2, end, start, delta, ro, g;

  if (ch > 0xFFFF || !span_u16(s, 6, &segx2))
    return 0;
  for (gsize i = 0; i < segx2 / 2u; i++) {
    gsize end_off = 14 + 2 * i, start_off = 16 + segx2 + 2 * i;
    gsize delta_off = 16 + 2 * (gsize)segx2 + 2 * i, ro_off = 16 + 3 * (gsize)segx2 + 2 * i;
    if (!span_u16(s, end_off, &end))
      return 0;
    if (end < ch)
      continue;
    if (!span_u16(s, start_off, &start) || start > ch || !span_u16(s, delta_off, &delta) ||
        !span_u16(s, ro_off, &ro))
      return 0;
    if (ro == 0) {
      g = (guint16)(ch + delta);
    } else {
      /* idRangeOffset is relative to its own position in the table. */
      if (!span_u16(s, ro_off + ro + 2 * (gsize)(ch - start), &g) || g == 0)
        return 0;
      g = (guint16)(g + delta);
    }
    return g < t->num_glyphs ? g : 0;
  }
  return 0;
}

static gboolean
ttf_glyph_range(const Ttf *t, guint gid, gsize *off, gsize *len)
{
  guint32 a, b;
  if (t->long_loca) {
    if (!span_u32(&t->loca, 4 * (gsize)gid, &a) || !span_u32(&t->loca, 4 * (gsize)gid + 4, &b))
      return FALSE;
  } else {
    guint16 sa, sb;
    if (!span_u16(&t->loca, 2 * (gsize)gid, &sa) || !span_u16(&t->loca, 2 * (gsize)gid + 2, &sb))
      return FALSE;
    a = 2u * sa;
    b = 2u * sb;
  }
  if (a > b || b > t->glyf.len)
    return FALSE;
  *off = a;
  *len = b - a;
  return TRUE;
}

static guint
ttf_advance(const Ttf *t, guint gid)
{
  guint16 adv = 0;
  guint i = gid < t->num_hmetrics ? gid : t->num_hmetrics - 1;
  if (!span_u16(&t->hmtx, 4 * (gsize)i, &adv))
    return 0;
  return adv;
}

static gint16
ttf_lsb(const Ttf *t, guint gid)
{
  guint16 v = 0;
  gsize off = gid < t->num_hmetrics
                  ? 4 * (gsize)gid + 2
                  : 4 * (gsize)t->num_hmetrics + 2 * (gsize)(gid - t->num_hmetrics);
  if (!span_u16(&t->hmtx, off, &v))
    return 0;
  return (gint16)v;
}

/* Offsets (within the glyph) of the glyph-index fields of a composite glyph's
 * components; an empty array for a simple or empty glyph.  FALSE when malformed. */
static gboolean
glyph_components(const guint8 *g, gsize len, GArray *offsets)
{
  TteCursor c;
  guint16 ncont, flags, gid;

  g_array_set_size(offsets, 0);
  if (len == 0)
    return TRUE;
  tte_cursor_init(&c, g, len);
  if (!cur_u16(&c, &ncont) || !tte_cursor_skip(&c, 8))
    return FALSE;
  if ((gint16)ncont >= 0)
    return TRUE;
  do {
    gsize at, extra;
    if (!cur_u16(&c, &flags))
      return FALSE;
    at = c.pos;
    if (!cur_u16(&c, &gid))
      return FALSE;
    /* args: words or bytes; then a scale, an x/y scale or a 2x2 matrix (F2Dot14). */
    extra = (flags & 0x0001) ? 4 : 2;
    if (flags & 0x0008)
      extra += 2;
    else if (flags & 0x0040)
      extra += 4;
    else if (flags & 0x0080)
      extra += 8;
    if (!tte_cursor_skip(&c, extra))
      return FALSE;
    g_array_append_val(offsets, at);
  } while (flags & 0x0020);
  return TRUE;
}

static guint32
table_checksum(const guint8 *p, gsize len)
{
  guint32 sum = 0;
  for (gsize i = 0; i < len; i += 4) {
    guint32 w = 0;
    for (gsize k = 0; k < 4; k++)
      w = (w << 8) | (i + k < len ? p[i + k] : 0);
    sum += w;
  }
  return sum;
}

static int
cmp_unichar(gconstpointer a, gconstpointer b)
{
  gunichar x = *(const gunichar *)a, y = *(const gunichar *)b;
  return x < y ? -1 : x > y;
}

typedef struct {
  char tag[5];
  GBytes *data;
} OutTable;

static GBytes *
subset_from_ttf(const Ttf *t, const gunichar *chars_in, gsize n_chars, GError **error)
{
  g_autofree gunichar *chars = g_new(gunichar, n_chars + 1);
  g_autofree gint32 *new_id = g_new(gint32, t->num_glyphs);
  g_autoptr(GArray) queue = g_array_new(FALSE, FALSE, sizeof(guint));
  g_autoptr(GArray) comps = g_array_new(FALSE, FALSE, sizeof(gsize));
  g_autoptr(GArray) order = g_array_new(FALSE, FALSE, sizeof(guint));
  g_autoptr(GByteArray) glyf = g_byte_array_new();
  g_autoptr(GByteArray) loca = g_byte_array_new();
  g_autoptr(GByteArray) hmtx = g_byte_array_new();
  g_autoptr(GByteArray) cmap = g_byte_array_new();
  g_autoptr(GByteArray) head = NULL, hhea = NULL, maxp = NULL;
  g_autoptr(GByteArray) out = g_byte_array_new();
  OutTable tables[10];
  guint ntables = 0, nuniq = 0, n_new = 0;
  guint32 head_offset = 0;

  /* Unique sorted BMP characters (the cmap we write needs them ascending). */
  memcpy(chars, chars_in, n_chars * sizeof(gunichar));
  qsort(chars, n_chars, sizeof(gunichar), cmp_unichar);
  for (gsize i = 0; i < n_chars; i++)
    if (chars[i] < 0xFFFF && (nuniq == 0 || chars[nuniq - 1] != chars[i]))
      chars[nuniq++] = chars[i];

  /* Glyph closure: .notdef, the characters' glyphs, then components of composites
   * (each glyph is queued once, so a cyclic font cannot loop us). */
  for (guint g = 0; g < t->num_glyphs; g++)
    new_id[g] = -1;
  {
    guint zero = 0;
    new_id[0] = 0;
    g_array_append_val(queue, zero);
  }
  for (guint i = 0; i < nuniq; i++) {
    guint g = ttf_glyph_for(t, chars[i]);
    if (new_id[g] < 0) {
      new_id[g] = 0;
      g_array_append_val(queue, g);
    }
  }
  for (guint qi = 0; qi < queue->len; qi++) {
    guint g = g_array_index(queue, guint, qi);
    gsize off, len;
    if (!ttf_glyph_range(t, g, &off, &len) || !glyph_components(t->glyf.p + off, len, comps)) {
      ttf_bad(error, "malformed glyph");
      return NULL;
    }
    for (guint k = 0; k < comps->len; k++) {
      guint16 cg;
      Span gs = {t->glyf.p + off, len};
      /* A glyph made of itself would send a renderer into recursion. */
      if (!span_u16(&gs, g_array_index(comps, gsize, k), &cg) || cg >= t->num_glyphs || cg == g) {
        ttf_bad(error, "composite glyph refers to a missing glyph");
        return NULL;
      }
      if (new_id[cg] < 0) {
        guint cgi = cg;
        new_id[cg] = 0;
        g_array_append_val(queue, cgi);
      }
    }
  }
  /* Keep the original order so .notdef stays glyph 0. */
  for (guint g = 0; g < t->num_glyphs; g++)
    if (new_id[g] >= 0) {
      new_id[g] = (gint32)n_new++;
      g_array_append_val(order, g);
    }

  /* glyf + loca (long offsets) + hmtx (one full metric per glyph). */
  for (guint i = 0; i < order->len; i++) {
    guint g = g_array_index(order, guint, i);
    gsize off, len;
    if (!ttf_glyph_range(t, g, &off, &len)) {
      ttf_bad(error, "malformed loca");
      return NULL;
    }
    put_u32(loca, glyf->len);
    if (len > 0) {
      guint start = glyf->len;
      g_byte_array_append(glyf, t->glyf.p + off, (guint)len);
      if (!glyph_components(glyf->data + start, len, comps)) {
        ttf_bad(error, "malformed glyph");
        return NULL;
      }
      for (guint k = 0; k < comps->len; k++) {
        guint8 *p = glyf->data + start + g_array_index(comps, gsize, k);
        guint old = (guint)(p[0] << 8 | p[1]);
        set_u16(p, (guint)new_id[old]);
      }
      while (glyf->len % 4 != 0)
        g_byte_array_append(glyf, (const guint8 *)"", 1);
    }
    put_u16(hmtx, ttf_advance(t, g));
    put_u16(hmtx, (guint16)ttf_lsb(t, g));
  }
  put_u32(loca, glyf->len);

  head = g_byte_array_new();
  g_byte_array_append(head, t->head.p, (guint)t->head.len);
  set_u32(head->data + 8, 0);  /* checkSumAdjustment, filled in below */
  set_u16(head->data + 50, 1); /* indexToLocFormat: long */
  hhea = g_byte_array_new();
  g_byte_array_append(hhea, t->hhea.p, (guint)t->hhea.len);
  set_u16(hhea->data + 34, n_new);
  maxp = g_byte_array_new();
  g_byte_array_append(maxp, t->maxp.p, (guint)t->maxp.len);
  set_u16(maxp->data + 4, n_new);

  /* cmap: one (3,1) format 4 subtable, a segment per character (idDelta maps it,
   * idRangeOffset 0) and the mandatory final 0xFFFF segment. */
  {
    guint segs = nuniq + 1, sr = 1, es = 0;
    while (sr * 2 <= segs) {
      sr *= 2;
      es++;
    }
    put_u16(cmap, 0);
    put_u16(cmap, 1);
    put_u16(cmap, 3);
    put_u16(cmap, 1);
    put_u32(cmap, 12);
    put_u16(cmap, 4);
    put_u16(cmap, 16 + 8 * segs);
    put_u16(cmap, 0);
    put_u16(cmap, 2 * segs);
    put_u16(cmap, 2 * sr);
    put_u16(cmap, es);
    put_u16(cmap, 2 * segs - 2 * sr);
    for (guint i = 0; i < nuniq; i++)
      put_u16(cmap, chars[i]);
    put_u16(cmap, 0xFFFF);
    put_u16(cmap, 0);
    for (guint i = 0; i < nuniq; i++)
      put_u16(cmap, chars[i]);
    put_u16(cmap, 0xFFFF);
    for (guint i = 0; i < nuniq; i++)
      put_u16(cmap, (guint16)((guint)new_id[ttf_glyph_for(t, chars[i])] - chars[i]));
    put_u16(cmap, 1);
    for (guint i = 0; i < segs; i++)
      put_u16(cmap, 0);
  }

  /* Tables in tag order (the directory must be sorted). */
#define ADD_TABLE(name, bytes)                                                                     \
  do {                                                                                             \
    g_strlcpy(tables[ntables].tag, name, 5);                                                       \
    tables[ntables].data = (bytes);                                                                \
    ntables++;                                                                                     \
  } while (0)
  ADD_TABLE("cmap", g_bytes_new(cmap->data, cmap->len));
  if (t->cvt.p != NULL)
    ADD_TABLE("cvt ", g_bytes_new_static(t->cvt.p, t->cvt.len));
  if (t->fpgm.p != NULL)
    ADD_TABLE("fpgm", g_bytes_new_static(t->fpgm.p, t->fpgm.len));
  ADD_TABLE("glyf", g_bytes_new(glyf->data, glyf->len));
  ADD_TABLE("head", g_bytes_new(head->data, head->len));
  ADD_TABLE("hhea", g_bytes_new(hhea->data, hhea->len));
  ADD_TABLE("hmtx", g_bytes_new(hmtx->data, hmtx->len));
  ADD_TABLE("loca", g_bytes_new(loca->data, loca->len));
  ADD_TABLE("maxp", g_bytes_new(maxp->data, maxp->len));
  if (t->prep.p != NULL)
    ADD_TABLE("prep", g_bytes_new_static(t->prep.p, t->prep.len));
#undef ADD_TABLE

  {
    guint sr = 1, es = 0;
    guint32 offset = 12 + 16 * ntables;
    while (sr * 2 <= ntables) {
      sr *= 2;
      es++;
    }
    put_u32(out, 0x00010000u);
    put_u16(out, ntables);
    put_u16(out, 16 * sr);
    put_u16(out, es);
    put_u16(out, 16 * ntables - 16 * sr);
    for (guint i = 0; i < ntables; i++) {
      gsize len;
      const guint8 *p = g_bytes_get_data(tables[i].data, &len);
      g_byte_array_append(out, (const guint8 *)tables[i].tag, 4);
      put_u32(out, table_checksum(p, len));
      put_u32(out, offset);
      put_u32(out, (guint32)len);
      if (strcmp(tables[i].tag, "head") == 0)
        head_offset = offset;
      offset += (guint32)((len + 3) & ~(gsize)3);
    }
    for (guint i = 0; i < ntables; i++) {
      gsize len;
      const guint8 *p = g_bytes_get_data(tables[i].data, &len);
      if (len > 0)
        g_byte_array_append(out, p, (guint)len);
      while (out->len % 4 != 0)
        g_byte_array_append(out, (const guint8 *)"", 1);
    }
    set_u32(out->data + head_offset + 8, 0xB1B0AFBAu - table_checksum(out->data, out->len));
  }
  for (guint i = 0; i < ntables; i++)
    g_bytes_unref(tables[i].data);
  return g_byte_array_free_to_bytes(g_steal_pointer(&out));
}

GBytes *
sig_font_subset(GBytes *font, const gunichar *chars, gsize n_chars, GError **error)
{
  Ttf t;
  GBytes *res = NULL;

  if (ttf_parse(&t, font, error))
    res = subset_from_ttf(&t, chars, n_chars, error);
  ttf_clear(&t);
  return res;
}

/* ------------------------------------------------------------------------------ */
/* A font as used in the stamp: the parsed TrueType, WinAnsi widths, the codes drawn. */

typedef struct {
  Ttf ttf;
  char *base_name;    /* PostScript-safe name from the file name */
  guint16 width[256]; /* advance of each WinAnsi code, 1/1000 em */
  gboolean has[256];  /* the font has a real glyph (not .notdef) for the code */
  gboolean used[256];
  guint font_num; /* object numbers once allocated */
} StampFont;

static void
stamp_font_free(StampFont *f)
{
  if (f == NULL)
    return;
  ttf_clear(&f->ttf);
  g_free(f->base_name);
  g_free(f);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(StampFont, stamp_font_free)

static StampFont *stamp_font_load_file(const char *path, GError **error);

/* Parsed fonts by path, so that a stamp does not read and parse a 700 KB font file per
 * signature (the service signs many).  An entry is used only while the file's identity
 * (device, inode, size, mtime) is unchanged, so replacing the font is noticed.  The
 * entries are immutable; a stamp gets a copy of the small struct sharing the bytes. */
typedef struct {
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
  StampFont *font;
} FontCacheEntry;

#define FONT_CACHE_MAX 8
G_LOCK_DEFINE_STATIC(font_cache);
static GHashTable *font_cache; /* path -> FontCacheEntry* (process lifetime) */

static void
font_cache_entry_free(gpointer p)
{
  FontCacheEntry *e = p;
  stamp_font_free(e->font);
  g_free(e);
}

static StampFont *
stamp_font_copy(const StampFont *t)
{
  StampFont *f = g_new(StampFont, 1);

  *f = *t;
  f->ttf.bytes = g_bytes_ref(t->ttf.bytes); /* the spans point into these bytes */
  f->base_name = g_strdup(t->base_name);
  memset(f->used, 0, sizeof f->used);
  f->font_num = 0;
  return f;
}

static StampFont *
stamp_font_load(const char *path, GError **error)
{
  struct stat st;
  FontCacheEntry *e;
  StampFont *f;

  if (g_stat(path, &st) != 0 || !S_ISREG(st.st_mode))
    return stamp_font_load_file(path, error); /* reports the problem */
  G_LOCK(font_cache);
  if (font_cache == NULL)
    font_cache = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, font_cache_entry_free);
  e = g_hash_table_lookup(font_cache, path);
  if (e != NULL && e->dev == st.st_dev && e->ino == st.st_ino && e->size == st.st_size &&
      e->mtime.tv_sec == st.st_mtim.tv_sec && e->mtime.tv_nsec == st.st_mtim.tv_nsec) {
    f = stamp_font_copy(e->font);
    G_UNLOCK(font_cache);
    return f;
  }
  G_UNLOCK(font_cache);

  f = stamp_font_load_file(path, error);
  if (f == NULL)
    return NULL;
  e = g_new0(FontCacheEntry, 1);
  e->dev = st.st_dev;
  e->ino = st.st_ino;
  e->size = st.st_size;
  e->mtime = st.st_mtim;
  e->font = stamp_font_copy(f);
  G_LOCK(font_cache);
  if (g_hash_table_size(font_cache) >= FONT_CACHE_MAX)
    g_hash_table_remove_all(font_cache);
  g_hash_table_replace(font_cache, g_strdup(path), e);
  G_UNLOCK(font_cache);
  return f;
}

static StampFont *
stamp_font_load_file(const char *path, GError **error)
{
  g_autoptr(StampFont) f = g_new0(StampFont, 1);
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *base = g_path_get_basename(path);
  GString *name = g_string_new(NULL);

  bytes = read_file_bounded(path, TTE_LIMIT_FONT_MAX_SIZE, "stamp font", error);
  if (bytes == NULL || !ttf_parse(&f->ttf, bytes, error)) {
    g_string_free(name, TRUE);
    return NULL;
  }
  /* The name only labels the font in the PDF; keep characters legal in a PDF name. */
  for (const char *p = base; *p != '\0' && *p != '.' && name->len < 60; p++)
    if (g_ascii_isalnum(*p) || *p == '-')
      g_string_append_c(name, *p);
  if (name->len == 0)
    g_string_append(name, "TTEStampFont");
  f->base_name = g_string_free(name, FALSE);
  for (guint code = 0; code < 256; code++) {
    gunichar u = winansi_to_unicode((guint8)code);
    guint g = u != 0 ? ttf_glyph_for(&f->ttf, u) : 0;
    f->has[code] = g != 0;
    /* Rounded, not truncated: PDF/A validators compare /Widths with the font's own
     * advance and allow one unit of difference. */
    f->width[code] = (guint16)MIN(
        (ttf_advance(&f->ttf, g) * 1000u + f->ttf.units_per_em / 2) / f->ttf.units_per_em, 65535u);
  }
  return g_steal_pointer(&f);
}

/* The compressed subsets made lately, by font bytes and set of codes: stamps of one
 * signer differ in a few digits at most, so most signatures reuse one (the subsetter
 * and zlib were a tenth of a stamp).  A few entries, oldest dropped first. */
typedef struct {
  GBytes *font; /* identity of the font program (the cached font's bytes) */
  gboolean used[256];
  gsize program_len;
  GBytes *zprogram;
} SubsetEntry;

#define SUBSET_CACHE_MAX 16
G_LOCK_DEFINE_STATIC(subset_cache);
static GQueue subset_cache = G_QUEUE_INIT; /* SubsetEntry*, newest first */

static gboolean
subset_cached(const StampFont *f, gsize *program_len, GBytes **zprogram)
{
  gboolean hit = FALSE;

  G_LOCK(subset_cache);
  for (GList *l = subset_cache.head; l != NULL; l = l->next) {
    SubsetEntry *e = l->data;
    if (e->font == f->ttf.bytes && memcmp(e->used, f->used, sizeof e->used) == 0) {
      *program_len = e->program_len;
      *zprogram = g_bytes_ref(e->zprogram);
      hit = TRUE;
      break;
    }
  }
  G_UNLOCK(subset_cache);
  return hit;
}

static void
subset_entry_free(SubsetEntry *e)
{
  g_bytes_unref(e->font);
  g_bytes_unref(e->zprogram);
  g_free(e);
}

static void
subset_remember(const StampFont *f, gsize program_len, GBytes *zprogram)
{
  SubsetEntry *e = g_new0(SubsetEntry, 1);

  /* Holding the font bytes keeps the pointer from being reused by another font. */
  e->font = g_bytes_ref(f->ttf.bytes);
  memcpy(e->used, f->used, sizeof e->used);
  e->program_len = program_len;
  e->zprogram = g_bytes_ref(zprogram);
  G_LOCK(subset_cache);
  g_queue_push_head(&subset_cache, e);
  while (g_queue_get_length(&subset_cache) > SUBSET_CACHE_MAX)
    subset_entry_free(g_queue_pop_tail(&subset_cache));
  G_UNLOCK(subset_cache);
}

static double
text_width(const StampFont *f, const char *s, gsize n, double size)
{
  guint64 w = 0;
  for (gsize i = 0; i < n; i++)
    w += f->width[(guint8)s[i]];
  return (double)w * size / 1000.0;
}

/* Emit font dictionary, descriptor, font program and ToUnicode for the codes used. */
static gboolean
stamp_font_emit(StampFont *f, SigObjSink *sink, GError **error)
{
  gunichar chars[256];
  gsize nchars = 0;
  guint first = 256, last = 0;
  guint32 h = 5381;
  char tag[7];
  guint desc_num, file_num, tu_num;
  g_autoptr(GBytes) program = NULL, zprogram = NULL, ztu = NULL;
  gsize program_len = 0;
  g_autoptr(GString) d = g_string_new(NULL);
  g_autoptr(GString) tu = g_string_new(NULL);
  double scale = 1000.0 / f->ttf.units_per_em;
  double bbox[4] = {f->ttf.xmin * scale, f->ttf.ymin * scale, f->ttf.xmax * scale,
                    f->ttf.ymax * scale};

  for (guint code = 0; code < 256; code++) {
    if (!f->used[code])
      continue;
    first = MIN(first, code);
    last = MAX(last, code);
    chars[nchars++] = winansi_to_unicode((guint8)code);
    h = h * 33 + code;
  }
  if (nchars == 0)
    return TRUE;
  if (!subset_cached(f, &program_len, &zprogram)) {
    program = sig_font_subset(f->ttf.bytes, chars, nchars, error);
    if (program == NULL || (zprogram = flate(g_bytes_get_data(program, NULL),
                                             g_bytes_get_size(program), FLATE_BEST, error)) == NULL)
      return FALSE;
    program_len = g_bytes_get_size(program);
    subset_remember(f, program_len, zprogram);
  }
  /* Subset tag (ISO 32000-1, 9.6.4): six capitals, here a hash of the used codes so
   * that two different subsets in one file get different names. */
  for (guint i = 0; i < 6; i++) {
    tag[i] = (char)('A' + h % 26);
    h /= 26;
  }
  tag[6] = '\0';

  desc_num = sink->alloc(sink);
  file_num = sink->alloc(sink);
  tu_num = sink->alloc(sink);

  g_string_append_printf(d,
                         "<< /Type /Font /Subtype /TrueType /BaseFont /%s+%s /FirstChar %u"
                         " /LastChar %u /Widths [",
                         tag, f->base_name, first, last);
  for (guint code = first; code <= last; code++)
    g_string_append_printf(d, "%s%u", code == first ? "" : " ",
                           f->used[code] ? f->width[code] : 0u);
  g_string_append_printf(d,
                         "] /Encoding /WinAnsiEncoding /FontDescriptor %u 0 R"
                         " /ToUnicode %u 0 R >>",
                         desc_num, tu_num);
  if (!sink->emit(sink, f->font_num, d->str, NULL, 0, error))
    return FALSE;

  g_string_truncate(d, 0);
  /* Flags 32 = Nonsymbolic: the WinAnsi names go through the font's (3,1) cmap. */
  g_string_append_printf(d, "<< /Type /FontDescriptor /FontName /%s+%s /Flags 32 /FontBBox [", tag,
                         f->base_name);
  append_nums(d, bbox, 4);
  g_string_append(d, "] /ItalicAngle 0 /Ascent ");
  append_num(d, f->ttf.ascender * scale);
  g_string_append(d, " /Descent ");
  append_num(d, f->ttf.descender * scale);
  g_string_append(d, " /CapHeight ");
  append_num(d, f->ttf.cap_height * scale);
  g_string_append_printf(d, " /StemV 80 /FontFile2 %u 0 R >>", file_num);
  if (!sink->emit(sink, desc_num, d->str, NULL, 0, error))
    return FALSE;

  g_string_truncate(d, 0);
  g_string_append_printf(d, "/Length1 %" G_GSIZE_FORMAT " /Filter /FlateDecode", program_len);
  if (!sink_emit_stream(sink, file_num, d->str, zprogram, error))
    return FALSE;

  /* ToUnicode, so text extraction and search (and PDF/A-2u/3u checks) see Unicode. */
  g_string_append(tu, "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
                      "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n"
                      "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
                      "1 begincodespacerange\n<00> <FF>\nendcodespacerange\n");
  for (gsize i = 0; i < nchars; i += 100) {
    gsize n = MIN(nchars - i, 100);
    guint k = 0;
    g_string_append_printf(tu, "%" G_GSIZE_FORMAT " beginbfchar\n", n);
    for (guint code = 0; code < 256 && k < i + n; code++) {
      if (!f->used[code])
        continue;
      if (k >= i)
        g_string_append_printf(tu, "<%02X> <%04X>\n", code, winansi_to_unicode((guint8)code));
      k++;
    }
    g_string_append(tu, "endbfchar\n");
  }
  g_string_append(tu, "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
  ztu = flate((const guint8 *)tu->str, tu->len, FLATE_FAST, error);
  if (ztu == NULL)
    return FALSE;
  return sink_emit_stream(sink, tu_num, "/Filter /FlateDecode", ztu, error);
}

/* ------------------------------------------------------------------------------ */
/* Images.  The file is untrusted: its size and pixel count are checked from its own
 * header before any decoder sees it. */

typedef struct {
  guint width, height;
  const char *color_space; /* "DeviceGray" / "DeviceRGB" */
  const char *filter;      /* "DCTDecode" / "FlateDecode" */
  GBytes *data;            /* encoded stream */
} StampImage;

static void
stamp_image_clear(StampImage *im)
{
  g_clear_pointer(&im->data, g_bytes_unref);
}

static gboolean
check_pixels(guint64 w, guint64 h, GError **error)
{
  if (w == 0 || h == 0) {
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT, "stamp image is empty");
    return FALSE;
  }
  if (w > TTE_LIMIT_IMAGE_MAX_PIXELS || h > TTE_LIMIT_IMAGE_MAX_PIXELS ||
      w * h > TTE_LIMIT_IMAGE_MAX_PIXELS) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT,
                "stamp image of %" G_GUINT64_FORMAT " x %" G_GUINT64_FORMAT
                " pixels exceeds TTE_LIMIT_IMAGE_MAX_PIXELS",
                w, h);
    return FALSE;
  }
  return TRUE;
}

/* A JPEG goes into the PDF as it is (/DCTDecode); we only need its size and number of
 * components, from the first SOF segment. */
static gboolean
load_jpeg(GBytes *bytes, StampImage *im, GError **error)
{
  TteCursor c;
  gsize len;
  const guint8 *data = g_bytes_get_data(bytes, &len);

  tte_cursor_init(&c, data, len);
  if (!tte_cursor_match(&c, "\xFF\xD8"))
    goto bad;
  for (;;) {
    guint8 b, m, prec, ncomp;
    guint16 seglen, h, w;
    if (!tte_cursor_get_u8(&c, &b) || b != 0xFF)
      goto bad;
    do {
      if (!tte_cursor_get_u8(&c, &m))
        goto bad;
    } while (m == 0xFF); /* fill bytes */
    if ((m >= 0xD0 && m <= 0xD7) || m == 0x01)
      continue; /* markers without a length */
    if (m == 0xD9 || m == 0xDA)
      goto bad; /* end of image or scan data before any frame header */
    if (!cur_u16(&c, &seglen) || seglen < 2)
      goto bad;
    if (m == 0xC0 || m == 0xC1 || m == 0xC2) {
      if (!tte_cursor_get_u8(&c, &prec) || !cur_u16(&c, &h) || !cur_u16(&c, &w) ||
          !tte_cursor_get_u8(&c, &ncomp))
        goto bad;
      if (prec != 8 || (ncomp != 1 && ncomp != 3)) {
        g_set_error(error, TTE_ERROR, TTE_ERROR_NOT_SUPPORTED,
                    "stamp JPEG has %u-bit samples and %u components; only 8-bit gray or "
                    "colour (not CMYK) is supported",
                    prec, ncomp);
        return FALSE;
      }
      if (!check_pixels(w, h, error))
        return FALSE;
      im->width = w;
      im->height = h;
      im->color_space = ncomp == 1 ? "DeviceGray" : "DeviceRGB";
      im->filter = "DCTDecode";
      im->data = g_bytes_ref(bytes);
      return TRUE;
    }
    if ((m >= 0xC3 && m <= 0xCF) && m != 0xC4 && m != 0xC8 && m != 0xCC) {
      g_set_error_literal(error, TTE_ERROR, TTE_ERROR_NOT_SUPPORTED,
                          "stamp JPEG uses lossless, hierarchical or arithmetic coding");
      return FALSE;
    }
    if (!tte_cursor_skip(&c, seglen - 2u))
      goto bad;
  }
bad:
  g_set_error_literal(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                      "stamp image is not a well-formed JPEG");
  return FALSE;
}

static cairo_status_t
png_read_cb(void *closure, unsigned char *data, unsigned int length)
{
  const guint8 *p;
  if (!tte_cursor_get_bytes(closure, length, &p))
    return CAIRO_STATUS_READ_ERROR;
  memcpy(data, p, length);
  return CAIRO_STATUS_SUCCESS;
}

/* A PNG is decoded (cairo/libpng) and re-encoded as 8-bit /FlateDecode, gray when
 * every pixel is gray.  It is painted onto an opaque white surface, which flattens any
 * alpha (PDF/A-1 forbids /SMask) and, when the file has more pixels than
 * STAMP_IMAGE_DPI needs at the size it is drawn (@max_w x @max_h pt, aspect kept),
 * downsamples it: a phone photo of a signature must not add megabytes to every letter. */
static gboolean
load_png(GBytes *bytes, double max_w, double max_h, StampImage *im, GError **error)
{
  TteCursor c;
  gsize len;
  const guint8 *data = g_bytes_get_data(bytes, &len);
  guint32 ihdr_len, w, h;
  cairo_surface_t *surf, *flat;
  cairo_t *cr;
  g_autoptr(GByteArray) out = NULL;
  const guint8 *pix;
  int stride;
  guint tw, th;
  double sc;
  gboolean gray = TRUE;

  tte_cursor_init(&c, data, len);
  if (!tte_cursor_match(&c, "\x89PNG\r\n\x1A\n") || !cur_u32(&c, &ihdr_len) ||
      !tte_cursor_match(&c, "IHDR") || ihdr_len != 13 || !cur_u32(&c, &w) || !cur_u32(&c, &h)) {
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                        "stamp image is not a well-formed PNG");
    return FALSE;
  }
  if (!check_pixels(w, h, error))
    return FALSE;
  tte_cursor_init(&c, data, len);
  surf = cairo_image_surface_create_from_png_stream(png_read_cb, &c);
  if (cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT, "stamp PNG cannot be decoded: %s",
                cairo_status_to_string(cairo_surface_status(surf)));
    cairo_surface_destroy(surf);
    return FALSE;
  }
  if ((guint)cairo_image_surface_get_width(surf) != w ||
      (guint)cairo_image_surface_get_height(surf) != h) {
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                        "stamp PNG decodes to another size than its header says");
    cairo_surface_destroy(surf);
    return FALSE;
  }
  /* Target pixel size: the drawn size at STAMP_IMAGE_DPI, never more than the file has. */
  sc = MIN(max_w / w, max_h / h) * STAMP_IMAGE_DPI / 72.0;
  tw = sc < 1.0 ? MAX((guint)ceil(w * sc), 1u) : w;
  th = sc < 1.0 ? MAX((guint)ceil(h * sc), 1u) : h;
  flat = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)tw, (int)th);
  cr = cairo_create(flat);
  cairo_set_source_rgb(cr, 1, 1, 1);
  cairo_paint(cr);
  cairo_scale(cr, (double)tw / w, (double)th / h);
  cairo_set_source_surface(cr, surf, 0, 0);
  cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
  cairo_paint(cr);
  cairo_destroy(cr);
  cairo_surface_destroy(surf);
  if (cairo_surface_status(flat) != CAIRO_STATUS_SUCCESS) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_FAILED, "cannot flatten the stamp image: %s",
                cairo_status_to_string(cairo_surface_status(flat)));
    cairo_surface_destroy(flat);
    return FALSE;
  }
  cairo_surface_flush(flat);
  pix = cairo_image_surface_get_data(flat);
  stride = cairo_image_surface_get_stride(flat);
  for (guint y = 0; y < th && gray; y++) {
    const guint32 *row = (const guint32 *)(const void *)(pix + (gsize)y * (gsize)stride);
    for (guint x = 0; x < tw && gray; x++)
      gray = ((row[x] >> 16) & 0xFF) == ((row[x] >> 8) & 0xFF) &&
             ((row[x] >> 8) & 0xFF) == (row[x] & 0xFF);
  }
  out = g_byte_array_sized_new(tw * th * (gray ? 1 : 3));
  for (guint y = 0; y < th; y++) {
    const guint32 *row = (const guint32 *)(const void *)(pix + (gsize)y * (gsize)stride);
    for (guint x = 0; x < tw; x++) {
      guint8 px[3] = {(guint8)(row[x] >> 16), (guint8)(row[x] >> 8), (guint8)row[x]};
      g_byte_array_append(out, px, gray ? 1 : 3);
    }
  }
  cairo_surface_destroy(flat);
  im->width = tw;
  im->height = th;
  im->color_space = gray ? "DeviceGray" : "DeviceRGB";
  im->filter = "FlateDecode";
  im->data = flate(out->data, out->len, FLATE_BEST, error);
  return im->data != NULL;
}

/* Load the stamp image to be drawn within @max_w x @max_h pt. */
static gboolean
stamp_image_load(const SigStamp *stamp, double max_w, double max_h, StampImage *im, GError **error)
{
  g_autoptr(GBytes) bytes = NULL;
  gsize len;
  const guint8 *p;

  if (stamp->image_path != NULL) {
    bytes = read_file_bounded(stamp->image_path, TTE_LIMIT_IMAGE_MAX_SIZE, "stamp image", error);
    if (bytes == NULL)
      return FALSE;
  } else {
    bytes = g_bytes_ref(stamp->image_data);
    if (g_bytes_get_size(bytes) > TTE_LIMIT_IMAGE_MAX_SIZE) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT, "stamp image is larger than %u bytes",
                  TTE_LIMIT_IMAGE_MAX_SIZE);
      return FALSE;
    }
  }
  p = g_bytes_get_data(bytes, &len);
  if (len >= 8 && memcmp(p, "\x89PNG\r\n\x1A\n", 8) == 0)
    return load_png(bytes, max_w, max_h, im, error);
  if (len >= 3 && memcmp(p, "\xFF\xD8\xFF", 3) == 0)
    return load_jpeg(bytes, im, error);
  g_set_error_literal(error, TTE_ERROR, TTE_ERROR_NOT_SUPPORTED,
                      "stamp image is neither PNG nor JPEG");
  return FALSE;
}

gboolean
sig_appearance_check_image(GBytes *image, guint *width, guint *height, GError **error)
{
  SigStamp stamp = {0};
  StampImage im = {0};
  gboolean ok;

  /* Its natural size (no downsampling): a box of the image's own size at 300 dpi. */
  stamp.image_data = image;
  ok = stamp_image_load(&stamp, G_MAXUINT16 * 72.0 / STAMP_IMAGE_DPI,
                        G_MAXUINT16 * 72.0 / STAMP_IMAGE_DPI, &im, error);
  if (ok && width != NULL)
    *width = im.width;
  if (ok && height != NULL)
    *height = im.height;
  stamp_image_clear(&im);
  return ok;
}

/* ------------------------------------------------------------------------------ */
/* QR code */

GArray *
sig_qr_runs(const guint8 *modules, guint size)
{
  GArray *runs = g_array_new(FALSE, FALSE, sizeof(SigQrRun));

  for (guint y = 0; y < size; y++) {
    const guint8 *row = modules + (gsize)y * size;
    guint x = 0;
    while (x < size) {
      SigQrRun r;
      if (!(row[x] & 1)) {
        x++;
        continue;
      }
      r.x = x;
      r.y = y;
      while (x < size && (row[x] & 1))
        x++;
      r.len = x - r.x;
      g_array_append_val(runs, r);
    }
  }
  return runs;
}

/* Draw the QR symbol with its quiet zone into the square at (@x, @y) of side @side. */
static gboolean
draw_qr(GString *cs, const char *url, double x, double y, double side, GError **error)
{
  QRcode *qr;
  g_autoptr(GArray) runs = NULL;
  double m;

  if (strlen(url) > TTE_LIMIT_QR_URL_MAX_LEN) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT, "QR URL is longer than %u bytes",
                TTE_LIMIT_QR_URL_MAX_LEN);
    return FALSE;
  }
  /* Level M: survives a stain or a crease on a printed letter, still a small symbol. */
  qr = QRcode_encodeString(url, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
  if (qr == NULL) {
    int e = errno;
    g_set_error(error, TTE_ERROR, e == ERANGE ? TTE_ERROR_LIMIT : TTE_ERROR_FAILED,
                "cannot encode the QR code: %s", g_strerror(e));
    return FALSE;
  }
  m = side / (qr->width + 2 * STAMP_QR_QUIET);
  if (m < STAMP_QR_MIN_MODULE) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                "stamp box is too small for a scannable QR code (%d modules in %g pt)", qr->width,
                side);
    QRcode_free(qr);
    return FALSE;
  }
  runs = sig_qr_runs(qr->data, (guint)qr->width);
  g_string_append(cs, "0 g\n");
  for (guint i = 0; i < runs->len; i++) {
    const SigQrRun *r = &g_array_index(runs, SigQrRun, i);
    /* Row 0 is the top of the symbol; PDF y grows upwards. */
    double v[4] = {x + (STAMP_QR_QUIET + r->x) * m, y + side - (STAMP_QR_QUIET + r->y + 1) * m,
                   r->len * m, m};
    append_nums(cs, v, 4);
    g_string_append(cs, " re\n");
  }
  g_string_append(cs, "f\n");
  QRcode_free(qr);
  return TRUE;
}

/* ------------------------------------------------------------------------------ */
/* Text and layout */

static const char *const bulan[12] = {
    "Januari", "Februari", "Maret",     "April",   "Mei",      "Juni",
    "Juli",    "Agustus",  "September", "Oktober", "November", "Desember",
};

char *
sig_appearance_format_time(GDateTime *time, GTimeZone *tz, const char *label)
{
  g_autoptr(GDateTime) local =
      tz != NULL ? g_date_time_to_timezone(time, tz) : g_date_time_ref(time);
  g_autofree char *derived = NULL;

  if (local == NULL) /* out of range for the zone: show the time as given */
    local = g_date_time_ref(time);
  if (label == NULL) {
    GTimeSpan off = g_date_time_get_utc_offset(local);
    gint64 minutes = off / G_TIME_SPAN_MINUTE;
    /* Indonesia's three zones have their own names; anything else is spelled out. */
    if (minutes == 7 * 60)
      label = "WIB";
    else if (minutes == 8 * 60)
      label = "WITA";
    else if (minutes == 9 * 60)
      label = "WIT";
    else if (minutes == 0)
      label = "UTC";
    else
      label = derived = g_strdup_printf("UTC%c%02d:%02d", minutes < 0 ? '-' : '+',
                                        (int)(ABS(minutes) / 60), (int)(ABS(minutes) % 60));
  }
  return g_strdup_printf("%d %s %d %02d:%02d %s", g_date_time_get_day_of_month(local),
                         bulan[g_date_time_get_month(local) - 1], g_date_time_get_year(local),
                         g_date_time_get_hour(local), g_date_time_get_minute(local), label);
}

typedef struct {
  StampFont *font;
  double scale; /* × base size */
  guint drop;   /* 0 = always shown; else dropped, lowest first, when the box is too small */
  char *text;   /* WinAnsi */
} Para;

/* Highest Para.drop in use. */
#define STAMP_MAX_DROP 5

typedef struct {
  StampFont *font;
  double size;
  char *text; /* WinAnsi, one line */
} Line;

static void
para_clear(gpointer p)
{
  g_free(((Para *)p)->text);
}

static void
line_clear(gpointer p)
{
  g_free(((Line *)p)->text);
}

static void
add_line(GArray *lines, StampFont *font, double size, const char *s, gsize n)
{
  Line l = {font, size, g_strndup(s, n)};
  g_array_append_val(lines, l);
}

/* Greedy word wrap at @maxw; a word wider than a line is broken between characters. */
static void
wrap_para(GArray *lines, const Para *p, double size, double maxw)
{
  const char *s = p->text;
  GString *cur = g_string_new(NULL);

  while (*s != '\0') {
    const char *w;
    gsize wl;
    while (*s == ' ')
      s++;
    if (*s == '\0')
      break;
    w = s;
    while (*s != '\0' && *s != ' ')
      s++;
    wl = (gsize)(s - w);
    if (cur->len > 0) {
      double cw = text_width(p->font, cur->str, cur->len, size);
      if (cw + text_width(p->font, " ", 1, size) + text_width(p->font, w, wl, size) <= maxw) {
        g_string_append_c(cur, ' ');
        g_string_append_len(cur, w, (gssize)wl);
        continue;
      }
      add_line(lines, p->font, size, cur->str, cur->len);
      g_string_truncate(cur, 0);
    }
    while (text_width(p->font, w, wl, size) > maxw) {
      gsize k = 1;
      double acc = text_width(p->font, w, 1, size);
      while (k < wl && acc + text_width(p->font, w + k, 1, size) <= maxw)
        acc += text_width(p->font, w + k++, 1, size);
      add_line(lines, p->font, size, w, k);
      w += k;
      wl -= k;
    }
    g_string_append_len(cur, w, (gssize)wl);
  }
  if (cur->len > 0)
    add_line(lines, p->font, size, cur->str, cur->len);
  g_string_free(cur, TRUE);
}

static void
append_pdf_string(GString *cs, const char *s)
{
  g_string_append_c(cs, '(');
  for (const guint8 *p = (const guint8 *)s; *p != 0; p++) {
    if (*p == '(' || *p == ')' || *p == '\\')
      g_string_append_printf(cs, "\\%c", *p);
    else if (*p < 0x20 || *p >= 0x7F)
      g_string_append_printf(cs, "\\%03o", *p);
    else
      g_string_append_c(cs, (char)*p);
  }
  g_string_append_c(cs, ')');
}

static gboolean
add_para(GArray *paras, StampFont *font, double scale, guint drop, const char *prefix,
         const char *utf8, const char *what, GError **error)
{
  g_autofree char *full = NULL;
  Para p = {font, scale, drop, NULL};

  if (utf8 == NULL || *utf8 == '\0')
    return TRUE;
  /* The same cap as the signature dictionary's /Name, /Reason, /Location. */
  if (strlen(utf8) > TTE_LIMIT_SIG_TEXT_MAX_LEN) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT, "stamp %s is longer than %u bytes", what,
                TTE_LIMIT_SIG_TEXT_MAX_LEN);
    return FALSE;
  }
  full = g_strconcat(prefix != NULL ? prefix : "", utf8, NULL);
  p.text = utf8_to_winansi(full, what, error);
  if (p.text == NULL)
    return FALSE;
  /* PDF/A-2 forbids drawing .notdef: a character the font lacks becomes '?'. */
  for (guint8 *c = (guint8 *)p.text; *c != 0; c++)
    if (!font->has[*c])
      *c = font->has['?'] ? '?' : ' ';
  g_array_append_val(paras, p);
  return TRUE;
}

gboolean
sig_appearance_emit(const SigStamp *stamp, double width, double height, const double matrix[6],
                    SigObjSink *sink, guint *out_xobject_num, GError **error)
{
  static const double identity[6] = {1, 0, 0, 1, 0, 0};
  g_autoptr(StampFont) regular = NULL, bold_owned = NULL;
  StampFont *bold;
  g_autoptr(GArray) paras = g_array_new(FALSE, FALSE, sizeof(Para));
  g_autoptr(GArray) lines = g_array_new(FALSE, FALSE, sizeof(Line));
  g_autoptr(GString) cs = g_string_new(NULL);
  g_autoptr(GString) d = g_string_new(NULL);
  g_autoptr(GBytes) zcs = NULL;
  g_autofree char *when = NULL;
  StampImage img = {0};
  gboolean have_img = stamp->image_path != NULL || stamp->image_data != NULL;
  gboolean have_qr = stamp->qr_url != NULL && *stamp->qr_url != '\0';
  double pad, qr_side = 0, img_w = 0, img_h = 0, tx0, tx1, avail_h, size, total = 0;
  guint img_num = 0, form_num;
  gboolean ok = FALSE, fitted = FALSE;

  g_array_set_clear_func(paras, para_clear);
  g_array_set_clear_func(lines, line_clear);
  if (stamp->signer_name == NULL || stamp->time == NULL ||
      strspn(stamp->signer_name, " \t\r\n") == strlen(stamp->signer_name)) {
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                        "the stamp needs the signer's name and the signing time");
    return FALSE;
  }
  if (!isfinite(width) || !isfinite(height) || width < 20 || height < 10 || width > 14400 ||
      height > 14400) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                "stamp box %g x %g pt is too small (at least 20 x 10) or too large", width, height);
    return FALSE;
  }
  if (matrix == NULL)
    matrix = identity;

  regular = stamp_font_load(
      stamp->font_path != NULL ? stamp->font_path : SIG_APPEARANCE_DEFAULT_FONT, error);
  if (regular == NULL)
    return FALSE;
  if (stamp->bold_font_path != NULL ||
      (stamp->font_path == NULL &&
       g_file_test(SIG_APPEARANCE_DEFAULT_BOLD_FONT, G_FILE_TEST_IS_REGULAR))) {
    bold_owned = stamp_font_load(stamp->bold_font_path != NULL ? stamp->bold_font_path
                                                               : SIG_APPEARANCE_DEFAULT_BOLD_FONT,
                                 error);
    if (bold_owned == NULL)
      return FALSE;
  }
  bold = bold_owned != NULL ? bold_owned : regular;

  when = sig_appearance_format_time(stamp->time, stamp->time_zone, stamp->timezone_label);
  /* Who signed and when are never dropped; the rest gives way, least important first,
   * when a small existing field cannot hold everything even at the minimum size. */
  if (!add_para(paras, regular, 0.85, 3, NULL, "Ditandatangani secara elektronik oleh:", "header",
                error) ||
      !add_para(paras, bold, 1.15, 0, NULL, stamp->signer_name, "name", error) ||
      !add_para(paras, regular, 1.0, 5, NULL, stamp->title, "title", error) ||
      !add_para(paras, regular, 1.0, 4, NULL, stamp->organization, "organization", error) ||
      !add_para(paras, regular, 0.85, 0, NULL, when, "time label", error) ||
      !add_para(paras, regular, 0.85, 2, "Alasan: ", stamp->reason, "reason", error) ||
      !add_para(paras, regular, 0.85, 1, "Lokasi: ", stamp->location, "location", error))
    return FALSE;

  /* Columns: [QR][text][image] with the QR on the left, mirrored with it on the right;
   * without a QR the image takes the left. */
  pad = CLAMP(MIN(width, height) * 0.06, 2.0, 6.0);
  if (have_qr)
    qr_side = MIN(height, width * 0.45);
  if (have_img) {
    double sc;
    if (!stamp_image_load(stamp, width * 0.3, height - 2 * pad, &img, error))
      goto out;
    sc = MIN((height - 2 * pad) / img.height, (width * 0.3) / img.width);
    img_w = img.width * sc;
    img_h = img.height * sc;
  }
  {
    gboolean qr_left = stamp->qr_position != SIG_QR_RIGHT;
    double left = 0, right = width;
    if (have_qr) {
      if (qr_left)
        left += qr_side;
      else
        right -= qr_side;
    }
    if (have_img) {
      if (have_qr && qr_left)
        right -= img_w + pad;
      else
        left += img_w + pad;
    }
    tx0 = left + pad;
    tx1 = right - pad;
  }
  if (tx1 - tx0 < STAMP_MIN_TEXT_WIDTH) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                "stamp box %g x %g pt leaves no room for the text beside the QR code/image", width,
                height);
    goto out;
  }

  /* Largest base size at which every paragraph, wrapped, fits the height; only when
   * even the minimum size fails are optional paragraphs dropped. */
  avail_h = height - 2 * pad;
  for (guint level = 0; level <= STAMP_MAX_DROP && !fitted; level++) {
    for (size = STAMP_MAX_FONT_SIZE; size >= STAMP_MIN_FONT_SIZE - 1e-9; size -= STAMP_FONT_STEP) {
      g_array_set_size(lines, 0);
      total = 0;
      for (guint i = 0; i < paras->len; i++) {
        const Para *p = &g_array_index(paras, Para, i);
        if (p->drop == 0 || p->drop > level)
          wrap_para(lines, p, size * p->scale, tx1 - tx0);
      }
      for (guint i = 0; i < lines->len; i++)
        total += g_array_index(lines, Line, i).size * STAMP_LEADING;
      if (total <= avail_h) {
        fitted = TRUE;
        break;
      }
    }
  }
  if (!fitted) {
    g_set_error(
        error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
        "stamp box %g x %g pt is too small for the signer's name and the time even at %g pt", width,
        height, STAMP_MIN_FONT_SIZE);
    goto out;
  }

  /* Opaque white background (covers an anchor placeholder such as "[TTE]"), then a
   * thin frame just inside the box. */
  g_string_append(cs, "q\n1 g\n0 0 ");
  append_num(cs, width);
  g_string_append_c(cs, ' ');
  append_num(cs, height);
  g_string_append(cs, " re f\n0.25 G 0.75 w\n");
  {
    double v[4] = {0.375, 0.375, width - 0.75, height - 0.75};
    append_nums(cs, v, 4);
  }
  g_string_append(cs, " re S\n");

  if (have_qr) {
    double qx = stamp->qr_position == SIG_QR_RIGHT ? width - qr_side : 0;
    if (!draw_qr(cs, stamp->qr_url, qx, (height - qr_side) / 2, qr_side, error))
      goto out;
  }
  if (have_img) {
    gboolean img_right = have_qr && stamp->qr_position != SIG_QR_RIGHT;
    double ix = img_right ? tx1 + pad : (have_qr ? qr_side : 0) + pad;
    double v[6] = {img_w, 0, 0, img_h, ix, (height - img_h) / 2};
    g_string_append(cs, "q ");
    append_nums(cs, v, 6);
    g_string_append(cs, " cm /Im1 Do Q\n");
  }

  /* Text block centred vertically in the box. */
  g_string_append(cs, "BT\n0 g\n");
  {
    double top = (height + total) / 2;
    StampFont *cur_font = NULL;
    double cur_size = 0;
    for (guint i = 0; i < lines->len; i++) {
      const Line *l = &g_array_index(lines, Line, i);
      double tm[6] = {1, 0, 0, 1, tx0, top - STAMP_ASCENT * l->size};
      if (l->font != cur_font || l->size != cur_size) {
        g_string_append_printf(cs, "/%s ", l->font == regular ? "F1" : "F2");
        append_num(cs, l->size);
        g_string_append(cs, " Tf\n");
        cur_font = l->font;
        cur_size = l->size;
      }
      append_nums(cs, tm, 6);
      g_string_append(cs, " Tm ");
      append_pdf_string(cs, l->text);
      g_string_append(cs, " Tj\n");
      for (const guint8 *p = (const guint8 *)l->text; *p != 0; p++)
        l->font->used[*p] = TRUE;
      top -= l->size * STAMP_LEADING;
    }
  }
  g_string_append(cs, "ET\nQ\n");

  /* Objects: fonts, image, then the Form that refers to them. */
  regular->font_num = sink->alloc(sink);
  if (bold != regular)
    bold->font_num = sink->alloc(sink);
  if (have_img)
    img_num = sink->alloc(sink);
  form_num = sink->alloc(sink);
  if (!stamp_font_emit(regular, sink, error) ||
      (bold != regular && !stamp_font_emit(bold, sink, error)))
    goto out;
  if (have_img) {
    g_string_append_printf(d,
                           "/Type /XObject /Subtype /Image /Width %u /Height %u /ColorSpace /%s"
                           " /BitsPerComponent 8 /Filter /%s",
                           img.width, img.height, img.color_space, img.filter);
    if (!sink_emit_stream(sink, img_num, d->str, img.data, error))
      goto out;
    g_string_truncate(d, 0);
  }
  zcs = flate((const guint8 *)cs->str, cs->len, FLATE_FAST, error);
  if (zcs == NULL)
    goto out;
  g_string_append(d, "/Type /XObject /Subtype /Form /FormType 1 /BBox [0 0 ");
  append_num(d, width);
  g_string_append_c(d, ' ');
  append_num(d, height);
  g_string_append(d, "] /Matrix [");
  append_nums(d, matrix, 6);
  g_string_append_printf(d, "] /Resources << /ProcSet [/PDF /Text%s] /Font << /F1 %u 0 R",
                         have_img ? " /ImageB /ImageC" : "", regular->font_num);
  if (bold != regular)
    g_string_append_printf(d, " /F2 %u 0 R", bold->font_num);
  else
    g_string_append_printf(d, " /F2 %u 0 R", regular->font_num);
  g_string_append(d, " >>");
  if (have_img)
    g_string_append_printf(d, " /XObject << /Im1 %u 0 R >>", img_num);
  g_string_append(d, " >> /Filter /FlateDecode");
  if (!sink_emit_stream(sink, form_num, d->str, zcs, error))
    goto out;
  *out_xobject_num = form_num;
  ok = TRUE;
out:
  stamp_image_clear(&img);
  return ok;
}
