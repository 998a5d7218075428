"""MNIST recipes against the exercise's baseline, trained in the same run on the same machine.

    python benchmarks/mnist_bench.py                                   # baseline and fast, 3 seeds
    python benchmarks/mnist_bench.py --recipes baseline,fast,best,ensemble    # the issue's run
    python benchmarks/mnist_bench.py --seeds 1 --recipes fast          # a quick look at one recipe

Each run trains the recipe from scratch exactly as the page does (cnn_core.mnist.training.train) and
evaluates the test set once at the end (an ensemble: each member and the average). Baseline and
fast runs alternate (baseline seed 0, fast seed 0, baseline seed 1, ...) so that a change in the
machine's load hits both alike; the other recipes follow, ``--other-seeds`` seeds each.
Time = model.fit's span summed over an ensemble's members (graph tracing included; data loading,
the TTA choice and the test evaluation excluded), as wall-clock seconds and as this process's
CPU seconds. On a CPU shared with other jobs the wall clock is noisy; CPU time much less so.

Test-time augmentation (TTA) is kept or dropped on the held-out training images; the test
accuracy of the other choice is printed too (``<name>_acc_tta`` / ``<name>_acc_no_tta``), for
information only — nothing is selected on it.

The last line is one JSON object: for every recipe run ``<name>_acc``, ``<name>_s``,
``<name>_cpu_s``, ``<name>_errors`` (means over its seeds) and with several seeds
``<name>_sd``, ``<name>_accs``, ``<name>_secs``; time_ratio = fast_s / baseline_s and
cpu_time_ratio; an ensemble's ``<name>_member_accs``; the 1-minute load average at the start
and the end (load_start, load_end) and all three (``load_*_1_5_15``).
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

from cnn_core.mnist.recipes import RECIPES, recipe  # noqa: E402
from cnn_core.mnist.training import evaluate, make_splits, train  # noqa: E402


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def other_tta_accuracy(result, settings) -> float | None:
    """Test accuracy of the TTA choice *not* taken (reported only; chosen on validation)."""
    from cnn_core.mnist.ensemble import average_model

    if not result.tta:
        return None
    splits = make_splits(settings)
    other = average_model(result.networks, tta=not result.tta["tta"])
    return evaluate(other, splits.x_test, splits.y_test).accuracy


def run(name: str, seed: int) -> dict:
    settings = recipe(name).settings.with_changes(seed=seed)

    def log_epoch(event):
        if event["kind"] == "epoch":
            member = f" member {event['member']}/{event['members']}" if "member" in event else ""
            print(f"  {name} seed {seed}{member} epoch {event['epoch']}/{event['epochs']}: "
                  f"val accuracy {event['val_accuracy']:.4f}, {event['elapsed']:.0f} s",
                  flush=True)

    result = train(name, settings, on_progress=log_epoch)
    acc = result.evaluation.accuracy
    row = {"acc": acc, "errors": result.evaluation.errors, "s": result.seconds,
           "cpu_s": result.cpu_seconds}
    for member in result.members:
        print(f"  {name} seed {seed} {member['name']}: test accuracy "
              f"{member['test_accuracy']:.4f} ({member['errors']} errors), "
              f"fit {member['fit_seconds']:.1f} s wall, {member['cpu_seconds']:.1f} s CPU",
              flush=True)
    row["member_accs"] = [m["test_accuracy"] for m in result.members]
    if result.tta:
        other = other_tta_accuracy(result, settings)
        with_tta, without = (acc, other) if result.tta["tta"] else (other, acc)
        row.update(acc_tta=with_tta, acc_no_tta=without)
        tta = result.tta
        print(f"  {name} seed {seed} TTA: validation errors {tta['errors_with_tta']} with,"
              f" {tta['errors_without_tta']} without (log-loss {tta['log_loss_with_tta']:.4f},"
              f" {tta['log_loss_without_tta']:.4f}) -> "
              f"{'kept' if result.tta['tta'] else 'dropped'}; test accuracy {with_tta:.4f} with,"
              f" {without:.4f} without", flush=True)
    print(f"{name:<9} seed {seed}  test accuracy {acc:.4f} ({result.evaluation.errors} errors)  "
          f"fit {result.seconds:6.1f} s wall, {result.cpu_seconds:6.1f} s CPU  "
          f"epochs {settings.epochs}  members {settings.members}  batch {settings.batch_size}  "
          f"{settings.precision}  load {load()}", flush=True)
    return row


def summarize(name: str, runs: list[dict], figures: dict) -> None:
    accs = [r["acc"] for r in runs]
    figures[f"{name}_acc"] = statistics.mean(accs)
    figures[f"{name}_s"] = statistics.mean(r["s"] for r in runs)
    figures[f"{name}_cpu_s"] = statistics.mean(r["cpu_s"] for r in runs)
    figures[f"{name}_errors"] = statistics.mean(r["errors"] for r in runs)
    if len(runs) > 1:
        figures[f"{name}_sd"] = statistics.stdev(accs)
        figures[f"{name}_accs"] = accs
        figures[f"{name}_secs"] = [r["s"] for r in runs]
        figures[f"{name}_cpu_secs"] = [r["cpu_s"] for r in runs]
    for key in ("acc_tta", "acc_no_tta"):
        if all(key in r for r in runs):
            figures[f"{name}_{key}"] = statistics.mean(r[key] for r in runs)
    if any(r["member_accs"] for r in runs):
        figures[f"{name}_member_accs"] = [a for r in runs for a in r["member_accs"]]
    sd = f" ± {figures[f'{name}_sd']:.4f}" if len(runs) > 1 else ""
    print(f"== {name}: test accuracy {figures[f'{name}_acc']:.4f}{sd} over {len(runs)} seed(s), "
          f"{figures[f'{name}_errors']:.1f} errors, fit {figures[f'{name}_s']:.1f} s wall, "
          f"{figures[f'{name}_cpu_s']:.1f} s CPU", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--best", action="store_true", help="also train the best recipe")
    parser.add_argument("--seeds", type=int, default=3, help="seeds for the fast recipe")
    parser.add_argument("--baseline-seeds", type=int, default=3,
                        help="seeds for the baseline (alternating with the fast runs)")
    parser.add_argument("--other-seeds", type=int, default=1,
                        help="seeds for every other recipe (best, ensemble)")
    parser.add_argument("--recipes", default="baseline,fast",
                        help=f"comma-separated recipes among {','.join(RECIPES)}; "
                             "'none' for --best only")
    args = parser.parse_args(argv)
    if min(args.seeds, args.baseline_seeds, args.other_seeds) < 1:
        print("error: --seeds, --baseline-seeds and --other-seeds must be at least 1",
              file=sys.stderr)
        return 2
    wanted = [] if args.recipes == "none" else [n.strip() for n in args.recipes.split(",")]
    unknown = [n for n in wanted if n not in RECIPES]
    if unknown:
        print(f"error: unknown recipe(s) {', '.join(unknown)}; choose among "
              f"{', '.join(RECIPES)}", file=sys.stderr)
        return 2
    if args.best and "best" not in wanted:
        wanted.append("best")
    figures: dict[str, object] = {"load_start": os.getloadavg()[0],
                                  "load_start_1_5_15": list(os.getloadavg())}
    print(f"# {platform.machine()}, {os.cpu_count()} CPUs, load average {load()}", flush=True)
    runs: dict[str, list[dict]] = {name: [] for name in wanted}
    for seed in range(max(args.seeds, args.baseline_seeds)):
        if "baseline" in wanted and seed < args.baseline_seeds:
            runs["baseline"].append(run("baseline", seed))
        if "fast" in wanted and seed < args.seeds:
            runs["fast"].append(run("fast", seed))
    for name in wanted:
        if name not in ("baseline", "fast"):
            runs[name] = [run(name, seed) for seed in range(args.other_seeds)]
    for name in wanted:
        summarize(name, runs[name], figures)
    if "baseline" in wanted and "fast" in wanted:
        figures["time_ratio"] = figures["fast_s"] / figures["baseline_s"]
        figures["cpu_time_ratio"] = figures["fast_cpu_s"] / figures["baseline_cpu_s"]
    figures["load_end"] = os.getloadavg()[0]
    figures["load_end_1_5_15"] = list(os.getloadavg())
    rounded = {k: (round(v, 4) if isinstance(v, float) else
                   [round(x, 4) for x in v] if isinstance(v, list) else v)
               for k, v in figures.items()}
    print(json.dumps(rounded))
    return 0


if __name__ == "__main__":
    sys.exit(main())
