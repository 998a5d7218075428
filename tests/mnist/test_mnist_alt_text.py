"""The MNIST page's alternative texts, against hand-made histories, confusion matrices and
probabilities: each says what its chart or picture shows, with the figures in it."""

from types import SimpleNamespace

import numpy as np

from cnn_core.mnist import views


def test_the_curves_text_gives_each_series_first_and_last_point():
    history = [{"x": 1.0, "val_loss": 0.5}, {"x": 2.0, "val_loss": 0.3}]
    batches = [{"x": 0.5, "loss": 1.2}, {"x": 1.0, "loss": 0.8}, {"x": 1.875, "loss": 0.4}]
    assert views.curves_alt(history, batches, "loss") == (
        "Line chart of loss (y axis) against epochs (x axis): train (running mean) from 1.2000 "
        "at epoch 0.5 to 0.4000 at epoch 1.88; validation from 0.5000 at epoch 1 to 0.3000 at "
        "epoch 2.")
    assert views.curves_alt([], [], "accuracy") == (
        "Line chart of accuracy (y axis) against epochs (x axis): no points yet.")


def test_an_ensembles_curves_text_follows_the_member_training_now():
    batches = [{"x": 0.5, "accuracy": 0.9, "member": 1}, {"x": 0.5, "accuracy": 0.5, "member": 2}]
    assert views.curves_alt([], batches, "accuracy") == (
        "Line chart of accuracy · member 2 (y axis) against epochs (x axis): train (running "
        "mean) from 50.00% at epoch 0.5 to 50.00% at epoch 0.5.")


def test_the_confusion_text_counts_the_diagonal_and_names_the_commonest_mistakes():
    confusion = np.diag([100] * 10)
    confusion[4, 9], confusion[7, 1], confusion[3, 5], confusion[8, 0] = 12, 7, 3, 1
    assert views.confusion_alt(confusion) == (
        "Confusion matrix of the test set, true digit (rows) against predicted digit "
        "(columns): 1,000 of 1,023 on the diagonal (right). Commonest mistakes: 4 read as 9 "
        "(12 times), 7 read as 1 (7 times), 3 read as 5 (3 times).")
    assert views.confusion_alt(np.diag([5] * 10)).endswith("(right). No mistakes.")


def test_the_per_digit_text_lists_every_digit_and_the_lowest():
    accuracy = np.array([0.99, 0.995, 0.98, 0.97, 0.985, 0.975, 0.99, 0.96, 0.97, 0.95])
    text = views.per_class_alt(accuracy)
    assert text.startswith("Bar chart of test accuracy (y axis) per digit (x axis): 0: 99.0%, "
                           "1: 99.5%, 2: 98.0%,")
    assert text.endswith("9: 95.0%. Lowest: digit 9.")


def test_a_digits_texts_say_what_the_network_reads():
    probabilities = np.full(10, 0.01)
    probabilities[7], probabilities[1] = 0.85, 0.07
    assert views.probabilities_alt(probabilities) == (
        "Bar chart of the network's probability (y axis) for each digit (x axis): 7 85.0%, "
        "1 7.0%, 0 1.0%, …")
    assert views.digit_alt(probabilities).endswith("; read as 7 (85.0%).")
    wrong = [{"index": 1234, "true": 4, "predicted": 9, "confidence": 0.87}]
    assert views.misclassified_alts(wrong) == [
        "Test digit 4 (test image 1,234) that the network read as 9, 87% sure."]


def test_the_runs_text_gives_each_runs_last_validation_accuracy():
    def run(name, history):
        return SimpleNamespace(spec=SimpleNamespace(recipe_name=name), history=history)

    jobs = [run("fast", [{"x": 1, "val_accuracy": 0.95}, {"x": 2, "val_accuracy": 0.97}]),
            run("baseline", [{"x": 1, "val_accuracy": 0.9, "member": 1},
                             {"x": 1, "val_accuracy": 0.1, "member": 2}])]
    assert views.runs_alt(jobs) == (
        "Line chart of validation accuracy (y axis) against epochs (x axis), one line per run: "
        "#1 fast 97.00% at epoch 2; #2 baseline 90.00% at epoch 1.")
