"""The sniffer: real images recognised, everything else refused, bombs stopped."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from images import gif_bomb, make_image, minimal_avif, png_bomb, polyglot
from sources import HTML_PAGE, XML_ERROR

from scene_images_core.errors import ImageTooLarge, SourceNotAnImage
from scene_images_core.sniff import ImageInfo, inspect_image

LIMIT = 100_000_000


@pytest.mark.parametrize(
    ("extension", "content_type", "options"),
    [
        ("jpg", "image/jpeg", {}),
        ("jpg", "image/jpeg", {"progressive": True}),
        ("png", "image/png", {}),
        ("gif", "image/gif", {}),
        ("webp", "image/webp", {}),  # VP8 (lossy)
        ("webp", "image/webp", {"lossless": True}),  # VP8L
        ("avif", "image/avif", {}),
    ],
)
def test_inspect_image_recognises_pillow_images(
    extension: str, content_type: str, options: dict[str, Any]
) -> None:
    data = make_image(extension, (123, 45), **options)
    assert inspect_image(data, LIMIT) == ImageInfo(content_type, extension, 123, 45)


def test_inspect_image_reads_webp_extended_canvas() -> None:
    data = make_image("webp", (70, 30), mode="RGBA")
    assert data[12:16] == b"VP8X"
    assert inspect_image(data, LIMIT) == ImageInfo("image/webp", "webp", 70, 30)


def test_inspect_image_reads_hand_built_avif() -> None:
    assert inspect_image(minimal_avif(640, 480), LIMIT) == ImageInfo(
        "image/avif", "avif", 640, 480
    )


def test_inspect_image_tolerates_zero_padding_after_jpeg_eoi() -> None:
    data = make_image("jpg") + b"\0" * 100
    assert inspect_image(data, LIMIT).extension == "jpg"


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("empty", b""),
        ("html", HTML_PAGE),
        ("xml error", XML_ERROR),
        ("json error", b'{"error": "expired"}'),
        ("text", b"not an image"),
        (
            "svg",
            b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>',
        ),
        ("bmp", b"BM" + bytes(60)),
        ("jpeg magic then html", b"\xff\xd8\xff" + HTML_PAGE),
        ("png magic then html", b"\x89PNG\r\n\x1a\n" + HTML_PAGE),
        ("gif magic then html", b"GIF89a" + HTML_PAGE),
        (
            "webp magic then html",
            b"RIFF" + struct.pack("<I", len(HTML_PAGE) + 4) + b"WEBP" + HTML_PAGE,
        ),
        ("avif magic then html", b"\0\0\0\x1cftypavif" + HTML_PAGE),
        ("mp4 ftyp", b"\0\0\0\x18ftypisom\0\0\0\0isomiso2" + b"\0\0\0\x08mdat"),
    ],
)
def test_inspect_image_refuses_non_images(name: str, data: bytes) -> None:
    with pytest.raises(SourceNotAnImage) as caught:
        inspect_image(data, LIMIT, url="https://cdn.test/out.png")
    assert caught.value.sqlstate == "SII01"
    assert caught.value.message.startswith("https://cdn.test/out.png: ")


@pytest.mark.parametrize("extension", ["jpg", "png", "gif", "webp", "avif"])
def test_inspect_image_refuses_truncated_images(extension: str) -> None:
    data = make_image(extension, (64, 64))
    for cut in (len(data) // 2, len(data) - 1, 30):
        with pytest.raises(SourceNotAnImage):
            inspect_image(data[:cut], LIMIT)


@pytest.mark.parametrize("extension", ["jpg", "png", "gif", "webp", "avif"])
def test_inspect_image_refuses_polyglots(extension: str) -> None:
    with pytest.raises(SourceNotAnImage):
        inspect_image(polyglot(make_image(extension)), LIMIT)
    with pytest.raises(SourceNotAnImage):
        inspect_image(
            make_image(extension) + b"PK\x03\x04" + bytes(30), LIMIT
        )  # image + ZIP


def test_inspect_image_refuses_markup_inside_a_valid_image() -> None:
    png = make_image("png")
    chunk_data = b"Comment\0<script>alert(1)</script>"
    import zlib

    text = (
        struct.pack(">I", len(chunk_data))
        + b"tEXt"
        + chunk_data
        + struct.pack(">I", zlib.crc32(b"tEXt" + chunk_data))
    )
    with_markup = png[:33] + text + png[33:]  # after IHDR
    with pytest.raises(SourceNotAnImage, match="polyglot"):
        inspect_image(with_markup, LIMIT)


def test_inspect_image_checks_png_crc() -> None:
    data = bytearray(make_image("png"))
    data[-20] ^= 0xFF  # inside the last IDAT's data (IEND is 12 bytes, the IDAT CRC 4)
    with pytest.raises(SourceNotAnImage, match="CRC"):
        inspect_image(bytes(data), LIMIT)


@pytest.mark.parametrize(
    "data",
    [png_bomb(50000, 50000), gif_bomb(50000, 50000), minimal_avif(50000, 50000)],
    ids=["png", "gif", "avif"],
)
def test_inspect_image_stops_pixel_bombs(data: bytes) -> None:
    with pytest.raises(ImageTooLarge) as caught:
        inspect_image(data, LIMIT)
    assert caught.value.sqlstate == "SII02"
    assert "50000x50000" in caught.value.message


def test_inspect_image_max_pixels_is_inclusive() -> None:
    data = make_image("jpg", (100, 50))
    assert inspect_image(data, 5000).width == 100
    with pytest.raises(ImageTooLarge):
        inspect_image(data, 4999)


def test_inspect_image_bomb_headers_are_otherwise_valid() -> None:
    # So the bomb tests prove the pixel limit, not a structure error.
    assert inspect_image(png_bomb(10, 10), LIMIT).width == 10
    assert inspect_image(gif_bomb(10, 10), LIMIT).width == 10


@settings(max_examples=300)
@given(st.binary(max_size=300))
def test_inspect_image_only_ever_raises_its_own_errors(data: bytes) -> None:
    try:
        inspect_image(data, LIMIT)
    except (SourceNotAnImage, ImageTooLarge):
        pass


@settings(max_examples=200)
@given(st.sampled_from(["jpg", "png", "gif", "webp", "avif"]), st.data())
def test_inspect_image_survives_corrupted_real_images(
    extension: str, data: st.DataObject
) -> None:
    image = bytearray(make_image(extension, (16, 16)))
    position = data.draw(st.integers(0, len(image) - 1))
    image[position] = data.draw(st.integers(0, 255))
    try:
        info = inspect_image(bytes(image), LIMIT)
    except (SourceNotAnImage, ImageTooLarge):
        return
    assert info.width > 0 and info.height > 0
