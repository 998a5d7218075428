"""Transfer learning, end to end: your classes' photos → frozen backbone embeddings → a trained
head → one exported model. The page and the command line (``python -m cnn_core.transfer``,
``__main__.py``) are two front ends over ``teach``.

The pieces: ``data`` (classes and images), ``embed`` (backbone, cached embeddings),
``augment`` (altered copies), ``head`` (the head), ``trainer`` (training it),
``validation`` (hold-out or k-fold, the head you keep), ``model`` (the whole model, export
and safe import), ``finetune`` (Géron's second step: the backbone's top block unfrozen).
"""

import numpy as np

from cnn_core.errors import CNNLabError
from cnn_core.transfer.augment import augmented_copies, copy_keys
from cnn_core.transfer.head import head_report
from cnn_core.transfer.model import TransferModel
from cnn_core.transfer.validation import fit_head

augment_copies = 4        # altered copies per training image with --augment (page default too)


def augmented_embeddings(teaching, backbone, copies):
    """(n, copies, features) embeddings of ``copies`` altered copies of every image, in the
    order of ``teaching.arrays()``; cached by (digest, copy) like the images' own."""
    examples = teaching.arrays()[2]
    rows = []
    for example in examples:
        cached = backbone.cached(copy_keys(example.digest, copies))
        if cached is None:                     # make the copies only when not cached
            pixels, keys = augmented_copies(example.pixels, example.digest, copies)
            cached = backbone.embed(pixels, keys)
        rows.append(cached)
    return np.stack(rows) if rows else np.zeros((0, copies, backbone.features), np.float32)


def teach(teaching, backbone, settings, on_progress=None):
    """Train a head on ``teaching``'s images: (HeadFit, TransferModel ready to predict/save)."""
    teaching.check_trainable()
    if teaching.backbone != backbone.key:
        raise CNNLabError(f"These images were embedded by {teaching.backbone}, not "
                          f"{backbone.key}; add them again.")
    x, y, _ = teaching.arrays()
    augmented = (augmented_embeddings(teaching, backbone, settings.augment_copies)
                 if settings.augment_copies else None)
    fit = fit_head(x, y, teaching.class_names, settings, augmented, on_progress)
    model = TransferModel(backbone.key, teaching.class_names, backbone.preprocessing(),
                          backbone.conv_base, fit.head)
    return fit, model


def parameter_counts(backbone, classes, settings):
    """Parameters of the head (from the calculator) and of the whole exported model (the
    backbone's conv base, counted by Keras — its branches are beyond the calculator — plus
    the preprocessing layer and the head): {"head", "head_trainable", "backbone",
    "preprocessing", "whole"}."""
    report = head_report(backbone.features, len(classes), settings)
    preprocessing = backbone.preprocessing()         # Dense(3) for Caffe models, built
    if not preprocessing.built:
        preprocessing.build((None, backbone.input_size, backbone.input_size, 3))
    counts = {"head": report.total_params, "head_trainable": report.trainable_params,
              "backbone": backbone.conv_base.count_params(),
              "preprocessing": preprocessing.count_params()}
    counts["whole"] = counts["head"] + counts["backbone"] + counts["preprocessing"]
    return counts


def restore_classes(teaching, model):
    """After importing ``model``: its classes first, in its order (images already collected
    under the same names are kept), then any other class you had. Returns the new set."""
    from cnn_core.transfer.data import TeachingSet

    restored = TeachingSet(teaching.backbone, teaching.input_size)
    for name in [*model.classes, *(c for c in teaching.classes if c not in model.classes)]:
        restored.classes[name] = list(teaching.classes.get(name, []))
    return restored


def ranked(probabilities, classes, k):
    """[{"label", "index", "probability"}] of one row, most probable first."""
    order = np.argsort(probabilities)[::-1][:k]
    return [{"label": classes[i], "index": int(i), "probability": float(probabilities[i])}
            for i in order]
