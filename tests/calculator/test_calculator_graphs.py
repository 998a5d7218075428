"""Graphs against Keras: 200 random functional models (residual, inception, squeeze-and-excitation,
separable, grouped and transposed convolutions, several inputs and outputs, shared layers,
nested models, frozen parts), each built in Keras in this run and compared call by call
(``keras_compare.assert_graph_like_keras``); the liveness peak worked by hand for a residual
and an inception block; shared layers and nested models named and counted as Keras does."""

import random

import pytest

from cnn_core.calculator.analysis import analyze, analyze_graph
from cnn_core.calculator.keras_graph import parse_keras_model
from cnn_core.networks import Conv2D

import keras
layers = keras.layers

from tests.calculator.keras_compare import assert_graph_like_keras  # noqa: E402


def conv(rng, filters=None, **kw):
    k = rng.choice([1, 3, (1, 3), (3, 1), 5])
    return layers.Conv2D(filters or rng.randint(2, 12), k, padding="same",
                         use_bias=rng.random() < 0.7, **kw)


def residual(rng, x):
    c = x.shape[-1]
    y = conv(rng, c)(x)
    y = layers.BatchNormalization(scale=rng.random() < 0.5)(y)
    y = layers.ReLU()(y)
    if rng.random() < 0.5:  # a 1×1 projection shortcut (ResNet's option B)
        shortcut = layers.Conv2D(c, 1, strides=1)(x)
    else:
        shortcut = x
    return layers.Add()([y, shortcut])


def inception(rng, x):
    branches = [conv(rng)(x) for _ in range(rng.randint(2, 4))]
    branches.append(layers.MaxPooling2D(3, strides=1, padding="same")(x))
    return layers.Concatenate(axis=rng.choice([-1, 3]))(branches)


def squeeze_excite(rng, x):
    c = x.shape[-1]
    s = layers.GlobalAveragePooling2D(keepdims=rng.random() < 0.5)(x)
    if len(s.shape) == 2:
        s = layers.Reshape((1, 1, c))(s)
    s = layers.Conv2D(max(1, c // 2), 1, activation="relu")(s)
    s = layers.Conv2D(c, 1, activation="sigmoid")(s)
    return layers.Multiply()([x, s])


def separable(rng, x):
    return layers.SeparableConv2D(rng.randint(2, 10), rng.choice([1, 3]),
                                  strides=rng.choice([1, 2]), padding=rng.choice(["same", "valid"]),
                                  depth_multiplier=rng.randint(1, 2))(x)


def grouped(rng, x):
    groups = rng.choice([g for g in (1, 2, 3, 4) if x.shape[-1] % g == 0])
    return layers.Conv2D(groups * rng.randint(1, 4), 3, padding="same", groups=groups)(x)


def resize(rng, x):
    kind = rng.choice(["up", "crop", "pad", "transpose", "pool", "depthwise"])
    if kind == "up":
        return layers.UpSampling2D(rng.choice([2, (1, 2)]))(x)
    if kind == "crop" and min(x.shape[1:3]) > 3:
        return layers.Cropping2D(((1, 0), (0, 1)))(x)
    if kind == "pad":
        return layers.ZeroPadding2D(((0, 1), (1, 2)))(x)
    if kind == "transpose":
        return layers.Conv2DTranspose(rng.randint(1, 6), rng.choice([2, 3]), strides=2,
                                      padding=rng.choice(["same", "valid"]))(x)
    if kind == "depthwise":
        return layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2)(x)
    return layers.AveragePooling2D(2, padding="same")(x)


def shared(rng, x):
    """One layer called twice: its parameters once, its activations and MACs twice."""
    layer = conv(rng, x.shape[-1])
    return layer(layers.Activation("relu")(layer(x)))


def nested(rng, x):
    """A small model used as a layer (maybe frozen, maybe called twice)."""
    c = x.shape[-1]
    if rng.random() < 0.5:
        inner = keras.Sequential([keras.Input(x.shape[1:]), conv(rng, c),
                                  layers.BatchNormalization(), layers.LayerNormalization()])
    else:
        i = keras.Input(x.shape[1:])
        inner = keras.Model(i, layers.Add()([i, conv(rng, c)(i)]))
    if rng.random() < 0.4:
        inner.trainable = False
    y = inner(x)
    return inner(y) if rng.random() < 0.4 else y


BLOCKS = [residual, inception, squeeze_excite, separable, grouped, resize, shared, nested]


def random_model(rng: random.Random):
    h, w = rng.randint(6, 14), rng.randint(6, 14)
    inputs = [keras.Input((h, w, rng.randint(1, 4))) for _ in range(rng.choice([1, 1, 2]))]
    x = inputs[0] if len(inputs) == 1 else layers.Concatenate()(inputs)
    outputs = []
    for _ in range(rng.randint(2, 4)):
        block = rng.choice(BLOCKS)
        x = block(rng, x)
        if rng.random() < 0.15:
            x._keras_history.operation.trainable = False  # the block's last layer, frozen
        if rng.random() < 0.15:
            outputs.append(layers.GlobalMaxPooling2D()(x))  # a second output
    head = layers.Flatten()(x) if rng.random() < 0.5 else layers.GlobalAveragePooling2D()(x)
    dense = layers.Dense(rng.randint(2, 8))
    if rng.random() < 0.3 and head.shape[-1] == dense.units:
        outputs.append(dense(dense(head)))
    else:
        outputs.append(dense(head))
    return keras.Model(inputs, outputs if len(outputs) > 1 else outputs[0])


SEEDS = range(200)
REPORTS = {}  # seed → report, kept by the comparison for the cover check


@pytest.mark.parametrize("seed", SEEDS)
def test_random_graph_matches_keras(seed):
    rng = random.Random(seed)
    model = random_model(rng)
    try:
        REPORTS[seed] = assert_graph_like_keras(model, rng.choice(["float32", "mixed_float16"]))
    finally:
        keras.backend.clear_session()


def test_random_graphs_cover_every_kind():
    """The generator does make what the issue lists (a cover check, not a result)."""
    types = set()
    for seed in SEEDS:
        if seed not in REPORTS:  # run alone: build it again
            REPORTS[seed] = analyze_graph(parse_keras_model(
                random_model(random.Random(seed)).to_json()))
            keras.backend.clear_session()
        report = REPORTS[seed]
        types |= {l.type for l in report.layers}
        types |= {"call 2"} if any(l.call > 1 for l in report.layers) else set()
        types |= {"frozen"} if report.non_trainable_params > 0 else set()
        types |= {"2 inputs"} if len(report.all_input_shapes) > 1 else set()
        types |= {"2 outputs"} if len(report.outputs) > 1 else set()
        types |= {"nested"} if any("/" in l.name for l in report.layers) else set()
    assert {"Add", "Concatenate", "Multiply", "SeparableConv2D", "Conv2DTranspose",
            "UpSampling2D", "Cropping2D", "LayerNormalization", "call 2", "frozen", "2 inputs",
            "2 outputs", "nested"} <= types


# -- shared layers and nested models, by name --------------------------------------------------

def test_shared_layer_counts_parameters_once_and_activations_per_call():
    x = keras.Input((8, 8, 4), name="image")
    dense = layers.Dense(4, name="shared")
    model = keras.Model(x, dense(dense(x)))
    report = assert_graph_like_keras(model)
    first, second = report.layers
    assert (first.name, second.name) == ("shared", "shared (call 2)")
    assert (first.params, second.params) == (20, 0)  # 4×4 + 4, once
    assert first.macs == second.macs == 8 * 8 * 4 * 4
    assert report.activation_bytes == 2 * 8 * 8 * 4 * 4


def test_frozen_nested_backbone_is_non_trainable():
    backbone = keras.Sequential([keras.Input((10, 10, 3)), layers.Conv2D(5, 3, name="c"),
                                 layers.BatchNormalization(name="bn")], name="backbone")
    backbone.trainable = False
    x = keras.Input((10, 10, 3))
    model = keras.Model(x, layers.Dense(2, name="head")(backbone(x)))
    report = assert_graph_like_keras(model)
    assert [l.name for l in report.layers] == ["backbone/c", "backbone/bn", "head"]
    assert report.trainable_params == 5 * 2 + 2  # the head only


# -- the liveness peak, by hand -----------------------------------------------------------------

def test_liveness_peak_of_a_residual_block_by_hand():
    """x (8×8×4 = 256) → a: conv 8 maps (512) → b: conv 4 maps (256) → add(b, x) (256).
    While a runs: x (read again by add) + a = 768. While b runs: x + a + b = 1,024 (a is read
    by b). While add runs: x + b + the sum = 768. Peak 1,024 elements at b = 4,096 bytes."""
    x = keras.Input((8, 8, 4), name="x")
    a = layers.Conv2D(8, 3, padding="same", name="a")(x)
    b = layers.Conv2D(4, 3, padding="same", name="b")(a)
    model = keras.Model(x, layers.Add(name="sum")([b, x]))
    report = analyze_graph(parse_keras_model(model.to_json()))
    assert report.inference_peak == (1_024 * 4, 1)
    assert [report.tensor_name(t) for t in report.inference_live] == ["x", "a"]
    assert report.inference_bytes == 1_024 * 4 + report.param_bytes


def test_liveness_peak_of_an_inception_block_by_hand():
    """x (6×6×2 = 72) → p: 1×1 conv 3 maps (108), q: 3×3 conv 5 (180), r: max pool (72),
    then concatenate (6×6×10 = 360). While p runs: x + p = 180; q: x + p + q = 360; r: x + p +
    q + r = 432 (x is still read by r); concat: p + q + r + out = 720 (x is freed after r).
    Peak 720 elements while the concatenation runs."""
    x = keras.Input((6, 6, 2), name="x")
    p = layers.Conv2D(3, 1, name="p")(x)
    q = layers.Conv2D(5, 3, padding="same", name="q")(x)
    r = layers.MaxPooling2D(3, strides=1, padding="same", name="r")(x)
    model = keras.Model(x, layers.Concatenate(name="cat")([p, q, r]))
    report = analyze_graph(parse_keras_model(model.to_json()))
    assert report.inference_peak == (720 * 4, 3)
    assert [report.tensor_name(t) for t in report.inference_live] == ["p", "q", "r"]


def test_chain_peak_is_the_largest_consecutive_pair():
    """The exercise (200×300×3 → 100×150×100 → 50×75×200 → 25×38×400): the first and second
    convolutions' outputs, 1,500,000 + 750,000 elements, as before graphs."""
    layers_ = [Conv2D(100, 3, strides=2, padding="same"), Conv2D(200, 3, strides=2,
               padding="same"), Conv2D(400, 3, strides=2, padding="same")]
    report = analyze((200, 300, 3), layers_)
    assert report.inference_peak == ((1_500_000 + 750_000) * 4, 1)


def test_the_transfer_pages_model_opens_like_keras():
    """What "open this model in the calculator" sends: preprocessing, the frozen SqueezeNet
    conv base (a sub-model cut at its Grad-CAM layer, nested) and the trained head (a nested
    Sequential)."""
    from cnn_core.imagenet.models import build_squeezenet, models
    from cnn_core.transfer.embed import preprocessing_layer
    from cnn_core.transfer.head import HeadSettings, build_head
    from cnn_core.transfer.model import TransferModel

    spec = models["squeezenet"]
    full = build_squeezenet()
    conv_base = keras.Model(full.inputs, full.get_layer(spec.gradcam_layer).output,
                            name="squeezenet_features")
    conv_base.trainable = False
    head = build_head(int(conv_base.output.shape[-1]), 3, HeadSettings())
    model = TransferModel("squeezenet", ["a", "b", "c"], preprocessing_layer(spec), conv_base,
                          head).model
    report = assert_graph_like_keras(model)
    assert report.trainable_params == sum(w.numpy().size for w in head.trainable_weights)
    keras.backend.clear_session()


def test_every_layer_type_the_issue_lists_matches_keras():
    x = keras.Input((12, 10, 3), name="image")
    y = layers.Conv2D(6, 3, dilation_rate=2, padding="same")(x)
    y = layers.LeakyReLU(negative_slope=0.1)(y)
    y = layers.Conv2DTranspose(4, 3, strides=2, padding="same", output_padding=1)(y)
    y = layers.Cropping2D(((2, 1), (0, 3)))(y)
    y = layers.ZeroPadding2D(((1, 0), (2, 1)))(y)
    y = layers.UpSampling2D((1, 2))(y)
    y = layers.Rescaling(1 / 255)(y)
    y = layers.Normalization(axis=-1)(y)  # mean, variance, count: non-trainable weights
    y = layers.Normalization(mean=0.5, variance=0.25)(y)  # given: no weights
    y = layers.LayerNormalization(axis=[1, 2, 3])(y)
    y = layers.ReLU(max_value=6.0)(y)
    y = layers.Identity()(y)
    y = layers.Permute((2, 1, 3))(y)
    a = layers.SeparableConv2D(4, 3, padding="same", depth_multiplier=2)(y)
    b = layers.DepthwiseConv2D(3, padding="same")(y)
    y = layers.Subtract()([a, b])
    y = layers.Average()([y, a])
    y = layers.Maximum()([y, b])
    y = layers.Minimum()([y, a, b])
    y = layers.Concatenate(axis=2)([y, a, a])  # along the width
    y = layers.Concatenate(axis=1)([y, y])  # along the height
    y = layers.GlobalMaxPooling2D(keepdims=True)(y)
    y = layers.Softmax()(layers.Flatten()(y))
    report = assert_graph_like_keras(keras.Model(x, y))
    assert report.non_trainable_params == 4 + 4 + 1  # the adapted Normalization's mean/var/count
    keras.backend.clear_session()


def test_keras2_functional_json_is_read():
    """tf.keras (Keras 2) JSON: nodes as [[name, call, output, kwargs], ...] lists."""
    document = {"class_name": "Functional", "config": {
        "name": "model", "input_layers": [["input_1", 0, 0]],
        "output_layers": [["add", 0, 0]],
        "layers": [
            {"class_name": "InputLayer", "name": "input_1",
             "config": {"batch_input_shape": [None, 8, 8, 4], "name": "input_1"},
             "inbound_nodes": []},
            {"class_name": "Conv2D", "name": "conv",
             "config": {"name": "conv", "filters": 4, "kernel_size": [3, 3], "padding": "same"},
             "inbound_nodes": [[["input_1", 0, 0, {}]]]},
            {"class_name": "Add", "name": "add", "config": {"name": "add"},
             "inbound_nodes": [[["conv", 0, 0, {}], ["input_1", 0, 0, {}]]]}]}}
    import json

    report = analyze_graph(parse_keras_model(json.dumps(document)))
    assert [l.name for l in report.layers] == ["conv", "add"]
    assert report.total_params == (3 * 3 * 4 + 1) * 4
    assert [report.tensor_name(t) for t in report.layers[1].inputs] == ["conv", "input_1"]
