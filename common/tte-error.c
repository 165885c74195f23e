#include "tte-error.h"

#include <openssl/err.h>

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
    ERR_error_string_n(e, buf, sizeof buf);
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
