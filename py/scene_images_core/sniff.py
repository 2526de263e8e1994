"""Recognise an image from its bytes alone: type, dimensions and a structure check.

The Content-Type header of the source is never trusted; Supabase Storage serves whatever type
we give it, so the type must come from here. Each parser walks the whole container structure
to refuse truncated files and trailing data (image + HTML/ZIP polyglots), then checks the
declared size against max_pixels (decompression bombs) — without decoding pixels. The size
check comes last so that garbage behind a magic number is reported as not an image.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

from .errors import ImageTooLarge, SourceNotAnImage


@dataclass(frozen=True)
class ImageInfo:
    content_type: str
    extension: str
    width: int
    height: int


class _Corrupt(Exception):
    """A structural problem; becomes SourceNotAnImage with the format named."""


PixelCheck = Callable[[int, int], None]
Parser = Callable[[bytes, PixelCheck], tuple[int, int]]

# Markup that browsers or servers could act on, hidden in a structurally valid image.
_MARKUP = re.compile(
    rb"<(?:script|html|body|iframe|svg|!doctype|\?php)[\s>/]", re.IGNORECASE
)


def inspect_image(data: bytes, max_pixels: int, *, url: str | None = None) -> ImageInfo:
    """Type and size of a complete JPEG, PNG, GIF, WebP or AVIF image. Raises
    SourceNotAnImage for anything else (empty, unknown, truncated, corrupt, polyglot) and
    ImageTooLarge when width × height > max_pixels."""
    if not data:
        raise SourceNotAnImage("the body is empty", url=url)
    found = _detect(data)
    if found is None:
        raise SourceNotAnImage(
            f"not a JPEG, PNG, GIF, WebP or AVIF image (starts with {_preview(data)})",
            url=url,
        )
    content_type, extension, parser = found

    def check(width: int, height: int) -> None:
        if width * height > max_pixels:
            raise ImageTooLarge(
                f"{width}x{height} image has {width * height} pixels, over max_pixels {max_pixels}",
                url=url,
            )

    name = extension.upper()
    try:
        width, height = parser(data, check)
    except _Corrupt as exc:
        raise SourceNotAnImage(f"{name} structure is invalid: {exc}", url=url) from None
    except (IndexError, struct.error):
        raise SourceNotAnImage(f"{name} image is truncated", url=url) from None
    if _MARKUP.search(data):
        raise SourceNotAnImage(
            f"{name} image contains HTML/script markup (polyglot)", url=url
        )
    return ImageInfo(content_type, extension, width, height)


def _detect(data: bytes) -> tuple[str, str, Parser] | None:
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "jpg", _jpeg
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", "png", _png
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif", "gif", _gif
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "image/webp", "webp", _webp
    if data[4:8] == b"ftyp":
        return "image/avif", "avif", _avif
    return None


def _preview(data: bytes) -> str:
    head = data[:16]
    return repr(bytes(b if 32 <= b < 127 else 0x2E for b in head).decode("ascii"))


# --- JPEG: markers up to the first scan, then the EOI marker at the very end ---

_SOF_MARKERS = frozenset(
    {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
)


def _jpeg(data: bytes, check: PixelCheck) -> tuple[int, int]:
    pos = 2
    size: tuple[int, int] | None = None
    while True:
        if data[pos] != 0xFF:
            raise _Corrupt(f"expected a marker at offset {pos}")
        while data[pos] == 0xFF:  # fill bytes
            pos += 1
        marker = data[pos]
        pos += 1
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            continue
        if marker in (0xD8, 0xD9):
            raise _Corrupt("SOI/EOI marker before the image data")
        (length,) = struct.unpack_from(">H", data, pos)
        if length < 2 or pos + length > len(data):
            raise _Corrupt(f"segment at offset {pos} runs past the end")
        if marker in _SOF_MARKERS:
            if length < 8:
                raise _Corrupt("frame header too short")
            height, width = struct.unpack_from(">HH", data, pos + 3)
            if not width or not height:
                raise _Corrupt("frame header declares a zero dimension")
            size = (width, height)
        pos += length
        if marker == 0xDA:  # start of scan: entropy-coded data follows
            break
    if size is None:
        raise _Corrupt("no frame header before the scan")
    eoi = data.rfind(b"\xff\xd9", pos)
    # Encoders may pad with zero bytes after EOI; anything else is truncation or a payload.
    if eoi < 0 or data.count(b"\0", eoi + 2) != len(data) - eoi - 2:
        raise _Corrupt("does not end with an EOI marker (truncated, or data appended)")
    check(*size)
    return size


# --- PNG: IHDR first, every chunk's CRC, IDAT present, IEND exactly at the end ---


def _png(data: bytes, check: PixelCheck) -> tuple[int, int]:
    if data[8:16] != b"\x00\x00\x00\x0dIHDR":
        raise _Corrupt("IHDR is not the first chunk")
    width, height = struct.unpack_from(">II", data, 16)
    if not (0 < width < 1 << 31 and 0 < height < 1 << 31):
        raise _Corrupt("IHDR declares an invalid size")
    pos, seen_idat = 8, False
    with memoryview(data) as view:
        while True:
            length, kind = struct.unpack_from(">I4s", data, pos)
            end = pos + 12 + length
            if length >= 1 << 31 or end > len(data):
                raise _Corrupt(f"chunk at offset {pos} runs past the end")
            if not kind.isalpha():
                raise _Corrupt(f"bad chunk type at offset {pos}")
            (crc,) = struct.unpack_from(">I", data, end - 4)
            if zlib.crc32(view[pos + 4 : end - 4]) != crc:
                raise _Corrupt(f"{kind.decode()} chunk CRC mismatch")
            if kind == b"IHDR" and pos != 8:
                raise _Corrupt("second IHDR chunk")
            seen_idat = seen_idat or kind == b"IDAT"
            pos = end
            if kind == b"IEND":
                break
    if not seen_idat:
        raise _Corrupt("no IDAT chunk")
    if pos != len(data):
        raise _Corrupt("data after IEND")
    check(width, height)
    return width, height


# --- GIF: logical screen, every block and sub-block, trailer exactly at the end ---


def _gif(data: bytes, check: PixelCheck) -> tuple[int, int]:
    width, height, flags = struct.unpack_from("<HHB", data, 6)
    if not width or not height:
        raise _Corrupt("logical screen declares a zero dimension")
    pos = 13 + _color_table_size(flags)
    frames: list[tuple[int, int]] = []
    while True:
        block = data[pos]
        if block == 0x3B:  # trailer
            pos += 1
            break
        if block == 0x21:  # extension: introducer, label, sub-blocks
            pos = _skip_sub_blocks(data, pos + 2)
        elif block == 0x2C:  # image descriptor
            frame_w, frame_h, frame_flags = struct.unpack_from("<HHB", data, pos + 5)
            pos += 10 + _color_table_size(frame_flags) + 1  # + LZW minimum code size
            pos = _skip_sub_blocks(data, pos)
            frames.append((frame_w, frame_h))
        else:
            raise _Corrupt(f"unknown block 0x{block:02x} at offset {pos}")
    if not frames:
        raise _Corrupt("no image in the file")
    if pos != len(data):
        raise _Corrupt("data after the trailer")
    check(width, height)
    for (
        frame
    ) in frames:  # decoders may size the canvas by a frame larger than the screen
        check(*frame)
    return width, height


def _color_table_size(flags: int) -> int:
    return 3 * (2 << (flags & 7)) if flags & 0x80 else 0


def _skip_sub_blocks(data: bytes, pos: int) -> int:
    while True:
        size = data[pos]
        pos += 1 + size
        if size == 0:
            return pos
        if pos > len(data):
            raise IndexError(pos)


# --- WebP: RIFF size equals the file, chunks tile it, first chunk gives the canvas ---


def _webp(data: bytes, check: PixelCheck) -> tuple[int, int]:
    (riff_size,) = struct.unpack_from("<I", data, 4)
    if riff_size + 8 > len(data):
        raise IndexError(riff_size)
    if riff_size + 8 != len(data):
        raise _Corrupt("data after the RIFF container")
    pos = 12
    size: tuple[int, int] | None = None
    has_image = False
    while pos < len(data):
        kind, length = struct.unpack_from("<4sI", data, pos)
        body, end = pos + 8, pos + 8 + length
        if end > len(data):
            raise IndexError(end)
        if size is None:
            size = _webp_canvas(kind, data[body : min(end, body + 10)])
            if not size[0] or not size[1]:
                raise _Corrupt("canvas declares a zero dimension")
        has_image = has_image or kind in (b"VP8 ", b"VP8L", b"ANMF")
        pos = end + (length & 1)  # chunks are padded to even sizes
    if pos != len(data):
        raise _Corrupt("chunk padding runs past the RIFF container")
    if size is None or not has_image:
        raise _Corrupt("no image data chunk")
    check(*size)
    return size


def _webp_canvas(kind: bytes, head: bytes) -> tuple[int, int]:
    if kind == b"VP8 ":  # lossy: frame tag, start code, 14-bit sizes
        if head[3:6] != b"\x9d\x01\x2a":
            raise _Corrupt("VP8 start code missing")
        width, height = struct.unpack_from("<HH", head, 6)
        return width & 0x3FFF, height & 0x3FFF
    if kind == b"VP8L":  # lossless: signature byte, 14-bit sizes minus one
        if head[0] != 0x2F:
            raise _Corrupt("VP8L signature missing")
        (bits,) = struct.unpack_from("<I", head, 1)
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if kind == b"VP8X":  # extended: 24-bit canvas sizes minus one
        if len(head) < 10:
            raise _Corrupt("VP8X chunk too short")
        return int.from_bytes(head[4:7], "little") + 1, int.from_bytes(
            head[7:10], "little"
        ) + 1
    raise _Corrupt(f"first chunk is {kind!r}, not VP8/VP8L/VP8X")


# --- AVIF: ISO-BMFF boxes tile the file; ftyp brand avif/avis; size from meta/iprp/ipco/ispe ---

_AVIF_BRANDS = (b"avif", b"avis")


def _avif(data: bytes, check: PixelCheck) -> tuple[int, int]:
    boxes = _boxes(data, 0, len(data))
    kind, body, end = boxes[0]
    brands = [data[i : i + 4] for i in range(body + 8, end, 4)] + [
        data[body : body + 4]
    ]
    if kind != b"ftyp" or not any(b in _AVIF_BRANDS for b in brands):
        raise _Corrupt("ftyp does not name the avif or avis brand")
    metas = [(b, e) for k, b, e in boxes if k == b"meta"]
    if not metas or not any(k == b"mdat" for k, _, _ in boxes):
        raise _Corrupt("meta or mdat box missing")
    meta_body, meta_end = metas[0]
    sizes = [
        # After the FullBox header (version, flags): width, height.
        struct.unpack_from(">II", data, ispe_body + 4)
        for ispe_body, _ in _find(
            data, meta_body + 4, meta_end, [b"iprp", b"ipco", b"ispe"]
        )
    ]
    if not sizes:
        raise _Corrupt("no ispe (image size) property")
    # The primary item is the largest (thumbnails and grid tiles are smaller).
    width, height = max(sizes, key=lambda s: s[0] * s[1])
    if not width or not height:
        raise _Corrupt("ispe declares a zero dimension")
    check(width, height)
    return width, height


def _boxes(data: bytes, pos: int, end: int) -> list[tuple[bytes, int, int]]:
    found: list[tuple[bytes, int, int]] = []
    while pos < end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif size == 0:  # box extends to the end of its container
            size = end - pos
        if size < header:
            raise _Corrupt(f"box {kind!r} at offset {pos} has an invalid size")
        if pos + size > end:
            raise IndexError(pos + size)
        found.append((kind, pos + header, pos + size))
        pos += size
    return found


def _find(data: bytes, pos: int, end: int, path: list[bytes]) -> list[tuple[int, int]]:
    """Bodies of the boxes reached by following `path` (box types) from a container body."""
    matches = [(b, e) for k, b, e in _boxes(data, pos, end) if k == path[0]]
    if len(path) == 1:
        return matches
    return [found for b, e in matches for found in _find(data, b, e, path[1:])]
