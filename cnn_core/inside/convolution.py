"""One output value of a convolution, step by step (CNN Explainer's signature view), on the
model's own weights and the input it was given:

    value[r, c, k] = activation( Σ_{i, j, d} patch[i, j, d] · kernel[i, j, d, k] + bias[k] )

where ``patch`` is the part of the layer's input under the kernel when the output position
(r, c) is computed: rows r·stride − pad_top …, columns c·stride − pad_left …; positions in
the padding read 0. ``padding="same"`` pads max((out − 1)·stride + k − in, 0) in all, the
smaller half before (TensorFlow's rule); ``"valid"`` pads nothing.

Interface:
    convolution_step(layer, layer_input (h, w, in), row, column, channel) → ConvolutionStep
"""

from dataclasses import dataclass

import numpy as np

from cnn_core.errors import CNNLabError

ACTIVATIONS = {
    "linear": lambda x: x,
    "relu": lambda x: max(x, 0.0),
    "sigmoid": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "tanh": np.tanh,
}


@dataclass(frozen=True)
class ConvolutionStep:
    row: int
    column: int
    channel: int
    input_rows: tuple         # the input row under each kernel row (−1: padding)
    input_columns: tuple
    patch: np.ndarray         # (kh, kw, in) float32, zeros where padding
    kernel: np.ndarray        # (kh, kw, in) float32
    products: np.ndarray      # patch · kernel, element by element
    total: float              # Σ products
    bias: float
    pre_activation: float     # total + bias
    activation: str
    value: float              # activation(pre_activation): the feature map's pixel

    @property
    def padded(self):
        return -1 in self.input_rows or -1 in self.input_columns


def padding_before(size, kernel, stride, padding):
    if padding == "valid":
        return 0
    out = -(-size // stride)
    return max((out - 1) * stride + kernel - size, 0) // 2


def convolution_step(layer, layer_input, row, column, channel):
    """The computation of ``layer``'s output [row, column, channel] from ``layer_input``."""
    if tuple(layer.dilation_rate) != (1, 1) or getattr(layer, "groups", 1) != 1:
        raise CNNLabError("the step-by-step view covers plain convolutions (no dilation, one "
                          "group); this layer is another kind.")
    activation = getattr(layer.activation, "__name__", "linear")
    if activation not in ACTIVATIONS:
        raise CNNLabError(f"the step-by-step view does not know the {activation} activation.")
    layer_input = np.asarray(layer_input, np.float32)
    kernel = np.asarray(layer.kernel, np.float32)
    kh, kw, _, filters = kernel.shape
    sh, sw = layer.strides
    height, width = layer_input.shape[:2]
    top = padding_before(height, kh, sh, layer.padding)
    left = padding_before(width, kw, sw, layer.padding)
    rows = [row * sh - top + i for i in range(kh)]
    columns = [column * sw - left + j for j in range(kw)]
    if not 0 <= channel < filters:
        raise CNNLabError(f"channel {channel} does not exist: this layer has {filters}.")
    patch = np.zeros((kh, kw, layer_input.shape[2]), np.float32)
    for i, r in enumerate(rows):
        for j, c in enumerate(columns):
            if 0 <= r < height and 0 <= c < width:
                patch[i, j] = layer_input[r, c]
    weights = kernel[..., channel]
    products = patch * weights
    total = float(products.sum(dtype=np.float64))
    bias = float(np.asarray(layer.bias)[channel]) if layer.use_bias else 0.0
    value = float(ACTIVATIONS[activation](total + bias))
    inside = lambda index, size: index if 0 <= index < size else -1       # noqa: E731
    return ConvolutionStep(row, column, channel, tuple(inside(r, height) for r in rows),
                           tuple(inside(c, width) for c in columns), patch, weights, products,
                           total, bias, total + bias, activation, value)
