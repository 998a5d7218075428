"""The command line: ``python -m cnn_core.classify`` (or ``python -m cnn_core.imagenet``).

    python -m cnn_core.classify PATH... [--model auto|inception_v3|squeezenet|resnet50]
        [--runtime openvino|tensorflow] [--precision float32|bfloat16] [--top 5] [--json]

One line per photo (``--json``: one JSON object); exit status 0 all classified, 1 some files
failed, 2 usage error or missing weights.
"""

import argparse
import json
import os
import sys
import tempfile

from cnn_core.errors import CNNLabError, quiet_operator_log, with_detail
from cnn_core.imagenet.classify import classify_sources, expand_paths
from cnn_core.imagenet.models import models, serving_model


def format_result(result, model_key):
    if result.error:
        return f"{result.name}: error: {result.error}"
    best = ", ".join(f"{entry['label']} {entry['probability']:.1%}" for entry in result.top)
    return f"{result.name} [{model_key}]: {best}"


# TensorFlow's C++ start-up lines, written straight to file descriptor 2 while it loads (its
# TF_CPP_MIN_LOG_LEVEL does not reach the ones logged before absl is initialised).
tensorflow_noise = ("absl::InitializeLog", "oneDNN custom operations", "cpu_feature_guard",
                    "rebuild TensorFlow with the appropriate compiler flags", "TF-TRT",
                    "Unable to register cu", "computation placer already registered",
                    "Could not find cuda drivers", "TensorFlow binary is optimized")


def import_tensorflow_quietly():
    """Import TensorFlow with its start-up log lines dropped; any other line it writes to
    stderr (a real problem) is passed on."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            for line in captured.read().decode(errors="replace").splitlines():
                if line.strip() and not any(noise in line for noise in tensorflow_noise):
                    print(line, file=sys.stderr)


def main(argv=None):
    from cnn_core.imagenet.runtime import load_classifier, precisions, runtimes

    quiet_operator_log()
    parser = argparse.ArgumentParser(prog="python -m cnn_core.classify",
                                     description="Classify photos (files or folders) with an "
                                                 "ImageNet CNN and print the top classes.")
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    parser.add_argument("--model", default="auto", choices=["auto", *models],
                        help="auto: Inception v3 if its weights are available, else SqueezeNet")
    parser.add_argument("--runtime", default="openvino", choices=runtimes,
                        help="openvino (default, faster) or tensorflow (the reference)")
    parser.add_argument("--precision", default="float32", choices=precisions,
                        help="bfloat16 only where the CPU computes it natively")
    parser.add_argument("--top", type=int, default=5, help="how many classes to print (1–1000)")
    parser.add_argument("--json", action="store_true", help="one JSON object per input")
    args = parser.parse_args(argv)
    if not 1 <= args.top <= 1000:
        parser.exit(2, f"error: --top must be between 1 and 1000, not {args.top}\n")
    import_tensorflow_quietly()
    try:
        serving = (serving_model("auto") if args.model == "auto" else None)
        if serving and serving.note:
            print(f"note: {with_detail(serving.note, serving.server_detail)}", file=sys.stderr)
        model_key = serving.key if serving else args.model
        classifier = load_classifier(model_key, runtime=args.runtime, precision=args.precision)
    except CNNLabError as error:
        parser.exit(2, f"error: {error.for_operator()}\n")
    failed = 0
    sources = [str(path) for path in expand_paths(args.paths)]
    for start in range(0, len(sources), 32):          # bounded memory for big folders
        results, _ = classify_sources(classifier, sources[start:start + 32], k=args.top,
                                      cache=None, photos=None)
        for result in results:
            failed += result.error is not None
            print(json.dumps(result.as_json(model_key)) if args.json
                  else format_result(result, model_key), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
