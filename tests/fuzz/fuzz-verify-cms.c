/* Fuzz target: CMS parsing and checks on arbitrary DER, in each mode, over fixed bytes. */
#include "vfy-cms.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const guint8 signed_bytes[] = "%PDF-1.7 fuzz signed bytes";
  const VfyRanges r = { signed_bytes, 10, signed_bytes + 10, sizeof signed_bytes - 10 };
  const VfyCmsMode modes[] = { VFY_CMS_DETACHED, VFY_CMS_SHA1, VFY_CMS_TST };

  for (gsize m = 0; m < G_N_ELEMENTS(modes); m++) {
    g_autoptr(VfyCmsResult) res = vfy_cms_verify(data, size, modes[m], &r, NULL, m == 0);
    g_assert(res != NULL);
  }
  return 0;
}
