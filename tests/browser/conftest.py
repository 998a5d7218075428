"""Browser fixtures: one headless Streamlit server per test session and Debian's Chromium
driven by Playwright (the machinery lives in ``harness.py``).

In CI (``CI=true``) a missing Chromium fails the run — the browser tests are part of the
suite, not optional. Elsewhere they skip with the reason.
"""

import os
from pathlib import Path

import pytest

from harness import CHROMIUM, StreamlitServer, chromium_available, launch_chromium


def pytest_collection_modifyitems(items):
    """Everything under tests/browser/ is a browser test, marked or not."""
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.path)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)


def require_chromium():
    if chromium_available():
        return
    reason = f"Debian's Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI runs the browser tests, so Chromium is required: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def app_server():
    """One Streamlit server (``streamlit run streamlit_app.py``) for the whole test session."""
    with StreamlitServer() as server:
        yield server


@pytest.fixture(scope="session")
def app_url(app_server):
    return app_server.url


@pytest.fixture(scope="session")
def browser():
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A fresh browser context — its own Streamlit session — closed after the test."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    page = context.new_page()
    yield page
    context.close()
