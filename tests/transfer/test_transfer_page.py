"""The "Teach your own classes" page through Streamlit's AppTest: classes named and checked,
photos uploaded (a bad file reported, the good ones kept), training with results, a new photo
predicted with Grad-CAM, and a model imported back (a corrupt one refused)."""

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.conftest import REPO_ROOT
from tests.transfer.test_transfer_support import variants

PAGE = str(REPO_ROOT / "app_pages" / "transfer.py")


@pytest.fixture(scope="module", autouse=True)
def offline(tmp_path_factory):
    """No Inception weights (empty Keras cache): the page serves SqueezeNet."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KERAS_HOME", str(tmp_path_factory.mktemp("keras_home")))
        patch.delenv("CNNLAB_INCEPTION_WEIGHTS", raising=False)
        yield


def run_page():
    app = AppTest.from_file(PAGE, default_timeout=300)
    app.run()
    assert not app.exception
    return app


def add_class(app, name):
    [field for field in app.text_input if field.label.startswith("New class")][0].input(name)
    [b for b in app.button if b.label == "Add class"][0].click()
    app.run()


def uploader(app, label):
    return [u for u in app.file_uploader if u.label == label][0]


def photos(name, count, seed):
    return [(f"{name}{i}.png", data, "image/png") for i, data in
            enumerate(variants(name, count, seed))]


@pytest.fixture(scope="module")
def trained():
    app = run_page()
    assert "SqueezeNet v1.1" in app.caption[0].value and "512 features" in app.caption[0].value
    add_class(app, "cat")
    add_class(app, " Cat ")
    assert [e.value for e in app.error] == ["There is already a class called 'Cat'; class "
                                           "names must differ (ignoring upper/lower case)."]
    assert "at least 2 classes" in app.info[0].value
    add_class(app, "coffee")
    uploader(app, "Photos of cat").set_value(
        photos("cat", 5, 1) + [("shopping.jpg", b"milk, eggs", "image/jpeg")])
    app.run()
    assert [w.value for w in app.warning] == [
        "shopping.jpg: is not an image file this app can read (JPEG, PNG, GIF, BMP, TIFF or "
        "WebP)."]
    assert "'coffee' has no images" in app.info[0].value
    uploader(app, "Photos of coffee").set_value(photos("coffee", 6, 2))
    app.run()
    removal = [m for m in app.multiselect if m.label == "Remove an image"][1]
    first = app.session_state["transfer_set"].classes["coffee"][0]
    assert removal.options[0] == first.name == "coffee0.png"
    removal.set_value([first.digest])                        # picking an image removes it
    app.run()
    assert not app.exception
    assert [m.value for m in app.markdown if "of 60 images" in m.value] == [
        "**cat** · 5 of 60 images", "**coffee** · 5 of 60 images"]
    [b for b in app.button if b.label == "Train"][0].click()
    app.run()
    assert not app.exception
    return app


def test_training_shows_validation_results(trained):
    metrics = {m.label: m.value for m in trained.metric}
    assert metrics["Validation accuracy"].endswith("%")
    assert float(metrics["Validation accuracy"].rstrip("%")) >= 80     # chance: 50 %
    assert metrics["Trained on"] == "10 images"                        # k-fold: all, at the end
    head = 512 * 2 + 2                                                  # Dense(2) on 512 features
    assert metrics["Head parameters"] == f"{head:,}"
    assert any(c.value.startswith(f"Whole model: {722_496 + 12 + head:,} parameters")
               for c in trained.caption)                         # backbone + Dense(3) + head
    assert any("5-fold cross-validation" in c.value for c in trained.caption)
    fit = trained.session_state["transfer_result"]["fit"]
    assert fit.confusion.sum() == 10 and fit.classes == ["cat", "coffee"]


def test_a_new_photo_gets_probabilities_and_a_grad_cam(trained):
    uploader(trained, "New photos").set_value(photos("coffee", 1, 99))
    trained.run()
    assert not trained.exception and not trained.error
    assert [s.label for s in trained.selectbox] == ["Grad-CAM for"]
    assert trained.selectbox[0].value == "coffee"
    trained.selectbox[0].set_value("cat")
    trained.run()
    assert not trained.exception and trained.selectbox[0].value == "cat"


def test_fine_tuning_with_cross_validation_is_refused_clearly(trained):
    [b for b in trained.button if b.label == "Fine-tune"][0].click()
    trained.run()
    assert not trained.exception
    assert any("needs a held-out validation set" in e.value for e in trained.error)


def test_import_restores_classes_and_refuses_a_corrupt_file(trained):
    exported = trained.session_state["transfer_result"]["model"].to_bytes()
    app = run_page()
    uploader(app, "Import a model exported here (.keras)").set_value(
        [("broken.keras", b"PK\x03\x04 not really", "application/octet-stream")][0])
    app.run()
    assert not app.exception
    assert app.sidebar.error[0].value.startswith("broken.keras: is not a .keras file")
    uploader(app, "Import a model exported here (.keras)").set_value(
        ("mine.keras", exported, "application/octet-stream"))
    app.run()
    assert not app.exception
    assert [m.value for m in app.markdown if "of 60 images" in m.value] == [
        "**cat** · 0 of 60 images", "**coffee** · 0 of 60 images"]
    assert "classes cat, coffee restored" in app.warning[0].value
    assert any(u.label == "New photos" for u in app.file_uploader)     # try the imported one
