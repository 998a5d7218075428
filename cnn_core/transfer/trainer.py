"""Training a head on embeddings: one head, one Adam, one traced training step and evaluation,
reused for every fold of a fit and kept for the process by shape.

    HeadTrainer(...)          one head, one Adam, one traced step and evaluation for all
                              of a fit's folds, reset to a new head's state per fold
    shared_trainers           the process's trainers by (features, classes, head settings),
                              reused by every later fit (and every session) of the same shape
    train_head(...)           one training with a trainer of its own → (head, history)

TensorFlow is imported inside the functions.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import replace

import numpy as np

from cnn_core.transfer.head import HeadSettings, build_head, standardization


class HeadTrainer:
    """One head, one Adam and their two compiled functions (a training step and the
    evaluation), traced once and reused for every fold: ``train`` puts the head and the
    optimizer back to their initial state first, so each fold trains exactly as a new head
    would (same initial weights, dropout draws and shuffles as ``keras.utils.set_random_seed``
    then a new head gives), without paying for new traces.

    The standardisation lives in two variables the compiled functions read (Keras'
    ``Normalization`` would bake its mean and variance into the trace as constants); the
    trainer's own head therefore skips its ``standardize`` layer, and ``kept_head()`` returns
    an independent ``build_head`` model with the current fold's standardisation and weights.

    A plain loop over the compiled step: for a few hundred embeddings Keras' ``fit`` spends far
    longer on per-epoch machinery than on the arithmetic. Same maths: Adam on the mean sparse
    cross-entropy over shuffled mini-batches; the epoch's loss and accuracy are averaged over
    its batches, validation is computed at the epoch's end.
    """

    def __init__(self, features, classes, settings):
        import keras
        import tensorflow as tf

        self.features, self.classes, self.settings = features, classes, settings
        keras.utils.set_random_seed(settings.seed)
        self.head = build_head(features, classes, settings)
        layers = self.head.layers[1:]                       # all but the standardisation
        optimizer = keras.optimizers.Adam(settings.learning_rate)
        loss_fn = keras.losses.SparseCategoricalCrossentropy()
        variables = self.head.trainable_variables
        optimizer.build(variables)
        self.mean = tf.Variable(tf.zeros([features]), trainable=False, name="mean")
        self.variance = tf.Variable(tf.ones([features]), trainable=False, name="variance")
        # What training changes, to put back before each fold: the Dense layers' weights
        # (drawn again from their own seeded initializers, which give the values they were
        # built with), the dropout layers' seed states (as built), Adam's iteration count and
        # moments (zeros; its learning rate is one of its variables too, and stays).
        self.dense = [layer for layer in layers if isinstance(layer, keras.layers.Dense)]
        self.seed_states = [(v, v.numpy()) for v in self.head.non_trainable_variables]
        self.optimizer_state = [v for v in optimizer.variables
                                if v is not optimizer.learning_rate]
        epsilon = keras.backend.epsilon()
        mean, variance = self.mean, self.variance

        def forward(inputs, training):
            # keras.layers.Normalization's (x − mean) / max(√variance, ε), from the variables
            z = (inputs - mean) / tf.maximum(tf.sqrt(variance), epsilon)
            for layer in layers:
                z = layer(z, training=training)
            return z

        signature = [tf.TensorSpec([None, features], tf.float32), tf.TensorSpec([None], tf.int64)]

        @tf.function(input_signature=signature)
        def train_step(inputs, labels):
            with tf.GradientTape() as tape:
                probabilities = forward(inputs, True)
                loss = loss_fn(labels, probabilities)
            optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
            hits = tf.reduce_sum(tf.cast(tf.argmax(probabilities, 1) == labels, tf.float32))
            return tf.stack([loss, hits])

        @tf.function(input_signature=signature)
        def evaluate(inputs, labels):
            probabilities = forward(inputs, False)
            hits = tf.cast(tf.argmax(probabilities, 1) == labels, tf.float32)
            return tf.stack([loss_fn(labels, probabilities), tf.reduce_mean(hits)]), probabilities

        self.train_step, self.evaluate = train_step, evaluate
        # Traced here, once; calling the concrete functions skips the per-call signature
        # matching (about a third of each call's Python time).
        self.step_graph = train_step.get_concrete_function()
        self.evaluate_graph = evaluate.get_concrete_function()

    def tracing_counts(self):
        return {"train_step": self.train_step.experimental_get_tracing_count(),
                "evaluate": self.evaluate.experimental_get_tracing_count()}

    def reset(self):
        """The head and the optimizer as a new head and a new Adam would start."""
        import keras

        for layer in self.dense:
            layer.kernel.assign(layer.kernel_initializer(layer.kernel.shape, layer.kernel.dtype))
            layer.bias.assign(layer.bias_initializer(layer.bias.shape, layer.bias.dtype))
        for variable, value in self.seed_states:
            variable.assign(value)
        for variable in self.optimizer_state:
            variable.assign(keras.ops.zeros(variable.shape, variable.dtype))

    def train(self, x, y, validation=None, on_epoch=None):
        """Train from the initial state on ``x`` (n, features) float32, ``y`` (n,) int64;
        returns (history, validation probabilities (m, classes) of the last epoch, or None).
        ``on_epoch(row)`` gets {epoch, loss, accuracy[, val_loss, val_accuracy]} after each
        epoch."""
        self.reset()
        mean, variance = standardization(x)
        self.mean.assign(mean.astype(np.float32))
        self.variance.assign(variance.astype(np.float32))
        if validation is not None:
            import tensorflow as tf

            validation = tuple(tf.convert_to_tensor(part) for part in validation)
        rng = np.random.default_rng(self.settings.seed)
        batch_size, n, train_step = self.settings.batch_size, len(x), self.step_graph
        history, probabilities = [], None
        for epoch in range(1, self.settings.epochs + 1):
            order = rng.permutation(n)
            loss_sum, hits = 0.0, 0.0
            for begin in range(0, n, batch_size):
                batch = order[begin:begin + batch_size]
                loss, batch_hits = train_step(x[batch], y[batch]).numpy()
                loss_sum += float(loss) * len(batch)
                hits += float(batch_hits)
            row = {"epoch": epoch, "loss": loss_sum / n, "accuracy": hits / n}
            if validation is not None:
                figures, probabilities = self.evaluate_graph(*validation)
                val_loss, val_accuracy = figures.numpy()
                row.update(val_loss=float(val_loss), val_accuracy=float(val_accuracy))
            history.append(row)
            if on_epoch:
                on_epoch(row)
        if probabilities is not None:
            probabilities = np.asarray(probabilities, np.float32)
        return history, probabilities

    def kept_head(self):
        """An independent ``build_head`` model with the current standardisation and weights."""
        head = build_head(self.features, self.classes, self.settings, self.mean.numpy(),
                          self.variance.numpy())
        head.set_weights(self.head.get_weights())
        return head


class TrainerCache:
    """Traced trainers kept for the whole process, at most ``size``, least recently used
    dropped. Each ``HeadTrainer`` traces two TensorFlow functions, and TensorFlow does not give
    back all of a traced function's memory when it is dropped (measured: ~0.4 MiB a function,
    with or without ``gc.collect()``, its kernel cache cleared or ``keras.backend.
    clear_session()``): a server that traced new ones for every Train grew by ~140 MiB a minute
    with 30 students. A trainer serves one fit at a time (its own lock); the epochs and
    augmentation change no graph, so fits that differ only in them share it."""

    def __init__(self, size=32):
        self.size = size
        self._lock = threading.Lock()
        self._entries = OrderedDict()        # key → [lock, trainer or None]

    @contextmanager
    def borrow(self, features, classes, settings):
        key = (features, classes, replace(settings, epochs=HeadSettings.epochs,
                                          augment_copies=0))
        with self._lock:
            entry = self._entries.pop(key, None) or [threading.Lock(), None]
            self._entries[key] = entry
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        with entry[0]:
            if entry[1] is None:
                entry[1] = HeadTrainer(features, classes, settings)
            trainer = entry[1]
            trainer.settings = settings      # this fit's epochs (the graph is the same)
            yield trainer


shared_trainers = TrainerCache()


def train_head(x, y, classes, settings, validation=None, on_epoch=None):
    """Fit a new head on embeddings ``x`` (n, features), labels ``y``; returns (head, history).
    ``on_epoch(row)`` gets {epoch, loss, accuracy[, val_loss, val_accuracy]} after each epoch.
    One training with its own ``HeadTrainer`` (``fit_head`` shares one across its folds)."""
    x, y = np.asarray(x, np.float32), np.asarray(y, np.int64)
    if validation is not None:
        validation = (np.asarray(validation[0], np.float32), np.asarray(validation[1], np.int64))
    trainer = HeadTrainer(x.shape[1], classes, settings)
    history, _ = trainer.train(x, y, validation, on_epoch)
    return trainer.kept_head(), history
