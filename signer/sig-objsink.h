/* sig-objsink.h — how parts of the signer add new objects to the incremental update.
 *
 * The update writer (sig-writer.c) owns object numbering and the output file; helpers
 * such as the appearance builder (sig-appearance.c) only see this small interface.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct SigObjSink SigObjSink;

struct SigObjSink {
  /* Reserve a new object number (generation 0) for an object emitted later. */
  guint (*alloc)(SigObjSink *sink);
  /* Write object @num.  @dict is the dictionary's inner text without the << >> and
   * without /Length (the sink adds /Length when @stream is not NULL).  When @stream is
   * NULL, @dict is written as the whole object body verbatim (any PDF object text, e.g.
   * "<< /Type /Font ... >>" or "[1 0 R 2 0 R]"). */
  gboolean (*emit)(SigObjSink *sink, guint num, const char *dict, const guint8 *stream,
                   gsize stream_len, GError **error);
  void *user_data;
};

G_END_DECLS
