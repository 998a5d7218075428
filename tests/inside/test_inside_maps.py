"""Every layer's maps from the one forward pass equal Keras' own intermediate outputs (one
sub-model per layer, the tutorials' way) within 1e-5 in float32 — for the shipped MNIST CNN,
for SqueezeNet v1.1 (TensorFlow; OpenVINO within 1e-5 of each layer's peak) and for a model
holding a nested model (the transfer page's shape); the pictures keep the values they were drawn from; the cache answers
the same (model, input) without a forward pass."""

import numpy as np
import pytest

from cnn_core.inside import (Activations, MAX_SIDE, PictureCache, digit_input, imagenet_model,
                             layer_maps, mosaic, photo_input, shipped_digit_model)
from cnn_core.mnist import load_mnist

pytestmark = pytest.mark.slow
SQUEEZENET = "data/models/squeezenet_v1_1.weights.h5"


def keras_reference(model, layer_names, inputs):
    """One Keras sub-model per layer, as tutorials do: input → that layer's output."""
    import keras

    return [np.asarray(keras.Model(model.inputs, model.get_layer(name).output)(
        inputs, training=False)) for name in layer_names]


def assert_close(ours, reference, name, relative=False):
    """Within 1e-5; ``relative``: 1e-5 of the layer's largest magnitude (OpenVINO sums in
    another order: measured 7.6e-6 at most, SqueezeNet's maps reach the hundreds)."""
    scale = max(1.0, float(np.abs(reference).max())) if relative else 1.0
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-5 * scale, err_msg=name)


@pytest.fixture(scope="module")
def test_digits():
    return load_mnist()[1]


def test_every_layer_of_the_mnist_model_equals_keras(test_digits):
    model = shipped_digit_model()
    inputs = model.preprocess(test_digits[0][:4])
    outputs = model.activations(inputs)
    names = [layer.name for layer in model.activations.layers]
    assert names == ["conv1", "pool1", "conv2", "pool2", "conv3", "flatten", "probabilities"]
    for name, ours, reference in zip(names, outputs, keras_reference(model.model, names, inputs)):
        assert ours.shape == reference.shape, name
        assert_close(ours, reference, name)
    # the calculator's shapes are Keras' shapes here (a Sequential: the calculator reads it)
    assert {layer.shape_source for layer in model.activations.layers} == {"calculator"}
    assert [layer.output_shape for layer in model.activations.layers] == \
        [tuple(model.model.get_layer(n).output.shape[1:]) for n in names]


@pytest.mark.parametrize("runtime", ["tensorflow", "openvino"])
def test_every_layer_of_squeezenet_equals_keras(runtime):
    model = imagenet_model("squeezenet", SQUEEZENET, runtime=runtime)
    photo = photo_input("data/samples/cat_chelsea.png", 227)
    inputs = model.preprocess(photo.pixels[None])
    outputs = model.activations(inputs)
    names = [layer.name for layer in model.activations.layers]
    assert len(names) == 39 and names[0] == "conv1" and names[-1] == "predictions"
    assert "drop9" not in names                     # identity at inference: not shown
    for name, ours, reference in zip(names, outputs, keras_reference(model.model, names, inputs)):
        assert ours.shape == reference.shape, name
        assert_close(ours, reference, name, relative=runtime == "openvino")
    assert int(outputs[-1].argmax()) in range(281, 286)            # a domestic cat


def test_a_nested_model_is_opened_layer_by_layer():
    """preprocessing → a nested functional model → pooling → a nested Sequential head, as the
    transfer page builds them: every inner layer shown, each equal to Keras'."""
    import keras

    keras.utils.set_random_seed(1)
    inner_in = keras.Input((12, 12, 3))
    a = keras.layers.Conv2D(4, 3, activation="relu", name="inner_conv")(inner_in)
    b = keras.layers.Conv2D(4, 1, name="inner_branch")(a)
    inner = keras.Model(inner_in, keras.layers.Add(name="inner_add")([a, b]), name="base")
    head = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax",
                                                                    name="head_dense")])
    pixels = keras.Input((12, 12, 3))
    x = keras.layers.Rescaling(1 / 255, name="scale")(pixels)
    x = keras.layers.GlobalAveragePooling2D(name="gap")(inner(x))
    model = keras.Model(pixels, head(x))
    activations = Activations(model)
    assert [l.name for l in activations.layers] == ["scale", "inner_conv", "inner_branch",
                                                    "inner_add", "gap", "head_dense"]
    assert activations.feeds[1] == 0           # the first convolution reads the rescaled input
    images = np.random.default_rng(0).uniform(0, 255, (2, 12, 12, 3)).astype(np.float32)
    outputs = activations(images)
    scaled = images / 255
    conv = np.asarray(inner.get_layer("inner_conv")(scaled))
    np.testing.assert_allclose(outputs[0], scaled, atol=1e-6)
    np.testing.assert_allclose(outputs[1], conv, atol=1e-5)
    np.testing.assert_allclose(outputs[3], np.asarray(inner(scaled)), atol=1e-5)
    np.testing.assert_allclose(outputs[5], np.asarray(model(images)), atol=1e-6)


def test_pictures_keep_their_values_and_are_small():
    """A map's picture, read back with its stated range, gives the map within 1/255 of its
    range; a map larger than MAX_SIDE is shrunk; a vector becomes cells, 32 a row."""
    from cnn_core.inside import LayerInfo

    rng = np.random.default_rng(3)
    array = rng.normal(size=(20, 20, 5)).astype(np.float32)
    maps = layer_maps(LayerInfo(0, "x", "Conv2D", (20, 20, 5), "Keras"), array)
    back = maps.lows[:, None, None] + maps.pictures / 255 * (maps.highs - maps.lows)[:, None, None]
    span = (maps.highs - maps.lows)[:, None, None]
    assert np.all(np.abs(back - np.moveaxis(array, -1, 0)) <= span / 255 / 2 + 1e-6)
    shared = maps.on_scale("shared")
    assert shared.max() == 255 and shared.min() == 0
    big = layer_maps(LayerInfo(0, "b", "Conv2D", (300, 150, 2), "Keras"),
                     np.ones((300, 150, 2), np.float32))
    assert big.pictures.shape == (2, MAX_SIDE, 64)
    vector = layer_maps(LayerInfo(0, "v", "Dense", (70,), "Keras"), np.arange(70.0))
    assert vector.vector and vector.pictures.shape == (1, 3, 32)
    assert mosaic(maps).startswith(b"\x89PNG")


def test_the_same_input_is_not_computed_twice(test_digits):
    model = shipped_digit_model()
    cache = PictureCache(max_bytes=10 * 2**20)
    digit = digit_input(test_digits[0][1], "test digit 1", as_is=True)
    first = model.look(digit, cache)
    again = model.look(digit_input(test_digits[0][1].copy(), "same pixels", as_is=True), cache)
    assert not first.cached and again.cached and again.seconds == 0
    assert again.maps is first.maps and cache.hits == 1
    assert all(m.pictures.dtype == np.uint8 for m in again.maps)     # pictures, not floats
    assert int(first.probabilities.argmax()) == int(test_digits[1][1])


def test_the_cache_is_bounded_by_bytes():
    cache = PictureCache(max_bytes=100)
    for key in range(5):
        cache.put(key, key, 40)
    assert len(cache) == 2 and cache.bytes == 80 and cache.get(0) is None and cache.get(4) == 4


def test_a_photo_model_refuses_a_digit(test_digits):
    from cnn_core.errors import CNNLabError

    model = imagenet_model("squeezenet", SQUEEZENET, runtime="tensorflow")
    with pytest.raises(CNNLabError, match="reads photos"):
        model.look(digit_input(test_digits[0][0], "a digit", as_is=True))
