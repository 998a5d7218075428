"""Theory page in Chromium: a self-check quiz answer can be chosen and then revealed."""

from cnn_core import theory
from cnn_core import theory_demos

from harness import assert_no_exception, open_app, save_screenshot, wait_for_app_idle


def test_quiz_answers_are_revealed_on_demand(page, app_url):
    # The expected text comes from the content files the page renders.
    section = theory.load_sections(theory_demos.facts())[1]          # question 2
    right, wrong = section.quiz[0], section.quiz[1]
    wrong_choice = next(o for i, o in enumerate(wrong.options) if i != wrong.answer)

    open_app(page, f"{app_url}/theory")
    assert_no_exception(page, "theory")
    main = page.locator('[data-testid="stMain"]')
    assert main.get_by_text(right.explanation).count() == 0, "answer shown before it was asked for"

    for item, choice in ((right, right.options[right.answer]), (wrong, wrong_choice)):
        group = main.locator('[data-testid="stRadio"]').filter(has_text=item.question)
        group.get_by_text(choice, exact=True).click()
        wait_for_app_idle(page)

    # The section's own "Show the answers" toggle (sections are numbered in page order).
    main.get_by_text("Show the answers").nth(section.number - 1).click()
    wait_for_app_idle(page)
    assert_no_exception(page, "theory after revealing")

    right_line = main.locator("p").filter(has_text=right.explanation)
    assert right_line.count() == 1 and right_line.inner_text().startswith("✅")
    assert right.options[right.answer] in right_line.inner_text()
    wrong_line = main.locator("p").filter(has_text=wrong.explanation)
    assert wrong_line.count() == 1 and wrong_line.inner_text().startswith("❌")
    # Only this section's answers were revealed.
    other = theory.load_sections(theory_demos.facts())[0].quiz[0]
    assert main.get_by_text(other.explanation).count() == 0
    save_screenshot(page, "theory-quiz")
