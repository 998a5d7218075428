"""Transfer learning on the real backbones: embeddings equal the backbone's pooled features as
Keras computes them; a head learns classes made from the sample photos; the exported .keras
file gives the page's probabilities in a fresh process (plain Keras, safe mode); importing it
restores the classes; Grad-CAM; the command line on a folder."""

import json
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from cnn_core.errors import CNNLabError
from cnn_core.imagenet.models import models, preprocess_caffe, resolve_weights
from cnn_core.imaging import prepare_image
from cnn_core.transfer.__main__ import main
from cnn_core.transfer.pipeline import parameter_counts, restore_classes, teach
from cnn_core.transfer.data import TeachingSet, load_class_folders
from cnn_core.transfer.embed import Backbone
from cnn_core.transfer.head import HeadSettings
from cnn_core.transfer.model import load_transfer_model
from tests.conftest import REPO_ROOT
from tests.transfer.test_transfer_support import variants, write_class_folders

CLASSES = ("cat", "coffee", "raccoon")


@pytest.fixture(scope="module")
def squeezenet():
    """SqueezeNet with its real weights, through the default (OpenVINO) runtime."""
    return Backbone("squeezenet", resolve_weights(models["squeezenet"]))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """10 images per class (crops, flips, colour changes), each class from its own photo."""
    return write_class_folders(tmp_path_factory.mktemp("photos"), 10, CLASSES)


@pytest.fixture(scope="module")
def taught(squeezenet, dataset):
    teaching, skipped = load_class_folders(dataset, "squeezenet", 227, squeezenet.embed)
    assert skipped == [] and teaching.counts() == {name: 10 for name in CLASSES}
    fit, model = teach(teaching, squeezenet, HeadSettings(augment_copies=2))
    return teaching, fit, model


def held_out_pixels(count=4):
    """New variants (other seeds) of each photo, never trained on: (pixels, labels)."""
    pixels, labels = [], []
    for label, name in enumerate(CLASSES):
        for data in variants(name, count, seed=1000 + label):
            pixels.append(prepare_image(data, 227).pixels)
            labels.append(label)
    return np.stack(pixels), np.array(labels)


def test_squeezenet_embedding_is_gap_of_fire9_as_keras_computes_it(squeezenet):
    import keras

    spec = models["squeezenet"]
    model = spec.build()
    model.load_weights(str(resolve_weights(spec)))
    maps = keras.Model(model.input, model.get_layer("fire9_concat").output)
    pixels, _ = held_out_pixels(1)
    reference = np.asarray(maps(preprocess_caffe(pixels))).mean(axis=(1, 2))    # (3, 512)
    embeddings = squeezenet.embed(pixels)
    assert embeddings.shape == (3, 512) and squeezenet.features == 512
    np.testing.assert_allclose(embeddings, reference, rtol=1e-4, atol=1e-4)
    cached = squeezenet.embed(pixels, ["a", "b", "c"])
    assert len(squeezenet.cache) >= 3
    np.testing.assert_array_equal(squeezenet.embed(np.zeros_like(pixels), ["a", "b", "c"]),
                                  cached)                     # served from the cache by key


def test_inception_embedding_is_its_avg_pool_layer(tmp_path):
    """Inception v3 with random weights (the real ones cannot be downloaded here), against
    Keras' own avg_pool layer and keras.applications' preprocess_input."""
    import keras

    reference_model = keras.applications.InceptionV3(weights=None)
    weights = tmp_path / "inception.weights.h5"
    reference_model.save_weights(str(weights))
    backbone = Backbone("inception_v3", weights, runtime="tensorflow")
    pixels = np.random.default_rng(0).integers(0, 256, (2, 299, 299, 3)).astype(np.uint8)
    pooled = keras.Model(reference_model.input, reference_model.get_layer("avg_pool").output)
    reference = np.asarray(pooled(keras.applications.inception_v3.preprocess_input(
        pixels.astype(np.float32))))
    assert backbone.features == 2048
    np.testing.assert_allclose(backbone.embed(pixels), reference, rtol=1e-4, atol=1e-5)


def test_head_learns_the_sample_photo_classes(taught, squeezenet):
    teaching, fit, model = taught
    assert fit.plan.kind == "holdout" and fit.val_images == 6 and fit.train_images == 24
    assert fit.val_accuracy >= 0.8                            # chance: 1/3
    pixels, labels = held_out_pixels()
    accuracy = (model.predict(pixels).argmax(1) == labels).mean()
    assert accuracy >= 0.8, accuracy
    counts = parameter_counts(squeezenet, fit.classes, HeadSettings())
    assert counts["whole"] == model.model.count_params()
    assert counts["head"] == fit.head.count_params() == 512 * 3 + 3


def test_export_round_trips_in_a_fresh_process(taught, tmp_path):
    teaching, fit, model = taught
    pixels, _ = held_out_pixels(2)
    page = model.predict(pixels)                              # what the page shows
    path = model.save(tmp_path / "mine.keras")
    np.save(tmp_path / "pixels.npy", pixels)
    script = ("import json, sys, zipfile, numpy as np, keras\n"
              "model = keras.models.load_model(sys.argv[1], safe_mode=True)\n"
              "classes = json.loads(zipfile.ZipFile(sys.argv[1]).read('cnnlab_transfer.json'))"
              "['classes']\n"
              "p = model.predict(np.load(sys.argv[2]).astype('float32'), verbose=0)\n"
              "print(json.dumps({'classes': classes, 'p': p.tolist()}))\n")
    done = subprocess.run([sys.executable, "-c", script, str(path), str(tmp_path / "pixels.npy")],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    fresh = json.loads(done.stdout.strip().splitlines()[-1])
    assert fresh["classes"] == list(CLASSES)
    np.testing.assert_allclose(np.array(fresh["p"]), page, atol=1e-5, rtol=0)

    imported = load_transfer_model(path.read_bytes(), "mine.keras")
    assert imported.classes == list(CLASSES)
    np.testing.assert_allclose(imported.predict(pixels), page, atol=1e-6, rtol=0)
    restored = restore_classes(TeachingSet("squeezenet", 227), imported)
    assert restored.counts() == {name: 0 for name in CLASSES}     # ready for new photos
    kept = restore_classes(teaching, imported)
    assert kept.counts() == teaching.counts()


def test_a_foreign_keras_model_is_refused(tmp_path):
    import keras

    foreign = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    foreign.save(tmp_path / "foreign.keras")
    with pytest.raises(CNNLabError, match="not one exported by CNN Lab"):
        load_transfer_model(tmp_path / "foreign.keras")
    with zipfile.ZipFile(tmp_path / "foreign.keras", "a") as archive:    # forged metadata
        archive.writestr("cnnlab_transfer.json", json.dumps(
            {"format": "cnnlab-transfer/1", "classes": ["a", "b"], "backbone": "squeezenet"}))
    with pytest.raises(CNNLabError, match="not .*227, 227, 3"):
        load_transfer_model(tmp_path / "foreign.keras")


def test_grad_cam_for_a_chosen_class(taught):
    _, fit, model = taught
    pixels, _ = held_out_pixels(1)
    cam = model.grad_cam(pixels[0], 2)
    assert cam.shape == (13, 13) and cam.dtype == np.float32
    assert cam.min() >= 0 and cam.max() == pytest.approx(1.0)
    # the flat copy Grad-CAM differentiates gives the same probabilities as the model
    flat = model.cam.grad_model(model.preprocessing(pixels[:1].astype(np.float32)))[1]
    np.testing.assert_allclose(np.asarray(fit.head.layers[-1].activation(
        np.asarray(flat) @ np.asarray(fit.head.layers[-1].kernel)
        + np.asarray(fit.head.layers[-1].bias))), model.predict(pixels[:1]), atol=1e-5)


def test_command_line_fits_a_folder_and_predicts(dataset, tmp_path, capsys):
    out = tmp_path / "cli.keras"
    status = main(["fit", str(dataset), "--out", str(out), "--backbone", "squeezenet",
                   "--epochs", "30", "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert status == 0
    assert set(summary) >= {"classes", "val_accuracy", "confusion", "backbone", "train_images",
                            "val_images"}
    assert summary["classes"] == list(CLASSES) and summary["backbone"] == "squeezenet"
    assert np.array(summary["confusion"]).sum() == summary["val_images"] == 6
    assert summary["val_accuracy"] >= 0.8
    photo = tmp_path / "new_cat.png"
    photo.write_bytes(variants("cat", 1, seed=77)[0])
    (tmp_path / "notes.jpg").write_bytes(b"not a photo")
    status = main(["predict", str(out), str(photo), str(tmp_path / "notes.jpg"), "--json"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert status == 1                                        # one file failed
    assert lines[0]["path"] == str(photo) and lines[0]["top"][0]["label"] == "cat"
    assert sum(entry["probability"] for entry in lines[0]["top"]) == pytest.approx(1, abs=1e-5)
    assert "error" in lines[1] and "not an image" in lines[1]["error"]


def test_command_line_usage_errors(tmp_path, capsys):
    (tmp_path / "only").mkdir()
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", str(tmp_path), "--out", str(tmp_path / "m.keras"),
              "--backbone", "squeezenet"])
    assert exit_info.value.code == 2
    assert "one subfolder per class" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", str(REPO_ROOT / "README.md"), "x.png"])
    assert exit_info.value.code == 2 and "not a .keras file" in capsys.readouterr().err


def test_fine_tuning_trains_a_copy_of_the_top_block(taught, squeezenet):
    from cnn_core.transfer.finetune import FineTuneSettings, fine_tune

    teaching, fit, model = taught
    shared = [w.copy() for w in squeezenet.conv_base.get_weights()]
    tuned = fine_tune(model, teaching.arrays()[2], fit, FineTuneSettings(epochs=1))
    trainable = {layer.name for layer in tuned.model.conv_base.layers if layer.trainable}
    assert trainable == {"fire9_squeeze1x1", "fire9_expand1x1", "fire9_expand3x3",
                         "fire9_concat"}
    # fire9: 512·64+64 + 64·256+256 + 9·64·256+256, plus the head's 512·3+3
    assert tuned.trainable_params == 32_832 + 16_640 + 147_712 + 1_539
    assert all(np.array_equal(a, b) for a, b in zip(shared, squeezenet.conv_base.get_weights()))
    assert not all(np.array_equal(a, b) for a, b in
                   zip(shared, tuned.model.conv_base.get_weights()))
    assert tuned.before == pytest.approx(fit.val_accuracy, abs=1 / fit.val_images)
    assert len(tuned.history) == 1 and tuned.after == tuned.history[-1]["val_accuracy"]
    small = restore_classes(teaching, model)
    for name in small.classes:
        small.classes[name] = small.classes[name][:4]
    few_fit, few_model = teach(small, squeezenet, HeadSettings(epochs=5))
    with pytest.raises(CNNLabError, match="held-out validation set"):
        fine_tune(few_model, small.arrays()[2], few_fit)
