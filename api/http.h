/* http.h — the HTTP core of `tte serve`: libmicrohttpd daemon, router, per-request
 * state, body capping and spooling, JSON responses and errors, metrics.
 *
 * Endpoints plug in with api_server_add_route(): a method, a path pattern whose
 * segments may be "{name}" (one URL segment of [A-Za-z0-9_-], at most 64 bytes), the
 * roles allowed, and a handler.  Routing, authentication and the body cap are applied
 * BEFORE the body is read, so an unauthenticated or oversized upload is refused without
 * receiving it.  The handler runs once the whole body has arrived, on one of the
 * daemon's pool threads; it returns a response, or NULL with @error set, which becomes
 * {"error":{"code":…,"message":…}} with the status from the one table in http.c.
 */
#pragma once

#include "auth.h"
#include "config.h"
#include "store.h"

#include <jansson.h>

G_BEGIN_DECLS

typedef struct ApiServer ApiServer;
typedef struct ApiRequest ApiRequest;
typedef struct ApiResponse ApiResponse;

/* Roles allowed on a route (bit masks of ApiRole). */
#define API_ALLOW_PUBLIC (1u << API_ROLE_PUBLIC)
#define API_ALLOW_SIGNER (1u << API_ROLE_SIGNER)
#define API_ALLOW_ADMIN (1u << API_ROLE_ADMIN)
#define API_ALLOW_ANY (API_ALLOW_PUBLIC | API_ALLOW_SIGNER | API_ALLOW_ADMIN)
/* Not a role: the route also accepts "Authorization: Basic base64(user:TOKEN)", the
 * password being an API token (the user name is ignored).  For the BSrE-compatible
 * endpoints, whose clients only speak Basic auth. */
#define API_AUTH_BASIC (1u << 8)

/* A handler returns a new response (ownership passes to the server) or NULL with
 * @error set.  @user_data is what was given to api_server_add_route(). */
typedef ApiResponse *(*ApiHandler)(ApiRequest *req, gpointer user_data, GError **error);

/* A readiness check for GET /readyz (e.g. "the PKCS#11 token answers").  Runs on a
 * pool thread; must be thread-safe and quick. */
typedef gboolean (*ApiReadyCheck)(gpointer user_data, GError **error);

/* ---- server ------------------------------------------------------------------------- */

/* New server over @config and @store (both borrowed; they must outlive the server).
 * Registers GET /healthz, /readyz and /metrics.  Does not listen yet. */
ApiServer *api_server_new(const ApiConfig *config, ApiStore *store);

void api_server_add_route(ApiServer *srv, const char *method, const char *pattern,
                          guint allowed_roles, ApiHandler handler, gpointer user_data);

/* Turns an error that ends a request on a route into a response of the route's own
 * kind (e.g. an HTML page for the citizen pages instead of JSON).  Called for errors
 * found before the handler runs (body too large) and for handler errors.  Returns a
 * new response, or NULL to fall back to the JSON error.  Must not block. */
typedef ApiResponse *(*ApiErrorRenderer)(ApiRequest *req, const GError *error,
                                         gpointer user_data);

/* Like api_server_add_route(), with @render_error (may be NULL) for the route's errors. */
void api_server_add_route_full(ApiServer *srv, const char *method, const char *pattern,
                               guint allowed_roles, ApiHandler handler,
                               ApiErrorRenderer render_error, gpointer user_data);

void api_server_add_ready_check(ApiServer *srv, const char *name, ApiReadyCheck check,
                                gpointer user_data);

/* Extra Prometheus text appended to GET /metrics: @render returns a newly allocated
 * string (HELP/TYPE lines included).  Runs on a pool thread; must be thread-safe. */
typedef char *(*ApiMetricsRender)(gpointer user_data);
void api_server_add_metrics(ApiServer *srv, ApiMetricsRender render, gpointer user_data);

/* Call @fn for every registered route in registration order (OpenAPI document). */
typedef void (*ApiRouteFunc)(const char *method, const char *pattern, guint allowed_roles,
                             gpointer user_data);
void api_server_foreach_route(ApiServer *srv, ApiRouteFunc fn, gpointer user_data);

/* Bind and start the thread pool.  Afterwards api_server_get_port() gives the bound
 * port (useful with port 0). */
gboolean api_server_start(ApiServer *srv, GError **error) G_GNUC_WARN_UNUSED_RESULT;
guint16 api_server_get_port(ApiServer *srv);

/* Stop accepting connections, wait up to @grace_s seconds for requests in flight to
 * complete, then stop the daemon.  Safe to call when not started. */
void api_server_stop(ApiServer *srv, guint grace_s);

/* Stops if needed and frees; accepts NULL. */
void api_server_free(ApiServer *srv);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ApiServer, api_server_free)

/* TRUE when the linked libmicrohttpd was built with TLS (GnuTLS). */
gboolean api_server_tls_supported(void);

/* ---- request (valid during the handler call only) ---------------------------------- */

const char *api_request_method(ApiRequest *req);
const char *api_request_path(ApiRequest *req);
/* Value of pattern parameter {@name}, or NULL. */
const char *api_request_param(ApiRequest *req, const char *name);
/* Value of query argument @key (decoded by libmicrohttpd), or NULL. */
const char *api_request_query(ApiRequest *req, const char *key);
const char *api_request_header(ApiRequest *req, const char *name);
const ApiPrincipal *api_request_principal(ApiRequest *req);
ApiStore *api_request_store(ApiRequest *req);
const ApiConfig *api_request_config(ApiRequest *req);

/* Body size in bytes (0 without a body). */
guint64 api_request_body_size(ApiRequest *req);
/* The body as bytes: memory, or a read-only mapping of the spool file (new reference). */
GBytes *api_request_body_bytes(ApiRequest *req, GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* The body parsed as a JSON object (new reference); API_ERROR_BAD_REQUEST when it is
 * empty, not JSON, not an object, or holds duplicate keys. */
json_t *api_request_json(ApiRequest *req, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* ---- responses ---------------------------------------------------------------------- */

/* Takes ownership of @body. */
ApiResponse *api_response_json(guint status, json_t *body);
/* Takes ownership of @text (g_malloc'd). */
ApiResponse *api_response_text(guint status, const char *content_type, char *text);
/* Binary body: takes a reference on @body (sent as is, not copied). */
ApiResponse *api_response_bytes(guint status, const char *content_type, GBytes *body);
void api_response_add_header(ApiResponse *resp, const char *name, const char *value);
void api_response_free(ApiResponse *resp);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ApiResponse, api_response_free)

/* The one mapping from errors (TTE_ERROR, API_ERROR, anything else) to HTTP status and
 * machine code.  5xx responses carry a generic message; the detail goes to the log. */
guint api_error_http_status(const GError *error);
const char *api_error_code_string(const GError *error);
ApiResponse *api_response_error(const GError *error);

/* Helpers for handlers: a required string member of @obj (non-empty, at most @max_len
 * bytes, no control characters) or NULL with API_ERROR_BAD_REQUEST; optional variant
 * returns NULL without error when absent or null. */
const char *api_json_require_string(json_t *obj, const char *key, gsize max_len, GError **error);
const char *api_json_optional_string(json_t *obj, const char *key, gsize max_len, GError **error);

/* Info-level log line on stderr (journald adds the time).  Never pass secrets. */
void api_log(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

G_END_DECLS
