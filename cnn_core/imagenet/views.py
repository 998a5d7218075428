"""Charts for classification results, as Vega-Lite specifications (plain dicts): built in
microseconds, where an Altair chart's schema validation costs ~0.1 s of server CPU per chart.

Interface for other modules:
    top_k_chart(top, title) → Vega-Lite spec of a top-k list [{label, index, probability}],
        for ``st.vega_lite_chart``
    top_k_alt(photo, top, model) → the chart's alternative text: "Top-5 for cat.jpg: tabby …"
    strongest_region(heatmap) → "upper left" … "centre" … "lower right" (or None: flat map)
    grad_cam_alt(photo, label, model, heatmap) → a Grad-CAM overlay's alternative text
    stage_alts(photo, pictures) → alternative texts of the preprocessing pictures

Alternative texts say what a picture shows, from the data it was drawn from (for screen
readers; docs/accessibility.md).
"""

import numpy as np

# The 3×3 grid of a picture, row by row: the names a Grad-CAM's strongest cell is given.
REGIONS = (("upper left", "upper centre", "upper right"),
           ("centre left", "centre", "centre right"),
           ("lower left", "lower centre", "lower right"))


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


def top_k_alt(photo, top, model):
    """What ``top_k_chart`` shows, in words: every bar's class and percentage, in order."""
    bars = ", ".join(f"{entry['label']} {entry['probability']:.1%}" for entry in top)
    return (f"Top-{len(top)} for {photo}: {bars} (bar chart of {model}'s probability, x axis, "
            "per class, y axis).")


def strongest_region(heatmap):
    """The cell of a 3×3 grid over ``heatmap`` (h, w) with the highest mean, by name; None
    when every cell's mean is the same (an all-zero Grad-CAM: nothing stands out)."""
    heatmap = np.asarray(heatmap, dtype=np.float64)
    means = np.array([[cell.mean() for cell in np.array_split(band, 3, axis=1)]
                      for band in np.array_split(heatmap, 3, axis=0)])     # (3, 3)
    if np.ptp(means) == 0:
        return None
    row, column = np.unravel_index(int(np.argmax(means)), means.shape)
    return REGIONS[row][column]


def grad_cam_alt(photo, label, model, heatmap):
    """What a Grad-CAM overlay shows: the photo, the class, the model and where the map is
    strongest, e.g. 'Grad-CAM of cat.jpg for “tabby” (SqueezeNet v1.1): strongest over the
    upper centre.'"""
    region = strongest_region(heatmap)
    where = f"strongest over the {region}" if region else "no region stands out (a flat map)"
    return f"Grad-CAM of {photo} for “{label}” ({model}): {where}."


def stage_alts(photo, pictures):
    """One text per preprocessing picture [(JPEG bytes, caption)]: the photo at that step; a
    step that left the picture as it was says so."""
    texts = []
    for step, (picture, caption) in enumerate(pictures, start=1):
        unchanged = step > 1 and picture == pictures[step - 2][0]
        note = f" (the same picture as step {step - 1}: nothing to change)" if unchanged else ""
        texts.append(f"{photo}, step {step} of {len(pictures)}: {caption}{note}.")
    return texts
