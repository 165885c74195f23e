/* vfy-verify.c — one report per file: every signature and document timestamp is taken
 * through coverage, integrity, time, trust, revocation and changes after signing, and
 * the worst finding decides its indication (docs/verify-report.md lists the mapping). */
#include "vfy.h"

#include "tte-error.h"
#include "vfy-cms.h"
#include "vfy-limits.h"
#include "vfy-pdf.h"
#include "vfy-trust.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <string.h>

typedef struct {
  const guint8 *data;
  gsize len;
  const VfyOptions *opts;
  VfyPdfInfo *pdf;
  VfyTrust *trust;
  TteX509Stack *dss_certs;
  int certify_p; /* DocMDP P of the certification signature, 0 when none */
  guint visual_runs; /* page comparisons done so far (TTE_LIMIT_VISUAL_DIFF_SIGNATURES) */
  gboolean visual_needed; /* lean build: a page comparison is due but not built in */
  gint64 now;
} Ctx;

/* --- findings ----------------------------------------------------------------------- */

static void
add_reason(VfySignature *s, const char *id, const char *en, const char *detail)
{
  if (detail != NULL) {
    g_ptr_array_add(s->reasons_id, g_strdup_printf("%s (%s)", id, detail));
    g_ptr_array_add(s->reasons_en, g_strdup_printf("%s (%s)", en, detail));
  } else {
    g_ptr_array_add(s->reasons_id, g_strdup(id));
    g_ptr_array_add(s->reasons_en, g_strdup(en));
  }
}

/* Record a finding; the first finding at the worst level names the sub-indication. */
static void
finding(VfySignature *s, VfyIndication ind, const char *sub, const char *id, const char *en,
        const char *detail)
{
  add_reason(s, id, en, detail);
  if (ind > s->indication || (ind == s->indication && ind != VFY_TOTAL_PASSED && s->subindication == NULL)) {
    s->indication = ind;
    g_free(s->subindication);
    s->subindication = g_strdup(sub);
  }
}

static VfySignature *
signature_new(void)
{
  VfySignature *s = g_new0(VfySignature, 1);
  s->reasons_id = g_ptr_array_new_with_free_func(g_free);
  s->reasons_en = g_ptr_array_new_with_free_func(g_free);
  s->modifications = g_ptr_array_new_with_free_func((GDestroyNotify)vfy_change_free);
  return s;
}

static void
signature_free(VfySignature *s)
{
  if (s == NULL)
    return;
  g_free(s->field);
  g_free(s->kind);
  g_free(s->subfilter);
  g_free(s->level);
  g_free(s->signer_subject);
  g_free(s->signer_issuer);
  g_free(s->signer_serial);
  g_free(s->signing_time);
  g_free(s->time_source);
  g_free(s->claimed_time);
  g_free(s->coverage);
  g_free(s->digest_algorithm);
  g_free(s->signature_algorithm);
  g_free(s->revocation_source);
  g_free(s->revocation_time);
  g_free(s->timestamp_time);
  g_free(s->timestamp_tsa);
  g_clear_pointer(&s->modifications, g_ptr_array_unref);
  g_clear_pointer(&s->visual_pages, g_array_unref);
  g_free(s->subindication);
  g_clear_pointer(&s->reasons_id, g_ptr_array_unref);
  g_clear_pointer(&s->reasons_en, g_ptr_array_unref);
  g_free(s);
}

void
vfy_report_free(VfyReport *r)
{
  if (r == NULL)
    return;
  g_free(r->file);
  g_clear_pointer(&r->warnings_en, g_ptr_array_unref);
  g_clear_pointer(&r->warnings_id, g_ptr_array_unref);
  g_clear_pointer(&r->structure_errors_en, g_ptr_array_unref);
  g_clear_pointer(&r->structure_errors_id, g_ptr_array_unref);
  g_clear_pointer(&r->signatures, g_ptr_array_unref);
  g_free(r);
}

/* --- pieces ------------------------------------------------------------------------- */

static TteX509Stack *
merge_certs(const TteX509Stack *a, const TteX509Stack *b)
{
  TteX509Stack *all = sk_X509_new_null();
  const TteX509Stack *src[2] = { a, b };
  for (int s = 0; s < 2; s++)
    for (int i = 0; src[s] != NULL && i < sk_X509_num(src[s]); i++) {
      X509 *x = sk_X509_value(src[s], i);
      if (X509_up_ref(x))
        sk_X509_push(all, x);
    }
  return all;
}

static GPtrArray *
merge_bytes(const GPtrArray *a, const GPtrArray *b)
{
  GPtrArray *all = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
  const GPtrArray *src[2] = { a, b };
  for (int s = 0; s < 2; s++)
    for (guint i = 0; src[s] != NULL && i < src[s]->len; i++)
      g_ptr_array_add(all, g_bytes_ref(g_ptr_array_index(src[s], i)));
  return all;
}

static void
map_cms_failure(VfySignature *s, const VfyCmsResult *r, gboolean timestamp)
{
  const char *what_id = timestamp ? "Cap waktu dokumen" : "Tanda tangan";
  const char *what_en = timestamp ? "Document timestamp" : "Signature";
  g_autofree char *id = NULL, *en = NULL;

  switch (r->status) {
  case VFY_CMS_OK:
    return;
  case VFY_CMS_FORMAT:
    id = g_strdup_printf("%s: struktur CMS tidak sah", what_id);
    en = g_strdup_printf("%s: the CMS structure is not valid", what_en);
    finding(s, VFY_TOTAL_FAILED, "FORMAT_FAILURE", id, en, r->message);
    break;
  case VFY_CMS_HASH:
    id = g_strdup_printf("%s: dokumen telah diubah — nilai hash tidak cocok", what_id);
    en = g_strdup_printf("%s: the document was altered — the digest does not match", what_en);
    finding(s, VFY_TOTAL_FAILED, "HASH_FAILURE", id, en, r->message);
    break;
  case VFY_CMS_SIG:
    id = g_strdup_printf("%s: nilai tanda tangan kriptografis tidak sah", what_id);
    en = g_strdup_printf("%s: the cryptographic signature value is not valid", what_en);
    finding(s, VFY_TOTAL_FAILED, "SIG_CRYPTO_FAILURE", id, en, r->message);
    break;
  case VFY_CMS_NO_SIGNER:
  case VFY_CMS_SIGNER_MISMATCH:
    id = g_strdup_printf("%s: sertifikat penanda tangan tidak ditemukan atau tidak cocok", what_id);
    en = g_strdup_printf("%s: the signer certificate is missing or does not match", what_en);
    finding(s, VFY_INDETERMINATE, "NO_SIGNING_CERTIFICATE_FOUND", id, en, r->message);
    break;
  case VFY_CMS_UNSUPPORTED:
    id = g_strdup_printf("%s: algoritma tidak didukung", what_id);
    en = g_strdup_printf("%s: the algorithm is not supported", what_en);
    finding(s, VFY_INDETERMINATE, "CRYPTO_CONSTRAINTS_FAILURE", id, en, r->message);
    break;
  }
}

static void
map_path_failure(VfySignature *s, const VfyPath *p, gboolean time_proven)
{
  const char *detail = p->message;
  switch (p->x509_error) {
  case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
  case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
  case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
  case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
  case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
  case X509_V_ERR_CERT_UNTRUSTED:
    finding(s, VFY_INDETERMINATE, "NO_CERTIFICATE_CHAIN_FOUND",
            "Sertifikat tidak berujung pada otoritas akar yang dipercaya",
            "The certificate does not chain to a trusted root", detail);
    break;
  case X509_V_ERR_CERT_HAS_EXPIRED:
    if (p->error_depth == 0 && time_proven)
      finding(s, VFY_TOTAL_FAILED, "EXPIRED",
              "Sertifikat penanda tangan sudah kedaluwarsa saat penandatanganan (terbukti oleh cap waktu)",
              "The signer certificate had expired when the signature was made (proven by a timestamp)", detail);
    else
      finding(s, VFY_INDETERMINATE, "OUT_OF_BOUNDS_NO_POE",
              "Sertifikat tidak berlaku pada waktu penandatanganan (tanpa bukti waktu yang cukup)",
              "A certificate was not valid at the signing time (no sufficient proof of time)", detail);
    break;
  case X509_V_ERR_CERT_NOT_YET_VALID:
    if (p->error_depth == 0 && time_proven)
      finding(s, VFY_TOTAL_FAILED, "NOT_YET_VALID",
              "Sertifikat penanda tangan belum berlaku saat penandatanganan",
              "The signer certificate was not yet valid when the signature was made", detail);
    else
      finding(s, VFY_INDETERMINATE, "OUT_OF_BOUNDS_NO_POE",
              "Sertifikat tidak berlaku pada waktu penandatanganan (tanpa bukti waktu yang cukup)",
              "A certificate was not valid at the signing time (no sufficient proof of time)", detail);
    break;
  case X509_V_ERR_CERT_CHAIN_TOO_LONG:
  case X509_V_ERR_PATH_LENGTH_EXCEEDED:
  case X509_V_ERR_INVALID_CA:
  case X509_V_ERR_INVALID_PURPOSE:
    finding(s, VFY_INDETERMINATE, "CHAIN_CONSTRAINTS_FAILURE", "Rantai sertifikat melanggar batasan",
            "The certificate chain breaks a constraint", detail);
    break;
  default:
    finding(s, VFY_INDETERMINATE, "CERTIFICATE_CHAIN_GENERAL_FAILURE", "Rantai sertifikat tidak sah",
            "The certificate chain is not valid", detail);
    break;
  }
}

/* Trust and revocation for a verified CMS signer; fills s->trusted and s->revocation. */
static void
check_trust(Ctx *ctx, VfySignature *s, const VfyCmsResult *r, gint64 at, gboolean time_proven,
            VfyPurpose purpose)
{
  g_autoptr(TteX509Stack) pool = merge_certs(r->certs, ctx->dss_certs);
  g_autoptr(GPtrArray) crls = merge_bytes(ctx->pdf->dss_crls, r->crls_der);
  g_autoptr(GPtrArray) ocsps = merge_bytes(ctx->pdf->dss_ocsps, r->ocsps_der);
  VfyPath path;
  VfyRevocation rev;

  vfy_trust_path(ctx->trust, r->signer, pool, at, purpose, &path);
  if (!path.trusted) {
    map_path_failure(s, &path, time_proven);
    vfy_path_clear(&path);
    return;
  }
  if (!path.key_usage_ok) {
    finding(s, VFY_INDETERMINATE, "CHAIN_CONSTRAINTS_FAILURE",
            "Penggunaan kunci sertifikat tidak mengizinkan tanda tangan ini",
            "The certificate's key usage does not allow this signature", path.message);
    vfy_path_clear(&path);
    return;
  }
  s->trusted = TRUE;

  vfy_trust_revocation(ctx->trust, path.chain, at, crls, ocsps, &rev);
  s->revocation = rev.status;
  s->revocation_source = g_strdup(rev.source);
  if (rev.status == VFY_REVOCATION_REVOKED) {
    s->revocation_time = vfy_iso_time(rev.revoked_at);
    if (rev.revoked_at <= at) {
      if (rev.depth == 0)
        finding(s, VFY_TOTAL_FAILED, "REVOKED", "Sertifikat penanda tangan telah dicabut sebelum penandatanganan",
                "The signer certificate was revoked before the signature was made", rev.message);
      else
        finding(s, VFY_INDETERMINATE, "REVOKED_CA_NO_POE",
                "Sertifikat otoritas dalam rantai telah dicabut sebelum penandatanganan",
                "A CA certificate in the chain was revoked before the signature was made", rev.message);
    } else if (time_proven) {
      add_reason(s, "Sertifikat dicabut setelah penandatanganan; cap waktu membuktikan tanda tangan dibuat lebih dahulu",
                 "The certificate was revoked after signing; a timestamp proves the signature came first", rev.message);
    } else {
      finding(s, VFY_INDETERMINATE, "REVOKED_NO_POE",
              "Sertifikat telah dicabut dan waktu penandatanganan tidak dibuktikan oleh cap waktu",
              "The certificate has been revoked and the signing time is not proven by a timestamp", rev.message);
    }
  } else if (rev.status == VFY_REVOCATION_UNKNOWN) {
    finding(s, VFY_INDETERMINATE, "TRY_LATER", "Status pencabutan sertifikat tidak dapat diperiksa",
            "The revocation status of the certificate could not be checked", rev.message);
  }
  vfy_revocation_clear(&rev);
  vfy_path_clear(&path);
}

/* Signature timestamps: the first one that verifies and is trusted gives the time. */
static gboolean
check_signature_timestamps(Ctx *ctx, VfySignature *s, const VfyCmsResult *r, gint64 *gen_time)
{
  for (guint i = 0; i < r->timestamps->len; i++) {
    GBytes *tok = g_ptr_array_index(r->timestamps, i);
    gsize sl = 0, tl = 0;
    const guint8 *sv = r->signature_value != NULL ? g_bytes_get_data(r->signature_value, &sl) : NULL;
    const guint8 *td = g_bytes_get_data(tok, &tl);
    VfyRanges over = { sv, sl, NULL, 0 };
    g_autoptr(VfyCmsResult) t = NULL;
    g_autoptr(TteX509Stack) pool = NULL;
    VfyPath path;

    s->timestamp_present = TRUE;
    if (sv == NULL)
      break;
    t = vfy_cms_verify(td, tl, VFY_CMS_TST, &over, ctx->dss_certs, FALSE);
    if (t->status != VFY_CMS_OK) {
      add_reason(s, "Cap waktu tanda tangan tidak sah dan diabaikan", "The signature timestamp is not valid and is ignored",
                 t->message);
      continue;
    }
    s->timestamp_intact = TRUE;
    g_free(s->timestamp_time);
    g_free(s->timestamp_tsa);
    s->timestamp_time = vfy_iso_time(t->gen_time);
    s->timestamp_tsa = tte_x509_name_string(X509_get_subject_name(t->signer));
    pool = merge_certs(t->certs, ctx->dss_certs);
    /* The TSA certificate is judged now: a timestamp is only as good as its TSA today. */
    vfy_trust_path(ctx->trust, t->signer, pool, ctx->now, VFY_PURPOSE_TIMESTAMP, &path);
    if (!path.trusted || !path.key_usage_ok) {
      add_reason(s, "Cap waktu tanda tangan tidak berasal dari TSA yang dipercaya dan diabaikan",
                 "The signature timestamp is not from a trusted TSA and is ignored", path.message);
      vfy_path_clear(&path);
      continue;
    }
    vfy_path_clear(&path);
    s->timestamp_valid = TRUE;
    *gen_time = t->gen_time;
    return TRUE;
  }
  return FALSE;
}

#ifdef VFY_HAVE_VISUAL
static char *
page_list(const GArray *pages)
{
  GString *s = g_string_new("page");
  for (guint i = 0; i < pages->len && i < 20; i++)
    g_string_append_printf(s, "%s %u", i == 0 ? "" : ",", g_array_index(pages, guint, i) + 1);
  if (pages->len > 20)
    g_string_append(s, ", ...");
  return g_string_free(s, FALSE);
}
#endif

static void
check_changes(Ctx *ctx, VfySignature *s, gsize signed_len)
{
#ifdef VFY_HAVE_CHANGES
  g_autoptr(GError) err = NULL;
  g_autoptr(GPtrArray) changes = vfy_changes_analyse(ctx->data, ctx->len, signed_len,
                                                     (VfyMdpLevel)ctx->certify_p, NULL, &err);
  if (changes == NULL && g_error_matches(err, TTE_ERROR, TTE_ERROR_NOT_SUPPORTED)) {
    finding(s, VFY_INDETERMINATE, "GENERIC", "Perubahan setelah penandatanganan belum dianalisis",
            "The changes made after signing were not analysed", err->message);
    return;
  }
  if (changes == NULL) {
    finding(s, VFY_TOTAL_FAILED, "FORMAT_FAILURE",
            "Perubahan setelah penandatanganan tidak dapat dianalisis",
            "The changes made after signing cannot be analysed", err != NULL ? err->message : NULL);
    return;
  }
  s->modifications_analysed = TRUE;
  for (guint i = 0; i < changes->len; i++) {
    VfyChange *c = g_ptr_array_index(changes, i);
    if (!c->allowed)
      finding(s, VFY_TOTAL_FAILED, "FORMAT_FAILURE", "Dokumen diubah setelah ditandatangani dengan cara yang tidak diizinkan",
              "The document was changed after signing in a way that is not allowed", c->detail_en);
  }
  g_ptr_array_extend_and_steal(s->modifications, g_steal_pointer(&changes));
#else
  (void)signed_len;
  finding(s, VFY_INDETERMINATE, "GENERIC", "Perubahan setelah penandatanganan belum dianalisis",
          "The changes made after signing were not analysed", "modification analysis is not built in");
#endif

#ifdef VFY_HAVE_VISUAL
  /* Rendering is the expensive part: a file with many signatures must not turn it into
   * hours of work.  The earliest signed revisions come first and are compared. */
  if (!ctx->opts->skip_visual && ctx->visual_runs >= TTE_LIMIT_VISUAL_DIFF_SIGNATURES) {
    g_autofree char *d = g_strdup_printf("TTE_LIMIT_VISUAL_DIFF_SIGNATURES = %u", TTE_LIMIT_VISUAL_DIFF_SIGNATURES);
    s->visual_capped = TRUE;
    add_reason(s, "Perbandingan visual dilewati: batas jumlah tanda tangan yang dibandingkan tercapai",
               "The visual comparison was skipped: the limit on signatures compared was reached", d);
  } else if (!ctx->opts->skip_visual) {
    ctx->visual_runs++;
    g_autoptr(GError) verr = NULL;
    GArray *pages = NULL;
    gboolean capped = FALSE;
    guint max = ctx->opts->visual_max_pages;
    if (max == 0 || max > TTE_LIMIT_VISUAL_DIFF_PAGES)
      max = TTE_LIMIT_VISUAL_DIFF_PAGES;
    /* The analysis' allowed changes tell the comparison where a later stamp or an
     * allowed annotation may paint (only over what was blank when signed). */
    if (!vfy_visual_diff_allowing(ctx->data, ctx->len, signed_len, max, s->modifications, &pages, &capped,
                                  &verr) &&
        g_error_matches(verr, TTE_ERROR, TTE_ERROR_NOT_SUPPORTED)) {
      add_reason(s, "Perbandingan visual halaman tidak tersedia", "The visual comparison of the pages is not available",
                 verr->message);
    } else if (verr != NULL) {
      finding(s, VFY_INDETERMINATE, "GENERIC", "Perbandingan visual halaman gagal",
              "The visual comparison of the pages failed", verr != NULL ? verr->message : NULL);
    } else {
      s->visual_compared = TRUE;
      s->visual_capped = capped;
      s->visual_pages = pages;
      if (pages != NULL && pages->len > 0) {
        /* The pixel diff is the last line of defence: whatever differs outside the
         * areas the allowed changes may paint is something the analysis did not see. */
        g_autofree char *list = page_list(pages);
        finding(s, VFY_TOTAL_FAILED, "FORMAT_FAILURE", "Tampilan halaman berubah setelah penandatanganan",
                "The rendered pages changed after signing", list);
      }
      if (capped) {
        g_autofree char *d = g_strdup_printf("TTE_LIMIT_VISUAL_DIFF_PAGES = %u", max);
        add_reason(s, "Perbandingan visual dibatasi; tidak semua halaman dibandingkan",
                   "The visual comparison was capped; not every page was compared", d);
      }
    }
  }
#elif defined(VFY_VISUAL_ELSEWHERE)
  /* The lean `tte` has no renderer; its caller hands such files to the full program. */
  (void)signed_len;
  if (!ctx->opts->skip_visual)
    ctx->visual_needed = TRUE;
#endif
}

static VfySignature *
verify_one(Ctx *ctx, const VfyPdfSig *ps)
{
  VfySignature *s = signature_new();
  gboolean is_tst = g_strcmp0(ps->type, "DocTimeStamp") == 0 || g_strcmp0(ps->subfilter, "ETSI.RFC3161") == 0;
  VfyCoverage cov;
  gsize signed_len = 0;
  g_autoptr(GError) err = NULL;
  g_autoptr(VfyCmsResult) r = NULL;
  VfyCmsMode mode;
  VfyRanges ranges;
  gint64 claimed = 0, at, gen = 0;
  gboolean have_claimed, time_proven = FALSE;
  gsize clen = 0;
  const guint8 *cder;
  g_autoptr(GBytes) cms = NULL;

  s->field = g_strdup(ps->field);
  s->kind = g_strdup(is_tst ? "document-timestamp" : "signature");
  s->subfilter = g_strdup(ps->subfilter);
  s->docmdp = ps->docmdp;
  memcpy(s->byte_range, ps->byte_range, sizeof s->byte_range);
  s->revocation = VFY_REVOCATION_NOT_CHECKED;
  have_claimed = vfy_pdf_parse_date(ps->m, &claimed);
  if (have_claimed)
    s->claimed_time = vfy_iso_time(claimed);

  /* 1. Coverage. */
  if (ps->contents_too_big) {
    finding(s, VFY_TOTAL_FAILED, "FORMAT_FAILURE", "Isi tanda tangan melebihi batas ukuran",
            "The signature contents exceed the size limit", "TTE_LIMIT_CMS_MAX_LEN");
    return s;
  }
  if (!vfy_pdf_check_coverage(ctx->data, ctx->len, ps, ctx->pdf->revisions, ctx->pdf->encrypted, &cov,
                              &signed_len, &cms, &err)) {
    finding(s, VFY_TOTAL_FAILED, "FORMAT_FAILURE",
            "Cakupan /ByteRange tidak sah: tidak jelas bagian mana yang ditandatangani",
            "The /ByteRange coverage is not valid: it is unclear what was signed", err->message);
    return s;
  }
  s->byte_range_valid = TRUE;
  s->signed_length = signed_len;
  s->coverage = g_strdup(cov == VFY_COVERAGE_ENTIRE_FILE ? "ENTIRE_FILE" : "ENTIRE_REVISION");

  /* 2. Integrity. */
  if (is_tst && g_strcmp0(ps->subfilter, "ETSI.RFC3161") == 0)
    mode = VFY_CMS_TST;
  else if (!is_tst && (g_strcmp0(ps->subfilter, "ETSI.CAdES.detached") == 0 ||
                       g_strcmp0(ps->subfilter, "adbe.pkcs7.detached") == 0))
    mode = VFY_CMS_DETACHED;
  else if (!is_tst && g_strcmp0(ps->subfilter, "adbe.pkcs7.sha1") == 0)
    mode = VFY_CMS_SHA1;
  else {
    finding(s, VFY_TOTAL_FAILED, "FORMAT_FAILURE", "Jenis tanda tangan (/SubFilter) tidak didukung atau tidak konsisten",
            "The signature type (/SubFilter) is not supported or is inconsistent", ps->subfilter);
    return s;
  }
  cder = g_bytes_get_data(cms, &clen);
  ranges.p1 = ctx->data;
  ranges.n1 = (gsize)ps->byte_range[1];
  ranges.p2 = ctx->data + ps->byte_range[2];
  ranges.n2 = (gsize)ps->byte_range[3];
  r = vfy_cms_verify(cder, clen, mode, &ranges, ctx->dss_certs, TRUE);
  s->digest_algorithm = g_strdup(r->digest_name);
  s->signature_algorithm = g_strdup(r->signature_name);
  if (r->signer != NULL) {
    s->signer_subject = tte_x509_name_string(X509_get_subject_name(r->signer));
    s->signer_issuer = tte_x509_name_string(X509_get_issuer_name(r->signer));
    s->signer_serial = tte_x509_serial_hex(r->signer);
  }
  if (r->status != VFY_CMS_OK) {
    map_cms_failure(s, r, is_tst);
    return s;
  }
  s->integrity = TRUE;
  if (r->trailing_garbage)
    add_reason(s, "Setelah CMS di /Contents terdapat byte lain (tidak ditandatangani, diabaikan)",
               "Other bytes follow the CMS in /Contents (not signed, ignored)", NULL);
  if (r->signer_infos > 1)
    add_reason(s, "CMS memuat SignerInfo ganda dari penanda tangan yang sama (semuanya sah)",
               "The CMS holds duplicate SignerInfos from the same signer (all of them verify)", NULL);
  if (mode == VFY_CMS_DETACHED && r->econtent_present)
    add_reason(s, "CMS membungkus isi dokumen (bukan detached); isi tersebut sama dengan bagian yang ditandatangani",
               "The CMS encapsulates the content (not detached); it equals the signed bytes", NULL);

  /* 3. Best-known signing time. */
  if (mode == VFY_CMS_TST) {
    at = r->gen_time;
    time_proven = TRUE;
    s->timestamp_present = TRUE;
    s->timestamp_intact = TRUE;
    s->timestamp_valid = TRUE;
    s->timestamp_time = vfy_iso_time(r->gen_time);
    s->timestamp_tsa = g_strdup(s->signer_subject);
    s->time_source = g_strdup("timestamp");
  } else if (check_signature_timestamps(ctx, s, r, &gen)) {
    at = gen;
    time_proven = TRUE;
    s->time_source = g_strdup("timestamp");
  } else if (have_claimed) {
    at = claimed;
    s->time_source = g_strdup("claimed");
  } else {
    at = ctx->now;
    s->time_source = g_strdup("validation");
    add_reason(s, "Tidak ada waktu penandatanganan; sertifikat diperiksa pada waktu validasi",
               "No signing time is given; certificates are checked at the validation time", NULL);
  }
  s->signing_time = vfy_iso_time(at);

  /* 4. Trust and revocation. */
  check_trust(ctx, s, r, at, time_proven, is_tst ? VFY_PURPOSE_TIMESTAMP : VFY_PURPOSE_SIGNING);

  /* 5. Changes after signing. */
  if (cov == VFY_COVERAGE_ENTIRE_FILE) {
    s->modifications_analysed = TRUE;
  } else {
    check_changes(ctx, s, signed_len);
  }
  return s;
}

static void
assign_levels(VfyReport *rep, const VfyPdfInfo *pdf)
{
  gboolean dss = pdf->dss_certs->len + pdf->dss_ocsps->len + pdf->dss_crls->len > 0;
  for (guint i = 0; i < rep->signatures->len; i++) {
    VfySignature *s = g_ptr_array_index(rep->signatures, i);
    gboolean lta = FALSE;
    if (g_strcmp0(s->kind, "signature") != 0 || g_strcmp0(s->subfilter, "ETSI.CAdES.detached") != 0 ||
        !s->integrity)
      continue;
    for (guint j = 0; j < rep->signatures->len; j++) {
      VfySignature *t = g_ptr_array_index(rep->signatures, j);
      if (g_strcmp0(t->kind, "document-timestamp") == 0 && t->integrity && t->signed_length > s->signed_length)
        lta = TRUE;
    }
    /* The level says which validation data the file carries intact; whether its TSAs
     * and CAs are trusted is the indication's business. */
    if (!s->timestamp_intact)
      s->level = g_strdup("B-B");
    else if (!dss)
      s->level = g_strdup("B-T");
    else if (!lta)
      s->level = g_strdup("B-LT");
    else
      s->level = g_strdup("B-LTA");
  }
}

static gint
by_signed_length(gconstpointer a, gconstpointer b)
{
  const VfySignature *x = *(VfySignature *const *)a, *y = *(VfySignature *const *)b;
  return x->signed_length < y->signed_length ? -1 : x->signed_length > y->signed_length;
}

static gint
by_byte_range_end(gconstpointer a, gconstpointer b)
{
  const VfyPdfSig *x = *(VfyPdfSig *const *)a, *y = *(VfyPdfSig *const *)b;
  /* Saturating: a hostile ByteRange may hold anything. */
  gint64 ex = x->byte_range[2] > G_MAXINT64 - MAX(x->byte_range[3], 0) ? G_MAXINT64 : x->byte_range[2] + MAX(x->byte_range[3], 0);
  gint64 ey = y->byte_range[2] > G_MAXINT64 - MAX(y->byte_range[3], 0) ? G_MAXINT64 : y->byte_range[2] + MAX(y->byte_range[3], 0);
  return ex < ey ? -1 : ex > ey;
}

/* A fault of the file as a whole (not of one signature): it fails the report.  Takes
 * the two messages. */
static void
structure_failure(VfyReport *rep, char *en, char *id)
{
  g_ptr_array_add(rep->structure_errors_en, en);
  g_ptr_array_add(rep->structure_errors_id, id);
  rep->indication = VFY_TOTAL_FAILED;
}

VfyReport *
vfy_verify_bytes(const guint8 *data, gsize len, const char *name, const VfyOptions *opts, GError **error)
{
  static const VfyOptions defaults = { 0 };
  g_autoptr(VfyReport) rep = g_new0(VfyReport, 1);
  g_autoptr(VfyPdfInfo) pdf = NULL;
  g_autoptr(VfyTrust) trust = NULL;
  g_autoptr(GError) local = NULL;
  Ctx ctx = { 0 };

  if (opts == NULL)
    opts = &defaults;
  rep->file = g_strdup(name != NULL ? name : "input.pdf");
  rep->file_size = len;
  rep->warnings_en = g_ptr_array_new_with_free_func(g_free);
  rep->warnings_id = g_ptr_array_new_with_free_func(g_free);
  rep->structure_errors_en = g_ptr_array_new_with_free_func(g_free);
  rep->structure_errors_id = g_ptr_array_new_with_free_func(g_free);
  rep->signatures = g_ptr_array_new_with_free_func((GDestroyNotify)signature_free);
  rep->validation_time = opts->now != 0 ? opts->now : g_get_real_time() / G_USEC_PER_SEC;

  trust = vfy_trust_new(opts, error);
  if (trust == NULL)
    return NULL;
  pdf = vfy_pdf_scan(data, len, &local);
  if (pdf == NULL) {
    gboolean failed = FALSE;
    /* A damaged file that holds signature data is a verdict, not an input error: what
     * was signed cannot be established, so nothing in it may be trusted (exit 1). */
    if (g_error_matches(local, TTE_ERROR, TTE_ERROR_PDF_DAMAGED) &&
        vfy_find(data, len, "/ByteRange", 10, &failed) != NULL && !failed) {
      structure_failure(rep,
                        g_strdup_printf("the file is damaged and holds signature data (/ByteRange); its "
                                        "signatures cannot be examined: %s", local->message),
                        g_strdup_printf("berkas rusak dan memuat data tanda tangan (/ByteRange); tanda "
                                        "tangannya tidak dapat diperiksa: %s", local->message));
      return g_steal_pointer(&rep);
    }
    g_propagate_error(error, g_steal_pointer(&local));
    return NULL;
  }
  if (pdf->warnings) {
    rep->pdf_warnings = TRUE;
    g_ptr_array_add(rep->warnings_en, g_strdup_printf("qpdf warned while reading the file: %s", pdf->first_warning));
    g_ptr_array_add(rep->warnings_id, g_strdup_printf("qpdf memberi peringatan saat membaca berkas: %s", pdf->first_warning));
  }

  if (pdf->overlap_pages != NULL && pdf->overlap_pages->len > 0) {
    g_autoptr(GString) list = g_string_new(NULL);
    for (guint i = 0; i < pdf->overlap_pages->len; i++)
      g_string_append_printf(list, "%s%u", i == 0 ? "" : ", ", g_array_index(pdf->overlap_pages, guint, i));
    g_ptr_array_add(rep->warnings_en,
                    g_strdup_printf("Annotations overlap on page(s) %s: one may hide another or the text "
                                    "under it; check those pages by eye",
                                    list->str));
    g_ptr_array_add(rep->warnings_id,
                    g_strdup_printf("Anotasi saling bertumpuk di halaman %s: yang satu dapat menutupi yang "
                                    "lain atau teks di bawahnya; periksa halaman tersebut secara langsung",
                                    list->str));
  }
  if (pdf->overlap_capped) {
    g_ptr_array_add(rep->warnings_en, g_strdup("Not every page or annotation was compared for overlaps "
                                               "(TTE_LIMIT_OVERLAP_PAGES, TTE_LIMIT_OVERLAP_ANNOTS_PER_PAGE)"));
    g_ptr_array_add(rep->warnings_id, g_strdup("Tidak semua halaman atau anotasi diperiksa tumpang-tindihnya "
                                               "(TTE_LIMIT_OVERLAP_PAGES, TTE_LIMIT_OVERLAP_ANNOTS_PER_PAGE)"));
  }
  if (pdf->encrypted) {
    g_ptr_array_add(rep->warnings_en, g_strdup("The file is encrypted (opened with the empty user password)"));
    g_ptr_array_add(rep->warnings_id, g_strdup("Berkas terenkripsi (dibuka dengan kata sandi pengguna kosong)"));
  }
  ctx.data = data;
  ctx.len = len;
  ctx.opts = opts;
  ctx.pdf = pdf;
  ctx.trust = trust;
  ctx.now = rep->validation_time;
  ctx.dss_certs = sk_X509_new_null();
  for (guint i = 0; i < pdf->dss_certs->len; i++) {
    gsize n;
    const unsigned char *p = g_bytes_get_data(g_ptr_array_index(pdf->dss_certs, i), &n);
    X509 *x = d2i_X509(NULL, &p, (long)MIN(n, (gsize)G_MAXLONG));
    if (x != NULL)
      sk_X509_push(ctx.dss_certs, x);
  }
  ERR_clear_error();
  /* The certification signature's P governs every later change (ISO 32000-1, 12.8.2.2). */
  for (guint i = 0; i < pdf->sigs->len; i++) {
    const VfyPdfSig *ps = g_ptr_array_index(pdf->sigs, i);
    if (ps->docmdp > 0 && ctx.certify_p == 0)
      ctx.certify_p = ps->docmdp;
  }

  {
    /* Earliest signed revision first: limits then cut the least important work. */
    /* A plain view: the entries stay owned by pdf->sigs. */
    g_autoptr(GPtrArray) order = g_ptr_array_sized_new(pdf->sigs->len);
    for (guint i = 0; i < pdf->sigs->len; i++)
      g_ptr_array_add(order, g_ptr_array_index(pdf->sigs, i));
    g_ptr_array_sort(order, by_byte_range_end);
    /* The lean build stops at the first signature that needs a page comparison: the
     * whole file goes to the full program, which verifies every signature again. */
    for (guint i = 0; i < order->len && !ctx.visual_needed; i++)
      g_ptr_array_add(rep->signatures, verify_one(&ctx, g_ptr_array_index(order, i)));
  }
  g_ptr_array_sort(rep->signatures, by_signed_length);
  assign_levels(rep, pdf);
  rep->indication = VFY_TOTAL_PASSED;
  for (guint i = 0; i < rep->signatures->len; i++) {
    VfySignature *s = g_ptr_array_index(rep->signatures, i);
    rep->indication = MAX(rep->indication, s->indication);
  }
  if (pdf->unreachable_signature_data)
    structure_failure(rep,
                      g_strdup("the bytes hold signature data (/ByteRange) but no readable signature field uses it"),
                      g_strdup("berkas memuat data tanda tangan (/ByteRange) tetapi tidak ada kolom tanda tangan "
                               "yang dapat dibaca memakainya"));
  if (pdf->dangling_fields > 0)
    structure_failure(rep,
                      g_strdup_printf("%u form field(s) refer to objects the file does not hold; signatures "
                                      "there cannot be examined", pdf->dangling_fields),
                      g_strdup_printf("%u kolom formulir merujuk ke objek yang tidak ada di berkas; tanda tangan "
                                      "di sana tidak dapat diperiksa", pdf->dangling_fields));
  tte_x509_stack_free(ctx.dss_certs);
  if (ctx.visual_needed) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_NOT_BUILT_IN,
                "a signed revision has later changes and this program cannot render pages to compare them");
    return NULL;
  }
  return g_steal_pointer(&rep);
}

VfyReport *
vfy_verify_file(const char *path, const VfyOptions *opts, GError **error)
{
  g_autoptr(VfyInput) in = NULL;
  g_autoptr(VfyReport) rep = NULL;
  g_autoptr(GError) local = NULL;
  g_autofree char *base = NULL;

  /* Mapped, and read through bounded windows whose pages go back after use (vfy-pdf.h):
   * memory stays bounded whatever the size of the file. */
  in = vfy_input_open(path, error);
  if (in == NULL)
    return NULL;
  base = g_path_get_basename(path);
  rep = vfy_verify_bytes(vfy_input_data(in), vfy_input_len(in), base, opts, &local);
  if (!vfy_input_check_unchanged(in, path, error))
    return NULL; /* whatever was found, it was found in a file that was being rewritten */
  if (rep == NULL)
    g_propagate_error(error, g_steal_pointer(&local));
  return g_steal_pointer(&rep);
}
