"""Small real datasets for the transfer-learning tests, made from the photos the repo ships.

Each class comes from a *different* photo in ``data/samples`` (cat, coffee cup, raccoon); its
images are random crops (45–85 % of the short side, anywhere in the photo), some mirrored, with
their brightness and colour changed. No download. (This module holds no tests itself.)
"""

import io

import numpy as np
from PIL import Image, ImageEnhance

from cnn_core.paths import DATA_DIR

SAMPLE_PHOTOS = {"cat": "cat_chelsea.png", "coffee": "coffee_cup.png", "raccoon": "raccoon.jpg"}


def variants(photo, count, seed, side=160):
    """``count`` PNG-encoded variants (bytes) of one sample photo."""
    rng = np.random.default_rng(seed)
    image = Image.open(DATA_DIR / "samples" / SAMPLE_PHOTOS[photo]).convert("RGB")
    width, height = image.size
    out = []
    for _ in range(count):
        crop = int(min(width, height) * rng.uniform(0.45, 0.85))
        left, top = rng.integers(0, width - crop + 1), rng.integers(0, height - crop + 1)
        variant = image.crop((left, top, left + crop, top + crop)).resize((side, side))
        if rng.random() < 0.5:
            variant = variant.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        variant = ImageEnhance.Brightness(variant).enhance(rng.uniform(0.7, 1.3))
        variant = ImageEnhance.Color(variant).enhance(rng.uniform(0.6, 1.4))
        buffer = io.BytesIO()
        variant.save(buffer, "PNG")
        out.append(buffer.getvalue())
    return out


def write_class_folders(root, per_class, classes=("cat", "coffee"), seed=0):
    """``root/<class>/<class>_<i>.png`` for each class: Keras' image_dataset_from_directory
    layout. Returns root."""
    for number, name in enumerate(classes):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i, data in enumerate(variants(name, per_class, seed + 101 * number)):
            (folder / f"{name}_{i:02d}.png").write_bytes(data)
    return root
