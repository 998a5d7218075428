"""Which model is looked inside, each with its own preprocessing of an input (``inputs.py``).

Models (one ``InsideModel`` per model per process, shared by sessions, at most MAX_MODELS):
    shipped_digit_model()          the small MNIST CNN shipped in data/models (checked against
                                   its card's SHA-256 when loaded)
    digit_model(keras_bytes, title, model=None)  an MNIST run of this session (its .keras bytes)
    imagenet_model(key, weights)   the Classify page's ImageNet model (through OpenVINO)
    transfer_inside_model(tm)      the transfer page's model (a cnn_core.transfer TransferModel)
InsideModel:
    .look(inp) → Look(maps [LayerMaps], probabilities, conv_input, conv_output, seconds,
        cached): every layer's maps from one forward pass, cached as pictures by (model digest,
        input digest); the first convolution's input and output stay floats (the step view)
    .activations (built on first use), .probabilities(pixels), .grad_cam(pixels, class)
    .occlusion(inp, class, patch, stride), .maximised(layer, index), .projection(): cached
"""

import collections
import hashlib
import json
import threading
import time
from dataclasses import dataclass

import numpy as np

from cnn_core.errors import CNNLabError
from cnn_core.inside.maps import PictureCache, layer_maps
from cnn_core.paths import MODELS_DIR

SHIPPED = MODELS_DIR / "mnist_small.keras"
MAX_MODELS = 6                 # models kept built per process (each with its compiled passes)
DIGIT_CLASSES = [str(digit) for digit in range(10)]
looks_cache = PictureCache(max_bytes=96 * 2**20)     # every layer's pictures, by (model, input)
occlusions_cache = PictureCache(max_bytes=16 * 2**20)  # maps by (model, input, class, settings)
extras_cache = PictureCache(max_bytes=8 * 2**20)      # maximisations and projections, by model
PROJECTED_DIGITS = 1000                               # test digits in the penultimate layer's PCA


def scale_digits(pixels):
    """uint8 (n, 28, 28) → float32 (n, 28, 28, 1) in [0, 1]: the MNIST trainer's scaling."""
    return (np.asarray(pixels, np.float32) / 255.0)[..., None]


def as_float(pixels):
    return np.asarray(pixels, np.float32)


@dataclass(frozen=True)
class Look:
    maps: list                 # LayerMaps of every shown layer, in order
    probabilities: np.ndarray  # the model's output for this input
    conv_input: np.ndarray     # float32 input of the first convolution (for the step view)
    conv_output: np.ndarray    # float32 output of the first convolution: the only floats kept
    seconds: float             # the forward pass and the pictures (0 when cached)
    cached: bool = False

    @property
    def nbytes(self):
        return (sum(m.nbytes for m in self.maps) + self.conv_input.nbytes
                + self.conv_output.nbytes + self.probabilities.nbytes)


class InsideModel:
    """A model to look inside, with its preprocessing; built once, shared by sessions."""

    def __init__(self, digest, title, kind, model, preprocess, classes, runtime,
                 bgr=False, grad_cam=None, note=""):
        self.digest, self.title, self.kind, self.model = digest, title, kind, model
        self.preprocess, self.classes, self.runtime = preprocess, list(classes), runtime
        self.bgr, self.note, self.grad_cam_function = bgr, note, grad_cam
        self.input_size = int(model.inputs[0].shape[1])
        self.lock = threading.Lock()
        self._activations = self._forward = None

    @property
    def activations(self):
        with self.lock:
            if self._activations is None:
                from cnn_core.inside.activations import Activations

                self._activations = Activations(self.model, self.runtime)
            return self._activations

    def probabilities(self, pixels):
        """uint8 (n, …) pixels → (n, classes), the plain compiled model (for occlusion)."""
        with self.lock:
            if self._forward is None:
                from cnn_core.imagenet import compile_model

                self._forward = compile_model(self.model, self.runtime, "float32", "throughput")
        return self._forward(self.preprocess(pixels))

    def look(self, inp, cache=looks_cache):
        """Every layer's maps for ``inp`` from one forward pass (or from the cache)."""
        if inp.kind != self.kind:
            raise CNNLabError(f"{self.title} reads {self.kind}s, not {inp.kind}s: pick a "
                              f"{self.kind} as the input.")
        key = (self.digest, inp.digest)
        found = cache.get(key) if cache is not None else None
        if found is not None:
            return Look(found.maps, found.probabilities, found.conv_input, found.conv_output,
                        0.0, True)
        activations = self.activations
        start = time.perf_counter()
        inputs = self.preprocess(inp.pixels[None])
        outputs = activations(inputs)
        maps = [layer_maps(info, output[0]) for info, output in zip(activations.layers, outputs)]
        first = next((l.index for l in activations.layers if l.kind == "Conv2D"), None)
        feed = activations.feeds.get(first, -1) if first is not None else -1
        conv_input = (inputs[0] if feed < 0 else outputs[feed][0]).astype(np.float32)
        conv_output = (outputs[first][0] if first is not None else np.zeros(0)).astype(np.float32)
        look = Look(maps, np.asarray(outputs[-1][0], np.float32).ravel(), conv_input,
                    conv_output, time.perf_counter() - start)
        if cache is not None:
            cache.put(key, look, look.nbytes)
        return look

    def occlusion(self, inp, class_index, patch, stride, cache=None):
        """Occlusion sensitivity of ``inp`` for ``class_index`` (cached by photo, model and
        settings). The square is the background: black for a digit, mid-grey (128) for a
        photo."""
        from cnn_core.inside.occlusion import occlusion_map

        cache = occlusions_cache if cache is None else cache
        key = (self.digest, inp.digest, int(class_index), int(patch), int(stride))
        found = cache.get(key)
        if found is None:
            found = occlusion_map(self.probabilities, inp.pixels, class_index, patch, stride,
                                  fill=0 if self.kind == "digit" else 128)
            cache.put(key, found, found.pixel_map.nbytes + found.drops.nbytes)
        return found

    def maximised(self, layer_name, index):
        """Activation maximisation of a class or filter (digit models), cached."""
        from cnn_core.inside.maximisation import maximise

        key = (self.digest, "maximised", layer_name, int(index))
        found = extras_cache.get(key)
        if found is None:
            found = maximise(self.model, layer_name, index)
            extras_cache.put(key, found, found.pixels.nbytes + 64)
        return found

    def projection(self, count=PROJECTED_DIGITS):
        """The penultimate layer's PCA for the first ``count`` test digits, cached."""
        from cnn_core.inside.projection import penultimate_pca
        from cnn_core.mnist import load_mnist

        key = (self.digest, "projection", count)
        found = extras_cache.get(key)
        if found is None:
            digits, labels = load_mnist()[1]
            found = penultimate_pca(self.model, self.preprocess, digits[:count], labels[:count])
            extras_cache.put(key, found, found.points.nbytes * 3)
        return found

    def grad_cam(self, pixels, class_index):
        if self.grad_cam_function is None:
            return None
        return self.grad_cam_function(np.asarray(pixels), class_index)


_models = collections.OrderedDict()
_models_lock = threading.Lock()
_build_locks = collections.defaultdict(threading.Lock)


def shared(digest, build):
    """The InsideModel for ``digest``, built once (``build()``) and kept among MAX_MODELS."""
    with _models_lock:
        if digest in _models:
            _models.move_to_end(digest)
            return _models[digest]
        lock = _build_locks[digest]
    with lock:
        with _models_lock:
            if digest in _models:
                return _models[digest]
        model = build()
        with _models_lock:
            _models[digest] = model
            while len(_models) > MAX_MODELS:
                _models.popitem(last=False)
            _build_locks.pop(digest, None)
        return model


def last_convolution(model):
    import keras

    convolutions = [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    return convolutions[-1] if convolutions else None


def keras_grad_cam(model, layer):
    """A Grad-CAM function (pixels as scaled inputs) for a classifier, built on first use."""
    from cnn_core.imagenet import GradCam

    holder = {}

    def compute(inputs, class_index):
        if "cam" not in holder:
            holder["cam"] = GradCam(model, layer)
        return holder["cam"](inputs, class_index)
    return compute


def chain_grad_cam(model, layer_name):
    """Grad-CAM for a chain of layers (an MNIST Sequential), the layers after ``layer_name``
    applied one by one under the tape: cnn_core.imagenet's GradCam reads a functional graph's
    inner tensors, whose gradient a Sequential model does not connect (keras-io#1999)."""
    import keras
    import tensorflow as tf

    names = [layer.name for layer in model.layers]
    after = model.layers[names.index(layer_name) + 1:]
    features = keras.Model(model.inputs, model.get_layer(layer_name).output)

    def compute(inputs, class_index):
        with tf.GradientTape() as tape:
            maps = features(np.asarray(inputs, np.float32), training=False)
            tape.watch(maps)
            x = maps
            for layer in after:
                if layer is after[-1] and isinstance(layer, keras.layers.Dense):
                    x = tf.matmul(x, layer.kernel) + layer.bias          # the logits
                else:
                    x = layer(x, training=False)
            score = x[:, class_index]
        weights = tf.reduce_mean(tape.gradient(score, maps), axis=(1, 2))
        cam = tf.nn.relu(tf.reduce_sum(maps * weights[:, None, None, :], -1))[0].numpy()
        return cam / cam.max() if cam.max() > 0 else cam
    return compute


def digit_inside_model(digest, title, model, note=""):
    layer = last_convolution(model)
    cam = chain_grad_cam(model, layer) if layer else None
    return InsideModel(digest, title, "digit", model, scale_digits, DIGIT_CLASSES, "tensorflow",
                       grad_cam=(lambda pixels, c: cam(scale_digits(pixels[None]), c))
                       if cam else None, note=note)


def shipped_card():
    """The shipped model's card (data/models/mnist_small.json): accuracy, SHA-256, recipe."""
    return json.loads(SHIPPED.with_suffix(".json").read_text())


def shipped_digit_model():
    """The small MNIST CNN shipped with CNN Lab (scripts/train_small_mnist.py)."""
    card = shipped_card()

    def build():
        import keras

        data = SHIPPED.read_bytes()
        if hashlib.sha256(data).hexdigest() != card["sha256"]:
            raise CNNLabError("the shipped MNIST model is damaged (its checksum does not match "
                              "its card); the server's operator should restore it.",
                              server_detail=f"{SHIPPED}: SHA-256 differs from the card")
        model = keras.models.load_model(SHIPPED, compile=False)
        return digit_inside_model(card["sha256"], "The small MNIST CNN shipped with CNN Lab",
                                  model, f"test accuracy {card['test_accuracy']:.2%}, "
                                         f"{card['parameters']:,} parameters")
    return shared(card["sha256"], build)


def digit_model(keras_bytes, title, model=None):
    """An MNIST run's model, from its .keras bytes (``model``: already loaded, if it is)."""
    digest = hashlib.sha256(keras_bytes).hexdigest()

    def build():
        import io
        import tempfile
        from pathlib import Path

        import keras

        loaded = model
        if loaded is None:
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "run.keras"
                path.write_bytes(io.BytesIO(keras_bytes).getvalue())
                loaded = keras.models.load_model(path, compile=False)
        return digit_inside_model(digest, title, loaded)
    return shared(digest, build)


def imagenet_model(key, weights, runtime="openvino"):
    """The Classify page's ImageNet model, its weights at ``weights``, compiled for
    ``runtime`` through cnn_core.imagenet's shared compile_model."""
    from cnn_core.imagenet import class_names, load_keras_model, model_spec

    spec = model_spec(key)
    digest = f"{key}:{weights}:{runtime}"

    def build():
        model = load_keras_model(spec, weights)
        cam = keras_grad_cam(model, spec.gradcam_layer)
        return InsideModel(digest, spec.title, "photo", model, spec.preprocess, class_names(),
                           runtime, bgr="BGR" in spec.value_range,
                           grad_cam=lambda pixels, c: cam(spec.preprocess(pixels[None]), c),
                           note=spec.credit)
    return shared(digest, build)


def weights_digest(model):
    digest = hashlib.sha256(model.to_json().encode())
    for array in model.get_weights():
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def transfer_inside_model(transfer_model, runtime="openvino"):
    """The transfer page's model: RGB 0–255 in, its preprocessing inside the network."""
    digest = weights_digest(transfer_model.model)

    def build():
        return InsideModel(digest, f"your {len(transfer_model.classes)}-class model "
                                   f"({transfer_model.spec.title} backbone)", "photo",
                           transfer_model.model, as_float, transfer_model.classes, runtime,
                           bgr="BGR" in transfer_model.spec.value_range,
                           grad_cam=transfer_model.grad_cam)
    return shared(digest, build)


def model_choices(runs, classify=None, transfer=None):
    """{key: (label, loader)} of the models a session can look inside, in the picker's order:
    its MNIST runs (``runs``: [(number, job)] with a model; the last three), the shipped CNN,
    the Classify page's model (``classify``: (key, weights), default: the one it serves
    first) and the transfer page's model (``transfer``: a TransferModel, or None)."""
    from cnn_core.imagenet import model_spec, serving_model

    choices = {f"run{number}": (
        f"MNIST run #{number} ({job.spec.recipe_name}, {job.result.accuracy:.2%} test accuracy)",
        lambda number=number, job=job: digit_model(job.result.keras_file, f"MNIST run #{number}",
                                                   job.result.model()))
        for number, job in runs[-3:]}
    card = shipped_card()
    choices["shipped"] = (f"Small MNIST CNN shipped with CNN Lab ({card['test_accuracy']:.2%})",
                          shipped_digit_model)
    if classify is None:
        serving = serving_model("auto")
        classify = (serving.key, serving.weights)
    key, weights = classify
    choices["classify"] = (f"{model_spec(key).title} (the Classify page's model)",
                           lambda: imagenet_model(key, weights))
    if transfer is not None:
        choices["transfer"] = (f"Your classes: {', '.join(transfer.classes)} (the transfer "
                               "page's model)", lambda: transfer_inside_model(transfer))
    return choices
