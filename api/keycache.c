/* keycache.c — module, certificates, active keys and open (logged-in) keys for the
 * signing endpoints; see keycache.h for what is kept and why sole control still holds. */
#include "keycache.h"

#include "tte-error.h"
#include "tte-p11.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <string.h>

#define PIN_MAC_LEN 32

static const double sign_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
#define N_SIGN_BUCKETS G_N_ELEMENTS(sign_buckets)

typedef struct {
  X509 *cert;
  TteX509Stack *chain;
} CertEntry;

/* A readers-writer lock that lets a waiting writer in first: with the reader-preferring
 * default a stream of signatures would keep a key open waiting indefinitely. */
typedef struct {
  GMutex m;
  GCond c;
  guint readers, writers_waiting;
  gboolean writer;
} FairLock;

/* A key opened with its passphrase and kept logged in.  @mac is HMAC-SHA256 of that
 * passphrase under the cache's random key: it proves a later passphrase without the
 * token and is worthless outside this process.  Wiped when the entry goes. */
typedef struct {
  char *owner;        /* signer id, or "seal:NAME" */
  TteSigningKey *p11; /* the token key (pkcs11/), for tte_p11_signing_key_try_pin */
  TteSigningKey *sk;  /* what requests sign with (the token-lock wrapper over @p11) */
  guint8 mac[PIN_MAC_LEN];
  gint64 last_used; /* monotonic */
  gboolean opening; /* a request is opening it; others wait on the cache's cond */
  gboolean stale;   /* evicted while opening: dropped once the open returns */
} OpenKey;

struct ApiKeyCache {
  const ApiConfig *cfg;
  ApiStore *store;
  GMutex lock;
  GCond cond; /* an OpenKey stopped opening; the sweeper's timer */
  TteP11Module *module;
  GHashTable *certs;  /* key id -> CertEntry* */
  GHashTable *active; /* signer id -> ApiKey* */
  GHashTable *open;   /* key id -> OpenKey* */
  guint8 mac_key[32]; /* random per process, for OpenKey.mac; wiped on free */
  gint64 idle_us;     /* [sign] key_idle_timeout; 0 = keys are not kept open */
  GThread *sweeper;
  gboolean stopping;
  /* metrics */
  guint64 buckets[N_SIGN_BUCKETS];
  guint64 count;
  double sum;
  GHashTable *errors;      /* code name (static) -> guint64* */
  GHashTable *token_locks; /* token label -> FairLock* (never freed before the cache) */
};

static void
cert_entry_free(gpointer p)
{
  CertEntry *e = p;

  X509_free(e->cert);
  tte_x509_stack_free(e->chain);
  g_free(e);
}

static void
open_key_free(gpointer p)
{
  OpenKey *e = p;

  OPENSSL_cleanse(e->mac, sizeof e->mac);
  tte_signing_key_unref(e->sk);
  tte_signing_key_unref(e->p11);
  g_free(e->owner);
  g_free(e);
}

static void
rwlock_free(gpointer p)
{
  FairLock *f = p;

  g_mutex_clear(&f->m);
  g_cond_clear(&f->c);
  g_free(f);
}

/* Every live cache, for api_keycache_signer_changed(). */
G_LOCK_DEFINE_STATIC(registry);
static GSList *registry;

/* Drop open keys idle for longer than [sign] key_idle_timeout even when no request
 * comes: a key must not stay logged in overnight because nobody signed. */
static gpointer
sweeper_main(gpointer data)
{
  ApiKeyCache *kc = data;
  gint64 period = CLAMP(kc->idle_us / 4, G_USEC_PER_SEC, 30 * G_USEC_PER_SEC);

  g_mutex_lock(&kc->lock);
  while (!kc->stopping) {
    GHashTableIter it;
    gpointer v;
    gint64 now = g_get_monotonic_time();

    g_hash_table_iter_init(&it, kc->open);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
      OpenKey *e = v;
      if (!e->opening && now - e->last_used > kc->idle_us)
        g_hash_table_iter_remove(&it);
    }
    g_cond_wait_until(&kc->cond, &kc->lock, now + period);
  }
  g_mutex_unlock(&kc->lock);
  return NULL;
}

ApiKeyCache *
api_keycache_new(const ApiConfig *cfg, ApiStore *store)
{
  ApiKeyCache *kc = g_new0(ApiKeyCache, 1);

  kc->cfg = cfg;
  kc->store = store;
  g_mutex_init(&kc->lock);
  g_cond_init(&kc->cond);
  kc->certs = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, cert_entry_free);
  kc->active = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)api_key_free);
  kc->open = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, open_key_free);
  kc->errors = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, g_free);
  kc->token_locks = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, rwlock_free);
  kc->idle_us = (gint64)cfg->key_idle_timeout_s * G_USEC_PER_SEC;
  /* Without random bytes nothing is kept open: every request opens its key, as with
   * key_idle_timeout = 0.  (Raw bytes, not a TteSecret: that refuses a NUL byte, which
   * one key in nine contains.) */
  if (kc->idle_us > 0 && RAND_priv_bytes(kc->mac_key, sizeof kc->mac_key) != 1)
    kc->idle_us = 0;
  if (kc->idle_us > 0)
    kc->sweeper = g_thread_new("tte-keycache", sweeper_main, kc);
  G_LOCK(registry);
  registry = g_slist_prepend(registry, kc);
  G_UNLOCK(registry);
  return kc;
}

void
api_keycache_free(ApiKeyCache *kc)
{
  if (kc == NULL)
    return;
  G_LOCK(registry);
  registry = g_slist_remove(registry, kc);
  G_UNLOCK(registry);
  if (kc->sweeper != NULL) {
    g_mutex_lock(&kc->lock);
    kc->stopping = TRUE;
    g_cond_broadcast(&kc->cond);
    g_mutex_unlock(&kc->lock);
    g_thread_join(kc->sweeper);
  }
  g_hash_table_unref(kc->open);
  OPENSSL_cleanse(kc->mac_key, sizeof kc->mac_key);
  g_cond_clear(&kc->cond);
  g_hash_table_unref(kc->certs);
  g_hash_table_unref(kc->active);
  g_hash_table_unref(kc->errors);
  g_hash_table_unref(kc->token_locks);
  tte_p11_module_unref(kc->module);
  g_mutex_clear(&kc->lock);
  g_free(kc);
}

gpointer
api_keycache_module(ApiKeyCache *kc, GError **error)
{
  G_GNUC_UNUSED g_autoptr(GMutexLocker) l = g_mutex_locker_new(&kc->lock);

  if (kc->module == NULL) {
    const char *const *allow = NULL;
    const char *single[2] = {kc->cfg->pkcs11_module, NULL};

    /* An empty allowlist in the configuration means "only the configured module". */
    if (kc->cfg->pkcs11_allowed != NULL && kc->cfg->pkcs11_allowed[0] != NULL)
      allow = (const char *const *)kc->cfg->pkcs11_allowed;
    else
      allow = single;
    kc->module = tte_p11_module_load(kc->cfg->pkcs11_module, allow, error);
    if (kc->module == NULL)
      return NULL;
  }
  return tte_p11_module_ref(kc->module);
}

/* Remove the open keys of @owner (all when NULL).  Call with kc->lock. */
static void
evict_owner_locked(ApiKeyCache *kc, const char *owner)
{
  GHashTableIter it;
  gpointer v;

  g_hash_table_iter_init(&it, kc->open);
  while (g_hash_table_iter_next(&it, NULL, &v)) {
    OpenKey *e = v;
    if (owner != NULL && g_strcmp0(e->owner, owner) != 0)
      continue;
    if (e->opening)
      e->stale = TRUE;
    else
      g_hash_table_iter_remove(&it);
  }
}

void
api_keycache_invalidate(ApiKeyCache *kc, const char *signer_id)
{
  G_GNUC_UNUSED g_autoptr(GMutexLocker) l = g_mutex_locker_new(&kc->lock);

  g_hash_table_remove(kc->active, signer_id);
  evict_owner_locked(kc, signer_id);
}

void
api_keycache_signer_changed(const char *signer_id)
{
  G_LOCK(registry);
  for (GSList *l = registry; l != NULL; l = l->next)
    api_keycache_invalidate(l->data, signer_id);
  G_UNLOCK(registry);
}

guint
api_keycache_open_count(ApiKeyCache *kc)
{
  G_GNUC_UNUSED g_autoptr(GMutexLocker) l = g_mutex_locker_new(&kc->lock);
  GHashTableIter it;
  gpointer v;
  guint n = 0;

  g_hash_table_iter_init(&it, kc->open);
  while (g_hash_table_iter_next(&it, NULL, &v))
    n += !((OpenKey *)v)->opening;
  return n;
}

void
api_keycache_key_failed(ApiKeyCache *kc, TteSigningKey *sk, const GError *error)
{
  G_GNUC_UNUSED g_autoptr(GMutexLocker) l = g_mutex_locker_new(&kc->lock);
  GHashTableIter it;
  gpointer v;

  /* Only the token's own failures: a damaged PDF says nothing about the key. */
  if (error == NULL || error->domain != TTE_ERROR || error->code < TTE_ERROR_MODULE_NOT_ALLOWED ||
      error->code > TTE_ERROR_CERT_MISMATCH)
    return;
  g_hash_table_iter_init(&it, kc->open);
  while (g_hash_table_iter_next(&it, NULL, &v)) {
    OpenKey *e = v;
    if (e->sk == sk && !e->opening)
      g_hash_table_iter_remove(&it);
  }
}

static ApiKey *
key_copy(const ApiKey *k)
{
  ApiKey *c = g_new0(ApiKey, 1);

  c->id = g_strdup(k->id);
  c->signer_id = g_strdup(k->signer_id);
  c->pkcs11_uri = g_strdup(k->pkcs11_uri);
  c->cert_pem = g_strdup(k->cert_pem);
  c->state = g_strdup(k->state);
  c->not_before = k->not_before;
  c->not_after = k->not_after;
  c->created = k->created;
  c->updated = k->updated;
  return c;
}

ApiKey *
api_keycache_active_key(ApiKeyCache *kc, ApiStore *store, const char *signer_id, GError **error)
{
  g_autoptr(GPtrArray) keys = NULL;
  const ApiKey *found = NULL;

  {
    G_GNUC_UNUSED g_autoptr(GMutexLocker) l = g_mutex_locker_new(&kc->lock);
    const ApiKey *k = g_hash_table_lookup(kc->active, signer_id);
    if (k != NULL)
      return key_copy(k);
  }
  /* Reads wait for a commit in progress (one connection); caching the answer keeps
   * the signing path off the database until the record is written. */
  keys = store->ops->key_list(store, signer_id, error);
  if (keys == NULL)
    return NULL;
  for (guint i = 0; i < keys->len; i++) {
    const ApiKey *k = g_ptr_array_index(keys, i);
    if (g_strcmp0(k->state, "active") == 0)
      found = k;
  }
  if (found == NULL || found->cert_pem == NULL) {
    g_set_error_literal(error, API_ERROR, API_ERROR_CONFLICT,
                        "the signer has no active key: an administrator must import and activate "
                        "one (POST /api/v1/admin/signers/{id}/keys/...)");
    return NULL;
  }
  {
    G_GNUC_UNUSED g_autoptr(GMutexLocker) l = g_mutex_locker_new(&kc->lock);
    g_hash_table_replace(kc->active, g_strdup(signer_id), key_copy(found));
  }
  return key_copy(found);
}

static gboolean
certs_for(ApiKeyCache *kc, const ApiKey *key, X509 **cert, TteX509Stack **chain, GError **error)
{
  CertEntry *e;

  {
    G_GNUC_UNUSED g_autoptr(GMutexLocker) l = g_mutex_locker_new(&kc->lock);
    e = g_hash_table_lookup(kc->certs, key->id);
    if (e != NULL) {
      X509_up_ref(e->cert);
      *cert = e->cert;
      *chain = X509_chain_up_ref(e->chain);
      return TRUE;
    }
  }
  {
    g_autoptr(TteX509Stack) all = NULL;
    CertEntry *ne;

    if (key->cert_pem == NULL) {
      g_set_error_literal(error, TTE_ERROR, TTE_ERROR_CERT_NOT_FOUND, "the key has no certificate");
      return FALSE;
    }
    all = tte_x509_load_mem(key->cert_pem, strlen(key->cert_pem), "key certificate", error);
    if (all == NULL || sk_X509_num(all) < 1) {
      g_prefix_error(error, "stored certificate of key %s: ", key->id);
      return FALSE;
    }
    ne = g_new0(CertEntry, 1);
    /* The first certificate is the signer's; the rest (if any) are its issuers. */
    ne->cert = sk_X509_shift(all);
    ne->chain = g_steal_pointer(&all);
    X509_up_ref(ne->cert);
    *cert = ne->cert;
    *chain = X509_chain_up_ref(ne->chain);
    {
      G_GNUC_UNUSED g_autoptr(GMutexLocker) l = g_mutex_locker_new(&kc->lock);
      g_hash_table_replace(kc->certs, g_strdup(key->id), ne);
    }
  }
  return TRUE;
}

static FairLock *
token_lock(ApiKeyCache *kc, const char *uri)
{
  g_autoptr(TteP11Uri) u = uri ? tte_p11_uri_parse(uri, NULL) : NULL;
  const char *label = u != NULL && u->token != NULL ? u->token : "";
  G_GNUC_UNUSED g_autoptr(GMutexLocker) l = g_mutex_locker_new(&kc->lock);
  FairLock *f = g_hash_table_lookup(kc->token_locks, label);

  if (f == NULL) {
    f = g_new0(FairLock, 1);
    g_mutex_init(&f->m);
    g_cond_init(&f->c);
    g_hash_table_insert(kc->token_locks, g_strdup(label), f);
  }
  return f;
}

static void
fair_lock(FairLock *f, gboolean exclusive)
{
  g_mutex_lock(&f->m);
  if (exclusive) {
    f->writers_waiting++;
    while (f->writer || f->readers > 0)
      g_cond_wait(&f->c, &f->m);
    f->writers_waiting--;
    f->writer = TRUE;
  } else {
    while (f->writer || f->writers_waiting > 0)
      g_cond_wait(&f->c, &f->m);
    f->readers++;
  }
  g_mutex_unlock(&f->m);
}

static void
fair_unlock(FairLock *f, gboolean exclusive)
{
  g_mutex_lock(&f->m);
  if (exclusive)
    f->writer = FALSE;
  else
    f->readers--;
  g_cond_broadcast(&f->c);
  g_mutex_unlock(&f->m);
}

void
api_keycache_token_lock(ApiKeyCache *kc, const char *uri, gboolean exclusive)
{
  fair_lock(token_lock(kc, uri), exclusive);
}

void
api_keycache_token_unlock(ApiKeyCache *kc, const char *uri, gboolean exclusive)
{
  fair_unlock(token_lock(kc, uri), exclusive);
}

/* A signing key that delegates to the token key and holds the token's lock shared for
 * the raw signature only (not for the PDF work around it). */
typedef struct {
  TteSigningKey base;
  TteSigningKey *inner;
  FairLock *lock; /* owned by the cache, which outlives every request */
} LockedKey;

static gboolean
locked_sign(TteSigningKey *key, TteSigScheme scheme, TteHash hash, const guint8 *digest,
            gsize digest_len, GBytes **sig_out, GError **error)
{
  LockedKey *k = (LockedKey *)key;
  gboolean ok;

  fair_lock(k->lock, FALSE);
  *sig_out = tte_signing_key_sign(k->inner, scheme, hash, digest, digest_len, error);
  ok = *sig_out != NULL;
  fair_unlock(k->lock, FALSE);
  return ok;
}

static void
locked_finalize(TteSigningKey *key)
{
  tte_signing_key_unref(((LockedKey *)key)->inner);
}

static const TteSigningKeyClass locked_key_class = {
    .sign = locked_sign,
    .finalize = locked_finalize,
};

/* Open the token key and wrap it; *@p11_out (may be NULL) gets a reference to the token
 * key itself. */
static TteSigningKey *
open_uri(ApiKeyCache *kc, const char *uri, TteSecret *pin, X509 *cert, TteX509Stack *chain,
         TteSigningKey **p11_out, GError **error)
{
  g_autoptr(TteP11Module) m = api_keycache_module(kc, error);
  TteSigningKey *k;
  FairLock *f;
  LockedKey *lk;

  if (m == NULL) {
    api_keycache_note_error(kc, error ? *error : NULL);
    return NULL;
  }
  f = token_lock(kc, uri);

  fair_lock(f, TRUE);
  k = tte_p11_open_signing_key(m, uri, pin, cert, chain, error);
  fair_unlock(f, TRUE);
  if (k == NULL) {
    api_keycache_note_error(kc, error ? *error : NULL);
    return NULL;
  }
  lk = g_new0(LockedKey, 1);
  if (!tte_signing_key_init(&lk->base, &locked_key_class, tte_signing_key_get_cert(k),
                            tte_signing_key_get_chain(k), error)) {
    g_free(lk);
    tte_signing_key_unref(k);
    return NULL;
  }
  lk->inner = k;
  lk->lock = f;
  if (p11_out != NULL)
    *p11_out = tte_signing_key_ref(k);
  return &lk->base;
}

TteSigningKey *
api_keycache_open_uri(ApiKeyCache *kc, const char *uri, TteSecret *pin, X509 *cert,
                      TteX509Stack *chain, GError **error)
{
  return open_uri(kc, uri, pin, cert, chain, NULL, error);
}

static gboolean
pin_mac(ApiKeyCache *kc, TteSecret *pin, guint8 out[PIN_MAC_LEN])
{
  size_t len = 0;

  return EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, kc->mac_key, sizeof kc->mac_key,
                   (const unsigned char *)tte_secret_get(pin), tte_secret_len(pin), out,
                   PIN_MAC_LEN, &len) != NULL &&
         len == PIN_MAC_LEN;
}

TteSigningKey *
api_keycache_open_owned(ApiKeyCache *kc, const char *owner, const char *key_id, const char *uri,
                        X509 *cert, TteX509Stack *chain, TteSecret *pin, GError **error)
{
  guint8 mac[PIN_MAC_LEN];
  TteSigningKey *sk = NULL, *p11 = NULL;
  OpenKey *e;

  if (kc->idle_us == 0)
    return open_uri(kc, uri, pin, cert, chain, NULL, error);
  if (!pin_mac(kc, pin, mac)) {
    tte_set_error_openssl(error, TTE_ERROR_CRYPTO, "cannot hash the passphrase");
    return NULL;
  }
  g_mutex_lock(&kc->lock);
  for (;;) {
    gint64 now = g_get_monotonic_time();
    TteSigningKey *seen;
    gboolean still_open = TRUE, accepted;

    e = g_hash_table_lookup(kc->open, key_id);
    if (e != NULL && e->opening) {
      /* One open per key at a time: the others wait and compare with its result. */
      g_cond_wait(&kc->cond, &kc->lock);
      continue;
    }
    if (e != NULL && now - e->last_used > kc->idle_us) {
      g_hash_table_remove(kc->open, key_id);
      e = NULL;
    }
    if (e == NULL)
      break;
    if (CRYPTO_memcmp(mac, e->mac, sizeof mac) == 0) {
      e->last_used = now;
      sk = tte_signing_key_ref(e->sk);
      g_mutex_unlock(&kc->lock);
      OPENSSL_cleanse(mac, sizeof mac);
      return sk;
    }
    /* Not the passphrase the key was opened with.  The token decides, not our hash: the
     * passphrase goes to C_Login, so a wrong one counts against the token's retry counter
     * as it would without the cache (and a PIN changed on the token is noticed). */
    p11 = tte_signing_key_ref(e->p11);
    seen = e->sk;
    g_mutex_unlock(&kc->lock);
    accepted = tte_p11_signing_key_try_pin(p11, pin, &still_open, error);
    g_clear_pointer(&p11, tte_signing_key_unref);
    g_mutex_lock(&kc->lock);
    e = g_hash_table_lookup(kc->open, key_id);
    if (e != NULL && e->sk == seen && (accepted || !still_open))
      g_hash_table_remove(kc->open, key_id);
    if (!accepted) {
      g_mutex_unlock(&kc->lock);
      OPENSSL_cleanse(mac, sizeof mac);
      api_keycache_note_error(kc, error ? *error : NULL);
      return NULL;
    }
    /* Accepted: the token's PIN was changed.  Open the key anew with it. */
  }
  e = g_new0(OpenKey, 1);
  e->owner = g_strdup(owner);
  e->opening = TRUE;
  g_hash_table_replace(kc->open, g_strdup(key_id), e);
  g_mutex_unlock(&kc->lock);

  sk = open_uri(kc, uri, pin, cert, chain, &p11, error);

  g_mutex_lock(&kc->lock);
  if (sk != NULL && !e->stale) {
    e->p11 = g_steal_pointer(&p11);
    e->sk = tte_signing_key_ref(sk);
    memcpy(e->mac, mac, sizeof mac);
    e->last_used = g_get_monotonic_time();
    e->opening = FALSE;
  } else {
    /* The placeholder is still ours: nobody removes an entry that is opening. */
    g_hash_table_remove(kc->open, key_id);
  }
  g_cond_broadcast(&kc->cond);
  g_mutex_unlock(&kc->lock);
  tte_signing_key_unref(p11);
  OPENSSL_cleanse(mac, sizeof mac);
  return sk;
}

TteSigningKey *
api_keycache_open(ApiKeyCache *kc, const ApiKey *key, TteSecret *pin, GError **error)
{
  g_autoptr(X509) cert = NULL;
  g_autoptr(TteX509Stack) chain = NULL;

  if (!certs_for(kc, key, &cert, &chain, error))
    return NULL;
  return api_keycache_open_owned(kc, key->signer_id, key->id, key->pkcs11_uri, cert, chain, pin,
                                 error);
}

TteSigningKey *
api_keycache_open_seal(ApiKeyCache *kc, const ApiSealConfig *seal, GError **error)
{
  g_autofree char *id = g_strconcat("seal:", seal->name, NULL);
  g_autoptr(X509) cert = NULL;
  g_autoptr(TteX509Stack) chain = NULL;

  if (seal->certificate != NULL) {
    CertEntry *e;
    {
      G_GNUC_UNUSED g_autoptr(GMutexLocker) l = g_mutex_locker_new(&kc->lock);
      e = g_hash_table_lookup(kc->certs, id);
      if (e != NULL) {
        X509_up_ref(e->cert);
        cert = e->cert;
        chain = X509_chain_up_ref(e->chain);
      }
    }
    if (cert == NULL) {
      g_autofree char *pem = NULL;
      g_autoptr(GError) local = NULL;
      g_autoptr(TteX509Stack) all = NULL;
      gsize len = 0;
      CertEntry *ne;

      if (!g_file_get_contents(seal->certificate, &pem, &len, &local) ||
          (all = tte_x509_load_mem(pem, len, "seal certificate", &local)) == NULL ||
          sk_X509_num(all) < 1) {
        g_set_error(error, TTE_ERROR, TTE_ERROR_CERT_NOT_FOUND, "seal %s: certificate %s: %s",
                    seal->name, seal->certificate, local ? local->message : "empty");
        return NULL;
      }
      ne = g_new0(CertEntry, 1);
      ne->cert = sk_X509_shift(all);
      ne->chain = g_steal_pointer(&all);
      X509_up_ref(ne->cert);
      cert = ne->cert;
      chain = X509_chain_up_ref(ne->chain);
      g_mutex_lock(&kc->lock);
      g_hash_table_replace(kc->certs, g_strdup(id), ne);
      g_mutex_unlock(&kc->lock);
    }
  }
  /* The PIN is the service's own (read from pin_file at start); the open key stays
   * open like a signer's and is matched by the same keyed hash. */
  return api_keycache_open_owned(kc, id, id, seal->uri, cert, chain, seal->pin, error);
}

TteSigningKey *
api_keycache_open_active(ApiKeyCache *kc, ApiStore *store, const char *signer_id, TteSecret **pin,
                         ApiKey **key_out, GError **error)
{
  g_autoptr(ApiKey) key = api_keycache_active_key(kc, store, signer_id, error);
  TteSigningKey *sk = NULL;

  if (key != NULL)
    sk = api_keycache_open(kc, key, *pin, error);
  g_clear_pointer(pin, tte_secret_free);
  if (sk != NULL && key_out != NULL)
    *key_out = g_steal_pointer(&key);
  return sk;
}

void
api_keycache_note_error(ApiKeyCache *kc, const GError *error)
{
  G_GNUC_UNUSED g_autoptr(GMutexLocker) l = g_mutex_locker_new(&kc->lock);
  const char *code =
      error != NULL && error->domain == TTE_ERROR ? tte_error_code_name(error->code) : "OTHER";
  guint64 *n = g_hash_table_lookup(kc->errors, code);

  if (n == NULL) {
    n = g_new0(guint64, 1);
    g_hash_table_insert(kc->errors, (gpointer)code, n);
  }
  (*n)++;
}

void
api_keycache_note_sign(ApiKeyCache *kc, double seconds)
{
  G_GNUC_UNUSED g_autoptr(GMutexLocker) l = g_mutex_locker_new(&kc->lock);

  for (gsize i = 0; i < N_SIGN_BUCKETS; i++) {
    if (seconds <= sign_buckets[i]) {
      kc->buckets[i]++;
      break;
    }
  }
  kc->count++;
  kc->sum += seconds;
}

static char *
render_metrics(gpointer data)
{
  ApiKeyCache *kc = data;
  G_GNUC_UNUSED g_autoptr(GMutexLocker) l = g_mutex_locker_new(&kc->lock);
  GString *out = g_string_new(NULL);
  g_autoptr(GList) codes = NULL;
  guint64 cum = 0;
  char num[G_ASCII_DTOSTR_BUF_SIZE];

  g_string_append(out, "# HELP tte_sign_duration_seconds Token work of one signature (open"
                       " the key with the passphrase, sign), per document.\n"
                       "# TYPE tte_sign_duration_seconds histogram\n");
  for (gsize i = 0; i < N_SIGN_BUCKETS; i++) {
    cum += kc->buckets[i];
    g_ascii_formatd(num, sizeof num, "%g", sign_buckets[i]);
    g_string_append_printf(
        out, "tte_sign_duration_seconds_bucket{le=\"%s\"} %" G_GUINT64_FORMAT "\n", num, cum);
  }
  g_ascii_formatd(num, sizeof num, "%.6f", kc->sum);
  g_string_append_printf(out,
                         "tte_sign_duration_seconds_bucket{le=\"+Inf\"} %" G_GUINT64_FORMAT "\n"
                         "tte_sign_duration_seconds_sum %s\n"
                         "tte_sign_duration_seconds_count %" G_GUINT64_FORMAT "\n",
                         kc->count, num, kc->count);
  {
    GHashTableIter it;
    gpointer v;
    guint n = 0;
    g_hash_table_iter_init(&it, kc->open);
    while (g_hash_table_iter_next(&it, NULL, &v))
      n += !((OpenKey *)v)->opening;
    g_string_append_printf(out,
                           "# HELP tte_keys_open Keys kept open (logged in) by the key cache.\n"
                           "# TYPE tte_keys_open gauge\ntte_keys_open %u\n",
                           n);
  }
  g_string_append(out, "# HELP tte_token_errors_total Failures of the PKCS#11 layer by code.\n"
                       "# TYPE tte_token_errors_total counter\n");
  codes = g_list_sort(g_hash_table_get_keys(kc->errors), (GCompareFunc)strcmp);
  for (GList *c = codes; c != NULL; c = c->next)
    g_string_append_printf(out, "tte_token_errors_total{code=\"%s\"} %" G_GUINT64_FORMAT "\n",
                           (const char *)c->data,
                           *(guint64 *)g_hash_table_lookup(kc->errors, c->data));
  return g_string_free(out, FALSE);
}

/* /readyz: the module loads, and each token holding an active key is present (listed
 * without a PIN: public objects only).  With no active key, loading the module is all
 * that can be checked. */
static gboolean
ready_check(gpointer data, GError **error)
{
  ApiKeyCache *kc = data;
  g_autoptr(TteP11Module) m = api_keycache_module(kc, error);
  g_autoptr(GPtrArray) keys = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

  if (m == NULL)
    return FALSE;
  if (kc->store == NULL)
    return TRUE;
  keys = kc->store->ops->key_list(kc->store, NULL, error);
  if (keys == NULL)
    return FALSE;
  /* The seals' tokens too: a seal key is used like an active one. */
  for (guint i = 0; i < kc->cfg->seals->len; i++) {
    const ApiSealConfig *seal = g_ptr_array_index(kc->cfg->seals, i);
    ApiKey *k = g_new0(ApiKey, 1);
    k->pkcs11_uri = g_strdup(seal->uri);
    k->state = g_strdup("active");
    g_ptr_array_add(keys, k);
  }
  for (guint i = 0; i < keys->len; i++) {
    const ApiKey *k = g_ptr_array_index(keys, i);
    g_autoptr(TteP11Uri) u = NULL;
    g_autoptr(GPtrArray) tokens = NULL;
    g_autofree char *token_uri = NULL;

    if (g_strcmp0(k->state, "active") != 0 ||
        (u = tte_p11_uri_parse(k->pkcs11_uri, NULL)) == NULL || u->token == NULL ||
        g_hash_table_contains(seen, u->token))
      continue;
    g_hash_table_add(seen, g_strdup(u->token));
    {
      TteP11Uri t = {.token = u->token, .serial = u->serial};
      token_uri = tte_p11_uri_format(&t);
    }
    tokens = tte_p11_list(m, token_uri, NULL, error);
    if (tokens == NULL) {
      api_keycache_note_error(kc, error ? *error : NULL);
      return FALSE;
    }
    if (tokens->len == 0) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_TOKEN_NOT_FOUND, "token \"%s\" is not present",
                  u->token);
      return FALSE;
    }
  }
  return TRUE;
}

void
api_keycache_attach(ApiKeyCache *kc, ApiServer *srv)
{
  api_server_add_ready_check(srv, "pkcs11", ready_check, kc);
  api_server_add_metrics(srv, render_metrics, kc);
}
