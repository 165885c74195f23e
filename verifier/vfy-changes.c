/* vfy-changes.c — changes-after-signing analysis (see vfy-changes.h).
 * First milestone: the API links and fails honestly until the analysis lands. */
#include "vfy-changes.h"

#include "tte-error.h"

void
vfy_change_free(VfyChange *c)
{
  if (c == NULL)
    return;
  g_free(c->classification);
  g_free(c->detail_en);
  g_free(c->detail_id);
  g_free(c);
}

GPtrArray *
vfy_changes_analyse(const guint8 *data, gsize len, gsize signed_len, VfyMdpLevel mdp,
                    const VfyChangeLimits *limits, GError **error)
{
  /* Never report "no changes" for something we did not look at. */
  g_set_error_literal(error, TTE_ERROR, TTE_ERROR_NOT_SUPPORTED,
                      "change analysis is not implemented yet");
  return NULL;
}
