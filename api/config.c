/* config.c — GKeyFile-backed service configuration. */
#include "config.h"

#include "tte-config.h"
#include "tte-error.h"
#include "tte-limits.h"

#include <stddef.h>
#include <string.h>
#include <glib/gstdio.h>
#include <sys/stat.h>

typedef enum { K_STRING, K_UINT, K_U64, K_LIST, K_LISTEN } KeyType;

typedef struct {
  const char *group;
  const char *key;
  KeyType type;
  gsize offset;
  guint64 min, max;
} KeyDesc;

#define OFF(f) offsetof(ApiConfig, f)

/* The one list of accepted keys; docs/config.md documents the same list. */
static const KeyDesc keys[] = {
    {"server", "listen", K_LISTEN, 0, 0, 0},
    {"server", "threads", K_UINT, OFF(threads), 0, 256},
    {"server", "body_max", K_U64, OFF(body_max), 1024, TTE_LIMIT_HTTP_BODY_MAX},
    {"server", "spool_threshold", K_U64, OFF(spool_threshold), 0, TTE_LIMIT_HTTP_BODY_MAX},
    {"server", "spool_dir", K_STRING, OFF(spool_dir), 0, 0},
    {"server", "max_connections", K_UINT, OFF(max_connections), 1, TTE_LIMIT_HTTP_MAX_CONNECTIONS},
    {"server", "per_ip_connections", K_UINT, OFF(per_ip_connections), 1, TTE_LIMIT_HTTP_PER_IP},
    {"server", "timeout", K_UINT, OFF(timeout_s), 1, TTE_LIMIT_HTTP_TIMEOUT_S},
    {"server", "connection_memory", K_U64, OFF(connection_memory), 16 * 1024, 1024 * 1024},
    {"server", "shutdown_grace", K_UINT, OFF(shutdown_grace_s), 0, 600},
    {"server", "tls_cert", K_STRING, OFF(tls_cert), 0, 0},
    {"server", "tls_key", K_STRING, OFF(tls_key), 0, 0},
    {"database", "path", K_STRING, OFF(db_path), 0, 0},
    {"database", "busy_timeout_ms", K_UINT, OFF(busy_timeout_ms), 0, 600000},
    {"pkcs11", "module", K_STRING, OFF(pkcs11_module), 0, 0},
    {"pkcs11", "allowed_modules", K_LIST, OFF(pkcs11_allowed), 0, TTE_LIMIT_MODULE_ALLOWLIST_MAX},
    {"verify", "trust_roots", K_LIST, OFF(trust_roots), 0, TTE_LIMIT_CHAIN_MAX_CERTS},
    {"verify", "intermediates", K_LIST, OFF(intermediates), 0, TTE_LIMIT_CHAIN_MAX_CERTS},
    {"verify", "base_url", K_STRING, OFF(base_url), 0, 0},
    {"verify", "crls", K_LIST, OFF(crls), 0, TTE_LIMIT_CHAIN_MAX_CERTS},
    {"sign", "replay_max_age", K_UINT, OFF(replay_max_age_s), 0, 7 * 24 * 3600},
    {"sign", "replay_max_bytes", K_U64, OFF(replay_max_bytes), 0, G_GUINT64_CONSTANT(1) << 34},
    {"sign", "key_idle_timeout", K_UINT, OFF(key_idle_timeout_s), 0, 86400},
    {"general", "time_zone", K_STRING, OFF(time_zone), 0, 0},
};

static void
seal_config_free(gpointer p)
{
  ApiSealConfig *s = p;

  g_free(s->name);
  g_free(s->uri);
  g_free(s->pin_file);
  tte_secret_free(s->pin);
  g_free(s->certificate);
  g_free(s->display_name);
  g_free(s->title);
  g_free(s->organization);
  g_free(s);
}

const ApiSealConfig *
api_config_find_seal(const ApiConfig *cfg, const char *name)
{
  for (guint i = 0; name != NULL && i < cfg->seals->len; i++) {
    const ApiSealConfig *s = g_ptr_array_index(cfg->seals, i);
    if (strcmp(s->name, name) == 0)
      return s;
  }
  return NULL;
}

#define API_SEALS_MAX 64u
#define API_SEAL_NAME_MAX 32u

/* The seal's PIN file: a regular file not readable or writable by others (it is a
 * secret the service holds), read into locked memory. */
static TteSecret *
read_seal_pin(const char *path, GError **error)
{
  struct stat st;

  if (g_stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_PIN_INVALID, "pin_file %s is not a readable file",
                path);
    return NULL;
  }
  if ((st.st_mode & (S_IROTH | S_IWOTH)) != 0) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_PIN_INVALID,
                "pin_file %s is readable or writable by others (chmod o-rw)", path);
    return NULL;
  }
  return tte_secret_new_from_file(path, error);
}

/* [seal.NAME] */
static gboolean
load_seal(ApiConfig *c, GKeyFile *kf, const char *group, GError **error)
{
  static const char *const known[] = {"uri",  "pin_file", "certificate",
                                      "name", "title",    "organization"};
  const char *name = group + strlen("seal.");
  g_autoptr(GPtrArray) tmp = g_ptr_array_new_with_free_func(seal_config_free);
  g_auto(GStrv) names = g_key_file_get_keys(kf, group, NULL, NULL);
  ApiSealConfig *s;
  gsize n = strlen(name);

  if (n == 0 || n > API_SEAL_NAME_MAX ||
      strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-") != n) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                "[%s]: the seal name must be 1-%u characters of a-z, 0-9 and -", group,
                API_SEAL_NAME_MAX);
    return FALSE;
  }
  if (c->seals->len >= API_SEALS_MAX) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT, "more than %u seals", API_SEALS_MAX);
    return FALSE;
  }
  for (gsize k = 0; names != NULL && names[k] != NULL; k++) {
    gboolean ok = FALSE;
    for (gsize i = 0; i < G_N_ELEMENTS(known); i++)
      ok = ok || strcmp(names[k], known[i]) == 0;
    if (!ok) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT, "unknown key [%s] %s", group,
                  names[k]);
      return FALSE;
    }
  }
  s = g_new0(ApiSealConfig, 1);
  g_ptr_array_add(tmp, s);
  s->name = g_strdup(name);
#define SEAL_STR(field, key)                                                                       \
  do {                                                                                             \
    g_autofree char *v_ = g_key_file_get_string(kf, group, key, NULL);                             \
    s->field = (v_ != NULL && *v_ != '\0') ? g_strdup(v_) : NULL;                                  \
  } while (0)
  SEAL_STR(uri, "uri");
  SEAL_STR(pin_file, "pin_file");
  SEAL_STR(certificate, "certificate");
  SEAL_STR(display_name, "name");
  SEAL_STR(title, "title");
  SEAL_STR(organization, "organization");
#undef SEAL_STR
  if (s->uri == NULL || s->pin_file == NULL || s->display_name == NULL) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT, "[%s] needs uri, pin_file and name",
                group);
    return FALSE;
  }
  if (api_config_find_seal(c, s->name) != NULL) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT, "[%s] appears twice", group);
    return FALSE;
  }
  s->pin = read_seal_pin(s->pin_file, error);
  if (s->pin == NULL) {
    g_prefix_error(error, "[%s]: ", group);
    return FALSE;
  }
  g_ptr_array_add(c->seals, g_ptr_array_steal_index(tmp, 0));
  return TRUE;
}

ApiConfig *
api_config_new_default(void)
{
  ApiConfig *c = g_new0(ApiConfig, 1);

  c->listen_host = g_strdup("127.0.0.1");
  c->listen_port = 8080;
  c->threads = 0;
  c->body_max = TTE_LIMIT_HTTP_BODY_MAX;
  c->spool_threshold = 1024 * 1024;
  c->max_connections = TTE_LIMIT_HTTP_MAX_CONNECTIONS;
  c->per_ip_connections = TTE_LIMIT_HTTP_PER_IP;
  c->timeout_s = TTE_LIMIT_HTTP_TIMEOUT_S;
  c->connection_memory = 64 * 1024;
  c->shutdown_grace_s = 30;
  c->db_path = g_strdup("/var/lib/tte/tte.db");
  c->busy_timeout_ms = 5000;
  c->pkcs11_module = g_strdup(TTE_DEFAULT_PKCS11_MODULE);
  c->pkcs11_allowed = g_new0(char *, 1);
  c->trust_roots = g_new0(char *, 1);
  c->intermediates = g_new0(char *, 1);
  c->base_url = g_strdup("http://localhost:8080");
  c->crls = g_new0(char *, 1);
  c->replay_max_age_s = 24 * 3600;
  c->replay_max_bytes = G_GUINT64_CONSTANT(256) << 20;
  c->key_idle_timeout_s = 900;
  c->time_zone = g_strdup("Asia/Jakarta");
  c->seals = g_ptr_array_new_with_free_func(seal_config_free);
  return c;
}

void
api_config_free(ApiConfig *c)
{
  if (c == NULL)
    return;
  g_free(c->listen_host);
  g_free(c->spool_dir);
  g_free(c->tls_cert);
  g_free(c->tls_key);
  g_free(c->db_path);
  g_free(c->pkcs11_module);
  g_strfreev(c->pkcs11_allowed);
  g_strfreev(c->trust_roots);
  g_strfreev(c->intermediates);
  g_free(c->base_url);
  g_strfreev(c->crls);
  g_free(c->time_zone);
  g_ptr_array_unref(c->seals);
  g_free(c);
}

gboolean
api_config_set_listen(ApiConfig *cfg, const char *addr, GError **error)
{
  const char *colon;
  g_autofree char *host = NULL;
  guint64 port = 0;

  if (addr == NULL || *addr == '\0')
    goto bad;
  if (addr[0] == '[') {
    const char *end = strchr(addr, ']');
    if (end == NULL || end[1] != ':')
      goto bad;
    host = g_strndup(addr + 1, (gsize)(end - addr - 1));
    colon = end + 1;
  } else {
    colon = strrchr(addr, ':');
    if (colon == NULL)
      goto bad;
    host = g_strndup(addr, (gsize)(colon - addr));
  }
  if (!g_ascii_string_to_unsigned(colon + 1, 10, 0, 65535, &port, NULL))
    goto bad;
  g_free(cfg->listen_host);
  cfg->listen_host = *host ? g_steal_pointer(&host) : g_strdup("0.0.0.0");
  cfg->listen_port = (guint16)port;
  return TRUE;
bad:
  g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
              "listen address '%s' is not HOST:PORT (e.g. 127.0.0.1:8080 or [::1]:8080)",
              addr ? addr : "");
  return FALSE;
}

static const KeyDesc *
find_key(const char *group, const char *key)
{
  for (gsize i = 0; i < G_N_ELEMENTS(keys); i++)
    if (strcmp(keys[i].group, group) == 0 && strcmp(keys[i].key, key) == 0)
      return &keys[i];
  return NULL;
}

static gboolean
apply_key(ApiConfig *c, GKeyFile *kf, const KeyDesc *d, GError **error)
{
  char *base = (char *)c;
  g_autofree char *value = g_key_file_get_string(kf, d->group, d->key, error);

  if (value == NULL)
    return FALSE;
  switch (d->type) {
  case K_LISTEN:
    return api_config_set_listen(c, value, error);
  case K_STRING: {
    char **field = (char **)(base + d->offset);
    g_free(*field);
    /* An empty value means "unset" (e.g. no TLS). */
    *field = *value ? g_steal_pointer(&value) : NULL;
    return TRUE;
  }
  case K_UINT:
  case K_U64: {
    guint64 v;
    g_autoptr(GError) local = NULL;

    if (!g_ascii_string_to_unsigned(value, 10, d->min, d->max, &v, &local)) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                  "%s (allowed %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT ")", local->message,
                  d->min, d->max);
      return FALSE;
    }
    if (d->type == K_UINT)
      *(guint *)(base + d->offset) = (guint)v;
    else if (d->offset == OFF(connection_memory))
      *(gsize *)(base + d->offset) = (gsize)v;
    else
      *(guint64 *)(base + d->offset) = v;
    return TRUE;
  }
  case K_LIST: {
    char ***field = (char ***)(base + d->offset);
    gsize n = 0;
    char **list = g_key_file_get_string_list(kf, d->group, d->key, &n, error);

    if (list == NULL)
      return FALSE;
    if (n > d->max) {
      g_strfreev(list);
      g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT, "more than %" G_GUINT64_FORMAT " entries",
                  d->max);
      return FALSE;
    }
    g_strfreev(*field);
    *field = list;
    return TRUE;
  }
  }
  return FALSE;
}

ApiConfig *
api_config_load(const char *path, GError **error)
{
  g_autoptr(GKeyFile) kf = g_key_file_new();
  g_autoptr(ApiConfig) c = api_config_new_default();
  g_auto(GStrv) groups = NULL;

  if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, error)) {
    g_prefix_error(error, "%s: ", path);
    return NULL;
  }
  groups = g_key_file_get_groups(kf, NULL);
  for (gsize g = 0; groups[g] != NULL; g++) {
    g_auto(GStrv) names = NULL;

    if (g_str_has_prefix(groups[g], "seal.")) {
      if (!load_seal(c, kf, groups[g], error)) {
        g_prefix_error(error, "%s: ", path);
        return NULL;
      }
      continue;
    }
    names = g_key_file_get_keys(kf, groups[g], NULL, NULL);

    for (gsize k = 0; names != NULL && names[k] != NULL; k++) {
      const KeyDesc *d = find_key(groups[g], names[k]);

      if (d == NULL) {
        g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT, "%s: unknown key [%s] %s", path,
                    groups[g], names[k]);
        return NULL;
      }
      if (!apply_key(c, kf, d, error)) {
        g_prefix_error(error, "%s: [%s] %s: ", path, groups[g], names[k]);
        return NULL;
      }
    }
  }
  if ((c->tls_cert == NULL) != (c->tls_key == NULL)) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                "%s: [server] tls_cert and tls_key must be set together", path);
    return NULL;
  }
  if (c->spool_threshold > c->body_max)
    c->spool_threshold = c->body_max;
  return g_steal_pointer(&c);
}
