"""Feature maps → small pictures, and the bounded cache that keeps them.

A layer's output (h, w, c) becomes c grey pictures, each at most ``MAX_SIDE`` px a side
(larger maps are shrunk by area averaging; none of SqueezeNet's is larger than 113 px).
Each channel is stored scaled to its own range — black = the channel's minimum, white = its
maximum — with that range kept beside it, so a picture on the *shared* scale (black = the
layer's minimum, white = its maximum) is made from it without the floats (within 1/255 of
the channel's range). A vector (a Dense or pooling output, (k,)) is one picture of k cells,
32 a row, on its own scale.

The cache holds these pictures (uint8), never float tensors, keyed by (model digest, input
digest), bounded by bytes, least recently used dropped first; shared by every session.

Interface:
    layer_maps(info, array) → LayerMaps (pictures uint8 (c, h, w), lows, highs)
    mosaic(maps, scale="channel"|"shared", start=0, count=64) → PNG bytes of a grid
    channel_picture(maps, channel, scale, side=256) → PNG bytes of one channel, enlarged
    overview_picture(maps, scale) → PNG bytes of the layer's most active channel (thumbnail)
    PictureCache(max_bytes)   .get(key) / .put(key, value, nbytes)
"""

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from cnn_core.imagenet import ResultCache

MAX_SIDE = 128           # px: the largest a stored feature-map picture is, per side
VECTOR_ROW = 32          # cells per row when a vector is drawn
TILE = 56                # px: a map is enlarged (nearest) to about this in a grid
GRID_COLUMNS = 8
GAP = 2                  # px between tiles, in the separator grey
SEPARATOR = 96


@dataclass(frozen=True)
class LayerMaps:
    name: str
    kind: str
    output_shape: tuple
    pictures: np.ndarray     # uint8 (channels, h, w), each on its own channel's scale
    lows: np.ndarray         # float32 (channels,): the value drawn black
    highs: np.ndarray        # float32 (channels,): the value drawn white
    vector: bool = False     # a (k,) output drawn as one picture of cells
    means: np.ndarray = None  # float32 (channels,): each channel's mean activation

    @property
    def channels(self):
        return len(self.pictures)

    @property
    def nbytes(self):
        return self.pictures.nbytes + 12 * self.channels

    def on_scale(self, scale):
        """uint8 (c, h, w) pictures on the per-channel or the shared (layer-wide) scale."""
        if scale == "channel" or self.vector:
            return self.pictures
        low, high = float(self.lows.min()), float(self.highs.max())
        if high <= low:
            return np.zeros_like(self.pictures)
        values = (self.lows[:, None, None] + self.pictures.astype(np.float32) / 255.0
                  * (self.highs - self.lows)[:, None, None])
        return np.rint((values - low) / (high - low) * 255).astype(np.uint8)


def to_uint8(values, low, high):
    span = np.where(high > low, high - low, 1.0)
    return np.rint((values - low) / span * 255).clip(0, 255).astype(np.uint8)


def shrink(picture):
    """(h, w) float32 → at most MAX_SIDE px a side, area-averaged."""
    h, w = picture.shape
    if max(h, w) <= MAX_SIDE:
        return picture
    factor = MAX_SIDE / max(h, w)
    size = (max(1, round(w * factor)), max(1, round(h * factor)))
    return np.asarray(Image.fromarray(picture, mode="F").resize(size, Image.Resampling.BOX))


def layer_maps(info, array):
    """One example's output of a layer (no batch axis) → LayerMaps."""
    array = np.asarray(array, np.float32)
    if array.ndim == 1:                                  # a vector: cells, 32 a row
        rows = -(-len(array) // VECTOR_ROW)
        padded = np.full(rows * VECTOR_ROW, array.min(), np.float32)
        padded[:len(array)] = array
        low, high = np.float32(array.min()), np.float32(array.max())
        picture = to_uint8(padded.reshape(rows, VECTOR_ROW), low, high)
        return LayerMaps(info.name, info.kind, info.output_shape, picture[None],
                         np.array([low]), np.array([high]), True, np.array([array.mean()]))
    if array.ndim == 2:
        array = array[..., None]
    channels = np.moveaxis(array, -1, 0)                 # (c, h, w)
    lows = channels.min(axis=(1, 2))
    highs = channels.max(axis=(1, 2))
    means = channels.mean(axis=(1, 2))
    if max(channels.shape[1:]) > MAX_SIDE:
        channels = np.stack([shrink(channel) for channel in channels])
    pictures = to_uint8(channels, lows[:, None, None], highs[:, None, None])
    return LayerMaps(info.name, info.kind, info.output_shape, pictures, lows.astype(np.float32),
                     highs.astype(np.float32), False, means.astype(np.float32))


def png(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", optimize=False, compress_level=1)
    return buffer.getvalue()


def enlarge(picture, target):
    """Nearest-neighbour enlargement by a whole factor, to about ``target`` px a side."""
    factor = max(1, round(target / max(picture.shape)))
    return np.kron(picture, np.ones((factor, factor), np.uint8)) if factor > 1 else picture


def mosaic(maps, scale="channel", start=0, count=64, columns=GRID_COLUMNS):
    """A grid of channels ``start`` … ``start + count − 1`` (in order, left to right), each
    enlarged to about TILE px, as PNG bytes."""
    pictures = maps.on_scale(scale)[start:start + count]
    if maps.vector:
        return png(enlarge(pictures[0], 16 * VECTOR_ROW))       # 16-px cells
    tiles = [enlarge(picture, TILE) for picture in pictures]
    h, w = tiles[0].shape
    columns = min(columns, len(tiles))
    rows = -(-len(tiles) // columns)
    grid = np.full((rows * (h + GAP) - GAP, columns * (w + GAP) - GAP), SEPARATOR, np.uint8)
    for i, tile in enumerate(tiles):
        top, left = (i // columns) * (h + GAP), (i % columns) * (w + GAP)
        grid[top:top + h, left:left + w] = tile
    return png(grid)


def channel_picture(maps, channel, scale="channel", side=256):
    """One channel, enlarged (nearest: every value stays one visible square)."""
    return png(enlarge(maps.on_scale(scale)[channel], side))


def strongest_channel(maps):
    return int(np.argmax(maps.means))


def overview_picture(maps, side=64):
    """A thumbnail of the layer: its channel with the highest mean activation."""
    return png(enlarge(maps.pictures[strongest_channel(maps)], side))


class PictureCache(ResultCache):
    """cnn_core.imagenet's shared LRU cache (thread-safe, least recently used dropped first),
    bounded by bytes instead of entries: at most ``max_bytes`` in all."""

    def __init__(self, max_bytes=96 * 2**20):
        super().__init__(max_entries=float("inf"))
        self.max_bytes, self.bytes, self.sizes = max_bytes, 0, {}

    def put(self, key, value, nbytes):
        with self.lock:
            self.bytes += nbytes - self.sizes.pop(key, 0)
            self.sizes[key] = nbytes
            self.rows[key] = value
            self.rows.move_to_end(key)
            while self.bytes > self.max_bytes and len(self.rows) > 1:
                oldest, _ = self.rows.popitem(last=False)
                self.bytes -= self.sizes.pop(oldest)
