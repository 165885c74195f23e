/* routes-svc.h — the signing-service endpoints (sign, verify, keys, BSrE v2, OpenAPI)
 * and what their files share.  docs/api.md describes the API. */
#pragma once

#include "http.h"
#include "audit.h"
#include "keycache.h"
#include "multipart.h"

#include "vfy.h"

#include <jansson.h>

G_BEGIN_DECLS

/* Register every endpoint of the signing service on @srv (@kc borrowed, must outlive
 * the server).  Calls the per-file functions below. */
void api_routes_service_register(ApiServer *srv, ApiKeyCache *kc);

void api_routes_sign_register(ApiServer *srv, ApiKeyCache *kc);
void api_routes_verify_register(ApiServer *srv);
void api_routes_keys_register(ApiServer *srv, ApiKeyCache *kc);
void api_routes_bsre_register(ApiServer *srv, ApiKeyCache *kc);
void api_openapi_register(ApiServer *srv);
/* The OpenAPI 3 document for the routes of @srv (new reference). */
json_t *api_openapi_document(ApiServer *srv);

/* ---- shared by routes-sign.c and routes-bsre.c -------------------------------------- */

/* What one signature asks for (strings borrowed from the request). */
typedef struct {
  GBytes *pdf;
  const char *name; /* client's file name, for batch results; may be NULL */
  guint page;
  gboolean have_rect;
  double rect[4];
  const char *field, *anchor, *reason, *location, *contact;
  GBytes *image; /* PNG/JPEG for the stamp; NULL = none */
  int certify;
  gboolean visible_qr; /* put the verification QR into a visible stamp */
  /* Several signatures on one file in one request (BSrE's signatureProperties[]): every
   * stamp's QR points at @document_id (NULL = draw a new id), the intermediate revisions
   * are signed with @no_record, and the last one's audit details say
   * "signatures_applied" (0 = not said). */
  const char *document_id;
  gboolean no_record;
  guint signatures_applied;
} ApiSignJob;

/* Hex SHA-256 over the non-secret content of @job (idempotency request hash).  The
 * passphrase is never part of it: a stored hash of it would be a PIN oracle. */
char *api_sign_job_hash(const ApiSignJob *job);

/* Sign @job with the already opened @sk (active key @key of @signer, or the key of seal
 * @seal with @key NULL) and record the document and its audit entry ("document.sign",
 * or "document.seal" with the seal's name) durably BEFORE returning the signed bytes in
 * *@out.  @idempotency_key / @request_hash may be NULL.  Returns the record (caller
 * owns).  With @job->no_record it only signs: nothing is kept, recorded or audited, and
 * the returned document (id, sha256) is in no store. */
ApiDocument *api_sign_and_record(ApiRequest *req, ApiKeyCache *kc, const ApiSigner *signer,
                                 const ApiKey *key, const char *seal, TteSigningKey *sk,
                                 const ApiSignJob *job, const char *idempotency_key,
                                 const char *request_hash, GBytes **out,
                                 GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Seals ([seal.NAME] in the configuration) act through a register entry of their own: a
 * signer record with identifier "seal:NAME" (created when an admin first issues a token
 * for the seal), whose signer-role API tokens are the seal's tokens.  They may use
 * POST /api/v1/seal only; every signing endpoint refuses them with 403, and
 * POST /api/v1/seal refuses everyone else. */
#define API_SEAL_IDENTIFIER_PREFIX "seal:"
gboolean api_signer_is_seal(const ApiSigner *signer);

/* Refuse a request whose URL carries a secret (passphrase, PIN, password): 400. */
gboolean api_refuse_secret_in_query(ApiRequest *req, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Decode standard base64 text (padding optional, whitespace ignored) of at most
 * @max_out decoded bytes; BAD_REQUEST naming @what otherwise. */
GBytes *api_base64_decode(const char *text, gsize len, gsize max_out, const char *what,
                          GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Run the verifier over @pdf with the trust roots, intermediates and CRLs of the
 * configuration.  @skip_visual skips the rendered-page comparison. */
VfyReport *api_verify_pdf(ApiRequest *req, GBytes *pdf, gboolean skip_visual,
                          GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* The uploaded PDF of a public upload endpoint: application/pdf body, multipart part
 * @part_name, or base64 member @part_name of a JSON object (then *@json_out keeps the
 * object for other members; may be NULL). */
GBytes *api_upload_pdf(ApiRequest *req, const char *part_name, json_t **json_out,
                       GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
