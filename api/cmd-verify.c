/* cmd-verify.c — `tte verify FILE.pdf`: a thin shell over vfy_verify_file().
 *
 * Exit codes (documented in --help and docs/verify-report.md):
 *   0 every signature TOTAL-PASSED, 1 some signature TOTAL-FAILED, 2 none failed but
 *   some INDETERMINATE, 3 the file holds no signature, 4 usage or I/O error.
 */
#include "tte-cli.h"
#include "tte-error.h"
#include "vfy.h"

#include <stdio.h>
#include <string.h>

enum {
  VERIFY_EXIT_PASSED = 0,
  VERIFY_EXIT_FAILED = 1,
  VERIFY_EXIT_INDETERMINATE = 2,
  VERIFY_EXIT_NO_SIGNATURE = 3,
  VERIFY_EXIT_ERROR = 4,
};

int
tte_cmd_verify(int argc, char **argv)
{
  g_auto(GStrv) trust = NULL;
  g_auto(GStrv) intermediates = NULL;
  g_auto(GStrv) crls = NULL;
  g_auto(GStrv) files = NULL;
  g_autofree char *lang = NULL;
  gboolean online = FALSE, json = FALSE, system_trust = FALSE, no_visual = FALSE;
  g_autoptr(GOptionContext) ctx = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(VfyReport) report = NULL;
  g_autofree char *out = NULL;
  VfyOptions opts = { 0 };
  GOptionEntry entries[] = {
    { "trust", 't', 0, G_OPTION_ARG_FILENAME_ARRAY, &trust, "Trust anchors (PEM bundle); repeatable", "ROOT.pem" },
    { "intermediate", 'i', 0, G_OPTION_ARG_FILENAME_ARRAY, &intermediates,
      "Extra intermediate certificates (PEM); repeatable", "CA.pem" },
    { "crl", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &crls, "A CRL to use for revocation (PEM or DER); repeatable", "FILE" },
    { "system-trust", 0, 0, G_OPTION_ARG_NONE, &system_trust, "Also trust the system certificate store", NULL },
    { "online", 0, 0, G_OPTION_ARG_NONE, &online, "Fetch OCSP responses and CRLs named in the certificates", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the report as JSON (docs/verify-report.md)", NULL },
    { "lang", 0, 0, G_OPTION_ARG_STRING, &lang, "Language of the text report: id (default) or en", "id|en" },
    { "no-visual", 0, 0, G_OPTION_ARG_NONE, &no_visual, "Skip the rendered-page comparison", NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &files, NULL, "FILE.pdf" },
    { NULL, 0, 0, 0, NULL, NULL, NULL },
  };

  ctx = g_option_context_new("— verify the signatures in a PDF");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_set_description(ctx,
    "Exit status: 0 every signature TOTAL-PASSED; 1 some signature TOTAL-FAILED;\n"
    "2 none failed but some INDETERMINATE; 3 no signature in the file; 4 usage or I/O error.\n"
    "Only the --trust anchors are trusted unless --system-trust is given.");
  if (!tte_cli_parse(ctx, &argc, &argv))
    return VERIFY_EXIT_ERROR;
  if (files == NULL || files[0] == NULL || files[1] != NULL) {
    fprintf(stderr, "tte: give exactly one PDF file\nTry '%s --help'.\n", g_get_prgname());
    return VERIFY_EXIT_ERROR;
  }
  if (lang != NULL && strcmp(lang, "id") != 0 && strcmp(lang, "en") != 0) {
    fprintf(stderr, "tte: --lang must be 'id' or 'en'\n");
    return VERIFY_EXIT_ERROR;
  }

  opts.trust_files = (const char *const *)trust;
  opts.intermediate_files = (const char *const *)intermediates;
  opts.crl_files = (const char *const *)crls;
  opts.system_trust = system_trust;
  opts.online = online;
  opts.skip_visual = no_visual;
#ifdef TTE_LEAN
  if (online)
    return tte_cli_exec_full(); /* the HTTP client lives in the full program */
#endif
  report = vfy_verify_file(files[0], &opts, &error);
#ifdef TTE_LEAN
  if (report == NULL && g_error_matches(error, TTE_ERROR, TTE_ERROR_NOT_BUILT_IN))
    return tte_cli_exec_full(); /* later revisions: the page comparison needs the renderer */
#endif
  if (report == NULL) {
    tte_cli_print_error("verify", error);
    return VERIFY_EXIT_ERROR;
  }
  out = json ? vfy_report_to_json(report) : vfy_report_to_text(report, lang != NULL ? lang : "id");
  fputs(out, stdout);
  fputc('\n', stdout);
  if (report->signatures->len == 0 && report->indication == VFY_TOTAL_PASSED)
    return VERIFY_EXIT_NO_SIGNATURE;
  switch (report->indication) {
  case VFY_TOTAL_PASSED:
    return VERIFY_EXIT_PASSED;
  case VFY_TOTAL_FAILED:
    return VERIFY_EXIT_FAILED;
  case VFY_INDETERMINATE:
    break;
  }
  return VERIFY_EXIT_INDETERMINATE;
}
