/* multipart.h — a bounded multipart/form-data reader (RFC 7578) over a complete body.
 *
 * The HTTP core hands handlers the whole body (memory or a mapped spool file), so the
 * parts are slices of it (no copy).  Everything is bounds-checked; a body that does not
 * end with the closing delimiter is refused, as is a part without a name.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define API_MULTIPART_MAX_PARTS 128u
#define API_MULTIPART_MAX_HEADER 8192u /* bytes of one part's header block */

typedef struct {
  char *name;         /* form field name */
  char *filename;     /* NULL when absent */
  char *content_type; /* NULL when absent */
  GBytes *data;       /* slice of the body */
} ApiPart;

void api_part_free(ApiPart *p);

/* The boundary parameter of a multipart/form-data Content-Type, or NULL when
 * @content_type is not multipart/form-data (caller frees). */
char *api_multipart_boundary(const char *content_type);

/* Parse @body with @boundary.  Returns a GPtrArray of ApiPart* (owned) or NULL with
 * API_ERROR_BAD_REQUEST naming what was malformed. */
GPtrArray *api_multipart_parse(GBytes *body, const char *boundary,
                               GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* The first part named @name, or NULL. */
ApiPart *api_multipart_find(GPtrArray *parts, const char *name);

G_END_DECLS
