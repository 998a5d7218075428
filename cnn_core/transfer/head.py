"""The new top of the network: a small softmax classifier trained on the frozen backbone's
embeddings, validated per class (stratified hold-out) or by k-fold cross-validation.

    HeadSettings              hidden units, dropout, epochs, learning rate, augmentation copies
    head_layers(...)          the head as layers (``cnn_core.networks``), written once:
    build_head(...)           … the Keras model is built from them, the page's parameter count
    head_report(...)          … comes from ``cnn_core.calculator.analyze`` of the same list
    plan_validation(labels)   hold-out 20 % of each class when every class has ≥ 10 images,
                              else stratified k-fold (k = min(5, smallest class))
    fit_head(x, y, classes, settings, augmented=None, on_progress=None) → HeadFit
    HeadTrainer(...)          one head, one Adam, one traced step and evaluation for all
                              of a fit's folds, reset to a new head's state per fold
    shared_trainers           the process's trainers by (features, classes, head settings),
                              reused by every later fit (and every session) of the same shape

Hold-out: the head trained on the other 80 % is the one you keep, and its validation figures
are exactly those of that head. k-fold: each image is predicted once by the head that did not
see it (out-of-fold), which gives the confusion matrix; the head you keep is then trained on
all images (its accuracy is estimated by the cross-validation, not measured).

Augmentation: ``augmented`` (n, copies, features) are the embeddings of altered copies of each
image (``cnn_core.transfer.augment``); only the copies of a fold's *training* images join its
training set. TensorFlow is imported inside the functions.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import numpy as np

from cnn_core.calculator import analyze
from cnn_core.errors import CNNLabError
from cnn_core.networks import Dense, Dropout, Layer

holdout_fraction = 0.2
min_per_class_for_holdout = 10
max_folds = 5


@dataclass(frozen=True)
class HeadSettings:
    hidden_units: int = 0          # 0: softmax right on the embedding; else one ReLU layer
    dropout: float = 0.2           # on the embedding (and after the hidden layer)
    epochs: int = 50
    learning_rate: float = 1e-3    # Adam
    batch_size: int = 16            # as Teachable Machine: small sets still get many steps
    augment_copies: int = 0        # altered copies of each training image (0: none)
    seed: int = 0

    def check(self):
        if not 0 <= self.hidden_units <= 4096:
            raise CNNLabError("Hidden units must be between 0 (no hidden layer) and 4096.")
        if not 0 <= self.dropout < 1:
            raise CNNLabError("Dropout must be at least 0 and below 1.")
        if not 1 <= self.epochs <= 1000:
            raise CNNLabError("Epochs must be between 1 and 1000.")
        if not 0 < self.learning_rate <= 1:
            raise CNNLabError("The learning rate must be above 0 and at most 1.")
        if not 1 <= self.batch_size <= 4096:
            raise CNNLabError("The batch size must be between 1 and 4096.")
        if not 0 <= self.augment_copies <= 16:
            raise CNNLabError("Augmentation makes 0 to 16 copies per image.")


class Normalization(Layer):
    """Keras' ``Normalization`` with a fixed mean and variance (stored in its config, so no
    weights): (x − mean) / √variance per feature, for the calculator (no parameters)."""


def standardization(x):
    """Per-feature mean and variance of the training embeddings; a variance floor of 1 % of
    the mean variance keeps features that were (almost) always 0 from blowing up."""
    mean, variance = x.mean(0), x.var(0)
    return mean, np.maximum(variance, 0.01 * float(variance.mean()) + 1e-12)


def head_layers(classes, settings):
    """The head as calculator layers: standardise → [Dropout] → [Dense(hidden, relu) →
    Dropout] → softmax. Standardising the embedding makes one learning rate fit every
    backbone (SqueezeNet's pooled features are far larger than Inception's)."""
    layers = [Normalization(name="standardize")]
    if settings.dropout:
        layers.append(Dropout(settings.dropout, name="embedding_dropout"))
    if settings.hidden_units:
        layers.append(Dense(settings.hidden_units, activation="relu", name="hidden"))
        if settings.dropout:
            layers.append(Dropout(settings.dropout, name="hidden_dropout"))
    layers.append(Dense(classes, activation="softmax", name="classes"))
    return layers


def head_report(features, classes, settings):
    """The calculator's ``NetworkReport`` of the head on (features,) embeddings."""
    return analyze((features,), head_layers(classes, settings))


def build_head(features, classes, settings, mean=None, variance=None):
    """keras.Sequential built from ``head_layers``: (batch, features) → (batch, classes).
    ``mean``/``variance``: the standardisation (default: none, 0 and 1)."""
    import keras

    keras_layers = []
    for layer in head_layers(classes, settings):
        if isinstance(layer, Normalization):
            mean = np.zeros(features, np.float32) if mean is None else mean
            variance = np.ones(features, np.float32) if variance is None else variance
            keras_layers.append(keras.layers.Normalization(
                mean=np.asarray(mean, np.float32).tolist(),
                variance=np.asarray(variance, np.float32).tolist(), name=layer.name))
        elif isinstance(layer, Dense):
            keras_layers.append(keras.layers.Dense(layer.units, activation=layer.activation,
                                                   name=layer.name))
        else:
            keras_layers.append(keras.layers.Dropout(layer.rate, name=layer.name,
                                                     seed=settings.seed))
    return keras.Sequential([keras.Input((features,), name="embedding"), *keras_layers],
                            name="head")


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


def predict_head(head, x):
    """(n, features) → (n, classes) probabilities, outside Keras' predict (no retracing)."""
    return np.asarray(head(np.asarray(x, np.float32), training=False), np.float32)


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
    with shared_trainers.borrow(x.shape[1], len(classes), settings) as trainer:  # traced once
        for number, (train, val) in enumerate(plan.folds, 1):
            def on_epoch(row, fold=number):
                row["fold"] = fold
                history.append(row)
                if on_progress:
                    on_progress(row)

            _, probabilities[val] = trainer.train(*with_copies(x, y, train, augmented),
                                                  validation=(x[val], y[val]), on_epoch=on_epoch)
        train_images = len(plan.folds[0][0])
        if plan.kind == "kfold":
            def on_epoch(row):
                row["fold"] = "all"
                history.append(row)
                if on_progress:
                    on_progress(row)

            trainer.train(*with_copies(x, y, np.arange(len(y)), augmented), on_epoch=on_epoch)
            train_images = len(y)
        head = trainer.kept_head()
    return HeadFit(head, plan, list(classes), y, probabilities, history, train_images,
                   time.monotonic() - start)
