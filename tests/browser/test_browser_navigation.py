"""Every page of CNN Lab opens from the sidebar navigation in Chromium, without Streamlit's
exception box, and shows its own title. Each page is screenshotted to ``test-artifacts/`` for a
human to look at."""

import unicodedata

import pytest

from harness import (
    StreamlitServer, assert_no_exception, open_app, open_from_navigation, save_screenshot,
)

# (navigation title, URL path, screenshot name, the page's own heading): streamlit_app.py's
# titles and paths, and the st.title of each page in app_pages/.
PAGES = [
    ("Theory Q&A", "/theory", "theory", "Theory Q&A"),
    ("Architecture calculator", "/calculator", "calculator", "Architecture calculator"),
    ("MNIST training", "/mnist", "mnist", "MNIST training"),
    ("Classify photos", "/classify", "classify", "Classify photos"),
    ("Home", "/", "home", "CNN Lab"),
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
    for title, *_ in PAGES[:-1]:
        assert main.locator('[data-testid="stPageLink"]').filter(has_text=title).count() == 1, title
    steps = main.locator('[data-testid="stPageLink"]').all_inner_texts()
    # each link's text is its Material icon's name, then its label: "Step 1: Theory Q&A", ...
    labels = [s.split("\n")[-1] for s in steps if "Step " in s]
    assert [l.split(":")[0] for l in labels] == [f"Step {i}" for i in range(1, len(labels) + 1)]
    titles = [l.split(": ", 1)[1] for l in labels]
    page_titles = [title for title, *_ in PAGES[:-1]]  # in learning order
    assert [t for t in titles if t in page_titles] == page_titles
    save_screenshot(page, "home")


def test_navigation_icons_are_material_symbols_not_emoji(page, app_url):
    """Emoji render as empty boxes where no emoji font is installed; Material Symbols ship
    with Streamlit. Every navigation entry has a Material icon and no emoji character."""
    open_app(page, app_url)
    links = page.locator(NAV_LINKS)
    assert links.count() >= len(PAGES)
    for i in range(links.count()):
        link = links.nth(i)
        assert link.locator('[data-testid="stIconMaterial"]').count() == 1, link.inner_text()
        assert not [ch for ch in link.inner_text() if unicodedata.category(ch) == "So"]


def test_every_page_opens_from_the_navigation(page, app_url):
    open_app(page, app_url)
    for title, path, shot, heading in PAGES:
        # Pages that load TensorFlow or a model on first open get a generous timeout.
        open_from_navigation(page, title, timeout_ms=180_000)
        page.wait_for_url(lambda url: url.rstrip("/") == (app_url + path).rstrip("/"))
        assert_no_exception(page, title)
        # the page's own title, not another page's or an empty frame
        h1 = page.locator('[data-testid="stMain"] h1')
        assert h1.count() == 1 and heading in h1.inner_text(), (title, h1.all_inner_texts())
        text = main_text(page)
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
