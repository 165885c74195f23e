#include "tte-cli.h"

#include "tte-error.h"

#include <stdio.h>

void
tte_cli_print_error(const char *prefix, const GError *error)
{
  if (error == NULL)
    return;
  if (error->domain == TTE_ERROR)
    fprintf(stderr, "tte: %s%s%s [%s]\n", prefix ? prefix : "", prefix ? ": " : "",
            error->message, tte_error_code_name(error->code));
  else
    fprintf(stderr, "tte: %s%s%s\n", prefix ? prefix : "", prefix ? ": " : "", error->message);
}

gboolean
tte_cli_parse(GOptionContext *ctx, int *argc, char ***argv)
{
  g_autoptr(GError) error = NULL;

  if (!g_option_context_parse(ctx, argc, argv, &error)) {
    fprintf(stderr, "tte: %s\nTry '%s --help'.\n", error->message, g_get_prgname());
    return FALSE;
  }
  return TRUE;
}
