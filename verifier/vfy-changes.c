/* vfy-changes.c — what changed in a PDF after a signature, and whether it is allowed.
 *
 * Three layers, each of which can name a finding on its own:
 *  1. Structure (our own reading of the bytes, through TteCursor): the cross-reference
 *     sections appended after the signed revision, which objects each one adds, changes,
 *     frees or re-points, where the bytes it points at lie (a later revision that points
 *     an object back into the signed bytes is the shadow "hide" attack), trailing data,
 *     a replaced /Root.
 *  2. Roles (qpdf on the whole file): a walk from the trailer that records in which
 *     role each object is used (catalog, page, content stream, resource, annotation,
 *     form field, appearance, signature value, DSS, ...).  An object used in several
 *     roles must be acceptable in every one of them, which is what defeats the
 *     "sneaky" re-use of one object in an allowed and a forbidden place.
 *  3. Content (qpdf on the signed prefix and on the whole file): every touched object
 *     is compared with its signed version key by key and judged against a whitelist
 *     (new signatures and their fields, DSS, document timestamps, form filling and
 *     annotations where DocMDP allows them).
 * Nothing is assumed harmless because it was not understood: unknown roles and unknown
 * keys end up as "unexplained-change", which is not allowed.
 */
#include "vfy-changes.h"

#include <glib.h>
#include <zlib.h>
#include <qpdf/qpdf-c.h>
#include <stdlib.h>
#include <string.h>

#include "tte-cursor.h"
#include "tte-error.h"
#include "tte-limits.h"
#include "vfy-limits.h"
#include "vfy-pdf.h"

/* ------------------------------------------------------------------------------------
 * Findings
 * ---------------------------------------------------------------------------------- */

typedef struct {
  const char *classification;
  const char *en;
  const char *id;
} ChangeText;

static const ChangeText change_texts[] = {
  { "signature-added", "A signature was added after this one",
    "Tanda tangan lain ditambahkan setelah tanda tangan ini" },
  { "signature-field-added", "An empty signature field was added after signing",
    "Kolom tanda tangan kosong ditambahkan setelah penandatanganan" },
  { "doc-timestamp-added", "A document timestamp was added", "Stempel waktu dokumen ditambahkan" },
  { "dss-added", "Validation data (DSS) was added", "Data validasi (DSS) ditambahkan" },
  { "dss-changed", "Validation data (DSS) was updated", "Data validasi (DSS) diperbarui" },
  { "metadata-changed", "Document metadata (not shown on the page) was updated",
    "Metadata dokumen (tidak tampil di halaman) diperbarui" },
  { "extensions-changed", "The list of PDF extensions was updated",
    "Daftar ekstensi PDF diperbarui" },
  { "form-updated", "The form dictionary was updated for a new signature",
    "Kamus formulir diperbarui untuk tanda tangan baru" },
  { "form-filled", "A form field was filled in", "Isian formulir diisi" },
  { "form-changed", "The form was changed in a way that is not permitted",
    "Formulir diubah dengan cara yang tidak diizinkan" },
  { "field-added", "A form field was added after signing",
    "Kolom formulir ditambahkan setelah penandatanganan" },
  { "annotation-added", "An annotation was added to a page",
    "Anotasi ditambahkan pada halaman" },
  { "annotation-overlay-added",
    "An annotation that can paint over the signed content was added to a page",
    "Anotasi yang dapat menutupi isi yang ditandatangani ditambahkan pada halaman" },
  { "annotation-on-page-changed", "An annotation on a page was changed or removed",
    "Anotasi pada halaman diubah atau dihapus" },
  { "signature-field-after-certification",
    "A visible signature field was added after the document was certified; its "
    "appearance can cover the signed content",
    "Kolom tanda tangan yang terlihat ditambahkan setelah dokumen disertifikasi; "
    "tampilannya dapat menutupi isi yang ditandatangani" },
  { "locked-field-changed",
    "A form field that this signature locked (FieldMDP) was changed after signing",
    "Isian formulir yang dikunci oleh tanda tangan ini (FieldMDP) diubah setelah penandatanganan" },
  { "signature-changed", "An existing signature dictionary was changed",
    "Kamus tanda tangan yang sudah ada diubah" },
  { "page-content-changed", "The content of a page was changed",
    "Isi halaman diubah" },
  { "resources-changed", "Fonts, images or other page resources were changed",
    "Huruf, gambar, atau sumber daya halaman lainnya diubah" },
  { "page-changed", "A page's properties were changed", "Properti halaman diubah" },
  { "page-tree-changed", "The list of pages was changed", "Daftar halaman diubah" },
  { "catalog-changed", "The document catalog was changed or replaced",
    "Katalog dokumen diubah atau diganti" },
  { "catalog-replaced", "The trailer now names a new copy of the document catalog",
    "Trailer kini menunjuk salinan baru katalog dokumen" },
  { "object-freed", "An object of the signed revision was deleted",
    "Objek dari revisi yang ditandatangani dihapus" },
  { "object-repointed",
    "An object was pointed at other bytes than the ones written for it, possibly hidden "
    "inside the signed range",
    "Objek diarahkan ke bita lain dari yang ditulis untuknya, mungkin tersembunyi di "
    "dalam rentang yang ditandatangani" },
  { "object-stream-redefines",
    "An object stream added after signing carries another version of a signed object",
    "Aliran objek yang ditambahkan setelah penandatanganan memuat versi lain dari objek "
    "yang ditandatangani" },
  { "xref-only-revision",
    "A revision changes the cross-reference table without writing any object",
    "Sebuah revisi mengubah tabel referensi silang tanpa menulis objek apa pun" },
  { "xref-chain-broken",
    "The later revisions do not build on the signed revision",
    "Revisi berikutnya tidak dibangun di atas revisi yang ditandatangani" },
  { "trailing-data", "Data follows the end of the document",
    "Ada data setelah akhir dokumen" },
  { "structure-changed", "The logical structure (reading order, tags) was updated",
    "Struktur logis (urutan baca, tag) diperbarui" },
  { "unreferenced-object-changed",
    "An object no longer used by the document was rewritten",
    "Objek yang tidak lagi dipakai dokumen ditulis ulang" },
  { "unexplained-change", "A change was made that the verifier cannot explain",
    "Ada perubahan yang tidak dapat dijelaskan oleh pemeriksa" },
};

static const ChangeText *
change_text(const char *cls)
{
  for (gsize i = 0; i < G_N_ELEMENTS(change_texts); i++)
    if (strcmp(change_texts[i].classification, cls) == 0)
      return &change_texts[i];
  return &change_texts[G_N_ELEMENTS(change_texts) - 1];
}

void
vfy_change_free(VfyChange *c)
{
  if (c == NULL)
    return;
  g_free(c->classification);
  g_free(c->detail_en);
  g_free(c->detail_id);
  g_free(c);
}

/* What DocMDP permits, independent of how the change was found.  P1 (PAdES): only
 * validation data and document timestamps. */
static gboolean
mdp_permits(const char *cls, VfyMdpLevel mdp)
{
  static const char *const always[] = { "dss-added", "dss-changed", "doc-timestamp-added",
                                        "metadata-changed", "extensions-changed",
                                        "catalog-replaced" };
  for (gsize i = 0; i < G_N_ELEMENTS(always); i++)
    if (strcmp(cls, always[i]) == 0)
      return TRUE;
  if (mdp == VFY_MDP_P1)
    return FALSE;
  if (strcmp(cls, "signature-added") == 0 || strcmp(cls, "signature-field-added") == 0 ||
      strcmp(cls, "structure-changed") == 0 ||
      strcmp(cls, "form-updated") == 0 || strcmp(cls, "form-filled") == 0)
    return TRUE;
  if (strcmp(cls, "annotation-added") == 0)
    return mdp == VFY_MDP_P3;
  return FALSE;
}

typedef struct {
  GPtrArray *out;      /* VfyChange* */
  GHashTable *seen;    /* "class/num" already reported */
  VfyMdpLevel mdp;
} Findings;

static VfyChange *
add_change(Findings *f, const char *cls, gboolean allowed, guint num, guint gen, guint rev,
           const char *why)
{
  const ChangeText *t = change_text(cls);
  g_autofree char *key = g_strdup_printf("%s/%u", cls, num);
  VfyChange *c;

  if (g_hash_table_contains(f->seen, key))
    return NULL;
  g_hash_table_add(f->seen, g_steal_pointer(&key));
  c = g_new0(VfyChange, 1);
  c->classification = g_strdup(cls);
  /* The whitelist proposes, DocMDP disposes. */
  c->allowed = allowed && mdp_permits(cls, f->mdp);
  c->obj_num = num;
  c->obj_gen = gen;
  c->revision = rev;
  if (num != 0) {
    c->detail_en = g_strdup_printf("%s (object %u %u, revision %u)%s%s.", t->en, num, gen, rev,
                                   why != NULL ? ": " : "", why != NULL ? why : "");
    c->detail_id = g_strdup_printf("%s (objek %u %u, revisi %u)%s%s.", t->id, num, gen, rev,
                                   why != NULL ? ": " : "", why != NULL ? why : "");
  } else {
    c->detail_en = g_strdup_printf("%s (revision %u)%s%s.", t->en, rev, why != NULL ? ": " : "",
                                   why != NULL ? why : "");
    c->detail_id = g_strdup_printf("%s (revisi %u)%s%s.", t->id, rev, why != NULL ? ": " : "",
                                   why != NULL ? why : "");
  }
  g_ptr_array_add(f->out, c);
  return c;
}

/* ------------------------------------------------------------------------------------
 * A small reader for the few direct PDF objects we parse ourselves: trailer
 * dictionaries and cross-reference stream dictionaries.
 * ---------------------------------------------------------------------------------- */

typedef enum { PV_NULL, PV_BOOL, PV_INT, PV_REAL, PV_NAME, PV_STRING, PV_REF, PV_ARRAY, PV_DICT } PvType;

typedef struct Pv Pv;
struct Pv {
  PvType type;
  gint64 i;       /* int value, ref number, bool */
  guint gen;      /* ref generation */
  char *name;     /* name without the slash */
  GPtrArray *items; /* array items (Pv*), or dict values */
  GPtrArray *keys;  /* dict keys (char*) */
};

static void
pv_free(Pv *v)
{
  if (v == NULL)
    return;
  g_free(v->name);
  if (v->items != NULL)
    g_ptr_array_unref(v->items);
  if (v->keys != NULL)
    g_ptr_array_unref(v->keys);
  g_free(v);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Pv, pv_free)

/* Dictionaries we parse ourselves are small; anything bigger is not a trailer. */
#define PV_MAX_DICT_ENTRIES 4096u
#define PV_MAX_NAME 256u
#define PV_MAX_STRING (64u * 1024u)

static gboolean
pv_read_name(TteCursor *c, char **out)
{
  gsize start = c->pos;
  while (c->pos < c->len && !tte_pdf_is_ws(c->data[c->pos]) && !tte_pdf_is_delim(c->data[c->pos]))
    c->pos++;
  if (c->pos - start > PV_MAX_NAME) {
    c->pos = start;
    return FALSE;
  }
  *out = g_strndup((const char *)c->data + start, c->pos - start);
  return TRUE;
}

static Pv *pv_parse(TteCursor *c, guint depth, guint max_depth);

static gboolean
pv_skip_literal_string(TteCursor *c)
{
  guint nest = 0;
  guint8 b;
  if (!tte_cursor_get_u8(c, &b) || b != '(')
    return FALSE;
  while (tte_cursor_get_u8(c, &b)) {
    if (b == '\\') {
      if (!tte_cursor_get_u8(c, &b))
        return FALSE;
    } else if (b == '(') {
      nest++;
    } else if (b == ')') {
      if (nest == 0)
        return TRUE;
      nest--;
    }
  }
  return FALSE;
}

static Pv *
pv_parse(TteCursor *c, guint depth, guint max_depth)
{
  g_autoptr(Pv) v = g_new0(Pv, 1);
  guint8 b;

  if (depth > max_depth)
    return NULL;
  tte_cursor_skip_pdf_ws(c);
  if (!tte_cursor_peek(c, &b))
    return NULL;
  if (b == '<' && c->pos + 1 < c->len && c->data[c->pos + 1] == '<') {
    c->pos += 2;
    v->type = PV_DICT;
    v->keys = g_ptr_array_new_with_free_func(g_free);
    v->items = g_ptr_array_new_with_free_func((GDestroyNotify)pv_free);
    for (;;) {
      char *k = NULL;
      Pv *val;
      tte_cursor_skip_pdf_ws(c);
      if (tte_cursor_match(c, ">>"))
        break;
      if (!tte_cursor_match(c, "/") || !pv_read_name(c, &k))
        return NULL;
      if (v->keys->len >= PV_MAX_DICT_ENTRIES) {
        g_free(k);
        return NULL;
      }
      val = pv_parse(c, depth + 1, max_depth);
      if (val == NULL) {
        g_free(k);
        return NULL;
      }
      g_ptr_array_add(v->keys, k);
      g_ptr_array_add(v->items, val);
    }
  } else if (b == '<') {
    GBytes *s = NULL;
    if (!tte_cursor_get_hex_string(c, PV_MAX_STRING, &s))
      return NULL;
    g_bytes_unref(s);
    v->type = PV_STRING;
  } else if (b == '(') {
    if (!pv_skip_literal_string(c))
      return NULL;
    v->type = PV_STRING;
  } else if (b == '[') {
    c->pos++;
    v->type = PV_ARRAY;
    v->items = g_ptr_array_new_with_free_func((GDestroyNotify)pv_free);
    for (;;) {
      Pv *item;
      tte_cursor_skip_pdf_ws(c);
      if (tte_cursor_match(c, "]"))
        break;
      if (v->items->len >= TTE_LIMIT_PDF_MAX_ARRAY)
        return NULL;
      item = pv_parse(c, depth + 1, max_depth);
      if (item == NULL)
        return NULL;
      g_ptr_array_add(v->items, item);
    }
  } else if (b == '/') {
    c->pos++;
    v->type = PV_NAME;
    if (!pv_read_name(c, &v->name))
      return NULL;
  } else if (g_ascii_isdigit(b) || b == '-' || b == '+' || b == '.') {
    gint64 n;
    gsize save;
    if (!tte_cursor_get_int(c, &n)) {
      /* A real like ".5": we never need its value. */
      v->type = PV_REAL;
    } else {
      v->type = PV_INT;
      v->i = n;
    }
    if (tte_cursor_peek(c, &b) && b == '.') {
      v->type = PV_REAL;
      c->pos++;
      while (tte_cursor_peek(c, &b) && g_ascii_isdigit(b))
        c->pos++;
      return g_steal_pointer(&v);
    }
    if (v->type != PV_INT)
      return NULL;
    /* "N G R" is a reference. */
    save = c->pos;
    if (n >= 0) {
      guint64 gen;
      tte_cursor_skip_pdf_ws(c);
      if (tte_cursor_get_uint(c, &gen) && gen <= 65535) {
        tte_cursor_skip_pdf_ws(c);
        if (tte_cursor_match(c, "R") &&
            (tte_cursor_at_end(c) || tte_pdf_is_ws(c->data[c->pos]) ||
             tte_pdf_is_delim(c->data[c->pos]))) {
          v->type = PV_REF;
          v->gen = (guint)gen;
          return g_steal_pointer(&v);
        }
      }
    }
    c->pos = save;
  } else if (tte_cursor_match(c, "true")) {
    v->type = PV_BOOL;
    v->i = 1;
  } else if (tte_cursor_match(c, "false")) {
    v->type = PV_BOOL;
  } else if (tte_cursor_match(c, "null")) {
    v->type = PV_NULL;
  } else {
    return NULL;
  }
  return g_steal_pointer(&v);
}

static const Pv *
pv_get(const Pv *dict, const char *key)
{
  if (dict == NULL || dict->type != PV_DICT)
    return NULL;
  for (guint i = 0; i < dict->keys->len; i++)
    if (strcmp(g_ptr_array_index(dict->keys, i), key) == 0)
      return g_ptr_array_index(dict->items, i);
  return NULL;
}

static gboolean
pv_get_int(const Pv *dict, const char *key, gint64 *out)
{
  const Pv *v = pv_get(dict, key);
  if (v == NULL || v->type != PV_INT)
    return FALSE;
  *out = v->i;
  return TRUE;
}

/* ------------------------------------------------------------------------------------
 * Cross-reference sections
 * ---------------------------------------------------------------------------------- */

typedef enum { XE_FREE = 0, XE_USED = 1, XE_COMPRESSED = 2 } XrefKind;

typedef struct {
  guint num;
  guint8 kind;
  guint gen;     /* USED: generation; COMPRESSED: 0 */
  guint64 f2;    /* USED: byte offset; COMPRESSED: number of the object stream */
  guint idx;     /* COMPRESSED: index inside the object stream */
} XrefEntry;

typedef struct {
  gsize offset;          /* of "xref" or of the xref stream object */
  gboolean is_stream;
  GArray *entries;       /* XrefEntry, in file order; hybrid /XRefStm entries appended */
  gint64 prev;           /* -1 when absent */
  guint root_num, root_gen; /* 0 when absent */
  gboolean has_encrypt;
  char *odd_key;         /* first trailer key outside the standard set, or NULL */
} XrefSection;

static void
xref_section_free(XrefSection *s)
{
  if (s == NULL)
    return;
  if (s->entries != NULL)
    g_array_unref(s->entries);
  g_free(s->odd_key);
  g_free(s);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(XrefSection, xref_section_free)

typedef struct {
  guint max_revisions;
  guint max_objects;
  guint max_depth;
  guint64 total_entries; /* across all sections: bounded by max_objects */
} Budget;

static gboolean
budget_entries(Budget *b, guint64 n, GError **error)
{
  b->total_entries += n;
  if (b->total_entries > b->max_objects) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT,
                "cross-reference entries exceed TTE_LIMIT_PDF_MAX_OBJECTS (%u)", b->max_objects);
    return FALSE;
  }
  return TRUE;
}

static gboolean
fail_format(GError **error, const char *what, gsize where)
{
  g_set_error(error, TTE_ERROR, TTE_ERROR_FORMAT, "%s at byte %" G_GSIZE_FORMAT, what, where);
  return FALSE;
}

/* Inflate at most @cap bytes (a zlib stream); more is an error, not a truncation. */
static GBytes *
inflate_capped(const guint8 *in, gsize in_len, gsize cap, GError **error)
{
  g_autoptr(GByteArray) out = g_byte_array_new();
  guint8 buf[16384];
  z_stream zs = { 0 };
  int rc = Z_OK;

  if (inflateInit(&zs) != Z_OK) {
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_FAILED, "zlib cannot start");
    return NULL;
  }
  zs.next_in = (Bytef *)in;
  while (rc != Z_STREAM_END) {
    gsize w;
    /* zlib counts in uInt: feed at most that much at a time. */
    if (zs.avail_in == 0 && (gsize)(zs.next_in - (const Bytef *)in) < in_len)
      zs.avail_in = (uInt)MIN(in_len - (gsize)(zs.next_in - (const Bytef *)in), (gsize)G_MAXUINT32);
    zs.next_out = buf;
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    w = sizeof buf - zs.avail_out;
    if (rc != Z_OK && rc != Z_STREAM_END && !(rc == Z_BUF_ERROR && w > 0)) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_FORMAT, "cross-reference stream: %s",
                  rc == Z_BUF_ERROR ? "the data ends early" : zs.msg != NULL ? zs.msg : "not zlib data");
      inflateEnd(&zs);
      return NULL;
    }
    if (out->len + w > cap) {
      inflateEnd(&zs);
      g_set_error_literal(error, TTE_ERROR, TTE_ERROR_FORMAT,
                          "cross-reference stream is longer than its entries");
      return NULL;
    }
    g_byte_array_append(out, buf, (guint)w);
  }
  inflateEnd(&zs);
  return g_byte_array_free_to_bytes(g_steal_pointer(&out));
}

/* Undo a PNG predictor (PDF /Predictor 10..15) in place; rows are 1 + @cols bytes. */
static gboolean
png_unpredict(guint8 *data, gsize len, gsize cols, gsize *out_len)
{
  gsize row = cols + 1, nrows, o = 0;
  g_autofree guint8 *prev = g_malloc0(cols);

  if (cols == 0 || len % row != 0)
    return FALSE;
  nrows = len / row;
  for (gsize r = 0; r < nrows; r++) {
    const guint8 ft = data[r * row];
    guint8 *cur = data + r * row + 1;
    for (gsize i = 0; i < cols; i++) {
      guint8 a = i > 0 ? cur[i - 1] : 0, up = prev[i], ul = i > 0 ? prev[i - 1] : 0;
      guint8 x = cur[i];
      switch (ft) {
      case 0: break;
      case 1: x = (guint8)(x + a); break;
      case 2: x = (guint8)(x + up); break;
      case 3: x = (guint8)(x + ((guint)a + up) / 2); break;
      case 4: {
        int p = (int)a + up - ul, pa = abs(p - a), pb = abs(p - up), pc = abs(p - ul);
        x = (guint8)(x + (pa <= pb && pa <= pc ? a : pb <= pc ? up : ul));
        break;
      }
      default: return FALSE;
      }
      cur[i] = x;
    }
    memcpy(prev, cur, cols);
    memmove(data + o, cur, cols);
    o += cols;
  }
  *out_len = o;
  return TRUE;
}

static gboolean parse_xref_stream_at(const guint8 *data, gsize len, gsize off, Budget *b,
                                     XrefSection *s, Pv **out_dict, GError **error);

static void
section_root_from_trailer(XrefSection *s, const Pv *trailer)
{
  const Pv *root = pv_get(trailer, "Root");
  gint64 prev;
  if (root != NULL && root->type == PV_REF && root->i > 0 && root->i <= G_MAXINT32) {
    s->root_num = (guint)root->i;
    s->root_gen = root->gen;
  }
  static const char *const std_keys[] = { "Size", "Prev", "Root", "Info", "ID", "Encrypt", "XRefStm",
                                           "Type", "W", "Index", "Filter", "DecodeParms", "Length",
                                           "DocChecksum", "AdditionalStreams" };
  s->prev = pv_get_int(trailer, "Prev", &prev) && prev >= 0 ? prev : -1;
  s->has_encrypt = pv_get(trailer, "Encrypt") != NULL;
  /* A private trailer key is a way to keep an object reachable without any page or
   * form using it (pyHanko's "sneaky trailer" case). */
  for (guint i = 0; s->odd_key == NULL && i < trailer->keys->len; i++) {
    const char *k = g_ptr_array_index(trailer->keys, i);
    gboolean std = FALSE;
    for (gsize q = 0; q < G_N_ELEMENTS(std_keys); q++)
      std |= strcmp(k, std_keys[q]) == 0;
    if (!std)
      s->odd_key = g_strdup(k);
  }
}

/* Parse the cross-reference section at @off of data[0..len): a classic table (with
 * its trailer and, for hybrid files, the /XRefStm it names) or an xref stream. */
static XrefSection *
parse_section(const guint8 *data, gsize len, gsize off, Budget *b, GError **error)
{
  g_autoptr(XrefSection) s = g_new0(XrefSection, 1);
  TteCursor c;

  s->offset = off;
  s->prev = -1;
  s->entries = g_array_new(FALSE, FALSE, sizeof(XrefEntry));
  tte_cursor_init(&c, data, len);
  if (!tte_cursor_seek(&c, off)) {
    fail_format(error, "cross-reference offset beyond the end", off);
    return NULL;
  }
  /* Writers that are off by an end of line are common; every reader tolerates them. */
  while (c.pos < len && c.pos < off + 4 && tte_pdf_is_ws(data[c.pos]))
    c.pos++;
  if (tte_cursor_match(&c, "xref")) {
    g_autoptr(Pv) trailer = NULL;
    gint64 stm;
    for (;;) {
      guint64 start, count;
      tte_cursor_skip_pdf_ws(&c);
      if (tte_cursor_match(&c, "trailer"))
        break;
      if (!tte_cursor_get_uint(&c, &start)) {
        fail_format(error, "bad cross-reference subsection", c.pos);
        return NULL;
      }
      tte_cursor_skip_pdf_ws(&c);
      if (!tte_cursor_get_uint(&c, &count) || start > G_MAXINT32 || count > G_MAXINT32 - start) {
        fail_format(error, "bad cross-reference subsection", c.pos);
        return NULL;
      }
      if (!budget_entries(b, count, error))
        return NULL;
      for (guint64 i = 0; i < count; i++) {
        XrefEntry e = { 0 };
        guint64 o, g;
        guint8 t;
        tte_cursor_skip_pdf_ws(&c);
        if (!tte_cursor_get_uint(&c, &o) || !tte_cursor_match(&c, " ") ||
            !tte_cursor_get_uint(&c, &g) || !tte_cursor_match(&c, " ") ||
            !tte_cursor_get_u8(&c, &t) || (t != 'n' && t != 'f') || g > 65535) {
          fail_format(error, "bad cross-reference entry", c.pos);
          return NULL;
        }
        e.num = (guint)(start + i);
        e.gen = (guint)g;
        e.kind = t == 'n' ? XE_USED : XE_FREE;
        e.f2 = o;
        g_array_append_val(s->entries, e);
      }
    }
    trailer = pv_parse(&c, 0, b->max_depth);
    if (trailer == NULL || trailer->type != PV_DICT) {
      fail_format(error, "bad trailer dictionary", c.pos);
      return NULL;
    }
    section_root_from_trailer(s, trailer);
    /* Hybrid file: the stream's entries apply after the table's (table entries win). */
    if (pv_get_int(trailer, "XRefStm", &stm)) {
      g_autoptr(XrefSection) hs = g_new0(XrefSection, 1);
      g_autoptr(GHashTable) in_table = g_hash_table_new(NULL, NULL);
      if (stm < 0 || (guint64)stm >= len) {
        fail_format(error, "/XRefStm outside the file", off);
        return NULL;
      }
      hs->entries = g_array_new(FALSE, FALSE, sizeof(XrefEntry));
      if (!parse_xref_stream_at(data, len, (gsize)stm, b, hs, NULL, error))
        return NULL;
      for (guint i = 0; i < s->entries->len; i++)
        g_hash_table_add(in_table,
                         GUINT_TO_POINTER(g_array_index(s->entries, XrefEntry, i).num + 1));
      for (guint i = 0; i < hs->entries->len; i++) {
        XrefEntry *e = &g_array_index(hs->entries, XrefEntry, i);
        if (!g_hash_table_contains(in_table, GUINT_TO_POINTER(e->num + 1)))
          g_array_append_val(s->entries, *e);
      }
    }
    return g_steal_pointer(&s);
  }
  {
    g_autoptr(Pv) dict = NULL;
    s->is_stream = TRUE;
    if (!parse_xref_stream_at(data, len, c.pos, b, s, &dict, error))
      return NULL;
    section_root_from_trailer(s, dict);
  }
  return g_steal_pointer(&s);
}

static gboolean
parse_xref_stream_at(const guint8 *data, gsize len, gsize off, Budget *b, XrefSection *s,
                     Pv **out_dict, GError **error)
{
  g_autoptr(Pv) dict = NULL;
  g_autoptr(GBytes) raw = NULL;
  TteCursor c;
  guint64 num, gen;
  gint64 length, size, predictor = 1, columns = 1;
  const Pv *w, *index, *filter, *parms;
  guint wv[3];
  gsize width, expected = 0;
  const guint8 *body;
  guint8 *dec;
  gsize dec_len;
  g_autoptr(GArray) ranges = g_array_new(FALSE, FALSE, sizeof(guint64));

  tte_cursor_init(&c, data, len);
  if (!tte_cursor_seek(&c, off) || !tte_cursor_get_uint(&c, &num))
    return fail_format(error, "no cross-reference section", off);
  tte_cursor_skip_pdf_ws(&c);
  if (!tte_cursor_get_uint(&c, &gen))
    return fail_format(error, "no cross-reference section", off);
  tte_cursor_skip_pdf_ws(&c);
  if (!tte_cursor_match(&c, "obj"))
    return fail_format(error, "no cross-reference section", off);
  dict = pv_parse(&c, 0, b->max_depth);
  if (dict == NULL || dict->type != PV_DICT)
    return fail_format(error, "bad cross-reference stream dictionary", off);
  {
    const Pv *type = pv_get(dict, "Type");
    if (type == NULL || type->type != PV_NAME || strcmp(type->name, "XRef") != 0)
      return fail_format(error, "object is not a cross-reference stream", off);
  }
  tte_cursor_skip_pdf_ws(&c);
  if (!tte_cursor_match(&c, "stream"))
    return fail_format(error, "cross-reference stream without data", c.pos);
  if (!tte_cursor_match(&c, "\r\n") && !tte_cursor_match(&c, "\n") && !tte_cursor_match(&c, "\r"))
    return fail_format(error, "bad end of line after 'stream'", c.pos);
  /* The spec requires the entries of an xref stream dictionary to be direct. */
  if (!pv_get_int(dict, "Length", &length) || length < 0 ||
      (guint64)length > tte_cursor_remaining(&c))
    return fail_format(error, "cross-reference stream /Length missing or out of range", off);
  if (!pv_get_int(dict, "Size", &size) || size < 0 || size > G_MAXINT32)
    return fail_format(error, "cross-reference stream /Size missing or bad", off);
  w = pv_get(dict, "W");
  if (w == NULL || w->type != PV_ARRAY || w->items->len != 3)
    return fail_format(error, "cross-reference stream /W missing or bad", off);
  width = 0;
  for (guint i = 0; i < 3; i++) {
    const Pv *x = g_ptr_array_index(w->items, i);
    if (x->type != PV_INT || x->i < 0 || x->i > 8)
      return fail_format(error, "cross-reference stream /W out of range", off);
    wv[i] = (guint)x->i;
    width += wv[i];
  }
  if (width == 0)
    return fail_format(error, "cross-reference stream /W is empty", off);
  index = pv_get(dict, "Index");
  if (index == NULL) {
    guint64 z = 0, n = (guint64)size;
    g_array_append_val(ranges, z);
    g_array_append_val(ranges, n);
  } else {
    if (index->type != PV_ARRAY || index->items->len % 2 != 0)
      return fail_format(error, "cross-reference stream /Index bad", off);
    for (guint i = 0; i < index->items->len; i++) {
      const Pv *x = g_ptr_array_index(index->items, i);
      guint64 v;
      if (x->type != PV_INT || x->i < 0 || x->i > G_MAXINT32)
        return fail_format(error, "cross-reference stream /Index bad", off);
      v = (guint64)x->i;
      g_array_append_val(ranges, v);
    }
  }
  for (guint i = 0; i < ranges->len; i += 2) {
    guint64 st = g_array_index(ranges, guint64, i), n = g_array_index(ranges, guint64, i + 1);
    if (st + n > G_MAXINT32)
      return fail_format(error, "cross-reference stream /Index bad", off);
    if (!budget_entries(b, n, error))
      return FALSE;
    expected += (gsize)n;
  }
  expected *= width;

  if (!tte_cursor_get_bytes(&c, (gsize)length, &body))
    return fail_format(error, "cross-reference stream data truncated", off);
  filter = pv_get(dict, "Filter");
  if (filter != NULL && filter->type == PV_ARRAY && filter->items->len == 1)
    filter = g_ptr_array_index(filter->items, 0);
  parms = pv_get(dict, "DecodeParms");
  if (parms != NULL && parms->type == PV_ARRAY && parms->items->len == 1)
    parms = g_ptr_array_index(parms->items, 0);
  if (parms != NULL && parms->type == PV_DICT) {
    gint64 colors = 1, bpc = 8;
    (void)pv_get_int(parms, "Predictor", &predictor);
    (void)pv_get_int(parms, "Columns", &columns);
    (void)pv_get_int(parms, "Colors", &colors);
    (void)pv_get_int(parms, "BitsPerComponent", &bpc);
    if (colors != 1 || bpc != 8)
      return fail_format(error, "unsupported cross-reference stream predictor parameters", off);
  }
  if (filter == NULL) {
    raw = g_bytes_new(body, (gsize)length);
  } else if (filter->type == PV_NAME && strcmp(filter->name, "FlateDecode") == 0) {
    /* Rows may carry one predictor byte each. */
    gsize cap = expected + (predictor >= 10 ? expected / width + 1 : 0);
    raw = inflate_capped(body, (gsize)length, cap, error);
    if (raw == NULL)
      return FALSE;
  } else {
    return fail_format(error, "unsupported cross-reference stream filter", off);
  }
  dec = g_bytes_unref_to_data(g_steal_pointer(&raw), &dec_len);
  if (predictor >= 10) {
    if (columns != (gint64)width || !png_unpredict(dec, dec_len, width, &dec_len)) {
      g_free(dec);
      return fail_format(error, "bad cross-reference stream predictor", off);
    }
  } else if (predictor != 1) {
    g_free(dec);
    return fail_format(error, "unsupported cross-reference stream predictor", off);
  }
  if (dec_len < expected) {
    g_free(dec);
    return fail_format(error, "cross-reference stream shorter than its /Index", off);
  }
  {
    gsize p = 0;
    for (guint i = 0; i < ranges->len; i += 2) {
      guint64 st = g_array_index(ranges, guint64, i), n = g_array_index(ranges, guint64, i + 1);
      for (guint64 k = 0; k < n; k++) {
        guint64 f[3];
        XrefEntry e = { 0 };
        for (guint j = 0; j < 3; j++) {
          f[j] = 0;
          for (guint q = 0; q < wv[j]; q++)
            f[j] = (f[j] << 8) | dec[p++];
        }
        if (wv[0] == 0)
          f[0] = 1; /* the spec's default type */
        e.num = (guint)(st + k);
        if (f[0] == 0) {
          e.kind = XE_FREE;
          e.gen = (guint)MIN(f[2], 65535);
        } else if (f[0] == 1) {
          e.kind = XE_USED;
          e.f2 = f[1];
          e.gen = (guint)MIN(f[2], 65535);
        } else if (f[0] == 2) {
          e.kind = XE_COMPRESSED;
          e.f2 = f[1];
          e.idx = (guint)MIN(f[2], G_MAXUINT);
        } else {
          continue; /* unknown types are null references by the spec */
        }
        g_array_append_val(s->entries, e);
      }
    }
  }
  g_free(dec);
  if (out_dict != NULL)
    *out_dict = g_steal_pointer(&dict);
  return TRUE;
}

/* Offset after the last "startxref" within the tail of data[0..len), and the value. */
static gboolean
find_startxref(const guint8 *data, gsize len, gsize *out_value, GError **error)
{
  gsize from = len > TTE_LIMIT_PDF_TAIL_SCAN ? len - TTE_LIMIT_PDF_TAIL_SCAN : 0;
  const guint8 *hit = NULL;
  TteCursor c;
  guint64 v;

  for (const guint8 *p = data + from; p != NULL && (gsize)(p - data) < len;) {
    const guint8 *q = memmem(p, len - (gsize)(p - data), "startxref", 9);
    if (q == NULL)
      break;
    hit = q;
    p = q + 1;
  }
  if (hit == NULL) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_FORMAT,
                "no startxref within the last %u bytes (TTE_LIMIT_PDF_TAIL_SCAN)",
                TTE_LIMIT_PDF_TAIL_SCAN);
    return FALSE;
  }
  tte_cursor_init(&c, data, len);
  if (!tte_cursor_seek(&c, (gsize)(hit - data) + 9))
    return fail_format(error, "bad startxref", (gsize)(hit - data));
  tte_cursor_skip_pdf_ws(&c);
  if (!tte_cursor_get_uint(&c, &v) || v >= len)
    return fail_format(error, "bad startxref value", (gsize)(hit - data));
  *out_value = (gsize)v;
  return TRUE;
}

/* Position just after the first "%%EOF" (and its end of line) at or after @from. */
static gboolean
find_eof_after(const guint8 *data, gsize len, gsize from, gsize *out_end)
{
  const guint8 *q;
  gsize e;
  if (from >= len)
    return FALSE;
  /* A revision may be long: searched through windows (vfy-pdf.h), not the mapping.  A
   * file that cannot be read reads as a revision without end. */
  q = vfy_find(data + from, len - from, "%%EOF", 5, NULL);
  if (q == NULL)
    return FALSE;
  e = (gsize)(q - data) + 5;
  if (e < len && data[e] == '\r')
    e++;
  if (e < len && data[e] == '\n')
    e++;
  *out_end = e;
  return TRUE;
}

/* ------------------------------------------------------------------------------------
 * qpdf access
 * ---------------------------------------------------------------------------------- */

typedef struct {
  qpdf_data q;
} Qp;

static void
qp_close(Qp *p)
{
  if (p->q != NULL)
    qpdf_cleanup(&p->q);
}

static gboolean
qp_error(Qp *p, const char *what, GError **error)
{
  if (qpdf_has_error(p->q)) {
    qpdf_error e = qpdf_get_error(p->q);
    g_set_error(error, TTE_ERROR, TTE_ERROR_FORMAT, "%s: %s", what,
                e != NULL ? qpdf_get_error_full_text(p->q, e) : "qpdf error");
    return TRUE;
  }
  return FALSE;
}

static gboolean
qp_open(Qp *p, const guint8 *data, gsize len, const char *desc, GError **error)
{
  QPDF_ERROR_CODE rc;
  p->q = qpdf_init();
  qpdf_silence_errors(p->q);
  qpdf_set_suppress_warnings(p->q, QPDF_TRUE);
  /* A file qpdf must repair has no trustworthy revision structure to compare. */
  qpdf_set_attempt_recovery(p->q, QPDF_FALSE);
  rc = qpdf_read_memory(p->q, desc, (const char *)data, len, NULL);
  if (rc & QPDF_ERRORS) {
    qpdf_error e = qpdf_get_error(p->q);
    g_set_error(error, TTE_ERROR, TTE_ERROR_FORMAT, "cannot read the %s without repair: %s", desc,
                e != NULL ? qpdf_get_error_full_text(p->q, e) : "qpdf error");
    return FALSE;
  }
  return TRUE;
}

/* Dictionary lookups that see through streams: qpdf's own return null for a stream. */
static qpdf_oh
qk(qpdf_data q, qpdf_oh oh, const char *key)
{
  if (qpdf_oh_is_stream(q, oh)) {
    qpdf_oh d = qpdf_oh_get_dict(q, oh);
    qpdf_oh v = qpdf_oh_get_key(q, d, key);
    qpdf_oh_release(q, d);
    return v;
  }
  if (!qpdf_oh_is_dictionary(q, oh))
    return qpdf_oh_new_null(q);
  return qpdf_oh_get_key(q, oh, key);
}

static gboolean
qhas(qpdf_data q, qpdf_oh oh, const char *key)
{
  qpdf_oh v = qk(q, oh, key);
  gboolean r = !qpdf_oh_is_null(q, v);
  qpdf_oh_release(q, v);
  return r;
}

/* Copy of the unparsed form (qpdf's string lives only until the next call).  Resolved:
 * for an indirect object qpdf_oh_unparse() gives "N G R", which would make every
 * rewritten top-level string, name or boolean (a field value, a script) look unchanged. */
static char *
qp_unparse(Qp *p, qpdf_oh oh)
{
  return g_strdup(qpdf_oh_unparse_resolved(p->q, oh));
}

static GPtrArray *
qp_dict_keys(Qp *p, qpdf_oh dict)
{
  GPtrArray *keys = g_ptr_array_new_with_free_func(g_free);
  qpdf_oh_begin_dict_key_iter(p->q, dict);
  while (qpdf_oh_dict_more_keys(p->q) && keys->len < TTE_LIMIT_PDF_MAX_ARRAY)
    g_ptr_array_add(keys, g_strdup(qpdf_oh_dict_next_key(p->q)));
  return keys;
}

static gboolean
qp_name_is(Qp *p, qpdf_oh dict, const char *key, const char *name)
{
  qpdf_oh v = qk(p->q, dict, key);
  gboolean r = qpdf_oh_is_name_and_equals(p->q, v, name);
  qpdf_oh_release(p->q, v);
  return r;
}

static gint64
qp_int_key(Qp *p, qpdf_oh dict, const char *key, gint64 dflt)
{
  qpdf_oh v = qk(p->q, dict, key);
  gint64 r = qpdf_oh_is_integer(p->q, v) ? qpdf_oh_get_int_value(p->q, v) : dflt;
  qpdf_oh_release(p->q, v);
  return r;
}

/* ------------------------------------------------------------------------------------
 * Roles: how each object is used by the final document
 * ---------------------------------------------------------------------------------- */

typedef enum {
  CTX_CATALOG, CTX_INFO, CTX_META, CTX_PAGENODE, CTX_PAGETREE, CTX_KIDS, CTX_PAGE,
  CTX_PAGEATTR, CTX_CONTENT, CTX_RESOURCE, CTX_ANNOTS, CTX_ANNOT, CTX_AP, CTX_ACROFORM, CTX_DR,
  CTX_FIELDS, CTX_FIELD, CTX_FIELDVAL, CTX_SIGV, CTX_DSS, CTX_EXT, CTX_STRUCT, CTX_OTHER, CTX_SKIP,
  CTX_N
} Ctx;

typedef struct {
  guint32 roles;    /* bit per Ctx */
  guint ap_owner;   /* annotation/field whose /AP leads here; G_MAXUINT when several */
  gboolean many_referrers;
  /* Referred to by an object of the signed revision that did not change: for a new
   * object that means a reference dangling at signing time now resolves.  Exact (not
   * subject to the referrer cap). */
  gboolean old_unchanged_referrer;
  gboolean in_sig_field; /* reached as (a kid of) a signature field */
  GArray *referrers; /* guint, capped */
} RoleInfo;

static void
role_info_free(RoleInfo *r)
{
  if (r->referrers != NULL)
    g_array_unref(r->referrers);
  g_free(r);
}

#define ROLE_MAX_REFERRERS 16u

typedef struct {
  guint num;
  Ctx ctx;
  guint ap_owner;
  gboolean sig_field; /* inside a field or widget whose /FT is /Sig */
} WalkItem;

typedef struct {
  Qp *qp;
  GHashTable *roles; /* num -> RoleInfo* */
  GArray *queue;     /* WalkItem */
  guint max_depth;
  guint64 steps, max_steps;
  GHashTable *signed_map; /* num -> XrefEntry* of the signed revision */
  GHashTable *changed;    /* existing objects whose content changed */
} Walk;

static Ctx
child_ctx(Ctx parent, const char *key, gboolean sig_field)
{
  /* key includes the leading slash; NULL for array elements. */
#define K(s) (key != NULL && strcmp(key, s) == 0)
  switch (parent) {
  case CTX_CATALOG:
    if (K("/Pages")) return CTX_PAGENODE;
    if (K("/AcroForm")) return CTX_ACROFORM;
    if (K("/DSS")) return CTX_DSS;
    if (K("/Metadata")) return CTX_META;
    if (K("/Extensions")) return CTX_EXT;
    if (K("/StructTreeRoot")) return CTX_STRUCT;
    if (K("/Perms")) return CTX_SIGV; /* /DocMDP, /UR3: signature dictionaries */
    return CTX_OTHER;
  case CTX_PAGETREE:
    if (K("/Kids")) return CTX_KIDS;
    if (K("/Parent")) return CTX_SKIP;
    if (K("/Resources")) return CTX_RESOURCE;
    return CTX_PAGEATTR;
  case CTX_KIDS:
    return key == NULL ? CTX_PAGENODE : CTX_KIDS;
  case CTX_PAGE:
    if (K("/Contents")) return CTX_CONTENT;
    if (K("/Resources")) return CTX_RESOURCE;
    if (K("/Annots")) return CTX_ANNOTS;
    if (K("/Parent")) return CTX_SKIP;
    return CTX_PAGEATTR;
  case CTX_ANNOTS:
    return key == NULL ? CTX_ANNOT : CTX_ANNOTS;
  case CTX_ANNOT:
  case CTX_FIELD:
    if (K("/AP")) return CTX_AP;
    if (K("/P") || K("/Parent")) return CTX_SKIP;
    if (K("/V")) return sig_field ? CTX_SIGV : CTX_FIELDVAL;
    if (K("/Kids")) return CTX_FIELDS;
    if (K("/Popup")) return CTX_ANNOT;
    return parent;
  case CTX_ACROFORM:
    if (K("/Fields") || K("/CO")) return CTX_FIELDS; /* /CO: calculation order, fields too */
    if (K("/DR")) return CTX_DR;
    return CTX_ACROFORM;
  case CTX_FIELDS:
    return key == NULL ? CTX_FIELD : CTX_FIELDS;
  case CTX_SIGV:
    /* The DocMDP reference points back at the catalog; that is not a new use. */
    if (K("/Data")) return CTX_SKIP;
    return CTX_SIGV;
  case CTX_AP:
  case CTX_RESOURCE:
    if (K("/Parent") || K("/P")) return CTX_SKIP;
    return parent;
  case CTX_STRUCT:
    /* The structure tree (reading order, accessibility) points at pages, annotations
     * and streams it does not own; those are judged in their own roles. */
    if (K("/Obj") || K("/Pg") || K("/Stm") || K("/StmOwn")) return CTX_SKIP;
    return CTX_STRUCT;
  default:
    return parent;
  }
#undef K
}

static gboolean walk_enqueue(Walk *w, guint num, guint referrer, Ctx ctx, guint ap_owner,
                             gboolean sig_field, GError **error);

/* Walk the direct value @oh found in object @self under context @ctx. */
static gboolean
walk_value(Walk *w, guint self, qpdf_oh oh, Ctx ctx, guint ap_owner, gboolean sig_field,
           guint depth, GError **error)
{
  qpdf_data q = w->qp->q;

  if (ctx == CTX_SKIP)
    return TRUE;
  if (depth > w->max_depth) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT,
                "objects nested deeper than TTE_LIMIT_PDF_MAX_DEPTH (%u)", w->max_depth);
    return FALSE;
  }
  if (++w->steps > w->max_steps) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT,
                "document graph larger than TTE_LIMIT_PDF_MAX_OBJECTS allows");
    return FALSE;
  }
  if (depth > 0 && qpdf_oh_is_indirect(q, oh)) {
    int id = qpdf_oh_get_object_id(q, oh);
    if (id <= 0)
      return TRUE;
    return walk_enqueue(w, (guint)id, self, ctx, ap_owner, sig_field, error);
  }
  if (qpdf_oh_is_array(q, oh)) {
    int n = qpdf_oh_get_array_n_items(q, oh);
    if (n > (int)TTE_LIMIT_PDF_MAX_ARRAY) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT,
                  "array longer than TTE_LIMIT_PDF_MAX_ARRAY (%u)", TTE_LIMIT_PDF_MAX_ARRAY);
      return FALSE;
    }
    for (int i = 0; i < n; i++) {
      qpdf_oh it = qpdf_oh_get_array_item(q, oh, i);
      gboolean ok = walk_value(w, self, it, child_ctx(ctx, NULL, sig_field), ap_owner, sig_field,
                               depth + 1, error);
      qpdf_oh_release(q, it);
      if (!ok)
        return FALSE;
    }
    return TRUE;
  }
  if (qpdf_oh_is_dictionary(q, oh) || qpdf_oh_is_stream(q, oh)) {
    qpdf_oh d = qpdf_oh_is_stream(q, oh) ? qpdf_oh_get_dict(q, oh) : qpdf_oh_new_object(q, oh);
    g_autoptr(GPtrArray) keys = qp_dict_keys(w->qp, d);
    gboolean ok = TRUE;
    for (guint i = 0; ok && i < keys->len; i++) {
      const char *k = g_ptr_array_index(keys, i);
      Ctx cc = child_ctx(ctx, k, sig_field);
      qpdf_oh v;
      guint owner = ap_owner;
      /* Only the field tree passes "this is a signature field" down. */
      gboolean sf = sig_field && (cc == CTX_FIELDS || cc == CTX_FIELD);
      if (cc == CTX_SKIP)
        continue;
      if (cc == CTX_AP && ctx != CTX_AP)
        owner = self;
      v = qk(q, d, k);
      ok = walk_value(w, self, v, cc, owner, sf, depth + 1, error);
      qpdf_oh_release(q, v);
    }
    qpdf_oh_release(q, d);
    return ok;
  }
  return TRUE;
}

static RoleInfo *
role_get(GHashTable *roles, guint num, gboolean create)
{
  RoleInfo *r = g_hash_table_lookup(roles, GUINT_TO_POINTER(num));
  if (r == NULL && create) {
    r = g_new0(RoleInfo, 1);
    r->referrers = g_array_new(FALSE, FALSE, sizeof(guint));
    g_hash_table_insert(roles, GUINT_TO_POINTER(num), r);
  }
  return r;
}

static gboolean
walk_enqueue(Walk *w, guint num, guint referrer, Ctx ctx, guint ap_owner, gboolean sig_field,
             GError **error)
{
  RoleInfo *r = role_get(w->roles, num, TRUE);
  WalkItem it = { num, ctx, ap_owner, sig_field };
  gboolean known = FALSE;

  if (referrer != 0 && !g_hash_table_contains(w->changed, GUINT_TO_POINTER(referrer))) {
    const XrefEntry *re = g_hash_table_lookup(w->signed_map, GUINT_TO_POINTER(referrer));
    if (re != NULL && re->kind != XE_FREE)
      r->old_unchanged_referrer = TRUE;
  }
  for (guint i = 0; i < r->referrers->len; i++)
    if (g_array_index(r->referrers, guint, i) == referrer)
      known = TRUE;
  if (!known) {
    if (r->referrers->len < ROLE_MAX_REFERRERS)
      g_array_append_val(r->referrers, referrer);
    else
      r->many_referrers = TRUE;
  }
  if (ctx == CTX_AP) {
    if (r->ap_owner == 0)
      r->ap_owner = ap_owner;
    else if (r->ap_owner != ap_owner)
      r->ap_owner = G_MAXUINT;
  }
  /* PAGENODE is decided when the object is seen; queue it anyway. */
  if (ctx != CTX_PAGENODE && (r->roles & (1u << ctx)) && !(ctx == CTX_ANNOT || ctx == CTX_FIELD))
    return TRUE;
  if ((ctx == CTX_ANNOT || ctx == CTX_FIELD) && (r->roles & (1u << ctx)) &&
      !(ctx == CTX_FIELD && sig_field && !r->in_sig_field))
    return TRUE;
  if (ctx != CTX_PAGENODE)
    r->roles |= 1u << ctx;
  if (w->queue->len >= (guint64)TTE_LIMIT_PDF_MAX_OBJECTS) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT,
                "too many object uses to follow (TTE_LIMIT_PDF_MAX_OBJECTS)");
    return FALSE;
  }
  g_array_append_val(w->queue, it);
  return TRUE;
}

/* Is this field or widget (or an ancestor, bounded) a signature field? */
static gboolean
qp_is_sig_field(Qp *p, qpdf_oh oh, guint max_depth)
{
  qpdf_oh cur = qpdf_oh_new_object(p->q, oh);
  gboolean sig = FALSE;
  for (guint i = 0; i < max_depth && qpdf_oh_is_dictionary(p->q, cur); i++) {
    qpdf_oh ft = qk(p->q, cur, "/FT");
    qpdf_oh parent;
    if (!qpdf_oh_is_null(p->q, ft)) {
      sig = qpdf_oh_is_name_and_equals(p->q, ft, "/Sig");
      qpdf_oh_release(p->q, ft);
      break;
    }
    qpdf_oh_release(p->q, ft);
    parent = qk(p->q, cur, "/Parent");
    qpdf_oh_release(p->q, cur);
    cur = parent;
  }
  qpdf_oh_release(p->q, cur);
  return sig;
}

static gboolean
walk_roles(Walk *w, GError **error)
{
  qpdf_data q = w->qp->q;
  qpdf_oh trailer = qpdf_get_trailer(q);
  g_autoptr(GPtrArray) keys = qp_dict_keys(w->qp, trailer);

  for (guint i = 0; i < keys->len; i++) {
    const char *k = g_ptr_array_index(keys, i);
    qpdf_oh v = qk(q, trailer, k);
    Ctx cc = strcmp(k, "/Root") == 0 ? CTX_CATALOG
             : strcmp(k, "/Info") == 0 ? CTX_INFO
                                       : CTX_OTHER;
    gboolean ok = TRUE;
    if (qpdf_oh_is_indirect(q, v) && qpdf_oh_get_object_id(q, v) > 0)
      ok = walk_enqueue(w, (guint)qpdf_oh_get_object_id(q, v), 0, cc, 0, FALSE, error);
    else if (strcmp(k, "/Root") != 0 && strcmp(k, "/Info") != 0)
      ok = walk_value(w, 0, v, cc, 0, FALSE, 1, error);
    qpdf_oh_release(q, v);
    if (!ok) {
      qpdf_oh_release(q, trailer);
      return FALSE;
    }
  }
  qpdf_oh_release(q, trailer);

  for (guint qi = 0; qi < w->queue->len; qi++) {
    WalkItem it = g_array_index(w->queue, WalkItem, qi);
    qpdf_oh oh = qpdf_get_object_by_id(q, (int)it.num, 0);
    gboolean ok;
    RoleInfo *r = role_get(w->roles, it.num, TRUE);

    /* Generation: ask qpdf for whatever generation the xref gives. */
    if (qpdf_oh_is_null(q, oh)) {
      qpdf_oh_release(q, oh);
      oh = qpdf_oh_new_null(q);
      for (int g = 1; g < 4; g++) {
        qpdf_oh o2 = qpdf_get_object_by_id(q, (int)it.num, g);
        if (!qpdf_oh_is_null(q, o2)) {
          qpdf_oh_release(q, oh);
          oh = o2;
          break;
        }
        qpdf_oh_release(q, o2);
      }
    }
    if (qp_error(w->qp, "reading an object", error)) {
      qpdf_oh_release(q, oh);
      return FALSE;
    }
    /* A page reached from anywhere but the page tree is a destination or a back link
     * (/Dest, /OpenAction, outlines, /Pg): the page is judged as a page, not as that. */
    if ((it.ctx != CTX_PAGENODE && it.ctx != CTX_PAGE && it.ctx != CTX_PAGETREE &&
         (qp_name_is(w->qp, oh, "/Type", "/Page") || qp_name_is(w->qp, oh, "/Type", "/Pages"))) ||
        (it.ctx != CTX_CATALOG && qp_name_is(w->qp, oh, "/Type", "/Catalog"))) {
      r->roles &= ~(1u << it.ctx);
      qpdf_oh_release(q, oh);
      continue;
    }
    if (it.ctx == CTX_PAGENODE) {
      it.ctx = qp_name_is(w->qp, oh, "/Type", "/Pages") ? CTX_PAGETREE : CTX_PAGE;
      if (r->roles & (1u << it.ctx)) {
        qpdf_oh_release(q, oh);
        continue;
      }
      r->roles |= 1u << it.ctx;
    }
    /* A kid inherits its field's type even when it has no /Parent back link. */
    if (it.ctx == CTX_ANNOT)
      it.sig_field = qp_is_sig_field(w->qp, oh, w->max_depth);
    else if (it.ctx == CTX_FIELD)
      it.sig_field = it.sig_field || qp_is_sig_field(w->qp, oh, w->max_depth);
    if (it.sig_field && it.ctx == CTX_FIELD)
      r->in_sig_field = TRUE;
    ok = walk_value(w, it.num, oh, it.ctx, it.ap_owner, it.sig_field, 0, error);
    qpdf_oh_release(q, oh);
    if (!ok)
      return FALSE;
    if (qp_error(w->qp, "reading an object", error))
      return FALSE;
  }
  return TRUE;
}

/* ------------------------------------------------------------------------------------
 * Judging touched objects
 * ---------------------------------------------------------------------------------- */

typedef struct {
  Findings *f;
  Qp *before, *after;
  GHashTable *signed_map; /* num -> const XrefEntry* (the signed revision) */
  GHashTable *eff;        /* num -> const XrefEntry* (the whole file) */
  GHashTable *touched;    /* num -> revision (1-based) */
  GHashTable *changed;    /* nums of existing objects whose content changed */
  GHashTable *filled;     /* fields/widgets legitimately filled or signed */
  GHashTable *roles;      /* num -> RoleInfo* */
  GHashTable *compressed_any; /* objstm_key() of every type-2 entry in a later revision */
  VfyMdpLevel mdp;
  guint max_depth;
  GPtrArray *locks;       /* LockSpec*: the fields this signature locked (FieldMDP) */
} Judge;

/* One key for "object @obj at index @idx of object stream @stm" (collisions only make
 * the check more lenient for that one object, never stricter). */
static guint
objstm_key(guint stm, guint obj, guint idx)
{
  return (stm * 2654435761u) ^ (obj * 40503u) ^ (idx + 0x9e3779b9u);
}

static gboolean
in_use(GHashTable *map, guint num)
{
  const XrefEntry *e = g_hash_table_lookup(map, GUINT_TO_POINTER(num));
  return e != NULL && e->kind != XE_FREE;
}

static gboolean
existed_signed(Judge *j, guint num)
{
  return in_use(j->signed_map, num);
}

static guint
rev_of(Judge *j, guint num)
{
  return GPOINTER_TO_UINT(g_hash_table_lookup(j->touched, GUINT_TO_POINTER(num)));
}

static qpdf_oh
get_obj(Qp *p, GHashTable *map, guint num)
{
  const XrefEntry *e = g_hash_table_lookup(map, GUINT_TO_POINTER(num));
  int gen = e != NULL && e->kind == XE_USED ? (int)e->gen : 0;
  return qpdf_get_object_by_id(p->q, (int)num, gen);
}

static guint
gen_of(GHashTable *map, guint num)
{
  const XrefEntry *e = g_hash_table_lookup(map, GUINT_TO_POINTER(num));
  return e != NULL && e->kind == XE_USED ? e->gen : 0;
}

static VfyChange *
note(Judge *j, const char *cls, gboolean allowed, guint num, const char *why)
{
  return add_change(j->f, cls, allowed, num, gen_of(j->eff, num), rev_of(j, num), why);
}

static gboolean widget_visible(Qp *p, qpdf_oh w);

/* Read an inheritable page attribute (/MediaBox, /CropBox, /Rotate), bounded. */
static qpdf_oh
page_attr(Qp *p, qpdf_oh page, const char *key, guint max_depth)
{
  qpdf_oh cur = qpdf_oh_new_object(p->q, page);
  for (guint i = 0; i < max_depth && qpdf_oh_is_dictionary(p->q, cur); i++) {
    qpdf_oh v = qk(p->q, cur, key), parent;
    if (!qpdf_oh_is_null(p->q, v)) {
      qpdf_oh_release(p->q, cur);
      return v;
    }
    qpdf_oh_release(p->q, v);
    parent = qk(p->q, cur, "/Parent");
    qpdf_oh_release(p->q, cur);
    cur = parent;
  }
  qpdf_oh_release(p->q, cur);
  return qpdf_oh_new_null(p->q);
}

static gboolean
rect_of(Qp *p, qpdf_oh arr, double r[4])
{
  if (!qpdf_oh_is_array(p->q, arr) || qpdf_oh_get_array_n_items(p->q, arr) != 4)
    return FALSE;
  for (int i = 0; i < 4; i++) {
    qpdf_oh x = qpdf_oh_get_array_item(p->q, arr, i);
    gboolean ok = qpdf_oh_is_number(p->q, x);
    r[i] = ok ? qpdf_oh_get_numeric_value(p->q, x) : 0;
    qpdf_oh_release(p->q, x);
    if (!ok)
      return FALSE;
  }
  if (r[0] > r[2]) {
    double t = r[0];
    r[0] = r[2];
    r[2] = t;
  }
  if (r[1] > r[3]) {
    double t = r[1];
    r[1] = r[3];
    r[3] = t;
  }
  return TRUE;
}

/* Record where a new signature's widget @w paints, as fractions of the displayed page,
 * so that the visual comparison can excuse exactly that area and nothing else. */
static void
set_sig_area(Judge *j, VfyChange *c, qpdf_oh w)
{
  Qp *p = j->after;
  qpdf_oh pref, page, box, rot;
  double r[4], b[4], u[4], out[4];
  int idx = -1;
  gint64 rotate = 0;
  guint pid = 0;

  if (c == NULL || !widget_visible(p, w))
    return;
  pref = qk(p->q, w, "/P");
  if (qpdf_oh_is_indirect(p->q, pref))
    pid = (guint)qpdf_oh_get_object_id(p->q, pref);
  qpdf_oh_release(p->q, pref);
  if (pid == 0) {
    RoleInfo *ri = g_hash_table_lookup(j->roles, GUINT_TO_POINTER((guint)qpdf_oh_get_object_id(p->q, w)));
    for (guint i = 0; ri != NULL && i < ri->referrers->len && pid == 0; i++) {
      guint ref = g_array_index(ri->referrers, guint, i);
      RoleInfo *rr = g_hash_table_lookup(j->roles, GUINT_TO_POINTER(ref));
      if (rr != NULL && (rr->roles & (1u << CTX_PAGE)))
        pid = ref;
    }
  }
  if (pid != 0)
    idx = qpdf_find_page_by_id(p->q, (int)pid, (int)gen_of(j->eff, pid));
  (void)qp_error(p, "page lookup", NULL);
  if (idx < 0)
    return;
  page = qpdf_get_page_n(p->q, (size_t)idx);
  box = page_attr(p, page, "/CropBox", j->max_depth);
  if (!rect_of(p, box, b)) {
    qpdf_oh_release(p->q, box);
    box = page_attr(p, page, "/MediaBox", j->max_depth);
    if (!rect_of(p, box, b))
      b[0] = b[1] = b[2] = b[3] = 0;
  }
  qpdf_oh_release(p->q, box);
  rot = page_attr(p, page, "/Rotate", j->max_depth);
  if (qpdf_oh_is_integer(p->q, rot))
    rotate = ((qpdf_oh_get_int_value(p->q, rot) % 360) + 360) % 360;
  qpdf_oh_release(p->q, rot);
  qpdf_oh_release(p->q, page);
  {
    qpdf_oh ra = qk(p->q, w, "/Rect");
    gboolean ok = rect_of(p, ra, r);
    qpdf_oh_release(p->q, ra);
    if (!ok || b[2] - b[0] <= 0 || b[3] - b[1] <= 0 || rotate % 90 != 0)
      return;
  }
  /* Unrotated, origin top left. */
  u[0] = (r[0] - b[0]) / (b[2] - b[0]);
  u[2] = (r[2] - b[0]) / (b[2] - b[0]);
  u[1] = (b[3] - r[3]) / (b[3] - b[1]);
  u[3] = (b[3] - r[1]) / (b[3] - b[1]);
  /* /Rotate turns the page clockwise for display. */
  switch (rotate) {
  case 90: out[0] = 1 - u[3]; out[2] = 1 - u[1]; out[1] = u[0]; out[3] = u[2]; break;
  case 180: out[0] = 1 - u[2]; out[2] = 1 - u[0]; out[1] = 1 - u[3]; out[3] = 1 - u[1]; break;
  case 270: out[0] = u[1]; out[2] = u[3]; out[1] = 1 - u[2]; out[3] = 1 - u[0]; break;
  default: memcpy(out, u, sizeof out); break;
  }
  for (int i = 0; i < 4; i++)
    out[i] = CLAMP(out[i], 0.0, 1.0);
  c->has_area = TRUE;
  c->area_page = (guint)idx;
  memcpy(c->area, out, sizeof out);
}

/* A new handle on the dictionary of a dictionary or stream (a null handle otherwise). */
static qpdf_oh
dict_handle(Qp *p, qpdf_oh oh)
{
  if (qpdf_oh_is_stream(p->q, oh))
    return qpdf_oh_get_dict(p->q, oh);
  if (qpdf_oh_is_dictionary(p->q, oh))
    return qpdf_oh_new_object(p->q, oh);
  return qpdf_oh_new_null(p->q);
}

/* Structural equality of two direct values: numbers by value (a writer may turn "595"
 * into "595.0"), references by number (a changed referenced object is judged on its
 * own), containers element by element, bounded in depth. */
static gboolean
values_equal(Qp *a, qpdf_oh x, Qp *b, qpdf_oh y, guint depth)
{
  qpdf_data qa = a->q, qb = b->q;
  if (depth > TTE_LIMIT_PDF_MAX_DEPTH)
    return FALSE;
  if (depth > 0 && (qpdf_oh_is_indirect(qa, x) || qpdf_oh_is_indirect(qb, y)))
    return qpdf_oh_is_indirect(qa, x) && qpdf_oh_is_indirect(qb, y) &&
           qpdf_oh_get_object_id(qa, x) == qpdf_oh_get_object_id(qb, y) &&
           qpdf_oh_get_generation(qa, x) == qpdf_oh_get_generation(qb, y);
  if (qpdf_oh_is_number(qa, x) || qpdf_oh_is_number(qb, y))
    return qpdf_oh_is_number(qa, x) && qpdf_oh_is_number(qb, y) &&
           qpdf_oh_get_numeric_value(qa, x) == qpdf_oh_get_numeric_value(qb, y);
  if (qpdf_oh_is_array(qa, x) || qpdf_oh_is_array(qb, y)) {
    int n;
    if (!qpdf_oh_is_array(qa, x) || !qpdf_oh_is_array(qb, y))
      return FALSE;
    n = qpdf_oh_get_array_n_items(qa, x);
    if (n != qpdf_oh_get_array_n_items(qb, y) || n > (int)TTE_LIMIT_PDF_MAX_ARRAY)
      return FALSE;
    for (int i = 0; i < n; i++) {
      qpdf_oh u = qpdf_oh_get_array_item(qa, x, i), v = qpdf_oh_get_array_item(qb, y, i);
      gboolean eq = values_equal(a, u, b, v, depth + 1);
      qpdf_oh_release(qa, u);
      qpdf_oh_release(qb, v);
      if (!eq)
        return FALSE;
    }
    return TRUE;
  }
  if (qpdf_oh_is_dictionary(qa, x) || qpdf_oh_is_dictionary(qb, y)) {
    g_autoptr(GPtrArray) kx = NULL;
    g_autoptr(GPtrArray) ky = NULL;
    if (!qpdf_oh_is_dictionary(qa, x) || !qpdf_oh_is_dictionary(qb, y))
      return FALSE;
    kx = qp_dict_keys(a, x);
    ky = qp_dict_keys(b, y);
    if (kx->len != ky->len)
      return FALSE;
    for (guint i = 0; i < kx->len; i++) {
      const char *k = g_ptr_array_index(kx, i);
      qpdf_oh u, v;
      gboolean eq;
      if (!qhas(qb, y, k))
        return FALSE;
      u = qpdf_oh_get_key(qa, x, k);
      v = qpdf_oh_get_key(qb, y, k);
      eq = values_equal(a, u, b, v, depth + 1);
      qpdf_oh_release(qa, u);
      qpdf_oh_release(qb, v);
      if (!eq)
        return FALSE;
    }
    return TRUE;
  }
  {
    g_autofree char *xs = qp_unparse(a, x);
    g_autofree char *ys = qp_unparse(b, y);
    return g_strcmp0(xs, ys) == 0;
  }
}

/* Keys whose values differ between @o (in @a) and @n (in @b). */
static GPtrArray *
diff_keys(Qp *a, qpdf_oh o, Qp *b, qpdf_oh n)
{
  GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
  qpdf_oh od = dict_handle(a, o), nd = dict_handle(b, n);
  g_autoptr(GPtrArray) ok = qp_dict_keys(a, od);
  g_autoptr(GPtrArray) nk = qp_dict_keys(b, nd);
  g_autoptr(GHashTable) all = g_hash_table_new(g_str_hash, g_str_equal);

  for (guint i = 0; i < ok->len; i++)
    g_hash_table_add(all, g_ptr_array_index(ok, i));
  for (guint i = 0; i < nk->len; i++)
    g_hash_table_add(all, g_ptr_array_index(nk, i));
  {
    GHashTableIter it;
    gpointer k;
    g_hash_table_iter_init(&it, all);
    while (g_hash_table_iter_next(&it, &k, NULL)) {
      qpdf_oh ov = qk(a->q, od, k), nv = qk(b->q, nd, k);
      if (!values_equal(a, ov, b, nv, 1))
        g_ptr_array_add(out, g_strdup(k));
      qpdf_oh_release(a->q, ov);
      qpdf_oh_release(b->q, nv);
    }
  }
  qpdf_oh_release(a->q, od);
  qpdf_oh_release(b->q, nd);
  return out;
}

/* Where one version of a stream object lies: the bytes its revision can see and its
 * cross-reference entry, so that long stream data can be read without qpdf. */
typedef struct {
  const guint8 *data;
  gsize len;
  guint num;
  const XrefEntry *e;
  guint max_depth;
} RawObj;

/* Offset of the raw data of stream object @r, read as qpdf reads it ("N G obj", the
 * dictionary, "stream" and the end of line after it: LF, CR LF, or CR alone, white
 * space before it skipped), with "endstream" right after @length bytes of data.  FALSE
 * when the bytes do not read that way. */
static gboolean
raw_stream_offset(const RawObj *r, guint64 length, gsize *out)
{
  g_autoptr(Pv) dict = NULL;
  TteCursor c;
  guint64 on, og;
  guint8 ch;

  if (r->e == NULL || r->e->kind != XE_USED || r->e->f2 >= r->len)
    return FALSE;
  tte_cursor_init(&c, r->data, r->len);
  if (!tte_cursor_seek(&c, (gsize)r->e->f2))
    return FALSE;
  tte_cursor_skip_pdf_ws(&c);
  if (!tte_cursor_get_uint(&c, &on) || on != r->num)
    return FALSE;
  tte_cursor_skip_pdf_ws(&c);
  if (!tte_cursor_get_uint(&c, &og) || og != r->e->gen)
    return FALSE;
  tte_cursor_skip_pdf_ws(&c);
  if (!tte_cursor_match(&c, "obj"))
    return FALSE;
  dict = pv_parse(&c, 0, r->max_depth);
  if (dict == NULL || dict->type != PV_DICT)
    return FALSE;
  tte_cursor_skip_pdf_ws(&c);
  if (!tte_cursor_match(&c, "stream"))
    return FALSE;
  while (tte_cursor_peek(&c, &ch)) {
    if (ch == '\n') {
      c.pos++;
      break;
    }
    if (ch == '\r') {
      c.pos++;
      if (tte_cursor_peek(&c, &ch) && ch == '\n')
        c.pos++;
      break;
    }
    if (ch != ' ' && ch != '\t' && ch != '\f')
      break;
    c.pos++;
  }
  if (length > tte_cursor_remaining(&c))
    return FALSE;
  *out = c.pos;
  /* qpdf found "endstream" after its idea of the data; finding it after ours too means
   * both read the same bytes. */
  c.pos += (gsize)length;
  tte_cursor_skip_pdf_ws(&c);
  return tte_cursor_match(&c, "endstream");
}

/* Byte equality of two ranges through VfyWindows (a mapped file is not paged in). */
static gboolean
ranges_equal(const guint8 *x, const guint8 *y, gsize n)
{
  VfyWindows wx, wy;
  const guint8 *a, *b;
  gsize al, as, bl, bs;
  gboolean eq = TRUE;

  vfy_windows_init(&wx, x, n, 0);
  vfy_windows_init(&wy, y, n, 0);
  while (eq && vfy_windows_next(&wx, &a, &al, &as))
    eq = vfy_windows_next(&wy, &b, &bl, &bs) && al == bl && memcmp(a, b, al) == 0;
  eq = eq && !wx.failed && !wy.failed;
  vfy_windows_clear(&wx);
  vfy_windows_clear(&wy);
  return eq;
}

static gboolean
stream_data_equal(Qp *a, qpdf_oh o, Qp *b, qpdf_oh n, const RawObj *ro, const RawObj *rn)
{
  unsigned char *ob = NULL, *nb = NULL;
  size_t ol = 0, nl = 0;
  gboolean eq;
  gint64 olen = qp_int_key(a, o, "/Length", -1), nlen = qp_int_key(b, n, "/Length", -1);
  QPDF_ERROR_CODE r1, r2;

  /* qpdf would read both into memory.  Long data is compared in windows instead.  With
   * no recovery qpdf's raw data is exactly /Length bytes (less the IV and padding of
   * AES, equal for equal lengths), so different lengths differ.  Equal ciphertext under
   * the same object key is equal data; any other difference in an encrypted file, and
   * stream bytes that do not read the way qpdf read them, count as changed: never a
   * false "unchanged". */
  if (olen > (gint64)TTE_LIMIT_PDF_STREAM_IN_MEMORY || nlen > (gint64)TTE_LIMIT_PDF_STREAM_IN_MEMORY) {
    gsize oo, no;
    if (olen != nlen)
      return FALSE;
    if (qpdf_is_encrypted(a->q) && (ro->e == NULL || rn->e == NULL || ro->e->gen != rn->e->gen))
      return FALSE;
    if (!raw_stream_offset(ro, (guint64)olen, &oo) || !raw_stream_offset(rn, (guint64)nlen, &no))
      return FALSE;
    return ranges_equal(ro->data + oo, rn->data + no, (gsize)olen);
  }
  r1 = qpdf_oh_get_stream_data(a->q, o, qpdf_dl_none, NULL, &ob, &ol);
  r2 = qpdf_oh_get_stream_data(b->q, n, qpdf_dl_none, NULL, &nb, &nl);
  eq = !(r1 & QPDF_ERRORS) && !(r2 & QPDF_ERRORS) && ol == nl && (ol == 0 || memcmp(ob, nb, ol) == 0);
  free(ob);
  free(nb);
  return eq;
}

static gboolean
objects_equal(Qp *a, qpdf_oh o, Qp *b, qpdf_oh n, const RawObj *ro, const RawObj *rn)
{
  gboolean os = qpdf_oh_is_stream(a->q, o), ns = qpdf_oh_is_stream(b->q, n);
  if (os != ns)
    return FALSE;
  if (os) {
    g_autoptr(GPtrArray) keys = diff_keys(a, o, b, n);
    for (guint i = 0; i < keys->len; i++)
      if (strcmp(g_ptr_array_index(keys, i), "/Length") != 0)
        return FALSE;
    return stream_data_equal(a, o, b, n, ro, rn);
  }
  return values_equal(a, o, b, n, 0);
}

/* Object numbers of the references in array @arr (direct or indirect); FALSE when an
 * element is not a reference (a direct annotation or field cannot be told apart). */
static GArray *
ref_list(Qp *p, qpdf_oh arr)
{
  GArray *out = g_array_new(FALSE, FALSE, sizeof(guint));
  int n;
  if (!qpdf_oh_is_array(p->q, arr))
    return out;
  n = qpdf_oh_get_array_n_items(p->q, arr);
  for (int i = 0; i < n && (guint)i < TTE_LIMIT_PDF_MAX_ARRAY; i++) {
    qpdf_oh it = qpdf_oh_get_array_item(p->q, arr, i);
    guint id = qpdf_oh_is_indirect(p->q, it) ? (guint)MAX(qpdf_oh_get_object_id(p->q, it), 0) : 0;
    g_array_append_val(out, id);
    qpdf_oh_release(p->q, it);
  }
  return out;
}

static gboolean
in_list(GArray *l, guint id)
{
  for (guint i = 0; i < l->len; i++)
    if (g_array_index(l, guint, i) == id)
      return TRUE;
  return FALSE;
}

/* Would a reader see this widget?  A zero-area /Rect or the Hidden/NoView flags hide it. */
static gboolean
widget_visible(Qp *p, qpdf_oh w)
{
  qpdf_oh rect = qk(p->q, w, "/Rect");
  gboolean vis = FALSE;
  gint64 flags = qp_int_key(p, w, "/F", 0);
  if (qpdf_oh_is_array(p->q, rect) && qpdf_oh_get_array_n_items(p->q, rect) == 4) {
    double v[4];
    for (int i = 0; i < 4; i++) {
      qpdf_oh x = qpdf_oh_get_array_item(p->q, rect, i);
      v[i] = qpdf_oh_is_number(p->q, x) ? qpdf_oh_get_numeric_value(p->q, x) : 0;
      qpdf_oh_release(p->q, x);
    }
    vis = ABS(v[2] - v[0]) > 0.5 && ABS(v[3] - v[1]) > 0.5;
  }
  qpdf_oh_release(p->q, rect);
  if (flags & (2 | 32)) /* Hidden, NoView */
    vis = FALSE;
  return vis;
}

/* Classify a signature field added (or signed) after this signature. */
static void
judge_sig_field(Judge *j, guint num, qpdf_oh field, gboolean field_is_new)
{
  Qp *p = j->after;
  qpdf_oh v = qk(p->q, field, "/V");
  const char *cls;
  gboolean visible = widget_visible(p, field);

  if (qpdf_oh_is_null(p->q, v))
    cls = "signature-field-added";
  else if (qp_name_is(p, v, "/Type", "/DocTimeStamp") ||
           qp_name_is(p, v, "/SubFilter", "/ETSI.RFC3161"))
    cls = "doc-timestamp-added";
  else
    cls = "signature-added";
  qpdf_oh_release(p->q, v);

  if (!visible) {
    qpdf_oh kids = qk(p->q, field, "/Kids");
    int n = qpdf_oh_is_array(p->q, kids) ? qpdf_oh_get_array_n_items(p->q, kids) : 0;
    for (int i = 0; i < n && i < (int)TTE_LIMIT_PDF_MAX_FIELDS && !visible; i++) {
      qpdf_oh k = qpdf_oh_get_array_item(p->q, kids, i);
      visible = widget_visible(p, k);
      qpdf_oh_release(p->q, k);
    }
    qpdf_oh_release(p->q, kids);
  }
  /* Sneaky Signature (Mainka et al. 2021): after certification, a new visible signature
   * field can paint anything over the certified content.  Visible signatures after
   * certification must sign fields that the certifier already placed. */
  if (field_is_new && visible && j->mdp != VFY_MDP_NONE) {
    note(j, "signature-field-after-certification", FALSE, num, NULL);
    return;
  }
  g_hash_table_add(j->filled, GUINT_TO_POINTER(num));
  {
    VfyChange *c = note(j, cls, TRUE, num, NULL);
    if (c != NULL)
      c->area_was_placed = !field_is_new;
    if (c != NULL && widget_visible(p, field)) {
      set_sig_area(j, c, field);
    } else if (c != NULL) {
      qpdf_oh kids = qk(p->q, field, "/Kids");
      int n = qpdf_oh_is_array(p->q, kids) ? qpdf_oh_get_array_n_items(p->q, kids) : 0;
      for (int i = 0; i < n && i < (int)TTE_LIMIT_PDF_MAX_FIELDS && !c->has_area; i++) {
        qpdf_oh k = qpdf_oh_get_array_item(p->q, kids, i);
        set_sig_area(j, c, k);
        qpdf_oh_release(p->q, k);
      }
      qpdf_oh_release(p->q, kids);
    }
  }
}

/* Annotation subtypes that mark text up without being able to hide it.  The subtype is
 * not enough: a custom appearance can paint anything inside /Rect, so text markup must
 * leave its appearance to the viewer, and a note's icon must stay icon-sized. */
#define VFY_NOTE_ICON_MAX_PT 40.0
static gboolean
benign_annotation(Qp *p, qpdf_oh a)
{
  static const char *const markup[] = { "/Highlight", "/Underline", "/StrikeOut", "/Squiggly" };
  if (qp_name_is(p, a, "/Subtype", "/Popup"))
    return TRUE;
  if (qp_name_is(p, a, "/Subtype", "/Text")) {
    qpdf_oh ra = qk(p->q, a, "/Rect");
    double r[4];
    gboolean ok = rect_of(p, ra, r) && r[2] - r[0] <= VFY_NOTE_ICON_MAX_PT && r[3] - r[1] <= VFY_NOTE_ICON_MAX_PT;
    qpdf_oh_release(p->q, ra);
    return ok;
  }
  for (gsize i = 0; i < G_N_ELEMENTS(markup); i++)
    if (qp_name_is(p, a, "/Subtype", markup[i]))
      return !qhas(p->q, a, "/AP");
  return FALSE;
}

static void
judge_new_annotation(Judge *j, guint id)
{
  Qp *p = j->after;
  qpdf_oh a = qpdf_get_object_by_id(p->q, (int)id, (int)gen_of(j->eff, id));

  if (qp_name_is(p, a, "/Subtype", "/Widget")) {
    RoleInfo *ri = g_hash_table_lookup(j->roles, GUINT_TO_POINTER(id));
    if (qp_is_sig_field(p, a, j->max_depth) || (ri != NULL && ri->in_sig_field)) {
      /* The widget may be its own field or a kid of one. */
      qpdf_oh ft = qk(p->q, a, "/FT");
      if (!qpdf_oh_is_null(p->q, ft)) {
        judge_sig_field(j, id, a, TRUE);
      } else {
        qpdf_oh parent = qk(p->q, a, "/Parent");
        guint pid = qpdf_oh_is_indirect(p->q, parent) ? (guint)qpdf_oh_get_object_id(p->q, parent) : 0;
        if (pid != 0 && !existed_signed(j, pid))
          judge_sig_field(j, pid, parent, TRUE);
        else if (widget_visible(p, a) && j->mdp != VFY_MDP_NONE)
          note(j, "signature-field-after-certification", FALSE, id,
               "a new widget for an existing signature field");
        else
          set_sig_area(j, note(j, "signature-added", TRUE, id, NULL), a);
        qpdf_oh_release(p->q, parent);
      }
      qpdf_oh_release(p->q, ft);
    } else {
      note(j, "field-added", FALSE, id, NULL);
    }
  } else if (benign_annotation(p, a)) {
    /* Its area lets the masked pixel comparison excuse it over blank paper only. */
    set_sig_area(j, note(j, "annotation-added", TRUE, id, NULL), a);
  } else {
    note(j, "annotation-overlay-added", FALSE, id, NULL);
  }
  qpdf_oh_release(p->q, a);
}

static void
judge_annots_lists(Judge *j, guint page, qpdf_oh olda, qpdf_oh newa)
{
  g_autoptr(GArray) ol = ref_list(j->before, olda);
  g_autoptr(GArray) nl = ref_list(j->after, newa);

  for (guint i = 0; i < ol->len; i++) {
    guint id = g_array_index(ol, guint, i);
    if (id == 0 || !in_list(nl, id)) {
      note(j, "annotation-on-page-changed", FALSE, page,
           id == 0 ? "a direct annotation changed" : "an annotation was removed");
      return;
    }
  }
  for (guint i = 0; i < nl->len; i++) {
    guint id = g_array_index(nl, guint, i);
    if (in_list(ol, id))
      continue;
    if (id == 0)
      note(j, "annotation-on-page-changed", FALSE, page, "a direct annotation was added");
    else if (existed_signed(j, id)) {
      /* An empty signature field placed earlier gets its widget onto the page when it
       * is signed (timestamped-fields.pdf); anything else re-attached is not allowed. */
      qpdf_oh w = qpdf_get_object_by_id(j->after->q, (int)id, (int)gen_of(j->eff, id));
      RoleInfo *ri = g_hash_table_lookup(j->roles, GUINT_TO_POINTER(id));
      gboolean sig = qp_name_is(j->after, w, "/Subtype", "/Widget") &&
                     (qp_is_sig_field(j->after, w, j->max_depth) || (ri != NULL && ri->in_sig_field));
      if (sig && (j->mdp == VFY_MDP_NONE || !widget_visible(j->after, w)))
        set_sig_area(j, note(j, "signature-added", TRUE, id, "an existing signature field was placed on the page"), w);
      else
        note(j, "annotation-on-page-changed", FALSE, id,
             "an object of the signed revision was attached to the page as an annotation");
      qpdf_oh_release(j->after->q, w);
    }
    else
      judge_new_annotation(j, id);
  }
}

static void
judge_fields_lists(Judge *j, guint owner, qpdf_oh olda, qpdf_oh newa)
{
  g_autoptr(GArray) ol = ref_list(j->before, olda);
  g_autoptr(GArray) nl = ref_list(j->after, newa);

  for (guint i = 0; i < ol->len; i++) {
    guint id = g_array_index(ol, guint, i);
    if (id == 0 || !in_list(nl, id)) {
      note(j, "form-changed", FALSE, owner, "a form field was removed");
      return;
    }
  }
  for (guint i = 0; i < nl->len; i++) {
    guint id = g_array_index(nl, guint, i);
    qpdf_oh fo;
    if (in_list(ol, id))
      continue;
    if (id == 0 || existed_signed(j, id)) {
      note(j, "form-changed", FALSE, owner, "a field list gained an old or direct object");
      continue;
    }
    fo = qpdf_get_object_by_id(j->after->q, (int)id, (int)gen_of(j->eff, id));
    if (qp_is_sig_field(j->after, fo, j->max_depth))
      judge_sig_field(j, id, fo, TRUE);
    else
      note(j, "field-added", FALSE, id, NULL);
    qpdf_oh_release(j->after->q, fo);
  }
}

static void
judge_acroform_dicts(Judge *j, guint num, qpdf_oh od, qpdf_oh nd)
{
  g_autoptr(GPtrArray) keys = diff_keys(j->before, od, j->after, nd);
  for (guint i = 0; i < keys->len; i++) {
    const char *k = g_ptr_array_index(keys, i);
    if (strcmp(k, "/Fields") == 0) {
      qpdf_oh a = qk(j->before->q, od, k), b = qk(j->after->q, nd, k);
      judge_fields_lists(j, num, a, b);
      qpdf_oh_release(j->before->q, a);
      qpdf_oh_release(j->after->q, b);
    } else if (strcmp(k, "/SigFlags") == 0 || strcmp(k, "/DR") == 0 || strcmp(k, "/DA") == 0) {
      note(j, "form-updated", TRUE, num, NULL);
    } else {
      g_autofree char *why = g_strdup_printf("key %s", k);
      note(j, "form-changed", FALSE, num, why);
    }
  }
}

static void
judge_catalog(Judge *j, guint num, qpdf_oh o, qpdf_oh n)
{
  g_autoptr(GPtrArray) keys = diff_keys(j->before, o, j->after, n);
  for (guint i = 0; i < keys->len; i++) {
    const char *k = g_ptr_array_index(keys, i);
    if (strcmp(k, "/AcroForm") == 0) {
      qpdf_oh a = qk(j->before->q, o, k), b = qk(j->after->q, n, k);
      guint bid = qpdf_oh_is_indirect(j->after->q, b) ? (guint)qpdf_oh_get_object_id(j->after->q, b) : 0;
      /* A re-pointed existing form dictionary is judged as that object's change. */
      if (bid == 0 || !existed_signed(j, bid) || bid != (guint)qpdf_oh_get_object_id(j->before->q, a))
        judge_acroform_dicts(j, bid != 0 ? bid : num, a, b);
      qpdf_oh_release(j->before->q, a);
      qpdf_oh_release(j->after->q, b);
    } else if (strcmp(k, "/DSS") == 0) {
      qpdf_oh a = qk(j->before->q, o, k);
      note(j, qpdf_oh_is_null(j->before->q, a) ? "dss-added" : "dss-changed", TRUE, num, NULL);
      qpdf_oh_release(j->before->q, a);
    } else if (strcmp(k, "/Extensions") == 0) {
      note(j, "extensions-changed", TRUE, num, NULL);
    } else if (strcmp(k, "/Metadata") == 0 || strcmp(k, "/Version") == 0 ||
               strcmp(k, "/ITXT") == 0) {
      /* XMP, the header version and iText's producer mark: nothing a reader sees. */
      note(j, "metadata-changed", TRUE, num, NULL);
    } else {
      g_autofree char *why = g_strdup_printf("key %s", k);
      note(j, "catalog-changed", FALSE, num, why);
    }
  }
}

static void
judge_page(Judge *j, guint num, qpdf_oh o, qpdf_oh n)
{
  g_autoptr(GPtrArray) keys = diff_keys(j->before, o, j->after, n);
  for (guint i = 0; i < keys->len; i++) {
    const char *k = g_ptr_array_index(keys, i);
    if (strcmp(k, "/Annots") == 0) {
      qpdf_oh a = qk(j->before->q, o, k), b = qk(j->after->q, n, k);
      judge_annots_lists(j, num, a, b);
      qpdf_oh_release(j->before->q, a);
      qpdf_oh_release(j->after->q, b);
    } else if (strcmp(k, "/Contents") == 0) {
      note(j, "page-content-changed", FALSE, num, NULL);
    } else if (strcmp(k, "/Resources") == 0) {
      note(j, "resources-changed", FALSE, num, NULL);
    } else if (strcmp(k, "/ITXT") == 0) {
      note(j, "metadata-changed", TRUE, num, NULL);
    } else {
      g_autofree char *why = g_strdup_printf("key %s", k);
      note(j, "page-changed", FALSE, num, why);
    }
  }
}

static gboolean
field_read_only(Qp *p, qpdf_oh f, guint max_depth)
{
  qpdf_oh cur = qpdf_oh_new_object(p->q, f);
  gboolean ro = FALSE;
  for (guint i = 0; i < max_depth && qpdf_oh_is_dictionary(p->q, cur); i++) {
    qpdf_oh parent;
    if (qhas(p->q, cur, "/Ff")) {
      ro = (qp_int_key(p, cur, "/Ff", 0) & 1) != 0;
      break;
    }
    parent = qk(p->q, cur, "/Parent");
    qpdf_oh_release(p->q, cur);
    cur = parent;
  }
  qpdf_oh_release(p->q, cur);
  return ro;
}

/* ------------------------------------------------------------------------------------
 * FieldMDP: the fields this signature locked (ISO 32000-1, 12.8.2.4 and 12.7.4.5)
 * ---------------------------------------------------------------------------------- */

typedef enum { LOCK_ALL, LOCK_INCLUDE, LOCK_EXCLUDE } LockAction;

typedef struct {
  LockAction action;
  GPtrArray *fields; /* char*: fully qualified field names */
} LockSpec;

static void
lock_spec_free(LockSpec *l)
{
  if (l == NULL)
    return;
  g_ptr_array_unref(l->fields);
  g_free(l);
}

/* A /Lock dictionary or FieldMDP /TransformParams.  An /Action other than /Include or
 * /Exclude (missing, unknown) locks every field: the stricter reading. */
static LockSpec *
read_lock_spec(Qp *p, qpdf_oh d)
{
  LockSpec *l;
  qpdf_oh fields;
  int n;

  if (!qpdf_oh_is_dictionary(p->q, d))
    return NULL;
  l = g_new0(LockSpec, 1);
  l->fields = g_ptr_array_new_with_free_func(g_free);
  l->action = qp_name_is(p, d, "/Action", "/Include")   ? LOCK_INCLUDE
              : qp_name_is(p, d, "/Action", "/Exclude") ? LOCK_EXCLUDE
                                                        : LOCK_ALL;
  fields = qk(p->q, d, "/Fields");
  n = qpdf_oh_is_array(p->q, fields) ? qpdf_oh_get_array_n_items(p->q, fields) : 0;
  for (int i = 0; i < n && (guint)i < TTE_LIMIT_PDF_MAX_FIELDS; i++) {
    qpdf_oh it = qpdf_oh_get_array_item(p->q, fields, i);
    if (qpdf_oh_is_string(p->q, it))
      g_ptr_array_add(l->fields, g_strdup(qpdf_oh_get_utf8_value(p->q, it)));
    qpdf_oh_release(p->q, it);
  }
  qpdf_oh_release(p->q, fields);
  return l;
}

/* The fully qualified name of field (or widget) @f: its /T and its ancestors'. */
static char *
qp_field_name(Qp *p, qpdf_oh f, guint max_depth)
{
  g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func(g_free);
  qpdf_oh cur = qpdf_oh_new_object(p->q, f);
  GString *name = g_string_new(NULL);

  for (guint i = 0; i < max_depth && qpdf_oh_is_dictionary(p->q, cur); i++) {
    qpdf_oh t = qk(p->q, cur, "/T"), parent;
    if (qpdf_oh_is_string(p->q, t))
      g_ptr_array_add(parts, g_strdup(qpdf_oh_get_utf8_value(p->q, t)));
    qpdf_oh_release(p->q, t);
    parent = qk(p->q, cur, "/Parent");
    qpdf_oh_release(p->q, cur);
    cur = parent;
  }
  qpdf_oh_release(p->q, cur);
  for (guint i = parts->len; i-- > 0;)
    g_string_append_printf(name, "%s%s", name->len > 0 ? "." : "", (const char *)g_ptr_array_index(parts, i));
  return g_string_free(name, FALSE);
}

/* Does @lock name @field, or a field above it (locking "a" locks "a.b")? */
static gboolean
lock_names(const char *lock, const char *field)
{
  gsize n = strlen(lock);
  return strncmp(field, lock, n) == 0 && (field[n] == '\0' || field[n] == '.');
}

static gboolean
field_locked(Judge *j, const char *name)
{
  for (guint i = 0; j->locks != NULL && i < j->locks->len; i++) {
    const LockSpec *l = g_ptr_array_index(j->locks, i);
    gboolean named = FALSE;
    for (guint k = 0; k < l->fields->len && !named; k++)
      named = lock_names(g_ptr_array_index(l->fields, k), name);
    if (l->action == LOCK_ALL || (l->action == LOCK_INCLUDE && named) || (l->action == LOCK_EXCLUDE && !named))
      return TRUE;
  }
  return FALSE;
}

/* Find, in the signed revision's form, the signature whose /ByteRange ends at
 * @signed_len, and collect what it locks: its field's /Lock and the FieldMDP entries of
 * its /Reference.  Bounded by TTE_LIMIT_PDF_MAX_FIELDS and @max_depth. */
static void
find_locks(Qp *p, qpdf_oh field, gsize signed_len, guint depth, guint max_depth, guint *budget,
           GHashTable *seen, GPtrArray *locks)
{
  int id = qpdf_oh_get_object_id(p->q, field);
  qpdf_oh v, kids;

  if (depth > max_depth || *budget == 0 || !qpdf_oh_is_dictionary(p->q, field))
    return;
  if (id > 0) {
    if (g_hash_table_contains(seen, GINT_TO_POINTER(id)))
      return;
    g_hash_table_add(seen, GINT_TO_POINTER(id));
  }
  (*budget)--;
  v = qk(p->q, field, "/V");
  if (qpdf_oh_is_dictionary(p->q, v) && qp_is_sig_field(p, field, max_depth)) {
    qpdf_oh br = qk(p->q, v, "/ByteRange");
    gint64 e[4] = { 0 };
    gboolean ok = qpdf_oh_is_array(p->q, br) && qpdf_oh_get_array_n_items(p->q, br) == 4;
    for (int i = 0; ok && i < 4; i++) {
      qpdf_oh x = qpdf_oh_get_array_item(p->q, br, i);
      ok = qpdf_oh_is_integer(p->q, x);
      e[i] = ok ? qpdf_oh_get_int_value(p->q, x) : 0;
      qpdf_oh_release(p->q, x);
    }
    qpdf_oh_release(p->q, br);
    if (ok && e[2] >= 0 && e[3] >= 0 && e[2] <= G_MAXINT64 - e[3] && (guint64)(e[2] + e[3]) == signed_len) {
      qpdf_oh lock = qk(p->q, field, "/Lock"), refs = qk(p->q, v, "/Reference");
      int n = qpdf_oh_is_array(p->q, refs) ? qpdf_oh_get_array_n_items(p->q, refs) : 0;
      LockSpec *l = read_lock_spec(p, lock);
      if (l != NULL)
        g_ptr_array_add(locks, l);
      for (int i = 0; i < n && i < 16; i++) {
        qpdf_oh r = qpdf_oh_get_array_item(p->q, refs, i);
        if (qp_name_is(p, r, "/TransformMethod", "/FieldMDP")) {
          qpdf_oh tp = qk(p->q, r, "/TransformParams");
          /* FieldMDP without parameters names no fields: the stricter reading locks all. */
          l = qpdf_oh_is_dictionary(p->q, tp) ? read_lock_spec(p, tp) : NULL;
          if (l == NULL) {
            l = g_new0(LockSpec, 1);
            l->fields = g_ptr_array_new_with_free_func(g_free);
            l->action = LOCK_ALL;
          }
          g_ptr_array_add(locks, l);
          qpdf_oh_release(p->q, tp);
        }
        qpdf_oh_release(p->q, r);
      }
      qpdf_oh_release(p->q, lock);
      qpdf_oh_release(p->q, refs);
    }
  }
  qpdf_oh_release(p->q, v);
  kids = qk(p->q, field, "/Kids");
  if (qpdf_oh_is_array(p->q, kids)) {
    int n = qpdf_oh_get_array_n_items(p->q, kids);
    for (int i = 0; i < n && *budget > 0; i++) {
      qpdf_oh k = qpdf_oh_get_array_item(p->q, kids, i);
      find_locks(p, k, signed_len, depth + 1, max_depth, budget, seen, locks);
      qpdf_oh_release(p->q, k);
    }
  }
  qpdf_oh_release(p->q, kids);
}

static GPtrArray *
signature_locks(Qp *p, gsize signed_len, guint max_depth)
{
  GPtrArray *locks = g_ptr_array_new_with_free_func((GDestroyNotify)lock_spec_free);
  g_autoptr(GHashTable) seen = g_hash_table_new(NULL, NULL);
  qpdf_oh root = qpdf_get_root(p->q);
  qpdf_oh acro = qk(p->q, root, "/AcroForm");
  qpdf_oh fields = qk(p->q, acro, "/Fields");
  guint budget = TTE_LIMIT_PDF_MAX_FIELDS;
  int n = qpdf_oh_is_array(p->q, fields) ? qpdf_oh_get_array_n_items(p->q, fields) : 0;

  for (int i = 0; i < n && budget > 0; i++) {
    qpdf_oh f = qpdf_oh_get_array_item(p->q, fields, i);
    find_locks(p, f, signed_len, 0, max_depth, &budget, seen, locks);
    qpdf_oh_release(p->q, f);
  }
  qpdf_oh_release(p->q, fields);
  qpdf_oh_release(p->q, acro);
  qpdf_oh_release(p->q, root);
  return locks;
}

/* Was field (or widget, or field value) @n of the final document locked by this
 * signature?  Then its change is named, with the field. */
static gboolean
note_if_locked(Judge *j, guint num, qpdf_oh field)
{
  g_autofree char *name = NULL;
  g_autofree char *why = NULL;

  if (j->locks == NULL || j->locks->len == 0)
    return FALSE;
  name = qp_field_name(j->after, field, j->max_depth);
  if (!field_locked(j, name))
    return FALSE;
  why = g_strdup_printf("field \"%s\"", name);
  note(j, "locked-field-changed", FALSE, num, why);
  return TRUE;
}

/* The indirect objects an /AP value names: the dictionary itself, its /N /R /D
 * entries, and the state streams under them (one level, as appearances are laid out). */
static void
ap_refs(Qp *p, qpdf_oh ap, GArray *out)
{
  static const char *const faces[] = { "/N", "/R", "/D" };

  if (qpdf_oh_is_indirect(p->q, ap)) {
    guint id = (guint)qpdf_oh_get_object_id(p->q, ap);
    g_array_append_val(out, id);
  }
  if (!qpdf_oh_is_dictionary(p->q, ap))
    return;
  for (gsize f = 0; f < G_N_ELEMENTS(faces); f++) {
    qpdf_oh v = qk(p->q, ap, faces[f]);
    if (qpdf_oh_is_indirect(p->q, v)) {
      guint id = (guint)qpdf_oh_get_object_id(p->q, v);
      g_array_append_val(out, id);
    }
    if (qpdf_oh_is_dictionary(p->q, v) && !qpdf_oh_is_stream(p->q, v)) {
      g_autoptr(GPtrArray) states = qp_dict_keys(p, v);
      for (guint i = 0; i < states->len && out->len < ROLE_MAX_REFERRERS * 4; i++) {
        qpdf_oh st = qpdf_oh_get_key(p->q, v, g_ptr_array_index(states, i));
        if (qpdf_oh_is_indirect(p->q, st)) {
          guint id = (guint)qpdf_oh_get_object_id(p->q, st);
          g_array_append_val(out, id);
        }
        qpdf_oh_release(p->q, st);
      }
    }
    qpdf_oh_release(p->q, v);
  }
}

/* Signing a placed field replaces its appearance.  The appearance it had when this
 * signature was made must then be gone, not kept alive through a key no reader
 * interprets (a private catalog or trailer key): that is a place to park signed content
 * for a later revision to bring back (pyHanko's "sneaky" appearance cases). */
static void
judge_dropped_appearance(Judge *j, guint num, qpdf_oh o, qpdf_oh n)
{
  g_autoptr(GArray) was = g_array_new(FALSE, FALSE, sizeof(guint));
  g_autoptr(GArray) now = g_array_new(FALSE, FALSE, sizeof(guint));
  qpdf_oh oa = qk(j->before->q, o, "/AP");
  qpdf_oh na = qk(j->after->q, n, "/AP");

  ap_refs(j->before, oa, was);
  ap_refs(j->after, na, now);
  qpdf_oh_release(j->before->q, oa);
  qpdf_oh_release(j->after->q, na);
  for (guint i = 0; i < was->len; i++) {
    guint id = g_array_index(was, guint, i);
    RoleInfo *r = g_hash_table_lookup(j->roles, GUINT_TO_POINTER(id));
    gboolean kept = FALSE;
    for (guint k = 0; k < now->len && !kept; k++)
      kept = g_array_index(now, guint, k) == id;
    if (!kept && r != NULL && (r->roles & (1u << CTX_OTHER))) {
      g_autofree char *why =
          g_strdup_printf("the appearance replaced when field object %u was signed stays reachable "
                          "through a key no reader uses", num);
      note(j, "unexplained-change", FALSE, id, why);
      return;
    }
  }
}

/* An existing field or annotation changed. */
static void
judge_field_or_annot(Judge *j, guint num, qpdf_oh o, qpdf_oh n)
{
  Qp *a = j->after;
  gboolean is_widget = qp_name_is(a, n, "/Subtype", "/Widget") || qhas(a->q, n, "/FT") ||
                       qhas(a->q, n, "/Parent");
  g_autoptr(GPtrArray) keys = diff_keys(j->before, o, a, n);
  RoleInfo *ri = g_hash_table_lookup(j->roles, GUINT_TO_POINTER(num));
  gboolean is_sig = qp_is_sig_field(a, n, j->max_depth) || (ri != NULL && ri->in_sig_field);
  gboolean v_added = FALSE;
  /* Read-only as it was signed: a signer may lock fields (set the flag) afterwards. */
  gboolean was_read_only = field_read_only(j->before, o, j->max_depth);

  if (!is_widget) {
    /* P3 would allow modifying annotations, but an existing note's new appearance is
     * not checked against the text beneath: refused at every level for now. */
    note(j, "annotation-on-page-changed", FALSE, num, NULL);
    return;
  }
  if (is_sig) {
    qpdf_oh ov = qk(j->before->q, o, "/V");
    v_added = qpdf_oh_is_null(j->before->q, ov) && qhas(a->q, n, "/V");
    qpdf_oh_release(j->before->q, ov);
  }
  for (guint i = 0; i < keys->len; i++) {
    const char *k = g_ptr_array_index(keys, i);
    gboolean appearance = strcmp(k, "/AP") == 0 || strcmp(k, "/AS") == 0;
    if (strcmp(k, "/Ff") == 0) {
      gint64 of = qp_int_key(j->before, o, "/Ff", 0), nf = qp_int_key(a, n, "/Ff", 0);
      if (nf == (of | 1)) {
        /* Locking a field (FieldMDP) sets ReadOnly and nothing else. */
        note(j, "form-updated", TRUE, num, "a field was locked");
        continue;
      }
    }
    if (is_sig) {
      if (strcmp(k, "/V") == 0 && v_added) {
        /* Signing a field the certifier (or first signer) already placed. */
        judge_sig_field(j, num, n, FALSE);
      } else if (v_added && (appearance || strcmp(k, "/F") == 0 || strcmp(k, "/MK") == 0 ||
                             strcmp(k, "/DA") == 0)) {
        /* Signing a placed field draws its appearance; /Rect stays where it was. */
        g_hash_table_add(j->filled, GUINT_TO_POINTER(num));
        if (strcmp(k, "/AP") == 0)
          judge_dropped_appearance(j, num, o, n);
      } else {
        g_autofree char *why = g_strdup_printf("key %s", k);
        note(j, "signature-changed", FALSE, num, why);
      }
    } else if (strcmp(k, "/V") == 0 || strcmp(k, "/I") == 0 || strcmp(k, "/DV") == 0 ||
               strcmp(k, "/DA") == 0 || strcmp(k, "/MK") == 0 || appearance) {
      /* Filling a field: value, selection, and the appearance regenerated for it. */
      if (was_read_only) {
        note(j, "form-changed", FALSE, num, "a read-only field was changed");
      } else if (note_if_locked(j, num, n)) {
        /* Not "filled": its appearance may not change either. */
      } else {
        g_hash_table_add(j->filled, GUINT_TO_POINTER(num));
        note(j, "form-filled", TRUE, num, NULL);
      }
    } else if (strcmp(k, "/Kids") == 0) {
      qpdf_oh x = qk(j->before->q, o, k), y = qk(a->q, n, k);
      judge_fields_lists(j, num, x, y);
      qpdf_oh_release(j->before->q, x);
      qpdf_oh_release(a->q, y);
    } else {
      g_autofree char *why = g_strdup_printf("key %s", k);
      note(j, "form-changed", FALSE, num, why);
    }
  }
}

/* Judge one existing object whose content changed, once per role it plays. */
static void
judge_changed(Judge *j, guint num, qpdf_oh o, qpdf_oh n)
{
  RoleInfo *r = g_hash_table_lookup(j->roles, GUINT_TO_POINTER(num));
  guint32 roles = r != NULL ? r->roles : 0;

  if (roles == 0) {
    /* Nothing the document uses, but no writer has a reason to rewrite it either. */
    note(j, "unreferenced-object-changed", FALSE, num, NULL);
    return;
  }
  for (guint c = 0; c < CTX_N; c++) {
    if (!(roles & (1u << c)))
      continue;
    switch ((Ctx)c) {
    case CTX_DSS: note(j, "dss-changed", TRUE, num, NULL); break;
    case CTX_INFO:
    case CTX_META: note(j, "metadata-changed", TRUE, num, NULL); break;
    case CTX_EXT: note(j, "extensions-changed", TRUE, num, NULL); break;
    case CTX_STRUCT: note(j, "structure-changed", TRUE, num, NULL); break;
    case CTX_CATALOG: judge_catalog(j, num, o, n); break;
    case CTX_PAGETREE: {
      g_autoptr(GPtrArray) keys = diff_keys(j->before, o, j->after, n);
      for (guint i = 0; i < keys->len; i++) {
        const char *k = g_ptr_array_index(keys, i);
        if (strcmp(k, "/ITXT") == 0)
          note(j, "metadata-changed", TRUE, num, NULL);
        else
          note(j, "page-tree-changed", FALSE, num, k);
      }
      break;
    }
    case CTX_KIDS:
    case CTX_PAGENODE: note(j, "page-tree-changed", FALSE, num, NULL); break;
    case CTX_PAGE: judge_page(j, num, o, n); break;
    case CTX_PAGEATTR: note(j, "page-changed", FALSE, num, NULL); break;
    case CTX_CONTENT: note(j, "page-content-changed", FALSE, num, NULL); break;
    case CTX_RESOURCE: note(j, "resources-changed", FALSE, num, NULL); break;
    case CTX_ANNOTS: judge_annots_lists(j, num, o, n); break;
    case CTX_ANNOT:
    case CTX_FIELD: judge_field_or_annot(j, num, o, n); break;
    case CTX_FIELDS: judge_fields_lists(j, num, o, n); break;
    case CTX_FIELDVAL: {
      /* An indirect value: locked when a field that uses it is. */
      gboolean locked = FALSE;
      for (guint i = 0; r->referrers != NULL && i < r->referrers->len && !locked; i++) {
        guint ref = g_array_index(r->referrers, guint, i);
        RoleInfo *rr = g_hash_table_lookup(j->roles, GUINT_TO_POINTER(ref));
        if (ref != 0 && rr != NULL && (rr->roles & ((1u << CTX_FIELD) | (1u << CTX_ANNOT)))) {
          qpdf_oh fo = qpdf_get_object_by_id(j->after->q, (int)ref, (int)gen_of(j->eff, ref));
          locked = note_if_locked(j, num, fo);
          qpdf_oh_release(j->after->q, fo);
        }
      }
      /* Too many users to know them all: locked if any lock applies at all. */
      if (!locked && r->many_referrers && j->locks != NULL && j->locks->len > 0) {
        note(j, "locked-field-changed", FALSE, num, "a value shared by many fields");
        locked = TRUE;
      }
      if (!locked) {
        g_hash_table_add(j->filled, GUINT_TO_POINTER(num));
        note(j, "form-filled", TRUE, num, NULL);
      }
      break;
    }
    case CTX_AP: break; /* second pass: needs to know which widgets were filled */
    case CTX_ACROFORM: judge_acroform_dicts(j, num, o, n); break;
    case CTX_DR: note(j, "form-updated", TRUE, num, NULL); break;
    case CTX_SIGV: note(j, "signature-changed", FALSE, num, NULL); break;
    case CTX_OTHER:
    case CTX_SKIP:
    case CTX_N:
    default: note(j, "unexplained-change", FALSE, num, NULL); break;
    }
  }
}

/* An existing appearance stream may change only together with the widget it belongs
 * to being filled or signed. */
static void
judge_appearance(Judge *j, guint num)
{
  RoleInfo *r = g_hash_table_lookup(j->roles, GUINT_TO_POINTER(num));
  guint owner = r != NULL ? r->ap_owner : 0;
  gboolean ok = FALSE;

  if (owner != 0 && owner != G_MAXUINT) {
    ok = g_hash_table_contains(j->filled, GUINT_TO_POINTER(owner));
    if (!ok) {
      qpdf_oh w = qpdf_get_object_by_id(j->after->q, (int)owner, (int)gen_of(j->eff, owner));
      qpdf_oh parent = qk(j->after->q, w, "/Parent");
      if (qpdf_oh_is_indirect(j->after->q, parent))
        ok = g_hash_table_contains(j->filled,
                                   GUINT_TO_POINTER((guint)qpdf_oh_get_object_id(j->after->q, parent)));
      qpdf_oh_release(j->after->q, parent);
      qpdf_oh_release(j->after->q, w);
    }
  }
  if (ok)
    note(j, "form-filled", TRUE, num, "appearance of a filled field");
  else
    note(j, "annotation-on-page-changed", FALSE, num,
         owner == G_MAXUINT ? "an appearance stream shared by several annotations was replaced"
                            : "an appearance stream was replaced without its field being filled");
}

/* A new object that an unchanged object of the signed revision already referred to:
 * before signing that reference resolved to nothing, now it means something. */
static void
judge_new_referenced(Judge *j, guint num)
{
  RoleInfo *r = g_hash_table_lookup(j->roles, GUINT_TO_POINTER(num));
  if (r != NULL && r->old_unchanged_referrer)
    note(j, "unexplained-change", FALSE, num,
         "a signed object referred to this number, which was empty when it was signed");
}

/* Object streams written after signing must not carry objects that the
 * cross-reference table does not send there: a lenient reader may pick them up. */
static gboolean
judge_object_stream(Judge *j, guint num, qpdf_oh n, guint max_objects, GError **error)
{
  Qp *p = j->after;
  unsigned char *buf = NULL;
  size_t blen = 0;
  QPDF_BOOL filtered = QPDF_FALSE;
  gint64 count = qp_int_key(p, n, "/N", -1);
  TteCursor c;

  if (count < 0 || (guint64)count > max_objects) {
    g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT,
                "object stream %u lists more objects than TTE_LIMIT_PDF_MAX_OBJECTS", num);
    return FALSE;
  }
  if (qpdf_oh_get_stream_data(p->q, n, qpdf_dl_generalized, &filtered, &buf, &blen) & QPDF_ERRORS ||
      !filtered) {
    free(buf);
    (void)qp_error(p, "object stream", NULL);
    note(j, "unexplained-change", FALSE, num, "an object stream that cannot be decoded");
    return TRUE;
  }
  tte_cursor_init(&c, buf, blen);
  for (gint64 i = 0; i < count; i++) {
    guint64 on, off;
    const XrefEntry *e;
    tte_cursor_skip_pdf_ws(&c);
    if (!tte_cursor_get_uint(&c, &on))
      break;
    tte_cursor_skip_pdf_ws(&c);
    if (!tte_cursor_get_uint(&c, &off))
      break;
    if (on > G_MAXINT32)
      break;
    e = g_hash_table_lookup(j->eff, GUINT_TO_POINTER((guint)on));
    /* A later revision may legitimately supersede an object it once put here. */
    if (!(e != NULL && e->kind == XE_COMPRESSED && e->f2 == num && e->idx == (guint)i) &&
        !g_hash_table_contains(j->compressed_any, GUINT_TO_POINTER(objstm_key(num, (guint)on, (guint)i))) &&
        existed_signed(j, (guint)on)) {
      g_autofree char *why = g_strdup_printf("it carries object %" G_GUINT64_FORMAT, on);
      note(j, "object-stream-redefines", FALSE, num, why);
    }
  }
  free(buf);
  return TRUE;
}

/* ------------------------------------------------------------------------------------
 * The analysis
 * ---------------------------------------------------------------------------------- */

static gint
cmp_uint(gconstpointer a, gconstpointer b)
{
  guint x = *(const guint *)a, y = *(const guint *)b;
  return x < y ? -1 : x > y;
}

/* Only white space in [p, p + n)?  Read through windows (vfy-pdf.h); a file that cannot
 * be read is not white space. */
static gboolean
all_ws(const guint8 *p, gsize n)
{
  VfyWindows w;
  const guint8 *win;
  gsize wl, ws;
  gboolean ok = TRUE;

  vfy_windows_init(&w, p, n, 0);
  while (ok && vfy_windows_next(&w, &win, &wl, &ws))
    for (gsize i = 0; ok && i < wl; i++)
      ok = tte_pdf_is_ws(win[i]);
  ok = ok && !w.failed;
  vfy_windows_clear(&w);
  return ok;
}

static gboolean
entries_equal(const XrefEntry *a, const XrefEntry *b)
{
  if (a->kind != b->kind)
    return FALSE;
  if (a->kind == XE_FREE)
    return TRUE;
  return a->f2 == b->f2 && a->gen == b->gen && a->idx == b->idx;
}

/* Walk a /Prev chain from @start inside data[0..len) until @stop (exclusive; pass
 * G_MAXSIZE for none).  Sections come out newest first.  *out_reached_stop tells
 * whether @stop was met. */
static GPtrArray *
parse_chain(const guint8 *data, gsize len, gsize start, gsize stop, gsize min_offset, Budget *b,
            gboolean *out_reached_stop, gsize *out_bad_offset, GError **error)
{
  g_autoptr(GPtrArray) chain = g_ptr_array_new_with_free_func((GDestroyNotify)xref_section_free);
  g_autoptr(GHashTable) visited = g_hash_table_new(NULL, NULL);
  gsize off = start;

  *out_reached_stop = FALSE;
  *out_bad_offset = G_MAXSIZE;
  for (;;) {
    XrefSection *s;
    if (off == stop) {
      *out_reached_stop = TRUE;
      break;
    }
    if (off < min_offset) {
      /* A later section that lives inside the signed bytes. */
      *out_bad_offset = off;
      break;
    }
    if (chain->len >= b->max_revisions) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT,
                  "more than %u revisions (TTE_LIMIT_PDF_MAX_REVISIONS)", b->max_revisions);
      return NULL;
    }
    s = parse_section(data, len, off, b, error);
    if (s == NULL)
      return NULL;
    g_ptr_array_add(chain, s);
    if (s->prev < 0)
      break;
    /* Linearized files point /Prev forwards, so loops are caught by remembering where
     * we have been rather than by requiring the offsets to decrease. */
    g_hash_table_add(visited, GSIZE_TO_POINTER(off + 1));
    if ((guint64)s->prev >= len || g_hash_table_contains(visited, GSIZE_TO_POINTER((gsize)s->prev + 1))) {
      fail_format(error, "/Prev points outside the file or back into the chain", off);
      return NULL;
    }
    off = (gsize)s->prev;
  }
  return g_steal_pointer(&chain);
}

static void
apply_section(GHashTable *map, const XrefSection *s)
{
  /* Within one section the first entry for a number wins (table before /XRefStm). */
  for (guint i = s->entries->len; i-- > 0;) {
    const XrefEntry *e = &g_array_index(s->entries, XrefEntry, i);
    g_hash_table_insert(map, GUINT_TO_POINTER(e->num), (gpointer)e);
  }
}

GPtrArray *
vfy_changes_analyse(const guint8 *data, gsize len, gsize signed_len, VfyMdpLevel mdp,
                    const VfyChangeLimits *limits, GError **error)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)vfy_change_free);
  g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) signed_chain = NULL;
  g_autoptr(GPtrArray) later = NULL;
  g_autoptr(GHashTable) signed_map = g_hash_table_new(NULL, NULL);
  g_autoptr(GHashTable) eff = g_hash_table_new(NULL, NULL);
  g_autoptr(GHashTable) touched = g_hash_table_new(NULL, NULL);
  g_autoptr(GHashTable) changed = g_hash_table_new(NULL, NULL);
  g_autoptr(GHashTable) filled = g_hash_table_new(NULL, NULL);
  g_autoptr(GHashTable) compressed_any = g_hash_table_new(NULL, NULL);
  g_autoptr(GHashTable) roles = g_hash_table_new_full(NULL, NULL, NULL, (GDestroyNotify)role_info_free);
  g_autoptr(GArray) queue = g_array_new(FALSE, FALSE, sizeof(WalkItem));
  g_autoptr(GArray) spans = g_array_new(FALSE, FALSE, sizeof(gsize));
  Findings f = { out, seen, mdp };
  Budget b = { 0 };
  Qp before = { 0 }, after = { 0 };
  gsize signed_sx, final_sx, bad_offset, start;
  gboolean reached;
  guint signed_root = 0, final_root = 0, root_changed_rev = 0;
  gboolean signed_encrypt = FALSE;
  const char *signed_odd_key = NULL;
  GPtrArray *result = NULL;

  if (data == NULL || signed_len == 0 || signed_len > len) {
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_INVALID_ARGUMENT,
                        "signed length lies outside the file");
    return NULL;
  }
  if ((guint64)len > TTE_LIMIT_PDF_MAX_SIZE) {
    g_set_error_literal(error, TTE_ERROR, TTE_ERROR_LIMIT, "file exceeds TTE_LIMIT_PDF_MAX_SIZE");
    return NULL;
  }
  b.max_revisions = limits != NULL && limits->max_revisions != 0
                        ? MIN(limits->max_revisions, TTE_LIMIT_PDF_MAX_REVISIONS)
                        : TTE_LIMIT_PDF_MAX_REVISIONS;
  b.max_objects = limits != NULL && limits->max_objects != 0
                      ? MIN(limits->max_objects, TTE_LIMIT_PDF_MAX_OBJECTS)
                      : TTE_LIMIT_PDF_MAX_OBJECTS;
  b.max_depth = limits != NULL && limits->max_depth != 0 ? MIN(limits->max_depth, TTE_LIMIT_PDF_MAX_DEPTH)
                                                         : TTE_LIMIT_PDF_MAX_DEPTH;

  /* Nothing but line ends after the signed range (DSS-3298): nothing changed. */
  if (all_ws(data + signed_len, len - signed_len))
    return g_steal_pointer(&out);

  /* 1. The signed revision's own cross-reference chain, read from its bytes only. */
  if (!find_startxref(data, signed_len, &signed_sx, error))
    return NULL;
  signed_chain = parse_chain(data, signed_len, signed_sx, G_MAXSIZE, 0, &b, &reached, &bad_offset,
                             error);
  if (signed_chain == NULL)
    return NULL;
  for (guint i = signed_chain->len; i-- > 0;)
    apply_section(signed_map, g_ptr_array_index(signed_chain, i));
  {
    XrefSection *s0 = g_ptr_array_index(signed_chain, 0);
    signed_root = s0->root_num;
    signed_encrypt = s0->has_encrypt;
    signed_odd_key = s0->odd_key; /* a key the signed trailer already had is not news */
  }

  /* 2. The sections appended after it, which must chain back to it. */
  if (!find_startxref(data, len, &final_sx, error))
    return NULL;
  later = parse_chain(data, len, final_sx, signed_sx, signed_len, &b, &reached, &bad_offset, error);
  if (later == NULL)
    return NULL;
  if (!reached) {
    add_change(&f, "xref-chain-broken", FALSE, 0, 0, 1,
               bad_offset != G_MAXSIZE
                   ? "a cross-reference section of a later revision lies inside the signed range"
                   : "the chain of cross-reference sections skips the signed revision");
    return g_steal_pointer(&out);
  }
  if (later->len == 0) {
    /* The file ends with the signed revision's startxref, yet bytes follow. */
    add_change(&f, "trailing-data", FALSE, 0, 0, 1, NULL);
    return g_steal_pointer(&out);
  }
  /* Oldest first from here on. */
  for (guint i = 0; i < later->len / 2; i++) {
    gpointer t = later->pdata[i];
    later->pdata[i] = later->pdata[later->len - 1 - i];
    later->pdata[later->len - 1 - i] = t;
  }

  /* 3. Revision spans: revision i owns [start_i, end_i), ending after its %%EOF. */
  start = signed_len;
  for (guint i = 0; i < later->len; i++) {
    XrefSection *s = g_ptr_array_index(later, i);
    gsize end;
    if (s->offset < start || !find_eof_after(data, len, s->offset, &end)) {
      g_set_error(error, TTE_ERROR, TTE_ERROR_FORMAT,
                  "revision %u: cross-reference section out of order or without %%%%EOF", i + 1);
      return NULL;
    }
    g_array_append_val(spans, start);
    g_array_append_val(spans, end);
    start = end;
  }
  if (!all_ws(data + start, len - start))
    add_change(&f, "trailing-data", FALSE, 0, 0, later->len, NULL);

  /* 4. Replay the later revisions on top of the signed cross-reference. */
  {
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, signed_map);
    while (g_hash_table_iter_next(&it, &k, &v))
      g_hash_table_insert(eff, k, v);
  }
  for (guint i = 0; i < later->len; i++) {
    XrefSection *s = g_ptr_array_index(later, i);
    gsize s0 = g_array_index(spans, gsize, 2 * i), s1 = g_array_index(spans, gsize, 2 * i + 1);
    guint rev = i + 1, n_changed = 0, n_bodies = 0, n_entries = 0;
    g_autoptr(GHashTable) seen_here = g_hash_table_new(NULL, NULL);

    for (guint k = 0; k < s->entries->len; k++) {
      const XrefEntry *e = &g_array_index(s->entries, XrefEntry, k);
      const XrefEntry *prev;
      if (e->num == 0 || g_hash_table_contains(seen_here, GUINT_TO_POINTER(e->num)))
        continue;
      g_hash_table_add(seen_here, GUINT_TO_POINTER(e->num));
      prev = g_hash_table_lookup(eff, GUINT_TO_POINTER(e->num));
      n_entries++;
      if (e->kind != XE_FREE && (e->kind == XE_COMPRESSED || (e->f2 >= s0 && e->f2 < s1)))
        n_bodies++;
      if (prev != NULL ? entries_equal(prev, e) : e->kind == XE_FREE)
        continue; /* restates what was already true */
      if (++n_changed > b.max_objects) {
        g_set_error(error, TTE_ERROR, TTE_ERROR_LIMIT,
                    "revision %u changes more than %u objects (TTE_LIMIT_PDF_MAX_OBJECTS)", rev,
                    b.max_objects);
        return NULL;
      }
      if (e->kind == XE_FREE) {
        if (prev != NULL && prev->kind != XE_FREE &&
            in_use(signed_map, e->num))
          add_change(&f, "object-freed", FALSE, e->num, prev->gen, rev, NULL);
      } else if (e->kind == XE_USED) {
        /* A new generation leaves every "N G R" to the old one pointing at nothing. */
        if (prev != NULL && prev->kind == XE_USED && prev->gen != e->gen && in_use(signed_map, e->num))
          add_change(&f, "unexplained-change", FALSE, e->num, e->gen, rev,
                     "the object was given a new generation number");
        if (e->f2 >= len) {
          g_set_error(error, TTE_ERROR, TTE_ERROR_FORMAT,
                      "revision %u: object %u points beyond the end of the file", rev, e->num);
          return NULL;
        }
        if (e->f2 < s0 || e->f2 >= s1)
          add_change(&f, "object-repointed", FALSE, e->num, e->gen, rev,
                     e->f2 < signed_len ? "its new bytes lie inside the signed range"
                                        : "its new bytes lie in another revision");
      }
      /* Compressed entries are checked below, once the object stream's own entry is known. */
      g_hash_table_insert(eff, GUINT_TO_POINTER(e->num), (gpointer)e);
      g_hash_table_insert(touched, GUINT_TO_POINTER(e->num), GUINT_TO_POINTER(rev));
      if (e->kind == XE_COMPRESSED && e->f2 <= G_MAXUINT)
        g_hash_table_add(compressed_any, GUINT_TO_POINTER(objstm_key((guint)e->f2, e->num, e->idx)));
    }
    for (guint k = 0; k < s->entries->len; k++) {
      const XrefEntry *e = &g_array_index(s->entries, XrefEntry, k);
      const XrefEntry *stm;
      if (e->kind != XE_COMPRESSED ||
          g_hash_table_lookup(eff, GUINT_TO_POINTER(e->num)) != (gpointer)e)
        continue;
      stm = e->f2 <= G_MAXINT32 ? g_hash_table_lookup(eff, GUINT_TO_POINTER((guint)e->f2)) : NULL;
      if (stm == NULL || stm->kind != XE_USED || stm->f2 < s0 || stm->f2 >= s1)
        add_change(&f, "object-repointed", FALSE, e->num, 0, rev,
                   "it was moved into an object stream not written in this revision");
    }
    /* A revision that writes no object at all only moves pointers around. */
    if (n_entries > 0 && n_bodies == 0)
      add_change(&f, "xref-only-revision", FALSE, 0, 0, rev, NULL);
    if (s->root_num != 0 && s->root_num != signed_root) {
      /* Judged below: a new catalog is compared with the signed one key by key. */
      root_changed_rev = rev;
      final_root = s->root_num;
    } else if (s->root_num == signed_root) {
      root_changed_rev = 0;
    }
    if (s->odd_key != NULL && g_strcmp0(s->odd_key, signed_odd_key) != 0) {
      g_autofree char *why = g_strdup_printf("the trailer gained the private key /%s", s->odd_key);
      add_change(&f, "unexplained-change", FALSE, 0, 0, rev, why);
    }
    if (s->has_encrypt && !signed_encrypt)
      add_change(&f, "unexplained-change", FALSE, 0, 0, rev, "encryption was added");
  }

  /* 5. Content.  Both revisions must open without repair. */
  if (!qp_open(&before, data, signed_len, "signed revision", error))
    goto out;
  if (!qp_open(&after, data, len, "whole file", error))
    goto out;
  {
    g_autoptr(GPtrArray) locks = signature_locks(&before, signed_len, b.max_depth);
    Judge j = { &f, &before, &after, signed_map, eff, touched, changed, filled, roles, compressed_any,
                mdp, b.max_depth, locks };
    g_autoptr(GArray) nums = g_array_new(FALSE, FALSE, sizeof(guint));
    g_autoptr(GArray) aps = g_array_new(FALSE, FALSE, sizeof(guint));
    GHashTableIter it;
    gpointer k;

    g_hash_table_iter_init(&it, touched);
    while (g_hash_table_iter_next(&it, &k, NULL)) {
      guint num = GPOINTER_TO_UINT(k);
      g_array_append_val(nums, num);
    }
    /* Stable order: findings come out by object number. */
    g_array_sort(nums, cmp_uint);
    for (guint i = 0; i < nums->len; i++) {
      guint num = g_array_index(nums, guint, i);
      const XrefEntry *e = g_hash_table_lookup(eff, GUINT_TO_POINTER(num));
      if (e == NULL || e->kind == XE_FREE || !existed_signed(&j, num))
        continue;
      {
        qpdf_oh o = get_obj(&before, signed_map, num);
        qpdf_oh n = get_obj(&after, eff, num);
        RawObj ro = { data, signed_len, num, g_hash_table_lookup(signed_map, GUINT_TO_POINTER(num)), b.max_depth };
        RawObj rn = { data, len, num, e, b.max_depth };
        gboolean eq = objects_equal(&before, o, &after, n, &ro, &rn);
        if (qp_error(&before, "signed revision", error) || qp_error(&after, "whole file", error)) {
          qpdf_oh_release(before.q, o);
          qpdf_oh_release(after.q, n);
          goto out;
        }
        if (!eq)
          g_hash_table_add(changed, GUINT_TO_POINTER(num));
        qpdf_oh_release(before.q, o);
        qpdf_oh_release(after.q, n);
      }
    }
    /* Roles come after "changed" is known: the walk marks new objects that unchanged
     * signed objects refer to. */
    {
      Walk w = { &after, roles, queue, b.max_depth, 0, (guint64)b.max_objects * 64u, signed_map, changed };
      if (!walk_roles(&w, error))
        goto out;
    }
    for (guint i = 0; i < nums->len; i++) {
      guint num = g_array_index(nums, guint, i);
      const XrefEntry *e = g_hash_table_lookup(eff, GUINT_TO_POINTER(num));
      qpdf_oh n;
      if (e == NULL || e->kind == XE_FREE)
        continue;
      n = get_obj(&after, eff, num);
      if (qpdf_oh_is_stream(after.q, n) && qp_name_is(&after, n, "/Type", "/ObjStm") &&
          !judge_object_stream(&j, num, n, b.max_objects, error)) {
        qpdf_oh_release(after.q, n);
        goto out;
      }
      if (g_hash_table_contains(changed, GUINT_TO_POINTER(num))) {
        qpdf_oh o = get_obj(&before, signed_map, num);
        RoleInfo *r = g_hash_table_lookup(roles, GUINT_TO_POINTER(num));
        judge_changed(&j, num, o, n);
        if (r != NULL && (r->roles & (1u << CTX_AP)))
          g_array_append_val(aps, num);
        qpdf_oh_release(before.q, o);
      } else if (!existed_signed(&j, num)) {
        judge_new_referenced(&j, num);
      }
      qpdf_oh_release(after.q, n);
      if (qp_error(&before, "signed revision", error) || qp_error(&after, "whole file", error))
        goto out;
    }
    for (guint i = 0; i < aps->len; i++)
      judge_appearance(&j, g_array_index(aps, guint, i));
    if (root_changed_rev != 0) {
      qpdf_oh o = get_obj(&before, signed_map, signed_root);
      qpdf_oh n = get_obj(&after, eff, final_root);
      guint bad_before = 0, bad_after = 0;
      for (guint i = 0; i < out->len; i++)
        bad_before += !((VfyChange *)g_ptr_array_index(out, i))->allowed;
      if (!qpdf_oh_is_dictionary(after.q, n))
        add_change(&f, "catalog-changed", FALSE, final_root, 0, root_changed_rev,
                   "the trailer names something that is not a catalog");
      else
        judge_catalog(&j, final_root, o, n);
      for (guint i = 0; i < out->len; i++)
        bad_after += !((VfyChange *)g_ptr_array_index(out, i))->allowed;
      /* An equivalent copy under a new number changes nothing a reader sees. */
      add_change(&f, "catalog-replaced", bad_after == bad_before, final_root, 0, root_changed_rev,
                 "the trailer names another catalog");
      qpdf_oh_release(before.q, o);
      qpdf_oh_release(after.q, n);
    }
    if (qp_error(&after, "whole file", error))
      goto out;
  }
  result = g_steal_pointer(&out);
out:
  qp_close(&before);
  qp_close(&after);
  /* Give back what was read in place (cross-reference sections, objects). */
  vfy_release(data, len);
  return result;
}
