"""The model card: everything a reader of a model needs, with a JSON round trip.

The same fields travel as ONNX `metadata_props` (one JSON value per key), so a
`.onnx` file explains itself to any ONNX Runtime user via `get_modelmeta()`.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field

from models.preprocessing import RESIZE_METHOD


class ModelCard(BaseModel):
    name: str
    version: str = "unversioned"
    class_names: list[str] = Field(min_length=2)  # in output index order
    input_size: tuple[int, int]  # (height, width)
    input_layout: str = "NHWC"
    input_name: str = "image"
    output_name: str = "probabilities"
    value_range: tuple[float, float] = (0.0, 255.0)  # raw pixels; scaling is in the model
    resize_method: str = RESIZE_METHOD
    architecture: str = ""
    source_run: str = ""
    metrics: dict[str, Any] = Field(default_factory=dict)  # held-out test split
    data_fingerprint: str = ""
    opset: int | None = None
    min_onnxruntime: str | None = None
    package_versions: dict[str, str] = Field(default_factory=dict)
    created_at: str = Field(default_factory=lambda: datetime.now(UTC).isoformat())

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    @classmethod
    def from_json(cls, text: str) -> ModelCard:
        return cls.model_validate_json(text)

    def to_metadata_props(self) -> dict[str, str]:
        """Flat str -> JSON-string map, the shape ONNX `metadata_props` takes."""
        return {k: json.dumps(v) for k, v in self.model_dump(mode="json").items()}

    @classmethod
    def from_metadata_props(cls, props: dict[str, str]) -> ModelCard:
        known = set(cls.model_fields)
        return cls.model_validate({k: json.loads(v) for k, v in props.items() if k in known})
