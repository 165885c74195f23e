/* vfy-trust.c — paths to the configured anchors, and revocation.
 *
 * Chain policy (docs/verify-report.md, "Trust"): only the --trust anchors (and the
 * system store when asked), X509_V_FLAG_X509_STRICT, depth TTE_LIMIT_CHAIN_MAX_DEPTH,
 * validity at the best-known signing time, no verify callback — no X509 error is
 * overridden.  Revocation is checked by hand against every certificate but the anchor
 * so that "unknown" stays distinct from "good".
 */
#include "vfy-trust.h"

#include "tte-error.h"
#include "vfy-cms.h"
#include "vfy-limits.h"

#ifdef VFY_HAVE_ONLINE
#include <curl/curl.h>
#endif
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <string.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC(OCSP_RESPONSE, OCSP_RESPONSE_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(OCSP_BASICRESP, OCSP_BASICRESP_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(OCSP_CERTID, OCSP_CERTID_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(OCSP_REQUEST, OCSP_REQUEST_free)

/* Clock skew tolerated between a revocation source's times and ours. */
#define VFY_REVOCATION_SKEW_S (5 * 60)

struct VfyTrust {
  X509_STORE *store;
  TteX509Stack *intermediates;
  GPtrArray *crls; /* GBytes* DER, from --crl files */
  gboolean online;
  gint64 now;
};

void
vfy_trust_free(VfyTrust *t)
{
  if (t == NULL)
    return;
  X509_STORE_free(t->store);
  if (t->intermediates != NULL)
    tte_x509_stack_free(t->intermediates);
  g_clear_pointer(&t->crls, g_ptr_array_unref);
  g_free(t);
}

static gboolean
load_crl_file(VfyTrust *t, const char *path, GError **error)
{
  g_autoptr(GError) local = NULL;
  g_autoptr(GMappedFile) mf = g_mapped_file_new(path, FALSE, &local);
  g_autoptr(BIO) bio = NULL;
  X509_CRL *crl;
  unsigned char *der = NULL;
  int n;
  gsize len;

  if (mf == NULL) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_IO, "cannot read CRL file: %s", local->message);
    return FALSE;
  }
  len = g_mapped_file_get_length(mf);
  if (len > TTE_LIMIT_CRL_MAX) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT, "%s is larger than TTE_LIMIT_CRL_MAX", path);
    return FALSE;
  }
  bio = BIO_new_mem_buf(g_mapped_file_get_contents(mf), (int)len);
  crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
  if (crl == NULL) {
    const unsigned char *p = (const unsigned char *)g_mapped_file_get_contents(mf);
    ERR_clear_error();
    crl = d2i_X509_CRL(NULL, &p, (long)len);
  }
  if (crl == NULL) {
    tte_set_error_openssl(error, TTE_ERROR_INVALID_ARGUMENT, "%s holds no CRL", path);
    return FALSE;
  }
  n = i2d_X509_CRL(crl, &der);
  X509_CRL_free(crl);
  if (n <= 0) {
    tte_set_error_openssl(error, TTE_ERROR_CRYPTO, "cannot encode the CRL from %s", path);
    return FALSE;
  }
  g_ptr_array_add(t->crls, g_bytes_new(der, (gsize)n));
  OPENSSL_free(der);
  return TRUE;
}

VfyTrust *
vfy_trust_new(const VfyOptions *opts, GError **error)
{
  g_autoptr(VfyTrust) t = g_new0(VfyTrust, 1);
  X509_VERIFY_PARAM *vp;

  t->store = X509_STORE_new();
  t->intermediates = sk_X509_new_null();
  t->crls = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
  t->online = opts != NULL && opts->online;
  t->now = opts != NULL && opts->now != 0 ? opts->now : g_get_real_time() / G_USEC_PER_SEC;
  if (t->store == NULL || t->intermediates == NULL) {
    tte_set_error_openssl(error, TTE_ERROR_CRYPTO, "out of memory");
    return NULL;
  }
  vp = X509_STORE_get0_param(t->store);
  X509_VERIFY_PARAM_set_flags(vp, X509_V_FLAG_X509_STRICT);
  X509_VERIFY_PARAM_set_depth(vp, TTE_LIMIT_CHAIN_MAX_DEPTH);

  for (guint i = 0; opts != NULL && opts->trust_files != NULL && opts->trust_files[i] != NULL; i++) {
    g_autoptr(TteX509Stack) sk = tte_x509_load_file(opts->trust_files[i], error);
    if (sk == NULL)
      return NULL;
    for (int j = 0; j < sk_X509_num(sk); j++) {
      if (X509_STORE_add_cert(t->store, sk_X509_value(sk, j)) != 1) {
        tte_set_error_openssl(error, TTE_ERROR_INVALID_ARGUMENT, "cannot add an anchor from %s",
                              opts->trust_files[i]);
        return NULL;
      }
    }
  }
  for (guint i = 0; opts != NULL && opts->intermediate_files != NULL && opts->intermediate_files[i] != NULL;
       i++) {
    g_autoptr(TteX509Stack) sk = tte_x509_load_file(opts->intermediate_files[i], error);
    if (sk == NULL)
      return NULL;
    while (sk_X509_num(sk) > 0) {
      if ((guint)sk_X509_num(t->intermediates) >= TTE_LIMIT_CHAIN_MAX_CERTS * 4) {
        g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT, "too many intermediate certificates");
        return NULL;
      }
      sk_X509_push(t->intermediates, sk_X509_shift(sk));
    }
  }
  for (guint i = 0; opts != NULL && opts->crl_files != NULL && opts->crl_files[i] != NULL; i++) {
    if (t->crls->len >= TTE_LIMIT_REVOCATION_MAX_ITEMS) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT, "more than %u CRL files (TTE_LIMIT_REVOCATION_MAX_ITEMS)",
                  TTE_LIMIT_REVOCATION_MAX_ITEMS);
      return NULL;
    }
    if (!load_crl_file(t, opts->crl_files[i], error))
      return NULL;
  }
  if (opts != NULL && opts->system_trust && X509_STORE_set_default_paths(t->store) != 1) {
    tte_set_error_openssl(error, TTE_ERROR_CRYPTO, "cannot load the system trust store");
    return NULL;
  }
  return g_steal_pointer(&t);
}

void
vfy_path_clear(VfyPath *p)
{
  if (p->chain != NULL)
    tte_x509_stack_free(p->chain);
  p->chain = NULL;
  g_clear_pointer(&p->message, g_free);
}

static void
push_all(TteX509Stack *into, const TteX509Stack *from)
{
  for (int i = 0; from != NULL && i < sk_X509_num(from); i++) {
    X509 *x = sk_X509_value(from, i);
    if (X509_up_ref(x))
      sk_X509_push(into, x);
  }
}

void
vfy_trust_path(VfyTrust *t, X509 *leaf, const TteX509Stack *untrusted, gint64 at, VfyPurpose purpose,
               VfyPath *out)
{
  g_autoptr(X509_STORE_CTX) ctx = X509_STORE_CTX_new();
  g_autoptr(TteX509Stack) pool = sk_X509_new_null();
  X509_VERIFY_PARAM *vp;
  int rc;

  memset(out, 0, sizeof *out);
  out->x509_error = X509_V_ERR_UNSPECIFIED;
  if (ctx == NULL || pool == NULL) {
    out->message = g_strdup("out of memory");
    return;
  }
  push_all(pool, untrusted);
  push_all(pool, t->intermediates);
  if (X509_STORE_CTX_init(ctx, t->store, leaf, pool) != 1) {
    out->message = g_strdup("cannot start path building");
    ERR_clear_error();
    return;
  }
  vp = X509_STORE_CTX_get0_param(ctx);
  X509_VERIFY_PARAM_set_time(vp, (time_t)at);
  rc = X509_verify_cert(ctx);
  out->x509_error = X509_STORE_CTX_get_error(ctx);
  out->error_depth = X509_STORE_CTX_get_error_depth(ctx);
  out->chain = X509_STORE_CTX_get1_chain(ctx);
  ERR_clear_error();
  if (rc != 1) {
    out->message = g_strdup_printf("certificate path: %s (at depth %d)",
                                   X509_verify_cert_error_string(out->x509_error), out->error_depth);
    return;
  }
  out->trusted = TRUE;
  if (purpose == VFY_PURPOSE_SIGNING) {
    /* Strict: the extension must be present and allow signing documents. */
    guint32 ku = X509_get_key_usage(leaf);
    out->key_usage_ok = (X509_get_extension_flags(leaf) & EXFLAG_KUSAGE) != 0 &&
                        (ku & (KU_DIGITAL_SIGNATURE | KU_NON_REPUDIATION)) != 0;
    if (!out->key_usage_ok)
      out->message = g_strdup("the signer certificate's keyUsage allows neither digitalSignature nor "
                              "nonRepudiation");
  } else {
    /* RFC 3161 2.3: the TSA certificate has exactly the timeStamping purpose. */
    out->key_usage_ok = (X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE) != 0 &&
                        X509_get_extended_key_usage(leaf) == XKU_TIMESTAMP;
    if (!out->key_usage_ok)
      out->message = g_strdup("the TSA certificate's extendedKeyUsage is not timeStamping alone");
  }
}

/* --- revocation ---------------------------------------------------------------------- */

void
vfy_revocation_clear(VfyRevocation *r)
{
  g_clear_pointer(&r->message, g_free);
}

typedef struct {
  VfyRevocationStatus status;
  const char *source;
  gint64 revoked_at;
} CertStatus;

/* Fold one finding into the certificate's status: revoked beats good beats unknown;
 * the earliest revocation wins. */
static void
merge(CertStatus *cs, VfyRevocationStatus st, const char *source, gint64 when)
{
  if (st == VFY_REVOCATION_REVOKED) {
    if (cs->status != VFY_REVOCATION_REVOKED || when < cs->revoked_at)
      cs->revoked_at = when;
    cs->status = VFY_REVOCATION_REVOKED;
    cs->source = source;
  } else if (st == VFY_REVOCATION_GOOD && cs->status != VFY_REVOCATION_REVOKED) {
    cs->status = VFY_REVOCATION_GOOD;
    cs->source = source;
  }
}

/* A "good" answer is usable when its validity window is not wholly before the signing
 * time and it was not issued in the future. */
static gboolean
window_ok(VfyTrust *t, const ASN1_TIME *this_upd, const ASN1_TIME *next_upd, gint64 sig_time)
{
  gint64 tu = 0, nu = 0;
  if (!vfy_asn1_time_to_unix(this_upd, &tu) || tu > t->now + VFY_REVOCATION_SKEW_S)
    return FALSE;
  if (next_upd != NULL && vfy_asn1_time_to_unix(next_upd, &nu) && nu + VFY_REVOCATION_SKEW_S < sig_time)
    return FALSE;
  return TRUE;
}

static void
check_crl(VfyTrust *t, GBytes *der, X509 *cert, X509 *issuer, gint64 sig_time, CertStatus *cs)
{
  gsize len;
  const unsigned char *p = g_bytes_get_data(der, &len);
  g_autoptr(X509_CRL) crl = NULL;
  X509_REVOKED *rev = NULL;
  EVP_PKEY *ipk = X509_get0_pubkey(issuer);

  if (len > TTE_LIMIT_CRL_MAX || len > G_MAXLONG)
    return;
  crl = d2i_X509_CRL(NULL, &p, (long)len);
  if (crl == NULL && len > 10 && memcmp(g_bytes_get_data(der, NULL), "-----BEGIN", 10) == 0) {
    /* CDPs serve DER by RFC 5280, but PEM is common enough on small CAs' web servers. */
    g_autoptr(BIO) bio = BIO_new_mem_buf(g_bytes_get_data(der, NULL), (int)len);
    ERR_clear_error();
    crl = bio != NULL ? PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL) : NULL;
  }
  if (crl == NULL || ipk == NULL)
    goto out;
  if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_issuer_name(cert)) != 0)
    goto out;
  if (X509_CRL_verify(crl, ipk) != 1)
    goto out;
  if (X509_CRL_get0_by_cert(crl, &rev, cert) == 1 && rev != NULL) {
    gint64 when = 0;
    if (!vfy_asn1_time_to_unix(X509_REVOKED_get0_revocationDate(rev), &when))
      goto out;
    merge(cs, VFY_REVOCATION_REVOKED, "crl", when);
  } else if (window_ok(t, X509_CRL_get0_lastUpdate(crl), X509_CRL_get0_nextUpdate(crl), sig_time)) {
    merge(cs, VFY_REVOCATION_GOOD, "crl", 0);
  }
out:
  ERR_clear_error();
}

static void
check_ocsp(VfyTrust *t, GBytes *der, X509 *cert, X509 *issuer, const TteX509Stack *chain, gint64 sig_time,
           CertStatus *cs)
{
  gsize len;
  const unsigned char *p = g_bytes_get_data(der, &len);
  g_autoptr(OCSP_RESPONSE) resp = NULL;
  g_autoptr(OCSP_BASICRESP) bs = NULL;
  X509_VERIFY_PARAM *vp = X509_STORE_get0_param(t->store);
  gint64 produced = 0;
  int n, ok;

  if (len > TTE_LIMIT_OCSP_RESPONSE_MAX)
    return;
  resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
  if (resp == NULL || OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL)
    goto out;
  bs = OCSP_response_get1_basic(resp);
  if (bs == NULL || !vfy_asn1_time_to_unix(OCSP_resp_get0_produced_at(bs), &produced))
    goto out;
  /* The responder's certificate is judged when it answered. */
  X509_VERIFY_PARAM_set_time(vp, (time_t)produced);
  ok = OCSP_basic_verify(bs, (STACK_OF(X509) *)chain, t->store, 0);
  X509_VERIFY_PARAM_clear_flags(vp, X509_V_FLAG_USE_CHECK_TIME);
  if (ok != 1)
    goto out;
  n = OCSP_resp_count(bs);
  for (int i = 0; i < n && i < 1000; i++) {
    OCSP_SINGLERESP *single = OCSP_resp_get0(bs, i);
    const OCSP_CERTID *cid = OCSP_SINGLERESP_get0_id(single);
    ASN1_OBJECT *alg = NULL;
    const EVP_MD *md;
    g_autoptr(OCSP_CERTID) mine = NULL;
    int reason = 0, st;
    ASN1_GENERALIZEDTIME *revt = NULL, *thisu = NULL, *nextu = NULL;

    if (OCSP_id_get0_info(NULL, &alg, NULL, NULL, (OCSP_CERTID *)cid) != 1 || alg == NULL)
      continue;
    md = EVP_get_digestbyobj(alg);
    if (md == NULL)
      continue;
    mine = OCSP_cert_to_id(md, cert, issuer);
    if (mine == NULL || OCSP_id_cmp(mine, cid) != 0)
      continue;
    st = OCSP_single_get0_status(single, &reason, &revt, &thisu, &nextu);
    if (st == V_OCSP_CERTSTATUS_REVOKED) {
      gint64 when = 0;
      if (vfy_asn1_time_to_unix(revt, &when))
        merge(cs, VFY_REVOCATION_REVOKED, "ocsp", when);
    } else if (st == V_OCSP_CERTSTATUS_GOOD && window_ok(t, thisu, nextu, sig_time)) {
      merge(cs, VFY_REVOCATION_GOOD, "ocsp", 0);
    }
  }
out:
  ERR_clear_error();
}

static GPtrArray *
ocsp_urls(X509 *cert)
{
  GPtrArray *urls = g_ptr_array_new_with_free_func(g_free);
  STACK_OF(OPENSSL_STRING) *sk = X509_get1_ocsp(cert);
  for (int i = 0; sk != NULL && i < sk_OPENSSL_STRING_num(sk) && urls->len < TTE_LIMIT_FETCH_MAX_URLS; i++)
    g_ptr_array_add(urls, g_strdup(sk_OPENSSL_STRING_value(sk, i)));
  X509_email_free(sk);
  return urls;
}

static GPtrArray *
crl_urls(X509 *cert)
{
  GPtrArray *urls = g_ptr_array_new_with_free_func(g_free);
  STACK_OF(DIST_POINT) *dps = X509_get_ext_d2i(cert, NID_crl_distribution_points, NULL, NULL);
  for (int i = 0; dps != NULL && i < sk_DIST_POINT_num(dps); i++) {
    DIST_POINT *dp = sk_DIST_POINT_value(dps, i);
    if (dp->distpoint == NULL || dp->distpoint->type != 0)
      continue;
    for (int j = 0; j < sk_GENERAL_NAME_num(dp->distpoint->name.fullname); j++) {
      GENERAL_NAME *gn = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, j);
      if (gn->type == GEN_URI && urls->len < TTE_LIMIT_FETCH_MAX_URLS)
        g_ptr_array_add(urls, g_strndup((const char *)ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier),
                                        (gsize)ASN1_STRING_length(gn->d.uniformResourceIdentifier)));
    }
  }
  sk_DIST_POINT_pop_free(dps, DIST_POINT_free);
  ERR_clear_error();
  return urls;
}

static void
fetch_ocsp(VfyTrust *t, X509 *cert, X509 *issuer, const TteX509Stack *chain, gint64 sig_time, CertStatus *cs)
{
  g_autoptr(GPtrArray) urls = ocsp_urls(cert);
  for (guint i = 0; i < urls->len && cs->status == VFY_REVOCATION_UNKNOWN; i++) {
    g_autoptr(OCSP_REQUEST) req = OCSP_REQUEST_new();
    OCSP_CERTID *id = OCSP_cert_to_id(EVP_sha1(), cert, issuer);
    unsigned char *der = NULL;
    int n;
    g_autoptr(GBytes) resp = NULL;

    if (req == NULL || id == NULL || OCSP_request_add0_id(req, id) == NULL) {
      OCSP_CERTID_free(id);
      break;
    }
    n = i2d_OCSP_REQUEST(req, &der);
    if (n > 0)
      resp = vfy_fetch(g_ptr_array_index(urls, i), der, (gsize)n, "application/ocsp-request",
                       TTE_LIMIT_OCSP_RESPONSE_MAX, NULL);
    OPENSSL_free(der);
    if (resp != NULL)
      check_ocsp(t, resp, cert, issuer, chain, sig_time, cs);
  }
  ERR_clear_error();
}

static void
fetch_crl(VfyTrust *t, X509 *cert, X509 *issuer, gint64 sig_time, CertStatus *cs)
{
  g_autoptr(GPtrArray) urls = crl_urls(cert);
  for (guint i = 0; i < urls->len && cs->status == VFY_REVOCATION_UNKNOWN; i++) {
    g_autoptr(GBytes) body = vfy_fetch(g_ptr_array_index(urls, i), NULL, 0, NULL, TTE_LIMIT_CRL_MAX, NULL);
    if (body != NULL)
      check_crl(t, body, cert, issuer, sig_time, cs);
  }
}

void
vfy_trust_revocation(VfyTrust *t, const TteX509Stack *chain, gint64 sig_time, const GPtrArray *crls_der,
                     const GPtrArray *ocsps_der, VfyRevocation *out)
{
  int n = chain != NULL ? sk_X509_num(chain) : 0;
  const GPtrArray *crl_sets[2] = { crls_der, t->crls };

  memset(out, 0, sizeof *out);
  out->status = n > 0 ? VFY_REVOCATION_GOOD : VFY_REVOCATION_UNKNOWN;
  /* The anchor (last) is trusted by configuration, not by revocation data. */
  for (int i = 0; i + 1 < n; i++) {
    X509 *cert = sk_X509_value(chain, i), *issuer = sk_X509_value(chain, i + 1);
    CertStatus cs = { VFY_REVOCATION_UNKNOWN, NULL, 0 };

    for (guint k = 0; ocsps_der != NULL && k < ocsps_der->len; k++)
      check_ocsp(t, g_ptr_array_index(ocsps_der, k), cert, issuer, chain, sig_time, &cs);
    for (int s = 0; s < 2; s++)
      for (guint k = 0; crl_sets[s] != NULL && k < crl_sets[s]->len; k++)
        check_crl(t, g_ptr_array_index(crl_sets[s], k), cert, issuer, sig_time, &cs);
    if (cs.status == VFY_REVOCATION_UNKNOWN && t->online) {
      fetch_ocsp(t, cert, issuer, chain, sig_time, &cs);
      if (cs.status == VFY_REVOCATION_UNKNOWN)
        fetch_crl(t, cert, issuer, sig_time, &cs);
    }
    if (cs.status == VFY_REVOCATION_REVOKED) {
      g_autofree char *subj = tte_x509_name_string(X509_get_subject_name(cert));
      g_autofree char *when = vfy_iso_time(cs.revoked_at);
      out->status = VFY_REVOCATION_REVOKED;
      out->source = cs.source;
      out->revoked_at = cs.revoked_at;
      out->depth = i;
      g_free(out->message);
      out->message = g_strdup_printf("%s was revoked at %s (%s)", subj, when != NULL ? when : "?", cs.source);
      return; /* the first revoked certificate from the leaf up decides */
    }
    if (cs.status == VFY_REVOCATION_UNKNOWN && out->status == VFY_REVOCATION_GOOD) {
      g_autofree char *subj = tte_x509_name_string(X509_get_subject_name(cert));
      out->status = VFY_REVOCATION_UNKNOWN;
      out->depth = i;
      out->message = g_strdup_printf("no usable OCSP response or CRL for %s", subj);
    }
    if (cs.status == VFY_REVOCATION_GOOD && out->status == VFY_REVOCATION_GOOD && i == 0)
      out->source = cs.source;
  }
}

/* --- fetching -------------------------------------------------------------------------- */

#ifdef VFY_HAVE_ONLINE
typedef struct {
  GByteArray *buf;
  gsize cap;
  gboolean over;
} Sink;

static size_t
sink_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
  Sink *s = userdata;
  gsize n = size * nmemb;
  if (s->buf->len + n > s->cap) {
    s->over = TRUE;
    return 0; /* makes curl stop with CURLE_WRITE_ERROR */
  }
  g_byte_array_append(s->buf, (const guint8 *)ptr, (guint)n);
  return n;
}

static gpointer
curl_init_once(gpointer data)
{
  return GINT_TO_POINTER(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK);
}

GBytes *
vfy_fetch(const char *url, const void *body, gsize body_len, const char *content_type, gsize cap,
          GError **error)
{
  static GOnce once = G_ONCE_INIT;
  g_autoptr(GByteArray) buf = g_byte_array_new();
  Sink sink = { buf, cap, FALSE };
  struct curl_slist *hdrs = NULL;
  CURL *c;
  CURLcode rc;
  long status = 0;

  if (!g_str_has_prefix(url, "http://") && !g_str_has_prefix(url, "https://")) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_NOT_SUPPORTED, "only http and https URLs are fetched");
    return NULL;
  }
  if (!GPOINTER_TO_INT(g_once(&once, curl_init_once, NULL)) || (c = curl_easy_init()) == NULL) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_IO, "libcurl cannot start");
    return NULL;
  }
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)TTE_LIMIT_FETCH_TIMEOUT_S);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)TTE_LIMIT_FETCH_TIMEOUT_S);
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)cap);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  if (body != NULL) {
    g_autofree char *ct = g_strdup_printf("Content-Type: %s", content_type);
    hdrs = curl_slist_append(hdrs, ct);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
  }
  rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(c);
  curl_slist_free_all(hdrs);
  if (sink.over || rc == CURLE_FILESIZE_EXCEEDED) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT, "%s sent more than %" G_GSIZE_FORMAT " bytes", url, cap);
    return NULL;
  }
  if (rc != CURLE_OK || status != 200) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_IO, "fetching %s failed: %s (HTTP %ld)", url,
                curl_easy_strerror(rc), status);
    return NULL;
  }
  return g_byte_array_free_to_bytes(g_steal_pointer(&buf));
}
#else
/* The lean `tte` has no HTTP client; `tte verify --online` runs the full program. */
GBytes *
vfy_fetch(const char *url, const void *body, gsize body_len, const char *content_type, gsize cap,
          GError **error)
{
  (void)body;
  (void)body_len;
  (void)content_type;
  (void)cap;
  g_set_error(error, TTE_ERROR, TTE_ERROR_NOT_BUILT_IN, "cannot fetch %s: this program has no HTTP client", url);
  return NULL;
}
#endif
