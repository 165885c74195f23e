/* token-sign.c — signatures per second on a PKCS#11 token, through our layer
 * (tte_p11_open_signing_key + tte_signing_key_sign) or through a bare libp11 loop
 * (PKCS11_get_private_key + one EVP_PKEY_CTX per signature, as libp11 users do).
 * Not a test: bench/token-sign.sh runs it beside `openssl speed` and prints ratios.
 *
 *   token-sign --mode tte|libp11 --module PATH --uri URI --pin-file FILE
 *              [--threads N] [--seconds S]
 * Prints one line: "<mode> <threads> <signatures> <seconds> <sig/s> <CPU us/sig>".
 * SoftHSM2 runs inside this process, so CPU time per signature (user + system, all
 * threads) is the figure that stays meaningful on a loaded machine; sig/s is not.
 */
#include "tte-error.h"
#include "tte-p11.h"

#include <libp11.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

typedef struct {
  TteSigningKey *key; /* tte mode */
  EVP_PKEY *pkey;     /* libp11 mode */
  TteSigScheme scheme;
  gint64 deadline;
  guint64 count;
  gboolean failed;
} Worker;

static gpointer
run_tte(gpointer data)
{
  Worker *w = data;
  guint8 digest[32] = { 0x42 };

  while (g_get_monotonic_time() < w->deadline) {
    g_autoptr(GError) error = NULL;
    GBytes *sig = tte_signing_key_sign(w->key, w->scheme, TTE_HASH_SHA256, digest, 32, &error);
    if (sig == NULL) {
      fprintf(stderr, "token-sign: %s\n", error->message);
      w->failed = TRUE;
      break;
    }
    g_bytes_unref(sig);
    w->count++;
  }
  return NULL;
}

static gpointer
run_libp11(gpointer data)
{
  Worker *w = data;
  guint8 digest[32] = { 0x42 };
  guint8 sig[1024];

  while (g_get_monotonic_time() < w->deadline) {
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(w->pkey, NULL);
    size_t len = sizeof sig;
    int ok = ctx != NULL && EVP_PKEY_sign_init(ctx) > 0 &&
             EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) > 0 &&
             (EVP_PKEY_get_base_id(w->pkey) != EVP_PKEY_RSA ||
              EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0) &&
             EVP_PKEY_sign(ctx, sig, &len, digest, 32) > 0;
    EVP_PKEY_CTX_free(ctx);
    if (!ok) {
      fprintf(stderr, "token-sign: libp11 signing failed\n");
      w->failed = TRUE;
      break;
    }
    w->count++;
  }
  return NULL;
}

/* The bare libp11 path: find the token and key by label as any libp11 program would. */
static EVP_PKEY *
libp11_key(PKCS11_CTX *ctx, const char *module, const TteP11Uri *u, const char *pin,
           PKCS11_SLOT **slots, unsigned int *nslots)
{
  PKCS11_SLOT *slot = NULL;
  PKCS11_KEY *keys = NULL;
  unsigned int nk = 0;

  if (PKCS11_CTX_load(ctx, module) != 0 || PKCS11_enumerate_slots(ctx, slots, nslots) != 0)
    return NULL;
  for (unsigned int i = 0; i < *nslots; i++)
    if ((*slots)[i].token != NULL && g_strcmp0((*slots)[i].token->label, u->token) == 0)
      slot = &(*slots)[i];
  if (slot == NULL || PKCS11_login(slot, 0, pin) != 0 ||
      PKCS11_enumerate_keys(slot->token, &keys, &nk) != 0)
    return NULL;
  for (unsigned int i = 0; i < nk; i++)
    if (g_strcmp0(keys[i].label, u->object) == 0)
      return PKCS11_get_private_key(&keys[i]);
  return NULL;
}

static double
cpu_seconds(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

int
main(int argc, char **argv)
{
  g_autofree char *mode = NULL, *module = NULL, *uri = NULL, *pin_file = NULL;
  int threads = 1;
  double seconds = 3;
  GOptionEntry entries[] = {
    { "mode", 0, 0, G_OPTION_ARG_STRING, &mode, "tte or libp11", "MODE" },
    { "module", 0, 0, G_OPTION_ARG_FILENAME, &module, "PKCS#11 module", "PATH" },
    { "uri", 0, 0, G_OPTION_ARG_STRING, &uri, "key URI (token= and object= used)", "URI" },
    { "pin-file", 0, 0, G_OPTION_ARG_FILENAME, &pin_file, "PIN file", "FILE" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, "threads (default 1)", "N" },
    { "seconds", 0, 0, G_OPTION_ARG_DOUBLE, &seconds, "duration (default 3)", "S" },
    { NULL },
  };
  g_autoptr(GOptionContext) octx = g_option_context_new("- token signing benchmark");
  g_autoptr(GError) error = NULL;
  g_autoptr(TteSecret) pin = NULL;
  g_autoptr(TteP11Uri) u = NULL;
  g_autoptr(TteP11Module) m = NULL;
  g_autoptr(TteSigningKey) key = NULL;
  PKCS11_CTX *pctx = NULL;
  PKCS11_SLOT *slots = NULL;
  unsigned int nslots = 0;
  EVP_PKEY *pkey = NULL;
  Worker *w;
  GThread **t;
  guint64 total = 0;
  gint64 start, end;
  double cpu0;
  gboolean failed = FALSE;
  int type;

  g_option_context_add_main_entries(octx, entries, NULL);
  if (!g_option_context_parse(octx, &argc, &argv, &error) || mode == NULL || module == NULL ||
      uri == NULL || pin_file == NULL || threads < 1 || threads > 64 || seconds <= 0) {
    fprintf(stderr, "usage: token-sign --mode tte|libp11 --module PATH --uri URI --pin-file FILE "
                    "[--threads N] [--seconds S]\n");
    return 2;
  }
  if ((pin = tte_secret_new_from_file(pin_file, &error)) == NULL ||
      (u = tte_p11_uri_parse(uri, &error)) == NULL)
    goto fail;

  if (strcmp(mode, "tte") == 0) {
    m = tte_p11_module_load(module, NULL, &error);
    if (m == NULL || (key = tte_p11_open_signing_key(m, uri, pin, NULL, NULL, &error)) == NULL)
      goto fail;
    type = tte_signing_key_get_type(key);
  } else {
    pctx = PKCS11_CTX_new();
    pkey = libp11_key(pctx, module, u, tte_secret_get(pin), &slots, &nslots);
    if (pkey == NULL) {
      tte_set_error_openssl(&error, TTE_ERROR_TOKEN, "libp11: cannot open the key");
      goto fail;
    }
    type = EVP_PKEY_get_base_id(pkey);
  }

  w = g_new0(Worker, threads);
  t = g_new0(GThread *, threads);
  cpu0 = cpu_seconds();
  start = g_get_monotonic_time();
  for (int i = 0; i < threads; i++) {
    w[i].key = key;
    w[i].pkey = pkey;
    w[i].scheme = type == EVP_PKEY_EC ? TTE_SCHEME_ECDSA : TTE_SCHEME_RSA_PKCS1;
    w[i].deadline = start + (gint64)(seconds * G_USEC_PER_SEC);
    t[i] = g_thread_new("bench", key != NULL ? run_tte : run_libp11, &w[i]);
  }
  for (int i = 0; i < threads; i++) {
    g_thread_join(t[i]);
    total += w[i].count;
    failed = failed || w[i].failed;
  }
  end = g_get_monotonic_time();
  printf("%s %d %" G_GUINT64_FORMAT " %.2f %.0f %.1f\n", mode, threads, total,
         (end - start) / 1e6, total / ((end - start) / 1e6),
         total ? (cpu_seconds() - cpu0) * 1e6 / (double)total : 0.0);
  g_free(w);
  g_free(t);
  g_clear_pointer(&key, tte_signing_key_unref);
  if (pctx != NULL) {
    EVP_PKEY_free(pkey);
    PKCS11_release_all_slots(pctx, slots, nslots);
    PKCS11_CTX_unload(pctx);
    PKCS11_CTX_free(pctx);
  }
  return failed ? 1 : 0;

fail:
  fprintf(stderr, "token-sign: %s\n", error != NULL ? error->message : "failed");
  return 1;
}
