"""The one image-preprocessing function: bytes -> uint8 H x W x 3 RGB.

Training and serving both call `preprocess_bytes`, so there is no train/serve
skew. Scaling to [0, 1] is *not* done here: it lives inside the model (a
`Rescaling` layer), so the exported ONNX model takes raw pixels and an edge
device only has to decode and resize.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# The one resize method. Pillow's BILINEAR antialiases when downscaling, unlike
# tf.image.resize; the name is written into every model card so readers
# (edge devices) know what to reproduce.
RESIZE_METHOD = "pillow-bilinear-squash"
_RESAMPLE = Image.Resampling.BILINEAR

# Decompression-bomb guard: 40 Mpx is above any real catalog photo (a 108 Mpx
# phone sensor aside) and below Pillow's own 89 Mpx warning threshold, so we
# refuse before Pillow allocates anything.
DEFAULT_MAX_PIXELS = 40_000_000

# Background for transparent images: catalog photos are shot on white.
_BACKGROUND = (255, 255, 255)


@dataclass(frozen=True)
class ImageError(Exception):
    """An input that cannot become a model input. `kind` is machine-readable."""

    kind: str  # empty | not_image | truncated | too_large | corrupt
    reason: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.reason}"


def preprocess_bytes(
    data: bytes, size: tuple[int, int], max_pixels: int = DEFAULT_MAX_PIXELS
) -> np.ndarray:
    """Decode `data` (any format Pillow reads, decided by content) to RGB uint8.

    `size` is (height, width) of the model input. Returns an array of shape
    (height, width, 3). Raises `ImageError` for anything unreadable.
    """
    if not data:
        raise ImageError("empty", "zero-byte file")
    height, width = size
    try:
        im = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise ImageError("not_image", "content is not an image format Pillow knows") from None
    except Image.DecompressionBombError as e:
        raise ImageError("too_large", str(e)) from None
    except (OSError, ValueError, SyntaxError) as e:
        raise ImageError("corrupt", f"cannot open: {e}") from None
    try:
        return _to_rgb_array(im, width, height, max_pixels)
    except ImageError:
        raise
    except Image.DecompressionBombError as e:
        raise ImageError("too_large", str(e)) from None
    except OSError as e:
        msg = str(e)
        kind = "truncated" if "truncated" in msg or "broken data stream" in msg else "corrupt"
        raise ImageError(kind, msg) from None
    except (ValueError, SyntaxError, EOFError, IndexError, TypeError) as e:
        raise ImageError("corrupt", f"{type(e).__name__}: {e}") from None
    finally:
        im.close()


def preprocess_file(
    path: str | Path, size: tuple[int, int], max_pixels: int = DEFAULT_MAX_PIXELS
) -> np.ndarray:
    """`preprocess_bytes` on a file's content (the extension is ignored)."""
    return preprocess_bytes(Path(path).read_bytes(), size, max_pixels)


def _to_rgb_array(im: Image.Image, width: int, height: int, max_pixels: int) -> np.ndarray:
    w, h = im.size  # header only: nothing decoded yet
    if w * h > max_pixels:
        raise ImageError("too_large", f"{w}x{h} pixels exceeds the limit of {max_pixels}")
    if getattr(im, "n_frames", 1) > 1:
        im.seek(0)  # animated GIF/WebP/APNG: the first frame is the product shot
    if im.format == "JPEG":
        # Let libjpeg decode at 1/2, 1/4 or 1/8 scale while staying >= 2x the
        # target, then antialias down: 2-3x faster with no visible loss. The
        # request is square so it holds for either EXIF orientation.
        side = 2 * max(width, height)
        im.draft("RGB", (side, side))
    im.load()  # decode now so truncation surfaces here, as an ImageError
    # A malformed EXIF block should not cost us the image.
    with contextlib.suppress(ValueError, TypeError, KeyError, SyntaxError):
        im = ImageOps.exif_transpose(im)
    im = _to_rgb(im)
    if im.size != (width, height):
        im = im.resize((width, height), _RESAMPLE)
    arr = np.asarray(im, dtype=np.uint8)
    return arr


def _to_rgb(im: Image.Image) -> Image.Image:
    mode = im.mode
    if mode == "RGB":
        return im
    if mode.startswith("I;16") or mode in ("I", "F"):
        # 16/32-bit greyscale: Pillow's convert("L") clips at 255, so rescale.
        a = np.asarray(im).astype(np.float64)
        top = 65535.0 if a.max(initial=0) > 255 or mode.startswith("I;16") else 255.0
        grey = np.clip(a / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(grey).convert("RGB")
    if mode == "P":
        im = im.convert("RGBA") if "transparency" in im.info else im.convert("RGB")
        if im.mode == "RGB":
            return im
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = im.convert("RGBA")
        background = Image.new("RGB", rgba.size, _BACKGROUND)
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    # L, 1, CMYK, YCbCr, LAB, HSV, RGBX: Pillow's own conversion.
    return im.convert("RGB")
