#include "tte-ossl.h"

#include "tte-error.h"
#include "tte-limits.h"

#include <openssl/err.h>
#include <openssl/pem.h>

TteX509Stack *
tte_x509_load_mem(const void *data, gsize len, const char *what, GError **error)
{
  g_autoptr(TteX509Stack) sk = sk_X509_new_null();
  g_autoptr(BIO) bio = NULL;

  if (len > TTE_LIMIT_CERT_FILE_MAX) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT,
                "%s is larger than %u bytes (TTE_LIMIT_CERT_FILE_MAX)", what,
                TTE_LIMIT_CERT_FILE_MAX);
    return NULL;
  }
  bio = BIO_new_mem_buf(data, (int)len);
  if (sk == NULL || bio == NULL) {
    tte_set_error_openssl(error, TTE_ERROR_CRYPTO, "out of memory reading %s", what);
    return NULL;
  }
  for (;;) {
    X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    if (x == NULL)
      break;
    if ((guint)sk_X509_num(sk) >= TTE_LIMIT_CHAIN_MAX_CERTS) {
      X509_free(x);
      g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT,
                  "%s holds more than %u certificates (TTE_LIMIT_CHAIN_MAX_CERTS)", what,
                  TTE_LIMIT_CHAIN_MAX_CERTS);
      return NULL;
    }
    sk_X509_push(sk, x);
  }
  /* The PEM reader ends with a "no start line" error at EOF: expected. */
  ERR_clear_error();
  if (sk_X509_num(sk) == 0) {
    const unsigned char *p = data;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    if (x != NULL && p == (const unsigned char *)data + len) {
      sk_X509_push(sk, x);
    } else {
      X509_free(x);
      ERR_clear_error();
      g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                  "%s contains no PEM or DER certificate", what);
      return NULL;
    }
  }
  return g_steal_pointer(&sk);
}

TteX509Stack *
tte_x509_load_file(const char *path, GError **error)
{
  gsize len = 0;
  g_autoptr(GError) local = NULL;
  g_autoptr(GMappedFile) mf = NULL;

  mf = g_mapped_file_new(path, FALSE, &local);
  if (mf == NULL) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_IO, "cannot read certificate file: %s",
                local->message);
    return NULL;
  }
  len = g_mapped_file_get_length(mf);
  return tte_x509_load_mem(g_mapped_file_get_contents(mf), len, path, error);
}

char *
tte_x509_name_string(const X509_NAME *name)
{
  g_autoptr(BIO) bio = BIO_new(BIO_s_mem());
  char *p = NULL;
  long n;

  if (bio == NULL)
    return g_strdup("");
  X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  n = BIO_get_mem_data(bio, &p);
  return g_strndup(p, (gsize)MAX(n, 0));
}

char *
tte_x509_serial_hex(const X509 *cert)
{
  const ASN1_INTEGER *serial = X509_get0_serialNumber(cert);
  BIGNUM *bn = ASN1_INTEGER_to_BN(serial, NULL);
  char *hex, *out;

  if (bn == NULL)
    return g_strdup("");
  hex = BN_bn2hex(bn);
  out = g_strdup(hex != NULL ? hex : "");
  OPENSSL_free(hex);
  BN_free(bn);
  return out;
}

gboolean
tte_pkey_equal(const EVP_PKEY *a, const EVP_PKEY *b)
{
  return a != NULL && b != NULL && EVP_PKEY_eq(a, b) == 1;
}
