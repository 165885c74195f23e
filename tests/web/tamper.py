#!/usr/bin/env python3
"""tamper.py IN.pdf OUT.pdf — append an incremental update that changes page 1's text.

What a forger would do to a signed letter: keep the signed bytes, append a new version
of the page's content stream (here: another meeting date and place) and a cross-reference
section pointing back to the original.  Uses the qpdf command-line tool to read objects.
"""
import re
import subprocess
import sys


def qpdf(*args):
    return subprocess.run(["qpdf", *args], check=True, capture_output=True).stdout


def main():
    src, dst = sys.argv[1], sys.argv[2]
    data = open(src, "rb").read()
    pages = qpdf("--show-pages", src).decode()
    m = re.search(r"page 1: \d+ \d+ R\s+content:\s+(\d+) (\d+) R", pages)
    if not m:
        sys.exit("tamper.py: cannot find page 1's content stream")
    num, gen = int(m.group(1)), int(m.group(2))
    content = qpdf("--show-object=%d,%d" % (num, gen), "--filtered-stream-data", src)
    changed = content
    for old, new in [(b"Kamis, 3 Desember 2026", b"Kamis, 31 Desember 2026"),
                     (b"Ruang Rapat Dinas Komunikasi dan Informatika", b"Lombok Timur")]:
        changed = changed.replace(old, new)
    # Whatever the letter says, also strike a bar through the page: always a visible change.
    changed += b"\nq 0.8 0 0 rg 60 420 200 6 re f Q\n"
    trailer = qpdf("--show-object=trailer", src).decode()
    size = int(re.search(r"/Size (\d+)", trailer).group(1))
    root = re.search(r"/Root (\d+ \d+ R)", trailer).group(1)
    info = re.search(r"/Info (\d+ \d+ R)", trailer)
    prev = int(re.findall(rb"startxref\s+(\d+)", data)[-1])

    out = bytearray(data)
    if not out.endswith(b"\n"):
        out += b"\n"
    offset = len(out)
    out += b"%d %d obj\n<< /Length %d >>\nstream\n" % (num, gen, len(changed))
    out += changed + b"\nendstream\nendobj\n"
    xref = len(out)
    out += b"xref\n0 1\n0000000000 65535 f \n%d 1\n%010d %05d n \n" % (num, offset, gen)
    out += b"trailer\n<< /Size %d /Root %s%s /Prev %d >>\n" % (
        size, root.encode(), (b" /Info " + info.group(1).encode()) if info else b"", prev)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    open(dst, "wb").write(out)


if __name__ == "__main__":
    main()
