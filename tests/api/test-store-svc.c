/* test-store-svc.c — the schema-3 store functions of the signing service: key
 * activation (one active key per signer, rotation in one transaction, retired keys stay
 * retired) and the bounded copies kept for idempotent replays. */
#include "audit.h"
#include "routes.h"
#include "store.h"
#include "tte-error.h"

#include <glib/gstdio.h>
#include <string.h>

typedef struct {
  char *dir;
  ApiStore *store;
  char *signer;
} Fixture;

static void
fx_setup(Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *db = NULL;
  g_autoptr(ApiSigner) s = NULL;

  fx->dir = g_dir_make_tmp("tte-store-svc-XXXXXX", &error);
  g_assert_no_error(error);
  db = g_build_filename(fx->dir, "tte.db", NULL);
  fx->store = api_store_open_sqlite(db, 1000, &error);
  g_assert_no_error(error);
  s = api_signer_create(fx->store, "a@opd.go.id", "A", NULL, NULL, "test", &error);
  g_assert_no_error(error);
  fx->signer = g_strdup(s->id);
}

static void
fx_teardown(Fixture *fx, gconstpointer data)
{
  g_autofree char *db = g_build_filename(fx->dir, "tte.db", NULL);
  g_autofree char *wal = g_strconcat(db, "-wal", NULL);
  g_autofree char *shm = g_strconcat(db, "-shm", NULL);

  api_store_close(fx->store);
  g_unlink(db);
  g_unlink(wal);
  g_unlink(shm);
  g_rmdir(fx->dir);
  g_free(fx->dir);
  g_free(fx->signer);
}

static char *
add_key(Fixture *fx, gboolean with_cert)
{
  g_autoptr(GError) error = NULL;
  ApiKey k = {0};
  g_autoptr(ApiAuditEntry) a = api_audit_entry_new("test", "key.import", "", NULL);

  k.id = api_store_new_id("k_", &error);
  k.signer_id = fx->signer;
  k.pkcs11_uri = (char *)"pkcs11:token=t;object=o";
  k.cert_pem = with_cert ? (char *)"-----BEGIN CERTIFICATE-----" : NULL;
  k.state = (char *)"generated";
  k.created = g_get_real_time();
  g_assert_true(fx->store->ops->key_insert(fx->store, &k, a, &error));
  g_assert_no_error(error);
  return k.id;
}

static const char *
state_of(GPtrArray *keys, const char *id)
{
  for (guint i = 0; i < keys->len; i++) {
    const ApiKey *k = g_ptr_array_index(keys, i);
    if (strcmp(k->id, id) == 0)
      return k->state;
  }
  return NULL;
}

static gboolean
activate(Fixture *fx, const char *id, GError **error)
{
  g_autoptr(ApiAuditEntry) a = api_audit_entry_new("test", "key.activate", id, NULL);
  return fx->store->ops->key_activate(fx->store, id, g_get_real_time(), a, error);
}

static void
test_activation(Fixture *fx, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *k1 = add_key(fx, TRUE);
  g_autofree char *k2 = add_key(fx, TRUE);
  g_autofree char *k3 = add_key(fx, FALSE);
  g_autoptr(GPtrArray) keys = NULL;

  g_assert_true(activate(fx, k1, &error));
  g_assert_no_error(error);
  g_assert_true(activate(fx, k2, &error));
  g_assert_no_error(error);
  keys = fx->store->ops->key_list(fx->store, fx->signer, &error);
  g_assert_cmpstr(state_of(keys, k1), ==, "retired");
  g_assert_cmpstr(state_of(keys, k2), ==, "active");
  /* A retired key never comes back, a key without certificate cannot be activated. */
  g_assert_false(activate(fx, k1, &error));
  g_assert_error(error, API_ERROR, API_ERROR_CONFLICT);
  g_clear_error(&error);
  g_assert_false(activate(fx, k3, &error));
  g_assert_error(error, API_ERROR, API_ERROR_CONFLICT);
  g_clear_error(&error);
  g_assert_false(activate(fx, "k_nope", &error));
  g_assert_error(error, API_ERROR, API_ERROR_NOT_FOUND);
  g_clear_error(&error);
  /* The database itself refuses a second active key. */
  {
    g_autoptr(ApiAuditEntry) a = api_audit_entry_new("test", "key.x", k1, NULL);
    g_assert_false(fx->store->ops->key_set_state(fx->store, k1, "active", 1, a, &error));
    g_assert_nonnull(error);
    g_clear_error(&error);
  }
  /* The certificate goes only onto a generated key. */
  {
    g_autoptr(ApiAuditEntry) a = api_audit_entry_new("test", "key.certificate", k3, NULL);
    g_autoptr(ApiAuditEntry) b = api_audit_entry_new("test", "key.certificate", k2, NULL);
    g_assert_true(fx->store->ops->key_set_cert(fx->store, k3, "pem", 1, 2, 3, a, &error));
    g_assert_no_error(error);
    g_assert_false(fx->store->ops->key_set_cert(fx->store, k2, "pem", 1, 2, 3, b, &error));
    g_assert_error(error, API_ERROR, API_ERROR_NOT_FOUND);
  }
}

static void
put(Fixture *fx, const char *key, const char *sha, gsize size, gint64 now, gint64 age,
    guint64 total)
{
  g_autoptr(GError) error = NULL;
  g_autofree guint8 *buf = g_malloc0(size);
  g_autoptr(GBytes) b = g_bytes_new_take(g_steal_pointer(&buf), size);

  g_assert_true(
      fx->store->ops->replay_put(fx->store, fx->signer, key, sha, b, now, age, total, &error));
  g_assert_no_error(error);
}

static gboolean
kept(Fixture *fx, const char *key, const char *sha)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) b = fx->store->ops->replay_get(fx->store, fx->signer, key, sha, &error);

  if (b == NULL)
    g_assert_error(error, API_ERROR, API_ERROR_NOT_FOUND);
  return b != NULL;
}

static void
test_replay_bounds(Fixture *fx, gconstpointer data)
{
  const gint64 hour = G_GINT64_CONSTANT(3600) * G_USEC_PER_SEC;

  put(fx, "k1", "a", 100, 1 * hour, 10 * hour, 250);
  put(fx, "k2", "b", 100, 2 * hour, 10 * hour, 250);
  g_assert_true(kept(fx, "k1", "a"));
  g_assert_false(kept(fx, "k1", "b")); /* keyed by digest too */
  /* Over the size budget: the oldest copy goes. */
  put(fx, "k3", "c", 100, 3 * hour, 10 * hour, 250);
  g_assert_false(kept(fx, "k1", "a"));
  g_assert_true(kept(fx, "k2", "b"));
  g_assert_true(kept(fx, "k3", "c"));
  /* Past the age limit: expired at the next write. */
  put(fx, "k4", "d", 10, 20 * hour, 10 * hour, 250);
  g_assert_false(kept(fx, "k2", "b"));
  g_assert_false(kept(fx, "k3", "c"));
  g_assert_true(kept(fx, "k4", "d"));
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add("/store-svc/activation", Fixture, NULL, fx_setup, test_activation, fx_teardown);
  g_test_add("/store-svc/replay-bounds", Fixture, NULL, fx_setup, test_replay_bounds, fx_teardown);
  return g_test_run();
}
