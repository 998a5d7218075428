"""The tests' own count of multiply-accumulates from Keras' facts about a layer (its class, its
config and the input and output shapes Keras gives it), written apart from the calculator's:
    Conv2D            H_out·W_out·filters × kh·kw·C_in/groups
    DepthwiseConv2D   H_out·W_out·C_in·multiplier × kh·kw
    SeparableConv2D   the depthwise part + H_out·W_out·C_in·multiplier × filters (pointwise)
    Conv2DTranspose   H_in·W_in·C_in × kh·kw·filters (each input scatters a patch)
    Dense             (all but the last input axis) × inputs × units
Every other layer: 0 (the calculator counts only these, as the issue defines MACs).
"""

import gzip
import json
import math
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
PRESETS = Path(__file__).resolve().parents[2] / "cnn_core" / "calculator" / "presets"


def keras_macs(class_name: str, config: dict, input_shape, output_shape) -> int:
    kernel = config.get("kernel_size")
    if class_name == "Conv2D":
        h, w, filters = output_shape
        return h * w * filters * kernel[0] * kernel[1] * input_shape[-1] // config.get("groups", 1)
    if class_name == "DepthwiseConv2D":
        h, w, channels = output_shape  # channels = C_in × multiplier
        return h * w * channels * kernel[0] * kernel[1]
    if class_name == "SeparableConv2D":
        h, w, filters = output_shape
        inner = input_shape[-1] * config.get("depth_multiplier", 1)
        return h * w * inner * kernel[0] * kernel[1] + h * w * inner * filters
    if class_name == "Conv2DTranspose":
        return math.prod(input_shape) * kernel[0] * kernel[1] * config["filters"]
    if class_name == "Dense":
        return math.prod(input_shape) * config["units"]
    return 0


def reference() -> dict:
    """What Keras said about each exported model (scripts/export_architectures.py)."""
    return json.loads(gzip.decompress((DATA / "applications_reference.json.gz").read_bytes()))


def exported_json(name: str) -> bytes:
    """A model's to_json(), as exported: a shipped preset or a test-only application."""
    for path in (PRESETS / f"{name}.json.gz", DATA / "applications" / f"{name}.json.gz"):
        if path.exists():
            return gzip.decompress(path.read_bytes())
    raise FileNotFoundError(name)
