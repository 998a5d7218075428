"""Charts for classification results (Altair), built from plain data so pages stay thin.

Interface for other modules:
    top_k_chart(top, title) → Altair chart of a top-k list [{label, index, probability}]
"""


def top_k_chart(top, title):
    """Horizontal bars, most probable first; the axis fits the largest bar (so small
    probabilities stay visible) and each bar carries its percentage."""
    import altair as alt
    import pandas as pd

    data = pd.DataFrame(top)
    data["percent"] = data["probability"].map(lambda p: f"{p:.1%}")
    largest = float(data["probability"].max()) if len(data) else 1.0
    domain = [0, min(1.0, largest * 1.18) or 1.0]        # room for the label after the bar
    base = alt.Chart(data, title=title).encode(
        x=alt.X("probability:Q", title="probability", scale=alt.Scale(domain=domain, nice=False),
                axis=alt.Axis(format="%", tickCount=4)),
        y=alt.Y("label:N", sort="-x", title=None, axis=alt.Axis(labelLimit=200)),
        tooltip=["label", "index", alt.Tooltip("probability:Q", format=".2%")],
    )
    bars = base.mark_bar()
    labels = base.mark_text(align="left", dx=3).encode(text="percent:N")
    return (bars + labels).properties(height=28 * len(top))
