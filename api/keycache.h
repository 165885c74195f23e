/* keycache.h — signers' (and seals') keys for the signing endpoints.
 *
 * What is cached: the PKCS#11 module (loaded once), each key's parsed certificate and
 * chain (a key's certificate never changes once imported), which key is a signer's
 * active one (invalidated by the key endpoints), and OPEN KEYS: once a request's
 * passphrase has opened a key on its token (C_Login, key lookup, probe signature), the
 * logged-in key with its session pool stays in memory for later requests.
 *
 * Sole control still holds: every request must carry the passphrase.  A cached key is
 * used only when the request's passphrase matches a keyed hash of the passphrase that
 * opened it (HMAC-SHA256 under a random key made at start-up, compared in constant
 * time, held only in memory and wiped with the entry).  Any other passphrase is sent to
 * the token with C_Login after a logout (tte_p11_signing_key_try_pin), so a wrong one
 * still counts against the token's own retry counter and is refused with the token's
 * answer (PIN_INCORRECT, PIN_LOCKED).  An open key is dropped when its signer's keys
 * change (activate, retire, import) or the signer is disabled, when the token fails
 * while signing with it (the next request opens it again, e.g. after the token was
 * reinserted), and after [sign] key_idle_timeout seconds without use (0 = never kept:
 * each request opens and releases its key).
 *
 * Also counts what /metrics shows about signing: a latency histogram of the token part
 * of a request (open + sign) and token errors by code; and the readiness check "the
 * PKCS#11 module answers".
 */
#pragma once

#include "http.h"
#include "store.h"
#include "tte-secret.h"
#include "tte-signing-key.h"

G_BEGIN_DECLS

typedef struct ApiKeyCache ApiKeyCache;

/* New cache over @cfg and @store (both borrowed; @store may be NULL in unit tests).
 * Never fails: the module is loaded at first use, so a missing token shows in /readyz,
 * not as a start failure. */
ApiKeyCache *api_keycache_new(const ApiConfig *cfg, ApiStore *store);
void api_keycache_free(ApiKeyCache *kc);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ApiKeyCache, api_keycache_free)

/* Register /readyz check "pkcs11" (the module loads, and the token of every active key
 * is present) and the signing metrics on @srv. */
void api_keycache_attach(ApiKeyCache *kc, ApiServer *srv);

/* The signer's only active key (caller owns), or NULL with API_ERROR_CONFLICT
 * ("no active key") — a retired key is never returned. */
ApiKey *api_keycache_active_key(ApiKeyCache *kc, ApiStore *store, const char *signer_id,
                                GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Forget what is cached about @signer_id's keys (after activate/retire/import, signer
 * disabled): the active key and every open key of the signer (its passphrase hash is
 * wiped). */
void api_keycache_invalidate(ApiKeyCache *kc, const char *signer_id);

/* Key @key for signing with @pin, for one request (caller unrefs when the request ends):
 * the open key when @pin is the passphrase that opened it, else the key opened on the
 * token with @pin (and kept, see above).  @pin is borrowed.  Errors as
 * tte_p11_open_signing_key (PIN_INCORRECT, PIN_LOCKED, TOKEN_NOT_FOUND, CERT_MISMATCH,
 * ...); they are counted for /metrics. */
TteSigningKey *api_keycache_open(ApiKeyCache *kc, const ApiKey *key, TteSecret *pin,
                                 GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* The one path of the signing endpoints: the active key of @signer_id (CONFLICT when
 * there is none), opened with *@pin as api_keycache_open does.  *@pin is freed and set
 * to NULL in every case, so the passphrase does not outlive this call in the handler.
 * On success *@key_out (may be NULL) gets the key record (caller owns). */
TteSigningKey *api_keycache_open_active(ApiKeyCache *kc, ApiStore *store, const char *signer_id,
                                        TteSecret **pin, ApiKey **key_out,
                                        GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Like api_keycache_open for a key that is not a signer's (a seal key of the
 * configuration): @owner groups keys for invalidation, @key_id names the open key. */
TteSigningKey *api_keycache_open_owned(ApiKeyCache *kc, const char *owner, const char *key_id,
                                       const char *uri, X509 *cert, TteX509Stack *chain,
                                       TteSecret *pin, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* The key of seal @seal (config [seal.NAME]) opened with the PIN the service holds,
 * kept open like a signer's key (owner and key id "seal:NAME").  The certificate comes
 * from the seal's certificate file (read once), else from the token. */
TteSigningKey *api_keycache_open_seal(ApiKeyCache *kc, const ApiSealConfig *seal,
                                      GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Signing with @sk (from api_keycache_open*) failed with @error: when the token failed
 * (TOKEN_NOT_FOUND, TOKEN, PIN_*, KEY_NOT_FOUND, ...) the open key is dropped, so the
 * next request opens it again.  Other errors are ignored. */
void api_keycache_key_failed(ApiKeyCache *kc, TteSigningKey *sk, const GError *error);

/* api_keycache_invalidate(@signer_id) on every live cache of the process (normally one),
 * for handlers that have no cache at hand (api/routes.c: signer disabled). */
void api_keycache_signer_changed(const char *signer_id);

/* How many keys are open (kept logged in) now; for tests and /metrics. */
guint api_keycache_open_count(ApiKeyCache *kc);

/* Per-token exclusion between opening a key and signing with keys of the same token.
 * Opening a key (libp11 enumerates the token and then releases its own view of it)
 * closes every session of the slot, so a signature running at that moment on the same
 * token fails with CKR_SESSION_HANDLE_INVALID.  Until pkcs11/ stops doing that, opens
 * (and key generation) take the token's lock exclusively and signatures take it shared.
 * @uri names the token; an unparsable URI falls back to one lock for all tokens. */
void api_keycache_token_lock(ApiKeyCache *kc, const char *uri, gboolean exclusive);
void api_keycache_token_unlock(ApiKeyCache *kc, const char *uri, gboolean exclusive);

/* Open the key at @uri with @pin and the caller's @cert/@chain (may be NULL), under the
 * token's exclusive lock (key import: the probe signature proves cert and key match). */
TteSigningKey *api_keycache_open_uri(ApiKeyCache *kc, const char *uri, TteSecret *pin, X509 *cert,
                                     TteX509Stack *chain, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* The loaded PKCS#11 module (a new reference), loading it on first use. */
gpointer api_keycache_module(ApiKeyCache *kc, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Count a token error (code name) and record the duration of one signing request's
 * token work, for /metrics. */
void api_keycache_note_error(ApiKeyCache *kc, const GError *error);
void api_keycache_note_sign(ApiKeyCache *kc, double seconds);

G_END_DECLS
