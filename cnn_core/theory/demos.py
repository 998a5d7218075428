"""The Theory page's live demonstrations, in numpy (no TensorFlow, no Streamlit).

Every parameter, byte and MAC count comes from the architecture calculator
(``cnn_core.calculator.analyze``); this module only adds the small numpy computations the
calculator does not do (a convolution on an image, max pooling, local response normalization).
The out-of-memory fixes are ``cnn_core.theory.oom_fixes``, question 6's architecture figures
``cnn_core.theory.architectures`` and the figures quoted in the text ``cnn_core.theory.facts``.
"""

from __future__ import annotations

import numpy as np

from cnn_core.calculator import NetworkReport, analyze
from cnn_core.errors import CNNLabError
from cnn_core.networks import Conv2D, Dense, Flatten, MaxPooling2D
from cnn_core.paths import DATA_DIR
from cnn_core.networks import preset

SAMPLE_IMAGE = DATA_DIR / "samples" / "cat_chelsea.png"  # CC0, see data/samples/CREDITS

# AlexNet's local response normalization (Krizhevsky et al. 2012, section 3.3)
ALEXNET_LRN = {"n": 5, "k": 2.0, "alpha": 1e-4, "beta": 0.75}


# -- question 1: dense vs convolutional layer ----------------------------------------------

def dense_vs_conv(height: int, width: int, channels: int, filters: int, kernel_size: int) -> dict:
    """A 'same' conv layer and a dense layer with as many outputs, both sized by the calculator."""
    conv = analyze((height, width, channels), [Conv2D(filters, kernel_size, padding="same")])
    outputs = conv.layers[0].activation_elements  # height × width × filters
    dense = analyze((height, width, channels), [Flatten(), Dense(outputs)])
    return {
        "outputs": outputs,
        "conv_params": conv.total_params,
        "conv_working": conv.layers[0].params_working,
        "dense_params": dense.total_params,
        "dense_working": dense.layers[1].params_working,
        "dense_bytes": dense.param_bytes,
        "conv_macs": conv.macs,
        "dense_macs": dense.macs,
    }


# strokes of a few hand-drawn digits, in a 20×20 box (MNIST centres digits in 20×20 of 28×28)
DIGIT_STROKES = {
    "1": [[(7, 5), (11, 2), (11, 18)]],
    "4": [[(13, 18), (13, 2), (3, 13), (17, 13)]],
    "7": [[(3, 3), (17, 3), (8, 18)]],
    "L": [[(5, 2), (5, 17), (16, 17)]],
}


def digit_image(digit: str = "7") -> np.ndarray:
    """A 28×28 grey digit in [0, 1], drawn 4× larger and averaged down like MNIST's antialiasing."""
    from PIL import Image, ImageDraw

    if digit not in DIGIT_STROKES:
        raise CNNLabError(f"no drawing for {digit!r}; choose one of {', '.join(DIGIT_STROKES)}.")
    big = Image.new("L", (112, 112), 0)
    draw = ImageDraw.Draw(big)
    for stroke in DIGIT_STROKES[digit]:
        draw.line([(16 + 4 * x, 16 + 4 * y) for x, y in stroke], fill=255, width=9, joint="curve")
    small = big.resize((28, 28), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float64) / 255.0  # (28, 28)


def shift(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """Move the content dy pixels down and dx right; what leaves the frame is lost, zeros enter."""
    out = np.zeros_like(image)
    h, w = image.shape[:2]
    src = image[max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)]
    out[max(0, dy) : max(0, dy) + src.shape[0], max(0, dx) : max(0, dx) + src.shape[1]] = src
    return out


def conv2d(image: np.ndarray, kernel: np.ndarray, stride: int = 1, padding: str = "same"):
    """One-channel 2-D cross-correlation (what Keras' Conv2D computes), 'same' or 'valid'."""
    kh, kw = kernel.shape
    if padding == "same":  # Keras/TF 'same': extra padding goes at the bottom/right
        h, w = image.shape
        oh, ow = -(-h // stride), -(-w // stride)
        ph = max((oh - 1) * stride + kh - h, 0)
        pw = max((ow - 1) * stride + kw - w, 0)
        image = np.pad(image, ((ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2)))
    h, w = image.shape
    oh, ow = (h - kh) // stride + 1, (w - kw) // stride + 1
    out = np.zeros((oh, ow))
    for i in range(kh):
        for j in range(kw):
            out += kernel[i, j] * image[i : i + stride * oh : stride, j : j + stride * ow : stride]
    return out


def max_pool(image: np.ndarray, size: int = 2) -> np.ndarray:
    """size×size max pooling with stride size, 'valid' (Keras' MaxPooling2D default)."""
    h, w = image.shape[0] // size * size, image.shape[1] // size * size
    blocks = image[:h, :w].reshape(h // size, size, w // size, size)
    return blocks.max(axis=(1, 3))


SOBEL_X = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])  # vertical edges


def relative_change(a: np.ndarray, b: np.ndarray) -> float:
    """‖a − b‖ / ‖a‖ (0 = identical)."""
    norm = float(np.linalg.norm(a))
    return float(np.linalg.norm(a - b)) / norm if norm else 0.0


def shifted_digit_demo(digit: str = "7", dy: int = 0, dx: int = 2, seed: int = 0) -> dict:
    """Shift a digit; compare conv(shifted) with shifted conv, and the same for a dense layer.

    The conv layer is a 3×3 vertical-edge detector; the dense layer maps the 784 pixels to 784
    outputs (shown as 28×28) with random weights — any dense layer would do: nothing ties its
    output at one position to the input at the same place.
    """
    if max(abs(dy), abs(dx)) > 3:
        raise CNNLabError("shift the digit by at most 3 pixels, so it stays inside the frame.")
    x = digit_image(digit)  # (28, 28)
    moved = shift(x, dy, dx)
    conv_map, conv_moved = conv2d(x, SOBEL_X), conv2d(moved, SOBEL_X)
    weights = np.random.default_rng(seed).normal(0, 1 / 28, size=(784, 784))
    dense_map = (x.reshape(784) @ weights).reshape(28, 28)
    dense_moved = (moved.reshape(784) @ weights).reshape(28, 28)
    return {
        "image": x,
        "shifted": moved,
        "conv_map": conv_map,
        "conv_shifted": conv_moved,
        "dense_map": dense_map,
        "dense_shifted": dense_moved,
        # equivariance: does f(shift(x)) equal shift(f(x))?
        "conv_equivariance_error": relative_change(shift(conv_map, dy, dx), conv_moved),
        "dense_equivariance_error": relative_change(shift(dense_map, dy, dx), dense_moved),
        # invariance after global max pooling of the (rectified) conv map
        "pooled_change": relative_change(
            np.maximum(conv_map, 0).max(keepdims=True), np.maximum(conv_moved, 0).max(keepdims=True)
        ),
    }


def to_display(x: np.ndarray) -> np.ndarray:
    """Map a signed map to [0, 1] with 0 at mid-grey (for st.image)."""
    scale = float(np.abs(x).max()) or 1.0
    return 0.5 + 0.5 * x / scale


# -- question 2: the reference case ----------------------------------------------------------

def reference_case(batch_size: int = 50, dtype: str = "float32") -> tuple[NetworkReport, dict]:
    """The exercise's three-layer CNN (preset 'exercise2') and its training memory."""
    shape, layers = preset("exercise2")
    report = analyze(shape, layers, dtype)
    return report, report.training_breakdown(batch_size)


def layer_rows(report: NetworkReport) -> list[dict]:
    return [
        {
            "layer": l.name,
            "output shape": "×".join(map(str, l.output_shape)),
            "parameters": f"{l.params:,}",
            "working": l.params_working,
            "activation bytes (one image)": f"{report.layer_activation_bytes(l):,}",
        }
        for l in report.layers
    ]


# -- question 4: max pooling vs a stride-2 convolution -----------------------------------------

def sample_image(width: int = 124, height: int = 80) -> np.ndarray:
    """The CC0 photo of Chelsea the cat, grey, in [0, 1]: (height, width)."""
    from PIL import Image

    if not SAMPLE_IMAGE.exists():
        raise CNNLabError(f"the sample photo {SAMPLE_IMAGE.name} is missing from data/samples.")
    with Image.open(SAMPLE_IMAGE) as im:
        grey = im.convert("L").resize((width, height), Image.Resampling.BOX)
    return np.asarray(grey, dtype=np.float64) / 255.0


def downsampling_kernel(kind: str, size: int, seed: int = 0) -> np.ndarray:
    if kind == "average":
        return np.full((size, size), 1.0 / size**2)
    if kind == "random (untrained)":
        return np.random.default_rng(seed).normal(0, 1 / size, size=(size, size))
    raise CNNLabError(f"unknown kernel {kind!r}; choose 'average' or 'random (untrained)'.")


def pooling_vs_strided_conv(
    shift_px: int = 1, kernel: str = "random (untrained)", kernel_size: int = 2, channels: int = 64
) -> dict:
    """Downsample an edge map of the sample photo by 2: 2×2 max pooling vs a stride-2 conv.

    Both act on the same feature map F = ReLU(vertical-edge conv(photo)) — what a first conv
    layer produces. Shift sensitivity: the photo is cropped 0 and shift_px pixels further right
    (real content enters, no zeros), and each output's relative change is measured.
    Parameters and FLOPs are for a layer on an (h, w, channels) map with as many output
    channels (the same output shape as pooling), by the calculator; a multiply-accumulate
    counts as 2 FLOPs, a comparison as 1.
    """
    photo = sample_image()  # (80, 124)
    width = photo.shape[1] - 4
    crops = [photo[:, :width], photo[:, shift_px : shift_px + width]]  # (80, 120) each
    k = downsampling_kernel(kernel, kernel_size)
    features = [np.maximum(conv2d(c, SOBEL_X), 0) for c in crops]
    pooled = [max_pool(f, 2) for f in features]
    strided = [conv2d(f, k, stride=2, padding="same") for f in features]
    h, w = features[0].shape
    pool = analyze((h, w, channels), [MaxPooling2D(2)])
    conv = analyze((h, w, channels), [Conv2D(channels, kernel_size, strides=2, padding="same")])
    pool_outputs = pool.layers[0].activation_elements
    return {
        "features": features[0],
        "pooled": pooled[0],
        "strided": strided[0],
        "pool_change": relative_change(pooled[0], pooled[1]),
        "conv_change": relative_change(strided[0], strided[1]),
        "feature_change": relative_change(features[0], features[1]),
        "output_shape": pool.layers[0].output_shape,
        "conv_output_shape": conv.layers[0].output_shape,
        "pool_params": pool.total_params,
        "conv_params": conv.total_params,
        "conv_working": conv.layers[0].params_working,
        "pool_flops": pool_outputs * (2 * 2 - 1),  # 3 comparisons per 2×2 window
        "conv_flops": 2 * conv.macs,
    }


def pooling_rows(r: dict, kernel_size: int, shift_px: int) -> list[dict]:
    """The table under the pooling demo: both layers' output, parameters, FLOPs, shift change."""
    shape = lambda s: "×".join(map(str, s))  # noqa: E731
    change = f"output change, {shift_px}-pixel shift"
    return [
        {"": "max pooling 2×2", "output": shape(r["output_shape"]),
         "parameters": f"{r['pool_params']:,}", "FLOPs per image": f"{r['pool_flops']:,}",
         change: f"{r['pool_change']:.1%}"},
        {"": f"convolution {kernel_size}×{kernel_size}, stride 2",
         "output": shape(r["conv_output_shape"]), "parameters": f"{r['conv_params']:,}",
         "FLOPs per image": f"{r['conv_flops']:,}", change: f"{r['conv_change']:.1%}"},
    ]


# -- question 5: local response normalization -----------------------------------------------------

def local_response_normalization(
    a: np.ndarray, n: int = 5, k: float = 2.0, alpha: float = 1e-4, beta: float = 0.75
) -> np.ndarray:
    """AlexNet's LRN over the last (channel) axis:
    b_i = a_i / (k + alpha · Σ_{j=max(0, i−n/2)}^{min(N−1, i+n/2)} a_j²)^beta, n/2 rounded down.
    """
    if int(n) != n or n < 1 or n % 2 == 0:
        raise CNNLabError(f"n must be an odd whole number (a centred window), not {n!r}.")
    a = np.asarray(a, dtype=np.float64)
    r, channels = int(n) // 2, a.shape[-1]
    squares = np.pad(a**2, [(0, 0)] * (a.ndim - 1) + [(r, r)])
    window_sum = sum(squares[..., j : j + channels] for j in range(2 * r + 1))
    return a / (k + alpha * window_sum) ** beta


def tf_lrn_arguments(n: int = 5, k: float = 2.0, alpha: float = 1e-4, beta: float = 0.75) -> dict:
    """The same LRN as arguments of tf.nn.local_response_normalization: a radius, not a width,
    and alpha multiplies the plain sum of squares (as in the AlexNet paper, unlike Caffe's α/n)."""
    return {"depth_radius": int(n) // 2, "bias": float(k), "alpha": float(alpha), "beta": float(beta)}


def torch_lrn_arguments(n: int = 5, k: float = 2.0, alpha: float = 1e-4, beta: float = 0.75) -> dict:
    """The same LRN as arguments of torch.nn.LocalResponseNorm (and Caffe's LRN layer), whose
    documented formula is k + (alpha/n)·Σ a²: alpha must be multiplied by n."""
    return {"size": int(n), "alpha": float(alpha) * int(n), "beta": float(beta), "k": float(k)}


def lrn_example(peak: float = 100.0, channels: int = 8) -> np.ndarray:
    """One pixel's activations across channels: moderate responses and one strong map (channel 3)."""
    base = np.array([20.0, 30.0, 25.0, 0.0, 25.0, 30.0, 20.0, 10.0, 15.0, 25.0, 20.0, 30.0])
    a = base[:channels].copy()
    a[3] = peak
    return a


def lrn_demo(peak: float = 100.0, n: int = 5, k: float = 2.0, alpha: float = 1e-4,
             beta: float = 0.75) -> list[dict]:
    if k == 0 and alpha == 0:
        raise CNNLabError("k and α cannot both be 0: every divisor would be 0.")
    a = lrn_example(peak)
    b = local_response_normalization(a, n, k, alpha, beta)
    return [
        {"channel": i, "before": float(x), "after LRN": float(y), "divided by": float(x / y)}
        for i, (x, y) in enumerate(zip(a, b))
    ]
