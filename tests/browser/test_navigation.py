"""Every page of CNN Lab opens from the sidebar navigation in Chromium, without Streamlit's
exception box, and shows its own content (not the placeholder). Each page is screenshotted to
``test-artifacts/`` for a human to look at."""

import pytest

from harness import assert_no_exception, open_app, open_from_navigation, save_screenshot

PLACEHOLDER = "This page is being built."

# (navigation title, URL path, screenshot name): the titles and paths of streamlit_app.py.
PAGES = [
    ("Theory Q&A", "/theory", "theory"),
    ("Architecture calculator", "/calculator", "calculator"),
    ("MNIST training", "/mnist", "mnist"),
    ("Classify photos", "/classify", "classify"),
    ("Home", "/", "home"),
]


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
        assert page.url.rstrip("/") == (app_url + path).rstrip("/"), f"{title}: URL {page.url}"
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
