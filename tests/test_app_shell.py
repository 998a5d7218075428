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
    assert [l.label for l in links] == [
        "Step 1: Theory Q&A", "Step 2: Architecture calculator", "Step 3: MNIST training",
        "Step 4: Classify photos"]
    assert [l.page for l in links] == ["theory", "calculator", "mnist", "classify"]
    # the calculator step opens on the network the text describes
    assert links[1].query_string == "preset=exercise2"
    caption = next(c.value for c in at.caption if "steps" in c.value)
    assert f"these {len(links)} steps" in caption


def test_home_uses_material_icons_not_emoji():
    at = open_home()
    assert all(l.proto.icon.startswith(":material/") for l in at.get("page_link"))
    texts = [at.title[0].value, *(l.proto.label for l in at.get("page_link")),
             *(m.value for m in at.markdown), *(c.value for c in at.caption)]
    assert not [t for t in texts if has_emoji(t)]
