/* routes-bsre.c — endpoints shaped like BSrE's e-sign API v2, so that an e-office
 * integration written for BSrE switches by changing its base URL:
 *
 *   POST /api/v2/sign/pdf           sign base64 files (role signer)
 *   POST /api/v2/verify/pdf         verify a base64 file (public)
 *   POST /api/v2/user/check/status  is this NIK / e-mail able to sign? (signer: own; admin)
 *
 * Authentication: those clients send HTTP Basic; the password is a TTE API token (the
 * user name is ignored).  The signer is the token's signer: a request whose `nik` or
 * `email` names someone else is refused (403), never signed with another key.
 * Coordinates: see docs/api.md (points from the lower-left corner of the page as
 * displayed, like `tte sign --rect`).
 *
 * Several signatureProperties entries (a signature on the last page plus a paraf on each
 * page, say) are several signatures of the same key on every file, applied in array order
 * as successive incremental revisions; only the final file is recorded.
 */
#include "routes-svc.h"

#include "audit.h"
#include "tte-error.h"
#include "tte-limits.h"

#include <math.h>
#include <string.h>

/* The most signatureProperties entries per request.  Each entry is one more signature
 * (one more incremental revision, the whole file parsed and hashed again) on every file
 * of the request, so a request costs files x entries signatures.  16 covers a signature
 * plus a paraf on each page of a 15-page letter.  It belongs in common/tte-limits.h with
 * the other caps; until it moves there it is named here (the guard lets it move). */
#ifndef TTE_LIMIT_BSRE_SIGNATURE_PROPERTIES
#define TTE_LIMIT_BSRE_SIGNATURE_PROPERTIES 16u
#endif

typedef struct {
  ApiKeyCache *kc;
} BsreCtx;

/* The signer named by `nik` or `email` in @body (exactly one of them). */
static ApiSigner *
signer_by_identity(ApiStore *store, json_t *body, GError **error)
{
  g_autoptr(GError) local = NULL;
  const char *nik = api_json_optional_string(body, "nik", 254, &local);
  const char *email = local ? NULL : api_json_optional_string(body, "email", 254, &local);
  const char *ident;
  g_autoptr(GPtrArray) all = NULL;

  if (local != NULL) {
    g_propagate_error(error, g_steal_pointer(&local));
    return NULL;
  }
  if ((nik == NULL) == (email == NULL)) {
    g_set_error_literal(error, API_ERROR, API_ERROR_BAD_REQUEST, "give either 'nik' or 'email'");
    return NULL;
  }
  ident = nik ? nik : email;
  all = store->ops->signer_list(store, error);
  if (all == NULL)
    return NULL;
  for (guint i = 0; i < all->len; i++) {
    ApiSigner *s = g_ptr_array_index(all, i);
    /* E-mail addresses compare case-insensitively; a NIK is digits. */
    if (nik ? strcmp(s->identifier, ident) == 0 : g_ascii_strcasecmp(s->identifier, ident) == 0)
      return g_ptr_array_steal_index(all, i);
  }
  g_set_error_literal(error, API_ERROR, API_ERROR_NOT_FOUND, "no signer with this identity");
  return NULL;
}

/* @what names the entry in errors: "signatureProperties[2]" (or "signatureProperties"
 * for a lone object). */
static gboolean
number_member(json_t *o, const char *what, const char *key, double lo, double hi, double *out,
              gboolean *present, GError **error)
{
  json_t *v = json_object_get(o, key);

  *present = FALSE;
  if (v == NULL || json_is_null(v))
    return TRUE;
  if (json_is_string(v)) {
    char *end = NULL;
    const char *s = json_string_value(v);
    *out = g_ascii_strtod(s, &end);
    if (*s == '\0' || end == NULL || *end != '\0')
      goto bad;
  } else if (json_is_number(v)) {
    *out = json_number_value(v);
  } else {
    goto bad;
  }
  if (!isfinite(*out) || *out < lo || *out > hi)
    goto bad;
  *present = TRUE;
  return TRUE;
bad:
  g_set_error(error, API_ERROR, API_ERROR_BAD_REQUEST, "%s.%s must be a number %g..%g", what, key,
              lo, hi);
  return FALSE;
}

/* One signatureProperties entry @props (named @what in errors) -> the placement, text
 * and stamp image of @job. */
static gboolean
bsre_entry(json_t *props, const char *what, ApiSignJob *job, GError **error)
{
  g_autoptr(GError) local = NULL;
  const char *tampilan;
  double page = 0, x = 0, y = 0, w = 0, h = 0;
  gboolean have_page, hx, hy, hw, hh;
  json_t *img;

  if (!json_is_object(props)) {
    g_set_error(error, API_ERROR, API_ERROR_BAD_REQUEST, "%s must be an object", what);
    return FALSE;
  }
  tampilan = api_json_optional_string(props, "tampilan", 16, &local);
#define TEXT(dst, name)                                                                            \
  if (local == NULL)                                                                               \
  dst = api_json_optional_string(props, name, TTE_LIMIT_SIG_TEXT_MAX_LEN, &local)
  TEXT(job->reason, "reason");
  TEXT(job->location, "location");
  TEXT(job->contact, "contactInfo");
#undef TEXT
  if (local != NULL) {
    g_prefix_error(&local, "%s: ", what);
    g_propagate_error(error, g_steal_pointer(&local));
    return FALSE;
  }
  if (!number_member(props, what, "page", 1, TTE_LIMIT_PDF_MAX_PAGES, &page, &have_page, error) ||
      !number_member(props, what, "originX", -14400, 14400, &x, &hx, error) ||
      !number_member(props, what, "originY", -14400, 14400, &y, &hy, error) ||
      !number_member(props, what, "width", 0, 14400, &w, &hw, error) ||
      !number_member(props, what, "height", 0, 14400, &h, &hh, error))
    return FALSE;
  if (have_page)
    job->page = (guint)page;
  if (tampilan == NULL || g_ascii_strcasecmp(tampilan, "INVISIBLE") == 0) {
    job->page = 0;
    return TRUE;
  }
  if (g_ascii_strcasecmp(tampilan, "VISIBLE") != 0) {
    g_set_error(error, API_ERROR, API_ERROR_BAD_REQUEST, "%s.tampilan must be VISIBLE or INVISIBLE",
                what);
    return FALSE;
  }
  if (!hx || !hy || !hw || !hh || w <= 0 || h <= 0) {
    g_set_error(error, API_ERROR, API_ERROR_BAD_REQUEST,
                "%s: a VISIBLE signature needs originX, originY, width and height (> 0)", what);
    return FALSE;
  }
  job->have_rect = TRUE;
  job->rect[0] = x;
  job->rect[1] = y;
  job->rect[2] = w;
  job->rect[3] = h;
  job->visible_qr = TRUE;
  img = json_object_get(props, "imageBase64");
  if (img != NULL && !json_is_null(img)) {
    if (!json_is_string(img)) {
      g_set_error(error, API_ERROR, API_ERROR_BAD_REQUEST, "%s.imageBase64 must be a string", what);
      return FALSE;
    }
    if (json_string_length(img) > 0) {
      g_autofree char *name = g_strconcat(what, ".imageBase64", NULL);
      job->image = api_base64_decode(json_string_value(img), json_string_length(img),
                                     TTE_LIMIT_IMAGE_MAX_SIZE, name, error);
      if (job->image == NULL)
        return FALSE;
    }
  }
  return TRUE;
}

/* signatureProperties -> @jobs[0..*n_jobs): one job per entry, in array order.  None, null
 * or [] is one invisible signature; a lone object (some clients) is one entry. */
static gboolean
bsre_properties(json_t *props, ApiSignJob jobs[TTE_LIMIT_BSRE_SIGNATURE_PROPERTIES], guint *n_jobs,
                GError **error)
{
  gsize i;
  json_t *entry;

  *n_jobs = 1; /* jobs[] arrives zeroed: an invisible signature */
  if (props == NULL || json_is_null(props) || (json_is_array(props) && json_array_size(props) == 0))
    return TRUE;
  if (json_is_object(props))
    return bsre_entry(props, "signatureProperties", &jobs[0], error);
  if (!json_is_array(props)) {
    g_set_error_literal(error, API_ERROR, API_ERROR_BAD_REQUEST,
                        "signatureProperties must be an array of objects");
    return FALSE;
  }
  if (json_array_size(props) > TTE_LIMIT_BSRE_SIGNATURE_PROPERTIES) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT,
                "at most %u signatureProperties entries per request "
                "(TTE_LIMIT_BSRE_SIGNATURE_PROPERTIES), got %" G_GSIZE_FORMAT,
                TTE_LIMIT_BSRE_SIGNATURE_PROPERTIES, json_array_size(props));
    return FALSE;
  }
  json_array_foreach(props, i, entry)
  {
    char what[48];

    g_snprintf(what, sizeof what, "signatureProperties[%" G_GSIZE_FORMAT "]", i);
    if (!bsre_entry(entry, what, &jobs[i], error))
      return FALSE;
  }
  *n_jobs = (guint)json_array_size(props);
  return TRUE;
}

/* Sign @pdf (file[@file_index]) with every job in turn, each over the result of the one
 * before, and record only the final file (one register record, its SHA-256, its audit
 * entry saying how many signatures were applied).  If any entry fails nothing is recorded
 * and the error names the entry.  Returns the record; *@out the final file. */
static ApiDocument *
bsre_sign_file(ApiRequest *req, BsreCtx *ctx, const ApiSigner *signer, const ApiKey *key,
               TteSigningKey *sk, ApiSignJob *jobs, guint n_jobs, gboolean name_entries,
               GBytes *pdf, guint file_index, GBytes **out, GError **error)
{
  g_autoptr(GBytes) cur = g_bytes_ref(pdf);
  g_autoptr(ApiDocument) last = NULL;
  /* One id for every stamp's QR code: the id of the one record. */
  g_autofree char *doc_id = api_store_new_id("", error);

  if (doc_id == NULL)
    return NULL;
  for (guint i = 0; i < n_jobs; i++) {
    ApiSignJob *job = &jobs[i];
    g_autoptr(GBytes) next = NULL;
    g_autoptr(ApiDocument) d = NULL;

    job->pdf = cur;
    job->document_id = doc_id;
    job->no_record = i + 1 < n_jobs;
    job->signatures_applied = n_jobs;
    d = api_sign_and_record(req, ctx->kc, signer, key, NULL, sk, job, NULL, NULL, &next, error);
    job->pdf = NULL;
    job->document_id = NULL;
    if (d == NULL) {
      if (name_entries)
        g_prefix_error(error, "signatureProperties[%u] on file[%u]: ", i, file_index);
      else
        g_prefix_error(error, "file[%u]: ", file_index);
      return NULL;
    }
    g_bytes_unref(cur);
    cur = g_steal_pointer(&next);
    g_clear_pointer(&last, api_document_free);
    last = g_steal_pointer(&d); /* the record when it was the last entry */
  }
  *out = g_steal_pointer(&cur);
  return g_steal_pointer(&last);
}

static ApiResponse *
bsre_sign(ApiRequest *req, gpointer user_data, GError **error)
{
  BsreCtx *ctx = user_data;
  ApiStore *store = api_request_store(req);
  const ApiPrincipal *who = api_request_principal(req);
  g_autoptr(json_t) body = NULL;
  g_autoptr(ApiSigner) signer = NULL;
  g_autoptr(ApiKey) key = NULL;
  g_autoptr(TteSecret) pin = NULL;
  g_autoptr(TteSigningKey) sk = NULL;
  g_autoptr(GPtrArray) pdfs = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
  json_t *files, *pass, *item, *out_files, *ids;
  ApiSignJob jobs[TTE_LIMIT_BSRE_SIGNATURE_PROPERTIES] = {0};
  guint n_jobs = 0;
  gboolean named;
  json_t *props;
  ApiResponse *resp = NULL;
  gint64 t0 = g_get_monotonic_time();
  gsize i;

  if (!api_refuse_secret_in_query(req, error))
    return NULL;
  {
    /* A seal's token only seals (routes-svc.h), refused before the body is read. */
    g_autoptr(ApiSigner) me = store->ops->signer_get(store, who->signer_id, error);
    if (me == NULL)
      return NULL;
    if (api_signer_is_seal(me)) {
      g_set_error_literal(error, API_ERROR, API_ERROR_FORBIDDEN,
                          "a seal's API token may only seal (POST /api/v1/seal)");
      return NULL;
    }
  }
  body = api_request_json(req, error);
  if (body == NULL)
    return NULL;
  signer = signer_by_identity(store, body, error);
  if (signer == NULL) {
    if (error != NULL && g_error_matches(*error, API_ERROR, API_ERROR_NOT_FOUND))
      (*error)->code = API_ERROR_FORBIDDEN;
    return NULL;
  }
  if (g_strcmp0(signer->id, who->signer_id) != 0) {
    /* The same answer for "unknown" and "someone else": no NIK oracle. */
    g_set_error_literal(error, API_ERROR, API_ERROR_FORBIDDEN,
                        "this API token may only sign as its own signer");
    return NULL;
  }
  files = json_object_get(body, "file");
  if (files != NULL && json_is_string(files)) {
    /* Some clients send one file as a plain string. */
    json_t *arr = json_array();
    json_array_append(arr, files);
    json_object_set_new(body, "file", arr);
    files = arr;
  }
  if (files == NULL || !json_is_array(files) || json_array_size(files) == 0) {
    g_set_error_literal(error, API_ERROR, API_ERROR_BAD_REQUEST,
                        "missing field 'file' (an array of base64 PDFs)");
    return NULL;
  }
  if (json_array_size(files) > TTE_LIMIT_BATCH_MAX_FILES) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT, "at most %u files per request",
                TTE_LIMIT_BATCH_MAX_FILES);
    return NULL;
  }
  json_array_foreach(files, i, item)
  {
    GBytes *b;
    if (!json_is_string(item)) {
      g_set_error(error, API_ERROR, API_ERROR_BAD_REQUEST,
                  "file[%" G_GSIZE_FORMAT "] must be base64", i);
      return NULL;
    }
    b = api_base64_decode(json_string_value(item), json_string_length(item),
                          api_request_config(req)->body_max, "file", error);
    if (b == NULL)
      return NULL;
    g_ptr_array_add(pdfs, b);
  }
  props = json_object_get(body, "signatureProperties");
  if (!bsre_properties(props, jobs, &n_jobs, error))
    goto out;
  /* Signing errors name the entry when the request has entries. */
  named = json_is_object(props) || (json_is_array(props) && json_array_size(props) > 0);
  pass = json_object_get(body, "passphrase");
  if (pass == NULL || !json_is_string(pass)) {
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_PIN_INVALID, "missing field 'passphrase'");
    goto out;
  }
  pin = tte_secret_new(json_string_value(pass), json_string_length(pass), error);
  if (pin == NULL)
    goto out;
  sk = api_keycache_open_active(ctx->kc, store, signer->id, &pin, &key, error);
  if (sk == NULL)
    goto out;
  out_files = json_array();
  ids = json_array();
  /* All or nothing per file: its entries are signed one over the other and only the final
   * file is recorded.  Like BSrE, the first failing file answers for the request; files
   * signed before it stay recorded (their ids are logged). */
  for (guint k = 0; k < pdfs->len; k++) {
    g_autoptr(GBytes) signed_pdf = NULL;
    g_autoptr(ApiDocument) d = NULL;
    gsize n = 0;
    const guint8 *data;
    g_autofree char *b64 = NULL;

    d = bsre_sign_file(req, ctx, signer, key, sk, jobs, n_jobs, named, g_ptr_array_index(pdfs, k),
                       k, &signed_pdf, error);
    if (d == NULL) {
      if (k > 0) {
        g_autofree char *done = json_dumps(ids, JSON_COMPACT);
        api_log("POST /api/v2/sign/pdf: file[%u] failed; %u file(s) signed before it stay "
                "recorded: %s",
                k, k, done ? done : "?");
      }
      json_decref(out_files);
      json_decref(ids);
      goto out;
    }
    data = g_bytes_get_data(signed_pdf, &n);
    b64 = g_base64_encode(data, n);
    json_array_append_new(out_files, json_string(b64));
    json_array_append_new(ids, json_string(d->id));
  }
  resp = api_response_json(200, json_pack("{s:I, s:o, s:o}", "time",
                                          (json_int_t)((g_get_monotonic_time() - t0) / 1000),
                                          "file", out_files, "id", ids));
out:
  for (guint j = 0; j < G_N_ELEMENTS(jobs); j++)
    g_clear_pointer(&jobs[j].image, g_bytes_unref);
  return resp;
}

static json_t *
bsre_signature_info(const VfySignature *s, guint index)
{
  gboolean modified = s->coverage == NULL || !s->modifications_analysed;
  json_t *o;

  for (guint i = 0; !modified && s->modifications != NULL && i < s->modifications->len; i++) {
    const VfyChange *c = g_ptr_array_index(s->modifications, i);
    modified = !c->allowed;
  }
  o = json_pack("{s:i, s:s?, s:s?, s:s?, s:b, s:b, s:b, s:s, s:s?, s:s?, s:s?}", "id", (int)index,
                "fieldName", s->field, "signerName", s->signer_subject, "signatureDate",
                s->signing_time, "integrityValid", s->integrity, "certificateTrusted", s->trusted,
                "modified", modified, "indication", vfy_indication_name(s->indication),
                "subIndication", s->subindication, "signatureAlgorithm", s->signature_algorithm,
                "digestAlgorithm", s->digest_algorithm);
  json_object_set_new(o, "signatureFormat", json_string(s->level ? s->level : ""));
  json_object_set_new(o, "timestamp", json_boolean(s->timestamp_present && s->timestamp_valid));
  json_object_set_new(o, "revocation", json_string(vfy_revocation_status_name(s->revocation)));
  if (s->signer_subject != NULL)
    json_object_set_new(o, "certificateDetails",
                        json_pack("[{s:s, s:s?, s:s?}]", "subject", s->signer_subject, "issuer",
                                  s->signer_issuer, "serialNumber", s->signer_serial));
  {
    json_t *en = json_array();
    for (guint i = 0; s->reasons_en != NULL && i < s->reasons_en->len; i++)
      json_array_append_new(en, json_string(g_ptr_array_index(s->reasons_en, i)));
    json_object_set_new(o, "reasons", en);
  }
  return o;
}

static ApiResponse *
bsre_verify(ApiRequest *req, gpointer user_data, GError **error)
{
  g_autoptr(json_t) body = NULL;
  g_autoptr(GBytes) pdf = NULL;
  g_autoptr(VfyReport) r = NULL;
  json_t *infos;
  const char *conclusion, *description;
  json_t *pw;

  if (!api_refuse_secret_in_query(req, error))
    return NULL;
  pdf = api_upload_pdf(req, "file", &body, error);
  if (pdf == NULL)
    return NULL;
  pw = body ? json_object_get(body, "password") : NULL;
  if (pw != NULL && !json_is_null(pw) && json_is_string(pw) && json_string_length(pw) > 0) {
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_NOT_SUPPORTED,
                        "password-protected PDFs are not supported");
    return NULL;
  }
  r = api_verify_pdf(req, pdf, FALSE, error);
  if (r == NULL)
    return NULL;
  infos = json_array();
  for (guint i = 0; i < r->signatures->len; i++)
    json_array_append_new(infos, bsre_signature_info(g_ptr_array_index(r->signatures, i), i));
  /* VALID only when every signature passed every check; INDETERMINATE (e.g. an unknown
   * root) is not VALID. */
  if (r->signatures->len == 0 && r->indication == VFY_TOTAL_PASSED) {
    conclusion = "NO_SIGNATURE";
    description = "Dokumen tidak memiliki tanda tangan elektronik";
  } else if (r->indication == VFY_TOTAL_PASSED) {
    conclusion = "VALID";
    description = "Dokumen valid, Sertifikat yang digunakan terpercaya";
  } else {
    conclusion = "INVALID";
    description = r->indication == VFY_TOTAL_FAILED
                      ? "Dokumen tidak valid atau telah diubah setelah ditandatangani"
                      : "Tanda tangan tidak dapat dipastikan (sertifikat tidak terpercaya atau "
                        "status pencabutan tidak diketahui)";
  }
  return api_response_json(200, json_pack("{s:s, s:s, s:s, s:i, s:o}", "nama_dokumen", "upload.pdf",
                                          "conclusion", conclusion, "description", description,
                                          "signatureCount", (int)r->signatures->len,
                                          "signatureInformations", infos));
}

static ApiResponse *
bsre_status(ApiRequest *req, gpointer user_data, GError **error)
{
  BsreCtx *ctx = user_data;
  ApiStore *store = api_request_store(req);
  const ApiPrincipal *who = api_request_principal(req);
  g_autoptr(json_t) body = api_request_json(req, error);
  g_autoptr(ApiSigner) s = NULL;
  g_autoptr(ApiKey) key = NULL;
  g_autoptr(GError) local = NULL;
  const char *status, *message;

  if (body == NULL)
    return NULL;
  s = signer_by_identity(store, body, &local);
  if (s == NULL && !g_error_matches(local, API_ERROR, API_ERROR_NOT_FOUND)) {
    g_propagate_error(error, g_steal_pointer(&local));
    return NULL;
  }
  /* A signer token learns only about its own signer: the register of NIKs is personal
   * data. */
  if (who->role == API_ROLE_SIGNER && (s == NULL || g_strcmp0(s->id, who->signer_id) != 0)) {
    g_set_error_literal(error, API_ERROR, API_ERROR_FORBIDDEN,
                        "a signer token may only check its own signer");
    return NULL;
  }
  if (s == NULL) {
    status = "NOT_REGISTERED";
    message = "Pengguna tidak terdaftar";
  } else if (g_strcmp0(s->state, "active") != 0) {
    status = "REVOKE";
    message = "Pengguna dinonaktifkan";
  } else if ((key = api_keycache_active_key(ctx->kc, store, s->id, &local)) == NULL) {
    if (!g_error_matches(local, API_ERROR, API_ERROR_CONFLICT)) {
      g_propagate_error(error, g_steal_pointer(&local));
      return NULL;
    }
    status = "NO_CERTIFICATE";
    message = "Pengguna belum memiliki sertifikat aktif";
  } else if (key->not_after != 0 && key->not_after < g_get_real_time()) {
    status = "REVOKE";
    message = "Sertifikat pengguna telah kedaluwarsa";
  } else {
    status = "ISSUE";
    message = "Sertifikat pengguna aktif";
  }
  return api_response_json(200, json_pack("{s:s, s:s}", "status", status, "message", message));
}

void
api_routes_bsre_register(ApiServer *srv, ApiKeyCache *kc)
{
  static BsreCtx ctx;

  ctx.kc = kc;
  api_server_add_route(srv, "POST", "/api/v2/sign/pdf", API_ALLOW_SIGNER | API_AUTH_BASIC,
                       bsre_sign, &ctx);
  api_server_add_route(srv, "POST", "/api/v2/verify/pdf", API_ALLOW_ANY | API_AUTH_BASIC,
                       bsre_verify, &ctx);
  api_server_add_route(srv, "POST", "/api/v2/user/check/status",
                       API_ALLOW_SIGNER | API_ALLOW_ADMIN | API_AUTH_BASIC, bsre_status, &ctx);
}
