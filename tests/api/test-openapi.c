/* test-openapi.c — the OpenAPI document against the routes really registered, both ways;
 * and the multipart reader on well-formed and hostile bodies. */
#include "multipart.h"
#include "routes-svc.h"
#include "routes.h"
#include "tte-error.h"

#include <string.h>

typedef struct {
  json_t *paths;
  GPtrArray *missing;
  GHashTable *registered; /* "METHOD path" */
} Walk;

static void
collect(const char *method, const char *pattern, guint allowed, gpointer data)
{
  Walk *w = data;
  json_t *item = json_object_get(w->paths, pattern);
  g_autofree char *m = g_ascii_strdown(method, -1);

  g_hash_table_add(w->registered, g_strdup_printf("%s %s", method, pattern));
  if (item == NULL || json_object_get(item, m) == NULL)
    g_ptr_array_add(w->missing, g_strdup_printf("%s %s", method, pattern));
}

static void
test_openapi_matches_routes(void)
{
  g_autoptr(ApiConfig) cfg = api_config_new_default();
  g_autoptr(ApiKeyCache) kc = api_keycache_new(cfg, NULL);
  g_autoptr(ApiServer) srv = api_server_new(cfg, NULL);
  g_autoptr(json_t) doc = NULL;
  g_autoptr(GPtrArray) missing = g_ptr_array_new_with_free_func(g_free);
  g_autoptr(GHashTable) registered = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  Walk w;
  const char *path;
  json_t *item;
  guint described = 0;

  api_routes_register(srv);
  api_routes_service_register(srv, kc);
  doc = api_openapi_document(srv);
  g_assert_cmpstr(json_string_value(json_object_get(doc, "openapi")), ==, "3.0.3");
  w.paths = json_object_get(doc, "paths");
  w.missing = missing;
  w.registered = registered;
  api_server_foreach_route(srv, collect, &w);
  for (guint i = 0; i < missing->len; i++)
    g_test_message("registered but not described: %s", (char *)g_ptr_array_index(missing, i));
  g_assert_cmpuint(missing->len, ==, 0);
  /* ...and every described operation is a registered route. */
  json_object_foreach(w.paths, path, item)
  {
    const char *method;
    json_t *op;
    json_object_foreach(item, method, op)
    {
      g_autofree char *up = g_ascii_strup(method, -1);
      g_autofree char *key = g_strdup_printf("%s %s", up, path);
      if (!g_hash_table_contains(registered, key))
        g_test_message("described but not registered: %s", key);
      g_assert_true(g_hash_table_contains(registered, key));
      g_assert_nonnull(json_object_get(op, "summary"));
      g_assert_nonnull(json_object_get(op, "x-tte-roles"));
      described++;
    }
  }
  g_assert_cmpuint(described, ==, g_hash_table_size(registered));
}

static GPtrArray *
parse(const char *body, gsize len, const char *boundary, GError **error)
{
  g_autoptr(GBytes) b = g_bytes_new(body, len);
  return api_multipart_parse(b, boundary, error);
}

static void
test_multipart_ok(void)
{
  static const char body[] =
      "preamble\r\n--B1\r\nContent-Disposition: form-data; name=\"file\"; "
      "filename=\"a;b.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.7\r\n"
      "\x00\x01--B\r\n--B1\r\nContent-Disposition: form-data; name=reason\r\n\r\n"
      "Setuju\r\n--B1--\r\nepilogue";
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) parts = parse(body, sizeof body - 1, "B1", &error);
  ApiPart *f, *r;
  gsize n = 0;
  const char *d;

  g_assert_no_error(error);
  g_assert_cmpuint(parts->len, ==, 2);
  f = api_multipart_find(parts, "file");
  g_assert_cmpstr(f->filename, ==, "a;b.pdf");
  g_assert_cmpstr(f->content_type, ==, "application/pdf");
  d = g_bytes_get_data(f->data, &n);
  g_assert_cmpuint(n, ==, 15);
  g_assert_cmpmem(d, n, "%PDF-1.7\r\n\x00\x01--B", 15);
  r = api_multipart_find(parts, "reason");
  d = g_bytes_get_data(r->data, &n);
  g_assert_cmpmem(d, n, "Setuju", 6);
  g_assert_null(api_multipart_find(parts, "missing"));
}

static void
test_multipart_boundary(void)
{
  g_autofree char *b1 = api_multipart_boundary("multipart/form-data; boundary=abc");
  g_autofree char *b2 = api_multipart_boundary("multipart/form-data; charset=x; boundary=\"q;r\"");
  g_autofree char *b3 = api_multipart_boundary("application/json; boundary=abc");
  g_autofree char *b4 = api_multipart_boundary("multipart/form-data");
  g_autofree char *longb = g_strnfill(71, 'x');
  g_autofree char *ct = g_strconcat("multipart/form-data; boundary=", longb, NULL);
  g_autofree char *b5 = api_multipart_boundary(ct);

  g_assert_cmpstr(b1, ==, "abc");
  g_assert_cmpstr(b2, ==, "q;r");
  g_assert_null(b3);
  g_assert_null(b4);
  g_assert_null(b5);
}

static void
test_multipart_hostile(void)
{
  static const struct {
    const char *body;
    const char *why;
  } cases[] = {
      {"", "empty"},
      {"--B1\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nno end", "no closing boundary"},
      {"--B1\r\nContent-Disposition: form-data; name=\"f\"\r\nno blank line",
       "headers unterminated"},
      {"--B1\r\nContent-Disposition: form-data\r\n\r\nx\r\n--B1--", "part without name"},
      {"--B1\r\nContent-Disposition: attachment; name=\"f\"\r\n\r\nx\r\n--B1--", "not form-data"},
      {"--B1\r\nBroken header\r\n\r\nx\r\n--B1--", "header without colon"},
      {"--B1garbage", "no line break after boundary"},
      {"nothing here at all", "no boundary"},
  };

  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) parts = parse(cases[i].body, strlen(cases[i].body), "B1", &error);
    g_test_message("%s", cases[i].why);
    g_assert_null(parts);
    g_assert_error(error, API_ERROR, API_ERROR_BAD_REQUEST);
  }
  /* Too many parts. */
  {
    GString *s = g_string_new(NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) parts = NULL;
    for (guint i = 0; i <= API_MULTIPART_MAX_PARTS; i++)
      g_string_append(s, "--B1\r\nContent-Disposition: form-data; name=\"p\"\r\n\r\nx\r\n");
    g_string_append(s, "--B1--");
    parts = parse(s->str, s->len, "B1", &error);
    g_assert_null(parts);
    g_assert_error(error, API_ERROR, API_ERROR_BAD_REQUEST);
    g_string_free(s, TRUE);
  }
  /* Oversized header block. */
  {
    g_autofree char *pad = g_strnfill(API_MULTIPART_MAX_HEADER + 10, 'a');
    g_autofree char *body =
        g_strconcat("--B1\r\nContent-Disposition: form-data; name=\"p\"\r\nX-Pad: ", pad,
                    "\r\n\r\nx\r\n--B1--", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) parts = parse(body, strlen(body), "B1", &error);
    g_assert_null(parts);
    g_assert_error(error, API_ERROR, API_ERROR_BAD_REQUEST);
  }
}

static void
test_base64(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) b = api_base64_decode("JVBE\nRi0x", 9, 100, "file", &error);
  gsize n = 0;

  g_assert_no_error(error);
  g_assert_cmpmem(g_bytes_get_data(b, &n), g_bytes_get_size(b), "%PDF-1", 6);
  g_clear_pointer(&b, g_bytes_unref);
  b = api_base64_decode("JVB*Ri0x", 8, 100, "file", &error);
  g_assert_null(b);
  g_assert_error(error, API_ERROR, API_ERROR_BAD_REQUEST);
  g_clear_error(&error);
  b = api_base64_decode("QUFBQUFBQUFB", 12, 4, "file", &error);
  g_assert_null(b);
  g_assert_error(error, TTE_ERROR, TTE_ERROR_LIMIT);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/openapi/matches-routes", test_openapi_matches_routes);
  g_test_add_func("/multipart/ok", test_multipart_ok);
  g_test_add_func("/multipart/boundary", test_multipart_boundary);
  g_test_add_func("/multipart/hostile", test_multipart_hostile);
  g_test_add_func("/base64", test_base64);
  return g_test_run();
}
