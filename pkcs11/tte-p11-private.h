/* tte-p11-private.h — shared between the pkcs11/ sources, not installed, not for callers. */
#pragma once

#include <glib.h>
#include <libp11.h>
#include <p11-kit/pkcs11.h>

#include "tte-p11.h"

G_BEGIN_DECLS

struct TteP11Module {
  gint ref_count;
  char *path;              /* real path, the key of the loaded-module table */
  PKCS11_CTX *ctx;
  /* libp11 keeps per-slot caches (keys, certificates) that are not safe to rebuild
   * while another thread walks them; every enumeration, login and object change in
   * this process goes through this lock.  Signing does not take it. */
  GMutex lock;
  /* Raw function list for what libp11 0.4.12 cannot do (EC key generation, object
   * attributes); filled lazily under @lock. */
  void *dl;
  CK_FUNCTION_LIST *fl;
  /* Releasing a libp11 slot list calls C_CloseAllSessions, and SoftHSM2 2.6 crashes when
   * a session is closed while another thread is inside C_Sign with it.  So signing
   * (tte_p11_use_begin/end) and slot release exclude each other; a waiting release
   * holds new signers back, so it cannot starve under load. */
  GMutex use_lock;
  GCond use_cond;
  guint users;
  guint closers;
};

/* Bracket calls that use sessions of a signing key (C_SignInit, C_Sign, re-login). */
void tte_p11_use_begin(TteP11Module *m);
void tte_p11_use_end(TteP11Module *m);

/* A slot list enumerated for one purpose; the selected slot points into it. */
typedef struct {
  TteP11Module *module; /* borrowed */
  PKCS11_CTX *ctx;
  PKCS11_SLOT *slots;
  unsigned int nslots;
  PKCS11_SLOT *slot; /* the token chosen by tte_p11_slots_find_token(), borrowed */
} TteP11Slots;

void tte_p11_slots_free(TteP11Slots *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TteP11Slots, tte_p11_slots_free)

/* Enumerate the module's slots and select the one token that matches @uri's token
 * attributes (label, serial, manufacturer, model).  With no token attribute there must
 * be exactly one initialized token.  Call with m->lock held. */
TteP11Slots *tte_p11_slots_find_token(TteP11Module *m, const TteP11Uri *uri,
                                      GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Log in as the user on @slot with @pin; maps CKR codes to TTE errors.  The PIN is
 * checked even when this process has the token logged in already (see
 * tte_p11_login_result).  Call with m->lock. */
gboolean tte_p11_login(TteP11Module *m, PKCS11_SLOT *slot, TteSecret *pin,
                       GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* C_Login(CKU_USER, @pin) in @session on the token @label/@serial, with the PIN really
 * checked.  A token that is already logged in (PKCS#11 login state is per process and
 * token, and SoftHSM2 keeps it even after the last session closed) answers
 * CKR_USER_ALREADY_LOGGED_IN without looking at the PIN, so a wrong PIN would pass: we
 * keep a keyed hash of the PIN that did log in (process-wide) and accept "already logged
 * in" only for the same PIN; when we have none, we log out and in again. */
gboolean tte_p11_user_login(CK_FUNCTION_LIST *fl, CK_SESSION_HANDLE session, const char *label,
                            const char *serial, TteSecret *pin,
                            GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Log the token out and present @pin with C_Login, so that the token itself checks it
 * (and counts a wrong one against its retry counter) even while this process is logged
 * in.  When the token refuses @pin and @keep is not NULL, logs in again with @keep;
 * *@kept says whether that worked.  Returns TRUE when the token accepted @pin (it is
 * then logged in with @pin). */
gboolean tte_p11_user_login_again(CK_FUNCTION_LIST *fl, CK_SESSION_HANDLE session,
                                  const char *label, const char *serial, TteSecret *pin,
                                  TteSecret *keep, gboolean *kept,
                                  GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Find the one private key selected by @uri's object/id on the logged-in token.
 * Borrowed from libp11's cache (valid while @s lives).  Call with m->lock. */
PKCS11_KEY *tte_p11_find_private_key(TteP11Slots *s, const TteP11Uri *uri,
                                     GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Empty the OpenSSL error queue after a failed libp11 call: returns the first CKR value
 * libp11 put on it (CKR_OK when none) and appends the queue's text to @detail (may be
 * NULL). */
unsigned long tte_p11_drain_errors(GString *detail);

/* Set @error from the OpenSSL error queue after a failed libp11 call: the code comes
 * from the CKR value when there is one (tte_p11_error_from_ckr), else @fallback_code;
 * the queue text is appended and the queue is cleared. */
void tte_p11_set_error(GError **error, int fallback_code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* Set @error for a CKR value returned by a raw C_* call. */
void tte_p11_set_error_ckr(GError **error, unsigned long rv, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* The raw function list of @m's module (dlopen of the same path; already initialized by
 * libp11).  Call with m->lock. */
CK_FUNCTION_LIST *tte_p11_module_functions(TteP11Module *m, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* The public half of @key as a plain EVP_PKEY (caller frees), or NULL.  Call with m->lock. */
EVP_PKEY *tte_p11_key_public(PKCS11_TOKEN *tok, PKCS11_KEY *key);

/* TRUE when @cert's public key is @key's (public key object with the same ID, else the
 * private key object's public part).  Call with m->lock. */
gboolean tte_p11_key_matches_cert(PKCS11_TOKEN *tok, PKCS11_KEY *key, X509 *cert);

/* The token's certificate for @key (same ID, else same label).  New reference or NULL.
 * Call with m->lock. */
X509 *tte_p11_find_cert_for_key(PKCS11_TOKEN *tok, PKCS11_KEY *key);

/* Issuer certificates of @cert found on the token (walking subject == issuer, at most
 * TTE_LIMIT_CHAIN_MAX_DEPTH), nearest first.  Never NULL.  Call with m->lock. */
TteX509Stack *tte_p11_token_chain(PKCS11_TOKEN *tok, X509 *cert);

/* Hex of @id ("" for NULL), caller frees. */
char *tte_p11_hex(const guint8 *data, gsize len);

/* URI selecting the object with @label/@id on the token of @slot. */
char *tte_p11_object_uri(PKCS11_TOKEN *tok, const char *type, const char *label,
                         const guint8 *id, gsize id_len);

G_END_DECLS
