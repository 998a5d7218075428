"""Train the small MNIST CNN that ships with CNN Lab (data/models/mnist_small.keras), so the
"Inside a CNN" page has a model to open before a session has trained one.

    python scripts/train_small_mnist.py            # writes the model and its JSON card

Three small convolutions, a max pooling after each of the first two, one Dense softmax:
about 14,000 parameters, a ~100 kB file. Fixed seed (Keras' and TensorFlow's op determinism),
the shipped MNIST files (data/mnist, checked against their SHA-256), 60,000 training digits,
the 10,000 test digits scored once at the end. The card beside the model
(data/models/mnist_small.json) states its test accuracy, the file's SHA-256 and how it was
made; tests/inside/test_shipped_model.py checks both against the file.

The weights are reproducible on the same machine and TensorFlow version; the .keras file's
bytes are not (Keras writes the save date into it), hence the checksum on the card.
"""

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

seed = 19
epochs = 3
batch_size = 128
learning_rate = 2e-3


def small_cnn():
    """The network, top to bottom: (28, 28, 1) → 10 probabilities."""
    import keras

    return keras.Sequential([
        keras.Input((28, 28, 1), name="digit"),
        keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1"),
        keras.layers.MaxPooling2D(2, name="pool1"),                         # 14×14×8
        keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv2"),
        keras.layers.MaxPooling2D(2, name="pool2"),                         # 7×7×16
        keras.layers.Conv2D(32, 3, activation="relu", name="conv3"),        # 5×5×32
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dense(10, activation="softmax", name="probabilities"),
    ], name="mnist_small")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "data" / "models" / "mnist_small.keras"))
    args = parser.parse_args()

    import keras
    import numpy as np
    import tensorflow as tf

    from cnn_core.mnist import load_mnist

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    (x_train, y_train), (x_test, y_test) = load_mnist()
    scale = lambda images: (images.astype(np.float32) / 255.0)[..., None]   # noqa: E731
    model = small_cnn()
    model.compile(keras.optimizers.Adam(learning_rate), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(scale(x_train), y_train, batch_size=batch_size, epochs=epochs, verbose=2)
    seconds = time.perf_counter() - start
    predicted = model.predict(scale(x_test), batch_size=10_000, verbose=0).argmax(axis=1)
    accuracy = float((predicted == y_test).mean())

    shipped = small_cnn()                      # the same weights, without the optimizer state
    shipped.set_weights(model.get_weights())
    out = Path(args.out)
    shipped.save(out)
    card = {
        "file": out.name,
        "sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
        "bytes": out.stat().st_size,
        "parameters": int(shipped.count_params()),
        "test_accuracy": accuracy,
        "test_errors": int((predicted != y_test).sum()),
        "made_by": "scripts/train_small_mnist.py",
        "seed": seed, "epochs": epochs, "batch_size": batch_size, "learning_rate": learning_rate,
        "train_seconds": round(seconds, 1),
        "keras": keras.__version__, "tensorflow": tf.__version__,
        "input": "MNIST digit, white on black, float32 (n, 28, 28, 1) in [0, 1]",
    }
    out.with_suffix(".json").write_text(json.dumps(card, indent=2) + "\n")
    print(json.dumps(card, indent=2))


if __name__ == "__main__":
    main()
