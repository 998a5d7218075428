"""MNIST training lab in Chromium: a tiny training run updates its chart live and shows its
results; a long run is ended by Stop, which keeps the partial history and model."""

import re

from drivers import (
    MNIST_RESULTS as RESULTS, chart_svg, metric, progress_text, runs_table, start_training,
    wait_until,
)
from harness import assert_no_exception, open_app, save_screenshot, wait_for_app_idle


def test_tiny_training_run_then_stop(page, app_url):
    open_app(page, f"{app_url}/mnist")
    main = page.locator('[data-testid="stMain"]')
    assert_no_exception(page, "mnist")
    assert main.get_by_text(RESULTS).count() == 0

    # 1. A tiny run of the default (fast) recipe: 2 epochs on 1,000 images.
    start_training(main, epochs=2, examples=1000)
    assert re.match(r"(starting|running) · epoch \d/2", progress_text(main)), progress_text(main)
    first = wait_until(lambda: main.locator('[data-testid="stVegaLiteChart"]').count() == 2
                       and chart_svg(main), 120, "the live loss chart")
    wait_until(lambda: chart_svg(main) != first, 120, "the loss chart to update")
    assert_no_exception(page, "mnist, training")
    save_screenshot(page, "mnist-training")

    wait_until(lambda: main.get_by_text(RESULTS, exact=True).count(), 240, "the results")
    wait_for_app_idle(page)
    assert_no_exception(page, "mnist, results")
    accuracy = float(metric(main, "test accuracy").rstrip("%")) / 100
    errors, total = map(lambda s: int(s.replace(",", "")), metric(main, "test errors").split(" / "))
    assert total == 10_000 and errors == round((1 - accuracy) * total)
    # 10 classes: chance is 10 %. A 2-epoch run on 1,000 images is not good (its batch norm
    # statistics have seen 16 steps), but it has learned something.
    assert accuracy > 0.2, accuracy
    assert progress_text(main).startswith("finished · epoch 2/2")
    save_screenshot(page, "mnist-results")

    # 2. A long run (30 epochs) ended by Stop after its first epoch.
    start_training(main, epochs=30, examples=1000)
    wait_until(lambda: re.search(r"epoch ([2-9]|\d\d)/30", progress_text(main)), 120,
               "the second epoch")
    main.get_by_role("button", name=re.compile("Stop")).click()
    wait_until(lambda: progress_text(main).startswith("stopped"), 120, "the run to stop")
    # The live fragment shows "stopped" first, then asks for the full rerun that redraws the
    # results and the runs table: wait for that rerun to reach the table.
    wait_until(lambda: runs_table(main).get("#2 fast", [None] * 3)[1] != "running", 60,
               "the runs table to show the stopped run")
    wait_for_app_idle(page)
    assert_no_exception(page, "mnist, stopped")
    table = runs_table(main)
    assert table["#1 fast"][1:3] == ["finished", "2/2"], table
    state, epochs = table["#2 fast"][1:3]
    assert state == "stopped" and 1 <= int(epochs.split("/")[0]) < 30, table
    assert main.get_by_role("button", name=re.compile("Stop")).count() == 0
    assert main.get_by_text(RESULTS, exact=True).count() == 1     # the partial model is scored
    save_screenshot(page, "mnist-stopped")
