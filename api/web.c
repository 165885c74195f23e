/* web.c — the citizen verification pages (see web.h and docs/web.md). */
#include "web.h"

#include "audit.h"
#include "web-resources.h"
#include "tte-error.h"
#include "tte-limits.h"
#include "tte-ossl.h"
#include "vfy.h"

#include <gio/gio.h>
#include <openssl/x509v3.h>
#include <string.h>

#define WEB_RESOURCE_PREFIX "/id/go/tte/web/"
/* Parts and part-header bytes accepted in one upload form (ours has one or two). */
#define WEB_MULTIPART_MAX_PARTS 8u
#define WEB_MULTIPART_HEADER_MAX 4096u
/* Changed pages shown side by side per signature, and their resolution: enough to read
 * a letter on a phone, small enough to keep the page (data: URIs) under a few MB. */
#define WEB_COMPARE_MAX_PAGES 3u
#define WEB_COMPARE_DPI 96u

/* The two languages; Bahasa Indonesia is the default. */
typedef enum { WEB_ID = 0, WEB_EN = 1 } WebLang;
#define TR(lang, id, en) ((lang) == WEB_EN ? (en) : (id))

static const char *const csp =
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'";

/* ---- escaping ----------------------------------------------------------------------- */

char *
api_web_html_escape(const char *s)
{
  g_autofree char *valid = NULL;
  GString *o;

  if (s == NULL)
    return g_strdup("");
  valid = g_utf8_make_valid(s, -1);
  o = g_string_sized_new(strlen(valid) + 16);
  for (const char *p = valid; *p != '\0'; p++) {
    switch (*p) {
    case '&':
      g_string_append(o, "&amp;");
      break;
    case '<':
      g_string_append(o, "&lt;");
      break;
    case '>':
      g_string_append(o, "&gt;");
      break;
    case '"':
      g_string_append(o, "&quot;");
      break;
    case '\'':
      g_string_append(o, "&#39;");
      break;
    default:
      /* Control characters could reorder or hide text; tab and newline are harmless. */
      if ((guchar)*p < 0x20 && *p != '\t' && *p != '\n')
        break;
      if ((guchar)*p == 0x7f)
        break;
      g_string_append_c(o, *p);
    }
  }
  return g_string_free(o, FALSE);
}

/* Append @s escaped. */
static void
h_text(GString *o, const char *s)
{
  g_autofree char *e = api_web_html_escape(s);
  g_string_append(o, e);
}

/* ---- multipart/form-data ------------------------------------------------------------ */

/* The boundary parameter of @content_type (RFC 2046: 1..70 characters, maybe quoted). */
static char *
multipart_boundary(const char *content_type, GError **error)
{
  g_auto(GStrv) params = NULL;

  if (content_type == NULL ||
      g_ascii_strncasecmp(content_type, "multipart/form-data", strlen("multipart/form-data")) != 0)
    goto bad;
  params = g_strsplit(content_type, ";", 16);
  for (guint i = 1; params[i] != NULL; i++) {
    char *p = g_strstrip(params[i]);
    gsize n;
    if (g_ascii_strncasecmp(p, "boundary=", 9) != 0)
      continue;
    p += 9;
    n = strlen(p);
    if (n >= 2 && p[0] == '"' && p[n - 1] == '"') {
      p++;
      n -= 2;
    }
    if (n == 0 || n > 70)
      goto bad;
    return g_strndup(p, n);
  }
bad:
  g_set_error_literal(error, API_ERROR, API_ERROR_BAD_REQUEST,
                      "expected multipart/form-data with a boundary");
  return NULL;
}

/* Does the header block [@h, @h+@n) carry Content-Disposition: form-data; name="@field"? */
static gboolean
part_has_name(const char *h, gsize n, const char *field)
{
  g_autofree char *block = g_strndup(h, n);
  g_auto(GStrv) lines = g_strsplit(block, "\r\n", 32);

  for (guint i = 0; lines[i] != NULL; i++) {
    const char *l = lines[i];
    const char *p;
    g_autofree char *want = NULL;
    if (g_ascii_strncasecmp(l, "content-disposition:", 20) != 0)
      continue;
    /* Look for the parameter ` name="field"` (or `;name=`), not `filename=`. */
    want = g_strdup_printf("name=\"%s\"", field);
    for (p = strstr(l, want); p != NULL; p = strstr(p + 1, want))
      if (p > l && (p[-1] == ' ' || p[-1] == ';' || p[-1] == '\t'))
        return TRUE;
  }
  return FALSE;
}

gboolean
api_web_multipart_find(const guint8 *body, gsize len, const char *content_type, const char *field,
                       const guint8 **out, gsize *out_len, GError **error)
{
  g_autofree char *boundary = multipart_boundary(content_type, error);
  g_autofree char *delim = NULL; /* "\r\n--" boundary: what ends a part */
  gsize dlen, pos;
  const guint8 *hit;

  if (boundary == NULL)
    return FALSE;
  delim = g_strconcat("\r\n--", boundary, NULL);
  dlen = strlen(delim);
  if (body == NULL || len == 0)
    goto truncated;
  /* The first delimiter may open the body (no preceding CRLF) or follow a preamble. */
  if (len >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0) {
    pos = dlen - 2;
  } else {
    hit = memmem(body, len, delim, dlen);
    if (hit == NULL)
      goto truncated;
    pos = (gsize)(hit - body) + dlen;
  }
  for (guint part = 0; part < WEB_MULTIPART_MAX_PARTS; part++) {
    const guint8 *hend, *cend;
    gsize hstart, cstart;

    /* After a delimiter: "--" closes the body, CRLF opens a part. */
    if (len - pos >= 2 && body[pos] == '-' && body[pos + 1] == '-')
      break;
    /* Transport padding (spaces, tabs) may precede the CRLF. */
    while (pos < len && (body[pos] == ' ' || body[pos] == '\t'))
      pos++;
    if (len - pos < 2 || body[pos] != '\r' || body[pos + 1] != '\n')
      goto truncated;
    pos += 2;
    hstart = pos;
    hend = memmem(body + hstart, MIN(len - hstart, (gsize)WEB_MULTIPART_HEADER_MAX), "\r\n\r\n", 4);
    if (hend == NULL) {
      g_set_error_literal(error, API_ERROR, API_ERROR_BAD_REQUEST,
                          "form part headers missing or too long");
      return FALSE;
    }
    cstart = (gsize)(hend - body) + 4;
    cend = memmem(body + cstart, len - cstart, delim, dlen);
    if (cend == NULL)
      goto truncated;
    if (part_has_name((const char *)body + hstart, (gsize)(hend - body) - hstart, field)) {
      *out = body + cstart;
      *out_len = (gsize)(cend - body) - cstart;
      return TRUE;
    }
    pos = (gsize)(cend - body) + dlen;
  }
  g_set_error(error, API_ERROR, API_ERROR_NOT_FOUND, "the form has no field '%s'", field);
  return FALSE;
truncated:
  g_set_error_literal(error, API_ERROR, API_ERROR_BAD_REQUEST, "form data cut short or malformed");
  return FALSE;
}

/* A compiled-in file.  Looked up through api_web_get_resource() rather than the global
 * registry: the reference keeps the generated object in the link (static library). */
static GBytes *
web_resource(const char *name, GError **error)
{
  g_autofree char *path = g_strconcat(WEB_RESOURCE_PREFIX, name, NULL);

  return g_resource_lookup_data(api_web_get_resource(), path, 0, error);
}

/* ---- page frame --------------------------------------------------------------------- */

typedef struct {
  WebLang lang;
  const char *path; /* this page's path, for the language switch */
  GString *main;    /* HTML of <main> */
  char *title;      /* plain text */
} WebPage;

static void
web_page_init(WebPage *p, ApiRequest *req, const char *path)
{
  const char *l = api_request_query(req, "lang");

  p->lang = (l != NULL && strcmp(l, "en") == 0) ? WEB_EN : WEB_ID;
  p->path = path;
  p->main = g_string_new(NULL);
  p->title = NULL;
}

static void
web_page_clear(WebPage *p)
{
  g_string_free(p->main, TRUE);
  g_free(p->title);
}

/* "?lang=en" or "" — appended to our own links so the language sticks. */
static const char *
lang_query(WebLang lang)
{
  return lang == WEB_EN ? "?lang=en" : "";
}

/* Replace each "{{key}}" of @tpl by the matching value of @kv (key, value, …, NULL);
 * values are inserted as they are (the caller escaped them). */
static char *
fill_template(const char *tpl, const char *const *kv)
{
  GString *o = g_string_new(NULL);
  const char *p = tpl;

  while (*p != '\0') {
    const char *open = strstr(p, "{{");
    const char *close;
    gboolean done = FALSE;
    if (open == NULL || (close = strstr(open, "}}")) == NULL) {
      g_string_append(o, p);
      break;
    }
    g_string_append_len(o, p, open - p);
    for (guint i = 0; kv[i] != NULL && kv[i + 1] != NULL; i += 2) {
      gsize klen = strlen(kv[i]);
      if ((gsize)(close - open - 2) == klen && memcmp(open + 2, kv[i], klen) == 0) {
        g_string_append(o, kv[i + 1]);
        done = TRUE;
        break;
      }
    }
    if (!done)
      g_string_append_len(o, open, close + 2 - open);
    p = close + 2;
  }
  return g_string_free(o, FALSE);
}

static void
add_security_headers(ApiResponse *resp)
{
  api_response_add_header(resp, "Content-Security-Policy", csp);
  api_response_add_header(resp, "X-Frame-Options", "DENY");
  /* /v/{id} URLs are not secret, but nobody else needs to learn which letter was read. */
  api_response_add_header(resp, "Referrer-Policy", "no-referrer");
}

/* The whole HTML document around @p->main. */
static ApiResponse *
web_page_finish(WebPage *p, guint status)
{
  g_autoptr(GBytes) tpl = web_resource("layout.html", NULL);
  g_autofree char *tpl_text = NULL;
  g_autofree char *title = api_web_html_escape(p->title ? p->title : "");
  g_autofree char *switch_href = NULL;
  ApiResponse *resp;
  char *html;

  /* The resource is compiled in; a missing one is a build error, not a runtime path. */
  g_assert(tpl != NULL);
  tpl_text = g_strndup(g_bytes_get_data(tpl, NULL), g_bytes_get_size(tpl));
  switch_href = g_strconcat(p->path, p->lang == WEB_EN ? "" : "?lang=en", NULL);
  {
    const char *kv[] = {
        "lang",
        p->lang == WEB_EN ? "en" : "id",
        "title",
        title,
        "home",
        p->lang == WEB_EN ? "/?lang=en" : "/",
        "brand",
        TR(p->lang, "Periksa Tanda Tangan Elektronik", "Check an Electronic Signature"),
        "switch_href",
        switch_href,
        "switch_label",
        TR(p->lang, "English", "Bahasa Indonesia"),
        "switch_lang",
        p->lang == WEB_EN ? "id" : "en",
        "main",
        p->main->str,
        "footer",
        TR(p->lang,
           "Berkas yang Anda unggah hanya diperiksa lalu langsung dibuang — tidak "
           "disimpan di server.",
           "Files you upload are only checked and then discarded at once — they are "
           "not stored on the server."),
        NULL,
    };
    html = fill_template(tpl_text, kv);
  }
  resp = api_response_text(status, "text/html; charset=utf-8", html);
  add_security_headers(resp);
  return resp;
}

/* The upload form; @action is our own path (no escaping needed beyond the id charset). */
static void
upload_form(GString *o, WebLang lang, const char *action, const char *button)
{
  g_string_append_printf(
      o,
      "<form class=\"upload\" method=\"post\" action=\"%s%s\" "
      "enctype=\"multipart/form-data\">\n"
      "<label class=\"drop\" for=\"file\">"
      "<span class=\"drop-title\">%s</span>"
      "<span class=\"drop-hint\">%s</span>"
      "<input id=\"file\" name=\"file\" type=\"file\" "
      "accept=\"application/pdf,.pdf\" required>"
      "</label>\n"
      "<button type=\"submit\">%s</button>\n"
      "<p class=\"note\">%s</p>\n"
      "</form>\n"
      "<div id=\"status\" class=\"status\" role=\"status\" "
      "aria-live=\"polite\"></div>\n",
      action, lang_query(lang), TR(lang, "Pilih berkas PDF surat", "Choose the letter's PDF file"),
      TR(lang, "atau seret dan lepas berkas ke sini", "or drag and drop the file here"), button,
      TR(lang, "Berkas hanya diperiksa lalu dibuang; tidak disimpan.",
         "The file is only checked and then discarded; it is not stored."));
}

/* ---- times -------------------------------------------------------------------------- */

static const char *const months_id[] = {"Januari",   "Februari", "Maret",    "April",
                                        "Mei",       "Juni",     "Juli",     "Agustus",
                                        "September", "Oktober",  "November", "Desember"};
static const char *const months_en[] = {"January",   "February", "March",    "April",
                                        "May",       "June",     "July",     "August",
                                        "September", "October",  "November", "December"};

/* "27 November 2026, 14:05 WIB" in the configured zone. */
static char *
format_datetime(GDateTime *utc, const ApiConfig *cfg, WebLang lang)
{
  g_autoptr(GTimeZone) tz =
      g_time_zone_new_identifier(cfg->time_zone ? cfg->time_zone : "Asia/Jakarta");
  g_autoptr(GDateTime) local = NULL;
  int m;

  if (tz == NULL)
    tz = g_time_zone_new_utc();
  local = g_date_time_to_timezone(utc, tz);
  if (local == NULL)
    return g_strdup("?");
  m = CLAMP(g_date_time_get_month(local), 1, 12) - 1;
  return g_strdup_printf("%d %s %d, %02d:%02d %s", g_date_time_get_day_of_month(local),
                         lang == WEB_EN ? months_en[m] : months_id[m], g_date_time_get_year(local),
                         g_date_time_get_hour(local), g_date_time_get_minute(local),
                         g_date_time_get_timezone_abbreviation(local));
}

static char *
format_iso(const char *iso, const ApiConfig *cfg, WebLang lang)
{
  g_autoptr(GDateTime) dt = iso ? g_date_time_new_from_iso8601(iso, NULL) : NULL;

  return dt ? format_datetime(dt, cfg, lang) : g_strdup(iso ? iso : "?");
}

static char *
format_usec(gint64 usec, const ApiConfig *cfg, WebLang lang)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(usec / G_USEC_PER_SEC);

  return dt ? format_datetime(dt, cfg, lang) : g_strdup("?");
}

/* ---- register ----------------------------------------------------------------------- */

/* The id of the newest register record whose signed file has SHA-256 @sha_hex, or NULL
 * (a lookup failure other than "not found" is logged and treated as not registered). */
static char *
register_find_by_sha256(ApiRequest *req, const char *sha_hex)
{
  ApiStore *store = api_request_store(req);
  g_autoptr(GError) error = NULL;
  g_autoptr(ApiDocument) doc = store->ops->document_find_by_sha256(store, sha_hex, &error);

  if (doc == NULL) {
    if (!g_error_matches(error, API_ERROR, API_ERROR_NOT_FOUND))
      api_log("web: register lookup by digest failed: %s", error->message);
    return NULL;
  }
  return g_steal_pointer(&doc->id);
}

static char *
sha256_hex(const guint8 *data, gsize len)
{
  return g_compute_checksum_for_data(G_CHECKSUM_SHA256, data, len);
}

/* The register record as a definition list. */
static void
record_details(GString *o, ApiRequest *req, const ApiDocument *d, WebLang lang)
{
  const ApiConfig *cfg = api_request_config(req);
  ApiStore *store = api_request_store(req);
  g_autoptr(ApiSigner) s = store->ops->signer_get(store, d->signer_id, NULL);
  g_autofree char *when = format_usec(d->signed_at, cfg, lang);

  g_string_append(o, "<dl class=\"facts\">\n");
  g_string_append_printf(o, "<dt>%s</dt><dd class=\"signer-name\">",
                         TR(lang, "Penanda tangan", "Signer"));
  h_text(o, s ? s->name : "?");
  g_string_append(o, "</dd>\n");
  if (s != NULL && s->title != NULL) {
    g_string_append_printf(o, "<dt>%s</dt><dd>", TR(lang, "Jabatan", "Title"));
    h_text(o, s->title);
    g_string_append(o, "</dd>\n");
  }
  if (s != NULL && s->organization != NULL) {
    g_string_append_printf(o, "<dt>%s</dt><dd>", TR(lang, "Instansi", "Agency"));
    h_text(o, s->organization);
    g_string_append(o, "</dd>\n");
  }
  g_string_append_printf(o, "<dt>%s</dt><dd>", TR(lang, "Waktu penandatanganan", "Signed at"));
  h_text(o, when);
  g_string_append(o, "</dd>\n");
  g_string_append_printf(
      o, "<dt>%s</dt><dd><code class=\"hash\">",
      TR(lang, "SHA-256 berkas yang ditandatangani", "SHA-256 of the signed file"));
  h_text(o, d->sha256);
  g_string_append(o, "</code></dd>\n");
  g_string_append_printf(o, "<dt>%s</dt><dd>", TR(lang, "Status", "Status"));
  if (g_strcmp0(d->status, "withdrawn") == 0)
    g_string_append_printf(o, "<strong class=\"st-bad\">%s</strong>",
                           TR(lang, "DITARIK", "WITHDRAWN"));
  else
    g_string_append_printf(o, "<strong class=\"st-ok\">%s</strong>", TR(lang, "Berlaku", "Valid"));
  g_string_append(o, "</dd>\n</dl>\n");
}

/* The prominent withdrawal notice. */
static void
withdrawn_banner(GString *o, ApiRequest *req, const ApiDocument *d, WebLang lang)
{
  g_autofree char *when = format_usec(d->withdrawn_at, api_request_config(req), lang);

  g_string_append_printf(o,
                         "<section class=\"banner banner-bad withdrawn\" role=\"alert\">"
                         "<h2>%s</h2>\n<p><strong>%s</strong> ",
                         TR(lang, "Surat ini telah DITARIK oleh penerbitnya",
                            "This letter has been WITHDRAWN by its issuer"),
                         TR(lang, "Alasan:", "Reason:"));
  h_text(o, d->withdraw_reason && *d->withdraw_reason ? d->withdraw_reason : "—");
  g_string_append_printf(o, "</p>\n<p><strong>%s</strong> ",
                         TR(lang, "Tanggal penarikan:", "Withdrawn on:"));
  h_text(o, when);
  g_string_append_printf(o, "</p>\n<p>%s</p></section>\n",
                         TR(lang,
                            "Surat yang ditarik tidak berlaku lagi, meskipun tanda "
                            "tangannya secara teknis masih utuh.",
                            "A withdrawn letter is no longer in force, even though its "
                            "signature is still technically intact."));
}

/* ---- certificates ------------------------------------------------------------------- */

typedef struct {
  char *cn, *title, *ou, *o;
} WebSubject;

static void
web_subject_clear(WebSubject *s)
{
  g_free(s->cn);
  g_free(s->title);
  g_free(s->ou);
  g_free(s->o);
}

/* First value of @nid in @name as UTF-8 (NULL when absent); several OUs are joined. */
static char *
name_field(const X509_NAME *name, int nid)
{
  GString *o = NULL;
  int i = -1;

  while ((i = X509_NAME_get_index_by_NID(name, nid, i)) >= 0) {
    const ASN1_STRING *v = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i));
    unsigned char *utf8 = NULL;
    int n = ASN1_STRING_to_UTF8(&utf8, v);
    if (n < 0)
      continue;
    if (o == NULL)
      o = g_string_new(NULL);
    else
      g_string_append(o, ", ");
    g_string_append_len(o, (const char *)utf8, n);
    OPENSSL_free(utf8);
  }
  return o ? g_string_free(o, FALSE) : NULL;
}

static void
subject_of(X509 *c, WebSubject *s)
{
  const X509_NAME *n = X509_get_subject_name(c);

  s->cn = name_field(n, NID_commonName);
  s->title = name_field(n, NID_title);
  s->ou = name_field(n, NID_organizationalUnitName);
  s->o = name_field(n, NID_organizationName);
}

/* The CMS of a signature: the hex string between the two byte ranges. */
static CMS_ContentInfo *
signature_cms(const guint8 *data, gsize len, const VfySignature *sig)
{
  g_autoptr(GByteArray) der = NULL;
  gint64 from, to;
  int hi = -1;

  if (!sig->byte_range_valid)
    return NULL;
  from = sig->byte_range[0] + sig->byte_range[1];
  to = sig->byte_range[2];
  if (from < 0 || to <= from || (guint64)to > len)
    return NULL;
  der = g_byte_array_new();
  for (gint64 i = from; i < to; i++) {
    guint8 ch = data[i];
    int v;
    if (ch == '<' || g_ascii_isspace(ch))
      continue;
    if (ch == '>')
      break;
    v = g_ascii_xdigit_value((char)ch);
    if (v < 0)
      return NULL;
    if (hi < 0) {
      hi = v;
      continue;
    }
    if (der->len >= TTE_LIMIT_CMS_MAX_LEN)
      return NULL;
    guint8 b = (guint8)(hi << 4 | v);
    g_byte_array_append(der, &b, 1);
    hi = -1;
  }
  {
    const unsigned char *p = der->data;
    /* The DER length bounds the parse; the zero padding after it is ignored. */
    return d2i_CMS_ContentInfo(NULL, &p, (long)der->len);
  }
}

/* Certificates of the configured trust anchors and intermediates. */
static TteX509Stack *
load_config_certs(char **files)
{
  TteX509Stack *all = sk_X509_new_null();

  for (guint i = 0; files != NULL && files[i] != NULL; i++) {
    g_autoptr(TteX509Stack) sk = tte_x509_load_file(files[i], NULL);
    while (sk != NULL && sk_X509_num(sk) > 0)
      sk_X509_push(all, sk_X509_shift(sk));
  }
  return all;
}

static gboolean
in_stack(TteX509Stack *sk, X509 *c)
{
  for (int i = 0; i < sk_X509_num(sk); i++)
    if (X509_cmp(sk_X509_value(sk, i), c) == 0)
      return TRUE;
  return FALSE;
}

/* The signer certificate of @cms (matched against its first SignerInfo) and the chain
 * above it as far as the certificates at hand reach.  For display only: the verifier
 * made the trust decision; this just names the links.  Returns a stack starting with
 * the signer (caller frees), or NULL. */
static TteX509Stack *
display_chain(CMS_ContentInfo *cms, TteX509Stack *anchors, TteX509Stack *intermediates)
{
  g_autoptr(TteX509Stack) certs = CMS_get1_certs(cms);
  STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);
  CMS_SignerInfo *si;
  TteX509Stack *chain;
  X509 *cur = NULL;

  if (certs == NULL || sis == NULL || sk_CMS_SignerInfo_num(sis) < 1)
    return NULL;
  si = sk_CMS_SignerInfo_value(sis, 0);
  for (int i = 0; i < sk_X509_num(certs) && cur == NULL; i++)
    if (CMS_SignerInfo_cert_cmp(si, sk_X509_value(certs, i)) == 0)
      cur = sk_X509_value(certs, i);
  if (cur == NULL)
    return NULL;
  chain = sk_X509_new_null();
  X509_up_ref(cur);
  sk_X509_push(chain, cur);
  for (guint depth = 0; depth < TTE_LIMIT_CHAIN_MAX_DEPTH; depth++) {
    X509 *issuer = NULL;
    TteX509Stack *pools[] = {anchors, intermediates, certs};
    if (X509_check_issued(cur, cur) == X509_V_OK)
      break;
    for (guint p = 0; p < G_N_ELEMENTS(pools) && issuer == NULL; p++)
      for (int i = 0; i < sk_X509_num(pools[p]) && issuer == NULL; i++)
        if (X509_check_issued(sk_X509_value(pools[p], i), cur) == X509_V_OK)
          issuer = sk_X509_value(pools[p], i);
    if (issuer == NULL || in_stack(chain, issuer))
      break;
    X509_up_ref(issuer);
    sk_X509_push(chain, issuer);
    cur = issuer;
  }
  return chain;
}

/* ---- verdicts ----------------------------------------------------------------------- */

typedef enum { WEB_OK, WEB_WARN, WEB_BAD } WebTone;

static gboolean
signature_changed(const VfySignature *sig)
{
  if (g_strcmp0(sig->subindication, "HASH_FAILURE") == 0)
    return TRUE;
  if (sig->visual_pages != NULL && sig->visual_pages->len > 0)
    return TRUE;
  for (guint i = 0; sig->modifications != NULL && i < sig->modifications->len; i++) {
    const VfyChange *c = g_ptr_array_index(sig->modifications, i);
    if (!c->allowed)
      return TRUE;
  }
  return FALSE;
}

/* The one sentence a citizen reads first, and its tone. */
static const char *
verdict(const VfySignature *sig, WebLang lang, WebTone *tone)
{
  const char *sub = sig->subindication ? sig->subindication : "";

  if (sig->indication == VFY_TOTAL_PASSED) {
    *tone = WEB_OK;
    if (g_strcmp0(sig->kind, "document-timestamp") == 0)
      return TR(lang, "Stempel waktu dokumen sah — dokumen tidak berubah sejak itu",
                "Valid document timestamp — the document has not changed since");
    return TR(lang, "Tanda tangan sah — dokumen tidak berubah sejak ditandatangani",
              "Valid signature — the document has not changed since it was signed");
  }
  *tone = WEB_BAD;
  if (signature_changed(sig))
    return TR(lang, "Dokumen telah diubah setelah ditandatangani",
              "The document was changed after it was signed");
  if (strcmp(sub, "REVOKED") == 0)
    return TR(lang, "Sertifikat penanda tangan telah dicabut",
              "The signer's certificate has been revoked");
  if (strcmp(sub, "EXPIRED") == 0 || strcmp(sub, "NOT_YET_VALID") == 0)
    return TR(lang, "Sertifikat penanda tangan tidak berlaku saat penandatanganan",
              "The signer's certificate was not valid when the document was signed");
  if (sig->indication == VFY_TOTAL_FAILED)
    return TR(lang, "Tanda tangan tidak sah — tanda tangan rusak atau dipalsukan",
              "Invalid signature — the signature is damaged or forged");
  *tone = WEB_WARN;
  if (strcmp(sub, "NO_CERTIFICATE_CHAIN_FOUND") == 0 ||
      strcmp(sub, "NO_SIGNING_CERTIFICATE_FOUND") == 0)
    return TR(lang,
              "Penanda tangan tidak dikenal — sertifikatnya tidak berasal dari root "
              "nasional",
              "Unknown signer — the certificate does not come from the national root");
  if (strcmp(sub, "TRY_LATER") == 0)
    return TR(lang, "Status sertifikat penanda tangan belum dapat diperiksa — coba lagi nanti",
              "The status of the signer's certificate cannot be checked yet — try again later");
  if (strncmp(sub, "REVOKED", 7) == 0)
    return TR(lang, "Sertifikat dalam rantai telah dicabut — keabsahan tidak dapat dipastikan",
              "A certificate in the chain has been revoked — validity cannot be confirmed");
  if (strcmp(sub, "OUT_OF_BOUNDS_NO_POE") == 0)
    return TR(lang, "Sertifikat penanda tangan tidak berlaku pada waktu yang diklaim",
              "The signer's certificate was not valid at the claimed time");
  return TR(lang, "Keabsahan tanda tangan tidak dapat dipastikan",
            "The signature's validity cannot be confirmed");
}

static const char *
tone_class(WebTone t)
{
  return t == WEB_OK ? "ok" : t == WEB_WARN ? "warn" : "bad";
}

static const char *
tone_icon(WebTone t)
{
  return t == WEB_OK ? "&#10004;" : t == WEB_WARN ? "&#9888;" : "&#10008;";
}

/* ---- the result of one upload ------------------------------------------------------- */

typedef struct {
  const guint8 *data;
  gsize len;
  VfyReport *report;
  TteX509Stack *anchors;
  TteX509Stack *intermediates;
} WebCheck;

static void
dd_text(GString *o, const char *dt, const char *value, const char *cls)
{
  if (value == NULL || *value == '\0')
    return;
  g_string_append_printf(o, "<dt>%s</dt><dd%s%s%s>", dt, cls ? " class=\"" : "", cls ? cls : "",
                         cls ? "\"" : "");
  h_text(o, value);
  g_string_append(o, "</dd>\n");
}

/* Signed and current rendering of the pages that differ, side by side. */
static void
compare_pages(GString *o, const WebCheck *chk, const VfySignature *sig, WebLang lang)
{
  guint shown = 0;

  if (sig->visual_pages == NULL || sig->visual_pages->len == 0 || sig->signed_length == 0 ||
      sig->signed_length >= chk->len)
    return;
  g_string_append_printf(o, "<section class=\"compare\"><h3>%s</h3>\n<p>%s</p>\n",
                         TR(lang, "Halaman yang berubah", "Pages that changed"),
                         TR(lang,
                            "Kiri: versi yang ditandatangani. Kanan: versi berkas Anda "
                            "sekarang.",
                            "Left: the version that was signed. Right: your file as it is "
                            "now."));
  for (guint i = 0; i < sig->visual_pages->len && shown < WEB_COMPARE_MAX_PAGES; i++) {
    guint page = g_array_index(sig->visual_pages, guint, i);
    g_autoptr(GError) e1 = NULL;
    g_autoptr(GError) e2 = NULL;
    g_autoptr(GBytes) before =
        vfy_render_page_png(chk->data, chk->len, sig->signed_length, page, WEB_COMPARE_DPI, &e1);
    g_autoptr(GBytes) after =
        vfy_render_page_png(chk->data, chk->len, chk->len, page, WEB_COMPARE_DPI, &e2);
    GBytes *imgs[2] = {before, after};
    const char *caps[2] = {TR(lang, "Ditandatangani", "Signed"), TR(lang, "Sekarang", "Now")};

    g_string_append_printf(o, "<div class=\"pair\" data-page=\"%u\">\n", page + 1);
    for (guint k = 0; k < 2; k++) {
      g_string_append_printf(o, "<figure class=\"%s\"><figcaption>%s — %s %u</figcaption>",
                             k == 0 ? "before" : "after", caps[k], TR(lang, "halaman", "page"),
                             page + 1);
      if (imgs[k] != NULL) {
        g_autofree char *b64 =
            g_base64_encode(g_bytes_get_data(imgs[k], NULL), g_bytes_get_size(imgs[k]));
        g_string_append_printf(o, "<img alt=\"%s %u\" src=\"data:image/png;base64,%s\">", caps[k],
                               page + 1, b64);
      } else {
        /* Pages added after signing do not exist in the signed version. */
        g_string_append_printf(o, "<p class=\"nopage\">%s</p>",
                               TR(lang, "Halaman ini tidak ada di versi ini.",
                                  "This page does not exist in this version."));
      }
      g_string_append(o, "</figure>\n");
    }
    g_string_append(o, "</div>\n");
    shown++;
  }
  g_string_append(o, "</section>\n");
}

static void
signature_card(GString *o, const WebCheck *chk, const VfySignature *sig, guint index,
               const ApiConfig *cfg, WebLang lang)
{
  WebTone tone;
  const char *v = verdict(sig, lang, &tone);
  g_autoptr(CMS_ContentInfo) cms = signature_cms(chk->data, chk->len, sig);
  g_autoptr(TteX509Stack) chain = cms ? display_chain(cms, chk->anchors, chk->intermediates) : NULL;
  WebSubject subj = {0};
  g_autofree char *when = format_iso(sig->signing_time, cfg, lang);
  GPtrArray *reasons = lang == WEB_EN ? sig->reasons_en : sig->reasons_id;

  if (chain != NULL && sk_X509_num(chain) > 0)
    subject_of(sk_X509_value(chain, 0), &subj);
  g_string_append_printf(o, "<article class=\"sig tone-%s\" data-indication=\"%s\">\n",
                         tone_class(tone), vfy_indication_name(sig->indication));
  g_string_append_printf(o, "<p class=\"sig-no\">%s %u</p>\n",
                         g_strcmp0(sig->kind, "document-timestamp") == 0
                             ? TR(lang, "Stempel waktu dokumen", "Document timestamp")
                             : TR(lang, "Tanda tangan", "Signature"),
                         index + 1);
  g_string_append_printf(o, "<h2 class=\"verdict\"><span aria-hidden=\"true\">%s</span> %s</h2>\n",
                         tone_icon(tone), v);
  g_string_append(o, "<dl class=\"facts\">\n");
  if (subj.cn == NULL && sig->signer_subject != NULL)
    dd_text(o, TR(lang, "Penanda tangan", "Signer"), sig->signer_subject, "signer-name");
  if (subj.cn != NULL) {
    g_string_append_printf(o, "<dt>%s</dt><dd><span class=\"signer-name\">",
                           TR(lang, "Penanda tangan", "Signer"));
    h_text(o, subj.cn);
    g_string_append(o, "</span>");
    /* Anyone can write any name into a certificate of their own making. */
    if (!sig->trusted)
      g_string_append_printf(o, " <span class=\"badge badge-bad\">%s</span>",
                             TR(lang, "identitas tidak terverifikasi", "identity not verified"));
    g_string_append(o, "</dd>\n");
  }
  dd_text(o, TR(lang, "Jabatan", "Title"), subj.title, NULL);
  dd_text(o, TR(lang, "Unit kerja", "Unit"), subj.ou, NULL);
  dd_text(o, TR(lang, "Instansi", "Agency"), subj.o, NULL);
  g_string_append_printf(o, "<dt>%s</dt><dd>", TR(lang, "Waktu", "Time"));
  h_text(o, when);
  if (g_strcmp0(sig->time_source, "timestamp") == 0)
    g_string_append_printf(
        o, " <span class=\"badge badge-ok\">%s</span>",
        TR(lang, "dari stempel waktu tepercaya (TSA)", "from a trusted timestamp (TSA)"));
  else
    g_string_append_printf(o, " <span class=\"badge\">%s</span>",
                           TR(lang, "menurut komputer penanda tangan, tanpa stempel waktu",
                              "as stated by the signer's computer, no timestamp"));
  g_string_append(o, "</dd>\n");
  if (chain != NULL) {
    g_string_append_printf(o, "<dt>%s</dt><dd><ol class=\"chain\">",
                           TR(lang, "Rantai sertifikat", "Certificate chain"));
    for (int i = 0; i < sk_X509_num(chain); i++) {
      X509 *c = sk_X509_value(chain, i);
      WebSubject s = {0};
      subject_of(c, &s);
      g_string_append(o, "<li>");
      h_text(o, s.cn ? s.cn : (s.o ? s.o : "?"));
      if (i > 0 && s.o != NULL && s.cn != NULL) {
        g_string_append(o, " <span class=\"muted\">(");
        h_text(o, s.o);
        g_string_append(o, ")</span>");
      }
      if (in_stack(chk->anchors, c))
        g_string_append_printf(o, " <span class=\"badge badge-ok\">%s</span>",
                               TR(lang, "root nasional tepercaya", "trusted national root"));
      g_string_append(o, "</li>");
      web_subject_clear(&s);
    }
    if (!sig->trusted)
      g_string_append_printf(
          o, "<li class=\"chain-broken\">%s</li>",
          TR(lang, "tidak sampai ke root nasional", "does not reach the national root"));
    g_string_append(o, "</ol></dd>\n");
  }
  g_string_append(o, "</dl>\n");
  compare_pages(o, chk, sig, lang);
  g_string_append_printf(o, "<details class=\"tech\"><summary>%s</summary>\n<ul>",
                         TR(lang, "Rincian teknis", "Technical details"));
  for (guint i = 0; reasons != NULL && i < reasons->len; i++) {
    g_string_append(o, "<li>");
    h_text(o, g_ptr_array_index(reasons, i));
    g_string_append(o, "</li>");
  }
  for (guint i = 0; sig->modifications != NULL && i < sig->modifications->len; i++) {
    const VfyChange *c = g_ptr_array_index(sig->modifications, i);
    g_string_append_printf(o, "<li class=\"%s\">", c->allowed ? "mod-ok" : "mod-bad");
    h_text(o, lang == WEB_EN ? c->detail_en : c->detail_id);
    g_string_append(o, "</li>");
  }
  g_string_append(o, "</ul>\n<p class=\"muted\">");
  h_text(o, vfy_indication_name(sig->indication));
  if (sig->subindication != NULL) {
    g_string_append(o, " / ");
    h_text(o, sig->subindication);
  }
  if (sig->level != NULL) {
    g_string_append(o, " · PAdES ");
    h_text(o, sig->level);
  }
  g_string_append(o, "</p></details>\n</article>\n");
  web_subject_clear(&subj);
}

/* ---- error pages -------------------------------------------------------------------- */

/* A page that explains @error to a citizen. */
static ApiResponse *
error_page(ApiRequest *req, const GError *error, WebLang lang, const char *back)
{
  WebPage p;
  guint status = api_error_http_status(error);
  const char *head, *text;
  ApiResponse *resp;

  web_page_init(&p, req, back);
  p.lang = lang;
  if (g_error_matches(error, TTE_ERROR, TTE_ERROR_NOT_PDF)) {
    head = TR(lang, "Berkas ini bukan PDF", "This file is not a PDF");
    text = TR(lang, "Pilih berkas surat dalam format PDF (berakhiran .pdf).",
              "Choose the letter as a PDF file (ending in .pdf).");
  } else if (status == 413) {
    head = TR(lang, "Berkas terlalu besar", "The file is too large");
    text = TR(lang, "Berkas ini melebihi batas ukuran atau kerumitan yang dapat diperiksa.",
              "This file exceeds the size or complexity that can be checked.");
  } else if (g_error_matches(error, TTE_ERROR, TTE_ERROR_NO_SIGNATURE)) {
    head = TR(lang, "Dokumen ini tidak memiliki tanda tangan elektronik",
              "This document has no electronic signature");
    text = TR(lang,
              "Tidak ada tanda tangan elektronik di dalam berkas ini, sehingga keasliannya tidak "
              "dapat diperiksa. Mungkin ini hasil pindaian atau salinan dari surat aslinya; "
              "mintalah berkas PDF asli kepada pengirim.",
              "There is no electronic signature in this file, so it cannot be checked. It may be "
              "a scan or a copy of the original; ask the sender for the original PDF.");
  } else if (g_error_matches(error, API_ERROR, API_ERROR_NOT_FOUND)) {
    head = TR(lang, "Tidak ditemukan", "Not found");
    text = TR(lang, "Dokumen atau halaman ini tidak ada di register.",
              "This document or page is not in the register.");
  } else if (status == 400 || status == 422 || status == 415) {
    head = TR(lang, "Berkas tidak dapat dibaca", "The file cannot be read");
    text = TR(lang,
              "Berkas ini rusak atau bentuknya tidak didukung. Pastikan Anda mengunggah berkas "
              "PDF asli yang Anda terima.",
              "The file is damaged or in a form we do not support. Make sure you upload the "
              "original PDF you received.");
  } else {
    head = TR(lang, "Pemeriksaan gagal", "The check failed");
    text = TR(lang, "Terjadi gangguan di layanan. Silakan coba lagi beberapa saat lagi.",
              "The service had a problem. Please try again in a moment.");
  }
  p.title = g_strdup(head);
  g_string_append_printf(p.main,
                         "<section class=\"banner banner-warn error\" role=\"alert\">"
                         "<h1>%s</h1>\n<p>%s</p>",
                         head, text);
  if (status == 413) {
    g_autofree char *max = g_format_size(api_request_config(req)->body_max);
    g_string_append_printf(p.main, "<p>%s %s.</p>",
                           TR(lang, "Ukuran berkas paling besar:", "The largest file accepted:"),
                           max);
  }
  g_string_append(p.main, "</section>\n");
  /* Client errors may say what exactly was wrong; our own failures only go to the log. */
  if (status < 500 && error != NULL) {
    g_string_append_printf(p.main, "<details class=\"tech\"><summary>%s</summary><p>",
                           TR(lang, "Rincian teknis", "Technical details"));
    h_text(p.main, error->message);
    g_string_append(p.main, "</p></details>\n");
  }
  g_string_append_printf(p.main, "<p><a class=\"again\" href=\"%s%s\">%s</a></p>\n", back,
                         lang_query(lang), TR(lang, "Coba lagi", "Try again"));
  resp = web_page_finish(&p, status);
  web_page_clear(&p);
  return resp;
}

static ApiResponse *
render_error(ApiRequest *req, const GError *error, gpointer user_data)
{
  const char *l = api_request_query(req, "lang");
  WebLang lang = (l != NULL && strcmp(l, "en") == 0) ? WEB_EN : WEB_ID;

  return error_page(req, error, lang, "/");
}

/* ---- handlers ----------------------------------------------------------------------- */

static ApiResponse *
handle_index(ApiRequest *req, gpointer user_data, GError **error)
{
  WebPage p;
  ApiResponse *resp;

  web_page_init(&p, req, "/");
  p.title = g_strdup(
      TR(p.lang, "Periksa keaslian surat elektronik", "Check an electronically signed letter"));
  g_string_append_printf(
      p.main, "<section class=\"intro\"><h1>%s</h1>\n<p>%s</p></section>\n", p.title,
      TR(p.lang,
         "Unggah berkas PDF surat yang Anda terima. Kami memeriksa tanda tangan elektroniknya: "
         "siapa yang menandatangani, kapan, apakah surat diubah sesudahnya, dan apakah surat "
         "sudah ditarik.",
         "Upload the PDF of the letter you received. We check its electronic signature: who "
         "signed it, when, whether the letter was changed afterwards, and whether it has been "
         "withdrawn."));
  upload_form(p.main, p.lang, "/periksa", TR(p.lang, "Periksa dokumen", "Check document"));
  g_string_append_printf(p.main, "<p class=\"hint\">%s</p>\n",
                         TR(p.lang,
                            "Punya surat cetak? Pindai kode QR pada tanda tangannya untuk membuka "
                            "catatan surat di register.",
                            "Have a printed letter? Scan the QR code on its signature to open "
                            "the letter's record in the register."));
  resp = web_page_finish(&p, 200);
  web_page_clear(&p);
  return resp;
}

/* Verify the uploaded file of @req and describe it.  @doc_id is the register record the
 * citizen opened (/v/{id}), or NULL for the general page. */
static ApiResponse *
check_upload(ApiRequest *req, const char *doc_id, GError **error)
{
  const ApiConfig *cfg = api_request_config(req);
  ApiStore *store = api_request_store(req);
  g_autofree char *back = doc_id ? g_strconcat("/v/", doc_id, NULL) : g_strdup("/");
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) local = NULL;
  g_autoptr(ApiDocument) doc = NULL;
  g_autoptr(VfyReport) report = NULL;
  g_autofree char *sha = NULL;
  g_autofree char *found_id = NULL;
  gboolean prefix_match = FALSE;
  const guint8 *file = NULL;
  gsize file_len = 0;
  WebCheck chk = {0};
  WebPage p;
  ApiResponse *resp;
  VfyOptions opts = {0};

  web_page_init(&p, req, back);
  if (doc_id != NULL) {
    doc = store->ops->document_get(store, doc_id, &local);
    if (doc == NULL) {
      resp = error_page(req, local, p.lang, "/");
      web_page_clear(&p);
      return resp;
    }
  }
  body = api_request_body_bytes(req, &local);
  if (body == NULL || !api_web_multipart_find(g_bytes_get_data(body, NULL), g_bytes_get_size(body),
                                              api_request_header(req, "Content-Type"), "file",
                                              &file, &file_len, &local)) {
    resp = error_page(req, local, p.lang, back);
    web_page_clear(&p);
    return resp;
  }
  if (file_len == 0) {
    g_set_error_literal(&local, API_ERROR, API_ERROR_BAD_REQUEST, "no file was chosen");
    resp = error_page(req, local, p.lang, back);
    web_page_clear(&p);
    return resp;
  }
  /* A quick look before the verifier: say "not a PDF" for pictures and documents. */
  if (memmem(file, MIN(file_len, (gsize)TTE_LIMIT_PDF_HEADER_SCAN), "%PDF-", 5) == NULL) {
    g_set_error_literal(&local, TTE_ERROR, TTE_ERROR_NOT_PDF, "the file does not start as a PDF");
    resp = error_page(req, local, p.lang, back);
    web_page_clear(&p);
    return resp;
  }
  opts.trust_files = (const char *const *)cfg->trust_roots;
  opts.intermediate_files = (const char *const *)cfg->intermediates;
  /* The same evidence as POST /api/v1/verify (configured roots and CRLs, no fetching), so
   * a citizen and an e-office application never get different answers for one file. */
  opts.crl_files = (const char *const *)cfg->crls;
  report = vfy_verify_bytes(file, file_len, "upload.pdf", &opts, &local);
  if (report == NULL) {
    resp = error_page(req, local, p.lang, back);
    web_page_clear(&p);
    return resp;
  }
  if (report->signatures->len == 0 && report->structure_errors_en->len == 0 && doc == NULL) {
    g_set_error_literal(&local, TTE_ERROR, TTE_ERROR_NO_SIGNATURE, "no signature in the file");
    resp = error_page(req, local, p.lang, back);
    web_page_clear(&p);
    return resp;
  }
  chk.data = file;
  chk.len = file_len;
  chk.report = report;
  chk.anchors = load_config_certs(cfg->trust_roots);
  chk.intermediates = load_config_certs(cfg->intermediates);

  sha = sha256_hex(file, file_len);
  if (doc == NULL) {
    /* The exact file, or (changed after signing) the revision a signature covers. */
    found_id = register_find_by_sha256(req, sha);
    for (guint i = 0; found_id == NULL && i < report->signatures->len; i++) {
      const VfySignature *s = g_ptr_array_index(report->signatures, i);
      if (s->signed_length > 0 && s->signed_length < file_len) {
        g_autofree char *h = sha256_hex(file, s->signed_length);
        found_id = register_find_by_sha256(req, h);
        prefix_match = found_id != NULL;
      }
    }
    if (found_id != NULL)
      doc = store->ops->document_get(store, found_id, NULL);
  } else if (strcmp(doc->sha256, sha) != 0) {
    for (guint i = 0; !prefix_match && i < report->signatures->len; i++) {
      const VfySignature *s = g_ptr_array_index(report->signatures, i);
      if (s->signed_length > 0 && s->signed_length < file_len) {
        g_autofree char *h = sha256_hex(file, s->signed_length);
        prefix_match = strcmp(h, doc->sha256) == 0;
      }
    }
  }

  p.title = g_strdup(TR(p.lang, "Hasil pemeriksaan", "Result of the check"));
  g_string_append_printf(p.main, "<h1>%s</h1>\n", p.title);
  if (doc != NULL && g_strcmp0(doc->status, "withdrawn") == 0)
    withdrawn_banner(p.main, req, doc, p.lang);
  if (doc_id != NULL) {
    gboolean same = strcmp(doc->sha256, sha) == 0;
    g_string_append_printf(
        p.main, "<section class=\"banner %s match\"><h2>%s</h2><p>%s</p></section>\n",
        same ? "banner-ok" : "banner-bad",
        same ? TR(p.lang, "Berkas ini sama persis dengan dokumen yang terdaftar",
                  "This file is exactly the registered document")
             : TR(p.lang, "Berkas ini BUKAN dokumen yang terdaftar",
                  "This file is NOT the registered document"),
        same ? TR(p.lang, "Sidik jari SHA-256 berkas cocok dengan catatan register.",
                  "The file's SHA-256 fingerprint matches the register record.")
        : prefix_match
            ? TR(p.lang,
                 "Berkas ini memuat dokumen yang terdaftar, tetapi ada perubahan yang "
                 "ditambahkan sesudahnya (lihat di bawah).",
                 "This file contains the registered document, but changes were added after it "
                 "(see below).")
            : TR(p.lang, "Sidik jari SHA-256 berkas berbeda dari catatan register.",
                 "The file's SHA-256 fingerprint differs from the register record."));
  }
  if (report->signatures->len == 0 && report->structure_errors_en->len == 0) {
    g_string_append_printf(p.main, "<section class=\"banner banner-bad\"><p>%s</p></section>\n",
                           TR(p.lang, "Berkas ini tidak memiliki tanda tangan elektronik.",
                              "This file has no electronic signature."));
  }
  for (guint i = 0; report->structure_errors_id != NULL && i < report->structure_errors_id->len;
       i++) {
    GPtrArray *errs = p.lang == WEB_EN ? report->structure_errors_en : report->structure_errors_id;
    if (i >= errs->len)
      break;
    g_string_append(p.main, "<section class=\"banner banner-bad\"><p>");
    h_text(p.main, g_ptr_array_index(errs, i));
    g_string_append(p.main, "</p></section>\n");
  }
  {
    /* File-level notes (overlapping annotations, encryption, qpdf's warning): they do not
     * change a verdict, but a reader should know before trusting what the pages show. */
    GPtrArray *warns = p.lang == WEB_EN ? report->warnings_en : report->warnings_id;
    for (guint i = 0; warns != NULL && i < warns->len; i++) {
      g_string_append(p.main, "<section class=\"banner banner-warn note\"><p>");
      h_text(p.main, g_ptr_array_index(warns, i));
      g_string_append(p.main, "</p></section>\n");
    }
  }
  for (guint i = 0; i < report->signatures->len; i++)
    signature_card(p.main, &chk, g_ptr_array_index(report->signatures, i), i, cfg, p.lang);
  if (doc_id == NULL && doc != NULL) {
    g_string_append_printf(
        p.main, "<section class=\"banner %s register\"><h2>%s</h2><p>",
        g_strcmp0(doc->status, "withdrawn") == 0 ? "banner-bad"
        : prefix_match                           ? "banner-warn"
                                                 : "banner-ok",
        prefix_match
            ? TR(p.lang, "Versi yang ditandatangani terdaftar di register",
                 "The signed version is in the register")
            : TR(p.lang, "Dokumen ini terdaftar di register", "This document is in the register"));
    if (prefix_match)
      g_string_append_printf(p.main, "%s ",
                             TR(p.lang, "Berkas Anda memuatnya, tetapi diubah sesudahnya.",
                                "Your file contains it, but was changed afterwards."));
    g_string_append_printf(p.main, "%s <a href=\"/v/", TR(p.lang, "Catatan:", "Record:"));
    h_text(p.main, doc->id);
    g_string_append_printf(p.main, "%s\">", lang_query(p.lang));
    h_text(p.main, doc->id);
    g_string_append(p.main, "</a></p>\n");
    record_details(p.main, req, doc, p.lang);
    g_string_append(p.main, "</section>\n");
  } else if (doc_id == NULL) {
    g_string_append_printf(p.main,
                           "<section class=\"banner banner-info register\"><p>%s</p>"
                           "</section>\n",
                           TR(p.lang,
                              "Dokumen ini tidak ditemukan di register layanan ini. Tanda "
                              "tangannya tetap diperiksa (lihat di atas).",
                              "This document is not in this service's register. Its "
                              "signatures were still checked (see above)."));
  }
  {
    g_autofree char *size = g_format_size(file_len);
    g_string_append_printf(p.main,
                           "<p class=\"fileinfo\">%s %s · SHA-256 "
                           "<code class=\"hash\">%s</code></p>\n",
                           TR(p.lang, "Berkas yang diperiksa:", "File checked:"), size, sha);
  }
  g_string_append_printf(p.main, "<p><a class=\"again\" href=\"%s%s\">%s</a></p>\n", back,
                         lang_query(p.lang),
                         TR(p.lang, "Periksa dokumen lain", "Check another document"));
  resp = web_page_finish(&p, 200);
  web_page_clear(&p);
  tte_x509_stack_free(chk.anchors);
  tte_x509_stack_free(chk.intermediates);
  return resp;
}

static ApiResponse *
handle_check(ApiRequest *req, gpointer user_data, GError **error)
{
  return check_upload(req, NULL, error);
}

static ApiResponse *
handle_record_check(ApiRequest *req, gpointer user_data, GError **error)
{
  return check_upload(req, api_request_param(req, "id"), error);
}

static ApiResponse *
handle_record(ApiRequest *req, gpointer user_data, GError **error)
{
  ApiStore *store = api_request_store(req);
  const char *id = api_request_param(req, "id");
  g_autofree char *path = g_strconcat("/v/", id, NULL);
  g_autoptr(GError) local = NULL;
  g_autoptr(ApiDocument) d = store->ops->document_get(store, id, &local);
  WebPage p;
  ApiResponse *resp;

  web_page_init(&p, req, path);
  if (d == NULL) {
    resp = error_page(req, local, p.lang, "/");
    web_page_clear(&p);
    return resp;
  }
  p.title = g_strdup(TR(p.lang, "Catatan surat di register", "The letter's register record"));
  g_string_append_printf(p.main, "<h1>%s</h1>\n", p.title);
  if (g_strcmp0(d->status, "withdrawn") == 0)
    withdrawn_banner(p.main, req, d, p.lang);
  g_string_append_printf(p.main, "<section class=\"record\"><p class=\"muted\">%s <code>",
                         TR(p.lang, "Nomor dokumen", "Document id"));
  h_text(p.main, d->id);
  g_string_append(p.main, "</code></p>\n");
  record_details(p.main, req, d, p.lang);
  g_string_append(p.main, "</section>\n");
  g_string_append_printf(
      p.main, "<section class=\"confirm\"><h2>%s</h2>\n<p>%s</p>\n",
      TR(p.lang, "Apakah berkas Anda dokumen ini?", "Is your file this document?"),
      TR(p.lang,
         "Unggah berkas PDF yang Anda terima untuk memastikan isinya sama "
         "persis dengan dokumen yang terdaftar dan tanda tangannya sah.",
         "Upload the PDF you received to confirm it is exactly the registered "
         "document and its signature is valid."));
  upload_form(p.main, p.lang, path, TR(p.lang, "Cocokkan berkas", "Compare file"));
  g_string_append(p.main, "</section>\n");
  resp = web_page_finish(&p, 200);
  web_page_clear(&p);
  return resp;
}

static ApiResponse *
static_resource(const char *name, const char *content_type, GError **error)
{
  g_autoptr(GBytes) data = web_resource(name, error);
  ApiResponse *resp;

  if (data == NULL)
    return NULL;
  resp = api_response_text(200, content_type,
                           g_strndup(g_bytes_get_data(data, NULL), g_bytes_get_size(data)));
  add_security_headers(resp);
  return resp;
}

static ApiResponse *
handle_css(ApiRequest *req, gpointer user_data, GError **error)
{
  return static_resource("web.css", "text/css; charset=utf-8", error);
}

static ApiResponse *
handle_js(ApiRequest *req, gpointer user_data, GError **error)
{
  return static_resource("web.js", "text/javascript; charset=utf-8", error);
}

void
api_web_register(ApiServer *srv)
{
  api_server_add_route_full(srv, "GET", "/", API_ALLOW_ANY, handle_index, render_error, NULL);
  api_server_add_route_full(srv, "POST", "/periksa", API_ALLOW_ANY, handle_check, render_error,
                            NULL);
  /* A reload or a shared link of a result page: show the upload page again. */
  api_server_add_route_full(srv, "GET", "/periksa", API_ALLOW_ANY, handle_index, render_error,
                            NULL);
  api_server_add_route_full(srv, "GET", "/v/{id}", API_ALLOW_ANY, handle_record, render_error,
                            NULL);
  api_server_add_route_full(srv, "POST", "/v/{id}", API_ALLOW_ANY, handle_record_check,
                            render_error, NULL);
  /* The default [verify] base_url ends in /verify, so QR codes may point below it. */
  api_server_add_route_full(srv, "GET", "/verify/v/{id}", API_ALLOW_ANY, handle_record,
                            render_error, NULL);
  api_server_add_route_full(srv, "POST", "/verify/v/{id}", API_ALLOW_ANY, handle_record_check,
                            render_error, NULL);
  api_server_add_route(srv, "GET", "/static/web.css", API_ALLOW_ANY, handle_css, NULL);
  api_server_add_route(srv, "GET", "/static/web.js", API_ALLOW_ANY, handle_js, NULL);
}
