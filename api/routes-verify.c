/* routes-verify.c — POST /api/v1/verify (public): the `tte verify --json` report. */
#include "routes-svc.h"

#include "tte-error.h"

#include <string.h>

VfyReport *
api_verify_pdf(ApiRequest *req, GBytes *pdf, gboolean skip_visual, GError **error)
{
  const ApiConfig *cfg = api_request_config(req);
  VfyOptions opts = {0};
  gsize len = 0;
  const guint8 *data = g_bytes_get_data(pdf, &len);

  /* Only the configured anchors: an upload is never trusted because of the system
   * store, and the service does not fetch from URLs an uploaded file names. */
  opts.trust_files = (const char *const *)cfg->trust_roots;
  opts.intermediate_files = (const char *const *)cfg->intermediates;
  opts.crl_files = (const char *const *)cfg->crls;
  opts.skip_visual = skip_visual;
  if (len == 0) {
    g_set_error_literal(error, API_ERROR, API_ERROR_BAD_REQUEST, "empty document");
    return NULL;
  }
  return vfy_verify_bytes(data, len, "upload.pdf", &opts, error);
}

GBytes *
api_upload_pdf(ApiRequest *req, const char *part_name, json_t **json_out, GError **error)
{
  const char *ctype = api_request_header(req, "Content-Type");
  g_autofree char *boundary = api_multipart_boundary(ctype);

  if (api_request_body_size(req) == 0) {
    g_set_error_literal(error, API_ERROR, API_ERROR_BAD_REQUEST, "no document in the request");
    return NULL;
  }
  if (boundary != NULL) {
    g_autoptr(GBytes) body = api_request_body_bytes(req, error);
    g_autoptr(GPtrArray) parts = NULL;
    ApiPart *p;

    if (body == NULL)
      return NULL;
    parts = api_multipart_parse(body, boundary, error);
    if (parts == NULL)
      return NULL;
    p = api_multipart_find(parts, part_name);
    if (p == NULL) {
      g_set_error(error, API_ERROR, API_ERROR_BAD_REQUEST, "missing form part '%s'", part_name);
      return NULL;
    }
    return g_bytes_ref(p->data);
  }
  if (ctype != NULL && g_ascii_strncasecmp(ctype, "application/json", 16) == 0) {
    g_autoptr(json_t) o = api_request_json(req, error);
    json_t *f;
    GBytes *b;

    if (o == NULL)
      return NULL;
    f = json_object_get(o, part_name);
    if (f == NULL || !json_is_string(f)) {
      g_set_error(error, API_ERROR, API_ERROR_BAD_REQUEST, "missing field '%s' (base64 PDF)",
                  part_name);
      return NULL;
    }
    b = api_base64_decode(json_string_value(f), json_string_length(f),
                          api_request_config(req)->body_max, part_name, error);
    if (b != NULL && json_out != NULL)
      *json_out = g_steal_pointer(&o);
    return b;
  }
  if (ctype == NULL || g_ascii_strncasecmp(ctype, "application/pdf", 15) == 0 ||
      g_ascii_strncasecmp(ctype, "application/octet-stream", 24) == 0)
    return api_request_body_bytes(req, error);
  g_set_error_literal(error, TTE_ERROR, TTE_ERROR_NOT_PDF,
                      "send application/pdf, multipart/form-data or application/json");
  return NULL;
}

static ApiResponse *
handle_verify(ApiRequest *req, gpointer user_data, GError **error)
{
  const char *visual = api_request_query(req, "visual");
  g_autoptr(GBytes) pdf = NULL;
  g_autoptr(VfyReport) report = NULL;
  gboolean skip_visual =
      visual != NULL && (strcmp(visual, "0") == 0 || strcmp(visual, "false") == 0);

  pdf = api_upload_pdf(req, "file", NULL, error);
  if (pdf == NULL)
    return NULL;
  report = api_verify_pdf(req, pdf, skip_visual, error);
  if (report == NULL)
    return NULL;
  /* The verifier's own JSON, unchanged: one schema for the CLI and the API. */
  return api_response_text(200, "application/json", vfy_report_to_json(report));
}

void
api_routes_verify_register(ApiServer *srv)
{
  api_server_add_route(srv, "POST", "/api/v1/verify", API_ALLOW_ANY, handle_verify, NULL);
}
