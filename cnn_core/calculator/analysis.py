"""How many parameters does this CNN have, and how much RAM does it need?

``analyze(input_shape, layers, dtype)`` walks a stack of layers (``cnn_core.networks.layers``) and
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

Command line (``__main__.py``): ``python -m cnn_core.calculator --preset exercise2 --json`` (the
page's defaults: Adam, batch 50, float32, gradients counted).
No TensorFlow is imported here.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cached_property, lru_cache

from cnn_core.errors import CNNLabError
from cnn_core.networks import Layer, Shape
from cnn_core.strict_values import MAX_LAYERS, shown, whole_number

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
TB = 10**12
TiB = 2**40


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
    shape = input_shape = _check_input_shape(input_shape)
    dtype = resolve_dtype(dtype)
    if not layers:
        raise CNNLabError("the network has no layers; add at least one.")
    if len(layers) > MAX_LAYERS:
        raise CNNLabError(f"the network has {len(layers):,} layers; the calculator takes at "
                          f"most {MAX_LAYERS:,}.")
    for i, layer in enumerate(layers):
        if not isinstance(layer, Layer):
            raise CNNLabError(f"layer {i + 1} is not a layer: {shown(layer)}.")
    reports = []
    for i, (layer, name) in enumerate(zip(layers, _keras_style_names(layers))):
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
    return NetworkReport(input_shape=input_shape, layers=tuple(reports), dtype=dtype)


def _check_input_shape(input_shape) -> Shape:
    if not isinstance(input_shape, (tuple, list)) or not 1 <= len(input_shape) <= 4:
        raise CNNLabError(
            f"input shape must be (height, width, channels), not {shown(input_shape)}."
        )
    return tuple(whole_number(d, "input sizes") for d in input_shape)


# -- presentation helpers shared by the page and the CLI -----------------------------------

def format_bytes(n: float) -> str:
    """Both units, labelled: '12.61 MB (12.03 MiB)'."""
    if n >= TB:
        return f"{n / TB:,.2f} TB ({n / TiB:,.2f} TiB)"
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
