"""Every page of CNN Lab opens from the sidebar navigation in Chromium, without Streamlit's
exception box, and shows its own content (not the placeholder). Each page is screenshotted to
``test-artifacts/`` for a human to look at."""

import pytest

from harness import (
    StreamlitServer, assert_no_exception, open_app, open_from_navigation, save_screenshot,
)

PLACEHOLDER = "This page is being built."

# (navigation title, URL path, screenshot name): the titles and paths of streamlit_app.py.
PAGES = [
    ("Theory Q&A", "/theory", "theory"),
    ("Architecture calculator", "/calculator", "calculator"),
    ("MNIST training", "/mnist", "mnist"),
    ("Classify photos", "/classify", "classify"),
    ("Home", "/", "home"),
]


NAV_LINKS = '[data-testid="stSidebarNav"] [data-testid="stSidebarNavLink"]'
SIDEBAR_CAPTION = "CNN Lab — learn and"     # the shared frame's sidebar text (streamlit_app.py)


def main_text(page):
    return page.locator('[data-testid="stMain"]').inner_text()


def test_home_opens_with_links_to_every_page(page, app_url):
    open_app(page, app_url)
    assert_no_exception(page, "home")
    assert page.get_by_role("heading", name="CNN Lab").is_visible()
    main = page.locator('[data-testid="stMain"]')
    for title, _, _ in PAGES[:-1]:
        assert main.locator('[data-testid="stPageLink"]').filter(has_text=title).count() == 1, title
    save_screenshot(page, "home")


def test_every_page_opens_from_the_navigation(page, app_url):
    open_app(page, app_url)
    for title, path, shot in PAGES:
        # Pages that load TensorFlow or a model on first open get a generous timeout.
        open_from_navigation(page, title, timeout_ms=180_000)
        page.wait_for_url(lambda url: url.rstrip("/") == (app_url + path).rstrip("/"))
        assert_no_exception(page, title)
        text = main_text(page)
        assert PLACEHOLDER not in text, f"{title} ({path}) is still the placeholder page"
        assert len(text.strip()) > 100, f"{title} ({path}) shows almost nothing: {text!r}"
        save_screenshot(page, shot)


@pytest.mark.parametrize("path", ["/calculator", "/theory", "/no-such-page"])
def test_deep_links_open_directly(page, app_url, path):
    """A shared URL to a page opens that page; an unknown one falls back without an error."""
    open_app(page, app_url + path, timeout_ms=120_000)
    assert_no_exception(page, path)
    assert len(main_text(page).strip()) > 50


def test_deep_link_as_first_visit_still_runs_the_apps_frame(page):
    """A shared link to /calculator, opened first after a server (re)start, must get the app's
    own navigation and frame (titles from ``st.navigation``, the sidebar caption).

    Streamlit treats a ``pages/`` folder next to the entry script as a v1 multipage app until
    some session runs ``st.navigation``: the first deep link then runs the page script alone,
    with file-name navigation ("streamlit app", "calculator", ...) and without the frame. A
    fresh server is started so this test does not depend on what other tests opened first.
    """
    with StreamlitServer(log_name="streamlit-server-deeplink.log") as server:
        open_app(page, f"{server.url}/calculator", timeout_ms=120_000)
        assert_no_exception(page, "/calculator as first visit")
        titles = [link.inner_text().strip() for link in page.locator(NAV_LINKS).all()]
        save_screenshot(page, "deep-link-first-visit")
        assert any("Architecture calculator" in t for t in titles), (
            f"first visit to /calculator shows Streamlit's v1 file-name navigation {titles} "
            "instead of streamlit_app.py's; rename pages/ (e.g. app_pages/) so Streamlit "
            "does not treat it as a v1 pages folder (issue 2, streamlit_app.py)")
        assert page.get_by_text(SIDEBAR_CAPTION).count() == 1
