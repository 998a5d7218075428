"""MNIST recipes: a Keras model and the settings to train it, one function per recipe.

    baseline  the well-known starting point, exactly: Conv32-Pool-Conv64-Pool-Dense128-Dense10,
              Adam, 5 epochs, batch 32, the test set used as validation data (it only watches;
              nothing is selected on it). About 99% test accuracy.
    fast      the page's default: batch norm, bfloat16 compute, large batches and a one-cycle
              learning rate; aims at half the baseline's error in less time.
    best      a wider batch-norm network with small random shifts/rotations and a one-cycle
              schedule, trained longer; aims at ≥ 99.65% with one model.

Each recipe's layers have a twin in ``cnn_core.presets`` (``PRESET``) so the page can show the
parameters and memory from the calculator; tests check both count the same parameters.
TensorFlow is imported inside the model functions only.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class TrainSettings:
    epochs: int
    batch_size: int
    learning_rate: float  # Adam's (peak) learning rate
    schedule: str = "constant"  # "constant" or "one_cycle" (warm up 20%, then cosine to 0)
    augment: bool = False  # random shifts (±shift px) and rotations (±rotation°) while training
    shift: float = 2.0  # pixels
    rotation: float = 10.0  # degrees
    precision: str = "float32"  # Keras dtype policy: "float32" or "mixed_bfloat16"
    holdout: int = 5000  # last training examples kept for validation; 0: validate on the test set
    seed: int = 0

    @property
    def validation(self) -> str:
        if self.holdout:
            return f"{self.holdout:,} held-out training images"
        return "the test set (as in the exercise; it only watches, nothing is selected on it)"

    @property
    def calculator_dtype(self) -> str:
        """The calculator's dtype for this precision ("float32" or "mixed_bfloat16")."""
        return self.precision

    def with_changes(self, **changes) -> "TrainSettings":
        return replace(self, **changes)


@contextlib.contextmanager
def dtype_policy(name: str):
    """Build layers under a Keras dtype policy, then restore the previous one.

    Layers keep the policy they were built with, so nothing leaks into models built later
    (Keras keeps the global policy per thread, and we restore it anyway)."""
    import keras

    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


# -- baseline -------------------------------------------------------------------------------

BASELINE = TrainSettings(epochs=5, batch_size=32, learning_rate=1e-3, holdout=0)


def baseline_model():
    """Conv32-Pool-Conv64-Pool-Dense128-Dense10, as in the exercise (225,034 parameters)."""
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, 3, activation="relu"),  # (26, 26, 32)
            layers.MaxPooling2D(2),  # (13, 13, 32)
            layers.Conv2D(64, 3, activation="relu"),  # (11, 11, 64)
            layers.MaxPooling2D(2),  # (5, 5, 64)
            layers.Flatten(),  # (1600,)
            layers.Dense(128, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ],
        name="baseline",
    )


# -- fast -----------------------------------------------------------------------------------

FAST = TrainSettings(
    epochs=5, batch_size=128, learning_rate=3e-3, schedule="one_cycle",
    precision="mixed_bfloat16",
)


def fast_model():
    """Two 5×5 conv blocks with batch norm: few, cheap layers that bf16 runs fast."""
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, 5, use_bias=False),  # (24, 24, 32); BN supplies the bias
            layers.BatchNormalization(momentum=0.9),
            layers.Activation("relu"),
            layers.MaxPooling2D(2),  # (12, 12, 32)
            layers.Conv2D(64, 5, use_bias=False),  # (8, 8, 64)
            layers.BatchNormalization(momentum=0.9),
            layers.Activation("relu"),
            layers.MaxPooling2D(2),  # (4, 4, 64)
            layers.Flatten(),  # (1024,)
            layers.Dense(128, activation="relu"),
            # softmax in float32: bfloat16 has only 8 bits of mantissa
            layers.Dense(10, activation="softmax", dtype="float32"),
        ],
        name="fast",
    )


# -- best -----------------------------------------------------------------------------------

BEST = TrainSettings(
    epochs=15, batch_size=128, learning_rate=3e-3, schedule="one_cycle", augment=True,
    precision="mixed_bfloat16",
)


def best_model():
    """32-32-pool-64-64-pool-Dense256: 3×3 'valid' convolutions, batch norm everywhere."""
    import keras
    from keras import layers

    def conv_bn(filters):
        return [
            layers.Conv2D(filters, 3, use_bias=False),
            layers.BatchNormalization(momentum=0.9),
            layers.Activation("relu"),
        ]

    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            *conv_bn(32),  # (26, 26, 32)
            *conv_bn(32),  # (24, 24, 32)
            layers.MaxPooling2D(2),  # (12, 12, 32)
            *conv_bn(64),  # (10, 10, 64)
            *conv_bn(64),  # (8, 8, 64)
            layers.MaxPooling2D(2),  # (4, 4, 64)
            layers.Flatten(),  # (1024,)
            layers.Dense(256, use_bias=False),
            layers.BatchNormalization(momentum=0.9),
            layers.Activation("relu"),
            layers.Dropout(0.3),
            layers.Dense(10, activation="softmax", dtype="float32"),
        ],
        name="best",
    )


# -- the list the page and the benchmark read ------------------------------------------------

@dataclass(frozen=True)
class Recipe:
    name: str
    title: str
    build: callable  # () -> keras.Model (call it under the settings' dtype policy)
    settings: TrainSettings
    preset: str  # its twin in cnn_core.presets, for the calculator


RECIPES = {
    "fast": Recipe("fast", "Fast (default): 2 conv + batch norm, bf16, one-cycle",
                   fast_model, FAST, "mnist_fast"),
    "baseline": Recipe("baseline", "Baseline: Conv32-Pool-Conv64-Pool-Dense128 (the exercise)",
                       baseline_model, BASELINE, "mnist_baseline"),
    "best": Recipe("best", "Best: 4 conv + batch norm, augmentation, one-cycle, 15 epochs",
                   best_model, BEST, "mnist_best"),
}


def recipe(name: str) -> Recipe:
    from cnn_core.errors import CNNLabError

    if name not in RECIPES:
        raise CNNLabError(f"unknown recipe {name!r}; choose one of: {', '.join(RECIPES)}.")
    return RECIPES[name]


def build_model(name: str, settings: TrainSettings | None = None):
    """The recipe's Keras model under its dtype policy (the global policy is restored)."""
    settings = settings or recipe(name).settings
    with dtype_policy(settings.precision):
        return recipe(name).build()
