/* test-p11-unit.c — pkcs11/ without a token: URIs, module allowlist, key types, errors. */
#include "tte-config.h"
#include "tte-error.h"
#include "tte-limits.h"
#include "tte-p11.h"

#include <p11-kit/pkcs11.h>
#include <glib/gstdio.h>
#include <string.h>

static void
assert_id(GBytes *id, const char *expect, gsize len)
{
  gsize n = 0;
  const guint8 *d = g_bytes_get_data(id, &n);
  g_assert_cmpmem(d, n, expect, len);
}

static void
test_uri_basic(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TteP11Uri) u = tte_p11_uri_parse(
    "pkcs11:token=opd-kominfo;object=sekretaris-2026;id=%01%ff;type=private"
    "?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin&module-name=x",
    &error);
  g_autofree char *back = NULL;

  g_assert_no_error(error);
  g_assert_cmpstr(u->token, ==, "opd-kominfo");
  g_assert_cmpstr(u->object, ==, "sekretaris-2026");
  g_assert_cmpstr(u->type, ==, "private");
  assert_id(u->id, "\x01\xff", 2);
  g_assert_cmpstr(u->module_path, ==, "/usr/lib/softhsm/libsofthsm2.so");
  g_assert_cmpstr(u->pin_source, ==, "file:/run/pin");
  back = tte_p11_uri_format(u);
  g_assert_cmpstr(back, ==, "pkcs11:token=opd-kominfo;object=sekretaris-2026;id=%01%ff;type=private");
}

static void
test_uri_percent(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TteP11Uri) u =
    tte_p11_uri_parse("pkcs11:token=Dinas%20Kominfo%3BKota;object=Pak%20Budi%C3%A9;serial=ABC123"
                      ";manufacturer=SoftHSM%20project;model=SoftHSM%20v2",
                      &error);
  g_autofree char *back = NULL;
  g_autoptr(TteP11Uri) again = NULL;

  g_assert_no_error(error);
  g_assert_cmpstr(u->token, ==, "Dinas Kominfo;Kota");
  g_assert_cmpstr(u->object, ==, "Pak Budi\xc3\xa9");
  g_assert_cmpstr(u->serial, ==, "ABC123");
  g_assert_cmpstr(u->manufacturer, ==, "SoftHSM project");
  g_assert_cmpstr(u->model, ==, "SoftHSM v2");
  g_assert_null(u->id);
  /* Round trip: what we format parses back to the same values. */
  back = tte_p11_uri_format(u);
  again = tte_p11_uri_parse(back, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(again->token, ==, u->token);
  g_assert_cmpstr(again->object, ==, u->object);
  /* Upper-case hex and the scheme in any case. */
  g_clear_pointer(&u, tte_p11_uri_free);
  u = tte_p11_uri_parse("PKCS11:id=%0A%Bc", &error);
  g_assert_no_error(error);
  assert_id(u->id, "\x0a\xbc", 2);
  /* An empty URI selects everything. */
  g_clear_pointer(&u, tte_p11_uri_free);
  u = tte_p11_uri_parse("pkcs11:", &error);
  g_assert_no_error(error);
  g_assert_null(u->token);
}

typedef struct {
  const char *uri;
  int code;
} BadUri;

static void
test_uri_bad(void)
{
  static const BadUri bad[] = {
    { "", TTE_ERROR_INVALID_ARGUMENT },
    { "http://x", TTE_ERROR_INVALID_ARGUMENT },
    { "pkcs11", TTE_ERROR_INVALID_ARGUMENT },
    { "pkcs11:objet=typo", TTE_ERROR_INVALID_ARGUMENT },
    { "pkcs11:token", TTE_ERROR_INVALID_ARGUMENT },
    { "pkcs11:token=a;token=b", TTE_ERROR_INVALID_ARGUMENT },
    { "pkcs11:id=%01;id=%02", TTE_ERROR_INVALID_ARGUMENT },
    { "pkcs11:token=a;", TTE_ERROR_INVALID_ARGUMENT },
    { "pkcs11:token=a;;object=b", TTE_ERROR_INVALID_ARGUMENT },
    { "pkcs11:token=", TTE_ERROR_INVALID_ARGUMENT },
    { "pkcs11:id=", TTE_ERROR_INVALID_ARGUMENT },
    { "pkcs11:id=%0", TTE_ERROR_INVALID_ARGUMENT },
    { "pkcs11:id=%zz", TTE_ERROR_INVALID_ARGUMENT },
    { "pkcs11:token=a b", TTE_ERROR_INVALID_ARGUMENT },
    { "pkcs11:token=a%00b", TTE_ERROR_INVALID_ARGUMENT },
    { "pkcs11:token=%ff%fe", TTE_ERROR_INVALID_ARGUMENT },
    { "pkcs11:type=secret", TTE_ERROR_INVALID_ARGUMENT },
    { "pkcs11:slot-id=0", TTE_ERROR_INVALID_ARGUMENT },
    { "pkcs11:library-manufacturer=x", TTE_ERROR_NOT_SUPPORTED },
    { "pkcs11:token=a#frag", TTE_ERROR_INVALID_ARGUMENT },
    { "pkcs11:token=a?pin-value=1234", TTE_ERROR_INVALID_ARGUMENT },
    { "pkcs11:token=a?module-name=x&pin-value=1234", TTE_ERROR_INVALID_ARGUMENT },
  };

  for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_autoptr(GError) error = NULL;
    g_autoptr(TteP11Uri) u = tte_p11_uri_parse(bad[i].uri, &error);
    if (u != NULL)
      g_error("accepted bad URI \"%s\"", bad[i].uri);
    g_assert_error(error, TTE_ERROR, bad[i].code);
  }
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(TteP11Uri) u = tte_p11_uri_parse(NULL, &error);
    g_assert_null(u);
    g_assert_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT);
  }
}

static void
test_uri_pin_value_not_echoed(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TteP11Uri) u = tte_p11_uri_parse("pkcs11:token=a?pin-value=S3cr3tPIN", &error);

  g_assert_null(u);
  g_assert_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT);
  g_assert_null(strstr(error->message, "S3cr3tPIN"));
}

static void
test_uri_limits(void)
{
  g_autoptr(GString) big = g_string_new("pkcs11:object=");
  g_autoptr(GString) longuri = g_string_new("pkcs11:token=a?");
  g_autoptr(GError) error = NULL;
  g_autoptr(TteP11Uri) u = NULL;

  for (guint i = 0; i < TTE_LIMIT_P11_ATTR_MAX_LEN + 1; i++)
    g_string_append(big, "%41");
  u = tte_p11_uri_parse(big->str, &error);
  g_assert_null(u);
  g_assert_error(error, TTE_ERROR, TTE_ERROR_LIMIT);
  g_clear_error(&error);

  /* Exactly at the attribute limit is fine. */
  g_string_assign(big, "pkcs11:object=");
  for (guint i = 0; i < TTE_LIMIT_P11_ATTR_MAX_LEN; i++)
    g_string_append_c(big, 'x');
  u = tte_p11_uri_parse(big->str, &error);
  g_assert_no_error(error);
  g_clear_pointer(&u, tte_p11_uri_free);

  while (longuri->len <= TTE_LIMIT_P11_URI_MAX_LEN)
    g_string_append(longuri, "x-vendor=1&");
  u = tte_p11_uri_parse(longuri->str, &error);
  g_assert_null(u);
  g_assert_error(error, TTE_ERROR, TTE_ERROR_LIMIT);
}

static void
test_key_types(void)
{
  static const struct {
    const char *s;
    TteP11KeyType t;
  } good[] = {
    { "rsa:2048", TTE_P11_KEY_RSA_2048 }, { "RSA:3072", TTE_P11_KEY_RSA_3072 },
    { "rsa:4096", TTE_P11_KEY_RSA_4096 }, { "ec:p256", TTE_P11_KEY_EC_P256 },
    { "ec:prime256v1", TTE_P11_KEY_EC_P256 }, { "ec:P384", TTE_P11_KEY_EC_P384 },
  };
  static const char *const bad[] = { "rsa:1024", "rsa", "ec:p521", "dsa:2048", "", "rsa:3072 " };

  for (gsize i = 0; i < G_N_ELEMENTS(good); i++) {
    g_autoptr(GError) error = NULL;
    TteP11KeyType t = TTE_P11_KEY_RSA_2048;
    g_assert_true(tte_p11_key_type_from_string(good[i].s, &t, &error));
    g_assert_no_error(error);
    g_assert_cmpint(t, ==, good[i].t);
  }
  for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_autoptr(GError) error = NULL;
    TteP11KeyType t;
    g_assert_false(tte_p11_key_type_from_string(bad[i], &t, &error));
    g_assert_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT);
  }
}

static void
test_error_map(void)
{
  g_assert_cmpint(tte_p11_error_from_ckr(CKR_PIN_INCORRECT), ==, TTE_ERROR_PIN_INCORRECT);
  g_assert_cmpint(tte_p11_error_from_ckr(CKR_PIN_LOCKED), ==, TTE_ERROR_PIN_LOCKED);
  g_assert_cmpint(tte_p11_error_from_ckr(CKR_PIN_LEN_RANGE), ==, TTE_ERROR_PIN_INVALID);
  g_assert_cmpint(tte_p11_error_from_ckr(CKR_TOKEN_NOT_PRESENT), ==, TTE_ERROR_TOKEN_NOT_FOUND);
  g_assert_cmpint(tte_p11_error_from_ckr(CKR_DEVICE_REMOVED), ==, TTE_ERROR_TOKEN_NOT_FOUND);
  g_assert_cmpint(tte_p11_error_from_ckr(CKR_KEY_HANDLE_INVALID), ==, TTE_ERROR_KEY_NOT_FOUND);
  g_assert_cmpint(tte_p11_error_from_ckr(CKR_MECHANISM_INVALID), ==, TTE_ERROR_NOT_SUPPORTED);
  g_assert_cmpint(tte_p11_error_from_ckr(CKR_DEVICE_ERROR), ==, TTE_ERROR_TOKEN);
  g_assert_cmpint(tte_p11_error_from_ckr(0x80001234UL), ==, TTE_ERROR_TOKEN);
  g_assert_cmpstr(tte_p11_ckr_name(CKR_PIN_INCORRECT), ==, "CKR_PIN_INCORRECT");
  g_assert_cmpstr(tte_p11_ckr_name(0x80001234UL), ==, "CKR_(other)");
}

static void
test_module_resolve(void)
{
  g_autofree char *a = NULL, *b = NULL, *c = NULL;

  g_unsetenv("TTE_PKCS11_MODULE");
  a = tte_p11_module_resolve_path(NULL);
  g_assert_cmpstr(a, ==, TTE_DEFAULT_PKCS11_MODULE);
  g_setenv("TTE_PKCS11_MODULE", "/from/env.so", TRUE);
  b = tte_p11_module_resolve_path(NULL);
  g_assert_cmpstr(b, ==, "/from/env.so");
  c = tte_p11_module_resolve_path("/from/cli.so");
  g_assert_cmpstr(c, ==, "/from/cli.so");
  g_unsetenv("TTE_PKCS11_MODULE");
}

static void
test_module_allowlist(void)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) def = NULL;
  const char *const only_opensc[] = { "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so", NULL };
  const char *const relative[] = { "libsofthsm2.so", "usr/lib/softhsm/", NULL };
  TteP11Module *m;

  g_unsetenv("TTE_PKCS11_ALLOWED_MODULES");
  def = tte_p11_default_allowlist();
  g_assert_true(g_strv_contains((const char *const *)def, "/usr/lib/softhsm/libsofthsm2.so"));

  /* A module outside the list is refused before it is loaded. */
  m = tte_p11_module_load("/usr/lib/softhsm/libsofthsm2.so", only_opensc, &error);
  g_assert_null(m);
  g_assert_error(error, TTE_ERROR, TTE_ERROR_MODULE_NOT_ALLOWED);
  g_clear_error(&error);
  /* Relative entries never match. */
  m = tte_p11_module_load("/usr/lib/softhsm/libsofthsm2.so", relative, &error);
  g_assert_null(m);
  g_assert_error(error, TTE_ERROR, TTE_ERROR_MODULE_NOT_ALLOWED);
  g_clear_error(&error);
  /* Any shared library elsewhere (here libc) is refused by the default list. */
  m = tte_p11_module_load("/lib/x86_64-linux-gnu/libc.so.6", NULL, &error);
  g_assert_null(m);
  g_assert_error(error, TTE_ERROR, TTE_ERROR_MODULE_NOT_ALLOWED);
  g_clear_error(&error);
  /* The environment replaces the default list. */
  g_setenv("TTE_PKCS11_ALLOWED_MODULES", "/nonexistent.so:/usr/lib/x86_64-linux-gnu/pkcs11/", TRUE);
  m = tte_p11_module_load("/usr/lib/softhsm/libsofthsm2.so", NULL, &error);
  g_assert_null(m);
  g_assert_error(error, TTE_ERROR, TTE_ERROR_MODULE_NOT_ALLOWED);
  g_clear_error(&error);
  g_unsetenv("TTE_PKCS11_ALLOWED_MODULES");
  /* A missing file is a load error, not an allowlist one. */
  m = tte_p11_module_load("/nonexistent/module.so", NULL, &error);
  g_assert_null(m);
  g_assert_error(error, TTE_ERROR, TTE_ERROR_MODULE_LOAD);
  g_clear_error(&error);
  /* Symlinked or dotted paths are judged by their real path. */
  m = tte_p11_module_load("/usr/lib/softhsm/../softhsm/libsofthsm2.so", NULL, &error);
  g_assert_no_error(error);
  g_assert_nonnull(m);
  /* The same module loaded twice is one module. */
  {
    TteP11Module *m2 = tte_p11_module_load("/usr/lib/softhsm/libsofthsm2.so", NULL, &error);
    g_assert_no_error(error);
    g_assert_true(m == m2);
    tte_p11_module_unref(m2);
  }
  tte_p11_module_unref(m);
}

int
main(int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL, *conf = NULL, *tokens = NULL, *text = NULL;
  int rc;

  g_test_init(&argc, &argv, NULL);
  /* SoftHSM must not touch the system token directory from a unit test: a private,
   * empty one is enough to load the module. */
  dir = g_dir_make_tmp("tte-p11-unit-XXXXXX", &error);
  g_assert_no_error(error);
  tokens = g_build_filename(dir, "tokens", NULL);
  conf = g_build_filename(dir, "softhsm2.conf", NULL);
  text = g_strdup_printf("directories.tokendir = %s\nobjectstore.backend = file\n", tokens);
  g_assert_cmpint(g_mkdir(tokens, 0700), ==, 0);
  g_assert_true(g_file_set_contents(conf, text, -1, NULL));
  g_setenv("SOFTHSM2_CONF", conf, TRUE);
  g_test_add_func("/p11/uri/basic", test_uri_basic);
  g_test_add_func("/p11/uri/percent", test_uri_percent);
  g_test_add_func("/p11/uri/bad", test_uri_bad);
  g_test_add_func("/p11/uri/pin-value-refused", test_uri_pin_value_not_echoed);
  g_test_add_func("/p11/uri/limits", test_uri_limits);
  g_test_add_func("/p11/key-types", test_key_types);
  g_test_add_func("/p11/error-map", test_error_map);
  g_test_add_func("/p11/module/resolve", test_module_resolve);
  g_test_add_func("/p11/module/allowlist", test_module_allowlist);
  rc = g_test_run();
  g_remove(conf);
  g_rmdir(tokens);
  g_rmdir(dir);
  return rc;
}
