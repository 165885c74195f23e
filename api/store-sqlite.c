/* store-sqlite.c — the embedded SQLite backend of store.h.
 *
 * One connection guarded by a mutex: SQLite serialises writers anyway, and with
 * synchronous=FULL every commit is an fsync, so a second connection would only help
 * readers.  WAL mode lets `tte audit verify` read while the service writes.
 */
#include "audit.h"
#include "store.h"

#include "tte-error.h"

#include <glib/gstdio.h>
#include <sqlite3.h>
#include <string.h>

typedef struct {
  ApiStore parent;
  sqlite3 *db;
  GMutex lock;       /* the connection */
  GHashTable *stmts; /* SQL text -> sqlite3_stmt*, prepared once (see cached()); under @lock */
  gboolean readonly;
  /* group commit (see run_write) */
  GMutex qlock;
  GCond qcond;
  GPtrArray *queue; /* WriteOp* waiting for the next commit */
  gboolean committing;
  guint64 batches;
} SqliteStore;

G_DEFINE_AUTOPTR_CLEANUP_FUNC(sqlite3_stmt, sqlite3_finalize)

/* A statement of the connection's cache: borrowed, reset and unbound when the scope
 * ends (g_autoptr(CachedStmt)), never finalised by its user. */
typedef sqlite3_stmt CachedStmt;
static void
cached_release(CachedStmt *st)
{
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CachedStmt, cached_release)

static void
stmt_finalize(gpointer st)
{
  sqlite3_finalize(st);
}

/* Each entry moves the schema from version i to i+1; never edit a released entry, add
 * a new one. */
static const char *const migrations[] = {
    /* 1: the core tables. */
    "CREATE TABLE signers ("
    "  id TEXT PRIMARY KEY,"
    "  identifier TEXT NOT NULL UNIQUE,"
    "  name TEXT NOT NULL,"
    "  title TEXT,"
    "  organization TEXT,"
    "  state TEXT NOT NULL CHECK (state IN ('active','disabled')),"
    "  created INTEGER NOT NULL);"
    "CREATE TABLE api_tokens ("
    "  id TEXT PRIMARY KEY,"
    "  role TEXT NOT NULL CHECK (role IN ('signer','admin')),"
    "  signer_id TEXT REFERENCES signers(id),"
    "  label TEXT,"
    "  hash BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),"
    "  created INTEGER NOT NULL,"
    "  revoked INTEGER NOT NULL DEFAULT 0,"
    "  CHECK ((role = 'signer') = (signer_id IS NOT NULL)));"
    "CREATE TABLE keys ("
    "  id TEXT PRIMARY KEY,"
    "  signer_id TEXT NOT NULL REFERENCES signers(id),"
    "  pkcs11_uri TEXT NOT NULL,"
    "  cert_pem TEXT,"
    "  state TEXT NOT NULL CHECK (state IN ('generated','active','retired','destroyed')),"
    "  not_before INTEGER NOT NULL DEFAULT 0,"
    "  not_after INTEGER NOT NULL DEFAULT 0,"
    "  created INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL);"
    "CREATE TABLE documents ("
    "  id TEXT PRIMARY KEY,"
    "  signer_id TEXT NOT NULL REFERENCES signers(id),"
    "  key_id TEXT REFERENCES keys(id),"
    "  signed_at INTEGER NOT NULL,"
    "  sha256 TEXT NOT NULL,"
    "  status TEXT NOT NULL CHECK (status IN ('valid','withdrawn')),"
    "  withdraw_reason TEXT,"
    "  withdrawn_at INTEGER NOT NULL DEFAULT 0,"
    "  idempotency_key TEXT,"
    "  request_hash TEXT,"
    "  UNIQUE (signer_id, idempotency_key));"
    "CREATE TABLE audit ("
    "  id INTEGER PRIMARY KEY,"
    "  time INTEGER NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  subject TEXT NOT NULL,"
    "  details TEXT NOT NULL,"
    "  prev_hash TEXT NOT NULL,"
    "  hash TEXT NOT NULL);",

    /* 2: key history, indexes for the filters, and append-only guards on the audit table
     * (they stop accidents; deliberate tampering is caught by the hash chain). */
    "CREATE TABLE key_history ("
    "  key_id TEXT NOT NULL REFERENCES keys(id),"
    "  time INTEGER NOT NULL,"
    "  state TEXT NOT NULL);"
    "CREATE INDEX key_history_key ON key_history(key_id);"
    "CREATE INDEX keys_signer ON keys(signer_id);"
    "CREATE INDEX documents_sha256 ON documents(sha256);"
    "CREATE INDEX audit_time ON audit(time);"
    "CREATE INDEX audit_action ON audit(action);"
    "CREATE INDEX audit_actor ON audit(actor);"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
    "  BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
    "  BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;",

    /* 3: at most one active key per signer (the database enforces what activation
     * promises), and the signed bytes kept for idempotent replays of POST /sign
     * (bounded by age and total size, see replay_put; keyed by the document digest so
     * that two racing requests with one key can never swap their bytes). */
    "CREATE UNIQUE INDEX keys_one_active ON keys(signer_id) WHERE state = 'active';"
    "CREATE TABLE replay ("
    "  signer_id TEXT NOT NULL,"
    "  idempotency_key TEXT NOT NULL,"
    "  sha256 TEXT NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  body BLOB NOT NULL,"
    "  PRIMARY KEY (signer_id, idempotency_key, sha256));"
    "CREATE INDEX replay_created ON replay(created);",
};

G_STATIC_ASSERT(G_N_ELEMENTS(migrations) == API_STORE_SCHEMA_VERSION);

static void
set_db_error(GError **error, sqlite3 *db, const char *what)
{
  int rc = sqlite3_extended_errcode(db);
  int code = API_ERROR_STORAGE;

  if ((rc & 0xff) == SQLITE_CONSTRAINT)
    code = API_ERROR_CONFLICT;
  else if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
    code = API_ERROR_UNAVAILABLE;
  g_set_error(error, API_ERROR, code, "database: %s: %s", what, sqlite3_errmsg(db));
}

static gboolean
exec_sql(sqlite3 *db, const char *sql, GError **error)
{
  char *msg = NULL;

  if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    int rc = sqlite3_extended_errcode(db) & 0xff;
    /* A lock held elsewhere beyond the busy timeout is "try again", not a fault. */
    int code =
        (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) ? API_ERROR_UNAVAILABLE : API_ERROR_STORAGE;

    g_set_error(error, API_ERROR, code, "database: %s", msg ? msg : "failed");
    sqlite3_free(msg);
    return FALSE;
  }
  return TRUE;
}

/* The prepared statement for @sql (constant text only: the cache is never trimmed),
 * prepared on first use.  Parsing and planning were a tenth of the database work of a
 * signature.  Call with s->lock; one user of a given statement at a time. */
static CachedStmt *
cached(SqliteStore *s, const char *sql, GError **error)
{
  sqlite3_stmt *st = g_hash_table_lookup(s->stmts, sql);

  if (st != NULL)
    return st;
  if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
    set_db_error(error, s->db, "prepare");
    return NULL;
  }
  g_hash_table_insert(s->stmts, g_strdup(sql), st);
  return st;
}

/* sqlite3_exec of a constant statement without result rows, through the cache. */
static gboolean
cached_exec(SqliteStore *s, const char *sql, GError **error)
{
  g_autoptr(CachedStmt) st = cached(s, sql, error);
  int rc;

  if (st == NULL)
    return FALSE;
  rc = sqlite3_step(st);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
    int prc = sqlite3_extended_errcode(s->db) & 0xff;
    int code =
        (prc == SQLITE_BUSY || prc == SQLITE_LOCKED) ? API_ERROR_UNAVAILABLE : API_ERROR_STORAGE;
    g_set_error(error, API_ERROR, code, "database: %s: %s", sql, sqlite3_errmsg(s->db));
    return FALSE;
  }
  return TRUE;
}

static void
bind_text(sqlite3_stmt *st, int i, const char *s)
{
  if (s == NULL)
    sqlite3_bind_null(st, i);
  else
    sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

static char *
col_text(sqlite3_stmt *st, int i)
{
  const unsigned char *t = sqlite3_column_text(st, i);
  return t ? g_strdup((const char *)t) : NULL;
}

static int
get_user_version(sqlite3 *db)
{
  g_autoptr(sqlite3_stmt) st = NULL;

  if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
    return -1;
  if (sqlite3_step(st) != SQLITE_ROW)
    return -1;
  return sqlite3_column_int(st, 0);
}

/* ---- writes: one transaction per call, several calls per commit --------------------
 *
 * Every write is described as a WriteOp (a check, up to two statements, an audit entry)
 * and queued.  The first caller to find no commit in progress becomes the leader: it
 * runs every queued op in ONE transaction, each inside its own SAVEPOINT so that a
 * failing op (a duplicate, a missing row) is rolled back alone, commits once, and wakes
 * the callers.  Under load, the ops that arrived during one fsync share the next one
 * (group commit); alone, a call costs one transaction as before.  A caller returns only
 * after the commit that holds its op, so "returned TRUE" still means "durable". */

typedef enum { P_NULL, P_TEXT, P_INT, P_BLOB } ParamType;

typedef struct {
  ParamType t;
  const char *s;
  gint64 i;
  const void *b;
  int blen;
} Param;

#define PT(x) ((Param){.t = (x) != NULL ? P_TEXT : P_NULL, .s = (x)})
#define PI(x) ((Param){.t = P_INT, .i = (x)})
#define PB(x, n) ((Param){.t = P_BLOB, .b = (x), .blen = (n)})
#define MAX_PARAMS 10

typedef struct {
  const char *sql;
  Param p[MAX_PARAMS];
  guint n;
  const char *what;
  const char *not_found; /* set: no row changed -> NOT_FOUND with this message */
} Step;

typedef struct WriteOp WriteOp;
struct WriteOp {
  gboolean (*check)(SqliteStore *s, WriteOp *op, GError **error);
  const char *check_id;
  Step steps[4];
  guint n_steps;
  ApiAuditEntry *audit;
  /* filled by the leader */
  GError *error;
  gboolean ok;
  gboolean done;
};

/* Inside a transaction: seal @e after the current head and insert it. */
static gboolean
audit_insert_locked(SqliteStore *s, ApiAuditEntry *e, GError **error)
{
  g_autoptr(CachedStmt) head = NULL;
  g_autoptr(CachedStmt) ins = NULL;
  gint64 prev_id = 0;
  g_autofree char *prev_hash = NULL;
  int rc;

  head = cached(s, "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1", error);
  if (head == NULL)
    return FALSE;
  rc = sqlite3_step(head);
  if (rc == SQLITE_ROW) {
    prev_id = sqlite3_column_int64(head, 0);
    prev_hash = col_text(head, 1);
  } else if (rc != SQLITE_DONE) {
    set_db_error(error, s->db, "read audit head");
    return FALSE;
  }
  api_audit_seal(e, prev_id, prev_hash);
  ins = cached(s,
               "INSERT INTO audit (id, time, actor, action, subject, details, prev_hash, hash)"
               " VALUES (?,?,?,?,?,?,?,?)",
               error);
  if (ins == NULL)
    return FALSE;
  sqlite3_bind_int64(ins, 1, e->id);
  sqlite3_bind_int64(ins, 2, e->time);
  bind_text(ins, 3, e->actor);
  bind_text(ins, 4, e->action);
  bind_text(ins, 5, e->subject);
  bind_text(ins, 6, e->details);
  bind_text(ins, 7, e->prev_hash);
  bind_text(ins, 8, e->hash);
  if (sqlite3_step(ins) != SQLITE_DONE) {
    set_db_error(error, s->db, "append audit entry");
    return FALSE;
  }
  return TRUE;
}

static gboolean
exec_step(SqliteStore *s, const Step *step, GError **error)
{
  g_autoptr(CachedStmt) st = cached(s, step->sql, error);

  if (st == NULL)
    return FALSE;
  for (guint i = 0; i < step->n; i++) {
    const Param *p = &step->p[i];
    switch (p->t) {
    case P_NULL:
      sqlite3_bind_null(st, (int)i + 1);
      break;
    case P_TEXT:
      sqlite3_bind_text(st, (int)i + 1, p->s, -1, SQLITE_TRANSIENT);
      break;
    case P_INT:
      sqlite3_bind_int64(st, (int)i + 1, p->i);
      break;
    case P_BLOB:
      sqlite3_bind_blob(st, (int)i + 1, p->b, p->blen, SQLITE_TRANSIENT);
      break;
    }
  }
  if (sqlite3_step(st) != SQLITE_DONE) {
    set_db_error(error, s->db, step->what);
    return FALSE;
  }
  if (step->not_found != NULL && sqlite3_changes(s->db) == 0) {
    g_set_error_literal(error, API_ERROR, API_ERROR_NOT_FOUND, step->not_found);
    return FALSE;
  }
  return TRUE;
}

static gboolean
op_body(SqliteStore *s, WriteOp *op, GError **error)
{
  if (op->check != NULL && !op->check(s, op, error))
    return FALSE;
  for (guint i = 0; i < op->n_steps; i++)
    if (!exec_step(s, &op->steps[i], error))
      return FALSE;
  return op->audit == NULL || audit_insert_locked(s, op->audit, error);
}

static void
fail_op(WriteOp *op, const GError *error)
{
  op->ok = FALSE;
  if (op->error == NULL)
    op->error = g_error_copy(error);
}

/* Leader: run @batch in one transaction.  Holds the connection lock throughout. */
static void
run_batch(SqliteStore *s, GPtrArray *batch)
{
  G_GNUC_UNUSED g_autoptr(GMutexLocker) l = g_mutex_locker_new(&s->lock);
  g_autoptr(GError) error = NULL;
  gboolean any_ok = FALSE;

  if (!cached_exec(s, "BEGIN IMMEDIATE", &error)) {
    for (guint i = 0; i < batch->len; i++)
      fail_op(g_ptr_array_index(batch, i), error);
    return;
  }
  for (guint i = 0; i < batch->len; i++) {
    WriteOp *op = g_ptr_array_index(batch, i);
    g_autoptr(GError) sp_error = NULL;

    if (!cached_exec(s, "SAVEPOINT op", &sp_error)) {
      fail_op(op, sp_error);
      continue;
    }
    op->ok = op_body(s, op, &op->error);
    if (!op->ok)
      (void)cached_exec(s, "ROLLBACK TO op", NULL);
    (void)cached_exec(s, "RELEASE op", NULL);
    any_ok = any_ok || op->ok;
  }
  if (!any_ok) {
    (void)cached_exec(s, "ROLLBACK", NULL);
    return;
  }
  if (!cached_exec(s, "COMMIT", NULL)) {
    set_db_error(&error, s->db, "commit");
    (void)cached_exec(s, "ROLLBACK", NULL);
    for (guint i = 0; i < batch->len; i++)
      fail_op(g_ptr_array_index(batch, i), error);
  }
}

static gboolean
run_write(SqliteStore *s, WriteOp *op, GError **error)
{
  if (s->readonly) {
    g_set_error_literal(error, API_ERROR, API_ERROR_STORAGE, "database opened read-only");
    return FALSE;
  }
  g_mutex_lock(&s->qlock);
  g_ptr_array_add(s->queue, op);
  while (!op->done) {
    if (!s->committing) {
      g_autoptr(GPtrArray) batch = s->queue;

      s->committing = TRUE;
      s->queue = g_ptr_array_new();
      g_mutex_unlock(&s->qlock);
      run_batch(s, batch);
      g_mutex_lock(&s->qlock);
      for (guint i = 0; i < batch->len; i++)
        ((WriteOp *)g_ptr_array_index(batch, i))->done = TRUE;
      s->batches++;
      s->committing = FALSE;
      g_cond_broadcast(&s->qcond);
    } else {
      g_cond_wait(&s->qcond, &s->qlock);
    }
  }
  g_mutex_unlock(&s->qlock);
  if (!op->ok) {
    g_propagate_error(error, op->error);
    op->error = NULL;
    return FALSE;
  }
  return TRUE;
}

/* ---- vtable ------------------------------------------------------------------------- */

static void
sq_close(ApiStore *store)
{
  SqliteStore *s = (SqliteStore *)store;

  /* sqlite3_close_v2 defers until statements are finalised: the cached ones go first. */
  g_hash_table_unref(s->stmts);
  sqlite3_close_v2(s->db);
  g_mutex_clear(&s->lock);
  g_mutex_clear(&s->qlock);
  g_cond_clear(&s->qcond);
  g_ptr_array_unref(s->queue);
  g_free(s);
}

static int
sq_schema_version(ApiStore *store)
{
  SqliteStore *s = (SqliteStore *)store;
  G_GNUC_UNUSED g_autoptr(GMutexLocker) l = g_mutex_locker_new(&s->lock);

  return get_user_version(s->db);
}

static gboolean
sq_check_writable(ApiStore *store, GError **error)
{
  SqliteStore *s = (SqliteStore *)store;
  G_GNUC_UNUSED g_autoptr(GMutexLocker) l = g_mutex_locker_new(&s->lock);

  if (s->readonly) {
    g_set_error_literal(error, API_ERROR, API_ERROR_STORAGE, "database opened read-only");
    return FALSE;
  }
  /* Taking the write lock (BEGIN IMMEDIATE) and updating a row in place proves the
   * file and its WAL index are writable; the rollback leaves no trace. */
  if (!exec_sql(s->db, "BEGIN IMMEDIATE", error))
    return FALSE;
  if (!exec_sql(s->db,
                "UPDATE signers SET state = state"
                " WHERE rowid = (SELECT min(rowid) FROM signers)",
                error)) {
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return FALSE;
  }
  sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
  return TRUE;
}
static gboolean
sq_signer_insert(ApiStore *store, const ApiSigner *g, ApiAuditEntry *audit, GError **error)
{
  WriteOp op = {
      .steps = {{.sql = "INSERT INTO signers (id, identifier, name, title, organization, state,"
                        " created) VALUES (?,?,?,?,?,?,?)",
                 .p = {PT(g->id), PT(g->identifier), PT(g->name), PT(g->title), PT(g->organization),
                       PT(g->state ? g->state : "active"), PI(g->created)},
                 .n = 7,
                 .what = "create signer"}},
      .n_steps = 1,
      .audit = audit,
  };

  return run_write((SqliteStore *)store, &op, error);
}
static ApiSigner *
row_signer(sqlite3_stmt *st)
{
  ApiSigner *g = g_new0(ApiSigner, 1);

  g->id = col_text(st, 0);
  g->identifier = col_text(st, 1);
  g->name = col_text(st, 2);
  g->title = col_text(st, 3);
  g->organization = col_text(st, 4);
  g->state = col_text(st, 5);
  g->created = sqlite3_column_int64(st, 6);
  return g;
}

#define SIGNER_COLS "id, identifier, name, title, organization, state, created"

static ApiSigner *
sq_signer_get(ApiStore *store, const char *id, GError **error)
{
  SqliteStore *s = (SqliteStore *)store;
  G_GNUC_UNUSED g_autoptr(GMutexLocker) l = g_mutex_locker_new(&s->lock);
  g_autoptr(CachedStmt) st = cached(s, "SELECT " SIGNER_COLS " FROM signers WHERE id = ?", error);
  int rc;

  if (st == NULL)
    return NULL;
  bind_text(st, 1, id);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    return row_signer(st);
  if (rc == SQLITE_DONE)
    g_set_error_literal(error, API_ERROR, API_ERROR_NOT_FOUND, "no such signer");
  else
    set_db_error(error, s->db, "read signer");
  return NULL;
}

static GPtrArray *
sq_signer_list(ApiStore *store, GError **error)
{
  SqliteStore *s = (SqliteStore *)store;
  G_GNUC_UNUSED g_autoptr(GMutexLocker) l = g_mutex_locker_new(&s->lock);
  g_autoptr(CachedStmt) st =
      cached(s, "SELECT " SIGNER_COLS " FROM signers ORDER BY created, id", error);
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)api_signer_free);
  int rc;

  if (st == NULL)
    return NULL;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    g_ptr_array_add(out, row_signer(st));
  if (rc != SQLITE_DONE) {
    set_db_error(error, s->db, "list signers");
    return NULL;
  }
  return g_steal_pointer(&out);
}

static gboolean
sq_signer_set_state(ApiStore *store, const char *id, const char *state, ApiAuditEntry *audit,
                    GError **error)
{
  WriteOp op = {
      .steps = {{.sql = "UPDATE signers SET state = ? WHERE id = ?",
                 .p = {PT(state), PT(id)},
                 .n = 2,
                 .what = "update signer",
                 .not_found = "no such signer"}},
      .n_steps = 1,
      .audit = audit,
  };

  return run_write((SqliteStore *)store, &op, error);
}
static gboolean
sq_token_insert(ApiStore *store, const ApiToken *t, ApiAuditEntry *audit, GError **error)
{
  WriteOp op = {
      .steps = {{.sql =
                     "INSERT INTO api_tokens (id, role, signer_id, label, hash, created, revoked)"
                     " VALUES (?,?,?,?,?,?,0)",
                 .p = {PT(t->id), PT(api_role_to_string(t->role)), PT(t->signer_id), PT(t->label),
                       PB(t->hash, sizeof t->hash), PI(t->created)},
                 .n = 6,
                 .what = "create token"}},
      .n_steps = 1,
      .audit = audit,
  };

  return run_write((SqliteStore *)store, &op, error);
}
static ApiToken *
sq_token_find_by_hash(ApiStore *store, const guint8 hash[32], GError **error)
{
  SqliteStore *s = (SqliteStore *)store;
  G_GNUC_UNUSED g_autoptr(GMutexLocker) l = g_mutex_locker_new(&s->lock);
  g_autoptr(CachedStmt) st = cached(
      s, "SELECT id, role, signer_id, label, hash, created, revoked FROM api_tokens WHERE hash = ?",
      error);
  ApiToken *t;
  int rc;

  if (st == NULL)
    return NULL;
  sqlite3_bind_blob(st, 1, hash, 32, SQLITE_TRANSIENT);
  rc = sqlite3_step(st);
  if (rc == SQLITE_DONE) {
    g_set_error_literal(error, API_ERROR, API_ERROR_NOT_FOUND, "no such token");
    return NULL;
  }
  if (rc != SQLITE_ROW) {
    set_db_error(error, s->db, "read token");
    return NULL;
  }
  t = g_new0(ApiToken, 1);
  t->id = col_text(st, 0);
  {
    g_autofree char *role = col_text(st, 1);
    if (!api_role_from_string(role, &t->role))
      t->role = API_ROLE_PUBLIC;
  }
  t->signer_id = col_text(st, 2);
  t->label = col_text(st, 3);
  if (sqlite3_column_bytes(st, 4) == 32)
    memcpy(t->hash, sqlite3_column_blob(st, 4), 32);
  t->created = sqlite3_column_int64(st, 5);
  t->revoked = sqlite3_column_int64(st, 6);
  return t;
}

static gboolean
sq_token_revoke(ApiStore *store, const char *id, gint64 when, ApiAuditEntry *audit, GError **error)
{
  /* Revoking twice reports NOT_FOUND for the second call: there is no valid token left
   * with that id, and the first revocation time is kept. */
  WriteOp op = {
      .steps = {{.sql = "UPDATE api_tokens SET revoked = ? WHERE id = ? AND revoked = 0",
                 .p = {PI(when > 0 ? when : 1), PT(id)},
                 .n = 2,
                 .what = "revoke token",
                 .not_found = "no valid token with this id"}},
      .n_steps = 1,
      .audit = audit,
  };

  return run_write((SqliteStore *)store, &op, error);
}
static gboolean
sq_key_insert(ApiStore *store, const ApiKey *k, ApiAuditEntry *audit, GError **error)
{
  const char *state = k->state ? k->state : "generated";
  WriteOp op = {
      .steps =
          {
              {.sql = "INSERT INTO keys (id, signer_id, pkcs11_uri, cert_pem, state, not_before, "
                      "not_after,"
                      " created, updated) VALUES (?,?,?,?,?,?,?,?,?)",
               .p = {PT(k->id), PT(k->signer_id), PT(k->pkcs11_uri), PT(k->cert_pem), PT(state),
                     PI(k->not_before), PI(k->not_after), PI(k->created), PI(k->created)},
               .n = 9,
               .what = "create key"},
              {.sql = "INSERT INTO key_history (key_id, time, state) VALUES (?,?,?)",
               .p = {PT(k->id), PI(k->created), PT(state)},
               .n = 3,
               .what = "key history"},
          },
      .n_steps = 2,
      .audit = audit,
  };

  return run_write((SqliteStore *)store, &op, error);
}
static gboolean
sq_key_set_state(ApiStore *store, const char *id, const char *state, gint64 when,
                 ApiAuditEntry *audit, GError **error)
{
  WriteOp op = {
      .steps =
          {
              {.sql = "UPDATE keys SET state = ?, updated = ? WHERE id = ?",
               .p = {PT(state), PI(when), PT(id)},
               .n = 3,
               .what = "update key",
               .not_found = "no such key"},
              {.sql = "INSERT INTO key_history (key_id, time, state) VALUES (?,?,?)",
               .p = {PT(id), PI(when), PT(state)},
               .n = 3,
               .what = "key history"},
          },
      .n_steps = 2,
      .audit = audit,
  };

  return run_write((SqliteStore *)store, &op, error);
}
static GPtrArray *
sq_key_list(ApiStore *store, const char *signer_id, GError **error)
{
  SqliteStore *s = (SqliteStore *)store;
  G_GNUC_UNUSED g_autoptr(GMutexLocker) l = g_mutex_locker_new(&s->lock);
  g_autoptr(CachedStmt) st = cached(
      s,
      "SELECT id, signer_id, pkcs11_uri, cert_pem, state, not_before, not_after, created, updated"
      " FROM keys WHERE ?1 IS NULL OR signer_id = ?1 ORDER BY created, id",
      error);
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)api_key_free);
  int rc;

  if (st == NULL)
    return NULL;
  bind_text(st, 1, signer_id);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    ApiKey *k = g_new0(ApiKey, 1);
    k->id = col_text(st, 0);
    k->signer_id = col_text(st, 1);
    k->pkcs11_uri = col_text(st, 2);
    k->cert_pem = col_text(st, 3);
    k->state = col_text(st, 4);
    k->not_before = sqlite3_column_int64(st, 5);
    k->not_after = sqlite3_column_int64(st, 6);
    k->created = sqlite3_column_int64(st, 7);
    k->updated = sqlite3_column_int64(st, 8);
    g_ptr_array_add(out, k);
  }
  if (rc != SQLITE_DONE) {
    set_db_error(error, s->db, "list keys");
    return NULL;
  }
  return g_steal_pointer(&out);
}

static gboolean
sq_document_insert(ApiStore *store, const ApiDocument *d, ApiAuditEntry *audit, GError **error)
{
  WriteOp op = {
      .steps = {{.sql = "INSERT INTO documents (id, signer_id, key_id, signed_at, sha256, status,"
                        " idempotency_key, request_hash) VALUES (?,?,?,?,?,'valid',?,?)",
                 .p = {PT(d->id), PT(d->signer_id), PT(d->key_id), PI(d->signed_at), PT(d->sha256),
                       PT(d->idempotency_key), PT(d->request_hash)},
                 .n = 7,
                 .what = "record document"}},
      .n_steps = 1,
      .audit = audit,
  };

  return run_write((SqliteStore *)store, &op, error);
}
#define DOC_COLS                                                                                   \
  "id, signer_id, key_id, signed_at, sha256, status, withdraw_reason, withdrawn_at,"               \
  " idempotency_key, request_hash"

static ApiDocument *
doc_query(SqliteStore *s, sqlite3_stmt *st, GError **error)
{
  ApiDocument *d;
  int rc = sqlite3_step(st);

  if (rc == SQLITE_DONE) {
    g_set_error_literal(error, API_ERROR, API_ERROR_NOT_FOUND, "no such document");
    return NULL;
  }
  if (rc != SQLITE_ROW) {
    set_db_error(error, s->db, "read document");
    return NULL;
  }
  d = g_new0(ApiDocument, 1);
  d->id = col_text(st, 0);
  d->signer_id = col_text(st, 1);
  d->key_id = col_text(st, 2);
  d->signed_at = sqlite3_column_int64(st, 3);
  d->sha256 = col_text(st, 4);
  d->status = col_text(st, 5);
  d->withdraw_reason = col_text(st, 6);
  d->withdrawn_at = sqlite3_column_int64(st, 7);
  d->idempotency_key = col_text(st, 8);
  d->request_hash = col_text(st, 9);
  return d;
}

static ApiDocument *
sq_document_get(ApiStore *store, const char *id, GError **error)
{
  SqliteStore *s = (SqliteStore *)store;
  G_GNUC_UNUSED g_autoptr(GMutexLocker) l = g_mutex_locker_new(&s->lock);
  g_autoptr(CachedStmt) st = cached(s, "SELECT " DOC_COLS " FROM documents WHERE id = ?", error);

  if (st == NULL)
    return NULL;
  bind_text(st, 1, id);
  return doc_query(s, st, error);
}

static ApiDocument *
sq_document_find_idempotent(ApiStore *store, const char *signer_id, const char *key, GError **error)
{
  SqliteStore *s = (SqliteStore *)store;
  G_GNUC_UNUSED g_autoptr(GMutexLocker) l = g_mutex_locker_new(&s->lock);
  g_autoptr(CachedStmt) st = cached(
      s, "SELECT " DOC_COLS " FROM documents WHERE signer_id = ? AND idempotency_key = ?", error);

  if (st == NULL)
    return NULL;
  bind_text(st, 1, signer_id);
  bind_text(st, 2, key);
  return doc_query(s, st, error);
}

static ApiDocument *
sq_document_find_by_sha256(ApiStore *store, const char *sha256_hex, GError **error)
{
  SqliteStore *s = (SqliteStore *)store;
  G_GNUC_UNUSED g_autoptr(GMutexLocker) l = g_mutex_locker_new(&s->lock);
  g_autoptr(CachedStmt) st = cached(
      s, "SELECT " DOC_COLS " FROM documents WHERE sha256 = ? ORDER BY signed_at DESC LIMIT 1",
      error);

  if (st == NULL)
    return NULL;
  bind_text(st, 1, sha256_hex);
  return doc_query(s, st, error);
}

/* Inside the transaction: the document exists and is still valid. */
static gboolean
check_withdrawable(SqliteStore *s, WriteOp *op, GError **error)
{
  g_autoptr(CachedStmt) st = cached(s, "SELECT status FROM documents WHERE id = ?", error);
  int rc;

  if (st == NULL)
    return FALSE;
  bind_text(st, 1, op->check_id);
  rc = sqlite3_step(st);
  if (rc == SQLITE_DONE) {
    g_set_error_literal(error, API_ERROR, API_ERROR_NOT_FOUND, "no such document");
    return FALSE;
  }
  if (rc != SQLITE_ROW) {
    set_db_error(error, s->db, "read document");
    return FALSE;
  }
  if (g_strcmp0((const char *)sqlite3_column_text(st, 0), "valid") != 0) {
    g_set_error_literal(error, API_ERROR, API_ERROR_CONFLICT, "document is already withdrawn");
    return FALSE;
  }
  return TRUE;
}

static gboolean
sq_document_withdraw(ApiStore *store, const char *id, const char *reason, gint64 when,
                     ApiAuditEntry *audit, GError **error)
{
  WriteOp op = {
      .check = check_withdrawable,
      .check_id = id,
      .steps = {{.sql = "UPDATE documents SET status = 'withdrawn', withdraw_reason = ?,"
                        " withdrawn_at = ? WHERE id = ? AND status = 'valid'",
                 .p = {PT(reason), PI(when), PT(id)},
                 .n = 3,
                 .what = "withdraw document",
                 .not_found = "no such document"}},
      .n_steps = 1,
      .audit = audit,
  };

  return run_write((SqliteStore *)store, &op, error);
}
static gboolean
sq_audit_append(ApiStore *store, ApiAuditEntry *entry, GError **error)
{
  WriteOp op = {.audit = entry};

  return run_write((SqliteStore *)store, &op, error);
}
static GPtrArray *
sq_audit_list(ApiStore *store, const ApiAuditFilter *f, GError **error)
{
  SqliteStore *s = (SqliteStore *)store;
  G_GNUC_UNUSED g_autoptr(GMutexLocker) l = g_mutex_locker_new(&s->lock);
  g_autoptr(CachedStmt) st = cached(
      s,
      "SELECT id, time, actor, action, subject, details, prev_hash, hash FROM audit"
      " WHERE id > ?1 AND time >= ?2 AND (?3 IS NULL OR action = ?3) AND (?4 IS NULL OR actor = ?4)"
      " ORDER BY id LIMIT ?5",
      error);
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)api_audit_entry_free);
  int rc;

  if (st == NULL)
    return NULL;
  sqlite3_bind_int64(st, 1, f->after_id);
  sqlite3_bind_int64(st, 2, f->since);
  bind_text(st, 3, f->action);
  bind_text(st, 4, f->actor);
  sqlite3_bind_int64(st, 5, f->limit ? f->limit : API_STORE_AUDIT_PAGE);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    ApiAuditEntry *e = g_new0(ApiAuditEntry, 1);
    e->id = sqlite3_column_int64(st, 0);
    e->time = sqlite3_column_int64(st, 1);
    e->actor = col_text(st, 2);
    e->action = col_text(st, 3);
    e->subject = col_text(st, 4);
    e->details = col_text(st, 5);
    e->prev_hash = col_text(st, 6);
    e->hash = col_text(st, 7);
    g_ptr_array_add(out, e);
  }
  if (rc != SQLITE_DONE) {
    set_db_error(error, s->db, "read audit log");
    return NULL;
  }
  return g_steal_pointer(&out);
}

/* ---- keys: certificate and activation (schema 3) ------------------------------------ */

static gboolean
sq_key_set_cert(ApiStore *store, const char *id, const char *cert_pem, gint64 not_before,
                gint64 not_after, gint64 when, ApiAuditEntry *audit, GError **error)
{
  WriteOp op = {
      .steps = {{.sql = "UPDATE keys SET cert_pem = ?, not_before = ?, not_after = ?, updated = ?"
                        " WHERE id = ? AND state = 'generated'",
                 .p = {PT(cert_pem), PI(not_before), PI(not_after), PI(when), PT(id)},
                 .n = 5,
                 .what = "store key certificate",
                 .not_found = "no key in state 'generated' with this id"}},
      .n_steps = 1,
      .audit = audit,
  };

  return run_write((SqliteStore *)store, &op, error);
}

/* Inside the transaction: the key is 'generated' and has its certificate. */
static gboolean
check_activatable(SqliteStore *s, WriteOp *op, GError **error)
{
  g_autoptr(CachedStmt) st =
      cached(s, "SELECT state, cert_pem IS NOT NULL FROM keys WHERE id = ?", error);
  int rc;

  if (st == NULL)
    return FALSE;
  bind_text(st, 1, op->check_id);
  rc = sqlite3_step(st);
  if (rc == SQLITE_DONE) {
    g_set_error_literal(error, API_ERROR, API_ERROR_NOT_FOUND, "no such key");
    return FALSE;
  }
  if (rc != SQLITE_ROW) {
    set_db_error(error, s->db, "read key");
    return FALSE;
  }
  if (g_strcmp0((const char *)sqlite3_column_text(st, 0), "generated") != 0) {
    g_set_error(error, API_ERROR, API_ERROR_CONFLICT,
                "only a key in state 'generated' can be activated (this one is '%s')",
                (const char *)sqlite3_column_text(st, 0));
    return FALSE;
  }
  if (sqlite3_column_int(st, 1) == 0) {
    g_set_error_literal(error, API_ERROR, API_ERROR_CONFLICT,
                        "import the key's certificate before activating it");
    return FALSE;
  }
  return TRUE;
}

static gboolean
sq_key_activate(ApiStore *store, const char *id, gint64 when, ApiAuditEntry *audit, GError **error)
{
  /* Retire the signer's active key and activate @id in one transaction, so that there
   * is never a moment with two active keys (or none, for a rotation). */
  WriteOp op = {
      .check = check_activatable,
      .check_id = id,
      .steps =
          {
              {.sql = "INSERT INTO key_history (key_id, time, state) SELECT id, ?, 'retired'"
                      " FROM keys WHERE state = 'active' AND id <> ?2 AND signer_id ="
                      " (SELECT signer_id FROM keys WHERE id = ?2)",
               .p = {PI(when), PT(id)},
               .n = 2,
               .what = "key history"},
              {.sql = "UPDATE keys SET state = 'retired', updated = ? WHERE state = 'active'"
                      " AND id <> ?2 AND signer_id = (SELECT signer_id FROM keys WHERE id = ?2)",
               .p = {PI(when), PT(id)},
               .n = 2,
               .what = "retire previous key"},
              {.sql = "UPDATE keys SET state = 'active', updated = ? WHERE id = ?"
                      " AND state = 'generated'",
               .p = {PI(when), PT(id)},
               .n = 2,
               .what = "activate key",
               .not_found = "no such key"},
              {.sql = "INSERT INTO key_history (key_id, time, state) VALUES (?,?,'active')",
               .p = {PT(id), PI(when)},
               .n = 2,
               .what = "key history"},
          },
      .n_steps = 4,
      .audit = audit,
  };

  return run_write((SqliteStore *)store, &op, error);
}

/* ---- idempotent replays (schema 3) -------------------------------------------------- */

static gboolean
sq_replay_put(ApiStore *store, const char *signer_id, const char *idempotency_key,
              const char *sha256, GBytes *body, gint64 now, gint64 max_age_us, guint64 max_total,
              GError **error)
{
  gsize len = 0;
  const void *data = g_bytes_get_data(body, &len);
  WriteOp op = {
      .steps =
          {
              {.sql = "DELETE FROM replay WHERE created < ?",
               .p = {PI(now - max_age_us)},
               .n = 1,
               .what = "expire replays"},
              {.sql = "INSERT OR REPLACE INTO replay (signer_id, idempotency_key, sha256, created,"
                      " body) VALUES (?,?,?,?,?)",
               .p = {PT(signer_id), PT(idempotency_key), PT(sha256), PI(now), PB(data, (int)len)},
               .n = 5,
               .what = "keep replay"},
              /* Newest first: drop whatever lies beyond the total-size budget. */
              {.sql = "DELETE FROM replay WHERE rowid IN (SELECT r FROM (SELECT rowid AS r,"
                      " SUM(length(body)) OVER (ORDER BY created DESC, rowid DESC) AS run"
                      " FROM replay) WHERE run > ?)",
               .p = {PI((gint64)MIN(max_total, (guint64)G_MAXINT64))},
               .n = 1,
               .what = "bound replays"},
          },
      .n_steps = 3,
  };

  if (len > (gsize)G_MAXINT) {
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_LIMIT, "document too large to keep");
    return FALSE;
  }
  return run_write((SqliteStore *)store, &op, error);
}

static GBytes *
sq_replay_get(ApiStore *store, const char *signer_id, const char *idempotency_key,
              const char *sha256, GError **error)
{
  SqliteStore *s = (SqliteStore *)store;
  G_GNUC_UNUSED g_autoptr(GMutexLocker) l = g_mutex_locker_new(&s->lock);
  g_autoptr(CachedStmt) st = cached(
      s, "SELECT body FROM replay WHERE signer_id = ? AND idempotency_key = ? AND sha256 = ?",
      error);
  int rc;

  if (st == NULL)
    return NULL;
  bind_text(st, 1, signer_id);
  bind_text(st, 2, idempotency_key);
  bind_text(st, 3, sha256);
  rc = sqlite3_step(st);
  if (rc == SQLITE_DONE) {
    g_set_error_literal(error, API_ERROR, API_ERROR_NOT_FOUND, "no kept copy");
    return NULL;
  }
  if (rc != SQLITE_ROW) {
    set_db_error(error, s->db, "read replay");
    return NULL;
  }
  return g_bytes_new(sqlite3_column_blob(st, 0), (gsize)sqlite3_column_bytes(st, 0));
}

static const ApiStoreOps sqlite_ops = {
    .name = "sqlite",
    .close = sq_close,
    .schema_version = sq_schema_version,
    .check_writable = sq_check_writable,
    .signer_insert = sq_signer_insert,
    .signer_get = sq_signer_get,
    .signer_list = sq_signer_list,
    .signer_set_state = sq_signer_set_state,
    .token_insert = sq_token_insert,
    .token_find_by_hash = sq_token_find_by_hash,
    .token_revoke = sq_token_revoke,
    .key_insert = sq_key_insert,
    .key_set_state = sq_key_set_state,
    .key_list = sq_key_list,
    .document_insert = sq_document_insert,
    .document_get = sq_document_get,
    .document_find_idempotent = sq_document_find_idempotent,
    .document_find_by_sha256 = sq_document_find_by_sha256,
    .document_withdraw = sq_document_withdraw,
    .audit_append = sq_audit_append,
    .audit_list = sq_audit_list,
    .key_set_cert = sq_key_set_cert,
    .key_activate = sq_key_activate,
    .replay_put = sq_replay_put,
    .replay_get = sq_replay_get,
};

/* ---- open and migrate --------------------------------------------------------------- */

static gboolean
migrate(sqlite3 *db, int target, GError **error)
{
  int v = get_user_version(db);

  if (v < 0) {
    set_db_error(error, db, "read schema version");
    return FALSE;
  }
  if (v > API_STORE_SCHEMA_VERSION) {
    g_set_error(error, API_ERROR, API_ERROR_SCHEMA,
                "database schema version %d is newer than this program's (%d): upgrade tte", v,
                API_STORE_SCHEMA_VERSION);
    return FALSE;
  }
  for (; v < target; v++) {
    g_autofree char *bump = g_strdup_printf("PRAGMA user_version = %d", v + 1);

    /* Each step and its version bump commit together: a crash leaves a consistent
     * earlier version that the next start continues from. */
    if (!exec_sql(db, "BEGIN IMMEDIATE", error))
      return FALSE;
    if (!exec_sql(db, migrations[v], error) || !exec_sql(db, bump, error)) {
      sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
      g_prefix_error(error, "migration to schema version %d: ", v + 1);
      return FALSE;
    }
    if (!exec_sql(db, "COMMIT", error))
      return FALSE;
  }
  return TRUE;
}

static ApiStore *
open_full(const char *path, guint busy_ms, int target, gboolean readonly, GError **error)
{
  sqlite3 *db = NULL;
  SqliteStore *s;
  gboolean existed = g_file_test(path, G_FILE_TEST_EXISTS);
  int flags = SQLITE_OPEN_NOMUTEX |
              (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);

  if (target < 1 || target > API_STORE_SCHEMA_VERSION) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT, "schema version %d unknown", target);
    return NULL;
  }
  if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
    g_set_error(error, API_ERROR, API_ERROR_STORAGE, "database %s: %s", path,
                db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close_v2(db);
    return NULL;
  }
  /* The file holds token hashes and the audit log: keep it to the service user. */
  if (!existed && !readonly)
    (void)g_chmod(path, 0600);
  sqlite3_busy_timeout(db, (int)MIN(busy_ms, (guint)G_MAXINT));
  sqlite3_extended_result_codes(db, 1);
  if (!readonly) {
    g_autoptr(sqlite3_stmt) st = NULL;
    const unsigned char *mode = NULL;

    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW || (mode = sqlite3_column_text(st, 0)) == NULL ||
        g_ascii_strcasecmp((const char *)mode, "wal") != 0) {
      g_set_error(error, API_ERROR, API_ERROR_STORAGE, "database %s: cannot enable WAL mode: %s",
                  path, sqlite3_errmsg(db));
      g_clear_pointer(&st, sqlite3_finalize);
      sqlite3_close_v2(db);
      return NULL;
    }
  }
  /* FULL: in WAL mode this fsyncs the WAL at every commit, so an audit entry or a
   * document record survives power loss once the call returns. */
  if (!exec_sql(db, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;", error) ||
      (!readonly && !migrate(db, target, error))) {
    g_prefix_error(error, "%s: ", path);
    sqlite3_close_v2(db);
    return NULL;
  }
  if (readonly && get_user_version(db) > API_STORE_SCHEMA_VERSION) {
    g_set_error(error, API_ERROR, API_ERROR_SCHEMA,
                "%s: database schema is newer than this program", path);
    sqlite3_close_v2(db);
    return NULL;
  }
  s = g_new0(SqliteStore, 1);
  s->parent.ops = &sqlite_ops;
  s->db = db;
  s->readonly = readonly;
  g_mutex_init(&s->lock);
  s->stmts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, stmt_finalize);
  g_mutex_init(&s->qlock);
  g_cond_init(&s->qcond);
  s->queue = g_ptr_array_new();
  return &s->parent;
}

ApiStore *
api_store_open_sqlite(const char *path, guint busy_timeout_ms, GError **error)
{
  return open_full(path, busy_timeout_ms, API_STORE_SCHEMA_VERSION, FALSE, error);
}

ApiStore *
api_store_open_sqlite_at(const char *path, guint busy_timeout_ms, int target_version,
                         GError **error)
{
  return open_full(path, busy_timeout_ms, target_version, FALSE, error);
}

ApiStore *
api_store_open_sqlite_readonly(const char *path, GError **error)
{
  if (!g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_IO, "%s: no such database file", path);
    return NULL;
  }
  return open_full(path, 5000, API_STORE_SCHEMA_VERSION, TRUE, error);
}
