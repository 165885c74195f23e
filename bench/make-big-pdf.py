#!/usr/bin/env python3
"""make-big-pdf.py OUT SIZE_MB — write a valid one-page PDF of about SIZE_MB megabytes.

The bulk is an image XObject of incompressible bytes drawn on the page, so the file is a
real, renderable PDF (classic xref table) and a signer must hash every byte of it."""
import os
import sys


def main():
    out, size_mb = sys.argv[1], int(sys.argv[2])
    side = 1
    while side * side * 3 < size_mb * 1024 * 1024:
        side *= 2
    # Shrink the height so the pixel data is close to the requested size.
    height = max(1, (size_mb * 1024 * 1024) // (side * 3))
    data_len = side * height * 3
    offsets = []
    with open(out, "wb") as f:
        def obj(body: bytes):
            offsets.append(f.tell())
            f.write(b"%d 0 obj\n" % len(offsets) + body + b"\nendobj\n")

        f.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        obj(b"<< /Type /Catalog /Pages 2 0 R >>")
        obj(b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
        obj(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
            b"/Resources << /XObject << /Im1 5 0 R >> >> /Contents 4 0 R >>")
        content = b"q 500 0 0 700 47 71 cm /Im1 Do Q"
        obj(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
        offsets.append(f.tell())
        f.write(b"5 0 obj\n<< /Type /XObject /Subtype /Image /Width %d /Height %d "
                b"/ColorSpace /DeviceRGB /BitsPerComponent 8 /Length %d >>\nstream\n"
                % (side, height, data_len))
        left = data_len
        chunk = 1 << 20
        while left > 0:
            n = min(chunk, left)
            f.write(os.urandom(n))
            left -= n
        f.write(b"\nendstream\nendobj\n")
        xref = f.tell()
        f.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1))
        for off in offsets:
            f.write(b"%010d 00000 n \n" % off)
        f.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
                % (len(offsets) + 1, xref))


if __name__ == "__main__":
    main()
