"""AppTest: the calculator page renders every preset, reacts to widgets, survives bad input."""

import json

import pytest
from streamlit.testing.v1 import AppTest

from cnn_core.presets import PRESETS
from tests.conftest import REPO_ROOT

PAGE = str(REPO_ROOT / "app_pages" / "calculator.py")


def metric(at, label_start):
    return next(m.value for m in at.metric if m.label.startswith(label_start))


@pytest.fixture
def at():
    return AppTest.from_file(PAGE, default_timeout=30).run()


def test_reference_preset_by_default(at):
    assert not at.exception
    assert metric(at, "Parameters") == "903,400"
    assert metric(at, "Predict one instance") == "12,613,600 B"
    assert metric(at, "Train, batch 50") == "565,613,600 B"
    assert any("12,613,600 bytes" in m.value for m in at.markdown)  # the working is shown


@pytest.mark.parametrize("name, params", [
    ("mnist_baseline", "225,034"), ("lenet5", "61,706"), ("alexnet", "62,378,344"),
    ("vgg16", "138,357,544")])
def test_every_preset_renders(at, name, params):
    at.selectbox(key="calc_preset").select(name).run()
    assert not at.exception and not at.error
    assert metric(at, "Parameters") == params


def test_all_presets_are_offered(at):
    assert set(at.selectbox(key="calc_preset").options) == set(PRESETS) or len(
        at.selectbox(key="calc_preset").options) == len(PRESETS)


def test_query_param_selects_preset():
    at = AppTest.from_file(PAGE, default_timeout=30)
    at.query_params["preset"] = "lenet5"
    at.run()
    assert metric(at, "Parameters") == "61,706"


def test_widgets_change_the_numbers(at):
    at.number_input(key="calc_batch").set_value(64).run()
    assert metric(at, "Train, batch 64") == f"{64 * (10_520_000 + 720_000) + 3_613_600:,} B"
    at.selectbox(key="calc_dtype").select("float16").run()
    assert metric(at, "Predict one instance") == f"{9_000_000 // 2 + 903_400 * 2:,} B"
    at.number_input(key="calc_height_exercise2").set_value(100).run()
    assert metric(at, "Parameters") == "903,400"  # parameters do not depend on the image size
    assert metric(at, "Predict one instance") != f"{9_000_000 // 2 + 903_400 * 2:,} B"


def test_impossible_layer_shows_error_and_page_recovers(at):
    at.number_input(key="calc_height_exercise2").set_value(2).run()
    at.number_input(key="calc_width_exercise2").set_value(2).run()
    assert not at.exception
    assert metric(at, "Parameters") == "903,400"  # 'same' padding still fits a 2×2 input
    at.selectbox(key="calc_preset").select("lenet5").run()
    at.number_input(key="calc_height_lenet5").set_value(8).run()  # 5×5 valid convs cannot fit
    assert not at.exception
    assert at.error and "does not fit" in at.error[0].value
    assert at.selectbox(key="calc_preset").value == "lenet5"  # the user's choices are kept
    at.number_input(key="calc_height_lenet5").set_value(32).run()
    assert not at.error and metric(at, "Parameters") == "61,706"


def test_keras_json_import(at):
    model = {"class_name": "Sequential", "config": {"layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, 28, 28, 1]}},
        {"class_name": "Conv2D", "config": {"filters": 32, "kernel_size": [3, 3]}},
        {"class_name": "Flatten", "config": {}},
        {"class_name": "Dense", "config": {"units": 10}}]}}
    at.text_area(key="calc_json_text").input(json.dumps(model)).run()
    assert not at.exception
    assert any(m.value == f"{320 + 26 * 26 * 32 * 10 + 10:,}" for m in at.metric)
    at.text_area(key="calc_json_text").input('{"class_name": "Sequential", "config": '
                                             '{"layers": [{"class_name": "GRU"}]}}').run()
    assert not at.exception
    assert any("no fixed input shape" in e.value or "GRU" in e.value for e in at.error)
    assert metric(at, "Parameters") == "903,400"  # the build tab is untouched
