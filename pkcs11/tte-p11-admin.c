/* tte-p11-admin.c — listing, key generation, CSR and certificate import. */
#include "tte-p11-private.h"

#include "tte-error.h"
#include "tte-limits.h"

#include <string.h>

void
tte_p11_token_info_free(TteP11TokenInfo *t)
{
  if (t == NULL)
    return;
  g_free(t->label);
  g_free(t->manufacturer);
  g_free(t->model);
  g_free(t->serial);
  if (t->objects != NULL)
    g_ptr_array_unref(t->objects);
  g_free(t);
}

gboolean
tte_p11_key_type_from_string(const char *s, TteP11KeyType *out, GError **error)
{
  static const struct {
    const char *name;
    TteP11KeyType type;
  } types[] = {
    { "rsa:2048", TTE_P11_KEY_RSA_2048 }, { "rsa:3072", TTE_P11_KEY_RSA_3072 },
    { "rsa:4096", TTE_P11_KEY_RSA_4096 }, { "ec:p256", TTE_P11_KEY_EC_P256 },
    { "ec:prime256v1", TTE_P11_KEY_EC_P256 }, { "ec:secp256r1", TTE_P11_KEY_EC_P256 },
    { "ec:p384", TTE_P11_KEY_EC_P384 }, { "ec:secp384r1", TTE_P11_KEY_EC_P384 },
  };

  for (gsize i = 0; s != NULL && i < G_N_ELEMENTS(types); i++) {
    if (g_ascii_strcasecmp(s, types[i].name) == 0) {
      *out = types[i].type;
      return TRUE;
    }
  }
  g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
              "unknown key type \"%s\" (use rsa:2048, rsa:3072, rsa:4096, ec:p256 or ec:p384)",
              s ? s : "");
  return FALSE;
}

GPtrArray *
tte_p11_list(TteP11Module *m, const char *uri, TteSecret *pin, GError **error)
{
  g_set_error_literal(error, TTE_ERROR, TTE_ERROR_NOT_SUPPORTED, "not yet implemented");
  return NULL;
}

char *
tte_p11_generate_key(TteP11Module *m, const char *uri, TteSecret *pin, TteP11KeyType type,
                     GError **error)
{
  g_set_error_literal(error, TTE_ERROR, TTE_ERROR_NOT_SUPPORTED, "not yet implemented");
  return NULL;
}

char *
tte_p11_make_csr(TteP11Module *m, const char *uri, TteSecret *pin, const char *subject_dn,
                 TteHash hash, GError **error)
{
  g_set_error_literal(error, TTE_ERROR, TTE_ERROR_NOT_SUPPORTED, "not yet implemented");
  return NULL;
}

gboolean
tte_p11_import_cert(TteP11Module *m, const char *uri, TteSecret *pin, X509 *cert,
                    TteX509Stack *chain, GError **error)
{
  g_set_error_literal(error, TTE_ERROR, TTE_ERROR_NOT_SUPPORTED, "not yet implemented");
  return FALSE;
}
