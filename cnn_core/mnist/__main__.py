"""Train one MNIST job from the command line, in a local worker process or on a Ray cluster.

    python -m cnn_core.train --recipe fast --epochs 1 --train-examples 2000 --json
    python -m cnn_core.train --recipe best --ray 127.0.0.1:6379 --out best.keras

Progress goes to stderr (one line per epoch); ``--json`` prints one JSON object at the end:
recipe, test_accuracy, test_errors, epochs_run, fit_seconds, executor ("local"|"ray"),
worker_pid. Ctrl-C stops the run at the next batch and keeps the partial model.
Exit status: 0 trained; 1 the job failed; 2 bad settings (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys

from cnn_core.errors import CNNLabError, quiet_operator_log

EXIT_FAILED, EXIT_USAGE = 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse prints the usage too)
        self.exit(EXIT_USAGE, f"error: {message}\n")


def parse_args(argv=None):
    parser = _Parser(prog="python -m cnn_core.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipe", required=True, help="a recipe of cnn_core.mnist.recipes")
    parser.add_argument("--epochs", type=int, help="default: the recipe's")
    parser.add_argument("--batch-size", type=int, help="default: the recipe's")
    parser.add_argument("--train-examples", type=int,
                        help="train on the first N training images (default: all but the "
                             "validation hold-out)")
    parser.add_argument("--seed", type=int, help="default: the recipe's")
    parser.add_argument("--ray", metavar="ADDRESS",
                        help="run on this Ray cluster (e.g. 127.0.0.1:6379) instead of a "
                             "local worker process")
    parser.add_argument("--out", metavar="model.keras", help="save the trained model here")
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end")
    return parser.parse_args(argv)


def job_spec(args):
    """The job to run, or CNNLabError for settings that cannot train."""
    from cnn_core.mnist.recipes import recipe
    from cnn_core.mnist.training import check_settings
    from cnn_core.mnist.jobs import JobSpec

    settings = recipe(args.recipe).settings
    changes = {"epochs": args.epochs, "batch_size": args.batch_size, "seed": args.seed}
    settings = settings.with_changes(**{k: v for k, v in changes.items() if v is not None})
    check_settings(settings)
    if args.train_examples is not None and not 100 <= args.train_examples <= 60_000:
        raise CNNLabError("--train-examples must be between 100 and 60,000.")
    if args.out and not args.out.endswith(".keras"):
        raise CNNLabError(f"--out must name a .keras file, not {args.out!r}.")
    return JobSpec(args.recipe, settings, args.train_examples)


class _PrintProgress:
    """Job.on_event's stand-in that also writes each epoch to stderr."""

    def __init__(self, job):
        self.job, self.on_event = job, job.on_event

    def __call__(self, event):
        self.on_event(event)
        if event["kind"] == "epoch":
            member = f"member {event['member']}/{event['members']} · " if "member" in event else ""
            figures = " ".join(f"{k} {event[k]:.4f}" for k in
                               ("loss", "accuracy", "val_loss", "val_accuracy") if k in event)
            print(f"{member}epoch {event['epoch']}/{event['epochs']}  {figures}  "
                  f"({event['seconds']:.1f} s)", file=sys.stderr, flush=True)
        elif event["kind"] == "started":
            print(f"training in process {event['worker_pid']}", file=sys.stderr, flush=True)


def main(argv=None) -> int:
    quiet_operator_log()
    args = parse_args(argv)
    try:
        spec = job_spec(args)
    except CNNLabError as err:
        print(f"error: {err.for_operator()}", file=sys.stderr)
        return EXIT_USAGE
    from cnn_core.mnist import executors as training_executors
    from cnn_core.mnist.jobs import Job, JobFailed

    try:
        executor = (training_executors.RayExecutor(args.ray) if args.ray
                    else training_executors.LocalExecutor(1))
    except CNNLabError as err:
        print(f"error: {err.for_operator()}", file=sys.stderr)
        return EXIT_FAILED
    job = Job(spec, owner="cli")
    job.on_event = _PrintProgress(job)

    def stop(signum, frame):  # Ctrl-C: stop at the next batch, keep the partial model
        job.stop_requested = True
        print("stopping at the next batch …", file=sys.stderr, flush=True)

    signal.signal(signal.SIGINT, stop)
    try:
        payload = executor.run(job)
    except JobFailed as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        executor.shutdown()
    evaluation = payload["evaluation"]
    if args.out:
        with open(args.out, "wb") as file:
            file.write(payload["keras_file"])
    summary = {
        "recipe": spec.recipe_name,
        "test_accuracy": evaluation.accuracy,
        "test_errors": evaluation.errors,
        "epochs_run": sum(bool(row.get("complete")) for row in payload["history"]),
        "fit_seconds": round(payload["seconds"], 3),
        "executor": executor.kind,
        "worker_pid": payload["worker_pid"],
    }
    print(f"test accuracy {evaluation.accuracy:.2%} ({evaluation.errors:,} errors) in "
          f"{payload['seconds']:.1f} s of fit", file=sys.stderr)
    if args.json:
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
