"""Activation maximisation makes the shipped MNIST CNN read each class it was asked for, and
raises a filter's mean activation; the penultimate layer's PCA agrees with the covariance's
eigen-decomposition and marks exactly the model's mistakes."""

import numpy as np
import pytest

from cnn_core.inside import penultimate_pca, projection_alt, shipped_digit_model
from cnn_core.inside.projection import principal_components
from cnn_core.mnist import load_mnist

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("digit", [0, 3, 8])
def test_a_maximised_class_is_read_as_that_class(digit):
    model = shipped_digit_model()
    result = model.maximised("probabilities", digit)
    assert result.score_end > result.score_start + 5              # its logit rose
    assert int(result.probabilities.argmax()) == digit and result.probabilities[digit] > 0.9
    prediction = np.asarray(model.model(model.preprocess(result.pixels[None])))[0]
    assert int(prediction.argmax()) == digit                      # the uint8 picture too
    assert model.maximised("probabilities", digit) is result      # cached


def test_a_maximised_filter_answers_more():
    result = shipped_digit_model().maximised("conv2", 5)
    assert result.score_end > 2 * max(result.score_start, 0.1)


def test_principal_components_match_the_covariance_eigenvectors():
    rng = np.random.default_rng(0)
    data = rng.normal(size=(300, 5)) @ rng.normal(size=(5, 5))
    points, explained = principal_components(data)
    eigenvalues = np.linalg.eigh(np.cov(data, rowvar=False))[0][::-1]
    np.testing.assert_allclose(points.var(axis=0, ddof=1), eigenvalues[:2], rtol=1e-4)
    np.testing.assert_allclose(explained, eigenvalues[:2] / eigenvalues.sum(), rtol=1e-6)
    np.testing.assert_allclose(points.mean(axis=0), 0, atol=1e-4)


def test_the_projection_marks_the_model_s_mistakes():
    model = shipped_digit_model()
    digits, labels = load_mnist()[1]
    projection = penultimate_pca(model.model, model.preprocess, digits[:500], labels[:500])
    predicted = np.asarray(model.model(model.preprocess(digits[:500]))).argmax(axis=1)
    assert projection.mistakes == int((predicted != labels[:500]).sum())
    assert projection.points.shape == (500, 2) and 0 < projection.explained.sum() < 1
    assert f"{projection.mistakes} mistakes marked" in projection_alt(projection)
