/* fuzz-sign-read.c — the PDF-reading path of the signer, and the writer on top of it.
 *
 * For each input: open it as the signer does (header, startxref and last-section kind
 * through the TteCursor, qpdf without repair, field/certification inspection), and when
 * it opens, build an invisible signature's update and check the writer's invariants:
 * the ByteRange describes original + update with the /Contents gap inside the update,
 * and original + update opens again without repair, with one more signature.
 *
 * Built as a libFuzzer target with -Dfuzzing=true (clang); otherwise main() below replays
 * files and directories given on the command line and prints TAP.
 */
#include "sig-pdf.h"
#include "tte-error.h"
#include "tte-limits.h"

#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Inputs larger than this are skipped: the interesting structure is small. */
#define FUZZ_SIGN_MAX_INPUT (4u << 20)
/* Files replayed from one directory. */
#define FUZZ_SIGN_REPLAY_MAX_FILES 500u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_update(GBytes *in, SigDoc *doc, int certify)
{
  SigUpdateParams p = {0};
  SigUpdate u = {0};
  g_autoptr(GError) error = NULL;
  gsize in_len = g_bytes_get_size(in), up_len;
  guint before = sig_doc_get_signature_count(doc);

  p.contents_len = 64;
  p.certify = certify;
  p.dict_extra = "/M (D:20260101000000Z)";
  if (!sig_doc_build_update(doc, &p, &u, &error)) {
    /* Refusals must carry one of the documented codes. */
    if (error == NULL || error->domain != TTE_ERROR || error->code == TTE_ERROR_FAILED)
      abort();
    return;
  }
  up_len = g_bytes_get_size(u.update);
  if (u.byte_range[0] != 0 || u.byte_range[1] != u.gap_start || u.byte_range[2] != u.gap_end ||
      u.gap_start < in_len || u.gap_end <= u.gap_start ||
      u.byte_range[2] + u.byte_range[3] != in_len + up_len)
    abort();
  {
    /* The result must be a file we (and so qpdf, without repair) can read again. */
    GByteArray *all = g_byte_array_sized_new((guint)(in_len + up_len));
    g_autoptr(GBytes) out = NULL;
    g_autoptr(SigDoc) again = NULL;
    g_autoptr(GError) e2 = NULL;

    g_byte_array_append(all, g_bytes_get_data(in, NULL), (guint)in_len);
    g_byte_array_append(all, g_bytes_get_data(u.update, NULL), (guint)up_len);
    out = g_byte_array_free_to_bytes(all);
    again = sig_doc_open_bytes(out, &e2);
    if (again == NULL) {
      fprintf(stderr, "signed update does not reopen: %s\n", e2->message);
      abort();
    }
    if (sig_doc_get_signature_count(again) != before + 1 ||
        (certify != 0 && sig_doc_get_docmdp(again) != certify))
      abort();
  }
  sig_update_clear(&u);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  g_autoptr(GBytes) in = NULL;
  g_autoptr(SigDoc) doc = NULL;
  g_autoptr(GError) error = NULL;

  if (size > FUZZ_SIGN_MAX_INPUT)
    return 0;
  in = g_bytes_new(data, size);
  doc = sig_doc_open_bytes(in, &error);
  if (doc == NULL) {
    if (error == NULL || error->domain != TTE_ERROR)
      abort();
    return 0;
  }
  check_update(in, doc, 0);
  if (sig_doc_get_signature_count(doc) == 0 && sig_doc_get_docmdp(doc) == 0)
    check_update(in, doc, 2);
  return 0;
}

#ifndef TTE_FUZZING_LIBFUZZER
static guint n_tests;

static void
replay(const char *path)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr(GError) error = NULL;

  if (!g_file_get_contents(path, &data, &len, &error)) {
    printf("not ok %u - %s: %s\n", ++n_tests, path, error->message);
    return;
  }
  LLVMFuzzerTestOneInput((const uint8_t *)data, len);
  /* A truncated and a bit-flipped variant of each seed are inputs worth surviving. */
  if (len > 16) {
    LLVMFuzzerTestOneInput((const uint8_t *)data, len / 2);
    data[len / 3] ^= 0x5a;
    LLVMFuzzerTestOneInput((const uint8_t *)data, len);
  }
  printf("ok %u - %s\n", ++n_tests, path);
}

static gint
by_name(gconstpointer a, gconstpointer b)
{
  return g_strcmp0(*(const char *const *)a, *(const char *const *)b);
}

int
main(int argc, char **argv)
{
  for (int i = 1; i < argc; i++) {
    if (g_file_test(argv[i], G_FILE_TEST_IS_DIR)) {
      g_autoptr(GDir) d = g_dir_open(argv[i], 0, NULL);
      g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
      const char *name;
      while (d != NULL && (name = g_dir_read_name(d)) != NULL &&
             names->len < FUZZ_SIGN_REPLAY_MAX_FILES) {
        char *p = g_build_filename(argv[i], name, NULL);
        if (g_file_test(p, G_FILE_TEST_IS_REGULAR) && g_str_has_suffix(name, ".pdf"))
          g_ptr_array_add(names, p);
        else
          g_free(p);
      }
      g_ptr_array_sort(names, by_name);
      for (guint k = 0; k < names->len; k++)
        replay(names->pdata[k]);
    } else if (g_file_test(argv[i], G_FILE_TEST_EXISTS)) {
      replay(argv[i]);
    }
  }
  printf("1..%u\n", n_tests);
  return 0;
}
#endif
