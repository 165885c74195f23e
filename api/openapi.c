/* openapi.c — GET /api/v1/openapi.json: an OpenAPI 3.0 description of the service.
 *
 * The operations are listed once in the table below.  The document is built from the
 * table, and tests/api/test-openapi.c checks it against the routes really registered
 * (each registered route is described, each description is a registered route), so
 * the two cannot drift apart silently.  Routes of other files that may or may not be
 * built (the citizen web page) are marked optional: described only when registered.
 */
#include "routes-svc.h"

#include "tte-config.h"

#include <string.h>

typedef enum {
  B_NONE,
  B_JSON,
  B_SIGN,   /* application/pdf, multipart/form-data or JSON */
  B_UPLOAD, /* a PDF: application/pdf, multipart 'file' or JSON base64 'file' */
} BodyKind;

typedef struct {
  const char *method, *path, *summary;
  guint roles;
  BodyKind body;
  const char *ok_status;
  const char *ok_type; /* content type of the success response */
  gboolean optional;
  const char *tag;
} Op;

#define R_ANY API_ALLOW_ANY
#define R_ADMIN API_ALLOW_ADMIN
#define R_SIGNER API_ALLOW_SIGNER
#define JSON_T "application/json"

static const Op ops[] = {
    {"GET", "/healthz", "Liveness probe", R_ANY, B_NONE, "200", JSON_T, FALSE, "probes"},
    {"GET", "/readyz", "Readiness: database writable, PKCS#11 module answers", R_ANY, B_NONE, "200",
     JSON_T, FALSE, "probes"},
    {"GET", "/metrics", "Prometheus metrics", R_ANY, B_NONE, "200", "text/plain", FALSE, "probes"},
    {"POST", "/api/v1/admin/signers", "Create a signer", R_ADMIN, B_JSON, "201", JSON_T, FALSE,
     "admin"},
    {"GET", "/api/v1/admin/signers", "List signers", R_ADMIN, B_NONE, "200", JSON_T, FALSE,
     "admin"},
    {"POST", "/api/v1/admin/signers/{id}/disable", "Disable a signer", R_ADMIN, B_NONE, "200",
     JSON_T, FALSE, "admin"},
    {"POST", "/api/v1/admin/tokens", "Issue an API token (shown once)", R_ADMIN, B_JSON, "201",
     JSON_T, FALSE, "admin"},
    {"DELETE", "/api/v1/admin/tokens/{id}", "Revoke an API token", R_ADMIN, B_NONE, "200", JSON_T,
     FALSE, "admin"},
    {"GET", "/api/v1/audit", "Read the audit log", R_ADMIN, B_NONE, "200", JSON_T, FALSE, "audit"},
    {"GET", "/api/v1/audit/verify", "Verify the audit hash chain", R_ADMIN, B_NONE, "200", JSON_T,
     FALSE, "audit"},
    {"GET", "/api/v1/documents/{id}", "Public register record of a signed document", R_ANY, B_NONE,
     "200", JSON_T, FALSE, "documents"},
    {"POST", "/api/v1/documents/{id}/withdraw", "Withdraw a document", R_SIGNER | R_ADMIN, B_JSON,
     "200", JSON_T, FALSE, "documents"},
    {"POST", "/api/v1/sign",
     "Sign a PDF with the signer's active key (passphrase in the body or X-TTE-Passphrase; "
     "Idempotency-Key supported)",
     R_SIGNER, B_SIGN, "201", "application/pdf", FALSE, "sign"},
    {"POST", "/api/v1/sign/batch", "Sign several PDFs with one passphrase; per-file results",
     R_SIGNER, B_SIGN, "200", JSON_T, FALSE, "sign"},
    {"POST", "/api/v1/seal",
     "Seal a PDF with the organisation seal of the calling token (a seal token, issued with "
     "role 'seal'; the service holds the seal's PIN, so no passphrase; same body forms, options "
     "and Idempotency-Key as /api/v1/sign; signer tokens get 403)",
     R_SIGNER, B_SIGN, "201", "application/pdf", FALSE, "sign"},
    {"POST", "/api/v1/verify", "Verify the signatures of a PDF (the tte verify --json report)",
     R_ANY, B_UPLOAD, "200", JSON_T, FALSE, "verify"},
    {"GET", "/api/v1/admin/signers/{id}/keys", "List a signer's keys", R_ADMIN, B_NONE, "200",
     JSON_T, FALSE, "keys"},
    {"POST", "/api/v1/admin/signers/{id}/keys",
     "Generate a key on the signer's token and return a CSR (needs the signer's passphrase)",
     R_ADMIN, B_JSON, "201", JSON_T, FALSE, "keys"},
    {"POST", "/api/v1/admin/signers/{id}/keys/import",
     "Register a token key with its issued certificate (checked against the roots and the key)",
     R_ADMIN, B_JSON, "201", JSON_T, FALSE, "keys"},
    {"POST", "/api/v1/admin/keys/{id}/certificate",
     "Import the issued certificate of a generated key", R_ADMIN, B_JSON, "200", JSON_T, FALSE,
     "keys"},
    {"POST", "/api/v1/admin/keys/{id}/activate",
     "Make this the signer's active key (the previous one is retired)", R_ADMIN, B_NONE, "200",
     JSON_T, FALSE, "keys"},
    {"POST", "/api/v1/admin/keys/{id}/retire", "Retire a key (never used again)", R_ADMIN, B_NONE,
     "200", JSON_T, FALSE, "keys"},
    {"POST", "/api/v2/sign/pdf", "BSrE v2 compatible signing (HTTP Basic: password = API token)",
     R_SIGNER, B_JSON, "200", JSON_T, FALSE, "bsre"},
    {"POST", "/api/v2/verify/pdf", "BSrE v2 compatible verification", R_ANY, B_JSON, "200", JSON_T,
     FALSE, "bsre"},
    {"POST", "/api/v2/user/check/status", "BSrE v2 compatible signer status", R_SIGNER | R_ADMIN,
     B_JSON, "200", JSON_T, FALSE, "bsre"},
    {"GET", "/api/v1/openapi.json", "This document", R_ANY, B_NONE, "200", JSON_T, FALSE, "meta"},
    {"GET", "/", "Citizen verification page", R_ANY, B_NONE, "200", "text/html", TRUE, "web"},
    {"GET", "/v/{id}", "Citizen page for one document (the QR code target)", R_ANY, B_NONE, "200",
     "text/html", TRUE, "web"},
};

typedef struct {
  const char *method, *path;
  gboolean found;
} Lookup;

static void
find_route(const char *method, const char *pattern, guint allowed, gpointer data)
{
  Lookup *l = data;

  if (strcmp(method, l->method) == 0 && strcmp(pattern, l->path) == 0)
    l->found = TRUE;
}

static json_t *
request_body(BodyKind kind)
{
  json_t *content = json_object();
  json_t *obj = json_pack("{s:s}", "type", "object");

  switch (kind) {
  case B_NONE:
    json_decref(obj);
    json_decref(content);
    return NULL;
  case B_JSON:
    json_object_set_new(content, JSON_T, json_pack("{s:o}", "schema", obj));
    break;
  case B_SIGN:
  case B_UPLOAD:
    json_object_set_new(
        content, "application/pdf",
        json_pack("{s:{s:s, s:s}}", "schema", "type", "string", "format", "binary"));
    json_object_set_new(content, "multipart/form-data", json_pack("{s:O}", "schema", obj));
    json_object_set_new(content, JSON_T, json_pack("{s:o}", "schema", obj));
    break;
  }
  return json_pack("{s:b, s:o}", "required", 1, "content", content);
}

json_t *
api_openapi_document(ApiServer *srv)
{
  json_t *paths = json_object();
  json_t *doc;

  for (gsize i = 0; i < G_N_ELEMENTS(ops); i++) {
    const Op *op = &ops[i];
    json_t *item, *operation, *responses, *params = json_array();
    g_autofree char *method = g_ascii_strdown(op->method, -1);
    json_t *body;

    if (op->optional) {
      Lookup l = {op->method, op->path, FALSE};
      api_server_foreach_route(srv, find_route, &l);
      if (!l.found) {
        json_decref(params);
        continue;
      }
    }
    item = json_object_get(paths, op->path);
    if (item == NULL) {
      item = json_object();
      json_object_set_new(paths, op->path, item);
    }
    if (strstr(op->path, "{id}") != NULL)
      json_array_append_new(params, json_pack("{s:s, s:s, s:b, s:{s:s, s:s}}", "name", "id", "in",
                                              "path", "required", 1, "schema", "type", "string",
                                              "pattern", "^[A-Za-z0-9_-]{1,64}$"));
    responses = json_pack("{s:{s:s, s:{s:{}}}, s:{s:s}}", op->ok_status, "description", "success",
                          "content", op->ok_type, "default", "description",
                          "error: {\"error\":{\"code\":…,\"message\":…}}");
    operation = json_pack("{s:s, s:[s], s:o, s:o}", "summary", op->summary, "tags", op->tag,
                          "parameters", params, "responses", responses);
    json_object_set_new(operation, "x-tte-roles",
                        json_pack("[s?, s?, s?]", (op->roles & API_ALLOW_PUBLIC) ? "public" : NULL,
                                  (op->roles & API_ALLOW_SIGNER) ? "signer" : NULL,
                                  (op->roles & API_ALLOW_ADMIN) ? "admin" : NULL));
    if ((op->roles & API_ALLOW_PUBLIC) == 0)
      json_object_set_new(operation, "security",
                          strncmp(op->path, "/api/v2/", 8) == 0
                              ? json_pack("[{s:[]}, {s:[]}]", "bearer", "basic")
                              : json_pack("[{s:[]}]", "bearer"));
    body = request_body(op->body);
    if (body != NULL)
      json_object_set_new(operation, "requestBody", body);
    json_object_set_new(item, method, operation);
  }
  doc = json_pack("{s:s, s:{s:s, s:s, s:s}, s:o, s:{s:{s:{s:s, s:s}, s:{s:s, s:s}}}}", "openapi",
                  "3.0.3", "info", "title", "TTE signing service", "version", TTE_VERSION,
                  "description",
                  "PAdES signing and verification for local governments; see docs/api.md", "paths",
                  paths, "components", "securitySchemes", "bearer", "type", "http", "scheme",
                  "bearer", "basic", "type", "http", "scheme", "basic");
  return doc;
}

static ApiResponse *
handle_openapi(ApiRequest *req, gpointer user_data, GError **error)
{
  return api_response_json(200, api_openapi_document(user_data));
}

void
api_openapi_register(ApiServer *srv)
{
  api_server_add_route(srv, "GET", "/api/v1/openapi.json", API_ALLOW_ANY, handle_openapi, srv);
}
