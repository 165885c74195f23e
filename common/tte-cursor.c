#include "tte-cursor.h"

gboolean
tte_cursor_peek(const TteCursor *c, guint8 *out)
{
  if (c->pos >= c->len)
    return FALSE;
  *out = c->data[c->pos];
  return TRUE;
}

gboolean
tte_cursor_get_u8(TteCursor *c, guint8 *out)
{
  if (!tte_cursor_peek(c, out))
    return FALSE;
  c->pos++;
  return TRUE;
}

gboolean
tte_cursor_get_bytes(TteCursor *c, gsize n, const guint8 **out)
{
  if (n > tte_cursor_remaining(c))
    return FALSE;
  *out = c->data + c->pos;
  c->pos += n;
  return TRUE;
}

gboolean
tte_cursor_seek(TteCursor *c, gsize pos)
{
  if (pos > c->len)
    return FALSE;
  c->pos = pos;
  return TRUE;
}

gboolean
tte_cursor_skip(TteCursor *c, gsize n)
{
  if (n > tte_cursor_remaining(c))
    return FALSE;
  c->pos += n;
  return TRUE;
}

gboolean
tte_cursor_match(TteCursor *c, const char *lit)
{
  gsize n = strlen(lit);
  if (n > tte_cursor_remaining(c) || memcmp(c->data + c->pos, lit, n) != 0)
    return FALSE;
  c->pos += n;
  return TRUE;
}

void
tte_cursor_skip_pdf_ws(TteCursor *c)
{
  while (c->pos < c->len) {
    guint8 b = c->data[c->pos];
    if (tte_pdf_is_ws(b)) {
      c->pos++;
    } else if (b == '%') {
      while (c->pos < c->len && c->data[c->pos] != '\n' && c->data[c->pos] != '\r')
        c->pos++;
    } else {
      break;
    }
  }
}

gboolean
tte_cursor_get_uint(TteCursor *c, guint64 *out)
{
  gsize p = c->pos;
  guint64 v = 0;
  guint digits = 0;

  while (p < c->len && g_ascii_isdigit(c->data[p])) {
    guint d = (guint)(c->data[p] - '0');
    if (v > ((guint64)G_MAXINT64 - d) / 10)
      return FALSE;
    v = v * 10 + d;
    p++;
    digits++;
  }
  if (digits == 0)
    return FALSE;
  c->pos = p;
  *out = v;
  return TRUE;
}

gboolean
tte_cursor_get_int(TteCursor *c, gint64 *out)
{
  gsize save = c->pos;
  gboolean neg = FALSE;
  guint64 v;

  if (c->pos < c->len && (c->data[c->pos] == '-' || c->data[c->pos] == '+')) {
    neg = c->data[c->pos] == '-';
    c->pos++;
  }
  if (!tte_cursor_get_uint(c, &v)) {
    c->pos = save;
    return FALSE;
  }
  *out = neg ? -(gint64)v : (gint64)v;
  return TRUE;
}

gboolean
tte_cursor_get_hex_string(TteCursor *c, gsize max_len, GBytes **out)
{
  /* Per byte: its value for a hex digit, HEX_WS for PDF white space, HEX_BAD otherwise.
   * A signature's /Contents is tens of thousands of digits, read on every verification. */
  enum { HEX_WS = 0x10, HEX_BAD = 0xff };
  static guint8 kind[256];
  static gsize kind_ready;
  gsize p = c->pos, digits = 0, end;
  guint8 *buf;
  gsize n = 0;
  gboolean high = TRUE;

  if (g_once_init_enter(&kind_ready)) {
    for (guint i = 0; i < 256; i++)
      kind[i] = g_ascii_isxdigit(i) ? (guint8)g_ascii_xdigit_value((gchar)i)
                : tte_pdf_is_ws((guint8)i) ? HEX_WS : HEX_BAD;
    g_once_init_leave(&kind_ready, 1);
  }
  if (p >= c->len || c->data[p] != '<')
    return FALSE;
  p++;
  /* First pass: validate and find the end without allocating. */
  for (end = p; end < c->len && c->data[end] != '>'; end++) {
    guint8 k = kind[c->data[end]];
    if (k < HEX_WS)
      digits++;
    else if (k == HEX_BAD)
      return FALSE;
  }
  if (end >= c->len)
    return FALSE;
  if ((digits + 1) / 2 > max_len)
    return FALSE;

  buf = g_malloc((digits + 1) / 2 + 1);
  for (; p < end; p++) {
    guint8 k = kind[c->data[p]];
    if (k >= HEX_WS)
      continue;
    if (high)
      buf[n] = (guint8)(k << 4);
    else
      buf[n++] |= k;
    high = !high;
  }
  if (!high)
    n++; /* odd count: the missing low nibble is 0 */
  c->pos = end + 1;
  *out = g_bytes_new_take(buf, n);
  return TRUE;
}
