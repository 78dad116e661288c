"""The labeling code in-process: the same functions the Celery task calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from models.onnx_model import OnnxClassifier
from worker.labeling import LabelOptions, count, label_items


def test_one_row_per_item_in_input_order(exported: Any, sample_catalog: Path) -> None:
    files = sorted(p for p in sample_catalog.rglob("*") if p.is_file())
    items = [(f.name, str(f)) for f in files] + [("ghost", str(sample_catalog / "missing.jpg"))]
    clf = OnnxClassifier.load(exported.ref.onnx)
    rows = label_items(items, clf, "sample:1", LabelOptions(batch_size=7, decode_threads=3))
    assert [r["id"] for r in rows] == [i for i, _ in items]
    ok, err = count(rows)
    assert (ok, err) == (len(files) - 5, 6)
    kinds = sorted(r["error_kind"] for r in rows if r["error_kind"])
    assert kinds == ["corrupt", "empty", "not_found", "not_image", "too_large", "truncated"]
    for r in rows:
        if r["label"]:
            assert r["top_k"][0] == [r["label"], r["confidence"]]
            assert r["model_version"] == "sample:1" and r["error"] is None
            probs = [p for _, p in r["top_k"]]
            assert (
                probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1.0 + 1e-5
            )  # rounded to 6 places


def test_batching_does_not_change_results(exported: Any, sample_catalog: Path) -> None:
    files = sorted((sample_catalog / "lamp").glob("0*"))
    items = [(f.name, str(f)) for f in files]
    clf = OnnxClassifier.load(exported.ref.onnx)
    a = label_items(items, clf, "v", LabelOptions(batch_size=1, decode_threads=1))
    b = label_items(items, clf, "v", LabelOptions(batch_size=64, decode_threads=4))
    assert [r["label"] for r in a] == [r["label"] for r in b]
    for x, y in zip(a, b, strict=True):
        assert abs(x["confidence"] - y["confidence"]) < 1e-5
