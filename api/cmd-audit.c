/* cmd-audit.c — `tte audit verify|list`: read and check the audit log offline. */
#include "audit.h"
#include "store.h"
#include "tte-cli.h"
#include "tte-error.h"

#include <stdio.h>
#include <string.h>

static void
usage(FILE *out)
{
  fprintf(out, "Usage: tte audit verify --db FILE\n"
               "       tte audit list --db FILE [--since DATE] [--action ACTION] [--actor ACTOR] "
               "[--json]\n\n"
               "verify  checks the hash chain; exit 0 when intact, 1 when broken (the first bad\n"
               "        entry is printed), 2 on usage errors.\n"
               "list    prints entries (tab-separated, or one JSON object per line).\n");
}

static int
audit_verify(ApiStore *store)
{
  g_autoptr(GError) error = NULL;
  ApiAuditVerifyResult r;
  int rc;

  if (!api_audit_verify(store, &r, &error)) {
    tte_cli_print_error("audit verify", error);
    return TTE_EXIT_FAILURE;
  }
  if (r.ok) {
    printf("audit log OK: %" G_GUINT64_FORMAT " entries, head #%" G_GINT64_FORMAT " %s\n", r.count,
           r.head_id, r.head_hash);
    rc = TTE_EXIT_OK;
  } else {
    printf("audit log BROKEN at entry #%" G_GINT64_FORMAT ": %s (last good entry #%" G_GINT64_FORMAT
           ")\n",
           r.first_bad_id, r.reason, r.head_id);
    rc = TTE_EXIT_FAILURE;
  }
  api_audit_verify_result_clear(&r);
  return rc;
}

static int
audit_list(ApiStore *store, const char *since, const char *action, const char *actor, gboolean json)
{
  g_autoptr(GError) error = NULL;
  ApiAuditFilter f = {.action = action, .actor = actor};

  if (since != NULL && !api_time_parse(since, &f.since, &error)) {
    tte_cli_print_error("--since", error);
    return TTE_EXIT_USAGE;
  }
  for (;;) {
    g_autoptr(GPtrArray) page = store->ops->audit_list(store, &f, &error);

    if (page == NULL) {
      tte_cli_print_error("audit list", error);
      return TTE_EXIT_FAILURE;
    }
    for (guint i = 0; i < page->len; i++) {
      const ApiAuditEntry *e = g_ptr_array_index(page, i);
      if (json) {
        g_autoptr(json_t) o = api_audit_entry_to_json(e);
        char *text = json_dumps(o, JSON_COMPACT);
        printf("%s\n", text ? text : "{}");
        free(text);
      } else {
        g_autofree char *tm = api_time_format(e->time);
        printf("%" G_GINT64_FORMAT "\t%s\t%s\t%s\t%s\t%s\n", e->id, tm, e->actor, e->action,
               e->subject, e->details);
      }
      f.after_id = e->id;
    }
    if (page->len < API_STORE_AUDIT_PAGE)
      break;
  }
  return TTE_EXIT_OK;
}

int
tte_cmd_audit(int argc, char **argv)
{
  g_autofree char *db = NULL;
  g_autofree char *since = NULL;
  g_autofree char *action = NULL;
  g_autofree char *actor = NULL;
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
      {"db", 0, 0, G_OPTION_ARG_FILENAME, &db, "Database file", "FILE"},
      {"since", 0, 0, G_OPTION_ARG_STRING, &since, "list: entries at or after DATE (ISO 8601)",
       "DATE"},
      {"action", 0, 0, G_OPTION_ARG_STRING, &action, "list: only this action", "ACTION"},
      {"actor", 0, 0, G_OPTION_ARG_STRING, &actor, "list: only this actor", "ACTOR"},
      {"json", 0, 0, G_OPTION_ARG_NONE, &json, "list: one JSON object per line", NULL},
      {NULL},
  };
  g_autoptr(GOptionContext) ctx =
      g_option_context_new("verify|list - read and check the audit log");
  g_autoptr(ApiStore) store = NULL;
  g_autoptr(GError) error = NULL;
  const char *sub;

  g_option_context_add_main_entries(ctx, entries, NULL);
  if (!tte_cli_parse(ctx, &argc, &argv))
    return TTE_EXIT_USAGE;
  if (argc != 2 || (strcmp(argv[1], "verify") != 0 && strcmp(argv[1], "list") != 0)) {
    usage(stderr);
    return TTE_EXIT_USAGE;
  }
  sub = argv[1];
  if (db == NULL) {
    fprintf(stderr, "tte: --db FILE is required\n");
    return TTE_EXIT_USAGE;
  }
  /* Read-only: checking the log must never create or migrate a database. */
  store = api_store_open_sqlite_readonly(db, &error);
  if (store == NULL) {
    tte_cli_print_error("database", error);
    return TTE_EXIT_FAILURE;
  }
  if (strcmp(sub, "verify") == 0)
    return audit_verify(store);
  return audit_list(store, since, action, actor, json);
}
