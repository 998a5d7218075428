"""Baseline vs fast (and best) MNIST recipe, trained in the same run on the same machine.

    python benchmarks/mnist_bench.py              # baseline and fast recipe, 3 seeds each
    python benchmarks/mnist_bench.py --best       # ... and then the best recipe once
    python benchmarks/mnist_bench.py --seeds 1 --recipes fast   # a quick look at one recipe

Each run trains the recipe from scratch exactly as the page does (cnn_core.training.train) and
evaluates the test set once at the end. Baseline and fast runs alternate (baseline seed 0, fast
seed 0, baseline seed 1, ...) so that a change in the machine's load hits both alike.
Time = model.fit's span (graph tracing included; data loading and the test evaluation excluded,
the same for every recipe), as wall-clock seconds and as this process's CPU seconds. On a CPU
shared with other jobs the wall clock is noisy; CPU time much less so: read both ratios.

The last line is one JSON object: baseline_acc, baseline_s, fast_acc, fast_s (means over the
seeds), best_acc, best_s (with --best), time_ratio = fast_s / baseline_s, the same in CPU seconds
(*_cpu_s, cpu_time_ratio), per-seed lists and the load average at the start and the end.
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


def run(name: str, seed: int) -> dict:
    settings = recipe(name).settings.with_changes(seed=seed)

    def log_epoch(event):
        if event["kind"] == "epoch":
            print(f"  {name} seed {seed} epoch {event['epoch']}/{event['epochs']}: "
                  f"val accuracy {event['val_accuracy']:.4f}, {event['elapsed']:.0f} s",
                  flush=True)

    result = train(name, settings, on_progress=log_epoch)
    acc = result.evaluation.accuracy
    print(f"{name:<9} seed {seed}  test accuracy {acc:.4f} ({result.evaluation.errors} errors)  "
          f"fit {result.seconds:6.1f} s wall, {result.cpu_seconds:6.1f} s CPU  "
          f"epochs {settings.epochs}  batch {settings.batch_size}  {settings.precision}  "
          f"load {os.getloadavg()[0]:.1f}", flush=True)
    return {"acc": acc, "s": result.seconds, "cpu_s": result.cpu_seconds}


def summarize(name: str, runs: list[dict], figures: dict) -> None:
    figures[f"{name}_acc"] = statistics.mean(r["acc"] for r in runs)
    figures[f"{name}_s"] = statistics.mean(r["s"] for r in runs)
    figures[f"{name}_cpu_s"] = statistics.mean(r["cpu_s"] for r in runs)
    if len(runs) > 1:
        figures[f"{name}_accs"] = [r["acc"] for r in runs]
        figures[f"{name}_secs"] = [r["s"] for r in runs]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--best", action="store_true", help="also train the best recipe")
    parser.add_argument("--seeds", type=int, default=3, help="seeds for the fast recipe")
    parser.add_argument("--baseline-seeds", type=int, default=3,
                        help="seeds for the baseline (alternating with the fast runs)")
    parser.add_argument("--recipes", default="baseline,fast",
                        help="comma-separated subset of baseline,fast; 'none' for --best only")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.baseline_seeds < 1:
        print("error: --seeds and --baseline-seeds must be at least 1", file=sys.stderr)
        return 2
    wanted = args.recipes.split(",")
    figures: dict[str, object] = {"load_start": os.getloadavg()[0]}
    print(f"# {platform.machine()}, {os.cpu_count()} CPUs, load average "
          f"{figures['load_start']:.1f}", flush=True)
    baseline, fast = [], []
    for seed in range(max(args.seeds, args.baseline_seeds)):
        if "baseline" in wanted and seed < args.baseline_seeds:
            baseline.append(run("baseline", seed))
        if "fast" in wanted and seed < args.seeds:
            fast.append(run("fast", seed))
    if baseline:
        summarize("baseline", baseline, figures)
    if fast:
        summarize("fast", fast, figures)
    if baseline and fast:
        figures["time_ratio"] = figures["fast_s"] / figures["baseline_s"]
        figures["cpu_time_ratio"] = figures["fast_cpu_s"] / figures["baseline_cpu_s"]
    if args.best:
        summarize("best", [run("best", 0)], figures)
    figures["load_end"] = os.getloadavg()[0]
    rounded = {k: (round(v, 4) if isinstance(v, float) else
                   [round(x, 4) for x in v] if isinstance(v, list) else v)
               for k, v in figures.items()}
    print(json.dumps(rounded))
    return 0


if __name__ == "__main__":
    sys.exit(main())
