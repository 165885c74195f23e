/* Storage and audit-chain tests: migrations, transactions, tamper detection. */
#include "audit.h"
#include "store.h"
#include "tte-error.h"

#include <glib/gstdio.h>
#include <sqlite3.h>

typedef struct {
  char *dir;
  char *db;
} Fixture;

static void
fx_setup(Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  fx->dir = g_dir_make_tmp("tte-store-XXXXXX", &error);
  g_assert_no_error(error);
  fx->db = g_build_filename(fx->dir, "tte.db", NULL);
}

static void
fx_teardown(Fixture *fx, gconstpointer data)
{
  const char *suffixes[] = {"", "-wal", "-shm"};

  for (gsize i = 0; i < G_N_ELEMENTS(suffixes); i++) {
    g_autofree char *p = g_strconcat(fx->db, suffixes[i], NULL);
    (void)g_unlink(p);
  }
  (void)g_rmdir(fx->dir);
  g_free(fx->db);
  g_free(fx->dir);
}

/* Run SQL on the file directly, as an administrator with the sqlite3 shell would. */
static void
raw_sql(const char *path, const char *sql)
{
  sqlite3 *db = NULL;
  char *msg = NULL;

  g_assert_cmpint(sqlite3_open(path, &db), ==, SQLITE_OK);
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
    g_error("raw sql '%s': %s", sql, msg);
  sqlite3_close(db);
}

static char *
raw_scalar(const char *path, const char *sql)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  char *out = NULL;

  g_assert_cmpint(sqlite3_open(path, &db), ==, SQLITE_OK);
  g_assert_cmpint(sqlite3_prepare_v2(db, sql, -1, &st, NULL), ==, SQLITE_OK);
  if (sqlite3_step(st) == SQLITE_ROW)
    out = g_strdup((const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

static void
append_n(ApiStore *store, int n)
{
  for (int i = 0; i < n; i++) {
    g_autoptr(GError) error = NULL;
    g_autoptr(json_t) details = json_pack("{s:i, s:s}", "n", i, "note", "test");
    g_autoptr(ApiAuditEntry) e = api_audit_entry_new("test", "test.event", "subject", details);

    g_assert_true(api_store_audit_append(store, e, &error));
    g_assert_no_error(error);
    g_assert_cmpint(e->id, >, 0);
    g_assert_cmpuint(strlen(e->hash), ==, 64);
  }
}

static void
assert_chain(ApiStore *store, gboolean ok, gint64 bad_id, guint64 count)
{
  g_autoptr(GError) error = NULL;
  ApiAuditVerifyResult r;

  g_assert_true(api_audit_verify(store, &r, &error));
  g_assert_no_error(error);
  if (ok != r.ok)
    g_test_message("verify: ok=%d first_bad=%" G_GINT64_FORMAT " reason=%s", r.ok, r.first_bad_id,
                   r.reason ? r.reason : "");
  g_assert_cmpint(r.ok, ==, ok);
  if (!ok)
    g_assert_cmpint(r.first_bad_id, ==, bad_id);
  else
    g_assert_cmpuint(r.count, ==, count);
  api_audit_verify_result_clear(&r);
}

static void
test_migrate_fresh(Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ApiStore) store = api_store_open_sqlite(fx->db, 1000, &error);
  g_autofree char *mode = NULL;

  g_assert_no_error(error);
  g_assert_cmpint(store->ops->schema_version(store), ==, API_STORE_SCHEMA_VERSION);
  g_assert_true(store->ops->check_writable(store, &error));
  mode = raw_scalar(fx->db, "PRAGMA journal_mode");
  g_assert_cmpstr(mode, ==, "wal");
  /* Opening again is a no-op migration. */
  g_clear_pointer(&store, api_store_close);
  store = api_store_open_sqlite(fx->db, 1000, &error);
  g_assert_no_error(error);
  g_assert_cmpint(store->ops->schema_version(store), ==, API_STORE_SCHEMA_VERSION);
}

static void
test_migrate_existing(Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ApiStore) store = api_store_open_sqlite_at(fx->db, 1000, 1, &error);
  g_autoptr(ApiSigner) s = NULL;
  g_autofree char *n = NULL;

  g_assert_no_error(error);
  g_assert_cmpint(store->ops->schema_version(store), ==, 1);
  g_clear_pointer(&store, api_store_close);
  /* Data written under version 1 survives the migration to the latest version. */
  raw_sql(fx->db,
          "INSERT INTO signers VALUES ('s_old','old@example.id','Old',NULL,NULL,'active',1)");
  n = raw_scalar(fx->db, "SELECT count(*) FROM sqlite_master WHERE name = 'key_history'");
  g_assert_cmpstr(n, ==, "0");
  store = api_store_open_sqlite(fx->db, 1000, &error);
  g_assert_no_error(error);
  g_assert_cmpint(store->ops->schema_version(store), ==, API_STORE_SCHEMA_VERSION);
  s = store->ops->signer_get(store, "s_old", &error);
  g_assert_no_error(error);
  g_assert_cmpstr(s->name, ==, "Old");
  g_clear_pointer(&n, g_free);
  n = raw_scalar(fx->db, "SELECT count(*) FROM sqlite_master WHERE name = 'key_history'");
  g_assert_cmpstr(n, ==, "1");
}

static void
test_newer_schema_refused(Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ApiStore) store = api_store_open_sqlite(fx->db, 1000, &error);

  g_assert_no_error(error);
  g_clear_pointer(&store, api_store_close);
  raw_sql(fx->db, "PRAGMA user_version = 99");
  store = api_store_open_sqlite(fx->db, 1000, &error);
  g_assert_null(store);
  g_assert_error(error, API_ERROR, API_ERROR_SCHEMA);
}

static void
test_chain_ok(Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ApiStore) store = api_store_open_sqlite(fx->db, 1000, &error);

  assert_chain(store, TRUE, 0, 0); /* empty log is intact */
  append_n(store, 5);
  assert_chain(store, TRUE, 0, 5);
  /* Paging across API_STORE_AUDIT_PAGE is exercised by the count staying exact. */
}

static void
test_chain_edited(Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ApiStore) store = api_store_open_sqlite(fx->db, 1000, &error);

  append_n(store, 5);
  g_clear_pointer(&store, api_store_close);
  /* The trigger refuses a casual edit ... */
  {
    sqlite3 *db = NULL;
    g_assert_cmpint(sqlite3_open(fx->db, &db), ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_exec(db, "UPDATE audit SET actor = 'x' WHERE id = 3", NULL, NULL, NULL),
                    !=, SQLITE_OK);
    sqlite3_close(db);
  }
  /* ... and a deliberate one is caught by the chain. */
  raw_sql(fx->db, "DROP TRIGGER audit_no_update;"
                  "UPDATE audit SET details = '{\"n\":99}' WHERE id = 3");
  store = api_store_open_sqlite_readonly(fx->db, &error);
  g_assert_no_error(error);
  assert_chain(store, FALSE, 3, 0);
}

static void
test_chain_relinked(Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ApiStore) store = api_store_open_sqlite(fx->db, 1000, &error);
  g_autoptr(GPtrArray) page = NULL;
  ApiAuditFilter f = {.after_id = 1, .limit = 1};
  ApiAuditEntry *e;
  g_autofree char *sql = NULL;
  g_autofree char *h = NULL;

  append_n(store, 4);
  /* Edit entry 2 and recompute its own hash: the link from entry 3 then breaks. */
  page = store->ops->audit_list(store, &f, &error);
  g_assert_no_error(error);
  e = g_ptr_array_index(page, 0);
  g_free(e->actor);
  e->actor = g_strdup("mallory");
  h = api_audit_compute_hash(e);
  sql = g_strdup_printf("DROP TRIGGER audit_no_update;"
                        "UPDATE audit SET actor = 'mallory', hash = '%s' WHERE id = 2",
                        h);
  g_clear_pointer(&store, api_store_close);
  raw_sql(fx->db, sql);
  store = api_store_open_sqlite(fx->db, 1000, &error);
  assert_chain(store, FALSE, 3, 0);
}

static void
test_chain_deleted(Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ApiStore) store = api_store_open_sqlite(fx->db, 1000, &error);

  append_n(store, 5);
  g_clear_pointer(&store, api_store_close);
  raw_sql(fx->db, "DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE id = 2");
  store = api_store_open_sqlite(fx->db, 1000, &error);
  assert_chain(store, FALSE, 3, 0);
  g_clear_pointer(&store, api_store_close);
  /* Deleting the first entry is caught too (ids start at 1). */
  raw_sql(fx->db, "DELETE FROM audit WHERE id = 1");
  store = api_store_open_sqlite(fx->db, 1000, &error);
  assert_chain(store, FALSE, 3, 0);
}

static void
make_signer(ApiStore *store, const char *id)
{
  g_autoptr(GError) error = NULL;
  ApiSigner s = {.id = (char *)id,
                 .identifier = (char *)id,
                 .name = (char *)"N",
                 .state = (char *)"active",
                 .created = 1};
  g_autoptr(ApiAuditEntry) a = api_audit_entry_new("test", "signer.create", id, NULL);

  g_assert_true(store->ops->signer_insert(store, &s, a, &error));
  g_assert_no_error(error);
}

static void
test_document_tx(Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ApiStore) store = api_store_open_sqlite(fx->db, 1000, &error);
  ApiDocument d = {.id = (char *)"doc1",
                   .signer_id = (char *)"s1",
                   .signed_at = 5,
                   .sha256 = (char *)"ab",
                   .idempotency_key = (char *)"k1",
                   .request_hash = (char *)"rh"};
  g_autoptr(ApiAuditEntry) a1 = api_audit_entry_new("signer:s1", "document.sign", "doc1", NULL);
  g_autoptr(ApiAuditEntry) a2 = api_audit_entry_new("signer:s1", "document.sign", "doc1", NULL);
  g_autoptr(ApiAuditEntry) a3 = api_audit_entry_new("signer:s1", "document.withdraw", "doc1", NULL);
  g_autoptr(ApiAuditEntry) a4 = api_audit_entry_new("signer:s1", "document.withdraw", "doc1", NULL);
  g_autoptr(ApiDocument) got = NULL;
  g_autofree char *n = NULL;

  make_signer(store, "s1");
  g_assert_true(store->ops->document_insert(store, &d, a1, &error));
  g_assert_no_error(error);
  /* A duplicate id fails and its audit entry is NOT written (same transaction). */
  g_assert_false(store->ops->document_insert(store, &d, a2, &error));
  g_assert_error(error, API_ERROR, API_ERROR_CONFLICT);
  g_clear_error(&error);
  n = raw_scalar(fx->db, "SELECT count(*) FROM audit WHERE action = 'document.sign'");
  g_assert_cmpstr(n, ==, "1");

  got = store->ops->document_find_idempotent(store, "s1", "k1", &error);
  g_assert_no_error(error);
  g_assert_cmpstr(got->id, ==, "doc1");
  g_assert_cmpstr(got->status, ==, "valid");
  g_clear_pointer(&got, api_document_free);

  /* Lookup by the signed file's digest (the citizen page's register check). */
  got = store->ops->document_find_by_sha256(store, "ab", &error);
  g_assert_no_error(error);
  g_assert_cmpstr(got->id, ==, "doc1");
  g_clear_pointer(&got, api_document_free);
  got = store->ops->document_find_by_sha256(store, "cd", &error);
  g_assert_null(got);
  g_assert_error(error, API_ERROR, API_ERROR_NOT_FOUND);
  g_clear_error(&error);

  g_assert_true(store->ops->document_withdraw(store, "doc1", "typo", 7, a3, &error));
  g_assert_no_error(error);
  g_assert_false(store->ops->document_withdraw(store, "doc1", "again", 8, a4, &error));
  g_assert_error(error, API_ERROR, API_ERROR_CONFLICT);
  g_clear_error(&error);
  g_assert_false(store->ops->document_withdraw(store, "nope", "x", 8, a4, &error));
  g_assert_error(error, API_ERROR, API_ERROR_NOT_FOUND);
  g_clear_error(&error);
  got = store->ops->document_get(store, "doc1", &error);
  g_assert_cmpstr(got->status, ==, "withdrawn");
  g_assert_cmpstr(got->withdraw_reason, ==, "typo");
  g_assert_cmpint(got->withdrawn_at, ==, 7);
  assert_chain(store, TRUE, 0, 3);
}

static void
test_keys(Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ApiStore) store = api_store_open_sqlite(fx->db, 1000, &error);
  ApiKey k = {.id = (char *)"k1",
              .signer_id = (char *)"s1",
              .pkcs11_uri = (char *)"pkcs11:token=t;object=k1",
              .state = (char *)"generated",
              .created = 10};
  g_autoptr(ApiAuditEntry) a1 = api_audit_entry_new("admin:t", "key.generate", "k1", NULL);
  g_autoptr(ApiAuditEntry) a2 = api_audit_entry_new("admin:t", "key.activate", "k1", NULL);
  g_autoptr(ApiAuditEntry) a3 = api_audit_entry_new("admin:t", "key.activate", "nokey", NULL);
  g_autoptr(GPtrArray) list = NULL;
  g_autofree char *hist = NULL;

  make_signer(store, "s1");
  g_assert_true(store->ops->key_insert(store, &k, a1, &error));
  g_assert_no_error(error);
  g_assert_true(store->ops->key_set_state(store, "k1", "active", 11, a2, &error));
  g_assert_no_error(error);
  g_assert_false(store->ops->key_set_state(store, "nokey", "active", 11, a3, &error));
  g_assert_error(error, API_ERROR, API_ERROR_NOT_FOUND);
  g_clear_error(&error);
  list = store->ops->key_list(store, "s1", &error);
  g_assert_no_error(error);
  g_assert_cmpuint(list->len, ==, 1);
  g_assert_cmpstr(((ApiKey *)g_ptr_array_index(list, 0))->state, ==, "active");
  hist = raw_scalar(fx->db, "SELECT group_concat(state, ',') FROM key_history WHERE key_id='k1'");
  g_assert_cmpstr(hist, ==, "generated,active");
  assert_chain(store, TRUE, 0, 3);
}

static void
test_readonly(Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ApiStore) store = api_store_open_sqlite_readonly(fx->db, &error);
  g_autoptr(ApiAuditEntry) e = api_audit_entry_new("t", "t", "", NULL);

  /* Offline checks never create a database. */
  g_assert_null(store);
  g_assert_error(error, TTE_ERROR, TTE_ERROR_IO);
  g_clear_error(&error);
  g_assert_false(g_file_test(fx->db, G_FILE_TEST_EXISTS));
  store = api_store_open_sqlite(fx->db, 1000, &error);
  g_clear_pointer(&store, api_store_close);
  store = api_store_open_sqlite_readonly(fx->db, &error);
  g_assert_no_error(error);
  g_assert_false(api_store_audit_append(store, e, &error));
  g_assert_error(error, API_ERROR, API_ERROR_STORAGE);
}

static void
test_canonical_details(void)
{
  g_autoptr(json_t) a = json_pack("{s:i, s:s}", "b", 1, "a", "x");
  g_autoptr(json_t) b = json_pack("{s:s, s:i}", "a", "x", "b", 1);
  g_autoptr(ApiAuditEntry) ea = api_audit_entry_new("u", "act", "s", a);
  g_autoptr(ApiAuditEntry) eb = api_audit_entry_new("u", "act", "s", b);
  g_autofree char *hb = NULL;

  /* Key order does not change the stored text nor the hash. */
  g_assert_cmpstr(ea->details, ==, "{\"a\":\"x\",\"b\":1}");
  eb->time = ea->time;
  api_audit_seal(ea, 0, NULL);
  api_audit_seal(eb, 0, NULL);
  g_assert_cmpstr(ea->hash, ==, eb->hash);
  /* Field boundaries are length-prefixed: moving a byte between fields changes the hash. */
  g_free(eb->actor);
  eb->actor = g_strdup("ua");
  g_free(eb->action);
  eb->action = g_strdup("ct");
  hb = api_audit_compute_hash(eb);
  g_assert_cmpstr(hb, !=, ea->hash);
}

typedef struct {
  ApiStore *store;
  int thread;
} Worker;

#define N_THREADS 8
#define N_PER_THREAD 25

static gpointer
worker(gpointer data)
{
  Worker *w = data;

  for (int i = 0; i < N_PER_THREAD; i++) {
    g_autoptr(GError) error = NULL;
    g_autofree char *id = g_strdup_printf("d%d-%d", w->thread, i);
    ApiDocument d = {.id = id, .signer_id = (char *)"s1", .signed_at = i, .sha256 = (char *)"00"};
    g_autoptr(ApiAuditEntry) ok = api_audit_entry_new("t", "document.sign", id, NULL);
    g_autoptr(ApiAuditEntry) dup = api_audit_entry_new("t", "document.sign", id, NULL);

    if (!w->store->ops->document_insert(w->store, &d, ok, &error))
      g_error("insert %s: %s", id, error->message);
    /* A failing op in the same commit group must not take the others down. */
    if (w->store->ops->document_insert(w->store, &d, dup, &error))
      g_error("duplicate %s accepted", id);
    if (!g_error_matches(error, API_ERROR, API_ERROR_CONFLICT))
      g_error("duplicate %s: %s", id, error->message);
  }
  return NULL;
}

static void
test_concurrent_writers(Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ApiStore) store = api_store_open_sqlite(fx->db, 1000, &error);
  Worker w[N_THREADS];
  GThread *t[N_THREADS];
  g_autofree char *docs = NULL, *entries = NULL;

  make_signer(store, "s1");
  for (int i = 0; i < N_THREADS; i++) {
    w[i].store = store;
    w[i].thread = i;
    t[i] = g_thread_new("writer", worker, &w[i]);
  }
  for (int i = 0; i < N_THREADS; i++)
    g_thread_join(t[i]);
  docs = raw_scalar(fx->db, "SELECT count(*) FROM documents");
  entries = raw_scalar(fx->db, "SELECT count(*) FROM audit WHERE action = 'document.sign'");
  g_assert_cmpstr(docs, ==, G_STRINGIFY(200));
  g_assert_cmpstr(entries, ==, G_STRINGIFY(200));
  G_STATIC_ASSERT(N_THREADS * N_PER_THREAD == 200);
  assert_chain(store, TRUE, 0, 1 + N_THREADS * N_PER_THREAD);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
#define ADD(path, fn) g_test_add(path, Fixture, NULL, fx_setup, fn, fx_teardown)
  ADD("/store/migrate/fresh", test_migrate_fresh);
  ADD("/store/migrate/existing-v1", test_migrate_existing);
  ADD("/store/migrate/newer-refused", test_newer_schema_refused);
  ADD("/store/documents/one-transaction", test_document_tx);
  ADD("/store/keys/history", test_keys);
  ADD("/store/readonly", test_readonly);
  ADD("/store/group-commit/concurrent-writers", test_concurrent_writers);
  ADD("/audit/chain/ok", test_chain_ok);
  ADD("/audit/chain/edited-row", test_chain_edited);
  ADD("/audit/chain/relinked-row", test_chain_relinked);
  ADD("/audit/chain/deleted-row", test_chain_deleted);
  g_test_add_func("/audit/canonical", test_canonical_details);
  return g_test_run();
}
