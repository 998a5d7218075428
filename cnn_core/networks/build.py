"""Calculator layers (cnn_core.networks.layers) -> a Keras model: each network is written once.

    keras_model((28, 28, 1), [Conv2D(32, 3), MaxPooling2D(2), Flatten(), Dense(10)])

The calculator's layers carry everything that decides a network's shapes and parameter counts
(filters, kernel, strides, padding, bias, groups, dilation, trainable). What the calculator does
not model is passed here instead: batch-norm momentum, and the dtype policy's rule that the
output layer computes in float32 (bfloat16 has only 8 bits of mantissa for the softmax).
TensorFlow/Keras is imported inside the functions only.
"""

from __future__ import annotations

from cnn_core.errors import CNNLabError
from cnn_core.networks.layers import Layer


def keras_layer(spec: Layer, batch_norm_momentum: float = 0.99, dtype: str | None = None,
                fused_batch_norm: bool = False):
    """The Keras layer equivalent to one calculator layer (same name if it has one).
    ``fused_batch_norm``: batch norm as ``fused_batch_norm.FusedBatchNormalization`` (the same
    layer, trained with TensorFlow's fused kernel)."""
    from keras import layers as L

    kind = spec.type
    common = {"name": spec.name, **({"dtype": dtype} if dtype else {})}
    if kind == "Conv2D":
        layer = L.Conv2D(spec.filters, spec.kernel_size, strides=spec.strides,
                         padding=spec.padding, use_bias=spec.use_bias,
                         dilation_rate=spec.dilation_rate, groups=spec.groups,
                         activation=spec.activation, **common)
    elif kind == "DepthwiseConv2D":
        layer = L.DepthwiseConv2D(spec.kernel_size, strides=spec.strides, padding=spec.padding,
                                  depth_multiplier=spec.depth_multiplier, use_bias=spec.use_bias,
                                  dilation_rate=spec.dilation_rate, **common)
    elif kind in ("MaxPooling2D", "AveragePooling2D"):
        layer = getattr(L, kind)(spec.pool_size, strides=spec.strides, padding=spec.padding,
                                 **common)
    elif kind == "ZeroPadding2D":
        layer = L.ZeroPadding2D(spec.padding, **common)
    elif kind == "Reshape":
        layer = L.Reshape(tuple(spec.target_shape), **common)
    elif kind in ("GlobalAveragePooling2D", "GlobalMaxPooling2D"):
        layer = getattr(L, kind)(keepdims=spec.keepdims, **common)
    elif kind == "Flatten":
        layer = L.Flatten(**common)
    elif kind == "Dense":
        layer = L.Dense(spec.units, use_bias=spec.use_bias, activation=spec.activation, **common)
    elif kind == "BatchNormalization":
        if fused_batch_norm:
            from cnn_core.networks.fused_batch_norm import (
                FusedBatchNormalization as BatchNormalization)
        else:
            BatchNormalization = L.BatchNormalization
        layer = BatchNormalization(center=spec.center, scale=spec.scale,
                                   momentum=batch_norm_momentum, **common)
    elif kind == "Dropout":
        layer = L.Dropout(spec.rate, **common)
    elif kind == "Activation":
        layer = L.Activation(spec.activation, **common)
    else:
        raise CNNLabError(f"no Keras layer for the calculator's {kind}.")
    layer.trainable = spec.trainable
    return layer


def keras_model(input_shape, specs: list[Layer], name: str | None = None,
                batch_norm_momentum: float = 0.99, float32_output: bool = False,
                fused_batch_norm: bool = False):
    """A keras.Sequential of ``specs`` on ``input_shape`` (no batch axis), built under the
    current dtype policy; ``float32_output`` makes the last layer compute in float32;
    ``fused_batch_norm`` trains batch norm with TensorFlow's fused kernel."""
    import keras

    layers = [
        keras_layer(spec, batch_norm_momentum,
                    "float32" if float32_output and i == len(specs) - 1 else None,
                    fused_batch_norm)
        for i, spec in enumerate(specs)
    ]
    return keras.Sequential([keras.Input(tuple(input_shape)), *layers], name=name)
