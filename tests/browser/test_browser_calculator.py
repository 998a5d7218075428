"""Architecture calculator in Chromium: the reference preset, a batch beyond the device, values
typed into the layer table that must be refused (not silently changed), and a shared link that
reproduces a network — or, when malformed, says so and shows the default one."""

from urllib.parse import parse_qs, urlsplit

from cnn_core.networks.presets import PRESET_TITLES

from drivers import errors_shown, metric
from harness import assert_no_exception, open_app, save_screenshot, wait_for_app_idle

# The reference case by hand (issue 2): 200×300×3 float32 input = 720,000 bytes; feature maps
# 6,000,000 + 3,000,000 + 1,520,000 bytes; 903,400 parameters × 4 bytes = 3,613,600 bytes.
INPUT_BYTES, ACTIVATION_BYTES, PARAM_BYTES = 720_000, 10_520_000, 3_613_600
# Adam keeps 2 copies of the parameters, the gradients one more: 3 × 3,613,600 bytes.
ADAM_AND_GRADIENTS = 3 * PARAM_BYTES


def bare_minimum_training_bytes(batch_size):
    return batch_size * (ACTIVATION_BYTES + INPUT_BYTES) + PARAM_BYTES


def choose_preset(page, main, title):
    main.locator('[data-testid="stSelectbox"]').filter(has_text="Preset").click()
    page.get_by_role("option", name=title, exact=True).click()
    wait_for_app_idle(page)


def type_into_layer_table(page, main, row, column, text):
    """Select a cell of the first ``st.data_editor`` (a canvas grid) and type a new value.

    Cell positions: a 35-px header row, 35-px rows; the first click lands on the ``type``
    column (right of the row-selection column), then arrow keys move to ``column``. Enter
    opens the cell's editor (typing straight into the grid drops a leading '-'), the old text
    is selected and replaced.
    """
    grid = main.locator('[data-testid="stDataFrame"]').first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 100, box["y"] + 35 * (row + 1) + 17)
    page.wait_for_timeout(300)            # the grid takes focus and draws its selection
    for _ in range(column):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    page.wait_for_timeout(300)
    page.keyboard.press("Control+A")
    if text:
        page.keyboard.type(text)
    else:
        page.keyboard.press("Backspace")
    page.wait_for_timeout(300)            # the cell editor opens with the typed text
    page.keyboard.press("Enter")
    wait_for_app_idle(page)


def test_reference_preset_batch_size_and_refused_cells(page, app_url):
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

    # A batch far beyond an 11 GB device: said plainly, with thousands separators.
    batch = sidebar.get_by_label("batch size")
    batch.fill("100000")
    batch.press("Enter")
    wait_for_app_idle(page)
    total = bare_minimum_training_bytes(100_000) + ADAM_AND_GRADIENTS
    assert metric(main, "Train, batch 100,000") == f"{bare_minimum_training_bytes(100_000):,} B"
    # largest batch on 16 GB: (16e9 − 3 × 3,613,600 fixed) // 11,240,000 per instance = 1,422
    fits = (16 * 10**9 - PARAM_BYTES - ADAM_AND_GRADIENTS) // (ACTIVATION_BYTES + INPUT_BYTES)
    warning = main.locator('[data-testid="stAlert"]').filter(has_text="does not fit")
    assert warning.count() == 1
    assert (f"Batch 100,000 needs {total / 10**12:.2f} TB" in warning.inner_text()
            and f"fits at most {fits:,}" in warning.inner_text())
    save_screenshot(page, "calculator-batch-beyond-device")
    batch.fill("100")
    batch.press("Enter")
    wait_for_app_idle(page)
    assert metric(main, "Train, batch 100") == f"{bare_minimum_training_bytes(100):,} B"

    # Values that used to be silently changed (1.5 → 15, -5 → 5, 3x → 3, empty → a default)
    # are refused, with the row, the column and the value named, and no figures computed from a
    # guess.
    for column, name, text, good in [(1, "filters_units", "1.5", "100"),
                                     (1, "filters_units", "-5", "100"), (2, "kernel", "3x", "3"),
                                     (3, "stride", "", "2")]:
        type_into_layer_table(page, main, row=0, column=column, text=text)
        shown = errors_shown(page)
        said = f"'{text}'" if text else "empty"
        assert any(f"Row 1 (Conv2D), {name}: {said}" in e for e in shown), shown
        assert main.locator('[data-testid="stMetric"]').count() == 0
        assert_no_exception(page, f"calculator, {name}={text}")
        if text == "1.5":
            save_screenshot(page, "calculator-refused-cell")
        type_into_layer_table(page, main, row=0, column=column, text=good)
        assert not errors_shown(page)
    assert metric(main, "Parameters") == "903,400"
    assert metric(main, "Train, batch 100") == f"{bare_minimum_training_bytes(100):,} B"

    # The URL follows the state, and the link shown to copy is that URL.
    query = parse_qs(urlsplit(page.url).query)
    assert query["batch"] == ["100"] and query["preset"] == ["exercise2"]
    code = main.locator('[data-testid="stCode"]')
    link = code.inner_text().strip()
    assert parse_qs(urlsplit(link).query) == query and link.startswith(f"{app_url}/calculator?")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=app_url)
    code.hover()
    code.get_by_role("button", name="Copy to clipboard").click()  # st.code's own copy button
    assert page.evaluate("navigator.clipboard.readText()").strip() == link


def test_shared_link_reproduces_a_network_and_a_bad_one_says_so(page, app_url):
    # 2 conv layers (7 and 5 filters) on 32×32×1, SGD, batch 8, float16, 8 GB: by hand,
    # parameters (3·3·1 + 1)·7 + (3·3·7 + 1)·5 = 70 + 320 = 390.
    link = (f"{app_url}/calculator?preset=lenet5&input=32x32x1"
            "&layers=Conv2D,7,3,1,same,1;Conv2D,5,3,2,valid,1;Flatten;Dense,2,,,,0"
            "&dtype=float16&optimizer=sgd&gradients=0&batch=8&device=8")
    open_app(page, link)
    main = page.locator('[data-testid="stMain"]')
    assert not errors_shown(page)
    # Dense: 15×15×5 = 1,125 inputs × 2 units, no bias = 2,250
    assert metric(main, "Parameters") == f"{390 + 2_250:,}"
    # float16: 2 bytes; per instance conv 32·32·7 + conv 15·15·5 + flatten 1,125 + dense 2
    # + the 32·32 input; + 2,640 parameters
    per_instance = 32 * 32 * 7 + 15 * 15 * 5 + 1_125 + 2 + 32 * 32
    assert metric(main, "Train, batch 8") == f"{(8 * per_instance + 2_640) * 2:,} B"
    save_screenshot(page, "calculator-shared-link")

    open_app(page, f"{app_url}/calculator?preset=nope&batch=1e9&layers=" + "[" * 5000)
    shown = errors_shown(page)
    assert any("unknown preset 'nope'" in e and "default network" in e for e in shown), shown
    assert metric(main, "Parameters") == "903,400"
    assert_no_exception(page, "calculator, hostile link")
    save_screenshot(page, "calculator-bad-link")
