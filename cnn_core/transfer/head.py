"""The new top of the network: a small softmax classifier on the frozen backbone's embeddings.

    HeadSettings              hidden units, dropout, epochs, learning rate, augmentation copies
    head_layers(...)          the head as layers (``cnn_core.networks``), written once:
    build_head(...)           … the Keras model is built from them, the page's parameter count
    head_report(...)          … comes from ``cnn_core.calculator.analyze`` of the same list
    standardization(x)        the per-feature mean and variance the head starts with
    predict_head(head, x)     probabilities, outside Keras' predict

Training it: ``trainer.py``; validating it and the head you keep: ``validation.py``.
TensorFlow is imported inside the functions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnn_core.calculator import analyze
from cnn_core.errors import CNNLabError
from cnn_core.networks import Dense, Dropout, Layer


@dataclass(frozen=True)
class HeadSettings:
    hidden_units: int = 0          # 0: softmax right on the embedding; else one ReLU layer
    dropout: float = 0.2           # on the embedding (and after the hidden layer)
    epochs: int = 50
    learning_rate: float = 1e-3    # Adam
    batch_size: int = 16            # as Teachable Machine: small sets still get many steps
    augment_copies: int = 0        # altered copies of each training image (0: none)
    seed: int = 0

    def check(self):
        if not 0 <= self.hidden_units <= 4096:
            raise CNNLabError("Hidden units must be between 0 (no hidden layer) and 4096.")
        if not 0 <= self.dropout < 1:
            raise CNNLabError("Dropout must be at least 0 and below 1.")
        if not 1 <= self.epochs <= 1000:
            raise CNNLabError("Epochs must be between 1 and 1000.")
        if not 0 < self.learning_rate <= 1:
            raise CNNLabError("The learning rate must be above 0 and at most 1.")
        if not 1 <= self.batch_size <= 4096:
            raise CNNLabError("The batch size must be between 1 and 4096.")
        if not 0 <= self.augment_copies <= 16:
            raise CNNLabError("Augmentation makes 0 to 16 copies per image.")


class Normalization(Layer):
    """Keras' ``Normalization`` with a fixed mean and variance (stored in its config, so no
    weights): (x − mean) / √variance per feature, for the calculator (no parameters)."""


def standardization(x):
    """Per-feature mean and variance of the training embeddings; a variance floor of 1 % of
    the mean variance keeps features that were (almost) always 0 from blowing up."""
    mean, variance = x.mean(0), x.var(0)
    return mean, np.maximum(variance, 0.01 * float(variance.mean()) + 1e-12)


def head_layers(classes, settings):
    """The head as calculator layers: standardise → [Dropout] → [Dense(hidden, relu) →
    Dropout] → softmax. Standardising the embedding makes one learning rate fit every
    backbone (SqueezeNet's pooled features are far larger than Inception's)."""
    layers = [Normalization(name="standardize")]
    if settings.dropout:
        layers.append(Dropout(settings.dropout, name="embedding_dropout"))
    if settings.hidden_units:
        layers.append(Dense(settings.hidden_units, activation="relu", name="hidden"))
        if settings.dropout:
            layers.append(Dropout(settings.dropout, name="hidden_dropout"))
    layers.append(Dense(classes, activation="softmax", name="classes"))
    return layers


def head_report(features, classes, settings):
    """The calculator's ``NetworkReport`` of the head on (features,) embeddings."""
    return analyze((features,), head_layers(classes, settings))


def build_head(features, classes, settings, mean=None, variance=None):
    """keras.Sequential built from ``head_layers``: (batch, features) → (batch, classes).
    ``mean``/``variance``: the standardisation (default: none, 0 and 1)."""
    import keras

    keras_layers = []
    for layer in head_layers(classes, settings):
        if isinstance(layer, Normalization):
            mean = np.zeros(features, np.float32) if mean is None else mean
            variance = np.ones(features, np.float32) if variance is None else variance
            keras_layers.append(keras.layers.Normalization(
                mean=np.asarray(mean, np.float32).tolist(),
                variance=np.asarray(variance, np.float32).tolist(), name=layer.name))
        elif isinstance(layer, Dense):
            keras_layers.append(keras.layers.Dense(layer.units, activation=layer.activation,
                                                   name=layer.name))
        else:
            keras_layers.append(keras.layers.Dropout(layer.rate, name=layer.name,
                                                     seed=settings.seed))
    return keras.Sequential([keras.Input((features,), name="embedding"), *keras_layers],
                            name="head")


def predict_head(head, x):
    """(n, features) → (n, classes) probabilities, outside Keras' predict (no retracing)."""
    return np.asarray(head(np.asarray(x, np.float32), training=False), np.float32)
