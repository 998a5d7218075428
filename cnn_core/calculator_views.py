"""Tables and charts of a calculator report (pandas and Altair; no Streamlit, no TensorFlow)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from cnn_core.calculator import GB, MB, NetworkReport, batch_sizes, layer_to_row


def layer_frame(report: NetworkReport) -> pd.DataFrame:
    """One row per layer: output shape, parameters and activation size, with the working."""
    itemsize = report.activation_itemsize
    rows = [{
        "layer": "input", "type": "Input", "output shape": " × ".join(map(str, report.input_shape)),
        "parameters": 0, "trainable": 0, "non-trainable": 0,
        "activation bytes / instance": report.input_bytes, "MACs": 0,
        "shape working": "the image itself", "parameter working": "",
    }]
    for l in report.layers:
        rows.append({
            "layer": l.name, "type": l.type, "output shape": " × ".join(map(str, l.output_shape)),
            "parameters": l.params, "trainable": l.trainable_params,
            "non-trainable": l.non_trainable_params,
            "activation bytes / instance": l.activation_elements * itemsize, "MACs": l.macs,
            "shape working": l.shape_working, "parameter working": l.params_working,
        })
    return pd.DataFrame(rows)


def rows_frame(layers) -> pd.DataFrame:
    """The editable layer table for st.data_editor."""
    return pd.DataFrame([layer_to_row(l) for l in layers]).astype(
        {"filters_units": "Int64", "use_bias": "boolean"}
    )


def memory_frame(report: NetworkReport, optimizer: str, gradients: bool,
                 show_batch: int = 1024) -> pd.DataFrame:
    """Training memory (GB, 10⁹ bytes) per batch size, one row per (batch size, part).

    Batch sizes are powers of two from 1 to 1024, or further so that ``show_batch`` (e.g. the
    largest batch that fits the device) is on the chart (at most 2²⁰)."""
    top = 1024
    while top < min(show_batch, 2**20):
        top *= 2
    sizes = batch_sizes(1, top)
    records = []
    for b in report.memory_curve(sizes, optimizer, gradients):
        for part, key in (("activations + inputs", None), ("parameters", "parameters"),
                          ("gradients", "gradients"), ("optimizer state", "optimizer_state")):
            value = b["activations"] + b["inputs"] if key is None else b[key]
            records.append({"batch size": b["batch_size"], "part": part, "GB": value / GB,
                            "total GB": b["total"] / GB})
    return pd.DataFrame(records)


def memory_chart(frame: pd.DataFrame, device_gb: float, max_batch: int) -> alt.Chart:
    """Stacked training memory against batch size (log axis) with the device's memory line."""
    base = alt.Chart(frame).encode(
        x=alt.X("batch size:Q", scale=alt.Scale(type="log", base=2), title="batch size (log₂)"),
    )
    area = base.mark_area(opacity=0.75).encode(
        y=alt.Y("sum(GB):Q", title="training memory (GB, 10⁹ bytes)", stack=True),
        color=alt.Color("part:N", sort=["activations + inputs", "parameters", "gradients",
                                        "optimizer state"]),
        tooltip=["batch size:Q", "part:N", alt.Tooltip("GB:Q", format=".3f"),
                 alt.Tooltip("total GB:Q", format=".3f")],
    )
    device = alt.Chart(pd.DataFrame({"GB": [device_gb]})).mark_rule(
        color="crimson", strokeDash=[6, 4], size=2
    ).encode(y="GB:Q")
    label = f"device {device_gb:g} GB — largest batch that fits: {max_batch:,}"
    text = alt.Chart(pd.DataFrame({"GB": [device_gb], "label": [label]})).mark_text(
        align="left", dy=-8, color="crimson"
    ).encode(y="GB:Q", x=alt.value(5), text="label:N")
    layers = [area, device, text]
    if max_batch >= 1:
        fit = alt.Chart(pd.DataFrame({"batch size": [max_batch]})).mark_rule(
            color="crimson", size=1
        ).encode(x="batch size:Q")
        layers.append(fit)
    return alt.layer(*layers).properties(height=340)


def working_lines(report: NetworkReport, batch_size: int) -> list[str]:
    """The memory arithmetic, step by step, in Markdown."""
    peak, i = report.inference_peak
    layers = report.layers
    before = "the input" if i == 0 else f"`{layers[i - 1].name}`"
    before_bytes = report.input_bytes if i == 0 else report.layer_activation_bytes(layers[i - 1])
    acts = " + ".join(f"{report.layer_activation_bytes(l):,}" for l in layers[:12])
    acts += " + …" if len(layers) > 12 else ""
    b = report.training_breakdown(batch_size)
    return [
        f"**Parameters:** {' + '.join(f'{l.params:,}' for l in layers if l.params)} = "
        f"**{report.total_params:,}** × {report.param_itemsize} bytes = "
        f"{report.param_bytes:,} bytes.",
        f"**Predict one instance:** the largest pair of consecutive activations is {before} "
        f"({before_bytes:,} bytes) and `{layers[i].name}` "
        f"({report.layer_activation_bytes(layers[i]):,} bytes) = {peak:,} bytes; "
        f"+ parameters {report.param_bytes:,} = **{report.inference_bytes:,} bytes** "
        f"({report.inference_bytes / MB:,.2f} MB).",
        f"**Train on a batch of {batch_size}:** {batch_size} × activations ({acts} = "
        f"{report.activation_bytes:,}) + {batch_size} × input ({report.input_bytes:,}) + "
        f"parameters ({report.param_bytes:,}) = **{b['bare_minimum']:,} bytes** "
        f"({b['bare_minimum'] / MB:,.1f} MB) — the bare minimum.",
    ]
