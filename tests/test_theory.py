"""Theory content and numpy demos, checked by hand computation and the published figures.

(TensorFlow/Keras references are in test_theory_keras.py; the page in test_theory_page.py.)
"""

import math
import re

import numpy as np
import pytest

from cnn_core import theory
from cnn_core import theory_demos as demos
from cnn_core.calculator import analyze
from cnn_core.errors import CNNLabError
from cnn_core.layers import Dense
from cnn_core.presets import PRESETS, preset


@pytest.fixture(scope="module")
def facts():
    return demos.facts()


@pytest.fixture(scope="module")
def sections(facts):
    return theory.load_sections(facts)


# -- content ----------------------------------------------------------------------------------

def test_six_sections_in_the_issue_order(sections):
    assert [s.number for s in sections] == [1, 2, 3, 4, 5, 6]
    keywords = ["fully connected", "parameters", "out of memory", "max pooling",
                "local response normalization", "resnet"]
    for section, word in zip(sections, keywords):
        assert word in section.title.lower()
    assert [s.demo for s in sections] == [
        "dense_vs_conv", "reference_case", "oom_fixes", "pooling_vs_conv", "lrn", "architectures"]


def test_every_answer_has_references_with_a_year_and_a_quiz(sections):
    for s in sections:
        assert s.references, s.source
        for ref in s.references:
            assert re.search(r"\((19|20)\d\d\)", ref) or "documentation" in ref, ref
        assert len(s.quiz) >= 2, s.source
        for item in s.quiz:
            assert 0 <= item.answer < len(item.options) and len(item.options) >= 2
            assert item.explanation


def test_no_placeholder_is_left_unfilled(sections, facts):
    texts = [t for s in sections for t in (s.title, s.answer, *s.references)]
    texts += [q.question + " ".join(q.options) + q.explanation for s in sections for q in s.quiz]
    texts += [v for row in theory.load_architectures(facts) for v in row.values()]
    assert not [t for t in texts if "{{" in t]  # (LaTeX may close braces with "}}")


def test_reference_case_figures_match_the_published_exercise(sections):
    # Géron (2019), ch. 14 exercise 2, by hand: conv params (3·3·C+1)·F, 4 bytes per float
    params = (27 + 1) * 100 + (900 + 1) * 200 + (1800 + 1) * 400
    maps = [100 * 150 * 100, 50 * 75 * 200, 25 * 38 * 400]
    inference = 4 * (maps[0] + maps[1]) + 4 * params
    training = 50 * 4 * sum(maps) + 50 * 4 * 200 * 300 * 3 + 4 * params
    assert (params, inference, training) == (903_400, 12_613_600, 565_613_600)
    answer = sections[1].answer
    for figure in (params, inference, training):
        assert f"{figure:,}" in answer


def test_unknown_placeholder_is_a_content_error():
    with pytest.raises(CNNLabError, match="unknown figure"):
        theory.fill("{{no.such.figure}}", {}, "q9.md")


def test_quiz_format_errors_are_reported():
    with pytest.raises(CNNLabError, match="more than one"):
        theory.parse_quiz("### Q?\n- [x] a\n- [x] b\n", "q.md")
    with pytest.raises(CNNLabError, match="one marked"):
        theory.parse_quiz("### Q?\n- [ ] a\n- [ ] b\n", "q.md")
    with pytest.raises(CNNLabError, match="front matter|'---'"):
        theory.parse_section("no front matter", "q.md", {})


def test_quiz_parsing_and_grading():
    (item,) = theory.parse_quiz("### Two plus two?\n- [ ] 3\n- [x] 4\n> Count them.\n", "q.md")
    assert item.options == ("3", "4") and item.answer == 1 and item.explanation == "Count them."
    assert theory.is_correct(item, "4") and not theory.is_correct(item, "3")
    assert not theory.is_correct(item, None)


def test_search_filters_by_every_word(sections):
    numbers = lambda q: [s.number for s in theory.search(sections, q)]  # noqa: E731
    assert numbers("") == [1, 2, 3, 4, 5, 6]
    assert numbers("lateral inhibition") == [5]
    assert numbers("GRADIENT CHECKPOINTING") == [3]
    assert numbers("xyzzy") == []
    assert 4 in numbers("pooling") and 1 in numbers("pooling")


def test_alexnet_two_gpu_layout_by_hand():
    # conv 2, 4, 5 in two groups: each group sees half the input maps, so half the weights
    one_tower = analyze(*preset("alexnet")).total_params
    saved = 5 * 5 * 48 * 256 + 3 * 3 * 192 * 384 + 3 * 3 * 192 * 256
    assert analyze(*demos.alexnet_two_gpu()).total_params == one_tower - saved == 60_965_224


def test_lenet5_paper_counts_sum_to_60000():
    # LeCun et al. (1998) section II.B states each layer's trainable parameters
    counts = demos.lenet5_paper_params()
    assert counts == {"C1": 156, "S2": 12, "C3": 1516, "S4": 32, "C5": 48120, "F6": 10164}
    assert sum(counts.values()) == 60_000


# -- question 1 -------------------------------------------------------------------------------

@pytest.mark.parametrize("h, w, c, f, k", [(28, 28, 1, 32, 3), (200, 300, 3, 100, 5), (7, 5, 2, 3, 1)])
def test_dense_vs_conv_by_hand(h, w, c, f, k):
    r = demos.dense_vs_conv(h, w, c, f, k)
    assert r["outputs"] == h * w * f
    assert r["conv_params"] == (k * k * c + 1) * f
    assert r["dense_params"] == (h * w * c + 1) * h * w * f


def test_conv2d_matches_a_direct_loop():
    rng = np.random.default_rng(1)
    image, kernel = rng.normal(size=(7, 9)), rng.normal(size=(3, 3))
    padded = np.pad(image, 1)
    expected = np.array([[np.sum(padded[i:i + 3, j:j + 3] * kernel) for j in range(9)]
                         for i in range(7)])
    np.testing.assert_allclose(demos.conv2d(image, kernel), expected)


def test_max_pool_by_hand():
    x = np.arange(20.0).reshape(4, 5)
    np.testing.assert_array_equal(demos.max_pool(x), [[6.0, 8.0], [16.0, 18.0]])


@pytest.mark.parametrize("dy, dx", [(0, 1), (2, -3), (-3, 3), (1, 0)])
def test_conv_is_shift_equivariant_and_dense_is_not(dy, dx):
    d = demos.shifted_digit_demo("7", dy, dx)
    np.testing.assert_allclose(demos.shift(d["conv_map"], dy, dx), d["conv_shifted"], atol=1e-12)
    assert d["conv_equivariance_error"] < 1e-12
    assert d["dense_equivariance_error"] > 0.5
    assert d["pooled_change"] < 1e-12  # global max pooling: invariant


def test_digit_stays_inside_the_frame_for_every_allowed_shift():
    for digit in demos.DIGIT_STROKES:
        x = demos.digit_image(digit)
        assert x.shape == (28, 28) and x.max() > 0.9
        assert x[:4].sum() == x[-4:].sum() == x[:, :4].sum() == x[:, -4:].sum() == 0
    with pytest.raises(CNNLabError):
        demos.shifted_digit_demo("7", 0, 4)


# -- question 3 -------------------------------------------------------------------------------

@pytest.mark.parametrize("layers, expected", [(4, (12, 2)), (9, (5 * 4, 3)), (16, (7 * 4, 4))])
def test_checkpointing_model_by_hand(layers, expected):
    # L equal layers of 4 activations, segments of s layers: kept = L/s segment outputs
    # + (s − 1) inner layers of the segment being recomputed; best s = √L for L = 4, 9, 16
    report = analyze((4,), [Dense(4)] * layers)
    assert demos.checkpointed_activation_elements(report) == expected


@pytest.mark.parametrize("name", list(PRESETS))
def test_oom_fixes_recomputed_with_the_calculator(name):
    rows = {r["fix"].split(" (")[0]: r for r in demos.oom_fixes(name, 32, "adam")}
    shape, layers = preset(name)
    base = analyze(shape, layers)
    baseline = base.training_breakdown(32, "adam")["total"]
    assert rows["Halve the mini-batch"]["bytes"] == base.training_breakdown(16, "adam")["total"]
    mixed = analyze(shape, layers, "mixed_float16").training_breakdown(32, "adam")["total"]
    assert rows["Mixed precision"]["bytes"] == mixed
    assert rows["Plain SGD instead"]["bytes"] == base.training_breakdown(32, "sgd")["total"]
    halved = analyze(shape, demos.halve_filters(layers))
    assert rows["Half the filters in every convolution"]["bytes"] == \
        halved.training_breakdown(32, "adam")["total"]
    for row in rows.values():
        assert row["bytes"] is None or row["bytes"] <= baseline


def test_model_parallel_by_hand():
    # two equal dense layers: each GPU holds one layer, the second also its received input
    report = analyze((10,), [Dense(10), Dense(10)])
    per_layer = 8 * 10 * 4 + 110 * 4 * 2  # batch 8 activations + params + gradients (sgd)
    tensor_in = 8 * 10 * 4  # the input batch (GPU 1) or the received activations (GPU 2)
    assert demos.model_parallel_bytes(report, 8, "sgd") == tensor_in + per_layer


def test_double_first_stride_quarters_the_later_maps():
    shape, layers = preset("exercise2")
    before, after = analyze(shape, layers), analyze(shape, demos.double_first_stride(layers))
    assert after.layers[0].output_shape == (50, 75, 100)
    assert after.layers[-1].activation_elements * 4 <= before.layers[-1].activation_elements * 1.1


# -- question 4 -------------------------------------------------------------------------------

@pytest.mark.parametrize("size, channels", [(2, 64), (3, 16)])
def test_pooling_vs_conv_counts_by_hand(size, channels):
    r = demos.pooling_vs_strided_conv(1, "average", size, channels)
    h, w = r["features"].shape
    outputs = math.ceil(h / 2) * math.ceil(w / 2) * channels
    assert r["output_shape"] == r["conv_output_shape"] == (h // 2, w // 2, channels)
    assert r["pool_params"] == 0
    assert r["conv_params"] == (size * size * channels + 1) * channels
    assert r["pool_flops"] == outputs * 3
    assert r["conv_flops"] == 2 * outputs * size * size * channels


def test_no_shift_no_change_and_a_shift_changes_both():
    still = demos.pooling_vs_strided_conv(0)
    assert still["pool_change"] == still["conv_change"] == 0
    moved = demos.pooling_vs_strided_conv(1)
    assert moved["pool_change"] > 0 and moved["conv_change"] > 0


# -- question 5 -------------------------------------------------------------------------------

def lrn_by_the_paper(a, n, k, alpha, beta):
    """Krizhevsky et al. (2012) eq. in section 3.3, term by term."""
    N = len(a)
    return [a[i] / (k + alpha * sum(a[j] ** 2 for j in range(max(0, i - n // 2),
                                                            min(N - 1, i + n // 2) + 1))) ** beta
            for i in range(N)]


@pytest.mark.parametrize("n, k, alpha, beta", [(5, 2, 1e-4, 0.75), (3, 1, 1e-2, 0.5), (1, 0.5, 1, 1)])
def test_lrn_equals_the_papers_formula(n, k, alpha, beta):
    a = np.random.default_rng(n).uniform(0, 200, size=11)
    np.testing.assert_allclose(demos.local_response_normalization(a, n, k, alpha, beta),
                               lrn_by_the_paper(list(a), n, k, alpha, beta), rtol=1e-12)


def test_lrn_inhibits_the_neighbours_of_a_strong_map():
    rows = demos.lrn_demo(peak=200.0)
    divisors = [r["divided by"] for r in rows]
    assert divisors[3] == max(divisors) and divisors[7] < divisors[5]
    with pytest.raises(CNNLabError):
        demos.local_response_normalization(np.ones(4), n=4)
    with pytest.raises(CNNLabError, match="both be 0"):
        demos.lrn_demo(k=0, alpha=0)


def test_tf_arguments_for_alexnet():
    assert demos.tf_lrn_arguments(**demos.ALEXNET_LRN) == {
        "depth_radius": 2, "bias": 2.0, "alpha": 1e-4, "beta": 0.75}
