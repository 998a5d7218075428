"""Tables, charts and sentences of a calculator report, and the chart's alternative text
(pandas; the chart as a Vega-Lite dict; no Streamlit, no TF)."""

from __future__ import annotations

import pandas as pd

from cnn_core.calculator.analysis import GB, NetworkReport, batch_sizes, format_bytes
from cnn_core.calculator.table import ROW_COLUMNS


def _shape(shape) -> str:
    return " × ".join(f"{d:,}" for d in shape)


def layer_frame(report: NetworkReport) -> pd.DataFrame:
    """One row per layer: output shape, parameters and activation size (the working is in
    ``working_frame``, where its long lines can wrap)."""
    itemsize = report.activation_itemsize
    rows = [{
        "layer": name, "type": "Input", "output shape": _shape(shape),
        "parameters": 0, "trainable": 0, "non-trainable": 0,
        "activation bytes / instance": report.tensor_bytes(t), "MACs": 0, "inputs": "",
    } for t, (name, shape) in enumerate(zip(report.input_names, report.all_input_shapes))]
    for l in report.layers:
        rows.append({
            "layer": l.name, "type": l.type, "output shape": _shape(l.output_shape),
            "parameters": l.params, "trainable": l.trainable_params,
            "non-trainable": l.non_trainable_params,
            "activation bytes / instance": l.activation_elements * itemsize, "MACs": l.macs,
            "inputs": ", ".join(report.tensor_name(t) for t in l.inputs),
        })
    return pd.DataFrame(rows)


def working_frame(report: NetworkReport) -> pd.DataFrame:
    """Each layer's shape and parameter working, for a table that wraps its text."""
    return pd.DataFrame([{"layer": l.name, "shape working": l.shape_working,
                          "parameter working": l.params_working} for l in report.layers])


def rows_frame(rows) -> pd.DataFrame:
    """The editable layer table for st.data_editor: text cells, so nothing typed is reshaped by
    a number column (a typed 1.5 arrives as '1.5' and is refused, not read as 15)."""
    return pd.DataFrame(list(rows), columns=list(ROW_COLUMNS)).astype(
        {c: "object" for c in ROW_COLUMNS if c != "use_bias"} | {"use_bias": "boolean"})


def rows_from_frame(frame: pd.DataFrame) -> list[dict]:
    """The edited table as plain rows: None for empty cells, Python bools for the checkbox."""
    plain = frame.astype(object).where(frame.notna(), None)
    return [{k: (bool(v) if type(v).__name__ == "bool_" else v) for k, v in row.items()}
            for row in plain.to_dict("records")]


def import_sentence(graph) -> str:
    """What was imported: 'Imported 313 layer calls, input 299 × 299 × 3.'"""
    inputs = " and ".join(_shape(shape) for shape in graph.input_shapes)
    return f"Imported {len(graph.calls):,} layer calls, input {inputs}."


def a_or_an(number: int) -> str:
    """The article before a number said aloud: 'an 11 GB', 'an 8 GB', 'a 16 GB'."""
    digits = str(int(number))
    eleven_or_eighteen = digits[:2] in ("11", "18") and len(digits) % 3 == 2
    return "an" if digits.startswith("8") or eleven_or_eighteen else "a"


def fit_sentence(batch_size: int, total_bytes: int, device_gb: int, max_batch: int) -> str:
    """Whether the chosen batch fits the device, said plainly."""
    device = f"{a_or_an(device_gb)} {device_gb:,} GB device"
    needs = f"Batch {batch_size:,} needs {format_bytes(total_bytes)}"
    if max_batch < 1:
        return f"{needs}; on {device} not even a batch of 1 fits."
    if batch_size > max_batch:
        return f"{needs}: it does not fit. The {device_gb:,} GB device fits at most {max_batch:,}."
    return f"{needs}: it fits on {device}, which takes batches of up to {max_batch:,}."


def memory_frame(report: NetworkReport, optimizer: str, gradients: bool,
                 show_batches: tuple[int, ...] = (1024,)) -> pd.DataFrame:
    """Training memory (GB, 10⁹ bytes) per batch size, one row per (batch size, part).

    Batch sizes are powers of two from 1 to 1024, or further so that every batch in
    ``show_batches`` (the chosen batch, the largest that fits) is on the chart (at most 2²⁰);
    those batches themselves are points of the curve too."""
    top = 1024
    while top < min(max(show_batches), 2**20):
        top *= 2
    sizes = sorted(set(batch_sizes(1, top)) | {b for b in show_batches if 1 <= b <= top})
    records = []
    for b in report.memory_curve(sizes, optimizer, gradients):
        for part, key in (("activations + inputs", None), ("parameters", "parameters"),
                          ("gradients", "gradients"), ("optimizer state", "optimizer_state")):
            value = b["activations"] + b["inputs"] if key is None else b[key]
            records.append({"batch size": b["batch_size"], "part": part, "GB": value / GB,
                            "total GB": b["total"] / GB})
    return pd.DataFrame(records)


MEMORY_PARTS = ["activations + inputs", "parameters", "gradients", "optimizer state"]


def memory_chart(frame: pd.DataFrame, device_gb: float, max_batch: int,
                 batch_size: int) -> dict:
    """Stacked training memory against batch size (log axis), the device's memory line, the
    largest batch that fits and the chosen batch marked on the curve: a Vega-Lite spec as a
    plain dict (drawn on every rerun, twice with an import: building it through Altair's
    validated objects cost the page more than its whole analysis)."""
    x_axis = {"field": "batch size", "type": "quantitative", "title": "batch size (log₂ axis)",
              "scale": {"type": "log", "base": 2},
              "axis": {"format": ",d", "labelOverlap": True}}
    area = {
        "data": {"values": frame.to_dict("records")},
        "mark": {"type": "area", "opacity": 0.75},
        "encoding": {
            "x": x_axis,
            "y": {"aggregate": "sum", "field": "GB", "type": "quantitative",
                  "title": "training memory (GB, 10⁹ bytes)", "stack": True,
                  "axis": {"format": ",.0f" if frame["total GB"].max() >= 10 else "~g"}},
            "color": {"field": "part", "type": "nominal", "sort": MEMORY_PARTS,
                      "legend": {"orient": "bottom", "title": None, "columns": 2}},  # phones
            "tooltip": [{"field": "batch size", "type": "quantitative", "format": ","},
                        {"field": "part", "type": "nominal"},
                        {"field": "GB", "type": "quantitative", "format": ",.3f"},
                        {"field": "total GB", "type": "quantitative", "format": ",.3f"}],
        },
    }
    label = f"device {device_gb:,} GB — largest batch that fits: {max_batch:,}"
    device = {"data": {"values": [{"GB": device_gb, "label": label}]}}
    layers = [area,
              {**device, "mark": {"type": "rule", "color": "crimson", "strokeDash": [6, 4],
                                  "size": 2},
               "encoding": {"y": {"field": "GB", "type": "quantitative"}}},
              {**device, "mark": {"type": "text", "align": "left", "dy": -8, "color": "crimson"},
               "encoding": {"y": {"field": "GB", "type": "quantitative"}, "x": {"value": 5},
                            "text": {"field": "label", "type": "nominal"}}}]
    if 1 <= max_batch <= frame["batch size"].max():
        layers.append({"data": {"values": [{"batch size": max_batch}]},
                       "mark": {"type": "rule", "color": "crimson", "size": 1},
                       "encoding": {"x": {"field": "batch size", "type": "quantitative"}}})
    chosen = frame[(frame["batch size"] == batch_size)].head(1)
    if not chosen.empty:
        total = float(chosen["total GB"].iloc[0])
        point = {"data": {"values": [{"batch size": int(batch_size), "total GB": total,
                                      "label": f"batch {batch_size:,}: {total:,.2f} GB"}]},
                 "encoding": {"x": {"field": "batch size", "type": "quantitative"},
                              "y": {"field": "total GB", "type": "quantitative"}}}
        layers += [{**point, "mark": {"type": "point", "color": "black", "size": 90,
                                      "filled": True}},
                   {**point, "mark": {"type": "text", "align": "right", "dx": -8, "dy": -10,
                                      "fontWeight": "bold"},
                    "encoding": {**point["encoding"],
                                 "text": {"field": "label", "type": "nominal"}}}]
    return {"height": 340, "layer": layers}


def memory_chart_alt(frame: pd.DataFrame, device_gb: float, max_batch: int,
                     batch_size: int) -> str:
    """What ``memory_chart`` shows, in words: its axes, the total at its smallest and largest
    batch, the chosen batch's total, the device line and the largest batch that fits."""
    totals = frame.groupby("batch size")["total GB"].first()
    first, last = totals.index[0], totals.index[-1]
    chosen = (f" Batch {batch_size:,} (marked): {totals[batch_size]:,.2f} GB."
              if batch_size in totals.index else "")
    return (f"Stacked area chart of training memory (GB, y axis) against batch size (x axis, "
            f"log₂ scale, {first:,} to {last:,}), by part: activations + inputs, parameters, "
            f"gradients, optimizer state. Total {totals[first]:,.2f} GB at batch {first:,}, "
            f"{totals[last]:,.2f} GB at batch {last:,}.{chosen} A dashed line marks the device's "
            f"{device_gb:,} GB; the largest batch that fits is {max_batch:,}.")


def metric_figures(report: NetworkReport, breakdown: dict[str, int],
                   optimizer: str) -> list[tuple[str, str, str]]:
    """(label, value, detail) of the page's four headline figures, bytes with separators."""
    b = breakdown
    return [
        ("Parameters", f"{report.total_params:,}", f"trainable {report.trainable_params:,} · "
                                                    f"non-trainable {report.non_trainable_params:,}"),
        ("Predict one instance", f"{report.inference_bytes:,} B",
         format_bytes(report.inference_bytes)),
        (f"Train, batch {b['batch_size']:,} (bare minimum)", f"{b['bare_minimum']:,} B",
         format_bytes(b["bare_minimum"])),
        (f"+ gradients + {optimizer} state", f"{b['total']:,} B", format_bytes(b["total"])),
    ]


def memory_summary(report: NetworkReport, breakdown: dict[str, int], optimizer: str) -> str:
    """One line with every memory figure in MB/GB (the metrics show bytes)."""
    return (f"Predict: {format_bytes(report.inference_bytes)} · train (bare minimum): "
            f"{format_bytes(breakdown['bare_minimum'])} · with gradients "
            f"{format_bytes(breakdown['gradients'])} and {optimizer} state "
            f"{format_bytes(breakdown['optimizer_state'])}: {format_bytes(breakdown['total'])} · "
            f"{report.macs:,} multiply-accumulates (MACs) per instance = {report.flops:,} FLOPs "
            "(a multiply and an add each).")


def mistake_lines(mistakes) -> list[str]:
    """The common mistakes as Markdown list items: the wrong figure next to the right one."""
    return [f"- **{m.title}** → {m.wrong:,} instead of {m.right:,} {m.quantity}. {m.why}"
            for m in mistakes]


def working_lines(report: NetworkReport, batch_size: int) -> list[str]:
    """The memory arithmetic, step by step, in Markdown."""
    peak, i = report.inference_peak
    layers = report.layers
    live = report.inference_live
    k = len(report.all_input_shapes)
    acts = " + ".join(f"{report.layer_activation_bytes(l):,}" for l in layers[:12])
    acts += " + …" if len(layers) > 12 else ""
    with_params = [l for l in layers if l.params]
    params = " + ".join(f"{l.params:,}" for l in with_params[:12])
    params += " + …" if len(with_params) > 12 else ""
    b = report.training_breakdown(batch_size)
    if live == (i,) and k == 1:  # a chain: the layer's input and its output
        before = "the input" if i == 0 else f"`{layers[i - 1].name}`"
        predict = (f"the largest pair of consecutive activations is {before} "
                   f"({report.tensor_bytes(live[0]):,} bytes) and `{layers[i].name}` "
                   f"({report.layer_activation_bytes(layers[i]):,} bytes) = {peak:,} bytes")
    else:
        alive = ", ".join(f"`{report.tensor_name(t)}` ({report.tensor_bytes(t):,})"
                          for t in live[:8]) + (", …" if len(live) > 8 else "")
        predict = (f"the most memory is alive while `{layers[i].name}` runs: its output "
                   f"({report.layer_activation_bytes(layers[i]):,} bytes) and the tensors later "
                   f"layers still need, {alive or 'none'} = {peak:,} bytes")
    return [
        f"**Parameters:** {params} = **{report.total_params:,}** × {report.param_itemsize} "
        f"bytes = {report.param_bytes:,} bytes.",
        f"**Predict one instance:** {predict}; + parameters {report.param_bytes:,} = "
        f"**{report.inference_bytes:,} bytes** ({format_bytes(report.inference_bytes)}).",
        f"**Train on a batch of {batch_size:,}:** {batch_size:,} × activations ({acts} = "
        f"{report.activation_bytes:,}) + {batch_size:,} × input ({report.input_bytes:,}) + "
        f"parameters ({report.param_bytes:,}) = **{b['bare_minimum']:,} bytes** "
        f"({format_bytes(b['bare_minimum'])}) — the bare minimum.",
    ]
