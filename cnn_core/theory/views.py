"""Charts of the Theory page (pandas and Altair; no Streamlit, no TensorFlow)."""

from __future__ import annotations

import altair as alt
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
