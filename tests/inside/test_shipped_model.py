"""The small MNIST CNN shipped in data/models: its file matches the SHA-256 on its card, it is
under 1 MB, and its accuracy on the real 10,000-digit test set (one predict call) is the one
the card states."""

import hashlib

import numpy as np
import pytest

from cnn_core.inside import shipped_card, shipped_digit_model
from cnn_core.mnist import load_mnist
from cnn_core.paths import MODELS_DIR

pytestmark = pytest.mark.slow


def test_the_file_matches_its_card():
    card = shipped_card()
    data = (MODELS_DIR / card["file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == card["sha256"]
    assert len(data) == card["bytes"] < 1_000_000


def test_the_test_accuracy_is_the_one_stated():
    card = shipped_card()
    model = shipped_digit_model()
    (_, _), (x_test, y_test) = load_mnist()
    predicted = np.asarray(model.model.predict(model.preprocess(x_test), batch_size=10_000,
                                               verbose=0)).argmax(axis=1)
    errors = int((predicted != y_test).sum())
    # the same weights on another CPU may round a near-tie the other way: ±2 digits of 10,000
    assert abs(errors - card["test_errors"]) <= 2, (errors, card["test_errors"])
    assert card["test_accuracy"] == 1 - card["test_errors"] / 10_000 > 0.98
    assert model.model.count_params() == card["parameters"]
