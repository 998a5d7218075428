"""Theory page in Chromium: a self-check quiz answer can be chosen and then revealed; the
contents link to each question; a search counts and highlights its matches."""

from cnn_core.theory import content as theory
from cnn_core.theory.facts import facts

from harness import assert_no_exception, open_app, save_screenshot, wait_for_app_idle

SECTIONS = theory.load_sections(facts())


def test_quiz_answers_are_revealed_on_demand(page, app_url):
    # The expected text comes from the content files the page renders.
    section = SECTIONS[1]                                          # question 2
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
    assert right_line.count() == 1 and "Right:" in right_line.inner_text()
    assert right.options[right.answer] in right_line.inner_text()
    wrong_line = main.locator("p").filter(has_text=wrong.explanation)
    assert wrong_line.count() == 1 and "Not this one:" in wrong_line.inner_text()
    assert right_line.locator('[role="img"][aria-label="check_circle icon"]').count() == 1
    assert wrong_line.locator('[role="img"][aria-label="cancel icon"]').count() == 1
    # Only this section's answers were revealed.
    other = SECTIONS[0].quiz[0]
    assert main.get_by_text(other.explanation).count() == 0
    save_screenshot(page, "theory-quiz")


def heading_top(page, number):
    """Where question `number`'s heading is, relative to the top of the window (px)."""
    return page.locator(f"#q{number}").bounding_box()["y"]


def test_contents_jump_to_each_question(page, app_url):
    open_app(page, f"{app_url}/theory")
    main = page.locator('[data-testid="stMain"]')
    links = main.get_by_role("link").filter(has_text=SECTIONS[0].title)
    assert links.count() == 1
    for section in (SECTIONS[5], SECTIONS[2]):
        assert heading_top(page, section.number) > 900 or section.number == 1
        main.get_by_role("link", name=section.title, exact=True).click()
        page.wait_for_timeout(1000)
        assert 0 <= heading_top(page, section.number) < 300, section.number
        assert page.url.endswith(f"#q{section.number}")
        if section.number == 6:
            save_screenshot(page, "theory-contents-jump-q6")
        main.get_by_role("link", name="Contents").nth(section.number - 1).click()
        page.wait_for_timeout(1000)


def test_search_counts_and_highlights(page, app_url):
    open_app(page, f"{app_url}/theory")
    box = page.get_by_label("Search the questions")
    box.fill("separable Xception")
    box.press("Enter")
    wait_for_app_idle(page)
    main = page.locator('[data-testid="stMain"]')
    assert main.get_by_text("1 of 6 questions matches “separable Xception”").count() == 1
    assert main.locator("h2").filter(has_text="6. What are the main").count() == 1
    assert main.locator("h2").filter(has_text="1. What are").count() == 0
    marked = [t.lower() for t in main.locator("span.stMarkdownColoredBackground").all_inner_texts()]
    assert "xception" in marked and "separable" in marked, marked
    save_screenshot(page, "theory-search-highlight")
