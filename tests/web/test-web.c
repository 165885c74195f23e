/* test-web — the pieces of api/web.c that read hostile input: the multipart/form-data
 * parser and the HTML escaping of names that come from certificates and the register. */
#include "web.h"

#include <string.h>

#define CT "multipart/form-data; boundary=XyZ"

static gboolean
find(const char *body, gsize len, const char *ct, const char *field, GBytes **out, GError **error)
{
  const guint8 *p = NULL;
  gsize n = 0;

  if (!api_web_multipart_find((const guint8 *)body, len, ct, field, &p, &n, error))
    return FALSE;
  *out = g_bytes_new(p, n);
  return TRUE;
}

static void
test_multipart_ok(void)
{
  static const char body[] = "--XyZ\r\n"
                             "Content-Disposition: form-data; name=\"lang\"\r\n\r\n"
                             "en\r\n"
                             "--XyZ\r\n"
                             "Content-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n"
                             "Content-Type: application/pdf\r\n\r\n"
                             "%PDF-1.7\r\n--Xy not a boundary\r\n\0binary\r\n"
                             "--XyZ--\r\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) file = NULL;
  g_autoptr(GBytes) lang = NULL;
  static const char want[] = "%PDF-1.7\r\n--Xy not a boundary\r\n\0binary";

  g_assert_true(find(body, sizeof body - 1, CT, "file", &file, &error));
  g_assert_no_error(error);
  g_assert_cmpmem(g_bytes_get_data(file, NULL), g_bytes_get_size(file), want, sizeof want - 1);
  g_assert_true(find(body, sizeof body - 1, CT, "lang", &lang, &error));
  g_assert_cmpmem(g_bytes_get_data(lang, NULL), g_bytes_get_size(lang), "en", 2);
}

static void
test_multipart_quoted_boundary_and_preamble(void)
{
  static const char body[] = "preamble\r\n--a b\r\n"
                             "Content-Disposition: form-data; name=\"file\"\r\n\r\n"
                             "x\r\n--a b--";
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) file = NULL;

  g_assert_true(
      find(body, sizeof body - 1, "multipart/form-data; boundary=\"a b\"", "file", &file, &error));
  g_assert_cmpmem(g_bytes_get_data(file, NULL), g_bytes_get_size(file), "x", 1);
}

static void
test_multipart_refusals(void)
{
  static const char good[] = "--XyZ\r\n"
                             "Content-Disposition: form-data; name=\"file\"\r\n\r\n"
                             "data\r\n--XyZ--\r\n";
  static const char filename_only[] = "--XyZ\r\n"
                                      "Content-Disposition: form-data; filename=\"file\"\r\n\r\n"
                                      "data\r\n--XyZ--\r\n";
  GBytes *out = NULL;
  GError *error = NULL;

  /* wrong or missing content type / boundary */
  g_assert_false(find(good, sizeof good - 1, "application/pdf", "file", &out, &error));
  g_assert_error(error, API_ERROR, API_ERROR_BAD_REQUEST);
  g_clear_error(&error);
  g_assert_false(find(good, sizeof good - 1, NULL, "file", &out, &error));
  g_clear_error(&error);
  g_assert_false(find(good, sizeof good - 1, "multipart/form-data", "file", &out, &error));
  g_clear_error(&error);
  g_assert_false(
      find(good, sizeof good - 1, "multipart/form-data; boundary=", "file", &out, &error));
  g_clear_error(&error);
  /* every truncation of a good body fails cleanly (ASan watches the reads) */
  for (gsize n = 0; n < sizeof good - 1 - strlen("--\r\n"); n++) {
    g_autofree char *cut = g_memdup2(good, n);
    g_assert_false(find(cut, n, CT, "file", &out, &error));
    g_assert_nonnull(error);
    g_clear_error(&error);
  }
  /* a part whose *filename* is "file" is not the field "file" */
  g_assert_false(find(filename_only, sizeof filename_only - 1, CT, "file", &out, &error));
  g_assert_error(error, API_ERROR, API_ERROR_NOT_FOUND);
  g_clear_error(&error);
  /* a field that is absent */
  g_assert_false(find(good, sizeof good - 1, CT, "other", &out, &error));
  g_assert_error(error, API_ERROR, API_ERROR_NOT_FOUND);
  g_clear_error(&error);
  g_assert_null(out);
}

static void
test_multipart_limits(void)
{
  g_autoptr(GString) many = g_string_new(NULL);
  g_autoptr(GString) longhdr =
      g_string_new("--XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\n");
  GBytes *out = NULL;
  GError *error = NULL;

  for (int i = 0; i < 20; i++)
    g_string_append(many, "--XyZ\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nv\r\n");
  g_string_append(many,
                  "--XyZ\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nv\r\n--XyZ--");
  g_assert_false(find(many->str, many->len, CT, "file", &out, &error));
  g_assert_nonnull(error);
  g_clear_error(&error);

  for (int i = 0; i < 500; i++)
    g_string_append(longhdr, "X-Padding: aaaaaaaaaa\r\n");
  g_string_append(longhdr, "\r\nv\r\n--XyZ--");
  g_assert_false(find(longhdr->str, longhdr->len, CT, "file", &out, &error));
  g_assert_error(error, API_ERROR, API_ERROR_BAD_REQUEST);
  g_clear_error(&error);
}

static void
test_escape(void)
{
  g_autofree char *a = api_web_html_escape("<script>alert('x')</script> & \"q\"");
  g_autofree char *b = api_web_html_escape(NULL);
  g_autofree char *c = api_web_html_escape("Zo\xc3\xab \xff bad\x01\x1b[31m");
  g_autofree char *d = api_web_html_escape("Baiq Nurul Aini, S.Kom.");

  g_assert_cmpstr(a, ==, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
  g_assert_cmpstr(b, ==, "");
  /* invalid UTF-8 replaced, control characters (terminal escapes) dropped */
  g_assert_cmpstr(c, ==, "Zo\xc3\xab \xef\xbf\xbd bad[31m");
  g_assert_cmpstr(d, ==, "Baiq Nurul Aini, S.Kom.");
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/web/multipart/ok", test_multipart_ok);
  g_test_add_func("/web/multipart/quoted-boundary-preamble",
                  test_multipart_quoted_boundary_and_preamble);
  g_test_add_func("/web/multipart/refusals", test_multipart_refusals);
  g_test_add_func("/web/multipart/limits", test_multipart_limits);
  g_test_add_func("/web/escape", test_escape);
  return g_test_run();
}
