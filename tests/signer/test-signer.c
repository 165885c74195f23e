/* Unit tests for the signer core: CMS attributes and algorithms, the update writer's
 * invariants (prefix, ByteRange, xref), refusals — all in memory with throwaway keys. */
#include "sig-cms.h"
#include "sig-pdf.h"
#include "sig-sign.h"
#include "tte-error.h"
#include "tte-limits.h"
#include "tte-ossl.h"

#include <glib/gstdio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/ess.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <string.h>

/* --- fixtures ------------------------------------------------------------------------ */

static char *tmpdir;

/* A self-signed certificate for a fresh key of @alg ("RSA" or "EC"), written with its key
 * to tmpdir; returns a file key. */
static TteSigningKey *
make_key(const char *alg)
{
  g_autoptr(EVP_PKEY) pk = g_strcmp0(alg, "EC") == 0
                               ? EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")
                               : EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
  g_autoptr(X509) x = X509_new();
  X509_NAME *n;
  g_autofree char *kp = g_build_filename(tmpdir, alg, NULL);
  g_autofree char *key_path = g_strconcat(kp, ".key", NULL);
  g_autofree char *cert_path = g_strconcat(kp, ".pem", NULL);
  g_autoptr(GError) error = NULL;
  FILE *f;
  TteSigningKey *key;
  X509V3_CTX ctx;
  X509_EXTENSION *ext;

  g_assert_nonnull(pk);
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 42);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, pk);
  n = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(n, "C", MBSTRING_ASC, (const unsigned char *)"ID", -1, -1, 0);
  X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"Uji Penanda Tangan", -1,
                             -1, 0);
  X509_set_issuer_name(x, n);
  X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
  ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_key_usage,
                            "critical,digitalSignature,nonRepudiation,keyCertSign");
  X509_add_ext(x, ext, -1);
  X509_EXTENSION_free(ext);
  g_assert_true(X509_sign(x, pk, EVP_sha256()) > 0);

  f = fopen(key_path, "w");
  PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL);
  fclose(f);
  f = fopen(cert_path, "w");
  PEM_write_X509(f, x);
  fclose(f);
  key = tte_file_key_new(key_path, cert_path, NULL, &error);
  g_assert_no_error(error);
  return key;
}

/* A small classic-xref PDF with correct offsets; @extra_catalog goes into the catalog,
 * @extra_objs are appended as objects 5.. (each a body). */
static GBytes *
make_pdf(const char *extra_catalog, const char *const *extra_objs)
{
  GString *s = g_string_new("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n");
  g_autoptr(GArray) offs = g_array_new(FALSE, FALSE, sizeof(gsize));
  const char *bodies[16];
  guint n = 0;
  gsize xref;

  bodies[n++] = NULL; /* placeholder for 1: catalog */
  bodies[n++] = "<< /Type /Pages /Kids [3 0 R] /Count 1 >>";
  bodies[n++] =
      "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
      "/Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> >>";
  bodies[n++] = "<< /Length 42 >>\nstream\nBT /F1 24 Tf 72 700 Td (Surat Dinas) Tj ET\nendstream";
  for (guint i = 0; extra_objs != NULL && extra_objs[i] != NULL; i++)
    bodies[n++] = extra_objs[i];
  for (guint i = 0; i < n; i++) {
    gsize off = s->len;
    g_array_append_val(offs, off);
    if (i == 0)
      g_string_append_printf(s, "1 0 obj\n<< /Type /Catalog /Pages 2 0 R %s >>\nendobj\n",
                             extra_catalog != NULL ? extra_catalog : "");
    else
      g_string_append_printf(s, "%u 0 obj\n%s\nendobj\n", i + 1, bodies[i]);
  }
  xref = s->len;
  g_string_append_printf(s, "xref\n0 %u\n0000000000 65535 f \n", n + 1);
  for (guint i = 0; i < n; i++)
    g_string_append_printf(s, "%010" G_GSIZE_FORMAT " 00000 n \n", g_array_index(offs, gsize, i));
  g_string_append_printf(
      s, "trailer\n<< /Size %u /Root 1 0 R >>\nstartxref\n%" G_GSIZE_FORMAT "\n%%%%EOF\n", n + 1,
      xref);
  return g_string_free_to_bytes(s);
}

/* Pull the CMS and the signed content of the last signature out of @pdf. */
static void
extract_last(GBytes *pdf, GBytes **cms, GBytes **content)
{
  gsize len = 0;
  const char *d = g_bytes_get_data(pdf, &len);
  const char *br = NULL;
  guint64 r[4];
  char *end;
  g_autoptr(GByteArray) c = g_byte_array_new();
  g_autoptr(GByteArray) der = g_byte_array_new();

  for (const char *p = d; p != NULL && p < d + len;) {
    const char *q = memmem(p, (gsize)(d + len - p), "/ByteRange [", 12);
    if (q == NULL)
      break;
    br = q;
    p = q + 1;
  }
  g_assert_nonnull(br);
  br += 12;
  for (int i = 0; i < 4; i++) {
    r[i] = g_ascii_strtoull(br, &end, 10);
    g_assert_true(end != br);
    br = end;
  }
  g_assert_cmpuint(r[0], ==, 0);
  g_assert_cmpuint(r[2] + r[3], ==, len);
  g_byte_array_append(c, (const guint8 *)d, (guint)r[1]);
  g_byte_array_append(c, (const guint8 *)d + r[2], (guint)r[3]);
  g_assert_cmpint(d[r[1]], ==, '<');
  g_assert_cmpint(d[r[2] - 1], ==, '>');
  for (guint64 i = r[1] + 1; i + 1 < r[2] - 1; i += 2) {
    guint8 b = (guint8)((g_ascii_xdigit_value(d[i]) << 4) | g_ascii_xdigit_value(d[i + 1]));
    g_byte_array_append(der, &b, 1);
  }
  *content = g_byte_array_free_to_bytes(g_steal_pointer(&c));
  *cms = g_byte_array_free_to_bytes(g_steal_pointer(&der));
}

/* Verify the last signature of @pdf against @key's certificate as the only anchor. */
static void
assert_valid(GBytes *pdf, TteSigningKey *key, TteHash hash)
{
  g_autoptr(GBytes) der = NULL, content = NULL;
  g_autoptr(CMS_ContentInfo) cms = NULL;
  g_autoptr(X509_STORE) store = X509_STORE_new();
  g_autoptr(BIO) in = NULL;
  const unsigned char *p;
  STACK_OF(CMS_SignerInfo) * sis;
  CMS_SignerInfo *si;
  X509_ALGOR *dig = NULL;
  int idx;

  extract_last(pdf, &der, &content);
  p = g_bytes_get_data(der, NULL);
  /* d2i stops at the end of the DER; the zero padding after it is ignored. */
  cms = d2i_CMS_ContentInfo(NULL, &p, (long)g_bytes_get_size(der));
  g_assert_nonnull(cms);
  X509_STORE_add_cert(store, tte_signing_key_get_cert(key));
  in = BIO_new_mem_buf(g_bytes_get_data(content, NULL), (int)g_bytes_get_size(content));
  if (CMS_verify(cms, NULL, store, in, NULL, CMS_BINARY | CMS_DETACHED) != 1) {
    ERR_print_errors_fp(stderr);
    g_assert_not_reached();
  }
  sis = CMS_get0_SignerInfos(cms);
  g_assert_cmpint(sk_CMS_SignerInfo_num(sis), ==, 1);
  si = sk_CMS_SignerInfo_value(sis, 0);
  /* PAdES B-B: no signing-time; content-type, message-digest and ESS v2 present. */
  g_assert_cmpint(CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1), ==, -1);
  g_assert_cmpint(CMS_signed_get_attr_by_NID(si, NID_pkcs9_contentType, -1), >=, 0);
  g_assert_cmpint(CMS_signed_get_attr_by_NID(si, NID_pkcs9_messageDigest, -1), >=, 0);
  idx = CMS_signed_get_attr_by_NID(si, NID_id_smime_aa_signingCertificateV2, -1);
  g_assert_cmpint(idx, >=, 0);
  g_assert_cmpint(CMS_signed_get_attr_count(si), ==, 3);
  {
    ASN1_STRING *s =
        X509_ATTRIBUTE_get0_data(CMS_signed_get_attr(si, idx), 0, V_ASN1_SEQUENCE, NULL);
    const unsigned char *sp = ASN1_STRING_get0_data(s);
    ESS_SIGNING_CERT_V2 *sc = d2i_ESS_SIGNING_CERT_V2(NULL, &sp, ASN1_STRING_length(s));
    g_autoptr(TteX509Stack) certs = sk_X509_new_null();
    g_assert_nonnull(sc);
    sk_X509_push(certs, X509_dup(tte_signing_key_get_cert(key)));
    /* OpenSSL's own check of ESS against the signer certificate. */
    g_assert_cmpint(OSSL_ESS_check_signing_certs(NULL, sc, certs, 0), ==, 1);
    ESS_SIGNING_CERT_V2_free(sc);
  }
  CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig, NULL);
  g_assert_cmpint(OBJ_obj2nid(dig->algorithm), ==, EVP_MD_get_type(tte_hash_md(hash)));
}

static GBytes *
sign_ok(GBytes *in, TteSigningKey *key, const SigOptions *opts, SigResult *res)
{
  g_autoptr(GError) error = NULL;
  GBytes *out = sig_sign_bytes(in, key, opts, res, &error);
  g_assert_no_error(error);
  g_assert_nonnull(out);
  /* The original is a byte-exact prefix. */
  g_assert_cmpuint(g_bytes_get_size(out), >, g_bytes_get_size(in));
  g_assert_cmpmem(g_bytes_get_data(out, NULL), g_bytes_get_size(in), g_bytes_get_data(in, NULL),
                  g_bytes_get_size(in));
  return out;
}

/* --- tests --------------------------------------------------------------------------- */

static void
test_rsa_pkcs1(void)
{
  g_autoptr(TteSigningKey) key = make_key("RSA");
  g_autoptr(GBytes) in = make_pdf(NULL, NULL);
  g_autoptr(GBytes) out = NULL;
  SigOptions o;
  SigResult res = {0};
  g_autoptr(GDateTime) t = g_date_time_new_from_iso8601("2026-11-27T14:05:00+07:00", NULL);

  sig_options_init(&o);
  o.reason = "Menyetujui";
  o.location = "Kota Bandung — Jawa Barat"; /* non-ASCII: UTF-16 text string */
  o.time = t;
  out = sign_ok(in, key, &o, &res);
  assert_valid(out, key, TTE_HASH_SHA256);
  g_assert_cmpuint(res.signature_count, ==, 1);
  g_assert_cmpstr(res.field_name, ==, "Signature1");
  g_assert_cmpuint(res.size, ==, g_bytes_get_size(out));
  g_assert_cmpuint(strlen(res.document_sha256), ==, 64);
  g_assert_nonnull(memmem(g_bytes_get_data(out, NULL), g_bytes_get_size(out),
                          "/M (D:20261127140500+07'00')", 27));
  g_assert_nonnull(memmem(g_bytes_get_data(out, NULL), g_bytes_get_size(out),
                          "/SubFilter /ETSI.CAdES.detached", 31));
  g_assert_cmpuint(res.cms_len, <=, res.contents_reserved);
  /* The reserve leaves room for a timestamp token. */
  g_assert_cmpuint(res.contents_reserved - res.cms_len, >=, TTE_LIMIT_SIG_TST_RESERVE);
  sig_result_clear(&res);
}

static void
test_schemes(void)
{
  g_autoptr(TteSigningKey) rsa = make_key("RSA");
  g_autoptr(TteSigningKey) ec = make_key("EC");
  g_autoptr(GBytes) in = make_pdf(NULL, NULL);
  struct {
    TteSigningKey *key;
    TteSigScheme scheme;
    TteHash hash;
  } cases[] = {
      {rsa, TTE_SCHEME_RSA_PSS, TTE_HASH_SHA256},   {rsa, TTE_SCHEME_RSA_PSS, TTE_HASH_SHA384},
      {rsa, TTE_SCHEME_RSA_PKCS1, TTE_HASH_SHA512}, {ec, TTE_SCHEME_ECDSA, TTE_HASH_SHA256},
      {ec, TTE_SCHEME_ECDSA, TTE_HASH_SHA384},
  };

  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    SigOptions o;
    g_autoptr(GBytes) out = NULL;
    sig_options_init(&o);
    o.scheme = (int)cases[i].scheme;
    o.hash = cases[i].hash;
    out = sign_ok(in, cases[i].key, &o, NULL);
    assert_valid(out, cases[i].key, cases[i].hash);
  }
}

static void
test_scheme_mismatch(void)
{
  g_autoptr(TteSigningKey) ec = make_key("EC");
  g_autoptr(GBytes) in = make_pdf(NULL, NULL);
  g_autoptr(GError) error = NULL;
  SigOptions o;
  g_autoptr(GBytes) out = NULL;

  sig_options_init(&o);
  o.scheme = TTE_SCHEME_RSA_PSS;
  out = sig_sign_bytes(in, ec, &o, NULL, &error);
  g_assert_null(out);
  g_assert_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT);
}

static void
test_sequential(void)
{
  g_autoptr(TteSigningKey) rsa = make_key("RSA");
  g_autoptr(TteSigningKey) ec = make_key("EC");
  g_autoptr(GBytes) cur = make_pdf(NULL, NULL);
  SigOptions o;

  sig_options_init(&o);
  for (guint i = 0; i < 3; i++) {
    SigResult res = {0};
    TteSigningKey *k = i == 1 ? ec : rsa;
    GBytes *next = sign_ok(cur, k, &o, &res);
    g_autofree char *want = g_strdup_printf("Signature%u", i + 1);
    assert_valid(next, k, TTE_HASH_SHA256);
    g_assert_cmpuint(res.signature_count, ==, i + 1);
    g_assert_cmpstr(res.field_name, ==, want);
    sig_result_clear(&res);
    g_bytes_unref(cur);
    cur = next;
  }
  g_bytes_unref(g_steal_pointer(&cur));
}

static void
test_certify(void)
{
  g_autoptr(TteSigningKey) key = make_key("RSA");
  g_autoptr(GBytes) in = make_pdf(NULL, NULL);
  g_autoptr(GBytes) p2 = NULL, p1 = NULL, again = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SigDoc) doc = NULL;
  SigOptions o;

  sig_options_init(&o);
  o.certify = 2;
  p2 = sign_ok(in, key, &o, NULL);
  assert_valid(p2, key, TTE_HASH_SHA256);
  doc = sig_doc_open_bytes(p2, &error);
  g_assert_no_error(error);
  g_assert_cmpint(sig_doc_get_docmdp(doc), ==, 2);
  g_assert_cmpuint(sig_doc_get_signature_count(doc), ==, 1);

  /* P=2: an approval signature may follow; a second certification may not. */
  again = sig_sign_bytes(p2, key, &o, NULL, &error);
  g_assert_null(again);
  g_assert_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT);
  g_clear_error(&error);
  o.certify = 0;
  again = sign_ok(p2, key, &o, NULL);
  assert_valid(again, key, TTE_HASH_SHA256);

  /* P=1: nothing may follow. */
  o.certify = 1;
  p1 = sign_ok(in, key, &o, NULL);
  o.certify = 0;
  g_clear_pointer(&again, g_bytes_unref);
  again = sig_sign_bytes(p1, key, &o, NULL, &error);
  g_assert_null(again);
  g_assert_error(error, TTE_ERROR, TTE_ERROR_CERTIFIED_NO_CHANGES);
}

static void
test_field(void)
{
  g_autoptr(TteSigningKey) key = make_key("RSA");
  static const char *const objs[] = {
      "<< /FT /Sig /T (Kepala Dinas) /Type /Annot /Subtype /Widget /Rect [0 0 0 0] /P 3 0 R >>",
      "<< /FT /Tx /T (Nomor) /Type /Annot /Subtype /Widget /Rect [10 10 100 30] /P 3 0 R >>",
      NULL,
  };
  g_autoptr(GBytes) in = make_pdf("/AcroForm << /Fields [5 0 R 6 0 R] >>", objs);
  g_autoptr(GBytes) out = NULL, twice = NULL;
  g_autoptr(GError) error = NULL;
  SigOptions o;
  SigResult res = {0};

  sig_options_init(&o);
  o.field_name = "Tidak Ada";
  g_assert_null(sig_sign_bytes(in, key, &o, NULL, &error));
  g_assert_error(error, TTE_ERROR, TTE_ERROR_FIELD_NOT_FOUND);
  g_clear_error(&error);
  o.field_name = "Nomor";
  g_assert_null(sig_sign_bytes(in, key, &o, NULL, &error));
  g_assert_error(error, TTE_ERROR, TTE_ERROR_FIELD_NOT_FOUND);
  g_clear_error(&error);

  o.field_name = "Kepala Dinas";
  out = sign_ok(in, key, &o, &res);
  assert_valid(out, key, TTE_HASH_SHA256);
  g_assert_cmpstr(res.field_name, ==, "Kepala Dinas");
  sig_result_clear(&res);
  twice = sig_sign_bytes(out, key, &o, NULL, &error);
  g_assert_null(twice);
  g_assert_error(error, TTE_ERROR, TTE_ERROR_FIELD_SIGNED);
  g_clear_error(&error);
  /* A new field next to it gets a name that is not taken. */
  o.field_name = NULL;
  twice = sign_ok(out, key, &o, &res);
  g_assert_cmpstr(res.field_name, ==, "Signature1");
  sig_result_clear(&res);
}

static void
test_refusals(void)
{
  g_autoptr(TteSigningKey) key = make_key("RSA");
  g_autoptr(GBytes) good = make_pdf(NULL, NULL);
  SigOptions o;
  struct {
    const char *what;
    GBytes *in;
    int code;
  } cases[4];
  gsize glen = 0;
  const char *g = g_bytes_get_data(good, &glen);
  g_autofree char *bad_xref = g_strndup(g, glen);
  g_autofree char *junk = g_strconcat("JUNK\n", bad_xref, NULL);

  /* startxref pointing at the wrong place: qpdf could only recover it. */
  {
    char *sx = g_strrstr(bad_xref, "startxref\n");
    g_assert_nonnull(sx);
    sx[10] = sx[10] == '1' ? '2' : '1';
  }
  cases[0].what = "not a PDF";
  cases[0].in = g_bytes_new_static("hello, world\n", 13);
  cases[0].code = TTE_ERROR_NOT_PDF;
  cases[1].what = "bad startxref";
  cases[1].in = g_bytes_new(bad_xref, glen);
  cases[1].code = TTE_ERROR_PDF_DAMAGED;
  cases[2].what = "leading junk";
  cases[2].in = g_bytes_new(junk, strlen(junk));
  cases[2].code = TTE_ERROR_PDF_UNSUPPORTED;
  cases[3].what = "truncated";
  cases[3].in = g_bytes_new(g, glen - 20);
  cases[3].code = TTE_ERROR_PDF_DAMAGED;

  sig_options_init(&o);
  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) out = sig_sign_bytes(cases[i].in, key, &o, NULL, &error);
    g_test_message("%s: %s", cases[i].what, error ? error->message : "(signed)");
    g_assert_null(out);
    g_assert_error(error, TTE_ERROR, cases[i].code);
    g_bytes_unref(cases[i].in);
  }
  /* Page out of range. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) out = NULL;
    o.page = 2;
    out = sig_sign_bytes(good, key, &o, NULL, &error);
    g_assert_null(out);
    g_assert_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT);
  }
}

static void
test_file_atomic(void)
{
  g_autoptr(TteSigningKey) key = make_key("RSA");
  g_autoptr(GBytes) good = make_pdf(NULL, NULL);
  g_autofree char *in = g_build_filename(tmpdir, "in.pdf", NULL);
  g_autofree char *out = g_build_filename(tmpdir, "sub", "out.pdf", NULL);
  g_autofree char *sub = g_path_get_dirname(out);
  g_autoptr(GError) error = NULL;
  g_autofree char *signed_data = NULL;
  gsize signed_len = 0;
  SigOptions o;
  SigResult res = {0};
  g_autoptr(GDir) dir = NULL;
  guint entries = 0;

  g_assert_true(
      g_file_set_contents(in, g_bytes_get_data(good, NULL), (gssize)g_bytes_get_size(good), NULL));
  g_assert_cmpint(g_mkdir(sub, 0755), ==, 0);
  sig_options_init(&o);
  g_assert_true(sig_sign_file(in, out, key, &o, &res, &error));
  g_assert_no_error(error);
  g_assert_true(g_file_get_contents(out, &signed_data, &signed_len, NULL));
  {
    g_autoptr(GBytes) b = g_bytes_new(signed_data, signed_len);
    assert_valid(b, key, TTE_HASH_SHA256);
  }
  g_assert_cmpuint(res.size, ==, signed_len);
  sig_result_clear(&res);

  /* A refusal leaves nothing behind: no output, no temporary file. */
  o.field_name = "missing";
  g_assert_false(sig_sign_file(in, out, key, &o, NULL, &error));
  g_assert_error(error, TTE_ERROR, TTE_ERROR_FIELD_NOT_FOUND);
  dir = g_dir_open(sub, 0, NULL);
  while (g_dir_read_name(dir) != NULL)
    entries++;
  g_assert_cmpuint(entries, ==, 1); /* only the earlier out.pdf */
  g_unlink(out);
  g_rmdir(sub);
  g_unlink(in);
}

static void
test_cms_size_bound(void)
{
  g_autoptr(TteSigningKey) ec = make_key("EC");
  g_autoptr(GError) error = NULL;
  guint8 digest[32] = {1, 2, 3};

  for (int i = 0; i < 20; i++) {
    /* ECDSA signatures vary in length; the bound must hold for each. */
    g_autoptr(GBytes) der =
        sig_cms_build(ec, TTE_SCHEME_ECDSA, TTE_HASH_SHA256, digest, 32, &error);
    gsize max = sig_cms_max_size(ec, TTE_SCHEME_ECDSA, TTE_HASH_SHA256, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(g_bytes_get_size(der), <=, max);
    digest[5] = (guint8)i;
  }
}

static void
rm_rf(const char *path)
{
  g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
  const char *n;
  while (d != NULL && (n = g_dir_read_name(d)) != NULL) {
    g_autofree char *p = g_build_filename(path, n, NULL);
    g_unlink(p);
  }
  g_rmdir(path);
}

static void
test_parse_rect(void)
{
  static const char *const bad[] = {
    "", "1,2,3", "1,2,3,4,5", "a,2,3,4", "1,2,0,4", "1,2,3,-4", "1,2,3,4x",
    "1,,3,4", "nan,2,3,4", "inf,2,3,4", "1,2,20000,4", "-14401,2,3,4",
  };
  double r[4];

  g_assert_true(sig_parse_rect(" 350.5, 80 ,180,60", r));
  g_assert_cmpfloat(r[0], ==, 350.5);
  g_assert_cmpfloat(r[1], ==, 80);
  g_assert_cmpfloat(r[2], ==, 180);
  g_assert_cmpfloat(r[3], ==, 60);
  g_assert_true(sig_parse_rect("-10,-20,14400,1", r));
  for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
    if (sig_parse_rect(bad[i], r))
      g_error("accepted bad rect \"%s\"", bad[i]);
  }
}

int
main(int argc, char **argv)
{
  int rc;

  g_test_init(&argc, &argv, NULL);
  tmpdir = g_dir_make_tmp("test-signer-XXXXXX", NULL);
  g_test_add_func("/signer/parse-rect", test_parse_rect);
  g_test_add_func("/signer/rsa-pkcs1", test_rsa_pkcs1);
  g_test_add_func("/signer/schemes", test_schemes);
  g_test_add_func("/signer/scheme-mismatch", test_scheme_mismatch);
  g_test_add_func("/signer/sequential", test_sequential);
  g_test_add_func("/signer/certify", test_certify);
  g_test_add_func("/signer/field", test_field);
  g_test_add_func("/signer/refusals", test_refusals);
  g_test_add_func("/signer/file-atomic", test_file_atomic);
  g_test_add_func("/signer/cms-size-bound", test_cms_size_bound);
  rc = g_test_run();
  rm_rf(tmpdir);
  g_free(tmpdir);
  return rc;
}
