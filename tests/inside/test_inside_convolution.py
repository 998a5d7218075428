"""One convolution step by step reproduces the model's own feature-map value: the shipped
MNIST CNN's first convolution ("same" padding, at a corner: padding read as 0), SqueezeNet's
(stride 2, "valid", three BGR channels); and a hand-computed 3×3 case."""

import numpy as np
import pytest

from cnn_core.errors import CNNLabError
from cnn_core.inside import convolution_step, digit_input, imagenet_model, photo_input, \
    shipped_digit_model
from cnn_core.mnist import load_mnist

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("row, column, channel", [(0, 0, 0), (14, 9, 5), (27, 27, 7)])
def test_mnist_first_convolution_step_equals_the_feature_map(row, column, channel):
    model = shipped_digit_model()
    digit = digit_input(load_mnist()[1][0][0], "test digit 0", as_is=True)
    look = model.look(digit, cache=None)
    layer = model.activations.keras_layers[0]
    step = convolution_step(layer, look.conv_input, row, column, channel)
    keras_value = float(np.asarray(layer(model.preprocess(digit.pixels[None])))[0, row, column,
                                                                                 channel])
    assert step.value == pytest.approx(keras_value, abs=1e-5)
    assert step.value == pytest.approx(float(look.conv_output[row, column, channel]), abs=1e-5)
    assert step.patch.shape == (3, 3, 1) and step.activation == "relu"
    if (row, column) == (0, 0):                     # "same": one row and column of padding
        assert step.input_rows == (-1, 0, 1) and step.input_columns == (-1, 0, 1)
        assert step.patch[0].sum() == 0 and step.padded


def test_squeezenet_first_convolution_step_equals_the_feature_map():
    model = imagenet_model("squeezenet", "data/models/squeezenet_v1_1.weights.h5",
                           runtime="tensorflow")
    photo = photo_input("data/samples/raccoon.jpg", 227)
    look = model.look(photo, cache=None)
    layer = model.activations.keras_layers[0]
    for row, column, channel in [(0, 0, 0), (56, 40, 17), (112, 112, 63)]:
        step = convolution_step(layer, look.conv_input, row, column, channel)
        assert step.input_rows == tuple(range(2 * row, 2 * row + 3))     # stride 2, valid
        assert step.products.size == 27
        assert step.value == pytest.approx(float(look.conv_output[row, column, channel]),
                                           abs=1e-4)


def test_a_convolution_computed_by_hand():
    """A 3×3 kernel of ones, bias −1, ReLU, "same" padding on a 4×4 ramp: output (0, 0)
    = 0+1+4+5 − 1 = 9 (the padding reads 0)."""
    import keras

    layer = keras.layers.Conv2D(1, 3, padding="same", activation="relu")
    layer.build((None, 4, 4, 1))
    layer.set_weights([np.ones((3, 3, 1, 1), np.float32), np.array([-1.0], np.float32)])
    image = np.arange(16, dtype=np.float32).reshape(4, 4, 1)
    step = convolution_step(layer, image, 0, 0, 0)
    assert step.total == 10 and step.pre_activation == 9 and step.value == 9
    assert step.value == float(np.asarray(layer(image[None]))[0, 0, 0, 0])
    with pytest.raises(CNNLabError, match="does not exist"):
        convolution_step(layer, image, 0, 0, 3)
