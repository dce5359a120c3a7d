"""File contents shared by the attachment tests: a photo and a PDF."""

from __future__ import annotations

# Not real JPEG/PDF data, but bytes no text encoding would carry through unchanged.
PHOTO = b"\xff\xd8\xff\xe0JFIF\x00" + bytes(range(256)) * 40
PDF = b"%PDF-1.7\n" + bytes(range(255, -1, -1)) * 25
