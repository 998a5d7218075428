"""AppTest: the entry point builds the navigation and renders the home page with its
"start here" path through the pages."""

import unicodedata

from streamlit.testing.v1 import AppTest

from tests.conftest import REPO_ROOT


def open_home():
    at = AppTest.from_file(str(REPO_ROOT / "streamlit_app.py"), default_timeout=30).run()
    assert not at.exception, at.exception
    return at


def has_emoji(text: str) -> bool:
    """Symbols that need an emoji font (So: 'Symbol, other', e.g. 🧠 📖 ✍️ ✅)."""
    return any(unicodedata.category(ch) == "So" for ch in text)


def test_home_page_renders_with_navigation():
    at = open_home()
    assert at.title[0].value.endswith("CNN Lab")
    # the home page links to every section
    assert {"theory", "calculator", "mnist", "classify"} <= {
        p.proto.page for p in at.get("page_link")}


def test_start_here_is_a_numbered_path_in_learning_order():
    at = open_home()
    assert "Start here" in [s.value for s in at.subheader]
    links = [p.proto for p in at.get("page_link")]
    # numbered 1, 2, 3, ... in page order
    assert [l.label.split(":")[0] for l in links] == [f"Step {i}" for i in range(1, len(links) + 1)]
    # theory first, then the calculator, training and photos (other pages may be added between)
    pages = [l.page for l in links]
    order = ["theory", "calculator", "mnist", "classify"]
    assert [p for p in pages if p in order] == order and pages[0] == "theory"
    assert links[0].label == "Step 1: Theory Q&A"
    # the calculator step opens on the network the text describes
    calculator = links[pages.index("calculator")]
    assert calculator.query_string == "preset=exercise2"
    caption = next(c.value for c in at.caption if "steps" in c.value)
    assert f"these {len(links)} steps" in caption


def test_home_uses_material_icons_not_emoji():
    at = open_home()
    assert all(l.proto.icon.startswith(":material/") for l in at.get("page_link"))
    texts = [at.title[0].value, *(l.proto.label for l in at.get("page_link")),
             *(m.value for m in at.markdown), *(c.value for c in at.caption)]
    assert not [t for t in texts if has_emoji(t)]


def test_a_spawned_worker_importing_the_entry_point_draws_nothing(monkeypatch):
    """multiprocessing's "spawn" runs the parent's __main__ (Streamlit makes it this script) in
    each training worker as "__mp_main__"; the app must not be drawn (nor a page run) there."""
    import runpy

    import streamlit as st

    calls = []
    monkeypatch.setattr(st, "navigation", lambda *a, **k: calls.append("navigation"))
    monkeypatch.setattr(st, "set_page_config", lambda *a, **k: calls.append("set_page_config"))
    namespace = runpy.run_path(str(REPO_ROOT / "streamlit_app.py"), run_name="__mp_main__")
    assert calls == [] and callable(namespace["main"])


def test_script_runs_leave_the_shared_keras_state_alone(monkeypatch):
    """Streamlit's own cleanup after each script run calls keras.backend.clear_session() once
    Keras is imported (a reset of the state other sessions' threads use, and a full garbage
    collection); the app's server process turns it off, and still closes matplotlib figures."""
    import importlib.util
    import sys
    import types

    import keras

    cleared, closed = [], []
    monkeypatch.setattr(keras.backend, "clear_session", lambda *a, **k: cleared.append(1))
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot",     # a stand-in: not installed here
                        types.SimpleNamespace(close=lambda which=None: closed.append(which)))
    # control: Streamlit's own function, from its source, does call it
    spec = importlib.util.find_spec("streamlit.runtime.scriptrunner.script_runner")
    streamlit_own = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(streamlit_own)
    streamlit_own._clean_problem_modules()
    assert cleared == [1] and closed == ["all"]
    cleared.clear(), closed.clear()
    at = open_home()
    at.run()
    assert not at.exception
    assert cleared == [] and closed == ["all", "all"]
