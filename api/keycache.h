/* keycache.h — signers' keys for the signing endpoints.
 *
 * What is cached, and what is not: the PKCS#11 module (loaded once), each key's parsed
 * certificate and chain (a key's certificate never changes once imported) and which key
 * is a signer's active one (invalidated by the key endpoints).  The signer's passphrase
 * is the token PIN (sole control): a token key is opened for ONE request with the PIN
 * given in that request and released when the request ends, so neither the PIN nor a
 * logged-in key outlives the request.  (Organisation seal keys with a service-held PIN,
 * which could stay open, are not implemented yet.)
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

/* Forget what is cached about @signer_id's keys (after activate/retire/import). */
void api_keycache_invalidate(ApiKeyCache *kc, const char *signer_id);

/* Open @key for signing with @pin, for one request (caller unrefs when the request
 * ends).  Errors as tte_p11_open_signing_key (PIN_INCORRECT, PIN_LOCKED, TOKEN_NOT_FOUND,
 * CERT_MISMATCH, ...); they are counted for /metrics. */
TteSigningKey *api_keycache_open(ApiKeyCache *kc, const ApiKey *key, TteSecret *pin,
                                 GError **error) G_GNUC_WARN_UNUSED_RESULT;

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
