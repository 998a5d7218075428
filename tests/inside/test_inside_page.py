"""The Inside page through Streamlit's AppTest: it opens on the shipped MNIST CNN and a test
digit with every layer's maps (its shapes Keras'), starting no training and no download; the
step-by-step's value is the feature map's; SqueezeNet (the Classify model) gets the overview
and a layer picker; occlusion says its cost before it runs and draws beside Grad-CAM; a
photo handed over by the Classify page is the input."""

import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.slow
PAGE = str(REPO_ROOT / "app_pages" / "inside.py")


@pytest.fixture(autouse=True)
def nothing_started(monkeypatch):
    """Record any training job submitted, weights download started or URL opened."""
    import urllib.request

    from cnn_core.imagenet import weights
    from cnn_core.mnist import queue

    started = []
    monkeypatch.setattr(queue.TrainingQueue, "submit",
                        lambda *a, **k: started.append("training"))
    monkeypatch.setattr(weights, "download_weights", lambda *a, **k: started.append("download"))
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: started.append("url"))
    yield started
    assert started == []


def images(app):
    """Every picture drawn (st.image of a list draws several), with its caption and alt."""
    return [picture for element in app.get("image") for picture in element.proto.imgs]


def open_page(**state):
    app = AppTest.from_file(PAGE, default_timeout=180)
    for key, value in state.items():
        app.session_state[key] = value
    return app.run()


def test_opens_on_the_shipped_model_with_every_layer_in_order():
    import keras

    from cnn_core.inside import shipped_digit_model

    app = open_page()
    assert not app.exception and not app.error
    assert "reads **7** " in app.markdown[1].value and "(true: 7)" in app.markdown[1].value
    model = shipped_digit_model().model
    layer_lines = [m.value for m in app.markdown if re.match(r"\*\*\d+\. ", m.value)]
    expected = [f"**{n}. {layer.name}** · {type(layer).__name__} · output "
                + "×".join(map(str, layer.output.shape[1:]))
                for n, layer in enumerate(model.layers, 1)]
    assert layer_lines == expected and len(expected) == 7
    alts = [image.alt for image in images(app)]
    assert sum(alt.startswith("Feature maps of ") or alt.startswith("Output of ")
               for alt in alts) == 7
    assert any(alt.startswith("The 8 kernels of conv1 (3×3, 1 input") for alt in alts)
    assert isinstance(model, keras.Model)


def test_the_step_by_step_value_is_the_feature_map_value():
    app = open_page()
    fields = {field.label: field for field in app.number_input}
    fields["Output row"].set_value(3)
    fields["Output column"].set_value(20)
    fields["Output channel"].set_value(4)
    app.run()
    sentence = next(m.value for m in app.markdown if m.value.startswith("Sum of the 9 products"))
    computed = float(re.search(r"→ \*\*(-?[\d.]+)\*\*", sentence).group(1))
    shown = float(re.search(r"holds (-?[\d.]+)\.", sentence).group(1))
    assert computed == shown
    assert "row 3, column 20 of channel 4" in sentence


def test_squeezenet_gets_the_overview_a_picker_and_occlusion_beside_grad_cam():
    app = open_page(inside_model="classify")
    assert not app.exception and not app.error
    assert "SqueezeNet v1.1 reads **" in app.markdown[1].value
    overview = [image for image in images(app) if image.caption and ". " in image.caption]
    assert len(overview) == 39 and overview[0].caption == "1. conv1"
    app.selectbox(key="inside_layer").set_value(6).run()
    assert any(m.value.startswith("**6. fire2_concat** · Concatenate · output 56×56×128")
               for m in app.markdown)
    button = app.button(key="inside_occlude")
    assert re.search(r"\((\d+) forward passes\)", button.label).group(1) == str(14 * 14 + 1)
    assert not any(image.caption == "Occlusion" for image in images(app))
    button.click().run()
    captions = [image.caption for image in images(app)]
    assert "Occlusion" in captions and "Grad-CAM" in captions
    occlusion = next(image for image in images(app) if image.caption == "Occlusion")
    assert occlusion.alt.startswith("Occlusion map of cat_chelsea.png for “")


def test_a_photo_handed_over_by_classify_is_the_input():
    from cnn_core.imaging import prepare_image

    pixels = np.asarray(prepare_image("data/samples/coffee_cup.png", 227).resized)
    app = open_page(inside_model="classify", inside_photo=("my_cup.png", pixels),
                    inside_photo_kind="The photo from Classify")
    assert not app.exception and not app.error
    assert "reads **espresso**" in app.markdown[1].value
    assert images(app)[0].alt.startswith("my_cup.png as the network sees it (227×227")


def test_the_extras_run_only_when_asked():
    app = open_page()
    toggles = {toggle.label: toggle for toggle in app.toggle}
    assert len(toggles) == 2 and not app.get("vega_lite_chart")[1:]      # the filter heatmap only
    toggles["What a class or a filter answers most (activation maximisation)"].set_value(True)
    next(t for t in app.toggle if t.label.startswith("The penultimate")).set_value(True)
    app.run()
    assert not app.exception
    alts = [image.alt for image in images(app)]
    assert any(alt.startswith("The 28×28 input found by gradient ascent for class 0 (its "
                              "logit in probabilities)") and alt.endswith("reads it as 0 (100.0%).")
               for alt in alts), alts
    assert len(app.get("vega_lite_chart")) == 2


def finished_run():
    """A session's finished MNIST run, as the MNIST page keeps it (the shipped model's file
    standing in for a trained one), evaluated on the real test set."""
    from cnn_core.inside import shipped_card, shipped_digit_model
    from cnn_core.mnist import RECIPES, Job, JobResult, JobSpec, evaluate, load_mnist
    from cnn_core.paths import MODELS_DIR

    model = shipped_digit_model()
    x_test, y_test = load_mnist()[1]
    evaluation = evaluate(model.model, model.preprocess(x_test), y_test)
    data = (MODELS_DIR / shipped_card()["file"]).read_bytes()
    job = Job(JobSpec("fast", RECIPES["fast"].settings), "owner", state="finished")
    job.result = JobResult(evaluation, evaluation.accuracy, evaluation.errors, 1.0, 1.0, False,
                           False, [], data, 0)
    return job, evaluation


def test_a_run_s_mistake_is_an_input():
    job, evaluation = finished_run()
    app = open_page(mnist_runs=[job])
    assert app.selectbox(key="inside_model").value == "run1"
    assert app.selectbox(key="inside_model").format_func("run1").startswith(
        f"MNIST run #1 (fast, {evaluation.accuracy:.2%} test accuracy)")
    app.radio(key="inside_digit_kind").set_value("One of the run's mistakes").run()
    assert not app.exception and not app.error
    worst = evaluation.misclassified(1)[0]
    line = app.markdown[1].value
    assert f"reads **{worst['predicted']}** " in line and f"(true: {worst['true']})" in line
    assert images(app)[0].alt.startswith(f"test image {worst['index']:,} as the network sees it")
