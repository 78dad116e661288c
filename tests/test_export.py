"""The exporter: a faithful, self-describing ONNX model, checked before it ships."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest

from exporter.bundle import readme_example
from exporter.parity import check_parity
from models.onnx_model import OnnxClassifier
from models.store import StoreError

BLOCK_TF = (
    "import sys\n"
    "for m in ('tensorflow', 'keras', 'tf2onnx'):\n"
    "    sys.modules[m] = None  # any import of these now fails\n"
)


def test_onnx_file_has_names_shapes_and_metadata(exported: Any) -> None:
    proto = onnx.load(str(exported.ref.onnx))
    onnx.checker.check_model(proto, full_check=True)
    (inp,), (out,) = proto.graph.input, proto.graph.output
    assert inp.name == "image" and out.name == "probabilities"
    dims = inp.type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and [d.dim_value for d in dims[1:]] == [48, 48, 3]
    meta = {p.key: json.loads(p.value) for p in proto.metadata_props}
    assert meta["class_names"] == ["bottle", "lamp", "mug", "shirt"]
    assert meta["input_size"] == [48, 48] and meta["value_range"] == [0.0, 255.0]
    for key in (
        "resize_method",
        "name",
        "version",
        "source_run",
        "metrics",
        "opset",
        "data_fingerprint",
        "package_versions",
        "min_onnxruntime",
    ):
        assert meta[key], key
    assert meta["version"] == exported.ref.version


@pytest.mark.parametrize("batch", [1, 7])
def test_onnx_matches_keras(exported: Any, small_run: Path, batch: int) -> None:
    import keras

    model = keras.saving.load_model(small_run / "model.keras")
    clf = OnnxClassifier.load(exported.ref.onnx)
    x = np.random.default_rng(batch).uniform(0, 255, (batch, 48, 48, 3)).astype("float32")
    assert np.abs(model.predict(x, verbose=0) - clf.predict(x)).max() <= 1e-4
    assert exported.parity["passed"] and exported.parity["max_abs_diff"] <= 1e-4


def _altered_copy(src: Path, dst: Path) -> Path:
    proto = onnx.load(str(src))
    init = max(proto.graph.initializer, key=lambda t: len(t.raw_data))
    arr = onnx.numpy_helper.to_array(init).copy()
    arr *= 1.5
    init.CopyFrom(onnx.numpy_helper.from_array(arr, init.name))
    onnx.save(proto, str(dst))
    return dst


def test_parity_gate_fails_on_an_altered_model(
    exported: Any, small_run: Path, tmp_path: Path
) -> None:
    import keras

    model = keras.saving.load_model(small_run / "model.keras")
    bad = OnnxClassifier.load(_altered_copy(exported.ref.onnx, tmp_path / "bad.onnx"), verify=False)
    x = np.random.default_rng(0).uniform(0, 255, (16, 48, 48, 3)).astype("float32")
    report = check_parity(lambda b: model.predict(b, verbose=0), bad.predict, x, (48, 48))
    assert not report.passed and report.max_abs_diff > 1e-4


def test_checksum_loader_refuses_a_modified_file(exported: Any, tmp_path: Path) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(exported.ref.path, folder)
    OnnxClassifier.load(folder / "model.onnx")  # intact: loads
    _altered_copy(folder / "model.onnx", folder / "model.onnx")
    with pytest.raises(StoreError, match="checksum mismatch"):
        OnnxClassifier.load(folder / "model.onnx")


def test_int8_is_small_and_reported(exported: Any) -> None:
    rep = exported.int8
    assert rep is not None and rep["size_ratio"] <= 0.35
    assert (exported.bundle_dir / "int8_report.json").is_file()
    assert rep["accepted"] == (rep["accuracy_drop"] <= 0.01)
    if rep["accepted"]:
        assert (exported.ref.path / "model.int8.onnx").is_file()


def test_int8_refusal_rule(exported: Any, small_run: Path, tmp_path: Path) -> None:
    from exporter.export import _split_images
    from exporter.quantize import evaluate_int8

    classes = json.loads((small_run / "class_names.json").read_text())
    x, y = _split_images(small_run, "test", (48, 48), classes)
    # A "quantized" model that is really a broken one must be refused.
    broken = _altered_copy(exported.ref.onnx, tmp_path / "broken.onnx")
    proto = onnx.load(str(broken))
    for t in proto.graph.initializer:
        a = onnx.numpy_helper.to_array(t)
        if a.dtype == np.float32 and a.ndim >= 2:  # weights, not shape constants
            t.CopyFrom(onnx.numpy_helper.from_array(np.zeros_like(a), t.name))
    onnx.save(proto, str(broken))
    rep = evaluate_int8(exported.ref.onnx, broken, x, y)
    assert rep.accuracy_drop > 0.01 and not rep.accepted and "exceeds" in rep.reason


def test_worker_side_reads_everything_without_tensorflow(exported: Any) -> None:
    code = BLOCK_TF + (
        "from models.onnx_model import OnnxClassifier\n"
        f"c = OnnxClassifier.load({str(exported.ref.onnx)!r})\n"
        "import numpy as np\n"
        "p = c.predict(np.zeros((2, *c.input_size, 3), np.uint8))\n"
        "print(c.card.class_names, c.input_size, p.shape)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "['bottle', 'lamp', 'mug', 'shirt'] (48, 48) (2, 4)" in r.stdout


def test_bundle_readme_example_labels_an_image(
    exported: Any, sample_catalog: Path, tmp_path: Path
) -> None:
    """The device developer's 15 lines, run as-is in a process without TF."""
    readme = (exported.bundle_dir / "README.md").read_text()
    example = readme_example(readme)
    assert len(example.strip().splitlines()) <= 15
    script = tmp_path / "label.py"
    script.write_text(BLOCK_TF + example)
    image = sorted((sample_catalog / "mug").glob("*.jpg"))[0]
    r = subprocess.run(
        [sys.executable, str(script), str(image)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=exported.bundle_dir,
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] in {"bottle", "lamp", "mug", "shirt"}


def test_store_lists_the_version(exported: Any) -> None:
    from catalog.store_view import list_lines
    from models.store import ModelStore

    store = ModelStore(exported.ref.path.parent.parent)
    lines = list_lines(store)
    assert any(ln.startswith("sample") and " 1 " in ln for ln in lines)


def test_bench_model_table(exported: Any) -> None:
    from catalog.bench_model import render, run

    b = run(exported.ref, seconds=0.05, echo=lambda _: None)
    runtimes = {(r["runtime"], r["batch"]) for r in b.rows}
    assert runtimes == {(n, bs) for n in ("keras", "onnx fp32", "onnx int8") for bs in (1, 8, 64)}
    accs = {r["runtime"]: r["accuracy"] for r in b.rows}
    assert accs["keras"] == accs["onnx fp32"]  # parity, seen through accuracy
    assert all(r["p95_ms"] >= r["p50_ms"] > 0 for r in b.rows)
    assert "| onnx int8 | 64 |" in render(b)
