/* vfy-cms.c — integrity of one CMS SignedData over the signed bytes.
 *
 * Checked by hand rather than with CMS_verify() so that each failure maps to its own
 * ETSI sub-indication (hash vs. signature vs. signer certificate) and so that the
 * algorithm identifiers are held to what they claim: OpenSSL alone accepts a signature
 * algorithm OID as digestAlgorithm and ignores the digest named by signatureAlgorithm.
 */
#include "vfy-cms.h"

#include "tte-cursor.h"
#include "tte-error.h"
#include "vfy-limits.h"
#include "vfy-pdf.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/ec.h>
#include <openssl/ess.h>
#include <openssl/objects.h>
#include <openssl/ts.h>
#include <string.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TS_TST_INFO, TS_TST_INFO_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ESS_SIGNING_CERT, ESS_SIGNING_CERT_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ESS_SIGNING_CERT_V2, ESS_SIGNING_CERT_V2_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ASN1_OBJECT, ASN1_OBJECT_free)

/* Adobe's revocation archive attribute (PDF 1.6, adbe-revocationInfoArchival). */
#define VFY_OID_ADBE_REVOCATION "1.2.840.113583.1.1.8"

/* podofosign duplicates its SignerInfo; more than this is not a duplicate. */
#define VFY_MAX_SIGNER_INFOS 2

void
vfy_cms_result_free(VfyCmsResult *r)
{
  if (r == NULL)
    return;
  g_free(r->message);
  X509_free(r->signer);
  if (r->certs != NULL)
    tte_x509_stack_free(r->certs);
  g_clear_pointer(&r->crls_der, g_ptr_array_unref);
  g_clear_pointer(&r->ocsps_der, g_ptr_array_unref);
  g_clear_pointer(&r->timestamps, g_ptr_array_unref);
  g_clear_pointer(&r->signature_value, g_bytes_unref);
  g_free(r->digest_name);
  g_free(r->signature_name);
  g_free(r);
}

char *
vfy_iso_time(gint64 t)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(t);
  if (dt == NULL)
    return NULL;
  return g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ");
}

gboolean
vfy_asn1_time_to_unix(const ASN1_TIME *t, gint64 *out)
{
  struct tm tm = { 0 };
  g_autoptr(GDateTime) dt = NULL;

  if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
    return FALSE;
  dt = g_date_time_new_utc(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                           tm.tm_sec);
  if (dt == NULL)
    return FALSE;
  *out = g_date_time_to_unix(dt);
  return TRUE;
}

/* Hash through VfyWindows: a mapped file is read in windows (pread) rather than paged
 * in whole; bytes in memory are hashed in place. */
static gboolean
update_chunked(EVP_MD_CTX *ctx, const guint8 *p, gsize n, gboolean verify)
{
  VfyWindows w;
  const guint8 *win;
  gsize wl, ws;
  gboolean ok = TRUE;

  vfy_windows_init(&w, p, n, 0);
  while (ok && vfy_windows_next(&w, &win, &wl, &ws))
    ok = (verify ? EVP_DigestVerifyUpdate(ctx, win, wl) : EVP_DigestUpdate(ctx, win, wl)) == 1;
  ok = ok && !w.failed;
  vfy_windows_clear(&w);
  return ok;
}

gboolean
vfy_digest_ranges(const EVP_MD *md, const VfyRanges *r, guint8 *out, guint *out_len)
{
  g_autoptr(EVP_MD_CTX) ctx = EVP_MD_CTX_new();

  if (ctx == NULL || EVP_DigestInit_ex(ctx, md, NULL) != 1 ||
      !update_chunked(ctx, r->p1, r->n1, FALSE) || !update_chunked(ctx, r->p2, r->n2, FALSE))
    return FALSE;
  if ((EVP_MD_get_flags(md) & EVP_MD_FLAG_XOF) != 0) {
    /* RFC 8419/8702: SHAKE128 gives 256 bits, SHAKE256 512 bits in CMS. */
    guint n = EVP_MD_get_type(md) == NID_shake128 ? 32 : 64;
    if (EVP_DigestFinalXOF(ctx, out, n) != 1)
      return FALSE;
    *out_len = n;
    return TRUE;
  }
  return EVP_DigestFinal_ex(ctx, out, out_len) == 1;
}

static VfyCmsResult *
fail(VfyCmsResult *r, VfyCmsStatus st, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static VfyCmsResult *
fail(VfyCmsResult *r, VfyCmsStatus st, const char *fmt, ...)
{
  va_list ap;
  unsigned long e = ERR_peek_last_error();

  va_start(ap, fmt);
  r->status = st;
  g_free(r->message);
  r->message = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  if (e != 0) {
    char buf[256];
    tte_openssl_error_string(e, buf, sizeof buf);
    g_autofree char *m = r->message;
    r->message = g_strdup_printf("%s (%s)", m, buf);
  }
  ERR_clear_error();
  return r;
}

/* --- minimal DER walking for the Adobe archive (TteCursor only) ----------------------- */

/* Read one TLV: @start is where its header began, @value and @vlen its contents. */
static gboolean
der_tlv(TteCursor *c, guint8 *tag, const guint8 **value, gsize *vlen, gsize *start)
{
  gsize save = c->pos;
  guint8 b;
  gsize n = 0;

  *start = c->pos;
  if (!tte_cursor_get_u8(c, tag) || (*tag & 0x1f) == 0x1f || !tte_cursor_get_u8(c, &b))
    goto bad;
  if (b < 0x80) {
    n = b;
  } else {
    guint k = b & 0x7f;
    if (k == 0 || k > 4)
      goto bad;
    for (guint i = 0; i < k; i++) {
      if (!tte_cursor_get_u8(c, &b))
        goto bad;
      n = (n << 8) | b;
    }
  }
  if (!tte_cursor_get_bytes(c, n, value))
    goto bad;
  *vlen = n;
  return TRUE;
bad:
  c->pos = save;
  return FALSE;
}

static void
der_put_len(GByteArray *out, gsize n)
{
  guint8 b[5];
  guint k = 0;
  if (n < 0x80) {
    b[0] = (guint8)n;
    g_byte_array_append(out, b, 1);
    return;
  }
  for (gsize v = n; v > 0; v >>= 8)
    k++;
  b[0] = (guint8)(0x80 | k);
  for (guint i = 0; i < k; i++)
    b[1 + i] = (guint8)(n >> (8 * (k - 1 - i)));
  g_byte_array_append(out, b, k + 1);
}

/* SigningCertificate(V2) cut down to its first ESSCertID(v2), the one that must name the
 * signer (RFC 5035 5.4): OpenSSL's check insists that every listed certificate is at
 * hand, and the CA certificates listed after the first often are not. */
static GBytes *
ess_first_only(const ASN1_STRING *attr)
{
  TteCursor c, in;
  guint8 tag;
  const guint8 *v, *certs, *first;
  gsize vlen, clen, flen, start, fstart;
  g_autoptr(GByteArray) out = g_byte_array_new();
  guint8 seq = 0x30;

  tte_cursor_init(&c, ASN1_STRING_get0_data(attr), (gsize)ASN1_STRING_length(attr));
  if (!der_tlv(&c, &tag, &v, &vlen, &start) || tag != 0x30 || !tte_cursor_at_end(&c))
    return NULL;
  tte_cursor_init(&in, v, vlen);
  if (!der_tlv(&in, &tag, &certs, &clen, &start) || tag != 0x30)
    return NULL;
  tte_cursor_init(&in, certs, clen);
  if (!der_tlv(&in, &tag, &first, &flen, &fstart) || tag != 0x30)
    return NULL;
  /* SEQUENCE { SEQUENCE { first } } */
  {
    gsize first_len = in.pos - fstart;
    g_autoptr(GByteArray) inner = g_byte_array_new();
    g_byte_array_append(inner, &seq, 1);
    der_put_len(inner, first_len);
    g_byte_array_append(inner, in.data + fstart, (guint)first_len);
    g_byte_array_append(out, &seq, 1);
    der_put_len(out, inner->len);
    g_byte_array_append(out, inner->data, inner->len);
  }
  return g_byte_array_free_to_bytes(g_steal_pointer(&out));
}

/* Enter the TLV at the cursor if it has @tag: @inner then covers its contents. */
static gboolean
der_enter(TteCursor *c, guint8 want, TteCursor *inner)
{
  guint8 tag;
  const guint8 *v;
  gsize vlen, start;
  if (!der_tlv(c, &tag, &v, &vlen, &start))
    return FALSE;
  if (tag != want) {
    c->pos = start;
    return FALSE;
  }
  tte_cursor_init(inner, v, vlen);
  return TRUE;
}

static gboolean
der_skip(TteCursor *c)
{
  guint8 tag;
  const guint8 *v;
  gsize vlen, start;
  return der_tlv(c, &tag, &v, &vlen, &start);
}

/* Find the contents of SignerInfo @k's [0] signedAttrs in the raw DER.  FALSE when
 * absent or not walkable (BER with indefinite lengths). */
static gboolean
locate_signed_attrs(const guint8 *der, gsize len, int k, TteCursor *attrs)
{
  TteCursor c, ci, exp, sd, sis, si;
  guint8 b;

  tte_cursor_init(&c, der, len);
  if (!der_enter(&c, 0x30, &ci) || !der_skip(&ci) || !der_enter(&ci, 0xa0, &exp) ||
      !der_enter(&exp, 0x30, &sd))
    return FALSE;
  if (!der_skip(&sd) || !der_skip(&sd) || !der_skip(&sd)) /* version, digestAlgorithms, encap */
    return FALSE;
  while (tte_cursor_peek(&sd, &b) && (b == 0xa0 || b == 0xa1)) /* certificates, crls */
    if (!der_skip(&sd))
      return FALSE;
  if (!der_enter(&sd, 0x31, &sis))
    return FALSE;
  for (int i = 0; i < k; i++)
    if (!der_skip(&sis))
      return FALSE;
  if (!der_enter(&sis, 0x30, &si) || !der_skip(&si) || !der_skip(&si) || !der_skip(&si))
    return FALSE; /* version, sid, digestAlgorithm */
  return der_enter(&si, 0xa0, attrs);
}

/* The signed attributes as signed: a SET OF (tag 0x31) over the raw contents. */
static GBytes *
signed_attrs_tbs(const guint8 *der, gsize len, int k)
{
  TteCursor attrs;
  g_autoptr(GByteArray) out = g_byte_array_new();
  guint8 set = 0x31;

  if (!locate_signed_attrs(der, len, k, &attrs))
    return NULL;
  g_byte_array_append(out, &set, 1);
  der_put_len(out, attrs.len);
  g_byte_array_append(out, attrs.data, (guint)attrs.len);
  return g_byte_array_free_to_bytes(g_steal_pointer(&out));
}

/* FALSE only when the signed attributes of SignerInfo @k are provably not in DER order
 * (SET OF elements not sorted).  OpenSSL verifies over the encoding as found, so without
 * this a signature made over non-DER attributes would pass; RFC 5652 5.4 wants DER, and
 * DSS rules the same.  BER input (indefinite lengths) cannot be walked here: TRUE. */
static gboolean
signed_attrs_in_der_order(const guint8 *der, gsize len, int k)
{
  TteCursor attrs;
  const guint8 *prev = NULL;
  gsize prev_len = 0;

  if (!locate_signed_attrs(der, len, k, &attrs))
    return TRUE;
  while (!tte_cursor_at_end(&attrs)) {
    gsize start = attrs.pos;
    const guint8 *cur;
    gsize cur_len;
    int cmp;
    if (!der_skip(&attrs))
      return TRUE;
    cur = attrs.data + start;
    cur_len = attrs.pos - start;
    if (prev != NULL) {
      cmp = memcmp(prev, cur, MIN(prev_len, cur_len));
      if (cmp > 0 || (cmp == 0 && prev_len > cur_len))
        return FALSE;
    }
    prev = cur;
    prev_len = cur_len;
  }
  return TRUE;
}

/* SEQUENCE OF X inside [tagno] EXPLICIT: push each X's whole DER into @into. */
static void
der_collect_seq(const guint8 *v, gsize vlen, GPtrArray *into)
{
  TteCursor c, inner;
  guint8 tag;
  const guint8 *sv, *ev;
  gsize slen, elen, start;

  tte_cursor_init(&c, v, vlen);
  if (!der_tlv(&c, &tag, &sv, &slen, &start) || tag != 0x30)
    return;
  tte_cursor_init(&inner, sv, slen);
  while (!tte_cursor_at_end(&inner) && into->len < TTE_LIMIT_REVOCATION_MAX_ITEMS) {
    if (!der_tlv(&inner, &tag, &ev, &elen, &start) || tag != 0x30)
      return;
    g_ptr_array_add(into, g_bytes_new(inner.data + start, inner.pos - start));
  }
}

static void
read_adbe_archive(CMS_SignerInfo *si, VfyCmsResult *r)
{
  g_autoptr(ASN1_OBJECT) oid = OBJ_txt2obj(VFY_OID_ADBE_REVOCATION, 1);
  ASN1_STRING *seq;
  TteCursor c, body;
  guint8 tag;
  const guint8 *v, *f;
  gsize vlen, flen, start;

  if (oid == NULL)
    return;
  seq = CMS_signed_get0_data_by_OBJ(si, oid, -3, V_ASN1_SEQUENCE);
  ERR_clear_error();
  if (seq == NULL)
    return;
  tte_cursor_init(&c, ASN1_STRING_get0_data(seq), (gsize)ASN1_STRING_length(seq));
  if (!der_tlv(&c, &tag, &v, &vlen, &start) || tag != 0x30)
    return;
  tte_cursor_init(&body, v, vlen);
  while (der_tlv(&body, &tag, &f, &flen, &start)) {
    if (tag == 0xa0)
      der_collect_seq(f, flen, r->crls_der);
    else if (tag == 0xa1)
      der_collect_seq(f, flen, r->ocsps_der);
  }
}

static void
collect_timestamps(CMS_SignerInfo *si, VfyCmsResult *r)
{
  int n = CMS_unsigned_get_attr_count(si);

  for (int i = 0; i < n; i++) {
    X509_ATTRIBUTE *a = CMS_unsigned_get_attr(si, i);
    int nv;
    if (a == NULL || OBJ_obj2nid(X509_ATTRIBUTE_get0_object(a)) != NID_id_smime_aa_timeStampToken)
      continue;
    nv = X509_ATTRIBUTE_count(a);
    for (int j = 0; j < nv && r->timestamps->len < TTE_LIMIT_TIMESTAMPS_PER_SIG; j++) {
      ASN1_TYPE *t = X509_ATTRIBUTE_get0_type(a, j);
      if (t != NULL && t->type == V_ASN1_SEQUENCE)
        g_ptr_array_add(r->timestamps, g_bytes_new(ASN1_STRING_get0_data(t->value.sequence),
                                                   (gsize)ASN1_STRING_length(t->value.sequence)));
    }
  }
}

/* --- algorithm policy ----------------------------------------------------------------- */

/* TRUE when @sig_nid may sign with @pkey after a digest @md_nid. */
static gboolean
sigalg_consistent(int sig_nid, int md_nid, EVP_PKEY *pkey)
{
  int base = EVP_PKEY_get_base_id(pkey);
  int d = NID_undef, k = NID_undef;

  switch (sig_nid) {
  case NID_rsaEncryption:
    return base == EVP_PKEY_RSA;
  case NID_rsassaPss:
    return base == EVP_PKEY_RSA || base == EVP_PKEY_RSA_PSS;
  case NID_X9_62_id_ecPublicKey:
    return base == EVP_PKEY_EC;
  default:
    break;
  }
  if (!OBJ_find_sigid_algs(sig_nid, &d, &k))
    return FALSE; /* not a signature algorithm at all */
  if (d != NID_undef && d != md_nid)
    return FALSE; /* e.g. sha3-256WithRSA over a SHA-256 digest */
  if (k == NID_rsaEncryption)
    return base == EVP_PKEY_RSA;
  if (k == NID_X9_62_id_ecPublicKey)
    return base == EVP_PKEY_EC;
  if (k == NID_ED25519 || k == NID_ED448 || k == NID_rsassaPss)
    return base == k || (k == NID_rsassaPss && base == EVP_PKEY_RSA);
  return FALSE;
}

static gboolean
find_signer(CMS_SignerInfo *si, const TteX509Stack *a, const TteX509Stack *b, X509 **out)
{
  const TteX509Stack *lists[2] = { a, b };
  for (int l = 0; l < 2; l++) {
    for (int i = 0; lists[l] != NULL && i < sk_X509_num(lists[l]); i++) {
      X509 *x = sk_X509_value(lists[l], i);
      if (CMS_SignerInfo_cert_cmp(si, x) == 0) {
        X509_up_ref(x);
        *out = x;
        return TRUE;
      }
    }
  }
  return FALSE;
}

/* BSI TR-03111 ecdsa-plain-* (r||s instead of DER), which OpenSSL does not know. */
static const struct {
  const char *oid;
  int md_nid;
} plain_ecdsa[] = {
  { "0.4.0.127.0.7.1.1.4.1.1", NID_sha1 },   { "0.4.0.127.0.7.1.1.4.1.2", NID_sha224 },
  { "0.4.0.127.0.7.1.1.4.1.3", NID_sha256 }, { "0.4.0.127.0.7.1.1.4.1.4", NID_sha384 },
  { "0.4.0.127.0.7.1.1.4.1.5", NID_sha512 },
};

static int
plain_ecdsa_md(const ASN1_OBJECT *alg)
{
  char buf[64];
  if (alg == NULL || OBJ_obj2txt(buf, sizeof buf, alg, 1) <= 0)
    return NID_undef;
  for (gsize i = 0; i < G_N_ELEMENTS(plain_ecdsa); i++)
    if (strcmp(buf, plain_ecdsa[i].oid) == 0)
      return plain_ecdsa[i].md_nid;
  return NID_undef;
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(ECDSA_SIG, ECDSA_SIG_free)

/* Verify @sig over @tbs for the cases OpenSSL's CMS code does not handle: EdDSA
 * (pure, no pre-hash) and plain ECDSA (@md set, @plain TRUE). */
static gboolean
verify_raw(EVP_PKEY *pkey, const EVP_MD *md, gboolean plain, GBytes *tbs, const ASN1_OCTET_STRING *sig)
{
  g_autoptr(EVP_MD_CTX) ctx = EVP_MD_CTX_new();
  const guint8 *sv = ASN1_STRING_get0_data(sig);
  gsize sl = (gsize)ASN1_STRING_length(sig), tl = 0;
  const guint8 *td = g_bytes_get_data(tbs, &tl);
  unsigned char *der = NULL;
  int dl = 0;
  gboolean ok;

  if (ctx == NULL)
    return FALSE;
  if (plain) {
    g_autoptr(ECDSA_SIG) es = ECDSA_SIG_new();
    BIGNUM *r, *s;
    if (es == NULL || sl == 0 || sl % 2 != 0)
      return FALSE;
    r = BN_bin2bn(sv, (int)(sl / 2), NULL);
    s = BN_bin2bn(sv + sl / 2, (int)(sl / 2), NULL);
    if (r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
      BN_free(r);
      BN_free(s);
      return FALSE;
    }
    dl = i2d_ECDSA_SIG(es, &der);
    if (dl <= 0)
      return FALSE;
    sv = der;
    sl = (gsize)dl;
  }
  ok = EVP_DigestVerifyInit(ctx, NULL, plain ? md : NULL, NULL, pkey) == 1 &&
       EVP_DigestVerify(ctx, sv, sl, td, tl) == 1;
  OPENSSL_free(der);
  return ok;
}

/* Signature straight over the content (no signed attributes), streamed. */
static gboolean
verify_without_attrs(EVP_PKEY *pkey, const EVP_MD *md, const VfyRanges *content,
                     const ASN1_OCTET_STRING *sig)
{
  g_autoptr(EVP_MD_CTX) ctx = EVP_MD_CTX_new();
  if (ctx == NULL || EVP_DigestVerifyInit(ctx, NULL, md, NULL, pkey) != 1 ||
      !update_chunked(ctx, content->p1, content->n1, TRUE) ||
      !update_chunked(ctx, content->p2, content->n2, TRUE))
    return FALSE;
  return EVP_DigestVerifyFinal(ctx, ASN1_STRING_get0_data(sig), (size_t)ASN1_STRING_length(sig)) == 1;
}

static int
check_ess(CMS_SignerInfo *si, X509 *signer, gboolean *present)
{
  ASN1_STRING *v2 = CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_id_smime_aa_signingCertificateV2),
                                                -3, V_ASN1_SEQUENCE);
  ASN1_STRING *v1 = CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_id_smime_aa_signingCertificate),
                                                -3, V_ASN1_SEQUENCE);
  g_autoptr(ESS_SIGNING_CERT_V2) ss2 = NULL;
  g_autoptr(ESS_SIGNING_CERT) ss1 = NULL;
  g_autoptr(TteX509Stack) chain = sk_X509_new_null();
  const unsigned char *p;
  int ok;

  ERR_clear_error();
  *present = v1 != NULL || v2 != NULL;
  if (!*present)
    return 1;
  if (v2 != NULL) {
    g_autoptr(GBytes) first = ess_first_only(v2);
    gsize n = 0;
    if (first == NULL)
      return -1;
    p = g_bytes_get_data(first, &n);
    ss2 = d2i_ESS_SIGNING_CERT_V2(NULL, &p, (long)n);
    if (ss2 == NULL)
      return -1;
  }
  if (v1 != NULL) {
    g_autoptr(GBytes) first = ess_first_only(v1);
    gsize n = 0;
    if (first == NULL)
      return -1;
    p = g_bytes_get_data(first, &n);
    ss1 = d2i_ESS_SIGNING_CERT(NULL, &p, (long)n);
    if (ss1 == NULL)
      return -1;
  }
  if (chain == NULL || !X509_up_ref(signer))
    return -1;
  sk_X509_push(chain, signer);
  ok = OSSL_ESS_check_signing_certs(ss1, ss2, chain, 1);
  ERR_clear_error();
  return ok > 0 ? 1 : 0;
}

VfyCmsResult *
vfy_cms_verify(const guint8 *der, gsize len, VfyCmsMode mode, const VfyRanges *ranges,
               const TteX509Stack *extra_certs, gboolean allow_same_signer_twice)
{
  int nsi;
  VfyCmsResult *r = g_new0(VfyCmsResult, 1);
  g_autoptr(CMS_ContentInfo) cms = NULL;
  g_autoptr(TS_TST_INFO) tst = NULL;
  const unsigned char *p = der;
  STACK_OF(CMS_SignerInfo) *sis;
  STACK_OF(X509_CRL) *crls;
  CMS_SignerInfo *si;
  X509_ALGOR *dig_alg = NULL, *sig_alg = NULL;
  ASN1_OCTET_STRING **pcontent, *econtent = NULL;
  const EVP_MD *md;
  int md_nid, sig_nid;
  guint8 digest[EVP_MAX_MD_SIZE];
  guint digest_len = 0;
  VfyRanges content; /* what messageDigest covers */

  r->crls_der = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
  r->ocsps_der = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
  r->timestamps = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
  r->certs = sk_X509_new_null();
  ERR_clear_error();

  if (len > TTE_LIMIT_CMS_MAX_LEN || len > G_MAXLONG)
    return fail(r, VFY_CMS_FORMAT, "the CMS is larger than TTE_LIMIT_CMS_MAX_LEN");
  cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
  if (cms == NULL)
    return fail(r, VFY_CMS_FORMAT, "/Contents does not hold a DER CMS ContentInfo");
  /* /Contents is zero-padded to its reserved size; anything else after the DER is not. */
  for (const guint8 *q = p; q < der + len; q++)
    if (*q != 0) {
      r->trailing_garbage = TRUE;
      break;
    }
  if (OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed)
    return fail(r, VFY_CMS_FORMAT, "the CMS is not SignedData");

  sis = CMS_get0_SignerInfos(cms);
  nsi = sis != NULL ? sk_CMS_SignerInfo_num(sis) : 0;
  /* PAdES allows exactly one SignerInfo.  podofosign writes the same signer twice into
   * adbe.pkcs7.detached; that is tolerated only when asked, and every copy must verify
   * and name the same certificate. */
  if (nsi < 1 || (nsi > 1 && !allow_same_signer_twice) || nsi > VFY_MAX_SIGNER_INFOS)
    return fail(r, VFY_CMS_FORMAT, "the CMS must hold exactly one SignerInfo (it holds %d)", nsi);
  si = sk_CMS_SignerInfo_value(sis, 0);
  r->signer_infos = nsi;

  {
    STACK_OF(X509) *certs = CMS_get1_certs(cms);
    int n = certs != NULL ? sk_X509_num(certs) : 0;
    if ((guint)n > TTE_LIMIT_CHAIN_MAX_CERTS) {
      sk_X509_pop_free(certs, X509_free);
      return fail(r, VFY_CMS_FORMAT, "the CMS carries more than %u certificates (TTE_LIMIT_CHAIN_MAX_CERTS)",
                  TTE_LIMIT_CHAIN_MAX_CERTS);
    }
    for (int i = 0; i < n; i++) {
      X509 *x = sk_X509_value(certs, i);
      X509_up_ref(x);
      sk_X509_push(r->certs, x);
    }
    sk_X509_pop_free(certs, X509_free);
  }
  crls = CMS_get1_crls(cms);
  for (int i = 0; crls != NULL && i < sk_X509_CRL_num(crls) && r->crls_der->len < TTE_LIMIT_REVOCATION_MAX_ITEMS; i++) {
    unsigned char *buf = NULL;
    int n = i2d_X509_CRL(sk_X509_CRL_value(crls, i), &buf);
    if (n > 0)
      g_ptr_array_add(r->crls_der, g_bytes_new(buf, (gsize)n));
    OPENSSL_free(buf);
  }
  sk_X509_CRL_pop_free(crls, X509_CRL_free);
  ERR_clear_error();

  CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig_alg, &sig_alg);
  md_nid = dig_alg != NULL ? OBJ_obj2nid(dig_alg->algorithm) : NID_undef;
  sig_nid = sig_alg != NULL ? OBJ_obj2nid(sig_alg->algorithm) : NID_undef;
  r->digest_name = g_strdup(md_nid != NID_undef ? OBJ_nid2sn(md_nid) : "unknown");
  r->signature_name = g_strdup(sig_nid != NID_undef ? OBJ_nid2sn(sig_nid) : "unknown");
  if (md_nid == NID_undef || OBJ_find_sigid_algs(md_nid, NULL, NULL))
    return fail(r, VFY_CMS_FORMAT, "digestAlgorithm %s is not a digest algorithm", r->digest_name);
  md = EVP_get_digestbynid(md_nid);
  if (md == NULL)
    return fail(r, VFY_CMS_UNSUPPORTED, "digest algorithm %s is not supported", r->digest_name);

  {
    ASN1_OCTET_STRING *sv = CMS_SignerInfo_get0_signature(si);
    if (sv != NULL)
      r->signature_value = g_bytes_new(ASN1_STRING_get0_data(sv), (gsize)ASN1_STRING_length(sv));
  }
  read_adbe_archive(si, r);
  collect_timestamps(si, r);

  /* Content and its own integrity check, per mode. */
  pcontent = CMS_get0_content(cms);
  if (pcontent != NULL && *pcontent != NULL)
    econtent = *pcontent;
  r->econtent_present = econtent != NULL;
  content = *ranges;
  switch (mode) {
  case VFY_CMS_DETACHED:
    if (econtent != NULL) {
      /* An enveloping CMS is only acceptable when it envelops exactly the signed bytes. */
      gsize el = (gsize)ASN1_STRING_length(econtent);
      const guint8 *ed = ASN1_STRING_get0_data(econtent);
      gboolean same = el == ranges->n1 + ranges->n2 && memcmp(ed, ranges->p1, ranges->n1) == 0 &&
                      memcmp(ed + ranges->n1, ranges->p2, ranges->n2) == 0;
      if (el == ranges->n1 + ranges->n2) {
        vfy_release(ranges->p1, ranges->n1);
        vfy_release(ranges->p2, ranges->n2);
      }
      if (!same)
        return fail(r, VFY_CMS_HASH, "the CMS encapsulates content other than the signed bytes");
    }
    if (OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_pkcs7_data)
      return fail(r, VFY_CMS_FORMAT, "eContentType is not id-data");
    break;
  case VFY_CMS_SHA1: {
    guint8 sha1[EVP_MAX_MD_SIZE];
    guint sl = 0;
    if (econtent == NULL)
      return fail(r, VFY_CMS_FORMAT, "adbe.pkcs7.sha1 without encapsulated digest");
    if (!vfy_digest_ranges(EVP_sha1(), ranges, sha1, &sl))
      return fail(r, VFY_CMS_UNSUPPORTED, "SHA-1 is not available");
    if ((gsize)ASN1_STRING_length(econtent) != sl || memcmp(ASN1_STRING_get0_data(econtent), sha1, sl) != 0)
      return fail(r, VFY_CMS_HASH, "the encapsulated SHA-1 digest does not match the signed bytes");
    content = (VfyRanges){ ASN1_STRING_get0_data(econtent), (gsize)ASN1_STRING_length(econtent), NULL, 0 };
    break;
  }
  case VFY_CMS_TST: {
    const unsigned char *tp;
    TS_MSG_IMPRINT *mi;
    X509_ALGOR *ia;
    ASN1_OCTET_STRING *iv;
    const EVP_MD *imd;
    int inid;
    guint8 h[EVP_MAX_MD_SIZE];
    guint hl = 0;

    if (OBJ_obj2nid(CMS_get0_eContentType(cms)) != NID_id_smime_ct_TSTInfo || econtent == NULL)
      return fail(r, VFY_CMS_FORMAT, "the timestamp token does not encapsulate a TSTInfo");
    tp = ASN1_STRING_get0_data(econtent);
    tst = d2i_TS_TST_INFO(NULL, &tp, ASN1_STRING_length(econtent));
    if (tst == NULL || tp != ASN1_STRING_get0_data(econtent) + ASN1_STRING_length(econtent))
      return fail(r, VFY_CMS_FORMAT, "the TSTInfo cannot be decoded");
    mi = TS_TST_INFO_get_msg_imprint(tst);
    ia = TS_MSG_IMPRINT_get_algo(mi);
    iv = TS_MSG_IMPRINT_get_msg(mi);
    inid = OBJ_obj2nid(ia->algorithm);
    imd = inid != NID_undef && !OBJ_find_sigid_algs(inid, NULL, NULL) ? EVP_get_digestbynid(inid) : NULL;
    if (imd == NULL)
      return fail(r, VFY_CMS_UNSUPPORTED, "messageImprint algorithm is not a supported digest");
    if (!vfy_digest_ranges(imd, ranges, h, &hl))
      return fail(r, VFY_CMS_UNSUPPORTED, "digest failed");
    if ((gsize)ASN1_STRING_length(iv) != hl || memcmp(ASN1_STRING_get0_data(iv), h, hl) != 0)
      return fail(r, VFY_CMS_HASH, "the timestamp's messageImprint does not match the timestamped bytes");
    r->has_gen_time = vfy_asn1_time_to_unix(TS_TST_INFO_get_time(tst), &r->gen_time);
    if (!r->has_gen_time)
      return fail(r, VFY_CMS_FORMAT, "the timestamp's genTime cannot be read");
    content = (VfyRanges){ ASN1_STRING_get0_data(econtent), (gsize)ASN1_STRING_length(econtent), NULL, 0 };
    break;
  }
  }

  if (!vfy_digest_ranges(md, &content, digest, &digest_len))
    return fail(r, VFY_CMS_UNSUPPORTED, "digest %s failed", r->digest_name);

  for (int k = 0; k < nsi; k++) {
    si = sk_CMS_SignerInfo_value(sis, k);
    if (k > 0) {
      X509 *prev = r->signer;
      CMS_SignerInfo_get0_algs(si, NULL, NULL, &dig_alg, &sig_alg);
      if (dig_alg == NULL || OBJ_obj2nid(dig_alg->algorithm) != md_nid) {
        /* Each SignerInfo carries its own digest of the same content. */
        md_nid = dig_alg != NULL ? OBJ_obj2nid(dig_alg->algorithm) : NID_undef;
        if (md_nid == NID_undef || OBJ_find_sigid_algs(md_nid, NULL, NULL) ||
            (md = EVP_get_digestbynid(md_nid)) == NULL)
          return fail(r, VFY_CMS_FORMAT, "a further SignerInfo names no usable digest algorithm");
        if (!vfy_digest_ranges(md, &content, digest, &digest_len))
          return fail(r, VFY_CMS_UNSUPPORTED, "digest failed");
      }
      sig_nid = sig_alg != NULL ? OBJ_obj2nid(sig_alg->algorithm) : NID_undef;
      r->signer = NULL;
      if (!find_signer(si, r->certs, extra_certs, &r->signer) || X509_cmp(prev, r->signer) != 0) {
        X509_free(prev);
        return fail(r, VFY_CMS_FORMAT, "the SignerInfos name different signers");
      }
      X509_free(prev);
    }
    r->has_signed_attrs = CMS_signed_get_attr_count(si) > 0;
    if (r->has_signed_attrs) {
      ASN1_OCTET_STRING *mdv = CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_pkcs9_messageDigest), -3,
                                                           V_ASN1_OCTET_STRING);
      ASN1_OBJECT *ct = CMS_signed_get0_data_by_OBJ(si, OBJ_nid2obj(NID_pkcs9_contentType), -3, V_ASN1_OBJECT);
      if (mdv == NULL)
        return fail(r, VFY_CMS_FORMAT, "signed attributes lack exactly one message-digest");
      if (ct == NULL || OBJ_cmp(ct, CMS_get0_eContentType(cms)) != 0)
        return fail(r, VFY_CMS_FORMAT, "the content-type attribute is missing or differs from eContentType");
      if ((gsize)ASN1_STRING_length(mdv) != digest_len ||
          memcmp(ASN1_STRING_get0_data(mdv), digest, digest_len) != 0)
        return fail(r, VFY_CMS_HASH, "message-digest does not match the signed bytes");
    }
  
    if (k == 0 && !find_signer(si, r->certs, extra_certs, &r->signer))
      return fail(r, VFY_CMS_NO_SIGNER, "the signer certificate is not in the CMS or the DSS");
    {
      EVP_PKEY *pkey = X509_get0_pubkey(r->signer);
      if (pkey == NULL)
        return fail(r, VFY_CMS_SIG, "the signer certificate's public key cannot be read");
      int plain_md = plain_ecdsa_md(sig_alg != NULL ? sig_alg->algorithm : NULL);
      int base = EVP_PKEY_get_base_id(pkey);
      gboolean eddsa = base == EVP_PKEY_ED25519 || base == EVP_PKEY_ED448;
      if (plain_md != NID_undef) {
        if (plain_md != md_nid || base != EVP_PKEY_EC)
          return fail(r, VFY_CMS_SIG, "plain ECDSA signature algorithm does not fit digest %s and the key",
                      r->digest_name);
      } else if (eddsa && md_nid != (base == EVP_PKEY_ED25519 ? NID_sha512 : NID_shake256)) {
        /* RFC 8419 3.1: with signed attributes Ed25519 pairs with SHA-512, Ed448 with SHAKE256. */
        return fail(r, VFY_CMS_UNSUPPORTED, "%s must not be used with digest %s", r->signature_name,
                    r->digest_name);
      } else if (sig_nid == NID_undef) {
        return fail(r, VFY_CMS_UNSUPPORTED, "the signature algorithm is not known");
      } else if (!sigalg_consistent(sig_nid, md_nid, pkey))
        return fail(r, VFY_CMS_SIG, "signatureAlgorithm %s does not fit digest %s and the signer's key",
                    r->signature_name, r->digest_name);
      if (r->has_signed_attrs) {
        gboolean ess_present = FALSE;
        int ess;
        if (!signed_attrs_in_der_order(der, len, k))
          return fail(r, VFY_CMS_SIG, "the signed attributes are not in DER order; the signature "
                                      "does not verify over their DER encoding");
        CMS_SignerInfo_set1_signer_cert(si, r->signer);
        /* OpenSSL DER-encodes the attributes again before checking: signed attributes that
         * were not in DER (sorted SET OF) order do not verify, as DSS also rules. */
        if (plain_md != NID_undef || eddsa) {
          g_autoptr(GBytes) tbs = signed_attrs_tbs(der, len, k);
          if (tbs == NULL)
            return fail(r, VFY_CMS_UNSUPPORTED, "the signed attributes cannot be located (BER encoding)");
          if (!verify_raw(pkey, md, plain_md != NID_undef, tbs, CMS_SignerInfo_get0_signature(si)))
            return fail(r, VFY_CMS_SIG, "the signature value does not verify over the signed attributes");
        } else if (CMS_SignerInfo_verify(si) != 1) {
          return fail(r, VFY_CMS_SIG, "the signature value does not verify over the signed attributes");
        }
        ess = check_ess(si, r->signer, &ess_present);
        r->ess_present = ess_present;
        if (ess < 0)
          return fail(r, VFY_CMS_FORMAT, "the signing-certificate attribute cannot be decoded");
        if (ess == 0)
          return fail(r, VFY_CMS_SIGNER_MISMATCH,
                      "the signing-certificate attribute names another certificate");
      } else {
        if (sig_nid == NID_rsassaPss || EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA_PSS ||
            EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519 || EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED448)
          return fail(r, VFY_CMS_UNSUPPORTED, "a signature without signed attributes using %s is not supported",
                      r->signature_name);
        if (!verify_without_attrs(pkey, md, &content, CMS_SignerInfo_get0_signature(si)))
          return fail(r, VFY_CMS_SIG, "the signature value does not verify over the signed bytes");
      }
    }
  }
  ERR_clear_error();
  r->status = VFY_CMS_OK;
  return r;
}
