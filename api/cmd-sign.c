/* cmd-sign.c — `tte sign`: a thin shell over signer/ (sig_sign_file) and the key layer. */
#include "tte-cli.h"

#include "sig-sign.h"
#include "tte-error.h"
#include "tte-limits.h"
#include "tte-mapguard.h"
#include "tte-secret.h"
#include "tte-signing-key.h"
#ifdef TTE_HAVE_KEYS
#include "tte-p11.h"
#endif

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char sign_description[] =
    "Adds a PAdES electronic signature (ETSI.CAdES.detached, baseline B-B) to a PDF.\n"
    "The original bytes stay untouched: the signature is appended as an incremental\n"
    "update, so earlier signatures remain valid and several officials can sign in turn.\n"
    "\n"
    "The key normally lives on a token (HSM, smartcard or SoftHSM) and is named by a\n"
    "PKCS#11 URI; the token PIN is read from a file (--pin-file) or from the TTE_PIN\n"
    "environment variable, never from the command line.\n"
    "\n"
    "Placement: without --page/--rect/--field/--anchor the signature is invisible (it\n"
    "shows in the reader's signature panel).  --field NAME fills an empty signature field\n"
    "that the letter template already has.\n"
    "\n"
    "Examples:\n"
    "  # invisible signature with the secretary's key on the token\n"
    "  tte sign surat.pdf -o surat-ttd.pdf \\\n"
    "      --key 'pkcs11:token=opd-kominfo;object=sekretaris-2026' --pin-file pin.txt\n"
    "\n"
    "  # fill the field \"TTE_Sekretaris\" of a template, with a reason and place\n"
    "  tte sign surat.pdf -o surat-ttd.pdf --key 'pkcs11:token=opd-kominfo;object=sekretaris-2026' "
    "\\\n"
    "      --pin-file pin.txt --field TTE_Sekretaris --reason 'Menyetujui' --location 'Bandung'\n"
    "\n"
    "  # the first signer certifies the letter (later signers may still sign: level 2)\n"
    "  tte sign surat.pdf -o surat-ttd.pdf --key ... --pin-file pin.txt --certify 2\n"
    "\n"
    "  # tests and tools only, NOT for real letters: a software key from PEM files\n"
    "  tte sign in.pdf -o out.pdf --key-file signer.key --cert signer.pem --chain chain.pem\n"
    "\n"
    "Certification levels: 1 = no changes allowed afterwards (no further signatures!),\n"
    "2 = form filling and signing allowed, 3 = also annotations.\n"
    "\n"
    "Exit status: 0 signed, 1 refused or failed (the reason is printed; no output file is\n"
    "left behind), 2 wrong usage.";

static TteSigningKey *
open_key(const char *key_uri, const char *key_file, const char *pin_file, const char *module,
         const char *cert_path, const char *chain_path, GError **error)
{
  if (key_file != NULL) {
    if (cert_path == NULL) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT, "--key-file needs --cert");
      return NULL;
    }
    return tte_file_key_new(key_file, cert_path, chain_path, error);
  }
#ifdef TTE_HAVE_KEYS
  {
    g_autoptr(TteSecret) pin = NULL;
    g_autoptr(TteX509Stack) certs = NULL;
    g_autoptr(TteX509Stack) chain = NULL;
    g_autoptr(TteP11Module) m = NULL;
    g_autofree char *path = NULL;

    if (pin_file != NULL)
      pin = tte_secret_new_from_file(pin_file, error);
    else {
      pin = tte_secret_new_from_env("TTE_PIN", error);
      if (pin == NULL && (error == NULL || *error == NULL))
        g_set_error(error, TTE_ERROR, TTE_ERROR_PIN_INVALID,
                    "the token PIN is needed: give --pin-file FILE or set TTE_PIN");
    }
    if (pin == NULL)
      return NULL;
    if (cert_path != NULL && (certs = tte_x509_load_file(cert_path, error)) == NULL)
      return NULL;
    if (chain_path != NULL && (chain = tte_x509_load_file(chain_path, error)) == NULL)
      return NULL;
    path = tte_p11_module_resolve_path(module);
    m = tte_p11_module_load(path, NULL, error);
    if (m == NULL)
      return NULL;
    return tte_p11_open_signing_key(m, key_uri, pin, certs != NULL ? sk_X509_value(certs, 0) : NULL,
                                    chain, error);
  }
#else
  (void)key_uri;
  (void)pin_file;
  (void)module;
  g_set_error(error, TTE_ERROR, TTE_ERROR_NOT_SUPPORTED,
              "this build has no PKCS#11 support; use --key-file for tests");
  return NULL;
#endif
}

static gboolean
write_stdout(GBytes *b, GError **error)
{
  gsize n = 0;
  const guint8 *d = g_bytes_get_data(b, &n);

  while (n > 0) {
    ssize_t w = write(STDOUT_FILENO, d, n);
    if (w <= 0) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_IO, "cannot write to standard output");
      return FALSE;
    }
    d += w;
    n -= (gsize)w;
  }
  return TRUE;
}

int
tte_cmd_sign(int argc, char **argv)
{
  g_autofree char *output = NULL, *key_uri = NULL, *key_file = NULL, *pin_file = NULL;
  g_autofree char *module = NULL, *cert = NULL, *chain = NULL, *rect = NULL, *field = NULL;
  g_autofree char *anchor = NULL, *image = NULL, *reason = NULL, *location = NULL;
  g_autofree char *contact = NULL, *name = NULL, *hash = NULL, *scheme = NULL;
  g_autofree char *qr_url = NULL, *doc_id = NULL, *tz = NULL, *title = NULL, *org = NULL;
  g_auto(GStrv) rest = NULL;
  gint page = 0, certify = 0;
  const GOptionEntry entries[] = {
      {"output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
       "Write the signed PDF to FILE ('-' = standard output)", "FILE"},
      {"key", 0, 0, G_OPTION_ARG_STRING, &key_uri, "PKCS#11 URI of the signing key on the token",
       "URI"},
      {"pin-file", 0, 0, G_OPTION_ARG_FILENAME, &pin_file,
       "File holding the token PIN (else $TTE_PIN)", "FILE"},
      {"module", 0, 0, G_OPTION_ARG_FILENAME, &module,
       "PKCS#11 module (default: $TTE_PKCS11_MODULE or SoftHSM2)", "PATH"},
      {"cert", 0, 0, G_OPTION_ARG_FILENAME, &cert,
       "Signer certificate (PEM) instead of the one on the token", "FILE"},
      {"chain", 0, 0, G_OPTION_ARG_FILENAME, &chain, "Intermediate CA certificates (PEM) to embed",
       "FILE"},
      {"key-file", 0, 0, G_OPTION_ARG_FILENAME, &key_file,
       "Software key (PEM) — for tests only, NOT for production letters", "FILE"},
      {"page", 0, 0, G_OPTION_ARG_INT, &page, "Page for a new signature (1 = first)", "N"},
      {"rect", 0, 0, G_OPTION_ARG_STRING, &rect,
       "Visible stamp at X,Y,WIDTH,HEIGHT points from the page's lower left", "X,Y,W,H"},
      {"field", 0, 0, G_OPTION_ARG_STRING, &field, "Sign the existing empty signature field NAME",
       "NAME"},
      {"anchor", 0, 0, G_OPTION_ARG_STRING, &anchor,
       "Place the stamp over this text in the letter, e.g. [TTE]", "TEXT"},
      {"image", 0, 0, G_OPTION_ARG_FILENAME, &image, "Image (PNG/JPEG) for the visible stamp",
       "FILE"},
      {"reason", 0, 0, G_OPTION_ARG_STRING, &reason, "Reason for signing, e.g. 'Menyetujui'",
       "TEXT"},
      {"location", 0, 0, G_OPTION_ARG_STRING, &location, "Place of signing", "TEXT"},
      {"contact", 0, 0, G_OPTION_ARG_STRING, &contact, "Contact information of the signer", "TEXT"},
      {"name", 0, 0, G_OPTION_ARG_STRING, &name,
       "Signer name written into the signature and the stamp (default: the certificate's CN)",
       "TEXT"},
      {"title", 0, 0, G_OPTION_ARG_STRING, &title,
       "Title (jabatan) shown on the stamp (default: the certificate's title)", "TEXT"},
      {"organization", 0, 0, G_OPTION_ARG_STRING, &org,
       "Agency (OPD) shown on the stamp (default: the certificate's OU, else O)", "TEXT"},
      {"certify", 0, 0, G_OPTION_ARG_INT, &certify,
       "Certify the document (first signature only): 1, 2 or 3", "N"},
      {"hash", 0, 0, G_OPTION_ARG_STRING, &hash, "sha256 (default), sha384 or sha512", "NAME"},
      {"scheme", 0, 0, G_OPTION_ARG_STRING, &scheme,
       "rsa-pkcs1, rsa-pss or ecdsa (default: from the key)", "NAME"},
      {"qr-url", 0, 0, G_OPTION_ARG_STRING, &qr_url,
       "Base URL for the verification QR code on the stamp", "URL"},
      {"document-id", 0, 0, G_OPTION_ARG_STRING, &doc_id, "Document identifier for the QR code",
       "ID"},
      {"timezone", 0, 0, G_OPTION_ARG_STRING, &tz,
       "Time zone for the printed time, e.g. Asia/Jakarta", "TZ"},
      {G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &rest, NULL, "IN.pdf"},
      {NULL},
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new("-o OUT.pdf");
  g_autoptr(GError) error = NULL;
  g_autoptr(TteSigningKey) key = NULL;
  SigOptions opts;
  SigResult res = {0};
  gboolean to_stdout;
  gboolean ok;

  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_set_description(ctx, sign_description);
  if (!tte_cli_parse(ctx, &argc, &argv))
    return TTE_EXIT_USAGE;
  if (rest == NULL || g_strv_length(rest) != 1 || output == NULL) {
    fprintf(stderr, "tte: give one input PDF and -o OUTPUT\nTry '%s --help'.\n", g_get_prgname());
    return TTE_EXIT_USAGE;
  }
  if ((key_uri == NULL) == (key_file == NULL)) {
    fprintf(stderr,
            "tte: give either --key URI (a token) or --key-file FILE (tests)\n"
            "Try '%s --help'.\n",
            g_get_prgname());
    return TTE_EXIT_USAGE;
  }
  if ((field != NULL) + (anchor != NULL) + (rect != NULL) > 1 || (field != NULL && page != 0) ||
      page < 0 || certify < 0 || certify > 3) {
    fprintf(stderr,
            "tte: use one of --rect (with --page), --field or --anchor; --certify is "
            "1, 2 or 3\nTry '%s --help'.\n",
            g_get_prgname());
    return TTE_EXIT_USAGE;
  }

#ifdef TTE_LEAN
  /* Stamps need the renderer and fonts: the full program draws them. */
  if (field != NULL || anchor != NULL || rect != NULL || page != 0 || image != NULL)
    return tte_cli_exec_full();
#endif
  sig_options_init(&opts);
  opts.field_name = field;
  opts.certify = certify;
  opts.page = (guint)page;
  opts.anchor = anchor;
  opts.image_path = image;
  opts.reason = reason;
  opts.location = location;
  opts.contact = contact;
  opts.signer_name = name;
  opts.title = title;
  opts.organization = org;
  opts.qr_url_base = qr_url;
  opts.document_id = doc_id;
  opts.timezone = tz;
  if (rect != NULL) {
    if (!sig_parse_rect(rect, opts.rect)) {
      g_set_error(&error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                  "--rect wants X,Y,WIDTH,HEIGHT in points (1/72 inch), e.g. 350,80,180,60");
      tte_cli_print_error(NULL, error);
      return TTE_EXIT_USAGE;
    }
    opts.have_rect = TRUE;
  }
  if (hash != NULL && !tte_hash_from_name(hash, &opts.hash, &error)) {
    tte_cli_print_error(NULL, error);
    return TTE_EXIT_USAGE;
  }
  if (scheme != NULL) {
    TteSigScheme s;
    if (!tte_scheme_from_name(scheme, &s, &error)) {
      tte_cli_print_error(NULL, error);
      return TTE_EXIT_USAGE;
    }
    opts.scheme = (int)s;
  }

  key = open_key(key_uri, key_file, pin_file, module, cert, chain, &error);
  if (key == NULL) {
    tte_cli_print_error("cannot open the signing key", error);
    return TTE_EXIT_FAILURE;
  }

  to_stdout = strcmp(output, "-") == 0;
  if (to_stdout) {
    /* Read in place: a file that shrinks meanwhile reads as zeros instead of raising
     * SIGBUS (tte-mapguard.h), and nothing is written. */
    int guard;
    g_autoptr(GBytes) in = tte_map_guard_file(rest[0], &guard, &error);
    g_autoptr(GBytes) out = NULL;
    if (in == NULL) {
      tte_cli_print_error(NULL, error);
      return TTE_EXIT_FAILURE;
    }
    out = sig_sign_bytes(in, key, &opts, &res, &error);
    if (tte_map_guard_hit(guard)) {
      g_clear_error(&error);
      g_clear_pointer(&out, g_bytes_unref);
      g_set_error(&error, TTE_ERROR, TTE_ERROR_IO,
                  "the file became shorter while it was being signed; nothing was written");
    }
    ok = out != NULL && write_stdout(out, &error);
  } else {
    ok = sig_sign_file(rest[0], output, key, &opts, &res, &error);
  }
  if (!ok) {
    tte_cli_print_error(rest[0], error);
    sig_result_clear(&res);
    return TTE_EXIT_FAILURE;
  }
  fprintf(to_stdout ? stderr : stdout,
          "signed %s: field \"%s\", signature %u, %" G_GUINT64_FORMAT " bytes, sha256 %s\n",
          to_stdout ? "(stdout)" : output, res.field_name, res.signature_count, res.size,
          res.document_sha256);
  sig_result_clear(&res);
  return TTE_EXIT_OK;
}
