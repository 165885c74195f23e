/* Unit tests for common/: cursor, secrets, error names, signing-key interface. */
#include "tte-cursor.h"
#include "tte-error.h"
#include "tte-limits.h"
#include "tte-mapguard.h"
#include "tte-secret.h"
#include "tte-signing-key.h"

#include <glib/gstdio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <string.h>
#include <unistd.h>

static void
test_cursor_bounds(void)
{
  static const guint8 data[] = { 'a', 'b', 'c' };
  TteCursor c;
  const guint8 *p;
  guint8 b;

  tte_cursor_init(&c, data, sizeof data);
  g_assert_true(tte_cursor_get_u8(&c, &b));
  g_assert_cmpint(b, ==, 'a');
  g_assert_false(tte_cursor_get_bytes(&c, 3, &p)); /* only 2 left */
  g_assert_cmpuint(c.pos, ==, 1);                  /* unchanged on failure */
  g_assert_true(tte_cursor_get_bytes(&c, 2, &p));
  g_assert_true(tte_cursor_at_end(&c));
  g_assert_false(tte_cursor_get_u8(&c, &b));
  g_assert_false(tte_cursor_peek(&c, &b));
  g_assert_false(tte_cursor_seek(&c, 4));
  g_assert_true(tte_cursor_seek(&c, 3));
  g_assert_false(tte_cursor_skip(&c, 1));
}

static void
test_cursor_integers(void)
{
  TteCursor c;
  guint64 u;
  gint64 i;
  const char *big = "9223372036854775808"; /* G_MAXINT64 + 1 */
  const char *max = "9223372036854775807";

  tte_cursor_init(&c, "123 -45 +6 x", 12);
  g_assert_true(tte_cursor_get_uint(&c, &u));
  g_assert_cmpuint(u, ==, 123);
  tte_cursor_skip_pdf_ws(&c);
  g_assert_false(tte_cursor_get_uint(&c, &u)); /* sign not allowed */
  g_assert_true(tte_cursor_get_int(&c, &i));
  g_assert_cmpint(i, ==, -45);
  tte_cursor_skip_pdf_ws(&c);
  g_assert_true(tte_cursor_get_int(&c, &i));
  g_assert_cmpint(i, ==, 6);
  tte_cursor_skip_pdf_ws(&c);
  g_assert_false(tte_cursor_get_int(&c, &i));
  g_assert_cmpuint(c.pos, ==, 11);

  tte_cursor_init(&c, big, strlen(big));
  g_assert_false(tte_cursor_get_uint(&c, &u));
  g_assert_cmpuint(c.pos, ==, 0);
  tte_cursor_init(&c, max, strlen(max));
  g_assert_true(tte_cursor_get_uint(&c, &u));
  g_assert_cmpuint(u, ==, (guint64)G_MAXINT64);
  tte_cursor_init(&c, "-", 1);
  g_assert_false(tte_cursor_get_int(&c, &i));
  g_assert_cmpuint(c.pos, ==, 0);
}

static void
test_cursor_ws_comments(void)
{
  TteCursor c;
  const char *s = " \r\n% comment\n\t%x\rZ";
  guint8 b;

  tte_cursor_init(&c, s, strlen(s));
  tte_cursor_skip_pdf_ws(&c);
  g_assert_true(tte_cursor_peek(&c, &b));
  g_assert_cmpint(b, ==, 'Z');
  g_assert_true(tte_cursor_match(&c, "Z"));
  g_assert_false(tte_cursor_match(&c, "Z"));
  tte_cursor_init(&c, "%unterminated", 13);
  tte_cursor_skip_pdf_ws(&c);
  g_assert_true(tte_cursor_at_end(&c));
}

static void
test_cursor_hex(void)
{
  TteCursor c;
  g_autoptr(GBytes) b = NULL;
  gsize n;
  const guint8 *p;

  tte_cursor_init(&c, "<30 82\n0a>rest", 14);
  g_assert_true(tte_cursor_get_hex_string(&c, 16, &b));
  p = g_bytes_get_data(b, &n);
  g_assert_cmpuint(n, ==, 3);
  g_assert_cmpint(p[0], ==, 0x30);
  g_assert_cmpint(p[1], ==, 0x82);
  g_assert_cmpint(p[2], ==, 0x0a);
  g_assert_true(tte_cursor_match(&c, "rest"));
  g_clear_pointer(&b, g_bytes_unref);

  /* odd digit count: last nibble padded with 0 */
  tte_cursor_init(&c, "<abc>", 5);
  g_assert_true(tte_cursor_get_hex_string(&c, 16, &b));
  p = g_bytes_get_data(b, &n);
  g_assert_cmpuint(n, ==, 2);
  g_assert_cmpint(p[1], ==, 0xc0);
  g_clear_pointer(&b, g_bytes_unref);

  tte_cursor_init(&c, "<abcx>", 6); /* bad digit */
  g_assert_false(tte_cursor_get_hex_string(&c, 16, &b));
  g_assert_cmpuint(c.pos, ==, 0);
  tte_cursor_init(&c, "<abcd", 5); /* unterminated */
  g_assert_false(tte_cursor_get_hex_string(&c, 16, &b));
  tte_cursor_init(&c, "<aabbcc>", 8); /* over the cap */
  g_assert_false(tte_cursor_get_hex_string(&c, 2, &b));
  g_assert_null(b);

  /* Every byte value between two digits: a digit of either case counts, PDF white
   * space (NUL, HT, LF, FF, CR, SP) is skipped, anything else fails. */
  for (guint v = 0; v < 256; v++) {
    const guint8 in[5] = { '<', '1', (guint8)v, '2', '>' };
    gboolean ok;
    if (v == '>')
      continue;
    tte_cursor_init(&c, in, sizeof in);
    ok = tte_cursor_get_hex_string(&c, 16, &b);
    if (g_ascii_isxdigit((gchar)v)) {
      g_assert_true(ok);
      p = g_bytes_get_data(b, &n);
      g_assert_cmpuint(n, ==, 2);
      g_assert_cmpint(p[0], ==, 0x10 | g_ascii_xdigit_value((gchar)v));
      g_assert_cmpint(p[1], ==, 0x20);
    } else if (v == 0 || v == '\t' || v == '\n' || v == '\f' || v == '\r' || v == ' ') {
      g_assert_true(ok);
      p = g_bytes_get_data(b, &n);
      g_assert_cmpuint(n, ==, 1);
      g_assert_cmpint(p[0], ==, 0x12);
    } else {
      g_assert_false(ok);
      g_assert_cmpuint(c.pos, ==, 0);
    }
    g_clear_pointer(&b, g_bytes_unref);
  }
}

static char *
write_temp(const char *content, gsize len)
{
  g_autoptr(GError) error = NULL;
  char *path = NULL;
  int fd = g_file_open_tmp("tte-test-XXXXXX", &path, &error);
  g_assert_no_error(error);
  g_assert_cmpint(write(fd, content, len), ==, (gssize)len);
  close(fd);
  return path;
}

static void
test_secret_file(void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *p1 = write_temp("s3cret\n", 7);
  g_autofree char *p2 = write_temp("s3cret\r\n", 8);
  g_autofree char *p3 = write_temp("\n", 1);
  g_autofree char *p4 = write_temp("a\0b", 3);
  g_autoptr(TteSecret) s1 = tte_secret_new_from_file(p1, &error);
  g_autoptr(TteSecret) s2 = NULL;
  g_autoptr(TteSecret) s3 = NULL;
  g_autoptr(TteSecret) s4 = NULL;
  g_autoptr(TteSecret) s5 = NULL;
  char big[TTE_LIMIT_PIN_MAX_LEN + 1];

  g_assert_no_error(error);
  g_assert_cmpstr(tte_secret_get(s1), ==, "s3cret");
  g_assert_cmpuint(tte_secret_len(s1), ==, 6);
  s2 = tte_secret_new_from_file(p2, &error);
  g_assert_no_error(error);
  g_assert_cmpstr(tte_secret_get(s2), ==, "s3cret");

  s3 = tte_secret_new_from_file(p3, &error);
  g_assert_null(s3);
  g_assert_error(error, TTE_ERROR, TTE_ERROR_PIN_INVALID);
  g_clear_error(&error);

  s4 = tte_secret_new_from_file(p4, &error);
  g_assert_error(error, TTE_ERROR, TTE_ERROR_PIN_INVALID);
  g_clear_error(&error);

  s5 = tte_secret_new_from_file("/nonexistent/pin", &error);
  g_assert_error(error, TTE_ERROR, TTE_ERROR_PIN_INVALID);
  g_assert_nonnull(strstr(error->message, "/nonexistent/pin"));
  g_clear_error(&error);

  memset(big, 'x', sizeof big);
  g_assert_null(tte_secret_new(big, sizeof big, &error));
  g_assert_error(error, TTE_ERROR, TTE_ERROR_PIN_INVALID);
  /* The message names the limit, never the content. */
  g_assert_null(strstr(error->message, "xxxx"));
  g_clear_error(&error);

  g_unlink(p1);
  g_unlink(p2);
  g_unlink(p3);
  g_unlink(p4);
}

static void
test_secret_env(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(TteSecret) s = NULL;

  g_unsetenv("TTE_TEST_PIN");
  s = tte_secret_new_from_env("TTE_TEST_PIN", &error);
  g_assert_null(s);
  g_assert_no_error(error);
  g_setenv("TTE_TEST_PIN", "1234", TRUE);
  s = tte_secret_new_from_env("TTE_TEST_PIN", &error);
  g_assert_no_error(error);
  g_assert_cmpstr(tte_secret_get(s), ==, "1234");
  g_unsetenv("TTE_TEST_PIN");
}

static void
test_error_names(void)
{
  g_assert_cmpstr(tte_error_code_name(TTE_ERROR_PIN_INCORRECT), ==, "PIN_INCORRECT");
  g_assert_cmpstr(tte_error_code_name(TTE_ERROR_FORMAT), ==, "FORMAT");
  g_assert_cmpstr(tte_error_code_name(-1), ==, "FAILED");
  g_assert_cmpstr(tte_error_code_name(10000), ==, "FAILED");
}

static void
test_openssl_error_folding(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(BIO) bio = BIO_new_mem_buf("garbage", 7);
  X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);

  g_assert_null(x);
  tte_set_error_openssl(&error, TTE_ERROR_CRYPTO, "reading %s", "cert");
  g_assert_error(error, TTE_ERROR, TTE_ERROR_CRYPTO);
  g_assert_true(g_str_has_prefix(error->message, "reading cert: "));
  g_assert_nonnull(strstr(error->message, "no start line"));
}

/* The lean start-up loads no error strings; the first error shown loads them, so a
 * message still reads "no start line" rather than "reason(108)".  Own process: the
 * start-up options hold for the life of a process. */
static void
test_openssl_lean_error_strings(void)
{
  if (!g_test_subprocess()) {
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    return;
  }
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(BIO) bio = NULL;
    char buf[256];

    g_unsetenv("OPENSSL_CONF");
    tte_openssl_init_lean();
    bio = BIO_new_mem_buf("garbage", 7);
    g_assert_null(PEM_read_bio_X509(bio, NULL, NULL, NULL));
    tte_set_error_openssl(&error, TTE_ERROR_CRYPTO, "reading %s", "cert");
    g_assert_nonnull(strstr(error->message, "no start line"));
    g_assert_null(strstr(error->message, "reason("));
    tte_openssl_error_string(ERR_PACK(ERR_LIB_PEM, 0, PEM_R_NO_START_LINE), buf, sizeof buf);
    g_assert_nonnull(strstr(buf, "no start line"));
  }
}

/* A configuration named by OPENSSL_CONF is still read by the lean start-up: one that
 * asks for FIPS-only algorithms (no FIPS provider here) makes SHA-256 unavailable. */
static void
test_openssl_lean_named_config(void)
{
  if (!g_test_subprocess()) {
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    return;
  }
  {
    const char conf[] = "openssl_conf = init\n[init]\nalg_section = algs\n"
                        "[algs]\ndefault_properties = fips=yes\n";
    g_autofree char *path = NULL;
    g_autoptr(GError) error = NULL;
    int fd = g_file_open_tmp("tte-openssl-XXXXXX.cnf", &path, &error);
    EVP_MD *md;

    g_assert_no_error(error);
    g_assert_true(g_file_set_contents(path, conf, -1, &error));
    close(fd);
    g_setenv("OPENSSL_CONF", path, TRUE);
    tte_openssl_init_lean();
    md = EVP_MD_fetch(NULL, "SHA256", NULL);
    g_assert_null(md);
    ERR_clear_error();
    g_unlink(path);
  }
}

/* Make a self-signed certificate for @pkey (test fixture). */
static X509 *
self_signed(EVP_PKEY *pkey)
{
  X509 *x = X509_new();
  X509_NAME *n = X509_get_subject_name(x);

  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"test", -1, -1, 0);
  X509_set_issuer_name(x, n);
  X509_set_pubkey(x, pkey);
  g_assert_cmpint(X509_sign(x, pkey, EVP_sha256()), >, 0);
  return x;
}

static char *
write_pem(EVP_PKEY *pkey, X509 *cert)
{
  g_autoptr(BIO) bio = BIO_new(BIO_s_mem());
  char *data;
  long n;

  if (pkey != NULL)
    PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL);
  if (cert != NULL)
    PEM_write_bio_X509(bio, cert);
  n = BIO_get_mem_data(bio, &data);
  return write_temp(data, (gsize)n);
}

static void
check_file_key(EVP_PKEY *pkey, TteSigScheme scheme)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(X509) cert = self_signed(pkey);
  g_autofree char *kp = write_pem(pkey, NULL);
  g_autofree char *cp = write_pem(NULL, cert);
  g_autoptr(TteSigningKey) key = tte_file_key_new(kp, cp, NULL, &error);
  guint8 digest[64];
  g_autoptr(GBytes) sig = NULL;

  g_assert_no_error(error);
  g_assert_nonnull(key);
  g_assert_cmpint(tte_signing_key_default_scheme(key), ==,
                  scheme == TTE_SCHEME_ECDSA ? TTE_SCHEME_ECDSA : TTE_SCHEME_RSA_PKCS1);
  for (TteHash h = TTE_HASH_SHA256; h <= TTE_HASH_SHA512; h++) {
    gsize dl = tte_hash_len(h);
    memset(digest, 0x5a, sizeof digest);
    sig = tte_signing_key_sign(key, scheme, h, digest, dl, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(g_bytes_get_size(sig), <=, tte_signing_key_max_signature_size(key));
    g_assert_true(tte_signing_key_verify(key, scheme, h, digest, dl, sig, &error));
    g_assert_no_error(error);
    /* a different digest must not verify */
    digest[0] ^= 1;
    g_assert_false(tte_signing_key_verify(key, scheme, h, digest, dl, sig, &error));
    g_assert_error(error, TTE_ERROR, TTE_ERROR_CRYPTO);
    g_clear_error(&error);
    g_clear_pointer(&sig, g_bytes_unref);
  }
  /* wrong digest length */
  g_assert_null(tte_signing_key_sign(key, scheme, TTE_HASH_SHA256, digest, 20, &error));
  g_assert_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
  /* wrong scheme family */
  g_assert_null(tte_signing_key_sign(key,
                                     scheme == TTE_SCHEME_ECDSA ? TTE_SCHEME_RSA_PSS
                                                                : TTE_SCHEME_ECDSA,
                                     TTE_HASH_SHA256, digest, 32, &error));
  g_assert_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT);
  g_unlink(kp);
  g_unlink(cp);
}

static void
test_file_key_rsa(void)
{
  g_autoptr(EVP_PKEY) pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
  check_file_key(pkey, TTE_SCHEME_RSA_PKCS1);
  check_file_key(pkey, TTE_SCHEME_RSA_PSS);
}

static void
test_file_key_ec(void)
{
  g_autoptr(EVP_PKEY) pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  check_file_key(pkey, TTE_SCHEME_ECDSA);
}

static void
test_file_key_mismatch(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(EVP_PKEY) k1 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  g_autoptr(EVP_PKEY) k2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  g_autoptr(X509) cert = self_signed(k2);
  g_autofree char *kp = write_pem(k1, NULL);
  g_autofree char *cp = write_pem(NULL, cert);
  TteSigningKey *key = tte_file_key_new(kp, cp, NULL, &error);

  g_assert_null(key);
  g_assert_error(error, TTE_ERROR, TTE_ERROR_CERT_MISMATCH);
  g_unlink(kp);
  g_unlink(cp);
}

static void
test_x509_load_limits(void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(EVP_PKEY) k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  g_autoptr(X509) cert = self_signed(k);
  g_autoptr(BIO) bio = BIO_new(BIO_s_mem());
  g_autoptr(TteX509Stack) sk = NULL;
  char *data;
  long n;

  for (guint i = 0; i < TTE_LIMIT_CHAIN_MAX_CERTS + 1; i++)
    PEM_write_bio_X509(bio, cert);
  n = BIO_get_mem_data(bio, &data);
  sk = tte_x509_load_mem(data, (gsize)n, "test chain", &error);
  g_assert_null(sk);
  g_assert_error(error, TTE_ERROR, TTE_ERROR_LIMIT);
  g_clear_error(&error);

  sk = tte_x509_load_mem("nothing", 7, "junk", &error);
  g_assert_null(sk);
  g_assert_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);

  /* DER works too */
  {
    unsigned char *der = NULL;
    int len = i2d_X509(cert, &der);
    sk = tte_x509_load_mem(der, (gsize)len, "der", &error);
    OPENSSL_free(der);
    g_assert_no_error(error);
    g_assert_cmpint(sk_X509_num(sk), ==, 1);
  }
}

static void
test_hash_names(void)
{
  g_autoptr(GError) error = NULL;
  TteHash h;
  TteSigScheme s;

  g_assert_true(tte_hash_from_name("SHA384", &h, &error));
  g_assert_cmpint(h, ==, TTE_HASH_SHA384);
  g_assert_cmpuint(tte_hash_len(h), ==, 48);
  g_assert_false(tte_hash_from_name("md5", &h, &error));
  g_assert_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
  g_assert_true(tte_scheme_from_name("rsa-pss", &s, &error));
  g_assert_cmpint(s, ==, TTE_SCHEME_RSA_PSS);
  g_assert_false(tte_scheme_from_name("dsa", &s, &error));
  g_assert_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT);
}

/* tte_map_guard_file(): a file that shrinks under its mapping reads as zeros past the new
 * end and says so; the guard goes with the bytes; unreadable and empty files. */
static void
test_map_guard_file(void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  g_autofree char *empty = NULL;
  g_autofree guint8 *buf = g_malloc(3 * 4096);
  GBytes *b;
  const guint8 *p;
  int fd, slot = -2;

  memset(buf, 'x', 3 * 4096);
  fd = g_file_open_tmp("tte-mapguard-XXXXXX", &path, &error);
  g_assert_no_error(error);
  close(fd);
  g_assert_true(g_file_set_contents(path, (const char *)buf, 3 * 4096, &error));
  b = tte_map_guard_file(path, &slot, &error);
  g_assert_no_error(error);
  g_assert_nonnull(b);
  g_assert_cmpint(slot, >=, 0);
  g_assert_false(tte_map_guard_hit(slot));
  p = g_bytes_get_data(b, NULL);
  g_assert_cmpint(truncate(path, 100), ==, 0);
  g_assert_cmpuint(p[50], ==, 'x');
  g_assert_cmpuint(p[3 * 4096 - 1], ==, 0); /* a SIGBUS without the guard */
  g_assert_true(tte_map_guard_hit(slot));
  g_bytes_unref(b);
  /* The slot was given back: a new guard starts clean. */
  b = tte_map_guard_file(path, &slot, &error);
  g_assert_no_error(error);
  g_assert_cmpint(slot, >=, 0);
  g_assert_false(tte_map_guard_hit(slot));
  g_bytes_unref(b);
  g_unlink(path);

  g_assert_null(tte_map_guard_file(path, &slot, &error));
  g_assert_error(error, TTE_ERROR, TTE_ERROR_IO);
  g_assert_nonnull(strstr(error->message, path));
  g_assert_cmpint(slot, ==, -1);
  g_clear_error(&error);

  fd = g_file_open_tmp("tte-mapguard-empty-XXXXXX", &empty, &error);
  g_assert_no_error(error);
  close(fd);
  b = tte_map_guard_file(empty, &slot, &error);
  g_assert_no_error(error);
  g_assert_cmpuint(g_bytes_get_size(b), ==, 0);
  g_assert_cmpint(slot, ==, -1);
  g_bytes_unref(b);
  g_unlink(empty);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/common/cursor/bounds", test_cursor_bounds);
  g_test_add_func("/common/cursor/integers", test_cursor_integers);
  g_test_add_func("/common/cursor/ws-comments", test_cursor_ws_comments);
  g_test_add_func("/common/cursor/hex", test_cursor_hex);
  g_test_add_func("/common/secret/file", test_secret_file);
  g_test_add_func("/common/secret/env", test_secret_env);
  g_test_add_func("/common/error/names", test_error_names);
  g_test_add_func("/common/error/openssl-folding", test_openssl_error_folding);
  g_test_add_func("/common/error/openssl-lean-strings", test_openssl_lean_error_strings);
  g_test_add_func("/common/error/openssl-lean-named-config", test_openssl_lean_named_config);
  g_test_add_func("/common/signing-key/file-rsa", test_file_key_rsa);
  g_test_add_func("/common/signing-key/file-ec", test_file_key_ec);
  g_test_add_func("/common/signing-key/mismatch", test_file_key_mismatch);
  g_test_add_func("/common/x509/load-limits", test_x509_load_limits);
  g_test_add_func("/common/hash/names", test_hash_names);
  g_test_add_func("/common/mapguard/file", test_map_guard_file);
  return g_test_run();
}
