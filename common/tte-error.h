/* tte-error.h — the project's one error domain.
 *
 * Every library function that can fail takes a GError ** and returns FALSE/NULL on
 * failure.  The code says what went wrong in a machine-readable way (api/ maps codes
 * to HTTP statuses in one table, the CLI maps them to exit codes); the message says it
 * for a human and never contains a secret (PIN, passphrase, API token).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define TTE_ERROR (tte_error_quark())
GQuark tte_error_quark(void);

typedef enum {
  TTE_ERROR_FAILED = 0,        /* anything not listed below */
  TTE_ERROR_INVALID_ARGUMENT,  /* caller gave a malformed option, URI, DN, ... */
  TTE_ERROR_IO,                /* reading or writing a file failed */
  TTE_ERROR_LIMIT,             /* a named limit from tte-limits.h was exceeded */
  TTE_ERROR_NOT_SUPPORTED,     /* valid request for something we do not do */
  TTE_ERROR_CRYPTO,            /* OpenSSL failure (message carries its error text) */

  /* PKCS#11 / token layer */
  TTE_ERROR_MODULE_NOT_ALLOWED, /* module path outside the configured allowlist */
  TTE_ERROR_MODULE_LOAD,        /* dlopen/C_Initialize failed */
  TTE_ERROR_TOKEN_NOT_FOUND,    /* no token matches the URI (or token removed) */
  TTE_ERROR_TOKEN,              /* any other token/module failure */
  TTE_ERROR_PIN_INCORRECT,
  TTE_ERROR_PIN_LOCKED,
  TTE_ERROR_PIN_INVALID,        /* empty, too long, unreadable PIN file */
  TTE_ERROR_KEY_NOT_FOUND,
  TTE_ERROR_KEY_EXISTS,         /* generate: an object with that label/id exists */
  TTE_ERROR_CERT_NOT_FOUND,
  TTE_ERROR_CERT_MISMATCH,      /* certificate public key != token key */

  /* PDF layer */
  TTE_ERROR_NOT_PDF,
  TTE_ERROR_PDF_DAMAGED,        /* qpdf needed to repair it: unsafe to update */
  TTE_ERROR_PDF_ENCRYPTED,
  TTE_ERROR_PDF_UNSUPPORTED,    /* well-formed but a feature we refuse */
  TTE_ERROR_FIELD_NOT_FOUND,
  TTE_ERROR_FIELD_SIGNED,
  TTE_ERROR_ANCHOR_NOT_FOUND,
  TTE_ERROR_CERTIFIED_NO_CHANGES, /* DocMDP P=1 forbids a further signature */

  /* verification */
  TTE_ERROR_NO_SIGNATURE,
  TTE_ERROR_FORMAT,             /* malformed signature structure */

  /* builds */
  TTE_ERROR_NOT_BUILT_IN,       /* this program was built without the part needed */
} TteErrorCode;

/* Short stable identifier for a code, e.g. "PIN_INCORRECT".  Never NULL. */
const char *tte_error_code_name(int code);

/* Set @error with @code and the formatted message, then append the text of the
 * OpenSSL error queue (which is cleared).  Used right after an OpenSSL call failed. */
void tte_set_error_openssl(GError **error, int code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* Start OpenSSL for the lean `tte` (sign and verify, no TLS): no error strings until
 * an error is formatted, no clean-up at exit, and no system openssl.cnf unless the
 * OPENSSL_CONF environment variable names a file.  Call first thing in main(). */
void tte_openssl_init_lean(void);

/* ERR_error_string_n() that loads OpenSSL's error strings the first time it is
 * called.  Every OpenSSL error shown to a user goes through it. */
void tte_openssl_error_string(unsigned long e, char *buf, gsize len);

/* Drop whatever is on the OpenSSL error queue (after an expected failure). */
void tte_openssl_clear_errors(void);

G_END_DECLS
