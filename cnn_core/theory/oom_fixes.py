"""What to try when the GPU runs out of memory (Theory question 3): each fix applied to a
network and its training memory recomputed by the calculator. No TensorFlow, no Streamlit."""

from __future__ import annotations

import dataclasses

from cnn_core.calculator import NetworkReport, analyze, format_bytes
from cnn_core.errors import CNNLabError
from cnn_core.networks import Conv2D, Layer, PRESET_TITLES, preset


def _replace_layers(layers: list[Layer], change) -> list[Layer]:
    return [change(layer) for layer in layers]


def halve_filters(layers: list[Layer]) -> list[Layer]:
    """Every convolution keeps half its filters."""
    return _replace_layers(
        layers,
        lambda l: dataclasses.replace(l, filters=max(1, l.filters // 2))
        if isinstance(l, Conv2D) else l,
    )


def double_first_stride(layers: list[Layer]) -> list[Layer]:
    """The first convolution moves twice as far per step: every later map is 4× smaller."""
    out, done = [], False
    for layer in layers:
        if isinstance(layer, Conv2D) and not done:
            layer = dataclasses.replace(layer, strides=tuple(2 * s for s in layer.strides))
            done = True
        out.append(layer)
    return out


def checkpointed_activation_elements(report: NetworkReport) -> tuple[int, int]:
    """(activation elements kept per instance, segment length) under gradient checkpointing.

    Model (Chen et al. 2016): cut the L layers into segments of s consecutive layers; keep only
    each segment's output during the forward pass; during back-propagation recompute one segment
    at a time, so its inner activations are alive too. Peak = all segment outputs + the largest
    segment's inner activations. s is the best equal length (≈ √L when layers are alike).
    """
    sizes = [l.activation_elements for l in report.layers]
    best = (sum(sizes), len(sizes))
    for s in range(1, len(sizes) + 1):
        segments = [sizes[i : i + s] for i in range(0, len(sizes), s)]
        kept = sum(seg[-1] for seg in segments) + max(sum(seg[:-1]) for seg in segments)
        best = min(best, (kept, s))
    return best


def _per_layer_bytes(report: NetworkReport, batch_size: int, optimizer: str) -> list[int]:
    """Training bytes each layer brings: its activations for the batch, its parameters,
    their gradients and optimizer state."""
    per_param = report.training_breakdown(1, optimizer)
    params = report.trainable_params or 1
    copies = (per_param["gradients"] + per_param["optimizer_state"]) / (params * report.param_itemsize)
    return [
        batch_size * report.layer_activation_bytes(l)
        + l.params * report.param_itemsize
        + round(l.trainable_params * report.param_itemsize * copies)
        for l in report.layers
    ]


def model_parallel_bytes(report: NetworkReport, batch_size: int, optimizer: str) -> int:
    """Largest device's training bytes when the layers are split over two devices at the best
    cut; the second device also holds its own copy of the tensor sent to it."""
    per_layer = _per_layer_bytes(report, batch_size, optimizer)
    inputs = report.training_breakdown(batch_size, optimizer)["inputs"]
    best = inputs + sum(per_layer)
    for cut in range(1, len(per_layer)):
        received = batch_size * report.layer_activation_bytes(report.layers[cut - 1])
        first = inputs + sum(per_layer[:cut])
        second = received + sum(per_layer[cut:])
        best = min(best, max(first, second))
    return best


def oom_fixes(
    preset_name: str, batch_size: int = 32, optimizer: str = "adam", dtype: str = "float32"
) -> list[dict]:
    """Each fix for 'GPU out of memory' and the training memory it leaves, by the calculator.

    Training memory = the calculator's bare minimum (batch activations + inputs + parameters)
    + parameter gradients + optimizer state.
    """
    shape, layers = preset(preset_name)
    base = analyze(shape, layers, dtype)
    baseline = base.training_breakdown(batch_size, optimizer)["total"]
    rows = []

    def add(fix: str, total: int | None, params: int | None, cost: str):
        rows.append({
            "fix": fix,
            "training memory": format_bytes(total) if total is not None else "not applicable",
            "bytes": total,
            "change": f"{100 * (total - baseline) / baseline:+.0f}%" if total is not None else "",
            "parameters": f"{params:,}" if params is not None else "",
            "what it costs": cost,
        })

    def variant(new_layers, new_dtype=dtype, n=batch_size, opt=optimizer):
        try:
            r = analyze(shape, new_layers, new_dtype)
        except CNNLabError:
            return None, None
        return r.training_breakdown(n, opt)["total"], r.total_params

    add(f"As is: {PRESET_TITLES[preset_name]}, batch {batch_size}, {optimizer}, {dtype}",
        baseline, base.total_params, "—")
    add(f"Halve the mini-batch (batch {max(1, batch_size // 2)})",
        *variant(layers, n=max(1, batch_size // 2)),
        "noisier gradients; may need a smaller learning rate")
    add("Stride 2× in the first convolution (downsample earlier)",
        *variant(double_first_stride(layers)),
        "less spatial detail; accuracy may drop")
    add("Half the filters in every convolution", *variant(halve_filters(layers)),
        "less capacity; accuracy may drop")
    add("Mixed precision (float16 activations, float32 weights)",
        *variant(layers, "mixed_float16"), "needs loss scaling; fast on GPUs with tensor cores")
    add("All float16 (weights too)", *variant(layers, "float16"),
        "risk of underflow/overflow without care")
    if optimizer != "sgd":
        add("Plain SGD instead (no optimizer state)", *variant(layers, opt="sgd"),
            "often slower convergence")
    kept, seg = checkpointed_activation_elements(base)
    b = base.training_breakdown(batch_size, optimizer)
    checkpointed = b["total"] - b["activations"] + batch_size * kept * base.activation_itemsize
    add(f"Gradient checkpointing (best: segments of {seg}; {len(base.layers)} layers in all)",
        checkpointed, base.total_params, "≈ one extra forward pass per step")
    add("Split the layers over 2 GPUs (model parallel): the fuller GPU",
        model_parallel_bytes(base, batch_size, optimizer), base.total_params,
        "GPUs wait for each other unless pipelined")
    return rows


