"""How many parameters does this CNN have, and how much RAM does it need?

``analyze(input_shape, layers, dtype)`` walks a stack of layers (``cnn_core.networks.layers``) and
returns a ``NetworkReport``: every layer's output shape, parameters and activation size, the
network's totals, the RAM to predict one instance and the RAM to train on a batch of N.

``analyze_graph(graph, dtype)`` does the same for any graph of layer calls (``graph.py``: several
inputs and outputs, merges, shared layers); ``analyze`` is a chain's graph.

The memory rules (the classic exercise's, stated so they can be checked by hand):
- predict one instance: walk the layers in order; while a layer runs, every tensor already made
  that a later layer still needs (or that is a model output) is alive, and so is the layer's own
  output. The largest sum over the walk, plus all the parameters, is the figure. For a chain
  this is the largest pair of consecutive activations (the input image counts as the first);
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

from cnn_core.calculator.graph import MAX_GRAPH_CALLS, Graph, chain_graph, live_peak
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
    inputs: tuple[int, ...] = ()  # the tensors it reads (NetworkReport.tensor_name names them)
    layer_name: str = ""  # the Keras layer of this call ("" → name)
    call: int = 1  # which call of a shared layer

    @property
    def params(self) -> int:
        return self.trainable_params + self.non_trainable_params


@dataclass(frozen=True)
class NetworkReport:
    input_shape: Shape  # the first input's
    layers: tuple[LayerReport, ...]  # one per layer call, in walk order
    dtype: str
    input_shapes: tuple[Shape, ...] = ()  # every input's (() → just input_shape)
    input_names: tuple[str, ...] = ("input",)
    outputs: tuple[int, ...] = ()  # the model's output tensors (() → the last layer's)

    @property
    def all_input_shapes(self) -> tuple[Shape, ...]:
        return self.input_shapes or (self.input_shape,)

    def tensor_name(self, tensor: int) -> str:
        """Tensors: the inputs first (0 … k−1), then layer call i's output (k + i)."""
        k = len(self.all_input_shapes)
        return self.input_names[tensor] if tensor < k else self.layers[tensor - k].name

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

    @property
    def flops(self) -> int:
        """Floating-point operations: a multiply and an add per MAC."""
        return 2 * self.macs

    # -- bytes -----------------------------------------------------------------------------
    @property
    def activation_itemsize(self) -> int:
        return DTYPES[self.dtype][0]

    @property
    def param_itemsize(self) -> int:
        return DTYPES[self.dtype][1]

    @property
    def input_elements(self) -> int:
        """One instance of every input."""
        return sum(math.prod(shape) for shape in self.all_input_shapes)

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
    def _liveness(self) -> tuple[int, int, tuple[int, ...], list[int]]:
        shapes = self.all_input_shapes
        sizes = [math.prod(s) for s in shapes] + [l.activation_elements for l in self.layers]
        reads = [l.inputs or (i,) for i, l in enumerate(self.layers)]
        outputs = self.outputs or (len(sizes) - 1,)
        return live_peak(sizes, len(shapes), reads, outputs)

    @property
    def inference_peak(self) -> tuple[int, int]:
        """(bytes, i): the most activation memory alive at once while predicting one instance
        is reached while layer i runs. For a chain: layer i-1's and i's outputs (the input's for
        i = 0), the largest pair of consecutive activations."""
        elements, i, _, _ = self._liveness
        return elements * self.activation_itemsize, i

    def tensor_bytes(self, tensor: int) -> int:
        k = len(self.all_input_shapes)
        elements = (math.prod(self.all_input_shapes[tensor]) if tensor < k
                    else self.layers[tensor - k].activation_elements)
        return elements * self.activation_itemsize

    @property
    def inference_live(self) -> tuple[int, ...]:
        """The tensors alive beside the peak layer's own output, at the peak."""
        return self._liveness[2]

    def live_bytes(self) -> list[int]:
        """Activation bytes alive while each layer runs (the walk the peak is the top of)."""
        return [n * self.activation_itemsize for n in self._liveness[3]]

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
            "flops": self.flops,
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
                    "inputs": [self.tensor_name(t) for t in l.inputs],
                }
                for l in self.layers
            ],
            "input_bytes": self.input_bytes,
            "param_bytes": self.param_bytes,
            "activation_bytes": self.activation_bytes,
            "inference_bytes": self.inference_bytes,
            "inference_peak_bytes": peak,
            "inference_peak_layer": peak_layer,
            "inference_peak_layer_name": self.layers[peak_layer].name if peak_layer >= 0 else None,
            "inference_peak_alive": [self.tensor_name(t) for t in self.inference_live],
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
    input_shape = _check_input_shape(input_shape)
    resolve_dtype(dtype)
    if not layers:
        raise CNNLabError("the network has no layers; add at least one.")
    if len(layers) > MAX_LAYERS:
        raise CNNLabError(f"the network has {len(layers):,} layers; the calculator takes at "
                          f"most {MAX_LAYERS:,}.")
    for i, layer in enumerate(layers):
        if not isinstance(layer, Layer):
            raise CNNLabError(f"layer {i + 1} is not a layer: {shown(layer)}.")
    return analyze_graph(chain_graph(input_shape, layers, _keras_style_names(layers)), dtype)


def analyze_graph(graph: Graph, dtype: str = "float32") -> NetworkReport:
    """Every call's output shape, parameters (a shared layer's at its first call only; frozen
    ones non-trainable) and MACs; raise CNNLabError naming the first call that cannot be
    built."""
    dtype = resolve_dtype(dtype)
    if not graph.calls:
        raise CNNLabError("the network has no layers; add at least one.")
    if len(graph.calls) > MAX_GRAPH_CALLS:
        raise CNNLabError(f"the network has {len(graph.calls):,} layer calls; the calculator "
                          f"takes at most {MAX_GRAPH_CALLS:,}.")
    input_shapes = tuple(_check_input_shape(s) for s in graph.input_shapes)
    shapes: list[Shape] = list(input_shapes)
    reports = []
    for i, call in enumerate(graph.calls):
        layer = call.spec
        ins = [shapes[t] for t in call.inputs]
        try:
            if hasattr(layer, "merge_shape"):
                out, shape_working = layer.merge_shape(ins)
            elif len(ins) != 1:
                raise CNNLabError(f"it takes one input, not {len(ins)}.")
            else:
                out, shape_working = layer.output_shape(ins[0])
            if call.owns_params:
                trainable, non_trainable, params_working = layer.params(ins[0])
            else:
                trainable, non_trainable = 0, 0
                params_working = (f"shared: its parameters are counted once, at its first call "
                                  f"({call.layer_name or call.name})")
            if not call.trainable and trainable:
                non_trainable, trainable = non_trainable + trainable, 0
                params_working += " (layer frozen: all non-trainable)"
            macs = layer.macs(ins[0], tuple(out))
        except CNNLabError as err:
            raise CNNLabError(f"Layer {i + 1} ({call.type} '{call.name}'): {err}") from None
        reports.append(LayerReport(
            index=i, name=call.name, type=call.type, output_shape=tuple(out),
            trainable_params=trainable, non_trainable_params=non_trainable,
            activation_elements=math.prod(out), macs=macs, shape_working=shape_working,
            params_working=params_working, inputs=call.inputs,
            layer_name=call.layer_name or call.name, call=call.call))
        shapes.append(tuple(out))
    return NetworkReport(input_shape=input_shapes[0], layers=tuple(reports), dtype=dtype,
                         input_shapes=input_shapes, input_names=graph.input_names,
                         outputs=graph.outputs)


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
