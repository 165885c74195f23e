/* tte-cursor.h — a bounds-checked reader over untrusted bytes.
 *
 * A cursor is a (pointer, length, position) view; it never owns the bytes.  Every
 * getter either consumes exactly what it says and returns TRUE, or returns FALSE and
 * leaves the position unchanged.  Nothing reads past the end.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  const guint8 *data;
  gsize len;
  gsize pos;
} TteCursor;

static inline void
tte_cursor_init(TteCursor *c, const void *data, gsize len)
{
  c->data = data;
  c->len = len;
  c->pos = 0;
}

static inline gsize
tte_cursor_remaining(const TteCursor *c)
{
  return c->len - c->pos;
}

static inline gboolean
tte_cursor_at_end(const TteCursor *c)
{
  return c->pos >= c->len;
}

/* Peek at the next byte; FALSE at end. */
gboolean tte_cursor_peek(const TteCursor *c, guint8 *out) G_GNUC_WARN_UNUSED_RESULT;
/* Consume one byte. */
gboolean tte_cursor_get_u8(TteCursor *c, guint8 *out) G_GNUC_WARN_UNUSED_RESULT;
/* Consume @n bytes; *out points into the cursor's buffer (not copied). */
gboolean tte_cursor_get_bytes(TteCursor *c, gsize n, const guint8 **out) G_GNUC_WARN_UNUSED_RESULT;
/* Move to absolute position @pos (<= len). */
gboolean tte_cursor_seek(TteCursor *c, gsize pos) G_GNUC_WARN_UNUSED_RESULT;
/* Skip @n bytes. */
gboolean tte_cursor_skip(TteCursor *c, gsize n) G_GNUC_WARN_UNUSED_RESULT;
/* Consume @lit if the next bytes equal it exactly. */
gboolean tte_cursor_match(TteCursor *c, const char *lit) G_GNUC_WARN_UNUSED_RESULT;
/* Skip PDF white space (NUL, TAB, LF, FF, CR, SP) and comments. Never fails. */
void tte_cursor_skip_pdf_ws(TteCursor *c);
/* Consume a non-negative decimal integer of at most 19 digits (no sign).  Fails on
 * overflow past G_MAXINT64 and when no digit is present. */
gboolean tte_cursor_get_uint(TteCursor *c, guint64 *out) G_GNUC_WARN_UNUSED_RESULT;
/* Consume a PDF integer with optional sign. */
gboolean tte_cursor_get_int(TteCursor *c, gint64 *out) G_GNUC_WARN_UNUSED_RESULT;
/* Consume a PDF hex string "<...>" (white space allowed inside, odd digit count padded
 * with 0 as the PDF spec says).  The decoded bytes go to a new GBytes of at most
 * @max_len bytes; a longer string fails without consuming. */
gboolean tte_cursor_get_hex_string(TteCursor *c, gsize max_len, GBytes **out) G_GNUC_WARN_UNUSED_RESULT;

/* PDF character classes. */
static inline gboolean
tte_pdf_is_ws(guint8 b)
{
  return b == 0 || b == '\t' || b == '\n' || b == '\f' || b == '\r' || b == ' ';
}

static inline gboolean
tte_pdf_is_delim(guint8 b)
{
  return b == '(' || b == ')' || b == '<' || b == '>' || b == '[' || b == ']' || b == '{' ||
         b == '}' || b == '/' || b == '%';
}

G_END_DECLS
