"""Layer specifications with Keras semantics, for counting parameters and sizing memory.

Each layer is a small frozen dataclass named and parameterised like its Keras counterpart
(``Conv2D(filters=100, kernel_size=3, strides=2, padding="same")``). Given the shape of one
instance (no batch axis, channels last), a layer reports its output shape, its trainable and
non-trainable parameters, and the working behind both, so the calculator can show every step.

Shape rules (Keras, channels_last):
    padding="same"  -> out = ceil(n / s)
    padding="valid" -> out = floor((n - k_eff) / s) + 1, k_eff = (k - 1) * dilation + 1
No TensorFlow here: this module is imported by pages that must open fast.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from cnn_core.errors import CNNLabError
from cnn_core.strict_values import shown, size_pair, true_or_false, whole_number

Shape = tuple[int, ...]

PADDINGS = ("same", "valid")


def _padding(value) -> str:
    padding = str(value).lower().strip()
    if padding not in PADDINGS:
        raise CNNLabError(f"padding must be 'same' or 'valid', not {value!r}.")
    return padding


def _need_image(layer: "Layer", shape: Shape) -> None:
    if len(shape) != 3:
        raise CNNLabError(
            f"{layer.type} needs an image-shaped input (height, width, channels), "
            f"but it receives {_fmt_shape(shape)}. Put it before Flatten/Dense."
        )


def _fmt_shape(shape: Shape) -> str:
    return "×".join(str(d) for d in shape)


def _weights_and_biases(fan_in: str, per_output: int, outputs: int, unit: str,
                        use_bias: bool) -> tuple[int, int, str]:
    """Conv2D and Dense: (fan-in + 1 bias) × outputs, with the working as text."""
    weights = per_output * outputs
    if use_bias:
        total = weights + outputs
        return total, 0, f"({fan_in} + 1 bias) × {outputs:,}{unit} = {total:,}"
    return weights, 0, f"{fan_in} × {outputs:,}{unit} (no bias) = {weights:,}"


def conv_output_length(n: int, k: int, s: int, padding: str, dilation: int = 1) -> tuple[int, str]:
    """One spatial dimension's output length under Keras rules, and the working as text."""
    if padding == "same":
        return -(-n // s), f"ceil({n}/{s}) = {-(-n // s)}"
    k_eff = (k - 1) * dilation + 1
    out = (n - k_eff) // s + 1
    return out, f"floor(({n}−{k_eff})/{s})+1 = {out}"


@dataclass(frozen=True)
class Layer:
    """Base: a layer without parameters that keeps its input shape (Dropout, activations)."""

    name: str | None = field(default=None, kw_only=True)
    trainable: bool = field(default=True, kw_only=True)  # False: all its weights are frozen

    @property
    def type(self) -> str:
        return type(self).__name__

    def output_shape(self, input_shape: Shape) -> tuple[Shape, str]:
        return tuple(input_shape), "same shape as its input"

    def params(self, input_shape: Shape) -> tuple[int, int, str]:
        """(trainable, non_trainable, working)."""
        return 0, 0, "no parameters"

    def macs(self, input_shape: Shape, output_shape: Shape) -> int:
        """Multiply-accumulates for one instance (convolutions and dense layers only)."""
        return 0


@dataclass(frozen=True)
class Conv2D(Layer):
    filters: int = 32
    kernel_size: int | tuple[int, int] = 3
    strides: int | tuple[int, int] = 1
    padding: str = "valid"
    use_bias: bool = True
    dilation_rate: int | tuple[int, int] = 1
    groups: int = 1
    activation: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "filters", whole_number(self.filters, "Conv2D filters"))
        object.__setattr__(self, "groups", whole_number(self.groups, "Conv2D groups"))
        if self.filters % self.groups:
            raise CNNLabError(
                f"Conv2D filters ({self.filters}) must be divisible by groups ({self.groups})."
            )
        object.__setattr__(self, "kernel_size", size_pair(self.kernel_size, "Conv2D kernel size"))
        object.__setattr__(self, "strides", size_pair(self.strides, "Conv2D stride"))
        object.__setattr__(self, "dilation_rate", size_pair(self.dilation_rate, "Conv2D dilation"))
        object.__setattr__(self, "padding", _padding(self.padding))
        object.__setattr__(self, "use_bias", true_or_false(self.use_bias, f"{self.type} use_bias"))

    def output_shape(self, input_shape):
        _need_image(self, input_shape)
        h, w, _ = input_shape
        (kh, kw), (sh, sw), (dh, dw) = self.kernel_size, self.strides, self.dilation_rate
        oh, why_h = conv_output_length(h, kh, sh, self.padding, dh)
        ow, why_w = conv_output_length(w, kw, sw, self.padding, dw)
        if oh < 1 or ow < 1:
            raise CNNLabError(
                f"a {kh}×{kw} kernel with stride {sh}×{sw} and 'valid' padding does not fit "
                f"the {h}×{w} input: the output would be {oh}×{ow} ({why_h}; {why_w}). "
                "Use 'same' padding, a smaller kernel or a larger input."
            )
        return (oh, ow, self.filters), f"{why_h} × {why_w} × {self.filters} filters"

    def params(self, input_shape):
        cin = input_shape[-1]
        if cin % self.groups:
            raise CNNLabError(
                f"its {cin} input channels are not divisible by groups ({self.groups})."
            )
        cin_g = cin // self.groups  # each filter sees only its group's channels
        kh, kw = self.kernel_size
        depth = f"{cin}" if self.groups == 1 else f"({cin}/{self.groups} groups)"
        return _weights_and_biases(f"{kh}×{kw}×{depth}", kh * kw * cin_g, self.filters, "",
                                   self.use_bias)

    def macs(self, input_shape, output_shape):
        kh, kw = self.kernel_size
        return math.prod(output_shape) * kh * kw * (input_shape[-1] // self.groups)


@dataclass(frozen=True)
class DepthwiseConv2D(Layer):
    """One k×k filter (× depth_multiplier) per input channel; channels are not mixed."""

    kernel_size: int | tuple[int, int] = 3
    strides: int | tuple[int, int] = 1
    padding: str = "valid"
    depth_multiplier: int = 1
    use_bias: bool = True
    dilation_rate: int | tuple[int, int] = 1

    def __post_init__(self):
        name = "DepthwiseConv2D"
        object.__setattr__(self, "kernel_size", size_pair(self.kernel_size, f"{name} kernel size"))
        object.__setattr__(self, "strides", size_pair(self.strides, f"{name} stride"))
        object.__setattr__(self, "dilation_rate", size_pair(self.dilation_rate, f"{name} dilation"))
        object.__setattr__(self, "padding", _padding(self.padding))
        object.__setattr__(self, "depth_multiplier",
                           whole_number(self.depth_multiplier, f"{name} depth multiplier"))
        object.__setattr__(self, "use_bias", true_or_false(self.use_bias, f"{self.type} use_bias"))

    def output_shape(self, input_shape):
        _need_image(self, input_shape)
        h, w, c = input_shape
        as_conv = Conv2D(c * self.depth_multiplier, self.kernel_size, self.strides, self.padding,
                         dilation_rate=self.dilation_rate)
        return as_conv.output_shape(input_shape)

    def params(self, input_shape):
        c, m = input_shape[-1], self.depth_multiplier
        kh, kw = self.kernel_size
        weights = kh * kw * c * m
        bias = c * m if self.use_bias else 0
        why = f"{kh}×{kw} × {c} channels × {m}" + (f" + {c * m} biases" if bias else "")
        return weights + bias, 0, f"{why} = {weights + bias:,}"

    def macs(self, input_shape, output_shape):
        kh, kw = self.kernel_size
        return math.prod(output_shape) * kh * kw


@dataclass(frozen=True)
class _Pooling2D(Layer):
    pool_size: int | tuple[int, int] = 2
    strides: int | tuple[int, int] | None = None  # Keras: None means the pool size
    padding: str = "valid"

    def __post_init__(self):
        object.__setattr__(self, "pool_size", size_pair(self.pool_size, f"{self.type} pool size"))
        strides = self.pool_size if self.strides is None else self.strides
        object.__setattr__(self, "strides", size_pair(strides, f"{self.type} stride"))
        object.__setattr__(self, "padding", _padding(self.padding))

    def output_shape(self, input_shape):
        _need_image(self, input_shape)
        h, w, c = input_shape
        (ph, pw), (sh, sw) = self.pool_size, self.strides
        oh, why_h = conv_output_length(h, ph, sh, self.padding)
        ow, why_w = conv_output_length(w, pw, sw, self.padding)
        if oh < 1 or ow < 1:
            raise CNNLabError(
                f"a {ph}×{pw} pool with 'valid' padding does not fit the {h}×{w} input: "
                f"the output would be {oh}×{ow} ({why_h}; {why_w})."
            )
        return (oh, ow, c), f"{why_h} × {why_w} × {c} channels"


@dataclass(frozen=True)
class MaxPooling2D(_Pooling2D):
    pass


@dataclass(frozen=True)
class AveragePooling2D(_Pooling2D):
    pass


@dataclass(frozen=True)
class ZeroPadding2D(Layer):
    padding: int | tuple = 1  # int, (sym_h, sym_w) or ((top, bottom), (left, right))

    def __post_init__(self):
        p = self.padding
        what = "ZeroPadding2D padding"
        if isinstance(p, str) or (isinstance(p, (int, float)) and not isinstance(p, bool)):
            p = size_pair(p, what, minimum=0)
        if not isinstance(p, (tuple, list)) or len(p) != 2:
            raise CNNLabError(f"{what} must be n, (h, w) or ((t, b), (l, r)), not {shown(p)}.")
        sides = [size_pair(v, what, minimum=0) if isinstance(v, (tuple, list)) else
                 (whole_number(v, what, 0),) * 2 for v in p]
        vals = sides[0] + sides[1]
        object.__setattr__(self, "padding", ((vals[0], vals[1]), (vals[2], vals[3])))

    def output_shape(self, input_shape):
        _need_image(self, input_shape)
        h, w, c = input_shape
        (t, b), (l, r) = self.padding
        return (h + t + b, w + l + r, c), f"{h}+{t}+{b} × {w}+{l}+{r} × {c}"


@dataclass(frozen=True)
class Flatten(Layer):
    def output_shape(self, input_shape):
        n = math.prod(input_shape)
        return (n,), f"{_fmt_shape(input_shape)} = {n:,}"


@dataclass(frozen=True)
class Reshape(Layer):
    target_shape: tuple[int, ...] = (-1,)

    def __post_init__(self):
        target = self.target_shape
        if not isinstance(target, (tuple, list)) or not 1 <= len(target) <= 4:
            raise CNNLabError(f"Reshape target must be 1 to 4 sizes, not {shown(target)}.")
        object.__setattr__(self, "target_shape", tuple(
            -1 if d == -1 and not isinstance(d, bool) else whole_number(d, "Reshape size")
            for d in target))

    def output_shape(self, input_shape):
        n = math.prod(input_shape)
        target = [int(d) for d in self.target_shape]
        known = math.prod(d for d in target if d != -1)
        if target.count(-1) > 1 or any(d == 0 or d < -1 for d in target) or n % known:
            raise CNNLabError(f"cannot reshape {_fmt_shape(input_shape)} to {tuple(target)}.")
        target = [n // known if d == -1 else d for d in target]
        if math.prod(target) != n:
            raise CNNLabError(f"cannot reshape {_fmt_shape(input_shape)} to {tuple(target)}.")
        return tuple(target), f"{n:,} values as {_fmt_shape(target)}"


@dataclass(frozen=True)
class GlobalAveragePooling2D(Layer):
    keepdims: bool = False

    def __post_init__(self):
        true_or_false(self.keepdims, f"{self.type} keepdims")

    def output_shape(self, input_shape):
        _need_image(self, input_shape)
        c = input_shape[-1]
        if self.keepdims:
            return (1, 1, c), f"one value per channel: 1×1×{c}"
        return (c,), f"one value per channel: {c}"


@dataclass(frozen=True)
class GlobalMaxPooling2D(GlobalAveragePooling2D):
    pass


@dataclass(frozen=True)
class Dense(Layer):
    units: int = 10
    use_bias: bool = True
    activation: str | None = None

    def __post_init__(self):
        object.__setattr__(self, "units", whole_number(self.units, "Dense units"))
        object.__setattr__(self, "use_bias", true_or_false(self.use_bias, f"{self.type} use_bias"))

    def output_shape(self, input_shape):
        # Keras' Dense acts on the last axis; leading axes are kept.
        return tuple(input_shape[:-1]) + (self.units,), f"{self.units} units"

    def params(self, input_shape):
        n_in = input_shape[-1]
        return _weights_and_biases(f"{n_in:,} inputs", n_in, self.units, " units",
                                   self.use_bias)

    def macs(self, input_shape, output_shape):
        return math.prod(input_shape) * self.units


@dataclass(frozen=True)
class BatchNormalization(Layer):
    center: bool = True  # beta (trainable)
    scale: bool = True  # gamma (trainable)

    def __post_init__(self):
        true_or_false(self.center, "BatchNormalization center")
        true_or_false(self.scale, "BatchNormalization scale")

    def params(self, input_shape):
        c = input_shape[-1]
        trainable = c * (int(self.center) + int(self.scale))
        # moving mean and moving variance: updated by statistics, not by gradients
        return trainable, 2 * c, (
            f"{c} channels × ({int(self.scale) + int(self.center)} trainable γ/β "
            f"+ 2 non-trainable moving mean/variance) = {trainable + 2 * c:,}"
        )


@dataclass(frozen=True)
class Dropout(Layer):
    rate: float = 0.5


@dataclass(frozen=True)
class Activation(Layer):
    activation: str = "relu"


LAYER_TYPES: dict[str, type[Layer]] = {
    cls.__name__: cls
    for cls in (
        Conv2D, DepthwiseConv2D, MaxPooling2D, AveragePooling2D, ZeroPadding2D, Flatten, GlobalAveragePooling2D,
        GlobalMaxPooling2D, Reshape, Dense, BatchNormalization, Dropout, Activation,
    )
}
