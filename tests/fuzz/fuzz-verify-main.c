/* Replay driver for the verifier fuzz targets when they are built without libFuzzer:
 * each argument is a file, or a directory whose regular files are replayed (at most
 * FUZZ_REPLAY_MAX_FILES of them, each read whole).  Prints TAP. */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>

#define FUZZ_REPLAY_MAX_FILES 64u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static guint n;

static gint
by_name(gconstpointer a, gconstpointer b)
{
  return g_strcmp0(*(const char *const *)a, *(const char *const *)b);
}

static void
replay(const char *path)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr(GError) error = NULL;

  if (!g_file_get_contents(path, &data, &len, &error)) {
    printf("not ok %u - %s: %s\n", ++n, path, error->message);
    return;
  }
  LLVMFuzzerTestOneInput((const uint8_t *)data, len);
  /* Every prefix-truncated and bit-flipped variant is also an input worth surviving. */
  if (len > 16) {
    LLVMFuzzerTestOneInput((const uint8_t *)data, len / 2);
    data[len / 3] ^= 0x5a;
    LLVMFuzzerTestOneInput((const uint8_t *)data, len);
  }
  printf("ok %u - %s\n", ++n, path);
}

int
main(int argc, char **argv)
{
  for (int i = 1; i < argc; i++) {
    if (g_file_test(argv[i], G_FILE_TEST_IS_DIR)) {
      g_autoptr(GDir) d = g_dir_open(argv[i], 0, NULL);
      g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
      const char *name;
      while (d != NULL && (name = g_dir_read_name(d)) != NULL)
        g_ptr_array_add(names, g_build_filename(argv[i], name, NULL));
      g_ptr_array_sort(names, by_name);
      for (guint k = 0; k < names->len && k < FUZZ_REPLAY_MAX_FILES; k++)
        if (g_file_test(g_ptr_array_index(names, k), G_FILE_TEST_IS_REGULAR))
          replay(g_ptr_array_index(names, k));
    } else if (g_file_test(argv[i], G_FILE_TEST_IS_REGULAR)) {
      replay(argv[i]);
    } else {
      printf("ok %u - %s # SKIP absent\n", ++n, argv[i]);
    }
  }
  printf("1..%u\n", n);
  return 0;
}
