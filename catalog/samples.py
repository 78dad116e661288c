"""A sample catalog generator: procedurally drawn product-like photos.

The project ships no photos, so `make demo` and the tests draw their own: a
few product classes, JPEG and PNG at varied sizes, some stored rotated with an
EXIF orientation tag (as phones do), some under the wrong extension, and a few
deliberately broken files. Deterministic for a given seed.
"""

from __future__ import annotations

import csv
import io
import random
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

CLASSES = ("bottle", "lamp", "mug", "shirt")

Color = tuple[int, int, int]


def _rand_color(rng: random.Random) -> Color:
    return (rng.randint(20, 230), rng.randint(20, 230), rng.randint(20, 230))


def _bottle(d: ImageDraw.ImageDraw, s: int, rng: random.Random, c: Color) -> None:
    cx = s // 2 + rng.randint(-s // 10, s // 10)
    bw = int(s * rng.uniform(0.18, 0.28))
    top = int(s * rng.uniform(0.28, 0.38))
    d.rounded_rectangle((cx - bw, top, cx + bw, int(s * 0.9)), radius=bw // 2, fill=c)
    nw = max(2, bw // 3)
    d.rectangle((cx - nw, int(s * 0.1), cx + nw, top + 5), fill=c)
    d.rectangle((cx - nw - 2, int(s * 0.08), cx + nw + 2, int(s * 0.14)), fill=(40, 40, 40))


def _lamp(d: ImageDraw.ImageDraw, s: int, rng: random.Random, c: Color) -> None:
    cx = s // 2 + rng.randint(-s // 10, s // 10)
    top = int(s * rng.uniform(0.1, 0.2))
    shade_h = int(s * 0.3)
    w_top, w_bot = int(s * 0.12), int(s * rng.uniform(0.25, 0.33))
    d.polygon(
        [
            (cx - w_top, top),
            (cx + w_top, top),
            (cx + w_bot, top + shade_h),
            (cx - w_bot, top + shade_h),
        ],
        fill=c,
    )
    d.rectangle((cx - 3, top + shade_h, cx + 3, int(s * 0.85)), fill=(60, 60, 60))
    d.ellipse(
        (cx - int(s * 0.18), int(s * 0.82), cx + int(s * 0.18), int(s * 0.9)), fill=(60, 60, 60)
    )


def _mug(d: ImageDraw.ImageDraw, s: int, rng: random.Random, c: Color) -> None:
    cx = s // 2 + rng.randint(-s // 12, s // 12) - s // 12
    w = int(s * rng.uniform(0.22, 0.3))
    top, bot = int(s * 0.3), int(s * 0.78)
    hw = max(4, s // 25)
    d.ellipse(
        (cx + w - s // 10, top + s // 12, cx + w + s // 7, bot - s // 12), outline=c, width=hw
    )
    d.rectangle((cx - w, top, cx + w, bot), fill=c)
    d.ellipse((cx - w, top - s // 20, cx + w, top + s // 20), fill=(30, 30, 30))


def _shirt(d: ImageDraw.ImageDraw, s: int, rng: random.Random, c: Color) -> None:
    cx = s // 2 + rng.randint(-s // 12, s // 12)
    b = int(s * rng.uniform(0.18, 0.24))
    top, bot = int(s * 0.2), int(s * 0.88)
    sl = int(s * rng.uniform(0.15, 0.22))
    d.polygon(
        [
            (cx - b, top),
            (cx - b - sl, top + sl),
            (cx - b - sl // 2, top + int(sl * 1.5)),
            (cx - b, top + sl),
            (cx - b, bot),
            (cx + b, bot),
            (cx + b, top + sl),
            (cx + b + sl // 2, top + int(sl * 1.5)),
            (cx + b + sl, top + sl),
            (cx + b, top),
            (cx + b // 3, top),
            (cx, top + b // 3),
            (cx - b // 3, top),
        ],
        fill=c,
    )


DRAWERS: dict[str, Callable[[ImageDraw.ImageDraw, int, random.Random, Color], None]] = {
    "bottle": _bottle,
    "lamp": _lamp,
    "mug": _mug,
    "shirt": _shirt,
}


def draw_product(label: str, rng: random.Random) -> Image.Image:
    """One product shot: light background, the object, mild blur and noise."""
    s = 256
    bg = rng.randint(215, 255)
    im = Image.new("RGB", (s, s), (bg, bg, min(255, bg + rng.randint(-10, 10))))
    d = ImageDraw.Draw(im)
    # a few background distractors (shelf line, spots)
    if rng.random() < 0.5:
        y = rng.randint(int(s * 0.85), s - 5)
        d.line((0, y, s, y), fill=(bg - 40, bg - 40, bg - 40), width=3)
    DRAWERS[label](d, s, rng, _rand_color(rng))
    im = im.rotate(rng.uniform(-8, 8), fillcolor=(bg, bg, bg))
    if rng.random() < 0.5:
        im = im.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    # Real catalog photos come at many sizes and aspect ratios.
    w = rng.randint(180, 900)
    h = int(w * rng.uniform(0.8, 1.35))
    return im.resize((w, h), Image.Resampling.BICUBIC)


def encode(im: Image.Image, rng: random.Random) -> tuple[bytes, str]:
    """Encode as JPEG (mostly) or PNG; some JPEGs stored rotated + EXIF tag."""
    buf = io.BytesIO()
    if rng.random() < 0.25:
        im.save(buf, "PNG")
        return buf.getvalue(), ".png"
    exif = Image.Exif()
    if rng.random() < 0.2:
        # Store the pixels rotated and let the EXIF tag undo it, as phones do.
        orientation, op = rng.choice(
            [
                (6, Image.Transpose.ROTATE_90),
                (8, Image.Transpose.ROTATE_270),
                (3, Image.Transpose.ROTATE_180),
            ]
        )
        im = im.transpose(op)
        exif[0x0112] = orientation
    im.save(buf, "JPEG", quality=rng.randint(75, 95), exif=exif.tobytes())
    return buf.getvalue(), ".jpg"


def bomb_png(width: int = 7_000, height: int = 7_000) -> bytes:
    """A tiny, valid PNG header that claims a huge image (a decompression bomb)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    row = b"\x00" + b"\x00" * width
    idat = zlib.compress(row * 64, 9)  # only part of the data: never decoded anyway
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def broken_files(rng: random.Random, good_jpeg: bytes) -> list[tuple[str, bytes, str]]:
    """(suffix, content, expected error kind) for each broken-file kind, cycled."""
    return [
        (".jpg", good_jpeg[: max(200, len(good_jpeg) // 3)], "truncated"),
        (".jpg", b"", "empty"),
        (".jpg", b"this is a text file, not a photo\n" * 3, "not_image"),
        (".png", bomb_png(), "too_large"),
        (".jpg", b"\xff\xd8\xff\xe0" + bytes(rng.getrandbits(8) for _ in range(300)), "corrupt"),
    ]


@dataclass
class SampleSummary:
    images: int
    broken: int
    classes: tuple[str, ...]
    truth: Path | None


def generate(
    out: Path,
    per_class: int = 40,
    broken: int = 4,
    seed: int = 0,
    flat: bool = False,
    classes: tuple[str, ...] = CLASSES,
    wrong_extension: float = 0.05,
) -> SampleSummary:
    """Write `per_class` images per class and `broken` broken files under `out`.

    Class-folder layout (`out/<class>/...`) for training; with `flat`, one
    folder of images plus `truth.csv` (path, label, expected error kind) for
    labeling. A fraction `wrong_extension` of good images get a misleading
    extension (a JPEG named .png and vice versa): they must still be read.
    """
    rng = random.Random(seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    truth: list[tuple[str, str, str]] = []
    good_jpeg = b""
    n = 0
    for label in classes:
        folder = out if flat else out / label
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            data, ext = encode(draw_product(label, rng), rng)
            if ext == ".jpg" and not good_jpeg:
                good_jpeg = data
            if rng.random() < wrong_extension:
                ext = ".png" if ext == ".jpg" else ".jpg"
            name = f"{label}_{seed}_{i:05d}{ext}" if flat else f"{i:05d}{ext}"
            (folder / name).write_bytes(data)
            truth.append((str((folder / name).relative_to(out)), label, ""))
            n += 1
    kinds = broken_files(rng, good_jpeg or b"\xff\xd8\xff")
    for j in range(broken):
        suffix, content, kind = kinds[j % len(kinds)]
        label = classes[j % len(classes)]
        folder = out if flat else out / label
        name = f"broken_{kind}_{j:03d}{suffix}"
        (folder / name).write_bytes(content)
        truth.append((str((folder / name).relative_to(out)), label, kind))
    truth_path = None
    if flat:
        # Beside the catalog, not in it: labeling the folder must not meet it.
        truth_path = out.parent / f"{out.name}.truth.csv"
        with truth_path.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["path", "label", "error_kind"])
            w.writerows(truth)
    return SampleSummary(n, broken, tuple(classes), truth_path)
