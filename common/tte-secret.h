/* tte-secret.h — PINs and passphrases.
 *
 * A TteSecret holds a NUL-terminated secret in memory that is locked (best effort)
 * against swapping and wiped with OPENSSL_cleanse when freed.  The secret's text never
 * appears in an error message: errors name the file or variable, not the content.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct TteSecret TteSecret;

/* New secret from @len bytes at @data (copied).  Rejects empty, NUL-containing or
 * longer than TTE_LIMIT_PIN_MAX_LEN (TTE_ERROR_PIN_INVALID).  Caller owns the result. */
TteSecret *tte_secret_new(const char *data, gsize len, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Read a secret from a file: the whole file, minus one trailing "\n" or "\r\n".
 * The file must be a regular file of at most TTE_LIMIT_SECRET_FILE_MAX bytes. */
TteSecret *tte_secret_new_from_file(const char *path, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Read a secret from environment variable @name.  Returns NULL without setting @error
 * when the variable is unset; sets TTE_ERROR_PIN_INVALID when it is set but unusable. */
TteSecret *tte_secret_new_from_env(const char *name, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* The secret as a NUL-terminated string, owned by @s. */
const char *tte_secret_get(const TteSecret *s);
gsize tte_secret_len(const TteSecret *s);

/* Wipe and free; accepts NULL. */
void tte_secret_free(TteSecret *s);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(TteSecret, tte_secret_free)

/* Wipe @len bytes at @p in a way the compiler cannot elide. */
void tte_memwipe(void *p, gsize len);

G_END_DECLS
