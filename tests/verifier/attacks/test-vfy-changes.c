/* test-vfy-changes.c — the change analysis against attacks and the corpus. */
#include "vfy-changes.h"

#include "tte-error.h"

static void
test_api_links(void)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *r = vfy_changes_analyse((const guint8 *)"x", 1, 1, VFY_MDP_NONE, NULL, &error);
  g_assert_null(r);
  g_assert_nonnull(error);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/vfy-changes/api-links", test_api_links);
  return g_test_run();
}
