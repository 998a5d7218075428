"""SqueezeNet v1.1 (Iandola et al., 2016, "SqueezeNet: AlexNet-level accuracy with 50x fewer
parameters") as a Keras functional model.

The network is a stack of *fire modules*: a 1×1 "squeeze" convolution with few filters feeds
two "expand" convolutions (1×1 and 3×3) whose outputs are concatenated along the channels.
There is no dense layer: conv10 gives 1000 class maps and global average pooling turns each
map into one score. Version 1.1 (from the authors' repository) starts with a 3×3/64 conv and
pools earlier than v1.0, for 2.4× less computation at the same accuracy.

Input: 227×227 BGR images with the ImageNet channel means subtracted (Caffe convention; see
``cnn_core.classify.preprocess_caffe``). The layer names follow the pickled weights that
``scripts/convert_squeezenet.py`` converts, with ``/`` written as ``_`` (Keras 3 forbids ``/``).

TensorFlow/Keras is imported inside the functions, so importing this module is free.
"""

input_size = 227          # pixels, square
num_classes = 1000        # ImageNet-1k
gradcam_layer = "fire9_concat"   # last feature maps before the classifier, (13, 13, 512)

# (name, squeeze filters, expand filters per branch); a max pool comes after fire3 and fire5.
fire_modules = [
    ("fire2", 16, 64),
    ("fire3", 16, 64),
    ("fire4", 32, 128),
    ("fire5", 32, 128),
    ("fire6", 48, 192),
    ("fire7", 48, 192),
    ("fire8", 64, 256),
    ("fire9", 64, 256),
]
pool_after = {"fire3", "fire5"}


def fire_module(x, name, squeeze_filters, expand_filters):
    """Squeeze (1×1) → expand (1×1 ‖ 3×3) → concatenate: (h, w, c) → (h, w, 2·expand)."""
    from keras import layers

    squeeze = layers.Conv2D(squeeze_filters, 1, activation="relu", name=f"{name}_squeeze1x1")(x)
    expand1 = layers.Conv2D(expand_filters, 1, activation="relu",
                            name=f"{name}_expand1x1")(squeeze)
    expand3 = layers.Conv2D(expand_filters, 3, padding="same", activation="relu",
                            name=f"{name}_expand3x3")(squeeze)
    return layers.Concatenate(axis=-1, name=f"{name}_concat")([expand1, expand3])


def build_squeezenet(weights_path=None):
    """SqueezeNet v1.1; loads ``weights_path`` (a ``.weights.h5`` file) when given."""
    import keras
    from keras import layers

    inputs = keras.Input(shape=(input_size, input_size, 3), name="image")          # (b, 227, 227, 3)
    x = layers.Conv2D(64, 3, strides=2, activation="relu", name="conv1")(inputs)  # (b, 113, 113, 64)
    x = layers.MaxPooling2D(3, strides=2, name="pool1")(x)                         # (b, 56, 56, 64)
    for name, squeeze_filters, expand_filters in fire_modules:
        x = fire_module(x, name, squeeze_filters, expand_filters)
        if name in pool_after:
            x = layers.MaxPooling2D(3, strides=2, name=f"pool_{name}")(x)          # 56→27→13
    x = layers.Dropout(0.5, name="drop9")(x)                                       # (b, 13, 13, 512)
    x = layers.Conv2D(num_classes, 1, activation="relu", name="conv10")(x)         # (b, 13, 13, 1000)
    x = layers.GlobalAveragePooling2D(name="pool10")(x)                            # (b, 1000) logits
    outputs = layers.Activation("softmax", name="predictions")(x)
    model = keras.Model(inputs, outputs, name="squeezenet_v1_1")
    if weights_path is not None:
        model.load_weights(weights_path)
    return model


def keras_layer_name(pickled_name):
    """``fire2/squeeze1x1`` (the pickled dict's key) → ``fire2_squeeze1x1`` (our layer)."""
    return pickled_name.replace("/", "_")
