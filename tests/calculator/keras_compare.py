"""Compare the calculator with a Keras model built in this run: total and trainable
parameters, every layer call's output shape (shared layers' later calls, nested models' inner
layers) and MACs counted from Keras' own node shapes (``keras_reference.keras_macs``)."""

import math

from cnn_core.calculator.analysis import analyze_graph
from cnn_core.calculator.keras_graph import parse_keras_model
from tests.calculator.keras_reference import keras_macs


def _shape(tensor) -> tuple:
    return tuple(tensor.shape[1:])


def keras_calls(model, prefix: str = ""):
    """(name, class, config, input shape, output shape) of every call Keras made while building
    ``model``, nested models expanded once per call of theirs."""
    found = []
    for layer in model.layers:
        if type(layer).__name__ == "InputLayer":
            continue
        nodes = layer._inbound_nodes  # one per call
        if hasattr(layer, "layers"):  # a nested model: its calls, once per call of it
            inner = keras_calls(layer, f"{prefix}{layer.name}/")
            for k in range(len(nodes)):
                suffix = "" if k == 0 else f" (call {k + 1})"
                found += [(n + suffix, c, cfg, i, o) for n, c, cfg, i, o in inner]
            continue
        for k, node in enumerate(nodes):
            name = prefix + layer.name + ("" if k == 0 else f" (call {k + 1})")
            ins = [_shape(t) for t in node.input_tensors]
            found.append((name, type(layer).__name__, layer.get_config(), ins[0],
                          _shape(node.output_tensors[0])))
    return found


def weight_count(weights) -> int:
    return sum(math.prod(w.shape) for w in weights)


def assert_graph_like_keras(model, dtype: str = "float32"):
    report = analyze_graph(parse_keras_model(model.to_json()), dtype)
    assert report.total_params == model.count_params()
    assert report.trainable_params == weight_count(model.trainable_weights)
    assert report.non_trainable_params == weight_count(model.non_trainable_weights)
    assert report.all_input_shapes == tuple(_shape(t) for t in model.inputs)
    ours = {layer.name: layer for layer in report.layers}
    calls = keras_calls(model)
    expected_macs = 0
    for name, class_name, config, input_shape, output_shape in calls:
        assert name in ours, (name, sorted(ours)[:20])
        assert ours[name].output_shape == output_shape, name
        expected_macs += keras_macs(class_name, config, input_shape, output_shape)
    # keras.ops calls (x + 3.0) are nodes of the graph that model.layers does not list
    layer_calls = [l for l in report.layers if not l.type.endswith("(keras.ops)")]
    assert len(layer_calls) == len(calls)
    assert report.macs == expected_macs
    outputs = [report.layers[t - len(report.all_input_shapes)].output_shape
               for t in report.outputs]
    assert outputs == [_shape(t) for t in model.outputs]
    return report
