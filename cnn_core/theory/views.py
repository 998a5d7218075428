"""Charts of the Theory page and the alternative texts of its pictures and charts (pandas,
numpy and Altair; no Streamlit, no TensorFlow). An alternative text says what a picture shows,
computed from the arrays it was drawn from (docs/accessibility.md)."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from cnn_core.calculator import MB


def oom_chart(rows: list[dict]) -> alt.Chart:
    """Training memory of each out-of-memory fix (cnn_core.theory.oom_fixes rows), one bar per fix,
    each labelled in full on the left and with its megabytes at the end of the bar."""
    data = pd.DataFrame([r for r in rows if r["bytes"] is not None])
    data["MB"] = data["bytes"] / MB
    data["label"] = data["MB"].map(lambda mb: f"{mb:,.1f} MB")
    y = alt.Y("fix:N", sort=None, title=None, axis=alt.Axis(labelLimit=0))
    base = alt.Chart(data).encode(y=y)
    bars = base.mark_bar().encode(
        x=alt.X("MB:Q", title="training memory (MB = 10⁶ bytes)", axis=alt.Axis(format=",.0f")),
        tooltip=["fix", alt.Tooltip("MB:Q", format=",.1f")],
    )
    labels = base.mark_text(align="left", dx=4).encode(x="MB:Q", text="label:N")
    return (bars + labels).properties(height=32 * len(data))


def oom_chart_alt(rows: list[dict]) -> str:
    """What ``oom_chart`` shows: each fix's training memory, in the chart's order."""
    bars = "; ".join(f"{r['fix']}: {r['bytes'] / MB:,.1f} MB" for r in rows
                     if r["bytes"] is not None)
    return f"Bar chart of training memory (MB, x axis) for each fix (y axis). {bars}."


def lrn_chart_alt(rows: list[dict]) -> str:
    """What the LRN bar chart shows: each channel's activation before and after LRN."""
    bars = "; ".join(f"channel {r['channel']}: {r['before']:,.1f} → {r['after LRN']:,.1f}"
                     for r in rows)
    return ("Bar chart of one pixel's activation (y axis) in each channel (x axis), before and "
            f"after local response normalization. {bars}.")


def _position(image: np.ndarray) -> str:
    """Where the largest value of a 2-D map is, counted from 1 at the top left."""
    row, column = np.unravel_index(int(np.argmax(image)), image.shape)
    return f"row {row + 1}, column {column + 1}"


def _ink_centre(image: np.ndarray) -> str:
    """The centre of mass of a grey image's ink (values > 0), counted from 1 at the top left."""
    rows, columns = np.indices(image.shape)
    total = float(image.sum()) or 1.0
    return (f"row {float((rows * image).sum()) / total + 1:.0f}, "
            f"column {float((columns * image).sum()) / total + 1:.0f}")


def _moved(dy: int, dx: int) -> str:
    """'moved 2 px right and 1 px up', or 'not moved'."""
    steps = [f"{abs(dx)} px {'right' if dx > 0 else 'left'}"] if dx else []
    steps += [f"{abs(dy)} px {'down' if dy > 0 else 'up'}"] if dy else []
    return "moved " + " and ".join(steps) if steps else "not moved"


def shifted_digit_alts(demo: dict, digit: str, dy: int, dx: int) -> list[str]:
    """The six pictures of the shifted-digit demo (``demos.shifted_digit_demo``), in the page's
    order: the digit, the shifted digit, then the convolution's and the dense layer's outputs
    for each (grey = 0, light = positive, dark = negative), with where each is strongest."""
    moved = _moved(dy, dx)
    conv_gap, dense_gap = demo["conv_equivariance_error"], demo["dense_equivariance_error"]
    return [
        f"The digit {digit}, white on black, 28×28 pixels; its ink centred at "
        f"{_ink_centre(demo['image'])}.",
        f"The same digit {moved}; its ink centred at {_ink_centre(demo['shifted'])}.",
        f"Vertical-edge convolution of the digit: strongest at {_position(demo['conv_map'])}.",
        f"Vertical-edge convolution of the shifted digit: strongest at "
        f"{_position(demo['conv_shifted'])}; it is the first map {moved} (difference "
        f"{conv_gap:.1%}).",
        f"Dense layer's output for the digit, as 28×28: strongest at "
        f"{_position(demo['dense_map'])}.",
        f"Dense layer's output for the shifted digit: strongest at "
        f"{_position(demo['dense_shifted'])}; it is not the first output {moved} (difference "
        f"{dense_gap:.1%}).",
    ]


def pooling_alts(result: dict, kernel: str, size: int) -> list[str]:
    """The three pictures of the pooling demo (``demos.pooling_vs_strided_conv``): the edge map
    and its two downsamplings, with their sizes and where each is strongest."""
    def size_of(image):
        return f"{image.shape[0]}×{image.shape[1]} pixels"

    features, pooled, strided = (result[key] for key in ("features", "pooled", "strided"))
    return [
        f"Vertical-edge map of the cat photo, {size_of(features)}: light where the photo has "
        f"vertical edges, strongest at {_position(features)}.",
        f"2×2 max pooling of the edge map, {size_of(pooled)}: strongest at {_position(pooled)}.",
        f"Stride-2 convolution of the edge map with a {size}×{size} {kernel} kernel, "
        f"{size_of(strided)}: strongest at {_position(strided)}.",
    ]
