/* serve-floor.c — the floor under any signing service on this machine (bench/serve.sh).
 *
 *   serve-floor --module PATH --uri URI --pin-file F --response FILE [--threads N]
 *               --port-file F
 *
 * A libmicrohttpd server with the thread pool and options `tte serve` uses, that does for
 * each POST only what no signing service can skip: read the whole upload, hash it, make
 * one signature with the token key (opened once, like the service's key cache), and send
 * back a body the size of a signed letter (@response, which must start with %PDF-).  No
 * multipart parsing, no authentication, no PDF work, no stamp, no database, no audit.
 * bench/serve.sh drives it with the same load generator as the service, so
 * "floor req/s / token sig/s" is the best share of the token's rate that any service can
 * reach here, with the load generator on the same CPUs.  Not a test: figures only.
 */
#include "tte-error.h"
#include "tte-p11.h"
#include "tte-secret.h"
#include "tte-signing-key.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  EVP_MD_CTX *md;
  gsize bytes;
} Upload;

static TteSigningKey *key;
static int scheme;
static GBytes *response;
static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
  (void)sig;
  stop = 1;
}

static enum MHD_Result
on_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
          const char *version, const char *data, size_t *size, void **con_cls)
{
  Upload *u = *con_cls;
  struct MHD_Response *r;
  enum MHD_Result ret;
  guint8 digest[EVP_MAX_MD_SIZE];
  unsigned int dlen = 0;
  g_autoptr(GBytes) sig = NULL;
  g_autoptr(GError) error = NULL;

  (void)cls;
  (void)url;
  (void)version;
  if (strcmp(method, "POST") != 0)
    return MHD_NO;
  if (u == NULL) {
    u = g_new0(Upload, 1);
    u->md = EVP_MD_CTX_new();
    if (u->md == NULL || !EVP_DigestInit_ex(u->md, EVP_sha256(), NULL))
      return MHD_NO;
    *con_cls = u;
    return MHD_YES;
  }
  if (*size > 0) {
    if (!EVP_DigestUpdate(u->md, data, *size))
      return MHD_NO;
    u->bytes += *size;
    *size = 0;
    return MHD_YES;
  }
  if (!EVP_DigestFinal_ex(u->md, digest, &dlen))
    return MHD_NO;
  sig = tte_signing_key_sign(key, scheme, TTE_HASH_SHA256, digest, dlen, &error);
  if (sig == NULL) {
    fprintf(stderr, "serve-floor: %s\n", error->message);
    return MHD_NO;
  }
  r = MHD_create_response_from_buffer(g_bytes_get_size(response),
                                      (void *)g_bytes_get_data(response, NULL),
                                      MHD_RESPMEM_PERSISTENT);
  MHD_add_response_header(r, "Content-Type", "application/pdf");
  ret = MHD_queue_response(conn, 201, r);
  MHD_destroy_response(r);
  return ret;
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
  Upload *u = *con_cls;
  (void)cls;
  (void)conn;
  (void)toe;
  if (u != NULL) {
    EVP_MD_CTX_free(u->md);
    g_free(u);
    *con_cls = NULL;
  }
}

int
main(int argc, char **argv)
{
  g_autofree char *module = NULL, *uri = NULL, *pin_file = NULL, *resp_file = NULL,
                  *port_file = NULL;
  int threads = 4;
  GOptionEntry entries[] = {
    { "module", 0, 0, G_OPTION_ARG_FILENAME, &module, "PKCS#11 module", "PATH" },
    { "uri", 0, 0, G_OPTION_ARG_STRING, &uri, "key URI", "URI" },
    { "pin-file", 0, 0, G_OPTION_ARG_FILENAME, &pin_file, "PIN file", "FILE" },
    { "response", 0, 0, G_OPTION_ARG_FILENAME, &resp_file, "body of every response", "FILE" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, "thread pool size (default 4)", "N" },
    { "port-file", 0, 0, G_OPTION_ARG_FILENAME, &port_file, "write the bound port here", "FILE" },
    { NULL },
  };
  g_autoptr(GOptionContext) octx = g_option_context_new("- signing service floor");
  g_autoptr(GError) error = NULL;
  g_autoptr(TteSecret) pin = NULL;
  g_autoptr(TteP11Module) m = NULL;
  struct MHD_Daemon *d;
  const union MHD_DaemonInfo *info;
  struct sockaddr_in sin = { 0 };
  char *body = NULL;
  gsize body_len = 0;

  g_option_context_add_main_entries(octx, entries, NULL);
  if (!g_option_context_parse(octx, &argc, &argv, &error) || module == NULL || uri == NULL ||
      pin_file == NULL || resp_file == NULL || port_file == NULL || threads < 1 || threads > 64) {
    fprintf(stderr, "usage: serve-floor --module PATH --uri URI --pin-file FILE --response FILE "
                    "--port-file FILE [--threads N]\n");
    return 2;
  }
  if (!g_file_get_contents(resp_file, &body, &body_len, &error) || body_len < 5 ||
      memcmp(body, "%PDF-", 5) != 0) {
    fprintf(stderr, "serve-floor: %s: %s\n", resp_file,
            error != NULL ? error->message : "not a PDF");
    g_free(body);
    return 1;
  }
  response = g_bytes_new_take(body, body_len);
  if ((pin = tte_secret_new_from_file(pin_file, &error)) == NULL ||
      (m = tte_p11_module_load(module, NULL, &error)) == NULL ||
      (key = tte_p11_open_signing_key(m, uri, pin, NULL, NULL, &error)) == NULL) {
    fprintf(stderr, "serve-floor: %s\n", error->message);
    return 1;
  }
  scheme = tte_signing_key_get_type(key) == EVP_PKEY_EC ? TTE_SCHEME_ECDSA : TTE_SCHEME_RSA_PKCS1;

  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sin.sin_port = 0;
  d = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG, 0, NULL,
                       NULL, on_access, NULL, MHD_OPTION_SOCK_ADDR, &sin,
                       MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                       MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)threads,
                       MHD_OPTION_CONNECTION_LIMIT, 256u, MHD_OPTION_CONNECTION_TIMEOUT, 30u,
                       MHD_OPTION_END);
  if (d == NULL) {
    fprintf(stderr, "serve-floor: cannot start the server\n");
    return 1;
  }
  info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
  {
    g_autofree char *port = g_strdup_printf("%u\n", info != NULL ? info->port : 0u);
    if (!g_file_set_contents(port_file, port, -1, &error)) {
      fprintf(stderr, "serve-floor: %s\n", error->message);
      MHD_stop_daemon(d);
      return 1;
    }
  }
  signal(SIGTERM, on_term);
  signal(SIGINT, on_term);
  while (!stop)
    pause();
  MHD_stop_daemon(d);
  tte_signing_key_unref(key);
  g_bytes_unref(response);
  return 0;
}
