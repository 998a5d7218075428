"""The calculator against Keras itself: parameters, trainable split and every output shape.

The Keras side is built by cnn_core.networks.build (the converter the MNIST recipes use). For 240
randomly generated stacks (odd input sizes, stride > kernel, both paddings, pooling,
dense heads, batch norm, frozen layers) the same model is built in Keras and compared; and the
keras.applications models the supported layers cover are read from their ``to_json()``.
"""

import json
import random

import keras
import pytest

from cnn_core.calculator.analysis import analyze
from cnn_core.errors import CNNLabError
from cnn_core.networks.build import keras_model
from cnn_core.calculator.keras_json import parse_keras_json
from cnn_core.networks.layers import (
    Activation, AveragePooling2D, BatchNormalization, Conv2D, Dense, DepthwiseConv2D, Dropout,
    Flatten, GlobalAveragePooling2D, GlobalMaxPooling2D, MaxPooling2D, ZeroPadding2D,
)
from cnn_core.networks.presets import PRESETS, preset


def weight_count(weights):
    return sum(int(w.shape.num_elements() if hasattr(w.shape, "num_elements")
                   else __import__("math").prod(w.shape)) for w in weights)


def assert_same_as_keras(input_shape, specs):
    report = analyze(input_shape, specs)
    model = keras_model(input_shape, specs)
    assert report.total_params == model.count_params()
    assert report.trainable_params == weight_count(model.trainable_weights)
    assert report.non_trainable_params == weight_count(model.non_trainable_weights)
    assert len(report.layers) == len(model.layers)
    for ours, theirs in zip(report.layers, model.layers):
        assert ours.output_shape == tuple(theirs.output.shape[1:]), (ours, theirs.name)
        assert ours.params == theirs.count_params(), (ours, theirs.name)


def random_spatial_layer(rng: random.Random):
    pad = rng.choice(["same", "valid"])
    kind = rng.choices(
        ["conv", "depthwise", "maxpool", "avgpool", "bn", "dropout", "act", "zeropad"],
        weights=[8, 1, 3, 3, 2, 1, 1, 1],
    )[0]
    k = (rng.randint(1, 5), rng.randint(1, 5)) if rng.random() < 0.3 else rng.randint(1, 5)
    s = rng.randint(1, 6)  # may exceed the kernel
    if kind == "conv":
        return Conv2D(rng.randint(1, 24), k, strides=s, padding=pad, use_bias=rng.random() < 0.8,
                      trainable=rng.random() < 0.9)
    if kind == "depthwise":
        return DepthwiseConv2D(k, strides=s, padding=pad, depth_multiplier=rng.randint(1, 3),
                               use_bias=rng.random() < 0.5)
    if kind in ("maxpool", "avgpool"):
        cls = MaxPooling2D if kind == "maxpool" else AveragePooling2D
        return cls(rng.randint(1, 4), strides=rng.choice([None, 1, 2, 3, 5]), padding=pad)
    if kind == "bn":
        return BatchNormalization(center=rng.random() < 0.8, scale=rng.random() < 0.8,
                                  trainable=rng.random() < 0.8)
    if kind == "dropout":
        return Dropout(0.25)
    if kind == "act":
        return Activation(rng.choice(["relu", "tanh", "sigmoid"]))
    return ZeroPadding2D(rng.randint(0, 2))


def random_stack(rng: random.Random):
    """A random CNN the calculator accepts: spatial layers, then maybe a dense head."""
    input_shape = (rng.randrange(5, 70, 2), rng.randint(3, 71), rng.randint(1, 4))  # odd heights
    specs = []
    for _ in range(rng.randint(1, 7)):
        candidate = random_spatial_layer(rng)
        try:
            analyze(input_shape, specs + [candidate])
        except CNNLabError:
            continue  # this layer would not fit here; the refusal is tested separately
        specs.append(candidate)
    head = rng.choice(["flatten", "gap", "gmp", "none"])
    if head != "none":
        specs.append({"flatten": Flatten(), "gap": GlobalAveragePooling2D(),
                      "gmp": GlobalMaxPooling2D()}[head])
    for _ in range(rng.randint(0, 2)):
        specs.append(Dense(rng.randint(1, 40), use_bias=rng.random() < 0.9))
        if rng.random() < 0.3:
            specs.append(rng.choice([BatchNormalization(), Dropout(0.5)]))
    if not specs:
        specs.append(Flatten())
    return input_shape, specs


@pytest.mark.parametrize("seed", range(240))
def test_random_stack_matches_keras(seed):
    input_shape, specs = random_stack(random.Random(seed))
    assert_same_as_keras(input_shape, specs)


@pytest.mark.parametrize("seed", range(40))
def test_random_stack_round_trips_through_keras_json(seed):
    input_shape, specs = random_stack(random.Random(1000 + seed))
    model = keras_model(input_shape, specs)
    shape, layers = parse_keras_json(model.to_json())
    report = analyze(shape, layers)
    assert shape == input_shape
    assert report.total_params == model.count_params()
    assert report.trainable_params == weight_count(model.trainable_weights)
    assert [l.output_shape for l in report.layers] == [
        tuple(l.output.shape[1:]) for l in model.layers
    ]


@pytest.mark.parametrize(
    "input_shape, layer",
    [
        ((4, 9, 3), Conv2D(8, 5)),  # valid 5×5 kernel on a 4-high input
        ((10, 10, 1), Conv2D(4, 3, dilation_rate=5)),  # effective kernel 11
        ((3, 3, 2), MaxPooling2D(4)),
    ],
)
def test_layers_the_calculator_refuses_keras_refuses_too(input_shape, layer):
    with pytest.raises(CNNLabError, match="does not fit"):
        analyze(input_shape, [layer])
    with pytest.raises(ValueError, match="Computed output size would be zero or negative"):
        keras_model(input_shape, [layer])


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_match_keras(name):
    assert_same_as_keras(*preset(name))


@pytest.mark.parametrize(
    "build",
    [
        lambda: keras.applications.VGG16(weights=None),
        lambda: keras.applications.VGG19(weights=None),
        lambda: keras.applications.MobileNet(weights=None),
        lambda: keras.applications.VGG16(weights=None, include_top=False,
                                         input_shape=(97, 131, 3), pooling="avg"),
    ],
    ids=["VGG16", "VGG19", "MobileNet", "VGG16-notop-97x131"],
)
def test_keras_applications_via_json(build):
    model = build()
    shape, layers = parse_keras_json(model.to_json())
    report = analyze(shape, layers)
    assert report.total_params == model.count_params()
    assert report.trainable_params == weight_count(model.trainable_weights)
    keras_layers = [l for l in model.layers if type(l).__name__ != "InputLayer"]
    assert [l.output_shape for l in report.layers] == [
        tuple(l.output.shape[1:]) for l in keras_layers
    ]


def test_vgg16_preset_is_keras_vgg16():
    assert analyze(*preset("vgg16")).total_params == keras.applications.VGG16(
        weights=None).count_params() == 138_357_544


def test_branching_model_is_refused_with_its_layer_types_named():
    model = keras.applications.ResNet50(weights=None, input_shape=(64, 64, 3), include_top=False)
    with pytest.raises(CNNLabError, match="Add"):
        parse_keras_json(model.to_json())


def test_functional_chain_json():
    inputs = keras.Input((33, 47, 3))
    x = keras.layers.Conv2D(7, 3, strides=2, padding="same")(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(5)(x)
    model = keras.Model(inputs, outputs)
    shape, layers = parse_keras_json(json.dumps(json.loads(model.to_json())))
    report = analyze(shape, layers)
    assert report.total_params == model.count_params()
    assert report.non_trainable_params == 14  # BN moving mean + variance, 7 channels
