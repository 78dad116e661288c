"""Package versions, recorded into run configs and model cards."""

from __future__ import annotations

import platform
from importlib import metadata

PACKAGES = ("tensorflow-cpu", "keras", "numpy", "pillow", "onnx", "onnxruntime", "tf2onnx")


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    out = {"python": platform.python_version()}
    for n in names:
        try:
            out[n] = metadata.version(n)
        except metadata.PackageNotFoundError:
            continue
    return out
