"""Accessibility in Chromium (issue 23): every page meets WCAG 2.1 A and AA as axe-core judges
it, at a desktop and a phone viewport; the keyboard reaches every control in document order,
each with a visible focus, and a page's main action works without a pointer. The main actions
that train (MNIST, your own classes) are judged at the end of their own flows
(test_browser_mnist.py, test_browser_transfer.py). What is checked: docs/accessibility.md.
"""

import json
import re
import shutil
import tomllib

import numpy as np
import pytest

from cnn_core.imagenet.views import REGIONS
from cnn_core.paths import DATA_DIR

from accessibility import (
    DESKTOP, DISABLED_CONTRAST, PHONE, assert_accessible, keyboard_problems, luminance,
    page_problems, problems_at, tab_through,
)
from drivers import metric, payload, result_block
from harness import (
    REPO_ROOT, StreamlitServer, assert_no_exception, open_app, save_screenshot,
    wait_for_app_idle,
)

# (name, URL path, the label of the page's main control: it must be reached by Tab, and the
# pictures and charts the page draws as it opens: what axe must have seen)
PAGES = [
    ("home", "/", "Step 5: Teach your own classes", 0, 0),
    ("theory", "/theory", "Show the answers", 6 + 3, 2),              # shifted digits, pooling
    ("calculator", "/calculator", "Build a network", 0, 1),
    ("mnist", "/mnist", "Train", 0, 0),
    ("classify", "/classify", "Upload", 3 * (4 + 1), 3),   # 3 samples: 4 steps, Grad-CAM, top-5
    ("transfer", "/transfer", "Add class", 0, 0),
    # the shipped MNIST CNN on test digit 0: the digit, 7 layers, the kernels, Grad-CAM, the
    # enlarged channel (in its expander); the filter heatmap
    ("inside", "/inside", "Run occlusion for “7” (17 forward passes)", 11, 1),
]
IDS = [p[0] for p in PAGES]
POSITIVE_TABINDEX = "() => document.querySelectorAll('[tabindex]:not([tabindex^=\"-\"])" \
                    ":not([tabindex=\"0\"])').length"


def open_page(browser, app_url, path, viewport):
    """A fresh session (its own browser context) showing ``path`` at ``viewport``."""
    context = browser.new_context(viewport=viewport)
    context.set_default_timeout(30_000)
    page = context.new_page()
    open_app(page, app_url + path, timeout_ms=180_000)     # a model loads on first use
    assert_no_exception(page, path)
    if viewport is PHONE:                  # the sidebar collapses once the page has measured
        page.wait_for_selector('[data-testid="stSidebar"][data-collapsed="true"]',
                               state="attached")
    return page


def reaches(stops, label):
    """Whether a stop is named ``label`` (after its Material icon's name, if it has one)."""
    return any(stop["name"].endswith(label) for stop in stops)


def contrast(foreground, background="#ffffff", alpha=1.0):
    """WCAG contrast ratio of a hex colour drawn at ``alpha`` over a hex background."""
    rgb = [np.array([int(c[i:i + 2], 16) for i in (1, 3, 5)], float)
           for c in (foreground, background)]
    drawn = np.rint(alpha * rgb[0] + (1 - alpha) * rgb[1]).astype(np.uint8)
    high, low = sorted([luminance(drawn), luminance(rgb[1].astype(np.uint8))], reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_theme_colours_meet_wcag_21_aa():
    """.streamlit/config.toml's colours, by the WCAG formula (docs/accessibility.md has the
    figures): text and captions (Streamlit draws them at 60 % of the text colour, as our styles
    draw disabled controls) 4.5:1 on both backgrounds; the primary colour 4.5:1 on both and
    under white button text; every chart colour 3:1 on white, also at the area chart's 75 %."""
    theme = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())["theme"]
    text, primary = theme["textColor"], theme["primaryColor"]
    for background in (theme["backgroundColor"], theme["secondaryBackgroundColor"]):
        assert contrast(text, background, 0.6) >= 4.5, background
        assert contrast(theme["codeTextColor"], background, 0.6) >= 4.5, background
        assert contrast(primary, background) >= 4.5, background
    assert contrast("#ffffff", primary) >= 4.5
    for colour in theme["chartCategoricalColors"]:
        assert contrast(colour, alpha=0.75) >= 3, colour
    # Streamlit's own: its default text colour's captions fail (3.9:1), as axe found
    assert contrast("#2f2d2b", alpha=0.6) < 4.5


@pytest.mark.parametrize("name, path, main_control, images, charts", PAGES, ids=IDS)
def test_page_meets_wcag_21_aa(browser, app_url, name, path, main_control, images, charts):
    """axe-core finds no WCAG 2.1 A/AA violation, and every chart's text and marks contrast,
    on the page as it opens, at 1400×1000 and at 390×844 (a phone, where the sidebar starts
    collapsed), with all its pictures and charts drawn. The phone screenshots are for a person
    to look at."""
    found, judged = [], []
    for viewport in (DESKTOP, PHONE):
        page = open_page(browser, app_url, path, viewport)
        try:
            found.append(problems_at(page, name, judged))
            if viewport is PHONE:
                save_screenshot(page, f"accessibility-{name}-phone")
        finally:
            page.context.close()
    assert [j["drawn"][:2] for j in judged] == [[images, charts]] * 2, judged
    found = [f for f in found if f]
    assert not found, "WCAG 2.1 A/AA violations:\n" + "\n".join(found)


@pytest.mark.parametrize("name, path, main_control, images, charts", PAGES, ids=IDS)
def test_the_keyboard_reaches_every_control_with_a_visible_focus(browser, app_url, name, path,
                                                                  main_control, images, charts):
    """Tab from the top: the skip link comes first, the page's main control is reached, every
    stop can be seen and every kind of control shows its focus (desktop); on a phone, Tab does
    not walk through the collapsed sidebar, and every stop can be seen."""
    page = open_page(browser, app_url, path, DESKTOP)
    try:
        assert page.evaluate(POSITIVE_TABINDEX) == 0      # Tab follows the document's order
        stops = tab_through(page)
        assert stops[0]["name"] == "Skip to main content", stops[:3]
        assert reaches(stops, main_control), [s["name"] for s in stops]
        assert not keyboard_problems(stops), keyboard_problems(stops)
    finally:
        page.context.close()
    page = open_page(browser, app_url, path, PHONE)
    try:
        stops = tab_through(page, indicators=False)
        assert reaches(stops, main_control), [s["name"] for s in stops]
        assert not keyboard_problems(stops), keyboard_problems(stops)
        names = [s["name"] for s in stops]
        assert "Expand sidebar" in names, names
        assert not [s for s in stops if "stSidebar" in s["kind"]], names     # hidden, skipped
    finally:
        page.context.close()


def test_the_collapsed_sidebar_opens_from_the_keyboard(browser, app_url):
    """On a phone the navigation is one Enter away: "Expand sidebar", then Tab reaches it."""
    page = open_page(browser, app_url, "/", PHONE)
    try:
        tab_through(page, stop=lambda name: name == "Expand sidebar", indicators=False)
        page.keyboard.press("Enter")
        page.wait_for_timeout(500)                           # the sidebar slides in
        stops = tab_through(page, stop=lambda name: name.endswith("MNIST training"),
                            indicators=False)
        assert stops[-1]["name"].endswith("MNIST training") and stops[-1]["shown"], stops
        page.keyboard.press("Enter")
        page.wait_for_url(f"{app_url}/mnist")
    finally:
        page.context.close()


def test_a_network_imported_with_the_keyboard_meets_wcag(page, app_url):
    """The calculator's import, keyboard only: the Import tab, the JSON typed into the text
    box, Ctrl+Enter; the report and its working (opened with Enter) meet WCAG 2.1 AA."""
    model = {"class_name": "Sequential", "config": {"layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, 28, 28, 1]}},
        {"class_name": "Conv2D", "config": {"filters": 32, "kernel_size": [3, 3]}},
        {"class_name": "Flatten", "config": {}},
        {"class_name": "Dense", "config": {"units": 10}}]}}
    open_app(page, f"{app_url}/calculator")
    stops = tab_through(page, stop=lambda name: name.endswith("Build a network"),
                        indicators=False)
    assert stops[-1]["name"].endswith("Build a network"), [s["name"] for s in stops]
    page.keyboard.press("ArrowRight")                     # the next tab: Import a Keras model
    wait_for_app_idle(page)
    stops = tab_through(page, stop=lambda name: name == "…or paste the JSON here", indicators=False)
    assert stops[-1]["name"] == "…or paste the JSON here", [s["name"] for s in stops]
    page.keyboard.insert_text(json.dumps(model))
    page.keyboard.press("Control+Enter")
    wait_for_app_idle(page)
    shown = page.locator('[role="tabpanel"]:visible')             # the Import tab's panel
    assert shown.get_by_text("Imported 3 layer calls, input 28 × 28 × 1.").count() == 1
    # by hand: conv (3·3·1 + 1)·32 = 320; dense 26·26·32 inputs · 10 units + 10 biases
    assert metric(shown, "Parameters") == f"{320 + 26 * 26 * 32 * 10 + 10:,}"
    stops = tab_through(page, stop=lambda name: "Shape and parameter working" in name,
                        indicators=False)
    page.keyboard.press("Enter")
    wait_for_app_idle(page)
    assert page.get_by_role("columnheader", name="shape working").count() == 1, stops[-1]
    assert_no_exception(page, "calculator, imported")
    assert_accessible(page, "calculator, a network imported",
                      screenshot="accessibility-calculator-imported")


def test_a_photo_uploaded_with_the_keyboard_is_described(page, app_url):
    """Classify, keyboard only: Upload, Enter, a photo; its pictures, top-5 and Grad-CAM have
    alternative texts computed from the result, and the page meets WCAG 2.1 AA."""
    photo = DATA_DIR / "samples" / "cat_chelsea.png"
    open_app(page, f"{app_url}/classify", timeout_ms=180_000)
    # Listening first: expect_file_chooser() asks Chromium to catch the chooser without waiting
    # for its answer, and a key press can beat that request (1 run in 3 here).
    choosers = []
    page.on("filechooser", lambda chooser: choosers.append(chooser))
    stops = tab_through(page, stop=lambda name: name.endswith("Upload"), indicators=False)
    assert stops[-1]["name"].endswith("Upload"), [s["name"] for s in stops]
    page.keyboard.press("Enter")
    for _ in range(300):                    # Playwright hands over events while it waits
        if choosers:
            break
        page.wait_for_timeout(100)
    assert choosers, "Enter on Upload opened no file chooser in 30 s"
    choosers[0].set_files([payload("keyboard_cat.png", photo.read_bytes(), "image/png")])
    page.get_by_text("No upload yet").wait_for(state="detached", timeout=120_000)
    wait_for_app_idle(page, timeout_ms=120_000)
    block = result_block(page, "keyboard_cat.png")
    alts = block.locator("img").evaluate_all("images => images.map(i => i.alt)")
    assert alts[:4] == [f"keyboard_cat.png, step {i} of 4: {caption}" for i, caption in (
        (1, "Original 451×300 RGB (EXIF applied)."),
        (2, "RGB, 8 bits, alpha on white (the same picture as step 1: nothing to change)."),
        (3, "Centre crop 300×300."), (4, "Resized 227×227."))], alts
    assert re.fullmatch(rf"Grad-CAM of keyboard_cat.png for “.+” \(.+\): strongest over the "
                        rf"({'|'.join(name for row in REGIONS for name in row)})\.", alts[4]), alts
    chart = block.locator('[data-testid="stVegaLiteChart"]').first
    assert chart.get_attribute("aria-label").startswith("Top-5 for keyboard_cat.png: "), \
        chart.get_attribute("aria-label")
    assert_no_exception(page, "classify, keyboard upload")
    assert_accessible(page, "classify, a photo classified with Grad-CAM",
                      screenshot="accessibility-classify-uploaded")


# Every kind of widget the pages use, disabled, under the app's theme and its own styles
# (streamlit_app.accessibility_style); ?plain leaves the styles out.
DISABLED_WIDGETS = f"""
import sys
sys.path.insert(0, {str(REPO_ROOT)!r})
import streamlit as st
from streamlit_app import accessibility_style

if "plain" not in st.query_params:
    st.html(accessibility_style())
st.button("A button", disabled=True)
st.button("A primary button", disabled=True, type="primary")
st.toggle("A toggle", disabled=True)
st.number_input("A number", 0, 10, 3, disabled=True)
st.selectbox("A choice", ["one", "two"], disabled=True)
st.text_input("A text", "typed", disabled=True)
st.slider("A slider", 0, 10, 4, disabled=True)
st.radio("A radio", ["a", "b"], disabled=True)
st.file_uploader("Photos", disabled=True)
"""


def test_disabled_widgets_stay_legible(browser, tmp_path):
    """A greyed-out widget's label, value and button text pass 4.5:1 with the app's styles
    (Streamlit's own 40 % text colour, 2.6:1, is what the check finds without them)."""
    (tmp_path / ".streamlit").mkdir()
    shutil.copy(REPO_ROOT / ".streamlit" / "config.toml", tmp_path / ".streamlit")
    (tmp_path / "streamlit_app.py").write_text(DISABLED_WIDGETS)
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    try:
        with StreamlitServer(root=tmp_path, log_name="streamlit-server-disabled.log") as server:
            open_app(page, server.url)
            assert_no_exception(page, "disabled widgets")
            found = page_problems(page)
            assert found["drawn"][2] >= 9, found["drawn"]                 # every widget
            assert not found["violations"] and not found["contrast"], found
            open_app(page, server.url + "/?plain")
            plain = page.evaluate(DISABLED_CONTRAST)
            ratios = [float(line.rsplit(" ", 1)[1].removesuffix(":1")) for line in plain]
            assert len(plain) >= 9 and max(ratios) < 3, plain     # each widget, at 40 %
    finally:
        context.close()
