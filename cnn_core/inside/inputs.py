"""What is looked at inside a model: a digit or a photo, as the model's own pipeline makes it.

    digit_input(image, name, label=None, as_is=False)  a drawing/upload → MNIST's 28×28
        (cnn_core.mnist.preprocess_digit, the MNIST page's pipeline); ``as_is``: already an
        MNIST digit (a test digit)
    photo_input(source, size, name)  a photo → the Classify page's pipeline (cnn_core.imaging's
        prepare_image: RGB, centre crop, resize), then the model's own scaling
"""

import hashlib
from dataclasses import dataclass

import numpy as np
from PIL import Image

from cnn_core.errors import CNNLabError

DISPLAY_SIDE = 224                  # px: a digit is enlarged to this to be seen


@dataclass(frozen=True)
class InsideInput:
    name: str
    kind: str                 # "digit" (28×28 grey) or "photo" (s×s RGB)
    pixels: np.ndarray        # uint8: (28, 28) or (s, s, 3): what the model's scaling reads
    digest: str
    label: str | None = None  # the true class, where known (a test digit)

    @property
    def picture(self):
        """The input as the model sees it, a digit enlarged (nearest) to DISPLAY_SIDE."""
        image = Image.fromarray(self.pixels)
        if self.kind == "digit":
            image = image.resize((DISPLAY_SIDE, DISPLAY_SIDE), Image.Resampling.NEAREST)
        return image


def pixels_digest(pixels):
    pixels = np.ascontiguousarray(pixels)
    return hashlib.sha256(str(pixels.shape).encode() + pixels.tobytes()).hexdigest()


def digit_input(image, name, label=None, as_is=False):
    from cnn_core.mnist import preprocess_digit

    pixels = np.asarray(image, np.uint8) if as_is else preprocess_digit(image)
    return InsideInput(name, "digit", pixels, pixels_digest(pixels), label)


def photo_input(source, size, name=None):
    """A path, bytes or upload through the Classify pipeline; or pixels already through it
    (uint8 (size, size, 3), e.g. a photo the Classify page prepared)."""
    from cnn_core.imaging import prepare_image

    if isinstance(source, np.ndarray):
        if source.shape != (size, size, 3):
            raise CNNLabError(f"this photo was prepared for another model ({source.shape[0]} "
                              f"px); upload it again.")
        pixels = np.asarray(source, np.uint8)
        return InsideInput(name or "photo", "photo", pixels, pixels_digest(pixels))
    image = prepare_image(source, size, name=name)
    pixels = np.asarray(image.resized, np.uint8)
    return InsideInput(image.name, "photo", pixels, pixels_digest(pixels))
