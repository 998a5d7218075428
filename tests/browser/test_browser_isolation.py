"""Sessions on one server in Chromium: one trains MNIST while another classifies photos —
both complete and neither sees the other's state; a session closed mid-training gives the
training slot to the job queued behind it."""

import re
import sys
import time

from cnn_core.paths import DATA_DIR

from drivers import (
    MNIST_RESULTS, mnist_button, payload, progress_text, read_top5, result_block, runs_table, start_training,
    upload_through_file_chooser, wait_until,
)
from harness import assert_no_exception, open_app, save_screenshot

PHOTO = DATA_DIR / "samples" / "coffee_cup.png"


def new_page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    return context.new_page()


def close(request, **pages):
    """Close each page's context; if the test is failing (called from its ``finally``, while
    the exception propagates), screenshot the open ones first."""
    failing = sys.exc_info()[0] is not None
    for name, page in pages.items():
        if page.is_closed():
            continue
        if failing:
            save_screenshot(page, f"FAILED-{request.node.name}-{name}")
        page.context.close()


def test_one_session_trains_while_another_classifies(browser, app_url, request):
    trainer, classifier = new_page(browser), new_page(browser)
    try:
        open_app(trainer, f"{app_url}/mnist")
        trainer_main = trainer.locator('[data-testid="stMain"]')
        # far longer than the Classify page's first load; stopped once the photo is classified
        start_training(trainer_main, epochs=100, examples=1000)
        # Really training (its worker process started), so the classifying below overlaps it
        # even when the server has the classifier loaded already and answers in a second.
        wait_until(lambda: progress_text(trainer_main).startswith("running"), 180,
                   "the trainer's job to start running")

        # While it trains, the other user classifies a photo under a name only they know. (The
        # Classify page's first load, TensorFlow and its model in the server, took up to 300 s
        # next to a training worker on the loaded 2-core machine.)
        open_app(classifier, f"{app_url}/classify", timeout_ms=400_000)
        assert re.match(r"(starting|running)", progress_text(trainer_main)), \
            "the training finished before the other session started classifying"
        secret = "only-in-session-b.png"
        upload_through_file_chooser(classifier, [payload(secret, PHOTO.read_bytes(), "image/png")])
        labels, probabilities = read_top5(result_block(classifier, secret))
        assert len(labels) == 5 and sum(probabilities) <= 1.0025
        assert_no_exception(classifier, "classify while another session trains")

        assert re.match(r"running", progress_text(trainer_main)), progress_text(trainer_main)
        mnist_button(trainer_main, "Stop").click()
        wait_until(lambda: trainer_main.get_by_text(MNIST_RESULTS, exact=True).count(), 240,
                   "the training session's results")
        assert_no_exception(trainer, "mnist next to a classifying session")
        runs = runs_table(trainer_main)
        assert list(runs) == ["#1 fast"] and runs["#1 fast"][1] == "stopped", runs

        # Neither sees the other's state: the trainer's Classify page shows the samples, not
        # the other upload; the classifier's MNIST page has no runs and may train now.
        open_app(trainer, f"{app_url}/classify", timeout_ms=180_000)
        assert trainer.get_by_role("heading", name=secret).count() == 0
        assert trainer.get_by_text("No upload yet").count() == 1
        open_app(classifier, f"{app_url}/mnist")
        classifier_main = classifier.locator('[data-testid="stMain"]')
        assert classifier_main.get_by_text(MNIST_RESULTS).count() == 0
        assert classifier_main.get_by_text("This session's runs").count() == 0
        assert classifier_main.locator('[data-testid="stProgress"]').count() == 0
        assert mnist_button(classifier_main, "Train").is_enabled()
    finally:
        close(request, trainer=trainer, classifier=classifier)


def test_session_closed_mid_training_frees_the_training_slot(browser, app_url, request):
    leaver, waiter = new_page(browser), new_page(browser)
    try:
        open_app(leaver, f"{app_url}/mnist")
        leaver_main = leaver.locator('[data-testid="stMain"]')
        start_training(leaver_main, epochs=50, examples=1000)         # far longer than the test
        # Really training (past its first epoch), not failed or finished.
        second_epoch = re.compile(r"running · epoch ([2-9]|\d\d)/50")
        wait_until(lambda: second_epoch.match(progress_text(leaver_main)), 180,
                   "the second epoch of the leaver's run")

        open_app(waiter, f"{app_url}/mnist")
        waiter_main = waiter.locator('[data-testid="stMain"]')
        start_training(waiter_main, epochs=1, examples=300)
        assert progress_text(waiter_main).startswith("queued: 1st"), progress_text(waiter_main)
        save_screenshot(waiter, "mnist-other-session-training")

        leaver.context.close()           # the user closes the tab mid-training
        closed_at = time.monotonic()

        # The run notices its session is gone, waits out a 30-s grace period, then stops: the
        # slot is not freed at once (the run did not just fail), but it is freed.
        wait_until(lambda: not progress_text(waiter_main).startswith("queued"), 150,
                   "the abandoned run to give the slot to the queued job", interval_s=1)
        assert time.monotonic() - closed_at > 25, "the slot was free before the grace period"
        wait_until(lambda: waiter_main.get_by_text(MNIST_RESULTS, exact=True).count(), 240,
                   "the waiting session's results")
        assert_no_exception(waiter, "mnist after the other session left")
    finally:
        close(request, leaver=leaver, waiter=waiter)
