"""What the Inside page says: alternative texts of its pictures (computed from their data)
and the lines of the step-by-step convolution. No Streamlit, no TensorFlow.

Interface:
    maps_alt(maps, source, scale, start, count) → a grid's alternative text
    overview_alt(maps) → a layer thumbnail's
    kernels_alt(layer, filters, shape, peak, bgr)
    occlusion_alt(source, label, occlusion) / grad-CAM alt: cnn_core.imagenet.grad_cam_alt
    convolution_rows(step) → table rows: input position, input value, weight, product
    step_sentence(step, shown_value) → the sum, bias, activation and value in one line
"""

import numpy as np

from cnn_core.imagenet import strongest_region


def shape_text(shape):
    return "×".join(str(d) for d in shape)


def shapes_note(layers):
    if layers and layers[0].shape_source == "calculator":
        return "Output shapes from the architecture calculator (the same as Keras')."
    return ("Output shapes from Keras: the architecture calculator does not read this "
            "network's branches yet.")


def scale_words(scale):
    return ("each map on its own scale (black = its minimum, white = its maximum)"
            if scale == "channel" else
            "one scale for the whole layer (black = its minimum, white = its maximum)")


def maps_alt(maps, source, scale, start, count):
    """E.g. 'Feature maps of conv1 (Conv2D, 28×28×8) for test digit 7: channels 1–8 of 8, …;
    strongest channel 3 (mean 0.41).'"""
    if maps.vector:
        return (f"Output of {maps.name} ({maps.kind}, {shape_text(maps.output_shape)}) for "
                f"{source}: {maps.output_shape[-1]} values as cells, 32 a row, from "
                f"{maps.lows[0]:.3g} (black) to {maps.highs[0]:.3g} (white).")
    end = min(start + count, maps.channels)
    strongest = int(np.argmax(maps.means))
    silent = int((maps.highs <= maps.lows).sum())
    return (f"Feature maps of {maps.name} ({maps.kind}, {shape_text(maps.output_shape)}) for "
            f"{source}: channels {start + 1}–{end} of {maps.channels}, in order, left to right "
            f"and top to bottom, {scale_words(scale)}. Strongest channel: {strongest + 1} "
            f"(mean {maps.means[strongest]:.3g}); {silent} channel(s) all one value.")


def overview_alt(maps):
    strongest = int(np.argmax(maps.means))
    what = "its values as cells" if maps.vector else f"its most active channel, {strongest + 1}"
    return f"{maps.name} ({maps.kind}, {shape_text(maps.output_shape)}): {what}."


def kernels_alt(layer, filters, shape, peak, bgr):
    colour = ("in colour (the model reads BGR; shown as RGB)" if bgr else "in colour") \
        if shape[2] == 3 else "in grey"
    return (f"The {filters} kernels of {layer} ({shape[0]}×{shape[1]}, {shape[2]} input "
            f"channel(s)), {colour}, 16 a row: mid-grey = 0, the strongest weight "
            f"(±{peak:.3g}) = full strength.")


def occlusion_alt(source, label, occlusion):
    region = strongest_region(np.clip(occlusion.pixel_map, 0, None))
    where = f"covering the {region} lowers it most" if region else "no region lowers it"
    return (f"Occlusion map of {source} for “{label}”: a {occlusion.patch}-px square every "
            f"{occlusion.stride} px ({occlusion.passes} forward passes); probability "
            f"{occlusion.baseline:.1%} uncovered, {where} (largest drop "
            f"{float(occlusion.drops.max()):.1%}).")


def convolution_rows(step, limit=27):
    """Rows of the products table (the first ``limit`` terms; all of a 3×3×3 kernel)."""
    rows = []
    kh, kw, depth = step.patch.shape
    for i in range(kh):
        for j in range(kw):
            for d in range(depth):
                r, c = step.input_rows[i], step.input_columns[j]
                rows.append({"input (row, column, channel)":
                             f"({r}, {c}, {d})" if r >= 0 and c >= 0 else "padding",
                             "input value": f"{step.patch[i, j, d]:.4f}",
                             "weight": f"{step.kernel[i, j, d]:+.4f}",
                             "product": f"{step.products[i, j, d]:+.4f}"})
    return rows[:limit]


def step_sentence(step, shown_value):
    """'Σ of the 27 products = 1.2345; + bias 0.1000 = 1.3345; relu → 1.3345, the value of
    the feature map at (row 3, column 5) of channel 2: 1.3345.'"""
    terms = step.products.size
    return (f"Sum of the {terms} products = {step.total:.4f}; plus the bias {step.bias:+.4f} "
            f"= {step.pre_activation:.4f}; {step.activation} → **{step.value:.4f}**. "
            f"The feature map at row {step.row}, column {step.column} of channel "
            f"{step.channel + 1} holds {shown_value:.4f}.")


def filter_chart(values, title):
    """A filter slice's weights (kh, kw) as a Vega-Lite heatmap with each value written in
    its cell; blue negative, orange positive, white 0 (symmetric scale)."""
    values = np.asarray(values, np.float64)
    peak = float(np.abs(values).max()) or 1.0
    rows = [{"row": i, "column": j, "weight": float(values[i, j]),
             "text": f"{values[i, j]:+.3f}"}
            for i in range(values.shape[0]) for j in range(values.shape[1])]
    cell = {"x": {"field": "column", "type": "ordinal"},
            "y": {"field": "row", "type": "ordinal"}}
    return {"title": {"text": title, "limit": 0}, "data": {"values": rows},
            "width": {"step": 64}, "height": {"step": 40}, "encoding": cell, "layer": [
                {"mark": "rect", "encoding": {"color": {
                    "field": "weight", "type": "quantitative",
                    # light ends: black text stays ≥ 4.5:1 on every cell (WCAG AA)
                    "scale": {"domain": [-peak, 0, peak],
                              "range": ["#7fb3e6", "#ffffff", "#f2a65a"]}}}},
                {"mark": {"type": "text", "fontSize": 12, "color": "black"},
                 "encoding": {"text": {"field": "text", "type": "nominal"}}}]}


def filter_alt(layer, filter_index, channel, values, bias):
    values = np.asarray(values)
    cells = "; ".join(" ".join(f"{v:+.3f}" for v in row) for row in values)
    return (f"Heatmap of {layer}'s filter {filter_index + 1} on input channel {channel + 1} "
            f"({values.shape[0]}×{values.shape[1]} weights, row by row): {cells}. Bias "
            f"{bias:+.3f}.")


def prediction_line(model, look, label=None):
    best = int(np.argmax(look.probabilities))
    truth = f" (true: {label})" if label is not None else ""
    how = ("from the shared cache, no forward pass" if look.cached else
           f"one forward pass for every layer, {1000 * look.seconds:,.0f} ms with the pictures")
    return (f"{model.title} reads **{model.classes[best]}** "
            f"({look.probabilities[best]:.1%}){truth} · {len(look.maps)} layers · {how}.")


def maximised_alt(layer, index, result, classes, is_class):
    """What activation maximisation drew, and what the network reads in it."""
    best = int(np.argmax(result.probabilities))
    target = (f"class {classes[index]} (its logit in {layer})" if is_class
              else f"filter {index + 1} of {layer} (its mean activation)")
    return (f"The 28×28 input found by gradient ascent for {target}: the score rose "
            f"from {result.score_start:.2f} to {result.score_end:.2f}; the network reads it as "
            f"{classes[best]} ({result.probabilities[best]:.1%}).")
