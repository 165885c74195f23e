/* tte-p11-admin.c — listing, key generation, CSR and certificate import.
 *
 * Key generation and certificate import go through the module's own function list in a
 * session of ours: libp11 0.4.12 generates only RSA keys, and its object creation reuses
 * its pooled (read-only) sessions, so we set the exact attributes ourselves.
 */
#include "tte-p11-private.h"

#include "tte-error.h"
#include "tte-limits.h"

#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <string.h>

#define RANDOM_ID_LEN 16

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

static void
object_free(TteP11Object *o)
{
  if (o == NULL)
    return;
  g_free(o->label);
  if (o->id != NULL)
    g_bytes_unref(o->id);
  g_free(o->uri);
  g_free(o->key_type);
  X509_free(o->cert);
  g_free(o);
}

gboolean
tte_p11_key_type_from_string(const char *s, TteP11KeyType *out, GError **error)
{
  static const struct {
    const char *name;
    TteP11KeyType type;
  } types[] = {
    { "rsa:2048", TTE_P11_KEY_RSA_2048 },     { "rsa:3072", TTE_P11_KEY_RSA_3072 },
    { "rsa:4096", TTE_P11_KEY_RSA_4096 },     { "ec:p256", TTE_P11_KEY_EC_P256 },
    { "ec:prime256v1", TTE_P11_KEY_EC_P256 }, { "ec:secp256r1", TTE_P11_KEY_EC_P256 },
    { "ec:p384", TTE_P11_KEY_EC_P384 },       { "ec:secp384r1", TTE_P11_KEY_EC_P384 },
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

/* --- listing ---------------------------------------------------------------------- */

/* DER OBJECT IDENTIFIERs for CKA_EC_PARAMS (namedCurve). */
static const CK_BYTE oid_p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const CK_BYTE oid_p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };

/* One attribute of @h, at most @max bytes; NULL when absent, unreadable or larger. */
static GBytes *
get_attr(CK_FUNCTION_LIST *fl, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE h,
         CK_ATTRIBUTE_TYPE type, gsize max)
{
  CK_ATTRIBUTE a = { type, NULL, 0 };
  g_autofree guint8 *buf = NULL;

  if (fl->C_GetAttributeValue(session, h, &a, 1) != CKR_OK ||
      a.ulValueLen == (CK_ULONG)-1 || a.ulValueLen > max)
    return NULL;
  buf = g_malloc(a.ulValueLen + 1);
  a.pValue = buf;
  if (fl->C_GetAttributeValue(session, h, &a, 1) != CKR_OK)
    return NULL;
  return g_bytes_new_take(g_steal_pointer(&buf), a.ulValueLen);
}

/* "RSA-3072", "EC-P256", ... from the key object's attributes. */
static char *
describe_key(CK_FUNCTION_LIST *fl, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE h)
{
  CK_KEY_TYPE kt = (CK_KEY_TYPE)-1;
  CK_ATTRIBUTE a = { CKA_KEY_TYPE, &kt, sizeof kt };
  g_autoptr(GBytes) v = NULL;
  gsize n = 0;
  const guint8 *d;

  if (fl->C_GetAttributeValue(session, h, &a, 1) != CKR_OK)
    return g_strdup("unknown");
  if (kt == CKK_RSA) {
    /* The modulus is public on private key objects too (PKCS#11 2.40, 4.9). */
    v = get_attr(fl, session, h, CKA_MODULUS, TTE_LIMIT_SIG_MAX_LEN);
    if (v == NULL)
      return g_strdup("RSA");
    d = g_bytes_get_data(v, &n);
    while (n > 0 && *d == 0) {
      d++;
      n--;
    }
    return g_strdup_printf("RSA-%" G_GSIZE_FORMAT, n * 8);
  }
  if (kt == CKK_EC) {
    v = get_attr(fl, session, h, CKA_EC_PARAMS, TTE_LIMIT_P11_ATTR_MAX_LEN);
    d = v != NULL ? g_bytes_get_data(v, &n) : NULL;
    if (d != NULL && n == sizeof oid_p256 && memcmp(d, oid_p256, n) == 0)
      return g_strdup("EC-P256");
    if (d != NULL && n == sizeof oid_p384 && memcmp(d, oid_p384, n) == 0)
      return g_strdup("EC-P384");
    return g_strdup("EC");
  }
  return g_strdup("other");
}

/* Keys of class @cls, read with raw calls (libp11 0.4.12's PKCS11_enumerate_public_keys
 * leaks its object list on every call). */
static void
add_keys(TteP11Module *m, PKCS11_SLOT *slot, GPtrArray *objs, CK_OBJECT_CLASS cls)
{
  CK_FUNCTION_LIST *fl = tte_p11_module_functions(m, NULL);
  CK_ATTRIBUTE tmpl = { CKA_CLASS, &cls, sizeof cls };
  CK_SESSION_HANDLE session;
  CK_OBJECT_HANDLE h[32];
  g_autoptr(GArray) found = g_array_new(FALSE, FALSE, sizeof(CK_OBJECT_HANDLE));
  CK_ULONG count = 0;

  if (fl == NULL || fl->C_OpenSession(PKCS11_get_slotid_from_slot(slot), CKF_SERIAL_SESSION,
                                      NULL, NULL, &session) != CKR_OK)
    return;
  if (fl->C_FindObjectsInit(session, &tmpl, 1) == CKR_OK) {
    while (fl->C_FindObjects(session, h, G_N_ELEMENTS(h), &count) == CKR_OK && count > 0 &&
           found->len < TTE_LIMIT_P11_MAX_OBJECTS)
      g_array_append_vals(found, h, MIN(count, TTE_LIMIT_P11_MAX_OBJECTS - found->len));
    fl->C_FindObjectsFinal(session);
  }
  for (guint i = 0; i < found->len && objs->len < TTE_LIMIT_P11_MAX_OBJECTS; i++) {
    CK_OBJECT_HANDLE oh = g_array_index(found, CK_OBJECT_HANDLE, i);
    g_autoptr(GBytes) label = get_attr(fl, session, oh, CKA_LABEL, TTE_LIMIT_P11_ATTR_MAX_LEN);
    g_autoptr(GBytes) id = get_attr(fl, session, oh, CKA_ID, TTE_LIMIT_P11_ATTR_MAX_LEN);
    TteP11Object *o = g_new0(TteP11Object, 1);
    gsize id_len = 0;
    const guint8 *idp = id != NULL ? g_bytes_get_data(id, &id_len) : NULL;

    o->kind = cls == CKO_PRIVATE_KEY ? TTE_P11_OBJ_PRIVATE_KEY : TTE_P11_OBJ_PUBLIC_KEY;
    o->label = label != NULL ? g_strndup(g_bytes_get_data(label, NULL), g_bytes_get_size(label))
                             : g_strdup("");
    o->id = g_bytes_new(idp, id_len);
    o->uri = tte_p11_object_uri(slot->token, cls == CKO_PRIVATE_KEY ? "private" : "public",
                                o->label, idp, id_len);
    o->key_type = describe_key(fl, session, oh);
    g_ptr_array_add(objs, o);
  }
  fl->C_CloseSession(session);
}

static void
add_certs(GPtrArray *objs, PKCS11_TOKEN *tok)
{
  PKCS11_CERT *certs = NULL;
  unsigned int n = 0;

  if (PKCS11_enumerate_certs(tok, &certs, &n) != 0) {
    tte_openssl_clear_errors();
    return;
  }
  for (unsigned int i = 0; i < n && objs->len < TTE_LIMIT_P11_MAX_OBJECTS; i++) {
    TteP11Object *o = g_new0(TteP11Object, 1);
    o->kind = TTE_P11_OBJ_CERTIFICATE;
    o->label = g_strdup(certs[i].label ? certs[i].label : "");
    o->id = g_bytes_new(certs[i].id, certs[i].id_len);
    o->uri = tte_p11_object_uri(tok, "cert", certs[i].label, certs[i].id, certs[i].id_len);
    if (certs[i].x509 != NULL) {
      X509_up_ref(certs[i].x509);
      o->cert = certs[i].x509;
    }
    g_ptr_array_add(objs, o);
  }
}

static TteP11TokenInfo *
token_info(PKCS11_TOKEN *t)
{
  TteP11TokenInfo *info = g_new0(TteP11TokenInfo, 1);

  info->label = g_strdup(t->label);
  info->manufacturer = g_strdup(t->manufacturer);
  info->model = g_strdup(t->model);
  info->serial = g_strdup(t->serialnr);
  info->initialized = t->initialized;
  info->login_required = t->loginRequired;
  info->user_pin_locked = t->userPinLocked;
  info->user_pin_count_low = t->userPinCountLow;
  info->user_pin_final_try = t->userPinFinalTry;
  info->objects = g_ptr_array_new_with_free_func((GDestroyNotify)object_free);
  return info;
}

static gboolean
list_match(const PKCS11_TOKEN *t, const TteP11Uri *u)
{
  return t != NULL && t->initialized && (!u->token || g_strcmp0(t->label, u->token) == 0) &&
         (!u->serial || g_strcmp0(t->serialnr, u->serial) == 0) &&
         (!u->manufacturer || g_strcmp0(t->manufacturer, u->manufacturer) == 0) &&
         (!u->model || g_strcmp0(t->model, u->model) == 0);
}

GPtrArray *
tte_p11_list(TteP11Module *m, const char *uri, TteSecret *pin, GError **error)
{
  g_autoptr(TteP11Uri) u = NULL;
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)tte_p11_token_info_free);
  g_autoptr(TteP11Slots) s = g_new0(TteP11Slots, 1);
  gboolean ok = TRUE;

  u = tte_p11_uri_parse(uri != NULL ? uri : "pkcs11:", error);
  if (u == NULL)
    return NULL;
  g_mutex_lock(&m->lock);
  s->module = m;
  s->ctx = m->ctx;
  if (PKCS11_enumerate_slots(m->ctx, &s->slots, &s->nslots) != 0) {
    s->slots = NULL;
    s->nslots = 0;
    tte_p11_set_error(error, TTE_ERROR_TOKEN, "cannot list the slots of %s", m->path);
    g_mutex_unlock(&m->lock);
    return NULL;
  }
  if (pin != NULL) {
    /* One PIN belongs to one token: trying it on every token would spend the retry
     * counters of the others. */
    guint matches = 0;
    for (unsigned int i = 0; i < s->nslots && i < TTE_LIMIT_P11_MAX_SLOTS; i++)
      matches += list_match(s->slots[i].token, u);
    if (matches > 1) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                  "%u tokens match; name one with token= when giving a PIN", matches);
      ok = FALSE;
    }
  }
  for (unsigned int i = 0; i < s->nslots && i < TTE_LIMIT_P11_MAX_SLOTS && ok; i++) {
    PKCS11_TOKEN *t = s->slots[i].token;
    TteP11TokenInfo *info;

    if (!list_match(t, u))
      continue;
    info = token_info(t);
    g_ptr_array_add(out, info);
    /* Without a PIN only public objects are visible; with one, a login failure is an
     * error (the administrator asked for the private keys). */
    if (pin != NULL && t->loginRequired && !tte_p11_login(m, &s->slots[i], pin, error)) {
      ok = FALSE;
      break;
    }
    if (pin != NULL || !t->loginRequired)
      add_keys(m, &s->slots[i], info->objects, CKO_PRIVATE_KEY);
    add_keys(m, &s->slots[i], info->objects, CKO_PUBLIC_KEY);
    add_certs(info->objects, t);
  }
  g_clear_pointer(&s, tte_p11_slots_free);
  g_mutex_unlock(&m->lock);
  tte_openssl_clear_errors();
  return ok ? g_steal_pointer(&out) : NULL;
}

/* --- raw sessions -------------------------------------------------------------------- */

/* A read-write session of our own on the token chosen in @s (already logged in via
 * libp11: the login state belongs to the token, so it covers this session too). */
static gboolean
open_rw_session(TteP11Module *m, TteP11Slots *s, CK_FUNCTION_LIST **fl_out,
                CK_SESSION_HANDLE *out, GError **error)
{
  CK_FUNCTION_LIST *fl = tte_p11_module_functions(m, error);
  CK_RV rv;

  if (fl == NULL)
    return FALSE;
  rv = fl->C_OpenSession(PKCS11_get_slotid_from_slot(s->slot), CKF_SERIAL_SESSION | CKF_RW_SESSION,
                         NULL, NULL, out);
  if (rv != CKR_OK) {
    tte_p11_set_error_ckr(error, rv, "cannot open a read-write session on token \"%s\"",
                          s->slot->token->label);
    return FALSE;
  }
  *fl_out = fl;
  return TRUE;
}

/* TRUE when any key or certificate on the token has label @label or ID @id. */
static gboolean
object_exists(PKCS11_TOKEN *tok, const char *label, const guint8 *id, gsize id_len)
{
  PKCS11_KEY *keys = NULL;
  PKCS11_CERT *certs = NULL;
  unsigned int n = 0;

  for (int pass = 0; pass < 2; pass++) {
    int r = pass == 0 ? PKCS11_enumerate_keys(tok, &keys, &n)
                      : PKCS11_enumerate_public_keys(tok, &keys, &n);
    for (unsigned int i = 0; r == 0 && i < n && i < TTE_LIMIT_P11_MAX_OBJECTS; i++)
      if (g_strcmp0(keys[i].label, label) == 0 ||
          (keys[i].id_len == id_len && memcmp(keys[i].id, id, id_len) == 0))
        return TRUE;
  }
  if (PKCS11_enumerate_certs(tok, &certs, &n) == 0)
    for (unsigned int i = 0; i < n && i < TTE_LIMIT_P11_MAX_OBJECTS; i++)
      if (g_strcmp0(certs[i].label, label) == 0 ||
          (certs[i].id_len == id_len && memcmp(certs[i].id, id, id_len) == 0))
        return TRUE;
  tte_openssl_clear_errors();
  return FALSE;
}

/* --- key generation ------------------------------------------------------------------ */

char *
tte_p11_generate_key(TteP11Module *m, const char *uri, TteSecret *pin, TteP11KeyType type,
                     GError **error)
{
  g_autoptr(TteP11Uri) u = tte_p11_uri_parse(uri, error);
  g_autoptr(TteP11Slots) s = NULL;
  g_autofree char *result = NULL;
  guint8 id_buf[RANDOM_ID_LEN];
  const guint8 *id;
  gsize id_len;
  CK_FUNCTION_LIST *fl = NULL;
  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  CK_OBJECT_HANDLE pub_h, priv_h;
  CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
  CK_ULONG bits = 0;
  CK_BYTE exponent[] = { 0x01, 0x00, 0x01 };
  CK_MECHANISM mech = { 0 };
  CK_RV rv;
  gboolean rsa = type == TTE_P11_KEY_RSA_2048 || type == TTE_P11_KEY_RSA_3072 ||
                 type == TTE_P11_KEY_RSA_4096;

  if (u == NULL)
    return NULL;
  if (u->object == NULL) {
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                        "the URI must name the new key with object=<label>");
    return NULL;
  }
  if (u->id != NULL) {
    id = g_bytes_get_data(u->id, &id_len);
  } else {
    if (RAND_bytes(id_buf, sizeof id_buf) != 1) {
      tte_set_error_openssl(error, TTE_ERROR_CRYPTO, "cannot make a random key ID");
      return NULL;
    }
    id = id_buf;
    id_len = sizeof id_buf;
  }
  switch (type) {
  case TTE_P11_KEY_RSA_2048:
    bits = 2048;
    break;
  case TTE_P11_KEY_RSA_3072:
    bits = 3072;
    break;
  case TTE_P11_KEY_RSA_4096:
    bits = 4096;
    break;
  default:
    break;
  }

  CK_ATTRIBUTE pub_rsa[] = {
    { CKA_TOKEN, &yes, sizeof yes },
    { CKA_VERIFY, &yes, sizeof yes },
    { CKA_ENCRYPT, &no, sizeof no },
    { CKA_WRAP, &no, sizeof no },
    { CKA_LABEL, u->object, strlen(u->object) },
    { CKA_ID, (void *)id, id_len },
    { CKA_MODULUS_BITS, &bits, sizeof bits },
    { CKA_PUBLIC_EXPONENT, exponent, sizeof exponent },
  };
  CK_ATTRIBUTE pub_ec[] = {
    { CKA_TOKEN, &yes, sizeof yes },
    { CKA_VERIFY, &yes, sizeof yes },
    { CKA_LABEL, u->object, strlen(u->object) },
    { CKA_ID, (void *)id, id_len },
    { CKA_EC_PARAMS, (void *)(type == TTE_P11_KEY_EC_P384 ? oid_p384 : oid_p256),
      type == TTE_P11_KEY_EC_P384 ? sizeof oid_p384 : sizeof oid_p256 },
  };
  /* The private half never leaves the token: sensitive, not extractable, sign only. */
  CK_ATTRIBUTE priv[] = {
    { CKA_TOKEN, &yes, sizeof yes },
    { CKA_PRIVATE, &yes, sizeof yes },
    { CKA_SENSITIVE, &yes, sizeof yes },
    { CKA_EXTRACTABLE, &no, sizeof no },
    { CKA_SIGN, &yes, sizeof yes },
    { CKA_DECRYPT, &no, sizeof no },
    { CKA_UNWRAP, &no, sizeof no },
    { CKA_DERIVE, &no, sizeof no },
    { CKA_LABEL, u->object, strlen(u->object) },
    { CKA_ID, (void *)id, id_len },
  };

  g_mutex_lock(&m->lock);
  s = tte_p11_slots_find_token(m, u, error);
  if (s == NULL || !tte_p11_login(m, s->slot, pin, error))
    goto out;
  if (object_exists(s->slot->token, u->object, id, id_len)) {
    g_autofree char *hex = tte_p11_hex(id, id_len);
    g_set_error(error, TTE_ERROR, TTE_ERROR_KEY_EXISTS,
                "token \"%s\" already holds an object labelled \"%s\" or with id %s",
                s->slot->token->label, u->object, hex);
    goto out;
  }
  if (!open_rw_session(m, s, &fl, &session, error))
    goto out;
  mech.mechanism = rsa ? CKM_RSA_PKCS_KEY_PAIR_GEN : CKM_EC_KEY_PAIR_GEN;
  rv = fl->C_GenerateKeyPair(session, &mech, rsa ? pub_rsa : pub_ec,
                             rsa ? G_N_ELEMENTS(pub_rsa) : G_N_ELEMENTS(pub_ec), priv,
                             G_N_ELEMENTS(priv), &pub_h, &priv_h);
  if (rv != CKR_OK) {
    tte_p11_set_error_ckr(error, rv, "key generation on token \"%s\" failed",
                          s->slot->token->label);
    goto out;
  }
  result = tte_p11_object_uri(s->slot->token, NULL, u->object, id, id_len);
out:
  if (session != CK_INVALID_HANDLE)
    fl->C_CloseSession(session);
  g_clear_pointer(&s, tte_p11_slots_free);
  g_mutex_unlock(&m->lock);
  tte_openssl_clear_errors();
  return g_steal_pointer(&result);
}

/* --- CSR ---------------------------------------------------------------------------- */

/* Split @dn at unescaped @sep, unescaping "\x" to "x". */
static GPtrArray *
split_dn(const char *dn, char sep)
{
  GPtrArray *parts = g_ptr_array_new_with_free_func(g_free);
  GString *cur = g_string_new(NULL);

  for (const char *p = dn; *p != '\0'; p++) {
    if (*p == '\\' && p[1] != '\0') {
      g_string_append_c(cur, *++p);
    } else if (*p == sep) {
      g_ptr_array_add(parts, g_string_free(cur, FALSE));
      cur = g_string_new(NULL);
    } else {
      g_string_append_c(cur, *p);
    }
  }
  g_ptr_array_add(parts, g_string_free(cur, FALSE));
  return parts;
}

/* "/C=ID/O=Pemkot/CN=Sekretaris" (OpenSSL order) or "CN=Sekretaris,O=Pemkot,C=ID"
 * (RFC 2253, most specific first). */
static X509_NAME *
parse_subject(const char *dn, GError **error)
{
  g_autoptr(X509_NAME) name = X509_NAME_new();
  g_autoptr(GPtrArray) parts = NULL;
  gboolean slash;

  if (dn == NULL || *dn == '\0' || strlen(dn) > TTE_LIMIT_SUBJECT_MAX_LEN) {
    g_set_error(error, TTE_ERROR, dn != NULL && *dn ? TTE_ERROR_LIMIT : TTE_ERROR_INVALID_ARGUMENT,
                "the subject must be 1 to %u bytes (TTE_LIMIT_SUBJECT_MAX_LEN)",
                TTE_LIMIT_SUBJECT_MAX_LEN);
    return NULL;
  }
  if (!g_utf8_validate(dn, -1, NULL)) {
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                        "the subject is not valid UTF-8");
    return NULL;
  }
  slash = dn[0] == '/';
  parts = split_dn(slash ? dn + 1 : dn, slash ? '/' : ',');
  for (guint k = 0; k < parts->len; k++) {
    /* RFC 2253 lists the most specific RDN first; X509_NAME wants the reverse. */
    char *part = g_strstrip(g_ptr_array_index(parts, slash ? k : parts->len - 1 - k));
    char *eq = strchr(part, '=');
    if (eq == NULL || eq == part || eq[1] == '\0') {
      g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                  "subject component \"%s\" is not of the form KEY=value", part);
      return NULL;
    }
    *eq = '\0';
    g_strstrip(part);
    if (OBJ_txt2nid(part) == NID_undef ||
        !X509_NAME_add_entry_by_txt(name, part, MBSTRING_UTF8, (const unsigned char *)eq + 1,
                                    -1, -1, 0)) {
      tte_set_error_openssl(error, TTE_ERROR_INVALID_ARGUMENT,
                            "subject attribute \"%s\" is unknown or its value invalid", part);
      return NULL;
    }
  }
  return g_steal_pointer(&name);
}

/* A provider-native copy of @key's public half, so that the request and its check hold no
 * reference into libp11's objects (which die with the slot list). */
static EVP_PKEY *
plain_public(PKCS11_TOKEN *tok, PKCS11_KEY *key)
{
  EVP_PKEY *p11 = tte_p11_key_public(tok, key);
  unsigned char *der = NULL;
  const unsigned char *q;
  EVP_PKEY *plain = NULL;
  int len;

  if (p11 == NULL)
    return NULL;
  len = i2d_PUBKEY(p11, &der);
  q = der;
  if (len > 0)
    plain = d2i_PUBKEY(NULL, &q, len);
  OPENSSL_free(der);
  EVP_PKEY_free(p11);
  return plain;
}

char *
tte_p11_make_csr(TteP11Module *m, const char *uri, TteSecret *pin, const char *subject_dn,
                 TteHash hash, GError **error)
{
  g_autoptr(TteP11Uri) u = tte_p11_uri_parse(uri, error);
  g_autoptr(X509_NAME) subject = NULL;
  g_autoptr(TteP11Slots) s = NULL;
  g_autoptr(X509_REQ) req = NULL;
  g_autoptr(EVP_PKEY) pub = NULL;
  g_autoptr(EVP_PKEY) priv = NULL;
  g_autoptr(BIO) bio = NULL;
  char *pem = NULL;
  PKCS11_KEY *key;

  if (u == NULL || (subject = parse_subject(subject_dn, error)) == NULL)
    return NULL;
  g_mutex_lock(&m->lock);
  s = tte_p11_slots_find_token(m, u, error);
  if (s == NULL || !tte_p11_login(m, s->slot, pin, error))
    goto out;
  key = tte_p11_find_private_key(s, u, error);
  if (key == NULL)
    goto out;
  pub = plain_public(s->slot->token, key);
  priv = PKCS11_get_private_key(key);
  if (pub == NULL || priv == NULL) {
    tte_p11_set_error(error, TTE_ERROR_KEY_NOT_FOUND, "cannot use key \"%s\"",
                      key->label ? key->label : "");
    goto out;
  }
  req = X509_REQ_new();
  if (req == NULL || !X509_REQ_set_version(req, X509_REQ_VERSION_1) ||
      !X509_REQ_set_subject_name(req, subject) || !X509_REQ_set_pubkey(req, pub)) {
    tte_set_error_openssl(error, TTE_ERROR_CRYPTO, "cannot build the certificate request");
    goto out;
  }
  /* The token signs; libp11's EVP_PKEY routes the private-key operation to it. */
  if (X509_REQ_sign(req, priv, tte_hash_md(hash)) <= 0) {
    tte_p11_set_error(error, TTE_ERROR_CRYPTO, "the token could not sign the request");
    goto out;
  }
  /* A faulty token must not hand the CA a request that does not verify. */
  if (X509_REQ_verify(req, pub) != 1) {
    tte_set_error_openssl(error, TTE_ERROR_TOKEN,
                          "the token's signature on the request does not verify");
    goto out;
  }
  bio = BIO_new(BIO_s_mem());
  if (bio == NULL || !PEM_write_bio_X509_REQ(bio, req)) {
    tte_set_error_openssl(error, TTE_ERROR_CRYPTO, "cannot encode the request");
    goto out;
  } else {
    char *data = NULL;
    long len = BIO_get_mem_data(bio, &data);
    pem = g_strndup(data, (gsize)len);
  }
out:
  /* libp11's keys refer to its slot objects: free them before the slot list. */
  g_clear_pointer(&priv, EVP_PKEY_free);
  g_clear_pointer(&req, X509_REQ_free);
  g_clear_pointer(&s, tte_p11_slots_free);
  g_mutex_unlock(&m->lock);
  tte_openssl_clear_errors();
  return pem;
}

/* --- certificate import --------------------------------------------------------------- */

static gboolean
create_cert_object(CK_FUNCTION_LIST *fl, CK_SESSION_HANDLE session, X509 *cert, const char *label,
                   const guint8 *id, gsize id_len, gboolean authority, GError **error)
{
  guint8 *value = NULL, *subject = NULL, *issuer = NULL, *serial = NULL;
  int value_len = i2d_X509(cert, &value);
  int subject_len = i2d_X509_NAME(X509_get_subject_name(cert), &subject);
  int issuer_len = i2d_X509_NAME(X509_get_issuer_name(cert), &issuer);
  int serial_len = i2d_ASN1_INTEGER(X509_get0_serialNumber(cert), &serial);
  CK_OBJECT_CLASS cls = CKO_CERTIFICATE;
  CK_CERTIFICATE_TYPE ctype = CKC_X_509;
  CK_ULONG category = authority ? 2 : 1; /* CK_CERTIFICATE_CATEGORY_AUTHORITY : _TOKEN_USER */
  CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
  CK_OBJECT_HANDLE h;
  gboolean ok = FALSE;
  CK_RV rv;

  if (value_len <= 0 || subject_len <= 0 || issuer_len <= 0 || serial_len <= 0) {
    tte_set_error_openssl(error, TTE_ERROR_CRYPTO, "cannot encode certificate \"%s\"", label);
    goto out;
  } else {
    CK_ATTRIBUTE tmpl[] = {
      { CKA_CLASS, &cls, sizeof cls },
      { CKA_CERTIFICATE_TYPE, &ctype, sizeof ctype },
      { CKA_CERTIFICATE_CATEGORY, &category, sizeof category },
      { CKA_TOKEN, &yes, sizeof yes },
      { CKA_PRIVATE, &no, sizeof no },
      { CKA_MODIFIABLE, &yes, sizeof yes },
      { CKA_LABEL, (void *)label, strlen(label) },
      { CKA_ID, (void *)id, id_len },
      { CKA_SUBJECT, subject, (CK_ULONG)subject_len },
      { CKA_ISSUER, issuer, (CK_ULONG)issuer_len },
      { CKA_SERIAL_NUMBER, serial, (CK_ULONG)serial_len },
      { CKA_VALUE, value, (CK_ULONG)value_len },
    };
    rv = fl->C_CreateObject(session, tmpl, G_N_ELEMENTS(tmpl), &h);
    if (rv != CKR_OK) {
      tte_p11_set_error_ckr(error, rv, "cannot store certificate \"%s\" on the token", label);
      goto out;
    }
  }
  ok = TRUE;
out:
  OPENSSL_free(value);
  OPENSSL_free(subject);
  OPENSSL_free(issuer);
  OPENSSL_free(serial);
  return ok;
}

/* State of the token's certificate objects for one import. */
typedef enum { CERT_ABSENT, CERT_SAME, CERT_OTHER_WITH_ID } CertState;

static CertState
cert_state(PKCS11_TOKEN *tok, X509 *cert, const guint8 *id, gsize id_len)
{
  PKCS11_CERT *certs = NULL;
  unsigned int n = 0;
  CertState st = CERT_ABSENT;

  if (PKCS11_enumerate_certs(tok, &certs, &n) != 0) {
    tte_openssl_clear_errors();
    return CERT_ABSENT;
  }
  for (unsigned int i = 0; i < n && i < TTE_LIMIT_P11_MAX_OBJECTS; i++) {
    if (certs[i].x509 != NULL && X509_cmp(certs[i].x509, cert) == 0)
      return CERT_SAME;
    if (id != NULL && id_len > 0 && certs[i].id_len == id_len &&
        memcmp(certs[i].id, id, id_len) == 0)
      st = CERT_OTHER_WITH_ID;
  }
  return st;
}

/* Label for a CA certificate: its CN, else "ca-<subject hash>". */
static char *
ca_label(X509 *c)
{
  char cn[128];
  if (X509_NAME_get_text_by_NID(X509_get_subject_name(c), NID_commonName, cn, sizeof cn) > 0)
    return g_strdup(cn);
  return g_strdup_printf("ca-%08lx", X509_subject_name_hash(c));
}

gboolean
tte_p11_import_cert(TteP11Module *m, const char *uri, TteSecret *pin, X509 *cert,
                    TteX509Stack *chain, GError **error)
{
  g_autoptr(TteP11Uri) u = tte_p11_uri_parse(uri, error);
  g_autoptr(TteP11Slots) s = NULL;
  CK_FUNCTION_LIST *fl = NULL;
  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  gboolean ok = FALSE;
  PKCS11_KEY *key;
  CertState st;

  if (u == NULL)
    return FALSE;
  if (chain != NULL && sk_X509_num(chain) > (int)TTE_LIMIT_CHAIN_MAX_CERTS) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT,
                "the chain holds more than %u certificates (TTE_LIMIT_CHAIN_MAX_CERTS)",
                TTE_LIMIT_CHAIN_MAX_CERTS);
    return FALSE;
  }
  g_mutex_lock(&m->lock);
  s = tte_p11_slots_find_token(m, u, error);
  if (s == NULL || !tte_p11_login(m, s->slot, pin, error))
    goto out;
  key = tte_p11_find_private_key(s, u, error);
  if (key == NULL)
    goto out;
  if (!tte_p11_key_matches_cert(s->slot->token, key, cert)) {
    g_autofree char *subj = tte_x509_name_string(X509_get_subject_name(cert));
    g_set_error(error, TTE_ERROR, TTE_ERROR_CERT_MISMATCH,
                "certificate \"%s\" is not for key \"%s\": the public keys differ", subj,
                key->label ? key->label : "");
    goto out;
  }
  st = cert_state(s->slot->token, cert, key->id, key->id_len);
  if (st == CERT_OTHER_WITH_ID) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_KEY_EXISTS,
                "token \"%s\" already holds another certificate for key \"%s\"; generate a "
                "new key to rotate, or remove the old certificate first",
                s->slot->token->label, key->label ? key->label : "");
    goto out;
  }
  if (!open_rw_session(m, s, &fl, &session, error))
    goto out;
  if (st == CERT_ABSENT &&
      !create_cert_object(fl, session, cert, key->label ? key->label : "", key->id, key->id_len,
                          FALSE, error))
    goto out;
  for (int i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
    X509 *c = sk_X509_value(chain, i);
    g_autofree char *label = NULL;
    guint8 cid[EVP_MAX_MD_SIZE];
    unsigned int cid_len = 0;

    if (X509_cmp(c, cert) == 0 || cert_state(s->slot->token, c, NULL, 0) == CERT_SAME)
      continue; /* already there: importing twice must not duplicate CA certificates */
    /* CA certificates get the SHA-1 of their public key as ID so they never collide
     * with a key's ID. */
    if (!X509_pubkey_digest(c, EVP_sha1(), cid, &cid_len)) {
      tte_set_error_openssl(error, TTE_ERROR_CRYPTO, "cannot hash a chain certificate");
      goto out;
    }
    label = ca_label(c);
    if (!create_cert_object(fl, session, c, label, cid, cid_len, TRUE, error))
      goto out;
  }
  ok = TRUE;
out:
  if (session != CK_INVALID_HANDLE)
    fl->C_CloseSession(session);
  g_clear_pointer(&s, tte_p11_slots_free);
  g_mutex_unlock(&m->lock);
  tte_openssl_clear_errors();
  return ok;
}
