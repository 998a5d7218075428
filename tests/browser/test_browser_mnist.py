"""MNIST training lab in Chromium: a tiny run updates its chart live and shows its results,
which meet WCAG 2.1 AA with a test digit tried from the keyboard alone; a long run is ended by
Stop, which keeps the partial history and model; three sessions press Train at once and are
served first come, first served; a queued job is cancelled; a tab closed while queued leaves
the queue."""

import re
import time

from accessibility import assert_accessible, tab_through
from drivers import (
    MNIST_RESULTS as RESULTS, chart_svg, metric, mnist_button, progress_text, runs_table,
    set_number, start_training, wait_until,
)
from harness import assert_no_exception, open_app, save_screenshot, wait_for_app_idle


def mnist_page(browser, app_url):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    open_app(page, f"{app_url}/mnist")
    return page, page.locator('[data-testid="stMain"]')


def try_a_test_digit_with_the_keyboard(page, main):
    """The canvas's alternative that needs no pointer (and no file): Tab to the "Draw" tab,
    two arrows right to "A test digit", Tab to its number, type it, Enter: the network's
    reading of MNIST's test image 0 appears, its picture described."""
    stops = tab_through(page, stop=lambda name: name == "Draw", indicators=False)
    assert stops[-1]["name"] == "Draw", [s["name"] for s in stops]
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    stops = tab_through(page, stop=lambda name: name.startswith("Test image number"),
                        indicators=False)
    assert stops[-1]["name"].startswith("Test image number"), [s["name"] for s in stops]
    page.keyboard.type("0")
    page.keyboard.press("Enter")
    wait_for_app_idle(page)
    assert re.fullmatch(r"\d \(\d+\.\d%\)", metric(main, "prediction")), metric(main, "prediction")
    seen = main.locator('img[alt^="Your digit, white on black"]')
    assert seen.count() == 1 and "; read as " in seen.get_attribute("alt")


def test_tiny_training_run_then_stop(page, app_url):
    open_app(page, f"{app_url}/mnist")
    main = page.locator('[data-testid="stMain"]')
    assert_no_exception(page, "mnist")
    assert main.get_by_text(RESULTS).count() == 0

    # 1. A tiny run of the default (fast) recipe: 2 epochs on 1,000 images.
    start_training(main, epochs=2, examples=1000)
    assert re.match(r"(starting|running)", progress_text(main)), progress_text(main)
    first = wait_until(lambda: main.locator('[data-testid="stVegaLiteChart"]').count() == 2
                       and chart_svg(main), 180, "the live loss chart")
    wait_until(lambda: chart_svg(main) != first, 120, "the loss chart to update")
    assert_no_exception(page, "mnist, training")
    # Stop sits beside the progress bar, inside the first screen at 1400×900
    stop = mnist_button(main, "Stop").bounding_box()
    bar = main.locator('[data-testid="stProgress"]').bounding_box()
    assert abs(stop["y"] - bar["y"]) < 60 and stop["y"] + stop["height"] < 900, (stop, bar)
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
    assert main.get_by_text("Draw a digit, white on black").count() == 1
    save_screenshot(page, "mnist-results")
    try_a_test_digit_with_the_keyboard(page, main)
    assert_accessible(page, "mnist, a finished run and a test digit",
                      screenshot="accessibility-mnist-results")

    # 2. A long run (30 epochs) ended by Stop after its first epoch.
    start_training(main, epochs=30, examples=1000)
    wait_until(lambda: re.search(r"epoch ([2-9]|\d\d)/30", progress_text(main)), 120,
               "the second epoch")
    mnist_button(main, "Stop").click()
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
    assert mnist_button(main, "Stop").count() == 0
    assert main.get_by_text(RESULTS, exact=True).count() == 1     # the partial model is scored
    save_screenshot(page, "mnist-stopped")


def test_three_sessions_train_first_come_first_served(browser, app_url):
    sessions = [mnist_page(browser, app_url) for _ in range(3)]
    try:
        # The first job is long enough (3 epochs on 3,000 images) that the others are still
        # queued behind it when the test reads their places; a 300-image job ends in seconds on
        # a quiet machine, before the third session has pressed Train.
        for i, (_, main) in enumerate(sessions):
            set_number(main, "Epochs", 3 if i == 0 else 1)
            set_number(main, "Training examples", 3000 if i == 0 else 300)
        for _, main in sessions:  # press Train one after the other, as fast as the server takes it
            mnist_button(main, "Train").click()
            wait_until(lambda: main.locator('[data-testid="stProgress"]').count(), 60,
                       "a progress bar")
        texts = [progress_text(main) for _, main in sessions]
        assert re.match(r"(starting|running)", texts[0]), texts
        assert re.match(r"queued: 1st, starts (soon|in about \d+ (s|min))", texts[1]), texts
        assert re.match(r"queued: 2nd, starts (soon|in about \d+ (s|min))", texts[2]), texts
        save_screenshot(sessions[2][0], "mnist-queued")

        finished_at = {}

        def all_finished():
            for i, (_, main) in enumerate(sessions):
                if i not in finished_at and main.get_by_text(RESULTS, exact=True).count():
                    finished_at[i] = time.monotonic()
            return len(finished_at) == 3

        wait_until(all_finished, 600, "all three sessions' results", interval_s=0.25)
        assert sorted(finished_at, key=finished_at.get) == [0, 1, 2], finished_at
        for (page, main), epochs in zip(sessions, ["3/3", "1/1", "1/1"]):  # its own result only
            wait_for_app_idle(page)
            assert_no_exception(page, "mnist, three sessions")
            table = runs_table(main)
            assert list(table) == ["#1 fast"] and table["#1 fast"][1:3] == ["finished", epochs]
    finally:
        for page, _ in sessions:
            page.context.close()


def test_a_queued_job_is_cancelled_and_a_closed_tab_leaves_the_queue(browser, app_url):
    (trainer, trainer_main), (canceller, canceller_main), (leaver, leaver_main) = [
        mnist_page(browser, app_url) for _ in range(3)]
    try:
        start_training(trainer_main, epochs=50, examples=1000)      # far longer than the test
        start_training(canceller_main, epochs=1, examples=300)
        start_training(leaver_main, epochs=1, examples=300)
        assert progress_text(canceller_main).startswith("queued: 1st")
        assert progress_text(leaver_main).startswith("queued: 2nd")

        mnist_button(canceller_main, "Cancel").click()
        wait_until(lambda: progress_text(leaver_main).startswith("queued: 1st"), 30,
                   "the job behind the cancelled one to move up")
        wait_until(lambda: mnist_button(canceller_main, "Train").is_enabled(), 30,
                   "Train to be enabled again for the cancelled session")
        assert runs_table(canceller_main)["#1 fast"][1] == "cancelled"

        leaver.context.close()                 # the user closes the tab while queued
        mnist_button(canceller_main, "Train").click()
        wait_until(lambda: progress_text(canceller_main).startswith("queued: 2nd"), 30,
                   "the new job to queue behind the closed tab's")
        wait_until(lambda: progress_text(canceller_main).startswith("queued: 1st"), 60,
                   "the closed tab's job to leave the queue")
        assert_no_exception(canceller, "mnist, after a closed tab left the queue")

        mnist_button(trainer_main, "Stop").click()
        wait_until(lambda: canceller_main.get_by_text(RESULTS, exact=True).count(), 240,
                   "the queued job to run once the trainer stopped")
        wait_until(lambda: progress_text(trainer_main).startswith("stopped"), 60,
                   "the trainer's run to show it stopped")
    finally:
        for page in (trainer, canceller, leaver):
            if not page.is_closed():
                page.context.close()
