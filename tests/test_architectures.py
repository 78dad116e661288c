"""Architecture builders: raw pixels in, softmax out, nothing random inside."""

from __future__ import annotations

import numpy as np
import pytest

from models.architectures import ARCHITECTURES, build


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_builders_take_raw_pixels_and_end_in_softmax(arch: str) -> None:
    import keras

    model = build(arch, (32, 32), 3, weights=None, name=f"t_{arch}")
    assert model.name == f"t_{arch}"
    kinds = [type(layer).__name__ for layer in model.layers]
    assert "Rescaling" in kinds  # scaling lives in the model, so ONNX takes raw pixels
    assert not any(k.startswith("Random") for k in kinds)  # augmentation stays outside
    x = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3)).astype("float32")
    p = keras.ops.convert_to_numpy(model(x, training=False))
    assert p.shape == (2, 3) and np.allclose(p.sum(axis=1), 1.0, atol=1e-5)


def test_needs_two_classes_and_a_known_name() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        build("compact", (32, 32), 1)
    with pytest.raises(ValueError, match="unknown architecture"):
        build("resnet9000", (32, 32), 2)
