"""How long one full calculator recompute takes (what a slider move costs on the page).

A recompute is everything the page derives from the network: analyze(), the training
breakdown, the largest batch that fits, the memory curve and per-layer frames, and the common
mistakes. Measured for the reference case and for a 200-layer stack, side by side with the
baseline people use today: building the same model in Keras and calling count_params().

    python benchmarks/calculator_bench.py [--repeat 50]

Prints a table and, as its last line, one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from cnn_core.calculator.analysis import GB, analyze  # noqa: E402
from cnn_core.calculator.state import preset_state, state_from_query, state_to_query  # noqa: E402
from cnn_core.calculator.views import layer_frame, memory_frame, working_frame  # noqa: E402
from cnn_core.calculator.keras_json import parse_keras_json  # noqa: E402
from cnn_core.networks.layers import BatchNormalization, Conv2D, Dense, Flatten  # noqa: E402
from cnn_core.calculator.mistakes import common_mistakes  # noqa: E402
from cnn_core.networks.presets import preset  # noqa: E402


def deep_stack(n_layers: int = 200):
    """A 200-layer network: 66 × (3×3 'same' Conv2D 64, BatchNorm, Activation-free) + head."""
    layers = []
    while len(layers) < n_layers - 2:
        layers += [Conv2D(64, 3, padding="same"), BatchNormalization()]
    layers = layers[: n_layers - 2] + [Flatten(), Dense(10)]
    return (32, 32, 3), layers


def recompute(input_shape, layers):
    report = analyze(input_shape, layers, "float32")
    report.training_breakdown(50, "adam", True)
    fits = report.max_batch_size(16 * GB, "adam", True)
    memory_frame(report, "adam", True, (50, fits))
    layer_frame(report), working_frame(report)
    common_mistakes(input_shape, layers, "float32", 50)
    return report


def keras_baseline(input_shape, layers):
    import keras

    from cnn_core.networks.build import keras_model

    model = keras_model(input_shape, layers)
    model.count_params()
    del model
    keras.backend.clear_session()


def sequential_json(n_layers: int) -> str:
    """A Keras-3-style Sequential JSON of n conv/BN layers (what the import box receives)."""
    layers = [{"class_name": "InputLayer", "config": {"batch_shape": [None, 32, 32, 3]}}]
    for i in range(n_layers):
        if i % 2 == 0:
            layers.append({"class_name": "Conv2D", "config": {
                "name": f"conv{i}", "filters": 64, "kernel_size": [3, 3], "strides": [1, 1],
                "padding": "same", "use_bias": True, "activation": "relu",
                "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}}}})
        else:
            layers.append({"class_name": "BatchNormalization", "config": {"name": f"bn{i}"}})
    return json.dumps({"class_name": "Sequential", "config": {"name": "s", "layers": layers}})


def timed(fn, repeat):
    fn()  # warm-up (imports, caches)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--keras-repeat", type=int, default=5)
    args = parser.parse_args()
    results = {}
    for label, (shape, layers) in {"reference": preset("exercise2"),
                                   "200_layers": deep_stack()}.items():
        ours, ours_max = timed(lambda: recompute(shape, layers), args.repeat)
        keras_ms, _ = timed(lambda: keras_baseline(shape, layers), args.keras_repeat)
        assert recompute(shape, layers).total_params > 0
        results[label] = {"layers": len(layers), "recompute_ms": round(ours, 2),
                          "recompute_max_ms": round(ours_max, 2),
                          "keras_build_count_params_ms": round(keras_ms, 1)}
        print(f"{label:<12} {len(layers):>4} layers   recompute median {ours:8.2f} ms "
              f"(max {ours_max:.2f})   Keras build + count_params {keras_ms:8.1f} ms")
    # Hostile-input bounds: the bounded read (size, depth, surrogates) + conversion against a
    # plain json.loads of the same text, and the URL state round trip the page does per rerun.
    text = sequential_json(1_000)
    bounded, _ = timed(lambda: parse_keras_json(text), args.keras_repeat * 2)
    plain, _ = timed(lambda: json.loads(text), args.keras_repeat * 2)
    results["import_1000_layers"] = {"json_kb": len(text) // 1000, "bounded_read_ms":
                                     round(bounded, 1), "baseline_json_loads_ms": round(plain, 1)}
    print(f"import JSON  1000 layers ({len(text) // 1000} kB): bounded read + conversion "
          f"{bounded:6.1f} ms   baseline json.loads {plain:6.1f} ms")
    vgg = preset_state("vgg16")
    url, _ = timed(lambda: state_from_query(state_to_query(vgg)), args.repeat)
    results["url_state_vgg16_ms"] = round(url, 2)
    print(f"URL state    VGG-16 write + strict read {url:6.2f} ms")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
