"""The Theory page's figures against TensorFlow/Keras, the reference implementation.

- LRN in numpy == tf.nn.local_response_normalization (with the parameter mapping shown on the page);
- the dense-vs-conv parameter numbers == Keras count_params();
- the numpy convolution / max pooling of the demos == Keras layers on the same image;
- every parameter count in the architecture table == the Keras model it names;
- the separable convolution of the Xception demo == keras.layers.SeparableConv2D, and an SE
  block == the same block built in Keras.

Keras and TensorFlow are pinned dependencies: imported directly, so a broken install fails.
"""

import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from cnn_core.theory import content as theory
from cnn_core.theory import architectures as arch
from cnn_core.theory import demos
from cnn_core.networks.presets import preset
from cnn_core.theory.facts import facts
from tests.calculator.test_calculator_keras import keras_model  # (the calculator's reference)

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


ROWS = {row["network"]: row for row in theory.load_architectures(facts())}


@pytest.mark.parametrize("network, preset_name", [("LeNet-5", "lenet5"), ("AlexNet", "alexnet")])
def test_architecture_table_calculator_counts_equal_keras(network, preset_name):
    cell = ROWS[network]["parameters (computed)"]
    assert f"preset {preset_name}" in cell
    assert first_number(cell) == keras_model(*preset(preset_name)).count_params()


def test_alexnet_two_gpu_count_equals_keras_grouped_convolutions():
    cell = ROWS["AlexNet"]["parameters (computed)"]
    two_gpu = int(re.search(r"; ([\d,]+) with conv 2, 4, 5 in two groups", cell).group(1)
                  .replace(",", ""))
    assert two_gpu == keras_model(*arch.alexnet_two_gpu()).count_params()


KERAS_ROWS = [(name, row["parameters (computed)"]) for name, row in ROWS.items()
              if "keras.applications." in row["parameters (computed)"]]


def test_the_table_names_the_keras_models_of_the_issue():
    named = {re.search(r"keras\.applications\.(\w+)", cell).group(1) for _, cell in KERAS_ROWS}
    assert {"ResNet152", "ResNet50", "InceptionV3", "Xception"} <= named


@pytest.mark.parametrize("network, cell", KERAS_ROWS, ids=[n for n, _ in KERAS_ROWS])
def test_architecture_table_keras_counts(network, cell):
    model_name = re.search(r"keras\.applications\.(\w+)", cell).group(1)
    model = getattr(keras.applications, model_name)(weights=None)
    assert first_number(cell) == model.count_params()
    trainable = re.search(r"([\d,]+) trainable\)", cell)  # stated for Xception, as in its paper
    if trainable:
        count = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
        assert int(trainable.group(1).replace(",", "")) == count
    keras.backend.clear_session()


def test_xception_trainable_count_is_the_papers():
    """Chollet (2017, Table 3) gives Xception 22,855,952 parameters; the row quotes it and
    Keras' trainable count (checked above) must be that same number."""
    row = ROWS["Xception"]
    assert row["parameters (as published)"].startswith("22,855,952 (Chollet 2017, Table 3)")
    assert "22,855,952 trainable" in row["parameters (computed)"]


@pytest.mark.parametrize("h, w, c, f, k", [(19, 19, 728, 728, 3), (9, 7, 3, 16, 5), (5, 5, 8, 4, 1)])
def test_separable_convolution_equals_keras_separableconv2d(h, w, c, f, k):
    r = arch.separable_vs_normal(h, w, c, f, k)
    separable = keras.Sequential([keras.Input((h, w, c)), L.SeparableConv2D(f, k, padding="same")])
    normal = keras.Sequential([keras.Input((h, w, c)), L.Conv2D(f, k, padding="same")])
    assert r["separable_params"] == separable.count_params()
    assert r["normal_params"] == normal.count_params()
    assert r["output_shape"] == separable.output_shape[1:] == normal.output_shape[1:]


@pytest.mark.parametrize("channels", [64, 256])
def test_se_block_equals_keras(channels):
    """The SE block of Hu et al. (2018) in Keras: squeeze, excitation, scale (a Multiply)."""
    x = keras.Input((7, 7, channels))
    s = L.GlobalAveragePooling2D()(x)
    s = L.Dense(channels // 16, activation="relu")(s)
    s = L.Dense(channels, activation="sigmoid")(s)
    block = keras.Model(x, L.Multiply()([x, L.Reshape((1, 1, channels))(s)]))
    assert arch.se_block(channels).total_params == block.count_params()
