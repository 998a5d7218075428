"""The Classify page's alternative texts, against hand-made data: where a Grad-CAM is
strongest (the 3×3 cell with the highest mean), the top-5 in words, the preprocessing steps."""

import numpy as np
import pytest

from cnn_core.imagenet.views import (REGIONS, grad_cam_alt, stage_alts, strongest_region,
                                     top_k_alt)


@pytest.mark.parametrize("row, column", [(r, c) for r in range(3) for c in range(3)])
def test_the_strongest_cell_of_a_3x3_grid_is_named(row, column):
    heatmap = np.zeros((9, 9))
    heatmap[3 * row:3 * row + 3, 3 * column:3 * column + 3] = 1.0      # that cell alone
    assert strongest_region(heatmap) == REGIONS[row][column]


def test_the_region_goes_by_the_mean_not_the_single_hottest_pixel():
    # 12×12: cells of 4×4. One pixel of 1.0 in the upper left (cell mean 1/16 = 0.0625) loses
    # to a lower-right cell filled with 0.1 (mean 0.1).
    heatmap = np.zeros((12, 12))
    heatmap[0, 0] = 1.0
    heatmap[8:, 8:] = 0.1
    assert strongest_region(heatmap) == "lower right"


def test_uneven_maps_are_split_as_evenly_as_possible():
    # SqueezeNet's 13×13 map: rows and columns split 5 + 4 + 4, so rows/columns 0–4 are the
    # upper/left third; a hot 5×5 block there is the upper left, one pixel further the centre.
    heatmap = np.zeros((13, 13))
    heatmap[:5, :5] = 1.0
    assert strongest_region(heatmap) == "upper left"
    heatmap[:] = 0.0
    heatmap[5:9, 5:9] = 1.0
    assert strongest_region(heatmap) == "centre"


def test_a_flat_map_has_no_strongest_region():
    assert strongest_region(np.zeros((8, 8))) is None
    assert grad_cam_alt("x.jpg", "tabby", "SqueezeNet v1.1", np.zeros((8, 8))) == (
        "Grad-CAM of x.jpg for “tabby” (SqueezeNet v1.1): no region stands out (a flat map).")


def test_the_grad_cam_text_names_photo_class_model_and_region():
    heatmap = np.zeros((8, 8))
    heatmap[:3, :3] = 0.9                                        # the upper-left cell (3×3)
    assert grad_cam_alt("cat.jpg", "tabby", "SqueezeNet v1.1", heatmap) == (
        "Grad-CAM of cat.jpg for “tabby” (SqueezeNet v1.1): strongest over the upper left.")


def test_the_top_k_text_lists_every_bar_in_order():
    top = [{"label": "tabby", "index": 281, "probability": 0.3712},
           {"label": "Egyptian cat", "index": 285, "probability": 0.3604},
           {"label": "lynx", "index": 287, "probability": 0.0051}]
    assert top_k_alt("cat.jpg", top, "SqueezeNet v1.1") == (
        "Top-3 for cat.jpg: tabby 37.1%, Egyptian cat 36.0%, lynx 0.5% (bar chart of "
        "SqueezeNet v1.1's probability, x axis, per class, y axis).")


def test_each_preprocessing_step_is_described_and_an_unchanged_one_says_so():
    pictures = [(b"original", "Original 451×300 RGB (EXIF applied)"),
                (b"original", "RGB, 8 bits, alpha on white"),
                (b"crop", "Centre crop 300×300"), (b"small", "Resized 227×227")]
    assert stage_alts("cat.png", pictures) == [
        "cat.png, step 1 of 4: Original 451×300 RGB (EXIF applied).",
        "cat.png, step 2 of 4: RGB, 8 bits, alpha on white (the same picture as step 1: "
        "nothing to change).",
        "cat.png, step 3 of 4: Centre crop 300×300.",
        "cat.png, step 4 of 4: Resized 227×227."]


def test_the_map_described_is_the_forward_pass_one_and_grad_cam_runs_only_without_it():
    from cnn_core.imagenet.classify import Classification, class_map

    forward = np.ones((2, 2))
    result = Classification("cat.jpg", cams={281: forward})
    asked = []
    assert class_map(result, 281, lambda: asked.append(281)) is forward and not asked
    assert class_map(result, 285, lambda: "Grad-CAM of 285") == "Grad-CAM of 285"
