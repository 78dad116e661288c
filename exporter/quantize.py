"""Static int8 quantization (QDQ, per-channel) with an honest report.

int8 is smaller but not always faster: without VNNI/AMX (this AVX2-only CPU)
it ran slower here (DESIGN §4). So we measure size, speed and accuracy and
refuse a model that loses more than a point of test accuracy.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

MAX_ACCURACY_DROP = 0.01  # one point


@dataclass
class Int8Report:
    fp32_bytes: int
    int8_bytes: int
    size_ratio: float
    fp32_ms_per_image: float
    int8_ms_per_image: float
    speed_ratio: float  # int8 throughput / fp32 throughput (>1 means faster)
    fp32_accuracy: float
    int8_accuracy: float
    accuracy_drop: float
    accepted: bool
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def quantize(fp32: Path, out: Path, calibration: np.ndarray, input_name: str = "image") -> None:
    """Static QDQ quantization, per-channel int8 weights, calibrated on `calibration`."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self, batch: int = 16) -> None:
            x = calibration.astype(np.float32)
            self._batches = iter([x[i : i + batch] for i in range(0, len(x), batch)])

        def get_next(self) -> dict[str, np.ndarray] | None:
            b = next(self._batches, None)
            return None if b is None else {input_name: b}

    with tempfile.TemporaryDirectory() as tmp:
        prepped = Path(tmp) / "prepped.onnx"
        quant_pre_process(str(fp32), str(prepped))  # shape inference + folding first
        quantize_static(
            str(prepped),
            str(out),
            calibration_data_reader=Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
        )


def _ms_per_image(session: Any, x: np.ndarray, name: str, repeats: int = 5) -> float:
    session.run(None, {name: x})  # warm-up
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        session.run(None, {name: x})
        best = min(best, time.perf_counter() - t)
    return 1000 * best / len(x)


def evaluate_int8(
    fp32: Path, int8: Path, x_test: np.ndarray, y_test: np.ndarray, input_name: str = "image"
) -> Int8Report:
    import onnxruntime as ort

    s32 = ort.InferenceSession(str(fp32), providers=["CPUExecutionProvider"])
    s8 = ort.InferenceSession(str(int8), providers=["CPUExecutionProvider"])
    x = x_test.astype(np.float32)

    def acc(s: Any) -> float:
        preds = np.concatenate(
            [s.run(None, {input_name: x[i : i + 64]})[0].argmax(1) for i in range(0, len(x), 64)]
        )
        return float((preds == y_test).mean())

    bench = np.resize(x, (64, *x.shape[1:])) if len(x) else x
    a32, a8 = acc(s32), acc(s8)
    t32, t8 = _ms_per_image(s32, bench, input_name), _ms_per_image(s8, bench, input_name)
    drop = a32 - a8
    accepted = drop <= MAX_ACCURACY_DROP + 1e-9
    reason = f"test accuracy {a8:.4f} vs fp32 {a32:.4f} (drop {drop * 100:.2f} points)" + (
        "" if accepted else f" exceeds the {MAX_ACCURACY_DROP * 100:.0f}-point limit"
    )
    b32, b8 = fp32.stat().st_size, int8.stat().st_size
    return Int8Report(
        fp32_bytes=b32,
        int8_bytes=b8,
        size_ratio=b8 / b32,
        fp32_ms_per_image=t32,
        int8_ms_per_image=t8,
        speed_ratio=t32 / t8,
        fp32_accuracy=a32,
        int8_accuracy=a8,
        accuracy_drop=drop,
        accepted=accepted,
        reason=reason,
    )
