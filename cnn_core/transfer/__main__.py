"""The command line: ``python -m cnn_core.transfer``.

    python -m cnn_core.transfer fit DATA_DIR --out model.keras
                                    [--backbone auto|squeezenet|inception_v3] [--augment]
                                    [--epochs N] [--hidden N] [--fine-tune EPOCHS] [--json]
    python -m cnn_core.transfer predict model.keras PATH... [--top N] [--json]

DATA_DIR holds one subfolder per class (Keras' ``image_dataset_from_directory`` layout).
``fit`` prints the validation accuracy and confusion matrix (``--json``: {"classes",
"val_accuracy", "confusion", "backbone", "train_images", "val_images", "validation",
"skipped"}); ``predict`` prints {"path", "top": [{"label", "probability"}]} per image.
Exit status as ``python -m cnn_core.classify``: 0 all done, 1 some files failed (skipped or
not classified), 2 usage error, unusable data or missing weights.
"""

import argparse
import json
import sys

from cnn_core.errors import CNNLabError, quiet_operator_log, with_detail
from cnn_core.transfer.head import HeadSettings
from cnn_core.transfer.pipeline import augment_copies, ranked, teach


def format_confusion(classes, confusion):
    width = max(8, *(len(c) for c in classes))
    lines = [" " * (width + 2) + " ".join(f"{c[:width]:>{width}}" for c in classes)]
    for name, row in zip(classes, confusion):
        lines.append(f"{name[:width]:>{width}}  " + " ".join(f"{v:>{width}}" for v in row))
    return "true \\ predicted\n" + "\n".join(lines)


def fit_command(args):
    from cnn_core.transfer.data import load_class_folders, read_class_folders
    from cnn_core.transfer.embed import Backbone, backbone_choice

    if args.epochs < 1:
        raise CNNLabError("--epochs must be at least 1.")
    if not str(args.out).endswith(".keras"):
        raise CNNLabError(f"--out must name a .keras file, not {args.out}.")
    read_class_folders(args.data_dir)            # the layout, before loading a backbone
    serving = backbone_choice(args.backbone)
    if serving.note:
        print(f"note: {with_detail(serving.note, serving.server_detail)}", file=sys.stderr)
    backbone = Backbone(serving.key, serving.weights)
    teaching, skipped = load_class_folders(args.data_dir, backbone.key, backbone.input_size,
                                           backbone.embed)
    for problem in skipped:
        print(f"skipped: {problem}", file=sys.stderr)
    settings = HeadSettings(epochs=args.epochs, hidden_units=args.hidden,
                            augment_copies=augment_copies if args.augment else 0)
    fit, model = teach(teaching, backbone, settings)
    tuned = None
    if args.fine_tune:
        from cnn_core.transfer.finetune import FineTuneSettings, fine_tune

        tuned = fine_tune(model, teaching.arrays()[2], fit, FineTuneSettings(args.fine_tune))
        model = tuned.model
    model.save(args.out)
    summary = {"classes": fit.classes, "val_accuracy": fit.val_accuracy,
               "confusion": fit.confusion.tolist(), "backbone": backbone.key,
               "train_images": fit.train_images, "val_images": fit.val_images,
               "validation": fit.plan.describe(), "skipped": skipped, "out": str(args.out)}
    if tuned:
        summary["fine_tuned"] = {"before": tuned.before, "after": tuned.after,
                                 "epochs": args.fine_tune, "seconds": tuned.seconds}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{backbone.spec.title} backbone, {backbone.features} features; "
              f"{fit.plan.describe()}")
        print(f"validation accuracy {fit.val_accuracy:.1%} on {fit.val_images} images; "
              f"the saved head trained on {fit.train_images} images in {fit.seconds:.1f} s")
        print(format_confusion(fit.classes, fit.confusion))
        if tuned:
            print(f"fine-tuned the top block for {args.fine_tune} epochs: validation accuracy "
                  f"{tuned.before:.1%} → {tuned.after:.1%} ({tuned.seconds:.0f} s)")
        print(f"saved {args.out}")
    return 1 if skipped else 0


def predict_command(args):
    from cnn_core.imagenet import expand_paths
    from cnn_core.imaging import prepare_image
    from cnn_core.transfer.model import load_transfer_model

    if args.top < 1:
        raise CNNLabError(f"--top must be at least 1, not {args.top}.")
    model = load_transfer_model(args.model)
    failed = 0
    for path in expand_paths(args.paths):
        try:
            pixels = prepare_image(str(path), model.spec.input_size).pixels
        except CNNLabError as error:
            failed += 1
            result = {"path": str(path), "error": str(error)}
        else:
            top = ranked(model.predict(pixels[None])[0], model.classes, args.top)
            result = {"path": str(path), "top": [{"label": e["label"],
                                                  "probability": e["probability"]} for e in top]}
        if args.json:
            print(json.dumps(result), flush=True)
        elif "error" in result:
            print(f"{path}: error: {result['error']}", flush=True)
        else:
            print(f"{path}: " + ", ".join(f"{e['label']} {e['probability']:.1%}"
                                          for e in result["top"]), flush=True)
    return 1 if failed else 0


def main(argv=None):
    quiet_operator_log()
    parser = argparse.ArgumentParser(prog="python -m cnn_core.transfer",
                                     description="Teach a CNN your own classes (transfer "
                                                 "learning on a frozen ImageNet backbone).")
    commands = parser.add_subparsers(dest="command", required=True)
    fit = commands.add_parser("fit", help="train on DATA_DIR (one subfolder per class)")
    fit.add_argument("data_dir", metavar="DATA_DIR")
    fit.add_argument("--out", required=True, help="the .keras file to write")
    fit.add_argument("--backbone", default="auto", choices=["auto", "squeezenet", "inception_v3"],
                     help="auto: Inception v3 if its weights are here, else SqueezeNet")
    fit.add_argument("--augment", action="store_true",
                     help=f"also train on {augment_copies} altered copies of each image")
    fit.add_argument("--epochs", type=int, default=HeadSettings.epochs)
    fit.add_argument("--hidden", type=int, default=0, help="hidden units (0: none)")
    fit.add_argument("--fine-tune", type=int, default=0, metavar="EPOCHS",
                     help="then unfreeze the backbone's top block for EPOCHS epochs (lr 1e-5)")
    fit.add_argument("--json", action="store_true", help="one JSON object")
    predict = commands.add_parser("predict", help="classify photos with an exported model")
    predict.add_argument("model", help="a .keras file written by fit (or the page)")
    predict.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    predict.add_argument("--top", type=int, default=5, help="how many classes to print")
    predict.add_argument("--json", action="store_true", help="one JSON object per image")
    args = parser.parse_args(argv)
    try:
        return fit_command(args) if args.command == "fit" else predict_command(args)
    except CNNLabError as error:
        parser.exit(2, f"error: {error.for_operator()}\n")


if __name__ == "__main__":
    sys.exit(main())
