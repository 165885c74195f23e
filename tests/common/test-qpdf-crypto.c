/* Unit tests for common/tte-qpdf-crypto.c, the OpenSSL stand-in for the GnuTLS calls of
 * the statically linked qpdf in the lean `tte`: published known-answer vectors, block-by-
 * block processing as qpdf does it, refusals, and — where the real libgnutls.so.30 can be
 * loaded — the same random inputs through both, byte for byte. */
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include <dlfcn.h>
#include <glib.h>
#include <string.h>

static GBytes *
unhex(const char *h)
{
  gsize n = strlen(h) / 2;
  guint8 *b = g_malloc(n);
  for (gsize i = 0; i < n; i++)
    b[i] = (guint8)(g_ascii_xdigit_value(h[2 * i]) << 4 | g_ascii_xdigit_value(h[2 * i + 1]));
  return g_bytes_new_take(b, n);
}

static char *
hex(const guint8 *d, gsize n)
{
  GString *s = g_string_new(NULL);
  for (gsize i = 0; i < n; i++)
    g_string_append_printf(s, "%02x", d[i]);
  return g_string_free(s, FALSE);
}

static void
check_hash(gnutls_digest_algorithm_t alg, const char *msg, const char *want)
{
  gnutls_hash_hd_t h = NULL;
  guint8 out[64] = { 0 };
  g_autofree char *got = NULL;

  g_assert_cmpint(gnutls_hash_init(&h, alg), ==, 0);
  /* in two pieces, as qpdf feeds it */
  g_assert_cmpint(gnutls_hash(h, msg, 1), ==, 0);
  g_assert_cmpint(gnutls_hash(h, msg + 1, strlen(msg) - 1), ==, 0);
  gnutls_hash_deinit(h, out);
  got = hex(out, strlen(want) / 2);
  g_assert_cmpstr(got, ==, want);
}

static void
test_hashes(void)
{
  check_hash(GNUTLS_DIG_MD5, "abc", "900150983cd24fb0d6963f7d28e17f72");
  check_hash(GNUTLS_DIG_SHA256, "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  check_hash(GNUTLS_DIG_SHA384, "abc",
             "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7");
  check_hash(GNUTLS_DIG_SHA512, "abc",
             "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
             "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
  {
    gnutls_hash_hd_t h = NULL;
    g_assert_cmpint(gnutls_hash_init(&h, GNUTLS_DIG_SHA1), <, 0); /* qpdf never asks for it */
  }
}

static void
check_rc4(const char *key, const char *pt, const char *want)
{
  gnutls_cipher_hd_t c = NULL;
  gnutls_datum_t k = { (unsigned char *)key, (unsigned)strlen(key) };
  gsize n = strlen(pt);
  g_autofree guint8 *buf = g_memdup2(pt, n);
  g_autofree char *got = NULL;

  g_assert_cmpint(gnutls_cipher_init(&c, GNUTLS_CIPHER_ARCFOUR_128, &k, NULL), ==, 0);
  /* in place and in two calls: the key stream must carry on */
  g_assert_cmpint(gnutls_cipher_encrypt2(c, buf, 2, buf, 2), ==, 0);
  g_assert_cmpint(gnutls_cipher_encrypt2(c, buf + 2, n - 2, buf + 2, n - 2), ==, 0);
  gnutls_cipher_deinit(c);
  got = hex(buf, n);
  g_assert_cmpstr(got, ==, want);
}

static void
test_rc4(void)
{
  /* The classic published RC4 test triples. */
  check_rc4("Key", "Plaintext", "bbf316e8d940af0ad3");
  check_rc4("Wiki", "pedia", "1021bf0420");
  check_rc4("Secret", "Attack at dawn", "45a01f645fc35b383552544b9bf5");
}

static void
check_aes(gnutls_cipher_algorithm_t alg, const char *key_hex, const char *pt_hex, const char *ct_hex)
{
  g_autoptr(GBytes) key = unhex(key_hex), pt = unhex(pt_hex), ct = unhex(ct_hex);
  g_autoptr(GBytes) iv = unhex("000102030405060708090a0b0c0d0e0f");
  gsize n = g_bytes_get_size(pt);
  gnutls_datum_t k = { (unsigned char *)g_bytes_get_data(key, NULL), (unsigned)g_bytes_get_size(key) };
  gnutls_datum_t v = { (unsigned char *)g_bytes_get_data(iv, NULL), 16 };
  g_autofree guint8 *out = g_malloc(n), *back = g_malloc(n);
  gnutls_cipher_hd_t c = NULL;

  g_assert_cmpuint(gnutls_cipher_get_key_size(alg), ==, g_bytes_get_size(key));
  g_assert_cmpint(gnutls_cipher_init(&c, alg, &k, &v), ==, 0);
  for (gsize off = 0; off < n; off += 16) /* one block per call, as qpdf does */
    g_assert_cmpint(gnutls_cipher_encrypt2(c, (const guint8 *)g_bytes_get_data(pt, NULL) + off, 16,
                                           out + off, 16), ==, 0);
  g_assert_cmpmem(out, n, g_bytes_get_data(ct, NULL), n);
  /* one direction per handle */
  g_assert_cmpint(gnutls_cipher_decrypt2(c, out, 16, back, 16), <, 0);
  gnutls_cipher_deinit(c);

  g_assert_cmpint(gnutls_cipher_init(&c, alg, &k, &v), ==, 0);
  for (gsize off = 0; off < n; off += 16)
    g_assert_cmpint(gnutls_cipher_decrypt2(c, out + off, 16, back + off, 16), ==, 0);
  g_assert_cmpmem(back, n, g_bytes_get_data(pt, NULL), n);
  g_assert_cmpint(gnutls_cipher_decrypt2(c, out, 15, back, 15), <, 0); /* not a whole block */
  gnutls_cipher_deinit(c);
}

static void
test_aes(void)
{
  /* NIST SP 800-38A, F.2.1 and F.2.5 (first two blocks). */
  const char *pt = "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51";
  check_aes(GNUTLS_CIPHER_AES_128_CBC, "2b7e151628aed2a6abf7158809cf4f3c", pt,
            "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b2");
  check_aes(GNUTLS_CIPHER_AES_256_CBC, "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", pt,
            "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d");
}

static void
test_refusals(void)
{
  guint8 kb[16] = { 0 }, ivb[16] = { 0 };
  gnutls_datum_t k = { kb, 16 }, short_k = { kb, 5 }, v = { ivb, 16 }, empty = { kb, 0 };
  gnutls_cipher_hd_t c = NULL;
  guint8 r1[32] = { 0 }, r2[32] = { 0 };

  g_assert_cmpint(gnutls_cipher_init(&c, GNUTLS_CIPHER_AES_128_CBC, &short_k, &v), <, 0);
  g_assert_cmpint(gnutls_cipher_init(&c, GNUTLS_CIPHER_AES_128_CBC, &k, NULL), <, 0);
  g_assert_cmpint(gnutls_cipher_init(&c, GNUTLS_CIPHER_ARCFOUR_128, &empty, NULL), <, 0);
  g_assert_cmpint(gnutls_cipher_init(&c, GNUTLS_CIPHER_3DES_CBC, &k, &v), <, 0);
  g_assert_cmpuint(gnutls_cipher_get_key_size(GNUTLS_CIPHER_3DES_CBC), ==, 0);
  g_assert_nonnull(gnutls_strerror(GNUTLS_E_INVALID_REQUEST));
  g_assert_cmpint(gnutls_rnd(GNUTLS_RND_KEY, r1, sizeof r1), ==, 0);
  g_assert_cmpint(gnutls_rnd(GNUTLS_RND_KEY, r2, sizeof r2), ==, 0);
  g_assert_true(memcmp(r1, r2, sizeof r1) != 0);
}

/* The same random inputs through the real GnuTLS, loaded privately, byte for byte. */
typedef int (*HashInit)(gnutls_hash_hd_t *, gnutls_digest_algorithm_t);
typedef int (*Hash)(gnutls_hash_hd_t, const void *, size_t);
typedef void (*HashDeinit)(gnutls_hash_hd_t, void *);
typedef int (*CipherInit)(gnutls_cipher_hd_t *, gnutls_cipher_algorithm_t, const gnutls_datum_t *,
                          const gnutls_datum_t *);
typedef int (*Crypt)(gnutls_cipher_hd_t, const void *, size_t, void *, size_t);
typedef void (*CipherDeinit)(gnutls_cipher_hd_t);

static void
test_against_gnutls(void)
{
  void *lib = dlopen("libgnutls.so.30", RTLD_NOW | RTLD_LOCAL);
  HashInit r_hinit;
  Hash r_hash;
  HashDeinit r_hdeinit;
  CipherInit r_cinit;
  Crypt r_enc, r_dec;
  CipherDeinit r_cdeinit;
  g_autoptr(GRand) rnd = g_rand_new_with_seed(20261127);
  static const gnutls_digest_algorithm_t digests[] = { GNUTLS_DIG_MD5, GNUTLS_DIG_SHA256, GNUTLS_DIG_SHA384,
                                                       GNUTLS_DIG_SHA512 };
  static const gnutls_cipher_algorithm_t aes[] = { GNUTLS_CIPHER_AES_128_CBC, GNUTLS_CIPHER_AES_192_CBC,
                                                   GNUTLS_CIPHER_AES_256_CBC };

  if (lib == NULL) {
    g_test_skip("libgnutls.so.30 is not installed");
    return;
  }
  r_hinit = (HashInit)dlsym(lib, "gnutls_hash_init");
  r_hash = (Hash)dlsym(lib, "gnutls_hash");
  r_hdeinit = (HashDeinit)dlsym(lib, "gnutls_hash_deinit");
  r_cinit = (CipherInit)dlsym(lib, "gnutls_cipher_init");
  r_enc = (Crypt)dlsym(lib, "gnutls_cipher_encrypt2");
  r_dec = (Crypt)dlsym(lib, "gnutls_cipher_decrypt2");
  r_cdeinit = (CipherDeinit)dlsym(lib, "gnutls_cipher_deinit");
  g_assert_true(r_hinit && r_hash && r_hdeinit && r_cinit && r_enc && r_dec && r_cdeinit);
  g_assert_true((void *)r_hinit != (void *)gnutls_hash_init);

  for (int round = 0; round < 50; round++) {
    gsize n = (gsize)g_rand_int_range(rnd, 0, 64) * 16;
    g_autofree guint8 *msg = g_malloc(n + 1), *a = g_malloc(n + 1), *b = g_malloc(n + 1);
    guint8 key[32], iv[16], da[64], db[64];
    for (gsize i = 0; i < n; i++)
      msg[i] = (guint8)g_rand_int(rnd);
    for (gsize i = 0; i < sizeof key; i++)
      key[i] = (guint8)g_rand_int(rnd);
    for (gsize i = 0; i < sizeof iv; i++)
      iv[i] = (guint8)g_rand_int(rnd);

    for (gsize d = 0; d < G_N_ELEMENTS(digests); d++) {
      gnutls_hash_hd_t h1 = NULL, h2 = NULL;
      g_assert_cmpint(gnutls_hash_init(&h1, digests[d]), ==, 0);
      g_assert_cmpint(r_hinit(&h2, digests[d]), ==, 0);
      gnutls_hash(h1, msg, n);
      r_hash(h2, msg, n);
      gnutls_hash_deinit(h1, da);
      r_hdeinit(h2, db);
      g_assert_cmpmem(da, 16, db, 16);
    }
    {
      /* RC4 with the key lengths PDF uses (40 to 128 bits) */
      gnutls_datum_t k = { key, (unsigned)g_rand_int_range(rnd, 5, 17) };
      gnutls_cipher_hd_t c1 = NULL, c2 = NULL;
      g_assert_cmpint(gnutls_cipher_init(&c1, GNUTLS_CIPHER_ARCFOUR_128, &k, NULL), ==, 0);
      g_assert_cmpint(r_cinit(&c2, GNUTLS_CIPHER_ARCFOUR_128, &k, NULL), ==, 0);
      gnutls_cipher_encrypt2(c1, msg, n, a, n);
      r_enc(c2, msg, n, b, n);
      g_assert_cmpmem(a, n, b, n);
      gnutls_cipher_deinit(c1);
      r_cdeinit(c2);
    }
    for (gsize x = 0; x < G_N_ELEMENTS(aes); x++) {
      gnutls_datum_t k = { key, (unsigned)gnutls_cipher_get_key_size(aes[x]) }, v = { iv, 16 };
      gnutls_cipher_hd_t c1 = NULL, c2 = NULL;
      gboolean enc = round % 2 == 0;
      g_assert_cmpint(gnutls_cipher_init(&c1, aes[x], &k, &v), ==, 0);
      g_assert_cmpint(r_cinit(&c2, aes[x], &k, &v), ==, 0);
      for (gsize off = 0; off < n; off += 16) {
        if (enc) {
          g_assert_cmpint(gnutls_cipher_encrypt2(c1, msg + off, 16, a + off, 16), ==, 0);
          g_assert_cmpint(r_enc(c2, msg + off, 16, b + off, 16), ==, 0);
        } else {
          g_assert_cmpint(gnutls_cipher_decrypt2(c1, msg + off, 16, a + off, 16), ==, 0);
          g_assert_cmpint(r_dec(c2, msg + off, 16, b + off, 16), ==, 0);
        }
      }
      g_assert_cmpmem(a, n, b, n);
      gnutls_cipher_deinit(c1);
      r_cdeinit(c2);
    }
  }
  /* the library stays loaded: GnuTLS registers exit handlers */
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/qpdf-crypto/hashes", test_hashes);
  g_test_add_func("/qpdf-crypto/rc4", test_rc4);
  g_test_add_func("/qpdf-crypto/aes-cbc", test_aes);
  g_test_add_func("/qpdf-crypto/refusals", test_refusals);
  g_test_add_func("/qpdf-crypto/same-as-gnutls", test_against_gnutls);
  return g_test_run();
}
