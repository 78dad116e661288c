"""`export(run_dir)`: ONNX + parity gate + card + optional int8 + bundle + store.

It checks itself before claiming success (`onnx.checker`, a forward-parity
check against Keras on the run's own test images) and fails loudly otherwise.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from exporter import bundle, convert, parity
from models.card import ModelCard
from models.errors import CatalogError
from models.preprocessing import RESIZE_METHOD, preprocess_file
from models.store import ModelRef, ModelStore
from models.versions import package_versions

log = logging.getLogger(__name__)


@dataclass
class ExportResult:
    ref: ModelRef
    bundle_dir: Path
    parity: dict[str, Any]
    int8: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)


def _read_json(path: Path) -> Any:
    if not path.is_file():
        raise CatalogError(f"{path} is missing: is {path.parent} a `catalog train` run folder?")
    return json.loads(path.read_text())


def _split_images(
    run_dir: Path,
    split: str,
    size: tuple[int, int],
    class_names: list[str],
    limit: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    rows = _read_json(run_dir / f"split_{split}.json")[:limit]
    index = {c: i for i, c in enumerate(class_names)}
    missing = [r["path"] for r in rows if not Path(r["path"]).is_file()]
    if missing:
        raise CatalogError(
            f"{len(missing)} {split} image(s) of the run are gone (e.g. {missing[0]}): "
            "export checks parity on them, so the training data must still be in place"
        )
    x = (
        np.stack([preprocess_file(r["path"], size) for r in rows])
        if rows
        else np.zeros((0, *size, 3), np.uint8)
    )
    y = np.array([index[r["label"]] for r in rows], dtype=np.int64)
    return x, y


def export(
    run_dir: Path,
    store: ModelStore,
    name: str | None = None,
    out: Path | None = None,
    opset: int = convert.DEFAULT_OPSET,
    int8: bool = False,
) -> ExportResult:
    run_dir = Path(run_dir)
    config = _read_json(run_dir / "config.json")
    metrics = _read_json(run_dir / "metrics.json")
    class_names: list[str] = _read_json(run_dir / "class_names.json")
    size = (int(config["input_size"][0]), int(config["input_size"][1]))
    name = name or run_dir.resolve().name
    out = Path(out) if out else run_dir / "export"
    if config.get("resize_method") != RESIZE_METHOD:
        raise CatalogError(
            f"run used resize {config.get('resize_method')!r}, this exporter serves "
            f"{RESIZE_METHOD!r}: retrain with this version"
        )

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras

    model = keras.saving.load_model(run_dir / "model.keras", compile=False)
    version = store.next_version(name)
    held_out = {k: metrics[k] for k in ("accuracy", "macro_f1", "n", "per_class") if k in metrics}
    card = ModelCard(
        name=name,
        version=version,
        class_names=class_names,
        input_size=size,
        architecture=config["train"].get("architecture", ""),
        source_run=str(run_dir.resolve()),
        metrics=held_out,
        data_fingerprint=config.get("data_fingerprint", ""),
        opset=opset,
        min_onnxruntime=convert.MIN_ONNXRUNTIME,
        package_versions=package_versions(),
    )

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    fp32_path = out / "model.onnx"
    proto = convert.keras_to_onnx(model, size, opset)
    convert.embed_card(proto, card)
    convert.save_checked(proto, fp32_path)

    # Parity gate on the run's own test split (preprocessed by the shared function).
    from models.onnx_model import OnnxClassifier

    clf = OnnxClassifier.load(fp32_path, verify=False)
    x_test, y_test = _split_images(run_dir, "test", size, class_names)
    report = parity.check_parity(
        lambda b: model.predict(b, verbose=0, batch_size=64), clf.predict, x_test, size
    )
    (out / "parity.json").write_text(json.dumps(report.as_dict(), indent=2))
    (run_dir / "parity.json").write_text(json.dumps(report.as_dict(), indent=2))
    if not report.passed:
        raise parity.ParityError(
            f"ONNX model is not faithful: max |diff| {report.max_abs_diff:.2e} "
            f"(limit {report.threshold:.0e}), {report.top1_disagreements} top-1 "
            f"disagreements; see {out / 'parity.json'}. Nothing was stored."
        )

    files = {"model.onnx": fp32_path, "parity.json": out / "parity.json"}
    int8_report: dict[str, Any] | None = None
    notes: list[str] = []
    if int8:
        from exporter import quantize

        x_cal, _ = _split_images(run_dir, "train", size, class_names, limit=200)
        int8_path = out / "model.int8.onnx"
        quantize.quantize(fp32_path, int8_path, x_cal)
        rep = quantize.evaluate_int8(fp32_path, int8_path, x_test, y_test)
        int8_report = rep.as_dict()
        (out / "int8_report.json").write_text(json.dumps(int8_report, indent=2))
        files["int8_report.json"] = out / "int8_report.json"
        if rep.accepted:
            files["model.int8.onnx"] = int8_path
        else:
            int8_path.unlink()
            notes.append(f"int8 model refused: {rep.reason}")

    bundle.write_bundle(out, card, files)
    stored = dict(files)
    for extra in ("model.keras", "metrics.json", "config.json", "data_report.json"):
        stored[extra] = run_dir / extra
    stored["labels.txt"] = out / "labels.txt"
    stored["card.json"] = out / "card.json"
    stored["README.md"] = out / "README.md"
    ref = store.add_version(name, version, stored)
    return ExportResult(ref, out, report.as_dict(), int8_report, notes)
