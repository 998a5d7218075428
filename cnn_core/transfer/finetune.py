"""Fine-tuning, the second step of Géron's recipe (Hands-On Machine Learning, ch. 14): train the
new head with the backbone frozen first (``cnn_core.transfer.head``), then unfreeze the
backbone's top block and go on training with a small learning rate, so the pretrained
features move only a little towards your classes.

    fine_tune(model, examples, fit, settings) → FineTune(model, before, after, history, …)

- Top block: the layers after ``fire8_concat`` in SqueezeNet (fire9, 2 × 1×1 and one 3×3
  convolution); after ``mixed8`` in Inception v3 (mixed9 and mixed10, as the Keras guide does).
  Batch normalisation stays in inference mode (its statistics are not re-estimated on a few
  photos).
- The shared backbone is never changed: the conv base is copied (SqueezeNet 2.9 MB; Inception
  ~87 MB) and the copy is trained. Pixels are the stored crops (uint8; converted per batch).
- One fine-tuning at a time per server process (another session gets a clear message).
- Needs the hold-out split: "before" and "after" are measured on the same held-out photos. With
  k-fold cross-validation (few photos) there is no fixed validation set, so it is refused.
TensorFlow is imported inside the functions.
"""

import threading
import time
from dataclasses import dataclass, field

import numpy as np

from cnn_core.errors import CNNLabError
from cnn_core.transfer.model import TransferModel

top_block_after = {"squeezenet": "fire8_concat", "inception_v3": "mixed8"}
one_at_a_time = threading.Lock()     # CPU-heavy: one fine-tuning per server process


@dataclass(frozen=True)
class FineTuneSettings:
    epochs: int = 3
    learning_rate: float = 1e-5     # Adam; ~100× below the head's
    batch_size: int = 8


@dataclass
class FineTune:
    model: TransferModel            # the fine-tuned copy (predict, Grad-CAM, export as usual)
    before: float                   # validation accuracy, head only
    after: float                    # validation accuracy after fine-tuning
    trainable_params: int           # unfrozen backbone parameters + the head's
    history: list = field(default_factory=list)    # {epoch, loss, accuracy, val_accuracy}
    seconds: float = 0.0


def copy_model(model):
    """A copy of a Keras model, same name, with its own weights (the original is untouched)."""
    import keras

    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    if copy.name != model.name:
        raise CNNLabError(f"Copying {model.name} gave {copy.name}; cannot fine-tune it.")
    return copy


def unfreeze_top_block(conv_base, key):
    """Trainable: the layers after ``top_block_after[key]``; the rest frozen."""
    names = [layer.name for layer in conv_base.layers]
    boundary = names.index(top_block_after[key])
    conv_base.trainable = True
    for index, layer in enumerate(conv_base.layers):
        layer.trainable = index > boundary


def fine_tune(model, examples, fit, settings=FineTuneSettings(), on_epoch=None):
    """Fine-tune a copy of ``model`` (the head-trained TransferModel) on ``examples`` (in the
    order of ``fit.labels``), validating on ``fit``'s held-out photos."""
    if fit.plan.kind != "holdout":
        raise CNNLabError("Fine-tuning needs a held-out validation set: give every class at "
                          "least 10 photos (with fewer, the page cross-validates).")
    if not one_at_a_time.acquire(blocking=False):
        raise CNNLabError("Another session is fine-tuning on this server; try again when it "
                          "has finished (about a minute).")
    try:
        return run_fine_tune(model, examples, fit, settings, on_epoch)
    finally:
        one_at_a_time.release()


def run_fine_tune(model, examples, fit, settings, on_epoch):
    import keras
    import tensorflow as tf

    train, val = fit.plan.folds[0]
    conv_base = copy_model(model.conv_base)
    unfreeze_top_block(conv_base, model.backbone_key)
    head = copy_model(model.head)
    tuned = TransferModel(model.backbone_key, model.classes, model.preprocessing, conv_base,
                          head)
    pixels = np.stack([example.pixels for example in examples])          # (n, s, s, 3) uint8
    labels = np.asarray(fit.labels, np.int64)
    before = float((model.predict(pixels[val]).argmax(1) == labels[val]).mean())
    variables = tuned.model.trainable_variables
    optimizer = keras.optimizers.Adam(settings.learning_rate)
    optimizer.build(variables)
    loss_fn = keras.losses.SparseCategoricalCrossentropy()

    @tf.function
    def train_step(inputs, targets):
        with tf.GradientTape() as tape:
            probabilities = tuned.model(inputs, training=False)   # BN and dropout: inference
            loss = loss_fn(targets, probabilities)
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss, tf.reduce_sum(tf.cast(tf.argmax(probabilities, 1) == targets, tf.float32))

    rng = np.random.default_rng(0)
    history, start = [], time.monotonic()
    for epoch in range(1, settings.epochs + 1):
        order = rng.permutation(train)
        losses, hits = 0.0, 0.0
        for begin in range(0, len(order), settings.batch_size):
            batch = order[begin:begin + settings.batch_size]
            loss, batch_hits = train_step(pixels[batch].astype(np.float32), labels[batch])
            losses += float(loss) * len(batch)
            hits += float(batch_hits)
        val_accuracy = float((tuned.predict(pixels[val]).argmax(1) == labels[val]).mean())
        row = {"epoch": epoch, "loss": losses / len(train), "accuracy": hits / len(train),
               "val_accuracy": val_accuracy}
        history.append(row)
        if on_epoch:
            on_epoch(row)
    trainable = int(sum(np.prod(v.shape) for v in variables))
    return FineTune(tuned, before, history[-1]["val_accuracy"] if history else before,
                    trainable, history, time.monotonic() - start)
