/* Runs a libFuzzer-style target as an ordinary TAP test: every file named on the
 * command line (or in a directory named there) as it is, then a fixed number of
 * deterministic random mutations of each, so a plain `meson test` explores a little
 * beyond the seeds.  TTE_FUZZ_ROUNDS overrides the number of mutations per seed. */
#include <glib.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static guint n_tests;

static gint
cmp_names(gconstpointer a, gconstpointer b)
{
  return g_strcmp0(*(char *const *)a, *(char *const *)b);
}

static void
run_seed(const char *path, guint rounds)
{
  g_autofree char *data = NULL;
  gsize len;
  g_autoptr(GRand) rnd = g_rand_new_with_seed(g_str_hash(path));

  if (!g_file_get_contents(path, &data, &len, NULL)) {
    g_print("not ok %u - cannot read %s\n", ++n_tests, path);
    return;
  }
  LLVMFuzzerTestOneInput((const uint8_t *)data, len);
  for (guint r = 0; r < rounds && len > 1; r++) {
    g_autofree guint8 *m = g_memdup2(data, len);
    gsize mlen = len;
    guint edits = (guint)g_rand_int_range(rnd, 1, 6);
    for (guint e = 0; e < edits; e++) {
      gsize at = 1 + (gsize)g_rand_int_range(rnd, 0, (gint32)MIN(mlen - 1, (gsize)G_MAXINT32));
      switch (g_rand_int_range(rnd, 0, 4)) {
      case 0: /* truncate (keep the selector byte) */
        mlen = MAX(at, 2);
        break;
      case 1: /* set a byte to an interesting value */
        m[at] = (guint8)(g_rand_boolean(rnd) ? 0xFF : 0x00);
        break;
      default: /* random byte */
        m[at] = (guint8)g_rand_int_range(rnd, 0, 256);
        break;
      }
      if (mlen < 2)
        break;
    }
    LLVMFuzzerTestOneInput(m, mlen);
  }
  g_print("ok %u - %s (+%u mutations)\n", ++n_tests, path, rounds);
}

int
main(int argc, char **argv)
{
  guint rounds = 300;
  const char *env = g_getenv("TTE_FUZZ_ROUNDS");
  guint64 v;

  if (env != NULL && g_ascii_string_to_unsigned(env, 10, 0, 1000000, &v, NULL))
    rounds = (guint)v;
  for (int i = 1; i < argc; i++) {
    if (g_file_test(argv[i], G_FILE_TEST_IS_DIR)) {
      g_autoptr(GDir) d = g_dir_open(argv[i], 0, NULL);
      g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
      const char *name;
      while (d != NULL && (name = g_dir_read_name(d)) != NULL)
        g_ptr_array_add(names, g_build_filename(argv[i], name, NULL));
      g_ptr_array_sort(names, cmp_names);
      for (guint k = 0; k < names->len; k++)
        run_seed(g_ptr_array_index(names, k), rounds);
    } else {
      run_seed(argv[i], rounds);
    }
  }
  g_print("1..%u\n", n_tests);
  return 0;
}
