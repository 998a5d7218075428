"""cnn_core.imagenet.runtime: OpenVINO against TensorFlow (the reference) on the photos the repo
ships, batching, concurrent callers, bfloat16, the generic compile entry, and the shared result
cache. SqueezeNet has its real weights; Inception v3 random ones (converted once, for this module).
The classifier under test is ``load_classifier``'s default (the pages'): the LATENCY hint behind
the dynamic batcher; the batcher itself is tested in test_classify_batcher.py."""

import threading

import numpy as np
import pytest

from cnn_core.imagenet import classify
from cnn_core.imagenet import runtime as inference
from cnn_core.errors import CNNLabError
from cnn_core.imagenet.models import top_k
from cnn_core.imaging import list_image_files, prepare_image
from cnn_core.paths import DATA_DIR

PHOTOS = list_image_files(DATA_DIR / "samples")


def top5(row):
    return [entry["index"] for entry in top_k(row)]


@pytest.fixture(scope="module")
def reference():
    return inference.load_classifier("squeezenet", runtime="tensorflow")


@pytest.fixture(scope="module")
def openvino_f32():
    return inference.load_classifier("squeezenet")


@pytest.fixture(scope="module")
def photos():
    return np.stack([prepare_image(path, 227).pixels for path in PHOTOS])     # (3, 227, 227, 3)


def test_openvino_float32_matches_tensorflow_on_the_shipped_photos(reference, openvino_f32,
                                                                   photos):
    assert len(PHOTOS) >= 3
    assert openvino_f32.forward.hint == "batching"
    assert str(openvino_f32.forward.compiled.get_property("PERFORMANCE_HINT")) == "LATENCY"
    expected, actual = reference.predict(photos), openvino_f32.predict(photos)
    assert actual.dtype == np.float32 and actual.shape == (len(PHOTOS), 1000)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-5)
    assert [top5(row) for row in actual] == [top5(row) for row in expected]


def test_float32_really_computes_in_float32(openvino_f32):
    """The CPU plugin's default on a BF16 CPU is bf16: the hint must be set explicitly."""
    hint = openvino_f32.forward.compiled.get_property("INFERENCE_PRECISION_HINT")
    assert str(hint) == "<Type: 'float32'>"


@pytest.mark.skipif(not inference.bfloat16_support()[0], reason="this CPU has no native bf16")
def test_openvino_bfloat16_keeps_the_top1(reference, photos):
    fast = inference.load_classifier("squeezenet", precision="bfloat16")
    hint = fast.forward.compiled.get_property("INFERENCE_PRECISION_HINT")
    assert str(hint) == "<Type: 'bfloat16'>"
    expected, actual = reference.predict(photos), fast.predict(photos)
    assert list(actual.argmax(axis=1)) == list(expected.argmax(axis=1))
    assert not np.array_equal(actual, expected)          # it did compute in lower precision


@pytest.mark.parametrize("batch_size", [1, 2, 5, 16])
def test_any_batch_size_gives_the_rows_of_one_by_one(openvino_f32, photos, batch_size):
    pixels = np.resize(photos, (7, 227, 227, 3))           # the photos, repeated to 7
    one_by_one = np.concatenate([openvino_f32.predict(pixels[i:i + 1]) for i in range(7)])
    np.testing.assert_allclose(openvino_f32.predict(pixels, batch_size=batch_size), one_by_one,
                               rtol=0, atol=1e-6)


@pytest.mark.parametrize("hint", ["throughput", "latency"])
def test_the_baseline_hints_give_the_default_runtime_answers(openvino_f32, photos, hint):
    """The benchmark's baselines compute the same function as the pages' runtime."""
    from cnn_core.imagenet.models import models

    baseline = inference.Classifier(models["squeezenet"], openvino_f32.model, hint=hint)
    assert str(baseline.forward.compiled.get_property("PERFORMANCE_HINT")) == hint.upper()
    np.testing.assert_allclose(baseline.predict(photos), openvino_f32.predict(photos),
                               rtol=0, atol=1e-5)


def test_a_lone_photo_runs_at_once_as_a_batch_of_one(openvino_f32, photos):
    """The pages' runtime: a request alone is one batch of its own rows, with no company."""
    sizes = openvino_f32.forward.batcher.sizes
    before = dict(sizes)
    openvino_f32.predict(photos[:1])
    assert {k: v - before.get(k, 0) for k, v in sizes.items() if v != before.get(k, 0)} == {1: 1}


def test_sixteen_threads_at_once_each_get_their_own_rows(openvino_f32, photos):
    """16 distinct inputs (a photo, shifted in brightness), each classified one by one, then by
    16 threads released together: the batcher gathers them, and each gets its own row."""
    pixels = np.stack([np.clip(photos[i % 3].astype(int) + 7 * i, 0, 255).astype(np.uint8)
                       for i in range(16)])
    one_by_one = [openvino_f32.predict(pixels[i:i + 1]) for i in range(16)]
    assert len({row.tobytes() for row in one_by_one}) == 16            # 16 different answers
    before = sum(openvino_f32.forward.batcher.sizes.values())
    start, got, errors = threading.Barrier(16), [None] * 16, []

    def call(i):
        try:
            start.wait()
            got[i] = openvino_f32.predict(pixels[i:i + 1])
        except Exception as error:                          # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for i in range(16):
        np.testing.assert_allclose(got[i], one_by_one[i], rtol=0, atol=1e-6)
    # fewer forward passes than callers: requests that came while one ran shared a batch, in
    # the batch sizes whose kernels were prepared at compile time
    assert sum(openvino_f32.forward.batcher.sizes.values()) - before < 16
    assert set(openvino_f32.forward.batcher.sizes) <= set(inference.batch_sizes)


def test_concurrent_callers_each_get_their_own_rows(openvino_f32, photos):
    expected = [openvino_f32.predict(photos[i:i + 1]) for i in range(3)]
    got, errors = {}, []

    def call(i, repeat):
        try:
            for _ in range(3):
                got[(i, repeat)] = openvino_f32.predict(photos[i:i + 1])
        except Exception as error:                          # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=call, args=(i % 3, i)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for (i, _), row in got.items():
        np.testing.assert_allclose(row, expected[i], rtol=0, atol=1e-6)


@pytest.fixture(scope="module")
def inception_random():
    """Inception v3 with random weights (the real ones cannot be downloaded here)."""
    import keras

    from cnn_core.imagenet.models import models

    keras.utils.set_random_seed(3)
    return models["inception_v3"].build()


def test_inception_v3_openvino_matches_tensorflow(inception_random, photos):
    """The same graph, converted."""
    from cnn_core.imagenet.models import preprocess_for_inception

    model = inception_random
    pixels = np.stack([prepare_image(path, 299).pixels for path in PHOTOS])
    inputs = preprocess_for_inception(pixels)
    compiled = inference.compile_model(model, "openvino", "float32")
    expected = model(inputs, training=False).numpy()
    actual = compiled(inputs)
    np.testing.assert_allclose(actual, expected, rtol=0, atol=1e-5)
    assert [top5(row) for row in actual] == [top5(row) for row in expected]


def test_a_two_output_model_gives_both_outputs_for_each_caller():
    """A multi-output model (as the "Inside a CNN" page compiles): a list of float32 arrays in
    the model's order, equal to Keras', whole and row by row from concurrent callers."""
    import keras

    keras.utils.set_random_seed(5)
    inputs = keras.Input((16, 16, 3))
    maps = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    pooled = keras.layers.Dense(3)(keras.layers.GlobalAveragePooling2D()(maps))
    model = keras.Model(inputs, [maps, pooled])
    x = np.random.default_rng(1).normal(size=(6, 16, 16, 3)).astype(np.float32)
    expected = [output.numpy() for output in model(x)]
    compiled = inference.compile_model(model)
    whole = compiled(x)
    assert isinstance(whole, list) and [o.shape for o in whole] == [(6, 14, 14, 4), (6, 3)]
    assert all(output.dtype == np.float32 for output in whole)
    for got, want in zip(whole, expected):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
    rows = [None] * 6
    threads = [threading.Thread(target=lambda i=i: rows.__setitem__(i, compiled(x[i:i + 1])))
               for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index, want in enumerate(expected):
        np.testing.assert_allclose(np.concatenate([row[index] for row in rows]), want,
                                   rtol=0, atol=1e-5)


@pytest.mark.parametrize("hint", ["batching", "throughput"])
def test_twelve_outputs_come_back_in_the_models_order(hint):
    """OpenVINO lists a converted model's outputs sorted by tensor name (Identity_10 before
    Identity_2); the runtime hands them back in the model's order. Output k is k × the sum of
    the inputs, so a swap shows."""
    import keras

    inputs = keras.Input((4,))
    outputs = [keras.layers.Dense(1, kernel_initializer=keras.initializers.Constant(float(k)),
                                  bias_initializer="zeros")(inputs) for k in range(12)]
    model = keras.Model(inputs, outputs)
    x = np.ones((3, 4), np.float32)
    got = inference.compile_model(model, "openvino", "float32", hint)(x)
    assert [float(output[0, 0]) for output in got] == [4.0 * k for k in range(12)]


EXIT_SCRIPT = """
import numpy as np, keras
from cnn_core.imagenet.runtime import compile_model
model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3),
                          keras.layers.GlobalAveragePooling2D()])
kept, dropped = compile_model(model), compile_model(model)
print(kept(np.ones((1, 8, 8, 3), np.float32)).shape, dropped(np.ones((2, 8, 8, 3), np.float32)).shape)
del dropped   # its threads end while the interpreter exits
"""


def test_a_process_with_batching_models_exits_cleanly():
    """A serving thread freeing a compiled model while OpenVINO is torn down aborted the process
    ("terminate called without an active exception", exit -6) — e.g. the classify CLI, 2 runs
    in 3. The runtime ends its threads first."""
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT

    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", EXIT_SCRIPT], cwd=REPO_ROOT, timeout=120,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.split() == ["(1,", "4)", "(2,", "4)"]


def test_a_dropped_model_ends_its_batching_thread():
    """Per-process memory stays bounded: a compiled model no one holds takes its thread along."""
    import gc

    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    compiled = inference.compile_model(model)
    threads = compiled.batcher.threads
    assert compiled(np.ones((1, 4), np.float32)).shape == (1, 2)
    assert all(thread.is_alive() for thread in threads)
    del compiled
    gc.collect()
    for thread in threads:
        thread.join(timeout=5)
        assert not thread.is_alive()


@pytest.mark.parametrize("runtime", inference.runtimes)
def test_inception_v3_grad_cam_from_the_forward_pass_equals_tensorflow_grad_cam(
        inception_random, runtime):
    """Pooling + Dense head: the maps come out of the forward pass (one extra output), equal to
    Grad-CAM computed with TensorFlow's gradients, for every one of the top-5 classes."""
    from cnn_core.imagenet.models import models

    classifier = inference.Classifier(models["inception_v3"], inception_random, runtime)
    np.testing.assert_array_equal(classifier.cam_head.kernel,
                                  inception_random.get_layer("predictions").kernel)
    pixels = np.stack([prepare_image(path, 299).pixels for path in PHOTOS])
    probabilities, cams = classifier.predict_with_cams(pixels, 5, batch_size=2)
    np.testing.assert_allclose(probabilities, classifier.predict(pixels), rtol=0, atol=1e-6)
    for image, row, maps in zip(pixels, probabilities, cams):
        assert list(maps) == top5(row)
        for class_index, cam in maps.items():
            assert cam.shape == (8, 8) and cam.max() == pytest.approx(1.0)
            np.testing.assert_allclose(cam, classifier.grad_cam(image, class_index),
                                       rtol=0, atol=1e-3)


def test_squeezenet_grad_cam_from_the_forward_pass_equals_tensorflow_grad_cam(openvino_f32,
                                                                             photos):
    """Real weights, real photos: conv10 (1×1, ReLU) + pooling, the same maps as TensorFlow's
    Grad-CAM at fire9 for each top-5 class."""
    assert openvino_f32.cam_head is not None and openvino_f32.cam_head.relu
    probabilities, cams = openvino_f32.predict_with_cams(photos, 5)
    np.testing.assert_allclose(probabilities, openvino_f32.predict(photos), rtol=0, atol=1e-6)
    for image, row, maps in zip(photos, probabilities, cams):
        assert list(maps) == top5(row)
        for class_index, cam in maps.items():
            assert cam.shape == (13, 13)
            np.testing.assert_allclose(cam, openvino_f32.grad_cam(image, class_index),
                                       rtol=0, atol=1e-3)


def test_generic_compile_of_a_sequential_backbone_to_features():
    """Any single-input Keras model, e.g. a feature extractor for transfer learning."""
    import keras

    keras.utils.set_random_seed(4)
    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(8, 3),
                              keras.layers.GlobalAveragePooling2D()])
    inputs = np.random.default_rng(0).normal(size=(5, 32, 32, 3)).astype(np.float32)
    for runtime in inference.runtimes:
        features = inference.compile_model(model, runtime, "float32")(inputs)
        assert features.shape == (5, 8) and features.dtype == np.float32
        np.testing.assert_allclose(features, model(inputs).numpy(), rtol=0, atol=1e-5)
    empty = inference.compile_model(model)(inputs[:0])
    assert empty.shape == (0, 8) and empty.dtype == np.float32


def test_unknown_or_unsupported_choices_are_refused(monkeypatch):
    with pytest.raises(CNNLabError, match="Unknown runtime 'onnx'"):
        inference.load_classifier("squeezenet", runtime="onnx")
    with pytest.raises(CNNLabError, match="Unknown performance hint 'cumulative'"):
        inference.load_classifier("squeezenet", hint="cumulative")
    with pytest.raises(CNNLabError, match="Unknown precision 'float16'"):
        inference.load_classifier("squeezenet", precision="float16")
    monkeypatch.setattr(inference, "bfloat16_support", lambda: (False, "no AVX512-BF16 here"))
    with pytest.raises(CNNLabError, match="bfloat16 inference is not offered here: no AVX512"):
        inference.load_classifier("squeezenet", precision="bfloat16")


def test_a_photo_already_classified_is_not_classified_again(openvino_f32, monkeypatch):
    cache = classify.ResultCache(max_entries=2)
    calls = []
    predict = openvino_f32.predict_with_cams
    monkeypatch.setattr(openvino_f32, "predict_with_cams",
                        lambda pixels, *a, **kw: (calls.append(len(pixels)),
                                                  predict(pixels, *a, **kw))[1])
    first, _ = classify.classify_sources(openvino_f32, PHOTOS[:2], cache=cache)
    again, seconds = classify.classify_sources(openvino_f32, list(reversed(PHOTOS[:2])),
                                               cache=cache)
    assert calls == [2] and seconds == 0 and all(result.cached for result in again)
    assert [r.top for r in again] == [r.top for r in reversed(first)]
    classify.classify_sources(openvino_f32, PHOTOS[2:3], cache=cache)   # a third: bounded
    assert len(cache) == 2 and calls == [2, 1]
    classify.classify_sources(openvino_f32, PHOTOS[1:2], cache=cache)  # least recently used:
    assert calls == [2, 1, 1]                                          # evicted, so again
