"""The calculator chart's alternative text against the reference case worked by hand
(issue 2: 11,240,000 bytes per instance, 3,613,600 bytes of parameters)."""

from cnn_core.calculator.analysis import analyze
from cnn_core.calculator.views import memory_chart_alt, memory_frame
from cnn_core.networks import preset


def test_the_memory_chart_text_gives_axes_ends_the_chosen_batch_and_the_device():
    report = analyze(*preset("exercise2"))
    # Adam + gradients: 3 more copies of the parameters; fixed 4 × 3,613,600 = 14,454,400 bytes.
    # Largest batch on 16 GB: (16e9 − 14,454,400) // 11,240,000 = 1,422, so the curve runs to
    # 2,048 (the next power of two).
    frame = memory_frame(report, "adam", True, (50, 1_422))
    text = memory_chart_alt(frame, 16, 1_422, 50)
    per_instance, fixed = 11_240_000, 4 * 3_613_600
    assert text == (
        "Stacked area chart of training memory (GB, y axis) against batch size (x axis, log₂ "
        "scale, 1 to 2,048), by part: activations + inputs, parameters, gradients, optimizer "
        f"state. Total {(per_instance + fixed) / 1e9:.2f} GB at batch 1, "
        f"{(2_048 * per_instance + fixed) / 1e9:,.2f} GB at batch 2,048. Batch 50 (marked): "
        f"{(50 * per_instance + fixed) / 1e9:.2f} GB. A dashed line marks the device's 16 GB; "
        "the largest batch that fits is 1,422.")
    assert "0.03 GB at batch 1, 23.03 GB at batch 2,048. Batch 50 (marked): 0.58 GB" in text
