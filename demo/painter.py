"""Paint a recognisable picture from a text prompt: the stand-in generator's "model".

Keywords in the prompt pick the sky (dawn, storm, night, sunset, day) and what stands in the
scene (sea, cliff, lighthouse, boat, harbour, fox, gulls); the seed moves the details, so a
regenerated scene is visibly a new image of the same idea. The caption is the prompt's first
sentence and the seed, printed on the picture.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 1024, 576
HORIZON = 330

Colour = tuple[int, int, int]


@dataclass(frozen=True)
class Sky:
    top: Colour
    bottom: Colour
    sea: Colour
    light: str  # "sun", "moon" or "none"


SKIES: dict[str, Sky] = {
    "dawn": Sky((120, 110, 190), (255, 180, 150), (90, 120, 170), "sun"),
    "storm": Sky((45, 50, 60), (110, 115, 125), (50, 65, 75), "none"),
    "night": Sky((8, 12, 40), (35, 45, 95), (15, 25, 55), "moon"),
    "sunset": Sky((90, 60, 140), (250, 140, 70), (80, 70, 120), "sun"),
    "day": Sky((70, 140, 230), (185, 220, 250), (40, 110, 180), "sun"),
}
SKY_WORDS = {"dawn": "dawn", "sunrise": "dawn", "storm": "storm", "night": "night",
             "sunset": "sunset", "dusk": "sunset", "evening": "sunset"}


def paint(prompt: str, seed: int, *, fmt: str = "JPEG") -> bytes:
    """The encoded picture (JPEG or PNG) for a prompt and seed, WIDTH x HEIGHT."""
    words = prompt.lower()
    rng = random.Random(seed)
    sky = SKIES[next((SKY_WORDS[w] for w in SKY_WORDS if w in words), "day")]
    image = Image.new("RGB", (WIDTH, HEIGHT))
    draw = ImageDraw.Draw(image)
    night = sky.light == "moon"

    _gradient(draw, sky.top, sky.bottom, 0, HORIZON)
    if night:
        _stars(draw, rng)
    _clouds(draw, rng, storm="storm" in words, night=night)
    _celestial(draw, sky, rng, words)
    _gradient(draw, sky.sea, (sky.sea[0] // 2, sky.sea[1] // 2, sky.sea[2] // 2), HORIZON, HEIGHT)
    _waves(draw, rng, rough="storm" in words)
    if "lighthouse" in words:
        _cliff_and_lighthouse(draw, beam=night or "storm" in words)
    if "harbour" in words or "harbor" in words:
        _harbour(draw, rng, lit=night or sky is SKIES["sunset"])
    if "boat" in words:
        _boat(draw, rng)
    if "fox" in words:
        _fox(draw, *((250, 300) if "lighthouse" in words else (300, HORIZON + 40)))
    if "gull" in words:
        _gulls(draw, rng)
    if "rain" in words or "storm" in words:
        _rain(draw, rng, lightning="lightning" in words)
    _caption(draw, prompt.split(".")[0], seed)

    out = io.BytesIO()
    image.save(out, fmt, quality=88) if fmt == "JPEG" else image.save(out, fmt)
    return out.getvalue()


def _gradient(draw: ImageDraw.ImageDraw, top: Colour, bottom: Colour, y0: int, y1: int) -> None:
    for y in range(y0, y1):
        draw.line([(0, y), (WIDTH, y)], fill=_mix(top, bottom, (y - y0) / max(1, y1 - y0 - 1)))


def _mix(a: Colour, b: Colour, t: float) -> Colour:
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


def _stars(draw: ImageDraw.ImageDraw, rng: random.Random) -> None:
    for _ in range(120):
        x, y, r = rng.randrange(WIDTH), rng.randrange(HORIZON - 40), rng.choice((1, 1, 2))
        draw.ellipse([x - r, y - r, x + r, y + r], fill=(255, 255, 230))


def _celestial(draw: ImageDraw.ImageDraw, sky: Sky, rng: random.Random, words: str) -> None:
    if sky.light == "moon":
        # High on the left, where a lighthouse beam (sweeping right) cannot hide it.
        x, y = rng.randrange(330, 520), 60
        draw.ellipse([x - 40, y - 40, x + 40, y + 40], fill=(245, 240, 200))
        # A disc of the sky's own colour there cuts the crescent.
        draw.ellipse([x - 22, y - 48, x + 58, y + 32], fill=_mix(sky.top, sky.bottom, (y - 8) / HORIZON))
    elif sky.light == "sun":
        low = any(w in words for w in ("dawn", "sunrise", "sunset", "dusk"))
        x, y = rng.randrange(560, 940), HORIZON - 40 if low else rng.randrange(60, 160)
        draw.ellipse([x - 55, y - 55, x + 55, y + 55], fill=(255, 225, 120))


def _clouds(draw: ImageDraw.ImageDraw, rng: random.Random, *, storm: bool, night: bool) -> None:
    colour = (70, 72, 80) if storm else (55, 62, 100) if night else (250, 250, 252)
    for _ in range(9 if storm else 3):
        x, y = rng.randrange(-50, WIDTH), rng.randrange(20, 200)
        for dx, dy, r in ((0, 0, 38), (40, -18, 45), (85, 0, 36), (45, 12, 40)):
            draw.ellipse([x + dx - r, y + dy - r, x + dx + r, y + dy + r], fill=colour)


def _waves(draw: ImageDraw.ImageDraw, rng: random.Random, *, rough: bool) -> None:
    for _ in range(70 if rough else 35):
        x, y = rng.randrange(WIDTH), rng.randrange(HORIZON + 10, HEIGHT)
        w = rng.randrange(20, 70 if rough else 40)
        draw.arc([x, y, x + w, y + w // 3], 200, 340, fill=(225, 235, 245), width=3 if rough else 2)


def _cliff_and_lighthouse(draw: ImageDraw.ImageDraw, *, beam: bool) -> None:
    draw.polygon([(0, HEIGHT), (0, 300), (120, 280), (300, 330), (380, HEIGHT)], fill=(80, 70, 60))
    base, top = 300, 120
    if beam:
        draw.polygon([(205, top + 25), (WIDTH, top - 60), (WIDTH, top + 80)], fill=(255, 245, 170))
    for i, y in enumerate(range(top + 40, base, 28)):
        colour = (200, 30, 40) if i % 2 == 0 else (245, 245, 245)
        draw.rectangle([180, y, 230, min(y + 28, base)], fill=colour)
    draw.rectangle([175, top + 10, 235, top + 40], fill=(255, 230, 120))  # lamp room
    draw.polygon([(170, top + 10), (205, top - 20), (240, top + 10)], fill=(60, 60, 70))


def _harbour(draw: ImageDraw.ImageDraw, rng: random.Random, *, lit: bool) -> None:
    draw.rectangle([0, HORIZON + 40, 420, HORIZON + 60], fill=(110, 80, 50))  # pier
    walls = ((180, 90, 70), (90, 120, 160), (200, 170, 90))
    for i, x in enumerate(range(20, 400, 95)):
        h = rng.randrange(60, 110)
        eaves = HORIZON + 40 - h
        draw.rectangle([x, eaves, x + 80, HORIZON + 40], fill=walls[i % 3])
        draw.polygon([(x - 5, eaves), (x + 40, eaves - 35), (x + 85, eaves)], fill=(70, 45, 40))
        window = (255, 220, 110) if lit else (60, 70, 90)
        draw.rectangle([x + 15, HORIZON + 10 - h // 2, x + 32, HORIZON + 26 - h // 2], fill=window)
        draw.rectangle([x + 48, HORIZON + 10 - h // 2, x + 65, HORIZON + 26 - h // 2], fill=window)


def _boat(draw: ImageDraw.ImageDraw, rng: random.Random) -> None:
    x, y = rng.randrange(480, 760), HORIZON + rng.randrange(50, 110)
    draw.polygon([(x, y), (x + 170, y), (x + 140, y + 40), (x + 25, y + 40)], fill=(140, 40, 30))
    draw.line([(x + 85, y), (x + 85, y - 120)], fill=(60, 40, 20), width=5)
    draw.polygon([(x + 90, y - 115), (x + 90, y - 10), (x + 160, y - 10)], fill=(250, 245, 230))


def _fox(draw: ImageDraw.ImageDraw, x: int, y: int) -> None:
    orange, white = (235, 120, 30), (250, 250, 250)
    draw.ellipse([x, y - 30, x + 60, y], fill=orange)  # body
    draw.polygon([(x + 50, y - 30), (x + 85, y - 45), (x + 80, y - 15)], fill=orange)  # head
    draw.polygon([(x + 65, y - 40), (x + 70, y - 60), (x + 78, y - 42)], fill=orange)  # ear
    draw.polygon([(x + 5, y - 15), (x - 40, y - 35), (x - 20, y - 5)], fill=orange)  # tail
    draw.polygon([(x - 40, y - 35), (x - 28, y - 30), (x - 33, y - 24)], fill=white)  # tail tip


def _gulls(draw: ImageDraw.ImageDraw, rng: random.Random) -> None:
    for _ in range(6):
        x, y = rng.randrange(300, 950), rng.randrange(60, 240)
        draw.line([(x, y), (x + 14, y + 8), (x + 28, y)], fill=(40, 40, 50), width=3)


def _rain(draw: ImageDraw.ImageDraw, rng: random.Random, *, lightning: bool) -> None:
    for _ in range(260):
        x, y = rng.randrange(WIDTH), rng.randrange(HEIGHT)
        draw.line([(x, y), (x - 6, y + 18)], fill=(170, 185, 200), width=1)
    if lightning:
        x = rng.randrange(450, 900)
        draw.line([(x, 60), (x - 30, 150), (x + 10, 160), (x - 25, 280)], fill=(255, 255, 200), width=6)


def _caption(draw: ImageDraw.ImageDraw, title: str, seed: int) -> None:
    font = ImageFont.load_default(size=34)
    small = ImageFont.load_default(size=18)
    draw.rectangle([0, HEIGHT - 64, WIDTH, HEIGHT], fill=(0, 0, 0))
    draw.text((24, HEIGHT - 52), title[:60], font=font, fill=(255, 255, 255))
    draw.text((WIDTH - 140, HEIGHT - 40), f"seed {seed}", font=small, fill=(200, 200, 200))
