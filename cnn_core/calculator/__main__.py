"""The calculator's command line: ``python -m cnn_core.calculator``.

    python -m cnn_core.calculator --preset exercise2 --json
    python -m cnn_core.calculator --preset resnet50 --batch-size 32
    python -m cnn_core.calculator --model-file model.keras      # or .h5, .json
    python -m cnn_core.calculator --keras-json model.json --dtype mixed_float16

Defaults are the calculator page's (``cnn_core.calculator.state``), so a preset gives the same
totals in both. Errors a user can cause print one ``error: …`` line and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from cnn_core.calculator.analysis import (DTYPES, OPTIMIZER_SLOTS, NetworkReport, analyze,
                                         analyze_graph, format_bytes)
from cnn_core.errors import CNNLabError, quiet_operator_log


def _text_table(rows: list[tuple[str, ...]], right: set[int]) -> list[str]:
    """Columns as wide as their longest cell, two spaces apart (long names never run together)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.rjust(w) if i in right else cell.ljust(w)
                      for i, (cell, w) in enumerate(zip(row, widths))).rstrip() for row in rows]


def _text_report(report: NetworkReport, breakdown: dict[str, int], optimizer: str) -> str:
    lines = [f"input {'×'.join(map(str, report.input_shape))}, dtype {report.dtype}", ""]
    lines += _text_table([("layer", "type", "output shape", "params", "MACs")] + [
        (l.name, l.type, "×".join(map(str, l.output_shape)), f"{l.params:,}", f"{l.macs:,}")
        for l in report.layers], right={3, 4})
    b = breakdown
    peak, peak_layer = report.inference_peak
    lines += [""] + _text_table([
        ("total parameters", f"{report.total_params:,}",
         f"(trainable {report.trainable_params:,}, "
         f"non-trainable {report.non_trainable_params:,})"),
        ("multiply-accumulates", f"{report.macs:,} MACs",
         f"= {report.macs / 1e9:,.3f} G MACs; FLOPs = 2 × MACs = {report.flops:,}"),
        ("activations alive at peak", f"{peak:,} bytes",
         f"while {report.layers[peak_layer].name} runs" if peak_layer >= 0 else ""),
        ("predict one instance", f"{report.inference_bytes:,} bytes",
         f"= {format_bytes(report.inference_bytes)}"),
        (f"train, batch {b['batch_size']:,}", f"{b['bare_minimum']:,} bytes",
         f"= {format_bytes(b['bare_minimum'])} (bare minimum)"),
        ("  + gradients", f"{b['gradients']:,} bytes", ""),
        (f"  + {optimizer} state", f"{b['optimizer_state']:,} bytes", ""),
        ("  = total", f"{b['total']:,} bytes", f"= {format_bytes(b['total'])}"),
    ], right={1})
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from cnn_core.calculator import state as page
    from cnn_core.calculator.catalog import (ALL_PRESETS, architecture_graph, check_preset_name,
                                             is_architecture)
    from cnn_core.networks import preset

    quiet_operator_log()
    parser = argparse.ArgumentParser(
        prog="python -m cnn_core.calculator",
        description="Parameters, MACs and RAM of a CNN, from a preset, a Keras model.to_json() "
                    "or a .keras/.h5 model file (its architecture only: nothing in it runs). "
                    "The defaults are the calculator page's: "
                    f"--optimizer {page.DEFAULT_OPTIMIZER} --batch-size "
                    f"{page.DEFAULT_BATCH_SIZE} --dtype {page.DEFAULT_DTYPE}, gradients counted; "
                    "so the same preset gives the same totals in both.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--preset", help=f"one of: {', '.join(ALL_PRESETS)}")
    source.add_argument("--keras-json", metavar="FILE", help="a file holding model.to_json()")
    source.add_argument("--model-file", metavar="FILE",
                        help="a .keras, .h5 or .json Keras model (any graph)")
    parser.add_argument("--batch-size", type=int, default=page.DEFAULT_BATCH_SIZE,
                        help="default: %(default)s, as on the page")
    parser.add_argument("--dtype", default=page.DEFAULT_DTYPE,
                        help=f"{', '.join(DTYPES)} (default: %(default)s)")
    parser.add_argument("--optimizer", default=page.DEFAULT_OPTIMIZER,
                        help=f"{', '.join(OPTIMIZER_SLOTS)} (default: %(default)s, as on the page)")
    parser.add_argument("--no-gradients", action="store_true",
                        help="leave parameter gradients out of the total (the page counts them)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    gradients = not args.no_gradients
    try:
        if args.preset is not None:
            check_preset_name(args.preset)
        if args.preset is not None and not is_architecture(args.preset):
            report = analyze(*preset(args.preset), args.dtype)
        elif args.preset is not None:
            report = analyze_graph(architecture_graph(args.preset), args.dtype)
        else:
            from cnn_core.calculator.model_file import read_model_file

            report = analyze_graph(read_model_file(args.keras_json or args.model_file),
                                   args.dtype)
        payload = report.to_dict(args.batch_size, args.optimizer, gradients)
    except CNNLabError as err:
        print(f"error: {err.for_operator()}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(payload))
    else:
        print(_text_report(report, payload["training_breakdown"], payload["optimizer"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
