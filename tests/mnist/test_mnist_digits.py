"""Digit preprocessing on synthetic drawings, checked against MNIST's own geometry.

Reference facts (measured on the real training set, see cnn_core/mnist/digits.py): a digit's ink
spans 20 pixels in its larger dimension, and its centre of mass is at (14, 14) ± 0.3.
"""

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from cnn_core.mnist.digits import center_of_mass, preprocess_digit
from cnn_core.errors import CNNLabError
from cnn_core.mnist.data import load_mnist


def drawing(shape="seven", size=280, box=(20, 30, 120, 170), ink=255, paper=0, width=14):
    """A white-on-black (or any ink/paper) drawing of a simple digit inside `box`."""
    image = Image.new("L", (size, size), paper)
    draw = ImageDraw.Draw(image)
    x0, y0, x1, y1 = box
    if shape == "seven":
        draw.line([(x0, y0), (x1, y0), (x0 + (x1 - x0) // 3, y1)], fill=ink, width=width)
    elif shape == "zero":
        draw.ellipse(box, outline=ink, width=width)
    elif shape == "one":
        draw.rectangle(box, fill=ink)
    return np.asarray(image)


def ink_extent(digit):
    rows = np.flatnonzero(digit.any(axis=1))
    cols = np.flatnonzero(digit.any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def assert_mnist_geometry(digit):
    assert digit.shape == (28, 28) and digit.dtype == np.uint8
    assert max(ink_extent(digit)) == 20
    row, col = center_of_mass(digit)
    assert abs(row - 14) <= 0.6 and abs(col - 14) <= 0.6


@pytest.mark.parametrize("shape", ["seven", "zero"])
def test_off_centre_drawing_is_centred_by_mass_and_fits_20_pixels(shape):
    digit = preprocess_digit(drawing(shape, box=(10, 15, 110, 160)))  # top-left corner
    assert_mnist_geometry(digit)
    assert digit.max() == 255  # white ink, full strength


def test_position_on_the_canvas_does_not_matter():
    a = preprocess_digit(drawing(box=(10, 15, 110, 160)))
    b = preprocess_digit(drawing(box=(160, 120, 260, 265)))
    assert np.array_equal(a, b)


def test_inverted_drawing_gives_the_same_digit():
    white_on_black = preprocess_digit(drawing("zero"))
    black_on_white = preprocess_digit(drawing("zero", ink=0, paper=255))
    assert np.abs(white_on_black.astype(int) - black_on_white).max() <= 1


def test_large_drawing_touching_the_edges():
    digit = preprocess_digit(drawing("zero", box=(0, 0, 279, 279), width=30))
    assert_mnist_geometry(digit)


def test_aspect_ratio_is_kept():
    """A 40×200 bar (a '1') becomes 4×20, not a 20×20 square."""
    digit = preprocess_digit(drawing("one", box=(100, 40, 139, 239)))
    assert ink_extent(digit) == (20, 4)


def test_canvas_rgba_with_transparent_background():
    """streamlit-drawable-canvas without a background colour: the strokes are the alpha."""
    alpha = drawing("seven")
    rgba = np.zeros(alpha.shape + (4,), np.uint8)
    rgba[..., 3] = alpha  # black strokes on transparent
    assert np.array_equal(preprocess_digit(rgba), preprocess_digit(alpha))


def test_grey_photo_with_noise_and_png_bytes():
    rng = np.random.default_rng(0)
    photo = drawing("seven", ink=40, paper=200).astype(float) + rng.normal(0, 8, (280, 280))
    buffer = io.BytesIO()
    Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8)).convert("RGB").save(buffer, "PNG")
    digit = preprocess_digit(buffer.getvalue())
    assert_mnist_geometry(digit)
    clean = preprocess_digit(drawing("seven"))
    assert np.corrcoef(digit.ravel(), clean.ravel())[0, 1] > 0.95


def test_an_enlarged_mnist_digit_comes_back_as_itself():
    """Blow a real test digit up 8×, paste it off-centre on white-on-black paper: the
    preprocessing should recover (nearly) the original 28×28 image."""
    original = load_mnist()[1][0][0]  # a 7
    big = np.asarray(Image.fromarray(original).resize((224, 224), Image.Resampling.BICUBIC))
    canvas = np.zeros((400, 400), np.uint8)
    canvas[150:374, 20:244] = big
    digit = preprocess_digit(canvas)
    assert np.corrcoef(digit.ravel().astype(float), original.ravel())[0, 1] > 0.9


def test_blank_and_unreadable_inputs_raise_user_errors():
    with pytest.raises(CNNLabError, match="blank"):
        preprocess_digit(np.zeros((280, 280, 4), np.uint8))
    with pytest.raises(CNNLabError, match="not an image"):
        preprocess_digit(b"this is not a PNG")
    with pytest.raises(CNNLabError, match="grey, RGB or RGBA"):
        preprocess_digit(np.zeros((10, 10, 2)))
