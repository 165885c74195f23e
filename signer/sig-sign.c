/* sig-sign.c — the signing path (DESIGN.md §4): open, append the update, hash the
 * ByteRange, build the CMS, write it into /Contents, publish the file atomically. */
#include "sig-sign.h"

#include "sig-cms.h"
#include "sig-pdf.h"
#include "tte-error.h"
#include "tte-limits.h"

#ifdef SIG_HAVE_APPEARANCE
#include "sig-visible.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

/* Chunk size for copying and hashing: large enough for throughput, small enough that
 * memory does not grow with the document. */
#define SIG_IO_CHUNK (256u * 1024u)
/* A little room on top of the computed CMS size, for the DER length bytes growing when
 * a timestamp token is added later. */
#define SIG_CONTENTS_SLACK 64u

gboolean
sig_parse_rect(const char *text, double rect[4])
{
  g_auto(GStrv) parts = g_strsplit(text, ",", -1);

  if (g_strv_length(parts) != 4)
    return FALSE;
  for (int i = 0; i < 4; i++) {
    char *end = NULL;
    const char *p = g_strstrip(parts[i]);
    rect[i] = g_ascii_strtod(p, &end);
    if (*p == '\0' || end == NULL || *end != '\0' || !isfinite(rect[i]) || rect[i] < -14400 ||
        rect[i] > 14400)
      return FALSE;
  }
  return rect[2] > 0 && rect[3] > 0;
}

void
sig_options_init(SigOptions *opts)
{
  memset(opts, 0, sizeof *opts);
  opts->hash = TTE_HASH_SHA256;
  opts->scheme = -1;
}

void
sig_result_clear(SigResult *result)
{
  if (result == NULL)
    return;
  g_clear_pointer(&result->field_name, g_free);
}

/* --- the parts shared by the file and memory variants ---------------------------- */

static gboolean
append_text(GString *s, const char *key, const char *utf8, GError **error)
{
  g_autofree char *t = NULL;

  if (utf8 == NULL || *utf8 == '\0')
    return TRUE;
  if (strlen(utf8) > TTE_LIMIT_SIG_TEXT_MAX_LEN) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT,
                "%s is longer than %u bytes (TTE_LIMIT_SIG_TEXT_MAX_LEN)", key + 1,
                TTE_LIMIT_SIG_TEXT_MAX_LEN);
    return FALSE;
  }
  t = sig_pdf_text_string(utf8);
  if (t == NULL) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT, "%s is not valid UTF-8", key + 1);
    return FALSE;
  }
  g_string_append_printf(s, " %s %s", key, t);
  return TRUE;
}

/* PDF date "D:YYYYMMDDHHmmSS+HH'mm'" (PDF 32000 §7.9.4). */
static char *
pdf_date(GDateTime *dt)
{
  g_autofree char *base = g_date_time_format(dt, "%Y%m%d%H%M%S");
  GTimeSpan off = g_date_time_get_utc_offset(dt) / G_TIME_SPAN_MINUTE;
  char sign = off < 0 ? '-' : '+';

  if (off < 0)
    off = -off;
  if (off == 0)
    return g_strdup_printf("D:%sZ", base);
  return g_strdup_printf("D:%s%c%02d'%02d'", base, sign, (int)(off / 60), (int)(off % 60));
}

typedef struct {
  SigDoc *doc;
  SigUpdate upd;
  TteSigScheme scheme;
  gsize contents_len;
  SigAppearanceRequest areq;
  char *cn;
  char *title;
  char *organization;
} Prepared;

static void
prepared_clear(Prepared *p)
{
  sig_update_clear(&p->upd);
  g_clear_pointer(&p->doc, sig_doc_free);
  g_clear_pointer(&p->cn, g_free);
  g_clear_pointer(&p->title, g_free);
  g_clear_pointer(&p->organization, g_free);
}


/* One attribute of the certificate subject as UTF-8 (first occurrence), or NULL when
 * absent, too long for a stamp line, or not valid UTF-8. */
static char *
subject_text(X509 *cert, int nid)
{
  X509_NAME *subj = X509_get_subject_name(cert);
  int i = X509_NAME_get_index_by_NID(subj, nid, -1);
  unsigned char *utf8 = NULL;
  char *out = NULL;
  int len;

  if (i < 0)
    return NULL;
  len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, i)));
  if (len > 0 && (gsize)len <= TTE_LIMIT_SIG_TEXT_MAX_LEN &&
      g_utf8_validate((const char *)utf8, len, NULL) && memchr(utf8, '\0', (size_t)len) == NULL)
    out = g_strndup((const char *)utf8, (gsize)len);
  OPENSSL_free(utf8);
  return out;
}

static gboolean
prepare(Prepared *pr, TteSigningKey *key, const SigOptions *opts, const char *path, GBytes *bytes,
        GError **error)
{
  SigUpdateParams params = {0};
  g_autoptr(GString) extra = g_string_new(NULL);
  g_autoptr(GDateTime) now = NULL;
  g_autofree char *date = NULL;
  gsize cms_max;
  gboolean visible = opts->have_rect || opts->anchor != NULL || opts->image_path != NULL;
  SigAppearanceFunc appearance = opts->appearance;
  void *appearance_data = opts->appearance_data;

  if (opts->scheme < 0)
    pr->scheme = tte_signing_key_default_scheme(key);
  else
    pr->scheme = (TteSigScheme)opts->scheme;

  /* Size /Contents before touching the document: the CMS bound for this key. */
  cms_max = sig_cms_max_size(key, pr->scheme, opts->hash, error);
  if (cms_max == 0)
    return FALSE;
  pr->contents_len = cms_max + TTE_LIMIT_SIG_TST_RESERVE + SIG_CONTENTS_SLACK;
  if (pr->contents_len > TTE_LIMIT_CMS_MAX_LEN) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT,
                "the signature with its certificates needs %" G_GSIZE_FORMAT
                " bytes, more than %u (TTE_LIMIT_CMS_MAX_LEN)",
                pr->contents_len, TTE_LIMIT_CMS_MAX_LEN);
    return FALSE;
  }

  pr->doc = path != NULL ? sig_doc_open_file(path, error) : sig_doc_open_bytes(bytes, error);
  if (pr->doc == NULL)
    return FALSE;

  if (opts->time == NULL)
    now = g_date_time_new_now_local();
  date = pdf_date(opts->time != NULL ? opts->time : now);
  g_string_append_printf(extra, "/M (%s)", date);
  if (!append_text(extra, "/Name", opts->signer_name, error) ||
      !append_text(extra, "/Reason", opts->reason, error) ||
      !append_text(extra, "/Location", opts->location, error) ||
      !append_text(extra, "/ContactInfo", opts->contact, error))
    return FALSE;
  if (opts->field_name != NULL && strlen(opts->field_name) > TTE_LIMIT_SIG_TEXT_MAX_LEN) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT,
                "the field name is longer than %u bytes (TTE_LIMIT_SIG_TEXT_MAX_LEN)",
                TTE_LIMIT_SIG_TEXT_MAX_LEN);
    return FALSE;
  }

#ifdef SIG_HAVE_APPEARANCE
  if (appearance == NULL) {
    appearance = sig_visible_build;
    appearance_data = NULL;
  }
#endif
  /* The appearance builder is asked for visible signatures and for existing fields
   * (which have a place on the page already); invisible new fields need none. */
  if (visible && appearance == NULL) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_NOT_SUPPORTED,
                "visible signatures (--rect, --anchor, --image) are not available in this "
                "build; sign without them for an invisible signature");
    return FALSE;
  }
  if (!visible && opts->field_name == NULL)
    appearance = NULL;

  pr->areq.pdf_path = path;
  pr->areq.pdf_bytes = bytes;
  pr->areq.have_rect = opts->have_rect;
  memcpy(pr->areq.rect, opts->rect, sizeof pr->areq.rect);
  pr->areq.anchor = opts->anchor;
  pr->areq.image_path = opts->image_path;
  pr->areq.qr_url_base = opts->qr_url_base;
  pr->areq.document_id = opts->document_id;
  pr->areq.timezone = opts->timezone;
  pr->areq.signer_name = opts->signer_name;
  if (pr->areq.signer_name == NULL) {
    /* The stamp shows who signed: the certificate's common name by default. */
    X509_NAME *subj = X509_get_subject_name(tte_signing_key_get_cert(key));
    int len = X509_NAME_get_text_by_NID(subj, NID_commonName, NULL, 0);
    if (len > 0 && (gsize)len <= TTE_LIMIT_SIG_TEXT_MAX_LEN) {
      pr->cn = g_malloc((gsize)len + 1);
      if (X509_NAME_get_text_by_NID(subj, NID_commonName, pr->cn, len + 1) == len &&
          g_utf8_validate(pr->cn, -1, NULL))
        pr->areq.signer_name = pr->cn;
    }
  }
  pr->areq.title = opts->title;
  if (pr->areq.title == NULL) {
    pr->title = subject_text(tte_signing_key_get_cert(key), NID_title);
    pr->areq.title = pr->title;
  }
  pr->areq.organization = opts->organization;
  if (pr->areq.organization == NULL) {
    pr->organization = subject_text(tte_signing_key_get_cert(key), NID_organizationalUnitName);
    if (pr->organization == NULL)
      pr->organization = subject_text(tte_signing_key_get_cert(key), NID_organizationName);
    pr->areq.organization = pr->organization;
  }
  pr->areq.reason = opts->reason;
  pr->areq.location = opts->location;
  pr->areq.time = opts->time != NULL ? opts->time : now;

  params.field_name = opts->field_name;
  params.page_index = opts->page > 0 ? opts->page - 1 : 0;
  params.certify = opts->certify;
  params.dict_extra = extra->str;
  params.contents_len = pr->contents_len;
  params.appearance = appearance;
  params.appearance_data = appearance_data;
  params.appearance_request = &pr->areq;
  if (!sig_doc_build_update(pr->doc, &params, &pr->upd, error))
    return FALSE;
  pr->areq.time = NULL; /* @now dies with this frame */
  return TRUE;
}

/* Output access: the file variant reads back what it wrote; the memory one its buffer. */
typedef struct {
  int fd;
  const char *what;
  guint8 *mem;
} Out;

static gboolean
out_read(Out *o, guint64 off, guint8 *buf, gsize len, GError **error)
{
  if (o->mem != NULL) {
    memcpy(buf, o->mem + off, len);
    return TRUE;
  }
  for (gsize done = 0; done < len;) {
    ssize_t n = pread(o->fd, buf + done, len - done, (off_t)(off + done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_IO, "cannot read back %s: %s", o->what,
                  n < 0 ? g_strerror(errno) : "short file");
      return FALSE;
    }
    done += (gsize)n;
  }
  return TRUE;
}

static gboolean
out_write(Out *o, guint64 off, const guint8 *buf, gsize len, GError **error)
{
  if (o->mem != NULL) {
    memcpy(o->mem + off, buf, len);
    return TRUE;
  }
  for (gsize done = 0; done < len;) {
    ssize_t n = pwrite(o->fd, buf + done, len - done, (off_t)(off + done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_IO, "cannot write %s: %s", o->what,
                  n < 0 ? g_strerror(errno) : "no space");
      return FALSE;
    }
    done += (gsize)n;
  }
  return TRUE;
}

static gboolean
digest_range(Out *o, guint64 off, guint64 len, EVP_MD_CTX *a, EVP_MD_CTX *b, GError **error)
{
  g_autofree guint8 *buf = NULL;

  if (o->mem != NULL) { /* hashed in place: no chunk buffer, no copy */
    if (!EVP_DigestUpdate(a, o->mem + off, len) ||
        (b != NULL && !EVP_DigestUpdate(b, o->mem + off, len))) {
      tte_set_error_openssl(error, TTE_ERROR_CRYPTO, "hashing failed");
      return FALSE;
    }
    return TRUE;
  }
  buf = g_malloc(SIG_IO_CHUNK);
  while (len > 0) {
    gsize n = (gsize)MIN(len, (guint64)SIG_IO_CHUNK);
    if (!out_read(o, off, buf, n, error))
      return FALSE;
    if (!EVP_DigestUpdate(a, buf, n) || (b != NULL && !EVP_DigestUpdate(b, buf, n))) {
      tte_set_error_openssl(error, TTE_ERROR_CRYPTO, "hashing failed");
      return FALSE;
    }
    off += n;
    len -= n;
  }
  return TRUE;
}

/* The output holds original + update with zeros in /Contents: hash the two byte
 * ranges, sign, and write the CMS hex into the gap. */
static gboolean
finish(Prepared *pr, Out *o, TteSigningKey *key, const SigOptions *opts, SigResult *result,
       GError **error)
{
  const SigUpdate *u = &pr->upd;
  g_autoptr(EVP_MD_CTX) sig_ctx = EVP_MD_CTX_new();
  g_autoptr(EVP_MD_CTX) doc_ctx = EVP_MD_CTX_new();
  guint8 digest[EVP_MAX_MD_SIZE], doc_digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0, doc_len = 0;
  g_autoptr(GBytes) cms = NULL;
  g_autofree guint8 *gap = NULL;
  gsize gap_len = (gsize)(u->gap_end - u->gap_start);
  static const char hex[] = "0123456789ABCDEF";

  if (sig_ctx == NULL || doc_ctx == NULL ||
      !EVP_DigestInit_ex(sig_ctx, tte_hash_md(opts->hash), NULL) ||
      !EVP_DigestInit_ex(doc_ctx, EVP_sha256(), NULL)) {
    tte_set_error_openssl(error, TTE_ERROR_CRYPTO, "cannot start hashing");
    return FALSE;
  }
  /* doc_ctx sees range 1 now and the gap + range 2 once the CMS is in place. */
  if (!digest_range(o, 0, u->byte_range[1], sig_ctx, doc_ctx, error) ||
      !digest_range(o, u->byte_range[2], u->byte_range[3], sig_ctx, NULL, error))
    return FALSE;
  if (!EVP_DigestFinal_ex(sig_ctx, digest, &digest_len)) {
    tte_set_error_openssl(error, TTE_ERROR_CRYPTO, "hashing failed");
    return FALSE;
  }

  cms = sig_cms_build(key, pr->scheme, opts->hash, digest, digest_len, error);
  if (cms == NULL)
    return FALSE;
  if (g_bytes_get_size(cms) > pr->contents_len) {
    /* Never truncate: a cut CMS would be a broken signature. */
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT,
                "the signature (%" G_GSIZE_FORMAT " bytes) does not fit the %" G_GSIZE_FORMAT
                " bytes reserved for it",
                g_bytes_get_size(cms), pr->contents_len);
    return FALSE;
  }
  /* In memory the hex goes straight into the gap; a file gets it through a buffer. */
  if (o->mem == NULL) {
    gap = g_malloc(gap_len);
    if (!out_read(o, u->gap_start, gap, gap_len, error))
      return FALSE;
  }
  {
    guint8 *g = o->mem != NULL ? o->mem + u->gap_start : gap;
    gsize n = 0;
    const guint8 *d = g_bytes_get_data(cms, &n);
    for (gsize i = 0; i < n; i++) {
      g[1 + 2 * i] = (guint8)hex[d[i] >> 4];
      g[2 + 2 * i] = (guint8)hex[d[i] & 15];
    }
  }
  if (gap != NULL && !out_write(o, u->gap_start, gap, gap_len, error))
    return FALSE;
  if (!EVP_DigestUpdate(doc_ctx, o->mem != NULL ? o->mem + u->gap_start : gap, gap_len) ||
      !digest_range(o, u->byte_range[2], u->byte_range[3], doc_ctx, NULL, error) ||
      !EVP_DigestFinal_ex(doc_ctx, doc_digest, &doc_len))
    return FALSE;

  if (result != NULL) {
    for (unsigned int i = 0; i < doc_len && i < 32; i++) {
      result->document_sha256[2 * i] = hex[doc_digest[i] >> 4];
      result->document_sha256[2 * i + 1] = hex[doc_digest[i] & 15];
    }
    result->document_sha256[64] = '\0';
    for (char *c = result->document_sha256; *c; c++)
      *c = g_ascii_tolower(*c);
    result->signature_count = sig_doc_get_signature_count(pr->doc) + 1;
    memcpy(result->byte_range, u->byte_range, sizeof result->byte_range);
    result->size = u->byte_range[2] + u->byte_range[3];
    result->contents_reserved = pr->contents_len;
    result->cms_len = g_bytes_get_size(cms);
    g_free(result->field_name);
    result->field_name = g_strdup(u->field_name);
  }
  return TRUE;
}

/* --- file variant ----------------------------------------------------------------- */

static gboolean
copy_original(SigDoc *doc, int fd, const char *what, GError **error)
{
  g_autofree guint8 *buf = g_malloc(SIG_IO_CHUNK);
  guint64 size = sig_doc_get_size(doc);
  Out o = {fd, what, NULL};

  for (guint64 off = 0; off < size;) {
    gsize n = (gsize)MIN(size - off, (guint64)SIG_IO_CHUNK);
    if (!sig_doc_read_at(doc, off, buf, n, error) || !out_write(&o, off, buf, n, error))
      return FALSE;
    off += n;
  }
  return TRUE;
}

gboolean
sig_sign_file(const char *in_path, const char *out_path, TteSigningKey *key, const SigOptions *opts,
              SigResult *result, GError **error)
{
  Prepared pr = {0};
  g_autofree char *dir = g_path_get_dirname(out_path);
  g_autofree char *base = g_path_get_basename(out_path);
  g_autofree char *tmp = NULL;
  gboolean ok = FALSE;
  int fd = -1;
  Out o = {-1, NULL, NULL};

  if (!prepare(&pr, key, opts, in_path, NULL, error))
    goto out;

  tmp = g_strdup_printf("%s/.%s.tte-XXXXXX", dir, base);
  /* O_EXCL: a fresh file that nobody else can have opened; 0666 lets the umask decide. */
  fd = g_mkstemp_full(tmp, O_RDWR | O_CLOEXEC, 0666);
  if (fd < 0) {
    int e = errno;
    g_set_error(error, TTE_ERROR, TTE_ERROR_IO, "cannot create a file in %s: %s", dir,
                g_strerror(e));
    g_clear_pointer(&tmp, g_free);
    goto out;
  }
  {
    /* g_mkstemp_full applies mode & ~umask already; make it explicit for clarity. */
    mode_t um = umask(0);
    umask(um);
    if (fchmod(fd, 0666 & ~um) != 0) {
      int e = errno;
      g_set_error(error, TTE_ERROR, TTE_ERROR_IO, "cannot set the mode of %s: %s", tmp,
                  g_strerror(e));
      goto out;
    }
  }
  o.fd = fd;
  o.what = out_path;
  if (!copy_original(pr.doc, fd, out_path, error))
    goto out;
  {
    gsize n = 0;
    const guint8 *d = g_bytes_get_data(pr.upd.update, &n);
    if (!out_write(&o, sig_doc_get_size(pr.doc), d, n, error))
      goto out;
  }
  if (!finish(&pr, &o, key, opts, result, error))
    goto out;
  if (fsync(fd) != 0) {
    int e = errno;
    g_set_error(error, TTE_ERROR, TTE_ERROR_IO, "cannot flush %s: %s", out_path, g_strerror(e));
    goto out;
  }
  if (close(fd) != 0) {
    int e = errno;
    fd = -1;
    g_set_error(error, TTE_ERROR, TTE_ERROR_IO, "cannot write %s: %s", out_path, g_strerror(e));
    goto out;
  }
  fd = -1;
  if (g_rename(tmp, out_path) != 0) {
    int e = errno;
    g_set_error(error, TTE_ERROR, TTE_ERROR_IO, "cannot rename to %s: %s", out_path, g_strerror(e));
    goto out;
  }
  g_clear_pointer(&tmp, g_free);
  {
    /* Make the rename itself durable. */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      (void)fsync(dfd);
      close(dfd);
    }
  }
  ok = TRUE;
out:
  if (fd >= 0)
    close(fd);
  if (tmp != NULL)
    (void)g_unlink(tmp);
  prepared_clear(&pr);
  return ok;
}

/* --- memory variant ----------------------------------------------------------------- */

GBytes *
sig_sign_bytes(GBytes *in, TteSigningKey *key, const SigOptions *opts, SigResult *result,
               GError **error)
{
  Prepared pr = {0};
  guint8 *mem = NULL;
  gsize in_len = 0, up_len = 0;
  const guint8 *in_data, *up_data;
  Out o = {-1, "the signed document", NULL};
  GBytes *outb = NULL;

  if (!prepare(&pr, key, opts, NULL, in, error))
    goto out;
  in_data = g_bytes_get_data(in, &in_len);
  up_data = g_bytes_get_data(pr.upd.update, &up_len);
  mem = g_malloc(in_len + up_len);
  memcpy(mem, in_data, in_len);
  memcpy(mem + in_len, up_data, up_len);
  o.mem = mem;
  if (!finish(&pr, &o, key, opts, result, error))
    goto out;
  outb = g_bytes_new_take(g_steal_pointer(&mem), in_len + up_len);
out:
  g_free(mem);
  prepared_clear(&pr);
  return outb;
}
