"""The Theory page's figures against TensorFlow/Keras, the reference implementation.

- LRN in numpy == tf.nn.local_response_normalization (with the parameter mapping shown on the page);
- the dense-vs-conv parameter numbers == Keras count_params();
- the numpy convolution / max pooling of the demos == Keras layers on the same image;
- every parameter count in the architecture table == the Keras model it names.
"""

import re

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from cnn_core import theory  # noqa: E402
from cnn_core import theory_demos as demos  # noqa: E402
from cnn_core.presets import preset  # noqa: E402
from tests.test_calculator_keras import keras_model  # noqa: E402  (the calculator's reference)

L = keras.layers


@pytest.mark.parametrize("n, k, alpha, beta", [(5, 2.0, 1e-4, 0.75), (3, 1.0, 1e-3, 0.5),
                                                (9, 0.5, 5e-3, 1.0)])
def test_lrn_equals_tensorflow(n, k, alpha, beta):
    a = np.random.default_rng(n).uniform(0, 120, size=(2, 4, 5, 16)).astype(np.float32)
    expected = tf.nn.local_response_normalization(a, **demos.tf_lrn_arguments(n, k, alpha, beta))
    ours = demos.local_response_normalization(a, n, k, alpha, beta)
    assert np.abs(ours / a - 1).max() > 0.1  # the normalisation does something here
    np.testing.assert_allclose(ours, expected.numpy(), rtol=1e-5)


@pytest.mark.parametrize("h, w, c, f, k", [(28, 28, 1, 32, 3), (9, 13, 3, 16, 5), (4, 4, 2, 3, 1)])
def test_dense_vs_conv_equals_keras(h, w, c, f, k):
    r = demos.dense_vs_conv(h, w, c, f, k)
    conv = keras.Sequential([keras.Input((h, w, c)), L.Conv2D(f, k, padding="same")])
    dense = keras.Sequential([keras.Input((h, w, c)), L.Flatten(), L.Dense(r["outputs"])])
    assert conv.output_shape[1:] == (h, w, f)
    assert r["conv_params"] == conv.count_params()
    assert r["dense_params"] == dense.count_params()


@pytest.mark.parametrize("size", [2, 3])
def test_numpy_strided_conv_and_pooling_equal_keras(size):
    image = demos.sample_image()[:, :120]  # (80, 120)
    kernel = demos.downsampling_kernel("random (untrained)", size)
    conv = L.Conv2D(1, size, strides=2, padding="same", use_bias=False)
    conv.build((1, 80, 120, 1))
    conv.set_weights([kernel[:, :, None, None]])
    x = image[None, :, :, None].astype(np.float32)
    np.testing.assert_allclose(demos.conv2d(image, kernel, stride=2), conv(x).numpy()[0, :, :, 0],
                               rtol=1e-4, atol=1e-5)
    pooled = L.MaxPooling2D(2)(x).numpy()[0, :, :, 0]
    np.testing.assert_allclose(demos.max_pool(image), pooled, rtol=1e-6)


def test_pooling_demo_counts_equal_keras():
    r = demos.pooling_vs_strided_conv(1, "average", 3, 32)
    h, w = r["features"].shape
    pool = keras.Sequential([keras.Input((h, w, 32)), L.MaxPooling2D(2)])
    conv = keras.Sequential([keras.Input((h, w, 32)), L.Conv2D(32, 3, strides=2, padding="same")])
    assert (r["pool_params"], r["conv_params"]) == (pool.count_params(), conv.count_params())
    assert r["output_shape"] == pool.output_shape[1:] == conv.output_shape[1:]


def first_number(cell):
    return int(re.match(r"\s*([\d,]+)", cell).group(1).replace(",", ""))


ROWS = {row["network"]: row for row in theory.load_architectures(demos.facts())}


@pytest.mark.parametrize("network, preset_name", [("LeNet-5", "lenet5"), ("AlexNet", "alexnet")])
def test_architecture_table_calculator_counts_equal_keras(network, preset_name):
    cell = ROWS[network]["parameters (computed)"]
    assert f"preset {preset_name}" in cell
    assert first_number(cell) == keras_model(*preset(preset_name)).count_params()


def test_alexnet_two_gpu_count_equals_keras_grouped_convolutions():
    cell = ROWS["AlexNet"]["parameters (computed)"]
    two_gpu = int(re.search(r"; ([\d,]+) with conv 2, 4, 5 in two groups", cell).group(1)
                  .replace(",", ""))
    assert two_gpu == keras_model(*demos.alexnet_two_gpu()).count_params()


KERAS_ROWS = [(name, row["parameters (computed)"]) for name, row in ROWS.items()
              if "keras.applications." in row["parameters (computed)"]]


def test_the_table_names_the_keras_models_of_the_issue():
    named = {re.search(r"keras\.applications\.(\w+)", cell).group(1) for _, cell in KERAS_ROWS}
    assert {"ResNet152", "ResNet50", "InceptionV3"} <= named


@pytest.mark.parametrize("network, cell", KERAS_ROWS, ids=[n for n, _ in KERAS_ROWS])
def test_architecture_table_keras_counts(network, cell):
    model_name = re.search(r"keras\.applications\.(\w+)", cell).group(1)
    model = getattr(keras.applications, model_name)(weights=None)
    assert first_number(cell) == model.count_params()
    keras.backend.clear_session()
