"""Occlusion sensitivity (Zeiler & Fergus 2014, §4.2): a grey square slides over the input;
at each place, how much the class's probability drops is one cell of the map. It needs no
gradients, so it works for any model, and it checks what Grad-CAM claims.

Positions: the square's top-left corner every ``stride`` pixels from 0, plus a last one flush
with the far edge, so every pixel is covered. Forward passes: one per position, plus one for
the unoccluded input (``forward_passes`` says how many before anything runs). The occluded
copies go through the model in batches (``batch_size``) via the model's compiled forward.

Interface:
    occlusion_positions(size, patch, stride) → [start, …] along one side
    forward_passes(height, width, patch, stride) → int
    occlusion_map(predict, pixels (h, w[, c]), class_index, patch, stride, fill, batch_size)
        → Occlusion(drops (ny, nx), pixel_map (h, w), baseline, passes)
    occlusion_picture(occlusion, background PIL) → PNG bytes: the photo with the map on top
"""

from dataclasses import dataclass

import numpy as np

from cnn_core.errors import CNNLabError


@dataclass(frozen=True)
class Occlusion:
    drops: np.ndarray        # (ny, nx): baseline − probability with the square at (y, x)
    pixel_map: np.ndarray    # (h, w): each pixel's mean drop over the squares covering it
    baseline: float          # the class's probability, nothing covered
    passes: int
    patch: int
    stride: int


def occlusion_positions(size, patch, stride):
    if not 1 <= patch <= size or stride < 1:
        raise CNNLabError(f"the square must be 1 to {size} pixels and the stride at least 1.")
    starts = list(range(0, size - patch + 1, stride))
    if starts[-1] != size - patch:
        starts.append(size - patch)
    return starts


def forward_passes(height, width, patch, stride):
    return (len(occlusion_positions(height, patch, stride))
            * len(occlusion_positions(width, patch, stride)) + 1)


def occlusion_map(predict, pixels, class_index, patch, stride, fill, batch_size=32):
    """``predict``: (n, h, w[, c]) pixels as given → (n, classes) probabilities."""
    pixels = np.asarray(pixels)
    height, width = pixels.shape[:2]
    ys = occlusion_positions(height, patch, stride)
    xs = occlusion_positions(width, patch, stride)
    baseline = float(predict(pixels[None])[0][class_index])
    places = [(y, x) for y in ys for x in xs]
    probabilities = []
    for begin in range(0, len(places), batch_size):
        batch = np.repeat(pixels[None], len(places[begin:begin + batch_size]), axis=0)
        for copy, (y, x) in zip(batch, places[begin:begin + batch_size]):
            copy[y:y + patch, x:x + patch] = fill
        probabilities.append(np.asarray(predict(batch))[:, class_index])
    drops = (baseline - np.concatenate(probabilities)).reshape(len(ys), len(xs))
    total = np.zeros((height, width), np.float64)
    covered = np.zeros((height, width), np.float64)
    for (y, x), drop in zip(places, drops.ravel()):
        total[y:y + patch, x:x + patch] += drop
        covered[y:y + patch, x:x + patch] += 1
    return Occlusion(drops.astype(np.float32), (total / covered).astype(np.float32), baseline,
                     len(places) + 1, patch, stride)


def occlusion_picture(occlusion, background):
    """The input (PIL) with the positive drops (scaled to the largest) laid over it."""
    from cnn_core.imagenet import heatmap_overlay
    from cnn_core.inside.maps import png

    drops = np.clip(occlusion.pixel_map, 0, None)
    peak = drops.max()
    heat = drops / peak if peak > 0 else drops
    image = heatmap_overlay(background.convert("RGB"), heat)
    return png(np.asarray(image))
