/* cmd-keys.c — `tte keys`: token administration for Kominfo administrators.
 *
 * A thin shell over pkcs11/: it reads options, the PIN (file or environment, never the
 * command line) and files, calls the library and prints the result.
 */
#include "tte-cli.h"
#include "tte-error.h"
#include "tte-p11.h"

#include <openssl/asn1.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  char *module;
  char *pin_file;
} CommonOpts;

static const char common_help[] =
  "Common options:\n"
  "  --module=PATH     PKCS#11 module (default: $TTE_PKCS11_MODULE, else SoftHSM2); it must\n"
  "                    be in the allowlist ($TTE_PKCS11_ALLOWED_MODULES, colon-separated)\n"
  "  --pin-file=FILE   file holding the user PIN (one line); else $TTE_PIN is used.\n"
  "                    The PIN is never accepted on the command line or in the URI.\n\n"
  "URIs follow RFC 7512, e.g. pkcs11:token=opd-kominfo;object=sekretaris-2026;id=%01\n"
  "Tokens are chosen by label (token=) or serial (serial=), never by slot number.\n\n"
  "Exit status: 0 success, 1 failure (message on stderr), 2 usage error.";

static void
add_common(GOptionContext *ctx, CommonOpts *c)
{
  GOptionEntry entries[] = {
    { "module", 0, 0, G_OPTION_ARG_FILENAME, &c->module, "PKCS#11 module", "PATH" },
    { "pin-file", 0, 0, G_OPTION_ARG_FILENAME, &c->pin_file, "File holding the user PIN", "FILE" },
    { NULL },
  };
  g_option_context_add_main_entries(ctx, entries, NULL);
}

static void
common_clear(CommonOpts *c)
{
  g_free(c->module);
  g_free(c->pin_file);
}

/* The PIN from --pin-file, else $TTE_PIN, else the URI's pin-source (a file path or a
 * file: URI).  *pin stays NULL when none is given (listing works without). */
static gboolean
read_pin(const CommonOpts *c, const TteP11Uri *u, TteSecret **pin, GError **error)
{
  *pin = NULL;
  if (c->pin_file != NULL) {
    *pin = tte_secret_new_from_file(c->pin_file, error);
    return *pin != NULL;
  }
  *pin = tte_secret_new_from_env("TTE_PIN", error);
  if (*pin != NULL)
    return TRUE;
  if (error != NULL && *error != NULL)
    return FALSE;
  if (u != NULL && u->pin_source != NULL) {
    const char *path = g_str_has_prefix(u->pin_source, "file:") ? u->pin_source + 5 : u->pin_source;
    *pin = tte_secret_new_from_file(path, error);
    return *pin != NULL;
  }
  return TRUE;
}

/* Parse the URI, pick the module and read the PIN: everything a subcommand needs. */
static gboolean
prepare(const CommonOpts *c, const char *uri, TteP11Module **m, TteSecret **pin, GError **error)
{
  g_autoptr(TteP11Uri) u = tte_p11_uri_parse(uri, error);
  g_autofree char *path = NULL;

  if (u == NULL)
    return FALSE;
  path = tte_p11_module_resolve_path(c->module != NULL ? c->module : u->module_path);
  if (!read_pin(c, u, pin, error))
    return FALSE;
  *m = tte_p11_module_load(path, NULL, error);
  if (*m == NULL) {
    g_clear_pointer(pin, tte_secret_free);
    return FALSE;
  }
  return TRUE;
}

static int
usage_error(const char *msg)
{
  fprintf(stderr, "tte: %s\nTry '%s --help'.\n", msg, g_get_prgname());
  return TTE_EXIT_USAGE;
}

static GOptionContext *
new_context(const char *param, const char *summary, const char *examples)
{
  GOptionContext *ctx = g_option_context_new(param);
  g_autofree char *desc = g_strdup_printf("%s\n\n%s", examples, common_help);

  g_option_context_set_summary(ctx, summary);
  g_option_context_set_description(ctx, desc);
  return ctx;
}

/* --- list ------------------------------------------------------------------------- */

static char *
time_string(const ASN1_TIME *t)
{
  struct tm tm;
  if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
    return g_strdup("?");
  return g_strdup_printf("%04d-%02d-%02d %02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static void
print_token(const TteP11TokenInfo *t)
{
  static const char *const kinds[] = {
    [TTE_P11_OBJ_PRIVATE_KEY] = "private key",
    [TTE_P11_OBJ_PUBLIC_KEY] = "public key",
    [TTE_P11_OBJ_CERTIFICATE] = "certificate",
  };

  printf("Token \"%s\"  manufacturer \"%s\"  model \"%s\"  serial %s\n", t->label,
         t->manufacturer, t->model, t->serial);
  printf("  state: %s%s%s%s\n", t->login_required ? "login required" : "no login needed",
         t->user_pin_count_low ? ", user PIN count low" : "",
         t->user_pin_final_try ? ", user PIN final try" : "",
         t->user_pin_locked ? ", USER PIN LOCKED" : "");
  if (t->objects->len == 0)
    printf("  (no objects visible%s)\n", t->login_required ? "; give a PIN to see private keys" : "");
  for (guint i = 0; i < t->objects->len; i++) {
    const TteP11Object *o = g_ptr_array_index(t->objects, i);
    gsize n = 0;
    const guint8 *id = o->id ? g_bytes_get_data(o->id, &n) : NULL;
    g_autoptr(GString) hex = g_string_new(NULL);

    for (gsize j = 0; j < n; j++)
      g_string_append_printf(hex, "%02x", id[j]);
    printf("  %-12s label \"%s\"  id %s", kinds[o->kind], o->label, n ? hex->str : "(none)");
    if (o->key_type != NULL)
      printf("  %s", o->key_type);
    printf("\n      %s\n", o->uri);
    if (o->cert != NULL) {
      g_autofree char *subj = tte_x509_name_string(X509_get_subject_name(o->cert));
      g_autofree char *iss = tte_x509_name_string(X509_get_issuer_name(o->cert));
      g_autofree char *nb = time_string(X509_get0_notBefore(o->cert));
      g_autofree char *na = time_string(X509_get0_notAfter(o->cert));
      printf("      subject %s\n      issuer  %s\n      valid   %s to %s\n", subj, iss, nb, na);
    }
  }
}

static int
cmd_list(int argc, char **argv)
{
  CommonOpts c = { 0 };
  g_autoptr(GOptionContext) ctx = new_context(
    "[URI]", "List tokens, keys and certificates.",
    "Without a PIN only public objects are shown. Examples:\n"
    "  tte keys list\n"
    "  tte keys list 'pkcs11:token=opd-kominfo' --pin-file /run/tte/pin");
  g_autoptr(GError) error = NULL;
  g_autoptr(TteP11Module) m = NULL;
  g_autoptr(TteSecret) pin = NULL;
  g_autoptr(GPtrArray) tokens = NULL;
  const char *uri;
  int rc = TTE_EXIT_FAILURE;

  add_common(ctx, &c);
  if (!tte_cli_parse(ctx, &argc, &argv)) {
    rc = TTE_EXIT_USAGE;
    goto out;
  }
  if (argc > 2) {
    rc = usage_error("'keys list' takes at most one URI");
    goto out;
  }
  uri = argc == 2 ? argv[1] : "pkcs11:";
  if (!prepare(&c, uri, &m, &pin, &error))
    goto out;
  tokens = tte_p11_list(m, uri, pin, &error);
  if (tokens == NULL)
    goto out;
  if (tokens->len == 0)
    printf("No initialized token matches %s.\n", uri);
  for (guint i = 0; i < tokens->len; i++)
    print_token(g_ptr_array_index(tokens, i));
  rc = TTE_EXIT_OK;
out:
  if (error != NULL)
    tte_cli_print_error("keys list", error);
  common_clear(&c);
  return rc;
}

/* --- generate ---------------------------------------------------------------------- */

static int
cmd_generate(int argc, char **argv)
{
  CommonOpts c = { 0 };
  g_autofree char *type_s = NULL;
  GOptionEntry entries[] = {
    { "type", 't', 0, G_OPTION_ARG_STRING, &type_s,
      "rsa:2048, rsa:3072 (default), rsa:4096, ec:p256 or ec:p384", "TYPE" },
    { NULL },
  };
  g_autoptr(GOptionContext) ctx = new_context(
    "URI", "Generate a key pair on the token.",
    "The URI names the token and the new key's label (object=); id= is optional (a random\n"
    "16-byte ID is chosen otherwise). The private key is created sensitive and not\n"
    "extractable: it never leaves the token. Prints the new key's URI. Examples:\n"
    "  tte keys generate 'pkcs11:token=opd-kominfo;object=sekretaris-2026' --pin-file pin\n"
    "  tte keys generate 'pkcs11:token=opd-kominfo;object=seal;id=%02' --type ec:p256");
  g_autoptr(GError) error = NULL;
  g_autoptr(TteP11Module) m = NULL;
  g_autoptr(TteSecret) pin = NULL;
  g_autofree char *new_uri = NULL;
  TteP11KeyType type = TTE_P11_KEY_RSA_3072;
  int rc = TTE_EXIT_FAILURE;

  g_option_context_add_main_entries(ctx, entries, NULL);
  add_common(ctx, &c);
  if (!tte_cli_parse(ctx, &argc, &argv)) {
    rc = TTE_EXIT_USAGE;
    goto out;
  }
  if (argc != 2) {
    rc = usage_error("'keys generate' needs exactly one URI");
    goto out;
  }
  if (type_s != NULL && !tte_p11_key_type_from_string(type_s, &type, &error)) {
    rc = usage_error(error->message);
    g_clear_error(&error);
    goto out;
  }
  if (!prepare(&c, argv[1], &m, &pin, &error))
    goto out;
  new_uri = tte_p11_generate_key(m, argv[1], pin, type, &error);
  if (new_uri == NULL)
    goto out;
  printf("%s\n", new_uri);
  rc = TTE_EXIT_OK;
out:
  if (error != NULL)
    tte_cli_print_error("keys generate", error);
  common_clear(&c);
  return rc;
}

/* --- csr ------------------------------------------------------------------------------ */

static int
cmd_csr(int argc, char **argv)
{
  CommonOpts c = { 0 };
  g_autofree char *subject = NULL, *output = NULL, *hash_s = NULL;
  GOptionEntry entries[] = {
    { "subject", 's', 0, G_OPTION_ARG_STRING, &subject,
      "Subject DN, \"/C=ID/O=.../CN=...\" or \"CN=...,O=...,C=ID\" (required)", "DN" },
    { "output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Write the PEM request here (default: stdout)",
      "FILE" },
    { "hash", 0, 0, G_OPTION_ARG_STRING, &hash_s, "sha256 (default), sha384 or sha512", "HASH" },
    { NULL },
  };
  g_autoptr(GOptionContext) ctx = new_context(
    "URI", "Make a PKCS#10 certificate request signed by the key on the token.",
    "Send the request to the CA (BSrE), then import the issued certificate with\n"
    "'tte keys import-cert'. Example:\n"
    "  tte keys csr 'pkcs11:token=opd-kominfo;object=sekretaris-2026' --pin-file pin \\\n"
    "      --subject '/C=ID/O=Pemerintah Kota Contoh/OU=Diskominfo/CN=Budi Santoso' -o req.pem");
  g_autoptr(GError) error = NULL;
  g_autoptr(TteP11Module) m = NULL;
  g_autoptr(TteSecret) pin = NULL;
  g_autofree char *pem = NULL;
  TteHash hash = TTE_HASH_SHA256;
  int rc = TTE_EXIT_FAILURE;

  g_option_context_add_main_entries(ctx, entries, NULL);
  add_common(ctx, &c);
  if (!tte_cli_parse(ctx, &argc, &argv)) {
    rc = TTE_EXIT_USAGE;
    goto out;
  }
  if (argc != 2 || subject == NULL) {
    rc = usage_error("'keys csr' needs one URI and --subject");
    goto out;
  }
  if (hash_s != NULL && !tte_hash_from_name(hash_s, &hash, &error)) {
    rc = usage_error(error->message);
    g_clear_error(&error);
    goto out;
  }
  if (!prepare(&c, argv[1], &m, &pin, &error))
    goto out;
  pem = tte_p11_make_csr(m, argv[1], pin, subject, hash, &error);
  if (pem == NULL)
    goto out;
  if (output != NULL) {
    g_autoptr(GError) io = NULL;
    if (!g_file_set_contents(output, pem, -1, &io)) {
      g_set_error(&error, TTE_ERROR, TTE_ERROR_IO, "cannot write %s: %s", output, io->message);
      goto out;
    }
  } else {
    fputs(pem, stdout);
  }
  rc = TTE_EXIT_OK;
out:
  if (error != NULL)
    tte_cli_print_error("keys csr", error);
  common_clear(&c);
  return rc;
}

/* --- import-cert ---------------------------------------------------------------------- */

static int
cmd_import(int argc, char **argv)
{
  CommonOpts c = { 0 };
  g_autofree char *chain_path = NULL;
  GOptionEntry entries[] = {
    { "chain", 0, 0, G_OPTION_ARG_FILENAME, &chain_path,
      "PEM file with the issuing CA certificates (stored as separate objects)", "FILE" },
    { NULL },
  };
  g_autoptr(GOptionContext) ctx = new_context(
    "URI CERT.pem", "Store an issued certificate on the token beside its key.",
    "The certificate gets the key's ID and label; it is refused when its public key is not\n"
    "the key's. Further certificates in CERT.pem and those in --chain are stored as CA\n"
    "certificates. Example:\n"
    "  tte keys import-cert 'pkcs11:token=opd-kominfo;object=sekretaris-2026' budi.pem \\\n"
    "      --chain bsre-chain.pem --pin-file pin");
  g_autoptr(GError) error = NULL;
  g_autoptr(TteP11Module) m = NULL;
  g_autoptr(TteSecret) pin = NULL;
  g_autoptr(TteX509Stack) certs = NULL;
  g_autoptr(TteX509Stack) chain = NULL;
  int rc = TTE_EXIT_FAILURE;

  g_option_context_add_main_entries(ctx, entries, NULL);
  add_common(ctx, &c);
  if (!tte_cli_parse(ctx, &argc, &argv)) {
    rc = TTE_EXIT_USAGE;
    goto out;
  }
  if (argc != 3) {
    rc = usage_error("'keys import-cert' needs a URI and a certificate file");
    goto out;
  }
  certs = tte_x509_load_file(argv[2], &error);
  if (certs == NULL)
    goto out;
  chain = chain_path != NULL ? tte_x509_load_file(chain_path, &error) : sk_X509_new_null();
  if (chain == NULL)
    goto out;
  for (int i = 1; i < sk_X509_num(certs); i++) {
    X509 *x = sk_X509_value(certs, i);
    X509_up_ref(x);
    sk_X509_push(chain, x);
  }
  if (!prepare(&c, argv[1], &m, &pin, &error))
    goto out;
  if (!tte_p11_import_cert(m, argv[1], pin, sk_X509_value(certs, 0), chain, &error))
    goto out;
  printf("stored certificate for %s\n", argv[1]);
  rc = TTE_EXIT_OK;
out:
  if (error != NULL)
    tte_cli_print_error("keys import-cert", error);
  common_clear(&c);
  return rc;
}

/* --- dispatcher ------------------------------------------------------------------------- */

static const struct {
  const char *name;
  int (*func)(int, char **);
  const char *summary;
} subcommands[] = {
  { "list", cmd_list, "show tokens, keys (label, id, type, URI) and certificates" },
  { "generate", cmd_generate, "generate a key pair on the token (RSA-3072 by default)" },
  { "csr", cmd_csr, "make a certificate request signed by a token key" },
  { "import-cert", cmd_import, "store an issued certificate (and its chain) beside its key" },
};

static void
keys_usage(FILE *out)
{
  fprintf(out, "Usage: tte keys SUBCOMMAND [OPTIONS...] URI ...\n\n"
               "Manage keys and certificates on a PKCS#11 token.\n\nSubcommands:\n");
  for (gsize i = 0; i < G_N_ELEMENTS(subcommands); i++)
    fprintf(out, "  %-12s %s\n", subcommands[i].name, subcommands[i].summary);
  fprintf(out, "\nKey rotation: generate a new key, make a CSR, import the issued certificate.\n"
               "Run 'tte keys SUBCOMMAND --help' for options and examples.\n\n%s\n",
          common_help);
}

int
tte_cmd_keys(int argc, char **argv)
{
  if (argc < 2) {
    keys_usage(stderr);
    return TTE_EXIT_USAGE;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
      strcmp(argv[1], "help") == 0) {
    keys_usage(stdout);
    return TTE_EXIT_OK;
  }
  for (gsize i = 0; i < G_N_ELEMENTS(subcommands); i++) {
    if (strcmp(argv[1], subcommands[i].name) == 0) {
      g_autofree char *prgname = g_strdup_printf("tte keys %s", subcommands[i].name);
      g_set_prgname(prgname);
      return subcommands[i].func(argc - 1, argv + 1);
    }
  }
  fprintf(stderr, "tte: unknown 'keys' subcommand '%s'\n\n", argv[1]);
  keys_usage(stderr);
  return TTE_EXIT_USAGE;
}
