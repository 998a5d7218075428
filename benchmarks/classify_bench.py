"""Classification latency: the compiled ``tf.function`` forward pass (what the page and CLI use)
vs ``model.predict`` (the baseline), for one image and for a batch of 16, for SqueezeNet v1.1
and Inception v3 side by side in one run; plus mixed_bfloat16 and whether it keeps the top-5.

    python benchmarks/classify_bench.py [--repeat 5]

SqueezeNet uses its real bundled weights. Inception v3 uses *random* weights unless
CNNLAB_INCEPTION_WEIGHTS (or the Keras cache) provides the ImageNet ones: the timing is the same,
the bfloat16 top-5 check is only meaningful with real weights (reported as n/a otherwise).
Each figure is the best of ``--repeat`` timed calls after one warm-up call (tracing excluded);
the three ways are timed in turn within each round, so other load on the CPU hits them alike.
Inputs: the bundled sample photos, repeated to 16. The last line is one JSON object.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from cnn_core import imagenet_models, inference  # noqa: E402
from cnn_core.imaging import list_image_files, prepare_image  # noqa: E402
from cnn_core.paths import DATA_DIR  # noqa: E402

batch_size = 16


def best_ms_per_image(predictors, pixels, repeat):
    """Best-of-``repeat`` ms per image for each predictor, timed in turn within each round, so
    load from other processes on the shared CPU hits all of them alike."""
    for predict in predictors:
        predict(pixels)                               # warm-up: tracing, oneDNN primitives
    times = [[] for _ in predictors]
    for _ in range(repeat):
        for predict, measured in zip(predictors, times):
            start = time.perf_counter()
            predict(pixels)
            measured.append(time.perf_counter() - start)
    return [1000 * min(measured) / len(pixels) for measured in times]


def load(key):
    """(classifier, real weights?) — Inception v3 falls back to random weights for timing."""
    status = imagenet_models.find_weights(key)
    if status.path is not None:
        return inference.load_classifier(key, configured=str(status.path),
                                         runtime="tensorflow"), True
    spec = imagenet_models.models[key]
    return inference.Classifier(spec, spec.build(), runtime="tensorflow"), False


def top5_sets(classifier, pixels):
    return [[entry["index"] for entry in imagenet_models.top_k(row)] for row in classifier.predict(pixels)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    samples = list_image_files(DATA_DIR / "samples")
    figures = {}
    print(f"{'model':<16}{'weights':<9}{'case':<11}{'compiled':>10}{'predict':>10}"
          f"{'speed-up':>10}{'bf16':>9}   ms per image")
    for key in ["squeezenet", "inception_v3"]:
        classifier, real = load(key)
        side = classifier.spec.input_size
        photos = np.stack([prepare_image(path, side).pixels for path in samples])
        batch = np.resize(photos, (batch_size, side, side, 3))      # samples repeated to 16
        fast = inference.Classifier(classifier.spec, classifier.model, "tensorflow", "bfloat16")
        agree = top5_sets(classifier, photos) == top5_sets(fast, photos) if real else None
        for case, pixels in [("1 image", batch[:1]), ("batch 16", batch)]:
            compiled, keras_predict, bf16 = best_ms_per_image(
                [classifier.predict, classifier.predict, fast.predict], pixels,
                args.repeat)
            figures[f"{key} {case}"] = {"compiled_ms": round(compiled, 1),
                                        "predict_ms": round(keras_predict, 1),
                                        "bf16_compiled_ms": round(bf16, 1)}
            print(f"{classifier.spec.title:<16}{'real' if real else 'random':<9}{case:<11}"
                  f"{compiled:>10.1f}{keras_predict:>10.1f}{keras_predict / compiled:>9.2f}×"
                  f"{bf16:>9.1f}")
        figures[f"{key} bf16_top5_same"] = agree
        print(f"  bfloat16 top-5 identical to float32 on {len(photos)} sample photos: "
              f"{'n/a (random weights)' if agree is None else agree}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
