"""The Classify page through Streamlit's AppTest: samples with no upload, a good and a corrupt
upload together, the offline fallback banner, and two models side by side (Inception v3 with
random weights from a configured path — no network)."""

import io

import pytest
import streamlit as st
from PIL import Image
from streamlit.testing.v1 import AppTest

from tests.conftest import REPO_ROOT

PAGE = str(REPO_ROOT / "app_pages" / "classify.py")
CAT = open("data/samples/cat_chelsea.png", "rb").read()


@pytest.fixture(autouse=True)
def offline(tmp_path, monkeypatch):
    """Empty Keras cache, no configured weights, downloads fail; fresh st.cache_resource."""
    import keras

    def no_network(*args, **kwargs):
        raise Exception("no network in tests")

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.delenv("CNNLAB_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setattr(keras.utils, "get_file", no_network)
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


def run_page():
    app = AppTest.from_file(PAGE, default_timeout=180)
    app.run()
    return app


def charts(app):
    return app.get("vega_lite_chart")


def test_samples_classify_with_no_upload_and_the_fallback_is_announced():
    app = run_page()
    assert not app.exception
    assert "Inception v3 is not available here" in app.warning[0].value
    assert "SqueezeNet v1.1" in app.warning[0].value
    assert [header.value for header in app.subheader] == [
        "cat_chelsea.png", "coffee_cup.png", "raccoon.jpg"]
    assert len(charts(app)) == 3 and not app.error
    assert "[-1.0000, 1.0000]" not in " ".join(c.value for c in app.caption)   # SqueezeNet: BGR


def test_good_and_corrupt_upload_one_result_one_clear_error():
    app = run_page()
    app.file_uploader[0].set_value([("cat.png", CAT, "image/png"),
                                    ("broken.jpg", b"\xff\xd8\xff\xe0 cut short", "image/jpeg")])
    app.run()
    assert not app.exception
    assert [header.value for header in app.subheader] == ["cat.png"]
    assert len(app.error) == 1 and app.error[0].value.startswith("broken.jpg: ")
    assert len(charts(app)) == 1


def test_camera_photo_is_classified():
    app = run_page()
    app.toggle(key="camera").set_value(True)
    app.run()
    shot = io.BytesIO()
    Image.open(io.BytesIO(CAT)).convert("RGB").save(shot, format="JPEG")
    app.camera_input[0].set_value(("shot.jpg", shot.getvalue(), "image/jpeg"))
    app.run()
    assert not app.exception and not app.error
    assert [header.value for header in app.subheader] == ["shot.jpg"]
    assert "Egyptian cat" in app.caption[1].value or "tabby" in app.caption[1].value


def test_configured_inception_runs_side_by_side_with_squeezenet(tmp_path, monkeypatch):
    """Inception v3 weights from a configured path (random here): no banner, values exactly in
    [−1, 1] for a black-and-white photo, and SqueezeNet's top-5 next to Inception's."""
    from cnn_core.imagenet_models import build_inception_v3

    path = tmp_path / "inception.weights.h5"
    build_inception_v3().save_weights(path)
    monkeypatch.setenv("CNNLAB_INCEPTION_WEIGHTS", str(path))
    halves = Image.new("L", (64, 64), 0)
    halves.paste(255, (32, 0, 64, 64))
    buffer = io.BytesIO()
    halves.save(buffer, format="PNG")

    app = AppTest.from_file(PAGE, default_timeout=180)
    app.session_state["grad_cam"] = False                 # keep the test quick
    app.session_state["compare"] = "squeezenet"
    app.run()
    app.file_uploader[0].set_value(("halves.png", buffer.getvalue(), "image/png"))
    app.run()
    assert not app.exception and not app.warning
    assert [header.value for header in app.subheader] == ["halves.png"]
    assert "[-1.0000, 1.0000] ([−1, 1])" in app.caption[0].value
    specs = [chart.proto.spec for chart in charts(app)]
    assert len(specs) == 2 and "Inception v3" in specs[0] and "SqueezeNet v1.1" in specs[1]
