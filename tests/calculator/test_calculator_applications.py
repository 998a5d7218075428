"""The calculator on the ImageNet architectures, against Keras and against published figures.

Two references:
- every keras.applications model the issue lists (VGG, ResNet v1/v2, Inception v3, Xception,
  MobileNet v1/v2/v3, DenseNet, EfficientNet v1/v2, NASNet) and every shipped preset: its
  ``to_json()`` and what Keras said about it (``count_params()``, the trainable count, every
  layer's input and output shapes) were exported together from Keras by
  ``scripts/export_architectures.py`` (building all 36 takes ~70 s on 2 cores, too slow for every
  CI run); the calculator reads that JSON and must agree with those facts;
- a representative set is also built live in Keras in this run (small inputs where the
  application allows them, so the shapes differ from the exported ones) and compared directly.
MACs are compared with the tests' own count from Keras' layer shapes (``keras_reference.py``).
"""

import pytest

from cnn_core.calculator.analysis import analyze_graph
from cnn_core.calculator.catalog import ARCHITECTURE_TITLES, architecture_graph
from cnn_core.calculator.keras_graph import parse_keras_model
from cnn_core.calculator.keras_json import load_json
from tests.calculator.keras_reference import exported_json, keras_macs, reference

REFERENCE = reference()
APPLICATIONS = sorted(REFERENCE)


def configs_by_name(document: dict, prefix: str = "") -> dict:
    """Each layer's (class, config), nested models' layers as 'model/layer'."""
    found = {}
    for entry in document["config"]["layers"]:
        name = entry["config"]["name"]
        found[prefix + name] = (entry["class_name"], entry["config"])
        if entry["class_name"] in ("Functional", "Sequential"):
            found |= configs_by_name(entry, f"{prefix}{name}/")
    return found


@pytest.mark.parametrize("name", APPLICATIONS)
def test_exported_model_matches_keras(name):
    facts = REFERENCE[name]
    text = exported_json(name)
    report = analyze_graph(parse_keras_model(text))
    assert report.total_params == facts["total_params"]
    assert report.trainable_params == facts["trainable_params"]
    assert [list(s) for s in report.all_input_shapes] == facts["input_shapes"]
    ours = {layer.name: layer for layer in report.layers}
    configs = configs_by_name(load_json(text))
    expected_macs = 0
    for layer in facts["layers"]:
        mine = ours[layer["name"]]
        assert [list(mine.output_shape)] == layer["output_shapes"], layer["name"]
        assert mine.params == layer["params"], layer["name"]
        class_name, config = configs[layer["name"]]
        expected_macs += keras_macs(class_name, config, layer["input_shapes"][0],
                                    layer["output_shapes"][0])
    # every call the calculator reports is a Keras layer, or a keras.ops call (MobileNetV3's
    # hard sigmoid: x + 3, x / 6), which model.layers does not list
    extra = {l.type for l in report.layers if l.name not in {k["name"] for k in facts["layers"]}}
    assert extra <= {"Add (keras.ops)", "Multiply (keras.ops)"}
    assert report.macs == expected_macs


def test_shipped_presets_are_the_exported_models():
    for name in ARCHITECTURE_TITLES:
        report = analyze_graph(architecture_graph(name))
        assert report.total_params == REFERENCE[name]["total_params"]


# -- published figures ------------------------------------------------------------------------

# (preset or application, published multiply-adds, source). The calculator counts the
# multiply-accumulates of convolutions and dense layers; the papers count the same.
PUBLISHED = [
    # He, Zhang, Ren & Sun (2015), "Deep Residual Learning for Image Recognition", Table 1:
    # ResNet-50 "3.8 × 10⁹" FLOPs (multiply-adds); 3.86 G is within 2 %.
    ("resnet50", 3.8e9, "He et al. 2015, Table 1"),
    # torchvision's model table, Inception_V3_Weights.IMAGENET1K_V1: 5.71 "GFLOPS", which
    # torchvision counts as multiply-adds (its ResNet-50 entry, 4.09, includes the same way
    # what He et al. round to 3.8). Szegedy et al. (2016) give no single total for v3.
    ("inception_v3", 5.71e9, "torchvision models table, Inception_V3"),
    # Sandler et al. (2018), "MobileNetV2", Table 4: 300 M multiply-adds at 224×224, width 1.0.
    ("mobilenet_v2", 300e6, "Sandler et al. 2018, Table 4"),
    # Simonyan & Zisserman (2014) give no count; torchvision's table gives VGG16 15.47 "GFLOPS"
    # (multiply-adds) at 224×224, and He et al. 2015 (Fig. 3) VGG-19 19.6 billion.
    ("VGG16", 15.5e9, "torchvision models table, VGG16"),
    ("VGG19", 19.6e9, "He et al. 2015, Fig. 3 (VGG-19: 19.6 billion FLOPs)"),
    # The figure for Xception at 299×299. Chollet (2017) gives parameters and speed,
    # not an operation count, so this one is checked against the commonly quoted 8.4 G only.
    ("xception", 8.4e9, "commonly quoted (the issue); Chollet 2017 gives no count"),
    # Tan & Le (2019), "EfficientNet", Table 2: EfficientNet-B0 0.39 B FLOPs (multiply-adds).
    ("EfficientNetB0", 0.39e9, "Tan & Le 2019, Table 2"),
]


@pytest.mark.parametrize("name, published, source", PUBLISHED)
def test_macs_match_the_published_figures(name, published, source):
    report = analyze_graph(parse_keras_model(exported_json(name)))
    assert abs(report.macs - published) / published < 0.02, (report.macs, source)
    assert report.flops == 2 * report.macs


# -- built live in Keras, this run ------------------------------------------------------------

LIVE = [
    ("ResNet50", {"input_shape": (64, 64, 3)}),
    ("InceptionV3", {"input_shape": (75, 75, 3)}),
    ("MobileNetV3Small", {"input_shape": (96, 96, 3)}),
    ("EfficientNetB0", {"input_shape": (64, 64, 3)}),
    ("DenseNet121", {"input_shape": (64, 64, 3)}),
    ("NASNetMobile", {"input_shape": (224, 224, 3)}),
]


@pytest.mark.parametrize("builder, sizes", LIVE, ids=[b for b, _ in LIVE])
def test_live_keras_application(builder, sizes):
    import keras
    from tests.calculator.keras_compare import assert_graph_like_keras

    model = getattr(keras.applications, builder)(weights=None, **sizes)
    try:
        assert_graph_like_keras(model)
    finally:
        keras.backend.clear_session()


def test_opening_a_preset_imports_neither_keras_nor_tensorflow():
    """The presets are JSON read as data: opening every one (and analysing it) in a fresh
    interpreter loads no Keras and no TensorFlow module."""
    import subprocess
    import sys

    code = ("import sys\n"
            "from cnn_core.calculator import ARCHITECTURE_TITLES, analyze_graph, "
            "architecture_graph\n"
            "for name in ARCHITECTURE_TITLES:\n"
            "    analyze_graph(architecture_graph(name))\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'keras', 'tensorflow', "
            "'tf_keras', 'h5py'}))\n")
    from tests.conftest import REPO_ROOT

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO_ROOT, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
