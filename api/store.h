/* store.h — the service's persistent state behind one interface.
 *
 * An ApiStore is a vtable (ApiStoreOps) plus backend data.  The SQLite backend
 * (store-sqlite.c) is the embedded default; a PostgreSQL backend for several nodes
 * implements the same table.  Every function that changes state and must be audited
 * takes the audit entry to append and commits the change and the entry in ONE
 * transaction: when it returns TRUE both are durable (synchronous=FULL for SQLite).
 *
 * Times are microseconds since the Unix epoch (UTC).  Strings returned in records are
 * owned by the record; records are freed with their _free function (NULL allowed).
 * All functions are thread-safe.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Service-level failures that common/tte-error.h has no code for.  api/http.c maps
 * these and TTE_ERROR codes to HTTP statuses in one table. */
#define API_ERROR (api_error_quark())
GQuark api_error_quark(void);

typedef enum {
  API_ERROR_NOT_FOUND,    /* no such signer, token, key, document, route */
  API_ERROR_CONFLICT,     /* state forbids it (already withdrawn, revoked, duplicate) */
  API_ERROR_UNAUTHORIZED, /* no or unusable credentials */
  API_ERROR_FORBIDDEN,    /* authenticated, but the role may not do this */
  API_ERROR_BAD_REQUEST,  /* malformed JSON, missing field, bad parameter */
  API_ERROR_METHOD_NOT_ALLOWED,
  API_ERROR_PAYLOAD_TOO_LARGE,
  API_ERROR_UNAVAILABLE, /* not ready: database or token unreachable */
  API_ERROR_STORAGE,     /* the database failed */
  API_ERROR_SCHEMA,      /* database schema newer than this program */
} ApiErrorCode;

/* Stable upper-case name of an API_ERROR code ("NOT_FOUND", ...). */
const char *api_error_code_name(int code);

typedef enum {
  API_ROLE_PUBLIC = 0,
  API_ROLE_SIGNER = 1,
  API_ROLE_ADMIN = 2,
} ApiRole;

/* "public", "signer", "admin"; api_role_from_string returns FALSE for anything else. */
const char *api_role_to_string(ApiRole role);
gboolean api_role_from_string(const char *s, ApiRole *out);

typedef struct {
  char *id;
  char *identifier; /* NIK or e-mail, unique */
  char *name;
  char *title;        /* may be NULL */
  char *organization; /* OPD; may be NULL */
  char *state;        /* "active" | "disabled" */
  gint64 created;
} ApiSigner;

typedef struct {
  char *id;
  ApiRole role;    /* signer or admin */
  char *signer_id; /* set iff role == API_ROLE_SIGNER */
  char *label;     /* free text for the administrator; may be NULL */
  guint8 hash[32]; /* SHA-256 of the token text; the token itself is never stored */
  gint64 created;
  gint64 revoked; /* 0 while valid */
} ApiToken;

typedef struct {
  char *id;
  char *signer_id;
  char *pkcs11_uri;
  char *cert_pem;    /* may be NULL before the certificate is imported */
  char *state;       /* "generated" | "active" | "retired" | "destroyed" */
  gint64 not_before; /* 0 when unknown */
  gint64 not_after;
  gint64 created;
  gint64 updated;
} ApiKey;

typedef struct {
  char *id; /* random, URL-safe; public */
  char *signer_id;
  char *key_id; /* may be NULL */
  gint64 signed_at;
  char *sha256; /* lower-case hex of the signed file */
  char *status; /* "valid" | "withdrawn" */
  char *withdraw_reason;
  gint64 withdrawn_at;   /* 0 unless withdrawn */
  char *idempotency_key; /* may be NULL */
  char *request_hash;    /* may be NULL; hex SHA-256 of the request that made it */
} ApiDocument;

/* One audit-log entry.  The caller fills time/actor/action/subject/details; the store
 * assigns id, prev_hash and hash inside the appending transaction. */
typedef struct {
  gint64 id;
  gint64 time;
  char *actor;     /* "admin:<token id>", "signer:<signer id>", "cli", ... */
  char *action;    /* "signer.create", "token.revoke", "document.sign", ... */
  char *subject;   /* id of what was acted upon; may be "" */
  char *details;   /* canonical JSON object text (see audit.h) */
  char *prev_hash; /* 64 hex digits; all zeros for the first entry */
  char *hash;      /* 64 hex digits */
} ApiAuditEntry;

typedef struct {
  gint64 since;       /* entries with time >= since; 0 = no bound */
  const char *action; /* exact match or NULL */
  const char *actor;  /* exact match or NULL */
  gint64 after_id;    /* entries with id > after_id (paging) */
  guint limit;        /* at most this many (0 = API_STORE_AUDIT_PAGE) */
} ApiAuditFilter;

#define API_STORE_AUDIT_PAGE 1000u

typedef struct ApiStore ApiStore;

typedef struct {
  const char *name;
  void (*close)(ApiStore *store);
  int (*schema_version)(ApiStore *store);
  gboolean (*check_writable)(ApiStore *store, GError **error);

  gboolean (*signer_insert)(ApiStore *store, const ApiSigner *signer, ApiAuditEntry *audit,
                            GError **error);
  ApiSigner *(*signer_get)(ApiStore *store, const char *id, GError **error);
  GPtrArray *(*signer_list)(ApiStore *store, GError **error);
  gboolean (*signer_set_state)(ApiStore *store, const char *id, const char *state,
                               ApiAuditEntry *audit, GError **error);

  gboolean (*token_insert)(ApiStore *store, const ApiToken *token, ApiAuditEntry *audit,
                           GError **error);
  ApiToken *(*token_find_by_hash)(ApiStore *store, const guint8 hash[32], GError **error);
  gboolean (*token_revoke)(ApiStore *store, const char *id, gint64 when, ApiAuditEntry *audit,
                           GError **error);

  gboolean (*key_insert)(ApiStore *store, const ApiKey *key, ApiAuditEntry *audit, GError **error);
  gboolean (*key_set_state)(ApiStore *store, const char *id, const char *state, gint64 when,
                            ApiAuditEntry *audit, GError **error);
  GPtrArray *(*key_list)(ApiStore *store, const char *signer_id, GError **error);

  gboolean (*document_insert)(ApiStore *store, const ApiDocument *doc, ApiAuditEntry *audit,
                              GError **error);
  ApiDocument *(*document_get)(ApiStore *store, const char *id, GError **error);
  ApiDocument *(*document_find_idempotent)(ApiStore *store, const char *signer_id,
                                           const char *idempotency_key, GError **error);
  /* The newest document whose signed file has SHA-256 @sha256_hex (lower-case hex);
   * NULL with API_ERROR_NOT_FOUND when none. */
  ApiDocument *(*document_find_by_sha256)(ApiStore *store, const char *sha256_hex,
                                          GError **error);
  gboolean (*document_withdraw)(ApiStore *store, const char *id, const char *reason, gint64 when,
                                ApiAuditEntry *audit, GError **error);

  gboolean (*audit_append)(ApiStore *store, ApiAuditEntry *entry, GError **error);
  GPtrArray *(*audit_list)(ApiStore *store, const ApiAuditFilter *filter, GError **error);

  /* --- schema 3: key lifecycle and idempotent replays (api/routes-keys.c, routes-sign.c) */
  /* Store the issued certificate of a key still in state "generated" (NOT_FOUND
   * otherwise), with its validity, and @audit, in one transaction. */
  gboolean (*key_set_cert)(ApiStore *store, const char *id, const char *cert_pem, gint64 not_before,
                           gint64 not_after, gint64 when, ApiAuditEntry *audit, GError **error);
  /* Activate key @id (state "generated" with a certificate, else CONFLICT) and retire
   * the signer's previously active key, with @audit, in one transaction. */
  gboolean (*key_activate)(ApiStore *store, const char *id, gint64 when, ApiAuditEntry *audit,
                           GError **error);
  /* Keep the signed bytes @body of a request with @idempotency_key for replays; drops
   * copies older than @max_age_us and, newest first, whatever exceeds @max_total bytes. */
  gboolean (*replay_put)(ApiStore *store, const char *signer_id, const char *idempotency_key,
                         const char *sha256, GBytes *body, gint64 now, gint64 max_age_us,
                         guint64 max_total, GError **error);
  /* The kept bytes, or NULL with NOT_FOUND when expired or never kept. */
  GBytes *(*replay_get)(ApiStore *store, const char *signer_id, const char *idempotency_key,
                        const char *sha256, GError **error);
} ApiStoreOps;

struct ApiStore {
  const ApiStoreOps *ops;
};

/* Latest schema version this program knows (PRAGMA user_version for SQLite). */
#define API_STORE_SCHEMA_VERSION 3

/* Open (creating if needed) the SQLite database at @path, in WAL mode with
 * synchronous=FULL and a busy timeout of @busy_timeout_ms, and migrate it to
 * API_STORE_SCHEMA_VERSION.  Fails with API_ERROR_SCHEMA when the file's schema is
 * newer.  Caller owns the store (api_store_close). */
ApiStore *api_store_open_sqlite(const char *path, guint busy_timeout_ms,
                                GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Same, migrating only up to @target_version (1..API_STORE_SCHEMA_VERSION).  For
 * tests of the migrations and for tooling; the service always uses the latest. */
ApiStore *api_store_open_sqlite_at(const char *path, guint busy_timeout_ms, int target_version,
                                   GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Open an existing SQLite database read-only without migrating (offline audit checks:
 * `tte audit verify`).  Write operations fail with API_ERROR_STORAGE. */
ApiStore *api_store_open_sqlite_readonly(const char *path,
                                         GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Close and free; accepts NULL. */
void api_store_close(ApiStore *store);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ApiStore, api_store_close)

/* A new random URL-safe identifier: @prefix followed by 22 base64url characters
 * (128 bits from RAND_bytes).  Caller frees. */
char *api_store_new_id(const char *prefix, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Record destructors (accept NULL). */
void api_signer_free(ApiSigner *s);
void api_token_free(ApiToken *t);
void api_key_free(ApiKey *k);
void api_document_free(ApiDocument *d);
void api_audit_entry_free(ApiAuditEntry *e);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ApiSigner, api_signer_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ApiToken, api_token_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ApiKey, api_key_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ApiDocument, api_document_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ApiAuditEntry, api_audit_entry_free)

/* Convenience wrappers over store->ops (same contracts as the vtable entries). */
static inline gboolean G_GNUC_WARN_UNUSED_RESULT
api_store_audit_append(ApiStore *s, ApiAuditEntry *e, GError **error)
{
  return s->ops->audit_append(s, e, error);
}

G_END_DECLS
