/* tte-p11-key.c — the signing key (TteSigningKey) over a PKCS#11 token.
 *
 * Lookup at open time uses libp11 (shared with listing and administration); signing
 * then calls the module directly (C_SignInit/C_Sign) with a small session pool of our
 * own.  Why not sign through libp11's EVP_PKEY: with libp11 0.4.12, once the token was
 * pulled out and put back, that EVP_PKEY keeps failing (its slot still believes it is
 * logged in and its cached handles are stale; checked with tests/pkcs11/fault-module.c),
 * and the only way to refresh it is to release libp11's slot list, which frees the key
 * objects under any thread still signing with them.  With our own sessions every PKCS#11
 * return value reaches us: a lost session or token triggers one re-open (find the token
 * again by label/serial, log in again with the held PIN, find the key again by ID, prove
 * it with a test signature), and the caller gets a clear error while the token is away.
 */
#include "tte-p11-private.h"

#include "tte-error.h"
#include "tte-limits.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <string.h>

typedef struct {
  TteSigningKey base;
  TteP11Module *module;
  CK_FUNCTION_LIST *fl;
  char *token_label;
  char *token_serial; /* NULL when the token has none */
  GBytes *key_id;     /* NULL when the key has no ID: then found by label */
  char *key_label;
  TteSecret *pin;     /* copy for re-login; NULL when the token needs no login */

  GMutex lock;
  GCond cond;
  gboolean connected;  /* slot and key below are valid */
  gboolean dead;       /* re-login was refused: do not burn PIN tries */
  CK_SLOT_ID slot;
  CK_OBJECT_HANDLE key;
  guint64 generation;  /* bumped by each re-open */
  CK_SESSION_HANDLE idle[TTE_LIMIT_P11_SESSIONS];
  guint n_idle;
  guint n_open;
  guint max_open;      /* TTE_LIMIT_P11_SESSIONS, lowered when the token says CKR_SESSION_COUNT */
  guint users;         /* threads holding a session */
  gboolean recovering;
} P11Key;

/* --- raw signing ------------------------------------------------------------------------ */

/* DER DigestInfo prefixes (RFC 8017 section 9.2, note 1) for CKM_RSA_PKCS. */
static const guint8 di_sha256[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                    0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20 };
static const guint8 di_sha384[] = { 0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                    0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30 };
static const guint8 di_sha512[] = { 0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
                                    0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40 };

/* ECDSA on a token returns r || s; CMS wants the DER Ecdsa-Sig-Value. */
static GBytes *
ecdsa_raw_to_der(const guint8 *raw, gsize len)
{
  ECDSA_SIG *sig = ECDSA_SIG_new();
  BIGNUM *r, *s;
  unsigned char *der = NULL;
  int der_len;
  GBytes *out = NULL;

  if (sig == NULL || len == 0 || len % 2 != 0)
    goto out;
  r = BN_bin2bn(raw, (int)(len / 2), NULL);
  s = BN_bin2bn(raw + len / 2, (int)(len / 2), NULL);
  if (r == NULL || s == NULL || !ECDSA_SIG_set0(sig, r, s)) {
    BN_free(r);
    BN_free(s);
    goto out;
  }
  der_len = i2d_ECDSA_SIG(sig, &der);
  if (der_len > 0)
    out = g_bytes_new(der, (gsize)der_len);
out:
  OPENSSL_free(der);
  ECDSA_SIG_free(sig);
  return out;
}

static CK_RV
sign_raw(P11Key *k, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE key, TteSigScheme scheme,
         TteHash hash, const guint8 *digest, gsize digest_len, GBytes **out)
{
  guint8 data[64 + 32];
  guint8 sig[TTE_LIMIT_SIG_MAX_LEN];
  CK_ULONG sig_len = sizeof sig;
  CK_RSA_PKCS_PSS_PARAMS pss = { 0 };
  CK_MECHANISM mech = { 0 };
  const guint8 *prefix = NULL;
  gsize prefix_len = 0, data_len;
  CK_RV rv;

  switch (hash) {
  case TTE_HASH_SHA384:
    prefix = di_sha384;
    prefix_len = sizeof di_sha384;
    pss.hashAlg = CKM_SHA384;
    pss.mgf = CKG_MGF1_SHA384;
    break;
  case TTE_HASH_SHA512:
    prefix = di_sha512;
    prefix_len = sizeof di_sha512;
    pss.hashAlg = CKM_SHA512;
    pss.mgf = CKG_MGF1_SHA512;
    break;
  case TTE_HASH_SHA256:
  default:
    prefix = di_sha256;
    prefix_len = sizeof di_sha256;
    pss.hashAlg = CKM_SHA256;
    pss.mgf = CKG_MGF1_SHA256;
    break;
  }
  pss.sLen = digest_len;
  if (digest_len > 64)
    return CKR_DATA_LEN_RANGE;
  if (scheme == TTE_SCHEME_RSA_PKCS1) {
    mech.mechanism = CKM_RSA_PKCS;
    memcpy(data, prefix, prefix_len);
    memcpy(data + prefix_len, digest, digest_len);
    data_len = prefix_len + digest_len;
  } else {
    mech.mechanism = scheme == TTE_SCHEME_RSA_PSS ? CKM_RSA_PKCS_PSS : CKM_ECDSA;
    if (scheme == TTE_SCHEME_RSA_PSS) {
      mech.pParameter = &pss;
      mech.ulParameterLen = sizeof pss;
    }
    memcpy(data, digest, digest_len);
    data_len = digest_len;
  }
  rv = k->fl->C_SignInit(session, &mech, key);
  if (rv != CKR_OK)
    return rv;
  rv = k->fl->C_Sign(session, data, data_len, sig, &sig_len);
  if (rv != CKR_OK)
    return rv;
  if (scheme == TTE_SCHEME_ECDSA) {
    *out = ecdsa_raw_to_der(sig, sig_len);
    return *out != NULL ? CKR_OK : CKR_FUNCTION_FAILED;
  }
  *out = g_bytes_new(sig, sig_len);
  return CKR_OK;
}

/* --- finding the token and key with raw calls --------------------------------------------- */

/* A blank-padded PKCS#11 text field as a string. */
static char *
padded(const CK_UTF8CHAR *s, gsize len)
{
  while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\0'))
    len--;
  return g_strndup((const char *)s, len);
}

static gboolean
find_slot(P11Key *k, CK_SLOT_ID *slot_out, CK_FLAGS *flags_out, GError **error)
{
  CK_SLOT_ID slots[TTE_LIMIT_P11_MAX_SLOTS];
  CK_ULONG n = G_N_ELEMENTS(slots);
  guint found = 0;
  CK_RV rv;

  rv = k->fl->C_GetSlotList(CK_TRUE, slots, &n);
  if (rv == CKR_BUFFER_TOO_SMALL) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT,
                "the module has more than %u slots (TTE_LIMIT_P11_MAX_SLOTS)",
                TTE_LIMIT_P11_MAX_SLOTS);
    return FALSE;
  }
  if (rv != CKR_OK) {
    tte_p11_set_error_ckr(error, rv, "cannot list slots");
    return FALSE;
  }
  for (CK_ULONG i = 0; i < n; i++) {
    CK_TOKEN_INFO ti;
    g_autofree char *label = NULL, *serial = NULL;

    if (k->fl->C_GetTokenInfo(slots[i], &ti) != CKR_OK || !(ti.flags & CKF_TOKEN_INITIALIZED))
      continue;
    label = padded(ti.label, sizeof ti.label);
    serial = padded(ti.serialNumber, sizeof ti.serialNumber);
    if (strcmp(label, k->token_label) != 0 ||
        (k->token_serial != NULL && strcmp(serial, k->token_serial) != 0))
      continue;
    if (found++ == 0) {
      *slot_out = slots[i];
      *flags_out = ti.flags;
    }
  }
  if (found != 1) {
    g_set_error(error, TTE_ERROR, found == 0 ? TTE_ERROR_TOKEN_NOT_FOUND : TTE_ERROR_TOKEN,
                found == 0 ? "token \"%s\" is not present" : "token \"%s\" is present twice",
                k->token_label);
    return FALSE;
  }
  return TRUE;
}

static gboolean
find_key(P11Key *k, CK_SESSION_HANDLE session, CK_OBJECT_HANDLE *out, GError **error)
{
  CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
  CK_ATTRIBUTE tmpl[2] = { { CKA_CLASS, &cls, sizeof cls } };
  CK_OBJECT_HANDLE h[2];
  CK_ULONG count = 0;
  gsize id_len = 0;
  CK_RV rv;

  if (k->key_id != NULL) {
    tmpl[1].type = CKA_ID;
    tmpl[1].pValue = (void *)g_bytes_get_data(k->key_id, &id_len);
    tmpl[1].ulValueLen = id_len;
  } else {
    tmpl[1].type = CKA_LABEL;
    tmpl[1].pValue = k->key_label;
    tmpl[1].ulValueLen = strlen(k->key_label);
  }
  rv = k->fl->C_FindObjectsInit(session, tmpl, G_N_ELEMENTS(tmpl));
  if (rv == CKR_OK) {
    rv = k->fl->C_FindObjects(session, h, G_N_ELEMENTS(h), &count);
    k->fl->C_FindObjectsFinal(session);
  }
  if (rv != CKR_OK) {
    tte_p11_set_error_ckr(error, rv, "cannot search token \"%s\"", k->token_label);
    return FALSE;
  }
  if (count != 1) {
    g_set_error(error, TTE_ERROR, count == 0 ? TTE_ERROR_KEY_NOT_FOUND : TTE_ERROR_TOKEN,
                count == 0 ? "key \"%s\" is no longer on token \"%s\""
                           : "key \"%s\" is on token \"%s\" more than once",
                k->key_label, k->token_label);
    return FALSE;
  }
  *out = h[0];
  return TRUE;
}

/* Find the token, open a session, log in, find the key, and prove with one signature
 * that the key is still the certificate's.  On success the session is returned for the
 * pool. */
static gboolean
connect_key(P11Key *k, CK_SLOT_ID *slot, CK_OBJECT_HANDLE *key, CK_SESSION_HANDLE *session,
            GError **error)
{
  static const guint8 probe[32] = { 0x54, 0x54, 0x45 };
  g_autoptr(GBytes) sig = NULL;
  CK_FLAGS flags = 0;
  CK_RV rv;

  if (!find_slot(k, slot, &flags, error))
    return FALSE;
  rv = k->fl->C_OpenSession(*slot, CKF_SERIAL_SESSION, NULL, NULL, session);
  if (rv != CKR_OK) {
    tte_p11_set_error_ckr(error, rv, "cannot open a session on token \"%s\"", k->token_label);
    return FALSE;
  }
  if (flags & CKF_LOGIN_REQUIRED) {
    if (flags & CKF_USER_PIN_LOCKED) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_PIN_LOCKED, "the user PIN of token \"%s\" is locked",
                  k->token_label);
      goto fail;
    }
    if (k->pin == NULL) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_PIN_INVALID, "token \"%s\" needs a PIN",
                  k->token_label);
      goto fail;
    }
    /* The login state belongs to the token and the whole process: "already logged in"
     * is success only for the PIN that logged in. */
    if (!tte_p11_user_login(k->fl, *session, k->token_label, k->token_serial, k->pin, error))
      goto fail;
  }
  if (!find_key(k, *session, key, error))
    goto fail;
  rv = sign_raw(k, *session, *key, tte_signing_key_default_scheme(&k->base), TTE_HASH_SHA256,
                probe, sizeof probe, &sig);
  if (rv != CKR_OK) {
    tte_p11_set_error_ckr(error, rv, "test signature with key \"%s\" failed", k->key_label);
    goto fail;
  }
  if (!tte_signing_key_verify(&k->base, tte_signing_key_default_scheme(&k->base), TTE_HASH_SHA256,
                              probe, sizeof probe, sig, NULL)) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_CERT_MISMATCH,
                "key \"%s\" on token \"%s\" no longer matches its certificate", k->key_label,
                k->token_label);
    goto fail;
  }
  return TRUE;
fail:
  k->fl->C_CloseSession(*session);
  return FALSE;
}

/* --- session pool and recovery ------------------------------------------------------------ */

typedef enum { ACQ_OK, ACQ_RECOVER, ACQ_FAILED } AcqResult;

static AcqResult
acquire(P11Key *k, CK_SESSION_HANDLE *session, CK_OBJECT_HANDLE *key, guint64 *gen,
        CK_RV *rv_out)
{
  CK_SLOT_ID slot;
  CK_RV rv;

  g_mutex_lock(&k->lock);
  for (;;) {
    while (k->recovering)
      g_cond_wait(&k->cond, &k->lock);
    *gen = k->generation;
    if (!k->connected) {
      g_mutex_unlock(&k->lock);
      return ACQ_RECOVER;
    }
    *key = k->key;
    if (k->n_idle > 0) {
      *session = k->idle[--k->n_idle];
      k->users++;
      g_mutex_unlock(&k->lock);
      return ACQ_OK;
    }
    if (k->n_open < k->max_open)
      break;
    g_cond_wait(&k->cond, &k->lock);
  }
  /* Open a new session outside the lock (a slow token must not block the pool). */
  k->n_open++;
  k->users++;
  slot = k->slot;
  g_mutex_unlock(&k->lock);
  tte_p11_use_begin(k->module);
  rv = k->fl->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, session);
  tte_p11_use_end(k->module);
  if (rv == CKR_OK)
    return ACQ_OK;
  g_mutex_lock(&k->lock);
  k->n_open--;
  k->users--;
  g_cond_broadcast(&k->cond);
  if (rv == CKR_SESSION_COUNT && k->n_open > 0) {
    /* A token with few sessions: share the ones we have instead of failing. */
    k->max_open = k->n_open;
    g_mutex_unlock(&k->lock);
    return acquire(k, session, key, gen, rv_out);
  }
  g_mutex_unlock(&k->lock);
  *rv_out = rv;
  return ACQ_FAILED;
}

static void
release(P11Key *k, CK_SESSION_HANDLE session, gboolean broken)
{
  if (broken) {
    tte_p11_use_begin(k->module);
    k->fl->C_CloseSession(session);
    tte_p11_use_end(k->module);
  }
  g_mutex_lock(&k->lock);
  if (broken)
    k->n_open--;
  else
    k->idle[k->n_idle++] = session;
  k->users--;
  g_cond_broadcast(&k->cond);
  g_mutex_unlock(&k->lock);
}

/* Re-open after generation @seen failed; when another thread already did, use its
 * result.  Runs with no session in use: it waits for the other signers to return theirs
 * and holds new ones back. */
static gboolean
recover(P11Key *k, guint64 seen, GError **error)
{
  g_autoptr(GError) local = NULL;
  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  CK_SLOT_ID slot = 0;
  CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
  CK_SESSION_HANDLE old[TTE_LIMIT_P11_SESSIONS];
  guint n_old;
  gboolean ok;

  g_mutex_lock(&k->lock);
  while (k->recovering)
    g_cond_wait(&k->cond, &k->lock);
  if (k->generation != seen && k->connected) {
    g_mutex_unlock(&k->lock);
    return TRUE;
  }
  if (k->dead) {
    g_mutex_unlock(&k->lock);
    g_set_error(error, TTE_ERROR, TTE_ERROR_PIN_INCORRECT,
                "token \"%s\" refused the PIN when logging in again; open the key anew",
                k->token_label);
    return FALSE;
  }
  k->recovering = TRUE;
  while (k->users > 0)
    g_cond_wait(&k->cond, &k->lock);
  n_old = k->n_idle;
  memcpy(old, k->idle, n_old * sizeof old[0]);
  k->n_idle = k->n_open = 0;
  k->connected = FALSE;
  g_mutex_unlock(&k->lock);

  /* PKCS#11 calls only inside the use bracket, never a wait on our own locks: a slot
   * release waiting for the bracket must not wait for us in turn. */
  tte_p11_use_begin(k->module);
  for (guint i = 0; i < n_old; i++)
    k->fl->C_CloseSession(old[i]);
  ok = connect_key(k, &slot, &key, &session, &local);
  tte_p11_use_end(k->module);

  g_mutex_lock(&k->lock);
  if (ok) {
    k->slot = slot;
    k->key = key;
    k->idle[k->n_idle++] = session;
    k->n_open = 1;
    k->connected = TRUE;
  } else if (local->code == TTE_ERROR_PIN_INCORRECT || local->code == TTE_ERROR_PIN_LOCKED) {
    k->dead = TRUE;
  }
  k->generation++;
  k->recovering = FALSE;
  g_cond_broadcast(&k->cond);
  g_mutex_unlock(&k->lock);
  if (!ok)
    g_propagate_error(error, g_steal_pointer(&local));
  return ok;
}

/* Return values after which the session, the login or the token is gone but may come
 * back: worth one re-open. */
static gboolean
ckr_recoverable(CK_RV rv)
{
  switch (rv) {
  case CKR_SESSION_HANDLE_INVALID:
  case CKR_SESSION_CLOSED:
  case CKR_DEVICE_REMOVED:
  case CKR_DEVICE_ERROR:
  case CKR_TOKEN_NOT_PRESENT:
  case CKR_TOKEN_NOT_RECOGNIZED:
  case CKR_USER_NOT_LOGGED_IN:
  case CKR_KEY_HANDLE_INVALID:
  case CKR_OBJECT_HANDLE_INVALID:
  case CKR_SLOT_ID_INVALID:
  case CKR_OPERATION_ACTIVE:
  case CKR_GENERAL_ERROR:
    return TRUE;
  default:
    return FALSE;
  }
}

static gboolean
p11_key_sign(TteSigningKey *key, TteSigScheme scheme, TteHash hash, const guint8 *digest,
             gsize digest_len, GBytes **sig_out, GError **error)
{
  P11Key *k = (P11Key *)key;

  /* Up to two re-opens per call: a session can be lost again right after a re-open
   * (another part of the process released a slot list), which is no reason to fail. */
  for (int attempt = 0;; attempt++) {
    CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
    CK_OBJECT_HANDLE key_handle = CK_INVALID_HANDLE;
    CK_RV rv = CKR_OK;
    guint64 gen = 0;
    AcqResult acq = acquire(k, &session, &key_handle, &gen, &rv);

    if (acq == ACQ_OK) {
      tte_p11_use_begin(k->module);
      rv = sign_raw(k, session, key_handle, scheme, hash, digest, digest_len, sig_out);
      tte_p11_use_end(k->module);
      release(k, session, rv != CKR_OK);
      if (rv == CKR_OK)
        return TRUE;
    }
    if (acq != ACQ_RECOVER && (attempt >= 2 || !ckr_recoverable(rv))) {
      tte_p11_set_error_ckr(error, rv, "token \"%s\" could not sign with key \"%s\"",
                            k->token_label, k->key_label);
      return FALSE;
    }
    if (acq == ACQ_RECOVER && attempt >= 2) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_TOKEN_NOT_FOUND, "token \"%s\" is not available",
                  k->token_label);
      return FALSE;
    }
    if (!recover(k, gen, error))
      return FALSE;
  }
}

static void
p11_key_finalize(TteSigningKey *key)
{
  P11Key *k = (P11Key *)key;

  tte_p11_use_begin(k->module);
  for (guint i = 0; i < k->n_idle; i++)
    k->fl->C_CloseSession(k->idle[i]);
  tte_p11_use_end(k->module);
  g_free(k->token_label);
  g_free(k->token_serial);
  if (k->key_id != NULL)
    g_bytes_unref(k->key_id);
  g_free(k->key_label);
  tte_secret_free(k->pin);
  g_mutex_clear(&k->lock);
  g_cond_clear(&k->cond);
  tte_p11_module_unref(k->module);
}

static const TteSigningKeyClass p11_key_class = {
  .sign = p11_key_sign,
  .finalize = p11_key_finalize,
};

/* --- a PIN presented again ----------------------------------------------------------------- */

gboolean
tte_p11_signing_key_try_pin(TteSigningKey *key, TteSecret *pin, gboolean *still_open,
                            GError **error)
{
  P11Key *k = (P11Key *)key;
  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  CK_SLOT_ID slot;
  CK_FLAGS flags;
  gboolean kept = FALSE, ok = FALSE;
  CK_RV rv;

  *still_open = FALSE;
  if (key == NULL || key->klass != &p11_key_class) {
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                        "not a signing key of the PKCS#11 layer");
    return FALSE;
  }
  if (k->pin == NULL) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT, "token \"%s\" needs no PIN",
                k->token_label);
    return FALSE;
  }
  /* Like a re-open: the key's own signatures wait while the token is logged out. */
  g_mutex_lock(&k->lock);
  while (k->recovering)
    g_cond_wait(&k->cond, &k->lock);
  k->recovering = TRUE;
  while (k->users > 0)
    g_cond_wait(&k->cond, &k->lock);
  g_mutex_unlock(&k->lock);

  /* A session of its own (the pool's may have been closed under us by a slot release;
   * login state is per token, so any session will do). */
  tte_p11_use_begin(k->module);
  if (find_slot(k, &slot, &flags, error)) {
    rv = k->fl->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &session);
    if (rv != CKR_OK) {
      tte_p11_set_error_ckr(error, rv, "cannot open a session on token \"%s\"", k->token_label);
      kept = TRUE;
    } else {
      ok = tte_p11_user_login_again(k->fl, session, k->token_label, k->token_serial, pin, k->pin,
                                    &kept, error);
      if (ok) {
        /* The token took @pin: it is the PIN now, and the one we held is stale. */
        tte_secret_free(k->pin);
        k->pin = tte_secret_new(tte_secret_get(pin), tte_secret_len(pin), NULL);
        kept = k->pin != NULL;
      }
      k->fl->C_CloseSession(session);
    }
  } else {
    kept = TRUE; /* token away: nothing changed, the key recovers when it is back */
  }
  tte_p11_use_end(k->module);

  g_mutex_lock(&k->lock);
  if (!kept) {
    /* Logged out for good (our PIN is refused too, e.g. the token locked): no re-login
     * with the held PIN, which would only burn tries. */
    k->connected = FALSE;
    k->dead = TRUE;
  }
  *still_open = kept;
  k->recovering = FALSE;
  g_cond_broadcast(&k->cond);
  g_mutex_unlock(&k->lock);
  return ok;
}

/* --- opening ---------------------------------------------------------------------------- */

TteSigningKey *
tte_p11_open_signing_key(TteP11Module *m, const char *uri, TteSecret *pin, X509 *cert,
                         TteX509Stack *chain, GError **error)
{
  g_autoptr(TteP11Uri) u = tte_p11_uri_parse(uri, error);
  g_autoptr(TteP11Slots) s = NULL;
  g_autoptr(X509) tok_cert = NULL;
  g_autoptr(TteX509Stack) full_chain = NULL;
  g_autoptr(GError) local = NULL;
  CK_SESSION_HANDLE session = CK_INVALID_HANDLE;
  CK_FUNCTION_LIST *fl;
  PKCS11_KEY *key;
  P11Key *k = NULL;
  X509 *use;

  if (u == NULL)
    return NULL;
  if (u->type != NULL && strcmp(u->type, "private") != 0) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                "a signing key URI must name a private key, not type=%s", u->type);
    return NULL;
  }

  /* 1. Look up with libp11: token, PIN, key, certificate and chain on the token. */
  g_mutex_lock(&m->lock);
  fl = tte_p11_module_functions(m, error);
  if (fl == NULL)
    goto fail_locked;
  s = tte_p11_slots_find_token(m, u, error);
  if (s == NULL || !tte_p11_login(m, s->slot, pin, error))
    goto fail_locked;
  key = tte_p11_find_private_key(s, u, error);
  if (key == NULL)
    goto fail_locked;
  tok_cert = tte_p11_find_cert_for_key(s->slot->token, key);
  use = cert != NULL ? cert : tok_cert;
  if (use == NULL) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_CERT_NOT_FOUND,
                "no certificate for key \"%s\" on token \"%s\" (import it with 'tte keys "
                "import-cert')", key->label ? key->label : "", s->slot->token->label);
    goto fail_locked;
  }
  if (!tte_p11_key_matches_cert(s->slot->token, key, use)) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_CERT_MISMATCH,
                "the certificate's public key is not the key \"%s\" on token \"%s\"",
                key->label ? key->label : "", s->slot->token->label);
    goto fail_locked;
  }
  /* The issuers stored on the token (import-cert --chain), then the caller's extra ones. */
  full_chain = tte_p11_token_chain(s->slot->token, use);
  for (int i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
    X509 *c = sk_X509_value(chain, i);
    gboolean dup = FALSE;
    for (int j = 0; j < sk_X509_num(full_chain) && !dup; j++)
      dup = X509_cmp(c, sk_X509_value(full_chain, j)) == 0;
    if (!dup && sk_X509_num(full_chain) < (int)TTE_LIMIT_CHAIN_MAX_CERTS) {
      X509_up_ref(c);
      sk_X509_push(full_chain, c);
    }
  }

  k = g_new0(P11Key, 1);
  if (!tte_signing_key_init(&k->base, &p11_key_class, use, full_chain, error)) {
    g_clear_pointer(&k, g_free);
    goto fail_locked;
  }
  k->module = tte_p11_module_ref(m);
  k->fl = fl;
  k->token_label = g_strdup(s->slot->token->label);
  if (s->slot->token->serialnr != NULL && *s->slot->token->serialnr != '\0')
    k->token_serial = g_strdup(s->slot->token->serialnr);
  if (key->id_len > 0)
    k->key_id = g_bytes_new(key->id, key->id_len);
  k->key_label = g_strdup(key->label ? key->label : "");
  if (pin != NULL)
    k->pin = tte_secret_new(tte_secret_get(pin), tte_secret_len(pin), NULL);
  g_mutex_init(&k->lock);
  g_cond_init(&k->cond);
  k->max_open = TTE_LIMIT_P11_SESSIONS;

  /* 2. Drop libp11's view (this closes its sessions) and connect our own. */
  g_clear_pointer(&s, tte_p11_slots_free);
  if (!connect_key(k, &k->slot, &k->key, &session, &local)) {
    g_mutex_unlock(&m->lock);
    g_propagate_error(error, g_steal_pointer(&local));
    tte_signing_key_unref(&k->base);
    tte_openssl_clear_errors();
    return NULL;
  }
  k->idle[k->n_idle++] = session;
  k->n_open = 1;
  k->connected = TRUE;
  g_mutex_unlock(&m->lock);
  tte_openssl_clear_errors();
  return &k->base;

fail_locked:
  g_clear_pointer(&s, tte_p11_slots_free);
  g_mutex_unlock(&m->lock);
  tte_openssl_clear_errors();
  return NULL;
}
