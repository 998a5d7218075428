"""Every network the calculator opens by name: today's layer-list presets
(``cnn_core.networks.presets``) and the ImageNet architectures shipped as Keras JSON
(``presets/<name>.json.gz``, written by ``scripts/export_architectures.py`` from Keras itself).

Opening one reads that JSON as data: nothing is built in Keras. Figures (checked against Keras in
tests/calculator/test_calculator_graphs.py):
    resnet50       25,636,712 parameters, 3.86 G MACs    keras.applications.ResNet50
    resnet152      60,419,944 parameters, 11.28 G MACs   keras.applications.ResNet152
    inception_v3   23,851,784 parameters, 5.71 G MACs    keras.applications.InceptionV3
    xception       22,910,480 parameters, 8.36 G MACs    keras.applications.Xception
    mobilenet_v2    3,538,984 parameters, 0.30 G MACs    keras.applications.MobileNetV2
    squeezenet      1,235,496 parameters, 0.35 G MACs    the Classify page's SqueezeNet v1.1
"""

from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path

from cnn_core.calculator.graph import Graph
from cnn_core.calculator.keras_graph import parse_keras_model
from cnn_core.errors import CNNLabError
from cnn_core.networks import PRESET_TITLES

PRESETS_DIR = Path(__file__).resolve().parent / "presets"

ARCHITECTURE_TITLES = {
    "resnet50": "ResNet-50 (2015, ImageNet)",
    "resnet152": "ResNet-152 (2015, ImageNet; the ILSVRC-2015 winner's depth)",
    "inception_v3": "Inception v3 (2015, ImageNet; the Classify page's model)",
    "xception": "Xception (2017, ImageNet)",
    "mobilenet_v2": "MobileNetV2 (2018, ImageNet)",
    "squeezenet": "SqueezeNet v1.1 (2016, ImageNet; the Classify page's small model)",
}
ALL_TITLES = PRESET_TITLES | ARCHITECTURE_TITLES
ALL_PRESETS = tuple(ALL_TITLES)


def is_architecture(name: str) -> bool:
    """True for the presets that are graphs (shipped JSON), not table-editable chains."""
    return name in ARCHITECTURE_TITLES


@lru_cache(maxsize=len(ARCHITECTURE_TITLES))
def architecture_graph(name: str) -> Graph:
    """The graph of a shipped architecture (read once per process; graphs are immutable)."""
    if name not in ARCHITECTURE_TITLES:
        raise CNNLabError(f"unknown architecture {name!r}; choose one of: "
                          f"{', '.join(ARCHITECTURE_TITLES)}.")
    return parse_keras_model(gzip.decompress((PRESETS_DIR / f"{name}.json.gz").read_bytes()))


@lru_cache(maxsize=len(ARCHITECTURE_TITLES))
def architecture_figures(name: str) -> tuple[int, int]:
    """(parameters, multiply-accumulates per image) of a shipped architecture, for other pages
    to quote beside a link to ``/calculator?preset=<name>``."""
    from cnn_core.calculator.analysis import analyze_graph

    report = analyze_graph(architecture_graph(name))
    return report.total_params, report.macs


def check_preset_name(name: str) -> str:
    if name not in ALL_TITLES:
        raise CNNLabError(f"unknown preset {name!r}; choose one of: {', '.join(ALL_PRESETS)}.")
    return name

