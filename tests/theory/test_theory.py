"""Theory content and numpy demos, checked by hand computation and the published figures.

(TensorFlow/Keras references are in test_theory_keras.py; the page in test_theory_page.py.)
"""

import math
import re

import numpy as np
import pytest

from cnn_core.theory import oom_fixes as oom
from cnn_core.theory import content as theory
from cnn_core.theory import architectures as arch
from cnn_core.theory import demos
from cnn_core.theory import facts as theory_facts
from cnn_core.calculator.analysis import analyze
from cnn_core.errors import CNNLabError
from cnn_core.networks.layers import Dense
from cnn_core.networks.presets import PRESETS, preset


@pytest.fixture(scope="module")
def facts():
    return theory_facts.facts()


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


def test_match_summary_counts_the_questions():
    assert theory.match_summary(1, 6, " lrn ") == "1 of 6 questions matches “lrn”"
    assert theory.match_summary(4, 6, "pooling") == "4 of 6 questions match “pooling”"
    assert theory.match_summary(6, 6, "  ") == ""


def test_highlight_marks_every_occurrence_but_not_math_code_or_links():
    text = "Max **pooling**: $\\max(x)$ `max_pool` [MAX here](https://x.org/max) and max."
    out = theory.highlight(text, "max")
    assert out == ("Y[Max] **pooling**: $\\max(x)$ `max_pool` [Y[MAX] here](https://x.org/max) "
                   "and Y[max].").replace("Y[", ":orange-background[")
    # longer words first, no nested marks; a bare '-' (list marker) or '*' is never marked
    assert theory.highlight("pooling", "pool pooling") == ":orange-background[pooling]"
    assert theory.highlight("- a *b*", "- *") == "- a *b*"
    display = "$$b = \\frac{a}{k + \\alpha}$$ alpha"
    assert theory.highlight(display, "alpha") == "$$b = \\frac{a}{k + \\alpha}$$ :orange-background[alpha]"


def test_contents_link_to_each_heading_anchor(sections):
    lines = theory.contents_markdown(sections).splitlines()
    assert lines == [f"{s.number}. [{s.title}](#q{s.number})" for s in sections]
    assert [theory.anchor(s) for s in sections] == [f"q{n}" for n in range(1, 7)]


def test_alexnet_two_gpu_layout_by_hand():
    # conv 2, 4, 5 in two groups: each group sees half the input maps, so half the weights
    one_tower = analyze(*preset("alexnet")).total_params
    saved = 5 * 5 * 48 * 256 + 3 * 3 * 192 * 384 + 3 * 3 * 192 * 256
    assert analyze(*arch.alexnet_two_gpu()).total_params == one_tower - saved == 60_965_224


def test_lenet5_paper_counts_sum_to_60000():
    # LeCun et al. (1998) section II.B states each layer's trainable parameters
    counts = arch.lenet5_paper_params()
    assert counts == {"C1": 156, "S2": 12, "C3": 1516, "S4": 32, "C5": 48120, "F6": 10164}
    assert sum(counts.values()) == 60_000


def test_geron_rounding_explains_564_6_vs_565_6_mb(facts):
    # Géron's printed answer: 6 + 3 + 1.5 MB per image (1.52 rounded), × 50, + 36 MB of
    # inputs + 3.6 MB of parameters (3.6136 rounded) = 564.6 MB; exact: 565,613,600 bytes
    assert 50 * (6 + 3 + 1.5) + 36 + 3.6 == pytest.approx(564.6)
    assert (facts["exercise2.geron_mb_50"], facts["exercise2.training_mb_50"]) == ("564.6", "565.6")
    assert facts["exercise2.layer3.activation_mb"] == f"{4 * 25 * 38 * 400 / 1e6:.2f}" == "1.52"


def test_alexnet_input_224_does_not_give_55_but_227_does(facts):
    # (n − 11) / 4 + 1 positions without padding, rounded down
    assert (224 - 11) / 4 + 1 == 54.25 and (227 - 11) / 4 + 1 == 55
    assert arch.alexnet_first_conv(224).layers[0].output_shape == (54, 54, 96)
    assert arch.alexnet_first_conv(227).layers[0].output_shape == (55, 55, 96)
    assert (facts["alexnet.conv1_224"], facts["alexnet.conv1_227"]) == ("54×54", "55×55")


@pytest.mark.parametrize("channels", [64, 256, 2048])
def test_se_block_parameters_by_hand(channels):
    # Hu et al. (2018): two fully connected layers C → C/r → C; 2C²/r weights + C/r + C biases
    r = 16
    assert arch.se_block(channels).total_params == 2 * channels**2 // r + channels // r + channels
    assert arch.se_block(channels).layers[-1].output_shape == (channels,)


def test_se_resnet50_extra_parameters_by_hand():
    # one SE block per bottleneck block: 3 × 256, 4 × 512, 6 × 1024, 3 × 2048 channels
    expected = sum(n * (2 * c * c // 16 + c // 16 + c)
                   for c, n in [(256, 3), (512, 4), (1024, 6), (2048, 3)])
    assert arch.se_resnet50_extra_params() == expected == 2_530_992
    assert 2.5e6 < expected < 2.6e6  # the paper: "∼2.5 million additional parameters"


@pytest.mark.parametrize("h, w, c, f, k", [(19, 19, 728, 728, 3), (8, 6, 3, 16, 5), (4, 4, 1, 1, 1)])
def test_separable_vs_normal_convolution_by_hand(h, w, c, f, k):
    r = arch.separable_vs_normal(h, w, c, f, k)
    assert r["normal_params"] == (k * k * c + 1) * f
    assert r["separable_params"] == k * k * c + c * f + f  # depthwise (no bias) + pointwise
    assert r["normal_macs"] == h * w * f * k * k * c
    assert r["separable_macs"] == h * w * c * k * k + h * w * c * f
    assert r["output_shape"] == (h, w, f)


def test_locally_connected_count_in_q1(facts):
    # 28×28×32 outputs, each with its own 3×3 weights and bias; 3×3 conv MACs over 'same' output
    assert facts["q1.local_params"] == f"{28 * 28 * 32 * (9 + 1):,}"
    assert facts["q1.conv_macs"] == f"{28 * 28 * 32 * 9:,}"
    assert facts["q1.dense_macs"] == f"{784 * 28 * 28 * 32:,}"


def test_fact_checked_statements_are_in_the_answers(sections):
    """Issue 12's fact-check: each correction stays in the text, with its source."""
    q1, q2, _, q4, q5, q6 = (s.answer for s in sections)
    assert "Sparse\n  connections are what cut the **computation**" in q1
    assert "Sharing is what cuts the **parameters**" in q1
    assert "Géron's printed answer reaches 564.6 MB" in q2
    assert "Scherer, Müller & Behnke's (2010)" in q4
    assert "PyTorch's `torch.nn.LocalResponseNorm" in q5 and "divide α by n" in q5
    for fact in ["won the ILSVRC-2014 classification task; GoogLeNet is the\nname of the team's entry",
                 "multi-scale,\n  fully-convolutional testing (Table 4)", "5.71% with the usual 10-crop",
                 "Nair & Hinton, 2010", "Hinton et\nal., 2012", "Cireşan et al., 2011",
                 "Fig. 4 (left)", "(7.93% vs 6.43% test error, Table 6)", "**Highway Networks**",
                 "2.251% top-5 error on the test set", "depthwise\nseparable convolutions",
                 "*224 or 227?*", "the paper's option B", "mean was 6.61 ± 0.16%"]:
        assert fact in q6, fact


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
    assert oom.checkpointed_activation_elements(report) == expected


@pytest.mark.parametrize("name", list(PRESETS))
def test_oom_fixes_recomputed_with_the_calculator(name):
    rows = {r["fix"].split(" (")[0]: r for r in oom.oom_fixes(name, 32, "adam")}
    shape, layers = preset(name)
    base = analyze(shape, layers)
    baseline = base.training_breakdown(32, "adam")["total"]
    assert rows["Halve the mini-batch"]["bytes"] == base.training_breakdown(16, "adam")["total"]
    mixed = analyze(shape, layers, "mixed_float16").training_breakdown(32, "adam")["total"]
    assert rows["Mixed precision"]["bytes"] == mixed
    assert rows["Plain SGD instead"]["bytes"] == base.training_breakdown(32, "sgd")["total"]
    halved = analyze(shape, oom.halve_filters(layers))
    assert rows["Half the filters in every convolution"]["bytes"] == \
        halved.training_breakdown(32, "adam")["total"]
    for row in rows.values():
        assert row["bytes"] is None or row["bytes"] <= baseline


def test_oom_chart_labels_every_fix_in_full():
    """Issue 12: labels were cut ("Halve the mini-ba…"); the axis must not truncate them."""
    from cnn_core.theory.views import oom_chart

    rows = oom.oom_fixes("exercise2", 32, "adam")
    spec = oom_chart(rows).to_dict()
    bars, labels = spec["layer"]
    assert bars["encoding"]["y"]["axis"]["labelLimit"] == 0  # 0 = no limit in Vega-Lite
    data = next(iter(spec["datasets"].values()))
    assert [d["fix"] for d in data] == [r["fix"] for r in rows if r["bytes"] is not None]
    assert any(d["fix"].startswith("Halve the mini-batch (batch 16)") for d in data)
    assert [d["label"] for d in data] == [f"{r['bytes'] / 1e6:,.1f} MB" for r in rows
                                          if r["bytes"] is not None]
    assert "legend" not in str(spec)  # one colour, nothing to cover the bars


def test_model_parallel_by_hand():
    # two equal dense layers: each GPU holds one layer, the second also its received input
    report = analyze((10,), [Dense(10), Dense(10)])
    per_layer = 8 * 10 * 4 + 110 * 4 * 2  # batch 8 activations + params + gradients (sgd)
    tensor_in = 8 * 10 * 4  # the input batch (GPU 1) or the received activations (GPU 2)
    assert oom.model_parallel_bytes(report, 8, "sgd") == tensor_in + per_layer


def test_double_first_stride_quarters_the_later_maps():
    shape, layers = preset("exercise2")
    before, after = analyze(shape, layers), analyze(shape, oom.double_first_stride(layers))
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


def test_torch_arguments_reproduce_the_paper_under_torchs_documented_formula():
    """PyTorch's LocalResponseNorm documents b_c = a_c (k + α/n Σ a²)^−β: with the
    arguments we print (alpha × n), that formula gives the paper's LRN."""
    a = np.random.default_rng(3).uniform(0, 200, size=11)
    args = demos.torch_lrn_arguments(**demos.ALEXNET_LRN)
    n, alpha = args["size"], args["alpha"]
    torch_formula = [a[c] * (args["k"] + alpha / n * sum(
        a[j] ** 2 for j in range(max(0, c - n // 2), min(len(a) - 1, c + n // 2) + 1))) ** -args["beta"]
        for c in range(len(a))]
    np.testing.assert_allclose(torch_formula, lrn_by_the_paper(list(a), **demos.ALEXNET_LRN))
    assert alpha == pytest.approx(5e-4)


def test_tf_arguments_for_alexnet():
    assert demos.tf_lrn_arguments(**demos.ALEXNET_LRN) == {
        "depth_radius": 2, "bias": 2.0, "alpha": 1e-4, "beta": 0.75}


def test_q6_links_open_calculator_presets_with_the_numbers_it_quotes(sections):
    """Each architecture link in Q6 names a preset the calculator has; the projection shortcut
    Q6 quotes has the parameters the calculator (checked against Keras) gives it."""
    import re

    from cnn_core.calculator import ALL_TITLES, analyze_graph, architecture_graph

    q6 = sections[5].answer
    linked = re.findall(r"\(/calculator\?preset=([a-z0-9_]+)\)", q6)
    assert len(linked) >= 9 and set(linked) <= set(ALL_TITLES)
    resnet50 = {l.name: l for l in analyze_graph(architecture_graph("resnet50")).layers}
    projection = resnet50["conv2_block1_0_conv"]  # 1×1, 64 → 256 channels, with biases
    assert projection.params == 64 * 256 + 256
    assert f"{projection.params:,}" in q6
