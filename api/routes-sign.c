/* routes-sign.c — POST /api/v1/sign and /api/v1/sign/batch (role signer).
 *
 * Order of a signature, and why:
 *   1. everything about the request is validated before the token is touched;
 *   2. the key is opened with the passphrase of THIS request (sole control; a key kept
 *      open by the cache is used only when this passphrase is the one that opened it);
 *   3. the document id is drawn before signing, because the stamp's QR code carries it;
 *   4. with an Idempotency-Key, the signed bytes are kept (table `replay`) before the
 *      record, so a record always has its copy for a retry;
 *   5. the document record and its audit entry commit in one transaction;
 *   6. only then does the client get the signed PDF.
 */
#include "routes-svc.h"

#include "audit.h"
#include "routes.h"
#include "sig-sign.h"
#include "tte-error.h"
#include "tte-limits.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <openssl/evp.h>
#include <string.h>
#include <unistd.h>

#define API_IDEMPOTENCY_KEY_MAX 128u

/* ---- small shared helpers ----------------------------------------------------------- */

gboolean
api_refuse_secret_in_query(ApiRequest *req, GError **error)
{
  static const char *const names[] = {"passphrase", "pin", "password", "pass", "secret"};

  for (gsize i = 0; i < G_N_ELEMENTS(names); i++) {
    if (api_request_query(req, names[i]) != NULL) {
      /* The URL ends up in proxy logs and browser history: never accept it there, and
       * never echo it. */
      g_set_error(error, API_ERROR, API_ERROR_BAD_REQUEST,
                  "the %s must not be sent in the URL; send it in the body or in the "
                  "X-TTE-Passphrase header",
                  names[i]);
      return FALSE;
    }
  }
  return TRUE;
}

GBytes *
api_base64_decode(const char *text, gsize len, gsize max_out, const char *what, GError **error)
{
  g_autofree guchar *out = NULL;
  gint state = 0;
  guint save = 0;
  gsize n, chars = 0;

  /* A cheap upper bound first: 3 bytes per 4 characters. */
  if (len / 4 * 3 > max_out + 3) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT, "%s is larger than %" G_GSIZE_FORMAT " bytes",
                what, max_out);
    return NULL;
  }
  for (gsize i = 0; i < len; i++) {
    char c = text[i];
    if (g_ascii_isalnum(c) || c == '+' || c == '/')
      chars++;
    else if (c == '=' || c == '\r' || c == '\n' || c == ' ' || c == '\t')
      continue;
    else {
      g_set_error(error, API_ERROR, API_ERROR_BAD_REQUEST, "%s is not valid base64", what);
      return NULL;
    }
  }
  if (chars == 0 || chars % 4 == 1) {
    g_set_error(error, API_ERROR, API_ERROR_BAD_REQUEST, "%s is empty or not valid base64", what);
    return NULL;
  }
  out = g_malloc(len / 4 * 3 + 3);
  n = g_base64_decode_step(text, len, out, &state, &save);
  if (n > max_out) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT, "%s is larger than %" G_GSIZE_FORMAT " bytes",
                what, max_out);
    return NULL;
  }
  return g_bytes_new_take(g_steal_pointer(&out), n);
}

static void
digest_update_field(EVP_MD_CTX *ctx, const char *name, const void *data, gsize len)
{
  guint8 be[8];
  guint64 n = len;

  /* Length-prefixed fields: no two different jobs give the same byte stream. */
  for (int i = 7; i >= 0; i--) {
    be[i] = (guint8)(n & 0xff);
    n >>= 8;
  }
  EVP_DigestUpdate(ctx, name, strlen(name) + 1);
  EVP_DigestUpdate(ctx, be, sizeof be);
  if (len > 0)
    EVP_DigestUpdate(ctx, data, len);
}

static void
digest_str(EVP_MD_CTX *ctx, const char *name, const char *s)
{
  digest_update_field(ctx, name, s ? s : "", s ? strlen(s) + 1 : 0);
}

char *
api_sign_job_hash(const ApiSignJob *job)
{
  g_autoptr(EVP_MD_CTX) ctx = EVP_MD_CTX_new();
  guint8 md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  char num[G_ASCII_DTOSTR_BUF_SIZE * 4 + 64];
  gsize len = 0;
  const void *data;

  EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
  data = g_bytes_get_data(job->pdf, &len);
  digest_update_field(ctx, "pdf", data, len);
  if (job->image != NULL) {
    data = g_bytes_get_data(job->image, &len);
    digest_update_field(ctx, "image", data, len);
  }
  g_snprintf(num, sizeof num, "%u/%d/%d/%d/%.3f,%.3f,%.3f,%.3f", job->page, job->certify,
             job->have_rect, job->visible_qr, job->rect[0], job->rect[1], job->rect[2],
             job->rect[3]);
  digest_str(ctx, "numbers", num);
  digest_str(ctx, "field", job->field);
  digest_str(ctx, "anchor", job->anchor);
  digest_str(ctx, "reason", job->reason);
  digest_str(ctx, "location", job->location);
  digest_str(ctx, "contact", job->contact);
  EVP_DigestFinal_ex(ctx, md, &mdlen);
  {
    GString *hex = g_string_sized_new(64);
    for (unsigned int i = 0; i < mdlen; i++)
      g_string_append_printf(hex, "%02x", md[i]);
    return g_string_free(hex, FALSE);
  }
}

/* ---- request parsing ---------------------------------------------------------------- */

/* Where the options come from: form parts, the query (application/pdf) or JSON. */
typedef struct {
  GPtrArray *parts;      /* multipart */
  json_t *json;          /* JSON body or one batch item */
  json_t *json_defaults; /* batch: top-level options that items inherit */
  ApiRequest *query;     /* application/pdf: options in the query string */
  GPtrArray *scratch;    /* strings made for numbers / part values (owned) */
} OptSource;

static const char *
opt_get(OptSource *src, const char *name, GError **error)
{
  if (src->parts != NULL) {
    ApiPart *p = api_multipart_find(src->parts, name);
    gsize n = 0;
    const char *d;
    char *s;
    if (p == NULL)
      return NULL;
    d = g_bytes_get_data(p->data, &n);
    if (n > TTE_LIMIT_SIG_TEXT_MAX_LEN || (n > 0 && memchr(d, '\0', n) != NULL)) {
      g_set_error(error, API_ERROR, API_ERROR_BAD_REQUEST, "form field '%s' is too long", name);
      return NULL;
    }
    s = g_strndup(d, n);
    g_ptr_array_add(src->scratch, s);
    return s;
  }
  if (src->query != NULL)
    return api_request_query(src->query, name);
  for (json_t *o = src->json; o != NULL; o = (o == src->json ? src->json_defaults : NULL)) {
    json_t *v = json_object_get(o, name);
    if (v == NULL || json_is_null(v))
      continue;
    if (json_is_string(v))
      return api_json_optional_string(o, name, TTE_LIMIT_SIG_TEXT_MAX_LEN, error);
    if (json_is_integer(v) || json_is_real(v) || json_is_boolean(v)) {
      char *s;
      if (json_is_boolean(v))
        s = g_strdup(json_is_true(v) ? "true" : "false");
      else if (json_is_integer(v))
        s = g_strdup_printf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
      else {
        s = g_malloc(G_ASCII_DTOSTR_BUF_SIZE);
        g_ascii_dtostr(s, G_ASCII_DTOSTR_BUF_SIZE, json_real_value(v));
      }
      g_ptr_array_add(src->scratch, s);
      return s;
    }
    if (json_is_array(v) && strcmp(name, "rect") == 0 && json_array_size(v) == 4) {
      GString *g = g_string_new(NULL);
      for (gsize i = 0; i < 4; i++) {
        char b[G_ASCII_DTOSTR_BUF_SIZE];
        json_t *e = json_array_get(v, i);
        if (!json_is_number(e)) {
          g_string_free(g, TRUE);
          break;
        }
        g_ascii_dtostr(b, sizeof b, json_number_value(e));
        g_string_append_printf(g, "%s%s", i ? "," : "", b);
        if (i == 3) {
          char *s = g_string_free(g, FALSE);
          g_ptr_array_add(src->scratch, s);
          return s;
        }
      }
    }
    g_set_error(error, API_ERROR, API_ERROR_BAD_REQUEST, "field '%s' has the wrong type", name);
    return NULL;
  }
  return NULL;
}

static gboolean
parse_uint_opt(const char *s, const char *name, guint64 max, guint64 *out, GError **error)
{
  if (!g_ascii_string_to_unsigned(s, 10, 0, max, out, NULL)) {
    g_set_error(error, API_ERROR, API_ERROR_BAD_REQUEST,
                "%s must be a number 0..%" G_GUINT64_FORMAT, name, max);
    return FALSE;
  }
  return TRUE;
}

/* Fill the placement and text options of @job from @src. */
static gboolean
job_options(OptSource *src, ApiSignJob *job, GError **error)
{
  g_autoptr(GError) local = NULL;
  const char *page, *rect, *certify, *image;
  guint64 v;

#define OPT(dst, name)                                                                             \
  do {                                                                                             \
    dst = opt_get(src, name, &local);                                                              \
    if (local != NULL) {                                                                           \
      g_propagate_error(error, g_steal_pointer(&local));                                           \
      return FALSE;                                                                                \
    }                                                                                              \
  } while (0)
  OPT(page, "page");
  OPT(rect, "rect");
  OPT(certify, "certify");
  OPT(job->field, "field");
  OPT(job->anchor, "anchor");
  OPT(job->reason, "reason");
  OPT(job->location, "location");
  OPT(job->contact, "contact");
#undef OPT
  if (page != NULL) {
    if (!parse_uint_opt(page, "page", TTE_LIMIT_PDF_MAX_PAGES, &v, error))
      return FALSE;
    job->page = (guint)v;
  }
  if (certify != NULL) {
    if (!parse_uint_opt(certify, "certify", 3, &v, error))
      return FALSE;
    job->certify = (int)v;
  }
  if (rect != NULL) {
    if (!sig_parse_rect(rect, job->rect)) {
      g_set_error_literal(
          error, API_ERROR, API_ERROR_BAD_REQUEST,
          "rect must be X,Y,WIDTH,HEIGHT in points from the lower left of the page");
      return FALSE;
    }
    job->have_rect = TRUE;
  }
  if ((job->field != NULL) + (job->anchor != NULL) + job->have_rect > 1 ||
      (job->field != NULL && job->page != 0)) {
    g_set_error_literal(error, API_ERROR, API_ERROR_BAD_REQUEST,
                        "use one of rect (with page), field or anchor");
    return FALSE;
  }
  job->visible_qr = job->field != NULL || job->anchor != NULL || job->have_rect;
  /* The stamp image: a multipart part, or base64 in JSON. */
  if (src->parts != NULL) {
    ApiPart *p = api_multipart_find(src->parts, "image");
    if (p != NULL) {
      if (g_bytes_get_size(p->data) > TTE_LIMIT_IMAGE_MAX_SIZE) {
        g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT, "image larger than %u bytes",
                    TTE_LIMIT_IMAGE_MAX_SIZE);
        return FALSE;
      }
      job->image = g_bytes_ref(p->data);
    }
  } else if (src->json != NULL) {
    json_t *o = json_object_get(src->json, "image") ? src->json : src->json_defaults;
    json_t *iv = o ? json_object_get(o, "image") : NULL;
    if (iv != NULL && !json_is_null(iv)) {
      if (!json_is_string(iv)) {
        g_set_error_literal(error, API_ERROR, API_ERROR_BAD_REQUEST, "image must be base64 text");
        return FALSE;
      }
      image = json_string_value(iv);
      job->image = api_base64_decode(image, json_string_length(iv), TTE_LIMIT_IMAGE_MAX_SIZE,
                                     "image", error);
      if (job->image == NULL)
        return FALSE;
    }
  }
  if (job->image != NULL && !job->visible_qr) {
    g_set_error_literal(error, API_ERROR, API_ERROR_BAD_REQUEST,
                        "an image needs a visible stamp (rect, field or anchor)");
    return FALSE;
  }
  return TRUE;
}

static void
job_clear(ApiSignJob *job)
{
  g_clear_pointer(&job->pdf, g_bytes_unref);
  g_clear_pointer(&job->image, g_bytes_unref);
}

/* The passphrase: header X-TTE-Passphrase, or a body field; never both. */
static TteSecret *
take_passphrase(ApiRequest *req, const char *body_value, gsize body_len, GError **error)
{
  const char *h = api_request_header(req, "X-TTE-Passphrase");

  if (h != NULL && body_value != NULL) {
    g_set_error_literal(error, API_ERROR, API_ERROR_BAD_REQUEST,
                        "send the passphrase either in the header or in the body, not both");
    return NULL;
  }
  if (h != NULL)
    return tte_secret_new(h, strlen(h), error);
  if (body_value != NULL)
    return tte_secret_new(body_value, body_len, error);
  g_set_error_literal(error, TTE_ERROR, TTE_ERROR_PIN_INVALID,
                      "the signer's passphrase is required (field 'passphrase' or header "
                      "X-TTE-Passphrase)");
  return NULL;
}

/* ---- signing and recording ---------------------------------------------------------- */

static gboolean
write_temp_image(GBytes *image, char **path_out, GError **error)
{
  g_autofree char *path = NULL;
  gsize n = 0;
  const guint8 *d = g_bytes_get_data(image, &n);
  int fd = g_file_open_tmp("tte-stamp-XXXXXX", &path, error);

  if (fd < 0)
    return FALSE;
  while (n > 0) {
    ssize_t w = write(fd, d, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_IO, "cannot write the stamp image: %s",
                  g_strerror(errno));
      close(fd);
      (void)g_unlink(path);
      return FALSE;
    }
    d += w;
    n -= (gsize)w;
  }
  close(fd);
  *path_out = g_steal_pointer(&path);
  return TRUE;
}

ApiDocument *
api_sign_and_record(ApiRequest *req, ApiKeyCache *kc, const ApiSigner *signer, const ApiKey *key,
                    const char *seal, TteSigningKey *sk, const ApiSignJob *job,
                    const char *idempotency_key, const char *request_hash, GBytes **out,
                    GError **error)
{
  const ApiConfig *cfg = api_request_config(req);
  ApiStore *store = api_request_store(req);
  g_autofree char *actor = api_principal_actor(api_request_principal(req));
  g_autofree char *qr_base = NULL;
  g_autofree char *image_path = NULL;
  g_autoptr(ApiDocument) d = g_new0(ApiDocument, 1);
  g_autoptr(ApiAuditEntry) audit = NULL;
  g_autoptr(json_t) details = NULL;
  g_autoptr(GBytes) signed_pdf = NULL;
  SigOptions opts;
  SigResult res = {0};
  gint64 t0;

  /* 3. The id first: the QR code on the stamp points at the citizen page for it. */
  d->id = job->document_id != NULL ? g_strdup(job->document_id) : api_store_new_id("", error);
  if (d->id == NULL)
    return NULL;
  sig_options_init(&opts);
  opts.page = job->page;
  opts.have_rect = job->have_rect;
  memcpy(opts.rect, job->rect, sizeof opts.rect);
  opts.field_name = job->field;
  opts.anchor = job->anchor;
  opts.reason = job->reason;
  opts.location = job->location;
  opts.contact = job->contact;
  opts.certify = job->certify;
  opts.signer_name = signer->name;
  opts.title = signer->title;
  opts.organization = signer->organization;
  opts.timezone = cfg->time_zone;
  if (job->visible_qr && cfg->base_url != NULL) {
    gsize bl = strlen(cfg->base_url);
    qr_base =
        g_strconcat(cfg->base_url, (bl > 0 && cfg->base_url[bl - 1] == '/') ? "v/" : "/v/", NULL);
    opts.qr_url_base = qr_base;
    opts.document_id = d->id;
  }
  if (job->image != NULL) {
    if (!write_temp_image(job->image, &image_path, error))
      return NULL;
    opts.image_path = image_path;
  }
  t0 = g_get_monotonic_time();
  /* The token part of this is serialised against key opens by the key that
   * api_keycache_open returned (see keycache.h). */
  signed_pdf = sig_sign_bytes(job->pdf, sk, &opts, &res, error);
  if (image_path != NULL)
    (void)g_unlink(image_path);
  if (signed_pdf == NULL) {
    if (error != NULL && *error != NULL && (*error)->domain == TTE_ERROR &&
        ((*error)->code >= TTE_ERROR_MODULE_NOT_ALLOWED &&
         (*error)->code <= TTE_ERROR_CERT_MISMATCH)) {
      api_keycache_note_error(kc, *error);
      /* The token failed: the next request opens the key again (token reinserted). */
      api_keycache_key_failed(kc, sk, *error);
    }
    sig_result_clear(&res);
    return NULL;
  }
  api_keycache_note_sign(kc, (double)(g_get_monotonic_time() - t0) / G_USEC_PER_SEC);

  d->signer_id = g_strdup(signer->id);
  d->key_id = key != NULL ? g_strdup(key->id) : NULL; /* a seal's key is not in the table */
  d->signed_at = g_get_real_time();
  d->sha256 = g_strdup(res.document_sha256);
  d->status = g_strdup("valid");
  d->idempotency_key = g_strdup(idempotency_key);
  d->request_hash = g_strdup(request_hash);
  if (job->no_record) {
    /* An intermediate revision of several signatures: only the last is recorded. */
    sig_result_clear(&res);
    *out = g_steal_pointer(&signed_pdf);
    return g_steal_pointer(&d);
  }
  details = json_pack("{s:s, s:s, s:I, s:i}", "sha256", d->sha256, "signer", signer->id, "size",
                      (json_int_t)res.size, "signature", (int)res.signature_count);
  if (key != NULL)
    json_object_set_new(details, "key", json_string(key->id));
  if (seal != NULL)
    json_object_set_new(details, "seal", json_string(seal));
  if (res.field_name != NULL)
    json_object_set_new(details, "field", json_string(res.field_name));
  if (job->signatures_applied > 0)
    json_object_set_new(details, "signatures_applied", json_integer(job->signatures_applied));
  if (idempotency_key != NULL)
    json_object_set_new(details, "idempotency_key", json_string(idempotency_key));
  sig_result_clear(&res);

  /* 4. The copy for retries before the record: a record without its copy could not be
   * replayed, a copy without a record is harmless (expires). */
  if (idempotency_key != NULL && cfg->replay_max_bytes > 0 &&
      !store->ops->replay_put(store, signer->id, idempotency_key, d->sha256, signed_pdf,
                              d->signed_at, (gint64)cfg->replay_max_age_s * G_USEC_PER_SEC,
                              cfg->replay_max_bytes, error))
    return NULL;

  /* 5. Record and audit in one transaction (the same as api_document_record, but with
   * the id drawn before signing). */
  audit =
      api_audit_entry_new(actor, seal != NULL ? "document.seal" : "document.sign", d->id, details);
  audit->time = d->signed_at;
  if (!store->ops->document_insert(store, d, audit, error))
    return NULL;
  *out = g_steal_pointer(&signed_pdf);
  return g_steal_pointer(&d);
}

/* ---- responses ---------------------------------------------------------------------- */

static gboolean
wants_json(ApiRequest *req)
{
  const char *fmt = api_request_query(req, "format");
  const char *accept = api_request_header(req, "Accept");

  if (fmt != NULL)
    return strcmp(fmt, "json") == 0;
  return accept != NULL && strstr(accept, "application/json") != NULL &&
         strstr(accept, "application/pdf") == NULL;
}

static char *
verify_url(const ApiConfig *cfg, const char *id)
{
  gsize bl = cfg->base_url ? strlen(cfg->base_url) : 0;

  return g_strconcat(cfg->base_url ? cfg->base_url : "",
                     (bl > 0 && cfg->base_url[bl - 1] == '/') ? "v/" : "/v/", id, NULL);
}

static json_t *
document_json(const ApiConfig *cfg, const ApiDocument *d, GBytes *pdf, gboolean with_file)
{
  g_autofree char *url = verify_url(cfg, d->id);
  g_autofree char *at = api_time_format(d->signed_at);
  json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "document_id", d->id, "sha256", d->sha256,
                        "signed_at", at, "verify_url", url, "key_id", d->key_id ? d->key_id : "");

  if (with_file && pdf != NULL) {
    gsize n = 0;
    const guint8 *data = g_bytes_get_data(pdf, &n);
    g_autofree char *b64 = g_base64_encode(data, n);
    json_object_set_new(o, "size", json_integer((json_int_t)n));
    json_object_set_new(o, "file", json_string(b64));
  }
  return o;
}

static ApiResponse *
sign_response(ApiRequest *req, const ApiDocument *d, GBytes *pdf, gboolean replayed)
{
  ApiResponse *resp;

  if (wants_json(req)) {
    resp = api_response_json(replayed ? 200 : 201,
                             document_json(api_request_config(req), d, pdf, TRUE));
  } else {
    g_autofree char *disp = g_strdup_printf("attachment; filename=\"%s.pdf\"", d->id);
    resp = api_response_bytes(replayed ? 200 : 201, "application/pdf", pdf);
    api_response_add_header(resp, "Content-Disposition", disp);
  }
  api_response_add_header(resp, "X-Document-Id", d->id);
  api_response_add_header(resp, "X-Document-SHA256", d->sha256);
  if (replayed)
    api_response_add_header(resp, "Idempotent-Replayed", "true");
  return resp;
}

/* An earlier result for this Idempotency-Key: the same bytes, or a clear refusal. */
static ApiResponse *
replay(ApiRequest *req, const ApiDocument *d, const char *request_hash, GError **error)
{
  ApiStore *store = api_request_store(req);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) local = NULL;

  if (g_strcmp0(d->request_hash, request_hash) != 0) {
    g_set_error_literal(error, API_ERROR, API_ERROR_CONFLICT,
                        "this Idempotency-Key was used for a different request");
    return NULL;
  }
  bytes = store->ops->replay_get(store, d->signer_id, d->idempotency_key, d->sha256, &local);
  if (bytes == NULL) {
    if (!g_error_matches(local, API_ERROR, API_ERROR_NOT_FOUND)) {
      g_propagate_error(error, g_steal_pointer(&local));
      return NULL;
    }
    g_set_error(error, API_ERROR, API_ERROR_CONFLICT,
                "this Idempotency-Key already signed document %s; its copy is no longer kept "
                "(GET /api/v1/documents/%s)",
                d->id, d->id);
    return NULL;
  }
  return sign_response(req, d, bytes, TRUE);
}

/* ---- POST /api/v1/sign -------------------------------------------------------------- */

typedef struct {
  ApiKeyCache *kc;
} SignCtx;

/* Read the document, options and passphrase from any of the three body forms. */
static gboolean
read_sign_request(ApiRequest *req, ApiSignJob *job, TteSecret **pin, OptSource *src,
                  json_t **json_keep, GPtrArray **parts_keep, GError **error)
{
  TteSecret *no_pin = NULL; /* @pin == NULL: a seal request, where a passphrase is refused */
  const char *ctype = api_request_header(req, "Content-Type");

  if (pin == NULL)
    pin = &no_pin;
  g_autofree char *boundary = api_multipart_boundary(ctype);
  g_autoptr(GBytes) body = NULL;

  if (api_request_body_size(req) == 0) {
    g_set_error_literal(error, API_ERROR, API_ERROR_BAD_REQUEST,
                        "no document: send a PDF (application/pdf, multipart/form-data with a "
                        "'file' part, or JSON with base64 'file')");
    return FALSE;
  }
  if (boundary != NULL) {
    ApiPart *file, *pass;
    gsize plen = 0;
    const char *pdata = NULL;

    body = api_request_body_bytes(req, error);
    if (body == NULL)
      return FALSE;
    *parts_keep = api_multipart_parse(body, boundary, error);
    if (*parts_keep == NULL)
      return FALSE;
    src->parts = *parts_keep;
    file = api_multipart_find(src->parts, "file");
    if (file == NULL) {
      g_set_error_literal(error, API_ERROR, API_ERROR_BAD_REQUEST, "missing form part 'file'");
      return FALSE;
    }
    job->pdf = g_bytes_ref(file->data);
    job->name = file->filename;
    pass = api_multipart_find(src->parts, "passphrase");
    if (pass != NULL)
      pdata = g_bytes_get_data(pass->data, &plen);
    if (pass != NULL && plen == 0)
      pdata = "";
    *pin = take_passphrase(req, pdata, plen, error);
  } else if (ctype != NULL && g_ascii_strncasecmp(ctype, "application/json", 16) == 0) {
    json_t *f, *p;

    *json_keep = api_request_json(req, error);
    if (*json_keep == NULL)
      return FALSE;
    src->json = *json_keep;
    f = json_object_get(src->json, "file");
    if (f == NULL || !json_is_string(f)) {
      g_set_error_literal(error, API_ERROR, API_ERROR_BAD_REQUEST,
                          "missing field 'file' (the PDF in base64)");
      return FALSE;
    }
    job->pdf = api_base64_decode(json_string_value(f), json_string_length(f),
                                 api_request_config(req)->body_max, "file", error);
    if (job->pdf == NULL)
      return FALSE;
    p = json_object_get(src->json, "passphrase");
    if (p != NULL && !json_is_string(p)) {
      g_set_error_literal(error, API_ERROR, API_ERROR_BAD_REQUEST, "passphrase must be a string");
      return FALSE;
    }
    *pin =
        take_passphrase(req, p ? json_string_value(p) : NULL, p ? json_string_length(p) : 0, error);
  } else if (ctype != NULL && g_ascii_strncasecmp(ctype, "application/pdf", 15) == 0) {
    job->pdf = api_request_body_bytes(req, error);
    if (job->pdf == NULL)
      return FALSE;
    src->query = req;
    *pin = take_passphrase(req, NULL, 0, error);
  } else {
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_NOT_PDF,
                        "send application/pdf, multipart/form-data or application/json");
    return FALSE;
  }
  if (pin == &no_pin) {
    /* A seal's PIN is the service's: a passphrase here is a client mistake (and a secret
     * it should not be sending).  "None given" is the PIN_INVALID of take_passphrase. */
    gboolean none = no_pin == NULL && error != NULL && *error != NULL &&
                    g_error_matches(*error, TTE_ERROR, TTE_ERROR_PIN_INVALID);
    g_clear_pointer(&no_pin, tte_secret_free);
    g_clear_error(error);
    if (!none) {
      g_set_error_literal(error, API_ERROR, API_ERROR_BAD_REQUEST,
                          "a seal request carries no passphrase");
      return FALSE;
    }
  } else if (*pin == NULL) {
    return FALSE;
  }
  return job_options(src, job, error);
}

gboolean
api_signer_is_seal(const ApiSigner *signer)
{
  return signer != NULL && g_str_has_prefix(signer->identifier, API_SEAL_IDENTIFIER_PREFIX);
}

/* POST /api/v1/sign (@seal_mode FALSE) and POST /api/v1/seal (TRUE): the same body forms,
 * options, idempotency and recording; a signer's key with their passphrase, or a seal's
 * key with the PIN the service holds. */
static ApiResponse *
sign_or_seal(ApiRequest *req, SignCtx *ctx, gboolean seal_mode, GError **error)
{
  ApiStore *store = api_request_store(req);
  const ApiPrincipal *who = api_request_principal(req);
  const char *idem = api_request_header(req, "Idempotency-Key");
  g_autoptr(json_t) json = NULL;
  g_autoptr(GPtrArray) parts = NULL;
  g_autoptr(GPtrArray) scratch = g_ptr_array_new_with_free_func(g_free);
  g_autoptr(TteSecret) pin = NULL;
  g_autoptr(ApiSigner) signer = NULL;
  g_autoptr(ApiKey) key = NULL;
  g_autoptr(TteSigningKey) sk = NULL;
  g_autoptr(ApiDocument) d = NULL;
  g_autoptr(GBytes) out = NULL;
  g_autofree char *req_hash = NULL;
  const ApiSealConfig *seal = NULL;
  OptSource src = {.scratch = scratch};
  ApiSignJob job = {0};
  ApiResponse *resp = NULL;

  if (!api_refuse_secret_in_query(req, error))
    return NULL;
  if (idem != NULL && (strlen(idem) == 0 || strlen(idem) > API_IDEMPOTENCY_KEY_MAX)) {
    g_set_error(error, API_ERROR, API_ERROR_BAD_REQUEST, "Idempotency-Key must be 1..%u bytes",
                API_IDEMPOTENCY_KEY_MAX);
    return NULL;
  }
  /* Who may do what, before the body is parsed: a seal's token only seals, a person's
   * token only signs (the role check already kept admins and the public out). */
  signer = store->ops->signer_get(store, who->signer_id, error);
  if (signer == NULL)
    return NULL;
  if (api_signer_is_seal(signer) != seal_mode) {
    g_set_error_literal(error, API_ERROR, API_ERROR_FORBIDDEN,
                        seal_mode ? "this API token is not authorised for a seal"
                                  : "a seal's API token may only seal (POST /api/v1/seal)");
    return NULL;
  }
  if (seal_mode) {
    seal = api_config_find_seal(api_request_config(req),
                                signer->identifier + strlen(API_SEAL_IDENTIFIER_PREFIX));
    if (seal == NULL) {
      g_set_error(error, API_ERROR, API_ERROR_FORBIDDEN,
                  "the seal of this API token (%s) is not configured",
                  signer->identifier + strlen(API_SEAL_IDENTIFIER_PREFIX));
      return NULL;
    }
  }
  if (!read_sign_request(req, &job, seal_mode ? NULL : &pin, &src, &json, &parts, error))
    goto out;
  req_hash = api_sign_job_hash(&job);
  if (idem != NULL) {
    g_autoptr(GError) local = NULL;
    g_autoptr(ApiDocument) prev =
        store->ops->document_find_idempotent(store, who->signer_id, idem, &local);
    if (prev != NULL) {
      resp = replay(req, prev, req_hash, error);
      goto out;
    }
    if (!g_error_matches(local, API_ERROR, API_ERROR_NOT_FOUND)) {
      g_propagate_error(error, g_steal_pointer(&local));
      goto out;
    }
  }
  if (seal_mode) {
    /* The stamp shows the seal as configured now. */
    g_free(signer->name);
    signer->name = g_strdup(seal->display_name);
    g_free(signer->title);
    signer->title = g_strdup(seal->title);
    g_free(signer->organization);
    signer->organization = g_strdup(seal->organization);
    sk = api_keycache_open_seal(ctx->kc, seal, error);
  } else {
    sk = api_keycache_open_active(ctx->kc, store, signer->id, &pin, &key, error);
  }
  if (sk == NULL)
    goto out;
  d = api_sign_and_record(req, ctx->kc, signer, key, seal ? seal->name : NULL, sk, &job, idem,
                          req_hash, &out, error);
  if (d == NULL) {
    /* A concurrent retry with the same key won the race: answer with its result. */
    if (idem != NULL && error != NULL && g_error_matches(*error, API_ERROR, API_ERROR_CONFLICT)) {
      g_autoptr(ApiDocument) prev =
          store->ops->document_find_idempotent(store, who->signer_id, idem, NULL);
      if (prev != NULL) {
        g_clear_error(error);
        resp = replay(req, prev, req_hash, error);
      }
    }
    goto out;
  }
  resp = sign_response(req, d, out, FALSE);
out:
  job_clear(&job);
  return resp;
}

static ApiResponse *
handle_sign(ApiRequest *req, gpointer user_data, GError **error)
{
  return sign_or_seal(req, user_data, FALSE, error);
}

static ApiResponse *
handle_seal(ApiRequest *req, gpointer user_data, GError **error)
{
  return sign_or_seal(req, user_data, TRUE, error);
}

/* ---- POST /api/v1/sign/batch -------------------------------------------------------- */

static json_t *
error_json(const GError *e)
{
  guint status = api_error_http_status(e);
  const char *msg =
      status >= 500 && status != 503 ? "internal error; see the service log" : e->message;

  if (status >= 500 && status != 503)
    api_log("batch item failed: %s [%s]", e->message, api_error_code_string(e));
  return json_pack("{s:i, s:{s:s, s:s}}", "status", (int)status, "error", "code",
                   api_error_code_string(e), "message", msg);
}

static ApiResponse *
handle_sign_batch(ApiRequest *req, gpointer user_data, GError **error)
{
  SignCtx *ctx = user_data;
  ApiStore *store = api_request_store(req);
  const ApiPrincipal *who = api_request_principal(req);
  const char *ctype = api_request_header(req, "Content-Type");
  g_autofree char *boundary = api_multipart_boundary(ctype);
  g_autoptr(json_t) body = NULL;
  g_autoptr(GBytes) raw = NULL;
  g_autoptr(GPtrArray) parts = NULL;
  g_autoptr(GPtrArray) jobs = g_ptr_array_new(); /* ApiSignJob* (freed below) */
  g_autoptr(GPtrArray) scratch = g_ptr_array_new_with_free_func(g_free);
  g_autoptr(TteSecret) pin = NULL;
  g_autoptr(ApiSigner) signer = NULL;
  g_autoptr(ApiKey) key = NULL;
  g_autoptr(TteSigningKey) sk = NULL;
  json_t *results = NULL;
  guint ok_count = 0;
  ApiResponse *resp = NULL;

  if (!api_refuse_secret_in_query(req, error))
    return NULL;
  if (api_request_header(req, "Idempotency-Key") != NULL) {
    g_set_error_literal(error, API_ERROR, API_ERROR_BAD_REQUEST,
                        "Idempotency-Key is supported by POST /api/v1/sign only");
    return NULL;
  }
  signer = store->ops->signer_get(store, who->signer_id, error);
  if (signer == NULL)
    return NULL;
  if (api_signer_is_seal(signer)) {
    g_set_error_literal(error, API_ERROR, API_ERROR_FORBIDDEN,
                        "a seal's API token may only seal (POST /api/v1/seal)");
    return NULL;
  }
  if (boundary != NULL) {
    OptSource src = {.scratch = scratch};
    ApiPart *pass;
    gsize plen = 0;
    const char *pdata = NULL;

    raw = api_request_body_bytes(req, error);
    if (raw == NULL)
      return NULL;
    parts = api_multipart_parse(raw, boundary, error);
    if (parts == NULL)
      return NULL;
    src.parts = parts;
    pass = api_multipart_find(parts, "passphrase");
    if (pass != NULL)
      pdata = g_bytes_get_data(pass->data, &plen);
    if (pass != NULL && plen == 0)
      pdata = "";
    /* Every "file" part is one letter; the other fields apply to all of them. */
    for (guint i = 0; i < parts->len; i++) {
      ApiPart *p = g_ptr_array_index(parts, i);
      ApiSignJob *job;
      if (g_strcmp0(p->name, "file") != 0)
        continue;
      job = g_new0(ApiSignJob, 1);
      g_ptr_array_add(jobs, job);
      job->pdf = g_bytes_ref(p->data);
      job->name = p->filename;
      if (!job_options(&src, job, error))
        goto out;
    }
    pin = take_passphrase(req, pdata, plen, error);
  } else if (ctype != NULL && g_ascii_strncasecmp(ctype, "application/json", 16) == 0) {
    json_t *docs, *p;
    gsize i;
    json_t *item;

    body = api_request_json(req, error);
    if (body == NULL)
      return NULL;
    docs = json_object_get(body, "documents");
    if (docs == NULL || !json_is_array(docs)) {
      g_set_error_literal(error, API_ERROR, API_ERROR_BAD_REQUEST,
                          "missing field 'documents' (an array of {\"file\": base64, ...})");
      return NULL;
    }
    json_array_foreach(docs, i, item)
    {
      OptSource src = {.scratch = scratch, .json = item, .json_defaults = body};
      ApiSignJob *job;
      json_t *f = json_object_get(item, "file");
      if (!json_is_object(item) || f == NULL || !json_is_string(f)) {
        g_set_error(error, API_ERROR, API_ERROR_BAD_REQUEST,
                    "documents[%" G_GSIZE_FORMAT "] needs a base64 'file'", i);
        goto out;
      }
      if (i >= TTE_LIMIT_BATCH_MAX_FILES)
        break;
      job = g_new0(ApiSignJob, 1);
      g_ptr_array_add(jobs, job);
      job->name = json_string_value(json_object_get(item, "name"));
      job->pdf = api_base64_decode(json_string_value(f), json_string_length(f),
                                   api_request_config(req)->body_max, "file", error);
      if (job->pdf == NULL || !job_options(&src, job, error)) {
        g_prefix_error(error, "documents[%" G_GSIZE_FORMAT "]: ", i);
        goto out;
      }
    }
    if (json_array_size(docs) > TTE_LIMIT_BATCH_MAX_FILES)
      g_ptr_array_set_size(jobs, jobs->len); /* checked below */
    p = json_object_get(body, "passphrase");
    if (p != NULL && !json_is_string(p)) {
      g_set_error_literal(error, API_ERROR, API_ERROR_BAD_REQUEST, "passphrase must be a string");
      goto out;
    }
    if (json_array_size(docs) > TTE_LIMIT_BATCH_MAX_FILES) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT, "at most %u documents per batch",
                  TTE_LIMIT_BATCH_MAX_FILES);
      goto out;
    }
    pin =
        take_passphrase(req, p ? json_string_value(p) : NULL, p ? json_string_length(p) : 0, error);
  } else {
    g_set_error_literal(error, API_ERROR, API_ERROR_BAD_REQUEST,
                        "send multipart/form-data (several 'file' parts) or application/json");
    return NULL;
  }
  if (pin == NULL)
    goto out;
  if (jobs->len == 0 || jobs->len > TTE_LIMIT_BATCH_MAX_FILES) {
    g_set_error(error, API_ERROR, API_ERROR_BAD_REQUEST, "send 1 to %u documents",
                TTE_LIMIT_BATCH_MAX_FILES);
    goto out;
  }
  /* One passphrase, one key, every letter. */
  sk = api_keycache_open_active(ctx->kc, store, signer->id, &pin, &key, error);
  if (sk == NULL)
    goto out;
  results = json_array();
  for (guint i = 0; i < jobs->len; i++) {
    ApiSignJob *job = g_ptr_array_index(jobs, i);
    g_autoptr(GError) local = NULL;
    g_autoptr(GBytes) out = NULL;
    g_autoptr(ApiDocument) d =
        api_sign_and_record(req, ctx->kc, signer, key, NULL, sk, job, NULL, NULL, &out, &local);
    json_t *r;

    if (d != NULL) {
      r = document_json(api_request_config(req), d, out, TRUE);
      json_object_set_new(r, "status", json_integer(201));
      ok_count++;
    } else {
      r = error_json(local);
    }
    json_object_set_new(r, "index", json_integer(i));
    if (job->name != NULL)
      json_object_set_new(r, "name", json_string(job->name));
    json_array_append_new(results, r);
  }
  resp = api_response_json(ok_count == jobs->len ? 200 : 207,
                           json_pack("{s:i, s:i, s:o}", "signed", (int)ok_count, "failed",
                                     (int)(jobs->len - ok_count), "results", results));
out:
  for (guint i = 0; i < jobs->len; i++) {
    ApiSignJob *job = g_ptr_array_index(jobs, i);
    job_clear(job);
    g_free(job);
  }
  return resp;
}

void
api_routes_sign_register(ApiServer *srv, ApiKeyCache *kc)
{
  static SignCtx ctx;

  ctx.kc = kc;
  api_server_add_route(srv, "POST", "/api/v1/sign", API_ALLOW_SIGNER, handle_sign, &ctx);
  api_server_add_route(srv, "POST", "/api/v1/sign/batch", API_ALLOW_SIGNER, handle_sign_batch,
                       &ctx);
  /* Seal tokens are signer-role tokens of the seal's register entry (see routes-svc.h). */
  api_server_add_route(srv, "POST", "/api/v1/seal", API_ALLOW_SIGNER, handle_seal, &ctx);
}

void
api_routes_service_register(ApiServer *srv, ApiKeyCache *kc)
{
  api_keycache_attach(kc, srv);
  api_routes_sign_register(srv, kc);
  api_routes_verify_register(srv);
  api_routes_keys_register(srv, kc);
  api_routes_bsre_register(srv, kc);
  /* Last: the OpenAPI document lists every route registered before it. */
  api_openapi_register(srv);
}
