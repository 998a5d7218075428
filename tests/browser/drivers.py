"""Driving CNN Lab's pages in Chromium: read what Streamlit elements show (metrics, SVG
charts, canvas data grids), fill widgets, upload through the file chooser, wait for live pages.
Used by the browser tests; each helper names the Streamlit element it relies on."""

import re
import time

from harness import wait_for_app_idle

MNIST_RESULTS = "Results on the test set"


def wait_until(condition, timeout_s, what, interval_s=0.5):
    """Poll ``condition()`` (bounded); return its first truthy value or fail naming ``what``.

    For pages that rerun on their own (the MNIST page's live fragment), where "the app is idle"
    is not a state to wait for.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval_s)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


# --- reading elements ----------------------------------------------------------------------


def metric(main, label):
    """The value shown by the ``st.metric`` whose label starts with ``label``."""
    box = main.locator('[data-testid="stMetric"]').filter(
        has=main.page.locator('[data-testid="stMetricLabel"]', has_text=label))
    return box.locator('[data-testid="stMetricValue"]').first.inner_text().strip()


def dataframe_rows(frame):
    """Cell texts of an ``st.dataframe`` (a canvas grid; its accessible table holds the text)."""
    return frame.locator('tr[role="row"]').evaluate_all(
        "rows => rows.map(r => Array.from(r.querySelectorAll('td[role=gridcell]'))"
        ".map(c => c.textContent.trim()))")


def errors_shown(page):
    """Texts of the ``st.error`` boxes in the main area."""
    return page.locator('[data-testid="stMain"] [data-testid="stAlert"]').filter(
        has=page.locator('[data-testid="stAlertContentError"]')).all_inner_texts()


# --- widgets -------------------------------------------------------------------------------


def set_number(main, label, value):
    """Type into the ``st.number_input`` labelled ``label`` and commit with Enter."""
    field = main.get_by_label(label, exact=True)
    field.fill(str(value))
    field.press("Enter")
    wait_for_app_idle(main.page)


# --- Classify page -------------------------------------------------------------------------


def payload(name, data, mime_type="application/octet-stream"):
    """A file for the file chooser, from bytes."""
    return {"name": name, "mimeType": mime_type, "buffer": data}


def upload_through_file_chooser(page, files, expect_run=True):
    """Click the uploader's button, answer the OS file chooser with ``files``, wait for the run.

    ``files``: paths, or ``payload()`` dicts (Playwright does not mix the two).
    ``expect_run``: False when the browser itself refuses the files (no rerun follows).
    """
    uploader = page.locator('[data-testid="stFileUploader"]').filter(has_text="Photos")
    samples_note = page.get_by_text("No upload yet")
    with page.expect_file_chooser() as chooser:
        uploader.locator("button").filter(has_text="Upload").click()
    chooser.value.set_files(files)
    # Under load the rerun can start well after the short idle settle: the samples' note going
    # away is the sign that a run with the upload has rendered (a no-op if it was not shown).
    if expect_run:
        samples_note.wait_for(state="detached", timeout=120_000)
    wait_for_app_idle(page, timeout_ms=120_000)


def result_block(page, name):
    """The bordered block holding one photo's result (the innermost one with its heading)."""
    heading = page.get_by_role("heading", name=name, exact=True)
    return page.locator('[data-testid="stVerticalBlock"]').filter(has=heading).last


def read_top5(block):
    """(labels, probabilities) from the SVG bar chart: y-axis labels and the % text marks."""
    chart = block.locator('[data-testid="stVegaLiteChart"]').first
    # Vega draws the SVG after Streamlit mounts the element: wait for the percentage labels.
    chart.locator(".mark-text.role-mark text").first.wait_for(state="attached")
    texts = "els => els.map(e => e.textContent)"       # SVG text has no innerText
    labels = chart.locator('g[aria-label^="Y-axis"] .role-axis-label text').evaluate_all(texts)
    percents = chart.locator(".mark-text.role-mark text").evaluate_all(texts)
    return labels, [float(p.rstrip("%")) / 100 for p in percents]


# --- MNIST page ----------------------------------------------------------------------------


def progress_text(main):
    return main.locator('[data-testid="stProgress"]').inner_text().strip()


def chart_svg(main, index=0):
    """The SVG markup of a live chart (it changes whenever the chart is redrawn with new data)."""
    return main.locator('[data-testid="stVegaLiteChart"]').nth(index).inner_html()


def mnist_button(main, label):
    """A button of the MNIST page (its Material icon's name precedes the label)."""
    return main.get_by_role("button", name=re.compile(rf"\b{label}$"))


def start_training(main, epochs, examples):
    """Train (or queue) the selected recipe (the default: fast) with these settings."""
    set_number(main, "Epochs", epochs)
    set_number(main, "Training examples", examples)
    mnist_button(main, "Train").click()
    wait_until(lambda: main.locator('[data-testid="stProgress"]').count(), 60, "a progress bar")


def runs_table(main, timeout_s=60):
    """{run label: row} of the page's "This session's runs" table (columns run, state, epochs),
    once the table is on the page and its grid has drawn its rows."""
    wait_until(lambda: main.get_by_text("This session's runs").count(), timeout_s,
               "the table of this session's runs")
    frame = main.locator('[data-testid="stDataFrame"]').last
    rows = wait_until(lambda: [row for row in dataframe_rows(frame) if row], timeout_s,
                      "the rows of the runs table")
    return {row[0]: row for row in rows}
