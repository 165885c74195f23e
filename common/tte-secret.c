#include "tte-secret.h"

#include "tte-error.h"
#include "tte-limits.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct TteSecret {
  gsize len;
  gsize alloc;
  gboolean locked;
  char data[]; /* len bytes + NUL */
};

void
tte_memwipe(void *p, gsize len)
{
  if (p != NULL && len > 0)
    OPENSSL_cleanse(p, len);
}

TteSecret *
tte_secret_new(const char *data, gsize len, GError **error)
{
  TteSecret *s;

  if (len == 0) {
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_PIN_INVALID, "the PIN or passphrase is empty");
    return NULL;
  }
  if (len > TTE_LIMIT_PIN_MAX_LEN) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_PIN_INVALID,
                "the PIN or passphrase is longer than %u bytes (TTE_LIMIT_PIN_MAX_LEN)",
                TTE_LIMIT_PIN_MAX_LEN);
    return NULL;
  }
  if (memchr(data, '\0', len) != NULL) {
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_PIN_INVALID,
                        "the PIN or passphrase contains a NUL byte");
    return NULL;
  }
  s = g_malloc(sizeof *s + len + 1);
  s->len = len;
  s->alloc = sizeof *s + len + 1;
  /* Best effort: an unprivileged process may have a small RLIMIT_MEMLOCK. */
  s->locked = mlock(s, s->alloc) == 0;
  memcpy(s->data, data, len);
  s->data[len] = '\0';
  return s;
}

TteSecret *
tte_secret_new_from_file(const char *path, GError **error)
{
  char buf[TTE_LIMIT_SECRET_FILE_MAX + 1];
  gsize n = 0;
  struct stat st;
  TteSecret *s = NULL;
  int fd;

  fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    int e = errno;
    g_set_error(error, TTE_ERROR, TTE_ERROR_PIN_INVALID, "cannot open PIN file %s: %s", path,
                g_strerror(e));
    return NULL;
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_PIN_INVALID, "PIN file %s is not a regular file",
                path);
    goto out;
  }
  while (n < sizeof buf) {
    ssize_t r = read(fd, buf + n, sizeof buf - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      int e = errno;
      g_set_error(error, TTE_ERROR, TTE_ERROR_PIN_INVALID, "cannot read PIN file %s: %s", path,
                  g_strerror(e));
      goto out;
    }
    if (r == 0)
      break;
    n += (gsize)r;
  }
  if (n > TTE_LIMIT_SECRET_FILE_MAX) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_PIN_INVALID,
                "PIN file %s is larger than %u bytes (TTE_LIMIT_SECRET_FILE_MAX)", path,
                TTE_LIMIT_SECRET_FILE_MAX);
    goto out;
  }
  if (n > 0 && buf[n - 1] == '\n')
    n--;
  if (n > 0 && buf[n - 1] == '\r')
    n--;
  s = tte_secret_new(buf, n, error);
  if (s == NULL)
    g_prefix_error(error, "PIN file %s: ", path);
out:
  tte_memwipe(buf, sizeof buf);
  close(fd);
  return s;
}

TteSecret *
tte_secret_new_from_env(const char *name, GError **error)
{
  const char *v = g_getenv(name);
  TteSecret *s;

  if (v == NULL)
    return NULL;
  s = tte_secret_new(v, strlen(v), error);
  if (s == NULL)
    g_prefix_error(error, "environment variable %s: ", name);
  return s;
}

const char *
tte_secret_get(const TteSecret *s)
{
  return s->data;
}

gsize
tte_secret_len(const TteSecret *s)
{
  return s->len;
}

void
tte_secret_free(TteSecret *s)
{
  if (s == NULL)
    return;
  OPENSSL_cleanse(s->data, s->len);
  if (s->locked)
    munlock(s, s->alloc);
  g_free(s);
}
