"""The Theory page in Streamlit's AppTest: six sections, live demos, quizzes, search, no TF."""

import pytest
from streamlit.testing.v1 import AppTest

from cnn_core.theory import content as theory
from cnn_core.theory.facts import facts
from tests.conftest import REPO_ROOT
from tests.test_no_tensorflow import APPTEST, run

PAGE = "app_pages/theory.py"  # relative to the entry point, streamlit_app.py
TIMEOUT = 90
SECTIONS = theory.load_sections(facts())
# a search that shows exactly one question, so a demo test runs only that question's demo
ONLY = {1: "neocognitron", 2: "reference case", 3: "checkpointing", 4: "Springenberg",
        5: "lateral inhibition", 6: "Xception"}


def open_page(search: str = ""):
    at = AppTest.from_file(str(REPO_ROOT / PAGE), default_timeout=TIMEOUT)
    if search:
        at.session_state["theory_search"] = search
    at.run()
    assert not at.exception, at.exception
    return at


@pytest.fixture(scope="module")
def app():
    return open_page()


def outputs(at):
    """Everything a demo displays as text: metrics, tables, captions."""
    return (
        [(m.label, m.value) for m in at.metric],
        [d.value.to_csv() for d in [*at.dataframe, *at.table]],
        [c.value for c in at.caption],
    )


def test_renders_the_six_sections_in_order(app):
    assert [h.value for h in app.header] == [f"{s.number}. {s.title}" for s in SECTIONS]
    assert not app.error
    text = " ".join(m.value for m in app.markdown)
    assert "903,400" in text and "12,613,600" in text and "565,613,600" in text
    assert text.count("**References**") == 6


def test_material_icons_not_emoji(app):
    from tests.test_app_shell import has_emoji

    assert app.title[0].value == ":material/menu_book: Theory Q&A"
    texts = [*(m.value for m in app.markdown), *(h.value for h in app.header),
             *(c.value for c in app.caption), *(m.label for m in app.metric)]
    assert texts and not [t for t in texts if has_emoji(t)]


def test_contents_link_to_every_question(app):
    (contents,) = [m.value for m in app.markdown if "](#q1)" in m.value]
    assert contents == theory.contents_markdown(SECTIONS)
    anchors = [h.proto.anchor for h in app.header]
    assert anchors == [f"q{s.number}" for s in SECTIONS]
    assert [m.value for m in app.markdown].count("[:material/arrow_upward: Contents](#contents)") == 6


def test_one_word_searches_show_exactly_their_question():
    for number, query in ONLY.items():
        assert [s.number for s in theory.search(SECTIONS, query)] == [number], query


# (widget kind, key, new value): every demo widget, set away from its default
WIDGETS = [
    ("number_input", "q1_h", 56), ("number_input", "q1_w", 20), ("number_input", "q1_c", 3),
    ("number_input", "q1_f", 8), ("number_input", "q1_k", 5),
    ("selectbox", "q1_digit", "4"), ("slider", "q1_dx", -1), ("slider", "q1_dy", 3),
    ("number_input", "q2_batch", 10), ("selectbox", "q2_dtype", "float16"),
    ("selectbox", "q3_net", "vgg16"), ("number_input", "q3_batch", 64),
    ("selectbox", "q3_opt", "sgd"),
    ("slider", "q4_shift", 2), ("selectbox", "q4_kernel", "average"),
    ("selectbox", "q4_size", 3), ("number_input", "q4_channels", 16),
    ("slider", "q5_peak", 250.0), ("selectbox", "q5_n", 3), ("number_input", "q5_k", 1.0),
    ("number_input", "q5_alpha", 0.001), ("number_input", "q5_beta", 0.5),
    ("number_input", "q6_h", 10), ("number_input", "q6_w", 33), ("number_input", "q6_c", 32),
    ("number_input", "q6_f", 64), ("number_input", "q6_k", 5),
]


@pytest.mark.parametrize("kind, key, value", WIDGETS, ids=[w[1] for w in WIDGETS])
def test_each_demo_widget_changes_its_output(kind, key, value):
    # A fresh page for each case, showing only the widget's question: the baseline is that
    # question's output at the defaults, not what an earlier case left behind.
    at = open_page(ONLY[int(key[1])])
    widget = getattr(at, kind)(key=key)
    assert widget.value != value, f"{key}: the new value must differ from the default"
    before = outputs(at)
    widget.set_value(value).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert getattr(at, kind)(key=key).value == value
    assert outputs(at) != before


def test_separable_demo_counts_by_hand():
    at = open_page(ONLY[6])
    for key, value in [("q6_h", 10), ("q6_w", 12), ("q6_c", 32), ("q6_f", 64), ("q6_k", 5)]:
        at.number_input(key=key).set_value(value)
    at.run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Normal convolution: parameters"] == f"{(5 * 5 * 32 + 1) * 64:,}"
    assert metrics["Depthwise separable: parameters"] == f"{5 * 5 * 32 + 32 * 64 + 64:,}"


def test_shift_demo_reports_equivariance():
    at = open_page(ONLY[1])
    at.slider(key="q1_dx").set_value(2).run()
    percent = {m.label: float(m.value.rstrip("%")) for m in at.metric if m.value.endswith("%")}
    conv = [v for k, v in percent.items() if k.startswith("Conv:")]
    dense = [v for k, v in percent.items() if k.startswith("Dense:")]
    assert conv == [0.0] and dense[0] > 50


def test_quiz_reveals_answers_on_demand():
    at = open_page()
    item = SECTIONS[4].quiz[0]  # question 5
    right = item.options[item.answer]
    revealed = lambda: [m.value for m in at.markdown if item.question in m.value]  # noqa: E731
    assert not revealed()
    at.radio(key="quiz5_0").set_value(right).run()
    assert not revealed()
    at.toggle(key="reveal5").set_value(True).run()
    (line,) = revealed()
    assert line.startswith(":green[:material/check_circle: Right:]")
    assert right in line and item.explanation in line
    wrong = next(o for o in item.options if o != right)
    at.radio(key="quiz5_0").set_value(wrong).run()
    (line,) = revealed()
    assert line.startswith(":red[:material/cancel: Not this one:]") and right in line


def test_search_counts_and_highlights_the_matches():
    at = open_page()
    at.text_input(key="theory_search").input("lateral inhibition").run()
    assert [h.value[:2] for h in at.header] == ["5."]
    assert "1 of 6 questions matches “lateral inhibition”" in [c.value for c in at.caption]
    answer = next(m.value for m in at.markdown if "real neurons" in m.value)
    assert ":orange-background[lateral] :orange-background[inhibition]" in answer
    assert "$$b^{i}_{x,y}" in answer  # the formula is left alone
    at.text_input(key="theory_search").input("Pooling").run()
    matching = [s.number for s in SECTIONS if "pooling" in s.search_text]
    assert [int(h.value.split(".")[0]) for h in at.header] == matching
    assert f"{len(matching)} of 6 questions match “Pooling”" in [c.value for c in at.caption]
    q4 = next(h.value for h in at.header if h.value.startswith("4."))
    assert "max :orange-background[pooling] layer" in q4  # the case typed is not imposed
    at.text_input(key="theory_search").input("xyzzy").run()
    assert not at.header and at.info
    assert "0 of 6 questions match “xyzzy”" in [c.value for c in at.caption]


def test_calculator_link_carries_the_preset():
    # inside the app's navigation: a real page link with ?preset=exercise2
    at = AppTest.from_file(str(REPO_ROOT / "streamlit_app.py"), default_timeout=TIMEOUT).run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    links = [l.proto for l in at.get("page_link")]
    assert [(l.page, l.query_string) for l in links] == [("calculator", "preset=exercise2")]


def test_page_opens_without_tensorflow():
    assert run(APPTEST.format(page=str(REPO_ROOT / PAGE))) == "HEAVY:"
