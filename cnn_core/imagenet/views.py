"""Charts for classification results, as Vega-Lite specifications (plain dicts): built in
microseconds, where an Altair chart's schema validation costs ~0.1 s of server CPU per chart.

Interface for other modules:
    top_k_chart(top, title) → Vega-Lite spec of a top-k list [{label, index, probability}],
        for ``st.vega_lite_chart``
"""


def top_k_chart(top, title):
    """Horizontal bars, most probable first; the axis fits the largest bar (so small
    probabilities stay visible) and each bar carries its percentage."""
    rows = [{**entry, "percent": f"{entry['probability']:.1%}"} for entry in top]
    largest = max((entry["probability"] for entry in top), default=1.0)
    domain = [0, min(1.0, largest * 1.2) or 1.0]          # room for the label after the bar
    y = {"field": "label", "type": "nominal", "sort": "-x", "title": None,
         "axis": {"labelLimit": 200}}
    x = {"field": "probability", "type": "quantitative", "title": "probability",
         "scale": {"domain": domain, "nice": False}, "axis": {"format": "%", "tickCount": 4}}
    return {
        "title": title,
        "data": {"values": rows},
        "height": 28 * len(top),
        "encoding": {"x": x, "y": y, "tooltip": [
            {"field": "label"}, {"field": "index"},
            {"field": "probability", "type": "quantitative", "format": ".2%"}]},
        "layer": [{"mark": "bar"},
                  {"mark": {"type": "text", "align": "left", "dx": 3},
                   "encoding": {"text": {"field": "percent", "type": "nominal"}}}],
    }
