/* test-p11-softhsm.c — pkcs11/ against SoftHSM2 with tokens of its own in a temporary
 * directory: key generation, CSR, issuing with the openssl CLI, import, signing checked
 * by `openssl dgst -verify`, concurrency, distinct errors, and token loss through the
 * fault-injecting module (fault-module.c). */
#include "tte-config.h"
#include "tte-error.h"
#include "tte-limits.h"
#include "tte-p11.h"

#include <glib/gstdio.h>
#include <libp11.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <string.h>

#define PIN "4711-tte"
#define TOKEN "tte-test"

static char *tmpdir;
static TteP11Module *module;
static TteSecret *pin;

static char *
tmp_path(const char *name)
{
  return g_build_filename(tmpdir, name, NULL);
}

/* Run a command; fail the test with its stderr when it exits non-zero. */
static void
run(const char *const *argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL, *err = NULL;
  int status = 0;

  if (!g_spawn_sync(tmpdir, (char **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err,
                    &status, &error))
    g_error("cannot run %s: %s", argv[0], error->message);
  if (!g_spawn_check_wait_status(status, NULL))
    g_error("%s failed: %s%s", argv[0], out, err);
}

static void
write_file(const char *name, const void *data, gsize len)
{
  g_autofree char *p = tmp_path(name);
  g_autoptr(GError) error = NULL;
  g_assert_true(g_file_set_contents(p, data, (gssize)len, &error));
}

static X509 *
load_cert(const char *name)
{
  g_autofree char *p = tmp_path(name);
  g_autoptr(GError) error = NULL;
  g_autoptr(TteX509Stack) st = tte_x509_load_file(p, &error);
  X509 *c;

  g_assert_no_error(error);
  c = sk_X509_value(st, 0);
  X509_up_ref(c);
  return c;
}

/* Generate on the token, CSR, issue with the openssl CLI, import with the CA chain. */
static char *
make_key(const char *label, TteP11KeyType type)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *uri = g_strdup_printf("pkcs11:token=" TOKEN ";object=%s", label);
  g_autofree char *key_uri = NULL, *csr = NULL, *subject = NULL;
  g_autofree char *req_name = g_strdup_printf("%s.csr", label);
  g_autofree char *cert_name = g_strdup_printf("%s.pem", label);
  g_autoptr(X509) cert = NULL;
  g_autoptr(TteX509Stack) chain = sk_X509_new_null();

  key_uri = tte_p11_generate_key(module, uri, pin, type, &error);
  g_assert_no_error(error);
  g_assert_true(g_str_has_prefix(key_uri, "pkcs11:token=" TOKEN ";"));
  subject = g_strdup_printf("/C=ID/O=Pemerintah Kota Uji/OU=Diskominfo/CN=%s", label);
  csr = tte_p11_make_csr(module, key_uri, pin, subject, TTE_HASH_SHA256, &error);
  g_assert_no_error(error);
  g_assert_true(g_str_has_prefix(csr, "-----BEGIN CERTIFICATE REQUEST-----"));
  write_file(req_name, csr, strlen(csr));
  {
    const char *verify[] = { "openssl", "req", "-in", req_name, "-verify", "-noout", NULL };
    const char *issue[] = { "openssl", "x509", "-req", "-in", req_name, "-CA", "ca.pem",
                            "-CAkey", "ca.key", "-set_serial", "4242", "-days", "30",
                            "-out", cert_name, NULL };
    run(verify);
    run(issue);
  }
  cert = load_cert(cert_name);
  sk_X509_push(chain, load_cert("ca.pem"));
  g_assert_true(tte_p11_import_cert(module, key_uri, pin, cert, chain, &error));
  g_assert_no_error(error);
  /* Importing the same again is harmless and stores nothing twice. */
  g_assert_true(tte_p11_import_cert(module, key_uri, pin, cert, chain, &error));
  g_assert_no_error(error);
  return g_steal_pointer(&key_uri);
}

/* Sign SHA-x(data) through the key and check with `openssl dgst -verify`. */
static void
sign_and_verify_cli(TteSigningKey *key, const char *label, TteSigScheme scheme, TteHash hash)
{
  static const char data[] = "Surat dinas nomor 800/123/Diskominfo/2026";
  g_autoptr(GError) error = NULL;
  guint8 digest[EVP_MAX_MD_SIZE];
  unsigned int dlen = 0;
  g_autoptr(GBytes) sig = NULL;
  g_autofree char *md = g_strdup_printf("-%s", tte_hash_name(hash));
  g_autofree char *cert_name = g_strdup_printf("%s.pem", label);
  const char *pubkey[] = { "openssl", "x509", "-in", cert_name, "-pubkey", "-noout", "-out",
                           "pub.pem", NULL };

  g_assert_true(EVP_Digest(data, strlen(data), digest, &dlen, tte_hash_md(hash), NULL));
  sig = tte_signing_key_sign(key, scheme, hash, digest, dlen, &error);
  g_assert_no_error(error);
  g_assert_true(tte_signing_key_verify(key, scheme, hash, digest, dlen, sig, &error));
  g_assert_no_error(error);
  write_file("data.txt", data, strlen(data));
  write_file("sig.bin", g_bytes_get_data(sig, NULL), g_bytes_get_size(sig));
  run(pubkey);
  if (scheme == TTE_SCHEME_RSA_PSS) {
    const char *v[] = { "openssl", "dgst", md, "-verify", "pub.pem", "-sigopt",
                        "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:-1",
                        "-signature", "sig.bin", "data.txt", NULL };
    run(v);
  } else {
    const char *v[] = { "openssl", "dgst", md, "-verify", "pub.pem", "-signature", "sig.bin",
                        "data.txt", NULL };
    run(v);
  }
}

static gboolean
attrs_safe(const char *label)
{
  g_autofree char *out = NULL;
  g_autofree char *pinarg = g_strdup("--pin=" PIN);
  const char *argv[] = { "pkcs11-tool", "--module", TTE_DEFAULT_PKCS11_MODULE, "--token-label",
                         TOKEN, "--login", pinarg, "--list-objects", "--type", "privkey",
                         "--label", label, NULL };
  int status = 0;

  g_assert_true(g_spawn_sync(tmpdir, (char **)argv, NULL, G_SPAWN_SEARCH_PATH |
                             G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL, &status, NULL));
  return strstr(out, "sensitive") != NULL && strstr(out, "never extractable") != NULL &&
         strstr(out, "sign") != NULL;
}

typedef struct {
  const char *label;
  TteP11KeyType type;
  TteSigScheme schemes[2];
  guint n_schemes;
} Lifecycle;

static void
test_lifecycle(gconstpointer data)
{
  const Lifecycle *lc = data;
  g_autoptr(GError) error = NULL;
  g_autofree char *uri = make_key(lc->label, lc->type);
  g_autoptr(TteSigningKey) key = NULL;

  g_assert_true(attrs_safe(lc->label));
  key = tte_p11_open_signing_key(module, uri, pin, NULL, NULL, &error);
  g_assert_no_error(error);
  /* The CA certificate imported with --chain comes back as the chain. */
  g_assert_cmpint(sk_X509_num(tte_signing_key_get_chain(key)), ==, 1);
  for (guint i = 0; i < lc->n_schemes; i++)
    for (TteHash h = TTE_HASH_SHA256; h <= TTE_HASH_SHA512; h++)
      sign_and_verify_cli(key, lc->label, lc->schemes[i], h);
}

static const Lifecycle lc_rsa2048 = { "k-rsa2048", TTE_P11_KEY_RSA_2048,
                                      { TTE_SCHEME_RSA_PKCS1, TTE_SCHEME_RSA_PSS }, 2 };
static const Lifecycle lc_rsa3072 = { "k-rsa3072", TTE_P11_KEY_RSA_3072,
                                      { TTE_SCHEME_RSA_PKCS1, TTE_SCHEME_RSA_PSS }, 2 };
static const Lifecycle lc_p256 = { "k-p256", TTE_P11_KEY_EC_P256, { TTE_SCHEME_ECDSA }, 1 };
static const Lifecycle lc_p384 = { "k-p384", TTE_P11_KEY_EC_P384, { TTE_SCHEME_ECDSA }, 1 };

/* libp11's EVP_PKEY works with common's tte_evp_sign_digest, PSS included (libp11 pads
 * in software and uses CKM_RSA_X_509 on the token). */
static void
test_libp11_evp(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TteSigningKey) key =
    tte_p11_open_signing_key(module, "pkcs11:token=" TOKEN ";object=k-rsa2048", pin, NULL,
                             NULL, &error);
  PKCS11_CTX *ctx = PKCS11_CTX_new();
  PKCS11_SLOT *slots = NULL, *slot = NULL;
  PKCS11_KEY *keys = NULL;
  unsigned int n = 0, nk = 0;
  guint8 digest[32] = { 1, 2, 3 };

  g_assert_no_error(error);
  g_assert_cmpint(PKCS11_CTX_load(ctx, TTE_DEFAULT_PKCS11_MODULE), ==, 0);
  g_assert_cmpint(PKCS11_enumerate_slots(ctx, &slots, &n), ==, 0);
  for (unsigned int i = 0; i < n; i++)
    if (slots[i].token != NULL && g_strcmp0(slots[i].token->label, TOKEN) == 0)
      slot = &slots[i];
  g_assert_nonnull(slot);
  g_assert_cmpint(PKCS11_login(slot, 0, PIN), ==, 0);
  g_assert_cmpint(PKCS11_enumerate_keys(slot->token, &keys, &nk), ==, 0);
  for (unsigned int i = 0; i < nk; i++) {
    if (g_strcmp0(keys[i].label, "k-rsa2048") == 0) {
      EVP_PKEY *pk = PKCS11_get_private_key(&keys[i]);
      for (TteSigScheme s = TTE_SCHEME_RSA_PKCS1; s <= TTE_SCHEME_RSA_PSS; s++) {
        g_autoptr(GBytes) sig = tte_evp_sign_digest(pk, s, TTE_HASH_SHA256, digest, 32, &error);
        g_assert_no_error(error);
        g_assert_true(tte_signing_key_verify(key, s, TTE_HASH_SHA256, digest, 32, sig, &error));
        g_assert_no_error(error);
      }
      EVP_PKEY_free(pk);
    }
  }
  PKCS11_release_all_slots(ctx, slots, n);
  /* Unloading finalises SoftHSM for the whole process: this test runs last. */
  g_clear_pointer(&key, tte_signing_key_unref);
  PKCS11_CTX_unload(ctx);
  PKCS11_CTX_free(ctx);
}

/* --- threads ------------------------------------------------------------------------ */

#define N_THREADS 8
#define N_SIGS 500

typedef struct {
  TteSigningKey *key;
  guint index;
  guint failures;
} Worker;

static gpointer
worker(gpointer data)
{
  Worker *w = data;

  for (guint i = 0; i < N_SIGS; i++) {
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) sig = NULL;
    guint8 digest[32] = { 0 };
    TteSigScheme scheme = (i % 2) ? TTE_SCHEME_RSA_PSS : TTE_SCHEME_RSA_PKCS1;

    memcpy(digest, &w->index, sizeof w->index);
    memcpy(digest + 8, &i, sizeof i);
    sig = tte_signing_key_sign(w->key, scheme, TTE_HASH_SHA256, digest, 32, &error);
    if (sig == NULL ||
        !tte_signing_key_verify(w->key, scheme, TTE_HASH_SHA256, digest, 32, sig, &error))
      w->failures++;
  }
  return NULL;
}

static void
test_threads(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TteSigningKey) key =
    tte_p11_open_signing_key(module, "pkcs11:token=" TOKEN ";object=k-rsa2048", pin, NULL,
                             NULL, &error);
  Worker w[N_THREADS];
  GThread *t[N_THREADS];

  g_assert_no_error(error);
  for (guint i = 0; i < N_THREADS; i++) {
    w[i] = (Worker){ key, i, 0 };
    t[i] = g_thread_new("signer", worker, &w[i]);
  }
  /* Meanwhile the administrator lists the token and another key is opened and closed:
   * libp11 closes every session of the slot each time, and the signers must ride
   * through it (re-open) without a single failed signature. */
  for (guint i = 0; i < 6; i++) {
    g_autoptr(GPtrArray) tokens = tte_p11_list(module, "pkcs11:token=" TOKEN, pin, &error);
    g_autoptr(TteSigningKey) other = NULL;
    g_assert_no_error(error);
    g_assert_cmpuint(tokens->len, ==, 1);
    other = tte_p11_open_signing_key(module, "pkcs11:token=" TOKEN ";object=k-p256", pin, NULL,
                                     NULL, &error);
    g_assert_no_error(error);
    g_usleep(50 * 1000);
  }
  for (guint i = 0; i < N_THREADS; i++) {
    g_thread_join(t[i]);
    g_assert_cmpuint(w[i].failures, ==, 0);
  }
}

/* --- errors ------------------------------------------------------------------------- */

static void
expect_open_error(const char *uri, TteSecret *p, X509 *cert, int code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TteSigningKey) key = tte_p11_open_signing_key(module, uri, p, cert, NULL, &error);

  g_assert_null(key);
  g_assert_error(error, TTE_ERROR, code);
  g_assert_null(strstr(error->message, PIN));
  g_test_message("%s -> [%s] %s", uri, tte_error_code_name(error->code), error->message);
}

static void
test_errors(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TteSecret) wrong = tte_secret_new("0000", 4, NULL);
  g_autoptr(X509) other_cert = load_cert("k-p256.pem");
  g_autoptr(TteSigningKey) open_key = NULL;
  g_autofree char *uri = NULL;

  expect_open_error("pkcs11:token=" TOKEN ";object=k-rsa2048", wrong, NULL,
                    TTE_ERROR_PIN_INCORRECT);
  expect_open_error("pkcs11:token=no-such-token;object=k-rsa2048", pin, NULL,
                    TTE_ERROR_TOKEN_NOT_FOUND);
  expect_open_error("pkcs11:token=" TOKEN ";object=no-such-key", pin, NULL,
                    TTE_ERROR_KEY_NOT_FOUND);
  expect_open_error("pkcs11:token=" TOKEN ";object=k-rsa2048", pin, other_cert,
                    TTE_ERROR_CERT_MISMATCH);
  expect_open_error("pkcs11:token=" TOKEN ";object=k-rsa2048", NULL, NULL, TTE_ERROR_PIN_INVALID);

  /* A wrong PIN is refused even while this process keeps the token logged in (PKCS#11
   * would answer CKR_USER_ALREADY_LOGGED_IN without checking it). */
  open_key = tte_p11_open_signing_key(module, "pkcs11:token=" TOKEN ";object=k-rsa2048", pin,
                                      NULL, NULL, &error);
  g_assert_no_error(error);
  expect_open_error("pkcs11:token=" TOKEN ";object=k-p256", wrong, NULL, TTE_ERROR_PIN_INCORRECT);

  /* A key without a certificate. */
  uri = tte_p11_generate_key(module, "pkcs11:token=" TOKEN ";object=k-nocert;id=%c0%01", pin,
                             TTE_P11_KEY_EC_P256, &error);
  g_assert_no_error(error);
  expect_open_error(uri, pin, NULL, TTE_ERROR_CERT_NOT_FOUND);
  /* Importing somebody else's certificate for it. */
  g_assert_false(tte_p11_import_cert(module, uri, pin, other_cert, NULL, &error));
  g_assert_error(error, TTE_ERROR, TTE_ERROR_CERT_MISMATCH);
  g_clear_error(&error);
  /* Generating over an existing label or ID. */
  g_free(tte_p11_generate_key(module, "pkcs11:token=" TOKEN ";object=k-nocert", pin,
                              TTE_P11_KEY_EC_P256, &error));
  g_assert_error(error, TTE_ERROR, TTE_ERROR_KEY_EXISTS);
  g_clear_error(&error);
  g_free(tte_p11_generate_key(module, "pkcs11:token=" TOKEN ";object=fresh;id=%c0%01", pin,
                              TTE_P11_KEY_EC_P256, &error));
  g_assert_error(error, TTE_ERROR, TTE_ERROR_KEY_EXISTS);
  g_clear_error(&error);
  /* A CSR with a malformed subject. */
  g_free(tte_p11_make_csr(module, uri, pin, "/C=ID/bogus", TTE_HASH_SHA256, &error));
  g_assert_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
  g_free(tte_p11_make_csr(module, uri, pin, "CN=x,NOTANATTR=y", TTE_HASH_SHA256, &error));
  g_assert_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
  {
    g_autofree char *huge = g_strnfill(TTE_LIMIT_SUBJECT_MAX_LEN + 1, 'x');
    g_autofree char *dn = g_strdup_printf("/CN=%s", huge);
    g_free(tte_p11_make_csr(module, uri, pin, dn, TTE_HASH_SHA256, &error));
    g_assert_error(error, TTE_ERROR, TTE_ERROR_LIMIT);
    g_clear_error(&error);
  }
  /* Escaped separators survive: the CSR carries the literal comma. */
  {
    g_autofree char *pem = tte_p11_make_csr(module, uri, pin, "CN=Budi\\, S.Kom,O=Uji,C=ID",
                                            TTE_HASH_SHA384, &error);
    g_autoptr(BIO) bio = NULL;
    g_autoptr(X509_REQ) req = NULL;
    char cn[64] = "";
    g_assert_no_error(error);
    bio = BIO_new_mem_buf(pem, -1);
    req = PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL);
    g_assert_nonnull(req);
    X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req), NID_commonName, cn, sizeof cn);
    g_assert_cmpstr(cn, ==, "Budi, S.Kom");
  }
}

/* SoftHSM2 never locks a user PIN: it only sets CKF_USER_PIN_COUNT_LOW after a failure.
 * This documents that (the locked path is tested with the fault module). */
static void
test_softhsm_never_locks(void)
{
  g_autoptr(TteSecret) wrong = tte_secret_new("0000", 4, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(TteSigningKey) key = NULL;

  /* No key of ours may keep the token logged in, or C_Login would not run at all. */
  for (guint i = 0; i < 12; i++)
    expect_open_error("pkcs11:token=tte-other;object=none", wrong, NULL, TTE_ERROR_PIN_INCORRECT);
  key = tte_p11_open_signing_key(module, "pkcs11:token=tte-other;object=none", pin, NULL, NULL,
                                 &error);
  /* The right PIN still works: the next error is about the (absent) key, not the PIN. */
  g_assert_error(error, TTE_ERROR, TTE_ERROR_KEY_NOT_FOUND);
}

static void
test_list(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) tokens = tte_p11_list(module, "pkcs11:token=" TOKEN, pin, &error);
  g_autoptr(GPtrArray) public_only = NULL;
  const TteP11TokenInfo *t;
  gboolean saw_priv = FALSE, saw_cert = FALSE;

  g_assert_no_error(error);
  g_assert_cmpuint(tokens->len, ==, 1);
  t = g_ptr_array_index(tokens, 0);
  g_assert_cmpstr(t->label, ==, TOKEN);
  for (guint i = 0; i < t->objects->len; i++) {
    const TteP11Object *o = g_ptr_array_index(t->objects, i);
    if (o->kind == TTE_P11_OBJ_PRIVATE_KEY && g_strcmp0(o->label, "k-p384") == 0) {
      g_assert_cmpstr(o->key_type, ==, "EC-P384");
      saw_priv = TRUE;
    }
    if (o->kind == TTE_P11_OBJ_PRIVATE_KEY && g_strcmp0(o->label, "k-rsa3072") == 0)
      g_assert_cmpstr(o->key_type, ==, "RSA-3072");
    if (o->kind == TTE_P11_OBJ_CERTIFICATE && g_strcmp0(o->label, "k-p384") == 0)
      saw_cert = o->cert != NULL;
  }
  g_assert_true(saw_priv);
  g_assert_true(saw_cert);
  /* Without a PIN: no private keys. */
  public_only = tte_p11_list(module, "pkcs11:token=" TOKEN, NULL, &error);
  g_assert_no_error(error);
  t = g_ptr_array_index(public_only, 0);
  for (guint i = 0; i < t->objects->len; i++)
    g_assert_cmpint(((TteP11Object *)g_ptr_array_index(t->objects, i))->kind, !=,
                    TTE_P11_OBJ_PRIVATE_KEY);
}

/* --- token loss (fault module) ---------------------------------------------------------- */

static void
set_fault(const char *state)
{
  write_file("fault-ctl", state, strlen(state));
}

typedef struct {
  TteSigningKey *key;
  volatile gint stop;
  volatile gint ok, failed, wrong_code;
} Hammer;

static gpointer
hammer(gpointer data)
{
  Hammer *h = data;
  guint8 digest[32] = { 9 };

  while (!g_atomic_int_get(&h->stop)) {
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) sig =
      tte_signing_key_sign(h->key, TTE_SCHEME_RSA_PKCS1, TTE_HASH_SHA256, digest, 32, &error);
    if (sig != NULL)
      g_atomic_int_inc(&h->ok);
    else if (error->code == TTE_ERROR_TOKEN_NOT_FOUND || error->code == TTE_ERROR_TOKEN)
      g_atomic_int_inc(&h->failed);
    else
      g_atomic_int_inc(&h->wrong_code);
  }
  return NULL;
}

static void
test_token_removal(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TteP11Module) fm = NULL;
  g_autoptr(TteSigningKey) key = NULL;
  g_autoptr(GBytes) sig = NULL;
  guint8 digest[32] = { 7 };
  Hammer h = { 0 };
  GThread *t[4];

  const char *const allow[] = { TTE_TEST_FAULT_MODULE, NULL };

  set_fault("");
  fm = tte_p11_module_load(TTE_TEST_FAULT_MODULE, allow, &error);
  g_assert_no_error(error);
  key = tte_p11_open_signing_key(fm, "pkcs11:token=" TOKEN ";object=k-rsa2048", pin, NULL, NULL,
                                 &error);
  g_assert_no_error(error);
  sig = tte_signing_key_sign(key, TTE_SCHEME_RSA_PKCS1, TTE_HASH_SHA256, digest, 32, &error);
  g_assert_no_error(error);
  g_clear_pointer(&sig, g_bytes_unref);

  /* Token pulled out: a clear error, no hang. */
  set_fault("removed");
  sig = tte_signing_key_sign(key, TTE_SCHEME_RSA_PKCS1, TTE_HASH_SHA256, digest, 32, &error);
  g_assert_null(sig);
  g_assert_error(error, TTE_ERROR, TTE_ERROR_TOKEN_NOT_FOUND);
  g_test_message("while removed: %s", error->message);
  g_clear_error(&error);
  /* Plugged in again: the same key object signs again (new session, new login). */
  set_fault("");
  sig = tte_signing_key_sign(key, TTE_SCHEME_RSA_PSS, TTE_HASH_SHA256, digest, 32, &error);
  g_assert_no_error(error);
  g_assert_true(tte_signing_key_verify(key, TTE_SCHEME_RSA_PSS, TTE_HASH_SHA256, digest, 32, sig,
                                       &error));
  g_clear_pointer(&sig, g_bytes_unref);

  /* The same with four threads signing all along: every call either signs or fails
   * with a token error, and signing resumes once the token is back. */
  h.key = key;
  for (guint i = 0; i < G_N_ELEMENTS(t); i++)
    t[i] = g_thread_new("hammer", hammer, &h);
  for (guint round = 0; round < 3; round++) {
    g_usleep(100 * 1000);
    set_fault("removed");
    g_usleep(100 * 1000);
    set_fault("");
  }
  g_usleep(100 * 1000);
  {
    gint ok_before = g_atomic_int_get(&h.ok);
    g_usleep(200 * 1000);
    g_assert_cmpint(g_atomic_int_get(&h.ok), >, ok_before);
  }
  g_atomic_int_set(&h.stop, 1);
  for (guint i = 0; i < G_N_ELEMENTS(t); i++)
    g_thread_join(t[i]);
  g_test_message("with 4 threads over 3 removals: %d signed, %d token errors", h.ok, h.failed);
  g_assert_cmpint(h.wrong_code, ==, 0);
  g_assert_cmpint(h.failed, >, 0);

  /* Locked PIN: reported as such, distinct from a wrong one. */
  {
    g_autoptr(TteSigningKey) k2 = NULL;
    g_clear_pointer(&key, tte_signing_key_unref); /* log the token out */
    set_fault("pin-locked");
    k2 = tte_p11_open_signing_key(fm, "pkcs11:token=" TOKEN ";object=k-rsa2048", pin, NULL,
                                  NULL, &error);
    g_assert_null(k2);
    g_assert_error(error, TTE_ERROR, TTE_ERROR_PIN_LOCKED);
    g_test_message("locked: %s", error->message);
    set_fault("");
  }
}

int
main(int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *conf = NULL, *tokens = NULL, *text = NULL, *util = NULL;
  int rc;

  g_test_init(&argc, &argv, NULL);
  util = g_find_program_in_path("softhsm2-util");
  if (!g_file_test(TTE_DEFAULT_PKCS11_MODULE, G_FILE_TEST_EXISTS) || util == NULL) {
    /* A checkout without SoftHSM2 (./dev.sh deps installs it): skip, do not fail. */
    printf("1..0 # SKIP SoftHSM2 is not installed\n");
    return 0;
  }
  tmpdir = g_dir_make_tmp("tte-p11-softhsm-XXXXXX", &error);
  g_assert_no_error(error);
  tokens = tmp_path("tokens");
  conf = tmp_path("softhsm2.conf");
  text = g_strdup_printf("directories.tokendir = %s\nobjectstore.backend = file\n"
                         "log.level = ERROR\n", tokens);
  g_assert_cmpint(g_mkdir(tokens, 0700), ==, 0);
  g_assert_true(g_file_set_contents(conf, text, -1, NULL));
  g_setenv("SOFTHSM2_CONF", conf, TRUE);
  {
    /* For the fault module (set before any thread exists). */
    g_autofree char *ctl = tmp_path("fault-ctl");
    g_setenv("TTE_FAULT_CTL", ctl, TRUE);
    g_setenv("TTE_FAULT_REAL_MODULE", TTE_DEFAULT_PKCS11_MODULE, TRUE);
  }
  g_unsetenv("TTE_PKCS11_ALLOWED_MODULES");
  {
    const char *init1[] = { "softhsm2-util", "--init-token", "--free", "--label", TOKEN,
                            "--so-pin", "so-secret", "--pin", PIN, NULL };
    const char *init2[] = { "softhsm2-util", "--init-token", "--free", "--label", "tte-other",
                            "--so-pin", "so-secret", "--pin", PIN, NULL };
    const char *ca[] = { "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                         "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out",
                         "ca.pem", "-subj", "/C=ID/O=Uji/CN=Uji Root CA", "-days", "30", NULL };
    run(init1);
    run(init2);
    run(ca);
  }
  module = tte_p11_module_load(TTE_DEFAULT_PKCS11_MODULE, NULL, &error);
  g_assert_no_error(error);
  pin = tte_secret_new(PIN, strlen(PIN), &error);
  g_assert_no_error(error);

  /* Order matters: later tests use the keys made by the lifecycle tests. */
  g_test_add_data_func("/p11/softhsm/lifecycle-rsa2048", &lc_rsa2048, test_lifecycle);
  g_test_add_data_func("/p11/softhsm/lifecycle-rsa3072", &lc_rsa3072, test_lifecycle);
  g_test_add_data_func("/p11/softhsm/lifecycle-ec-p256", &lc_p256, test_lifecycle);
  g_test_add_data_func("/p11/softhsm/lifecycle-ec-p384", &lc_p384, test_lifecycle);
  g_test_add_func("/p11/softhsm/list", test_list);
  g_test_add_func("/p11/softhsm/threads-8x500", test_threads);
  g_test_add_func("/p11/softhsm/errors", test_errors);
  g_test_add_func("/p11/softhsm/softhsm-never-locks", test_softhsm_never_locks);
  g_test_add_func("/p11/softhsm/token-removal", test_token_removal);
  g_test_add_func("/p11/softhsm/libp11-evp-pss", test_libp11_evp);
  rc = g_test_run();

  tte_secret_free(pin);
  tte_p11_module_unref(module);
  if (g_getenv("TTE_KEEP_TMP") == NULL) {
    g_autofree char *quoted = g_shell_quote(tmpdir);
    g_autofree char *cmd = g_strdup_printf("rm -rf %s", quoted);
    (void)!system(cmd);
  }
  g_free(tmpdir);
  return rc;
}
