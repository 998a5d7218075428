"""Classification speed: TensorFlow (``tf.function``, the old runtime and the reference) against
OpenVINO (the page's runtime), float32 and bfloat16, one image and a batch of 16, SqueezeNet v1.1
and Inception v3 side by side in one run; then Inception v3 float32 again *under contention*,
with two other CPU-bound processes (started and stopped here) running on the same cores.

    python benchmarks/classify_bench.py [--repeat 5] [--skip-contention]

SqueezeNet uses its real bundled weights. Inception v3 uses *random* weights unless
CNNLAB_INCEPTION_WEIGHTS (or the Keras cache) provides the ImageNet ones: the timing is the
same; the agreement columns are only meaningful with real weights. TensorFlow bfloat16 is a
per-layer mixed_bfloat16 clone. Each figure is the best of ``--repeat`` timed calls after one
warm-up call; the ways are timed in turn within each round, so other load hits them alike.
OpenVINO is compiled with the LATENCY hint here (one call at a time uses every core); the page
uses THROUGHPUT (one stream per core, for concurrent sessions; benchmarks/load.py measures it).
The last line is one JSON object.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from cnn_core.imagenet import models as imagenet_models  # noqa: E402
from cnn_core.imagenet import runtime as inference  # noqa: E402
from cnn_core.imaging import list_image_files, prepare_image  # noqa: E402
from cnn_core.paths import DATA_DIR  # noqa: E402

batch_size = 16
ways = [("tensorflow", "float32"), ("openvino", "float32"), ("tensorflow", "bfloat16"),
        ("openvino", "bfloat16")]
burner = "import time\nend = time.time() + 600\nwhile time.time() < end: pass\n"


def best_ms_per_image(predictors, pixels, repeat):
    """Best-of-``repeat`` ms per image for each predictor, timed in turn within each round."""
    for predict in predictors:
        predict(pixels)                               # warm-up: tracing, oneDNN primitives
    times = [[] for _ in predictors]
    for _ in range(repeat):
        for predict, measured in zip(predictors, times):
            start = time.perf_counter()
            predict(pixels)
            measured.append(time.perf_counter() - start)
    return [1000 * min(measured) / len(pixels) for measured in times]


def keras_model(key):
    """(float32 Keras model, real weights?) — Inception v3 gets random weights for timing."""
    spec = imagenet_models.models[key]
    status = imagenet_models.find_weights(key)
    if status.path is not None:
        return inference.load_keras_model(spec, status.path), True
    return spec.build(), False


def classifiers(key, ways):
    spec = imagenet_models.models[key]
    model, real = keras_model(key)
    built = {}
    for runtime, precision in ways:
        start = time.perf_counter()
        built[runtime, precision] = inference.Classifier(spec, model, runtime, precision,
                                                         hint="latency")
        built[runtime, precision].warm_up()
        print(f"  {spec.title}: {runtime} {precision} ready in "
              f"{time.perf_counter() - start:.1f} s (convert + compile + first call)", flush=True)
    return spec, built, real


def agreement(built, photos):
    """Max |p − p_TF| and whether the top-5 (f32) / top-1 (bf16) equal TensorFlow float32's."""
    reference = built["tensorflow", "float32"].predict(photos)
    result = {}
    for (runtime, precision), classifier in built.items():
        rows = classifier.predict(photos)
        same_top = ([list(np.argsort(-r)[:5]) for r in rows] ==
                    [list(np.argsort(-r)[:5]) for r in reference]) if precision == "float32" \
            else list(rows.argmax(1)) == list(reference.argmax(1))
        result[f"{runtime} {precision}"] = {"max_abs_diff": float(np.abs(rows - reference).max()),
                                            "same_top5" if precision == "float32" else
                                            "same_top1": bool(same_top)}
    return result


def under_contention(predict, pixels, repeat):
    """ms per image with two CPU-bound processes running (started and stopped here)."""
    burners = [subprocess.Popen([sys.executable, "-c", burner]) for _ in range(2)]
    try:
        time.sleep(1.0)
        return best_ms_per_image([predict], pixels, repeat)[0]
    finally:
        for process in burners:
            process.kill()
            process.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-contention", action="store_true")
    args = parser.parse_args()
    chosen = [way for way in ways if way[1] == "float32" or inference.bfloat16_support()[0]]
    samples = list_image_files(DATA_DIR / "samples")
    figures = {"load_before": os.getloadavg()[0]}
    short = {"tensorflow": "TF", "openvino": "OV", "float32": "f32", "bfloat16": "bf16"}
    header = "".join(f"{short[runtime] + ' ' + short[precision]:>12}"
                     for runtime, precision in chosen)
    print(f"{'model':<16}{'weights':<9}{'case':<10}{header}   ms per image (best of "
          f"{args.repeat})")
    for key in ["squeezenet", "inception_v3"]:
        spec, built, real = classifiers(key, chosen)
        side = spec.input_size
        photos = np.stack([prepare_image(path, side).pixels for path in samples])
        batch = np.resize(photos, (batch_size, side, side, 3))      # samples repeated to 16
        figures[f"{key} agreement"] = agreement(built, photos)
        for case, pixels in [("1 image", batch[:1]), ("batch 16", batch)]:
            times = best_ms_per_image([built[way].predict for way in chosen], pixels, args.repeat)
            figures[f"{key} {case}"] = {f"{r} {p}": round(t, 1) for (r, p), t in zip(chosen, times)}
            print(f"{spec.title:<16}{'real' if real else 'random':<9}{case:<10}"
                  + "".join(f"{t:>12.1f}" for t in times), flush=True)
        for way, result in figures[f"{key} agreement"].items():
            print(f"  {way} vs TensorFlow float32 on {len(photos)} photos: {result}")
        if key == "inception_v3" and not args.skip_contention:
            for case, pixels in [("1 image", batch[:1]), ("batch 16", batch)]:
                timed = {f"{runtime} float32": round(under_contention(
                    built[runtime, "float32"].predict, pixels, args.repeat), 1)
                    for runtime in ("tensorflow", "openvino")}
                figures[f"{key} {case} float32, 2 CPU-bound processes running"] = timed
                print(f"{spec.title:<16}{'+2 busy':<9}{case:<10}"
                      f"{timed['tensorflow float32']:>12.1f}{timed['openvino float32']:>12.1f}"
                      "   (TF f32, OV f32 under contention)",
                      flush=True)
        del built
    figures["load_after"] = os.getloadavg()[0]
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
