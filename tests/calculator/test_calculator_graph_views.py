"""The views of a big network: heaviest layers, memory along the depth, the graph in blocks."""

import re

from cnn_core.calculator import analyze_graph, architecture_graph
from cnn_core.calculator.analysis import MB
from cnn_core.calculator.graph_views import (
    depth_chart_alt, depth_frame, graph_alt, graph_dot, heaviest_frame, layer_blocks,
    search_layers,
)
from cnn_core.calculator.views import layer_frame

RESNET50 = analyze_graph(architecture_graph("resnet50"))


def test_heaviest_layers_of_resnet50():
    top = heaviest_frame(RESNET50, "parameters", 4)
    # conv5's three 3×3 convolutions, 512 → 512 maps: 3·3·512·512 + 512 = 2,359,808 each,
    # then conv5's projection shortcut, 1×1 from 1,024 to 2,048 maps: 1,024·2,048 + 2,048
    assert list(top["parameters"]) == [2_359_808] * 3 + [2_099_200]
    assert list(top["layer"])[::3] == ["conv5_block1_2_conv", "conv5_block1_0_conv"]
    assert abs(top.iloc[3]["share of total"] - 2_099_200 / 25_636_712) < 1e-12
    by_macs = heaviest_frame(RESNET50, "MACs", 1).iloc[0]
    assert by_macs["MACs"] == max(l.macs for l in RESNET50.layers)


def test_memory_along_the_depth_peaks_where_the_report_says():
    frame = depth_frame(RESNET50)
    alive = frame[frame["memory"] == "alive while it runs"]
    peak_bytes, peak_layer = RESNET50.inference_peak
    assert alive["MB"].max() == peak_bytes / MB
    assert alive.loc[alive["MB"].idxmax(), "layer"] == RESNET50.layers[peak_layer].name
    text = depth_chart_alt(frame)
    assert f"while {RESNET50.layers[peak_layer].name} runs" in text and "176 layers" in text


def test_resnet50_graph_is_drawn_in_its_keras_blocks():
    blocks = layer_blocks(RESNET50)
    # 3 + 4 + 6 + 3 bottleneck blocks (He et al. 2015, Table 1)
    assert len({b for b in blocks if b}) == 16
    assert blocks[[l.name for l in RESNET50.layers].index("conv3_block2_add")] == "conv3_block2"
    dot = graph_dot(RESNET50)
    assert dot.startswith("digraph network {") and dot.endswith("}")
    assert '"b:conv2_block1" -> "b:conv2_block2";' in dot
    assert len(re.findall(r'^  "b:[^"]+" \[label=', dot, re.M)) == 16
    opened = graph_dot(RESNET50, frozenset({"conv2_block1"}))
    assert "cluster_" in opened and "conv2_block1_0_conv\\nConv2D · 56×56×256" in opened
    assert "16 blocks" in graph_alt(RESNET50)


def test_layer_search_is_plain_text():
    frame = layer_frame(RESNET50)
    assert list(search_layers(frame, "conv5_block3_ADD")["layer"]) == ["conv5_block3_add"]
    assert search_layers(frame, "(").empty  # no pattern syntax
    assert len(search_layers(frame, "_add")) == 16  # the 16 shortcut merges (…_blockN_add)
