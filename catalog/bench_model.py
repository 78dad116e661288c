"""`catalog bench-model`: Keras vs ONNX fp32 vs ONNX int8, one run, same inputs.

For batch sizes 1, 8 and 64: throughput and p50/p95 latency per batch; plus
file size and accuracy on the source run's test split. Inference only (the
inputs are decoded once, up front), so the figures compare the runtimes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models.onnx_model import OnnxClassifier
from models.preprocessing import preprocess_file
from models.store import ModelRef

BATCHES = (1, 8, 64)


@dataclass
class ModelBench:
    rows: list[dict[str, Any]] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)


def _test_split(
    ref: ModelRef, size: tuple[int, int], names: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    rows: list[dict[str, str]] = []
    card = ref.card()
    split = Path(card.source_run) / "split_test.json"
    if split.is_file():
        rows = json.loads(split.read_text())
    index = {c: i for i, c in enumerate(names)}
    rows = [r for r in rows if Path(r["path"]).is_file() and r["label"] in index]
    if not rows:
        return np.zeros((0, *size, 3), np.float32), np.zeros(0, np.int64)
    x = np.stack([preprocess_file(r["path"], size) for r in rows]).astype(np.float32)
    return x, np.array([index[r["label"]] for r in rows])


def _latencies(fn: Callable[[np.ndarray], Any], x: np.ndarray, seconds: float) -> list[float]:
    fn(x)  # warm-up
    out: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(out) < 5:
        t = time.perf_counter()
        fn(x)
        out.append(time.perf_counter() - t)
    return out


def run(ref: ModelRef, seconds: float = 2.0, echo: Callable[[str], None] = print) -> ModelBench:
    import keras

    fp32 = OnnxClassifier.load(ref.onnx)
    size, names = fp32.input_size, fp32.card.class_names
    x_test, y_test = _test_split(ref, size, names)
    pool = (
        x_test
        if len(x_test)
        else np.random.default_rng(0).uniform(0, 255, (64, *size, 3)).astype(np.float32)
    )
    model = keras.saving.load_model(ref.path / "model.keras", compile=False)
    runners: dict[str, tuple[Callable[[np.ndarray], Any], int]] = {
        "keras": (
            lambda b: model.predict(b, batch_size=len(b), verbose=0),
            (ref.path / "model.keras").stat().st_size,
        ),
        "onnx fp32": (fp32.predict, ref.onnx.stat().st_size),
    }
    int8_path = ref.path / "model.int8.onnx"
    if int8_path.is_file():
        int8 = OnnxClassifier.load(int8_path)
        runners["onnx int8"] = (int8.predict, int8_path.stat().st_size)
    b = ModelBench(
        facts={
            "model": ref.label,
            "input_size": list(size),
            "test_images": len(x_test),
            "date": time.strftime("%Y-%m-%d"),
        }
    )
    for name, (fn, nbytes) in runners.items():
        acc = None
        if len(x_test):
            preds = np.concatenate(
                [np.asarray(fn(x_test[i : i + 64])).argmax(1) for i in range(0, len(x_test), 64)]
            )
            acc = float((preds == y_test).mean())
        for bs in BATCHES:
            echo(f"{name}: batch {bs}")
            x = np.resize(pool, (bs, *pool.shape[1:]))
            lat = _latencies(fn, x, seconds)
            b.rows.append(
                {
                    "runtime": name,
                    "batch": bs,
                    "images_per_s": bs / float(np.median(lat)),
                    "p50_ms": 1000 * float(np.percentile(lat, 50)),
                    "p95_ms": 1000 * float(np.percentile(lat, 95)),
                    "size_mb": nbytes / 2**20,
                    "accuracy": acc,
                }
            )
    return b


def render(b: ModelBench) -> str:
    f = b.facts
    lines = [
        f"Model benchmark {f['date']}: {f['model']} ({f['input_size'][0]} px), "
        f"accuracy on {f['test_images']} test images",
        "",
        "| runtime | batch | images/s | p50 ms | p95 ms | size MB | accuracy | vs Keras |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    keras_rate = {r["batch"]: r["images_per_s"] for r in b.rows if r["runtime"] == "keras"}
    for r in b.rows:
        acc = f"{r['accuracy']:.4f}" if r["accuracy"] is not None else "-"
        lines.append(
            f"| {r['runtime']} | {r['batch']} | {r['images_per_s']:.1f} | {r['p50_ms']:.2f} | "
            f"{r['p95_ms']:.2f} | {r['size_mb']:.2f} | {acc} | "
            f"{r['images_per_s'] / keras_rate[r['batch']]:.2f}x |"
        )
    return "\n".join(lines) + "\n"
