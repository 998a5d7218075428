"""Nothing leaves the student's browser either: every request Chromium makes while each page
opens and runs goes to the CNN Lab server itself — no usage statistics, fonts, scripts or
images from anywhere else (tests/test_nothing_leaves.py checks the server's processes)."""

from urllib.parse import urlsplit

import pytest

from harness import assert_no_exception, open_app

PAGES = ["/", "/theory", "/calculator", "/mnist", "/classify", "/transfer"]


def origin(url):
    parts = urlsplit(url)
    return parts.scheme.replace("ws", "http", 1), parts.netloc


@pytest.fixture
def requests_elsewhere(page, app_url):
    """The URLs the page asks for anywhere but the app's server (data: and blob: URLs are
    in the page itself). Such a request is recorded and aborted: nothing reaches the network."""
    seen = []

    def elsewhere(url):
        return urlsplit(url).scheme not in ("data", "blob") and origin(url) != origin(app_url)

    def note(request):
        if elsewhere(request.url):
            seen.append(request.url)

    page.context.route(elsewhere, lambda route: route.abort())
    page.context.on("request", note)
    page.context.on("websocket", lambda socket: note(type("R", (), {"url": socket.url})))
    return seen


@pytest.mark.parametrize("path", PAGES)
def test_a_page_asks_nothing_of_any_other_host(page, app_url, requests_elsewhere, path):
    open_app(page, app_url.rstrip("/") + path)
    assert_no_exception(page, path)
    page.wait_for_timeout(1000)       # late requests (a beacon after the first render)
    assert requests_elsewhere == []


def test_the_check_sees_a_request_to_another_host(page, app_url, requests_elsewhere):
    """The recorder is not blind: a request the page makes elsewhere is seen (and aborted)."""
    open_app(page, app_url)
    page.evaluate("fetch('http://cnnlab-elsewhere.invalid/beacon').catch(() => null)")
    page.wait_for_timeout(500)
    assert requests_elsewhere == ["http://cnnlab-elsewhere.invalid/beacon"]
