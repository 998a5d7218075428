"""Activation maximisation for a digit model (Erhan et al. 2009; Simonyan et al. 2014): the
28×28 input that a class (its logit, before the softmax) or a convolution filter (the mean of
its map) answers most strongly, found by gradient ascent on the input.

Start: mid-grey 0.5 with seeded noise (±0.05). Each step moves the input along its gradient,
normalised to unit root-mean-square, by ``rate``; a small L2 pull towards 0 keeps it from
saturating everywhere; values are clipped to [0, 1] (the digits' range) after every step.

Interface:
    maximise(model, layer_name, index, steps=80, rate=0.02, seed=0) → Maximised(pixels uint8
        (28, 28), score_start, score_end, probabilities of the result)
TensorFlow is imported inside.
"""

from dataclasses import dataclass

import numpy as np

DECAY = 1e-3                 # the L2 pull towards 0, per step


@dataclass(frozen=True)
class Maximised:
    pixels: np.ndarray       # uint8 (28, 28)
    score_start: float
    score_end: float
    probabilities: np.ndarray


def maximise(model, layer_name, index, steps=80, rate=0.02, seed=0):
    """``layer_name``: the model's last (softmax Dense) layer → class ``index``'s logit; a
    convolution → filter ``index``'s mean activation."""
    import keras
    import tensorflow as tf

    last = model.layers[-1]
    if layer_name == last.name:
        penultimate = keras.Model(model.inputs, last.input)

        def score(x):
            return (tf.matmul(penultimate(x, training=False), last.kernel) + last.bias)[:, index]
    else:
        features = keras.Model(model.inputs, model.get_layer(layer_name).output)

        def score(x):
            return tf.reduce_mean(features(x, training=False)[..., index], axis=(1, 2))
    rng = np.random.default_rng(seed)
    shape = (1, *model.inputs[0].shape[1:])
    x = tf.Variable(np.clip(0.5 + rng.uniform(-0.05, 0.05, shape), 0, 1).astype(np.float32))
    start = float(score(x)[0])

    @tf.function
    def ascend():                        # every step in one traced graph
        for _ in tf.range(steps):
            with tf.GradientTape() as tape:
                value = score(x)[0] - DECAY * tf.reduce_sum(tf.square(x))
            gradient = tape.gradient(value, x)
            gradient /= tf.sqrt(tf.reduce_mean(tf.square(gradient))) + 1e-8
            x.assign(tf.clip_by_value(x + rate * gradient, 0.0, 1.0))
    ascend()
    end = float(score(x)[0])
    probabilities = np.asarray(model(x, training=False), np.float32)[0]
    pixels = np.rint(np.asarray(x)[0, ..., 0] * 255).astype(np.uint8)
    return Maximised(pixels, start, end, probabilities)
