from __future__ import annotations

import pytest
from pydantic import ValidationError

from models.card import ModelCard


def card() -> ModelCard:
    return ModelCard(
        name="slash",
        version="3",
        class_names=["Home Decorations", "clothes"],
        input_size=(128, 128),
        metrics={"accuracy": 0.95, "per_class": {"a": {"f1": 1.0}}},
        data_fingerprint="sha256:abc",
        opset=17,
        package_versions={"onnx": "1.23.2"},
    )


def test_json_round_trip() -> None:
    c = card()
    assert ModelCard.from_json(c.to_json()) == c


def test_metadata_props_round_trip_with_json_values() -> None:
    c = card()
    props = c.to_metadata_props()
    assert all(isinstance(v, str) for v in props.values())
    assert props["class_names"] == '["Home Decorations", "clothes"]'
    assert ModelCard.from_metadata_props({**props, "unrelated": "1"}) == c


def test_needs_two_classes() -> None:
    with pytest.raises(ValidationError):
        ModelCard(name="x", class_names=["one"], input_size=(8, 8))
