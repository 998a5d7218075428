"""Turn a drawn or photographed digit into an MNIST-like 28×28 image.

MNIST's recipe (LeCun et al.): white ink on black; the digit's bounding box scaled to fit a
20×20 box keeping its aspect ratio (anti-aliased); placed in a 28×28 field so that its centre
of mass sits at the field's centre. Measured on the real training set: every digit's ink spans
20 pixels in its larger dimension and its centre of mass is at (14.0, 14.0) ± 0.3 (row, column,
0-based). ``preprocess_digit`` reproduces both; tests check them on synthetic drawings.
No TensorFlow here.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFilter, UnidentifiedImageError

from cnn_core.errors import CNNLabError

FIELD = 28  # output size
BOX = 20  # the digit's larger side
NOISE_FLOOR = 0.15  # ink weaker than this fraction of the strongest is background (photos)


def to_grayscale(image) -> np.ndarray:
    """Any of: PIL image, uploaded bytes, array (H, W), (H, W, 3) or (H, W, 4) -> float (H, W)
    in [0, 255]. For RGBA with a transparent background (a canvas), the alpha is the ink."""
    if isinstance(image, (bytes, bytearray)):
        try:
            image = Image.open(io.BytesIO(image))
            image.load()
        except (UnidentifiedImageError, OSError) as err:
            raise CNNLabError(f"this file is not an image Pillow can read ({err}).") from None
    if isinstance(image, Image.Image):
        image = np.asarray(image.convert("RGBA") if "A" in image.getbands()
                           else image.convert("L"))
    array = np.asarray(image, dtype=np.float64)
    if array.ndim == 2:
        return array
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise CNNLabError(f"expected a grey, RGB or RGBA image, got an array of {array.shape}.")
    rgb = array[..., :3]
    gray = rgb @ np.array([0.299, 0.587, 0.114])  # ITU-R 601 luma, as PIL's convert("L")
    if array.shape[2] == 4 and array[..., 3].min() < 255:
        return array[..., 3]  # the strokes are where alpha is
    return gray


def ink(gray: np.ndarray) -> np.ndarray:
    """Light ink on black, background removed: invert dark-on-light images (judged by the
    border, where the paper is), subtract the background level, zero weak noise. Images larger
    than 56 px get a 3×3 median filter first: it removes a photo's isolated specks (which would
    stretch the digit's bounding box) and keeps strokes wider than 2 pixels."""
    if min(gray.shape) > 2 * FIELD:
        gray = np.asarray(Image.fromarray(gray.astype(np.float32), mode="F")
                          .filter(ImageFilter.MedianFilter(3)), dtype=np.float64)
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    background = np.median(border)
    if background > 127:
        gray, background = 255 - gray, 255 - background
    strength = np.clip(gray - background, 0, None)
    peak = strength.max()
    if peak < 1:
        raise CNNLabError("no digit found: the image is blank. Draw or upload a digit.")
    strength = strength * (255 / peak)
    strength[strength < NOISE_FLOOR * 255] = 0
    return strength


def preprocess_digit(image) -> np.ndarray:
    """-> (28, 28) uint8, white digit on black, 20 px in its larger side, centred by mass."""
    strength = ink(to_grayscale(image))
    rows = np.flatnonzero(strength.any(axis=1))
    cols = np.flatnonzero(strength.any(axis=0))
    crop = strength[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    height, width = crop.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))  # PIL: (w, h)
    box = np.asarray(Image.fromarray(crop.astype(np.float32), mode="F")
                     .resize(size, Image.Resampling.LANCZOS))
    box = np.clip(box, 0, 255)
    # place the box so that its centre of mass lands on the field's centre (14, 14)
    com_row, com_col = center_of_mass(box)
    top = int(np.clip(round(FIELD / 2 - com_row), 0, FIELD - box.shape[0]))
    left = int(np.clip(round(FIELD / 2 - com_col), 0, FIELD - box.shape[1]))
    field = np.zeros((FIELD, FIELD))
    field[top:top + box.shape[0], left:left + box.shape[1]] = box
    return np.round(field).astype(np.uint8)


def center_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(row, column) of the ink's centre of mass, 0-based."""
    image = np.asarray(image, dtype=np.float64)
    total = image.sum()
    return (float(image.sum(axis=1) @ np.arange(image.shape[0]) / total),
            float(image.sum(axis=0) @ np.arange(image.shape[1]) / total))


def predict_digit(model, digit: np.ndarray) -> np.ndarray:
    """Class probabilities (10,) for one preprocessed 28×28 uint8 digit."""
    x = (np.asarray(digit, dtype=np.float32) / 255.0)[None, :, :, None]  # (1, 28, 28, 1)
    return np.asarray(model.predict(x, verbose=0)[0], dtype=np.float64)
