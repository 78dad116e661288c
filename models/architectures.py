"""Architecture builders. Each takes raw uint8-range pixels (NHWC) and ends in a
softmax over N >= 2 classes; scaling to [0, 1] is a `Rescaling` layer inside
the model so exported models take raw pixels (DESIGN §3).

No augmentation layers here: random layers inside the model break ONNX export
(DESIGN §4); augmentation lives in the trainer's input pipeline.

Keras is imported inside the builders so `models` stays importable without TF.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

ARCHITECTURES = ("compact", "baseline", "mobilenetv2")
DEFAULT_ARCHITECTURE = "compact"


def build(
    arch: str,
    input_size: tuple[int, int],
    n_classes: int,
    weights: str | Path | None = None,
    name: str | None = None,
) -> Any:
    """Build an uncompiled `keras.Model` of architecture `arch` for (H, W, 3)
    inputs, named `name` (default: the architecture)."""
    if n_classes < 2:
        raise ValueError(f"need at least 2 classes, got {n_classes}")
    builders: dict[str, Callable[..., Any]] = {
        "baseline": _baseline,
        "compact": _compact,
        "mobilenetv2": _mobilenetv2,
    }
    if arch not in builders:
        raise ValueError(f"unknown architecture {arch!r}; choose from {', '.join(ARCHITECTURES)}")
    return builders[arch](input_size, n_classes, weights, name or arch)


def _baseline(input_size: tuple[int, int], n_classes: int, _weights: Any, name: str) -> Any:
    """The original notebooks' Sequential Conv2D/MaxPool/Flatten/Dense net."""
    import keras
    from keras import layers

    h, w = input_size
    return keras.Sequential(
        [
            keras.Input((h, w, 3), name="image"),
            layers.Rescaling(1.0 / 255),
            layers.Conv2D(16, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(64, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dense(n_classes, activation="softmax", name="probabilities"),
        ],
        name=name,
    )


def _compact(input_size: tuple[int, int], n_classes: int, _weights: Any, name: str) -> Any:
    """Our default: the baseline's shape made deeper and regularised.

    Four conv blocks (32, 64, 128, 128; one 3x3 conv + max pool each), then
    dropout on the flattened 1/16-scale feature map, a 128-unit dense layer and
    the softmax head. ~0.2 GMAC per 128 px image, so an epoch on 3,000 photos
    takes ~20 s on 2 cores. No batch norm: on a few hundred photos its moving
    statistics lagged and made held-out accuracy erratic (DESIGN §4); a Flatten
    head beat global pooling on the small sets. Chosen by measurement
    (README, "Training figures").
    """
    import keras
    from keras import layers

    h, w = input_size
    inputs = keras.Input((h, w, 3), name="image")
    x = layers.Rescaling(1.0 / 255)(inputs)
    for width in (32, 64, 128, 128):
        x = layers.Conv2D(width, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.4)(x)
    x = layers.Dense(128, activation="relu")(x)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name)


def _mobilenetv2(input_size: tuple[int, int], n_classes: int, weights: Any, name: str) -> Any:
    """A keras.applications backbone. `weights` is a local .h5/.weights file,
    "imagenet" (Keras downloads; needs a network), or None (random init)."""
    import keras
    from keras import layers

    h, w = input_size
    inputs = keras.Input((h, w, 3), name="image")
    # MobileNetV2 expects [-1, 1].
    x = layers.Rescaling(1.0 / 127.5, offset=-1.0)(inputs)
    backbone = keras.applications.MobileNetV2(
        input_shape=(h, w, 3),
        include_top=False,
        weights=str(weights) if weights else None,
        pooling="avg",
    )
    backbone.trainable = weights is None
    x = backbone(x)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name=name)
