/* routes.c — admin, audit and document-register endpoints. */
#include "routes.h"

#include "audit.h"
#include "keycache.h"
#include "routes-svc.h"
#include "tte-error.h"

#include <string.h>

static gboolean
identifier_ok(const char *s)
{
  gsize n = strlen(s);
  const char *at = strchr(s, '@');

  /* NIK: the 16-digit Indonesian national identity number. */
  if (n == 16) {
    gboolean digits = TRUE;
    for (gsize i = 0; i < n; i++)
      digits = digits && g_ascii_isdigit(s[i]);
    if (digits)
      return TRUE;
  }
  /* E-mail: deliberately loose (one '@', something on each side, no spaces).  Never
   * the "seal:" prefix, which marks the register entries of seals (routes-svc.h). */
  if (at == NULL || at == s || at[1] == '\0' || strchr(at + 1, '@') != NULL || n > 254 ||
      g_str_has_prefix(s, API_SEAL_IDENTIFIER_PREFIX))
    return FALSE;
  for (gsize i = 0; i < n; i++)
    if (g_ascii_isspace(s[i]))
      return FALSE;
  return TRUE;
}

json_t *
api_signer_to_json(const ApiSigner *s, gboolean with_identifier)
{
  g_autofree char *created = api_time_format(s->created);
  json_t *o = json_pack("{s:s, s:s, s:s?, s:s?}", "id", s->id, "name", s->name, "title", s->title,
                        "organization", s->organization);

  /* The NIK is personal data: the public register shows name, title and OPD only. */
  if (with_identifier) {
    json_object_set_new(o, "identifier", json_string(s->identifier));
    json_object_set_new(o, "state", json_string(s->state));
    json_object_set_new(o, "created", json_string(created));
  }
  return o;
}

ApiSigner *
api_signer_create(ApiStore *store, const char *identifier, const char *name, const char *title,
                  const char *organization, const char *actor, GError **error)
{
  g_autoptr(ApiSigner) s = g_new0(ApiSigner, 1);
  g_autoptr(ApiAuditEntry) audit = NULL;
  g_autoptr(json_t) details = NULL;

  /* The HTTP path has validated UTF-8 already (jansson); the CLI bootstrap has not. */
  if (!g_utf8_validate(identifier, -1, NULL) || name == NULL || !g_utf8_validate(name, -1, NULL) ||
      (title != NULL && !g_utf8_validate(title, -1, NULL)) ||
      (organization != NULL && !g_utf8_validate(organization, -1, NULL))) {
    g_set_error_literal(error, API_ERROR, API_ERROR_BAD_REQUEST,
                        "signer fields must be UTF-8 text");
    return NULL;
  }
  if (!identifier_ok(identifier)) {
    g_set_error_literal(error, API_ERROR, API_ERROR_BAD_REQUEST,
                        "identifier must be a 16-digit NIK or an e-mail address");
    return NULL;
  }
  s->id = api_store_new_id("s_", error);
  if (s->id == NULL)
    return NULL;
  s->identifier = g_strdup(identifier);
  s->name = g_strdup(name);
  s->title = g_strdup(title);
  s->organization = g_strdup(organization);
  s->state = g_strdup("active");
  s->created = g_get_real_time();
  details = json_pack("{s:s, s:s, s:s?, s:s?}", "identifier", identifier, "name", name, "title",
                      title, "organization", organization);
  audit = api_audit_entry_new(actor, "signer.create", s->id, details);
  if (!store->ops->signer_insert(store, s, audit, error)) {
    if (error != NULL && g_error_matches(*error, API_ERROR, API_ERROR_CONFLICT)) {
      g_clear_error(error);
      g_set_error_literal(error, API_ERROR, API_ERROR_CONFLICT,
                          "a signer with this identifier exists");
    }
    return NULL;
  }
  return g_steal_pointer(&s);
}

ApiDocument *
api_document_record(ApiStore *store, const char *signer_id, const char *key_id,
                    const char *sha256_hex, const char *idempotency_key, const char *request_hash,
                    const char *actor, json_t *details, GError **error)
{
  g_autoptr(ApiDocument) d = g_new0(ApiDocument, 1);
  g_autoptr(ApiAuditEntry) audit = NULL;
  g_autoptr(json_t) all = details ? json_deep_copy(details) : json_object();

  if (sha256_hex == NULL || strlen(sha256_hex) != 64 ||
      strspn(sha256_hex, "0123456789abcdef") != 64) {
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                        "document digest must be 64 lower-case hex digits");
    return NULL;
  }
  /* 128 random bits: the id is public (QR code) and must not be guessable. */
  d->id = api_store_new_id("", error);
  if (d->id == NULL)
    return NULL;
  d->signer_id = g_strdup(signer_id);
  d->key_id = g_strdup(key_id);
  d->signed_at = g_get_real_time();
  d->sha256 = g_strdup(sha256_hex);
  d->status = g_strdup("valid");
  d->idempotency_key = g_strdup(idempotency_key);
  d->request_hash = g_strdup(request_hash);
  json_object_set_new(all, "sha256", json_string(sha256_hex));
  json_object_set_new(all, "signer", json_string(signer_id));
  if (key_id != NULL)
    json_object_set_new(all, "key", json_string(key_id));
  audit = api_audit_entry_new(actor, "document.sign", d->id, all);
  /* The audit time and the document time are the same instant. */
  audit->time = d->signed_at;
  if (!store->ops->document_insert(store, d, audit, error)) {
    if (error != NULL && g_error_matches(*error, API_ERROR, API_ERROR_CONFLICT))
      g_prefix_error(error, "idempotency key already used, or duplicate id: ");
    return NULL;
  }
  return g_steal_pointer(&d);
}

static char *
actor_of(ApiRequest *req)
{
  return api_principal_actor(api_request_principal(req));
}

/* ---- signers ------------------------------------------------------------------------ */

static ApiResponse *
signer_create(ApiRequest *req, gpointer user_data, GError **error)
{
  g_autoptr(json_t) body = api_request_json(req, error);
  g_autofree char *actor = actor_of(req);
  g_autoptr(ApiSigner) s = NULL;
  g_autoptr(GError) local = NULL;
  const char *identifier, *name, *title, *org;
  g_autofree char *location = NULL;
  ApiResponse *resp;

  if (body == NULL)
    return NULL;
  if ((identifier = api_json_require_string(body, "identifier", 254, error)) == NULL ||
      (name = api_json_require_string(body, "name", API_TEXT_FIELD_MAX, error)) == NULL)
    return NULL;
  title = api_json_optional_string(body, "title", API_TEXT_FIELD_MAX, &local);
  if (local == NULL)
    org = api_json_optional_string(body, "organization", API_TEXT_FIELD_MAX, &local);
  if (local != NULL) {
    g_propagate_error(error, g_steal_pointer(&local));
    return NULL;
  }
  s = api_signer_create(api_request_store(req), identifier, name, title, org, actor, error);
  if (s == NULL)
    return NULL;
  location = g_strconcat("/api/v1/admin/signers/", s->id, NULL);
  resp = api_response_json(201, json_pack("{s:o}", "signer", api_signer_to_json(s, TRUE)));
  api_response_add_header(resp, "Location", location);
  return resp;
}

static ApiResponse *
signer_list(ApiRequest *req, gpointer user_data, GError **error)
{
  ApiStore *store = api_request_store(req);
  g_autoptr(GPtrArray) list = store->ops->signer_list(store, error);
  json_t *arr;

  if (list == NULL)
    return NULL;
  arr = json_array();
  for (guint i = 0; i < list->len; i++)
    json_array_append_new(arr, api_signer_to_json(g_ptr_array_index(list, i), TRUE));
  return api_response_json(200, json_pack("{s:o}", "signers", arr));
}

static ApiResponse *
signer_disable(ApiRequest *req, gpointer user_data, GError **error)
{
  ApiStore *store = api_request_store(req);
  const char *id = api_request_param(req, "id");
  g_autofree char *actor = actor_of(req);
  g_autoptr(ApiSigner) s = store->ops->signer_get(store, id, error);
  g_autoptr(ApiAuditEntry) audit = NULL;

  if (s == NULL)
    return NULL;
  if (g_strcmp0(s->state, "disabled") == 0) {
    g_set_error_literal(error, API_ERROR, API_ERROR_CONFLICT, "signer is already disabled");
    return NULL;
  }
  audit = api_audit_entry_new(actor, "signer.disable", id, NULL);
  if (!store->ops->signer_set_state(store, id, "disabled", audit, error))
    return NULL;
  /* Their open key goes too (their tokens stopped working with the commit above). */
  api_keycache_signer_changed(id);
  g_free(s->state);
  s->state = g_strdup("disabled");
  return api_response_json(200, json_pack("{s:o}", "signer", api_signer_to_json(s, TRUE)));
}

/* ---- tokens ------------------------------------------------------------------------- */

/* The register entry of @seal (identifier "seal:NAME"), created on first use with a
 * "signer.create" audit entry by @actor. */
static ApiSigner *
seal_signer_ensure(ApiStore *store, const ApiSealConfig *seal, const char *actor, GError **error)
{
  g_autofree char *identifier = g_strconcat(API_SEAL_IDENTIFIER_PREFIX, seal->name, NULL);
  g_autoptr(GPtrArray) all = store->ops->signer_list(store, error);
  g_autoptr(ApiSigner) s = NULL;
  g_autoptr(ApiAuditEntry) audit = NULL;
  json_t *details;

  if (all == NULL)
    return NULL;
  for (guint i = 0; i < all->len; i++) {
    ApiSigner *e = g_ptr_array_index(all, i);
    if (strcmp(e->identifier, identifier) == 0)
      return g_steal_pointer(&g_ptr_array_index(all, i));
  }
  s = g_new0(ApiSigner, 1);
  s->id = api_store_new_id("s_", error);
  if (s->id == NULL)
    return NULL;
  s->identifier = g_strdup(identifier);
  s->name = g_strdup(seal->display_name);
  s->title = g_strdup(seal->title);
  s->organization = g_strdup(seal->organization);
  s->state = g_strdup("active");
  s->created = g_get_real_time();
  details = json_pack("{s:s, s:s, s:s, s:s?, s:s?}", "identifier", identifier, "seal", seal->name,
                      "name", s->name, "title", s->title, "organization", s->organization);
  audit = api_audit_entry_new(actor, "signer.create", s->id, details);
  json_decref(details);
  if (!store->ops->signer_insert(store, s, audit, error))
    return NULL;
  return g_steal_pointer(&s);
}

/* {"role": "seal", "seal": NAME, "label"?}: a token for the seal's register entry. */
static ApiResponse *
seal_token_issue(ApiRequest *req, json_t *body, const char *actor, GError **error)
{
  ApiStore *store = api_request_store(req);
  g_autoptr(GError) local = NULL;
  g_autoptr(ApiSigner) entry = NULL;
  g_autoptr(TteSecret) text = NULL;
  g_autofree char *id = NULL;
  g_autofree char *default_label = NULL;
  const ApiSealConfig *seal;
  const char *name, *label;

  if ((name = api_json_require_string(body, "seal", 64, error)) == NULL)
    return NULL;
  if (json_object_get(body, "signer_id") != NULL) {
    g_set_error_literal(error, API_ERROR, API_ERROR_BAD_REQUEST, "a seal token has no signer_id");
    return NULL;
  }
  label = api_json_optional_string(body, "label", API_TEXT_FIELD_MAX, &local);
  if (local != NULL) {
    g_propagate_error(error, g_steal_pointer(&local));
    return NULL;
  }
  seal = api_config_find_seal(api_request_config(req), name);
  if (seal == NULL) {
    g_set_error(error, API_ERROR, API_ERROR_BAD_REQUEST, "no seal \"%s\" is configured", name);
    return NULL;
  }
  entry = seal_signer_ensure(store, seal, actor, error);
  if (entry == NULL)
    return NULL;
  if (label == NULL)
    label = default_label = g_strconcat("seal ", seal->name, NULL);
  if (!api_auth_issue_token(store, API_ROLE_SIGNER, entry->id, label, actor, &text, &id, error))
    return NULL;
  return api_response_json(201, json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", id, "token",
                                          tte_secret_get(text), "role", "seal", "seal", seal->name,
                                          "signer_id", entry->id));
}

static ApiResponse *
token_issue(ApiRequest *req, gpointer user_data, GError **error)
{
  g_autoptr(json_t) body = api_request_json(req, error);
  g_autofree char *actor = actor_of(req);
  g_autoptr(GError) local = NULL;
  g_autoptr(TteSecret) text = NULL;
  g_autofree char *id = NULL;
  const char *role_s, *signer_id = NULL, *label = NULL;
  ApiRole role;
  json_t *out;

  if (body == NULL)
    return NULL;
  if ((role_s = api_json_require_string(body, "role", 16, error)) == NULL)
    return NULL;
  if (strcmp(role_s, "seal") == 0)
    return seal_token_issue(req, body, actor, error);
  if (!api_role_from_string(role_s, &role) || role == API_ROLE_PUBLIC) {
    g_set_error_literal(error, API_ERROR, API_ERROR_BAD_REQUEST,
                        "role must be signer, admin or seal");
    return NULL;
  }
  signer_id = api_json_optional_string(body, "signer_id", 64, &local);
  if (local == NULL)
    label = api_json_optional_string(body, "label", API_TEXT_FIELD_MAX, &local);
  if (local != NULL) {
    g_propagate_error(error, g_steal_pointer(&local));
    return NULL;
  }
  if (role == API_ROLE_ADMIN && signer_id != NULL) {
    g_set_error_literal(error, API_ERROR, API_ERROR_BAD_REQUEST, "an admin token has no signer_id");
    return NULL;
  }
  if (role == API_ROLE_SIGNER && signer_id == NULL) {
    g_set_error_literal(error, API_ERROR, API_ERROR_BAD_REQUEST, "missing field 'signer_id'");
    return NULL;
  }
  if (!api_auth_issue_token(api_request_store(req), role, signer_id, label, actor, &text, &id,
                            error)) {
    /* An unknown signer in the body is a bad request, not a missing URL. */
    if (error != NULL && g_error_matches(*error, API_ERROR, API_ERROR_NOT_FOUND))
      (*error)->code = API_ERROR_BAD_REQUEST;
    return NULL;
  }
  /* The only place a token leaves the service: this response, once. */
  out = json_pack("{s:s, s:s, s:s, s:s?}", "id", id, "token", tte_secret_get(text), "role",
                  api_role_to_string(role), "signer_id", signer_id);
  return api_response_json(201, out);
}

static ApiResponse *
token_revoke(ApiRequest *req, gpointer user_data, GError **error)
{
  const char *id = api_request_param(req, "id");
  g_autofree char *actor = actor_of(req);

  if (!api_auth_revoke_token(api_request_store(req), id, actor, error))
    return NULL;
  return api_response_json(200, json_pack("{s:s, s:b}", "id", id, "revoked", 1));
}

/* ---- audit -------------------------------------------------------------------------- */

static ApiResponse *
audit_list(ApiRequest *req, gpointer user_data, GError **error)
{
  ApiStore *store = api_request_store(req);
  ApiAuditFilter f = {0};
  const char *since = api_request_query(req, "since");
  const char *after = api_request_query(req, "after_id");
  const char *limit = api_request_query(req, "limit");
  g_autoptr(GPtrArray) list = NULL;
  json_t *arr;
  guint64 v;

  if (since != NULL && !api_time_parse(since, &f.since, error))
    return NULL;
  if (after != NULL) {
    if (!g_ascii_string_to_unsigned(after, 10, 0, G_MAXINT64, &v, NULL)) {
      g_set_error_literal(error, API_ERROR, API_ERROR_BAD_REQUEST, "after_id must be an entry id");
      return NULL;
    }
    f.after_id = (gint64)v;
  }
  f.limit = 100;
  if (limit != NULL) {
    if (!g_ascii_string_to_unsigned(limit, 10, 1, API_STORE_AUDIT_PAGE, &v, NULL)) {
      g_set_error(error, API_ERROR, API_ERROR_BAD_REQUEST, "limit must be 1..%u",
                  API_STORE_AUDIT_PAGE);
      return NULL;
    }
    f.limit = (guint)v;
  }
  f.action = api_request_query(req, "action");
  f.actor = api_request_query(req, "actor");
  list = store->ops->audit_list(store, &f, error);
  if (list == NULL)
    return NULL;
  arr = json_array();
  for (guint i = 0; i < list->len; i++)
    json_array_append_new(arr, api_audit_entry_to_json(g_ptr_array_index(list, i)));
  {
    json_t *o = json_pack("{s:o}", "entries", arr);
    /* A full page means there may be more: tell the client where to continue. */
    if (list->len == f.limit) {
      const ApiAuditEntry *last = g_ptr_array_index(list, list->len - 1);
      json_object_set_new(o, "next_after_id", json_integer(last->id));
    }
    return api_response_json(200, o);
  }
}

static ApiResponse *
audit_verify(ApiRequest *req, gpointer user_data, GError **error)
{
  ApiAuditVerifyResult r;
  json_t *o;

  if (!api_audit_verify(api_request_store(req), &r, error))
    return NULL;
  o = json_pack("{s:b, s:I, s:I, s:s}", "ok", r.ok, "count", (json_int_t)r.count, "head_id",
                (json_int_t)r.head_id, "head_hash", r.head_hash ? r.head_hash : "");
  if (!r.ok) {
    json_object_set_new(o, "first_bad_id", json_integer(r.first_bad_id));
    json_object_set_new(o, "reason", json_string(r.reason));
  }
  api_audit_verify_result_clear(&r);
  return api_response_json(200, o);
}

/* ---- documents ---------------------------------------------------------------------- */

static ApiResponse *
document_get(ApiRequest *req, gpointer user_data, GError **error)
{
  ApiStore *store = api_request_store(req);
  g_autoptr(ApiDocument) d = store->ops->document_get(store, api_request_param(req, "id"), error);
  g_autoptr(ApiSigner) s = NULL;
  g_autofree char *signed_at = NULL;
  json_t *o;

  if (d == NULL)
    return NULL;
  s = store->ops->signer_get(store, d->signer_id, error);
  if (s == NULL)
    return NULL;
  signed_at = api_time_format(d->signed_at);
  o = json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", d->id, "status", d->status, "signed_at",
                signed_at, "sha256", d->sha256, "signer", api_signer_to_json(s, FALSE));
  if (d->withdrawn_at != 0) {
    g_autofree char *w = api_time_format(d->withdrawn_at);
    json_object_set_new(o, "withdrawn_at", json_string(w));
    json_object_set_new(o, "withdraw_reason",
                        json_string(d->withdraw_reason ? d->withdraw_reason : ""));
  }
  return api_response_json(200, o);
}

static ApiResponse *
document_withdraw(ApiRequest *req, gpointer user_data, GError **error)
{
  ApiStore *store = api_request_store(req);
  const ApiPrincipal *who = api_request_principal(req);
  const char *id = api_request_param(req, "id");
  g_autoptr(json_t) body = api_request_json(req, error);
  g_autoptr(ApiDocument) d = NULL;
  g_autoptr(ApiAuditEntry) audit = NULL;
  g_autofree char *actor = actor_of(req);
  g_autoptr(json_t) details = NULL;
  const char *reason;

  if (body == NULL)
    return NULL;
  if ((reason = api_json_require_string(body, "reason", API_TEXT_FIELD_MAX, error)) == NULL)
    return NULL;
  d = store->ops->document_get(store, id, error);
  if (d == NULL)
    return NULL;
  if (who->role == API_ROLE_SIGNER && g_strcmp0(who->signer_id, d->signer_id) != 0) {
    g_set_error_literal(error, API_ERROR, API_ERROR_FORBIDDEN,
                        "only the signer of a document or an administrator may withdraw it");
    return NULL;
  }
  details = json_pack("{s:s}", "reason", reason);
  audit = api_audit_entry_new(actor, "document.withdraw", id, details);
  if (!store->ops->document_withdraw(store, id, reason, g_get_real_time(), audit, error))
    return NULL;
  return document_get(req, user_data, error);
}

void
api_routes_register(ApiServer *srv)
{
  api_server_add_route(srv, "POST", "/api/v1/admin/signers", API_ALLOW_ADMIN, signer_create, NULL);
  api_server_add_route(srv, "GET", "/api/v1/admin/signers", API_ALLOW_ADMIN, signer_list, NULL);
  api_server_add_route(srv, "POST", "/api/v1/admin/signers/{id}/disable", API_ALLOW_ADMIN,
                       signer_disable, NULL);
  api_server_add_route(srv, "POST", "/api/v1/admin/tokens", API_ALLOW_ADMIN, token_issue, NULL);
  api_server_add_route(srv, "DELETE", "/api/v1/admin/tokens/{id}", API_ALLOW_ADMIN, token_revoke,
                       NULL);
  api_server_add_route(srv, "GET", "/api/v1/audit", API_ALLOW_ADMIN, audit_list, NULL);
  api_server_add_route(srv, "GET", "/api/v1/audit/verify", API_ALLOW_ADMIN, audit_verify, NULL);
  api_server_add_route(srv, "GET", "/api/v1/documents/{id}", API_ALLOW_ANY, document_get, NULL);
  api_server_add_route(srv, "POST", "/api/v1/documents/{id}/withdraw",
                       API_ALLOW_SIGNER | API_ALLOW_ADMIN, document_withdraw, NULL);
}
