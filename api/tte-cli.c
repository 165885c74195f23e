#include "tte-cli.h"

#include "tte-config.h"
#include "tte-error.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char **saved_argv;

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

void
tte_cli_save_argv(int argc, char **argv)
{
  g_strfreev(saved_argv);
  saved_argv = g_new0(char *, (gsize)argc + 1);
  for (int i = 0; i < argc; i++)
    saved_argv[i] = g_strdup(argv[i]);
}

/* The full program sits beside this one (build tree, or a relocated install), else in
 * the configured libexec directory. */
static char *
full_program_path(void)
{
  g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);
  if (self != NULL) {
    g_autofree char *dir = g_path_get_dirname(self);
    char *beside = g_build_filename(dir, "tte-full", NULL);
    if (g_file_test(beside, G_FILE_TEST_IS_EXECUTABLE))
      return beside;
    g_free(beside);
  }
  return g_build_filename(TTE_LIBEXECDIR, "tte-full", NULL);
}

int
tte_cli_exec_full(void)
{
  g_autofree char *path = full_program_path();

  if (saved_argv == NULL || saved_argv[0] == NULL) {
    fprintf(stderr, "tte: internal error: the command line was not kept\n");
    return TTE_EXIT_FAILURE;
  }
  fflush(stdout);
  fflush(stderr);
  execv(path, saved_argv);
  fprintf(stderr, "tte: this command needs the full program %s, which cannot be started: %s\n", path,
          g_strerror(errno));
  return TTE_EXIT_FAILURE;
}
