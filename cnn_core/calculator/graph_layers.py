"""The layers that graphs and the ImageNet architectures add to ``cnn_core.networks.layers``:
separable and transposed convolutions, resizing and cropping, normalisation layers, ``Permute``
and the merges (``Add``, ``Concatenate``, …), with Keras semantics (channels last).

Shapes are one instance's (no batch axis). A merge takes the shapes of all its inputs
(``merge_shape``); every other layer takes one. No TensorFlow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cnn_core.errors import CNNLabError
from cnn_core.networks import Conv2D, Layer, Shape
from cnn_core.strict_values import shown, size_pair, true_or_false, whole_number


def _fmt(shape: Shape) -> str:
    return "×".join(str(d) for d in shape)


def _axis(axis, rank: int, what: str) -> int:
    """A Keras axis (counting the batch axis as 0; negative from the end) → an index into the
    shape of one instance."""
    if isinstance(axis, list) and len(axis) == 1:
        axis = axis[0]
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise CNNLabError(f"{what} axis must be a whole number, not {shown(axis)}.")
    index = axis + rank if axis < 0 else axis - 1
    if not 0 <= index < rank:
        raise CNNLabError(f"{what} axis {axis} is not an axis of a rank-{rank + 1} tensor (batch "
                          "axis included), or is the batch axis.")
    return index


@dataclass(frozen=True)
class SeparableConv2D(Conv2D):
    """A depthwise k×k convolution (× depth_multiplier per channel), then a 1×1 convolution."""

    depth_multiplier: int = 1

    def __post_init__(self):
        super().__post_init__()
        object.__setattr__(self, "depth_multiplier",
                           whole_number(self.depth_multiplier, "SeparableConv2D depth multiplier"))

    def params(self, input_shape):
        c, m = input_shape[-1], self.depth_multiplier
        kh, kw = self.kernel_size
        depthwise, pointwise = kh * kw * c * m, c * m * self.filters
        bias = self.filters if self.use_bias else 0
        total = depthwise + pointwise + bias
        return total, 0, (f"depthwise {kh}×{kw}×{c}×{m} + pointwise {c * m}×{self.filters}"
                          + (f" + {self.filters} biases" if bias else "") + f" = {total:,}")

    def macs(self, input_shape, output_shape):
        kh, kw = self.kernel_size
        positions = math.prod(output_shape[:-1])
        inner = input_shape[-1] * self.depth_multiplier
        return positions * inner * (kh * kw + self.filters)


@dataclass(frozen=True)
class Conv2DTranspose(Conv2D):
    """Each input position scatters a k×k×filters patch:
    out = (n − 1)·s + k − 2·pad (+ output_padding)."""

    output_padding: tuple[int, int] | None = None

    def __post_init__(self):
        super().__post_init__()
        if self.groups != 1:
            raise CNNLabError("Conv2DTranspose with groups is not supported.")
        if self.output_padding is not None:
            object.__setattr__(self, "output_padding",
                               size_pair(self.output_padding, "output_padding", minimum=0))

    def output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise CNNLabError(f"Conv2DTranspose needs an image, not {_fmt(input_shape)}.")
        sizes, why = [], []
        for axis in range(2):
            n, k, s = input_shape[axis], self.kernel_size[axis], self.strides[axis]
            d = self.dilation_rate[axis]
            k = (k - 1) * d + 1
            extra = None if self.output_padding is None else self.output_padding[axis]
            if extra is None:
                out = n * s if self.padding == "same" else n * s + max(k - s, 0)
                why.append(f"{n}·{s}" if self.padding == "same" else f"{n}·{s}+max({k}−{s},0)")
            else:
                pad = k // 2 if self.padding == "same" else 0
                out = (n - 1) * s + k - 2 * pad + extra
                why.append(f"({n}−1)·{s}+{k}−2·{pad}+{extra}")
            sizes.append(out)
        if min(sizes) < 1:
            raise CNNLabError(f"the output would be {_fmt(sizes)}.")
        return (*sizes, self.filters), f"{why[0]} × {why[1]} × {self.filters} filters"

    def params(self, input_shape):
        kh, kw = self.kernel_size
        c = input_shape[-1]
        weights = kh * kw * c * self.filters
        total = weights + (self.filters if self.use_bias else 0)
        biases = f" + {self.filters} biases" if self.use_bias else ""
        return total, 0, f"{kh}×{kw}×{c} × {self.filters}{biases} = {total:,}"

    def macs(self, input_shape, output_shape):
        kh, kw = self.kernel_size
        return math.prod(input_shape) * kh * kw * self.filters


@dataclass(frozen=True)
class UpSampling2D(Layer):
    size: tuple[int, int] = (2, 2)

    def __post_init__(self):
        object.__setattr__(self, "size", size_pair(self.size, "UpSampling2D size"))

    def output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise CNNLabError(f"UpSampling2D needs an image, not {_fmt(input_shape)}.")
        (h, w, c), (sh, sw) = input_shape, self.size
        return (h * sh, w * sw, c), f"{h}·{sh} × {w}·{sw} × {c}"


@dataclass(frozen=True)
class Cropping2D(Layer):
    cropping: tuple = ((0, 0), (0, 0))

    def __post_init__(self):
        c = self.cropping
        what = "Cropping2D cropping"
        if isinstance(c, (int, float)) and not isinstance(c, bool):
            c = (c, c)
        if not isinstance(c, (tuple, list)) or len(c) != 2:
            raise CNNLabError(f"{what} must be n, (h, w) or ((t, b), (l, r)), not {shown(c)}.")
        sides = [size_pair(v, what, minimum=0) if isinstance(v, (tuple, list)) else
                 (whole_number(v, what, 0),) * 2 for v in c]
        object.__setattr__(self, "cropping", (tuple(sides[0]), tuple(sides[1])))

    def output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise CNNLabError(f"Cropping2D needs an image, not {_fmt(input_shape)}.")
        h, w, c = input_shape
        (t, b), (l, r) = self.cropping
        if h - t - b < 1 or w - l - r < 1:
            raise CNNLabError(f"cropping {self.cropping} leaves nothing of {h}×{w}.")
        return (h - t - b, w - l - r, c), f"{h}−{t}−{b} × {w}−{l}−{r} × {c}"


def _axes(axis, rank: int, what: str) -> tuple[int, ...]:
    axes = axis if isinstance(axis, list) else [axis]
    return tuple(sorted({_axis(a, rank, what) for a in axes}))


@dataclass(frozen=True)
class LayerNormalization(Layer):
    """γ and β over the normalised axes (trainable)."""

    axis: int | list = -1
    center: bool = True
    scale: bool = True

    def params(self, input_shape):
        n = math.prod(input_shape[i] for i in _axes(self.axis, len(input_shape),
                                                    "LayerNormalization"))
        slots = int(true_or_false(self.center, "center")) + int(true_or_false(self.scale, "scale"))
        return slots * n, 0, f"{slots} (γ/β) × {n:,} = {slots * n:,}"


@dataclass(frozen=True)
class Normalization(Layer):
    """Keras' Normalization: a mean and a variance per position of the kept axes and a count,
    all non-trainable, when they are learned by adapt(); none when given in the config."""

    axis: int | list | None = -1
    given: bool = False  # mean and variance in the config: constants, not weights

    def params(self, input_shape):
        if self.given:
            return 0, 0, "mean and variance given in the config: constants, no weights"
        axis = self.axis
        kept = () if axis is None else _axes(axis, len(input_shape), "Normalization")
        n = math.prod(input_shape[i] for i in kept)
        return 0, 2 * n + 1, f"mean {n:,} + variance {n:,} + count 1 = {2 * n + 1:,} (adapt())"


@dataclass(frozen=True)
class Permute(Layer):
    dims: tuple[int, ...] = (1,)

    def output_shape(self, input_shape):
        dims = self.dims
        rank = len(input_shape)
        if not isinstance(dims, (list, tuple)) or sorted(dims) != list(range(1, rank + 1)):
            raise CNNLabError(f"Permute dims {shown(dims)} do not reorder a rank-"
                              f"{len(input_shape)} instance.")
        out = tuple(input_shape[d - 1] for d in dims)
        return out, f"axes {tuple(dims)} of {_fmt(input_shape)}"


@dataclass(frozen=True)
class Merge(Layer):
    """A layer of several inputs: ``Add``, ``Subtract``, ``Multiply``, ``Average``, ``Maximum``,
    ``Minimum`` (elementwise, with broadcasting of size-1 axes) and ``Concatenate``."""

    operation: str = "Add"
    axis: int = -1  # Concatenate only
    with_constants: bool = False  # a keras.ops call such as x + 3.0: one tensor may be enough

    @property
    def type(self) -> str:
        return self.operation

    def output_shape(self, input_shape):
        return self.merge_shape([input_shape])

    def merge_shape(self, shapes: list[Shape]) -> tuple[Shape, str]:
        if len(shapes) == 1 and self.with_constants:
            return tuple(shapes[0]), f"elementwise {self.operation.lower()} with a constant"
        fewest = 1 if self.operation == "Concatenate" or self.with_constants else 2
        if len(shapes) < fewest or (
                self.operation == "Subtract" and len(shapes) != 2):
            needed = "exactly 2" if self.operation == "Subtract" else f"at least {fewest}"
            raise CNNLabError(f"{self.operation} needs {needed} inputs, not {len(shapes)}.")
        listed = " and ".join(_fmt(s) for s in shapes[:4]) + (" …" if len(shapes) > 4 else "")
        if len({len(s) for s in shapes}) != 1:
            raise CNNLabError(f"cannot merge tensors of different ranks: {listed}.")
        rank = len(shapes[0])
        if self.operation == "Concatenate":
            axis = _axis(self.axis, rank, "Concatenate")
            for i in range(rank):
                if i != axis and len({s[i] for s in shapes}) != 1:
                    raise CNNLabError(f"cannot concatenate {listed} on axis {self.axis}: the "
                                      "other axes differ.")
            total = sum(s[axis] for s in shapes)
            out = tuple(total if i == axis else shapes[0][i] for i in range(rank))
            summed = " + ".join(str(s[axis]) for s in shapes)
            return out, f"{summed} = {total:,} along axis {self.axis}"
        out = []
        for sizes in zip(*shapes):
            big = set(sizes) - {1}
            if len(big) > 1:
                raise CNNLabError(f"{self.operation} needs inputs of the same shape (or size-1 "
                                  f"axes), not {listed}.")
            out.append(big.pop() if big else 1)
        return tuple(out), f"elementwise {self.operation.lower()} of {listed}"


MERGES = ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate")
# keras.ops calls written into a functional model (MobileNetV3's hard sigmoid: x + 3.0, x / 6)
ELEMENTWISE_OPS = ("Add", "Subtract", "Multiply", "Divide", "TrueDivide", "Maximum", "Minimum")

