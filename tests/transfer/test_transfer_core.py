"""Transfer learning without a backbone: class names, collecting images (bad files, duplicates,
the cap), the validation plans, the head against Keras and the calculator, augmentation, and
the model-file checks that run before Keras sees a file."""

import io
import json
import threading
import zipfile

import numpy as np
import pytest

from cnn_core.transfer import data as transfer_data
from cnn_core.errors import CNNLabError
from cnn_core.transfer.augment import augmented_copies, augmented_copy, copy_seed
from cnn_core.transfer.data import (TeachingSet, check_class_name, read_class_folders,
                                    server_folder)
from cnn_core.transfer.head import HeadSettings, build_head, head_report
from cnn_core.transfer.validation import fit_head, plan_validation, with_copies
from cnn_core.transfer.model import check_config, read_metadata
from tests.transfer.test_transfer_support import variants, write_class_folders


def mean_colour(pixels, keys):
    """A stand-in backbone: each image's mean R, G, B (enough to tell the sample photos apart)."""
    return np.asarray(pixels, np.float32).mean(axis=(1, 2))


def test_class_names_are_checked():
    assert check_class_name("  mug ") == "mug"
    with pytest.raises(CNNLabError, match="empty"):
        check_class_name("   ")
    with pytest.raises(CNNLabError, match="already a class called 'Mug'"):
        check_class_name("Mug", ["mug"])
    with pytest.raises(CNNLabError, match="longer than 40"):
        check_class_name("x" * 41)


def test_bad_files_are_reported_and_good_images_kept():
    teaching = TeachingSet("squeezenet", 64)
    teaching.add_class("cat")
    cat = variants("cat", 3, seed=1)
    assert teaching.add_images("cat", cat[:2], mean_colour, names=["a.png", "b.png"]) == []
    problems = teaching.add_images("cat", [b"not an image", cat[0], cat[2]], mean_colour,
                                   names=["notes.jpg", "again.png", "c.png"])
    assert len(problems) == 2
    assert problems[0].startswith("notes.jpg: is not an image")
    assert problems[1] == "again.png: is already in 'cat'; skipped."
    assert [e.name for e in teaching.classes["cat"]] == ["a.png", "b.png", "c.png"]
    example = teaching.classes["cat"][0]
    assert example.pixels.shape == (64, 64, 3) and example.embedding.shape == (3,)
    with pytest.raises(CNNLabError, match="no class called 'dog'"):
        teaching.add_images("dog", cat, mean_colour)


def test_overlapping_runs_never_add_a_photo_twice():
    """Two script runs of one session adding the same upload at once (a rerun while the
    photos are being embedded): each photo is kept once."""
    teaching = TeachingSet("squeezenet", 64)
    teaching.add_class("cat")
    both_checked = threading.Barrier(2)

    def slow_embed(pixels, keys):
        both_checked.wait(timeout=30)        # both runs found no duplicates before either adds
        return mean_colour(pixels, keys)

    files = variants("cat", 3, seed=5)
    runs = [threading.Thread(target=teaching.add_images,
                             args=("cat", files, slow_embed, ["a.png", "b.png", "c.png"]))
            for _ in range(2)]
    for run in runs:
        run.start()
    for run in runs:
        run.join(timeout=60)
    assert teaching.counts() == {"cat": 3}


def test_images_per_class_are_capped(monkeypatch):
    monkeypatch.setattr(transfer_data, "max_images_per_class", 2)
    teaching = TeachingSet("squeezenet", 64)
    teaching.add_class("cat")
    problems = teaching.add_images("cat", variants("cat", 3, seed=2), mean_colour,
                                   names=["1.png", "2.png", "3.png"])
    assert teaching.counts() == {"cat": 2}
    assert problems == ["3.png: 'cat' already has the maximum of 2 images; skipped."]


def test_training_needs_two_classes_with_two_images_each():
    teaching = TeachingSet("squeezenet", 64)
    teaching.add_class("cat")
    with pytest.raises(CNNLabError, match="at least 2 classes; there is 1"):
        teaching.check_trainable()
    teaching.add_class("coffee")
    teaching.add_images("cat", variants("cat", 2, seed=3), mean_colour, names=["1.png", "2.png"])
    with pytest.raises(CNNLabError, match="'coffee' has no images"):
        teaching.check_trainable()
    teaching.add_images("coffee", variants("coffee", 1, seed=4), mean_colour, names=["1.png"])
    with pytest.raises(CNNLabError, match="at least 2 images.*'coffee'"):
        teaching.check_trainable()
    assert teaching.counts() == {"cat": 2, "coffee": 1}          # nothing lost on the way
    for _ in range(9):
        teaching.add_class(f"c{_}") if len(teaching.classes) < 10 else None
    with pytest.raises(CNNLabError, match="At most 10 classes"):
        teaching.add_class("eleventh")


def test_class_folders_follow_keras_layout(tmp_path):
    write_class_folders(tmp_path / "data", 2, classes=("raccoon", "cat"))
    folders = read_class_folders(tmp_path / "data")
    assert list(folders) == ["cat", "raccoon"]                   # sorted, as Keras does
    assert [p.name for p in folders["cat"]] == ["cat_00.png", "cat_01.png"]
    (tmp_path / "one" / "only").mkdir(parents=True)
    with pytest.raises(CNNLabError, match="one subfolder per class"):
        read_class_folders(tmp_path / "one")
    assert server_folder("data", tmp_path) == tmp_path / "data"
    with pytest.raises(CNNLabError, match="only folders inside the server's teaching folder") \
            as error:
        server_folder("../..", tmp_path)
    assert str(tmp_path) not in str(error.value)               # the root is for the operator
    assert error.value.server_detail == f"the teaching folder is {tmp_path.resolve()}"
    with pytest.raises(CNNLabError, match="^flowers needs one subfolder per class"):
        read_class_folders(tmp_path / "one", label="flowers")     # named as the user typed it


def test_holdout_is_stratified_and_kfold_validates_each_image_once():
    labels = np.repeat([0, 1, 2], [10, 15, 20])
    plan = plan_validation(labels)
    (train, val), = plan.folds
    assert plan.kind == "holdout"
    assert np.bincount(labels[val]).tolist() == [2, 3, 4]        # 20 % of each class
    assert sorted([*train, *val]) == list(range(45))
    small = np.repeat([0, 1], [3, 8])
    plan = plan_validation(small)
    assert plan.kind == "kfold" and len(plan.folds) == 3         # k = smallest class
    validated = np.concatenate([val for _, val in plan.folds])
    assert sorted(validated) == list(range(11))
    for train, val in plan.folds:
        assert not set(train) & set(val) and set(small[val]) == {0, 1}
    with pytest.raises(CNNLabError, match="at least 2 images"):
        plan_validation(np.array([0, 0, 1]))


@pytest.mark.parametrize("hidden", [0, 64])
def test_head_parameters_match_keras(hidden):
    settings = HeadSettings(hidden_units=hidden)
    head = build_head(512, 3, settings)
    report = head_report(512, 3, settings)
    assert report.total_params == head.count_params()
    assert report.total_params == (512 * 3 + 3 if not hidden else 512 * 64 + 64 + 64 * 3 + 3)
    assert head.output_shape == (None, 3)


def test_head_learns_a_separable_set_and_augmented_copies_only_train():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 2, (3, 256))
    x = np.maximum(np.concatenate([c + rng.normal(0, 1, (12, 256)) for c in centres]), 0)
    x = x.astype(np.float32)                     # non-negative, like pooled ReLU maps
    y = np.repeat([0, 1, 2], 12)
    fit = fit_head(x, y, ["a", "b", "c"], HeadSettings())
    assert fit.plan.kind == "holdout" and fit.val_images == 6 and fit.train_images == 30
    assert fit.val_accuracy == 1.0 and fit.confusion.trace() == 6
    assert len(fit.history) == 50 and "val_accuracy" in fit.history[-1]
    augmented = x[:, None, :] + rng.normal(0, 0.1, (36, 2, 256)).astype(np.float32)
    rows, labels = with_copies(x, y, np.array([0, 13]), augmented)
    assert rows.shape == (6, 256) and labels.tolist() == [0, 1, 0, 0, 1, 1]
    fit = fit_head(x[::3], y[::3], ["a", "b", "c"], HeadSettings(augment_copies=2),
                   augmented=augmented[::3])
    assert fit.plan.kind == "kfold" and fit.val_images == 12 and fit.train_images == 12
    assert fit.val_accuracy >= 0.9 and fit.history[-1]["fold"] == "all"


def test_augmented_copies_are_reproducible_and_altered():
    pixels = np.asarray(np.random.default_rng(1).integers(0, 256, (64, 64, 3)), np.uint8)
    copies, keys = augmented_copies(pixels, "abc", 3)
    assert copies.shape == (3, 64, 64, 3) and copies.dtype == np.uint8
    assert keys == ["abc+aug0", "abc+aug1", "abc+aug2"]
    np.testing.assert_array_equal(copies[1], augmented_copy(pixels, copy_seed("abc", 1)))
    assert not np.array_equal(copies[0], pixels) and not np.array_equal(copies[0], copies[1])


def fake_export(config, metadata):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
        archive.writestr("model.weights.h5", b"")
        if metadata is not None:
            archive.writestr("cnnlab_transfer.json", json.dumps(metadata))
    return buffer.getvalue()


GOOD_METADATA = {"format": "cnnlab-transfer/1", "classes": ["a", "b"], "backbone": "squeezenet"}


@pytest.mark.parametrize("data, message", [
    (b"PK\x03\x04 broken", "not a .keras file"),
    (b"", "not a .keras file"),
    (fake_export({"class_name": "Sequential", "module": "keras"}, None), "not one exported"),
    (fake_export({"class_name": "Lambda", "module": "keras.layers"}, GOOD_METADATA),
     "'Lambda' layer"),
    (fake_export({"class_name": "Popen", "module": "subprocess"}, GOOD_METADATA),
     "code outside Keras"),
    (fake_export({"class_name": "Dense", "module": "keras.layers", "registered_name": "my>Dense"},
                 GOOD_METADATA), "custom object"),
    (fake_export({}, {**GOOD_METADATA, "classes": ["a", "A"]}), "2–10 distinct names"),
])
def test_files_that_are_not_our_exports_are_refused_before_keras(data, message):
    with pytest.raises(CNNLabError, match=message):
        read_metadata(data, "upload.keras")


def test_config_walk_accepts_keras_builtins():
    check_config({"class_name": "Functional", "module": "keras", "config": {"layers": [
        {"class_name": "Dense", "module": "keras.layers", "registered_name": None,
         "config": {"kernel_initializer": {"class_name": "GlorotUniform",
                                           "module": "keras.initializers"}}}]}})
