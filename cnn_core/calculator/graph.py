"""A network as a graph of layer calls: what the calculator analyses (a chain is one too).

Tensors are numbered: the model's inputs first (0 … k−1), then each call's output in walk
order (call i makes tensor k + i). A call names its layer's spec, the tensors it reads and
whether it carries the layer's parameters (a shared layer's later calls do not). The walk order
is the model's layer order where that is a valid topological order of the graph (Keras'
``model.layers`` is), and the liveness peak walks it.

    chain_graph(input_shape, layers)    a stack of layers as a graph
    live_peak(sizes, inputs, outputs)   the predict-one peak of a walk, by liveness
No TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass

from cnn_core.networks import Layer, Shape

MAX_GRAPH_CALLS = 3_000  # keras.applications.NASNetLarge has 1,041 layers, EfficientNetV2L 1,031


@dataclass(frozen=True)
class Call:
    name: str  # Keras' layer name; a shared layer's later calls say which call: "dense (call 2)"
    type: str  # the Keras class name (Add, ReLU, …)
    spec: Layer
    inputs: tuple[int, ...]  # tensor numbers it reads
    owns_params: bool = True  # False for a shared layer's later calls
    trainable: bool = True  # False: frozen (the layer or a model around it)
    layer_name: str = ""  # the layer whose call this is ("" → name)
    call: int = 1  # 1 for the first call of the layer, 2 for the second, …


@dataclass(frozen=True)
class Graph:
    input_shapes: tuple[Shape, ...]
    input_names: tuple[str, ...]
    calls: tuple[Call, ...]
    outputs: tuple[int, ...]  # tensor numbers of the model's outputs

    def tensor_name(self, tensor: int) -> str:
        k = len(self.input_shapes)
        return self.input_names[tensor] if tensor < k else self.calls[tensor - k].name


def chain_graph(input_shape: Shape, layers: list[Layer], names: list[str]) -> Graph:
    """Layer i reads tensor i (the input, then the previous layer's output)."""
    calls = tuple(Call(name=name, type=layer.type, spec=layer, inputs=(i,),
                       trainable=layer.trainable)
                  for i, (layer, name) in enumerate(zip(layers, names)))
    return Graph(input_shapes=(tuple(input_shape),), input_names=("input",), calls=calls,
                 outputs=(len(layers),))


def live_peak(sizes: list[int], n_inputs: int, reads: list[tuple[int, ...]],
              outputs: tuple[int, ...]) -> tuple[int, int, tuple[int, ...], list[int]]:
    """(peak elements, call at the peak, tensors alive beside its output, the elements alive
    while each call runs) for a walk.

    ``sizes``: every tensor's elements (inputs first, then call i's output as n_inputs + i);
    ``reads[i]``: the tensors call i reads. While call i runs, every tensor already made that a
    later call (or i itself) still reads, or that is a model output, is alive, and so is call
    i's own output. The first largest sum wins."""
    last_use = [-1] * len(sizes)
    for i, tensors in enumerate(reads):
        for t in tensors:
            last_use[t] = i
    forever = len(reads)
    for t in outputs:
        last_use[t] = forever
    for i in range(len(reads)):  # a tensor nobody reads is freed as soon as it is made
        t = n_inputs + i
        if last_use[t] < i:
            last_use[t] = i
    freed_after: dict[int, list[int]] = {}
    alive = 0
    for t in range(n_inputs):
        if last_use[t] >= 0:
            alive += sizes[t]
            freed_after.setdefault(last_use[t], []).append(t)
    best, best_i = -1, -1
    profile = []
    for i in range(len(reads)):
        t = n_inputs + i
        profile.append(alive + sizes[t])
        if alive + sizes[t] > best:
            best, best_i = alive + sizes[t], i
        alive += sizes[t]
        freed_after.setdefault(last_use[t], []).append(t)
        for gone in freed_after.pop(i, ()):
            alive -= sizes[gone]
    if best_i < 0:
        return sum(sizes[:n_inputs]), -1, (), profile
    # the tensors alive at the peak, besides the call's own output
    t_peak = n_inputs + best_i
    live = tuple(t for t in range(t_peak) if last_use[t] >= best_i
                 and (t < n_inputs or t - n_inputs < best_i))
    return best, best_i, live, profile
