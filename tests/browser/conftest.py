"""Browser fixtures: one headless Streamlit server for the whole run and Debian's Chromium
driven by Playwright (the machinery lives in ``harness.py``).

In CI (``CI=true``) a missing Chromium fails the run — the browser tests are part of the
suite, not optional. Elsewhere they skip with the reason.
"""

import os
from pathlib import Path

import pytest

from harness import (
    CHROMIUM, StreamlitServer, chromium_available, launch_chromium, save_screenshot,
)


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
    """One Streamlit server (``streamlit run streamlit_app.py``) for every browser test, as a
    class shares one server for hours: each module's sessions and training jobs meet the
    server the earlier modules left behind (abandoned and stopped runs, loaded models).
    One training worker (the default is 2 on 2 cores): the queue scenarios need a job to wait
    behind exactly one running job."""
    with StreamlitServer(env={"CNNLAB_TRAINING_WORKERS": "1"}) as server:
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


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so fixtures can see whether it failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(browser, request):
    """A fresh browser context — its own Streamlit session — closed after the test. A failing
    test leaves a screenshot of what the page showed in test-artifacts/FAILED-<test>.png."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        try:
            save_screenshot(page, f"FAILED-{request.node.name}")
        except Exception as error:           # the page may be gone; the failure is what matters
            print(f"no failure screenshot: {error}")
    context.close()
