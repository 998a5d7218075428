"""The kernels a convolution learned: the first one's as pictures, a deeper one's as values.

First convolution: each filter (kh, kw, channels in) is one picture, RGB for a colour input
(the model's channel order turned into RGB: SqueezeNet reads BGR) or grey for a digit. All
filters share one scale, symmetric about zero: mid-grey = 0, the largest |weight| of the
layer = black or full colour. A deeper filter has as many input channels as the layer below
has maps, so one (filter, input channel) slice is shown as a heatmap with its values.

Interface:
    first_convolution(activations) → index of the first Conv2D among the shown layers (or None)
    kernel_mosaic(layer, bgr=False) → (PNG bytes, largest |weight|, filters)
    filter_weights(layer, filter, input_channel) → float32 (kh, kw) and the bias
"""

import numpy as np

from cnn_core.inside.maps import enlarge, png

KERNEL_TILE = 48             # px a kernel is enlarged to
KERNEL_COLUMNS = 16


def first_convolution(activations):
    return next((layer.index for layer in activations.layers if layer.kind == "Conv2D"), None)


def kernel_array(layer):
    return np.asarray(layer.kernel, np.float32)          # (kh, kw, in, out)


def kernel_mosaic(layer, bgr=False):
    """Every filter of ``layer`` as one picture, in a grid of KERNEL_COLUMNS, shared scale."""
    kernel = kernel_array(layer)
    peak = float(np.abs(kernel).max()) or 1.0
    scaled = np.rint(127.5 + 127.5 * kernel / peak).clip(0, 255).astype(np.uint8)
    tiles = []
    for index in range(kernel.shape[-1]):
        tile = scaled[..., index]                         # (kh, kw, in)
        if tile.shape[-1] == 3:
            tile = tile[..., ::-1] if bgr else tile
            factor = max(1, round(KERNEL_TILE / max(tile.shape[:2])))
            tile = tile.repeat(factor, 0).repeat(factor, 1)
        else:
            tile = enlarge(tile.mean(axis=-1).astype(np.uint8), KERNEL_TILE)
            tile = np.repeat(tile[..., None], 3, axis=-1)
        tiles.append(tile)
    h, w = tiles[0].shape[:2]
    columns = min(KERNEL_COLUMNS, len(tiles))
    rows = -(-len(tiles) // columns)
    grid = np.full((rows * (h + 2) - 2, columns * (w + 2) - 2, 3), 255, np.uint8)
    for i, tile in enumerate(tiles):
        top, left = (i // columns) * (h + 2), (i % columns) * (w + 2)
        grid[top:top + h, left:left + w] = tile
    return png(grid), peak, kernel.shape[-1]


def filter_weights(layer, filter_index, input_channel):
    """(weights (kh, kw) of one filter's slice on one input channel, the filter's bias)."""
    kernel = kernel_array(layer)
    bias = float(np.asarray(layer.bias)[filter_index]) if layer.use_bias else 0.0
    return kernel[:, :, input_channel, filter_index], bias
