/* http.c — libmicrohttpd daemon, router, request bodies, JSON errors, metrics. */
#include "http.h"

#include "tte-error.h"
#include "tte-limits.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_SEGMENTS 16
#define MAX_PARAM_LEN 64
/* Bytes of an over-long chunked body we discard (to be able to answer 413) before
 * closing the connection instead. */
#define API_HTTP_DRAIN_MAX (1024u * 1024u)

typedef struct {
  char *method;
  char *pattern;
  char **segments; /* pattern split on '/', without the leading empty one */
  guint n_segments;
  guint allowed;
  ApiHandler handler;
  ApiErrorRenderer render_error; /* NULL: JSON errors */
  gpointer user_data;
} Route;

typedef struct {
  char *name;
  ApiReadyCheck check;
  gpointer user_data;
} ReadyCheck;

/* Prometheus histogram buckets (seconds). */
static const double latency_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
#define N_BUCKETS G_N_ELEMENTS(latency_buckets)

typedef struct {
  guint64 buckets[N_BUCKETS]; /* non-cumulative; summed when printed */
  guint64 count;
  double sum;
} Histogram;

struct ApiServer {
  const ApiConfig *config;
  ApiStore *store;
  GPtrArray *routes;       /* Route* */
  GPtrArray *ready_checks; /* ReadyCheck* */
  struct MHD_Daemon *daemon;
  guint16 port;
  gint inflight;
  char *tls_cert_pem;
  char *tls_key_pem;
  GMutex metrics_lock;
  GHashTable *counters;       /* "route\tmethod\tstatus" -> guint64* */
  GHashTable *histograms;     /* route -> Histogram* */
  GPtrArray *metrics_sources; /* MetricsSource* */
  /* Handlers run here, not in the MHD thread that read the request (see dispatch()). */
  GThreadPool *work;
  gint stopping; /* queued handlers answer 503 instead of running */
};

typedef struct {
  ApiMetricsRender render;
  gpointer user_data;
} MetricsSource;

struct ApiResponse {
  guint status;
  char *content_type;
  char *body;    /* g_malloc'd, or NULL when @bytes holds the body */
  GBytes *bytes; /* a binary body, referenced rather than copied */
  gsize body_len;
  GPtrArray *headers; /* name, value, name, value... */
};

struct ApiRequest {
  ApiServer *srv;
  struct MHD_Connection *conn;
  gint64 start_us;
  char *method;
  char *path;
  const Route *route;
  char *param_names[MAX_SEGMENTS];
  char *param_values[MAX_SEGMENTS];
  guint n_params;
  ApiPrincipal principal;
  /* body: in memory up to the spool threshold, then in an unlinked temporary file */
  GByteArray *mem;
  GBytes *mem_bytes; /* @mem once a handler asked for the body (api_request_body_bytes) */
  int fd;
  guint64 body_len;
  gboolean responded;
  guint status;
  GError *deferred_error; /* body failed mid-upload: answered once the upload ends */
  guint64 drained;        /* bytes discarded since */
  /* dispatch(): set while the connection is suspended, read when MHD calls back */
  gboolean dispatched;
  ApiResponse *result;
  GError *result_error;
};

/* ---- logging ------------------------------------------------------------------------ */

void
api_log(const char *fmt, ...)
{
  va_list ap;
  g_autofree char *msg = NULL;

  va_start(ap, fmt);
  msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  /* One write per line so lines from pool threads do not interleave. */
  {
    g_autofree char *line = g_strconcat("tte: ", msg, "\n", NULL);
    gsize n = strlen(line);
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
  }
}

/* ---- errors ------------------------------------------------------------------------- */

typedef struct {
  gboolean api_domain; /* FALSE: TTE_ERROR */
  int code;
  guint status;
} StatusMap;

/* The ONE table: every TTE_ERROR and API_ERROR code with its HTTP status.  Codes not
 * listed (and other domains) are 500. */
static const StatusMap status_map[] = {
    {FALSE, TTE_ERROR_FAILED, 500},
    {FALSE, TTE_ERROR_INVALID_ARGUMENT, 400},
    {FALSE, TTE_ERROR_IO, 500},
    {FALSE, TTE_ERROR_LIMIT, 413},
    {FALSE, TTE_ERROR_NOT_SUPPORTED, 422},
    {FALSE, TTE_ERROR_CRYPTO, 500},
    {FALSE, TTE_ERROR_MODULE_NOT_ALLOWED, 500},
    {FALSE, TTE_ERROR_MODULE_LOAD, 503},
    {FALSE, TTE_ERROR_TOKEN_NOT_FOUND, 503},
    {FALSE, TTE_ERROR_TOKEN, 503},
    {FALSE, TTE_ERROR_PIN_INCORRECT, 403},
    {FALSE, TTE_ERROR_PIN_LOCKED, 423},
    {FALSE, TTE_ERROR_PIN_INVALID, 400},
    {FALSE, TTE_ERROR_KEY_NOT_FOUND, 409},
    {FALSE, TTE_ERROR_KEY_EXISTS, 409},
    {FALSE, TTE_ERROR_CERT_NOT_FOUND, 409},
    {FALSE, TTE_ERROR_CERT_MISMATCH, 422},
    {FALSE, TTE_ERROR_NOT_PDF, 415},
    {FALSE, TTE_ERROR_PDF_DAMAGED, 422},
    {FALSE, TTE_ERROR_PDF_ENCRYPTED, 422},
    {FALSE, TTE_ERROR_PDF_UNSUPPORTED, 422},
    {FALSE, TTE_ERROR_FIELD_NOT_FOUND, 422},
    {FALSE, TTE_ERROR_FIELD_SIGNED, 409},
    {FALSE, TTE_ERROR_ANCHOR_NOT_FOUND, 422},
    {FALSE, TTE_ERROR_CERTIFIED_NO_CHANGES, 409},
    {FALSE, TTE_ERROR_NO_SIGNATURE, 422},
    {FALSE, TTE_ERROR_FORMAT, 422},
    {TRUE, API_ERROR_NOT_FOUND, 404},
    {TRUE, API_ERROR_CONFLICT, 409},
    {TRUE, API_ERROR_UNAUTHORIZED, 401},
    {TRUE, API_ERROR_FORBIDDEN, 403},
    {TRUE, API_ERROR_BAD_REQUEST, 400},
    {TRUE, API_ERROR_METHOD_NOT_ALLOWED, 405},
    {TRUE, API_ERROR_PAYLOAD_TOO_LARGE, 413},
    {TRUE, API_ERROR_UNAVAILABLE, 503},
    {TRUE, API_ERROR_STORAGE, 500},
    {TRUE, API_ERROR_SCHEMA, 500},
};

guint
api_error_http_status(const GError *error)
{
  gboolean api;

  if (error == NULL)
    return 500;
  if (error->domain != TTE_ERROR && error->domain != API_ERROR)
    return 500;
  api = error->domain == API_ERROR;
  for (gsize i = 0; i < G_N_ELEMENTS(status_map); i++)
    if (status_map[i].api_domain == api && status_map[i].code == error->code)
      return status_map[i].status;
  return 500;
}

const char *
api_error_code_string(const GError *error)
{
  if (error != NULL && error->domain == API_ERROR)
    return api_error_code_name(error->code);
  if (error != NULL && error->domain == TTE_ERROR)
    return tte_error_code_name(error->code);
  return "INTERNAL";
}

static ApiResponse *
error_response(guint status, const char *code, const char *message)
{
  json_t *body = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", message);
  return api_response_json(status, body);
}

ApiResponse *
api_response_error(const GError *error)
{
  guint status = api_error_http_status(error);
  const char *msg = error ? error->message : "internal error";

  /* Server-side failures may name files or database internals: log them, tell the
   * client only that it was our fault. */
  if (status >= 500 && status != 503) {
    api_log("internal error: %s [%s]", msg, api_error_code_string(error));
    msg = "internal error; the details are in the service log";
  }
  return error_response(status, api_error_code_string(error), msg);
}

/* ---- responses ---------------------------------------------------------------------- */

ApiResponse *
api_response_json(guint status, json_t *body)
{
  ApiResponse *r = g_new0(ApiResponse, 1);
  char *text = json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII);

  r->status = status;
  r->content_type = g_strdup("application/json");
  if (text == NULL) {
    r->body = g_strdup("{}");
  } else {
    r->body = g_strdup(text);
    free(text);
  }
  r->body_len = strlen(r->body);
  json_decref(body);
  return r;
}

ApiResponse *
api_response_text(guint status, const char *content_type, char *text)
{
  ApiResponse *r = g_new0(ApiResponse, 1);

  r->status = status;
  r->content_type = g_strdup(content_type);
  r->body = text ? text : g_strdup("");
  r->body_len = strlen(r->body);
  return r;
}

ApiResponse *
api_response_bytes(guint status, const char *content_type, GBytes *body)
{
  ApiResponse *r = g_new0(ApiResponse, 1);

  r->status = status;
  r->content_type = g_strdup(content_type);
  /* A signed PDF is tens of KB to MBs: MHD sends it from the GBytes itself. */
  r->bytes = g_bytes_ref(body);
  r->body_len = g_bytes_get_size(body);
  return r;
}

void
api_response_add_header(ApiResponse *resp, const char *name, const char *value)
{
  if (resp->headers == NULL)
    resp->headers = g_ptr_array_new_with_free_func(g_free);
  g_ptr_array_add(resp->headers, g_strdup(name));
  g_ptr_array_add(resp->headers, g_strdup(value));
}

void
api_response_free(ApiResponse *resp)
{
  if (resp == NULL)
    return;
  g_free(resp->content_type);
  g_free(resp->body);
  if (resp->bytes != NULL)
    g_bytes_unref(resp->bytes);
  if (resp->headers)
    g_ptr_array_unref(resp->headers);
  g_free(resp);
}

/* ---- JSON helpers ------------------------------------------------------------------- */

static const char *
json_string_member(json_t *obj, const char *key, gsize max_len, gboolean required, GError **error)
{
  json_t *v = obj ? json_object_get(obj, key) : NULL;
  const char *s;
  gsize len;

  if (v == NULL || json_is_null(v)) {
    if (required)
      g_set_error(error, API_ERROR, API_ERROR_BAD_REQUEST, "missing field '%s'", key);
    return NULL;
  }
  if (!json_is_string(v)) {
    g_set_error(error, API_ERROR, API_ERROR_BAD_REQUEST, "field '%s' must be a string", key);
    return NULL;
  }
  s = json_string_value(v);
  len = json_string_length(v);
  if (len == 0 || len > max_len || strlen(s) != len) {
    g_set_error(error, API_ERROR, API_ERROR_BAD_REQUEST,
                "field '%s' must be 1 to %" G_GSIZE_FORMAT " bytes", key, max_len);
    return NULL;
  }
  for (gsize i = 0; i < len; i++) {
    if ((guchar)s[i] < 0x20 || s[i] == 0x7f) {
      g_set_error(error, API_ERROR, API_ERROR_BAD_REQUEST, "field '%s' contains control characters",
                  key);
      return NULL;
    }
  }
  return s;
}

const char *
api_json_require_string(json_t *obj, const char *key, gsize max_len, GError **error)
{
  return json_string_member(obj, key, max_len, TRUE, error);
}

const char *
api_json_optional_string(json_t *obj, const char *key, gsize max_len, GError **error)
{
  return json_string_member(obj, key, max_len, FALSE, error);
}

/* ---- request accessors ------------------------------------------------------------- */

const char *
api_request_method(ApiRequest *req)
{
  return req->method;
}

const char *
api_request_path(ApiRequest *req)
{
  return req->path;
}

const char *
api_request_param(ApiRequest *req, const char *name)
{
  for (guint i = 0; i < req->n_params; i++)
    if (strcmp(req->param_names[i], name) == 0)
      return req->param_values[i];
  return NULL;
}

const char *
api_request_query(ApiRequest *req, const char *key)
{
  return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *
api_request_header(ApiRequest *req, const char *name)
{
  return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const ApiPrincipal *
api_request_principal(ApiRequest *req)
{
  return &req->principal;
}

ApiStore *
api_request_store(ApiRequest *req)
{
  return req->srv->store;
}

const ApiConfig *
api_request_config(ApiRequest *req)
{
  return req->srv->config;
}

guint64
api_request_body_size(ApiRequest *req)
{
  return req->body_len;
}

GBytes *
api_request_body_bytes(ApiRequest *req, GError **error)
{
  GMappedFile *mf;
  GBytes *b;

  if (req->fd < 0) {
    /* The body is complete: the array becomes the bytes (no copy), once. */
    if (req->mem_bytes == NULL) {
      req->mem_bytes =
          req->mem != NULL ? g_byte_array_free_to_bytes(req->mem) : g_bytes_new(NULL, 0);
      req->mem = NULL;
    }
    return g_bytes_ref(req->mem_bytes);
  }
  mf = g_mapped_file_new_from_fd(req->fd, FALSE, error);
  if (mf == NULL)
    return NULL;
  b = g_mapped_file_get_bytes(mf);
  g_mapped_file_unref(mf);
  return b;
}

json_t *
api_request_json(ApiRequest *req, GError **error)
{
  g_autoptr(GBytes) body = NULL;
  json_error_t jerr;
  json_t *root;
  gsize len = 0;
  const void *data;

  if (req->body_len == 0) {
    g_set_error_literal(error, API_ERROR, API_ERROR_BAD_REQUEST, "a JSON object body is required");
    return NULL;
  }
  if (req->body_len > TTE_LIMIT_HTTP_JSON_MAX) {
    g_set_error_literal(error, API_ERROR, API_ERROR_PAYLOAD_TOO_LARGE, "JSON body too large");
    return NULL;
  }
  body = api_request_body_bytes(req, error);
  if (body == NULL)
    return NULL;
  data = g_bytes_get_data(body, &len);
  root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
  if (root == NULL) {
    g_set_error(error, API_ERROR, API_ERROR_BAD_REQUEST, "malformed JSON at line %d column %d: %s",
                jerr.line, jerr.column, jerr.text);
    return NULL;
  }
  if (!json_is_object(root)) {
    json_decref(root);
    g_set_error_literal(error, API_ERROR, API_ERROR_BAD_REQUEST, "the body must be a JSON object");
    return NULL;
  }
  return root;
}

/* ---- body --------------------------------------------------------------------------- */

static int
open_spool(const char *dir, GError **error)
{
  int fd;
  g_autofree char *tmpl = NULL;

  /* O_TMPFILE never has a name, so nothing is left behind even on a crash. */
  fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0)
    return fd;
  tmpl = g_build_filename(dir, "tte-upload-XXXXXX", NULL);
  fd = g_mkstemp_full(tmpl, O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_IO, "cannot create spool file in %s: %s", dir,
                g_strerror(errno));
    return -1;
  }
  (void)g_unlink(tmpl);
  return fd;
}

static gboolean
write_all(int fd, const void *data, gsize len, GError **error)
{
  const guint8 *p = data;

  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_IO, "cannot write spool file: %s", g_strerror(errno));
      return FALSE;
    }
    p += w;
    len -= (gsize)w;
  }
  return TRUE;
}

static gboolean
body_append(ApiRequest *req, const char *data, gsize len, GError **error)
{
  const ApiConfig *cfg = req->srv->config;

  /* Counted before storing: the cap holds for chunked uploads with no Content-Length. */
  if (len > cfg->body_max || req->body_len > cfg->body_max - len) {
    g_set_error(error, API_ERROR, API_ERROR_PAYLOAD_TOO_LARGE,
                "request body larger than %" G_GUINT64_FORMAT " bytes", cfg->body_max);
    return FALSE;
  }
  if (req->fd < 0 && req->body_len + len > cfg->spool_threshold) {
    req->fd = open_spool(cfg->spool_dir ? cfg->spool_dir : g_get_tmp_dir(), error);
    if (req->fd < 0)
      return FALSE;
    if (req->mem != NULL && !write_all(req->fd, req->mem->data, req->mem->len, error))
      return FALSE;
    g_clear_pointer(&req->mem, g_byte_array_unref);
  }
  if (req->fd >= 0) {
    if (!write_all(req->fd, data, len, error))
      return FALSE;
  } else {
    if (req->mem == NULL) {
      /* Sized from Content-Length (already capped by the spool threshold) rather than
       * doubled up from MHD's read-sized pieces. */
      const char *cl =
          MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
      guint64 hint = 0;
      if (cl == NULL || !g_ascii_string_to_unsigned(cl, 10, 0, cfg->spool_threshold, &hint, NULL))
        hint = 0;
      req->mem = g_byte_array_sized_new((guint)MAX(hint, (guint64)len));
    }
    g_byte_array_append(req->mem, (const guint8 *)data, (guint)len);
  }
  req->body_len += len;
  return TRUE;
}

/* ---- routing ------------------------------------------------------------------------ */

static void
route_free(gpointer p)
{
  Route *r = p;

  g_free(r->method);
  g_free(r->pattern);
  g_strfreev(r->segments);
  g_free(r);
}

void
api_server_add_route(ApiServer *srv, const char *method, const char *pattern, guint allowed_roles,
                     ApiHandler handler, gpointer user_data)
{
  api_server_add_route_full(srv, method, pattern, allowed_roles, handler, NULL, user_data);
}

void
api_server_add_route_full(ApiServer *srv, const char *method, const char *pattern,
                          guint allowed_roles, ApiHandler handler, ApiErrorRenderer render_error,
                          gpointer user_data)
{
  Route *r = g_new0(Route, 1);

  g_return_if_fail(pattern[0] == '/');
  r->method = g_strdup(method);
  r->pattern = g_strdup(pattern);
  r->segments = g_strsplit(pattern + 1, "/", MAX_SEGMENTS + 1);
  r->n_segments = g_strv_length(r->segments);
  g_return_if_fail(r->n_segments <= MAX_SEGMENTS);
  r->allowed = allowed_roles;
  r->handler = handler;
  r->render_error = render_error;
  r->user_data = user_data;
  g_ptr_array_add(srv->routes, r);
}

static gboolean
param_ok(const char *s)
{
  gsize n = strlen(s);

  if (n == 0 || n > MAX_PARAM_LEN)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    if (!g_ascii_isalnum(s[i]) && s[i] != '-' && s[i] != '_')
      return FALSE;
  return TRUE;
}

static gboolean
route_match(const Route *r, char **segs, guint n, ApiRequest *req)
{
  if (n != r->n_segments)
    return FALSE;
  for (guint i = 0; i < n; i++) {
    const char *p = r->segments[i];
    if (p[0] == '{') {
      if (!param_ok(segs[i]))
        return FALSE;
    } else if (strcmp(p, segs[i]) != 0) {
      return FALSE;
    }
  }
  if (req != NULL) {
    for (guint i = 0; i < n; i++) {
      const char *p = r->segments[i];
      gsize plen = strlen(p);
      if (p[0] == '{' && plen > 2 && req->n_params < MAX_SEGMENTS) {
        req->param_names[req->n_params] = g_strndup(p + 1, plen - 2);
        req->param_values[req->n_params] = g_strdup(segs[i]);
        req->n_params++;
      }
    }
  }
  return TRUE;
}

/* Find the route for @req; NOT_FOUND or METHOD_NOT_ALLOWED (with @allow listing the
 * methods that would match). */
static const Route *
route_find(ApiServer *srv, ApiRequest *req, GString *allow, GError **error)
{
  g_auto(GStrv) segs = NULL;
  guint n;
  gboolean path_matched = FALSE;

  if (req->path[0] != '/' || strlen(req->path) > 2048)
    goto not_found;
  segs = g_strsplit(req->path + 1, "/", MAX_SEGMENTS + 1);
  n = g_strv_length(segs);
  if (n > MAX_SEGMENTS)
    goto not_found;
  for (guint i = 0; i < srv->routes->len; i++) {
    const Route *r = g_ptr_array_index(srv->routes, i);
    if (!route_match(r, segs, n, NULL))
      continue;
    path_matched = TRUE;
    if (strcmp(r->method, req->method) == 0) {
      route_match(r, segs, n, req);
      return r;
    }
    g_string_append_printf(allow, "%s%s", allow->len ? ", " : "", r->method);
  }
  if (path_matched) {
    g_set_error(error, API_ERROR, API_ERROR_METHOD_NOT_ALLOWED, "method %s not allowed here",
                req->method);
    return NULL;
  }
not_found:
  g_set_error_literal(error, API_ERROR, API_ERROR_NOT_FOUND, "no such endpoint");
  return NULL;
}

/* ---- metrics ------------------------------------------------------------------------ */

static void
metrics_record(ApiServer *srv, const char *route, const char *method, guint status, double secs)
{
  g_autofree char *key = g_strdup_printf("%s\t%s\t%u", route, method, status);
  G_GNUC_UNUSED g_autoptr(GMutexLocker) l = g_mutex_locker_new(&srv->metrics_lock);
  guint64 *count = g_hash_table_lookup(srv->counters, key);
  Histogram *h;

  if (count == NULL) {
    count = g_new0(guint64, 1);
    g_hash_table_insert(srv->counters, g_steal_pointer(&key), count);
  }
  (*count)++;
  h = g_hash_table_lookup(srv->histograms, route);
  if (h == NULL) {
    h = g_new0(Histogram, 1);
    g_hash_table_insert(srv->histograms, g_strdup(route), h);
  }
  for (gsize i = 0; i < N_BUCKETS; i++) {
    if (secs <= latency_buckets[i]) {
      h->buckets[i]++;
      break;
    }
  }
  h->count++;
  h->sum += secs;
}

static char *
metrics_render(ApiServer *srv)
{
  GString *out = g_string_new(NULL);
  G_GNUC_UNUSED g_autoptr(GMutexLocker) l = g_mutex_locker_new(&srv->metrics_lock);
  g_autoptr(GList) keys = NULL;

  g_string_append(out, "# HELP tte_http_requests_total HTTP requests by route, method and status.\n"
                       "# TYPE tte_http_requests_total counter\n");
  keys = g_list_sort(g_hash_table_get_keys(srv->counters), (GCompareFunc)strcmp);
  for (GList *k = keys; k != NULL; k = k->next) {
    g_auto(GStrv) parts = g_strsplit(k->data, "\t", 3);
    guint64 *n = g_hash_table_lookup(srv->counters, k->data);
    g_string_append_printf(
        out,
        "tte_http_requests_total{route=\"%s\",method=\"%s\",status=\"%s\"} %" G_GUINT64_FORMAT "\n",
        parts[0], parts[1], parts[2], *n);
  }
  g_clear_pointer(&keys, g_list_free);
  g_string_append(out, "# HELP tte_http_request_duration_seconds Time from first byte to response"
                       " sent.\n# TYPE tte_http_request_duration_seconds histogram\n");
  keys = g_list_sort(g_hash_table_get_keys(srv->histograms), (GCompareFunc)strcmp);
  for (GList *k = keys; k != NULL; k = k->next) {
    const Histogram *h = g_hash_table_lookup(srv->histograms, k->data);
    guint64 cum = 0;
    for (gsize i = 0; i < N_BUCKETS; i++) {
      char le[G_ASCII_DTOSTR_BUF_SIZE];
      cum += h->buckets[i];
      g_ascii_formatd(le, sizeof le, "%g", latency_buckets[i]);
      g_string_append_printf(
          out,
          "tte_http_request_duration_seconds_bucket{route=\"%s\",le=\"%s\"} %" G_GUINT64_FORMAT
          "\n",
          (const char *)k->data, le, cum);
    }
    {
      char sum[G_ASCII_DTOSTR_BUF_SIZE];
      g_ascii_formatd(sum, sizeof sum, "%.6f", h->sum);
      g_string_append_printf(
          out,
          "tte_http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %" G_GUINT64_FORMAT
          "\n"
          "tte_http_request_duration_seconds_sum{route=\"%s\"} %s\n"
          "tte_http_request_duration_seconds_count{route=\"%s\"} %" G_GUINT64_FORMAT "\n",
          (const char *)k->data, h->count, (const char *)k->data, sum, (const char *)k->data,
          h->count);
    }
  }
  g_string_append_printf(out,
                         "# HELP tte_http_requests_in_flight Requests being received or handled.\n"
                         "# TYPE tte_http_requests_in_flight gauge\n"
                         "tte_http_requests_in_flight %d\n",
                         g_atomic_int_get(&srv->inflight));
  g_clear_pointer(&l, g_mutex_locker_free);
  for (guint i = 0; i < srv->metrics_sources->len; i++) {
    const MetricsSource *m = g_ptr_array_index(srv->metrics_sources, i);
    g_autofree char *text = m->render(m->user_data);
    if (text != NULL)
      g_string_append(out, text);
  }
  return g_string_free(out, FALSE);
}

/* ---- built-in endpoints ------------------------------------------------------------- */

static ApiResponse *
handle_healthz(ApiRequest *req, gpointer user_data, GError **error)
{
  return api_response_json(200, json_pack("{s:s}", "status", "ok"));
}

static ApiResponse *
handle_readyz(ApiRequest *req, gpointer user_data, GError **error)
{
  ApiServer *srv = req->srv;
  json_t *checks = json_object();

  if (!srv->store->ops->check_writable(srv->store, error)) {
    json_decref(checks);
    g_prefix_error(error, "database not writable: ");
    if (g_error_matches(*error, API_ERROR, API_ERROR_STORAGE))
      (*error)->code = API_ERROR_UNAVAILABLE;
    return NULL;
  }
  json_object_set_new(checks, "database", json_string("ok"));
  for (guint i = 0; i < srv->ready_checks->len; i++) {
    const ReadyCheck *c = g_ptr_array_index(srv->ready_checks, i);
    g_autoptr(GError) local = NULL;

    if (!c->check(c->user_data, &local)) {
      json_decref(checks);
      g_set_error(error, API_ERROR, API_ERROR_UNAVAILABLE, "%s not ready: %s", c->name,
                  local ? local->message : "failed");
      return NULL;
    }
    json_object_set_new(checks, c->name, json_string("ok"));
  }
  return api_response_json(200, json_pack("{s:s, s:o}", "status", "ready", "checks", checks));
}

static ApiResponse *
handle_metrics(ApiRequest *req, gpointer user_data, GError **error)
{
  return api_response_text(200, "text/plain; version=0.0.4; charset=utf-8",
                           metrics_render(req->srv));
}

/* ---- MHD callbacks ------------------------------------------------------------------ */

static void
request_free(ApiRequest *req)
{
  g_free(req->method);
  g_free(req->path);
  for (guint i = 0; i < req->n_params; i++) {
    g_free(req->param_names[i]);
    g_free(req->param_values[i]);
  }
  api_principal_clear(&req->principal);
  g_clear_error(&req->deferred_error);
  if (req->result != NULL)
    api_response_free(req->result);
  g_clear_error(&req->result_error);
  if (req->mem)
    g_byte_array_unref(req->mem);
  if (req->mem_bytes)
    g_bytes_unref(req->mem_bytes);
  if (req->fd >= 0)
    close(req->fd);
  g_free(req);
}

static void
bytes_release(void *cls)
{
  g_bytes_unref(cls);
}

static enum MHD_Result
queue(ApiRequest *req, ApiResponse *resp)
{
  struct MHD_Response *m;
  enum MHD_Result rc;

  /* The body is handed to MHD, not copied: MHD frees it with the response. */
  if (resp->bytes != NULL) {
    m = MHD_create_response_from_buffer_with_free_callback_cls(
        resp->body_len, (void *)g_bytes_get_data(resp->bytes, NULL), bytes_release, resp->bytes);
    if (m != NULL)
      resp->bytes = NULL;
  } else {
    m = MHD_create_response_from_buffer_with_free_callback(resp->body_len, resp->body, g_free);
    if (m != NULL)
      resp->body = NULL;
  }
  if (m == NULL) {
    api_response_free(resp);
    return MHD_NO;
  }
  MHD_add_response_header(m, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
  MHD_add_response_header(m, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  MHD_add_response_header(m, "X-Content-Type-Options", "nosniff");
  if (resp->status == 401)
    MHD_add_response_header(m, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
  for (guint i = 0; resp->headers != NULL && i + 1 < resp->headers->len; i += 2)
    MHD_add_response_header(m, g_ptr_array_index(resp->headers, i),
                            g_ptr_array_index(resp->headers, i + 1));
  rc = MHD_queue_response(req->conn, resp->status, m);
  MHD_destroy_response(m);
  req->responded = TRUE;
  req->status = resp->status;
  api_response_free(resp);
  return rc;
}

static enum MHD_Result
queue_error(ApiRequest *req, const GError *error, const char *allow)
{
  ApiResponse *resp = NULL;

  if (req->route != NULL && req->route->render_error != NULL) {
    guint status = api_error_http_status(error);
    /* Same rule as api_response_error: the detail of our own failures goes to the log. */
    if (status >= 500 && status != 503)
      api_log("internal error: %s [%s]", error ? error->message : "?",
              api_error_code_string(error));
    resp = req->route->render_error(req, error, req->route->user_data);
  }
  if (resp == NULL)
    resp = api_response_error(error);

  if (allow != NULL && *allow != '\0')
    api_response_add_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
  return queue(req, resp);
}

/* "Basic base64(user:password)" -> "Bearer password" (NULL when malformed).  The
 * decoded text holds the token: wiped before it is freed. */
static char *
basic_to_bearer(const char *b64)
{
  gsize n = 0, blen = strlen(b64);
  guchar *raw;
  char *colon, *out = NULL;

  if (blen == 0 || blen > 1024)
    return NULL;
  raw = g_base64_decode(b64, &n);
  if (raw == NULL)
    return NULL;
  colon = memchr(raw, ':', n);
  if (colon != NULL && memchr(raw, '\0', n) == NULL) {
    gsize plen = n - (gsize)(colon + 1 - (char *)raw);
    out = g_malloc(7 + plen + 1);
    memcpy(out, "Bearer ", 7);
    memcpy(out + 7, colon + 1, plen);
    out[7 + plen] = '\0';
  }
  tte_memwipe(raw, n);
  g_free(raw);
  return out;
}

/* First callback of a request: route, authenticate and check the announced length, so
 * a request that will be refused is refused before its body is read. */
static enum MHD_Result
request_begin(ApiRequest *req)
{
  ApiServer *srv = req->srv;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) allow = g_string_new(NULL);
  const char *auth;
  const char *clen;

  req->route = route_find(srv, req, allow, &error);
  if (req->route == NULL)
    return queue_error(req, error, allow->str);
  auth = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
  if ((req->route->allowed & API_AUTH_BASIC) != 0 && auth != NULL &&
      g_ascii_strncasecmp(auth, "Basic ", 6) == 0) {
    gboolean ok;
    g_autofree char *bearer = basic_to_bearer(auth + 6);
    ok = api_auth_authenticate(srv->store, bearer ? bearer : "Basic", &req->principal, &error);
    if (bearer != NULL)
      tte_memwipe(bearer, strlen(bearer));
    if (!ok)
      return queue_error(req, error, NULL);
  } else if (!api_auth_authenticate(srv->store, auth, &req->principal, &error)) {
    return queue_error(req, error, NULL);
  }
  if ((req->route->allowed & (1u << req->principal.role)) == 0) {
    if (req->principal.role == API_ROLE_PUBLIC)
      g_set_error_literal(&error, API_ERROR, API_ERROR_UNAUTHORIZED,
                          "this endpoint needs an API token");
    else
      g_set_error(&error, API_ERROR, API_ERROR_FORBIDDEN, "role %s may not use this endpoint",
                  api_role_to_string(req->principal.role));
    return queue_error(req, error, NULL);
  }
  clen = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
  if (clen != NULL) {
    guint64 n = 0;
    /* MHD already rejects a malformed Content-Length; parse strictly anyway. */
    if (!g_ascii_string_to_unsigned(clen, 10, 0, G_MAXUINT64, &n, NULL) ||
        n > srv->config->body_max) {
      g_set_error(&error, API_ERROR, API_ERROR_PAYLOAD_TOO_LARGE,
                  "request body larger than %" G_GUINT64_FORMAT " bytes", srv->config->body_max);
      return queue_error(req, error, NULL);
    }
  }
  return MHD_YES;
}

static enum MHD_Result
on_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
          const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
  ApiServer *srv = cls;
  ApiRequest *req = *con_cls;
  g_autoptr(GError) error = NULL;
  ApiResponse *resp;

  if (req == NULL) {
    req = g_new0(ApiRequest, 1);
    req->srv = srv;
    req->conn = conn;
    req->start_us = g_get_monotonic_time();
    req->method = g_strdup(method);
    req->path = g_strdup(url);
    req->fd = -1;
    g_atomic_int_inc(&srv->inflight);
    *con_cls = req;
    return request_begin(req);
  }
  if (req->responded) {
    /* Refused early: drop whatever body still arrives. */
    *upload_data_size = 0;
    return MHD_YES;
  }
  if (*upload_data_size > 0) {
    gsize n = *upload_data_size;
    *upload_data_size = 0;
    if (req->deferred_error != NULL) {
      /* libmicrohttpd 0.9.75 cannot queue a response in the middle of an upload, so a
       * chunked body that outgrows the cap is discarded until it ends and then answered;
       * past API_HTTP_DRAIN_MAX more bytes we stop listening and close instead. */
      req->drained += n;
      return req->drained > API_HTTP_DRAIN_MAX ? MHD_NO : MHD_YES;
    }
    if (!body_append(req, upload_data, n, &req->deferred_error))
      req->drained = n;
    return MHD_YES;
  }
  if (req->deferred_error != NULL)
    return queue_error(req, req->deferred_error, NULL);
  if (req->dispatched) {
    /* Resumed: the worker has left its answer. */
    resp = g_steal_pointer(&req->result);
    if (resp == NULL) {
      error = g_steal_pointer(&req->result_error);
      return queue_error(req, error, NULL);
    }
    return queue(req, resp);
  }
  if (srv->work != NULL) {
    /* MHD gives each pool thread the connections it accepted, up to ten at a time: a
     * burst of clients could all land in one thread and be served one after another on
     * one CPU while the others idle (seen with 8 clients on 4 threads).  The handler
     * therefore runs in a pool of its own, whatever thread read the request; the
     * connection is suspended meanwhile and resumed with the answer. */
    req->dispatched = TRUE;
    MHD_suspend_connection(conn);
    g_thread_pool_push(srv->work, req, NULL);
    return MHD_YES;
  }
  resp = req->route->handler(req, req->route->user_data, &error);
  if (resp == NULL)
    return queue_error(req, error, NULL);
  return queue(req, resp);
}

/* A pool thread: run the handler of a suspended request and hand the connection back. */
static void
dispatch(gpointer data, gpointer user_data)
{
  ApiRequest *req = data;
  ApiServer *srv = user_data;

  if (g_atomic_int_get(&srv->stopping))
    g_set_error_literal(&req->result_error, API_ERROR, API_ERROR_UNAVAILABLE,
                        "the service is shutting down");
  else
    req->result = req->route->handler(req, req->route->user_data, &req->result_error);
  MHD_resume_connection(req->conn);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
  ApiServer *srv = cls;
  ApiRequest *req = *con_cls;
  double secs;
  const char *route;

  if (req == NULL)
    return;
  *con_cls = NULL;
  secs = (double)(g_get_monotonic_time() - req->start_us) / G_USEC_PER_SEC;
  route = req->route ? req->route->pattern : "unmatched";
  metrics_record(srv, route, req->method, req->status, secs);
  /* Access log: route pattern and status, never the query string or any header. */
  {
    g_autofree char *actor = api_principal_actor(&req->principal);
    api_log("%s %s -> %u (%s) %.1f ms%s", req->method, route, req->status, actor, secs * 1000.0,
            toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " [connection aborted]");
  }
  request_free(req);
  g_atomic_int_dec_and_test(&srv->inflight);
}

/* ---- server lifecycle --------------------------------------------------------------- */

static void
ready_check_free(gpointer p)
{
  ReadyCheck *c = p;

  g_free(c->name);
  g_free(c);
}

ApiServer *
api_server_new(const ApiConfig *config, ApiStore *store)
{
  ApiServer *srv = g_new0(ApiServer, 1);

  srv->config = config;
  srv->store = store;
  srv->routes = g_ptr_array_new_with_free_func(route_free);
  srv->ready_checks = g_ptr_array_new_with_free_func(ready_check_free);
  srv->metrics_sources = g_ptr_array_new_with_free_func(g_free);
  g_mutex_init(&srv->metrics_lock);
  srv->counters = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  srv->histograms = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  api_server_add_route(srv, "GET", "/healthz", API_ALLOW_ANY, handle_healthz, NULL);
  api_server_add_route(srv, "GET", "/readyz", API_ALLOW_ANY, handle_readyz, NULL);
  api_server_add_route(srv, "GET", "/metrics", API_ALLOW_ANY, handle_metrics, NULL);
  return srv;
}

void
api_server_add_metrics(ApiServer *srv, ApiMetricsRender render, gpointer user_data)
{
  MetricsSource *m = g_new0(MetricsSource, 1);

  m->render = render;
  m->user_data = user_data;
  g_ptr_array_add(srv->metrics_sources, m);
}

void
api_server_foreach_route(ApiServer *srv, ApiRouteFunc fn, gpointer user_data)
{
  for (guint i = 0; i < srv->routes->len; i++) {
    const Route *r = g_ptr_array_index(srv->routes, i);
    fn(r->method, r->pattern, r->allowed, user_data);
  }
}

void
api_server_add_ready_check(ApiServer *srv, const char *name, ApiReadyCheck check,
                           gpointer user_data)
{
  ReadyCheck *c = g_new0(ReadyCheck, 1);

  c->name = g_strdup(name);
  c->check = check;
  c->user_data = user_data;
  g_ptr_array_add(srv->ready_checks, c);
}

gboolean
api_server_tls_supported(void)
{
  return MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES;
}

static char *
read_pem(const char *path, GError **error)
{
  char *data = NULL;
  gsize len = 0;
  GStatBuf st;

  if (g_stat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
      (guint64)st.st_size > TTE_LIMIT_CERT_FILE_MAX) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_IO, "%s: not a regular file of at most %u bytes", path,
                TTE_LIMIT_CERT_FILE_MAX);
    return NULL;
  }
  if (!g_file_get_contents(path, &data, &len, error))
    return NULL;
  return data;
}

gboolean
api_server_start(ApiServer *srv, GError **error)
{
  const ApiConfig *cfg = srv->config;
  struct addrinfo hints = {0}, *ai = NULL;
  char port[8];
  unsigned int flags =
      MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
  guint threads = cfg->threads ? cfg->threads : g_get_num_processors();
  const union MHD_DaemonInfo *info;
  int rc;

  g_return_val_if_fail(srv->daemon == NULL, FALSE);
  g_snprintf(port, sizeof port, "%u", cfg->listen_port);
  hints.ai_flags = AI_PASSIVE;
  hints.ai_socktype = SOCK_STREAM;
  rc = getaddrinfo(cfg->listen_host, port, &hints, &ai);
  if (rc != 0) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT, "listen address %s: %s",
                cfg->listen_host, gai_strerror(rc));
    return FALSE;
  }
  if (ai->ai_family == AF_INET6)
    flags |= MHD_USE_IPv6;
  if (cfg->tls_cert != NULL) {
    if (!api_server_tls_supported()) {
      freeaddrinfo(ai);
      g_set_error_literal(error, TTE_ERROR, TTE_ERROR_NOT_SUPPORTED,
                          "TLS configured but libmicrohttpd was built without it");
      return FALSE;
    }
    srv->tls_cert_pem = read_pem(cfg->tls_cert, error);
    srv->tls_key_pem = srv->tls_cert_pem ? read_pem(cfg->tls_key, error) : NULL;
    if (srv->tls_key_pem == NULL) {
      freeaddrinfo(ai);
      return FALSE;
    }
    flags |= MHD_USE_TLS;
  }
  srv->work = g_thread_pool_new(dispatch, srv, (gint)MAX(threads, 1u), TRUE, error);
  if (srv->work == NULL) {
    freeaddrinfo(ai);
    return FALSE;
  }
  /* Options are a varargs list; the TLS pair is appended only when configured, so the
   * list ends early with MHD_OPTION_END otherwise. */
  srv->daemon = MHD_start_daemon(
      flags, 0, NULL, NULL, on_access, srv, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
      MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_THREAD_POOL_SIZE,
      (unsigned int)(threads > 1 ? threads : 1), MHD_OPTION_CONNECTION_LIMIT,
      (unsigned int)cfg->max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
      (unsigned int)cfg->per_ip_connections, MHD_OPTION_CONNECTION_TIMEOUT,
      (unsigned int)cfg->timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
      (size_t)cfg->connection_memory, MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1,
      MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
      srv->tls_cert_pem ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, srv->tls_cert_pem,
      MHD_OPTION_HTTPS_MEM_KEY, srv->tls_key_pem, MHD_OPTION_END);
  freeaddrinfo(ai);
  if (srv->daemon == NULL) {
    g_thread_pool_free(g_steal_pointer(&srv->work), TRUE, TRUE);
    g_set_error(error, TTE_ERROR, TTE_ERROR_IO,
                "cannot start HTTP server on %s:%u (address in use,"
                " or a bad TLS certificate/key)",
                cfg->listen_host, cfg->listen_port);
    return FALSE;
  }
  info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
  srv->port = info ? info->port : cfg->listen_port;
  api_log("listening on %s%s%s:%u (%u threads, body limit %" G_GUINT64_FORMAT " bytes%s)",
          (flags & MHD_USE_IPv6) ? "[" : "", cfg->listen_host, (flags & MHD_USE_IPv6) ? "]" : "",
          srv->port, threads, cfg->body_max, srv->tls_cert_pem ? ", TLS" : "");
  return TRUE;
}

guint16
api_server_get_port(ApiServer *srv)
{
  return srv->port;
}

void
api_server_stop(ApiServer *srv, guint grace_s)
{
  MHD_socket lsock;
  gint64 deadline;

  if (srv == NULL || srv->daemon == NULL)
    return;
  /* Stop accepting first; requests already received keep being served. */
  lsock = MHD_quiesce_daemon(srv->daemon);
  if (lsock != MHD_INVALID_SOCKET)
    close(lsock);
  deadline = g_get_monotonic_time() + (gint64)grace_s * G_USEC_PER_SEC;
  while (g_atomic_int_get(&srv->inflight) > 0 && g_get_monotonic_time() < deadline)
    g_usleep(20 * 1000);
  if (g_atomic_int_get(&srv->inflight) > 0)
    api_log("shutdown: %d request(s) still in flight after %u s, closing them",
            g_atomic_int_get(&srv->inflight), grace_s);
  /* Handlers still running finish (as they did in MHD's own threads, which
   * MHD_stop_daemon joins); queued ones answer 503.  Every suspended connection must be
   * resumed before MHD_stop_daemon. */
  if (srv->work != NULL) {
    g_atomic_int_set(&srv->stopping, 1);
    g_thread_pool_free(g_steal_pointer(&srv->work), FALSE, TRUE);
  }
  MHD_stop_daemon(srv->daemon);
  srv->daemon = NULL;
}

void
api_server_free(ApiServer *srv)
{
  if (srv == NULL)
    return;
  api_server_stop(srv, 0);
  g_ptr_array_unref(srv->routes);
  g_ptr_array_unref(srv->ready_checks);
  g_ptr_array_unref(srv->metrics_sources);
  g_hash_table_unref(srv->counters);
  g_hash_table_unref(srv->histograms);
  g_mutex_clear(&srv->metrics_lock);
  g_free(srv->tls_cert_pem);
  if (srv->tls_key_pem != NULL) {
    tte_memwipe(srv->tls_key_pem, strlen(srv->tls_key_pem));
    g_free(srv->tls_key_pem);
  }
  g_free(srv);
}
