/* cmd-serve.c — `tte serve`: run the service, or bootstrap its first credentials. */
#include "audit.h"
#include "auth.h"
#include "config.h"
#include "http.h"
#include "routes.h"
#ifdef TTE_HAVE_SERVICE
#include "routes-svc.h"
#endif
#include "store.h"
#include "tte-cli.h"
#include "tte-config.h"
#include "tte-error.h"
#ifdef TTE_HAVE_WEB
#include "web.h"
#endif

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Tell systemd (Type=notify) about our state.  The protocol is one datagram to the
 * socket in $NOTIFY_SOCKET ('@' = abstract namespace); writing it ourselves avoids
 * linking libsystemd.  Failures are ignored: notification is advisory. */
static void
notify_systemd(const char *state)
{
  const char *path = g_getenv("NOTIFY_SOCKET");
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  gsize len;
  int fd;

  if (path == NULL || (path[0] != '/' && path[0] != '@'))
    return;
  len = strlen(path);
  if (len >= sizeof sa.sun_path)
    return;
  memcpy(sa.sun_path, path, len);
  if (path[0] == '@')
    sa.sun_path[0] = '\0';
  fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return;
  if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
             (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len)) < 0)
    api_log("sd_notify: %s", g_strerror(errno));
  close(fd);
}

static int
bootstrap_admin(ApiStore *store, const char *label)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TteSecret) token = NULL;
  g_autofree char *id = NULL;

  if (!api_auth_issue_token(store, API_ROLE_ADMIN, NULL, label, "cli:bootstrap", &token, &id,
                            &error)) {
    tte_cli_print_error("bootstrap admin token", error);
    return TTE_EXIT_FAILURE;
  }
  fprintf(stderr, "tte: admin token %s issued; it is shown once, store it now\n", id);
  printf("%s\n", tte_secret_get(token));
  return TTE_EXIT_OK;
}

static int
bootstrap_signer(ApiStore *store, const char *identifier, const char *name, const char *title,
                 const char *org)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(ApiSigner) s = NULL;
  g_autoptr(TteSecret) token = NULL;
  g_autofree char *id = NULL;

  if (name == NULL) {
    fprintf(stderr, "tte: --bootstrap-signer needs --name\n");
    return TTE_EXIT_USAGE;
  }
  s = api_signer_create(store, identifier, name, title, org, "cli:bootstrap", &error);
  if (s == NULL) {
    tte_cli_print_error("bootstrap signer", error);
    return TTE_EXIT_FAILURE;
  }
  if (!api_auth_issue_token(store, API_ROLE_SIGNER, s->id, "bootstrap", "cli:bootstrap", &token,
                            &id, &error)) {
    tte_cli_print_error("bootstrap signer token", error);
    return TTE_EXIT_FAILURE;
  }
  fprintf(stderr, "tte: signer %s created with token %s; the token is shown once\n", s->id, id);
  printf("%s %s\n", s->id, tte_secret_get(token));
  return TTE_EXIT_OK;
}

/* glibc returns the free top of each thread's heap to the kernel (madvise) as soon as it
 * exceeds 128 KiB, and a signature allocates and frees a few such blocks (zlib's
 * window and hash tables, poppler's page, the output PDF): every request then faulted
 * the same pages in again, about 8 % of the CPU of a signature.  A pool thread keeps up
 * to TTE_SERVE_TRIM_THRESHOLD free instead.  Setting it turns off glibc's moving mmap
 * threshold, so that one is set too: blocks from 4 MiB (large PDFs) are still mapped and
 * unmapped on their own, and never held. */
#define TTE_SERVE_TRIM_THRESHOLD (16 * 1024 * 1024)
#define TTE_SERVE_MMAP_THRESHOLD (4 * 1024 * 1024)

static void
tune_malloc(void)
{
#ifdef __GLIBC__
  (void)mallopt(M_MMAP_THRESHOLD, TTE_SERVE_MMAP_THRESHOLD);
  (void)mallopt(M_TRIM_THRESHOLD, TTE_SERVE_TRIM_THRESHOLD);
#endif
}

static int
serve(ApiConfig *cfg, ApiStore *store, const char *port_file)
{
  g_autoptr(GError) error = NULL;
#ifdef TTE_HAVE_SERVICE
  /* Declared before the server so that it is freed after it (g_autoptr runs in reverse). */
  g_autoptr(ApiKeyCache) keys = api_keycache_new(cfg, store);
#endif
  g_autoptr(ApiServer) srv = api_server_new(cfg, store);
  sigset_t set;
  int sig = 0;

  tune_malloc();
  /* Block the stop signals before the pool threads exist so that they inherit the mask
   * and only sigwait() below sees the signals. */
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);

  api_routes_register(srv);
#ifdef TTE_HAVE_SERVICE
  api_routes_service_register(srv, keys);
#endif
#ifdef TTE_HAVE_WEB
  api_web_register(srv);
#endif
  if (!api_server_start(srv, &error)) {
    tte_cli_print_error(NULL, error);
    return TTE_EXIT_FAILURE;
  }
  if (port_file != NULL) {
    g_autofree char *text = g_strdup_printf("%u\n", api_server_get_port(srv));
    if (!g_file_set_contents(port_file, text, -1, &error)) {
      tte_cli_print_error("port file", error);
      return TTE_EXIT_FAILURE;
    }
  }
  notify_systemd("READY=1");
  while (sigwait(&set, &sig) != 0 || (sig != SIGTERM && sig != SIGINT))
    ;
  api_log("received %s: no new connections, finishing requests in flight (up to %u s)",
          sig == SIGTERM ? "SIGTERM" : "SIGINT", cfg->shutdown_grace_s);
  notify_systemd("STOPPING=1");
  api_server_stop(srv, cfg->shutdown_grace_s);
  api_log("stopped");
  return TTE_EXIT_OK;
}

int
tte_cmd_serve(int argc, char **argv)
{
  g_autofree char *config_path = NULL;
  g_autofree char *listen = NULL;
  g_autofree char *db = NULL;
  g_autofree char *port_file = NULL;
  g_autofree char *boot_admin = NULL;
  g_autofree char *boot_signer = NULL;
  g_autofree char *name = NULL;
  g_autofree char *title = NULL;
  g_autofree char *org = NULL;
  gboolean check = FALSE;
  const GOptionEntry entries[] = {
      {"config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, "Configuration file (INI)", "FILE"},
      {"listen", 'l', 0, G_OPTION_ARG_STRING, &listen, "Listen address, overrides [server] listen",
       "ADDR:PORT"},
      {"db", 0, 0, G_OPTION_ARG_FILENAME, &db, "Database file, overrides [database] path", "FILE"},
      {"port-file", 0, 0, G_OPTION_ARG_FILENAME, &port_file,
       "Write the bound port to FILE once listening (useful with port 0)", "FILE"},
      {"check-config", 0, 0, G_OPTION_ARG_NONE, &check, "Load the configuration and exit", NULL},
      {"bootstrap-admin", 0, 0, G_OPTION_ARG_STRING, &boot_admin,
       "Create an admin API token labelled LABEL, print it once on stdout, exit", "LABEL"},
      {"bootstrap-signer", 0, 0, G_OPTION_ARG_STRING, &boot_signer,
       "Create signer ID (NIK or e-mail) and a token for it; print 'SIGNER_ID TOKEN', exit", "ID"},
      {"name", 0, 0, G_OPTION_ARG_STRING, &name, "Signer's name (with --bootstrap-signer)", "NAME"},
      {"title", 0, 0, G_OPTION_ARG_STRING, &title, "Signer's title (with --bootstrap-signer)",
       "TITLE"},
      {"org", 0, 0, G_OPTION_ARG_STRING, &org, "Signer's OPD (with --bootstrap-signer)", "ORG"},
      {NULL},
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new("- run the TTE signing service");
  g_autoptr(ApiConfig) cfg = NULL;
  g_autoptr(ApiStore) store = NULL;
  g_autoptr(GError) error = NULL;

  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_set_description(
      ctx, "Without --config the defaults of docs/config.md apply.\n"
           "Bootstrap (offline, before the first start):\n"
           "  tte serve --db tte.db --bootstrap-admin 'first admin'\n"
           "  tte serve --db tte.db --bootstrap-signer 3201010101010001 --name 'Siti' \\\n"
           "            --title 'Sekretaris' --org 'Dinas Kominfo'\n");
  if (!tte_cli_parse(ctx, &argc, &argv))
    return TTE_EXIT_USAGE;
  if (argc > 1) {
    fprintf(stderr, "tte: unexpected argument '%s'\n", argv[1]);
    return TTE_EXIT_USAGE;
  }
  if (boot_admin != NULL && boot_signer != NULL) {
    fprintf(stderr, "tte: --bootstrap-admin and --bootstrap-signer are exclusive\n");
    return TTE_EXIT_USAGE;
  }
  cfg = config_path ? api_config_load(config_path, &error) : api_config_new_default();
  if (cfg == NULL) {
    tte_cli_print_error("configuration", error);
    return TTE_EXIT_USAGE;
  }
  if (listen != NULL && !api_config_set_listen(cfg, listen, &error)) {
    tte_cli_print_error(NULL, error);
    return TTE_EXIT_USAGE;
  }
  if (db != NULL) {
    g_free(cfg->db_path);
    cfg->db_path = g_steal_pointer(&db);
  }
  if (check) {
    printf("configuration OK\n");
    return TTE_EXIT_OK;
  }
  store = api_store_open_sqlite(cfg->db_path, cfg->busy_timeout_ms, &error);
  if (store == NULL) {
    tte_cli_print_error("database", error);
    return TTE_EXIT_FAILURE;
  }
  if (boot_admin != NULL)
    return bootstrap_admin(store, boot_admin);
  if (boot_signer != NULL)
    return bootstrap_signer(store, boot_signer, name, title, org);
  api_log("tte %s starting; database %s (schema %d)", TTE_VERSION, cfg->db_path,
          store->ops->schema_version(store));
  return serve(cfg, store, port_file);
}
