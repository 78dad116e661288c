"""Keras -> ONNX with our names, a dynamic batch axis and the card embedded."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import onnx

from models.card import ModelCard

# Opset 17 runs on every ONNX Runtime since 1.14 (Feb 2023): the oldest runtime
# we claim to support, written into the card as `min_onnxruntime`.
DEFAULT_OPSET = 17
MIN_ONNXRUNTIME = "1.14"
INPUT_NAME = "image"
OUTPUT_NAME = "probabilities"


def keras_to_onnx(model: Any, input_size: tuple[int, int], opset: int = DEFAULT_OPSET) -> Any:
    """Convert a built Keras model to an `onnx.ModelProto`.

    Input `image` float32 [batch, H, W, 3] raw pixels; output `probabilities`.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    import tf2onnx

    h, w = input_size
    # An explicit signature on a built model: the route that works with Keras 3
    # (a never-called model fails with KeyError 'keras_tensor_..', DESIGN §4).
    spec = (tf.TensorSpec((None, h, w, 3), tf.float32, name=INPUT_NAME),)
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=opset)
    _rename_io(proto)
    return proto


def _rename_io(proto: Any) -> None:
    """Name the single input `image` and the single output `probabilities`
    (tf2onnx defaults to `image:0`-style or `Identity:0` names)."""
    graph = proto.graph
    renames = {}
    if len(graph.input) != 1 or len(graph.output) != 1:
        raise ValueError(
            f"expected one input and one output, got {len(graph.input)}/{len(graph.output)}"
        )
    renames[graph.input[0].name] = INPUT_NAME
    renames[graph.output[0].name] = OUTPUT_NAME
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name in renames:
                node.input[i] = renames[name]
        for i, name in enumerate(node.output):
            if name in renames:
                node.output[i] = renames[name]
    graph.input[0].name = INPUT_NAME
    graph.output[0].name = OUTPUT_NAME
    # Batch axis symbolic and named, so readers see it is dynamic.
    for vi in (graph.input[0], graph.output[0]):
        dim0 = vi.type.tensor_type.shape.dim[0]
        dim0.ClearField("dim_value")
        dim0.dim_param = "batch"


def embed_card(proto: Any, card: ModelCard) -> None:
    """Write the card into `metadata_props`: one JSON value per key."""
    del proto.metadata_props[:]
    for key, value in card.to_metadata_props().items():
        entry = proto.metadata_props.add()
        entry.key = key
        entry.value = value
    proto.producer_name = "catalog-labeler"
    proto.doc_string = (
        f"{card.name} v{card.version}: image classifier over {len(card.class_names)} classes. "
        "Input 'image' float32 [batch,H,W,3] RGB raw pixels 0-255; "
        "output 'probabilities' [batch,classes]. See metadata_props."
    )


def save_checked(proto: Any, path: Path) -> None:
    """`onnx.checker` with full shape inference, then save."""
    onnx.checker.check_model(proto, full_check=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(proto, str(path))
