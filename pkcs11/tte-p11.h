/* tte-p11.h — the key layer over libp11 (no OpenSSL engine).
 *
 * Tokens and objects are addressed with RFC 7512 PKCS#11 URIs
 * ("pkcs11:token=opd-kominfo;object=sekretaris-2026;id=%01"), selected by token label /
 * serial and object label / ID — never by slot number.  A module is loaded once per
 * process and shared; all functions are safe to call from several threads.
 *
 * How (details in the .c files): lookup, listing, CSR and import go through libp11 under
 * a per-module lock; key generation, certificate import and signing call the module's
 * own function list.  A signing key keeps its own pool of up to TTE_LIMIT_P11_SESSIONS
 * sessions and re-opens itself (token found again by label/serial, PIN again, key by
 * ID, a test signature) when a session, the login or the token is lost.  Because PKCS#11
 * login state is shared by the whole process, a PIN is checked against a keyed hash of
 * the one that logged the token in, so a wrong PIN fails even while the token is logged
 * in for someone else.
 */
#pragma once

#include <glib.h>

#include "tte-ossl.h"
#include "tte-secret.h"
#include "tte-signing-key.h"

G_BEGIN_DECLS

/* --- URIs --------------------------------------------------------------------- */

typedef struct {
  char *token;        /* token label ("token="), NULL if absent */
  char *manufacturer; /* "manufacturer=" */
  char *serial;       /* "serial=" */
  char *model;        /* "model=" */
  char *object;       /* object label ("object=") */
  GBytes *id;         /* object ID ("id=", percent-decoded), NULL if absent */
  char *type;         /* "type=": private, public, cert, secret-key, data; NULL if absent */
  char *module_path;  /* query "module-path=" */
  char *pin_source;   /* query "pin-source=" (a file path or file: URI) */
  /* "pin-value=" is parsed but refused: a PIN never travels in a URI. */
} TteP11Uri;

/* Parse a PKCS#11 URI (RFC 7512).  Unknown path attributes are an error (a typo must
 * not silently select a different key); unknown query attributes are ignored.
 * Percent-encoding is decoded; attribute values are capped by TTE_LIMIT_P11_ATTR_MAX_LEN. */
TteP11Uri *tte_p11_uri_parse(const char *uri, GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* Format back to a canonical URI (path attributes only, percent-encoded as needed). */
char *tte_p11_uri_format(const TteP11Uri *uri);
void tte_p11_uri_free(TteP11Uri *uri);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TteP11Uri, tte_p11_uri_free)

/* --- modules ------------------------------------------------------------------ */

typedef struct TteP11Module TteP11Module;

/* Which module to use: @cli_path (from --module) if set, else $TTE_PKCS11_MODULE, else
 * the build default (SoftHSM2).  Returns a newly allocated path. */
char *tte_p11_module_resolve_path(const char *cli_path);

/* The allowlist: $TTE_PKCS11_ALLOWED_MODULES (colon-separated real paths) if set, else
 * the build default module and the modules in Debian's standard PKCS#11 directories
 * (/usr/lib/x86_64-linux-gnu/pkcs11/, /usr/lib/softhsm/).  Config may replace it. */
GStrv tte_p11_default_allowlist(void);

/* Load (or return the already loaded) module at @path.  The real path must be in
 * @allowlist (NULL = tte_p11_default_allowlist()) or TTE_ERROR_MODULE_NOT_ALLOWED.
 * Returns a new reference. */
TteP11Module *tte_p11_module_load(const char *path, const char *const *allowlist,
                                  GError **error) G_GNUC_WARN_UNUSED_RESULT;
TteP11Module *tte_p11_module_ref(TteP11Module *m);
void tte_p11_module_unref(TteP11Module *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TteP11Module, tte_p11_module_unref)

/* --- listing -------------------------------------------------------------------- */

typedef enum {
  TTE_P11_OBJ_PRIVATE_KEY,
  TTE_P11_OBJ_PUBLIC_KEY,
  TTE_P11_OBJ_CERTIFICATE,
} TteP11ObjectKind;

typedef struct {
  TteP11ObjectKind kind;
  char *label;
  GBytes *id;
  char *uri;          /* full URI selecting exactly this object */
  char *key_type;     /* "RSA-3072", "EC-P256", or NULL for certificates */
  X509 *cert;         /* certificates only */
} TteP11Object;

typedef struct {
  char *label, *manufacturer, *model, *serial;
  gboolean initialized, login_required, user_pin_locked, user_pin_count_low, user_pin_final_try;
  GPtrArray *objects; /* TteP11Object*; private keys only listed after login */
} TteP11TokenInfo;

void tte_p11_token_info_free(TteP11TokenInfo *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TteP11TokenInfo, tte_p11_token_info_free)

/* List the tokens matching @uri (token attributes only are used) with their objects;
 * @pin may be NULL (then only public objects).  With a PIN, @uri must match exactly one
 * token (TTE_ERROR_INVALID_ARGUMENT otherwise: a PIN is never tried on several tokens).
 * Returns a GPtrArray of TteP11TokenInfo* (possibly empty) or NULL with @error. */
GPtrArray *tte_p11_list(TteP11Module *m, const char *uri, TteSecret *pin,
                        GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* --- administration ---------------------------------------------------------------- */

typedef enum {
  TTE_P11_KEY_RSA_2048,
  TTE_P11_KEY_RSA_3072,
  TTE_P11_KEY_RSA_4096,
  TTE_P11_KEY_EC_P256,
  TTE_P11_KEY_EC_P384,
} TteP11KeyType;

/* "rsa:3072", "ec:p256", ... */
gboolean tte_p11_key_type_from_string(const char *s, TteP11KeyType *out,
                                      GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Generate a key pair ON the token named by @uri (token=...; object= label required, id=
 * optional — a random 16-byte ID is chosen when absent).  Private key: CKA_SENSITIVE,
 * not CKA_EXTRACTABLE, CKA_SIGN; refuses when an object with that label or ID exists
 * (TTE_ERROR_KEY_EXISTS).  Returns the URI of the new key. */
char *tte_p11_generate_key(TteP11Module *m, const char *uri, TteSecret *pin, TteP11KeyType type,
                           GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* A PKCS#10 request for the key at @uri, signed by the token, subject @subject_dn in
 * OpenSSL's "/C=ID/O=.../CN=..." form or RFC 2253 "CN=...,O=...,C=ID" form.  Returns PEM. */
char *tte_p11_make_csr(TteP11Module *m, const char *uri, TteSecret *pin, const char *subject_dn,
                       TteHash hash, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Store @cert on the token under the key's ID and label (and each cert of @chain, when
 * not NULL, as a separate certificate object with its own label).  Refuses a
 * certificate whose public key is not the key's (TTE_ERROR_CERT_MISMATCH). */
gboolean tte_p11_import_cert(TteP11Module *m, const char *uri, TteSecret *pin, X509 *cert,
                             TteX509Stack *chain, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* --- signing -------------------------------------------------------------------- */

/* Open the key at @uri for signing: logs in with @pin, finds the private key and its
 * certificate (same ID, else same label) on the token.  @cert overrides the token's
 * certificate (must match the key); @chain (may be NULL) is appended to the chain found
 * on the token.  The returned key survives token removal: a sign after the token came
 * back re-opens the session and logs in again with a copy of the PIN held in locked
 * memory for the key's lifetime.  Errors: TOKEN_NOT_FOUND, PIN_INCORRECT, PIN_LOCKED,
 * KEY_NOT_FOUND, CERT_NOT_FOUND, CERT_MISMATCH, TOKEN. */
TteSigningKey *tte_p11_open_signing_key(TteP11Module *m, const char *uri, TteSecret *pin,
                                        X509 *cert, TteX509Stack *chain,
                                        GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Present @pin to the token of @key (a key from tte_p11_open_signing_key) as a fresh
 * login would: the token is logged out and C_Login(@pin) is sent, so a wrong PIN counts
 * against the token's retry counter even though this process is logged in already;
 * then the key logs in again with its own PIN.  For callers that check a PIN against a
 * cache of their own first (api/keycache.c) and must still let the token see the wrong
 * ones.  The key's signatures wait meanwhile; other open keys of the same token log in
 * again on their next signature.
 * Returns TRUE when the token accepted @pin (then it is the token's PIN now and the key
 * holds it), FALSE with PIN_INCORRECT, PIN_LOCKED, TOKEN_NOT_FOUND, ... otherwise.
 * *@still_open is FALSE when the key cannot sign any more (its own PIN was refused too,
 * e.g. the token locked): drop it. */
gboolean tte_p11_signing_key_try_pin(TteSigningKey *key, TteSecret *pin, gboolean *still_open,
                                     GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* --- errors ------------------------------------------------------------------- */

/* The TTE_ERROR code for a PKCS#11 return value (CKR_PIN_INCORRECT -> PIN_INCORRECT,
 * CKR_TOKEN_NOT_PRESENT -> TOKEN_NOT_FOUND, ...; anything unlisted -> TOKEN). */
int tte_p11_error_from_ckr(unsigned long rv);
/* "CKR_PIN_INCORRECT", ... or "CKR_(other)" for values we do not name (static string). */
const char *tte_p11_ckr_name(unsigned long rv);

G_END_DECLS
