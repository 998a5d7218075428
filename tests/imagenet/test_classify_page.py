"""The Classify page through Streamlit's AppTest: samples with no upload, a good and a corrupt
upload together, the offline fallback banner (no download unless asked), a download asked for
(from 127.0.0.1), toggles that rerun no forward pass, and two models side by side (Inception v3
with random weights from a configured path — no network)."""

import dataclasses
import functools
import hashlib
import http.server
import io
import threading
import time

import pytest
import streamlit as st
from PIL import Image
from streamlit.testing.v1 import AppTest

from tests.conftest import REPO_ROOT

PAGE = str(REPO_ROOT / "app_pages" / "classify.py")
CAT = open("data/samples/cat_chelsea.png", "rb").read()


@pytest.fixture(autouse=True)
def offline(tmp_path, monkeypatch):
    """Empty Keras cache, no configured weights, the internet refused (and each attempt
    recorded); fresh st.cache_resource."""
    import urllib.error
    import urllib.request

    attempts, urlopen = [], urllib.request.urlopen

    def local_only(url, *args, **kwargs):
        attempts.append(url)
        if not str(url).startswith("http://127.0.0.1:"):
            raise urllib.error.URLError("no network in tests")
        return urlopen(url, *args, **kwargs)

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.delenv("CNNLAB_INCEPTION_WEIGHTS", raising=False)
    monkeypatch.setattr(urllib.request, "urlopen", local_only)
    st.cache_resource.clear()
    yield attempts
    st.cache_resource.clear()


def run_page():
    app = AppTest.from_file(PAGE, default_timeout=180)
    app.run()
    return app


def charts(app):
    return app.get("vega_lite_chart")


def captions(app):
    return " | ".join(caption.value for caption in app.caption)


def test_samples_classify_with_no_upload_and_the_fallback_is_announced(offline):
    app = run_page()
    assert not app.exception
    assert "Inception v3 is not available here" in app.warning[0].value
    assert "SqueezeNet v1.1" in app.warning[0].value
    assert [header.value for header in app.subheader] == [
        "cat_chelsea.png", "coffee_cup.png", "raccoon.jpg"]
    assert len(charts(app)) == 3 and not app.error
    assert "[-1.0000, 1.0000]" not in captions(app)                  # SqueezeNet: BGR
    in_use = " ".join(caption.value for caption in app.sidebar.caption)
    assert "In use: SqueezeNet v1.1** (fallback: Inception v3 weights missing)" in in_use
    # Offered with its size, never fetched by opening the page.
    labels = [button.label for button in app.button]
    assert "Download Inception v3 weights (96 MB)" in labels
    assert "Download ResNet-50 weights (103 MB)" in labels               # a "Compare with"
    assert offline == []


def test_a_toggle_reruns_no_forward_pass():
    from cnn_core.imagenet.classify import results_cache

    app = run_page()
    assert len(app.get("image")) == 3 * 4 + 3         # pipeline pictures, then 3 heatmaps
    forward_passes = results_cache.misses
    app.toggle(key="grad_cam").set_value(False).run()
    assert not app.exception and len(charts(app)) == 3 and len(app.get("image")) == 3 * 4
    assert results_cache.misses == forward_passes       # every top-5 came from the cache


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
    assert "Top-1: Egyptian cat" in captions(app) or "Top-1: tabby" in captions(app)


def test_configured_inception_runs_side_by_side_with_squeezenet(tmp_path, monkeypatch):
    """Inception v3 weights from a configured path (random here): no banner, values exactly in
    [−1, 1] for a black-and-white photo, and SqueezeNet's top-5 next to Inception's."""
    from cnn_core.imagenet.models import build_inception_v3

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
    assert "[-1.0000, 1.0000] ([−1, 1])" in captions(app)
    specs = [chart.proto.spec for chart in charts(app)]
    assert len(specs) == 2 and "Inception v3" in specs[0] and "SqueezeNet v1.1" in specs[1]


def test_a_download_asked_for_shows_its_failure_and_the_page_stays_usable(offline, tmp_path,
                                                                          monkeypatch):
    """ResNet-50's weights from a local server, but the file is not the published one: the
    hash check refuses it, the page says so and keeps classifying with what it has."""
    from cnn_core.imagenet import models as imagenet_models

    served = tmp_path / "served"
    served.mkdir()
    (served / "resnet.h5").write_bytes(b"x" * 300_000)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/resnet.h5"
    spec = dataclasses.replace(imagenet_models.models["resnet50"], weights_url=url,
                               weights_hash=hashlib.md5(b"the real weights").hexdigest())
    monkeypatch.setitem(imagenet_models.models, "resnet50", spec)
    try:
        app = run_page()
        next(b for b in app.button if b.label.startswith("Download ResNet-50")).click().run()
        job = imagenet_models.weights_download_job("resnet50")
        job.thread.join(timeout=60)
        time.sleep(0.1)
        app.run()
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert offline == [url]
    assert not app.exception and len(charts(app)) == 3
    assert any("not the published" in error.value and "discarded" in error.value
               for error in app.error)
    assert not (tmp_path / "keras_home" / "models" / spec.weights_file).exists()
