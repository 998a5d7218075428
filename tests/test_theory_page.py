"""The Theory page in Streamlit's AppTest: six sections, live demos, quizzes, search, no TF."""

import pytest
from streamlit.testing.v1 import AppTest

from cnn_core import theory
from cnn_core import theory_demos as demos
from tests.conftest import REPO_ROOT
from tests.test_no_tensorflow import APPTEST, run

PAGE = "app_pages/theory.py"  # relative to the entry point, streamlit_app.py
TIMEOUT = 90


def open_page():
    at = AppTest.from_file(str(REPO_ROOT / PAGE), default_timeout=TIMEOUT).run()
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
    sections = theory.load_sections(demos.facts())
    assert [h.value for h in app.header] == [f"{s.number}. {s.title}" for s in sections]
    assert not app.error
    text = " ".join(m.value for m in app.markdown)
    assert "903,400" in text and "12,613,600" in text and "565,613,600" in text
    assert text.count("**References**") == 6


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
]


@pytest.mark.parametrize("kind, key, value", WIDGETS, ids=[w[1] for w in WIDGETS])
def test_each_demo_widget_changes_its_output(app, kind, key, value):
    before = outputs(app)
    getattr(app, kind)(key=key).set_value(value).run()
    assert not app.exception, app.exception
    assert not app.error, [e.value for e in app.error]
    assert outputs(app) != before


def test_shift_demo_reports_equivariance(app):
    app.slider(key="q1_dx").set_value(2).run()
    metrics = {m.label: float(m.value) for m in app.metric if "‖" in m.label or "max pool" in m.label}
    conv, dense = [v for k, v in metrics.items() if k.startswith("Conv:")], \
        [v for k, v in metrics.items() if k.startswith("Dense:")]
    assert conv == [0.0] and dense[0] > 0.5


def test_quiz_reveals_answers_on_demand():
    at = open_page()
    section = theory.load_sections(demos.facts())[4]  # question 5
    item = section.quiz[0]
    right = item.options[item.answer]
    revealed = lambda: [m.value for m in at.markdown if item.question in m.value]  # noqa: E731
    assert not revealed()
    at.radio(key="quiz5_0").set_value(right).run()
    assert not revealed()
    at.toggle(key="reveal5").set_value(True).run()
    (line,) = revealed()
    assert line.startswith("✅") and right in line and item.explanation in line
    wrong = next(o for o in item.options if o != right)
    at.radio(key="quiz5_0").set_value(wrong).run()
    (line,) = revealed()
    assert line.startswith("❌") and right in line


def test_search_box_filters_the_questions():
    at = open_page()
    at.text_input[0].input("lateral inhibition").run()
    assert [h.value[:2] for h in at.header] == ["5."]
    at.text_input[0].input("xyzzy").run()
    assert not at.header and at.info


def test_calculator_link_carries_the_preset():
    # inside the app's navigation: a real page link with ?preset=exercise2
    at = AppTest.from_file(str(REPO_ROOT / "streamlit_app.py"), default_timeout=TIMEOUT).run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    links = [l.proto for l in at.get("page_link")]
    assert [(l.page, l.query_string) for l in links] == [("calculator", "preset=exercise2")]


def test_page_opens_without_tensorflow():
    assert run(APPTEST.format(page=str(REPO_ROOT / PAGE))) == "HEAVY:"
