"""The inference runtime: a Keras model built once, compiled once per process for OpenVINO (the
default) or TensorFlow (the reference), and called from many sessions at once.

OpenVINO: ``openvino.convert_model(keras_model)`` then ``Core().compile_model(..., "CPU",
config)`` with ``PERFORMANCE_HINT`` THROUGHPUT (several CPU streams, one infer request each:
concurrent callers run in parallel on different streams, a lone caller's batch is split over
the idle ones) or LATENCY (one stream using every core). ``INFERENCE_PRECISION_HINT`` is always
set: ``f32``, or ``bf16`` where the CPU has it — the CPU plugin's default on a BF16 CPU is bf16,
so leaving it unset would silently lower float32's precision.
TensorFlow: a ``tf.function`` traced once for any batch size; bfloat16 = a per-layer
``mixed_bfloat16`` clone (never a global Keras policy).

Interface for other modules:
    compile_model(keras_model, runtime="openvino"|"tensorflow", precision="float32"|"bfloat16",
                  hint="throughput"|"latency") → CompiledModel
        ``compiled(x)``: float32 numpy (n, ...) → float32 numpy (n, ...) for any n; thread-safe.
        Works for any single-input Keras model (a classifier, or a backbone cut at its pooled
        features); a model with several outputs gives a list of arrays, in its order.
    bfloat16_support() → (bool, reason in words)
    server_runtime() → "openvino", or ``CNNLAB_RUNTIME`` (the load benchmark compares both)
    freeze_long_lived_objects(): gc.freeze() once shared models are built (see there)
    load_classifier(key, configured=None, runtime="openvino", precision="float32",
                    download=False, progress=None) → Classifier
        ``classifier.predict(uint8 (n, s, s, 3)) → float32 (n, 1000)``;
        ``.predict_with_cams(pixels, k) → (probabilities, [{class index: (h, w) map}])``: the
        Grad-CAM of each image's top-k classes from the same forward pass, where the network's
        head allows it (``.cam_head``; cnn_core.imagenet.gradcam), else empty dicts;
        ``.model`` is the float32 Keras model; ``.grad_cam(uint8 (s, s, 3), class_index)``
        (TensorFlow, with gradients); ``.spec`` its ModelSpec; ``.runtime``, ``.precision``,
        ``.weights`` (path) say what it is.
"""

import functools
import queue
import threading
import warnings
from pathlib import Path

import numpy as np

from cnn_core.errors import CNNLabError
from cnn_core.settings import choice
from cnn_core.imagenet.models import model_spec, resolve_weights, top_k_indices

runtimes = ("openvino", "tensorflow")
runtime_titles = {"openvino": "OpenVINO", "tensorflow": "TensorFlow"}
precisions = ("float32", "bfloat16")
hints = ("throughput", "latency")
openvino_precision = {"float32": "f32", "bfloat16": "bf16"}
_convert_lock = threading.Lock()      # one conversion at a time: they are CPU- and RAM-heavy


@functools.cache
def openvino_core():
    import openvino as ov

    return ov.Core()


@functools.cache
def bfloat16_support():
    """(supported, why) — from the OpenVINO CPU plugin's OPTIMIZATION_CAPABILITIES."""
    capabilities = openvino_core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    if "BF16" in capabilities:
        return True, "this CPU computes bfloat16 natively (AVX512-BF16 or AMX)"
    return False, ("this CPU has no native bfloat16 (AVX512-BF16 or AMX), so it would be "
                   f"emulated and slower; it offers {', '.join(capabilities)}")


def server_runtime():
    """The runtime a server process uses: ``CNNLAB_RUNTIME`` (openvino by default)."""
    return choice("CNNLAB_RUNTIME", "openvino", runtimes)


def check_choice(runtime, precision, hint="throughput"):
    if runtime not in runtimes:
        raise CNNLabError(f"Unknown runtime {runtime!r}; choose one of {', '.join(runtimes)}.")
    if precision not in precisions:
        raise CNNLabError(f"Unknown precision {precision!r}; choose one of "
                          f"{', '.join(precisions)}.")
    if hint not in hints:
        raise CNNLabError(f"Unknown performance hint {hint!r}; choose one of {', '.join(hints)}.")
    if precision == "bfloat16":
        supported, why = bfloat16_support()
        if not supported:
            raise CNNLabError(f"bfloat16 inference is not offered here: {why}.")


class CompiledModel:
    """A compiled forward pass: ``self(x)`` float32 (n, ...) → float32 (n, ...), thread-safe."""

    runtime = precision = hint = ""

    def __call__(self, inputs):
        raise NotImplementedError


def keras_forward(model):
    """``model``'s inference pass as a ``tf.function`` traced once for any batch size."""
    import tensorflow as tf

    signature = [tf.TensorSpec([None, *model.inputs[0].shape[1:]], tf.float32)]
    return tf.function(lambda x: model(x, training=False), input_signature=signature)


class TensorFlowModel(CompiledModel):
    runtime = "tensorflow"

    def __init__(self, model, precision="float32", hint="throughput"):
        self.precision, self.hint = precision, hint
        if precision == "bfloat16":
            model = with_dtype_policy(model, "mixed_bfloat16")
        self.model = model
        self.forward = keras_forward(model)

    def __call__(self, inputs):
        outputs = self.forward(np.asarray(inputs, np.float32))
        if isinstance(outputs, (list, tuple)):
            return [np.asarray(output).astype(np.float32) for output in outputs]
        return outputs.numpy().astype(np.float32)


class OpenVINOModel(CompiledModel):
    """OpenVINO CPU: one infer request per stream in a pool. A call borrows one request (waiting
    if every stream is busy) plus any idle ones, and splits its batch over them."""

    runtime = "openvino"

    def __init__(self, model, precision="float32", hint="throughput"):
        import openvino as ov

        self.precision, self.hint = precision, hint
        with _convert_lock:       # the traced function converts any Keras model, Sequential too
            converted = ov.convert_model(keras_forward(model).get_concrete_function())
        config = {"PERFORMANCE_HINT": hint.upper(),
                  "INFERENCE_PRECISION_HINT": openvino_precision[precision],
                  # A server shares its cores (Streamlit, Grad-CAM, other processes): a thread
                  # pinned to a busy core stalls the whole parallel section.
                  "ENABLE_CPU_PINNING": False}
        self.compiled = openvino_core().compile_model(converted, "CPU", config)
        self.streams = int(self.compiled.get_property("NUM_STREAMS"))
        count = int(self.compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
        self.idle = queue.SimpleQueue()
        for _ in range(max(1, count)):
            self.idle.put(self.compiled.create_infer_request())

    def borrow(self, wanted):
        requests = [self.idle.get()]                 # wait for one
        while len(requests) < wanted:
            try:
                requests.append(self.idle.get_nowait())
            except queue.Empty:
                break
        return requests

    def __call__(self, inputs):
        inputs = np.ascontiguousarray(inputs, np.float32)
        count = len(self.compiled.outputs)
        if len(inputs) == 0:
            outputs = [np.zeros((0, *(dim.get_length() for dim in
                                      list(output.get_partial_shape())[1:])), np.float32)
                       for output in self.compiled.outputs]
            return outputs if count > 1 else outputs[0]
        requests = self.borrow(min(len(inputs), self.streams))
        try:
            chunks = np.array_split(inputs, len(requests))
            for request, chunk in zip(requests, chunks):
                request.start_async({0: chunk}, share_inputs=False)
            parts = [[] for _ in range(count)]
            for request in requests:
                request.wait()
                for index, part in enumerate(parts):
                    part.append(request.get_output_tensor(index).data.copy())
            outputs = [np.concatenate(part).astype(np.float32, copy=False) for part in parts]
            return outputs if count > 1 else outputs[0]
        finally:
            for request in requests:
                self.idle.put(request)


def compile_model(model, runtime="openvino", precision="float32", hint="throughput"):
    """Compile any single-input Keras model; see the module docstring."""
    check_choice(runtime, precision, hint)
    kind = OpenVINOModel if runtime == "openvino" else TensorFlowModel
    return kind(model, precision, hint)


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
    """An ImageNet model with its weights and a compiled forward pass, shared by all sessions."""

    def __init__(self, spec, model, runtime="openvino", precision="float32", hint="throughput",
                 weights=""):
        import keras

        from cnn_core.imagenet.gradcam import linear_head

        self.spec, self.model = spec, model              # float32 Keras model (Grad-CAM)
        self.runtime, self.precision, self.weights = runtime, precision, str(weights)
        # Pooling + one Dense (or 1×1 conv) after the last feature maps: their Grad-CAM is a
        # product of the maps with its kernel, so the forward pass hands the maps out too.
        self.cam_head = linear_head(model, spec.gradcam_layer)
        network = model if self.cam_head is None else keras.Model(
            model.inputs, [model.outputs[0], model.get_layer(spec.gradcam_layer).output])
        self.forward = compile_model(network, runtime, precision, hint)

    def warm_up(self):
        """Run the compiled forward pass once, so the first user does not wait for it."""
        side = self.spec.input_size
        self.predict(np.zeros((1, side, side, 3), np.uint8))

    @functools.cached_property
    def explainer(self):
        from cnn_core.imagenet.gradcam import GradCam

        with _convert_lock:
            return GradCam(self.model, self.spec.gradcam_layer)

    def grad_cam(self, pixels, class_index):
        """Grad-CAM map (h, w) in [0, 1] of one uint8 image (s, s, 3), from the float32 model."""
        return self.explainer(self.spec.preprocess(np.asarray(pixels)[None]), class_index)

    def predict(self, pixels, batch_size=16):
        """uint8 RGB (n, s, s, 3) → float32 probabilities (n, 1000), ``batch_size`` per call."""
        return self.predict_with_cams(pixels, 0, batch_size)[0]

    def predict_with_cams(self, pixels, k=5, batch_size=16):
        """(probabilities (n, 1000), one {class index: (h, w) map in [0, 1]} per image): the
        Grad-CAM of each image's ``k`` most probable classes, from the same forward pass (in
        this runtime's precision). Without a LinearHead (cnn_core.imagenet.gradcam) the dicts are
        empty."""
        from cnn_core.imagenet.gradcam import class_activation_maps

        inputs = self.spec.preprocess(pixels)
        probabilities, maps = [], []
        for start in range(0, len(inputs), batch_size):
            outputs = self.forward(inputs[start:start + batch_size])
            rows, features = outputs if self.cam_head is not None else (outputs, None)
            probabilities.append(rows)
            if features is None or not k:
                maps.extend({} for _ in rows)
                continue
            classes = top_k_indices(rows, k)
            cams = class_activation_maps(features, self.cam_head, classes)
            maps.extend(dict(zip(map(int, c), m)) for c, m in zip(classes, cams))
        if not probabilities:
            return np.zeros((0, 1000), np.float32), []
        return np.concatenate(probabilities), maps


def load_keras_model(spec, path):
    """``spec``'s Keras model with the weights at ``path``; a wrong file → CNNLabError."""
    model = spec.build()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")     # "skipping layer …" would leave random weights
            model.load_weights(str(path))
    except Exception as error:
        reason = str(error).splitlines()[0][:200]
        raise CNNLabError(f"The weights file {Path(path).name} could not be loaded into "
                          f"{spec.title}: it holds other weights or is damaged.",
                          server_detail=f"{path}: {reason}") from None
    return model


def freeze_long_lived_objects():
    """Move every object alive now — TensorFlow, Keras, OpenVINO and the shared models just
    built — to Python's permanent generation (``gc.freeze``), out of every later collection.

    After each script run Streamlit runs a full ``gc.collect(2)`` (``runner.postScriptGC``) and,
    once Keras is imported, ``keras.backend.clear_session()``, which collects again. Each walked
    the whole machine-learning heap: ~0.3 s of server CPU apiece per rerun, most of what an
    upload cost. Frozen, they walk only what was made since. Call it once a shared model is
    built (``st.cache_resource``); objects frozen are never freed, so not per session."""
    import gc

    gc.freeze()


def load_classifier(key, configured=None, runtime="openvino", precision="float32",
                    download=False, progress=None, hint="throughput"):
    """Build ``key``'s model, load its resolved weights, compile it for ``runtime``."""
    check_choice(runtime, precision, hint)
    spec = model_spec(key)
    path = resolve_weights(spec, configured, download=download, progress=progress)
    return Classifier(spec, load_keras_model(spec, path), runtime, precision, hint, path)
