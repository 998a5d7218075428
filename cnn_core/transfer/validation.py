"""Validating a head, and the head you keep: stratified hold-out or k-fold cross-validation.

    plan_validation(labels)   hold-out 20 % of each class when every class has ≥ 10 images,
                              else stratified k-fold (k = min(5, smallest class))
    fit_head(x, y, classes, settings, augmented=None, on_progress=None) → HeadFit

Hold-out: the head trained on the other 80 % is the one you keep, and its validation figures
are exactly those of that head. k-fold: each image is predicted once by the head that did not
see it (out-of-fold), which gives the confusion matrix; the head you keep is then trained on
all images (its accuracy is estimated by the cross-validation, not measured).

Augmentation: ``augmented`` (n, copies, features) are the embeddings of altered copies of each
image (``cnn_core.transfer.augment``); only the copies of a fold's *training* images join its
training set. One fit trains all its folds with one traced trainer (``trainer.py``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from cnn_core.errors import CNNLabError
from cnn_core.transfer import trainer


holdout_fraction = 0.2
min_per_class_for_holdout = 10
max_folds = 5


@dataclass
class ValidationPlan:
    kind: str                      # "holdout" or "kfold"
    folds: list                    # [(train indices, validation indices)]

    def describe(self):
        if self.kind == "holdout":
            return (f"{holdout_fraction:.0%} of each class held out for validation "
                    f"(every class has ≥ {min_per_class_for_holdout} images)")
        return (f"{len(self.folds)}-fold cross-validation, stratified by class (some class has "
                f"fewer than {min_per_class_for_holdout} images; each image is validated once "
                "by a head that did not train on it, then the kept head trains on all)")


def plan_validation(labels, seed=0):
    """Stratified hold-out or k-fold for ``labels`` (n,) int; see the module docstring."""
    labels = np.asarray(labels)
    counts = np.bincount(labels)
    if len(counts) < 2 or counts.min() < 2:
        raise CNNLabError("Every class needs at least 2 images to validate on.")
    rng = np.random.default_rng(seed)
    per_class = [rng.permutation(np.flatnonzero(labels == c)) for c in range(len(counts))]
    if counts.min() >= min_per_class_for_holdout:
        val = np.concatenate([idx[:max(2, round(holdout_fraction * len(idx)))]
                              for idx in per_class])
        train = np.setdiff1d(np.arange(len(labels)), val)
        return ValidationPlan("holdout", [(train, np.sort(val))])
    k = int(min(max_folds, counts.min()))
    fold_of = np.empty(len(labels), np.int64)
    for idx in per_class:
        fold_of[idx] = np.arange(len(idx)) % k
    return ValidationPlan("kfold", [(np.flatnonzero(fold_of != f), np.flatnonzero(fold_of == f))
                                    for f in range(k)])


@dataclass
class HeadFit:
    """A trained head and how well it generalises."""

    head: object                   # keras.Sequential, the one to keep
    plan: ValidationPlan
    classes: list                  # class names, in output order
    labels: np.ndarray             # (n,) every image's class
    probabilities: np.ndarray      # (n, classes) validation/out-of-fold; NaN rows: not validated
    history: list = field(default_factory=list)   # epoch rows with "fold" (1…k, or "all")
    train_images: int = 0          # images (not copies) the kept head trained on
    seconds: float = 0.0           # wall-clock training time, all folds

    @property
    def validated(self):
        return ~np.isnan(self.probabilities[:, 0])

    @property
    def val_images(self):
        return int(self.validated.sum())

    @property
    def predicted(self):
        return np.where(self.validated, np.nan_to_num(self.probabilities).argmax(1), -1)

    @property
    def confusion(self):
        """(classes, classes) counts over validated images: rows true class, columns predicted."""
        n = len(self.classes)
        done = self.validated
        return np.bincount(self.labels[done] * n + self.predicted[done],
                           minlength=n * n).reshape(n, n)

    @property
    def val_accuracy(self):
        confusion = self.confusion
        return float(np.trace(confusion) / confusion.sum())

    @property
    def per_class_accuracy(self):
        confusion = self.confusion
        return np.diag(confusion) / np.maximum(confusion.sum(1), 1)

    def misclassified(self):
        """Indices of validated images predicted wrong, most confident mistakes first."""
        wrong = np.flatnonzero(self.validated & (self.predicted != self.labels))
        confidence = self.probabilities[wrong, self.predicted[wrong]]
        return wrong[np.argsort(-confidence, kind="stable")]


def with_copies(x, y, indices, augmented):
    """Training rows for ``indices``: the embeddings, plus their augmented copies if given."""
    if augmented is None or augmented.shape[1] == 0:
        return x[indices], y[indices]
    copies = augmented[indices]                              # (m, copies, features)
    return (np.concatenate([x[indices], copies.reshape(-1, x.shape[1])]),
            np.concatenate([y[indices], np.repeat(y[indices], copies.shape[1])]))


def fit_head(x, y, classes, settings, augmented=None, on_progress=None):
    """Validate (hold-out or k-fold) and return the head to keep; see the module docstring."""
    settings.check()
    x, y = np.asarray(x, np.float32), np.asarray(y, np.int64)
    plan = plan_validation(y, settings.seed)
    probabilities = np.full((len(y), len(classes)), np.nan, np.float32)
    history = []
    start = time.monotonic()
    with trainer.shared_trainers.borrow(x.shape[1], len(classes),
                                        settings) as head_trainer:     # traced once
        for number, (train, val) in enumerate(plan.folds, 1):
            def on_epoch(row, fold=number):
                row["fold"] = fold
                history.append(row)
                if on_progress:
                    on_progress(row)

            rows = with_copies(x, y, train, augmented)
            _, probabilities[val] = head_trainer.train(*rows, validation=(x[val], y[val]),
                                                       on_epoch=on_epoch)
        train_images = len(plan.folds[0][0])
        if plan.kind == "kfold":
            def on_epoch(row):
                row["fold"] = "all"
                history.append(row)
                if on_progress:
                    on_progress(row)

            head_trainer.train(*with_copies(x, y, np.arange(len(y)), augmented),
                               on_epoch=on_epoch)
            train_images = len(y)
        head = head_trainer.kept_head()
    return HeadFit(head, plan, list(classes), y, probabilities, history, train_images,
                   time.monotonic() - start)
