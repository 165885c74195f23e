/* store.c — backend-independent parts of the store interface. */
#include "store.h"

#include "tte-error.h"

#include <openssl/rand.h>

G_DEFINE_QUARK(api - error - quark, api_error)

const char *
api_error_code_name(int code)
{
  static const char *const names[] = {
      [API_ERROR_NOT_FOUND] = "NOT_FOUND",
      [API_ERROR_CONFLICT] = "CONFLICT",
      [API_ERROR_UNAUTHORIZED] = "UNAUTHORIZED",
      [API_ERROR_FORBIDDEN] = "FORBIDDEN",
      [API_ERROR_BAD_REQUEST] = "BAD_REQUEST",
      [API_ERROR_METHOD_NOT_ALLOWED] = "METHOD_NOT_ALLOWED",
      [API_ERROR_PAYLOAD_TOO_LARGE] = "PAYLOAD_TOO_LARGE",
      [API_ERROR_UNAVAILABLE] = "UNAVAILABLE",
      [API_ERROR_STORAGE] = "STORAGE",
      [API_ERROR_SCHEMA] = "SCHEMA",
  };
  if (code < 0 || (gsize)code >= G_N_ELEMENTS(names) || names[code] == NULL)
    return "FAILED";
  return names[code];
}

const char *
api_role_to_string(ApiRole role)
{
  switch (role) {
  case API_ROLE_SIGNER:
    return "signer";
  case API_ROLE_ADMIN:
    return "admin";
  case API_ROLE_PUBLIC:
  default:
    return "public";
  }
}

gboolean
api_role_from_string(const char *s, ApiRole *out)
{
  if (g_strcmp0(s, "public") == 0)
    *out = API_ROLE_PUBLIC;
  else if (g_strcmp0(s, "signer") == 0)
    *out = API_ROLE_SIGNER;
  else if (g_strcmp0(s, "admin") == 0)
    *out = API_ROLE_ADMIN;
  else
    return FALSE;
  return TRUE;
}

char *
api_store_new_id(const char *prefix, GError **error)
{
  guint8 raw[16];
  g_autofree char *b64 = NULL;

  if (RAND_bytes(raw, sizeof raw) != 1) {
    tte_set_error_openssl(error, TTE_ERROR_CRYPTO, "cannot draw random identifier");
    return NULL;
  }
  b64 = g_base64_encode(raw, sizeof raw);
  /* base64url without padding: identifiers appear in URLs and QR codes. */
  for (char *p = b64; *p != '\0'; p++) {
    if (*p == '+')
      *p = '-';
    else if (*p == '/')
      *p = '_';
    else if (*p == '=') {
      *p = '\0';
      break;
    }
  }
  return g_strconcat(prefix ? prefix : "", b64, NULL);
}

void
api_store_close(ApiStore *store)
{
  if (store != NULL)
    store->ops->close(store);
}

void
api_signer_free(ApiSigner *s)
{
  if (s == NULL)
    return;
  g_free(s->id);
  g_free(s->identifier);
  g_free(s->name);
  g_free(s->title);
  g_free(s->organization);
  g_free(s->state);
  g_free(s);
}

void
api_token_free(ApiToken *t)
{
  if (t == NULL)
    return;
  g_free(t->id);
  g_free(t->signer_id);
  g_free(t->label);
  g_free(t);
}

void
api_key_free(ApiKey *k)
{
  if (k == NULL)
    return;
  g_free(k->id);
  g_free(k->signer_id);
  g_free(k->pkcs11_uri);
  g_free(k->cert_pem);
  g_free(k->state);
  g_free(k);
}

void
api_document_free(ApiDocument *d)
{
  if (d == NULL)
    return;
  g_free(d->id);
  g_free(d->signer_id);
  g_free(d->key_id);
  g_free(d->sha256);
  g_free(d->status);
  g_free(d->withdraw_reason);
  g_free(d->idempotency_key);
  g_free(d->request_hash);
  g_free(d);
}

void
api_audit_entry_free(ApiAuditEntry *e)
{
  if (e == NULL)
    return;
  g_free(e->actor);
  g_free(e->action);
  g_free(e->subject);
  g_free(e->details);
  g_free(e->prev_hash);
  g_free(e->hash);
  g_free(e);
}
