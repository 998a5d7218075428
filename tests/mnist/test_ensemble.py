"""Recipes written once, the ensemble recipe on tiny data, and test-time augmentation by hand."""

import threading

import keras
import numpy as np
import pytest

from cnn_core.mnist import training
from cnn_core.calculator.analysis import analyze
from cnn_core.mnist.ensemble import TTA_SHIFTS, average_model, member_seed
from cnn_core.networks.build import keras_model
from cnn_core.networks.layers import Conv2D, Dense, Flatten
from cnn_core.mnist.data import load_mnist
from cnn_core.networks.presets import preset
from cnn_core.mnist.recipes import RECIPES, build_model

pytestmark = pytest.mark.slow

TINY = dict(epochs=1, batch_size=64, holdout=500)  # + 300 training examples: seconds, not minutes


@pytest.mark.parametrize("name", list(RECIPES))
def test_each_recipe_is_written_once(name):
    """The calculator's preset *is* the recipe's layer list, and Keras counts what it counts."""
    chosen = RECIPES[name]
    input_shape, layers = preset(chosen.preset)
    assert (input_shape, layers) == (chosen.input_shape, chosen.layers())
    for member in chosen.member_recipes:
        assert RECIPES[member].layers() == layers  # an ensemble's members: the same network
    assert build_model(name).count_params() == analyze(input_shape, layers).total_params


@pytest.fixture(scope="module")
def ensemble_run():
    events = []
    settings = RECIPES["ensemble"].settings.with_changes(members=2, tta=True, **TINY)
    result = training.train("ensemble", settings, events.append, train_examples=300)
    return settings, events, result


def test_ensemble_members_train_in_turn_with_their_own_progress(ensemble_run):
    settings, events, result = ensemble_run
    epochs = [e for e in events if e["kind"] == "epoch"]
    assert [(e["member"], e["members"], e["member_recipe"]) for e in epochs] == [
        (1, 2, "fast"), (2, 2, "fast")]
    assert all("member" in e for e in events)
    assert [m["name"] for m in result.members] == ["member 1", "member 2"]
    assert [m["seed"] for m in result.members] == [member_seed(0, 0), member_seed(0, 1)] == [0, 1]
    assert result.seconds == pytest.approx(sum(m["fit_seconds"] for m in result.members))
    assert not result.stopped and len(result.history) == 2
    # different seeds: different networks
    first, second = (n.get_weights()[0] for n in result.networks)
    assert not np.allclose(first, second)


def test_ensemble_model_averages_its_members_and_is_scored_once(ensemble_run):
    settings, _, result = ensemble_run
    x_test, y_test = load_mnist()[1]
    x = training.scale(x_test)
    members = [np.asarray(n.predict(x, batch_size=1000, verbose=0), np.float64)
               for n in result.networks]
    for row, probabilities in zip(result.members, members):
        errors = int((probabilities.argmax(1) != y_test).sum())
        assert row["errors"] == errors and row["test_accuracy"] == 1 - errors / 10000
    if not result.tta["tta"]:  # without TTA the model is the plain mean of the members
        np.testing.assert_allclose(result.evaluation.probabilities, np.mean(members, axis=0),
                                   atol=1e-5)
    assert result.evaluation.errors == int(
        (result.evaluation.probabilities.argmax(1) != y_test).sum())
    keras_accuracy = result.model.evaluate(x, y_test, batch_size=1000, verbose=0)[1]
    assert result.evaluation.accuracy == pytest.approx(keras_accuracy, abs=1e-4)
    tta = result.tta
    assert tta["tta"] == ((tta["errors_with_tta"], tta["log_loss_with_tta"])
                          < (tta["errors_without_tta"], tta["log_loss_without_tta"]))


def test_ensemble_with_tta_saves_and_loads_in_safe_mode(ensemble_run, tmp_path):
    _, _, result = ensemble_run
    model = average_model(result.networks, tta=True)
    path = tmp_path / "ensemble.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    x = training.scale(load_mnist()[1][0][:64])
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)


def shifted_by_hand(x, rows, cols):
    """x moved down by ``rows`` and right by ``cols`` pixels, zeros shifted in."""
    out = np.zeros_like(x)
    h, w = x.shape[1:3]
    out[:, max(rows, 0):h + min(rows, 0), max(cols, 0):w + min(cols, 0)] = \
        x[:, max(-rows, 0):h - max(rows, 0), max(-cols, 0):w - max(cols, 0)]
    return out


def test_tta_is_the_mean_over_the_image_and_its_four_one_pixel_shifts():
    keras.utils.set_random_seed(3)
    nets = [keras_model((28, 28, 1), [Conv2D(4, 3), Flatten(), Dense(10, activation="softmax")],
                        name=f"net{i}") for i in range(2)]
    x = np.random.default_rng(0).random((8, 28, 28, 1)).astype(np.float32)
    assert shifted_by_hand(x, 1, 0)[0, 0].sum() == 0  # the top row is new: zeros
    np.testing.assert_array_equal(shifted_by_hand(x, 1, 0)[:, 1:], x[:, :-1])
    expected = np.mean([net.predict(shifted_by_hand(x, r, c), verbose=0)
                        for net in nets for r, c in TTA_SHIFTS], axis=0)
    got = average_model(nets, tta=True).predict(x, verbose=0)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert len(TTA_SHIFTS) == 5 and average_model(nets[:1]) is nets[0]


def test_stop_ends_the_current_member_and_keeps_it():
    stop = threading.Event()

    def on_progress(event):
        if event["kind"] == "batch":
            stop.set()  # Stop during the first member's first epoch

    settings = RECIPES["ensemble"].settings.with_changes(members=3, tta=False, **TINY)
    result = training.train("ensemble", settings, on_progress, stop, train_examples=300)
    assert result.stopped
    assert [m["name"] for m in result.members] == ["member 1"]  # members 2 and 3 never started
    assert result.model is result.networks[0]  # one network: no averaging wrapper
    assert result.evaluation.errors == result.members[0]["errors"]


def test_label_smoothing_trains_on_one_hot_targets():
    # tta=False: with TTA kept (the held-out images decide, and 300 examples make that a coin
    # toss) result.model is the TTA wrapper, compiled for sparse targets, not the trained network
    settings = RECIPES["fast"].settings.with_changes(label_smoothing=0.1, tta=False, **TINY)
    result = training.train("fast", settings, train_examples=300, evaluate_test=False)
    assert result.members == [] and result.evaluation is None and result.tta == {}
    assert result.model is result.networks[0]
    assert result.model.loss.label_smoothing == 0.1
    assert 0 <= result.history[-1]["val_accuracy"] <= 1
