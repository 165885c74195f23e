/* multipart.c — multipart/form-data over a complete, bounded body. */
#include "multipart.h"

#include "store.h"

#include <string.h>

void
api_part_free(ApiPart *p)
{
  if (p == NULL)
    return;
  g_free(p->name);
  g_free(p->filename);
  g_free(p->content_type);
  if (p->data != NULL)
    g_bytes_unref(p->data);
  g_free(p);
}

/* Value of parameter @param in a header value like `form-data; name="x"`.  Quoted
 * strings may contain ';' and backslash escapes; the result is unescaped. */
static char *
header_param(const char *value, const char *param)
{
  gsize plen = strlen(param);
  const char *p = value;

  while ((p = strchr(p, ';')) != NULL) {
    p++;
    while (*p == ' ' || *p == '\t')
      p++;
    if (g_ascii_strncasecmp(p, param, plen) == 0 && p[plen] == '=') {
      const char *v = p + plen + 1;
      GString *out = g_string_new(NULL);
      if (*v == '"') {
        for (v++; *v != '\0' && *v != '"'; v++) {
          if (*v == '\\' && v[1] != '\0')
            v++;
          g_string_append_c(out, *v);
        }
        if (*v != '"') {
          g_string_free(out, TRUE);
          return NULL;
        }
      } else {
        for (; *v != '\0' && *v != ';' && *v != ' '; v++)
          g_string_append_c(out, *v);
      }
      return g_string_free(out, FALSE);
    }
    /* Skip a quoted value so that a ';' inside it is not taken as a separator. */
    {
      const char *eq = strchr(p, '=');
      const char *semi = strchr(p, ';');
      if (eq != NULL && (semi == NULL || eq < semi) && eq[1] == '"') {
        const char *q = eq + 2;
        while (*q != '\0' && *q != '"') {
          if (*q == '\\' && q[1] != '\0')
            q++;
          q++;
        }
        p = q;
      }
    }
  }
  return NULL;
}

char *
api_multipart_boundary(const char *content_type)
{
  g_autofree char *b = NULL;
  gsize n;

  if (content_type == NULL || g_ascii_strncasecmp(content_type, "multipart/form-data", 19) != 0)
    return NULL;
  b = header_param(content_type, "boundary");
  if (b == NULL)
    return NULL;
  /* RFC 2046: 1 to 70 characters. */
  n = strlen(b);
  if (n == 0 || n > 70)
    return NULL;
  return g_steal_pointer(&b);
}

static gboolean
bad(GError **error, const char *what)
{
  g_set_error(error, API_ERROR, API_ERROR_BAD_REQUEST, "malformed multipart body: %s", what);
  return FALSE;
}

/* Parse one part's header block [p, end) into @part. */
static gboolean
parse_headers(const char *p, gsize len, ApiPart *part, GError **error)
{
  g_autofree char *block = g_strndup(p, len);
  g_auto(GStrv) lines = NULL;

  if (strlen(block) != len)
    return bad(error, "NUL in part headers");
  lines = g_strsplit(block, "\r\n", 64);
  for (guint i = 0; lines[i] != NULL; i++) {
    char *colon = strchr(lines[i], ':');
    char *value;
    if (colon == NULL)
      return bad(error, "part header without ':'");
    *colon = '\0';
    value = g_strstrip(colon + 1);
    if (g_ascii_strcasecmp(g_strstrip(lines[i]), "Content-Disposition") == 0) {
      if (g_ascii_strncasecmp(value, "form-data", 9) != 0)
        return bad(error, "part is not form-data");
      g_free(part->name);
      g_free(part->filename);
      part->name = header_param(value, "name");
      part->filename = header_param(value, "filename");
    } else if (g_ascii_strcasecmp(lines[i], "Content-Type") == 0) {
      g_free(part->content_type);
      part->content_type = g_strdup(value);
    }
  }
  if (part->name == NULL || part->name[0] == '\0')
    return bad(error, "part without a name");
  return TRUE;
}

GPtrArray *
api_multipart_parse(GBytes *body, const char *boundary, GError **error)
{
  g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func((GDestroyNotify)api_part_free);
  g_autofree char *delim = g_strconcat("\r\n--", boundary, NULL);
  gsize dlen = strlen(delim), len = 0;
  const char *data = g_bytes_get_data(body, &len);
  const char *end = data + len;
  const char *p;

  if (data == NULL || len < dlen) {
    bad(error, "empty body");
    return NULL;
  }
  /* The first delimiter may start the body (no preamble) or follow a preamble line. */
  if (memcmp(data, delim + 2, dlen - 2) == 0) {
    p = data + dlen - 2;
  } else {
    const char *d = memmem(data, len, delim, dlen);
    if (d == NULL) {
      bad(error, "no boundary");
      return NULL;
    }
    p = d + dlen;
  }
  for (;;) {
    ApiPart *part;
    const char *hend, *next;

    if ((gsize)(end - p) >= 2 && p[0] == '-' && p[1] == '-')
      break; /* closing delimiter; an epilogue is ignored */
    while (p < end && (*p == ' ' || *p == '\t'))
      p++;
    if ((gsize)(end - p) < 2 || p[0] != '\r' || p[1] != '\n') {
      bad(error, "missing line break after boundary");
      return NULL;
    }
    p += 2;
    if (parts->len >= API_MULTIPART_MAX_PARTS) {
      bad(error, "too many parts");
      return NULL;
    }
    hend = memmem(p, MIN((gsize)(end - p), API_MULTIPART_MAX_HEADER + 4), "\r\n\r\n", 4);
    if (hend == NULL) {
      bad(error, "unterminated or oversized part headers");
      return NULL;
    }
    part = g_new0(ApiPart, 1);
    g_ptr_array_add(parts, part);
    if (!parse_headers(p, (gsize)(hend - p), part, error))
      return NULL;
    p = hend + 4;
    next = memmem(p, (gsize)(end - p), delim, dlen);
    if (next == NULL) {
      bad(error, "body ends before the closing boundary");
      return NULL;
    }
    part->data = g_bytes_new_from_bytes(body, (gsize)(p - data), (gsize)(next - p));
    p = next + dlen;
  }
  return g_steal_pointer(&parts);
}

ApiPart *
api_multipart_find(GPtrArray *parts, const char *name)
{
  for (guint i = 0; parts != NULL && i < parts->len; i++) {
    ApiPart *p = g_ptr_array_index(parts, i);
    if (g_strcmp0(p->name, name) == 0)
      return p;
  }
  return NULL;
}
