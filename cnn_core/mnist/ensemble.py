"""Ensembles and test-time augmentation: several trained networks as ONE Keras model.

    average_model([net1, net2, net3])            # (N, 28, 28, 1) -> mean of the 3 softmaxes
    average_model([net], tta=True)               # one network, averaged over 1-pixel shifts

Averaging the members' probabilities (soft voting) beats each member because their errors
differ (different random starts and augmentations). Test-time augmentation (TTA) averages each
member's prediction over the image and its four 1-pixel shifts; whether it helps is measured on
the held-out training images (``choose_tta``: errors, then log-loss), never on the test set.

The combined model uses only standard Keras layers (ZeroPadding2D, Cropping2D, Average), so it
saves as .keras and loads with ``safe_mode=True``. TensorFlow/Keras is imported lazily.
"""

from __future__ import annotations

import numpy as np

# (rows down, columns right): the image itself and its four 1-pixel shifts
TTA_SHIFTS = ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))


def member_seed(seed: int, member: int) -> int:
    """Member ``member`` (0-based) of the ensemble trained with ``seed``; member 0 keeps it."""
    return seed * 1000 + member


def _shifted(inputs, rows: int, cols: int):
    """The image moved by (rows, cols) pixels (|shift| ≤ 1), zeros shifted in: pad 1, crop."""
    from keras import layers

    if (rows, cols) == (0, 0):
        return inputs
    padded = layers.ZeroPadding2D(1, name=f"pad_{rows}_{cols}")(inputs)  # (30, 30, 1)
    crop = ((1 - rows, 1 + rows), (1 - cols, 1 + cols))
    return layers.Cropping2D(crop, name=f"shift_{rows}_{cols}".replace("-", "m"))(padded)


def average_model(members: list, tta: bool = False, name: str = "ensemble"):
    """One Keras model: the mean of the members' softmax outputs (over TTA_SHIFTS if ``tta``).

    A single member without TTA is returned as it is."""
    import keras

    if len(members) == 1 and not tta:
        return members[0]
    inputs = keras.Input(members[0].input_shape[1:], name="image")
    views = [_shifted(inputs, *shift) for shift in (TTA_SHIFTS if tta else TTA_SHIFTS[:1])]
    outputs = [member(view) for member in members for view in views]  # each (N, 10)
    average = keras.layers.Average(dtype="float32", name="average")(outputs)
    return keras.Model(inputs, average, name=name)


def predict_average(members: list, x: np.ndarray, tta: bool = False) -> np.ndarray:
    """The same mean computed in numpy (for choosing TTA without building a model): (N, 10)."""
    views = [x]
    if tta:
        padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
        views = [padded[:, 1 - r:29 - r, 1 - c:29 - c] for r, c in TTA_SHIFTS]
    total = sum(np.asarray(m.predict(v, batch_size=1000, verbose=0), np.float64)
                for m in members for v in views)
    return total / (len(members) * len(views))


def choose_tta(members: list, x_val: np.ndarray, y_val: np.ndarray) -> dict:
    """Validation errors and log-loss with and without TTA. TTA is kept if it makes fewer
    errors, or as many errors with a lower log-loss (a few errors in 5,000 images tie often;
    the log-loss tells which predictions are better on the same images)."""
    found = {}
    for tta in (False, True):
        probabilities = predict_average(members, x_val, tta)
        found[tta] = (int((probabilities.argmax(1) != y_val).sum()),
                      float(-np.log(np.maximum(probabilities[np.arange(len(y_val)), y_val],
                                               1e-12)).mean()))
    return {"errors_without_tta": found[False][0], "errors_with_tta": found[True][0],
            "log_loss_without_tta": found[False][1], "log_loss_with_tta": found[True][1],
            "tta": found[True] < found[False]}  # errors first, then log-loss
