"""The head's trainer: one fit traces its training step and evaluation once for all its folds,
and every fold still trains exactly as a new head and a new Adam would (checked against an
independent training per fold, written here the way ``train_head`` used to be)."""

import json
import zipfile

from dataclasses import replace

import numpy as np
import pytest

from cnn_core.transfer import trainer as trainer_module
from cnn_core.transfer.head import HeadSettings, build_head, predict_head, standardization
from cnn_core.transfer.trainer import train_head
from cnn_core.transfer.validation import fit_head, with_copies
from cnn_core.transfer.model import check_config


def reference_training(x, y, classes, settings, validation=None):
    """A new head, a new Adam and new compiled functions: (head, history)."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(settings.seed)
    head = build_head(x.shape[1], classes, settings, *standardization(x))
    optimizer = keras.optimizers.Adam(settings.learning_rate)
    loss_fn = keras.losses.SparseCategoricalCrossentropy()
    variables = head.trainable_variables
    optimizer.build(variables)

    @tf.function
    def train_step(inputs, labels):
        with tf.GradientTape() as tape:
            probabilities = head(inputs, training=True)
            loss = loss_fn(labels, probabilities)
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss, tf.reduce_sum(tf.cast(tf.argmax(probabilities, 1) == labels, tf.float32))

    rng = np.random.default_rng(settings.seed)
    history = []
    for epoch in range(1, settings.epochs + 1):
        order = rng.permutation(len(x))
        losses, hits = [], 0.0
        for begin in range(0, len(x), settings.batch_size):
            batch = order[begin:begin + settings.batch_size]
            loss, batch_hits = train_step(x[batch], y[batch])
            losses.append(float(loss) * len(batch))
            hits += float(batch_hits)
        row = {"epoch": epoch, "loss": sum(losses) / len(x), "accuracy": hits / len(x)}
        if validation is not None:
            probabilities = head(validation[0], training=False)
            row.update(val_loss=float(loss_fn(validation[1], probabilities)),
                       val_accuracy=float(np.mean(np.argmax(probabilities, 1) == validation[1])))
        history.append(row)
    return head, history


def small_set(per_class=(3, 3), features=32, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1, (len(per_class), features))
    x = np.concatenate([c + rng.normal(0, 1, (n, features)) for c, n in zip(centres, per_class)])
    return (np.maximum(x, 0).astype(np.float32),
            np.repeat(np.arange(len(per_class)), per_class).astype(np.int64))


@pytest.fixture
def trainers(monkeypatch):
    """Every HeadTrainer that fit_head makes, in order."""
    made = []

    class Recorded(trainer_module.HeadTrainer):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(trainer_module, "HeadTrainer", Recorded)
    monkeypatch.setattr(trainer_module, "shared_trainers", trainer_module.TrainerCache(size=2))
    return made


def test_one_fit_traces_its_step_and_evaluation_once(trainers):
    x, y = small_set((3, 3), features=1024)
    fit = fit_head(x, y, ["a", "b"], HeadSettings(epochs=3, batch_size=2))
    assert fit.plan.kind == "kfold" and len(fit.plan.folds) == 3
    assert [row["fold"] for row in fit.history] == [1] * 3 + [2] * 3 + [3] * 3 + ["all"] * 3
    assert len(trainers) == 1                                  # 3 folds + "all", one trainer
    assert trainers[0].tracing_counts() == {"train_step": 1, "evaluate": 1}
    assert fit.head is not trainers[0].head


@pytest.mark.parametrize("settings", [
    HeadSettings(epochs=6, batch_size=2),                          # several Adam steps an epoch
    HeadSettings(epochs=4, batch_size=3, hidden_units=8, dropout=0.3, augment_copies=1),
])
def test_every_fold_starts_from_a_new_head_and_a_new_optimizer(trainers, settings):
    x, y = small_set((3, 4), features=48, seed=1)
    augmented = None
    if settings.augment_copies:
        noise = np.random.default_rng(2).normal(0, 0.1, (len(x), 1, x.shape[1]))
        augmented = (x[:, None, :] + noise).astype(np.float32)
    fit = fit_head(x, y, ["a", "b"], settings, augmented=augmented)
    assert fit.plan.kind == "kfold" and len(trainers) == 1
    for number, (train, val) in enumerate(fit.plan.folds, 1):
        head, history = reference_training(*with_copies(x, y, train, augmented), 2, settings,
                                           validation=(x[val], y[val]))
        np.testing.assert_allclose(fit.probabilities[val], predict_head(head, x[val]),
                                   atol=1e-5)
        rows = [row for row in fit.history if row["fold"] == number]
        assert [sorted(row) for row in rows] == [sorted([*row, "fold"]) for row in history]
        for row, expected in zip(rows, history):
            for key, value in expected.items():
                assert row[key] == pytest.approx(value, abs=1e-5), (number, key)
    head, history = reference_training(*with_copies(x, y, np.arange(len(y)), augmented), 2,
                                       settings)
    np.testing.assert_allclose(predict_head(fit.head, x), predict_head(head, x), atol=1e-5)
    assert [row["loss"] for row in fit.history if row["fold"] == "all"] == pytest.approx(
        [row["loss"] for row in history], abs=1e-5)
    # train_head: one training on its own trainer, the same as the reference too
    alone, _ = train_head(*with_copies(x, y, np.arange(len(y)), augmented), 2, settings)
    np.testing.assert_allclose(predict_head(alone, x), predict_head(head, x), atol=1e-5)


def test_the_kept_head_is_an_independent_keras_model(tmp_path, trainers):
    import keras

    x, y = small_set((3, 3), features=16)
    fit = fit_head(x, y, ["a", "b"], HeadSettings(epochs=3, hidden_units=4))
    expected = predict_head(fit.head, x)
    trainers[0].train(x[:2] * 3, y[:2])                # training on: the kept head stays
    np.testing.assert_array_equal(predict_head(fit.head, x), expected)
    mean, variance = standardization(x)                # k-fold: the kept head saw every image
    config = fit.head.get_layer("standardize").get_config()
    np.testing.assert_allclose(config["mean"], mean, rtol=1e-6)
    np.testing.assert_allclose(config["variance"], variance, rtol=1e-6)
    path = tmp_path / "head.keras"
    fit.head.save(path)
    check_config(json.loads(zipfile.ZipFile(path).read("config.json")))
    loaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_allclose(predict_head(loaded, x), expected, atol=1e-6)


def test_later_fits_of_the_same_shape_reuse_the_trainer_and_answer_as_a_new_one(trainers):
    """The process keeps its traced trainers: a second fit (other images, other epochs) traces
    nothing new and gives what a fresh trainer gives; another shape gets its own, and the
    least recently used is dropped beyond the cache's size (2 here)."""
    first, second = small_set((3, 3), features=40, seed=3), small_set((4, 3), features=40, seed=4)
    settings = HeadSettings(epochs=5, batch_size=2)
    fit_head(*first, ["a", "b"], settings)
    again = fit_head(*second, ["a", "b"], replace(settings, epochs=7))
    assert len(trainers) == 1
    assert trainers[0].tracing_counts() == {"train_step": 1, "evaluate": 1}
    trainer_module.shared_trainers = trainer_module.TrainerCache(size=2)     # a fresh process
    fresh = fit_head(*second, ["a", "b"], replace(settings, epochs=7))
    assert len(trainers) == 2
    np.testing.assert_allclose(again.probabilities, fresh.probabilities, atol=1e-6)
    assert [row["loss"] for row in again.history] == pytest.approx(
        [row["loss"] for row in fresh.history], abs=1e-6)
    np.testing.assert_allclose(predict_head(again.head, second[0]),
                               predict_head(fresh.head, second[0]), atol=1e-6)
    fit_head(*small_set((3, 3), features=24), ["a", "b"], settings)          # another shape
    fit_head(*small_set((3, 3), features=16), ["a", "b"], settings)          # and another
    fit_head(*second, ["a", "b"], settings)                                  # dropped: new
    assert len(trainers) == 5
