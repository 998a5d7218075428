"""Export the calculator's ImageNet presets and its Keras reference figures from Keras itself.

    python scripts/export_architectures.py            # every model (about 70 s on 2 cores)
    python scripts/export_architectures.py resnet50 NASNetMobile   # only these

For each model, built with ``weights=None`` (nothing is downloaded):
- ``cnn_core/calculator/presets/<name>.json.gz``: its ``model.to_json()``, which the calculator
  reads as data (opening a preset builds nothing in Keras), for the presets the app ships;
  ``tests/calculator/data/applications/<name>.json.gz`` for the other ``keras.applications``;
- ``tests/calculator/data/applications_reference.json.gz``: what Keras itself says about it —
  ``count_params()``, the trainable count, and every layer's class, parameters, input and output
  shapes — for the tests to compare the calculator against.
"""

from __future__ import annotations

import gzip
import json
import math
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

PRESETS_DIR = REPO_ROOT / "cnn_core" / "calculator" / "presets"
TESTS_DIR = REPO_ROOT / "tests" / "calculator" / "data"
REFERENCE = TESTS_DIR / "applications_reference.json.gz"

# preset name → keras.applications builder; these are shipped with the app
# (VGG-16 is today's layer-list preset, cnn_core.networks.presets.vgg16, equal to Keras' VGG16)
SHIPPED = {"resnet50": "ResNet50", "resnet152": "ResNet152", "inception_v3": "InceptionV3",
           "xception": "Xception", "mobilenet_v2": "MobileNetV2"}
# checked in the tests only
OTHERS = ["VGG16", "VGG19", "ResNet101", "ResNet50V2", "ResNet101V2", "ResNet152V2",
          "MobileNet", "MobileNetV3Small", "MobileNetV3Large", "DenseNet121", "DenseNet169",
          "DenseNet201", *[f"EfficientNetB{i}" for i in range(8)],
          *[f"EfficientNetV2{s}" for s in ("B0", "B1", "B2", "B3", "S", "M", "L")],
          "NASNetMobile", "NASNetLarge"]


def shape_list(tensors):
    tensors = tensors if isinstance(tensors, (list, tuple)) else [tensors]
    return [list(t.shape[1:]) for t in tensors]


def keras_facts(model) -> dict:
    """What Keras says: totals and, per layer (nested models flattened by name), its shapes."""
    weights = lambda ws: sum(math.prod(w.shape) for w in ws)  # noqa: E731
    return {
        "input_shapes": shape_list(model.inputs),
        "total_params": model.count_params(),
        "trainable_params": weights(model.trainable_weights),
        "layers": [{"name": l.name, "class_name": type(l).__name__, "params": l.count_params(),
                    "input_shapes": shape_list(l.input), "output_shapes": shape_list(l.output)}
                   for l in model.layers if type(l).__name__ != "InputLayer"],
    }


def squeezenet():
    from cnn_core.imagenet.models import build_squeezenet

    return build_squeezenet()


def export(name: str, builder, directory: Path, reference: dict) -> None:
    import keras

    # MobileNetV3 leaves its input's height and width open unless told
    sizes = {"input_shape": (224, 224, 3)} if name.startswith("MobileNetV3") else {}
    model = builder() if builder else getattr(keras.applications, name)(weights=None, **sizes)
    text = model.to_json()
    directory.mkdir(parents=True, exist_ok=True)
    # mtime=0: the same model exports to the same bytes (no spurious diffs)
    (directory / f"{name}.json.gz").write_bytes(gzip.compress(text.encode(), 9, mtime=0))
    reference[name] = keras_facts(model)
    print(f"{name}: {model.count_params():,} parameters, {len(model.layers)} layers, "
          f"{len(text):,} bytes of JSON", flush=True)
    keras.backend.clear_session()


def main(argv: list[str]) -> None:
    reference = json.loads(gzip.decompress(REFERENCE.read_bytes())) if REFERENCE.exists() else {}
    wanted = set(argv)
    jobs = [(preset, lambda k=k: getattr(__import__("keras").applications, k)(weights=None),
             PRESETS_DIR) for preset, k in SHIPPED.items()]
    jobs.append(("squeezenet", squeezenet, PRESETS_DIR))
    jobs += [(name, None, TESTS_DIR / "applications") for name in OTHERS]
    for name, builder, directory in jobs:
        if not wanted or name in wanted:
            export(name, builder, directory, reference)
    text = json.dumps(reference, separators=(",", ":"), sort_keys=True) + "\n"
    REFERENCE.write_bytes(gzip.compress(text.encode(), compresslevel=9, mtime=0))


if __name__ == "__main__":
    main(sys.argv[1:])
