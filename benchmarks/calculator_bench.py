"""How long one full calculator recompute takes (what a slider move costs on the page).

A recompute is everything the page derives from the network: analyze(), the training
breakdown, the largest batch that fits, the memory curve and per-layer frames, and the common
mistakes. Measured for the reference case and for a 200-layer stack, side by side with the
baseline people use today: building the same model in Keras and calling count_params().
Graphs: Inception v3 (313 layers) and NASNetMobile (771 layers) read from their Keras JSON and
analysed in pure Python (parameters, shapes, MACs, the liveness peak, training memory) — the
issue's target is well under 100 ms — beside keras.applications building the same model
(weights=None) + count_params(), in the same run.

    python benchmarks/calculator_bench.py [--repeat 50]
    python benchmarks/calculator_bench.py --smoke      # a few repeats: proves it runs

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

from cnn_core.calculator.analysis import GB, analyze, analyze_graph  # noqa: E402
from cnn_core.calculator.keras_graph import parse_keras_model  # noqa: E402
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


GRAPHS = {  # keras.applications builder → the Keras JSON the calculator reads (exported once)
    "InceptionV3": Path(__file__).resolve().parent.parent / "cnn_core" / "calculator" / "presets"
    / "inception_v3.json.gz",
    "NASNetMobile": Path(__file__).resolve().parent.parent / "tests" / "calculator" / "data"
    / "applications" / "NASNetMobile.json.gz",
}


def analyse_graph_text(text):
    report = analyze_graph(parse_keras_model(text), "float32")
    report.inference_peak, report.training_breakdown(32, "adam", True)
    report.max_batch_size(16 * GB, "adam", True)
    return report


def keras_application(builder):
    import keras

    model = getattr(keras.applications, builder)(weights=None)
    count = model.count_params()
    del model
    keras.backend.clear_session()
    return count


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
    parser.add_argument("--smoke", action="store_true", help="2 repeats: proves it runs")
    args = parser.parse_args()
    if args.smoke:
        args.repeat, args.keras_repeat = 2, 1
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
    import gzip

    for builder, path in GRAPHS.items():
        text = gzip.decompress(path.read_bytes())
        graph = parse_keras_model(text)
        read_and_analyse, _ = timed(lambda: analyse_graph_text(text), args.repeat)
        analyse_only, _ = timed(lambda: analyze_graph(graph, "float32").inference_peak,
                                args.repeat)
        keras_ms, _ = timed(lambda: keras_application(builder), args.keras_repeat)
        report = analyse_graph_text(text)
        assert report.total_params == keras_application(builder)  # the same answer
        results[builder] = {"layers": len(report.layers), "json_kb": len(text) // 1000,
                            "read_and_analyse_ms": round(read_and_analyse, 1),
                            "analyse_ms": round(analyse_only, 1),
                            "keras_build_count_params_ms": round(keras_ms, 1)}
        print(f"{builder:<12} {len(report.layers):>4} layers   JSON read + analysis "
              f"{read_and_analyse:7.1f} ms (analysis alone {analyse_only:6.1f} ms)   "
              f"Keras build + count_params {keras_ms:8.1f} ms")
    vgg = preset_state("vgg16")
    url, _ = timed(lambda: state_from_query(state_to_query(vgg)), args.repeat)
    results["url_state_vgg16_ms"] = round(url, 2)
    print(f"URL state    VGG-16 write + strict read {url:6.2f} ms")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
