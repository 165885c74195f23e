/* main.c — `tte`: one executable, one subcommand per task.  Each subcommand is a thin
 * shell over the libraries and lives in its own cmd-*.c. */
#include "tte-cli.h"
#include "tte-config.h"
#include "tte-error.h"

#include <locale.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#ifdef TTE_LEAN
/* The lean `tte` does sign and verify itself; the rest runs in the full program. */
static int
delegate_to_full(int argc, char **argv)
{
  (void)argc;
  (void)argv;
  return tte_cli_exec_full();
}
#define tte_cmd_keys delegate_to_full
#define tte_cmd_serve delegate_to_full
#define tte_cmd_audit delegate_to_full
#endif

typedef struct {
  const char *name;
  TteCommandFunc func;
  const char *summary;
} Command;

static const Command commands[] = {
#ifdef TTE_HAVE_KEYS
  { "keys", tte_cmd_keys, "manage keys and certificates on a PKCS#11 token (administrators)" },
#endif
#ifdef TTE_HAVE_SIGN
  { "sign", tte_cmd_sign, "apply a PAdES signature to a PDF" },
#endif
#ifdef TTE_HAVE_VERIFY
  { "verify", tte_cmd_verify, "verify the signatures in a PDF" },
#endif
#ifdef TTE_HAVE_SERVE
  { "serve", tte_cmd_serve, "run the signing and verification service (REST API, web page)" },
  { "audit", tte_cmd_audit, "read and check the audit log" },
#endif
  { NULL, NULL, NULL },
};

static void
usage(FILE *out)
{
  fprintf(out,
          "Usage: tte COMMAND [OPTIONS...]\n\n"
          "TTE — electronic signatures (PAdES) for local-government letters.\n\n"
          "Commands:\n");
  for (gsize i = 0; commands[i].name != NULL; i++)
    fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
  fprintf(out, "\nRun 'tte COMMAND --help' for the options of a command.\n"
               "'tte --version' prints the version.\n");
}

#ifdef TTE_LEAN
/* Reports and errors are written as UTF-8 bytes with stdio, whatever the locale.  The
 * locale's character set matters only where GLib converts: option values that are not
 * ASCII (GOption reads them in the locale's character set) and --help text (printed
 * in it).  Anything else runs in the "C" locale, which needs no locale files. */
static gboolean
lean_needs_charset(int argc, char **argv)
{
  for (int i = 1; i < argc; i++) {
    for (const unsigned char *p = (const unsigned char *)argv[i]; *p != '\0'; p++)
      if (*p >= 0x80)
        return TRUE;
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "-?") == 0 || g_str_has_prefix(argv[i], "--help"))
      return TRUE;
  }
  return FALSE;
}

/* A verification touches about 250 KiB of new heap, page by page: ~60 page faults, each
 * ~11 µs on the VMs this runs on.  One madvise() populates them at once (-0.35 ms of a
 * 9.5 ms one-page verification).  So that the populated block stays in the heap for what
 * follows, allocations up to 1 MiB come from the heap rather than mmap() and its top is
 * not given back below 4 MiB. */
#define LEAN_HEAP_PREFAULT (256u << 10)

static void
lean_prefault_heap(void)
{
#ifdef MADV_POPULATE_WRITE
  char *p;
  uintptr_t a, b;

  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  mallopt(M_TRIM_THRESHOLD, 4 << 20);
  p = malloc(LEAN_HEAP_PREFAULT);
  if (p == NULL)
    return;
  a = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
  b = ((uintptr_t)p + LEAN_HEAP_PREFAULT) & ~(uintptr_t)4095;
  if (b > a)
    (void)madvise((void *)a, b - a, MADV_POPULATE_WRITE); /* an older kernel: EINVAL, no harm */
  free(p);
#endif
}
#endif

int
main(int argc, char **argv)
{
#ifdef TTE_LEAN
  /* Only the character set, and only when GLib will convert text with it: nothing here
   * formats numbers or dates by the locale, and loading even LC_CTYPE was a tenth of a
   * one-page verification. */
  lean_prefault_heap();
  if (lean_needs_charset(argc, argv))
    setlocale(LC_CTYPE, "");
  tte_openssl_init_lean();
#else
  setlocale(LC_ALL, "");
#endif
  tte_cli_save_argv(argc, argv);
  if (argc < 2) {
    usage(stderr);
    return TTE_EXIT_USAGE;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
      strcmp(argv[1], "help") == 0) {
    usage(stdout);
    return TTE_EXIT_OK;
  }
  if (strcmp(argv[1], "--version") == 0) {
    printf("tte %s\n", TTE_VERSION);
    return TTE_EXIT_OK;
  }
  for (gsize i = 0; commands[i].name != NULL; i++) {
    if (strcmp(argv[1], commands[i].name) == 0) {
      g_autofree char *prgname = g_strdup_printf("tte %s", commands[i].name);
      g_set_prgname(prgname);
      return commands[i].func(argc - 1, argv + 1);
    }
  }
  fprintf(stderr, "tte: unknown command '%s'\n\n", argv[1]);
  usage(stderr);
  return TTE_EXIT_USAGE;
}
