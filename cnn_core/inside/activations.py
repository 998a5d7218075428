"""Every layer's output from ONE forward pass: a multi-output model over the network's layers
in order, built and compiled once per model and shared by every session.

A model that holds other models as layers (a transfer model: preprocessing → backbone →
pooling → head) is opened: its nested models' layers are shown one by one. Layers that do
nothing at inference (Dropout and its kin) are left out; the input layer too.

Interface:
    Activations(model, runtime="tensorflow", hint=the runtime's default)
        .layers   [LayerInfo(index, name, kind, output_shape, shape_source)] in order
        .model    the Keras multi-output model (input → every shown layer's output)
        .keras_layers  the Keras layer objects, in the same order
        .feeds    {layer index: index of the layer whose output it reads, −1 = the input}
        self(inputs float32 (n, ...)) → [float32 (n, ...)] one array per shown layer
    layer_shapes(model, names) → ({name: shape}, "calculator" | "Keras"): the calculator's
        shapes where it reads the model (Sequential and single chains), else Keras' own
TensorFlow is imported inside.
"""

from dataclasses import dataclass

import numpy as np

IDENTITIES_AT_INFERENCE = ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise",
                           "GaussianDropout", "AlphaDropout")


@dataclass(frozen=True)
class LayerInfo:
    index: int               # 0-based position among the shown layers
    name: str
    kind: str                # the Keras class name: Conv2D, MaxPooling2D, Concatenate, …
    output_shape: tuple      # one example, no batch axis
    shape_source: str        # "calculator" or "Keras"


def shown(layer):
    kind = type(layer).__name__
    return kind != "InputLayer" and kind not in IDENTITIES_AT_INFERENCE


def layer_tensors(model):
    """(inputs, [(layer, output tensor, input tensor)]) in order, nested models opened."""
    import keras

    nested = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    if not nested:
        return list(model.inputs), [(layer, layer.output, layer.input)
                                    for layer in model.layers if shown(layer)]
    # A chain holding models: rebuilt on a new input, each nested model as a multi-output model
    inputs = keras.Input(tuple(model.inputs[0].shape[1:]), name="input")
    x, found = inputs, []
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        if isinstance(layer, keras.Model):
            _, inner = layer_tensors(layer)
            tensors = [tensor for _, tensor, _ in inner]
            outs = keras.Model(layer.inputs, tensors)(x)
            outs = list(outs) if isinstance(outs, (list, tuple)) else [outs]
            previous = x
            for (inner_layer, _, _), out in zip(inner, outs):
                found.append((inner_layer, out, previous))
                previous = out
            last = next((i for i, t in enumerate(tensors) if t is layer.outputs[0]), -1)
            x = outs[last]
        else:
            out = layer(x)
            if shown(layer):
                found.append((layer, out, x))
            x = out
    return [inputs], found


def calculator_shapes(model):
    """{name: shape} from the calculator (cnn_core.calculator), or None where it cannot read
    this model (a graph with branches, a nested model: Keras' own shapes are used)."""
    from cnn_core.calculator import analyze, parse_keras_json
    from cnn_core.errors import CNNLabError

    try:
        input_shape, layers = parse_keras_json(model.to_json())
        report = analyze(input_shape, layers)
    except (CNNLabError, ValueError, TypeError, KeyError):
        return None
    return {layer.name: tuple(layer.output_shape) for layer in report.layers}


def layer_shapes(model, names):
    """({name: output shape}, source): the calculator's where it gives every shown layer,
    else Keras'."""
    shapes = calculator_shapes(model)
    if shapes is not None and all(name in shapes for name in names):
        return {name: shapes[name] for name in names}, "calculator"
    return None, "Keras"


class Activations:
    """One multi-output model per model: every shown layer's output from one forward pass."""

    def __init__(self, model, runtime="tensorflow", hint=None):
        import keras

        from cnn_core.imagenet import compile_model

        inputs, found = layer_tensors(model)
        self.keras_layers = [layer for layer, _, _ in found]
        names = [layer.name for layer in self.keras_layers]
        shapes, source = layer_shapes(model, names)
        self.layers = [LayerInfo(i, layer.name, type(layer).__name__,
                                 shapes[layer.name] if shapes else tuple(out.shape[1:]),
                                 source)
                       for i, (layer, out, _) in enumerate(found)]
        outputs = [out for _, out, _ in found]
        position = {id(out): i for i, out in enumerate(outputs)}
        self.feeds = {i: position.get(id(given), -1) for i, (_, _, given) in enumerate(found)}
        self.model = keras.Model(inputs, outputs, name=f"{model.name}_inside")
        options = {"hint": hint} if hint else {}      # default: the runtime every page shares
        self.forward = compile_model(self.model, runtime, "float32", **options)
        self.runtime = runtime

    def index(self, name):
        return next(layer.index for layer in self.layers if layer.name == name)

    def __call__(self, inputs):
        """float32 (n, ...) → [float32 (n, *shape)] one array per shown layer."""
        outputs = self.forward(np.asarray(inputs, np.float32))
        return list(outputs) if len(self.layers) > 1 else [outputs]
