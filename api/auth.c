/* auth.c — token issue, lookup and revocation. */
#include "auth.h"

#include "audit.h"
#include "tte-error.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

void
api_principal_clear(ApiPrincipal *p)
{
  g_clear_pointer(&p->token_id, g_free);
  g_clear_pointer(&p->signer_id, g_free);
  p->role = API_ROLE_PUBLIC;
}

char *
api_principal_actor(const ApiPrincipal *p)
{
  switch (p->role) {
  case API_ROLE_ADMIN:
    return g_strconcat("admin:", p->token_id ? p->token_id : "?", NULL);
  case API_ROLE_SIGNER:
    return g_strconcat("signer:", p->signer_id ? p->signer_id : "?", NULL);
  case API_ROLE_PUBLIC:
  default:
    return g_strdup("public");
  }
}

TteSecret *
api_token_generate(GError **error)
{
  guint8 raw[API_TOKEN_RANDOM_BYTES];
  char text[API_TOKEN_TEXT_LEN + 1];
  static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  gsize o = 0;
  TteSecret *s;

  if (RAND_bytes(raw, sizeof raw) != 1) {
    tte_set_error_openssl(error, TTE_ERROR_CRYPTO, "cannot draw random token");
    return NULL;
  }
  /* Encode by hand into a stack buffer we wipe: g_base64_encode would leave a copy of
   * the token in freed heap memory. */
  memcpy(text, API_TOKEN_PREFIX, strlen(API_TOKEN_PREFIX));
  o = strlen(API_TOKEN_PREFIX);
  for (gsize i = 0; i < sizeof raw; i += 3) {
    guint32 v = (guint32)raw[i] << 16;
    gsize n = MIN(3, sizeof raw - i);

    if (n > 1)
      v |= (guint32)raw[i + 1] << 8;
    if (n > 2)
      v |= raw[i + 2];
    text[o++] = alphabet[(v >> 18) & 63];
    text[o++] = alphabet[(v >> 12) & 63];
    if (n > 1)
      text[o++] = alphabet[(v >> 6) & 63];
    if (n > 2)
      text[o++] = alphabet[v & 63];
  }
  text[o] = '\0';
  g_assert(o == API_TOKEN_TEXT_LEN);
  s = tte_secret_new(text, o, error);
  tte_memwipe(raw, sizeof raw);
  tte_memwipe(text, sizeof text);
  return s;
}

void
api_token_hash(const char *text, gsize len, guint8 out[32])
{
  unsigned int n = 32;

  /* EVP_Digest with SHA-256 only fails on allocation failure. */
  if (EVP_Digest(text, len, out, &n, EVP_sha256(), NULL) != 1)
    g_error("SHA-256 failed");
}

gboolean
api_token_well_formed(const char *text, gsize len)
{
  gsize plen = strlen(API_TOKEN_PREFIX);

  if (text == NULL || len != API_TOKEN_TEXT_LEN || strncmp(text, API_TOKEN_PREFIX, plen) != 0)
    return FALSE;
  for (gsize i = plen; i < len; i++) {
    char c = text[i];
    if (!g_ascii_isalnum(c) && c != '-' && c != '_')
      return FALSE;
  }
  return TRUE;
}

gboolean
api_auth_issue_token(ApiStore *store, ApiRole role, const char *signer_id, const char *label,
                     const char *actor, TteSecret **text_out, char **id_out, GError **error)
{
  g_autoptr(TteSecret) text = NULL;
  g_autoptr(ApiAuditEntry) audit = NULL;
  g_autoptr(json_t) details = NULL;
  ApiToken tok = {0};
  g_autofree char *id = NULL;

  if (role == API_ROLE_SIGNER) {
    g_autoptr(ApiSigner) signer = NULL;

    if (signer_id == NULL) {
      g_set_error_literal(error, API_ERROR, API_ERROR_BAD_REQUEST, "a signer token needs a signer");
      return FALSE;
    }
    signer = store->ops->signer_get(store, signer_id, error);
    if (signer == NULL)
      return FALSE;
    if (g_strcmp0(signer->state, "active") != 0) {
      g_set_error_literal(error, API_ERROR, API_ERROR_CONFLICT, "signer is disabled");
      return FALSE;
    }
  } else if (role == API_ROLE_ADMIN) {
    signer_id = NULL;
  } else {
    g_set_error_literal(error, API_ERROR, API_ERROR_BAD_REQUEST, "role must be signer or admin");
    return FALSE;
  }
  id = api_store_new_id("t_", error);
  if (id == NULL)
    return FALSE;
  text = api_token_generate(error);
  if (text == NULL)
    return FALSE;
  tok.id = id;
  tok.role = role;
  tok.signer_id = (char *)signer_id;
  tok.label = (char *)label;
  tok.created = g_get_real_time();
  api_token_hash(tte_secret_get(text), tte_secret_len(text), tok.hash);
  details = json_pack("{s:s}", "role", api_role_to_string(role));
  if (signer_id != NULL)
    json_object_set_new(details, "signer", json_string(signer_id));
  if (label != NULL)
    json_object_set_new(details, "label", json_string(label));
  audit = api_audit_entry_new(actor, "token.issue", id, details);
  if (!store->ops->token_insert(store, &tok, audit, error))
    return FALSE;
  *text_out = g_steal_pointer(&text);
  *id_out = g_steal_pointer(&id);
  return TRUE;
}

gboolean
api_auth_revoke_token(ApiStore *store, const char *id, const char *actor, GError **error)
{
  g_autoptr(ApiAuditEntry) audit = api_audit_entry_new(actor, "token.revoke", id, NULL);

  return store->ops->token_revoke(store, id, g_get_real_time(), audit, error);
}

static gboolean
unauthorized(GError **error)
{
  /* One message for every failure: the caller learns nothing about which tokens exist. */
  g_set_error_literal(error, API_ERROR, API_ERROR_UNAUTHORIZED, "invalid or revoked API token");
  return FALSE;
}

gboolean
api_auth_authenticate(ApiStore *store, const char *authorization, ApiPrincipal *out, GError **error)
{
  g_autoptr(GError) local = NULL;
  g_autoptr(ApiToken) tok = NULL;
  guint8 hash[32];
  const char *text;
  gsize len;

  memset(out, 0, sizeof *out);
  out->role = API_ROLE_PUBLIC;
  if (authorization == NULL)
    return TRUE;
  if (g_ascii_strncasecmp(authorization, "Bearer ", 7) != 0)
    return unauthorized(error);
  text = authorization + 7;
  while (*text == ' ')
    text++;
  len = strlen(text);
  if (!api_token_well_formed(text, len))
    return unauthorized(error);
  api_token_hash(text, len, hash);
  tok = store->ops->token_find_by_hash(store, hash, &local);
  if (tok == NULL) {
    if (g_error_matches(local, API_ERROR, API_ERROR_NOT_FOUND))
      return unauthorized(error);
    g_propagate_error(error, g_steal_pointer(&local));
    return FALSE;
  }
  /* The index lookup already matched; the constant-time comparison keeps a backend that
   * matched loosely (or a prefix index) from turning into an oracle. */
  if (CRYPTO_memcmp(hash, tok->hash, sizeof hash) != 0 || tok->revoked != 0)
    return unauthorized(error);
  if (tok->role == API_ROLE_SIGNER) {
    g_autoptr(ApiSigner) signer = store->ops->signer_get(store, tok->signer_id, &local);

    if (signer == NULL) {
      if (g_error_matches(local, API_ERROR, API_ERROR_NOT_FOUND))
        return unauthorized(error);
      g_propagate_error(error, g_steal_pointer(&local));
      return FALSE;
    }
    if (g_strcmp0(signer->state, "active") != 0)
      return unauthorized(error);
  } else if (tok->role != API_ROLE_ADMIN) {
    return unauthorized(error);
  }
  out->role = tok->role;
  out->token_id = g_steal_pointer(&tok->id);
  out->signer_id = g_steal_pointer(&tok->signer_id);
  return TRUE;
}
