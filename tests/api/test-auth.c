/* Tokens, authentication, configuration and the error-to-status table. */
#include "audit.h"
#include "auth.h"
#include "config.h"
#include "http.h"
#include "routes.h"
#include "store.h"
#include "tte-error.h"
#include "tte-limits.h"

#include <glib/gstdio.h>
#include <string.h>

typedef struct {
  char *dir;
  char *db;
  ApiStore *store;
} Fixture;

static void
fx_setup(Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  fx->dir = g_dir_make_tmp("tte-auth-XXXXXX", &error);
  g_assert_no_error(error);
  fx->db = g_build_filename(fx->dir, "tte.db", NULL);
  fx->store = api_store_open_sqlite(fx->db, 1000, &error);
  g_assert_no_error(error);
}

static void
fx_teardown(Fixture *fx, gconstpointer data)
{
  const char *suffixes[] = {"", "-wal", "-shm"};

  api_store_close(fx->store);
  for (gsize i = 0; i < G_N_ELEMENTS(suffixes); i++) {
    g_autofree char *p = g_strconcat(fx->db, suffixes[i], NULL);
    (void)g_unlink(p);
  }
  (void)g_rmdir(fx->dir);
  g_free(fx->db);
  g_free(fx->dir);
}

static void
test_token_format(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TteSecret) a = api_token_generate(&error);
  g_autoptr(TteSecret) b = api_token_generate(&error);

  g_assert_no_error(error);
  g_assert_cmpuint(tte_secret_len(a), ==, API_TOKEN_TEXT_LEN);
  g_assert_true(g_str_has_prefix(tte_secret_get(a), "tte_"));
  g_assert_true(api_token_well_formed(tte_secret_get(a), tte_secret_len(a)));
  g_assert_cmpstr(tte_secret_get(a), !=, tte_secret_get(b));
  g_assert_false(api_token_well_formed("tte_short", 9));
  g_assert_false(api_token_well_formed("xyz_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 47));
  g_assert_false(api_token_well_formed("tte_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+", 47));
}

static void
test_token_hash(void)
{
  guint8 h[32];
  /* SHA-256("abc") */
  static const guint8 expect[32] = {0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea,
                                    0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
                                    0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c,
                                    0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};

  api_token_hash("abc", 3, h);
  g_assert_cmpmem(h, 32, expect, 32);
}

static char *
bearer(const TteSecret *t)
{
  return g_strconcat("Bearer ", tte_secret_get(t), NULL);
}

static gboolean
file_contains(const char *path, const char *needle)
{
  g_autofree char *data = NULL;
  gsize len = 0;

  if (!g_file_get_contents(path, &data, &len, NULL))
    return FALSE;
  return memmem(data, len, needle, strlen(needle)) != NULL;
}

static void
test_authenticate(Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TteSecret) admin = NULL, signer = NULL;
  g_autofree char *admin_id = NULL, *signer_tok_id = NULL;
  g_autofree char *h_admin = NULL, *h_signer = NULL;
  g_autoptr(ApiSigner) s = NULL;
  ApiPrincipal p;

  g_assert_true(api_auth_issue_token(fx->store, API_ROLE_ADMIN, NULL, "first", "test", &admin,
                                     &admin_id, &error));
  g_assert_no_error(error);
  s = api_signer_create(fx->store, "3201010101010001", "Siti", "Sekretaris", "Kominfo", "test",
                        &error);
  g_assert_no_error(error);
  g_assert_true(api_auth_issue_token(fx->store, API_ROLE_SIGNER, s->id, NULL, "test", &signer,
                                     &signer_tok_id, &error));
  h_admin = bearer(admin);
  h_signer = bearer(signer);

  g_assert_true(api_auth_authenticate(fx->store, NULL, &p, &error));
  g_assert_cmpint(p.role, ==, API_ROLE_PUBLIC);
  api_principal_clear(&p);

  g_assert_true(api_auth_authenticate(fx->store, h_admin, &p, &error));
  g_assert_no_error(error);
  g_assert_cmpint(p.role, ==, API_ROLE_ADMIN);
  g_assert_cmpstr(p.token_id, ==, admin_id);
  api_principal_clear(&p);

  g_assert_true(api_auth_authenticate(fx->store, h_signer, &p, &error));
  g_assert_cmpint(p.role, ==, API_ROLE_SIGNER);
  g_assert_cmpstr(p.signer_id, ==, s->id);
  api_principal_clear(&p);

  /* Malformed, wrong scheme, unknown token: all 401 with the same message. */
  {
    const char *bad[] = {"Basic abc", "Bearer", "Bearer tte_x",
                         "Bearer tte_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"};
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
      g_assert_false(api_auth_authenticate(fx->store, bad[i], &p, &error));
      g_assert_error(error, API_ERROR, API_ERROR_UNAUTHORIZED);
      g_assert_null(strstr(error->message, "tte_"));
      g_clear_error(&error);
    }
  }

  /* Revocation takes effect at once; revoking twice is NOT_FOUND. */
  g_assert_true(api_auth_revoke_token(fx->store, admin_id, "test", &error));
  g_assert_no_error(error);
  g_assert_false(api_auth_authenticate(fx->store, h_admin, &p, &error));
  g_assert_error(error, API_ERROR, API_ERROR_UNAUTHORIZED);
  g_clear_error(&error);
  g_assert_false(api_auth_revoke_token(fx->store, admin_id, "test", &error));
  g_assert_error(error, API_ERROR, API_ERROR_NOT_FOUND);
  g_clear_error(&error);

  /* A disabled signer's tokens stop working. */
  {
    g_autoptr(ApiAuditEntry) a = api_audit_entry_new("test", "signer.disable", s->id, NULL);
    g_assert_true(fx->store->ops->signer_set_state(fx->store, s->id, "disabled", a, &error));
  }
  g_assert_false(api_auth_authenticate(fx->store, h_signer, &p, &error));
  g_assert_error(error, API_ERROR, API_ERROR_UNAUTHORIZED);
  g_clear_error(&error);

  /* Only hashes are stored: the token text is nowhere in the database files. */
  {
    g_autofree char *wal = g_strconcat(fx->db, "-wal", NULL);
    g_assert_false(file_contains(fx->db, tte_secret_get(admin)));
    g_assert_false(file_contains(wal, tte_secret_get(admin)));
    g_assert_false(file_contains(wal, tte_secret_get(signer)));
    g_assert_true(file_contains(wal, admin_id) || file_contains(fx->db, admin_id));
  }
}

static void
test_issue_refused(Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TteSecret) t = NULL;
  g_autofree char *id = NULL;

  g_assert_false(
      api_auth_issue_token(fx->store, API_ROLE_SIGNER, "s_nope", NULL, "test", &t, &id, &error));
  g_assert_error(error, API_ERROR, API_ERROR_NOT_FOUND);
  g_clear_error(&error);
  g_assert_false(
      api_auth_issue_token(fx->store, API_ROLE_SIGNER, NULL, NULL, "test", &t, &id, &error));
  g_assert_error(error, API_ERROR, API_ERROR_BAD_REQUEST);
  g_clear_error(&error);
  g_assert_false(
      api_auth_issue_token(fx->store, API_ROLE_PUBLIC, NULL, NULL, "test", &t, &id, &error));
  g_assert_error(error, API_ERROR, API_ERROR_BAD_REQUEST);
  g_clear_error(&error);
  g_assert_null(
      api_signer_create(fx->store, "a@b.id", "bad \xff utf-8", NULL, NULL, "test", &error));
  g_assert_error(error, API_ERROR, API_ERROR_BAD_REQUEST);
  g_clear_error(&error);
  g_assert_null(api_signer_create(fx->store, "not an id", "N", NULL, NULL, "test", &error));
  g_assert_error(error, API_ERROR, API_ERROR_BAD_REQUEST);
  g_clear_error(&error);
}

static void
test_document_record(Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ApiSigner) s =
      api_signer_create(fx->store, "siti@opd.go.id", "Siti", NULL, NULL, "test", &error);
  const char *hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
  g_autoptr(json_t) details = json_pack("{s:s}", "pages", "1");
  g_autoptr(ApiDocument) d = NULL, again = NULL, found = NULL;
  g_autoptr(GPtrArray) log = NULL;
  ApiAuditFilter f = {.action = "document.sign"};
  const ApiAuditEntry *e;

  g_assert_no_error(error);
  d = api_document_record(fx->store, s->id, NULL, hex, "idem-1", "rh", "signer:x", details, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(strlen(d->id), ==, 22);
  /* Same idempotency key for the same signer: refused, the first one is findable. */
  again =
      api_document_record(fx->store, s->id, NULL, hex, "idem-1", "rh", "signer:x", NULL, &error);
  g_assert_null(again);
  g_assert_error(error, API_ERROR, API_ERROR_CONFLICT);
  g_clear_error(&error);
  found = fx->store->ops->document_find_idempotent(fx->store, s->id, "idem-1", &error);
  g_assert_cmpstr(found->id, ==, d->id);
  g_assert_null(api_document_record(fx->store, s->id, NULL, "ABC", NULL, NULL, "x", NULL, &error));
  g_assert_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
  /* Exactly one audit entry, in the same commit, with the digest in its details. */
  log = fx->store->ops->audit_list(fx->store, &f, &error);
  g_assert_cmpuint(log->len, ==, 1);
  e = g_ptr_array_index(log, 0);
  g_assert_cmpstr(e->subject, ==, d->id);
  g_assert_nonnull(strstr(e->details, hex));
  g_assert_nonnull(strstr(e->details, "\"pages\":\"1\""));
}

static char *
write_conf(const char *text)
{
  g_autoptr(GError) error = NULL;
  char *path = NULL;
  int fd = g_file_open_tmp("tte-conf-XXXXXX.conf", &path, &error);

  g_assert_no_error(error);
  close(fd);
  g_assert_true(g_file_set_contents(path, text, -1, &error));
  return path;
}

static void
test_config(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ApiConfig) d = api_config_new_default();
  g_autoptr(ApiConfig) c = NULL;
  g_autofree char *ok = write_conf("[server]\nlisten = [::1]:9000\nthreads = 3\nbody_max = 2048\n"
                                   "spool_threshold = 4096\n"
                                   "[database]\npath = /tmp/x.db\n"
                                   "[pkcs11]\nallowed_modules = /a.so;/b.so\n");
  const char *bad[] = {
      "[server]\nlisten = nocolon\n",
      "[server]\nthreads = -1\n",
      "[server]\nbody_max = 999999999999\n", /* above the compile-time ceiling */
      "[server]\nmax_connectons = 3\n",      /* typo must not be ignored */
      "[nosuch]\nx = 1\n",
      "[server]\ntls_cert = /a.pem\n", /* key missing */
      "[server]\ntimeout = 12abc\n",
  };

  g_assert_cmpstr(d->listen_host, ==, "127.0.0.1");
  g_assert_cmpuint(d->listen_port, ==, 8080);
  g_assert_cmpuint(d->body_max, ==, TTE_LIMIT_HTTP_BODY_MAX);
  c = api_config_load(ok, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(c->listen_host, ==, "::1");
  g_assert_cmpuint(c->listen_port, ==, 9000);
  g_assert_cmpuint(c->threads, ==, 3);
  g_assert_cmpuint(c->body_max, ==, 2048);
  g_assert_cmpuint(c->spool_threshold, ==, 2048); /* clamped to body_max */
  g_assert_cmpstr(c->db_path, ==, "/tmp/x.db");
  g_assert_cmpuint(g_strv_length(c->pkcs11_allowed), ==, 2);
  (void)g_unlink(ok);
  for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_autofree char *p = write_conf(bad[i]);
    g_autoptr(ApiConfig) b = api_config_load(p, &error);
    g_assert_null(b);
    g_assert_nonnull(error);
    g_test_message("refused as expected: %s", error->message);
    g_clear_error(&error);
    (void)g_unlink(p);
  }
}

static void
test_status_table(void)
{
  struct {
    GQuark domain;
    int code;
    guint status;
    const char *name;
  } cases[] = {
      {API_ERROR, API_ERROR_NOT_FOUND, 404, "NOT_FOUND"},
      {API_ERROR, API_ERROR_UNAUTHORIZED, 401, "UNAUTHORIZED"},
      {API_ERROR, API_ERROR_FORBIDDEN, 403, "FORBIDDEN"},
      {API_ERROR, API_ERROR_PAYLOAD_TOO_LARGE, 413, "PAYLOAD_TOO_LARGE"},
      {API_ERROR, API_ERROR_UNAVAILABLE, 503, "UNAVAILABLE"},
      {TTE_ERROR, TTE_ERROR_PIN_INCORRECT, 403, "PIN_INCORRECT"},
      {TTE_ERROR, TTE_ERROR_PIN_LOCKED, 423, "PIN_LOCKED"},
      {TTE_ERROR, TTE_ERROR_NOT_PDF, 415, "NOT_PDF"},
      {TTE_ERROR, TTE_ERROR_LIMIT, 413, "LIMIT"},
      {TTE_ERROR, TTE_ERROR_TOKEN_NOT_FOUND, 503, "TOKEN_NOT_FOUND"},
      {G_FILE_ERROR, G_FILE_ERROR_NOENT, 500, "INTERNAL"},
  };

  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autoptr(GError) e = g_error_new_literal(cases[i].domain, cases[i].code, "m");
    g_assert_cmpuint(api_error_http_status(e), ==, cases[i].status);
    g_assert_cmpstr(api_error_code_string(e), ==, cases[i].name);
  }
  /* Every TTE_ERROR code has an entry other than the 500 fallback or is meant to be 500. */
  for (int code = TTE_ERROR_FAILED; code <= TTE_ERROR_FORMAT; code++) {
    g_autoptr(GError) e = g_error_new_literal(TTE_ERROR, code, "m");
    guint st = api_error_http_status(e);
    g_assert_true(st >= 400 && st < 600);
  }
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/auth/token/format", test_token_format);
  g_test_add_func("/auth/token/hash", test_token_hash);
  g_test_add("/auth/authenticate-revoke", Fixture, NULL, fx_setup, test_authenticate, fx_teardown);
  g_test_add("/auth/issue-refused", Fixture, NULL, fx_setup, test_issue_refused, fx_teardown);
  g_test_add("/documents/record", Fixture, NULL, fx_setup, test_document_record, fx_teardown);
  g_test_add_func("/config/parse", test_config);
  g_test_add_func("/http/status-table", test_status_table);
  return g_test_run();
}
