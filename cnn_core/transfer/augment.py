"""Data augmentation for transfer learning: altered copies of a photo, to embed and train on.

Teachable Machine trains its head on the frozen network's embeddings of your photos only; here
the head can also see the embeddings of ``copies`` altered copies of each *training* photo
(never of a validation photo): a random horizontal flip, a random crop of 70–100 % of the side
(resized back), a rotation of up to ±15° and colour jitter (brightness, contrast and saturation
±20 %). Copy ``i`` of a photo is the same every time (its seed comes from the photo's digest),
so its embedding can be cached like the photo's own.

Pillow and numpy only.
"""

import hashlib

import numpy as np
from PIL import Image, ImageEnhance

max_rotation = 15.0        # degrees, either way
min_crop = 0.70            # fraction of the side kept by the random crop
jitter = 0.20              # brightness/contrast/saturation factors in [1 − jitter, 1 + jitter]


def copy_seed(digest, copy):
    """A 64-bit seed for copy ``copy`` of the photo with this digest."""
    return int.from_bytes(hashlib.sha1(f"{digest}:{copy}".encode()).digest()[:8], "little")


def augmented_copy(pixels, seed):
    """(s, s, 3) uint8 RGB → an altered (s, s, 3) uint8 RGB copy, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    image = Image.fromarray(np.asarray(pixels, np.uint8))
    side = image.size[0]
    if rng.random() < 0.5:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    angle = rng.uniform(-max_rotation, max_rotation)
    # Rotate with the corners filled by mirrored pixels (no black wedges to learn from): pad by
    # reflection (a quarter of the side covers ±15°), rotate, then crop inside the original.
    margin = side // 4
    padded = Image.fromarray(np.pad(np.asarray(image), ((margin, margin), (margin, margin),
                                                         (0, 0)), mode="reflect"))
    padded = padded.rotate(angle, resample=Image.Resampling.BILINEAR)
    crop = int(round(side * rng.uniform(min_crop, 1.0)))
    left = margin + int(rng.integers(0, side - crop + 1))
    top = margin + int(rng.integers(0, side - crop + 1))
    image = padded.crop((left, top, left + crop, top + crop)).resize(
        (side, side), Image.Resampling.BILINEAR)
    for enhancer in (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color):
        image = enhancer(image).enhance(rng.uniform(1 - jitter, 1 + jitter))
    return np.asarray(image, dtype=np.uint8)


def copy_keys(digest, copies):
    """The embedding cache's keys of a photo's altered copies."""
    return [f"{digest}+aug{copy}" for copy in range(copies)]


def augmented_copies(pixels, digest, copies):
    """``copies`` altered copies of one photo: (copies, s, s, 3) uint8 and their cache keys."""
    keys = copy_keys(digest, copies)
    stack = [augmented_copy(pixels, copy_seed(digest, copy)) for copy in range(copies)]
    return np.stack(stack) if stack else np.zeros((0, *np.shape(pixels)), np.uint8), keys
