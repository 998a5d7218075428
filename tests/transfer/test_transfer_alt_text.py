"""The "Teach your own classes" page's alternative texts, against hand-made histories and
confusion matrices (a prediction's bars and Grad-CAM are the Classify page's texts)."""

from types import SimpleNamespace

import numpy as np

from cnn_core.transfer import views


def test_the_curves_text_gives_the_last_epoch_mean_over_the_folds():
    history = [{"epoch": e, "fold": f, "accuracy": a, "val_accuracy": v}
               for f, (a, v) in ((1, (0.9, 0.6)), (2, (1.0, 0.8)), (3, (0.8, 0.7)))
               for e in (1, 50)]
    # at epoch 50: training (0.9 + 1.0 + 0.8) / 3 = 90.0%, validation (0.6 + 0.8 + 0.7) / 3 = 70.0%
    assert views.curves_alt(history, "accuracy") == (
        "Line chart of accuracy (y axis) per epoch (x axis), training and validation, one line "
        "per fold (3 folds). At epoch 50: training 90.0%, validation 70.0% (mean over the "
        "folds).")


def test_a_single_hold_out_run_has_no_folds_to_average():
    history = [{"epoch": 1, "fold": "all", "loss": 0.7},
               {"epoch": 2, "fold": "all", "loss": 0.25}]
    assert views.curves_alt(history, "loss") == (
        "Line chart of loss (y axis) per epoch (x axis), training and validation. At epoch 2: "
        "training 0.250.")
    assert views.curves_alt([], "loss") == (
        "Line chart of loss (y axis) per epoch (x axis): no epochs yet.")


def test_the_confusion_text_counts_the_right_ones_and_every_mistake():
    confusion = np.array([[5, 0, 1], [2, 3, 0], [0, 0, 4]])
    assert views.confusion_alt(["cat", "coffee", "mug"], confusion) == (
        "Confusion matrix (validation), true class (rows) against predicted class (columns): "
        "12 of 15 right. Mistakes: “coffee” taken for “cat” 2×; “cat” taken for “mug” 1×.")
    assert views.confusion_alt(["a", "b"], np.diag([2, 2])).endswith(
        "4 of 4 right. No mistakes.")


def test_the_photos_texts_say_which_class_they_belong_to_and_what_went_wrong():
    assert views.thumbnail_alts("mug", 2) == ["Photo 1 of 2 of the class “mug”.",
                                              "Photo 2 of 2 of the class “mug”."]
    fit = SimpleNamespace(classes=["cat", "coffee"], labels=np.array([0, 1, 1]),
                          predicted=np.array([0, 0, 1]),
                          probabilities=np.array([[0.9, 0.1], [0.62, 0.38], [0.2, 0.8]]))
    assert views.misclassified_alts(fit, [1]) == [
        "A photo of “coffee” that the head took for “cat”, 62% sure."]
