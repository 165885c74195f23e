/* web.h — the citizen verification pages of `tte serve` (docs/web.md).
 *
 * GET /             upload page (Bahasa Indonesia; ?lang=en for English)
 * POST /periksa     multipart/form-data upload of one PDF -> verification result page
 * GET /v/{id}       register record of a document (the URL in the stamp's QR code)
 * POST /v/{id}      does this PDF match the registered document?  (and its verification)
 * GET /static/…     the page's CSS and JavaScript, compiled into the binary (GResource)
 *
 * Pages work without JavaScript (plain form posts); the script only adds drag-and-drop
 * and in-page submission.  Every value that comes from a document or the database is
 * HTML-escaped; responses carry a strict Content-Security-Policy.  Uploads are verified
 * in memory (or in the HTTP core's unlinked spool file) and never stored.
 */
#pragma once

#include "http.h"

G_BEGIN_DECLS

/* Register the routes above on @srv. */
void api_web_register(ApiServer *srv);

/* @s with & < > " ' replaced by entities; invalid UTF-8 becomes U+FFFD and control
 * characters other than tab and newline are dropped.  NULL gives "".  Caller frees. */
char *api_web_html_escape(const char *s);

/* Find the part named @field in a multipart form-data request @body whose Content-Type header
 * value is @content_type.  On success @out and @out_len point INTO @body (no copy).  Fails
 * with API_ERROR_BAD_REQUEST when the type or boundary is malformed, the body is cut
 * short, a part's headers are too long, or there are too many parts; with
 * API_ERROR_NOT_FOUND when no part has that name. */
gboolean api_web_multipart_find(const guint8 *body, gsize len, const char *content_type,
                                const char *field, const guint8 **out, gsize *out_len,
                                GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
