/* audit.h — the hash-chained, append-only audit log.
 *
 * Each entry's hash is SHA-256 over a canonical encoding of (id, time, actor, action,
 * subject, details, prev_hash): a version tag, then every field as an 8-byte big-endian
 * length followed by its bytes (integers as decimal text).  prev_hash of the first entry
 * is 64 zeros.  details is the JSON object serialised compactly with sorted keys, and the
 * hash covers exactly the stored text.  Entries are appended by the store (store.h)
 * inside the transaction of the change they describe.
 *
 * The chain detects an edited or deleted entry anywhere except at the tail: removing the
 * newest entries leaves a shorter valid chain, so operators should copy the head
 * (id + hash, printed by verify) somewhere else from time to time.
 */
#pragma once

#include "store.h"

#include <jansson.h>

G_BEGIN_DECLS

G_DEFINE_AUTOPTR_CLEANUP_FUNC(json_t, json_decref)

#define API_AUDIT_GENESIS_HASH "0000000000000000000000000000000000000000000000000000000000000000"

/* New unsealed entry stamped with the current time.  @details may be NULL (stored as
 * "{}"); it is copied in canonical form and must not contain secrets.  Never fails. */
ApiAuditEntry *api_audit_entry_new(const char *actor, const char *action, const char *subject,
                                   json_t *details);

/* Lower-case hex SHA-256 of @e's canonical encoding using @e->prev_hash (caller frees). */
char *api_audit_compute_hash(const ApiAuditEntry *e);

/* Fill @e->id, prev_hash and hash as the successor of an entry with @prev_id and
 * @prev_hash (0 and NULL for the first entry).  Used by store backends. */
void api_audit_seal(ApiAuditEntry *e, gint64 prev_id, const char *prev_hash);

typedef struct {
  gboolean ok;
  guint64 count;       /* entries checked */
  gint64 first_bad_id; /* when !ok: id of the first entry that does not verify */
  char *reason;        /* when !ok: what was wrong */
  gint64 head_id;      /* last good entry */
  char *head_hash;
} ApiAuditVerifyResult;

void api_audit_verify_result_clear(ApiAuditVerifyResult *r);

/* Walk the whole chain in id order.  Returns FALSE only when the store could not be read
 * (@error set); a broken chain is reported in @result with ok = FALSE. */
gboolean api_audit_verify(ApiStore *store, ApiAuditVerifyResult *result,
                          GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* JSON form of an entry for the API and `tte audit list --json` (new reference). */
json_t *api_audit_entry_to_json(const ApiAuditEntry *e);

/* ISO 8601 UTC with microseconds for @usec since the epoch (caller frees). */
char *api_time_format(gint64 usec);

/* Parse an ISO 8601 date-time (with zone; "2026-11-27" means its UTC midnight). */
gboolean api_time_parse(const char *text, gint64 *usec_out,
                        GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
