"""Teach your own classes: transfer learning on a frozen ImageNet backbone (``cnn_core.imagenet``'s
runtime), a small head trained in seconds, validation you can read, and a ``.keras`` export.

    pipeline.py   end to end: teach(), parameter counts, restoring an imported model's classes
    data.py       your classes and their images (uploads or a server folder)
    embed.py      the backbone and its cached embeddings
    augment.py    altered copies of a photo (seeded)
    head.py       the head (sized by the calculator)
    trainer.py    its training: one traced step per shape, kept for the process
    validation.py hold-out or k-fold, and the head you keep
    model.py      the whole model: export and safe import
    finetune.py   Géron's second step: the backbone's top block unfrozen
    views.py      tables and charts
    __main__.py   the command line: ``python -m cnn_core.transfer``
"""

from cnn_core.transfer.data import TeachingSet, load_class_folders, read_class_folders
from cnn_core.transfer.embed import Backbone, backbone_choice
from cnn_core.transfer.finetune import FineTuneSettings, fine_tune
from cnn_core.transfer.head import HeadSettings
from cnn_core.transfer.model import TransferModel, load_transfer_model
from cnn_core.transfer.pipeline import (
    augment_copies,
    parameter_counts,
    ranked,
    restore_classes,
    teach,
)

__all__ = ["TeachingSet", "load_class_folders", "read_class_folders", "Backbone",
           "backbone_choice", "FineTuneSettings", "fine_tune", "HeadSettings", "TransferModel",
           "load_transfer_model", "augment_copies", "parameter_counts", "ranked",
           "restore_classes", "teach"]
