/* tte-ossl.h — g_autoptr support for the OpenSSL types the project uses, and small
 * X.509 helpers with named limits. */
#pragma once

#include <glib.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

G_BEGIN_DECLS

typedef STACK_OF(X509) TteX509Stack;

static inline void
tte_x509_stack_free(TteX509Stack *sk)
{
  sk_X509_pop_free(sk, X509_free);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(X509, X509_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(X509_REQ, X509_REQ_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(X509_NAME, X509_NAME_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(X509_STORE, X509_STORE_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(X509_STORE_CTX, X509_STORE_CTX_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(X509_CRL, X509_CRL_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(EVP_PKEY, EVP_PKEY_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(EVP_PKEY_CTX, EVP_PKEY_CTX_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(EVP_MD_CTX, EVP_MD_CTX_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(BIO, BIO_free_all)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CMS_ContentInfo, CMS_ContentInfo_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ASN1_OCTET_STRING, ASN1_OCTET_STRING_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(TteX509Stack, tte_x509_stack_free)

/* Load every certificate from a PEM (or single DER) file of at most
 * TTE_LIMIT_CERT_FILE_MAX bytes holding at most TTE_LIMIT_CHAIN_MAX_CERTS
 * certificates.  Fails when the file holds none.  Caller owns the stack. */
TteX509Stack *tte_x509_load_file(const char *path, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Same from memory. @what names the source in errors. */
TteX509Stack *tte_x509_load_mem(const void *data, gsize len, const char *what,
                                GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Subject or issuer as a one-line RFC 2253 string (caller frees). */
char *tte_x509_name_string(const X509_NAME *name);

/* The serial number as upper-case hex (caller frees). */
char *tte_x509_serial_hex(const X509 *cert);

/* TRUE when the two public keys are the same key. */
gboolean tte_pkey_equal(const EVP_PKEY *a, const EVP_PKEY *b);

G_END_DECLS
