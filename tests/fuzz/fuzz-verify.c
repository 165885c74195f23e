/* Fuzz target: the whole verification of a PDF held in memory (no trust anchors, no
 * network, no page rendering). */
#include "vfy.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  VfyOptions opts = { .skip_visual = TRUE, .now = 1795785486 };
  g_autoptr(GError) error = NULL;
  g_autoptr(VfyReport) r = vfy_verify_bytes(data, size, "fuzz.pdf", &opts, &error);

  if (r != NULL) {
    g_autofree char *json = vfy_report_to_json(r);
    g_autofree char *text = vfy_report_to_text(r, "id");
    g_assert(json != NULL && text != NULL);
  }
  return 0;
}
