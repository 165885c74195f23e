/* auth.h — API tokens and roles.
 *
 * A token is "tte_" followed by the base64url (no padding) encoding of 32 bytes from
 * RAND_bytes.  It is shown once, when issued; the store keeps only its SHA-256, and
 * the lookup compares hashes in constant time.  The token text never reaches a log,
 * the database, an error message or any response other than the one that issues it.
 */
#pragma once

#include "store.h"
#include "tte-secret.h"

G_BEGIN_DECLS

#define API_TOKEN_PREFIX "tte_"
#define API_TOKEN_RANDOM_BYTES 32u
#define API_TOKEN_TEXT_LEN 47u /* prefix + 43 base64url characters */

/* Who is calling.  A request without credentials is API_ROLE_PUBLIC with NULL ids. */
typedef struct {
  ApiRole role;
  char *token_id;  /* the token's public id, never the token */
  char *signer_id; /* for API_ROLE_SIGNER */
} ApiPrincipal;

void api_principal_clear(ApiPrincipal *p);

/* The audit actor for @p: "admin:<token id>", "signer:<signer id>" or "public"
 * (caller frees). */
char *api_principal_actor(const ApiPrincipal *p);

/* A fresh token text (see above).  Caller owns the secret. */
TteSecret *api_token_generate(GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* SHA-256 of @len bytes of token text. */
void api_token_hash(const char *text, gsize len, guint8 out[32]);

/* TRUE when @text has the shape of a token (prefix, length, alphabet); no lookup. */
gboolean api_token_well_formed(const char *text, gsize len);

/* Issue a token for @role (signer: @signer_id must name an active signer; admin:
 * @signer_id NULL), store its hash and append a "token.issue" audit entry by @actor in
 * the same transaction.  On success *@text_out holds the token (shown once) and
 * *@id_out its public id (both owned by the caller). */
gboolean api_auth_issue_token(ApiStore *store, ApiRole role, const char *signer_id,
                              const char *label, const char *actor, TteSecret **text_out,
                              char **id_out, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Revoke token @id with a "token.revoke" audit entry.  NOT_FOUND when no valid token
 * has that id. */
gboolean api_auth_revoke_token(ApiStore *store, const char *id, const char *actor,
                               GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Resolve the Authorization header value @authorization (may be NULL: public).  Only
 * "Bearer <token>" is accepted.  API_ERROR_UNAUTHORIZED when the header is present but
 * malformed, unknown, revoked, or names a disabled signer; API_ERROR_STORAGE /
 * UNAVAILABLE when the database failed.  On success fills @out (clear it after). */
gboolean api_auth_authenticate(ApiStore *store, const char *authorization, ApiPrincipal *out,
                               GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
