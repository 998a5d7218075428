"""Architecture calculator in Chromium: the reference preset, the batch-size widget, and an
impossible layer typed into the layer table (error shown, then recovery)."""

from cnn_core.presets import PRESET_TITLES

from drivers import metric
from harness import assert_no_exception, open_app, save_screenshot, wait_for_app_idle

# The reference case by hand (issue 2): 200×300×3 float32 input = 720,000 bytes; feature maps
# 6,000,000 + 3,000,000 + 1,520,000 bytes; 903,400 parameters × 4 bytes = 3,613,600 bytes.
INPUT_BYTES, ACTIVATION_BYTES, PARAM_BYTES = 720_000, 10_520_000, 3_613_600


def bare_minimum_training_bytes(batch_size):
    return batch_size * (ACTIVATION_BYTES + INPUT_BYTES) + PARAM_BYTES


def choose_preset(page, main, title):
    main.locator('[data-testid="stSelectbox"]').filter(has_text="Preset").click()
    page.get_by_role("option", name=title, exact=True).click()
    wait_for_app_idle(page)


def type_into_layer_table(page, main, row, column, text):
    """Select a cell of the first ``st.data_editor`` (a canvas grid) and type a new value.

    Cell positions: a 35-px header row, 35-px rows; the first click lands on the ``type``
    column (right of the row-selection column), then arrow keys move to ``column``.
    """
    grid = main.locator('[data-testid="stDataFrame"]').first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 100, box["y"] + 35 * (row + 1) + 17)
    page.wait_for_timeout(300)            # the grid takes focus and draws its selection
    for _ in range(column):
        page.keyboard.press("ArrowRight")
    page.keyboard.type(text)
    page.wait_for_timeout(300)            # the cell editor opens with the typed text
    page.keyboard.press("Enter")
    wait_for_app_idle(page)


def test_reference_preset_batch_size_and_impossible_layer(page, app_url):
    open_app(page, f"{app_url}/calculator")
    main = page.locator('[data-testid="stMain"]')
    sidebar = page.locator('[data-testid="stSidebar"]')

    choose_preset(page, main, PRESET_TITLES["lenet5"])
    assert metric(main, "Parameters") != "903,400"
    choose_preset(page, main, PRESET_TITLES["exercise2"])
    assert_no_exception(page, "calculator, reference preset")
    assert metric(main, "Parameters") == "903,400"
    assert metric(main, "Predict one instance") == "12,613,600 B"
    assert metric(main, "Train, batch 50") == f"{bare_minimum_training_bytes(50):,} B"
    save_screenshot(page, "calculator-reference")

    batch = sidebar.get_by_label("batch size")
    batch.fill("100")
    batch.press("Enter")
    wait_for_app_idle(page)
    assert metric(main, "Train, batch 100") == f"{bare_minimum_training_bytes(100):,} B"
    assert main.get_by_text("Train, batch 50").count() == 0

    # Kernel size 0 in the first Conv2D row: an impossible layer.
    type_into_layer_table(page, main, row=0, column=2, text="0")
    error = main.locator('[data-testid="stAlert"]').filter(has_text="kernel")
    assert error.count() == 1, main.locator('[data-testid="stAlert"]').all_inner_texts()
    assert "Row 1" in error.inner_text()
    assert main.locator('[data-testid="stMetric"]').count() == 0      # no figures for it
    assert_no_exception(page, "calculator, impossible layer")
    save_screenshot(page, "calculator-impossible-layer")

    # Back to 3: the error goes and the reference figures return.
    type_into_layer_table(page, main, row=0, column=2, text="3")
    assert main.locator('[data-testid="stAlert"]').filter(has_text="kernel").count() == 0
    assert metric(main, "Parameters") == "903,400"
    assert metric(main, "Train, batch 100") == f"{bare_minimum_training_bytes(100):,} B"
    assert_no_exception(page, "calculator, recovered")
