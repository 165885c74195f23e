/* config.h — the service configuration (INI file read with GKeyFile).
 *
 * Every key, its default and its ceiling are documented in docs/config.md and
 * api/tte.conf.example; keep the three in step.  Limits may be lowered but never
 * raised beyond the compile-time ceilings in common/tte-limits.h.
 */
#pragma once

#include <glib.h>

#include "tte-secret.h"

G_BEGIN_DECLS

/* An organisation's electronic seal ([seal.NAME]): a key on a token whose PIN the
 * service holds, used only by POST /api/v1/seal with a token issued for the seal. */
typedef struct {
  char *name;         /* NAME of the group: [a-z0-9-]{1,32} */
  char *uri;          /* PKCS#11 URI of the key */
  char *pin_file;     /* where the PIN was read from (the PIN itself: @pin) */
  TteSecret *pin;     /* read at load time, locked memory, never logged */
  char *certificate;  /* PEM file: the seal certificate, then its issuers; NULL = the token's */
  char *display_name; /* the stamp's name line (the agency) */
  char *title;        /* the stamp's title line; NULL = none */
  char *organization; /* NULL = none */
} ApiSealConfig;

typedef struct {
  /* [server] */
  char *listen_host;       /* "127.0.0.1" */
  guint16 listen_port;     /* 8080; 0 = any free port (tests) */
  guint threads;           /* 0 = number of CPUs */
  guint64 body_max;        /* bytes; <= TTE_LIMIT_HTTP_BODY_MAX */
  guint64 spool_threshold; /* bodies above this go to an unlinked temporary file */
  char *spool_dir;         /* NULL = g_get_tmp_dir() */
  guint max_connections;
  guint per_ip_connections;
  guint timeout_s;
  gsize connection_memory; /* bytes of MHD per-connection memory pool */
  guint shutdown_grace_s;  /* wait this long for in-flight requests on SIGTERM */
  char *tls_cert;          /* PEM files; both or neither */
  char *tls_key;

  /* [database] */
  char *db_path;
  guint busy_timeout_ms;

  /* [pkcs11] */
  char *pkcs11_module;
  char **pkcs11_allowed; /* NULL-terminated; empty = only pkcs11_module */

  /* [verify] */
  char **trust_roots; /* PEM files */
  char **intermediates;
  char *base_url; /* public base URL; QR codes point at base_url + "/v/" + id */
  char **crls;    /* CRL files (PEM or DER) given to the verifier */

  /* [sign] */
  guint replay_max_age_s;   /* keep signed bytes for Idempotency-Key replays this long */
  guint64 replay_max_bytes; /* total bytes kept for replays */
  guint key_idle_timeout_s; /* open keys unused this long are closed; 0 = never kept open */

  /* [general] */
  char *time_zone; /* IANA name for human-facing times */

  /* [seal.NAME] groups, in file order */
  GPtrArray *seals; /* ApiSealConfig*, never NULL */
} ApiConfig;

/* The seal called @name, or NULL. */
const ApiSealConfig *api_config_find_seal(const ApiConfig *cfg, const char *name);

/* Defaults for every key (see docs/config.md).  Never fails. */
ApiConfig *api_config_new_default(void);

/* Load @path over the defaults.  Unknown groups or keys are errors (a typo must not
 * silently leave a default in force), as are values out of range.  Caller owns the
 * result. */
ApiConfig *api_config_load(const char *path, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Parse "HOST:PORT", "[V6]:PORT" or ":PORT" into @cfg's listen fields. */
gboolean api_config_set_listen(ApiConfig *cfg, const char *addr,
                               GError **error) G_GNUC_WARN_UNUSED_RESULT;

void api_config_free(ApiConfig *cfg);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ApiConfig, api_config_free)

G_END_DECLS
