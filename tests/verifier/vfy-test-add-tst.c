/* vfy-test-add-tst — test helper: give the first signature of a signed PDF a signature
 * timestamp (RFC 3161 token over its signature value, as an unsigned attribute), made by
 * an in-process TSA with the given certificate and key at a chosen time.  /Contents is
 * not signed, so the new CMS is written into the same gap (it must fit).
 *
 *   vfy-test-add-tst IN.pdf OUT.pdf TSA.pem TSA.key GENTIME_UNIX
 */
#include "tte-ossl.h"
#include "vfy-pdf.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ts.h>
#include <stdio.h>
#include <string.h>

static gint64 gen_time;

static int
time_cb(TS_RESP_CTX *ctx, void *data, long *sec, long *usec)
{
  *sec = (long)gen_time;
  *usec = 0;
  return 1;
}

static ASN1_INTEGER *
serial_cb(TS_RESP_CTX *ctx, void *data)
{
  ASN1_INTEGER *s = ASN1_INTEGER_new();
  ASN1_INTEGER_set(s, 42);
  return s;
}

static int
die(const char *what)
{
  fprintf(stderr, "vfy-test-add-tst: %s\n", what);
  ERR_print_errors_fp(stderr);
  return 1;
}

int
main(int argc, char **argv)
{
  g_autofree char *pdf = NULL;
  gsize len = 0;
  g_autoptr(GError) error = NULL;
  g_autoptr(VfyPdfInfo) info = NULL;
  const VfyPdfSig *sig;
  const guint8 *cder;
  gsize clen;
  const unsigned char *p;
  g_autoptr(CMS_ContentInfo) cms = NULL;
  CMS_SignerInfo *si;
  ASN1_OCTET_STRING *sv;
  guint8 h[32];
  guint hl = 0;
  TS_REQ *req;
  TS_MSG_IMPRINT *mi;
  X509_ALGOR *alg;
  TS_RESP_CTX *ctx;
  TS_RESP *resp;
  g_autoptr(BIO) reqbio = NULL;
  unsigned char *reqder = NULL, *tok = NULL, *out = NULL;
  int reqlen, toklen, outlen;
  g_autoptr(X509) tsa = NULL;
  g_autoptr(EVP_PKEY) key = NULL;
  FILE *f;
  gsize gap;
  GString *hex;
  ASN1_OBJECT *policy;

  if (argc != 6)
    return die("usage: IN.pdf OUT.pdf TSA.pem TSA.key GENTIME_UNIX");
  if (!g_ascii_string_to_signed(argv[5], 10, 0, G_MAXINT64, &gen_time, NULL))
    return die("bad time");
  if (!g_file_get_contents(argv[1], &pdf, &len, &error))
    return die(error->message);
  info = vfy_pdf_scan((const guint8 *)pdf, len, &error);
  if (info == NULL || info->sigs->len == 0)
    return die("no signature");
  sig = g_ptr_array_index(info->sigs, 0);
  cder = g_bytes_get_data(sig->contents, &clen);
  p = cder;
  cms = d2i_CMS_ContentInfo(NULL, &p, (long)clen);
  if (cms == NULL)
    return die("CMS");
  si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
  sv = CMS_SignerInfo_get0_signature(si);
  EVP_Digest(ASN1_STRING_get0_data(sv), (size_t)ASN1_STRING_length(sv), h, &hl, EVP_sha256(), NULL);

  req = TS_REQ_new();
  mi = TS_MSG_IMPRINT_new();
  alg = X509_ALGOR_new();
  X509_ALGOR_set0(alg, OBJ_nid2obj(NID_sha256), V_ASN1_NULL, NULL);
  TS_MSG_IMPRINT_set_algo(mi, alg);
  TS_MSG_IMPRINT_set_msg(mi, h, (int)hl);
  TS_REQ_set_version(req, 1);
  TS_REQ_set_msg_imprint(req, mi);
  TS_REQ_set_cert_req(req, 1);
  reqlen = i2d_TS_REQ(req, &reqder);
  reqbio = BIO_new_mem_buf(reqder, reqlen);

  {
    g_autoptr(BIO) b = BIO_new_file(argv[3], "r");
    tsa = b != NULL ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
  }
  {
    g_autoptr(BIO) b = BIO_new_file(argv[4], "r");
    key = b != NULL ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
  }
  if (tsa == NULL || key == NULL)
    return die("TSA certificate or key");
  ctx = TS_RESP_CTX_new();
  TS_RESP_CTX_set_signer_cert(ctx, tsa);
  TS_RESP_CTX_set_signer_key(ctx, key);
  TS_RESP_CTX_set_signer_digest(ctx, EVP_sha256());
  TS_RESP_CTX_set_ess_cert_id_digest(ctx, EVP_sha256());
  policy = OBJ_txt2obj("1.3.6.1.4.1.99999.1", 1);
  TS_RESP_CTX_set_def_policy(ctx, policy);
  TS_RESP_CTX_add_md(ctx, EVP_sha256());
  TS_RESP_CTX_set_time_cb(ctx, time_cb, NULL);
  TS_RESP_CTX_set_serial_cb(ctx, serial_cb, NULL);
  resp = TS_RESP_create_response(ctx, reqbio);
  if (resp == NULL || TS_RESP_get_token(resp) == NULL)
    return die("TSA response");
  toklen = i2d_PKCS7(TS_RESP_get_token(resp), &tok);
  if (CMS_unsigned_add1_attr_by_NID(si, NID_id_smime_aa_timeStampToken, V_ASN1_SEQUENCE, tok, toklen) != 1)
    return die("add attribute");
  outlen = i2d_CMS_ContentInfo(cms, &out);

  gap = (gsize)(sig->byte_range[2] - sig->byte_range[1]);
  if ((gsize)outlen * 2 + 2 > gap)
    return die("the timestamped CMS does not fit the gap");
  hex = g_string_new("<");
  for (int i = 0; i < outlen; i++)
    g_string_append_printf(hex, "%02x", out[i]);
  while (hex->len < gap - 1)
    g_string_append_c(hex, '0');
  g_string_append_c(hex, '>');
  memcpy(pdf + sig->byte_range[1], hex->str, gap);
  f = fopen(argv[2], "wb");
  if (f == NULL || fwrite(pdf, 1, len, f) != len || fclose(f) != 0)
    return die("write");
  g_string_free(hex, TRUE);
  OPENSSL_free(reqder);
  OPENSSL_free(tok);
  OPENSSL_free(out);
  TS_RESP_free(resp);
  TS_RESP_CTX_free(ctx);
  TS_REQ_free(req);
  TS_MSG_IMPRINT_free(mi);
  X509_ALGOR_free(alg);
  ASN1_OBJECT_free(policy);
  return 0;
}
