"""FusedBatchNormalization against Keras' own BatchNormalization: same outputs, gradients and
moving statistics in training; standard_layers gives back plain Keras layers, same predictions."""

import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from cnn_core.networks.fused_batch_norm import FusedBatchNormalization, standard_layers


def _pair(**config):
    """A Keras BatchNormalization and a fused one with the same (random) gamma and beta."""
    rng = np.random.default_rng(0)
    reference, fused = keras.layers.BatchNormalization(**config), FusedBatchNormalization(**config)
    for layer in (reference, fused):
        layer.build((None, 6, 5, 4))
    weights = [w if i >= 2 else rng.normal(1.0, 0.3, 4).astype("float32")
               for i, w in enumerate(reference.get_weights())]
    reference.set_weights(weights)
    fused.set_weights(weights)
    return reference, fused


@pytest.mark.parametrize("config", [{"momentum": 0.9}, {"momentum": 0.5, "center": False},
                                    {"scale": False, "epsilon": 1e-3}])
def test_training_step_matches_keras(config):
    reference, fused = _pair(**config)
    x = tf.constant(np.random.default_rng(1).normal(2.0, 3.0, (8, 6, 5, 4)).astype("float32"))
    results = []
    for layer in (reference, fused):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(y * tf.cos(y))  # a loss whose gradient depends on y
        grads = tape.gradient(loss, [x, *layer.trainable_variables])
        results.append((y.numpy(), [g.numpy() for g in grads],
                        layer.moving_mean.numpy(), layer.moving_variance.numpy()))
    (y0, g0, mean0, var0), (y1, g1, mean1, var1) = results
    np.testing.assert_allclose(y1, y0, atol=2e-5)
    for a, b in zip(g1, g0):
        np.testing.assert_allclose(a, b, atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(mean1, mean0, atol=1e-6)
    np.testing.assert_allclose(var1, var0, rtol=1e-5)  # biased variance, as Keras
    assert not np.allclose(var0, np.ones(4))  # the step did move the statistics


def test_inference_and_2d_inputs_are_keras_own():
    reference, fused = _pair(momentum=0.9)
    x = np.random.default_rng(2).normal(size=(3, 6, 5, 4)).astype("float32")
    np.testing.assert_array_equal(fused(x, training=False).numpy(),
                                  reference(x, training=False).numpy())
    flat_ref, flat_fused = keras.layers.BatchNormalization(), FusedBatchNormalization()
    v = np.random.default_rng(3).normal(size=(5, 7)).astype("float32")
    np.testing.assert_allclose(flat_fused(v, training=True).numpy(),
                               flat_ref(v, training=True).numpy(), atol=1e-6)


def test_bfloat16_policy_close_to_keras():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        reference, fused = _pair()
    finally:
        keras.mixed_precision.set_global_policy("float32")
    x = tf.constant(np.random.default_rng(4).normal(size=(16, 6, 5, 4)), tf.bfloat16)
    y0, y1 = reference(x, training=True), fused(x, training=True)
    assert y1.dtype == y0.dtype == tf.bfloat16
    np.testing.assert_allclose(tf.cast(y1, tf.float32), tf.cast(y0, tf.float32), atol=0.05)


def test_standard_layers_same_predictions_and_plain_classes(tmp_path):
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Conv2D(3, 3, use_bias=False),
                              FusedBatchNormalization(momentum=0.8, name="bn"),
                              keras.layers.Flatten(), keras.layers.Dense(2)])
    x = np.random.default_rng(5).normal(size=(4, 8, 8, 1)).astype("float32")
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    model.fit(x, np.ones((4, 2)), epochs=2, verbose=0)  # moving statistics and Adam's moments
    plain = standard_layers(model)
    assert plain.get_compile_config() == model.get_compile_config()
    for mine, theirs in zip(plain.optimizer.variables, model.optimizer.variables, strict=True):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    assert int(plain.optimizer.iterations.numpy()) == 2
    assert type(plain.get_layer("bn")) is keras.layers.BatchNormalization
    assert plain.get_layer("bn").momentum == 0.8
    np.testing.assert_array_equal(plain.predict(x, verbose=0), model.predict(x, verbose=0))
    path = tmp_path / "plain.keras"
    plain.save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "Skipping variable loading for optimizer"
        loaded = keras.models.load_model(path, safe_mode=True)  # no class of ours needed
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
