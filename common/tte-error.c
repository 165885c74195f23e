#include "tte-error.h"

/* The per-library string loaders are deprecated in OpenSSL 3.0 but are the only public
 * way to load the strings after OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS (tte_openssl_init_lean). */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/cryptoerr_legacy.h>
#include <openssl/err.h>
#include <stdlib.h>

G_DEFINE_QUARK(tte-error-quark, tte_error)

const char *
tte_error_code_name(int code)
{
  static const char *const names[] = {
    [TTE_ERROR_FAILED] = "FAILED",
    [TTE_ERROR_INVALID_ARGUMENT] = "INVALID_ARGUMENT",
    [TTE_ERROR_IO] = "IO",
    [TTE_ERROR_LIMIT] = "LIMIT",
    [TTE_ERROR_NOT_SUPPORTED] = "NOT_SUPPORTED",
    [TTE_ERROR_CRYPTO] = "CRYPTO",
    [TTE_ERROR_MODULE_NOT_ALLOWED] = "MODULE_NOT_ALLOWED",
    [TTE_ERROR_MODULE_LOAD] = "MODULE_LOAD",
    [TTE_ERROR_TOKEN_NOT_FOUND] = "TOKEN_NOT_FOUND",
    [TTE_ERROR_TOKEN] = "TOKEN",
    [TTE_ERROR_PIN_INCORRECT] = "PIN_INCORRECT",
    [TTE_ERROR_PIN_LOCKED] = "PIN_LOCKED",
    [TTE_ERROR_PIN_INVALID] = "PIN_INVALID",
    [TTE_ERROR_KEY_NOT_FOUND] = "KEY_NOT_FOUND",
    [TTE_ERROR_KEY_EXISTS] = "KEY_EXISTS",
    [TTE_ERROR_CERT_NOT_FOUND] = "CERT_NOT_FOUND",
    [TTE_ERROR_CERT_MISMATCH] = "CERT_MISMATCH",
    [TTE_ERROR_NOT_PDF] = "NOT_PDF",
    [TTE_ERROR_PDF_DAMAGED] = "PDF_DAMAGED",
    [TTE_ERROR_PDF_ENCRYPTED] = "PDF_ENCRYPTED",
    [TTE_ERROR_PDF_UNSUPPORTED] = "PDF_UNSUPPORTED",
    [TTE_ERROR_FIELD_NOT_FOUND] = "FIELD_NOT_FOUND",
    [TTE_ERROR_FIELD_SIGNED] = "FIELD_SIGNED",
    [TTE_ERROR_ANCHOR_NOT_FOUND] = "ANCHOR_NOT_FOUND",
    [TTE_ERROR_CERTIFIED_NO_CHANGES] = "CERTIFIED_NO_CHANGES",
    [TTE_ERROR_NO_SIGNATURE] = "NO_SIGNATURE",
    [TTE_ERROR_FORMAT] = "FORMAT",
    [TTE_ERROR_NOT_BUILT_IN] = "NOT_BUILT_IN",
  };
  if (code < 0 || (gsize)code >= G_N_ELEMENTS(names) || names[code] == NULL)
    return "FAILED";
  return names[code];
}

void
tte_set_error_openssl(GError **error, int code, const char *fmt, ...)
{
  va_list ap;
  g_autofree char *msg = NULL;
  g_autoptr(GString) detail = g_string_new(NULL);
  unsigned long e;
  const char *file = NULL, *func = NULL, *data = NULL;
  int line = 0, flags = 0;

  va_start(ap, fmt);
  msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);

  /* Fold the whole queue: the innermost reason is usually the useful one. */
  while ((e = ERR_get_error_all(&file, &line, &func, &data, &flags)) != 0) {
    char buf[256];
    tte_openssl_error_string(e, buf, sizeof buf);
    g_string_append(detail, detail->len ? "; " : "");
    g_string_append(detail, buf);
    if (data != NULL && (flags & ERR_TXT_STRING))
      g_string_append_printf(detail, " (%s)", data);
  }
  if (detail->len)
    g_set_error(error, TTE_ERROR, code, "%s: %s", msg, detail->str);
  else
    g_set_error_literal(error, TTE_ERROR, code, msg);
}

void
tte_openssl_clear_errors(void)
{
  ERR_clear_error();
}

void
tte_openssl_init_lean(void)
{
  uint64_t opts = OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS | OPENSSL_INIT_NO_ATEXIT;

  /* The system openssl.cnf configures providers and TLS, and this program has no TLS
   * client: reading it was a tenth of a one-page verification.  An administrator who
   * names a configuration (a FIPS provider, say) still gets it. */
  if (getenv("OPENSSL_CONF") == NULL)
    opts |= OPENSSL_INIT_NO_LOAD_CONFIG;
  OPENSSL_init_crypto(opts, NULL);
}

static gpointer
load_error_strings(gpointer unused)
{
  (void)unused;
  /* Each loader returns early when its strings are in already (the default start-up
   * loads them all).  Provider, ESS and a few newer libraries have no public loader:
   * after tte_openssl_init_lean() their errors read "lib(N)::reason(M)" with the
   * library named. */
  ERR_load_ERR_strings();
  ERR_load_ASN1_strings();
  ERR_load_BIO_strings();
  ERR_load_BN_strings();
  ERR_load_BUF_strings();
  ERR_load_CMS_strings();
  ERR_load_CONF_strings();
  ERR_load_CRYPTO_strings();
  ERR_load_DH_strings();
  ERR_load_DSA_strings();
  ERR_load_EC_strings();
  ERR_load_EVP_strings();
  ERR_load_OBJ_strings();
  ERR_load_OCSP_strings();
  ERR_load_PEM_strings();
  ERR_load_PKCS12_strings();
  ERR_load_PKCS7_strings();
  ERR_load_RAND_strings();
  ERR_load_RSA_strings();
  ERR_load_TS_strings();
  ERR_load_X509V3_strings();
  ERR_load_X509_strings();
  return NULL;
}

void
tte_openssl_error_string(unsigned long e, char *buf, gsize len)
{
  static GOnce once = G_ONCE_INIT;

  g_once(&once, load_error_strings, NULL);
  ERR_error_string_n(e, buf, len);
}
