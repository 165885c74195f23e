#!/usr/bin/env python3
"""gen-attacks.py OUTDIR — build valid signed letters and the published attacks on them.

Writes OUTDIR/index.tsv with one line per file:
    name  file  signed_len  mdp  domain  expect
  signed_len  end of the signature's ByteRange in the *original* signed letter (0: not
              meaningful, the attack is on the signature structure itself)
  mdp         0..3, the DocMDP level the change analysis is told to assume
  domain      "changes" (the change analysis must find it), "core" (ByteRange/CMS: only the
              whole verifier can), "control" (legitimate: nothing not-allowed may be found)
  expect      classification the analysis must name ("-" for none / core)

Signed letters come from podofosign with a throwaway CA made with the openssl CLI, and
from `tte sign` when $TTE_BUILD_DIR/api/tte exists and signs.  Everything here is our
own code; the attack descriptions follow Mainka et al. (2019, 2021) and Mladenov et al.
(2021, "Shadow attacks").
"""
import os
import re
import subprocess
import sys
import zlib

OUT = sys.argv[1]
os.makedirs(OUT, exist_ok=True)
INDEX = []


def run(*args, **kw):
    return subprocess.run(list(args), check=True, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, **kw)


# --------------------------------------------------------------------------- letters

def build_pdf(objs, root=1, shadows=None):
    """objs: list of bytes (object i+1).  shadows: {num: body} written *before* the real
    object, unreferenced by the xref (the hidden half of a shadow attack)."""
    out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    offs = {}
    shadow_offs = {}
    for i, o in enumerate(objs):
        num = i + 1
        if shadows and num in shadows:
            shadow_offs[num] = len(out)
            out += b"%d 0 obj\n" % num + shadows[num] + b"\nendobj\n"
        offs[num] = len(out)
        out += b"%d 0 obj\n" % num + o + b"\nendobj\n"
    x = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for n in range(1, len(objs) + 1):
        out += b"%010d 00000 n \n" % offs[n]
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, root, x)
    return out, shadow_offs


def stream(body, extra=b""):
    return b"<< /Length %d %s>>\nstream\n" % (len(body), extra) + body + b"\nendstream"


TEXT = (b"BT /F1 14 Tf 72 760 Td (PEMERINTAH KABUPATEN CONTOH) Tj ET\n"
        b"BT /F1 11 Tf 72 720 Td (Nomor: 800/123/BKD/2026) Tj ET\n"
        b"BT /F1 11 Tf 72 704 Td (Perihal: Undangan Rapat) Tj ET\n"
        b"BT /F1 11 Tf 72 688 Td (Biaya perjalanan: Rp 1.500.000) Tj ET\n")
EVIL = (b"BT /F1 14 Tf 72 760 Td (PEMERINTAH KABUPATEN CONTOH) Tj ET\n"
        b"BT /F1 11 Tf 72 720 Td (Nomor: 800/123/BKD/2026) Tj ET\n"
        b"BT /F1 11 Tf 72 704 Td (Perihal: Undangan Rapat) Tj ET\n"
        b"BT /F1 11 Tf 72 688 Td (Biaya perjalanan: Rp 95.000.000) Tj ET\n")


def letter_plain():
    """1 catalog, 2 pages, 3 font, 4 page, 5 content, 6 form XObject (empty overlay)."""
    return [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> "
        b"/XObject << /X1 6 0 R /X9 30 0 R >> >> /Contents 5 0 R >>",
        stream(TEXT + b"q /X1 Do Q q /X9 Do Q\n"),
        stream(b"", b"/Type /XObject /Subtype /Form /BBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "),
    ]


def letter_shadow():
    """Like plain, plus hidden alternatives inside the signed bytes: a shadow body of the
    content stream (object 5) and an unreferenced second page tree (7 pages, 8 page, 9
    content) for hide-and-replace."""
    objs = letter_plain()
    objs += [
        b"<< /Type /Pages /Kids [8 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 7 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
        b"/Contents 9 0 R >>",
        stream(EVIL),
    ]
    # 5: a different content stream; 6: a byte-identical copy of the overlay XObject.
    return objs, {5: stream(EVIL + b"q /X1 Do Q\n"), 6: objs[5]}


# --------------------------------------------------------------------------- PDF helpers

def startxref(data):
    i = data.rindex(b"startxref")
    return int(data[i + 9:].split()[0])


def xref_map(data):
    """Classic-table cross-reference of the whole file: num -> offset (newest wins)."""
    result = {}
    off = startxref(data)
    seen = set()
    while off is not None and off not in seen:
        seen.add(off)
        assert data[off:off + 4] == b"xref", "generator handles classic tables only"
        pos = off + 4
        lines = data[pos:].split(b"trailer")[0].split()
        i = 0
        while i < len(lines):
            start, count = int(lines[i]), int(lines[i + 1])
            i += 2
            for k in range(count):
                o, _g, t = lines[i], lines[i + 1], lines[i + 2]
                i += 3
                if start + k not in result and t == b"n":
                    result[start + k] = int(o)
        tr = data[off:].split(b"trailer", 1)[1].split(b"startxref")[0]
        m = re.search(rb"/Prev\s+(\d+)", tr)
        off = int(m.group(1)) if m else None
    return result


def trailer_root(data):
    tr = data[startxref(data):].split(b"trailer", 1)[1]
    return int(re.search(rb"/Root\s+(\d+)", tr).group(1))


def get_obj(data, num):
    off = xref_map(data)[num]
    m = re.match(rb"\d+\s+\d+\s+obj\s*", data[off:])
    body_start = off + m.end()
    end = data.index(b"endobj", body_start)
    return data[body_start:end].rstrip()


def max_obj(data):
    return max(xref_map(data).keys())


def append_update(data, objs, repoint=None, free=(), root=None, xref_stream=False, trailer_extra=b""):
    """Append one incremental update.  objs: {num: body}; repoint: {num: offset} (xref
    entries that point at bytes not written in this update); free: numbers to free."""
    out = bytearray(data)
    if not out.endswith(b"\n"):
        out += b"\n"
    entries = {}
    for num, body in sorted(objs.items()):
        entries[num] = (1, len(out), 0)
        out += b"%d 0 obj\n" % num + body + b"\nendobj\n"
    for num, off in (repoint or {}).items():
        entries[num] = (1, off, 0)
    for num in free:
        entries[num] = (0, 0, 1)
    prev = startxref(data)
    root = root or trailer_root(data)
    size = max(max_obj(data), *(list(entries.keys()) or [0])) + 1
    if xref_stream:
        xnum = size
        size += 1
        xoff = len(out)
        entries[xnum] = (1, xoff, 0)
        nums = sorted(entries)
        raw = b""
        for n in nums:
            t, f2, f3 = entries[n]
            raw += bytes([t]) + f2.to_bytes(4, "big") + f3.to_bytes(2, "big")
        # PNG "Up" predictor rows, as most writers do.
        rows, prevrow = b"", bytes(7)
        for i in range(0, len(raw), 7):
            row = raw[i:i + 7]
            rows += b"\x02" + bytes((row[k] - prevrow[k]) & 0xff for k in range(7))
            prevrow = row
        comp = zlib.compress(rows)
        index = b" ".join(b"%d 1" % n for n in nums)
        out += (b"%d 0 obj\n<< /Type /XRef /Size %d /Root %d 0 R /Prev %d /W [1 4 2] /Index [%s] "
                b"/Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns 7 >> /Length %d >>\nstream\n"
                % (xnum, size, root, prev, index, len(comp)))
        out += comp + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % xoff
        return bytes(out)
    xoff = len(out)
    out += b"xref\n"
    for n in sorted(entries):
        t, f2, f3 = entries[n]
        out += b"%d 1\n" % n
        out += (b"%010d %05d n \n" % (f2, 0)) if t == 1 else b"0000000000 00001 f \n"
    if not entries:
        out += b"0 0\n"
    out += (b"trailer\n<< /Size %d /Root %d 0 R /Prev %d %s>>\nstartxref\n%d\n%%%%EOF\n"
            % (size, root, prev, trailer_extra, xoff))
    return bytes(out)


def byterange(data):
    m = list(re.finditer(rb"/ByteRange\s*\[\s*(-?\d+)\s+(-?\d+)\s+(-?\d+)\s+(-?\d+)\s*\]", data))[-1]
    return m, [int(m.group(i)) for i in range(1, 5)]


def contents_span(data):
    """(start, end) of the hex string of the last signature's /Contents, '<' and '>' included."""
    _m, br = byterange(data)
    return br[1], br[2]


def same_len(old, new):
    assert len(new) <= len(old), (old, new)
    return new + b" " * (len(old) - len(new))


def page_obj(data):
    root = get_obj(data, trailer_root(data))
    pages = int(re.search(rb"/Pages\s+(\d+)", root).group(1))
    kids = get_obj(data, pages)
    return int(re.search(rb"/Kids\s*\[\s*(\d+)", kids).group(1))


def add_to_annots(page_body, ref):
    if b"/Annots" in page_body:
        return re.sub(rb"/Annots\s*\[", b"/Annots [" + ref + b" ", page_body, count=1)
    return page_body.replace(b"/Type/Page", b"/Type/Page/Annots[" + ref + b"]", 1).replace(
        b"/Type /Page ", b"/Type /Page /Annots [" + ref + b"] ", 1)


# --------------------------------------------------------------------------- signing

def make_pki():
    d = os.path.join(OUT, "pki")
    os.makedirs(d, exist_ok=True)
    if os.path.exists(os.path.join(d, "signer.pem")):
        return d
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{d}/root.key",
        "-out", f"{d}/root.pem", "-days", "60", "-subj", "/CN=TTE Test Root",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{d}/signer.key",
        "-out", f"{d}/signer.csr", "-subj", "/CN=Kepala Dinas Contoh")
    with open(f"{d}/ext.cnf", "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n")
    run("openssl", "x509", "-req", "-in", f"{d}/signer.csr", "-CA", f"{d}/root.pem", "-CAkey",
        f"{d}/root.key", "-CAcreateserial", "-out", f"{d}/signer.pem", "-days", "30",
        "-extfile", f"{d}/ext.cnf")
    # An empty CRL, so that an untouched letter can reach TOTAL-PASSED offline.
    os.makedirs(f"{d}/crl", exist_ok=True)
    open(f"{d}/crl/index.txt", "w").close()
    with open(f"{d}/crl/crlnumber", "w") as f:
        f.write("01\n")
    with open(f"{d}/crl/ca.cnf", "w") as f:
        f.write(f"[ca]\ndefault_ca=d\n[d]\ndatabase={d}/crl/index.txt\ncrlnumber={d}/crl/crlnumber\n"
                "default_md=sha256\ndefault_crl_days=30\n")
    run("openssl", "ca", "-gencrl", "-config", f"{d}/crl/ca.cnf", "-keyfile", f"{d}/root.key",
        "-cert", f"{d}/root.pem", "-out", f"{d}/root.crl")
    return d


def podofo_sign(src, dst, pki, visible=True, where="1,120,200,60,20"):
    args = ["podofosign", "-in", src, "-out", dst, "-cert", f"{pki}/signer.pem",
            "-pkey", f"{pki}/signer.key", "-digest", "SHA256"]
    if visible:
        args += ["-annot-position", where, "-annot-print",
                 "-annot-text", "1,1,Ditandatangani"]
    run(*args)


def tte_sign(src, dst, pki, *extra):
    tte = os.path.join(os.environ.get("TTE_BUILD_DIR", ""), "api", "tte")
    if not os.access(tte, os.X_OK):
        return False
    try:
        run(tte, "sign", src, "-o", dst, "--key-file", f"{pki}/signer.key", "--cert", f"{pki}/signer.pem",
            *extra)
    except (subprocess.CalledProcessError, OSError):
        return False
    return os.path.exists(dst)


def emit(name, data, signed_len, mdp, domain, expect, certified=0):
    if data is None:
        sys.stderr.write(f"{name}: does not fit this signer's layout, skipped\n")
        return
    """certified=1: the file really carries that DocMDP level (made by `tte sign
    --certify`), so the whole verifier must name the same classification."""
    path = os.path.join(OUT, name + ".pdf")
    with open(path, "wb") as f:
        f.write(data)
    INDEX.append((name, path, signed_len, mdp, domain, expect, certified))


# --------------------------------------------------------------------------- attacks

def attacks_on(tag, signed, other_signed):
    L = len(signed)
    m, br = byterange(signed)
    cs, ce = contents_span(signed)
    page = page_obj(signed)
    nxt = max_obj(signed) + 1

    emit(f"{tag}-control-signed", signed, L, 0, "control", "-")

    # --- ByteRange tampering (core) ---------------------------------------------------
    def with_br(vals):
        txt = b"/ByteRange [" + b" ".join(b"%d" % v for v in vals) + b"]"
        if len(txt) > len(m.group(0)):
            # The writer left no room (tte writes the exact width): drop the spaces after
            # the key and the bracket, as long as the text still fits.
            txt = b"/ByteRange[" + b" ".join(b"%d" % v for v in vals) + b"]"
        if len(txt) > len(m.group(0)):
            return None
        return signed[:m.start()] + same_len(m.group(0), txt) + signed[m.end():]
    emit(f"{tag}-br-shift", with_br([0, br[1] + 1, br[2] + 1, br[3] - 1]), 0, 0, "core", "-")
    emit(f"{tag}-br-shrink", with_br([0, br[1], br[2], br[3] - 10]), 0, 0, "core", "-")
    emit(f"{tag}-br-extend", with_br([0, br[1], br[2], br[3] + 10]) + b"\n%%pad\n\n", 0, 0, "core", "-")
    emit(f"{tag}-br-beyond-eof", with_br([0, br[1], br[2], br[3] + 9000]), 0, 0, "core", "-")
    emit(f"{tag}-br-three", with_br([0, br[1], br[2]]), 0, 0, "core", "-")
    emit(f"{tag}-br-five", with_br([0, br[1], br[2], br[3], 0]), 0, 0, "core", "-")
    emit(f"{tag}-br-negative", with_br([-1, br[1] + 1, br[2], br[3]]), 0, 0, "core", "-")

    # --- /Contents tampering (core) ---------------------------------------------------
    hexs = signed[cs + 1:ce - 1]
    flip = bytearray(hexs)
    # The last bytes of the DER are the signature value: flip one of them.
    der_len = 4 + int(hexs[4:8], 16) if hexs[:4].lower() == b"3082" else len(hexs.rstrip(b"0")) // 2
    pos = 2 * (der_len - 8)
    flip[pos] = ord(b"0") if flip[pos] != ord(b"0") else ord(b"1")
    emit(f"{tag}-contents-flip", signed[:cs + 1] + bytes(flip) + signed[ce - 1:], 0, 0, "core", "-")
    ocs, oce = contents_span(other_signed)
    ohex = other_signed[ocs + 1:oce - 1].rstrip(b"0")
    if len(ohex) % 2:
        ohex += b"0"
    if len(ohex) <= len(hexs):
        swapped = ohex + b"0" * (len(hexs) - len(ohex))
        emit(f"{tag}-contents-swap", signed[:cs + 1] + swapped + signed[ce - 1:], 0, 0, "core", "-")

    # --- Universal Signature Forgery (core) --------------------------------------------
    gap = ce - cs
    emit(f"{tag}-usf-empty-contents", signed[:cs] + same_len(signed[cs:ce], b"<>") + signed[ce:], 0, 0, "core", "-")
    emit(f"{tag}-usf-null-contents", signed[:cs] + same_len(signed[cs:ce], b"null") + signed[ce:], 0, 0, "core", "-")
    emit(f"{tag}-usf-zero-contents", signed[:cs] + b"<" + b"0" * (gap - 2) + b">" + signed[ce:], 0, 0, "core", "-")
    emit(f"{tag}-usf-no-byterange", signed[:m.start()] + same_len(m.group(0), b"/ByteRangX [0 0 0 0]")
         + signed[m.end():], 0, 0, "core", "-")

    # --- truncation / trailing data -------------------------------------------------------
    emit(f"{tag}-truncated", signed[:L * 2 // 3], 0, 0, "core", "-")
    emit(f"{tag}-appended-garbage", signed + b"\n<< /Evil (text after the end) >>\n", L, 0, "changes", "trailing-data")

    # --- Incremental Saving Attacks --------------------------------------------------------
    content_num = int(re.search(rb"/Contents\s+(\d+)", get_obj(signed, page)).group(1))
    emit(f"{tag}-isa-content", append_update(signed, {content_num: stream(EVIL)}), L, 0, "changes",
         "page-content-changed")
    emit(f"{tag}-isa-content-xrefstm", append_update(signed, {content_num: stream(EVIL)}, xref_stream=True),
         L, 0, "changes", "page-content-changed")
    root = trailer_root(signed)
    cat = get_obj(signed, root)
    pages_num = int(re.search(rb"/Pages\s+(\d+)", cat).group(1))
    newpage = get_obj(signed, page)
    newpage = re.sub(rb"/Contents\s+\d+\s+0\s+R", b"/Contents %d 0 R" % (nxt + 2), newpage)
    newpage = re.sub(rb"/Parent\s+\d+\s+0\s+R", b"/Parent %d 0 R" % (nxt + 1), newpage)
    emit(f"{tag}-isa-catalog", append_update(signed, {
        nxt: re.sub(rb"/Pages\s+\d+\s+0\s+R", b"/Pages %d 0 R" % (nxt + 1), cat),
        nxt + 1: b"<< /Type /Pages /Kids [%d 0 R] /Count 1 >>" % (nxt + 3),
        nxt + 2: stream(EVIL),
        nxt + 3: newpage}, root=nxt), L, 0, "changes", "catalog-changed")
    emit(f"{tag}-isa-pages", append_update(signed, {
        pages_num: b"<< /Type /Pages /Kids [%d 0 R %d 0 R] /Count 2 >>" % (page, nxt + 1),
        nxt: stream(EVIL),
        nxt + 1: re.sub(rb"/Contents\s+\d+\s+0\s+R", b"/Contents %d 0 R" % nxt, get_obj(signed, page))}),
        L, 0, "changes", "page-tree-changed")
    emit(f"{tag}-isa-font", append_update(signed, {
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier >>"}), L, 0, "changes", "resources-changed")

    # --- Shadow attacks ---------------------------------------------------------------
    # replace: the form XObject the page already paints gets text after signing.
    emit(f"{tag}-shadow-replace-xobject", append_update(signed, {
        6: stream(b"1 1 1 rg 60 680 300 20 re f 0 0 0 rg BT /F1 11 Tf 72 688 Td (Biaya perjalanan: Rp 95.000.000) Tj ET",
                  b"/Type /XObject /Subtype /Form /BBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> ")}),
        L, 0, "changes", "resources-changed")
    # a reference that pointed at nothing when signed is filled in afterwards (only when
    # the signer kept the dangling reference: `tte sign` drops it, which defeats this).
    if b"30 0 R" in get_obj(signed, page):
      emit(f"{tag}-shadow-dangling-ref", append_update(signed, {
        30: stream(b"1 1 1 rg 60 680 300 20 re f 0 0 0 rg BT /F1 11 Tf 72 688 Td (Biaya perjalanan: Rp 95.000.000) Tj ET",
                   b"/Type /XObject /Subtype /Form /BBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> ")}),
        L, 0, "changes", "unexplained-change")
    # an xref-only revision that re-points the content stream at identical bytes.
    xm = xref_map(signed)
    # an xref-only revision that restates where the content stream already is: no object
    # changes, but a revision that writes no object is still reported.
    emit(f"{tag}-xref-only-restate", append_update(signed, {}, repoint={content_num: xm[content_num]}),
         L, 0, "changes", "xref-only-revision")
    emit(f"{tag}-object-freed", append_update(signed, {}, free=[6]), L, 0, "changes", "object-freed")
    # object stream that carries another version of the content stream.
    inner = b"<< /Length %d >>" % len(EVIL)
    hdr = b"%d 0 " % content_num
    emit(f"{tag}-objstm-redefines", append_update(signed, {
        nxt: b"<< /Type /ObjStm /N 1 /First %d /Length %d >>\nstream\n" % (len(hdr), len(hdr) + len(inner))
             + hdr + inner + b"\nendstream"}), L, 0, "changes", "object-stream-redefines")
    # the trailer names a new catalog that is a byte copy of the old one: equivalent,
    # reported but allowed; the same with an /OpenAction added is not.
    emit(f"{tag}-root-swap-identical", append_update(signed, {nxt: cat}, root=nxt), L, 0, "control",
         "catalog-replaced")
    emit(f"{tag}-root-swap-openaction", append_update(signed, {
        nxt: cat.replace(b"/Type/Catalog", b"/Type/Catalog/OpenAction << /S /JavaScript /JS (app.alert(1)) >>", 1)
             .replace(b"/Type /Catalog", b"/Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(1)) >>", 1)},
        root=nxt), L, 0, "changes", "catalog-changed")

    # --- Evil Annotation (Mainka et al. 2021) ----------------------------------------------
    ap = stream(b"1 1 1 rg 0 0 300 20 re f 0 0 0 rg BT /Helv 11 Tf 2 6 Td (Biaya perjalanan: Rp 95.000.000) Tj ET",
                b"/Type /XObject /Subtype /Form /BBox [0 0 300 20] /Resources << /Font << /Helv 3 0 R >> >> ")
    # Text and Highlight are harmless markup only without a custom appearance and (for a
    # note) at icon size: these two carry an opaque appearance over the text.
    for sub, extra in ((b"FreeText", b"/DA (/Helv 11 Tf 0 g) /Contents (x) "), (b"Stamp", b""),
                       (b"Square", b""), (b"Widget", b"/FT /Tx /T (evil) /V (x) "),
                       (b"Text", b"/Contents (x) "), (b"Highlight", b"/QuadPoints [60 700 360 700 60 680 360 680] ")):
        annot = (b"<< /Type /Annot /Subtype /%s /Rect [60 680 360 700] /F 4 /P %d 0 R /AP << /N %d 0 R >> %s>>"
                 % (sub, page, nxt + 1, extra))
        objs = {nxt: annot, nxt + 1: ap, page: add_to_annots(get_obj(signed, page), b"%d 0 R" % nxt)}
        expect = "field-added" if sub == b"Widget" else "annotation-overlay-added"
        for mdp in (0, 3):
            emit(f"{tag}-evil-annot-{sub.decode().lower()}-p{mdp}", append_update(signed, objs), L, mdp,
                 "changes", expect)

    # --- Sneaky Signature (Mainka et al. 2021): a visible signature field after certification.
    field = (b"<< /Type /Annot /Subtype /Widget /FT /Sig /T (Sneaky) /Rect [60 680 360 700] /F 4 /P %d 0 R "
             b"/AP << /N %d 0 R >> >>" % (page, nxt + 1))
    acro_objs = {nxt: field, nxt + 1: ap, page: add_to_annots(get_obj(signed, page), b"%d 0 R" % nxt)}
    am = re.search(rb"/AcroForm\s+(\d+)\s+0\s+R", cat)
    if am:
        acro = get_obj(signed, int(am.group(1)))
        acro_objs[int(am.group(1))] = re.sub(rb"/Fields\s*\[", b"/Fields [%d 0 R " % nxt, acro, count=1)
    else:
        acro_objs[root] = cat.replace(b"/Type /Catalog", b"/Type /Catalog /AcroForm << /Fields [%d 0 R] /SigFlags 3 >>" % nxt, 1)
    emit(f"{tag}-sneaky-signature-p2", append_update(signed, acro_objs), L, 2, "changes",
         "signature-field-after-certification")
    # The same file without certification is a legitimate empty signature field — but it
    # paints over the text, so the visual diff must still see it.
    emit(f"{tag}-sneaky-signature-approval", append_update(signed, acro_objs), L, 0, "visual", "-")
    # The same widget drawn on screen only (no Print flag) or on paper only (Print + NoView):
    # the page comparison must look at both renderings, not just one of them.
    for suffix, flags in ((b"screen-only", b"/F 0"), (b"print-only", b"/F 36")):
        objs = dict(acro_objs)
        objs[nxt] = field.replace(b"/F 4", flags, 1)
        emit(f"{tag}-sneaky-signature-approval-{suffix.decode()}", append_update(signed, objs), L, 0,
             "visual", "-")

    # --- Signature wrapping (Mainka et al. 2019) --------------------------------------------
    # Move the second signed part to the end and re-point the ByteRange so that the gap,
    # which the signature does not cover, hides a new content stream and cross-reference.
    second = signed[ce:]
    evil_obj = b"\n%d 0 obj\n" % content_num + stream(EVIL) + b"\nendobj\n"
    head = signed[:cs] + signed[cs:ce]
    new_off = len(head) + len(evil_obj)
    wrapped_br = [0, br[1], new_off, len(second)]
    txt = b"/ByteRange [" + b" ".join(b"%d" % v for v in wrapped_br) + b"]"
    wrapped = head[:m.start()] + same_len(m.group(0), txt) + head[m.end():] + evil_obj + second
    emit(f"{tag}-siwa", wrapped, 0, 0, "core", "-")

    # --- Shadow hide, hide-and-replace need shadow bodies inside the signed bytes: see below.


def shadow_attacks(tag, signed, shadow_off):
    L = len(signed)
    xm = xref_map(signed)
    # hide: an xref-only revision points the content stream at the hidden body.
    emit(f"{tag}-shadow-hide", append_update(signed, {}, repoint={5: shadow_off[5]}), L, 0, "changes",
         "object-repointed")
    # re-point at an identical copy hidden in the signed bytes: nothing visible changes,
    # but the re-point is still refused.
    emit(f"{tag}-shadow-repoint-identical", append_update(signed, {}, repoint={6: shadow_off[6]}), L, 0,
         "changes", "object-repointed")
    # hide-and-replace: a new revision swaps the catalog's page tree for the hidden one.
    root = trailer_root(signed)
    cat = get_obj(signed, root)
    emit(f"{tag}-shadow-hide-and-replace", append_update(signed, {
        root: re.sub(rb"/Pages\s+\d+\s+0\s+R", b"/Pages 7 0 R", cat)}), L, 0, "changes", "catalog-changed")
    # the same, done only through the xref: the page tree object re-pointed at the hidden one.
    emit(f"{tag}-shadow-hide-pages-xref", append_update(signed, {}, repoint={2: xm[7]}), L, 0, "changes",
         "object-repointed")


def controls(tag, signed, pki):
    L = len(signed)
    root = trailer_root(signed)
    cat = get_obj(signed, root)
    nxt = max_obj(signed) + 1
    # B-LT style: a DSS added in its own revision.
    dss = {nxt: b"<< /Certs [%d 0 R] >>" % (nxt + 1),
           nxt + 1: stream(b"0\x82\x00\x00fake-cert-bytes"),
           root: cat.replace(b"/Type/Catalog", b"/Type/Catalog/DSS %d 0 R" % nxt, 1).replace(
               b"/Type /Catalog", b"/Type /Catalog /DSS %d 0 R" % nxt, 1)}
    emit(f"{tag}-control-dss", append_update(signed, dss), L, 0, "control", "dss-added")
    emit(f"{tag}-control-dss-xrefstm", append_update(signed, dss, xref_stream=True), L, 0, "control", "dss-added")
    # A second approval signature by podofosign (invisible, no DocMDP).
    src = os.path.join(OUT, f"{tag}-tmp.pdf")
    dst = os.path.join(OUT, f"{tag}-tmp2.pdf")
    with open(src, "wb") as f:
        f.write(signed)
    podofo_sign(src, dst, pki, visible=False)
    with open(dst, "rb") as f:
        emit(f"{tag}-control-second-signature", f.read(), L, 0, "control", "signature-added")
    # A visible second signature whose stamp lands on empty paper: allowed, and the
    # masked visual comparison must excuse exactly its stamp.
    os.unlink(dst)
    podofo_sign(src, dst, pki, visible=True, where="1,20,250,60,20")
    with open(dst, "rb") as f:
        emit(f"{tag}-control-second-signature-visible", f.read(), L, 0, "control", "signature-added")
    os.unlink(src)
    os.unlink(dst)


def certified_attacks(pki):
    """Letters certified by `tte sign --certify=N`: the DocMDP level is real."""
    letter = os.path.join(OUT, "letter.pdf")
    for level in (1, 2, 3):
        dst = os.path.join(OUT, f"tte-certified-p{level}.pdf")
        if not tte_sign(letter, dst, pki, f"--certify={level}"):
            return
    def load(level):
        with open(os.path.join(OUT, f"tte-certified-p{level}.pdf"), "rb") as f:
            return f.read()
    def podofo_on(data, name, visible):
        src = os.path.join(OUT, f"{name}-in.pdf")
        dst = os.path.join(OUT, f"{name}-out.pdf")
        with open(src, "wb") as f:
            f.write(data)
        podofo_sign(src, dst, pki, visible=visible)
        with open(dst, "rb") as f:
            out = f.read()
        os.unlink(src)
        os.unlink(dst)
        return out
    p1, p2, p3 = load(1), load(2), load(3)
    emit("tte-certified-p1-control", p1, len(p1), 1, "control", "-", 1)
    # P1: a later approval signature is already a forbidden change.
    emit("tte-certified-p1-second-signature", podofo_on(p1, "c1", False), len(p1), 1, "changes",
         "signature-added", 1)
    # P2: an invisible approval signature is what P2 permits ...
    emit("tte-certified-p2-second-signature", podofo_on(p2, "c2", False), len(p2), 2, "control",
         "signature-added", 1)
    # ... a visible one in a new field is the Sneaky Signature.
    emit("tte-certified-p2-sneaky-signature", podofo_on(p2, "c2v", True), len(p2), 2, "changes",
         "signature-field-after-certification", 1)
    # P3: an overlay annotation (Evil Annotation) over the certified text.
    page = page_obj(p3)
    nxt = max_obj(p3) + 1
    ap = stream(b"1 1 1 rg 0 0 300 20 re f 0 0 0 rg BT /Helv 11 Tf 2 6 Td (Biaya perjalanan: Rp 95.000.000) Tj ET",
                b"/Type /XObject /Subtype /Form /BBox [0 0 300 20] /Resources << /Font << /Helv 3 0 R >> >> ")
    annot = (b"<< /Type /Annot /Subtype /FreeText /Rect [60 680 360 700] /F 4 /P %d 0 R /AP << /N %d 0 R >> "
             b"/DA (/Helv 11 Tf 0 g) /Contents (x) >>" % (page, nxt + 1))
    emit("tte-certified-p3-evil-annotation", append_update(p3, {
        nxt: annot, nxt + 1: ap, page: add_to_annots(get_obj(p3, page), b"%d 0 R" % nxt)}), len(p3), 3,
        "changes", "annotation-overlay-added", 1)
    # P3: a sticky note is what P3 permits.
    note = b"<< /Type /Annot /Subtype /Text /Rect [20 800 40 820] /F 4 /P %d 0 R /Contents (Catatan) >>" % page
    emit("tte-certified-p3-sticky-note", append_update(p3, {
        nxt: note, page: add_to_annots(get_obj(p3, page), b"%d 0 R" % nxt)}), len(p3), 3, "control",
        "annotation-added", 1)


# --------------------------------------------------------------------------- FieldMDP

def fieldmdp_letter(pki, lock=None, reference=None, indirect_value=False, script=False):
    """A letter with a form — text fields "name" and "pay.amount" (a kid of "pay") and an
    approval signature field "sig1" — signed (openssl cms, adbe.pkcs7.detached) in the
    same revision.  lock: the /Lock dictionary of sig1; reference: TransformParams of a
    FieldMDP /Reference in the signature dictionary (podofosign writes neither).
    Returns (bytes, object numbers)."""
    objs = letter_plain()
    n = len(objs)
    nums = {"acroform": n + 1, "name": n + 2, "pay": n + 3, "amount": n + 4, "sig1": n + 5, "sigv": n + 6,
            "value": n + 7}
    nums["js"] = n + 8
    objs[0] = b"<< /Type /Catalog /Pages 2 0 R /AcroForm %d 0 R %s>>" % (
        nums["acroform"], b"/OpenAction << /S /JavaScript /JS %d 0 R >> " % nums["js"] if script else b"")
    objs.append(b"<< /Fields [%d 0 R %d 0 R %d 0 R] /SigFlags 3 /DA (/Helv 0 Tf 0 g) >>"
                % (nums["name"], nums["pay"], nums["sig1"]))
    objs.append(b"<< /FT /Tx /T (name) /V (Budi) >>")
    objs.append(b"<< /FT /Tx /T (pay) /Kids [%d 0 R] >>" % nums["amount"])
    value = b"%d 0 R" % nums["value"] if indirect_value else b"(1500000)"
    objs.append(b"<< /T (amount) /Parent %d 0 R /V %s >>" % (nums["pay"], value))
    objs.append(b"<< /FT /Sig /T (sig1) /V %d 0 R %s>>"
                % (nums["sigv"], (b"/Lock " + lock + b" ") if lock else b""))
    ref = (b"/Reference [<< /Type /SigRef /TransformMethod /FieldMDP /TransformParams %s >>] " % reference
           if reference else b"")
    objs.append(b"<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /adbe.pkcs7.detached "
                b"/ByteRange [0 0000000000 0000000000 0000000000] %s/Contents <%s> >>" % (ref, b"0" * HEX))
    objs.append(b"(1500000)")
    objs.append(b"(app.alert\\('Selamat datang'\\);)")
    data, _ = build_pdf(objs)
    # The placeholder /ByteRange, filled in place (same width): the signed range ends
    # where this revision ends.
    a = data.index(b"/Contents <" + b"0" * HEX) + len(b"/Contents ")
    b = a + HEX + 2
    br = b"[0 %010d %010d %010d]" % (a, b, len(data) - b)
    i = data.index(b"[0 0000000000 0000000000 0000000000]")
    data = data[:i] + br + data[i + len(br):]
    content = os.path.join(OUT, "fieldmdp-content.bin")
    der = os.path.join(OUT, "fieldmdp-sig.der")
    with open(content, "wb") as f:
        f.write(data[:a] + data[b:])
    run("openssl", "cms", "-sign", "-binary", "-md", "sha256", "-outform", "DER", "-in", content, "-out", der,
        "-signer", f"{pki}/signer.pem", "-inkey", f"{pki}/signer.key")
    with open(der, "rb") as f:
        sig = f.read().hex().encode()
    os.unlink(content)
    os.unlink(der)
    assert len(sig) <= HEX
    data = data[:a + 1] + sig + b"0" * (HEX - len(sig)) + data[b - 1:]
    return data, nums


HEX = 8192  # hex digits reserved for the CMS


def fieldmdp_cases(pki):
    """FieldMDP: a later revision may fill fields the signature left open, never one it
    locked (ISO 32000-1 12.8.2.4; the field's /Lock, 12.7.4.5)."""
    include = b"<< /Type /TransformParams /Action /Include /Fields [(pay.amount)] /V /1.2 >>"
    exclude = b"<< /Type /TransformParams /Action /Exclude /Fields [(name)] /V /1.2 >>"
    every = b"<< /Type /TransformParams /Action /All /V /1.2 >>"
    parent = b"<< /Type /TransformParams /Action /Include /Fields [(pay)] /V /1.2 >>"

    def fill(data, nums, field, value):
        body = get_obj(data, nums[field])
        return append_update(data, {nums[field]: re.sub(rb"/V \([^)]*\)", b"/V (" + value + b")", body)})

    d, nums = fieldmdp_letter(pki, reference=include)
    emit("fieldmdp-include-locked-filled", fill(d, nums, "amount", b"95000000"), len(d), 0, "changes",
         "locked-field-changed")
    emit("fieldmdp-include-open-filled", fill(d, nums, "name", b"Ani"), len(d), 0, "control", "form-filled")
    d, nums = fieldmdp_letter(pki, reference=exclude)
    emit("fieldmdp-exclude-open-filled", fill(d, nums, "name", b"Ani"), len(d), 0, "control", "form-filled")
    emit("fieldmdp-exclude-locked-filled", fill(d, nums, "amount", b"95000000"), len(d), 0, "changes",
         "locked-field-changed")
    d, nums = fieldmdp_letter(pki, reference=every)
    emit("fieldmdp-all-filled", fill(d, nums, "name", b"Ani"), len(d), 0, "changes", "locked-field-changed")
    # Locking "pay" locks its kid "pay.amount".
    d, nums = fieldmdp_letter(pki, reference=parent)
    emit("fieldmdp-parent-locks-kid", fill(d, nums, "amount", b"95000000"), len(d), 0, "changes",
         "locked-field-changed")
    # The field's /Lock alone (no FieldMDP reference in the signature) locks too.
    d, nums = fieldmdp_letter(pki, lock=b"<< /Type /SigFieldLock /Action /Include /Fields [(pay.amount)] >>")
    emit("fieldmdp-lock-dict-filled", fill(d, nums, "amount", b"95000000"), len(d), 0, "changes",
         "locked-field-changed")
    emit("fieldmdp-lock-dict-open-filled", fill(d, nums, "name", b"Ani"), len(d), 0, "control", "form-filled")
    # A locked field whose value is an indirect object: the value object rewritten.
    d, nums = fieldmdp_letter(pki, reference=include, indirect_value=True)
    emit("fieldmdp-indirect-value", append_update(d, {nums["value"]: b"(95000000)"}), len(d), 0, "changes",
         "locked-field-changed")
    # Not FieldMDP: an indirect string rewritten (qpdf unparses an indirect object as
    # "N G R", which once made every such rewrite look unchanged).
    d, nums = fieldmdp_letter(pki, script=True)
    emit("indirect-script-rewritten", append_update(d, {nums["js"]: b"(this.getField\\('pay.amount'\\).value = 95000000;)"}),
         len(d), 0, "changes", "unexplained-change")


def main():
    pki = make_pki()
    plain, _ = build_pdf(letter_plain())
    shadow_objs, shadows = letter_shadow()
    shadow_pdf, shadow_off = build_pdf(shadow_objs, shadows=shadows)
    for name, data in (("letter", plain), ("letter-shadow", shadow_pdf)):
        with open(os.path.join(OUT, name + ".pdf"), "wb") as f:
            f.write(data)
    podofo_sign(os.path.join(OUT, "letter.pdf"), os.path.join(OUT, "podofo-signed.pdf"), pki)
    podofo_sign(os.path.join(OUT, "letter-shadow.pdf"), os.path.join(OUT, "podofo-shadow-signed.pdf"), pki)
    with open(os.path.join(OUT, "podofo-signed.pdf"), "rb") as f:
        signed = f.read()
    with open(os.path.join(OUT, "podofo-shadow-signed.pdf"), "rb") as f:
        signed_shadow = f.read()
    attacks_on("podofo", signed, signed_shadow)
    shadow_attacks("podofo", signed_shadow, shadow_off)
    controls("podofo", signed, pki)
    fieldmdp_cases(pki)
    if tte_sign(os.path.join(OUT, "letter.pdf"), os.path.join(OUT, "tte-signed.pdf"), pki):
        with open(os.path.join(OUT, "tte-signed.pdf"), "rb") as f:
            tsigned = f.read()
        try:
            attacks_on("tte", tsigned, signed)
            certified_attacks(pki)
        except (AssertionError, ValueError, AttributeError, KeyError) as e:
            # tte may write xref streams, which this generator does not parse (yet).
            sys.stderr.write(f"tte-signed letter: attacks skipped: {e}\n")
    with open(os.path.join(OUT, "index.tsv"), "w") as f:
        for row in INDEX:
            f.write("\t".join(str(x) for x in row) + "\n")


main()
