"""cnn_core.classify against Keras itself: preprocessing, Inception v3's size, the weight
resolution order (configured path → Keras cache → download), class names, top-k and the CLI.
No network: Inception v3 gets random weights saved to a temporary file; downloads are faked."""

import dataclasses
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cnn_core.imagenet import models as imagenet_models
from cnn_core.imagenet.__main__ import main
from cnn_core.errors import CNNLabError
from cnn_core.imagenet.models import (class_names, models, preprocess_caffe,
                                      preprocess_for_inception, resolve_weights, top_k)
from cnn_core.imagenet.runtime import load_classifier

INCEPTION = models["inception_v3"]


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """An empty Keras cache, no configured weights, and a network that refuses (recorded)."""
    import urllib.error
    import urllib.request

    calls = []

    def refused(url, *args, **kwargs):
        calls.append(url)
        raise urllib.error.URLError("no network in this test")

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.delenv("CNNLAB_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setattr(urllib.request, "urlopen", refused)
    return calls


@pytest.fixture(scope="module")
def random_inception(tmp_path_factory):
    """A randomly initialised InceptionV3 and its weights saved to a temporary file."""
    import keras

    keras.utils.set_random_seed(5)
    model = imagenet_models.build_inception_v3()
    path = tmp_path_factory.mktemp("weights") / "my_inception.weights.h5"
    model.save_weights(path)
    return model, path


# --- preprocessing equals Keras' own ----------------------------------------------------------

def test_inception_preprocessing_equals_keras_and_spans_exactly_minus_one_to_one():
    from keras.applications import inception_v3

    pixels = np.random.default_rng(0).integers(0, 256, (2, 299, 299, 3), dtype=np.uint8)
    pixels[0, 0, 0] = [0, 255, 128]
    ours = preprocess_for_inception(pixels)
    theirs = inception_v3.preprocess_input(pixels.astype(np.float32))
    assert ours.dtype == np.float32 and np.array_equal(ours, theirs)
    assert ours.min() == -1.0 and ours.max() == 1.0


def test_caffe_preprocessing_equals_keras():
    from keras.applications import imagenet_utils

    pixels = np.random.default_rng(1).integers(0, 256, (2, 227, 227, 3), dtype=np.uint8)
    theirs = imagenet_utils.preprocess_input(pixels.astype(np.float32), mode="caffe")
    np.testing.assert_allclose(preprocess_caffe(pixels), theirs, rtol=0, atol=1e-5)


def test_inception_v3_has_the_published_parameter_count(random_inception):
    """23,851,784 parameters (Keras Applications table, and the issue)."""
    model, _ = random_inception
    assert model.count_params() == 23_851_784
    assert model.get_layer(INCEPTION.gradcam_layer).output.shape == (None, 8, 8, 2048)


# --- the weight resolution order ----------------------------------------------------------------

def test_configured_weights_load_through_the_same_path(offline, random_inception, monkeypatch):
    model, path = random_inception
    monkeypatch.setenv("CNNLAB_INCEPTION_WEIGHTS", str(path))
    classifier = load_classifier("inception_v3", runtime="tensorflow")
    pixels = np.random.default_rng(2).integers(0, 256, (2, 299, 299, 3), dtype=np.uint8)
    expected = model(preprocess_for_inception(pixels), training=False).numpy()
    np.testing.assert_allclose(classifier.predict(pixels), expected, atol=1e-5)
    assert offline == []                          # found locally: no download attempted


def test_configured_path_wins_over_the_keras_cache(offline, random_inception, tmp_path):
    _, path = random_inception
    cache = tmp_path / "cache" / "models"
    cache.mkdir(parents=True)
    (cache / INCEPTION.weights_file).write_bytes(b"stale")
    assert resolve_weights(INCEPTION, configured=str(path), cache_dir=cache) == path


def test_cached_file_is_used_when_its_hash_matches(offline, tmp_path):
    cache = tmp_path / "models"
    cache.mkdir()
    cached = cache / INCEPTION.weights_file
    cached.write_bytes(b"pretend these are 92 MB of weights")
    spec = dataclasses.replace(INCEPTION, weights_hash=hashlib.md5(cached.read_bytes()).hexdigest())
    assert resolve_weights(spec, cache_dir=cache) == cached
    assert offline == []


def test_cached_file_with_a_mismatching_hash_is_refused_clearly(offline, tmp_path):
    cache = tmp_path / "models"
    cache.mkdir()
    (cache / INCEPTION.weights_file).write_bytes(b"not the published weights")
    with pytest.raises(CNNLabError) as error:
        resolve_weights(INCEPTION, cache_dir=cache)
    message, detail = str(error.value), error.value.server_detail
    assert "does not match Keras' published md5 hash" in message and "delete it" in message
    assert str(tmp_path) not in message                      # the page shows no server path
    assert INCEPTION.weights_hash in detail and str(cache) in detail     # the operator's log


def test_missing_weights_are_not_downloaded_unless_asked(offline):
    with pytest.raises(CNNLabError, match="Inception v3 weights are not on this server"):
        resolve_weights(INCEPTION)
    assert offline == []                                        # looked locally only
    with pytest.raises(CNNLabError, match=r"Downloading Inception v3 weights .* failed"):
        resolve_weights(INCEPTION, download=True)
    assert offline == [INCEPTION.weights_url]


def test_configured_path_that_does_not_exist(offline, tmp_path):
    with pytest.raises(CNNLabError, match="weights file set by the operator is not on this "
                                          "server") as error:
        resolve_weights(INCEPTION, configured=str(tmp_path / "nope.h5"))
    assert str(tmp_path) not in str(error.value)
    assert error.value.server_detail == f"CNNLAB_INCEPTION_WEIGHTS points to {tmp_path}/nope.h5, " \
                                        "not a file"


def test_weights_of_another_model_give_a_clear_error(offline, monkeypatch):
    squeezenet_weights = resolve_weights(models["squeezenet"])
    monkeypatch.setenv("CNNLAB_INCEPTION_WEIGHTS", str(squeezenet_weights))
    with pytest.raises(CNNLabError, match="could not be loaded into Inception v3"):
        load_classifier("inception_v3")


# --- class names and top-k ---------------------------------------------------------------------

def test_class_names_are_in_keras_index_order():
    names = class_names()
    assert len(names) == 1000
    assert (names[0], names[1], names[281], names[282], names[285], names[999]) == (
        "tench", "goldfish", "tabby", "tiger cat", "Egyptian cat", "toilet tissue")
    with open("data/imagenet_classes.json") as file:
        wnids = [entry["wnid"] for entry in json.load(file)["classes"]]
    assert wnids == sorted(wnids) and wnids[0] == "n01440764"   # Keras/Caffe: sorted WordNet IDs


def test_top_k_is_sorted_and_labelled():
    probabilities = np.full(1000, 0.0005, np.float32)
    probabilities[[285, 281, 7]] = [0.3, 0.5, 0.1]
    top = top_k(probabilities, 3)
    assert [entry["index"] for entry in top] == [281, 285, 7]
    assert top[0] == {"label": "tabby", "index": 281, "probability": pytest.approx(0.5)}


# --- command line -------------------------------------------------------------------------------

@pytest.fixture
def photo_folder(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "cat.png").write_bytes(open("data/samples/cat_chelsea.png", "rb").read())
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    return folder


def test_cli_json_one_object_per_input_exit_1_on_failure(offline, photo_folder, capsys):
    assert main([str(photo_folder), "--json", "--top", "3"]) == 1
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    assert [sorted(line) for line in lines] == [["error", "path"], ["model", "path", "top"]]
    assert lines[0]["path"].endswith("broken.jpg") and "broken.jpg" in lines[0]["error"]
    assert lines[1]["model"] == "squeezenet" and len(lines[1]["top"]) == 3
    assert sorted(lines[1]["top"][0]) == ["index", "label", "probability"]
    assert "using SqueezeNet" in captured.err       # auto fell back, and said so


def test_cli_exit_0_when_all_classified(offline, capsys):
    assert main(["data/samples/cat_chelsea.png", "--model", "squeezenet"]) == 0
    assert capsys.readouterr().out.startswith("data/samples/cat_chelsea.png [squeezenet]: ")


@pytest.mark.parametrize("argv", [[], ["x.jpg", "--model", "vgg99"], ["x.jpg", "--top", "0"],
                                  ["x.jpg", "--top", "many"]])
def test_cli_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2


def test_cli_inception_without_weights_fails_clearly(offline, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["data/samples/cat_chelsea.png", "--model", "inception_v3"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and "Inception v3 weights are not on this server" in error


def test_cli_as_a_module_prints_only_json_on_stdout(tmp_path):
    env = {"KERAS_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "cnn_core.classify", "data/samples/raccoon.jpg",
                           "--json"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["path"] == "data/samples/raccoon.jpg" and len(result["top"]) == 5
    # TensorFlow's start-up log lines do not reach the user; the fallback note does, once.
    assert "oneDNN" not in done.stderr and "absl" not in done.stderr, done.stderr
    assert done.stderr.count("note: using SqueezeNet v1.1") == 1


def test_photos_are_decoded_once_and_shown_as_small_jpegs():
    """The page shows the pipeline's pictures from JPEGs at most 640 px, made once per photo
    digest and input size (a rerun or another session decodes nothing again); an RGBA original
    is put on white; the model input is the pipeline's own."""
    import io

    from PIL import Image

    from cnn_core.imagenet.classify import PreparedPhoto, ResultCache, prepare, stage_pictures
    from cnn_core.imaging import prepare_image

    picture = Image.new("RGBA", (1000, 500), (255, 0, 0, 0))     # fully transparent red
    picture.paste((0, 0, 255, 255), (0, 0, 500, 500))             # opaque blue left half
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    data = buffer.getvalue()
    reference = prepare_image(data, 299, name="wide.png")
    cache = ResultCache(max_entries=2)
    result = prepare(data, "wide.png", 299, photos=cache)
    assert isinstance(result.image, PreparedPhoto) and cache.misses == 1
    first = stage_pictures(result)
    assert [caption for _, caption in first] == [c for _, c in reference.stages()]
    assert np.array_equal(result.image.pixels, reference.pixels)
    assert list(result.image.notes) == reference.notes == ["transparency composited on white"]
    sizes = []
    for jpeg, _ in first:
        decoded = Image.open(io.BytesIO(jpeg))
        assert decoded.format == "JPEG" and decoded.mode == "RGB"
        sizes.append(decoded.size)
    assert sizes == [(640, 320), (640, 320), (500, 500), (299, 299)]
    original = np.asarray(Image.open(io.BytesIO(first[0][0])))
    assert original[160, 480].tolist() == pytest.approx([255, 255, 255], abs=8)   # on white
    assert original[160, 100].tolist() == pytest.approx([0, 0, 255], abs=8)
    again = prepare(data, "renamed.png", 299, photos=cache)             # same bytes: no decoding
    assert again.image is result.image and cache.hits == 1 and again.name == "renamed.png"
    assert prepare(data, "wide.png", 227, photos=cache).image.pixels.shape == (227, 227, 3)
    assert cache.misses == 2                                            # another input size
    # Without a photo cache (the CLI) the full pipeline result is kept and no JPEG is made.
    assert not isinstance(prepare(data, "wide.png", 299, photos=None).image, PreparedPhoto)


def test_heatmap_picture_is_made_once_per_photo_model_and_class():
    """The Grad-CAM overlay is the forward pass's map blended on the model input, as JPEG;
    TensorFlow's Grad-CAM is asked for only where the forward pass gave no map, and a rerun
    (same photo, classifier and class) takes the picture from the cache."""
    import io
    from types import SimpleNamespace

    from PIL import Image

    from cnn_core.imagenet.classify import ResultCache, heatmap_picture, prepare
    from cnn_core.imagenet.gradcam import heatmap_overlay
    from cnn_core.imaging import jpeg_bytes

    result = prepare(Path("data/samples/raccoon.jpg"), None, 64, photos=None)
    classifier = SimpleNamespace(spec=SimpleNamespace(key="squeezenet"), weights="w",
                                 runtime="openvino", precision="float32")
    cam = np.zeros((4, 4), np.float32)
    cam[0, 0] = 1.0                                   # hot in the top-left corner only
    result.cams = {7: cam}
    asked, cache = [], ResultCache()

    def grad_cam():
        asked.append(1)
        return np.ones((4, 4), np.float32)

    picture = heatmap_picture(classifier, result, 7, grad_cam, cache=cache)
    assert heatmap_picture(classifier, result, 7, grad_cam, cache=cache) is picture
    assert asked == []                                # the forward pass's map was used
    assert picture == jpeg_bytes(heatmap_overlay(result.image.resized, cam), 90)
    assert Image.open(io.BytesIO(picture)).size == (64, 64)
    other = heatmap_picture(classifier, result, 3, grad_cam, cache=cache)  # no map: TF's
    assert asked == [1] and len(cache) == 2
    assert other == jpeg_bytes(heatmap_overlay(result.image.resized, np.ones((4, 4))), 90)
    heatmap_picture(classifier, result, 3, grad_cam, cache=cache)
    assert asked == [1]


def test_linear_head_only_where_grad_cam_is_a_product():
    import keras

    from cnn_core.imagenet.gradcam import linear_head

    def model(*head):
        inputs = keras.Input((6, 6, 3))
        x = keras.layers.Conv2D(4, 3, name="features")(inputs)
        for layer in head:
            x = layer(x)
        return keras.Model(inputs, x)

    L = keras.layers
    good = model(L.GlobalAveragePooling2D(), L.Dropout(0.5), L.Dense(3, activation="softmax"))
    head = linear_head(good, "features")
    np.testing.assert_array_equal(head.kernel, good.layers[-1].kernel)
    assert not head.relu
    squeeze = model(L.Dropout(0.5), L.Conv2D(3, 1, activation="relu"), L.GlobalAveragePooling2D(),
                    L.Activation("softmax"))
    head = linear_head(squeeze, "features")
    np.testing.assert_array_equal(head.kernel, squeeze.layers[-3].kernel[0, 0])
    assert head.relu and head.kernel.shape == (4, 3)
    for head in ([L.GlobalAveragePooling2D(), L.Dense(5, activation="relu"),
                  L.Dense(3, activation="softmax")],                      # a hidden layer
                 [L.GlobalMaxPooling2D(), L.Dense(3, activation="softmax")],   # max, not mean
                 [L.Flatten(), L.Dense(3, activation="softmax")],          # no pooling
                 [L.GlobalAveragePooling2D(), L.Dense(3)],                 # no softmax
                 [L.Conv2D(3, 3, padding="same"), L.GlobalAveragePooling2D(),
                  L.Activation("softmax")],                                # 3×3, not 1×1
                 [L.Conv2D(3, 1, activation="sigmoid"), L.GlobalAveragePooling2D(),
                  L.Activation("softmax")]):                               # not linear/ReLU
        assert linear_head(model(*head), "features") is None


def test_class_activation_maps_by_hand():
    from cnn_core.imagenet.gradcam import LinearHead, class_activation_maps

    features = np.zeros((1, 2, 2, 2), np.float32)
    features[0, 0, 0] = [1.0, 0.0]      # channel 0 at the top left
    features[0, 1, 1] = [0.0, 2.0]      # channel 1 at the bottom right
    kernel = np.array([[1.0, -1.0], [0.5, 0.5]], np.float32)    # (channels 2, classes 2)
    head = LinearHead(kernel, np.zeros(2, np.float32), relu=False)
    maps = class_activation_maps(features, head, [[0, 1]])
    # class 0: 1·1 top left, 0.5·2 bottom right → both 1 after scaling
    np.testing.assert_allclose(maps[0, 0], [[1.0, 0.0], [0.0, 1.0]])
    # class 1: −1 top left (ReLU → 0), 0.5·2 = 1 bottom right
    np.testing.assert_allclose(maps[0, 1], [[0.0, 0.0], [0.0, 1.0]])
    assert not class_activation_maps(-features, head, [[0]]).any()   # all-negative stays 0
    # behind a ReLU, a class whose pre-activation is positive nowhere has no gradient at all
    relu = LinearHead(kernel, np.array([-5.0, 0.0], np.float32), relu=True)
    maps = class_activation_maps(features, relu, [[0, 1]])
    assert not maps[0, 0].any()                       # 1 − 5 < 0 everywhere: all zero
    np.testing.assert_allclose(maps[0, 1], [[0.0, 0.0], [0.0, 1.0]])
