/* sig-visible.h — the signer's SigAppearanceFunc over the stamp modules (sig-placement,
 * sig-anchor, sig-appearance): turns a SigAppearanceRequest into a placed Form XObject.
 * Built only when those modules are present (SIG_HAVE_APPEARANCE). */
#pragma once

#include "sig-hook.h"

G_BEGIN_DECLS

/* A SigAppearanceFunc: --rect (reader space on req->page_index), --anchor (first match,
 * default stamp size), or an existing field's /Rect.  @user_data is unused. */
gboolean sig_visible_build(SigObjSink *sink, const SigAppearanceRequest *req,
                           SigAppearanceResult *out, void *user_data,
                           GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
