"""The inference runtime: a Keras model built once, compiled once per process for OpenVINO (the
default) or TensorFlow (the reference), and called from many sessions at once.

OpenVINO: ``openvino.convert_model(keras_model)`` then ``Core().compile_model(..., "CPU",
config)``. The default, hint ``"batching"``, serves a lone request and a crowd alike: the
LATENCY performance hint (one stream using every core: a lone photo at the fastest single-image
speed) behind a dynamic batcher (``Batcher``): a request that finds the model idle runs at once,
alone — it never waits for company — and requests that arrive while a batch is running are
gathered into the next batch (at most ``max_batch`` rows; a larger request is split), which the
one stream computes at about the THROUGHPUT hint's images per second (docs/serving.md says why
and benchmarks/classify_bench.py measures it). The plain hints stay selectable as baselines:
``"throughput"`` (several CPU streams, one infer request each: concurrent callers run in
parallel on different streams, a lone caller's batch is split over the idle ones, but a lone
image gets one stream's share of the cores) and ``"latency"`` (one stream, callers take turns).
``INFERENCE_PRECISION_HINT`` is always
set: ``f32``, or ``bf16`` where the CPU has it — the CPU plugin's default on a BF16 CPU is bf16,
so leaving it unset would silently lower float32's precision.
TensorFlow: a ``tf.function`` traced once for any batch size; bfloat16 = a per-layer
``mixed_bfloat16`` clone (never a global Keras policy).

Interface for other modules:
    compile_model(keras_model, runtime="openvino"|"tensorflow", precision="float32"|"bfloat16",
                  hint="batching"|"throughput"|"latency") → CompiledModel
        ``compiled(x)``: float32 numpy (n, ...) → float32 numpy (n, ...) for any n; thread-safe;
        concurrent callers each get exactly their own rows (and their own exception).
        Works for any single-input Keras model (a classifier, or a backbone cut at its pooled
        features); a model with several outputs gives a list of arrays, in its order.
    bfloat16_support() → (bool, reason in words)
    server_runtime() → "openvino", or ``CNNLAB_RUNTIME`` (the load benchmark compares both)
    freeze_long_lived_objects(): gc.freeze() once shared models are built (see there)
    load_classifier(key, configured=None, runtime="openvino", precision="float32",
                    download=False, progress=None, hint="batching") → Classifier
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
import weakref
from pathlib import Path

import numpy as np

from cnn_core.errors import CNNLabError
from cnn_core.imagenet.batching import Batcher, max_batch_rows
from cnn_core.settings import choice
from cnn_core.imagenet.models import model_spec, resolve_weights, top_k_indices

runtimes = ("openvino", "tensorflow")
runtime_titles = {"openvino": "OpenVINO", "tensorflow": "TensorFlow"}
precisions = ("float32", "bfloat16")
hints = ("batching", "throughput", "latency")
default_hint = "batching"           # LATENCY hint + dynamic batching: see Batcher
# Batch sizes the batcher runs: OpenVINO prepares its kernels for each new input shape (bf16
# Inception v3: +60 ms the first time a batch size is seen), so batches keep to a few sizes,
# all prepared when the model is compiled; rows beyond one go in the next batch.
batch_sizes = (1, 2, 4, 8)
batch_workers = 2                   # batches in flight: one computing, the next submitted
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


def check_choice(runtime, precision, hint=default_hint):
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

    def __init__(self, model, precision="float32", hint=default_hint):
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

    def __init__(self, model, precision="float32", hint="throughput", requests=0):
        import openvino as ov

        self.precision, self.hint = precision, hint
        with _convert_lock:       # the traced function converts any Keras model, Sequential too
            function = keras_forward(model).get_concrete_function()
            converted = ov.convert_model(function)
        config = {"PERFORMANCE_HINT": "LATENCY" if hint == "batching" else hint.upper(),
                  "INFERENCE_PRECISION_HINT": openvino_precision[precision],
                  # A server shares its cores (Streamlit, Grad-CAM, other processes): a thread
                  # pinned to a busy core stalls the whole parallel section.
                  "ENABLE_CPU_PINNING": False}
        self.compiled = openvino_core().compile_model(converted, "CPU", config)
        # OpenVINO lists a converted function's outputs sorted by tensor name (Identity,
        # Identity_1, Identity_10, Identity_11, Identity_2, …), not in the model's order: map
        # each of the model's outputs, in order, to its index among the compiled ones.
        position = {output.get_any_name(): index
                    for index, output in enumerate(self.compiled.outputs)}
        self.output_order = [position[tensor.name] for tensor in function.outputs]
        self.streams = int(self.compiled.get_property("NUM_STREAMS"))
        count = requests or int(self.compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
        self.idle = queue.LifoQueue()      # the last used first: its buffers are still in cache
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
        return self.infer(inputs)

    def infer(self, inputs):
        """Run ``inputs`` now on the borrowed infer requests (no batching with other callers)."""
        inputs = np.ascontiguousarray(inputs, np.float32)
        count = len(self.compiled.outputs)
        if len(inputs) == 0:
            outputs = [np.zeros((0, *(dim.get_length() for dim in
                                      list(output.get_partial_shape())[1:])), np.float32)
                       for output in (self.compiled.outputs[i] for i in self.output_order)]
            return outputs if count > 1 else outputs[0]
        requests = self.borrow(min(len(inputs), self.streams))
        try:
            chunks = np.array_split(inputs, len(requests))     # contiguous rows, not copied:
            for request, chunk in zip(requests, chunks):        # this call waits for them
                request.start_async({0: chunk}, share_inputs=True)
            parts = [[] for _ in range(count)]
            for request in requests:
                request.wait()
                for index, part in zip(self.output_order, parts):
                    part.append(request.get_output_tensor(index).data.copy())
            outputs = [(part[0] if len(part) == 1 else np.concatenate(part)).astype(
                np.float32, copy=False) for part in parts]
            return outputs if count > 1 else outputs[0]
        finally:
            for request in requests:
                self.idle.put(request)


class BatchingOpenVINOModel(CompiledModel):
    """The default: the LATENCY-hint model (one stream using every core) behind a ``Batcher``,
    so that a lone request runs at once on every core and concurrent ones share batches."""

    runtime = "openvino"

    def __init__(self, model, precision="float32", hint="batching", max_batch=max_batch_rows,
                 in_flight=None):
        self.precision, self.hint = precision, hint
        in_flight = in_flight or batch_workers
        self.model = OpenVINOModel(model, precision, hint, in_flight)    # compiled with LATENCY
        self.compiled, self.streams = self.model.compiled, self.model.streams
        count = len(self.compiled.outputs)
        sizes = tuple(size for size in batch_sizes if size <= max_batch)
        dims = list(self.compiled.inputs[0].get_partial_shape())[1:]
        if all(dim.is_static for dim in dims):   # prepare each batch shape once, now
            for size in sizes:
                self.model.infer(np.zeros((size, *(dim.get_length() for dim in dims)),
                                          np.float32))
        self.batcher = Batcher(functools.partial(infer_as_list, self.model, count), max_batch,
                               workers=in_flight, sizes=sizes)
        # The batcher's thread holds the compiled model, not this wrapper: when the wrapper is
        # dropped (a test's model, an evicted one), the thread is told to end.
        weakref.finalize(self, self.batcher.stop)

    def __call__(self, inputs):
        inputs = np.ascontiguousarray(inputs, np.float32)
        if len(inputs) == 0:
            return self.model.infer(inputs)
        outputs = self.batcher(inputs)
        return outputs if len(outputs) > 1 else outputs[0]


def infer_as_list(model, count, inputs):
    outputs = model.infer(inputs)
    return list(outputs) if count > 1 else [outputs]


def compile_model(model, runtime="openvino", precision="float32", hint=default_hint):
    """Compile any single-input Keras model; see the module docstring."""
    check_choice(runtime, precision, hint)
    if runtime == "tensorflow":
        return TensorFlowModel(model, precision, hint)
    kind = BatchingOpenVINOModel if hint == "batching" else OpenVINOModel
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

    def __init__(self, spec, model, runtime="openvino", precision="float32", hint=default_hint,
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

    Python's full collections walk every tracked object: over the machine-learning heap ~0.3 s
    of server CPU apiece. Streamlit ran two after every script run (``runner.postScriptGC`` and
    ``keras.backend.clear_session()``; both off in CNN Lab's server since issue 21), and
    Python still runs its own now and then; frozen, they walk only what was made since. Call it
    once a shared model is built (``st.cache_resource``); objects frozen are never freed, so
    not per session."""
    import gc

    gc.freeze()


def load_classifier(key, configured=None, runtime="openvino", precision="float32",
                    download=False, progress=None, hint=default_hint):
    """Build ``key``'s model, load its resolved weights, compile it for ``runtime``."""
    check_choice(runtime, precision, hint)
    spec = model_spec(key)
    path = resolve_weights(spec, configured, download=download, progress=progress)
    return Classifier(spec, load_keras_model(spec, path), runtime, precision, hint, path)
