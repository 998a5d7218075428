"""Classify page in Chromium: photos uploaded through the file chooser get a top-5 whose
probabilities sum to at most 1; corrupt files get an error naming them while the good photo of
the same upload is still classified, and the server keeps answering."""

import re
import urllib.request

from cnn_core.paths import DATA_DIR

from drivers import errors_shown, payload, read_top5, result_block, upload_through_file_chooser
from harness import assert_no_exception, open_app, save_screenshot

CAT_PHOTO = DATA_DIR / "samples" / "cat_chelsea.png"
# ImageNet's domestic and wild cat classes (the 1000 class names, indices 281–293).
CAT_WORDS = ("cat", "lynx", "cougar", "tiger", "leopard", "jaguar", "lion", "cheetah")
CAT_UPLOAD = payload(CAT_PHOTO.name, CAT_PHOTO.read_bytes(), "image/png")
CORRUPT = {
    "not-a-photo.jpg": b"This is a shopping list, not a photo.\nmilk\neggs\n",
    "truncated.png": CAT_PHOTO.read_bytes()[:5000],
}


def test_uploaded_photo_gets_a_top5(page, app_url):
    open_app(page, f"{app_url}/classify", timeout_ms=180_000)    # loads the model on first use
    assert_no_exception(page, "classify, samples")
    upload_through_file_chooser(page, [CAT_PHOTO])
    assert_no_exception(page, "classify, uploaded photo")

    main = page.locator('[data-testid="stMain"]')
    assert main.get_by_role("heading", level=3).all_inner_texts() == [CAT_PHOTO.name]
    labels, probabilities = read_top5(result_block(page, CAT_PHOTO.name))
    assert len(labels) == 5 and len(probabilities) == 5, (labels, probabilities)
    assert probabilities == sorted(probabilities, reverse=True)
    # Shown rounded to 0.1 %: five roundings add at most 0.25 %.
    assert 0 < sum(probabilities) <= 1 + 5 * 0.0005, probabilities
    assert any(word in label.lower() for label in labels for word in CAT_WORDS), labels
    # Through the network (with its time), or from the shared cache: the same bytes as a sample.
    assert re.search(r"1 photo\(s\): (1 through the network, [\d,]+ ms per image; 0|1) already "
                     r"classified", main.inner_text())
    save_screenshot(page, "classify-upload")


def test_the_sidebar_names_the_model_in_use_and_the_fallback(page, app_url):
    """What the page says is what cnn_core's one fallback rule decides on this server; with no
    Inception v3 weights here the page offers them as a download, with their size."""
    from cnn_core.imagenet.models import serving_model

    open_app(page, f"{app_url}/classify", timeout_ms=180_000)
    assert_no_exception(page, "classify, first visit")
    sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
    serving = serving_model("inception_v3")
    if serving.note:
        assert "In use: SqueezeNet v1.1 (fallback: Inception v3 weights missing)" in sidebar
        # the button is drawn with the banner; wait for it (a fixed count raced a slow render)
        page.get_by_role("button", name="Download Inception v3 weights (96 MB)").first.wait_for(
            state="visible", timeout=30_000)
        assert page.get_by_text("Inception v3 is not available here").count() == 1
    else:
        assert "In use: Inception v3," in sidebar
    assert len(read_top5(result_block(page, "cat_chelsea.png"))[0]) == 5
    save_screenshot(page, "classify-fallback")


def test_corrupt_files_show_errors_while_the_good_photo_still_shows(page, app_url):
    open_app(page, f"{app_url}/classify", timeout_ms=180_000)
    files = [CAT_UPLOAD] + [payload(name, data) for name, data in CORRUPT.items()]
    upload_through_file_chooser(page, files)
    assert_no_exception(page, "classify, corrupt upload")

    errors = errors_shown(page)
    assert len(errors) == len(CORRUPT), errors
    for name in CORRUPT:
        assert sum(error.startswith(name) for error in errors) == 1, (name, errors)
    labels, probabilities = read_top5(result_block(page, CAT_PHOTO.name))
    assert len(labels) == 5 and sum(probabilities) <= 1.0025
    save_screenshot(page, "classify-corrupt")


def test_malformed_corpus_upload_keeps_the_server_answering(page, app_url):
    """The whole generated corpus of broken files (tests/test_hardening.py) in one upload."""
    from test_hardening import MALFORMED

    open_app(page, f"{app_url}/classify", timeout_ms=180_000)
    files = [payload(name, data) for name, data in MALFORMED.items()] + [CAT_UPLOAD]
    upload_through_file_chooser(page, files)
    assert_no_exception(page, "classify, malformed corpus")
    errors = errors_shown(page)
    assert sorted(e.split(":")[0] for e in errors) == sorted(MALFORMED), errors
    assert len(read_top5(result_block(page, CAT_PHOTO.name))[0]) == 5
    with urllib.request.urlopen(f"{app_url}/_stcore/health", timeout=5) as response:
        assert response.read() == b"ok"


def test_file_over_the_upload_limit_is_refused_in_the_browser(page, app_url):
    """``server.maxUploadSize`` (MB) from .streamlit/config.toml: a bigger file is refused by
    the uploader with a message, never reaches the server, and the page stays as it was."""
    import tomllib

    from cnn_core.paths import REPO_ROOT

    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())
    limit_mb = config["server"]["maxUploadSize"]
    open_app(page, f"{app_url}/classify", timeout_ms=180_000)
    too_big = payload("huge.jpg", b"\xff\xd8\xff" + bytes(limit_mb * 1024 * 1024 + 1024))
    upload_through_file_chooser(page, [too_big], expect_run=False)
    uploader = page.locator('[data-testid="stFileUploader"]')
    assert uploader.get_by_text(re.compile(r"File must be .* or smaller")).count() == 1
    assert page.get_by_role("heading", name="huge.jpg").count() == 0
    assert page.get_by_text("No upload yet").count() == 1        # still showing the samples
    assert_no_exception(page, "classify, file over the limit")
