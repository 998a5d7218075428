"""The Inside page's alternative texts say what each picture shows, from its data: the
strongest channel of a grid, the region occlusion finds, every weight of a filter; the products
table marks the padding; the kernels' picture keeps a weight's sign (mid-grey = 0)."""

import io

import numpy as np
from PIL import Image

from cnn_core.inside import (LayerInfo, Occlusion, convolution_rows, filter_weights,
                             kernel_mosaic, layer_maps, maps_alt, occlusion_alt, step_sentence)
from cnn_core.inside.convolution import ConvolutionStep
from cnn_core.inside.views import filter_alt, shapes_note


def test_a_grid_alt_names_its_layer_channels_scale_and_strongest_channel():
    array = np.zeros((6, 6, 3), np.float32)
    array[..., 1] = 2.0
    array[0, 0, 2] = 1.0
    maps = layer_maps(LayerInfo(0, "conv1", "Conv2D", (6, 6, 3), "Keras"), array)
    text = maps_alt(maps, "test image 5", "shared", 0, 64)
    assert text.startswith("Feature maps of conv1 (Conv2D, 6×6×3) for test image 5: channels "
                           "1–3 of 3")
    assert "one scale for the whole layer" in text
    assert "Strongest channel: 2 (mean 2)" in text and "2 channel(s) all one value" in text


def test_the_occlusion_alt_names_the_region_that_matters():
    pixel_map = np.zeros((30, 30), np.float32)
    pixel_map[22:, :8] = 0.4                                   # lower left
    result = Occlusion(np.array([[0.4]]), pixel_map, 0.9, 17, 7, 7)
    text = occlusion_alt("cat.png", "tabby", result)
    assert "covering the lower left lowers it most" in text and "17 forward passes" in text
    assert "probability 90.0% uncovered" in text and "largest drop 40.0%" in text


def test_a_filter_alt_lists_every_weight_row_by_row():
    text = filter_alt("conv2", 0, 2, np.array([[1.0, -0.5], [0.25, 0.0]]), 0.125)
    assert "filter 1 on input channel 3 (2×2 weights" in text
    assert "+1.000 -0.500; +0.250 +0.000. Bias +0.125." in text


def test_the_products_table_marks_padding_and_the_sentence_adds_up():
    patch = np.zeros((3, 3, 1), np.float32)
    patch[1:, 1:] = 1.0
    kernel = np.full((3, 3, 1), 0.5, np.float32)
    step = ConvolutionStep(0, 0, 0, (-1, 0, 1), (-1, 0, 1), patch, kernel, patch * kernel, 2.0,
                           -0.5, 1.5, "relu", 1.5)
    rows = convolution_rows(step)
    assert [r["input (row, column, channel)"] for r in rows[:5]] == [
        "padding", "padding", "padding", "padding", "(0, 0, 0)"]
    assert rows[4]["product"] == "+0.5000"
    assert step_sentence(step, 1.5) == (
        "Sum of the 9 products = 2.0000; plus the bias -0.5000 = 1.5000; relu → **1.5000**. "
        "The feature map at row 0, column 0 of channel 1 holds 1.5000.")


def test_kernel_pictures_keep_the_sign_and_filter_weights_are_the_layer_s():
    import keras

    layer = keras.layers.Conv2D(2, 3)
    layer.build((None, 8, 8, 1))
    kernel = np.zeros((3, 3, 1, 2), np.float32)
    kernel[0, 0, 0, 0], kernel[2, 2, 0, 1] = 1.0, -1.0
    layer.set_weights([kernel, np.array([0.5, -0.5], np.float32)])
    picture, peak, filters = kernel_mosaic(layer)
    grid = np.asarray(Image.open(io.BytesIO(picture)).convert("L"))
    assert peak == 1.0 and filters == 2
    assert grid[0, 0] == 255 and grid[20, 20] == 128           # +1 white, 0 mid-grey
    assert grid[-1, -1] == 0                                   # −1 black (filter 2's corner)
    values, bias = filter_weights(layer, 1, 0)
    assert values[2, 2] == -1.0 and bias == -0.5


def test_the_shapes_note_says_where_the_shapes_come_from():
    assert "calculator" in shapes_note([LayerInfo(0, "a", "Conv2D", (1,), "calculator")])
    assert shapes_note([LayerInfo(0, "a", "Conv2D", (1,), "Keras")]).startswith(
        "Output shapes from Keras")
