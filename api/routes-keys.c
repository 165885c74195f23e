/* routes-keys.c — administration of signers' keys (role admin), all audited:
 *
 *   GET  /api/v1/admin/signers/{id}/keys            list
 *   POST /api/v1/admin/signers/{id}/keys            generate ON the signer's token -> CSR
 *   POST /api/v1/admin/signers/{id}/keys/import     register a token key with its issued
 *                                                   certificate
 *   POST /api/v1/admin/keys/{id}/certificate        the issued certificate of a generated key
 *   POST /api/v1/admin/keys/{id}/activate           the signer's one active key (the previous
 *                                                   one is retired in the same transaction)
 *   POST /api/v1/admin/keys/{id}/retire
 *
 * Generating a key and accepting its certificate need the signer's passphrase (the token
 * PIN) besides the admin token: the administrator alone cannot touch the signer's token,
 * and a certificate is accepted only after a test signature with the token key proved it
 * is that key's.
 */
#include "routes-svc.h"

#include "audit.h"
#include "routes.h"
#include "tte-error.h"
#include "tte-limits.h"
#include "tte-p11.h"

#include <openssl/x509v3.h>
#include <string.h>

typedef struct {
  ApiKeyCache *kc;
} KeysCtx;

static json_t *
key_to_json(const ApiKey *k)
{
  g_autofree char *created = api_time_format(k->created);
  g_autofree char *updated = api_time_format(k->updated);
  json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "id", k->id, "signer_id",
                        k->signer_id, "pkcs11_uri", k->pkcs11_uri, "state", k->state, "created",
                        created, "updated", updated, "has_certificate", k->cert_pem != NULL);

  if (k->cert_pem != NULL) {
    g_autoptr(TteX509Stack) certs =
        tte_x509_load_mem(k->cert_pem, strlen(k->cert_pem), "certificate", NULL);
    if (k->not_before != 0) {
      g_autofree char *nb = api_time_format(k->not_before);
      g_autofree char *na = api_time_format(k->not_after);
      json_object_set_new(o, "not_before", json_string(nb));
      json_object_set_new(o, "not_after", json_string(na));
    }
    if (certs != NULL && sk_X509_num(certs) > 0) {
      X509 *c = sk_X509_value(certs, 0);
      g_autofree char *subj = tte_x509_name_string(X509_get_subject_name(c));
      g_autofree char *iss = tte_x509_name_string(X509_get_issuer_name(c));
      g_autofree char *serial = tte_x509_serial_hex(c);
      json_object_set_new(o, "subject", json_string(subj));
      json_object_set_new(o, "issuer", json_string(iss));
      json_object_set_new(o, "serial", json_string(serial));
    }
    json_object_set_new(o, "certificate", json_string(k->cert_pem));
  }
  return o;
}

static ApiKey *
key_get(ApiStore *store, const char *id, GError **error)
{
  g_autoptr(GPtrArray) all = store->ops->key_list(store, NULL, error);

  if (all == NULL)
    return NULL;
  for (guint i = 0; i < all->len; i++) {
    ApiKey *k = g_ptr_array_index(all, i);
    if (g_strcmp0(k->id, id) == 0)
      return g_ptr_array_steal_index(all, i);
  }
  g_set_error_literal(error, API_ERROR, API_ERROR_NOT_FOUND, "no such key");
  return NULL;
}

static TteSecret *
body_passphrase(ApiRequest *req, json_t *body, GError **error)
{
  const char *h = api_request_header(req, "X-TTE-Passphrase");
  json_t *p = json_object_get(body, "passphrase");

  if (h != NULL && p != NULL) {
    g_set_error_literal(error, API_ERROR, API_ERROR_BAD_REQUEST,
                        "send the passphrase either in the header or in the body, not both");
    return NULL;
  }
  if (h != NULL)
    return tte_secret_new(h, strlen(h), error);
  if (p == NULL || !json_is_string(p)) {
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_PIN_INVALID,
                        "the signer's passphrase (their token PIN) is required: field "
                        "'passphrase' or header X-TTE-Passphrase");
    return NULL;
  }
  return tte_secret_new(json_string_value(p), json_string_length(p), error);
}

/* Check @cert (with @extra issuers) against the configured roots: path valid now, and
 * a key usage fit for signing documents. */
static gboolean
check_certificate(const ApiConfig *cfg, X509 *cert, TteX509Stack *extra, GError **error)
{
  g_autoptr(X509_STORE) store = X509_STORE_new();
  g_autoptr(X509_STORE_CTX) ctx = X509_STORE_CTX_new();
  g_autoptr(TteX509Stack) untrusted = sk_X509_new_null();
  uint32_t ku;
  int rc;

  if (cfg->trust_roots == NULL || cfg->trust_roots[0] == NULL) {
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_NOT_SUPPORTED,
                        "no trust roots configured ([verify] trust_roots): cannot check the "
                        "certificate");
    return FALSE;
  }
  for (guint i = 0; cfg->trust_roots[i] != NULL; i++) {
    g_autoptr(TteX509Stack) roots = tte_x509_load_file(cfg->trust_roots[i], error);
    if (roots == NULL)
      return FALSE;
    for (int j = 0; j < sk_X509_num(roots); j++)
      X509_STORE_add_cert(store, sk_X509_value(roots, j));
  }
  for (guint i = 0; cfg->intermediates != NULL && cfg->intermediates[i] != NULL; i++) {
    g_autoptr(TteX509Stack) more = tte_x509_load_file(cfg->intermediates[i], error);
    if (more == NULL)
      return FALSE;
    for (int j = 0; j < sk_X509_num(more); j++) {
      X509_up_ref(sk_X509_value(more, j));
      sk_X509_push(untrusted, sk_X509_value(more, j));
    }
  }
  for (int j = 0; extra != NULL && j < sk_X509_num(extra); j++) {
    X509_up_ref(sk_X509_value(extra, j));
    sk_X509_push(untrusted, sk_X509_value(extra, j));
  }
  if (!X509_STORE_CTX_init(ctx, store, cert, untrusted)) {
    tte_set_error_openssl(error, TTE_ERROR_CRYPTO, "cannot set up chain building");
    return FALSE;
  }
  X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_X509_STRICT);
  X509_VERIFY_PARAM_set_depth(X509_STORE_CTX_get0_param(ctx), (int)TTE_LIMIT_CHAIN_MAX_DEPTH);
  rc = X509_verify_cert(ctx);
  if (rc != 1) {
    int err = X509_STORE_CTX_get_error(ctx);
    tte_openssl_clear_errors();
    g_set_error(error, TTE_ERROR, TTE_ERROR_CERT_MISMATCH,
                "the certificate does not chain to the configured roots: %s",
                X509_verify_cert_error_string(err));
    return FALSE;
  }
  /* Documents are signed with digitalSignature and/or nonRepudiation (contentCommitment);
   * a certificate without a key usage extension, or a CA certificate, is refused. */
  ku = X509_get_key_usage(cert);
  if ((X509_get_extension_flags(cert) & EXFLAG_KUSAGE) == 0 ||
      (ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)) == 0 ||
      (X509_get_extension_flags(cert) & EXFLAG_CA) != 0) {
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_CERT_MISMATCH,
                        "the certificate's key usage does not allow signing documents "
                        "(digitalSignature or nonRepudiation, not a CA)");
    return FALSE;
  }
  return TRUE;
}

static gint64
asn1_time_usec(const ASN1_TIME *t)
{
  struct tm tm;

  if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
    return 0;
  {
    g_autoptr(GDateTime) dt = g_date_time_new_utc(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                                                  tm.tm_hour, tm.tm_min, tm.tm_sec);
    return dt ? g_date_time_to_unix(dt) * G_USEC_PER_SEC : 0;
  }
}

/* Parse, check the chain and prove with the token that the certificate is @uri's key.
 * On success *@pem_out is the PEM to store (signer certificate first, then any issuers
 * sent along) and the validity is filled in. */
static gboolean
accept_certificate(ApiRequest *req, ApiKeyCache *kc, const char *uri, const char *pem,
                   TteSecret *pin, char **pem_out, gint64 *nb, gint64 *na, char **subject_out,
                   char **serial_out, GError **error)
{
  g_autoptr(TteX509Stack) certs = NULL;
  g_autoptr(TteX509Stack) extra = NULL;
  g_autoptr(TteSigningKey) k = NULL;
  X509 *cert;

  certs = tte_x509_load_mem(pem, strlen(pem), "certificate", error);
  if (certs == NULL) {
    if (error != NULL && *error != NULL && (*error)->domain == TTE_ERROR &&
        (*error)->code != TTE_ERROR_LIMIT)
      (*error)->code = TTE_ERROR_INVALID_ARGUMENT;
    return FALSE;
  }
  cert = sk_X509_value(certs, 0);
  extra = sk_X509_new_null();
  for (int i = 1; i < sk_X509_num(certs); i++) {
    X509_up_ref(sk_X509_value(certs, i));
    sk_X509_push(extra, sk_X509_value(certs, i));
  }
  if (!check_certificate(api_request_config(req), cert, extra, error))
    return FALSE;
  /* Opening the key with this certificate makes the token sign a probe that is checked
   * against the certificate's public key: CERT_MISMATCH if it is another key. */
  k = api_keycache_open_uri(kc, uri, pin, cert, extra, error);
  if (k == NULL)
    return FALSE;
  *pem_out = g_strdup(pem);
  *nb = asn1_time_usec(X509_get0_notBefore(cert));
  *na = asn1_time_usec(X509_get0_notAfter(cert));
  *subject_out = tte_x509_name_string(X509_get_subject_name(cert));
  *serial_out = tte_x509_serial_hex(cert);
  return TRUE;
}

/* ---- handlers ----------------------------------------------------------------------- */

static ApiResponse *
keys_list(ApiRequest *req, gpointer user_data, GError **error)
{
  ApiStore *store = api_request_store(req);
  const char *sid = api_request_param(req, "id");
  g_autoptr(ApiSigner) s = store->ops->signer_get(store, sid, error);
  g_autoptr(GPtrArray) keys = NULL;
  json_t *arr;

  if (s == NULL)
    return NULL;
  keys = store->ops->key_list(store, sid, error);
  if (keys == NULL)
    return NULL;
  arr = json_array();
  for (guint i = 0; i < keys->len; i++)
    json_array_append_new(arr, key_to_json(g_ptr_array_index(keys, i)));
  return api_response_json(200, json_pack("{s:o}", "keys", arr));
}

/* RFC 4514 escaping of one attribute value. */
static void
dn_append(GString *dn, const char *attr, const char *value)
{
  if (value == NULL || *value == '\0')
    return;
  if (dn->len > 0)
    g_string_append_c(dn, ',');
  g_string_append_printf(dn, "%s=", attr);
  for (const char *p = value; *p != '\0'; p++) {
    if (strchr(",+\"\\<>;=", *p) != NULL || (p == value && (*p == '#' || *p == ' ')))
      g_string_append_c(dn, '\\');
    g_string_append_c(dn, *p);
  }
}

static ApiResponse *
key_generate(ApiRequest *req, gpointer user_data, GError **error)
{
  KeysCtx *ctx = user_data;
  ApiStore *store = api_request_store(req);
  const char *sid = api_request_param(req, "id");
  g_autoptr(json_t) body = api_request_json(req, error);
  g_autoptr(ApiSigner) s = NULL;
  g_autoptr(TteSecret) pin = NULL;
  g_autoptr(TteP11Module) m = NULL;
  g_autoptr(GError) local = NULL;
  g_autoptr(ApiKey) k = g_new0(ApiKey, 1);
  g_autoptr(ApiAuditEntry) audit = NULL;
  g_autoptr(json_t) details = NULL;
  g_autofree char *actor = api_principal_actor(api_request_principal(req));
  g_autofree char *uri = NULL, *key_uri = NULL, *csr = NULL, *dn_auto = NULL;
  const char *token, *label, *type_s, *subject;
  TteP11KeyType type = TTE_P11_KEY_RSA_3072;
  json_t *out;

  if (body == NULL || !api_refuse_secret_in_query(req, error))
    return NULL;
  if ((token = api_json_require_string(body, "token", TTE_LIMIT_P11_ATTR_MAX_LEN, error)) == NULL ||
      (label = api_json_require_string(body, "label", TTE_LIMIT_P11_ATTR_MAX_LEN, error)) == NULL)
    return NULL;
  type_s = api_json_optional_string(body, "type", 16, &local);
  if (local == NULL)
    subject = api_json_optional_string(body, "subject", TTE_LIMIT_SUBJECT_MAX_LEN, &local);
  if (local != NULL) {
    g_propagate_error(error, g_steal_pointer(&local));
    return NULL;
  }
  if (type_s != NULL && !tte_p11_key_type_from_string(type_s, &type, error)) {
    (*error)->domain = API_ERROR;
    (*error)->code = API_ERROR_BAD_REQUEST;
    return NULL;
  }
  s = store->ops->signer_get(store, sid, error);
  if (s == NULL)
    return NULL;
  if (subject == NULL) {
    GString *dn = g_string_new(NULL);
    dn_append(dn, "CN", s->name);
    dn_append(dn, "O", s->organization);
    dn_append(dn, "C", "ID");
    dn_auto = g_string_free(dn, FALSE);
    subject = dn_auto;
  }
  pin = body_passphrase(req, body, error);
  if (pin == NULL)
    return NULL;
  {
    /* Build the URI from parsed parts so that the values are percent-encoded. */
    TteP11Uri u = {.token = (char *)token, .object = (char *)label};
    uri = tte_p11_uri_format(&u);
  }
  m = api_keycache_module(ctx->kc, error);
  if (m == NULL)
    return NULL;
  /* libp11 work on the token: exclusive, like opening a key (see keycache.h). */
  api_keycache_token_lock(ctx->kc, uri, TRUE);
  key_uri = tte_p11_generate_key(m, uri, pin, type, error);
  csr = key_uri ? tte_p11_make_csr(m, key_uri, pin, subject, TTE_HASH_SHA256, error) : NULL;
  api_keycache_token_unlock(ctx->kc, uri, TRUE);
  if (csr == NULL) {
    api_keycache_note_error(ctx->kc, error ? *error : NULL);
    return NULL;
  }
  k->id = api_store_new_id("k_", error);
  if (k->id == NULL)
    return NULL;
  k->signer_id = g_strdup(s->id);
  k->pkcs11_uri = g_strdup(key_uri);
  k->state = g_strdup("generated");
  k->created = k->updated = g_get_real_time();
  details = json_pack("{s:s, s:s, s:s, s:s}", "signer", s->id, "uri", key_uri, "type",
                      type_s ? type_s : "rsa:3072", "subject", subject);
  audit = api_audit_entry_new(actor, "key.generate", k->id, details);
  if (!store->ops->key_insert(store, k, audit, error))
    return NULL;
  out = json_pack("{s:o, s:s}", "key", key_to_json(k), "csr", csr);
  return api_response_json(201, out);
}

static ApiResponse *
key_import(ApiRequest *req, gpointer user_data, GError **error)
{
  KeysCtx *ctx = user_data;
  ApiStore *store = api_request_store(req);
  const char *sid = api_request_param(req, "id");
  g_autoptr(json_t) body = api_request_json(req, error);
  g_autoptr(ApiSigner) s = NULL;
  g_autoptr(TteSecret) pin = NULL;
  g_autoptr(ApiKey) k = g_new0(ApiKey, 1);
  g_autoptr(ApiAuditEntry) audit = NULL;
  g_autoptr(json_t) details = NULL;
  g_autoptr(TteP11Uri) parsed = NULL;
  g_autofree char *actor = api_principal_actor(api_request_principal(req));
  g_autofree char *pem = NULL, *subject = NULL, *serial = NULL;
  const char *uri, *cert;
  gint64 nb = 0, na = 0;

  if (body == NULL || !api_refuse_secret_in_query(req, error))
    return NULL;
  if ((uri = api_json_require_string(body, "uri", TTE_LIMIT_P11_URI_MAX_LEN, error)) == NULL)
    return NULL;
  cert = json_string_value(json_object_get(body, "certificate"));
  if (cert == NULL ||
      json_string_length(json_object_get(body, "certificate")) > TTE_LIMIT_CERT_FILE_MAX) {
    g_set_error_literal(error, API_ERROR, API_ERROR_BAD_REQUEST,
                        "missing field 'certificate' (PEM, the signer's first, then issuers)");
    return NULL;
  }
  parsed = tte_p11_uri_parse(uri, error);
  if (parsed == NULL)
    return NULL;
  if (parsed->pin_source != NULL || parsed->module_path != NULL) {
    g_set_error_literal(error, API_ERROR, API_ERROR_BAD_REQUEST,
                        "the key URI must not name a module or a PIN source");
    return NULL;
  }
  s = store->ops->signer_get(store, sid, error);
  if (s == NULL)
    return NULL;
  if (g_strcmp0(s->state, "active") != 0) {
    g_set_error_literal(error, API_ERROR, API_ERROR_CONFLICT, "the signer is disabled");
    return NULL;
  }
  pin = body_passphrase(req, body, error);
  if (pin == NULL)
    return NULL;
  if (!accept_certificate(req, ctx->kc, uri, cert, pin, &pem, &nb, &na, &subject, &serial, error))
    return NULL;
  k->id = api_store_new_id("k_", error);
  if (k->id == NULL)
    return NULL;
  k->signer_id = g_strdup(s->id);
  k->pkcs11_uri = g_strdup(uri);
  k->cert_pem = g_steal_pointer(&pem);
  k->state = g_strdup("generated");
  k->not_before = nb;
  k->not_after = na;
  k->created = k->updated = g_get_real_time();
  details = json_pack("{s:s, s:s, s:s, s:s}", "signer", s->id, "uri", uri, "subject", subject,
                      "serial", serial);
  audit = api_audit_entry_new(actor, "key.import", k->id, details);
  if (!store->ops->key_insert(store, k, audit, error))
    return NULL;
  return api_response_json(201, json_pack("{s:o}", "key", key_to_json(k)));
}

static ApiResponse *
key_certificate(ApiRequest *req, gpointer user_data, GError **error)
{
  KeysCtx *ctx = user_data;
  ApiStore *store = api_request_store(req);
  const char *id = api_request_param(req, "id");
  g_autoptr(json_t) body = api_request_json(req, error);
  g_autoptr(ApiKey) k = NULL;
  g_autoptr(TteSecret) pin = NULL;
  g_autoptr(ApiAuditEntry) audit = NULL;
  g_autoptr(json_t) details = NULL;
  g_autofree char *actor = api_principal_actor(api_request_principal(req));
  g_autofree char *pem = NULL, *subject = NULL, *serial = NULL;
  const char *cert;
  gint64 nb = 0, na = 0, now = g_get_real_time();

  if (body == NULL || !api_refuse_secret_in_query(req, error))
    return NULL;
  cert = json_string_value(json_object_get(body, "certificate"));
  if (cert == NULL) {
    g_set_error_literal(error, API_ERROR, API_ERROR_BAD_REQUEST, "missing field 'certificate'");
    return NULL;
  }
  k = key_get(store, id, error);
  if (k == NULL)
    return NULL;
  if (g_strcmp0(k->state, "generated") != 0 || k->cert_pem != NULL) {
    g_set_error(error, API_ERROR, API_ERROR_CONFLICT,
                "the key is '%s'%s: only a generated key without certificate takes one", k->state,
                k->cert_pem ? " with a certificate" : "");
    return NULL;
  }
  pin = body_passphrase(req, body, error);
  if (pin == NULL)
    return NULL;
  if (!accept_certificate(req, ctx->kc, k->pkcs11_uri, cert, pin, &pem, &nb, &na, &subject, &serial,
                          error))
    return NULL;
  details =
      json_pack("{s:s, s:s, s:s}", "signer", k->signer_id, "subject", subject, "serial", serial);
  audit = api_audit_entry_new(actor, "key.certificate", k->id, details);
  if (!store->ops->key_set_cert(store, k->id, pem, nb, na, now, audit, error))
    return NULL;
  g_free(k->cert_pem);
  k->cert_pem = g_steal_pointer(&pem);
  k->not_before = nb;
  k->not_after = na;
  k->updated = now;
  return api_response_json(200, json_pack("{s:o}", "key", key_to_json(k)));
}

static ApiResponse *
key_activate(ApiRequest *req, gpointer user_data, GError **error)
{
  KeysCtx *ctx = user_data;
  ApiStore *store = api_request_store(req);
  const char *id = api_request_param(req, "id");
  g_autoptr(ApiKey) k = key_get(store, id, error);
  g_autoptr(ApiAuditEntry) audit = NULL;
  g_autoptr(json_t) details = NULL;
  g_autofree char *actor = api_principal_actor(api_request_principal(req));
  gint64 now = g_get_real_time();

  if (k == NULL)
    return NULL;
  if (k->not_after != 0 && k->not_after < now) {
    g_set_error_literal(error, API_ERROR, API_ERROR_CONFLICT, "the key's certificate has expired");
    return NULL;
  }
  details = json_pack("{s:s}", "signer", k->signer_id);
  audit = api_audit_entry_new(actor, "key.activate", k->id, details);
  if (!store->ops->key_activate(store, k->id, now, audit, error))
    return NULL;
  api_keycache_invalidate(ctx->kc, k->signer_id);
  g_free(k->state);
  k->state = g_strdup("active");
  k->updated = now;
  return api_response_json(200, json_pack("{s:o}", "key", key_to_json(k)));
}

static ApiResponse *
key_retire(ApiRequest *req, gpointer user_data, GError **error)
{
  KeysCtx *ctx = user_data;
  ApiStore *store = api_request_store(req);
  const char *id = api_request_param(req, "id");
  g_autoptr(ApiKey) k = key_get(store, id, error);
  g_autoptr(ApiAuditEntry) audit = NULL;
  g_autoptr(json_t) details = NULL;
  g_autofree char *actor = api_principal_actor(api_request_principal(req));
  gint64 now = g_get_real_time();

  if (k == NULL)
    return NULL;
  if (g_strcmp0(k->state, "active") != 0 && g_strcmp0(k->state, "generated") != 0) {
    g_set_error(error, API_ERROR, API_ERROR_CONFLICT, "the key is already %s", k->state);
    return NULL;
  }
  details = json_pack("{s:s, s:s}", "signer", k->signer_id, "previous", k->state);
  audit = api_audit_entry_new(actor, "key.retire", k->id, details);
  if (!store->ops->key_set_state(store, k->id, "retired", now, audit, error))
    return NULL;
  /* Drop the cached active key before answering: the next sign must not use it. */
  api_keycache_invalidate(ctx->kc, k->signer_id);
  g_free(k->state);
  k->state = g_strdup("retired");
  k->updated = now;
  return api_response_json(200, json_pack("{s:o}", "key", key_to_json(k)));
}

void
api_routes_keys_register(ApiServer *srv, ApiKeyCache *kc)
{
  static KeysCtx ctx;

  ctx.kc = kc;
  api_server_add_route(srv, "GET", "/api/v1/admin/signers/{id}/keys", API_ALLOW_ADMIN, keys_list,
                       &ctx);
  api_server_add_route(srv, "POST", "/api/v1/admin/signers/{id}/keys", API_ALLOW_ADMIN,
                       key_generate, &ctx);
  api_server_add_route(srv, "POST", "/api/v1/admin/signers/{id}/keys/import", API_ALLOW_ADMIN,
                       key_import, &ctx);
  api_server_add_route(srv, "POST", "/api/v1/admin/keys/{id}/certificate", API_ALLOW_ADMIN,
                       key_certificate, &ctx);
  api_server_add_route(srv, "POST", "/api/v1/admin/keys/{id}/activate", API_ALLOW_ADMIN,
                       key_activate, &ctx);
  api_server_add_route(srv, "POST", "/api/v1/admin/keys/{id}/retire", API_ALLOW_ADMIN, key_retire,
                       &ctx);
}
