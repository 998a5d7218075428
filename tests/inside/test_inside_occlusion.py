"""Occlusion sensitivity finds the region where the answer is known: a model whose output
reads only the top-left 8×8 corner; the number of forward passes is said before it runs and
is the number made."""

import numpy as np
import pytest

from cnn_core.errors import CNNLabError
from cnn_core.inside import forward_passes, occlusion_map, occlusion_positions


def corner_model():
    """Probability of class 0 = sigmoid(mean brightness of the top-left 8×8 − 100)/… : a
    softmax over [mean of the corner / 16, 8]."""
    def predict(batch):
        corner = np.asarray(batch, np.float64)[:, :8, :8].mean(axis=(1, 2, 3)) / 16
        logits = np.stack([corner, np.full_like(corner, 8.0)], axis=1)
        exp = np.exp(logits - logits.max(axis=1, keepdims=True))
        return exp / exp.sum(axis=1, keepdims=True)
    return predict


def test_occlusion_finds_the_corner_the_model_reads():
    calls = []
    predict = corner_model()
    image = np.full((32, 32, 3), 255, np.uint8)

    def counted(batch):
        calls.append(len(batch))
        return predict(batch)
    said = forward_passes(32, 32, 8, 4)
    result = occlusion_map(counted, image, 0, patch=8, stride=4, fill=128, batch_size=16)
    assert said == result.passes == sum(calls) == 7 * 7 + 1
    assert result.drops[0, 0] == result.drops.max() > 0.3
    # squares that do not touch the corner change nothing
    assert np.all(result.drops[2:, :] == 0) and np.all(result.drops[:, 2:] == 0)
    strongest = np.unravel_index(np.argmax(result.pixel_map), result.pixel_map.shape)
    assert strongest[0] < 8 and strongest[1] < 8
    assert np.all(result.pixel_map[16:, :] == 0) and np.all(result.pixel_map[:, 16:] == 0)


def test_positions_cover_the_whole_side():
    assert occlusion_positions(227, 32, 16)[-1] == 227 - 32
    assert occlusion_positions(28, 7, 7) == [0, 7, 14, 21]
    assert forward_passes(28, 28, 7, 7) == 17
    with pytest.raises(CNNLabError):
        occlusion_positions(28, 40, 4)
