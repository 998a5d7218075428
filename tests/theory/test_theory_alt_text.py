"""The Theory page's alternative texts, against hand-made arrays and the demos' own figures:
where a digit's ink is, where a map is strongest, what each bar of a chart says."""

import numpy as np

from cnn_core.theory import demos
from cnn_core.theory.views import (lrn_chart_alt, oom_chart_alt, pooling_alts,
                                   shifted_digit_alts)


def hand_made_demo():
    """A 5×5 'digit' (one pixel at row 1, column 3, 0-based) moved 1 right; maps whose largest
    value is where each comment says."""
    image, shifted = np.zeros((5, 5)), np.zeros((5, 5))
    image[1, 3], shifted[1, 4] = 1.0, 1.0
    maps = {}
    for key, (row, column) in {"conv_map": (2, 2), "conv_shifted": (2, 3),
                               "dense_map": (4, 0), "dense_shifted": (0, 4)}.items():
        maps[key] = np.full((5, 5), -1.0)
        maps[key][row, column] = 2.0
    return {"image": image, "shifted": shifted, **maps,
            "conv_equivariance_error": 0.0, "dense_equivariance_error": 1.234}


def test_the_six_digit_pictures_say_where_the_ink_and_the_strongest_response_are():
    assert shifted_digit_alts(hand_made_demo(), "1", 0, 1) == [
        "The digit 1, white on black, 28×28 pixels; its ink centred at row 2, column 4.",
        "The same digit moved 1 px right; its ink centred at row 2, column 5.",
        "Vertical-edge convolution of the digit: strongest at row 3, column 3.",
        "Vertical-edge convolution of the shifted digit: strongest at row 3, column 4; it is "
        "the first map moved 1 px right (difference 0.0%).",
        "Dense layer's output for the digit, as 28×28: strongest at row 5, column 1.",
        "Dense layer's output for the shifted digit: strongest at row 1, column 5; it is not "
        "the first output moved 1 px right (difference 123.4%).",
    ]


def test_shifts_are_said_in_both_directions_or_not_at_all():
    demo = hand_made_demo()
    assert shifted_digit_alts(demo, "1", -2, -3)[1].startswith(
        "The same digit moved 3 px left and 2 px up;")
    assert shifted_digit_alts(demo, "1", 0, 0)[1].startswith("The same digit not moved;")


def test_the_convolution_map_of_the_real_demo_moves_with_the_digit():
    """Translation equivariance, as the alternative text states it: the strongest response of
    the shifted digit's map is the first map's, 2 columns further right."""
    texts = shifted_digit_alts(demos.shifted_digit_demo("7", 0, 2), "7", 0, 2)
    first = texts[2].split("strongest at ")[1].rstrip(".")            # "row R, column C"
    row, column = (int(part.split()[1]) for part in first.split(", "))
    assert f"strongest at row {row}, column {column + 2}; it is the first map moved 2 px " \
           f"right (difference 0.0%)." in texts[3]


def test_the_pooling_pictures_give_their_sizes():
    result = demos.pooling_vs_strided_conv(1, "average", 2, 64)
    texts = pooling_alts(result, "average", 2)
    # the 80×124 photo cropped to 120 columns; 2×2 pooling and stride 2 halve both sides
    assert texts[0].startswith("Vertical-edge map of the cat photo, 80×120 pixels:")
    assert texts[1].startswith("2×2 max pooling of the edge map, 40×60 pixels:")
    assert texts[2].startswith("Stride-2 convolution of the edge map with a 2×2 average "
                               "kernel, 40×60 pixels:")


def test_the_chart_texts_give_axes_and_every_bar():
    rows = [{"fix": "As is", "bytes": 374_134_400}, {"fix": "Halve the batch", "bytes": None},
            {"fix": "float16", "bytes": 187_067_200}]
    assert oom_chart_alt(rows) == ("Bar chart of training memory (MB, x axis) for each fix "
                                   "(y axis). As is: 374.1 MB; float16: 187.1 MB.")
    lrn = [{"channel": 0, "before": 20.0, "after LRN": 11.1}, {"channel": 3, "before": 100.0,
                                                                "after LRN": 40.84}]
    assert lrn_chart_alt(lrn).endswith("channel 0: 20.0 → 11.1; channel 3: 100.0 → 40.8.")
