"""The calculator's state in the URL: every preset and an edited network survive the round trip;
every malformed value is named, and the default network is used instead."""

from dataclasses import replace
from urllib.parse import parse_qsl, urlsplit

import pytest

from cnn_core.calculator.analysis import analyze
from cnn_core.calculator.state import (
    CalculatorState, preset_state, rows_to_text, share_link, state_from_query, state_to_query,
)
from cnn_core.calculator.table import layers_from_rows
from cnn_core.networks.presets import PRESETS, preset


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_round_trips_through_the_url(name):
    state = replace(preset_state(name), dtype="mixed_float16", optimizer="rmsprop",
                    gradients=False, batch_size=123_456, device_gb=11)
    query = state_to_query(state)
    assert "layers" not in query and "input" not in query  # the preset's own: left out
    assert state_from_query(query) == (state, None)
    # and the network read back is the preset's, parameter for parameter
    read = state_from_query(query)[0]
    assert (analyze(read.input_shape, layers_from_rows(list(read.rows))).total_params
            == analyze(*preset(name)).total_params)


def test_an_edited_network_round_trips_through_a_link():
    state = preset_state("exercise2")
    rows = [dict(state.rows[0], filters_units="64", kernel="5x3"), state.rows[1],
            {"type": "Flatten"}, {"type": "Dense", "filters_units": "10", "use_bias": False}]
    edited = replace(state, input_shape=(64, 96, 1), rows=tuple(rows), batch_size=7)
    query = state_to_query(edited)
    assert query["input"] == "64x96x1"
    assert query["layers"] == ("Conv2D,64,5x3,2,same,1;Conv2D,200,3,2,same,1;Flatten;"
                               "Dense,10,,,,0")
    link = share_link("http://127.0.0.1:8501/calculator", query)
    assert link.startswith("http://127.0.0.1:8501/calculator?preset=exercise2&input=64x96x1")
    assert ";Flatten;" in link  # readable: ',' and ';' are not percent-encoded
    read, problem = state_from_query(dict(parse_qsl(urlsplit(link).query)))
    assert problem is None
    assert rows_to_text(read.rows) == query["layers"] and read.input_shape == (64, 96, 1)
    # by hand: (5·3·1 + 1)·64 + (3·3·64 + 1)·200 + 16·24·200·10
    # (64×96 → 32×48 → 16×24; the Dense layer has no bias)
    layers = layers_from_rows(list(read.rows))
    assert analyze(read.input_shape, layers).total_params == 1_024 + 115_400 + 768_000


def test_no_query_is_the_default_network_without_a_message():
    assert state_from_query({}) == (preset_state("exercise2"), None)
    assert CalculatorState().optimizer == "adam" and CalculatorState().batch_size == 50


@pytest.mark.parametrize("query, named", [
    ({"preset": "resnet51"}, "unknown preset 'resnet51'"),
    ({"preset": ""}, "unknown preset ''"),
    ({"batch": "1.5"}, "batch='1.5'"), ({"batch": "-5"}, "batch='-5'"),
    ({"batch": "0"}, "batch='0'"), ({"batch": "2000000"}, "batch='2000000'"),
    ({"batch": "٣"}, "batch='٣'"), ({"device": "13"}, "device=13"),
    ({"device": "1e3"}, "device='1e3'"), ({"dtype": "int4"}, "dtype='int4'"),
    ({"optimizer": "Adam"}, "optimizer='Adam'"), ({"gradients": "yes"}, "gradients='yes'"),
    ({"input": "200x300"}, "input='200x300'"), ({"input": "0x1x1"}, "input='0x1x1'"),
    ({"input": "3x3x3x3"}, "input='3x3x3x3'"),
    ({"layers": "Conv2D,1.5,3,1,same,1"}, "filters_units: '1.5'"),
    ({"layers": "Conv2D,8,3x,1,same,1"}, "kernel: '3x'"),
    ({"layers": "Conv2D,8,3,1,same,yes"}, "use_bias: 'yes'"),
    ({"layers": "Conv2D,8,3,1,same,1,extra"}, "7 fields"),
    ({"layers": "Conv3D"}, "unknown layer type 'Conv3D'"),
    ({"layers": ""}, "no layers"),
    ({"layers": "Conv2D,8,500,1,valid,1"}, "cannot be built"),
    ({"layers": "Flatten;" * 1_001}, "layers holds 1,002 rows"),
    ({"layers": "x" * 50_000}, "50,000 characters"),
    ({"batchsize": "64"}, "unknown setting 'batchsize'"),
])
def test_a_malformed_link_is_named_and_the_default_network_shown(query, named):
    state, problem = state_from_query(query)
    assert state == preset_state("exercise2")
    assert named in problem and problem.endswith("Showing the default network instead."), problem


def test_several_problems_are_all_named():
    _, problem = state_from_query({"preset": "nope", "batch": "x", "dtype": "y"})
    assert "preset 'nope'" in problem and "batch='x'" in problem and "dtype='y'" in problem
