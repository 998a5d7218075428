"""Networks as lists of layers: the layer vocabulary and every named network, written once.

Below every feature: the calculator counts these lists, the Theory page quotes them and the
MNIST trainer builds its Keras models from them, so neither of those reaches into the other.

    layers.py            the layers, with Keras semantics: output shapes and parameter counts
    presets.py           the named networks (the exercise, the MNIST recipes' networks, LeNet-5,
                         AlexNet, VGG-16): () → (input shape, layers)
    build.py             a layer list → a Keras model (TensorFlow imported when called)
    fused_batch_norm.py  batch norm as one fused TensorFlow op, for training (imports TensorFlow:
                         its names are loaded on first use, not with this package)
"""

from cnn_core.networks.build import keras_model
from cnn_core.networks.layers import (
    LAYER_TYPES,
    PADDINGS,
    Activation,
    AveragePooling2D,
    BatchNormalization,
    Conv2D,
    DepthwiseConv2D,
    Dense,
    Dropout,
    Flatten,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    Layer,
    MaxPooling2D,
    Reshape,
    Shape,
    ZeroPadding2D,
    conv_output_length,
)
from cnn_core.networks.presets import (
    MNIST_SHAPE,
    PRESET_TITLES,
    PRESETS,
    Preset,
    baseline_layers,
    best_layers,
    conv_bn_relu,
    fast_layers,
    preset,
)

_FUSED = ("FusedBatchNormalization", "standard_layers")


def __getattr__(name):
    """The fused batch norm's names, imported (with TensorFlow) only when asked for."""
    if name in _FUSED:
        from cnn_core.networks import fused_batch_norm

        return getattr(fused_batch_norm, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "LAYER_TYPES", "PADDINGS", "Activation", "AveragePooling2D", "BatchNormalization", "Conv2D",
    "DepthwiseConv2D", "Dense", "Dropout", "Flatten", "GlobalAveragePooling2D",
    "GlobalMaxPooling2D", "Layer", "MaxPooling2D", "Reshape", "Shape", "ZeroPadding2D",
    "conv_output_length", "MNIST_SHAPE", "PRESET_TITLES", "PRESETS", "Preset", "baseline_layers",
    "best_layers", "conv_bn_relu", "fast_layers", "preset", "keras_model", *_FUSED,
]
