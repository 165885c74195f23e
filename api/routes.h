/* routes.h — the endpoints of `tte serve` that need neither the signer nor the
 * verifier: administration of signers and tokens, the audit log, and the public
 * document register.  The signing and verification endpoints register next to these.
 */
#pragma once

#include "http.h"

G_BEGIN_DECLS

/* Longest accepted free-text field (name, title, organisation, reason, label). */
#define API_TEXT_FIELD_MAX 512u

/* Register every endpoint below on @srv (see docs/service.md for the API). */
void api_routes_register(ApiServer *srv);

/* Create signer @identifier (NIK of 16 digits or e-mail address) with an audit entry by
 * @actor; shared by the admin endpoint and the offline bootstrap.  Returns the new
 * record (caller owns). */
ApiSigner *api_signer_create(ApiStore *store, const char *identifier, const char *name,
                             const char *title, const char *organization, const char *actor,
                             GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Record a document signed by @signer_id with @key_id (may be NULL) whose signed file
 * has SHA-256 @sha256_hex, together with its "document.sign" audit entry by @actor
 * carrying @details (may be NULL; no secrets), in ONE transaction: when this returns,
 * both are durable and the signed file may be handed to the client.  The id is new and
 * random.  @idempotency_key and @request_hash may be NULL; a key this signer already
 * used fails with API_ERROR_CONFLICT (look it up first with
 * store->ops->document_find_idempotent and compare request_hash).  Caller owns the
 * result. */
ApiDocument *api_document_record(ApiStore *store, const char *signer_id, const char *key_id,
                                 const char *sha256_hex, const char *idempotency_key,
                                 const char *request_hash, const char *actor, json_t *details,
                                 GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Public JSON of a signer (admin views include the identifier). */
json_t *api_signer_to_json(const ApiSigner *s, gboolean with_identifier);

G_END_DECLS
