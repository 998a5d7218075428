"""Read any Keras model's description into a ``Graph`` of layer calls, without Keras.

``parse_keras_model`` takes a Keras 3 or Keras 2 (tf.keras) model's JSON (``model.to_json()``, a
``.keras`` file's ``config.json``, an ``.h5`` file's ``model_config``): several inputs and
outputs, merges, shared layers (each call a node; later calls named ``dense (call 2)``), nested
``Sequential`` and functional models (their layers named ``model/layer``), frozen layers,
``keras.ops`` arithmetic. The JSON is parsed as data (bounded by ``keras_json.load_json``):
nothing in it is executed, no class is looked up by its name; every layer the calculator does
not know (a ``Lambda``, a custom class, a module outside Keras) is named with its type and
place in one message before anything is built.
"""

from __future__ import annotations

import heapq

from cnn_core.calculator.analysis import _snake_case
from cnn_core.calculator.graph import MAX_GRAPH_CALLS, Call, Graph
from cnn_core.calculator.graph_layers import ELEMENTWISE_OPS, Merge
from cnn_core.calculator.keras_json import (
    GRAPH_SUPPORTED, MODEL_CLASSES, input_shape_from, layer_spec, load_json,
)
from cnn_core.errors import CNNLabError
from cnn_core.networks import Layer
from cnn_core.strict_values import shown, whole_number

MAX_NESTED_MODELS = 8  # models inside models, deep


def parse_keras_model(text: str | bytes) -> Graph:
    """The graph of any Keras model's JSON (``model.to_json()``, a ``.keras`` file's
    ``config.json``, an ``.h5`` file's ``model_config``)."""
    return keras_graph(load_json(text))


def keras_graph(model) -> Graph:
    """The graph of a parsed Keras model description: one ``Call`` per call of each layer."""
    if isinstance(model, dict) and isinstance(model.get("model_config"), dict):
        model = model["model_config"]  # an .h5 file's attribute wraps it once more in Keras 2
    if not isinstance(model, dict) or "config" not in model or "class_name" not in model:
        raise CNNLabError("this JSON is not a Keras model: expected the output of model.to_json().")
    try:
        if model.get("class_name") == "Sequential":
            _sequential_input_shape(model, _model_entries(model))  # the first thing to fix
        specs = _GraphSpecs(model)
        return _GraphBuilder(specs).build(model)
    except CNNLabError:
        raise
    except (TypeError, ValueError, AttributeError, KeyError, IndexError, OverflowError) as err:
        raise CNNLabError(f"this JSON is not a Keras model the calculator can read: "
                          f"{type(err).__name__} {shown(str(err), 80)}.") from None


def _entry_name(entry: dict) -> str:
    """The layer's name; a hand-written entry without one gets Keras' default name
    (``_GraphSpecs`` sets it)."""
    name = entry.get("name") or entry.get("config", {}).get("name") or entry.get("_default_name")
    if not isinstance(name, str) or not name:
        raise CNNLabError(f"a layer has no name (it holds {shown(name)}).")
    return name


def _sequential_input_shape(model: dict, entries: list) -> tuple[int, ...]:
    first = next((e for e in entries if e.get("class_name") == "InputLayer"), None)
    shape = None
    if first is not None and (first.get("config", {}).get("batch_shape")
                              or first.get("config", {}).get("batch_input_shape")):
        shape = _batch_shape(first)
    shape = shape or input_shape_from(entries) or input_shape_from([model])
    if shape is None or any(d is None for d in shape):
        raise CNNLabError("the model has no fixed input shape; build it with keras.Input("
                          "(height, width, channels)) before calling to_json().")
    return tuple(shape)


def _model_entries(model: dict) -> list:
    config = model.get("config")
    entries = config.get("layers") if isinstance(config, dict) else None
    if not isinstance(entries, list) or not all(
            isinstance(e, dict) and isinstance(e.get("config", {}), dict) for e in entries):
        raise CNNLabError(f"model {shown(_model_name(model))}'s layer list is not a list of "
                          "layers.")
    return entries


def _model_name(model: dict) -> str:
    config = model.get("config")
    name = config.get("name") if isinstance(config, dict) else None
    return name if isinstance(name, str) else str(model.get("class_name"))


def _from_keras(entry: dict) -> bool:
    """Keras 3 names each class's module; anything outside ``keras`` is someone's code."""
    module = entry.get("module")
    registered = entry.get("registered_name")
    keras_module = module is None or (isinstance(module, str) and (
        module == "keras" or module.startswith("keras.")))
    plain_name = registered in (None, entry.get("class_name"))
    return keras_module and plain_name


class _GraphSpecs:
    """Every layer's spec, read once before anything is built; every layer the calculator does
    not know is named (type and place) in one message."""

    def __init__(self, model: dict):
        self.specs: dict[int, Layer | None] = {}  # id(entry) → spec (None: a nested model)
        self.count = 0
        unknown: list[str] = []
        self._read(model, "the model", 0, unknown)
        if unknown:
            more = f" (and {len(unknown) - 5} more)" if len(unknown) > 5 else ""
            raise CNNLabError(
                f"the calculator cannot size {'this layer' if len(unknown) == 1 else 'these'}"
                f": {'; '.join(unknown[:5])}{more}. It reads standard Keras layers only: a "
                "Lambda or a custom class holds code, which is never run here.")

    def _read(self, model: dict, where: str, depth: int, unknown: list[str]) -> None:
        if depth > MAX_NESTED_MODELS:
            raise CNNLabError(f"models are nested more than {MAX_NESTED_MODELS} deep.")
        if model.get("class_name") not in MODEL_CLASSES or not _from_keras(model):
            raise CNNLabError(f"unsupported model class {shown(model.get('class_name'))} "
                              f"({where}): use a Sequential or functional Keras model.")
        entries = _model_entries(model)
        self.count += len(entries)
        defaults: dict[str, int] = {}
        if self.count > MAX_GRAPH_CALLS:
            raise CNNLabError(f"the model has over {MAX_GRAPH_CALLS:,} layers; the calculator "
                              f"takes at most {MAX_GRAPH_CALLS:,}.")
        for position, entry in enumerate(entries):
            class_name = entry.get("class_name")
            if not isinstance(class_name, str):
                raise CNNLabError(f"layer {position + 1} of {where} has no class_name.")
            if not (entry.get("name") or entry.get("config", {}).get("name")):
                base = _snake_case(class_name[:40])  # Keras' default: conv2d, conv2d_1, …
                k = defaults[base] = defaults.get(base, -1) + 1
                entry["_default_name"] = base if k == 0 else f"{base}_{k}"
            name = _entry_name(entry)
            place = (f"{shown(name, 40)} ({shown(class_name, 40)}, layer {position + 1} of "
                     f"{len(entries)} in {where})")
            if not _from_keras(entry):
                unknown.append(f"{place} comes from {shown(entry.get('module'), 60)}, "
                               "not from Keras")
            elif class_name in MODEL_CLASSES:
                self.specs[id(entry)] = None
                self._read(entry, f"model {shown(name, 40)} inside {where}", depth + 1, unknown)
            elif class_name == "InputLayer":
                continue
            elif str(entry.get("module")).startswith("keras.src.ops"):
                if class_name not in ELEMENTWISE_OPS:
                    unknown.append(place)
                else:
                    self.specs[id(entry)] = Merge(operation=class_name, with_constants=True,
                                                  name=name)
            elif class_name not in GRAPH_SUPPORTED:
                unknown.append(place)
            else:
                try:
                    self.specs[id(entry)] = layer_spec(class_name, entry["config"])
                except KeyError as missing:
                    raise CNNLabError(f"{place} is missing its {missing} setting.") from None
                except CNNLabError as err:
                    raise CNNLabError(f"{place}: {err}") from None


def _tensor_refs(node) -> list[tuple[str, int, int]]:
    """The (layer, call, output) each input of one call comes from, in order (Keras 3's
    ``{"args": [...]}`` nodes and Keras 2's ``[[name, call, output, kwargs], ...]`` lists)."""
    refs = []

    def visit(item):
        if isinstance(item, (list, tuple)):
            for x in item:
                visit(x)
        elif isinstance(item, dict):
            history = item.get("config", {}).get("keras_history") if isinstance(
                item.get("config"), dict) else None
            if isinstance(history, list) and len(history) == 3:
                refs.append(_ref(history))

    if isinstance(node, dict):
        visit(node.get("args", []))
        if not refs:
            visit(list(node.get("kwargs", {}).values()))
    elif isinstance(node, list):
        refs = [_ref(t[:3]) for t in node if isinstance(t, list) and len(t) >= 3]
    return refs


def _ref(history) -> tuple[str, int, int]:
    name, call, output = history[:3]
    if not isinstance(name, str) or any(isinstance(v, bool) or not isinstance(v, int) or v < 0
                                        for v in (call, output)):
        raise CNNLabError(f"a layer's input names {shown(history, 60)}, which is not a tensor.")
    return name, call, output


def _refs_list(value, what: str) -> list[tuple[str, int, int]]:
    """``input_layers``/``output_layers``: [name, 0, 0] or [[name, 0, 0], ...]."""
    if isinstance(value, list) and len(value) == 3 and isinstance(value[0], str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise CNNLabError(f"the model's {what} are missing.")
    return [_ref(v) for v in value]


def _batch_shape(entry: dict) -> tuple[int, ...]:
    cfg = entry.get("config", {})
    shape = cfg.get("batch_shape") or cfg.get("batch_input_shape")
    if not isinstance(shape, list) or not 2 <= len(shape) <= 5:
        raise CNNLabError(f"input {shown(_entry_name(entry))} has no shape [batch, height, "
                          "width, channels].")
    if any(d is None for d in shape[1:]):
        raise CNNLabError(f"input {shown(_entry_name(entry))} has no fixed size "
                          f"({shown(shape)}); build it with keras.Input((height, width, "
                          "channels)) before calling to_json().")
    return tuple(whole_number(d, "input sizes") for d in shape[1:])


def _type_name(entry: dict) -> str:
    """The class name, marked where it is a keras.ops call rather than a layer."""
    ops = str(entry.get("module")).startswith("keras.src.ops")
    return f"{entry['class_name']} (keras.ops)" if ops else entry["class_name"]


class _GraphBuilder:
    """The calls of a model in walk order, nested models expanded where they are called."""

    def __init__(self, specs: _GraphSpecs):
        self.specs = specs.specs
        self.calls: list[Call] = []
        self.call_counts: dict[int, int] = {}
        self.n_inputs = 0

    def build(self, model: dict) -> Graph:
        entries = _model_entries(model)
        if model["class_name"] == "Sequential":
            shapes, names = (_sequential_input_shape(model, entries),), ("input",)
        else:
            by_name = {_entry_name(e): e for e in entries}
            refs = _refs_list(model["config"].get("input_layers"), "inputs")
            missing = [r[0] for r in refs
                       if by_name.get(r[0], {}).get("class_name") != "InputLayer"]
            if missing:
                raise CNNLabError(f"the model's input {shown(missing[0])} is not an input layer.")
            shapes = tuple(_batch_shape(by_name[r[0]]) for r in refs)
            names = tuple(r[0] for r in refs)
        self.n_inputs = len(shapes)
        outputs = self._expand(model, list(range(len(shapes))), "", True)
        if not self.calls:
            raise CNNLabError("the network has no layers; add at least one.")
        return Graph(input_shapes=shapes, input_names=names, calls=tuple(self.calls),
                     outputs=tuple(outputs))

    def _emit(self, entry: dict, inputs: list[int], prefix: str, trainable: bool) -> int:
        if len(self.calls) >= MAX_GRAPH_CALLS:
            raise CNNLabError(f"the model makes over {MAX_GRAPH_CALLS:,} layer calls; the "
                              f"calculator takes at most {MAX_GRAPH_CALLS:,}.")
        name = prefix + _entry_name(entry)
        count = self.call_counts[id(entry)] = self.call_counts.get(id(entry), 0) + 1
        spec = self.specs[id(entry)]
        self.calls.append(Call(
            name=name if count == 1 else f"{name} (call {count})", type=_type_name(entry),
            spec=spec, inputs=tuple(inputs), owns_params=count == 1,
            trainable=trainable and spec.trainable, layer_name=name, call=count))
        return self.n_inputs + len(self.calls) - 1

    def _call(self, entry: dict, inputs: list[int], prefix: str, trainable: bool) -> list[int]:
        """A layer's call (one output) or a nested model's (its outputs)."""
        if entry.get("class_name") in MODEL_CLASSES:
            inner = trainable and entry["config"].get("trainable", True) is not False
            return self._expand(entry, inputs, f"{prefix}{_entry_name(entry)}/", inner)
        return [self._emit(entry, inputs, prefix, trainable)]

    def _expand(self, model: dict, inputs: list[int], prefix: str, trainable: bool) -> list[int]:
        trainable = trainable and model["config"].get("trainable", True) is not False
        entries = _model_entries(model)
        if model["class_name"] == "Sequential":
            if len(inputs) != 1:
                raise CNNLabError(f"Sequential model {shown(_model_name(model))} gets "
                                  f"{len(inputs)} inputs; it takes one.")
            tensors = inputs
            for entry in entries:
                if entry.get("class_name") != "InputLayer":
                    tensors = self._call(entry, tensors, prefix, trainable)
            return tensors
        return self._expand_functional(model, entries, inputs, prefix, trainable)

    def _expand_functional(self, model, entries, inputs, prefix, trainable) -> list[int]:
        """Kahn's walk over the calls: the next is the ready call of the earliest layer (and
        its earliest call), so the walk is the model's layer order wherever that is valid."""
        made: dict[tuple[str, int], list[int]] = {}
        refs = _refs_list(model["config"].get("input_layers"), "inputs")
        if len(refs) != len(inputs):
            raise CNNLabError(f"model {shown(_model_name(model))} takes {len(refs)} inputs, "
                              f"not {len(inputs)}.")
        for (name, call, _), tensor in zip(refs, inputs):
            made[(name, call)] = [tensor]
        waiting: dict[tuple[str, int], list] = {}
        ready: list = []
        pending = 0
        for position, entry in enumerate(entries):
            if entry.get("class_name") == "InputLayer":
                continue
            nodes = entry.get("inbound_nodes")
            if not isinstance(nodes, list) or not nodes:
                raise CNNLabError(f"layer {shown(_entry_name(entry))} of model "
                                  f"{shown(_model_name(model))} is not connected to anything.")
            for call, node in enumerate(nodes):
                node_refs = _tensor_refs(node)
                if not node_refs:
                    raise CNNLabError(f"layer {shown(_entry_name(entry))}'s call {call + 1} "
                                      "has no input.")
                task = [(position, call), entry, call, node_refs, 0]
                needed = {(n, c) for n, c, _ in node_refs if (n, c) not in made}
                task[4] = len(needed)
                for key in needed:
                    waiting.setdefault(key, []).append(task)
                pending += 1
                if not needed:
                    heapq.heappush(ready, (task[0], id(task), task))
        while ready:
            _, _, (order, entry, call, node_refs, _) = heapq.heappop(ready)
            pending -= 1
            ins = []
            for n, c, t in node_refs:
                outs = made[(n, c)]
                if t >= len(outs):
                    raise CNNLabError(f"layer {shown(_entry_name(entry))} reads output {t} of "
                                      f"{shown(n)}, which has {len(outs)}.")
                ins.append(outs[t])
            key = (_entry_name(entry), call)
            made[key] = self._call(entry, ins, prefix, trainable)
            for task in waiting.pop(key, ()):
                task[4] -= 1
                if task[4] == 0:
                    heapq.heappush(ready, (task[0], id(task), task))
        if pending:
            stuck = sorted(waiting)[:3]
            names = ", ".join(shown(n) for n, _ in stuck)
            raise CNNLabError(f"model {shown(_model_name(model))} reads layers that are not in "
                              f"it (or its graph has a cycle): {names}.")
        outputs = []
        for n, c, t in _refs_list(model["config"].get("output_layers"), "outputs"):
            if (n, c) not in made or t >= len(made[(n, c)]):
                raise CNNLabError(f"the model's output {shown(n)} is not one of its layers.")
            outputs.append(made[(n, c)][t])
        return outputs
