"""The edge bundle: what a device developer gets, and nothing they do not need."""

from __future__ import annotations

from pathlib import Path

from models.card import ModelCard
from models.store import write_sums

DEVICE_README = """\
# {name} v{version}: image classifier ({n} classes)

Files: `model.onnx` (fp32{int8_note}), `labels.txt` (one class per line, in
output order), `card.json` (everything about the model), `SHA256SUMS`
(check with `sha256sum -c SHA256SUMS`).

Input `{input_name}`: float32 `[batch, {h}, {w}, 3]`, RGB, raw pixel values
0-255 (no normalisation: the model scales inside). Resize the whole image to
{w}x{h} with Pillow's BILINEAR filter (aspect ratio not kept), after applying
the EXIF orientation. Output `{output_name}`: `[batch, {n}]` softmax.

Needs only `pip install onnxruntime numpy pillow`:

```python
import sys, json
import numpy as np, onnxruntime as ort
from PIL import Image, ImageOps

sess = ort.InferenceSession("model.onnx", providers=["CPUExecutionProvider"])
meta = sess.get_modelmeta().custom_metadata_map
labels = json.loads(meta["class_names"])
h, w = json.loads(meta["input_size"])
img = ImageOps.exif_transpose(Image.open(sys.argv[1])).convert("RGB")
x = np.asarray(img.resize((w, h), Image.Resampling.BILINEAR), np.float32)[None]
probs = sess.run(["{output_name}"], {{"{input_name}": x}})[0][0]
best = int(probs.argmax())
print(labels[best], round(float(probs[best]), 4))
```

Held-out test accuracy: {accuracy}. Minimum ONNX Runtime: {min_ort} (opset {opset}).
"""


def readme_example(readme: str) -> str:
    """The Python example embedded in a bundle README (for tests and users)."""
    return readme.split("```python\n", 1)[1].split("```", 1)[0]


def write_bundle(out: Path, card: ModelCard, files: dict[str, Path]) -> None:
    """Write `files` (dest name -> source path, already in `out` or copied),
    labels, card, README and checksums into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    for dest, src in files.items():
        target = out / dest
        if src.resolve() != target.resolve():
            target.write_bytes(src.read_bytes())
    (out / "labels.txt").write_text("\n".join(card.class_names) + "\n")
    (out / "card.json").write_text(card.to_json())
    h, w = card.input_size
    acc = card.metrics.get("accuracy")
    (out / "README.md").write_text(
        DEVICE_README.format(
            name=card.name,
            version=card.version,
            n=len(card.class_names),
            int8_note=", and `model.int8.onnx`" if "model.int8.onnx" in files else "",
            input_name=card.input_name,
            output_name=card.output_name,
            h=h,
            w=w,
            accuracy=f"{acc:.4f}" if isinstance(acc, float) else "n/a",
            min_ort=card.min_onnxruntime,
            opset=card.opset,
        )
    )
    write_sums(out)
