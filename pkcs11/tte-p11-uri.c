/* tte-p11-uri.c — RFC 7512 PKCS#11 URIs.
 *
 * Strict on purpose: an administrator's typo ("objet=") must fail instead of quietly
 * matching a different key, and a PIN must never be carried in a URI (it would end up
 * in shell history, logs and process listings).
 */
#include "tte-p11.h"

#include "tte-error.h"
#include "tte-limits.h"

#include <string.h>

void
tte_p11_uri_free(TteP11Uri *uri)
{
  if (uri == NULL)
    return;
  g_free(uri->token);
  g_free(uri->manufacturer);
  g_free(uri->serial);
  g_free(uri->model);
  g_free(uri->object);
  if (uri->id != NULL)
    g_bytes_unref(uri->id);
  g_free(uri->type);
  g_free(uri->module_path);
  g_free(uri->pin_source);
  g_free(uri);
}

static int
hexval(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Percent-decode @len bytes at @s.  Raw bytes outside printable ASCII must have been
 * encoded (RFC 3986); the decoded value is capped by TTE_LIMIT_P11_ATTR_MAX_LEN. */
static GByteArray *
pct_decode(const char *name, const char *s, gsize len, GError **error)
{
  g_autoptr(GByteArray) out = g_byte_array_new();

  for (gsize i = 0; i < len; i++) {
    guint8 b = (guint8)s[i];
    if (b == '%') {
      int hi, lo;
      if (len - i < 3 || (hi = hexval(s[i + 1])) < 0 || (lo = hexval(s[i + 2])) < 0) {
        g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                    "PKCS#11 URI: bad percent-encoding in \"%s\"", name);
        return NULL;
      }
      b = (guint8)(hi << 4 | lo);
      i += 2;
    } else if (b <= 0x20 || b >= 0x7f) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                  "PKCS#11 URI: character 0x%02x in \"%s\" must be percent-encoded", b, name);
      return NULL;
    }
    if (out->len >= TTE_LIMIT_P11_ATTR_MAX_LEN) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT,
                  "PKCS#11 URI: \"%s\" is longer than %u bytes (TTE_LIMIT_P11_ATTR_MAX_LEN)",
                  name, TTE_LIMIT_P11_ATTR_MAX_LEN);
      return NULL;
    }
    g_byte_array_append(out, &b, 1);
  }
  return g_steal_pointer(&out);
}

/* A text attribute: decoded, non-empty, valid UTF-8 without NUL. */
static char *
decode_text(const char *name, const char *s, gsize len, GError **error)
{
  g_autoptr(GByteArray) raw = pct_decode(name, s, len, error);

  if (raw == NULL)
    return NULL;
  if (raw->len == 0 || memchr(raw->data, '\0', raw->len) != NULL ||
      !g_utf8_validate((const char *)raw->data, raw->len, NULL)) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                "PKCS#11 URI: \"%s\" is empty or not valid UTF-8 text", name);
    return NULL;
  }
  return g_strndup((const char *)raw->data, raw->len);
}

static gboolean
set_text(char **slot, const char *name, const char *v, gsize vlen, GError **error)
{
  if (*slot != NULL) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                "PKCS#11 URI: attribute \"%s\" given twice", name);
    return FALSE;
  }
  *slot = decode_text(name, v, vlen, error);
  return *slot != NULL;
}

static gboolean
parse_path_attr(TteP11Uri *u, const char *name, const char *v, gsize vlen, GError **error)
{
  if (strcmp(name, "token") == 0)
    return set_text(&u->token, name, v, vlen, error);
  if (strcmp(name, "manufacturer") == 0)
    return set_text(&u->manufacturer, name, v, vlen, error);
  if (strcmp(name, "serial") == 0)
    return set_text(&u->serial, name, v, vlen, error);
  if (strcmp(name, "model") == 0)
    return set_text(&u->model, name, v, vlen, error);
  if (strcmp(name, "object") == 0)
    return set_text(&u->object, name, v, vlen, error);
  if (strcmp(name, "type") == 0) {
    static const char *const types[] = { "private", "public", "cert", "secret-key", "data" };
    gboolean ok = FALSE;
    if (!set_text(&u->type, name, v, vlen, error))
      return FALSE;
    for (gsize i = 0; i < G_N_ELEMENTS(types); i++)
      ok = ok || strcmp(u->type, types[i]) == 0;
    if (!ok) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                  "PKCS#11 URI: unknown type \"%s\" (private, public, cert, secret-key, data)",
                  u->type);
      return FALSE;
    }
    return TRUE;
  }
  if (strcmp(name, "id") == 0) {
    g_autoptr(GByteArray) raw = NULL;
    if (u->id != NULL) {
      g_set_error_literal(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                          "PKCS#11 URI: attribute \"id\" given twice");
      return FALSE;
    }
    raw = pct_decode(name, v, vlen, error);
    if (raw == NULL)
      return FALSE;
    if (raw->len == 0) {
      g_set_error_literal(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                          "PKCS#11 URI: \"id\" is empty");
      return FALSE;
    }
    u->id = g_byte_array_free_to_bytes(g_steal_pointer(&raw));
    return TRUE;
  }
  if (strcmp(name, "slot-id") == 0) {
    /* Slot numbers change when tokens come and go (SoftHSM renumbers them). */
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                        "PKCS#11 URI: select the token by token= label or serial=, not slot-id");
    return FALSE;
  }
  if (g_str_has_prefix(name, "library-") || g_str_has_prefix(name, "slot-")) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_NOT_SUPPORTED,
                "PKCS#11 URI: attribute \"%s\" is not supported (use token=, serial=, "
                "object=, id=)", name);
    return FALSE;
  }
  g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
              "PKCS#11 URI: unknown attribute \"%s\"", name);
  return FALSE;
}

static gboolean
parse_query_attr(TteP11Uri *u, const char *name, const char *v, gsize vlen, GError **error)
{
  if (strcmp(name, "pin-value") == 0) {
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                        "PKCS#11 URI: pin-value is refused; give the PIN with --pin-file or "
                        "TTE_PIN, never in a URI");
    return FALSE;
  }
  if (strcmp(name, "module-path") == 0)
    return set_text(&u->module_path, name, v, vlen, error);
  if (strcmp(name, "pin-source") == 0)
    return set_text(&u->pin_source, name, v, vlen, error);
  /* RFC 7512: unknown query attributes may be ignored (module-name, vendor ones). */
  return TRUE;
}

/* Split @part at @sep and feed each "name=value" to @fn. */
static gboolean
parse_part(TteP11Uri *u, const char *part, gsize len, char sep,
           gboolean (*fn)(TteP11Uri *, const char *, const char *, gsize, GError **),
           GError **error)
{
  gsize pos = 0;

  while (pos < len) {
    const char *a = part + pos;
    const char *end = memchr(a, sep, len - pos);
    gsize alen = end != NULL ? (gsize)(end - a) : len - pos;
    const char *eq = memchr(a, '=', alen);
    g_autofree char *name = NULL;

    if (alen == 0) {
      g_set_error_literal(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                          "PKCS#11 URI: empty attribute");
      return FALSE;
    }
    if (eq == NULL) {
      g_autofree char *shown = g_strndup(a, MIN(alen, 64));
      g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                  "PKCS#11 URI: attribute \"%s\" has no '='", shown);
      return FALSE;
    }
    name = g_ascii_strdown(a, eq - a);
    if (!fn(u, name, eq + 1, alen - (gsize)(eq - a) - 1, error))
      return FALSE;
    pos += alen + (end != NULL ? 1 : 0);
    if (end != NULL && pos == len) {
      g_set_error_literal(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                          "PKCS#11 URI: trailing separator");
      return FALSE;
    }
  }
  return TRUE;
}

TteP11Uri *
tte_p11_uri_parse(const char *uri, GError **error)
{
  static const char scheme[] = "pkcs11:";
  g_autoptr(TteP11Uri) u = NULL;
  const char *path, *query;
  gsize len;

  if (uri == NULL) {
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT, "no PKCS#11 URI given");
    return NULL;
  }
  len = strnlen(uri, TTE_LIMIT_P11_URI_MAX_LEN + 1);
  if (len > TTE_LIMIT_P11_URI_MAX_LEN) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT,
                "PKCS#11 URI longer than %u bytes (TTE_LIMIT_P11_URI_MAX_LEN)",
                TTE_LIMIT_P11_URI_MAX_LEN);
    return NULL;
  }
  if (g_ascii_strncasecmp(uri, scheme, sizeof scheme - 1) != 0) {
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                        "not a PKCS#11 URI (must start with \"pkcs11:\")");
    return NULL;
  }
  if (memchr(uri, '#', len) != NULL) {
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                        "PKCS#11 URI: a fragment ('#') is not allowed");
    return NULL;
  }
  u = g_new0(TteP11Uri, 1);
  path = uri + sizeof scheme - 1;
  query = strchr(path, '?');
  if (!parse_part(u, path, query != NULL ? (gsize)(query - path) : strlen(path), ';',
                  parse_path_attr, error))
    return NULL;
  if (query != NULL && !parse_part(u, query + 1, strlen(query + 1), '&', parse_query_attr, error))
    return NULL;
  return g_steal_pointer(&u);
}

static void
append_encoded(GString *s, const guint8 *data, gsize len, gboolean all)
{
  for (gsize i = 0; i < len; i++) {
    guint8 b = data[i];
    if (!all && (g_ascii_isalnum(b) || b == '-' || b == '.' || b == '_' || b == '~'))
      g_string_append_c(s, (char)b);
    else
      g_string_append_printf(s, "%%%02x", b);
  }
}

static void
append_attr(GString *s, const char *name, const char *value)
{
  if (value == NULL)
    return;
  if (s->str[s->len - 1] != ':')
    g_string_append_c(s, ';');
  g_string_append_printf(s, "%s=", name);
  append_encoded(s, (const guint8 *)value, strlen(value), FALSE);
}

char *
tte_p11_uri_format(const TteP11Uri *uri)
{
  GString *s = g_string_new("pkcs11:");

  append_attr(s, "token", uri->token);
  append_attr(s, "manufacturer", uri->manufacturer);
  append_attr(s, "model", uri->model);
  append_attr(s, "serial", uri->serial);
  append_attr(s, "object", uri->object);
  if (uri->id != NULL) {
    gsize n = 0;
    const guint8 *d = g_bytes_get_data(uri->id, &n);
    if (s->str[s->len - 1] != ':')
      g_string_append_c(s, ';');
    g_string_append(s, "id=");
    append_encoded(s, d, n, TRUE);
  }
  append_attr(s, "type", uri->type);
  return g_string_free(s, FALSE);
}
