/* tte-cli.h — shared helpers for the `tte` subcommands.
 *
 * Exit codes (all subcommands; `tte verify` adds its own 0-3 meanings, see its --help):
 *   0 success, 1 the operation failed (error printed), 2 usage error.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

enum {
  TTE_EXIT_OK = 0,
  TTE_EXIT_FAILURE = 1,
  TTE_EXIT_USAGE = 2,
};

/* A subcommand entry point: argv[0] is the subcommand name ("keys", "sign", ...). */
typedef int (*TteCommandFunc)(int argc, char **argv);

/* Print "tte: <message> [CODE]" on stderr for @error. */
void tte_cli_print_error(const char *prefix, const GError *error);

/* Parse @argc/@argv with @ctx; on failure print the error and the hint to use --help and
 * return FALSE. */
gboolean tte_cli_parse(GOptionContext *ctx, int *argc, char ***argv);

/* The lean `tte` (sign and verify with the fewest libraries, see docs/architecture.md)
 * hands everything else to the full program, `tte-full`, with the same arguments.
 * tte_cli_save_argv() keeps the original command line (main calls it first);
 * tte_cli_exec_full() replaces the process and returns only on failure (error printed). */
void tte_cli_save_argv(int argc, char **argv);
int tte_cli_exec_full(void);

/* Subcommands (each in its own cmd-*.c; present when its module is built). */
int tte_cmd_keys(int argc, char **argv);
int tte_cmd_sign(int argc, char **argv);
int tte_cmd_verify(int argc, char **argv);
int tte_cmd_serve(int argc, char **argv);
int tte_cmd_audit(int argc, char **argv);

G_END_DECLS
