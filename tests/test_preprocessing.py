"""The one preprocessing function over every input quirk a catalog has."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from catalog.samples import bomb_png
from models.preprocessing import ImageError, preprocess_bytes, preprocess_file

SIZE = (32, 32)


def encode(im: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def marker_image() -> Image.Image:
    """64x32 landscape: left half red, right half blue. Orientation shows."""
    a = np.zeros((32, 64, 3), np.uint8)
    a[:, :32] = (255, 0, 0)
    a[:, 32:] = (0, 0, 255)
    return Image.fromarray(a)


# For each EXIF orientation, the transpose that *produces* the stored pixels from
# the upright image (the inverse of what a viewer applies).
STORE_OPS: dict[int, list[Image.Transpose]] = {
    1: [],
    2: [Image.Transpose.FLIP_LEFT_RIGHT],
    3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM],
    5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_90],
    7: [Image.Transpose.TRANSVERSE],
    8: [Image.Transpose.ROTATE_270],
}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_restores_upright(orientation: int) -> None:
    upright = marker_image()
    stored = upright
    for op in STORE_OPS[orientation]:
        stored = stored.transpose(op)
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = encode(stored, "PNG", exif=exif.tobytes())
    out = preprocess_bytes(data, (32, 64))
    assert out.shape == (32, 64, 3)
    # left is red, right is blue once upright again
    assert out[16, 8, 0] > 200 and out[16, 8, 2] < 50
    assert out[16, 56, 2] > 200 and out[16, 56, 0] < 50


@pytest.mark.parametrize("mode", ["CMYK", "L", "P", "RGBA", "LA", "1", "YCbCr"])
def test_modes_become_rgb_uint8(mode: str) -> None:
    im = marker_image().convert(mode)
    fmt = "JPEG" if mode in ("CMYK", "YCbCr") else "PNG" if mode != "YCbCr" else "JPEG"
    out = preprocess_bytes(encode(im, fmt), SIZE)
    assert out.dtype == np.uint8 and out.shape == (32, 32, 3)


def test_transparent_pixels_go_white() -> None:
    im = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    out = preprocess_bytes(encode(im, "PNG"), SIZE)
    assert (out == 255).all()


def test_16bit_png_is_rescaled_not_clipped() -> None:
    a = np.full((20, 20), 32768, dtype=np.uint16)  # mid grey in 16 bit
    data = encode(Image.fromarray(a), "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    out = preprocess_bytes(data, SIZE)
    assert 120 <= int(out.mean()) <= 135


def test_animated_gif_takes_first_frame() -> None:
    frames = [Image.new("RGB", (30, 30), c) for c in ((255, 0, 0), (0, 255, 0))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=50)
    out = preprocess_bytes(buf.getvalue(), SIZE)
    assert out[..., 0].mean() > 200 and out[..., 1].mean() < 50


def test_format_by_content_not_extension(tmp_path: Path) -> None:
    p = tmp_path / "photo.PNG"
    p.write_bytes(encode(marker_image(), "JPEG"))
    out = preprocess_file(p, SIZE)
    assert out.shape == (32, 32, 3)


def test_jpeg_draft_result_is_deterministic_and_correct_size() -> None:
    big = Image.fromarray(np.random.default_rng(0).integers(0, 255, (900, 700, 3), np.uint8))
    data = encode(big, "JPEG", quality=90)
    a = preprocess_bytes(data, (64, 64))
    b = preprocess_bytes(data, (64, 64))
    assert a.shape == (64, 64, 3) and np.array_equal(a, b)


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"", "empty"),
        (b"just some text, named .jpg\n", "not_image"),
        (bomb_png(), "too_large"),
    ],
)
def test_bad_inputs_raise_typed_errors(data: bytes, kind: str) -> None:
    with pytest.raises(ImageError) as e:
        preprocess_bytes(data, SIZE)
    assert e.value.kind == kind and e.value.reason


def test_truncated_jpeg_is_reported_as_truncated() -> None:
    rng = np.random.default_rng(1)
    data = encode(Image.fromarray(rng.integers(0, 255, (300, 300, 3), np.uint8)), "JPEG")
    with pytest.raises(ImageError) as e:
        preprocess_bytes(data[: len(data) // 2], SIZE)
    assert e.value.kind == "truncated"


def test_pixel_limit_is_configurable() -> None:
    data = encode(Image.new("RGB", (100, 100)), "PNG")
    with pytest.raises(ImageError, match="exceeds"):
        preprocess_bytes(data, SIZE, max_pixels=5_000)
    assert preprocess_bytes(data, SIZE, max_pixels=10_000).shape == (32, 32, 3)
