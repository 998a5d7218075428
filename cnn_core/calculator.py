"""How many parameters does this CNN have, and how much RAM does it need?

``analyze(input_shape, layers, dtype)`` walks a stack of layers (``cnn_core.layers``) and
returns a ``NetworkReport``: every layer's output shape, parameters and activation size, the
network's totals, the RAM to predict one instance and the RAM to train on a batch of N.

The memory rules (the classic exercise's, stated so they can be checked by hand):
- predict one instance: a layer's input can be freed once its output is computed, so the peak
  is the largest pair of consecutive activations (the input image counts as the first one),
  plus all the parameters;
- train on a batch of N, "bare minimum": every layer's activations are kept for
  back-propagation, so N × (sum of all activations) + N × input + parameters;
- on top, as separate lines: parameter gradients (one per trainable parameter) and optimizer
  state (SGD none, momentum 1×, Adam 2× the trainable parameters).
Every layer's output counts as an activation (a Dropout or a separate Activation layer
materialises a new tensor in Keras; Flatten is counted too, by the same rule).

Command line: ``python -m cnn_core.calculator --preset exercise2 --batch-size 50 --json``.
No TensorFlow is imported here.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from dataclasses import dataclass
from functools import cached_property, lru_cache

from cnn_core.errors import CNNLabError
from cnn_core.layers import LAYER_TYPES, Layer, Shape

# bytes per element: (activations and inputs, parameters)
DTYPES: dict[str, tuple[int, int]] = {
    "float32": (4, 4),
    "float16": (2, 2),
    "bfloat16": (2, 2),
    # Keras' mixed policies: 16-bit activations, float32 weights (and gradients, state)
    "mixed_float16": (2, 4),
    "mixed_bfloat16": (2, 4),
}
DTYPE_ALIASES = {"mixed": "mixed_float16", "fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}

# optimizer state, in copies of the trainable parameters
OPTIMIZER_SLOTS: dict[str, int] = {"sgd": 0, "momentum": 1, "rmsprop": 1, "adam": 2}

MB = 10**6
MiB = 2**20
GB = 10**9
GiB = 2**30


def resolve_dtype(dtype: str) -> str:
    name = DTYPE_ALIASES.get(str(dtype).lower(), str(dtype).lower())
    if name not in DTYPES:
        raise CNNLabError(f"unknown dtype {dtype!r}; choose one of {', '.join(DTYPES)}.")
    return name


def resolve_optimizer(optimizer: str) -> str:
    name = str(optimizer).lower()
    if name not in OPTIMIZER_SLOTS:
        raise CNNLabError(
            f"unknown optimizer {optimizer!r}; choose one of {', '.join(OPTIMIZER_SLOTS)}."
        )
    return name


@dataclass(frozen=True)
class LayerReport:
    index: int
    name: str
    type: str
    output_shape: Shape  # one instance, no batch axis
    trainable_params: int
    non_trainable_params: int
    activation_elements: int  # per instance
    macs: int  # multiply-accumulates per instance (conv and dense layers)
    shape_working: str
    params_working: str

    @property
    def params(self) -> int:
        return self.trainable_params + self.non_trainable_params


@dataclass(frozen=True)
class NetworkReport:
    input_shape: Shape
    layers: tuple[LayerReport, ...]
    dtype: str

    # -- parameters ------------------------------------------------------------------------
    @cached_property
    def trainable_params(self) -> int:
        return sum(l.trainable_params for l in self.layers)

    @cached_property
    def non_trainable_params(self) -> int:
        return sum(l.non_trainable_params for l in self.layers)

    @cached_property
    def total_params(self) -> int:
        return self.trainable_params + self.non_trainable_params

    @cached_property
    def macs(self) -> int:
        return sum(l.macs for l in self.layers)

    # -- bytes -----------------------------------------------------------------------------
    @property
    def activation_itemsize(self) -> int:
        return DTYPES[self.dtype][0]

    @property
    def param_itemsize(self) -> int:
        return DTYPES[self.dtype][1]

    @property
    def input_elements(self) -> int:
        return math.prod(self.input_shape)

    @property
    def input_bytes(self) -> int:
        """One input instance."""
        return self.input_elements * self.activation_itemsize

    @property
    def param_bytes(self) -> int:
        return self.total_params * self.param_itemsize

    @cached_property
    def activation_bytes(self) -> int:
        """All layers' activations for one instance (kept for back-propagation)."""
        return sum(l.activation_elements for l in self.layers) * self.activation_itemsize

    def layer_activation_bytes(self, layer: LayerReport) -> int:
        return layer.activation_elements * self.activation_itemsize

    @cached_property
    def inference_peak(self) -> tuple[int, int]:
        """(bytes, i): the largest pair of consecutive activations is layer i-1's and i's
        (i = 0 is the first layer; its predecessor is the input)."""
        sizes = [self.input_elements] + [l.activation_elements for l in self.layers]
        if len(sizes) == 1:
            return sizes[0] * self.activation_itemsize, -1
        best = max(range(1, len(sizes)), key=lambda i: sizes[i - 1] + sizes[i])
        return (sizes[best - 1] + sizes[best]) * self.activation_itemsize, best - 1

    @property
    def inference_bytes(self) -> int:
        """RAM to predict one instance: peak consecutive pair + parameters."""
        return self.inference_peak[0] + self.param_bytes

    def training_breakdown(
        self, batch_size: int, optimizer: str = "sgd", gradients: bool = True
    ) -> dict[str, int]:
        """Bytes to train on a batch: the bare minimum and the optional extra lines."""
        if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
            raise CNNLabError(f"batch size must be a whole number ≥ 1, not {batch_size!r}.")
        batch_size = int(batch_size)
        slots = OPTIMIZER_SLOTS[resolve_optimizer(optimizer)]
        activations = batch_size * self.activation_bytes
        inputs = batch_size * self.input_bytes
        bare = activations + inputs + self.param_bytes
        gradient_bytes = self.trainable_params * self.param_itemsize if gradients else 0
        optimizer_bytes = slots * self.trainable_params * self.param_itemsize
        return {
            "batch_size": batch_size,
            "activations": activations,
            "inputs": inputs,
            "parameters": self.param_bytes,
            "bare_minimum": bare,
            "gradients": gradient_bytes,
            "optimizer_state": optimizer_bytes,
            "total": bare + gradient_bytes + optimizer_bytes,
        }

    def training_bytes(self, batch_size: int) -> int:
        """The bare minimum to train on a batch (activations, inputs, parameters)."""
        return self.training_breakdown(batch_size)["bare_minimum"]

    def max_batch_size(
        self, device_bytes: int, optimizer: str = "sgd", gradients: bool = True
    ) -> int:
        """Largest batch whose training memory fits in ``device_bytes`` (0: not even one)."""
        fixed = self.training_breakdown(1, optimizer, gradients)
        per_instance = self.activation_bytes + self.input_bytes
        room = device_bytes - (fixed["total"] - per_instance)
        return max(0, room // per_instance) if per_instance else 0

    def memory_curve(
        self, batch_sizes, optimizer: str = "sgd", gradients: bool = True
    ) -> list[dict[str, int]]:
        return [self.training_breakdown(n, optimizer, gradients) for n in batch_sizes]

    def to_dict(
        self, batch_size: int = 1, optimizer: str = "sgd", gradients: bool = True
    ) -> dict:
        breakdown = self.training_breakdown(batch_size, optimizer, gradients)
        peak, peak_layer = self.inference_peak
        return {
            "input_shape": list(self.input_shape),
            "dtype": self.dtype,
            "total_params": self.total_params,
            "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params,
            "macs": self.macs,
            "layers": [
                {
                    "name": l.name,
                    "type": l.type,
                    "output_shape": list(l.output_shape),
                    "params": l.params,
                    "trainable_params": l.trainable_params,
                    "non_trainable_params": l.non_trainable_params,
                    "activation_bytes": self.layer_activation_bytes(l),
                    "macs": l.macs,
                }
                for l in self.layers
            ],
            "input_bytes": self.input_bytes,
            "param_bytes": self.param_bytes,
            "activation_bytes": self.activation_bytes,
            "inference_bytes": self.inference_bytes,
            "inference_peak_bytes": peak,
            "inference_peak_layer": peak_layer,
            "batch_size": breakdown["batch_size"],
            "optimizer": resolve_optimizer(optimizer),
            "training_bytes": breakdown["bare_minimum"],
            "training_breakdown": breakdown,
        }


@lru_cache(maxsize=None)
def _snake_case(type_name: str) -> str:
    """'MaxPooling2D' -> 'max_pooling2d', as Keras names layers."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", type_name).lower().replace("2_d", "2d")


def _keras_style_names(layers: list[Layer]) -> list[str]:
    """Keras' default names: conv2d, conv2d_1, max_pooling2d, ... unless a layer has one."""
    counts: dict[str, int] = {}
    names = []
    for layer in layers:
        if layer.name:
            names.append(layer.name)
            continue
        base = _snake_case(layer.type)
        k = counts.get(base, 0)
        counts[base] = k + 1
        names.append(base if k == 0 else f"{base}_{k}")
    return names


def analyze(input_shape, layers: list[Layer], dtype: str = "float32") -> NetworkReport:
    """Walk the stack; raise CNNLabError naming the first layer that cannot be built."""
    shape = _check_input_shape(input_shape)
    dtype = resolve_dtype(dtype)
    if not layers:
        raise CNNLabError("the network has no layers; add at least one.")
    reports = []
    for i, (layer, name) in enumerate(zip(layers, _keras_style_names(layers))):
        if not isinstance(layer, Layer):
            raise CNNLabError(f"layer {i + 1} is not a layer: {layer!r}.")
        try:
            out, shape_working = layer.output_shape(shape)
            trainable, non_trainable, params_working = layer.params(shape)
            if not layer.trainable and trainable:
                non_trainable, trainable = non_trainable + trainable, 0
                params_working += " (layer frozen: all non-trainable)"
        except CNNLabError as err:
            raise CNNLabError(f"Layer {i + 1} ({layer.type} '{name}'): {err}") from None
        reports.append(
            LayerReport(
                index=i,
                name=name,
                type=layer.type,
                output_shape=tuple(out),
                trainable_params=trainable,
                non_trainable_params=non_trainable,
                activation_elements=math.prod(out),
                macs=layer.macs(shape, out),
                shape_working=shape_working,
                params_working=params_working,
            )
        )
        shape = tuple(out)
    return NetworkReport(input_shape=tuple(input_shape), layers=tuple(reports), dtype=dtype)


def _check_input_shape(input_shape) -> Shape:
    try:
        shape = tuple(input_shape)
    except TypeError:
        raise CNNLabError(f"input shape must be (height, width, channels), not {input_shape!r}.")
    if not shape:
        raise CNNLabError("input shape is empty.")
    for d in shape:
        if isinstance(d, bool) or not isinstance(d, (int, float)) or d != int(d) or d < 1:
            raise CNNLabError(
                f"input sizes must be whole numbers ≥ 1; got {list(input_shape)}."
            )
    return tuple(int(d) for d in shape)


# -- the editable layer table (pages use it with st.data_editor) ---------------------------

ROW_COLUMNS = ("type", "filters_units", "kernel", "stride", "padding", "use_bias")


def layer_to_row(layer: Layer) -> dict:
    """One row of the layer table: the fields a user edits, as plain values."""
    row = {"type": layer.type, "filters_units": None, "kernel": "", "stride": "",
           "padding": "", "use_bias": None}
    fmt = lambda p: f"{p[0]}" if p[0] == p[1] else f"{p[0]}x{p[1]}"  # noqa: E731
    if layer.type == "Conv2D":
        row.update(filters_units=layer.filters, kernel=fmt(layer.kernel_size),
                   stride=fmt(layer.strides), padding=layer.padding, use_bias=layer.use_bias)
    elif layer.type in ("MaxPooling2D", "AveragePooling2D"):
        row.update(kernel=fmt(layer.pool_size), stride=fmt(layer.strides), padding=layer.padding)
    elif layer.type == "Dense":
        row.update(filters_units=layer.units, use_bias=layer.use_bias)
    elif layer.type == "ZeroPadding2D":
        (t, _), (l, _) = layer.padding
        row.update(kernel=f"{t}x{l}")
    return row


def _blank(value) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def layer_from_row(row: dict, index: int = 0) -> Layer:
    """Build a layer from a table row; a bad row raises CNNLabError naming the row."""
    kind = str(row.get("type") or "").strip()
    where = f"Row {index + 1}"
    matches = {k.lower(): k for k in LAYER_TYPES}
    if kind.lower() not in matches:
        raise CNNLabError(
            f"{where}: unknown layer type {kind!r}; supported: {', '.join(LAYER_TYPES)}."
        )
    kind = matches[kind.lower()]
    get = lambda key, default: default if _blank(row.get(key)) else row.get(key)  # noqa: E731
    try:
        if kind == "Conv2D":
            return LAYER_TYPES[kind](
                filters=get("filters_units", None), kernel_size=get("kernel", 3),
                strides=get("stride", 1), padding=get("padding", "valid"),
                use_bias=get("use_bias", True),
            )
        if kind in ("MaxPooling2D", "AveragePooling2D"):
            return LAYER_TYPES[kind](
                pool_size=get("kernel", 2), strides=get("stride", None),
                padding=get("padding", "valid"),
            )
        if kind == "Dense":
            return LAYER_TYPES[kind](units=get("filters_units", None),
                                     use_bias=get("use_bias", True))
        if kind == "ZeroPadding2D":
            from cnn_core.layers import _pair

            return LAYER_TYPES[kind](padding=_pair(get("kernel", 1), "ZeroPadding2D padding"))
        return LAYER_TYPES[kind]()
    except CNNLabError as err:
        raise CNNLabError(f"{where} ({kind}): {err}") from None


def layers_from_rows(rows: list[dict]) -> list[Layer]:
    return [layer_from_row(row, i) for i, row in enumerate(rows) if not _blank(row.get("type"))]


# -- presentation helpers shared by the page and the CLI -----------------------------------

def format_bytes(n: float) -> str:
    """Both units, labelled: '12.61 MB (12.03 MiB)'."""
    if n >= GB:
        return f"{n / GB:,.2f} GB ({n / GiB:,.2f} GiB)"
    return f"{n / MB:,.2f} MB ({n / MiB:,.2f} MiB)"


def batch_sizes(lo: int = 1, hi: int = 1024) -> list[int]:
    """Powers of two from lo to hi (the x axis of the memory chart)."""
    out, n = [], lo
    while n <= hi:
        out.append(n)
        n *= 2
    return out


# -- command line --------------------------------------------------------------------------

def _text_report(report: NetworkReport, batch_size: int, optimizer: str) -> str:
    lines = [f"input {'×'.join(map(str, report.input_shape))}, dtype {report.dtype}", ""]
    lines.append(f"{'layer':<24}{'type':<24}{'output shape':<20}{'params':>14}")
    for l in report.layers:
        shape = "×".join(map(str, l.output_shape))
        lines.append(f"{l.name:<24}{l.type:<24}{shape:<20}{l.params:>14,}")
    b = report.training_breakdown(batch_size, optimizer)
    lines += [
        "",
        f"total parameters      {report.total_params:,} "
        f"(trainable {report.trainable_params:,}, non-trainable {report.non_trainable_params:,})",
        f"predict one instance  {report.inference_bytes:,} bytes = "
        f"{format_bytes(report.inference_bytes)}",
        f"train, batch {batch_size:<8} {b['bare_minimum']:,} bytes = "
        f"{format_bytes(b['bare_minimum'])} (bare minimum)",
        f"  + gradients         {b['gradients']:,} bytes",
        f"  + {optimizer} state{'':<{max(0, 12 - len(optimizer))}}{b['optimizer_state']:,} bytes",
        f"  = total             {b['total']:,} bytes = {format_bytes(b['total'])}",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from cnn_core.presets import PRESETS, preset

    parser = argparse.ArgumentParser(
        prog="python -m cnn_core.calculator",
        description="Parameters and RAM of a CNN, from a preset or a Keras model.to_json().",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--preset", help=f"one of: {', '.join(PRESETS)}")
    source.add_argument("--keras-json", metavar="FILE", help="a file holding model.to_json()")
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--dtype", default="float32", help=", ".join(DTYPES))
    parser.add_argument("--optimizer", default="sgd", help=", ".join(OPTIMIZER_SLOTS))
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    try:
        if args.preset is not None:
            input_shape, layers = preset(args.preset)
        else:
            from cnn_core.keras_json import read_keras_json_file

            input_shape, layers = read_keras_json_file(args.keras_json)
        report = analyze(input_shape, layers, args.dtype)
        payload = report.to_dict(args.batch_size, args.optimizer)
    except CNNLabError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(payload))
    else:
        print(_text_report(report, payload["batch_size"], payload["optimizer"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
