"""Read a Keras model description (``model.to_json()``) into calculator layers, without Keras.

``parse_keras_json`` reads a ``Sequential`` model or a single-chain functional one into a list
of layers (any graph: ``keras_graph.parse_keras_model``). Supports Keras 3 and Keras 2
(tf.keras) JSON. ``layer_spec`` turns one layer's config into a calculator layer, for both. The
JSON is parsed as data: nothing in it is executed, no class is looked up by its name.

Hostile input is bounded before it is parsed: at most ``MAX_JSON_BYTES`` of text, nested at
most ``MAX_JSON_DEPTH`` deep (a 5,000-deep ``[[[…]]]`` would exhaust ``json.loads``' recursion),
at most ``MAX_LAYERS`` layers, no NaN/Infinity. Anything else malformed in it (a setting of the
wrong type, a missing field) is a ``CNNLabError`` naming the layer, never a traceback.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from pathlib import Path

from cnn_core.calculator.graph_layers import (
    MERGES, Conv2DTranspose, Cropping2D, LayerNormalization, Merge,
    Normalization, Permute, SeparableConv2D, UpSampling2D,
)
from cnn_core.errors import CNNLabError
from cnn_core.networks import (
    Activation,
    AveragePooling2D,
    BatchNormalization,
    Conv2D,
    Dense,
    DepthwiseConv2D,
    Dropout,
    Flatten,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    Layer,
    MaxPooling2D,
    Reshape,
    ZeroPadding2D,
)
from cnn_core.strict_values import MAX_LAYERS, shown, true_or_false, whole_number

MAX_JSON_BYTES = 4 * 10**6  # keras.applications.NASNetLarge (1,041 layers) is ~1.0 MB
MAX_JSON_DEPTH = 64  # a Keras 3 model's JSON nests about 10 deep
# a JSON string; an unterminated one runs to the end (no backtracking: linear on any text)
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")

# Keras layers without weights that keep their input's shape
SHAPE_PRESERVING = {
    "Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "Dropout", "SpatialDropout2D",
    "GaussianNoise", "GaussianDropout", "AlphaDropout", "Rescaling", "RandomFlip",
    "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast", "RandomBrightness",
    "Identity", "ThresholdedReLU",
}
MODEL_CLASSES = ("Sequential", "Functional", "Model")
ALIASES = {"MaxPool2D": "MaxPooling2D", "AvgPool2D": "AveragePooling2D",
           "GlobalAvgPool2D": "GlobalAveragePooling2D", "GlobalMaxPool2D": "GlobalMaxPooling2D"}


def layer_spec(class_name: str, cfg: dict) -> Layer:
    class_name = ALIASES.get(class_name, class_name)
    name = cfg.get("name")
    if name is not None and not isinstance(name, str):
        raise CNNLabError(f"a layer's name must be text, not {shown(name)}.")
    common = {"name": name, "trainable": true_or_false(cfg.get("trainable", True), "trainable")}
    if cfg.get("data_format", "channels_last") != "channels_last":
        raise CNNLabError(
            f"layer {shown(cfg.get('name'))} uses data_format={shown(cfg.get('data_format'))}; "
            "only channels_last is supported."
        )
    if class_name == "Conv2D":
        return Conv2D(
            filters=cfg["filters"], kernel_size=cfg["kernel_size"],
            strides=cfg.get("strides", 1), padding=cfg.get("padding", "valid"),
            use_bias=cfg.get("use_bias", True), dilation_rate=cfg.get("dilation_rate", 1),
            groups=cfg.get("groups", 1), activation=_activation_name(cfg.get("activation")),
            **common,
        )
    if class_name in ("MaxPooling2D", "AveragePooling2D"):
        cls = MaxPooling2D if class_name == "MaxPooling2D" else AveragePooling2D
        return cls(pool_size=cfg.get("pool_size", 2), strides=cfg.get("strides"),
                   padding=cfg.get("padding", "valid"), **common)
    if class_name == "Dense":
        return Dense(units=cfg["units"], use_bias=cfg.get("use_bias", True),
                     activation=_activation_name(cfg.get("activation")), **common)
    if class_name == "BatchNormalization":
        axis = cfg.get("axis", -1)
        if axis not in (-1, 3, [-1], [3]):
            raise CNNLabError(
                f"BatchNormalization '{cfg.get('name')}' normalises axis {axis}; "
                "only the channel axis (-1) is supported."
            )
        return BatchNormalization(center=cfg.get("center", True), scale=cfg.get("scale", True),
                                  **common)
    if class_name == "Flatten":
        return Flatten(**common)
    if class_name in ("GlobalAveragePooling2D", "GlobalMaxPooling2D"):
        cls = GlobalAveragePooling2D if class_name == "GlobalAveragePooling2D" else GlobalMaxPooling2D
        return cls(keepdims=cfg.get("keepdims", False), **common)
    if class_name == "DepthwiseConv2D":
        return DepthwiseConv2D(
            kernel_size=cfg["kernel_size"], strides=cfg.get("strides", 1),
            padding=cfg.get("padding", "valid"), depth_multiplier=cfg.get("depth_multiplier", 1),
            use_bias=cfg.get("use_bias", True), dilation_rate=cfg.get("dilation_rate", 1),
            **common,
        )
    if class_name == "Reshape":
        return Reshape(target_shape=cfg["target_shape"], **common)
    if class_name == "ZeroPadding2D":
        return ZeroPadding2D(padding=cfg.get("padding", 1), **common)
    if class_name in ("Dropout", "SpatialDropout2D"):
        return Dropout(rate=cfg.get("rate", 0.5), **common)
    if class_name in ("SeparableConv2D", "Conv2DTranspose"):
        extra = ({"depth_multiplier": cfg.get("depth_multiplier", 1)}
                 if class_name == "SeparableConv2D" else
                 {"output_padding": cfg.get("output_padding")})
        cls = SeparableConv2D if class_name == "SeparableConv2D" else Conv2DTranspose
        return cls(filters=cfg["filters"], kernel_size=cfg["kernel_size"],
                   strides=cfg.get("strides", 1), padding=cfg.get("padding", "valid"),
                   use_bias=cfg.get("use_bias", True), dilation_rate=cfg.get("dilation_rate", 1),
                   activation=_activation_name(cfg.get("activation")), **extra, **common)
    if class_name == "UpSampling2D":
        return UpSampling2D(size=cfg.get("size", 2), **common)
    if class_name == "Cropping2D":
        return Cropping2D(cropping=cfg.get("cropping", ((0, 0), (0, 0))), **common)
    if class_name == "LayerNormalization":
        rms = cfg.get("rms_scaling", False) is True  # RMS scaling keeps γ only
        return LayerNormalization(axis=cfg.get("axis", -1), center=cfg.get("center", True)
                                  and not rms, scale=cfg.get("scale", True) or rms, **common)
    if class_name == "Normalization":
        return Normalization(axis=cfg.get("axis", -1), given=cfg.get("mean") is not None,
                             **common)
    if class_name == "Permute":
        return Permute(dims=tuple(cfg["dims"]), **common)
    if class_name in MERGES:
        return Merge(operation=class_name, axis=cfg.get("axis", -1), **common)
    if class_name in SHAPE_PRESERVING:
        return Activation(activation=_activation_name(cfg.get("activation")) or class_name,
                          **common)
    raise KeyError(class_name)


def _activation_name(activation) -> str | None:
    if isinstance(activation, dict):  # Keras 3 may serialise activations as objects
        return activation.get("config", {}).get("name") or activation.get("class_name")
    return activation


def input_shape_from(layer_entries: list[dict]) -> tuple[int, ...] | None:
    for entry in layer_entries:
        cfg = entry.get("config", {})
        shape = next((cfg.get(key) for key in ("batch_shape", "batch_input_shape")
                      if cfg.get(key)), None)
        build = entry.get("build_config")
        if shape is None and isinstance(build, dict):
            shape = build.get("input_shape")
        if shape:
            if not isinstance(shape, list) or not 2 <= len(shape) <= 5:
                raise CNNLabError(f"the input shape {shown(shape)} is not [batch, height, "
                                  "width, channels].")
            if any(d is None for d in shape[1:]):
                return tuple(shape[1:])
            return tuple(whole_number(d, "input sizes") for d in shape[1:])
    return None


def _inbound_names(entry: dict) -> list[str]:
    """Names of the layers feeding this one (Keras 3 and Keras 2 node formats)."""
    names = []
    for node in entry.get("inbound_nodes", []):
        if isinstance(node, dict):  # Keras 3: {"args": [{"config": {"keras_history": [...]}}]}
            stack = list(node.get("args", [])) + list(node.get("kwargs", {}).values())
            while stack:
                item = stack.pop()
                if isinstance(item, list):
                    stack.extend(item)
                elif isinstance(item, dict) and isinstance(item.get("config"), dict):
                    history = item["config"].get("keras_history")
                    if isinstance(history, list) and history:
                        names.append(str(history[0]))
        elif isinstance(node, list):  # Keras 2: [[name, node_index, tensor_index, kwargs], ...]
            names.extend(str(t[0]) for t in node if isinstance(t, list) and t)
    return names


def load_json(text: str | bytes, max_bytes: int = MAX_JSON_BYTES,
              max_depth: int = MAX_JSON_DEPTH):
    """``json.loads`` within bounds: size, nesting depth, no NaN/Infinity, no huge numbers."""
    if isinstance(text, bytes):
        if len(text) > max_bytes:
            raise CNNLabError(f"this JSON is {len(text):,} bytes; the calculator reads at most "
                              f"{max_bytes:,}.")
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise CNNLabError("this file is not UTF-8 text; upload the JSON from model.to_json().")
    if not isinstance(text, str):
        raise CNNLabError(f"expected JSON text, not {type(text).__name__}.")
    if len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise CNNLabError(f"this JSON is over {max_bytes:,} bytes; the calculator reads at most "
                          f"{max_bytes:,}.")
    brackets = _BRACKET.findall(_STRING.sub("", text))
    depth = max(accumulate(1 if c in "[{" else -1 for c in brackets), default=0)
    if depth > max_depth:
        raise CNNLabError(f"this JSON is nested {depth:,} levels deep; a Keras model needs "
                          f"far fewer (at most {max_depth} are read).")

    def refuse_constant(name):
        raise CNNLabError(f"this JSON holds {name}, which is not a size a model can have.")

    try:
        document = json.loads(text, parse_constant=refuse_constant)
        # a lone surrogate ("\ud800", raw or escaped) is not text any later step can encode
        json.dumps(document, ensure_ascii=False).encode("utf-8")
        return document
    except UnicodeEncodeError:
        raise CNNLabError("this JSON holds a broken character (a lone UTF-16 surrogate).")
    except (json.JSONDecodeError, RecursionError) as err:
        raise CNNLabError(f"this is not valid JSON ({err}). Paste the output of model.to_json().")
    except ValueError as err:  # e.g. an integer of more than 4,300 digits
        if isinstance(err, CNNLabError):
            raise
        raise CNNLabError(f"this JSON holds a value that cannot be read ({shown(str(err), 80)}).")


def parse_keras_json(text: str | bytes) -> tuple[tuple[int, ...], list[Layer]]:
    """(input_shape, layers) of a Sequential or single-chain Functional model's JSON."""
    model = load_json(text)
    try:
        return _model_layers(model)
    except CNNLabError:
        raise
    except (TypeError, ValueError, AttributeError, KeyError, IndexError, OverflowError) as err:
        # a setting of the wrong type somewhere we did not check by name
        raise CNNLabError(f"this JSON is not a Keras model the calculator can read: "
                          f"{type(err).__name__} {shown(str(err), 80)}.") from None


def _model_layers(model) -> tuple[tuple[int, ...], list[Layer]]:
    if not isinstance(model, dict) or "config" not in model or "class_name" not in model:
        raise CNNLabError("this JSON is not a Keras model: expected the output of model.to_json().")
    kind = model["class_name"]
    config = model["config"]
    entries = config.get("layers") if isinstance(config, dict) else None
    if kind not in ("Sequential", "Functional", "Model") or not isinstance(entries, list):
        raise CNNLabError(f"unsupported model class {shown(kind)}: use a Sequential or "
                          "Functional model.")
    if len(entries) > MAX_LAYERS + 1:
        raise CNNLabError(f"the model has {len(entries):,} layers; the calculator takes at most "
                          f"{MAX_LAYERS:,}.")
    if not all(isinstance(e, dict) and isinstance(e.get("config", {}), dict) for e in entries):
        raise CNNLabError("this JSON's layer list holds something that is not a layer.")
    if kind != "Sequential":
        _check_single_chain(entries)
    input_shape = input_shape_from(entries) or input_shape_from([model])
    if input_shape is None or any(d is None for d in input_shape):
        raise CNNLabError(
            "the model has no fixed input shape; build it with keras.Input((height, width, "
            "channels)) before calling to_json()."
        )
    layers, unsupported = [], []
    for i, entry in enumerate(entries):
        class_name = entry.get("class_name")
        if class_name == "InputLayer":
            continue
        if not isinstance(class_name, str):
            raise CNNLabError(f"layer {i + 1} has no class_name (it holds {shown(class_name)}).")
        cfg = entry.get("config", {})
        try:
            layers.append(layer_spec(class_name, cfg))
        except KeyError as missing:
            if str(missing).strip("'") == class_name:
                unsupported.append(class_name)
            else:
                raise CNNLabError(f"layer {class_name} is missing its {missing} setting.")
        except CNNLabError as err:
            raise CNNLabError(f"layer {i + 1} ({shown(class_name, 30)} "
                              f"{shown(cfg.get('name'), 30)}): {err}") from None
    if unsupported:
        names = ", ".join(sorted({name[:40] for name in unsupported})[:10])
        raise CNNLabError(f"unsupported layer types: {names}. The calculator covers Conv2D, "
                          "pooling, Dense, Flatten, BatchNormalization, Dropout and activations.")
    return input_shape, layers


SUPPORTED = {
    "InputLayer", "Conv2D", "MaxPooling2D", "AveragePooling2D", "Dense", "BatchNormalization",
    "Flatten", "GlobalAveragePooling2D", "GlobalMaxPooling2D", "ZeroPadding2D", "DepthwiseConv2D",
    "Reshape",
} | SHAPE_PRESERVING | set(ALIASES)
GRAPH_SUPPORTED = SUPPORTED | {
    "SeparableConv2D", "Conv2DTranspose", "UpSampling2D", "Cropping2D", "LayerNormalization",
    "Normalization", "Permute", *MERGES, "Dropout", "SpatialDropout2D",
}


def _check_single_chain(entries: list[dict]) -> None:
    previous = None
    breaks = []
    for entry in entries:
        inbound = _inbound_names(entry)
        name = entry.get("name") or entry.get("config", {}).get("name")
        if entry.get("class_name") == "InputLayer":
            if previous is not None:
                breaks.append(f"{str(name)[:40]} (a second input)")
        elif len(inbound) != 1 or (previous is not None and inbound[0] != previous):
            breaks.append(f"{str(name)[:40]} ({str(entry.get('class_name'))[:40]})")
        previous = name
    if breaks:
        unsupported = sorted({str(e.get("class_name"))[:40] for e in entries} - SUPPORTED)[:10]
        also = f" Unsupported layer types: {', '.join(unsupported)}." if unsupported else ""
        raise CNNLabError(
            "this model is not a single chain of layers: it branches or merges at "
            f"{', '.join(breaks[:3])}{'…' if len(breaks) > 3 else ''}.{also}"
        )


def read_keras_json_file(path: str | Path) -> tuple[tuple[int, ...], list[Layer]]:
    """Read at most MAX_JSON_BYTES + 1 bytes (a device file or a huge file is not slurped)."""
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_JSON_BYTES + 1)
    except OSError as err:
        raise CNNLabError(f"cannot read {path}: {err.strerror or err}.")
    return parse_keras_json(data)

