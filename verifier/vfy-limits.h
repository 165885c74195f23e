/* vfy-limits.h — caps the verifier needs beyond common/tte-limits.h.
 *
 * They belong in common/tte-limits.h (one header for every cap); they live here until
 * that header's owner takes them, and nothing else in the tree may repeat the numbers. */
#pragma once

#include "tte-limits.h"

#ifndef TTE_LIMIT_DSS_MAX_ITEMS
#define TTE_LIMIT_DSS_MAX_ITEMS        1000u  /* certificates + OCSP responses + CRLs read from /DSS */
#endif
#ifndef TTE_LIMIT_DSS_ITEM_MAX
#define TTE_LIMIT_DSS_ITEM_MAX         (4u << 20) /* bytes of one decoded /DSS stream */
#endif
#ifndef TTE_LIMIT_REVOCATION_MAX_ITEMS
#define TTE_LIMIT_REVOCATION_MAX_ITEMS 64u    /* OCSP responses / CRLs in one CMS revocation archive */
#endif
#ifndef TTE_LIMIT_OCSP_RESPONSE_MAX
#define TTE_LIMIT_OCSP_RESPONSE_MAX    (64u << 10) /* bytes of a fetched OCSP response */
#endif
#ifndef TTE_LIMIT_CRL_MAX
#define TTE_LIMIT_CRL_MAX              (16u << 20) /* bytes of a fetched or given CRL */
#endif
#ifndef TTE_LIMIT_FETCH_TIMEOUT_S
#define TTE_LIMIT_FETCH_TIMEOUT_S      10u    /* seconds for one OCSP/CRL fetch */
#endif
#ifndef TTE_LIMIT_FETCH_MAX_URLS
#define TTE_LIMIT_FETCH_MAX_URLS       4u     /* OCSP/CRL URLs tried per certificate */
#endif
#ifndef TTE_LIMIT_VISUAL_DIFF_SIGNATURES
#define TTE_LIMIT_VISUAL_DIFF_SIGNATURES 8u   /* signatures per file whose revision is rendered and compared */
#endif
#ifndef TTE_LIMIT_PDF_STREAM_IN_MEMORY
#define TTE_LIMIT_PDF_STREAM_IN_MEMORY (8u << 20) /* bytes of one stream's data the change analysis reads into memory; longer ones are compared in windows */
#endif
#ifndef TTE_LIMIT_TIMESTAMPS_PER_SIG
#define TTE_LIMIT_TIMESTAMPS_PER_SIG   4u     /* signature timestamps examined per signature */
#endif

#ifndef TTE_LIMIT_OVERLAP_ANNOTS_PER_PAGE
#define TTE_LIMIT_OVERLAP_ANNOTS_PER_PAGE 512u /* annotations per page compared pairwise for overlaps; more are not compared */
#endif
#ifndef TTE_LIMIT_OVERLAP_PAGES
#define TTE_LIMIT_OVERLAP_PAGES 2000u /* pages whose annotations are compared for overlaps */
#endif
