"""Inside a CNN in Chromium: a digit drawn on the canvas with the mouse → every layer's maps
of the shipped MNIST CNN appear, described; a photo uploaded for SqueezeNet → a layer picked
→ its maps appear. Screenshots: test-artifacts/inside-drawn-digit.png, inside-photo.png."""

from drivers import wait_until
from harness import assert_no_exception, open_app, save_screenshot, wait_for_app_idle

from cnn_core.paths import DATA_DIR


def pick(page, main, label, option):
    main.locator('[data-testid="stSelectbox"]').filter(
        has=page.get_by_text(label, exact=True)).locator("input").click()
    page.keyboard.type(option)                  # the list is virtual: narrow it to the option
    page.get_by_role("option", name=option, exact=True).click()
    wait_for_app_idle(page, timeout_ms=180_000)


def map_alts(main):
    return main.locator('img[alt^="Feature maps of "]').evaluate_all(
        "images => images.map(i => i.alt)")


def test_a_drawn_digit_shows_every_layer(page, app_url):
    open_app(page, f"{app_url}/inside", timeout_ms=180_000)
    main = page.locator('[data-testid="stMain"]')
    assert_no_exception(page, "inside")
    assert any("for test image 0" in alt for alt in map_alts(main))     # opens on a test digit
    main.get_by_text("Draw", exact=True).click()
    wait_for_app_idle(page)
    canvas = main.locator("canvas").last            # fabric's upper canvas takes the pointer
    canvas.wait_for()
    box = canvas.bounding_box()
    strokes = [[(0.3, 0.25), (0.7, 0.25), (0.45, 0.8)]]                 # a 7
    for stroke in strokes:
        x, y = stroke[0]
        page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=15)
        page.mouse.up()
    wait_until(lambda: any("for your drawing" in alt for alt in map_alts(main)), 60,
               "the maps of the drawing")
    wait_for_app_idle(page)
    assert_no_exception(page, "inside, drawn digit")
    alts = map_alts(main)
    assert [alt.split(" (")[0] for alt in alts] == [
        "Feature maps of conv1", "Feature maps of pool1", "Feature maps of conv2",
        "Feature maps of pool2", "Feature maps of conv3"], alts
    assert all("for your drawing" in alt for alt in alts)
    save_screenshot(page, "inside-drawn-digit")


def test_an_uploaded_photo_then_a_layer(page, app_url):
    open_app(page, f"{app_url}/inside", timeout_ms=180_000)
    main = page.locator('[data-testid="stMain"]')
    pick(page, main, "Model", "SqueezeNet v1.1 (the Classify page's model)")
    main.get_by_text("Upload", exact=True).click()
    wait_for_app_idle(page)
    uploader = main.locator('[data-testid="stFileUploader"]')
    with page.expect_file_chooser() as chooser:
        uploader.locator("button").filter(has_text="Upload").click()
    chooser.value.set_files(str(DATA_DIR / "samples" / "raccoon.jpg"))
    wait_until(lambda: any("for raccoon.jpg" in alt for alt in map_alts(main)), 120,
               "the maps of the photo")
    wait_for_app_idle(page)
    assert_no_exception(page, "inside, photo")
    assert map_alts(main)[0].startswith("Feature maps of conv1 (Conv2D, 113×113×64) for "
                                        "raccoon.jpg")
    pick(page, main, "Layer", "6. fire2_concat")
    wait_until(lambda: map_alts(main) and map_alts(main)[0].startswith(
        "Feature maps of fire2_concat (Concatenate, 56×56×128) for raccoon.jpg: channels 1–64 "
        "of 128"), 60, "the picked layer's maps")
    assert_no_exception(page, "inside, layer picked")
    save_screenshot(page, "inside-photo")


def test_classify_hands_its_photo_over(page, app_url):
    """Classify's "Look inside" opens this page on the same model and photo."""
    open_app(page, f"{app_url}/classify", timeout_ms=180_000)
    main = page.locator('[data-testid="stMain"]')
    main.get_by_role("button", name="Look inside the network for this photo").first.click()
    wait_until(lambda: any("for cat_chelsea.png" in alt for alt in map_alts(main)), 120,
               "the Inside page")
    assert page.url.endswith("/inside"), page.url
    wait_for_app_idle(page)
    assert_no_exception(page, "inside, from classify")
    assert main.locator('img[alt^="cat_chelsea.png as the network sees it (227×227"]').count() == 1
