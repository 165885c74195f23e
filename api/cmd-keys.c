/* cmd-keys.c — `tte keys`: token administration (work in progress). */
#include "tte-cli.h"
#include "tte-p11.h"

#include <stdio.h>

int
tte_cmd_keys(int argc, char **argv)
{
  fprintf(stderr, "tte keys: not yet implemented\n");
  return TTE_EXIT_USAGE;
}
