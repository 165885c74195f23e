/* Fuzz target for the stamp's parsers of outside bytes.  The first byte picks the
 * parser, the rest is its input:
 *   even: a stamp image (PNG header check + libpng decode via cairo, or JPEG markers),
 *   odd:  a TrueType font to subset (table directory, head/hhea/maxp/hmtx, loca,
 *         glyf composites, format 4 cmap).
 * Built as a libFuzzer target with -Dfuzzing=true (clang), and always as a replay
 * test over corpus-stamp/ (fuzz-replay.c). */
#include <stdint.h>

#include "sig-appearance.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const gunichar chars[] = {' ', 'A', 'a', '0', 0xE9, 0x20AC};
  g_autoptr(GBytes) in = NULL;
  g_autoptr(GError) error = NULL;

  if (size < 1)
    return 0;
  in = g_bytes_new(data + 1, size - 1);
  if (data[0] & 1) {
    g_autoptr(GBytes) out = sig_font_subset(in, chars, G_N_ELEMENTS(chars), &error);
    /* Whatever we accept, we must accept again: our output is a font we can read. */
    if (out != NULL) {
      g_autoptr(GBytes) again = sig_font_subset(out, chars, G_N_ELEMENTS(chars), &error);
      g_assert_nonnull(again);
    }
  } else {
    guint w = 0, h = 0;
    if (sig_appearance_check_image(in, &w, &h, &error))
      g_assert_true(w > 0 && h > 0);
  }
  return 0;
}
