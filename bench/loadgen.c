/* loadgen.c — closed-loop load generator for POST /api/v1/sign (bench/serve.sh).
 *
 *   loadgen --url URL --token-file F --pin-file F --pdf FILE [--anchor TEXT]
 *           [--clients N] [--seconds S]
 *
 * N keep-alive connections, each sending the same letter (multipart, a visible stamp at
 * the anchor) back to back for S seconds, driven by one epoll thread: the generator runs
 * on the same CPUs as the server, so it should cost as little as it can.  The request is
 * built once (the bytes on the wire are those of a curl -F upload); every response is
 * read in full and checked.  Prints one line:
 *   clients requests errors req/s p50_ms p99_ms max_ms
 * A response counts as an error unless it is 201 with a body that starts with %PDF-.
 * Not a test: figures only.
 */
#include <glib.h>

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* Largest response accepted (headers and body): a signed letter is well under it. */
#define LG_RESPONSE_MAX (64u * 1024u * 1024u)
#define LG_HEADERS_MAX (64u * 1024u)
/* In-flight requests after the deadline are given this long to finish. */
#define LG_DRAIN_US (60 * G_USEC_PER_SEC)

typedef struct {
  int fd;
  gsize sent;      /* bytes of the request written */
  GByteArray *in;  /* response bytes so far */
  gsize body_off;  /* start of the body in @in, 0 while the headers are incomplete */
  gint64 body_len; /* Content-Length, or -1 for chunked */
  gsize chunk_pos; /* chunked: offset in @in of the next chunk-size line */
  int status;
  gboolean close_after;
  gboolean busy;      /* a request is in flight */
  gboolean watch_out; /* EPOLLOUT is in the epoll set */
  gint64 t0;
} Conn;

typedef struct {
  struct addrinfo *ai;
  GBytes *request;
  int ep;
  GArray *lat_us; /* gint64 */
  guint64 errors;
} Gen;

static gboolean
conn_open(Gen *g, Conn *c)
{
  int one = 1;
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};

  c->watch_out = TRUE;
  c->fd = socket(g->ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0)
    return FALSE;
  (void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if ((connect(c->fd, g->ai->ai_addr, g->ai->ai_addrlen) != 0 && errno != EINPROGRESS) ||
      epoll_ctl(g->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
    close(c->fd);
    c->fd = -1;
    return FALSE;
  }
  return TRUE;
}

static void
conn_close(Gen *g, Conn *c)
{
  if (c->fd >= 0) {
    (void)epoll_ctl(g->ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
  }
  c->fd = -1;
}

static void
conn_start(Conn *c)
{
  c->sent = 0;
  g_byte_array_set_size(c->in, 0);
  c->body_off = 0;
  c->body_len = 0;
  c->chunk_pos = 0;
  c->status = 0;
  c->close_after = FALSE;
  c->busy = TRUE;
  c->t0 = g_get_monotonic_time();
}

/* Header @name's value in the header block [@h, @end), or NULL. */
static const char *
header_value(const char *h, const char *end, const char *name, gsize *len)
{
  gsize nl = strlen(name);

  for (const char *line = h; line < end;) {
    const char *eol = g_strstr_len(line, end - line, "\r\n");
    if (eol == NULL)
      eol = end;
    if ((gsize)(eol - line) > nl && line[nl] == ':' && g_ascii_strncasecmp(line, name, nl) == 0) {
      const char *v = line + nl + 1;
      while (v < eol && (*v == ' ' || *v == '\t'))
        v++;
      *len = (gsize)(eol - v);
      return v;
    }
    line = eol + 2;
  }
  return NULL;
}

/* Parse the status line and headers once they are all in.  -1 bad, 0 need more, 1 done. */
static int
parse_head(Conn *c)
{
  const char *d = (const char *)c->in->data;
  const char *end = g_strstr_len(d, c->in->len, "\r\n\r\n");
  const char *v;
  gsize vl = 0;

  if (end == NULL)
    return c->in->len > LG_HEADERS_MAX ? -1 : 0;
  if (c->in->len < 12 || strncmp(d, "HTTP/1.1 ", 9) != 0 || !g_ascii_isdigit(d[9]))
    return -1;
  c->status = (d[9] - '0') * 100 + (d[10] - '0') * 10 + (d[11] - '0');
  c->body_off = (gsize)(end + 4 - d);
  v = header_value(d, end, "Connection", &vl);
  c->close_after = v != NULL && vl == 5 && g_ascii_strncasecmp(v, "close", 5) == 0;
  v = header_value(d, end, "Transfer-Encoding", &vl);
  if (v != NULL && vl == 7 && g_ascii_strncasecmp(v, "chunked", 7) == 0) {
    c->body_len = -1;
    c->chunk_pos = c->body_off;
    return 1;
  }
  v = header_value(d, end, "Content-Length", &vl);
  if (v == NULL) {
    c->body_len = 0;
    return 1;
  }
  {
    g_autofree char *s = g_strndup(v, vl);
    guint64 n = 0;
    if (!g_ascii_string_to_unsigned(s, 10, 0, LG_RESPONSE_MAX, &n, NULL))
      return -1;
    c->body_len = (gint64)n;
  }
  return 1;
}

/* Chunked body: -1 bad, 0 need more, 1 complete.  Chunks are walked as they arrive. */
static int
walk_chunks(Conn *c)
{
  for (;;) {
    const char *p = (const char *)c->in->data + c->chunk_pos;
    gsize avail = c->in->len - c->chunk_pos;
    const char *eol = g_strstr_len(p, (gssize)avail, "\r\n");
    guint64 n = 0;
    gsize hl;

    if (eol == NULL)
      return avail > 32 ? -1 : 0;
    hl = (gsize)(eol - p);
    for (gsize i = 0; i < hl && p[i] != ';'; i++) {
      if (!g_ascii_isxdigit(p[i]) || n > LG_RESPONSE_MAX)
        return -1;
      n = n * 16 + (guint64)g_ascii_xdigit_value(p[i]);
    }
    if (n == 0) /* last chunk; no trailers expected */
      return avail >= hl + 4 && memcmp(eol + 2, "\r\n", 2) == 0 ? 1 : 0;
    if (avail < hl + 2 + n + 2)
      return 0;
    c->chunk_pos += hl + 2 + (gsize)n + 2;
  }
}

/* The response is complete and its verdict recorded. */
static gboolean
body_starts_pdf(Conn *c)
{
  const guint8 *b = c->in->data + c->body_off;
  gsize n = c->in->len - c->body_off;

  if (c->body_len < 0) { /* skip the first chunk-size line */
    const guint8 *eol = memchr(b, '\n', n);
    if (eol == NULL)
      return FALSE;
    n -= (gsize)(eol + 1 - b);
    b = eol + 1;
  }
  return n >= 5 && memcmp(b, "%PDF-", 5) == 0;
}

/* Read what is there.  -1 error, 0 more to come, 1 response complete. */
static int
conn_read(Conn *c)
{
  for (;;) {
    gsize old = c->in->len;
    ssize_t n;
    int r;

    if (old + 65536 > LG_RESPONSE_MAX)
      return -1;
    g_byte_array_set_size(c->in, (guint)(old + 65536));
    n = recv(c->fd, c->in->data + old, 65536, 0);
    g_byte_array_set_size(c->in, (guint)(old + (n > 0 ? (gsize)n : 0)));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return 0;
    if (n <= 0)
      return -1; /* closed or failed mid-response */
    if (c->body_off == 0) {
      r = parse_head(c);
      if (r <= 0) {
        if (r < 0)
          return -1;
        continue;
      }
    }
    if (c->body_len < 0) {
      r = walk_chunks(c);
      if (r != 0)
        return r;
    } else if (c->in->len - c->body_off >= (guint64)c->body_len) {
      return c->in->len - c->body_off == (guint64)c->body_len ? 1 : -1;
    }
  }
}

/* Write what the socket takes; EPOLLOUT is watched only while part of the request is
 * still unsent (level-triggered, it would fire on every wait otherwise). */
static gboolean
conn_write(Gen *g, Conn *c)
{
  gsize len;
  const guint8 *d = g_bytes_get_data(g->request, &len);
  gboolean want_out = TRUE;

  while (c->sent < len) {
    ssize_t n = send(c->fd, d + c->sent, len - c->sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      break;
    if (n <= 0)
      return FALSE;
    c->sent += (gsize)n;
  }
  want_out = c->sent < len;
  if (want_out != c->watch_out) {
    struct epoll_event ev = {.events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(g->ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
      return FALSE;
    c->watch_out = want_out;
  }
  return TRUE;
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

static gint
cmp64(gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *)a, y = *(const gint64 *)b;
  return x < y ? -1 : x > y;
}

/* http://HOST[:PORT]/PATH into its parts. */
static gboolean
split_url(const char *url, char **host, char **port, char **path)
{
  const char *h, *slash, *colon;

  if (!g_str_has_prefix(url, "http://"))
    return FALSE;
  h = url + 7;
  slash = strchr(h, '/');
  if (slash == NULL || slash == h)
    return FALSE;
  colon = memchr(h, ':', (gsize)(slash - h));
  *host = g_strndup(h, (gsize)((colon != NULL ? colon : slash) - h));
  *port = colon != NULL ? g_strndup(colon + 1, (gsize)(slash - colon - 1)) : g_strdup("80");
  *path = g_strdup(slash);
  return TRUE;
}

static GBytes *
build_request(const char *host, const char *port, const char *path, const char *token,
              const char *pin, const char *pdf, gsize pdf_len, const char *anchor)
{
  static const char boundary[] = "------------------------tteloadgen7d1c0b3a9e";
  GString *body = g_string_sized_new(pdf_len + 512);
  GString *req = g_string_sized_new(pdf_len + 1024);

  g_string_append_printf(body,
                         "--%s\r\nContent-Disposition: form-data; name=\"file\"; "
                         "filename=\"letter.pdf\"\r\nContent-Type: application/pdf\r\n\r\n",
                         boundary);
  g_string_append_len(body, pdf, (gssize)pdf_len);
  g_string_append(body, "\r\n");
  if (anchor != NULL)
    g_string_append_printf(body,
                           "--%s\r\nContent-Disposition: form-data; name=\"anchor\"\r\n\r\n%s\r\n",
                           boundary, anchor);
  g_string_append_printf(body, "--%s--\r\n", boundary);
  g_string_append_printf(req,
                         "POST %s HTTP/1.1\r\nHost: %s:%s\r\nAccept: */*\r\n"
                         "Authorization: Bearer %s\r\nX-TTE-Passphrase: %s\r\n"
                         "Content-Type: multipart/form-data; boundary=%s\r\n"
                         "Content-Length: %" G_GSIZE_FORMAT "\r\n\r\n",
                         path, host, port, token, pin, boundary, body->len);
  g_string_append_len(req, body->str, (gssize)body->len);
  g_string_free(body, TRUE);
  return g_string_free_to_bytes(req);
}

int
main(int argc, char **argv)
{
  g_autofree char *url = NULL, *token_file = NULL, *pin_file = NULL, *pdf = NULL;
  g_autofree char *anchor = NULL;
  gint clients = 1, seconds = 10;
  GOptionEntry entries[] = {
      {"url", 0, 0, G_OPTION_ARG_STRING, &url, "POST /api/v1/sign URL (http://)", "URL"},
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
  g_autofree char *token = NULL, *pin = NULL, *pdf_data = NULL;
  g_autofree char *host = NULL, *port = NULL, *path = NULL;
  gsize pdf_len = 0;
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
  Gen g = {0};
  Conn *conns;
  guint in_flight = 0;
  gint64 start, deadline, drain_end;
  double secs;
  int rc = 0;

  g_option_context_add_main_entries(ctx, entries, NULL);
  if (!g_option_context_parse(ctx, &argc, &argv, &error) || url == NULL || token_file == NULL ||
      pin_file == NULL || pdf == NULL || clients < 1 || clients > 1024 || seconds < 1) {
    fprintf(stderr, "loadgen: %s\n", error ? error->message : "missing or bad options (--help)");
    return 2;
  }
  if (!split_url(url, &host, &port, &path)) {
    fprintf(stderr, "loadgen: the URL must be http://HOST[:PORT]/PATH\n");
    return 2;
  }
  token = read_secret(token_file);
  pin = read_secret(pin_file);
  if (token == NULL || pin == NULL || !g_file_get_contents(pdf, &pdf_data, &pdf_len, &error)) {
    fprintf(stderr, "loadgen: cannot read the token, PIN or PDF file\n");
    return 2;
  }
  if (getaddrinfo(host, port, &hints, &g.ai) != 0) {
    fprintf(stderr, "loadgen: cannot resolve %s\n", host);
    return 2;
  }
  g.request = build_request(host, port, path, token, pin, pdf_data, pdf_len, anchor);
  g.lat_us = g_array_new(FALSE, FALSE, sizeof(gint64));
  g.ep = epoll_create1(EPOLL_CLOEXEC);
  conns = g_new0(Conn, clients);

  start = g_get_monotonic_time();
  deadline = start + (gint64)seconds * G_USEC_PER_SEC;
  drain_end = deadline + LG_DRAIN_US;
  for (gint i = 0; i < clients; i++) {
    conns[i].in = g_byte_array_sized_new(128 * 1024);
    conns[i].fd = -1;
    conn_start(&conns[i]);
    if (conn_open(&g, &conns[i])) {
      in_flight++;
    } else {
      conns[i].busy = FALSE;
      g.errors++;
    }
  }
  while (in_flight > 0) {
    struct epoll_event evs[64];
    gint64 now = g_get_monotonic_time();
    int n;

    if (now > drain_end)
      break;
    n = epoll_wait(g.ep, evs, G_N_ELEMENTS(evs), 1000);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      break;
    for (int k = 0; k < n; k++) {
      Conn *c = evs[k].data.ptr;
      int r = 0;
      gboolean ok;

      if (!c->busy) { /* an idle connection closed by the server */
        conn_close(&g, c);
        continue;
      }
      if ((evs[k].events & EPOLLOUT) && !conn_write(&g, c))
        r = -1;
      if (r == 0 && (evs[k].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        r = conn_read(c);
      if (r == 0)
        continue;
      /* Done, well or badly: one request. */
      {
        gint64 dt = g_get_monotonic_time() - c->t0;
        g_array_append_val(g.lat_us, dt);
      }
      ok = r > 0 && c->status == 201 && c->in->len > c->body_off && body_starts_pdf(c);
      if (!ok)
        g.errors++;
      c->busy = FALSE;
      in_flight--;
      if (r < 0 || c->close_after)
        conn_close(&g, c);
      if (g_get_monotonic_time() >= deadline)
        continue;
      conn_start(c);
      if (c->fd < 0 && !conn_open(&g, c)) {
        c->busy = FALSE;
        g.errors++;
        continue;
      }
      in_flight++;
      /* A failed write leaves the socket in error: the next wait reports it on the
       * read side, and the request counts once, as an error. */
      (void)conn_write(&g, c);
    }
  }
  g.errors += in_flight; /* never answered */
  secs = (double)(g_get_monotonic_time() - start) / G_USEC_PER_SEC;
  g_array_sort(g.lat_us, cmp64);
  if (g.lat_us->len == 0) {
    printf("%d 0 %" G_GUINT64_FORMAT " 0 0 0 0\n", clients, g.errors);
    rc = 1;
  } else {
    GArray *a = g.lat_us;
    guint i99 = (a->len * 99) / 100 < a->len ? (a->len * 99) / 100 : a->len - 1;
    printf("%d %u %" G_GUINT64_FORMAT " %.1f %.1f %.1f %.1f\n", clients, a->len, g.errors,
           (double)(a->len - MIN(g.errors, a->len)) / secs,
           g_array_index(a, gint64, a->len / 2) / 1000.0, g_array_index(a, gint64, i99) / 1000.0,
           g_array_index(a, gint64, a->len - 1) / 1000.0);
    rc = g.errors == 0 ? 0 : 1;
  }
  for (gint i = 0; i < clients; i++) {
    conn_close(&g, &conns[i]);
    g_byte_array_unref(conns[i].in);
  }
  g_free(conns);
  close(g.ep);
  g_array_unref(g.lat_us);
  g_bytes_unref(g.request);
  freeaddrinfo(g.ai);
  return rc;
}
