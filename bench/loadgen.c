/* loadgen.c — closed-loop load generator for POST /api/v1/sign (bench/serve.sh).
 *
 *   loadgen --url URL --token-file F --pin-file F --pdf FILE [--anchor TEXT]
 *           [--clients N] [--seconds S]
 *
 * N threads, each with one keep-alive connection, send the same letter (multipart, a
 * visible stamp at the anchor) back to back for S seconds.  Prints one line:
 *   clients requests errors req/s p50_ms p99_ms max_ms
 * A response counts as an error unless it is 201 with a body.  Not a test: figures only.
 */
#include <curl/curl.h>
#include <glib.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  const char *url, *anchor;
  char *auth_header, *pin_header;
  char *pdf;
  gsize pdf_len;
  gint64 deadline;
} Shared;

typedef struct {
  const Shared *sh;
  GArray *lat_us; /* gint64 */
  guint64 errors;
  pthread_t th;
} Worker;

static size_t
discard(char *p, size_t size, size_t n, void *data)
{
  *(gsize *)data += size * n;
  return size * n;
}

static void *
run(void *arg)
{
  Worker *w = arg;
  const Shared *sh = w->sh;
  CURL *c = curl_easy_init();
  struct curl_slist *hdrs = NULL;

  hdrs = curl_slist_append(hdrs, sh->auth_header);
  hdrs = curl_slist_append(hdrs, sh->pin_header);
  hdrs = curl_slist_append(hdrs, "Expect:");
  while (g_get_monotonic_time() < sh->deadline) {
    curl_mime *mime = curl_mime_init(c);
    curl_mimepart *part = curl_mime_addpart(mime);
    gsize got = 0;
    long status = 0;
    gint64 t0, dt;

    curl_mime_name(part, "file");
    curl_mime_filename(part, "letter.pdf");
    curl_mime_type(part, "application/pdf");
    curl_mime_data(part, sh->pdf, sh->pdf_len);
    if (sh->anchor != NULL) {
      part = curl_mime_addpart(mime);
      curl_mime_name(part, "anchor");
      curl_mime_data(part, sh->anchor, CURL_ZERO_TERMINATED);
    }
    curl_easy_setopt(c, CURLOPT_URL, sh->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &got);
    t0 = g_get_monotonic_time();
    if (curl_easy_perform(c) != CURLE_OK ||
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK || status != 201 ||
        got == 0)
      w->errors++;
    dt = g_get_monotonic_time() - t0;
    g_array_append_val(w->lat_us, dt);
    curl_mime_free(mime);
  }
  curl_slist_free_all(hdrs);
  curl_easy_cleanup(c);
  return NULL;
}

static gint
cmp64(gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;
  return x < y ? -1 : x > y;
}

static char *
read_secret(const char *path)
{
  char *s = NULL;

  if (!g_file_get_contents(path, &s, NULL, NULL))
    return NULL;
  g_strchomp(s);
  return s;
}

int
main(int argc, char **argv)
{
  g_autofree char *url = NULL, *token_file = NULL, *pin_file = NULL, *pdf = NULL;
  g_autofree char *anchor = NULL;
  gint clients = 1, seconds = 10;
  GOptionEntry entries[] = {
      {"url", 0, 0, G_OPTION_ARG_STRING, &url, "POST /api/v1/sign URL", "URL"},
      {"token-file", 0, 0, G_OPTION_ARG_FILENAME, &token_file, "File with the API token", "F"},
      {"pin-file", 0, 0, G_OPTION_ARG_FILENAME, &pin_file, "File with the passphrase", "F"},
      {"pdf", 0, 0, G_OPTION_ARG_FILENAME, &pdf, "The letter", "FILE"},
      {"anchor", 0, 0, G_OPTION_ARG_STRING, &anchor, "Stamp anchor text", "TEXT"},
      {"clients", 0, 0, G_OPTION_ARG_INT, &clients, "Concurrent clients", "N"},
      {"seconds", 0, 0, G_OPTION_ARG_INT, &seconds, "Duration", "S"},
      {NULL},
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new("- load generator for tte serve");
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL, *pin = NULL;
  g_autoptr(GArray) all = g_array_new(FALSE, FALSE, sizeof(gint64));
  Shared sh = {0};
  Worker *w;
  guint64 errors = 0;
  gint64 start;
  double secs;

  g_option_context_add_main_entries(ctx, entries, NULL);
  if (!g_option_context_parse(ctx, &argc, &argv, &error) || url == NULL || token_file == NULL ||
      pin_file == NULL || pdf == NULL || clients < 1 || clients > 1024 || seconds < 1) {
    fprintf(stderr, "loadgen: %s\n", error ? error->message : "missing or bad options (--help)");
    return 2;
  }
  token = read_secret(token_file);
  pin = read_secret(pin_file);
  if (token == NULL || pin == NULL || !g_file_get_contents(pdf, &sh.pdf, &sh.pdf_len, &error)) {
    fprintf(stderr, "loadgen: cannot read the token, PIN or PDF file\n");
    return 2;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  sh.url = url;
  sh.anchor = anchor;
  sh.auth_header = g_strconcat("Authorization: Bearer ", token, NULL);
  sh.pin_header = g_strconcat("X-TTE-Passphrase: ", pin, NULL);
  start = g_get_monotonic_time();
  sh.deadline = start + (gint64)seconds * G_USEC_PER_SEC;
  w = g_new0(Worker, clients);
  for (gint i = 0; i < clients; i++) {
    w[i].sh = &sh;
    w[i].lat_us = g_array_new(FALSE, FALSE, sizeof(gint64));
    pthread_create(&w[i].th, NULL, run, &w[i]);
  }
  for (gint i = 0; i < clients; i++) {
    pthread_join(w[i].th, NULL);
    g_array_append_vals(all, w[i].lat_us->data, w[i].lat_us->len);
    errors += w[i].errors;
    g_array_unref(w[i].lat_us);
  }
  secs = (double)(g_get_monotonic_time() - start) / G_USEC_PER_SEC;
  g_array_sort(all, cmp64);
  if (all->len == 0) {
    printf("%d 0 0 0 0 0 0\n", clients);
    return 1;
  }
  printf("%d %u %" G_GUINT64_FORMAT " %.1f %.1f %.1f %.1f\n", clients, all->len, errors,
         (all->len - errors) / secs, g_array_index(all, gint64, all->len / 2) / 1000.0,
         g_array_index(all, gint64,
                       (all->len * 99) / 100 < all->len ? (all->len * 99) / 100 : all->len - 1) /
             1000.0,
         g_array_index(all, gint64, all->len - 1) / 1000.0);
  g_free(w);
  g_free(sh.pdf);
  g_free(sh.auth_header);
  g_free(sh.pin_header);
  curl_global_cleanup();
  return errors == 0 ? 0 : 1;
}
