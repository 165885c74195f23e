/* Fuzz target: signature discovery (qpdf walk, DSS, revision ends) and the ByteRange
 * coverage check of every signature found. */
#include "vfy-pdf.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(VfyPdfInfo) info = vfy_pdf_scan(data, size, &error);

  if (info == NULL)
    return 0;
  for (guint i = 0; i < info->sigs->len; i++) {
    g_autoptr(GError) cerr = NULL;
    g_autoptr(GBytes) cms = NULL;
    VfyCoverage cov;
    gsize signed_len = 0;
    if (vfy_pdf_check_coverage(data, size, g_ptr_array_index(info->sigs, i), info->revisions, info->encrypted,
                               &cov, &signed_len, &cms, &cerr))
      g_assert(signed_len <= size);
  }
  return 0;
}
