"""Nothing of the server on a page: every page, run through AppTest with the weights missing, a
misconfigured setting and a folder outside the transfer page's teaching folder, shows no server
path, no environment value and no traceback in any element — labels, help texts, messages — and
the operator finds the detail in the server's log instead."""

import logging
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.conftest import REPO_ROOT

SECRET_WEIGHTS = "/srv/cnnlab-secret/inception.h5"
PAGES = ["home", "theory", "calculator", "mnist", "classify", "transfer"]


@pytest.fixture
def server(tmp_path, monkeypatch):
    """No weights in the Keras cache; the Inception v3 path misconfigured; a fresh
    st.cache_resource. Yields the strings no page may show."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setenv("CNNLAB_INCEPTION_WEIGHTS", SECRET_WEIGHTS)
    monkeypatch.setenv("CNNLAB_TRANSFER_FOLDERS", str(tmp_path / "lesson"))
    (tmp_path / "lesson").mkdir()
    st.cache_resource.clear()
    yield [str(REPO_ROOT), str(Path.home()), str(tmp_path), SECRET_WEIGHTS, "Traceback",
           "CNNLAB_"]
    st.cache_resource.clear()


def page_text(app) -> str:
    """Every element's content (its protobuf: body, label, help, options, captions)."""
    texts = []

    def walk(node):
        if getattr(node, "proto", None) is not None:
            texts.append(str(node.proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(app._tree)
    return "\n".join(texts)


def shown_server_details(app, forbidden) -> list[str]:
    text = page_text(app)
    assert len(text) > 200                                     # the page was read
    return [secret for secret in forbidden if secret in text]


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_no_page_shows_a_server_path_or_setting(page, server):
    """Each page inside the app's frame (its sidebar too), as a user opens it."""
    app = AppTest.from_file(str(REPO_ROOT / "streamlit_app.py"), default_timeout=240)
    app.run()
    app.switch_page(f"app_pages/{page}.py").run()
    assert not app.exception
    assert shown_server_details(app, server) == []


@pytest.mark.slow
def test_the_missing_weights_go_to_the_log_not_the_page(server, caplog):
    from cnn_core.errors import log_for_operator

    log_for_operator.cache_clear()                 # logged once per process: forget earlier tests
    app = AppTest.from_file(str(REPO_ROOT / "app_pages" / "classify.py"), default_timeout=240)
    with caplog.at_level(logging.WARNING, logger="cnn_core"):
        app.run()
    warning = " ".join(w.value for w in app.warning)
    assert "Inception v3 is not available here" in warning    # the page says what is missing
    assert any(SECRET_WEIGHTS in record.getMessage() for record in caplog.records)


@pytest.mark.slow
def test_a_folder_outside_the_teaching_folder_is_refused_without_naming_it(server):
    app = AppTest.from_file(str(REPO_ROOT / "app_pages" / "transfer.py"), default_timeout=240)
    app.run()
    [field] = [f for f in app.text_input if f.label.startswith("Folder")]
    field.input("../..")
    [button] = [b for b in app.button if b.label == "Load folder"]
    button.click().run()
    assert [e.value for e in app.error] == [
        "../..: only folders inside the server's teaching folder can be read."]
    assert shown_server_details(app, server) == []


def test_a_setting_that_cannot_be_read_names_neither_value_nor_variable(server, monkeypatch):
    from cnn_core.mnist import queue

    monkeypatch.setattr(queue, "_SHARED", None)
    monkeypatch.setenv("CNNLAB_MAX_TRAINING_SECONDS", "/srv/cnnlab-secret/twenty")
    app = AppTest.from_file(str(REPO_ROOT / "app_pages" / "mnist.py"), default_timeout=120)
    app.run()
    assert [e.value for e in app.error] == [
        "A setting of this server is invalid; its operator can find which in the server's log."]
    assert shown_server_details(app, [*server, "/srv/cnnlab-secret"]) == []
