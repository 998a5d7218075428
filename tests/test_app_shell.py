"""AppTest: the entry point builds the navigation and renders the home page."""

from streamlit.testing.v1 import AppTest

from tests.conftest import REPO_ROOT


def test_home_page_renders_with_navigation():
    at = AppTest.from_file(str(REPO_ROOT / "streamlit_app.py"), default_timeout=30).run()
    assert not at.exception
    assert at.title[0].value.endswith("CNN Lab")
    # the home page links to every section
    assert {"theory", "calculator", "mnist", "classify"} <= {
        p.proto.page for p in at.get("page_link")}
