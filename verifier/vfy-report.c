/* vfy-report.c — the report as JSON (docs/verify-report.md) and as text for people. */
#include "vfy.h"

#include <jansson.h>

const char *
vfy_indication_name(VfyIndication ind)
{
  switch (ind) {
  case VFY_TOTAL_PASSED:
    return "TOTAL-PASSED";
  case VFY_INDETERMINATE:
    return "INDETERMINATE";
  case VFY_TOTAL_FAILED:
    return "TOTAL-FAILED";
  }
  return "INDETERMINATE";
}

const char *
vfy_revocation_status_name(VfyRevocationStatus s)
{
  switch (s) {
  case VFY_REVOCATION_GOOD:
    return "good";
  case VFY_REVOCATION_REVOKED:
    return "revoked";
  case VFY_REVOCATION_UNKNOWN:
    return "unknown";
  case VFY_REVOCATION_NOT_CHECKED:
    break;
  }
  return "not-checked";
}

static json_t *
str_or_null(const char *s)
{
  /* jansson refuses invalid UTF-8; names from certificates are printed as UTF-8 by
   * OpenSSL but a hostile certificate could still smuggle bytes in. */
  if (s == NULL)
    return json_null();
  if (!g_utf8_validate(s, -1, NULL)) {
    g_autofree char *fixed = g_utf8_make_valid(s, -1);
    return json_string(fixed);
  }
  return json_string(s);
}

static json_t *
strings(const GPtrArray *a)
{
  json_t *arr = json_array();
  for (guint i = 0; a != NULL && i < a->len; i++)
    json_array_append_new(arr, str_or_null(g_ptr_array_index(a, i)));
  return arr;
}

static json_t *
signature_json(const VfySignature *s)
{
  json_t *o = json_object();
  json_t *signer, *mods, *br, *rev, *ts, *vis;

  json_object_set_new(o, "field", str_or_null(s->field));
  json_object_set_new(o, "kind", str_or_null(s->kind));
  json_object_set_new(o, "subfilter", str_or_null(s->subfilter));
  json_object_set_new(o, "level", str_or_null(s->level));
  if (s->signer_subject != NULL) {
    signer = json_object();
    json_object_set_new(signer, "subject", str_or_null(s->signer_subject));
    json_object_set_new(signer, "issuer", str_or_null(s->signer_issuer));
    json_object_set_new(signer, "serial", str_or_null(s->signer_serial));
  } else {
    signer = json_null();
  }
  json_object_set_new(o, "signer", signer);
  json_object_set_new(o, "signing_time", str_or_null(s->signing_time));
  json_object_set_new(o, "time_source", str_or_null(s->time_source));
  json_object_set_new(o, "claimed_time", str_or_null(s->claimed_time));
  json_object_set_new(o, "coverage", str_or_null(s->coverage));
  br = json_array();
  for (int i = 0; i < 4; i++)
    json_array_append_new(br, json_integer(s->byte_range[i]));
  json_object_set_new(o, "byte_range", br);
  json_object_set_new(o, "signed_length", json_integer((json_int_t)s->signed_length));
  json_object_set_new(o, "digest_algorithm", str_or_null(s->digest_algorithm));
  json_object_set_new(o, "signature_algorithm", str_or_null(s->signature_algorithm));
  json_object_set_new(o, "integrity", json_boolean(s->integrity));
  json_object_set_new(o, "trusted", json_boolean(s->trusted));
  json_object_set_new(o, "docmdp", s->docmdp > 0 ? json_integer(s->docmdp) : json_null());

  rev = json_object();
  json_object_set_new(rev, "status", json_string(vfy_revocation_status_name(s->revocation)));
  json_object_set_new(rev, "source", str_or_null(s->revocation_source));
  json_object_set_new(rev, "revocation_time", str_or_null(s->revocation_time));
  json_object_set_new(o, "revocation", rev);

  ts = json_object();
  json_object_set_new(ts, "present", json_boolean(s->timestamp_present));
  json_object_set_new(ts, "intact", json_boolean(s->timestamp_intact));
  json_object_set_new(ts, "valid", json_boolean(s->timestamp_valid));
  json_object_set_new(ts, "time", str_or_null(s->timestamp_time));
  json_object_set_new(ts, "tsa", str_or_null(s->timestamp_tsa));
  json_object_set_new(o, "timestamp", ts);

  json_object_set_new(o, "modifications_analysed", json_boolean(s->modifications_analysed));
  mods = json_array();
  for (guint i = 0; s->modifications != NULL && i < s->modifications->len; i++) {
    const VfyChange *c = g_ptr_array_index(s->modifications, i);
    json_t *m = json_object();
    json_object_set_new(m, "classification", str_or_null(c->classification));
    json_object_set_new(m, "allowed", json_boolean(c->allowed));
    json_object_set_new(m, "object", c->obj_num != 0 ? json_integer(c->obj_num) : json_null());
    json_object_set_new(m, "generation", json_integer(c->obj_gen));
    json_object_set_new(m, "revision", json_integer(c->revision));
    json_object_set_new(m, "detail_en", str_or_null(c->detail_en));
    json_object_set_new(m, "detail_id", str_or_null(c->detail_id));
    json_array_append_new(mods, m);
  }
  json_object_set_new(o, "modifications", mods);

  vis = json_object();
  json_object_set_new(vis, "compared", json_boolean(s->visual_compared));
  json_object_set_new(vis, "capped", json_boolean(s->visual_capped));
  {
    json_t *pages = json_array();
    for (guint i = 0; s->visual_pages != NULL && i < s->visual_pages->len; i++)
      json_array_append_new(pages, json_integer(g_array_index(s->visual_pages, guint, i)));
    json_object_set_new(vis, "pages_differing", pages);
  }
  json_object_set_new(o, "visual", vis);

  json_object_set_new(o, "indication", json_string(vfy_indication_name(s->indication)));
  json_object_set_new(o, "subindication", str_or_null(s->subindication));
  json_object_set_new(o, "reasons_id", strings(s->reasons_id));
  json_object_set_new(o, "reasons_en", strings(s->reasons_en));
  return o;
}

char *
vfy_report_to_json(const VfyReport *r)
{
  json_t *o = json_object();
  json_t *sigs = json_array();
  g_autofree char *vt = NULL;
  char *dump, *out;

  {
    g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(r->validation_time);
    vt = dt != NULL ? g_date_time_format(dt, "%Y-%m-%dT%H:%M:%SZ") : NULL;
  }
  json_object_set_new(o, "file", str_or_null(r->file));
  json_object_set_new(o, "file_size", json_integer((json_int_t)r->file_size));
  json_object_set_new(o, "validation_time", str_or_null(vt));
  json_object_set_new(o, "indication", r->signatures->len == 0 && r->structure_errors_en->len == 0
                                           ? json_null()
                                           : json_string(vfy_indication_name(r->indication)));
  json_object_set_new(o, "signature_count", json_integer(r->signatures->len));
  json_object_set_new(o, "pdf_warnings", json_boolean(r->pdf_warnings));
  json_object_set_new(o, "warnings_en", strings(r->warnings_en));
  json_object_set_new(o, "warnings_id", strings(r->warnings_id));
  json_object_set_new(o, "structure_errors_en", strings(r->structure_errors_en));
  json_object_set_new(o, "structure_errors_id", strings(r->structure_errors_id));
  for (guint i = 0; i < r->signatures->len; i++)
    json_array_append_new(sigs, signature_json(g_ptr_array_index(r->signatures, i)));
  json_object_set_new(o, "signatures", sigs);
  dump = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(o);
  out = g_strdup(dump);
  free(dump);
  return out;
}

static const char *
ind_text(VfyIndication ind, gboolean id)
{
  switch (ind) {
  case VFY_TOTAL_PASSED:
    return id ? "SAH (TOTAL-PASSED)" : "VALID (TOTAL-PASSED)";
  case VFY_INDETERMINATE:
    return id ? "BELUM DAPAT DIPASTIKAN (INDETERMINATE)" : "INDETERMINATE";
  case VFY_TOTAL_FAILED:
    return id ? "TIDAK SAH (TOTAL-FAILED)" : "NOT VALID (TOTAL-FAILED)";
  }
  return "";
}

static guint
se_len(const VfyReport *r)
{
  return r->structure_errors_en != NULL ? r->structure_errors_en->len : 0;
}

char *
vfy_report_to_text(const VfyReport *r, const char *lang)
{
  gboolean id = g_strcmp0(lang, "en") != 0;
  GString *out = g_string_new(NULL);
  const GPtrArray *warn = id ? r->warnings_id : r->warnings_en;

  g_string_append_printf(out, "%s: %s\n", id ? "Berkas" : "File", r->file);
  {
    const GPtrArray *se = id ? r->structure_errors_id : r->structure_errors_en;
    for (guint i = 0; i < se->len; i++)
      g_string_append_printf(out, "  %s: %s\n", id ? "GALAT STRUKTUR" : "STRUCTURE ERROR",
                             (const char *)g_ptr_array_index(se, i));
  }
  if (r->signatures->len == 0 && se_len(r) == 0) {
    g_string_append(out, id ? "Tidak ada tanda tangan dalam berkas ini.\n" : "The file holds no signature.\n");
    return g_string_free(out, FALSE);
  }
  g_string_append_printf(out, "%s: %s\n", id ? "Hasil" : "Result", ind_text(r->indication, id));
  for (guint i = 0; i < warn->len; i++)
    g_string_append_printf(out, "  ! %s\n", (const char *)g_ptr_array_index(warn, i));
  for (guint i = 0; i < r->signatures->len; i++) {
    const VfySignature *s = g_ptr_array_index(r->signatures, i);
    const GPtrArray *reasons = id ? s->reasons_id : s->reasons_en;
    gboolean tst = g_strcmp0(s->kind, "document-timestamp") == 0;

    g_string_append_printf(out, "\n[%u] %s \"%s\" (%s)\n", i + 1,
                           tst ? (id ? "Cap waktu dokumen" : "Document timestamp") : (id ? "Tanda tangan" : "Signature"),
                           s->field != NULL ? s->field : "", s->subfilter != NULL ? s->subfilter : "-");
    g_string_append_printf(out, "    %s: %s%s%s\n", id ? "Hasil" : "Result", ind_text(s->indication, id),
                           s->subindication != NULL ? " / " : "", s->subindication != NULL ? s->subindication : "");
    if (s->signer_subject != NULL)
      g_string_append_printf(out, "    %s: %s\n    %s: %s\n", id ? "Penanda tangan" : "Signer", s->signer_subject,
                             id ? "Penerbit" : "Issuer", s->signer_issuer);
    if (s->signing_time != NULL)
      g_string_append_printf(out, "    %s: %s (%s)\n", id ? "Waktu" : "Time", s->signing_time,
                             g_strcmp0(s->time_source, "timestamp") == 0 ? (id ? "cap waktu" : "timestamp")
                             : g_strcmp0(s->time_source, "claimed") == 0 ? (id ? "diklaim penanda tangan" : "claimed by the signer")
                                                                          : (id ? "waktu validasi" : "validation time"));
    g_string_append_printf(out, "    %s: %s; %s: %s; %s: %s; %s: %s\n", id ? "Cakupan" : "Coverage",
                           s->coverage != NULL ? s->coverage : "-", id ? "Integritas" : "Integrity",
                           s->integrity ? (id ? "utuh" : "intact") : (id ? "tidak utuh" : "not intact"),
                           id ? "Dipercaya" : "Trusted", s->trusted ? (id ? "ya" : "yes") : (id ? "tidak" : "no"),
                           id ? "Pencabutan" : "Revocation", vfy_revocation_status_name(s->revocation));
    if (s->level != NULL)
      g_string_append_printf(out, "    %s: PAdES %s\n", id ? "Tingkat" : "Level", s->level);
    for (guint k = 0; reasons != NULL && k < reasons->len; k++)
      g_string_append_printf(out, "    - %s\n", (const char *)g_ptr_array_index(reasons, k));
    for (guint k = 0; s->modifications != NULL && k < s->modifications->len; k++) {
      const VfyChange *c = g_ptr_array_index(s->modifications, k);
      g_string_append_printf(out, "    * %s%s: %s\n", c->classification, c->allowed ? "" : (id ? " (TIDAK DIIZINKAN)" : " (NOT ALLOWED)"),
                             id ? (c->detail_id != NULL ? c->detail_id : "") : (c->detail_en != NULL ? c->detail_en : ""));
    }
  }
  return g_string_free(out, FALSE);
}
