"""Recipes against the calculator; the fit loop: a short real training, Stop, bad settings."""

import threading

import numpy as np
import pytest

from cnn_core.calculator.analysis import analyze
from cnn_core.errors import CNNLabError
from cnn_core.mnist.data import load_mnist
from cnn_core.networks.presets import preset
from cnn_core.mnist.recipes import RECIPES, build_model
from cnn_core.mnist import training
from cnn_core.mnist import views as training_views

pytestmark = pytest.mark.slow

TEST_LABEL_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.parametrize("name", list(RECIPES))
def test_recipe_has_the_parameters_of_its_calculator_preset(name):
    model = build_model(name)
    report = analyze(*preset(RECIPES[name].preset))
    assert model.count_params() == report.total_params
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    assert trainable == report.trainable_params
    # and the layer output shapes agree, layer by layer
    assert [tuple(layer.output.shape[1:]) for layer in model.layers] == [
        layer.output_shape for layer in report.layers]


def test_baseline_is_the_exercise_exactly():
    import keras

    settings = RECIPES["baseline"].settings
    assert (settings.epochs, settings.batch_size, settings.learning_rate) == (5, 32, 1e-3)
    assert settings.schedule == "constant" and not settings.augment and settings.holdout == 0
    assert settings.precision == "float32"
    assert settings.learning_rate == keras.optimizers.Adam().learning_rate  # Adam's default
    assert build_model("baseline").count_params() == 225_034


def test_mixed_precision_does_not_leak():
    import keras

    before = keras.mixed_precision.global_policy().name
    model = build_model("fast")
    assert model.layers[0].dtype_policy.name == "mixed_bfloat16"
    assert model.layers[-1].dtype_policy.name == "float32"  # softmax in float32
    assert keras.mixed_precision.global_policy().name == before == "float32"


def test_short_real_training_reports_every_epoch_and_evaluates_on_the_test_set():
    events = []
    settings = RECIPES["fast"].settings.with_changes(epochs=2, batch_size=64)
    result = training.train("fast", settings, on_progress=events.append, train_examples=4000)
    epochs = [e for e in events if e["kind"] == "epoch"]
    assert [e["epoch"] for e in epochs] == [1, 2] and all(e["complete"] for e in epochs)
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(epochs[-1])
    batches = [e for e in events if e["kind"] == "batch"]
    assert len(batches) >= 2 * 20  # smoothed curve points within each epoch
    assert all(a["step"] < b["step"] for a, b in zip(batches, batches[1:]))
    assert epochs[-1]["progress"] == 1.0 and epochs[-1]["eta"] == 0
    assert not result.stopped
    evaluation = result.evaluation
    assert evaluation.accuracy > 0.93  # 4,000 examples, 2 epochs: a sensible network
    # the evaluation against Keras' own metric and against the published label counts
    # (Keras' metric on the model's own outputs: the saved model is the TTA wrapper or the
    # network, whichever the held-out images chose, and only the wrapper takes sparse labels
    # in evaluate())
    import keras

    x_test, y_test = load_mnist()[1]
    keras_accuracy = keras.metrics.SparseCategoricalAccuracy()
    keras_accuracy.update_state(y_test, result.model.predict(training.scale(x_test), verbose=0))
    assert evaluation.accuracy == pytest.approx(float(keras_accuracy.result()), abs=1e-4)
    assert evaluation.confusion.sum(axis=1).tolist() == TEST_LABEL_COUNTS
    assert np.trace(evaluation.confusion) == 10000 - evaluation.errors
    wrong = evaluation.misclassified(limit=5)
    assert all(w["true"] != w["predicted"] for w in wrong)
    assert [w["confidence"] for w in wrong] == sorted((w["confidence"] for w in wrong),
                                                      reverse=True)
    csv = training_views.history_csv(result.history).splitlines()
    assert csv[0].startswith("member,epoch,x,complete,loss") and len(csv) == 3


def test_stop_keeps_the_partial_model_and_history():
    stop = threading.Event()

    def on_progress(event):
        if event["kind"] == "epoch":
            stop.set()  # press Stop as soon as the first epoch ends

    settings = RECIPES["baseline"].settings.with_changes(epochs=5)
    result = training.train("baseline", settings, on_progress, stop, train_examples=2000)
    assert result.stopped
    complete = [row for row in result.history if row["complete"]]
    assert len(complete) == 1 and len(result.history) <= 2  # at most one step of epoch 2
    assert result.evaluation.accuracy > 0.8  # the partial model is kept and usable


def test_bad_settings_are_user_errors():
    with pytest.raises(CNNLabError, match="epochs"):
        training.check_settings(RECIPES["fast"].settings.with_changes(epochs=0))
    with pytest.raises(CNNLabError, match="batch size"):
        training.check_settings(RECIPES["fast"].settings.with_changes(batch_size=5000))
    with pytest.raises(CNNLabError, match="unknown recipe"):
        training.train("nope", RECIPES["fast"].settings)
