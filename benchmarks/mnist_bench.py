"""Baseline vs fast (and best) MNIST recipe, trained in the same run on the same machine.

    python benchmarks/mnist_bench.py              # baseline once, fast recipe with 3 seeds
    python benchmarks/mnist_bench.py --best       # ... and the best recipe once
    python benchmarks/mnist_bench.py --seeds 1 --recipes fast   # a quick look at one recipe

Each run trains the recipe from scratch exactly as the page does (cnn_core.training.train) and
evaluates the test set once at the end. Time = model.fit wall time (graph tracing included);
data loading and test evaluation excluded, the same for every recipe. Timings are noisy when
other work shares the CPU: compare the figures of one run, and read `time_ratio`.
The last line is one JSON object: baseline_acc, baseline_s, fast_acc, fast_s (means over the
seeds), best_acc, best_s (with --best), time_ratio = fast_s / baseline_s, plus per-seed lists.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cnn_core.recipes import recipe  # noqa: E402
from cnn_core.training import train  # noqa: E402


def run(name: str, seed: int) -> tuple[float, float]:
    settings = recipe(name).settings.with_changes(seed=seed)

    def log_epoch(event):
        if event["kind"] == "epoch":
            print(f"  {name} seed {seed} epoch {event['epoch']}/{event['epochs']}: "
                  f"val accuracy {event['val_accuracy']:.4f}, {event['elapsed']:.0f} s",
                  flush=True)

    result = train(name, settings, on_progress=log_epoch)
    acc = result.evaluation.accuracy
    print(f"{name:<9} seed {seed}  test accuracy {acc:.4f} ({result.evaluation.errors} errors)  "
          f"fit {result.seconds:6.1f} s  epochs {settings.epochs}  batch {settings.batch_size}  "
          f"{settings.precision}", flush=True)
    return acc, result.seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--best", action="store_true", help="also train the best recipe")
    parser.add_argument("--seeds", type=int, default=3, help="seeds for the fast recipe")
    parser.add_argument("--recipes", default="baseline,fast",
                        help="comma-separated subset of baseline,fast (default both)")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        print("error: --seeds must be at least 1", file=sys.stderr)
        return 2
    wanted = args.recipes.split(",")
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}", flush=True)
    figures: dict[str, object] = {}
    if "baseline" in wanted:
        figures["baseline_acc"], figures["baseline_s"] = run("baseline", 0)
    if "fast" in wanted:
        runs = [run("fast", seed) for seed in range(args.seeds)]
        figures["fast_accs"] = [acc for acc, _ in runs]
        figures["fast_secs"] = [s for _, s in runs]
        figures["fast_acc"] = statistics.mean(figures["fast_accs"])
        figures["fast_s"] = statistics.mean(figures["fast_secs"])
    if args.best:
        figures["best_acc"], figures["best_s"] = run("best", 0)
    if "baseline_s" in figures and "fast_s" in figures:
        figures["time_ratio"] = figures["fast_s"] / figures["baseline_s"]
    print(f"# load average at the end {os.getloadavg()[0]:.1f}", flush=True)
    rounded = {k: (round(v, 4) if isinstance(v, float) else
                   [round(x, 4) for x in v] if isinstance(v, list) else v)
               for k, v in figures.items()}
    print(json.dumps(rounded))
    return 0


if __name__ == "__main__":
    sys.exit(main())
