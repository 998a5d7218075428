"""Classification speed of the runtime the pages serve — ``load_classifier``'s defaults: the
LATENCY hint behind the dynamic batcher (cnn_core/imagenet/runtime.py) — against its two
same-run baselines, OpenVINO's plain LATENCY and THROUGHPUT hints, for SqueezeNet v1.1 and
Inception v3, float32 and bfloat16 (where the CPU has it), in one run (issue 21):

* **lone image**: one request at a time, one image each — ms per image, median of ``--repeat``
  calls, the three runtimes timed in turn within each round. Target: the default within 10 % of
  the LATENCY hint's time (``lone / latency`` ≤ 1.10).
* **8 at once**: ``--concurrent`` threads (8), each sending single-image requests back to back,
  ``--rounds`` each at least, more for a fast model (each burst ~1.5 s) — images per second,
  median of 5 bursts, the runtimes in turn. Target: the
  default within 10 % of the THROUGHPUT hint's images/s (``default / throughput`` ≥ 0.90).
* **answers**: the default runtime against TensorFlow float32 (the reference) on the bundled
  photos: max |p − p_TF| (target ≤ 1e-5 for float32) and whether the top-5 are the same; for
  bfloat16, whose rounding differs from float32 by design, the same top-5 as bfloat16 without
  batching (the LATENCY hint) on 16 images.

    python benchmarks/classify_bench.py            # everything, ~3–4 min on 2 cores
    python benchmarks/classify_bench.py --quick    # SqueezeNet only, 5 lone calls (~1 min)

SqueezeNet has its real bundled weights. Inception v3 has *random* weights unless
CNNLAB_INCEPTION_WEIGHTS (or the Keras cache) provides the ImageNet ones: the timing is the same,
and the answer check still compares the same network in two runtimes. The last line is one JSON
object with every figure.
"""

import argparse
import json
import math
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from cnn_core.imagenet import models as imagenet_models  # noqa: E402
from cnn_core.imagenet import runtime as inference  # noqa: E402
from cnn_core.imaging import list_image_files, prepare_image  # noqa: E402
from cnn_core.paths import DATA_DIR  # noqa: E402

baselines = ("latency", "throughput")          # OpenVINO's plain performance hints
lone_target, together_target = 1.10, 0.90      # issue 21
short = {"float32": "f32", "bfloat16": "bf16"}


def random_model(key):
    """``key``'s network with seeded random weights (None if its real weights are local)."""
    import keras

    if imagenet_models.find_weights(key).path is not None:
        return None
    keras.utils.set_random_seed(21)
    return imagenet_models.models[key].build()


def runtimes_for(key, precision, model):
    """{"default": the pages' classifier, "latency": …, "throughput": …} for one model and
    precision; the default is ``load_classifier(key, precision=…)`` where the weights are
    local, else a Classifier with the same defaults around ``model`` (random weights)."""
    spec = imagenet_models.models[key]
    built = {}
    start = time.perf_counter()
    if model is None:
        built["default"] = inference.load_classifier(key, precision=precision)
    else:
        built["default"] = inference.Classifier(spec, model, precision=precision)
    network = built["default"].model
    for hint in baselines:
        built[hint] = inference.Classifier(spec, network, "openvino", precision, hint,
                                           built["default"].weights)
    for classifier in built.values():
        classifier.warm_up()
    print(f"  {spec.title} {precision}: 3 runtimes ready in {time.perf_counter() - start:.0f} s "
          f"({'random' if model is not None else 'real'} weights)", flush=True)
    return built


def lone_ms(built, images, repeat):
    """Median ms of a one-image request for each runtime, one request at a time, in turn."""
    times = {name: [] for name in built}
    for round_ in range(repeat):
        image = images[round_ % len(images)][None]
        for name, classifier in built.items():
            start = time.perf_counter()
            classifier.predict(image)
            times[name].append(1000 * (time.perf_counter() - start))
    return {name: statistics.median(values) for name, values in times.items()}


def together_images_per_s(classifier, images, threads, rounds):
    """``threads`` callers each sending ``rounds`` one-image requests back to back, released
    together: images per second over the whole burst."""
    barrier = threading.Barrier(threads + 1)
    errors = []

    def caller(number):
        barrier.wait()
        try:
            for round_ in range(rounds):
                index = (number * rounds + round_) % len(images)
                classifier.predict(images[index][None])
        except Exception as error:                 # reported, never hidden
            errors.append(error)

    workers = [threading.Thread(target=caller, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    barrier.wait()
    start = time.perf_counter()
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - start
    if errors:
        raise errors[0]
    return threads * rounds / seconds


def together(built, images, threads, rounds, bursts=5):
    figures = {name: [] for name in built}
    for _ in range(bursts):
        for name, classifier in built.items():
            figures[name].append(together_images_per_s(classifier, images, threads, rounds))
    return {name: statistics.median(values) for name, values in figures.items()}


def answers(classifier, reference, photos):
    """(max |p − p_ref|, same top-5 for every photo?) of ``classifier`` against ``reference``."""
    expected, actual = reference.predict(photos), classifier.predict(photos)
    same = ([list(inference.top_k_indices(row, 5)) for row in actual] ==
            [list(inference.top_k_indices(row, 5)) for row in expected])
    return float(np.abs(actual - expected).max()), same


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="SqueezeNet only, 5 lone calls (a smoke run, ~30 s)")
    parser.add_argument("--repeat", type=int, default=51,
                        help="lone-image calls per runtime (a 2-ms model needs many: the "
                             "median of 15 wandered by up to 30 %%)")
    parser.add_argument("--concurrent", type=int, default=8, help="callers at once")
    parser.add_argument("--rounds", type=int, default=4, help="requests per caller per burst")
    parser.add_argument("--models", nargs="+", default=["squeezenet", "inception_v3"])
    parser.add_argument("--precisions", nargs="+", default=list(inference.precisions))
    parser.add_argument("--batch-workers", type=int, default=inference.batch_workers,
                        help="batches in flight in the default runtime (to explore; default "
                             f"{inference.batch_workers}, the runtime's own)")
    args = parser.parse_args()
    inference.batch_workers = args.batch_workers
    if args.quick:
        args.models, args.repeat = ["squeezenet"], 5
    precisions = [p for p in args.precisions
                  if p == "float32" or inference.bfloat16_support()[0]]
    samples = list_image_files(DATA_DIR / "samples")
    figures = {"load_before": os.getloadavg()[0], "cores": os.cpu_count(), "rows": []}
    print(f"{os.cpu_count()} cores; bfloat16: {inference.bfloat16_support()[1]}")
    header = (f"{'model':<16}{'prec':<6}{'lone ms: default':>17}{'latency':>9}{'through.':>9}"
              f"{'ratio':>7}  {args.concurrent} at once img/s: {'default':>8}{'through.':>9}"
              f"{'latency':>9}{'ratio':>7}  {'max |Δp| vs TF':>15}{'top-5':>7}  verdict")
    rows = []
    for key in args.models:
        spec = imagenet_models.models[key]
        side = spec.input_size
        photos = np.stack([prepare_image(path, side).pixels for path in samples])
        rng = np.random.default_rng(0)              # more distinct images: photos + noise
        images = np.concatenate([photos, rng.integers(0, 256, (13, side, side, 3), np.uint8)])
        reference, model = None, random_model(key)
        for precision in precisions:
            built = runtimes_for(key, precision, model)
            if reference is None:
                reference = inference.Classifier(spec, built["default"].model, "tensorflow")
            lone = lone_ms(built, images, args.repeat)
            # each burst long enough to time (~1.5 s): more rounds for a fast model
            rounds = max(args.rounds, math.ceil(1500 / (args.concurrent * lone["latency"])))
            crowd = together(built, images, args.concurrent, rounds)
            tf_diff, tf_same = answers(built["default"], reference, photos)
            hint_diff, hint_same = answers(built["default"], built["latency"], images)
            check = {"max_abs_diff_vs_tensorflow_f32": tf_diff, "same_top5_as_tensorflow_f32":
                     tf_same, "max_abs_diff_vs_latency_hint": hint_diff,
                     "same_top5_as_latency_hint": hint_same}
            # float32: the reference runtime's answers; bfloat16: its own rounding, so the
            # answers must be those of the same precision without batching (LATENCY hint)
            answers_ok = (tf_same and tf_diff <= 1e-5) if precision == "float32" else hint_same
            lone_ratio = lone["default"] / lone["latency"]
            crowd_ratio = crowd["default"] / crowd["throughput"]
            verdict = "ok" if (lone_ratio <= lone_target and crowd_ratio >= together_target
                               and answers_ok) else "MISSED"
            row = {"model": key, "weights": "random" if model is not None else "real",
                   "precision": precision,
                   "lone_ms": {k: round(v, 1) for k, v in lone.items()},
                   "lone_over_latency": round(lone_ratio, 3),
                   "together_images_per_s": {k: round(v, 2) for k, v in crowd.items()},
                   "together_rounds_per_caller": rounds,
                   "together_over_throughput": round(crowd_ratio, 3),
                   "batches_run_by_size": dict(sorted(
                       built["default"].forward.batcher.sizes.items())),
                   **check, "verdict": verdict}
            rows.append(row)
            if len(rows) == 1:
                print(header)
            print(f"{spec.title:<16}{short[precision]:<6}{lone['default']:>17.1f}"
                  f"{lone['latency']:>9.1f}{lone['throughput']:>9.1f}{lone_ratio:>7.2f}  "
                  f"{'':>{len(str(args.concurrent)) + 20}}{crowd['default']:>8.1f}"
                  f"{crowd['throughput']:>9.1f}{crowd['latency']:>9.1f}{crowd_ratio:>7.2f}  "
                  f"{tf_diff:>15.1e}{'same' if tf_same else 'DIFF':>7}"
                  f"  {verdict}", flush=True)
            del built
    print(f"targets: lone ratio = default / LATENCY hint ≤ {lone_target}; at-once ratio = "
          f"default / THROUGHPUT hint ≥ {together_target}; float32: max |Δp| ≤ 1e-5 and the "
          "same top-5 as TensorFlow float32; bfloat16 (its rounding differs from float32, shown for "
          "information): the same top-5 as bfloat16 without batching (LATENCY hint)")
    figures["rows"] = rows
    figures["load_after"] = os.getloadavg()[0]
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
