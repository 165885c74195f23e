/* tte-limits.h — every cap on a user-controllable resource, named once.
 *
 * Code that reads untrusted input refers to these names, never to bare numbers, and
 * fails with TTE_ERROR_LIMIT naming the limit when one is hit.  The service config may
 * lower (never raise beyond these compile-time ceilings) the ones marked "config".
 */
#pragma once

#include <glib.h>

/* --- secrets ------------------------------------------------------------------ */
#define TTE_LIMIT_PIN_MAX_LEN            256u    /* bytes of a PIN / passphrase */
#define TTE_LIMIT_SECRET_FILE_MAX        4096u   /* bytes of a PIN file (trailing newline allowed) */

/* --- PKCS#11 ------------------------------------------------------------------ */
#define TTE_LIMIT_P11_URI_MAX_LEN        4096u   /* bytes of a PKCS#11 URI */
#define TTE_LIMIT_P11_ATTR_MAX_LEN       256u    /* bytes of one decoded URI attribute (token, object, id) */
#define TTE_LIMIT_P11_MAX_SLOTS          256u    /* slots enumerated per module */
#define TTE_LIMIT_P11_MAX_OBJECTS        4096u   /* keys/certs enumerated per token */
#define TTE_LIMIT_MODULE_ALLOWLIST_MAX   32u     /* entries in the module allowlist */

/* --- X.509 / CMS -------------------------------------------------------------- */
#define TTE_LIMIT_CERT_FILE_MAX          (1u << 20)  /* bytes of a PEM/DER certificate or chain file */
#define TTE_LIMIT_CHAIN_MAX_CERTS        16u     /* certificates in a chain file or a CMS */
#define TTE_LIMIT_CHAIN_MAX_DEPTH        8u      /* path length when building a chain */
#define TTE_LIMIT_CMS_MAX_LEN            (4u << 20)  /* bytes of one signature's DER CMS (an enveloping CMS carries the whole PDF) */
#define TTE_LIMIT_SUBJECT_MAX_LEN        1024u   /* bytes of a subject DN given on the command line */
#define TTE_LIMIT_SIG_MAX_LEN            1024u   /* bytes of one raw signature value (RSA-8192) */

/* --- PDF ---------------------------------------------------------------------- */
#define TTE_LIMIT_PDF_MAX_SIZE           (G_GUINT64_CONSTANT(4) << 30) /* bytes of an input PDF (config) */
#define TTE_LIMIT_PDF_MAX_REVISIONS      1000u   /* incremental updates walked in one file */
#define TTE_LIMIT_PDF_MAX_SIGNATURES     200u    /* signature dictionaries examined in one file */
#define TTE_LIMIT_PDF_MAX_DEPTH          64u     /* nesting of arrays/dictionaries we recurse into */
#define TTE_LIMIT_PDF_MAX_ARRAY          100000u /* elements of one array we iterate */
#define TTE_LIMIT_PDF_MAX_OBJECTS        5000000u /* objects in a cross-reference table */
#define TTE_LIMIT_PDF_MAX_FIELDS         10000u  /* AcroForm fields walked */
#define TTE_LIMIT_PDF_MAX_PAGES          100000u /* pages walked in the page tree */
#define TTE_LIMIT_PDF_TAIL_SCAN          1024u   /* bytes from the end searched for startxref */
#define TTE_LIMIT_PDF_HEADER_SCAN        1024u   /* bytes from the start searched for %PDF- */
#define TTE_LIMIT_VISUAL_DIFF_PAGES      50u     /* pages rendered for the visual comparison (config) */
#define TTE_LIMIT_IMAGE_MAX_SIZE         (8u << 20)  /* bytes of a stamp image (PNG/JPEG) */
#define TTE_LIMIT_IMAGE_MAX_PIXELS       (4096u * 4096u)
#define TTE_LIMIT_FONT_MAX_SIZE          (32u << 20) /* bytes of a stamp font file */
#define TTE_LIMIT_QR_URL_MAX_LEN         2048u   /* bytes of the verification URL in the QR code */

/* --- service ------------------------------------------------------------------ */
#define TTE_LIMIT_HTTP_BODY_MAX          (G_GUINT64_CONSTANT(50) << 20) /* request body (config) */
#define TTE_LIMIT_HTTP_JSON_MAX          (G_GUINT64_CONSTANT(80) << 20) /* JSON body incl. base64 */
#define TTE_LIMIT_HTTP_MAX_CONNECTIONS   256u    /* config */
#define TTE_LIMIT_HTTP_PER_IP            64u     /* config */
#define TTE_LIMIT_HTTP_TIMEOUT_S         60u     /* config */
#define TTE_LIMIT_BATCH_MAX_FILES        50u     /* letters in one batch request */

/* --- signer ------------------------------------------------------------------- */
#define TTE_LIMIT_SIG_TST_RESERVE        (12u * 1024u) /* bytes kept free in /Contents for a later RFC 3161 token */
#define TTE_LIMIT_SIG_TEXT_MAX_LEN       1024u   /* bytes of /Reason, /Location, /ContactInfo, /Name, a field name */
#define TTE_LIMIT_SIG_UPDATE_MAX         (64u << 20) /* bytes of the incremental update built in memory (appearance incl.) */

/* --- PKCS#11 signing (pkcs11/) --------------------------------------------------- */
#define TTE_LIMIT_P11_SESSIONS           16u     /* sessions one signing key keeps open on its token */
