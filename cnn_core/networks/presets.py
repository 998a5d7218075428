"""Named networks: (input shape, layers), one function per network, read by the calculator,
the Theory page and the MNIST trainer.

The MNIST networks' layer lists are written here once: the MNIST recipes (cnn_core.mnist.recipes)
train them and the calculator counts them. Parameter counts (checked against Keras in
tests/calculator/test_calculator_keras.py):
    exercise2      903,400     the classic exercise (3 conv layers, stride 2, 'same')
    mnist_baseline 225,034     Conv32-Pool-Conv64-Pool-Dense128-Dense10 (the MNIST page's baseline)
    mnist_fast     184,874     the MNIST page's fast recipe (2 conv 5×5 + batch norm)
    mnist_best     331,306     the MNIST page's best recipe (4 conv 3×3 + batch norm, Dense256)
    lenet5          61,706     LeNet-5 with full C3 connectivity and plain average pooling.
                               LeCun et al. (1998) connect C3 to only some S2 maps (1,516
                               parameters, not 2,416) and give S2/S4 2 trainable coefficients
                               per map: 156+12+1,516+32+48,120+10,164 = 60,000 in the paper
    alexnet     62,378,344     AlexNet, single tower (no groups), no LRN (it has no parameters)
    vgg16      138,357,544     VGG-16 = keras.applications.VGG16(weights=None)
"""

from __future__ import annotations

from cnn_core.errors import CNNLabError
from cnn_core.networks.layers import (
    Activation,
    AveragePooling2D,
    BatchNormalization,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    Layer,
    MaxPooling2D,
)

Preset = tuple[tuple[int, int, int], list[Layer]]


def exercise2() -> Preset:
    """Three 3×3 stride-2 'same' convolutions with 100/200/400 maps on a 200×300 RGB image."""
    return (200, 300, 3), [
        Conv2D(100, 3, strides=2, padding="same", activation="relu"),  # (100, 150, 100)
        Conv2D(200, 3, strides=2, padding="same", activation="relu"),  # (50, 75, 200)
        Conv2D(400, 3, strides=2, padding="same", activation="relu"),  # (25, 38, 400)
    ]


# -- the MNIST page's networks (cnn_core.mnist.recipes trains them) ---------------------------

MNIST_SHAPE = (28, 28, 1)


def conv_bn_relu(filters: int, kernel_size: int) -> list[Layer]:
    """A 'valid' convolution, batch norm (which supplies the bias) and ReLU."""
    return [Conv2D(filters, kernel_size, use_bias=False), BatchNormalization(),
            Activation("relu")]


def baseline_layers() -> list[Layer]:
    """Conv32-Pool-Conv64-Pool-Dense128-Dense10, as in the exercise (225,034 parameters)."""
    return [
        Conv2D(32, 3, activation="relu"),  # (26, 26, 32)
        MaxPooling2D(2),  # (13, 13, 32)
        Conv2D(64, 3, activation="relu"),  # (11, 11, 64)
        MaxPooling2D(2),  # (5, 5, 64)
        Flatten(),  # (1600,)
        Dense(128, activation="relu"),
        Dense(10, activation="softmax"),
    ]


def fast_layers() -> list[Layer]:
    """Two 5×5 conv blocks with batch norm: few, cheap layers that bf16 runs fast."""
    return [
        *conv_bn_relu(32, 5),  # (24, 24, 32)
        MaxPooling2D(2),  # (12, 12, 32)
        *conv_bn_relu(64, 5),  # (8, 8, 64)
        MaxPooling2D(2),  # (4, 4, 64)
        Flatten(),  # (1024,)
        Dense(128, activation="relu"),
        Dense(10, activation="softmax"),
    ]


def best_layers() -> list[Layer]:
    """32-32-pool-64-64-pool-Dense256: 3×3 'valid' convolutions, batch norm everywhere."""
    return [
        *conv_bn_relu(32, 3),  # (26, 26, 32)
        *conv_bn_relu(32, 3),  # (24, 24, 32)
        MaxPooling2D(2),  # (12, 12, 32)
        *conv_bn_relu(64, 3),  # (10, 10, 64)
        *conv_bn_relu(64, 3),  # (8, 8, 64)
        MaxPooling2D(2),  # (4, 4, 64)
        Flatten(),  # (1024,)
        Dense(256, use_bias=False),
        BatchNormalization(),
        Activation("relu"),
        Dropout(0.3),
        Dense(10, activation="softmax"),
    ]


def _mnist(recipe_name: str, layers):
    """The calculator's view of an MNIST recipe's network: the very layer list it trains."""

    def network() -> Preset:
        return MNIST_SHAPE, layers()

    network.__doc__ = f"The MNIST page's {recipe_name!r} recipe (cnn_core.mnist.recipes)."
    return network


mnist_baseline = _mnist("baseline", baseline_layers)
mnist_fast = _mnist("fast", fast_layers)
mnist_best = _mnist("best", best_layers)


def lenet5() -> Preset:
    """LeNet-5 (LeCun, Bottou, Bengio & Haffner, 1998) on 32×32 grey images."""
    return (32, 32, 1), [
        Conv2D(6, 5, activation="tanh"),  # C1 (28, 28, 6)
        AveragePooling2D(2),  # S2 (14, 14, 6)
        Conv2D(16, 5, activation="tanh"),  # C3 (10, 10, 16)
        AveragePooling2D(2),  # S4 (5, 5, 16)
        Conv2D(120, 5, activation="tanh"),  # C5 (1, 1, 120)
        Flatten(),
        Dense(84, activation="tanh"),  # F6
        Dense(10, activation="softmax"),
    ]


def alexnet() -> Preset:
    """AlexNet (Krizhevsky, Sutskever & Hinton, 2012) as one tower on 227×227 RGB."""
    return (227, 227, 3), [
        Conv2D(96, 11, strides=4, activation="relu"),  # (55, 55, 96)
        MaxPooling2D(3, strides=2),  # overlapping pooling: (27, 27, 96)
        Conv2D(256, 5, padding="same", activation="relu"),  # (27, 27, 256)
        MaxPooling2D(3, strides=2),  # (13, 13, 256)
        Conv2D(384, 3, padding="same", activation="relu"),
        Conv2D(384, 3, padding="same", activation="relu"),
        Conv2D(256, 3, padding="same", activation="relu"),
        MaxPooling2D(3, strides=2),  # (6, 6, 256)
        Flatten(),  # (9216,)
        Dense(4096, activation="relu"),
        Dropout(0.5),
        Dense(4096, activation="relu"),
        Dropout(0.5),
        Dense(1000, activation="softmax"),
    ]


def vgg16() -> Preset:
    """VGG-16 (Simonyan & Zisserman, 2014), configuration D, as in keras.applications."""
    layers: list[Layer] = []
    for block, (filters, convs) in enumerate([(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]):
        for i in range(convs):
            layers.append(Conv2D(filters, 3, padding="same", activation="relu",
                                 name=f"block{block + 1}_conv{i + 1}"))
        layers.append(MaxPooling2D(2, strides=2, name=f"block{block + 1}_pool"))
    layers += [
        Flatten(name="flatten"),
        Dense(4096, activation="relu", name="fc1"),
        Dense(4096, activation="relu", name="fc2"),
        Dense(1000, activation="softmax", name="predictions"),
    ]
    return (224, 224, 3), layers


PRESETS = {
    "exercise2": exercise2,
    "mnist_baseline": mnist_baseline,
    "mnist_fast": mnist_fast,
    "mnist_best": mnist_best,
    "lenet5": lenet5,
    "alexnet": alexnet,
    "vgg16": vgg16,
}

PRESET_TITLES = {
    "exercise2": "Exercise: 3 conv layers, 200×300 RGB (reference case)",
    "mnist_baseline": "MNIST CNN (the training page's baseline)",
    "mnist_fast": "MNIST fast recipe (batch norm, the training page's default)",
    "mnist_best": "MNIST best recipe (4 conv + batch norm)",
    "lenet5": "LeNet-5 (1998)",
    "alexnet": "AlexNet (2012)",
    "vgg16": "VGG-16 (2014)",
}


def preset(name: str) -> Preset:
    if name not in PRESETS:
        raise CNNLabError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}.")
    return PRESETS[name]()
