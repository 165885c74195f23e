/* tte-mapguard.h — read-only file mappings that survive their file shrinking.
 *
 * Reading a mapped file past its current end raises SIGBUS.  The verifier maps the PDF it
 * checks and lets qpdf read the mapping in place, so a file truncated by someone else
 * while it is being verified would kill the process.  A guarded mapping instead gets
 * zero-filled anonymous pages where the file went missing, and remembers that it did:
 * the reader sees zeros (a damaged PDF at worst), the owner asks tte_map_guard_remove()
 * afterwards and reports an I/O error instead of a verdict.
 *
 * The SIGBUS handler is process-wide and installed on first use; it handles faults inside
 * guarded ranges only and passes every other SIGBUS to the handler that was there before
 * (or the default action: a crash that stays a crash).  Up to TTE_MAP_GUARD_SLOTS
 * mappings are guarded at once; beyond that tte_map_guard_add() says so and the mapping
 * stays unguarded.  Safe to use from several threads.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define TTE_MAP_GUARD_SLOTS 64

/* Guard the read-only mapping [@base, @base + @len) (@base page-aligned).  Returns a
 * slot number for tte_map_guard_remove(), or -1 when every slot is taken or the handler
 * cannot be installed (the mapping is then simply not guarded). */
int tte_map_guard_add(const void *base, gsize len);

/* TRUE when a read fell beyond the end of the file in guarded @slot so far. */
gboolean tte_map_guard_hit(int slot);

/* Stop guarding @slot (from tte_map_guard_add(); -1 is accepted and ignored).  Returns
 * TRUE when a read fell beyond the end of the file while it was guarded, i.e. the file
 * shrank and some bytes read from the mapping were zeros instead of the file's. */
gboolean tte_map_guard_remove(int slot);

/* The file at @path mapped read-only and guarded, as bytes that own the mapping: the
 * guard is removed and the file unmapped when the last reference goes.  *@slot_out (may be
 * NULL) receives the slot for tte_map_guard_hit() while the bytes live; -1 when nothing
 * is guarded (an empty file, or no slot free).  NULL with TTE_ERROR_IO naming @path when
 * the file cannot be mapped. */
GBytes *tte_map_guard_file(const char *path, int *slot_out, GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
