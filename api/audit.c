/* audit.c — canonical encoding, hashing and verification of the audit chain. */
#include "audit.h"

#include "tte-error.h"
#include "tte-ossl.h"

#include <openssl/evp.h>
#include <string.h>

/* Bump when the encoding changes; entries hashed under another tag no longer verify. */
static const char audit_tag[] = "tte-audit-v1";

static char *
canonical_details(json_t *details)
{
  char *text;
  char *copy;

  if (details == NULL || !json_is_object(details))
    return g_strdup("{}");
  /* Sorted keys and no whitespace give one text per object, independent of insertion
   * order; ASCII escaping keeps the bytes stable across locales. */
  text = json_dumps(details, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
  if (text == NULL)
    return g_strdup("{}");
  copy = g_strdup(text);
  free(text);
  return copy;
}

ApiAuditEntry *
api_audit_entry_new(const char *actor, const char *action, const char *subject, json_t *details)
{
  ApiAuditEntry *e = g_new0(ApiAuditEntry, 1);

  e->time = g_get_real_time();
  e->actor = g_strdup(actor ? actor : "");
  e->action = g_strdup(action ? action : "");
  e->subject = g_strdup(subject ? subject : "");
  e->details = canonical_details(details);
  return e;
}

static void
hash_field(EVP_MD_CTX *ctx, const char *s)
{
  guint8 len[8];
  guint64 n = s ? strlen(s) : 0;

  for (int i = 7; i >= 0; i--) {
    len[i] = (guint8)(n & 0xff);
    n >>= 8;
  }
  EVP_DigestUpdate(ctx, len, sizeof len);
  if (s != NULL)
    EVP_DigestUpdate(ctx, s, strlen(s));
}

char *
api_audit_compute_hash(const ApiAuditEntry *e)
{
  g_autoptr(EVP_MD_CTX) ctx = EVP_MD_CTX_new();
  guint8 md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  char id[32], tm[32];
  GString *hex;

  g_snprintf(id, sizeof id, "%" G_GINT64_FORMAT, e->id);
  g_snprintf(tm, sizeof tm, "%" G_GINT64_FORMAT, e->time);
  /* SHA-256 through the default provider cannot fail short of memory exhaustion, which
   * GLib treats as fatal anyway. */
  if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
    g_error("SHA-256 unavailable");
  hash_field(ctx, audit_tag);
  hash_field(ctx, id);
  hash_field(ctx, tm);
  hash_field(ctx, e->actor);
  hash_field(ctx, e->action);
  hash_field(ctx, e->subject);
  hash_field(ctx, e->details);
  hash_field(ctx, e->prev_hash);
  if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
    g_error("SHA-256 failed");
  hex = g_string_sized_new(2 * mdlen + 1);
  for (unsigned int i = 0; i < mdlen; i++)
    g_string_append_printf(hex, "%02x", md[i]);
  return g_string_free(hex, FALSE);
}

void
api_audit_seal(ApiAuditEntry *e, gint64 prev_id, const char *prev_hash)
{
  e->id = prev_id + 1;
  g_free(e->prev_hash);
  e->prev_hash = g_strdup(prev_hash ? prev_hash : API_AUDIT_GENESIS_HASH);
  g_free(e->hash);
  e->hash = api_audit_compute_hash(e);
}

void
api_audit_verify_result_clear(ApiAuditVerifyResult *r)
{
  g_clear_pointer(&r->reason, g_free);
  g_clear_pointer(&r->head_hash, g_free);
}

gboolean
api_audit_verify(ApiStore *store, ApiAuditVerifyResult *result, GError **error)
{
  ApiAuditFilter filter = {0};
  gint64 prev_id = 0;
  g_autofree char *prev_hash = g_strdup(API_AUDIT_GENESIS_HASH);

  memset(result, 0, sizeof *result);
  result->ok = TRUE;
  for (;;) {
    g_autoptr(GPtrArray) page = NULL;

    filter.after_id = prev_id;
    filter.limit = API_STORE_AUDIT_PAGE;
    page = store->ops->audit_list(store, &filter, error);
    if (page == NULL)
      return FALSE;
    for (guint i = 0; i < page->len; i++) {
      const ApiAuditEntry *e = g_ptr_array_index(page, i);
      g_autofree char *h = NULL;
      const char *why = NULL;

      /* Ids are dense: a gap means a deleted entry even if someone re-linked hashes. */
      if (e->id != prev_id + 1)
        why = "entry missing before this one (id gap)";
      else if (g_strcmp0(e->prev_hash, prev_hash) != 0)
        why = "previous-hash link does not match the previous entry";
      else if (g_strcmp0((h = api_audit_compute_hash(e)), e->hash) != 0)
        why = "entry content does not match its hash";
      if (why != NULL) {
        result->ok = FALSE;
        result->first_bad_id = e->id;
        result->reason = g_strdup(why);
        result->head_id = prev_id;
        result->head_hash = g_strdup(prev_hash);
        return TRUE;
      }
      result->count++;
      prev_id = e->id;
      g_free(prev_hash);
      prev_hash = g_strdup(e->hash);
    }
    if (page->len < filter.limit)
      break;
  }
  result->head_id = prev_id;
  result->head_hash = g_steal_pointer(&prev_hash);
  return TRUE;
}

char *
api_time_format(gint64 usec)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(usec / G_USEC_PER_SEC);
  g_autofree char *base = NULL;

  if (dt == NULL)
    return g_strdup("invalid");
  base = g_date_time_format(dt, "%Y-%m-%dT%H:%M:%S");
  return g_strdup_printf("%s.%06" G_GINT64_FORMAT "Z", base, usec % G_USEC_PER_SEC);
}

gboolean
api_time_parse(const char *text, gint64 *usec_out, GError **error)
{
  g_autoptr(GTimeZone) utc = g_time_zone_new_utc();
  g_autoptr(GDateTime) dt = NULL;
  g_autofree char *full = NULL;

  if (text == NULL || strlen(text) > 64)
    goto bad;
  /* A bare date is common on the command line: take the start of that day in UTC. */
  if (strlen(text) == 10)
    full = g_strconcat(text, "T00:00:00Z", NULL);
  else
    full = g_strdup(text);
  dt = g_date_time_new_from_iso8601(full, utc);
  if (dt == NULL)
    goto bad;
  *usec_out = g_date_time_to_unix(dt) * G_USEC_PER_SEC + g_date_time_get_microsecond(dt);
  return TRUE;
bad:
  g_set_error(
      error, API_ERROR, API_ERROR_BAD_REQUEST,
      "not an ISO 8601 date or date-time: expected e.g. 2026-11-27 or 2026-11-27T08:00:00+07:00");
  return FALSE;
}

json_t *
api_audit_entry_to_json(const ApiAuditEntry *e)
{
  g_autofree char *tm = api_time_format(e->time);
  json_error_t jerr;
  json_t *details = json_loads(e->details ? e->details : "{}", 0, &jerr);

  /* A hand-edited row may hold invalid JSON: show it as text rather than failing. */
  if (details == NULL)
    details = json_string(e->details ? e->details : "");
  return json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:s, s:s}", "id", (json_int_t)e->id, "time", tm,
                   "actor", e->actor ? e->actor : "", "action", e->action ? e->action : "",
                   "subject", e->subject ? e->subject : "", "details", details, "prev_hash",
                   e->prev_hash ? e->prev_hash : "", "hash", e->hash ? e->hash : "");
}
