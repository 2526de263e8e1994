"""Test images: real ones made by Pillow (`make_image`), and hand-built hostile or edge-case
files: `minimal_avif` (a structurally valid AVIF container), `png_bomb` and `gif_bomb` (tiny
files declaring huge dimensions), `polyglot` (an image with HTML appended).
"""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

PILLOW_FORMATS = {
    "jpg": "JPEG",
    "png": "PNG",
    "gif": "GIF",
    "webp": "WEBP",
    "avif": "AVIF",
}


def make_image(
    extension: str, size: tuple[int, int] = (64, 48), mode: str = "RGB", **save: Any
) -> bytes:
    """A real image written by Pillow: a gradient, so encoders produce ordinary files."""
    from PIL import Image

    width, height = size
    image = Image.new(mode, size)
    image.putdata(
        [
            (x * 255 // width, y * 255 // height, 128, 200)[: len(mode)]
            for y in range(height)
            for x in range(width)
        ]
    )
    if extension == "gif":
        image = image.convert("P")
    out = io.BytesIO()
    image.save(out, format=PILLOW_FORMATS[extension], **save)
    return out.getvalue()


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _full_box(kind: bytes, payload: bytes, version: int = 0, flags: int = 0) -> bytes:
    return _box(kind, struct.pack(">I", (version << 24) | flags) + payload)


def minimal_avif(
    width: int, height: int, payload: bytes = b"\x12\x00\x0a\x0a"
) -> bytes:
    """A hand-built AVIF container: ftyp, meta (hdlr, pitm, iloc, iinf, iprp/ipco/ispe,
    ipma) and mdat. Structurally valid for the sniffer; `payload` is not a decodable AV1."""
    ftyp = _box(b"ftyp", b"avif" + struct.pack(">I", 0) + b"avifmif1miaf")
    hdlr = _full_box(b"hdlr", struct.pack(">I", 0) + b"pict" + bytes(12) + b"\0")
    pitm = _full_box(b"pitm", struct.pack(">H", 1))
    infe = _full_box(b"infe", struct.pack(">HH", 1, 0) + b"av01" + b"\0", version=2)
    iinf = _full_box(b"iinf", struct.pack(">H", 1) + infe)
    ispe = _full_box(b"ispe", struct.pack(">II", width, height))
    ipma = _full_box(b"ipma", struct.pack(">IHBB", 1, 1, 1, 0x81))
    iprp = _box(b"iprp", _box(b"ipco", ispe) + ipma)

    def meta_with(offset: int) -> bytes:
        # iloc v0: offset_size 4, length_size 4, base_offset_size 0; one item, one extent.
        iloc = _full_box(
            b"iloc",
            struct.pack(">BBHHHHII", 0x44, 0x00, 1, 1, 0, 1, offset, len(payload)),
        )
        return _full_box(b"meta", hdlr + pitm + iloc + iinf + iprp)

    head = len(ftyp) + len(meta_with(0)) + 8
    return ftyp + meta_with(head) + _box(b"mdat", payload)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data))
    )


def png_bomb(width: int = 50000, height: int = 50000) -> bytes:
    """A tiny, structurally valid PNG whose IHDR declares width × height."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def gif_bomb(width: int = 50000, height: int = 50000) -> bytes:
    """A tiny, structurally valid GIF whose logical screen is width × height."""
    screen = struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    return b"GIF89a" + screen + frame + b"\x3b"


def polyglot(
    image: bytes,
    payload: bytes = b"<html><script>alert(document.domain)</script></html>",
) -> bytes:
    """An image with HTML appended (the classic image/HTML polyglot)."""
    return image + payload
