/* tte-p11.c — modules, error mapping, token/key lookup and the signing key over libp11.
 *
 * libp11 0.4.12 facts this file relies on (checked against SoftHSM2 in tests/pkcs11):
 * - failed calls put the PKCS#11 return value on the OpenSSL error queue as the reason
 *   of an error whose library is ERR_get_CKR_code();
 * - one EVP_PKEY from PKCS11_get_private_key may be used by several threads, each with
 *   its own EVP_PKEY_CTX: libp11 takes a session from its per-slot pool per operation;
 * - releasing a slot list calls C_CloseAllSessions on its slots, closing the sessions
 *   of every user of that slot in the process (ours recover, see tte-p11-key.c);
 * - PKCS#11 login state is per process and token, and SoftHSM2 answers
 *   CKR_USER_ALREADY_LOGGED_IN without checking the PIN (see tte_p11_user_login).
 */
#include "tte-p11-private.h"

#include "tte-config.h"
#include "tte-error.h"
#include "tte-limits.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

/* --- errors --------------------------------------------------------------------- */

typedef struct {
  unsigned long rv;
  const char *name;
  int code;
} CkrMap;

static const CkrMap ckr_map[] = {
  { CKR_OK, "CKR_OK", TTE_ERROR_FAILED },
  { CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT", TTE_ERROR_PIN_INCORRECT },
  { CKR_PIN_LOCKED, "CKR_PIN_LOCKED", TTE_ERROR_PIN_LOCKED },
  { CKR_PIN_INVALID, "CKR_PIN_INVALID", TTE_ERROR_PIN_INVALID },
  { CKR_PIN_LEN_RANGE, "CKR_PIN_LEN_RANGE", TTE_ERROR_PIN_INVALID },
  { CKR_PIN_EXPIRED, "CKR_PIN_EXPIRED", TTE_ERROR_PIN_LOCKED },
  { CKR_USER_PIN_NOT_INITIALIZED, "CKR_USER_PIN_NOT_INITIALIZED", TTE_ERROR_PIN_INVALID },
  { CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT", TTE_ERROR_TOKEN_NOT_FOUND },
  { CKR_TOKEN_NOT_RECOGNIZED, "CKR_TOKEN_NOT_RECOGNIZED", TTE_ERROR_TOKEN_NOT_FOUND },
  { CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED", TTE_ERROR_TOKEN_NOT_FOUND },
  { CKR_SLOT_ID_INVALID, "CKR_SLOT_ID_INVALID", TTE_ERROR_TOKEN_NOT_FOUND },
  { CKR_KEY_HANDLE_INVALID, "CKR_KEY_HANDLE_INVALID", TTE_ERROR_KEY_NOT_FOUND },
  { CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID", TTE_ERROR_KEY_NOT_FOUND },
  { CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR", TTE_ERROR_TOKEN },
  { CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY", TTE_ERROR_TOKEN },
  { CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID", TTE_ERROR_TOKEN },
  { CKR_SESSION_CLOSED, "CKR_SESSION_CLOSED", TTE_ERROR_TOKEN },
  { CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN", TTE_ERROR_TOKEN },
  { CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID", TTE_ERROR_NOT_SUPPORTED },
  { CKR_MECHANISM_PARAM_INVALID, "CKR_MECHANISM_PARAM_INVALID", TTE_ERROR_NOT_SUPPORTED },
  { CKR_KEY_TYPE_INCONSISTENT, "CKR_KEY_TYPE_INCONSISTENT", TTE_ERROR_NOT_SUPPORTED },
  { CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT", TTE_ERROR_NOT_SUPPORTED },
  { CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR", TTE_ERROR_TOKEN },
  { CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED", TTE_ERROR_TOKEN },
  { CKR_CRYPTOKI_NOT_INITIALIZED, "CKR_CRYPTOKI_NOT_INITIALIZED", TTE_ERROR_MODULE_LOAD },
  { CKR_TOKEN_WRITE_PROTECTED, "CKR_TOKEN_WRITE_PROTECTED", TTE_ERROR_TOKEN },
};

int
tte_p11_error_from_ckr(unsigned long rv)
{
  for (gsize i = 0; i < G_N_ELEMENTS(ckr_map); i++)
    if (ckr_map[i].rv == rv)
      return ckr_map[i].code;
  return TTE_ERROR_TOKEN;
}

const char *
tte_p11_ckr_name(unsigned long rv)
{
  for (gsize i = 0; i < G_N_ELEMENTS(ckr_map); i++)
    if (ckr_map[i].rv == rv)
      return ckr_map[i].name;
  return "CKR_(other)";
}

unsigned long
tte_p11_drain_errors(GString *detail)
{
  unsigned long e, ckr = CKR_OK;
  int ckr_lib = ERR_get_CKR_code();
  const char *data = NULL;
  int flags = 0;

  while ((e = ERR_get_error_all(NULL, NULL, NULL, &data, &flags)) != 0) {
    if (ERR_GET_LIB(e) == ckr_lib && ckr == CKR_OK)
      ckr = (unsigned long)ERR_GET_REASON(e);
    if (detail != NULL) {
      char buf[256];
      tte_openssl_error_string(e, buf, sizeof buf);
      g_string_append(detail, detail->len ? "; " : "");
      g_string_append(detail, buf);
      if (data != NULL && (flags & ERR_TXT_STRING))
        g_string_append_printf(detail, " (%s)", data);
    }
  }
  return ckr;
}

/* Human words for the codes an administrator meets most; the CKR name follows. */
static const char *
ckr_hint(unsigned long rv)
{
  switch (rv) {
  case CKR_PIN_INCORRECT:
    return "wrong PIN";
  case CKR_PIN_LOCKED:
    return "the user PIN is locked (ask the security officer to unblock it)";
  case CKR_PIN_EXPIRED:
    return "the user PIN has expired and must be changed";
  case CKR_PIN_LEN_RANGE:
  case CKR_PIN_INVALID:
    return "the PIN has an invalid length or characters";
  case CKR_TOKEN_NOT_PRESENT:
  case CKR_DEVICE_REMOVED:
    return "the token is not present";
  default:
    return NULL;
  }
}

static void set_error_va(GError **error, int code, unsigned long ckr, const char *detail,
                         const char *fmt, va_list ap) G_GNUC_PRINTF(5, 0);

static void
set_error_va(GError **error, int code, unsigned long ckr, const char *detail, const char *fmt,
             va_list ap)
{
  g_autofree char *msg = g_strdup_vprintf(fmt, ap);
  g_autoptr(GString) s = g_string_new(msg);
  const char *hint = ckr_hint(ckr);

  if (ckr != CKR_OK) {
    g_string_append_printf(s, ": %s%s%s", hint ? hint : "", hint ? " " : "", "(");
    g_string_append_printf(s, "%s)", tte_p11_ckr_name(ckr));
  }
  if (detail != NULL && *detail != '\0' && hint == NULL)
    g_string_append_printf(s, ": %s", detail);
  g_set_error_literal(error, TTE_ERROR, code, s->str);
}

void
tte_p11_set_error(GError **error, int fallback_code, const char *fmt, ...)
{
  g_autoptr(GString) detail = g_string_new(NULL);
  unsigned long ckr = tte_p11_drain_errors(detail);
  va_list ap;

  va_start(ap, fmt);
  set_error_va(error, ckr != CKR_OK ? tte_p11_error_from_ckr(ckr) : fallback_code, ckr,
               detail->str, fmt, ap);
  va_end(ap);
}

/* Like tte_p11_set_error, but @code wins over the CKR mapping (module loading: a
 * CKR_GENERAL_ERROR from C_Initialize is a load failure, not a token one). */
static void set_error_forced(GError **error, int code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static void
set_error_forced(GError **error, int code, const char *fmt, ...)
{
  /* Only the last queued error: the module's own OpenSSL may leave unrelated noise
   * (SoftHSM2 probing for the rdrand engine) on the queue while it initialises. */
  unsigned long last = ERR_peek_last_error();
  char detail[256] = "";
  unsigned long ckr;
  va_list ap;

  if (last != 0)
    tte_openssl_error_string(last, detail, sizeof detail);
  ckr = tte_p11_drain_errors(NULL);
  va_start(ap, fmt);
  set_error_va(error, code, ckr, detail, fmt, ap);
  va_end(ap);
}

void
tte_p11_set_error_ckr(GError **error, unsigned long rv, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  set_error_va(error, tte_p11_error_from_ckr(rv), rv, NULL, fmt, ap);
  va_end(ap);
}

char *
tte_p11_hex(const guint8 *data, gsize len)
{
  GString *s = g_string_sized_new(len * 2 + 1);
  for (gsize i = 0; i < len; i++)
    g_string_append_printf(s, "%02x", data[i]);
  return g_string_free(s, FALSE);
}

/* --- modules -------------------------------------------------------------------- */

G_LOCK_DEFINE_STATIC(modules);
static GHashTable *modules; /* real path -> TteP11Module* (not a reference) */

char *
tte_p11_module_resolve_path(const char *cli_path)
{
  const char *env = g_getenv("TTE_PKCS11_MODULE");

  if (cli_path != NULL && *cli_path != '\0')
    return g_strdup(cli_path);
  if (env != NULL && *env != '\0')
    return g_strdup(env);
  return g_strdup(TTE_DEFAULT_PKCS11_MODULE);
}

GStrv
tte_p11_default_allowlist(void)
{
  const char *env = g_getenv("TTE_PKCS11_ALLOWED_MODULES");
  g_autoptr(GStrvBuilder) b = g_strv_builder_new();

  if (env != NULL) {
    g_auto(GStrv) parts = g_strsplit(env, ":", -1);
    guint n = 0;
    for (gsize i = 0; parts[i] != NULL && n < TTE_LIMIT_MODULE_ALLOWLIST_MAX; i++) {
      if (*parts[i] == '\0')
        continue;
      g_strv_builder_add(b, parts[i]);
      n++;
    }
    return g_strv_builder_end(b);
  }
  /* A trailing '/' means "any module directly inside this directory": these are the
   * root-owned places where Debian packages install PKCS#11 modules. */
  g_strv_builder_add(b, TTE_DEFAULT_PKCS11_MODULE);
  g_strv_builder_add(b, "/usr/lib/x86_64-linux-gnu/pkcs11/");
  g_strv_builder_add(b, "/usr/lib/softhsm/");
  return g_strv_builder_end(b);
}

static char *
real_path(const char *p)
{
  char buf[PATH_MAX];
  return realpath(p, buf) != NULL ? g_strdup(buf) : NULL;
}

static gboolean
allowed(const char *given, const char *real, const char *const *allowlist)
{
  g_autofree char *given_dir_tmp = g_path_get_dirname(given);
  g_autofree char *given_dir = real_path(given_dir_tmp);
  g_autofree char *real_dir = g_path_get_dirname(real);
  guint n = 0;

  for (gsize i = 0; allowlist[i] != NULL && n < TTE_LIMIT_MODULE_ALLOWLIST_MAX; i++, n++) {
    const char *e = allowlist[i];
    gsize len = strlen(e);
    g_autofree char *e_real = NULL;

    if (len == 0 || e[0] != '/')
      continue; /* only absolute entries: a relative one would depend on the cwd */
    e_real = real_path(e);
    if (e_real == NULL)
      continue;
    if (e[len - 1] == '/') {
      if (strcmp(real_dir, e_real) == 0 || (given_dir != NULL && strcmp(given_dir, e_real) == 0))
        return TRUE;
    } else if (strcmp(real, e_real) == 0) {
      return TRUE;
    }
  }
  return FALSE;
}

TteP11Module *
tte_p11_module_load(const char *path, const char *const *allowlist, GError **error)
{
  g_auto(GStrv) def = NULL;
  g_autofree char *real = NULL;
  TteP11Module *m;

  if (path == NULL || *path == '\0') {
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT, "no PKCS#11 module given");
    return NULL;
  }
  real = real_path(path);
  if (real == NULL) {
    int e = errno;
    g_set_error(error, TTE_ERROR, TTE_ERROR_MODULE_LOAD, "PKCS#11 module %s: %s", path,
                g_strerror(e));
    return NULL;
  }
  if (allowlist == NULL) {
    def = tte_p11_default_allowlist();
    allowlist = (const char *const *)def;
  }
  if (!allowed(path, real, allowlist)) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_MODULE_NOT_ALLOWED,
                "PKCS#11 module %s is not in the module allowlist (set by the administrator "
                "in TTE_PKCS11_ALLOWED_MODULES or the service configuration)", path);
    return NULL;
  }

  G_LOCK(modules);
  if (modules == NULL)
    modules = g_hash_table_new(g_str_hash, g_str_equal);
  m = g_hash_table_lookup(modules, real);
  if (m != NULL) {
    g_atomic_int_inc(&m->ref_count);
    G_UNLOCK(modules);
    return m;
  }
  m = g_new0(TteP11Module, 1);
  m->ref_count = 1;
  m->path = g_steal_pointer(&real);
  g_mutex_init(&m->lock);
  g_mutex_init(&m->use_lock);
  g_cond_init(&m->use_cond);
  /* Only errors of this load should end up in the message. */
  tte_openssl_clear_errors();
  m->ctx = PKCS11_CTX_new();
  /* Loading under the table lock keeps two threads from initialising one module twice. */
  if (m->ctx == NULL || PKCS11_CTX_load(m->ctx, m->path) != 0) {
    G_UNLOCK(modules);
    set_error_forced(error, TTE_ERROR_MODULE_LOAD,
                     "cannot load PKCS#11 module %s (for SoftHSM2, check SOFTHSM2_CONF)", path);
    if (m->ctx != NULL)
      PKCS11_CTX_free(m->ctx);
    g_mutex_clear(&m->use_lock);
    g_cond_clear(&m->use_cond);
    g_mutex_clear(&m->lock);
    g_free(m->path);
    g_free(m);
    return NULL;
  }
  g_hash_table_insert(modules, m->path, m);
  G_UNLOCK(modules);
  return m;
}

TteP11Module *
tte_p11_module_ref(TteP11Module *m)
{
  g_atomic_int_inc(&m->ref_count);
  return m;
}

void
tte_p11_module_unref(TteP11Module *m)
{
  if (m == NULL)
    return;
  /* Decrement under the table lock so a concurrent load cannot revive a dying module. */
  G_LOCK(modules);
  if (!g_atomic_int_dec_and_test(&m->ref_count)) {
    G_UNLOCK(modules);
    return;
  }
  g_hash_table_remove(modules, m->path);
  G_UNLOCK(modules);
  PKCS11_CTX_unload(m->ctx);
  PKCS11_CTX_free(m->ctx);
  if (m->dl != NULL)
    dlclose(m->dl);
  g_mutex_clear(&m->use_lock);
  g_cond_clear(&m->use_cond);
  g_mutex_clear(&m->lock);
  g_free(m->path);
  g_free(m);
}

CK_FUNCTION_LIST *
tte_p11_module_functions(TteP11Module *m, GError **error)
{
  CK_C_GetFunctionList get;
  CK_FUNCTION_LIST *fl = NULL;
  CK_RV rv;

  if (m->fl != NULL)
    return m->fl;
  /* Same path as libp11 loaded: dlopen returns the same mapping, so the module is
   * already initialised and must not be initialised or finalised again here. */
  m->dl = dlopen(m->path, RTLD_NOW | RTLD_LOCAL);
  if (m->dl == NULL) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_MODULE_LOAD, "cannot open PKCS#11 module %s: %s",
                m->path, dlerror());
    return NULL;
  }
  get = (CK_C_GetFunctionList)dlsym(m->dl, "C_GetFunctionList");
  if (get == NULL || (rv = get(&fl)) != CKR_OK || fl == NULL) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_MODULE_LOAD,
                "PKCS#11 module %s has no usable C_GetFunctionList", m->path);
    dlclose(m->dl);
    m->dl = NULL;
    return NULL;
  }
  m->fl = fl;
  return fl;
}

/* --- slots, tokens, keys ---------------------------------------------------------- */

void
tte_p11_use_begin(TteP11Module *m)
{
  g_mutex_lock(&m->use_lock);
  while (m->closers > 0)
    g_cond_wait(&m->use_cond, &m->use_lock);
  m->users++;
  g_mutex_unlock(&m->use_lock);
}

void
tte_p11_use_end(TteP11Module *m)
{
  g_mutex_lock(&m->use_lock);
  if (--m->users == 0)
    g_cond_broadcast(&m->use_cond);
  g_mutex_unlock(&m->use_lock);
}

void
tte_p11_slots_free(TteP11Slots *s)
{
  TteP11Module *m;

  if (s == NULL)
    return;
  m = s->module;
  if (s->slots != NULL) {
    /* Closers are serialised by m->lock (held by every caller), so one at a time. */
    g_mutex_lock(&m->use_lock);
    m->closers++;
    while (m->users > 0)
      g_cond_wait(&m->use_cond, &m->use_lock);
    g_mutex_unlock(&m->use_lock);
    PKCS11_release_all_slots(s->ctx, s->slots, s->nslots);
    g_mutex_lock(&m->use_lock);
    m->closers--;
    g_cond_broadcast(&m->use_cond);
    g_mutex_unlock(&m->use_lock);
  }
  g_free(s);
}

static gboolean
token_matches(const PKCS11_TOKEN *t, const TteP11Uri *uri)
{
  return t->initialized && (uri->token == NULL || g_strcmp0(t->label, uri->token) == 0) &&
         (uri->serial == NULL || g_strcmp0(t->serialnr, uri->serial) == 0) &&
         (uri->manufacturer == NULL || g_strcmp0(t->manufacturer, uri->manufacturer) == 0) &&
         (uri->model == NULL || g_strcmp0(t->model, uri->model) == 0);
}

static TteP11Slots *
enumerate(TteP11Module *m, GError **error)
{
  g_autoptr(TteP11Slots) s = g_new0(TteP11Slots, 1);

  s->module = m;
  s->ctx = m->ctx;
  if (PKCS11_enumerate_slots(m->ctx, &s->slots, &s->nslots) != 0) {
    s->slots = NULL;
    s->nslots = 0;
    tte_p11_set_error(error, TTE_ERROR_TOKEN, "cannot list the slots of %s", m->path);
    return NULL;
  }
  if (s->nslots > TTE_LIMIT_P11_MAX_SLOTS) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT,
                "module %s has %u slots, more than %u (TTE_LIMIT_P11_MAX_SLOTS)", m->path,
                s->nslots, TTE_LIMIT_P11_MAX_SLOTS);
    return NULL;
  }
  return g_steal_pointer(&s);
}

TteP11Slots *
tte_p11_slots_find_token(TteP11Module *m, const TteP11Uri *uri, GError **error)
{
  g_autoptr(TteP11Slots) s = enumerate(m, error);
  guint found = 0;

  if (s == NULL)
    return NULL;
  for (unsigned int i = 0; i < s->nslots; i++) {
    PKCS11_TOKEN *t = s->slots[i].token;
    if (t != NULL && token_matches(t, uri)) {
      if (found++ == 0)
        s->slot = &s->slots[i];
    }
  }
  if (found == 0) {
    if (uri->token != NULL)
      g_set_error(error, TTE_ERROR, TTE_ERROR_TOKEN_NOT_FOUND,
                  "no token labelled \"%s\"%s%s is present", uri->token,
                  uri->serial ? " with serial " : "", uri->serial ? uri->serial : "");
    else
      g_set_error_literal(error, TTE_ERROR, TTE_ERROR_TOKEN_NOT_FOUND,
                          "no initialized token matches the URI");
    return NULL;
  }
  if (found > 1) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                "%u tokens match the URI; name one with token= (and serial=)", found);
    return NULL;
  }
  return g_steal_pointer(&s);
}

/* Process-wide, like the PKCS#11 login state it shadows: "label\nserial" -> HMAC-SHA256
 * of the PIN under a random key made at first use.  Never freed (a few bytes per token). */
G_LOCK_DEFINE_STATIC(pins);
static GHashTable *pin_verifiers;
static guint8 pin_key[32];

static gboolean
pin_verifier(TteSecret *pin, guint8 out[32])
{
  size_t len = 0;
  return EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, pin_key, sizeof pin_key,
                   (const unsigned char *)tte_secret_get(pin), tte_secret_len(pin), out, 32,
                   &len) != NULL &&
         len == 32;
}

gboolean
tte_p11_user_login(CK_FUNCTION_LIST *fl, CK_SESSION_HANDLE session, const char *label,
                   const char *serial, TteSecret *pin, GError **error)
{
  g_autofree char *tok = g_strdup_printf("%s\n%s", label, serial ? serial : "");
  guint8 v[32];
  const guint8 *known;
  gboolean ok = FALSE;
  CK_RV rv;

  G_LOCK(pins);
  if (pin_verifiers == NULL) {
    if (RAND_bytes(pin_key, sizeof pin_key) != 1) {
      G_UNLOCK(pins);
      tte_set_error_openssl(error, TTE_ERROR_CRYPTO, "no random bytes for the PIN verifier");
      return FALSE;
    }
    pin_verifiers = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  }
  if (!pin_verifier(pin, v)) {
    G_UNLOCK(pins);
    tte_set_error_openssl(error, TTE_ERROR_CRYPTO, "cannot hash the PIN");
    return FALSE;
  }
  rv = fl->C_Login(session, CKU_USER, (CK_UTF8CHAR *)tte_secret_get(pin), tte_secret_len(pin));
  known = g_hash_table_lookup(pin_verifiers, tok);
  if (rv == CKR_USER_ALREADY_LOGGED_IN &&
      (known == NULL || CRYPTO_memcmp(known, v, sizeof v) != 0)) {
    /* Logged in by someone else in this process, or with another PIN: let the token
     * itself check this one, so that a wrong PIN counts against its retry counter as it
     * would on a fresh login.  Other keys of the token find themselves logged out and
     * log in again with their own PIN (a recoverable error for them). */
    fl->C_Logout(session);
    g_hash_table_remove(pin_verifiers, tok);
    rv = fl->C_Login(session, CKU_USER, (CK_UTF8CHAR *)tte_secret_get(pin),
                     tte_secret_len(pin));
  }
  if (rv == CKR_OK) {
    g_hash_table_insert(pin_verifiers, g_steal_pointer(&tok), g_memdup2(v, sizeof v));
    ok = TRUE;
  } else if (rv == CKR_USER_ALREADY_LOGGED_IN) {
    ok = TRUE; /* same PIN as the login in force (checked above) */
  }
  G_UNLOCK(pins);
  tte_memwipe(v, sizeof v);
  if (!ok)
    tte_p11_set_error_ckr(error, rv, "cannot log in to token \"%s\"", label);
  return ok;
}

gboolean
tte_p11_user_login_again(CK_FUNCTION_LIST *fl, CK_SESSION_HANDLE session, const char *label,
                         const char *serial, TteSecret *pin, TteSecret *keep, gboolean *kept,
                         GError **error)
{
  g_autofree char *tok = g_strdup_printf("%s\n%s", label, serial ? serial : "");
  guint8 v[32];
  CK_RV rv, rv2 = CKR_OK;
  gboolean ok;

  *kept = FALSE;
  G_LOCK(pins);
  if (pin_verifiers == NULL) {
    if (RAND_bytes(pin_key, sizeof pin_key) != 1) {
      G_UNLOCK(pins);
      tte_set_error_openssl(error, TTE_ERROR_CRYPTO, "no random bytes for the PIN verifier");
      return FALSE;
    }
    pin_verifiers = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  }
  fl->C_Logout(session);
  g_hash_table_remove(pin_verifiers, tok);
  rv = fl->C_Login(session, CKU_USER, (CK_UTF8CHAR *)tte_secret_get(pin), tte_secret_len(pin));
  ok = rv == CKR_OK;
  if (ok) {
    if (pin_verifier(pin, v))
      g_hash_table_insert(pin_verifiers, g_strdup(tok), g_memdup2(v, sizeof v));
  } else if (keep != NULL) {
    rv2 = fl->C_Login(session, CKU_USER, (CK_UTF8CHAR *)tte_secret_get(keep),
                      tte_secret_len(keep));
    if (rv2 == CKR_OK && pin_verifier(keep, v)) {
      g_hash_table_insert(pin_verifiers, g_strdup(tok), g_memdup2(v, sizeof v));
      *kept = TRUE;
    }
  }
  G_UNLOCK(pins);
  tte_memwipe(v, sizeof v);
  if (!ok)
    tte_p11_set_error_ckr(error, rv, "cannot log in to token \"%s\"", label);
  return ok;
}

gboolean
tte_p11_login(TteP11Module *m, PKCS11_SLOT *slot, TteSecret *pin, GError **error)
{
  PKCS11_TOKEN *t = slot->token;
  CK_FUNCTION_LIST *fl;
  CK_SESSION_HANDLE session;
  CK_RV rv;

  if (!t->loginRequired)
    return TRUE;
  if (t->userPinLocked) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_PIN_LOCKED,
                "the user PIN of token \"%s\" is locked (ask the security officer to unblock it)",
                t->label);
    return FALSE;
  }
  if (pin == NULL) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_PIN_INVALID,
                "token \"%s\" needs a PIN (give --pin-file or set TTE_PIN)", t->label);
    return FALSE;
  }
  /* Check the PIN in a session of our own first: libp11 treats "already logged in" as
   * success and would let a wrong PIN through (see tte_p11_login_result). */
  fl = tte_p11_module_functions(m, error);
  if (fl == NULL)
    return FALSE;
  rv = fl->C_OpenSession(PKCS11_get_slotid_from_slot(slot), CKF_SERIAL_SESSION, NULL, NULL,
                         &session);
  if (rv != CKR_OK) {
    tte_p11_set_error_ckr(error, rv, "cannot open a session on token \"%s\"", t->label);
    return FALSE;
  }
  if (!tte_p11_user_login(fl, session, t->label, t->serialnr, pin, error)) {
    fl->C_CloseSession(session);
    return FALSE;
  }
  /* libp11's own login (it keeps per-slot state); the raw session stays open until then
   * so the token does not log out in between. */
  if (PKCS11_login(slot, 0, tte_secret_get(pin)) != 0) {
    fl->C_CloseSession(session);
    tte_p11_set_error(error, TTE_ERROR_TOKEN, "cannot log in to token \"%s\"", t->label);
    return FALSE;
  }
  fl->C_CloseSession(session);
  return TRUE;
}

static gboolean
id_equal(const unsigned char *id, size_t id_len, GBytes *want)
{
  gsize n = 0;
  const guint8 *d = g_bytes_get_data(want, &n);
  return id_len == n && (n == 0 || memcmp(id, d, n) == 0);
}

PKCS11_KEY *
tte_p11_find_private_key(TteP11Slots *s, const TteP11Uri *uri, GError **error)
{
  PKCS11_KEY *keys = NULL, *hit = NULL;
  unsigned int n = 0;
  guint found = 0;

  if (PKCS11_enumerate_keys(s->slot->token, &keys, &n) != 0) {
    tte_p11_set_error(error, TTE_ERROR_TOKEN, "cannot list the keys on token \"%s\"",
                      s->slot->token->label);
    return NULL;
  }
  if (n > TTE_LIMIT_P11_MAX_OBJECTS) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT,
                "token holds more than %u keys (TTE_LIMIT_P11_MAX_OBJECTS)",
                TTE_LIMIT_P11_MAX_OBJECTS);
    return NULL;
  }
  for (unsigned int i = 0; i < n; i++) {
    if (uri->object != NULL && g_strcmp0(keys[i].label, uri->object) != 0)
      continue;
    if (uri->id != NULL && !id_equal(keys[i].id, keys[i].id_len, uri->id))
      continue;
    if (found++ == 0)
      hit = &keys[i];
  }
  if (found == 0) {
    g_autofree char *hex = NULL;
    if (uri->id != NULL) {
      gsize len = 0;
      const guint8 *d = g_bytes_get_data(uri->id, &len);
      hex = tte_p11_hex(d, len);
    }
    g_set_error(error, TTE_ERROR, TTE_ERROR_KEY_NOT_FOUND,
                "no private key%s%s%s%s%s on token \"%s\"", uri->object ? " labelled \"" : "",
                uri->object ? uri->object : "", uri->object ? "\"" : "", hex ? " with id " : "",
                hex ? hex : "", s->slot->token->label);
    return NULL;
  }
  if (found > 1) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                "%u private keys on token \"%s\" match the URI; add object= or id=", found,
                s->slot->token->label);
    return NULL;
  }
  return hit;
}

char *
tte_p11_object_uri(PKCS11_TOKEN *tok, const char *type, const char *label, const guint8 *id,
                   gsize id_len)
{
  TteP11Uri u = { 0 };
  char *out;

  u.token = tok->label;
  u.serial = tok->serialnr != NULL && *tok->serialnr != '\0' ? tok->serialnr : NULL;
  u.object = label != NULL && *label != '\0' ? (char *)label : NULL;
  u.id = id_len > 0 ? g_bytes_new(id, id_len) : NULL;
  u.type = (char *)type;
  out = tte_p11_uri_format(&u);
  if (u.id != NULL)
    g_bytes_unref(u.id);
  return out;
}

/* The public half of @key.  For a private key, libp11 builds it from the object's own
 * attributes (RSA) or from the public key / certificate with the same ID (EC point).
 * We do not go through PKCS11_enumerate_public_keys here: in libp11 0.4.12 every such
 * call leaks its object list (found with LeakSanitizer). */
EVP_PKEY *
tte_p11_key_public(PKCS11_TOKEN *tok, PKCS11_KEY *key)
{
  (void)tok;
  return key->isPrivate ? PKCS11_get_private_key(key) : PKCS11_get_public_key(key);
}

gboolean
tte_p11_key_matches_cert(PKCS11_TOKEN *tok, PKCS11_KEY *key, X509 *cert)
{
  g_autoptr(EVP_PKEY) pub = tte_p11_key_public(tok, key);
  gboolean eq = tte_pkey_equal(pub, X509_get0_pubkey(cert));
  tte_openssl_clear_errors();
  return eq;
}

/* The token's certificate for @key: same ID, else same label; when several share the
 * ID, the one whose public key is the key's.  New reference or NULL. */
X509 *
tte_p11_find_cert_for_key(PKCS11_TOKEN *tok, PKCS11_KEY *key)
{
  PKCS11_CERT *certs = NULL;
  unsigned int n = 0;
  X509 *by_label = NULL, *by_id = NULL;

  if (PKCS11_enumerate_certs(tok, &certs, &n) != 0) {
    tte_openssl_clear_errors();
    return NULL;
  }
  for (unsigned int i = 0; i < n && i < TTE_LIMIT_P11_MAX_OBJECTS; i++) {
    PKCS11_CERT *c = &certs[i];
    if (c->x509 == NULL)
      continue;
    if (key->id_len > 0 && c->id_len == key->id_len && memcmp(c->id, key->id, key->id_len) == 0) {
      if (by_id == NULL || tte_p11_key_matches_cert(tok, key, c->x509))
        by_id = c->x509;
    } else if (by_label == NULL && key->label != NULL && g_strcmp0(c->label, key->label) == 0) {
      by_label = c->x509;
    }
  }
  if (by_id == NULL)
    by_id = by_label;
  if (by_id != NULL)
    X509_up_ref(by_id);
  return by_id;
}

TteX509Stack *
tte_p11_token_chain(PKCS11_TOKEN *tok, X509 *cert)
{
  TteX509Stack *chain = sk_X509_new_null();
  PKCS11_CERT *certs = NULL;
  unsigned int n = 0;
  X509 *cur = cert;

  if (PKCS11_enumerate_certs(tok, &certs, &n) != 0) {
    tte_openssl_clear_errors();
    return chain;
  }
  n = MIN(n, TTE_LIMIT_P11_MAX_OBJECTS);
  for (guint depth = 0; depth < TTE_LIMIT_CHAIN_MAX_DEPTH; depth++) {
    X509 *issuer = NULL;
    /* A self-signed certificate ends the walk (and is not its own issuer). */
    if (X509_name_cmp(X509_get_subject_name(cur), X509_get_issuer_name(cur)) == 0)
      break;
    for (unsigned int i = 0; i < n && issuer == NULL; i++) {
      X509 *c = certs[i].x509;
      if (c != NULL && c != cur && X509_cmp(c, cert) != 0 &&
          X509_check_issued(c, cur) == X509_V_OK)
        issuer = c;
    }
    if (issuer == NULL)
      break;
    X509_up_ref(issuer);
    sk_X509_push(chain, issuer);
    cur = issuer;
  }
  return chain;
}

