"""The usual wrong answers to "how many parameters / how much RAM?", computed for a network.

Each mistake is recomputed on the user's own network so the page can show the wrong figure
next to the right one (for the reference case: 903,400 parameters, 12,613,600 bytes to predict
one image, 565,613,600 bytes to train on 50).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from cnn_core.calculator.analysis import MB, MiB, analyze
from cnn_core.networks import Conv2D, Layer


@dataclass(frozen=True)
class Mistake:
    title: str
    quantity: str  # "parameters", "bytes to predict one instance", ...
    wrong: int | float
    right: int | float
    why: str


def common_mistakes(input_shape, layers: list[Layer], dtype: str = "float32",
                    batch_size: int = 50) -> list[Mistake]:
    """The mistakes that apply to this network (a mistake that changes nothing is left out)."""
    report = analyze(input_shape, layers, dtype)
    inputs = [report.input_shape] + [l.output_shape for l in report.layers[:-1]]
    out: list[Mistake] = []

    no_bias = analyze(input_shape, [
        replace(l, use_bias=False) if hasattr(l, "use_bias") else l for l in layers
    ], dtype)
    if no_bias.total_params != report.total_params:
        out.append(Mistake(
            "Forgetting the bias", "parameters", no_bias.total_params, report.total_params,
            "Every filter (and every dense unit) has one bias term: add the number of filters.",
        ))

    convs = [(spec, r, shape) for spec, r, shape in zip(layers, report.layers, inputs)
             if isinstance(spec, Conv2D)]
    image_depth = report.input_shape[-1]
    if len(report.input_shape) == 3 and len(convs) > 1:
        wrong = report.total_params + sum(
            replace(spec, groups=1).params(shape[:-1] + (image_depth,))[0] - r.params
            for spec, r, shape in convs
        )
        if wrong != report.total_params:
            out.append(Mistake(
                "Using the image's channels as every layer's input depth", "parameters", wrong,
                report.total_params,
                "A kernel spans all the feature maps of the previous layer: the second layer's "
                "3×3 kernels are 3×3×(filters of layer 1), not 3×3×3.",
            ))

    if convs:
        wrong = report.total_params + sum(
            r.params * (math.prod(r.output_shape[:-1]) - 1) for _, r, _ in convs
        )
        out.append(Mistake(
            "Multiplying the kernels by the number of output positions", "parameters", wrong,
            report.total_params,
            "A convolutional layer's kernels are shared by all positions: its parameter count "
            "does not depend on the image size (that is the point of a CNN).",
        ))

    floor_elements = _activations_if_same_rounded_down(report.input_shape, layers)
    right_elements = sum(l.activation_elements for l in report.layers)
    if floor_elements != right_elements:
        itemsize = report.activation_itemsize
        out.append(Mistake(
            "Rounding a 'same' output size down", "bytes of activations per instance",
            floor_elements * itemsize, right_elements * itemsize,
            "With 'same' padding the output is ceil(n / stride): 75 / 2 → 38, not 37.",
        ))

    summed = report.input_bytes + report.activation_bytes + report.param_bytes
    if summed != report.inference_bytes:
        out.append(Mistake(
            "Summing every layer to predict one instance", "bytes to predict one instance",
            summed, report.inference_bytes,
            "At inference a layer's input can be freed once its output is computed: only the "
            "largest pair of consecutive activations is alive at once (plus the parameters).",
        ))

    training = report.training_bytes(batch_size)
    out.append(Mistake(
        "Mixing MB (10⁶ bytes) and MiB (2²⁰ bytes)",
        f"MB to train on a batch of {batch_size:,}",
        round(training / MiB, 1), round(training / MB, 1),
        f"{training:,} bytes is {training / MB:,.1f} MB but {training / MiB:,.1f} MiB — "
        "say which unit you use.",
    ))
    return out


def _activations_if_same_rounded_down(input_shape, layers: list[Layer]) -> int:
    """Activation elements per instance if every 'same' output were floor(n / s)."""
    total, shape = 0, tuple(input_shape)
    for layer in layers:
        out, _ = layer.output_shape(shape)
        if getattr(layer, "padding", None) == "same" and len(out) == 3:
            sh, sw = layer.strides
            out = (max(1, shape[0] // sh), max(1, shape[1] // sw), out[2])
        total += math.prod(out)
        shape = out
    return total
