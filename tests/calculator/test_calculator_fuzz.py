"""Hostile input never reaches a traceback: generated inputs through every text entry point.

Entry points: the Keras JSON import box (``parse_keras_json``, then everything the page draws
from the result), the CLI's ``--keras-json`` file, the URL state (``state_from_query``) and the
layer table (``layers_from_rows``). Inputs: deep nesting, huge numbers, NaN/Infinity, unicode,
wrong types, very long strings, and random edits of valid models. Each input either works or
raises ``CNNLabError`` (a message for the user); any other exception fails the test.

A small seeded generator does the job (no fuzzing library): a failure names its case and
reproduces with the same seed.
"""

import copy
import json
import random

import pytest

from cnn_core.calculator.analysis import GB, analyze
from cnn_core.calculator.state import KEYS, preset_state, state_from_query, state_to_query
from cnn_core.calculator.views import layer_frame, memory_frame, working_frame, working_lines
from cnn_core.errors import CNNLabError
from cnn_core.calculator.keras_json import MAX_JSON_BYTES, parse_keras_json
from cnn_core.calculator.table import ROW_COLUMNS, layers_from_rows
from cnn_core.calculator.mistakes import common_mistakes

SEED = 12

HOSTILE_VALUES = [
    None, True, False, 0, -1, -5, 1.5, 3.0, 10**30, 2**63, 1e308, -1e308, "", " ", "3x", "1.5",
    "-5", "x3", "3x5x7", "٣", "３", "\u202e5", "😀" * 10, "\x00", "\ud800", "a" * 20_000, "NaN",
    "Infinity", [], {}, [[]], [None], [1], [1, 2, 3], [None, None, None, None, None, None],
    {"a": {"b": {"c": []}}}, {"config": None}, {"class_name": 3}, [["x", 0, 0]],
]

SEQUENTIAL = {"class_name": "Sequential", "config": {"name": "s", "layers": [
    {"class_name": "InputLayer", "config": {"batch_shape": [None, 28, 28, 1], "name": "in"}},
    {"class_name": "Conv2D", "config": {"name": "c", "filters": 8, "kernel_size": [3, 3],
                                        "strides": [1, 1], "padding": "valid", "use_bias": True,
                                        "activation": "relu", "trainable": True}},
    {"class_name": "MaxPooling2D", "config": {"pool_size": [2, 2], "strides": None}},
    {"class_name": "BatchNormalization", "config": {"axis": -1, "center": True, "scale": True}},
    {"class_name": "ZeroPadding2D", "config": {"padding": [[1, 1], [1, 1]]}},
    {"class_name": "Reshape", "config": {"target_shape": [15, 15, 8]}},
    {"class_name": "GlobalAveragePooling2D", "config": {"keepdims": False}},
    {"class_name": "Dropout", "config": {"rate": 0.5}},
    {"class_name": "Dense", "config": {"units": 10, "activation": {"class_name": "Softmax",
                                                                   "config": {"name": "s"}}}},
]}}


def tensor(name):
    return {"args": [{"class_name": "__keras_tensor__",
                      "config": {"shape": [None, 4], "keras_history": [name, 0, 0]}}],
            "kwargs": {}}


FUNCTIONAL = {"class_name": "Functional", "config": {"name": "f", "layers": [
    {"class_name": "InputLayer", "name": "input_layer", "inbound_nodes": [],
     "config": {"batch_shape": [None, 28, 28, 1], "name": "input_layer"}},
    {"class_name": "Conv2D", "name": "conv", "inbound_nodes": [tensor("input_layer")],
     "config": {"name": "conv", "filters": 8, "kernel_size": [3, 3]},
     "build_config": {"input_shape": [None, 28, 28, 1]}},
    {"class_name": "Flatten", "name": "flat", "config": {"name": "flat"},
     "inbound_nodes": [tensor("conv")]},
    {"class_name": "Dense", "name": "d", "config": {"name": "d", "units": 10},
     "inbound_nodes": [tensor("flat")]},
], "input_layers": [["input_layer", 0, 0]], "output_layers": [["d", 0, 0]]}}


def test_the_valid_models_the_fuzzer_starts_from_are_read():
    # by hand: (3·3·1 + 1)·8 + 26·26·8·10 + 10; 28 → 26 → 13 → +2 = 15 → 15·15·8 → 8 → 10
    shape, layers = parse_keras_json(json.dumps(FUNCTIONAL))
    assert shape == (28, 28, 1) and analyze(shape, layers).total_params == 80 + 54_090
    shape, layers = parse_keras_json(json.dumps(SEQUENTIAL))
    assert analyze(shape, layers).total_params == 80 + 4 * 8 + 8 * 10 + 10


def paths(node, prefix=()):
    """Every place in a JSON document a value can be swapped."""
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from paths(value, prefix + (i,))


def swapped(document, path, value):
    if not path:
        return copy.deepcopy(value)
    out = copy.deepcopy(document)
    node = out
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = copy.deepcopy(value)
    return out


def edited_text(rng, text):
    """A few random character edits: delete, duplicate, or insert a JSON-significant char."""
    chars = list(text)
    for _ in range(rng.randint(1, 4)):
        i = rng.randrange(len(chars))
        action = rng.choice(("delete", "duplicate", "insert"))
        if action == "delete":
            del chars[i]
        elif action == "duplicate":
            chars.insert(i, chars[i])
        else:
            chars.insert(i, rng.choice('[]{}",:-.0e9\\ \u00e9'))
    return "".join(chars)


def hostile_json_texts(n_mutations=250, seed=SEED):
    rng = random.Random(seed)
    yield "deep list", "[" * 5_000 + "]" * 5_000
    yield "deep object", '{"a":' * 5_000 + "1" + "}" * 5_000
    yield "65 levels", "[" * 65 + "]" * 65
    yield "deep inside a model", json.dumps(swapped(SEQUENTIAL, ("config", "name"),
                                                    [])).replace("[]", "[" * 3000 + "]" * 3000)
    yield "huge integer", "9" * 5_000
    yield "huge integer as filters", json.dumps(SEQUENTIAL).replace('"filters": 8',
                                                                     '"filters": ' + "9" * 5_000)
    yield "1e999", json.dumps(SEQUENTIAL).replace('"units": 10', '"units": 1e999')
    yield "NaN", json.dumps(SEQUENTIAL).replace('"units": 10', '"units": NaN')
    yield "-Infinity", json.dumps(SEQUENTIAL).replace("28, 28", "-Infinity, 28")
    yield "escaped quotes", '"' + '\\"' * 20_000
    yield "too big", " " * (MAX_JSON_BYTES + 1) + "{}"
    yield "not UTF-8", b"\xff\xfe" + json.dumps(SEQUENTIAL).encode()
    yield "NUL bytes", b"\x00" * 1_000
    yield "lone surrogate", json.dumps(SEQUENTIAL).replace('"c"', '"\ud800"')
    yield "escaped lone surrogate", json.dumps(SEQUENTIAL).replace('"c"', '"\\udc00"')
    yield "2,000 layers", json.dumps(swapped(SEQUENTIAL, ("config", "layers"),
                                             SEQUENTIAL["config"]["layers"] * 223))
    for i in range(n_mutations):
        base = rng.choice((SEQUENTIAL, FUNCTIONAL))
        if i % 5 == 4:
            yield f"edit {i}", edited_text(rng, json.dumps(base))
            continue
        path = rng.choice(list(paths(base)))
        yield f"swap {i} {path}", json.dumps(swapped(base, path, rng.choice(HOSTILE_VALUES)))


def draw_like_the_page(shape, layers):
    """What the page computes from an imported network; only CNNLabError may come out."""
    report = analyze(shape, layers)
    breakdown = report.training_breakdown(50, "adam", True)
    fits = report.max_batch_size(16 * GB, "adam", True)
    layer_frame(report), working_frame(report), working_lines(report, 50)
    memory_frame(report, "adam", True, (50, fits))
    common_mistakes(shape, layers, "float32", 50)
    return breakdown


def only_user_errors(fn, *args):
    """Run fn; a CNNLabError is a fine answer, anything else fails with the input's case."""
    try:
        return fn(*args)
    except CNNLabError as err:
        assert str(err) and "Traceback" not in str(err)
        assert len(str(err)) < 1_000, str(err)[:300]  # a pasted novel is not echoed whole
        return err


def test_hostile_keras_json_is_refused_with_a_message():
    outcomes = {"read": 0, "refused": 0}
    for case, text in hostile_json_texts():
        try:
            result = only_user_errors(parse_keras_json, text)
            if not isinstance(result, CNNLabError):
                result = only_user_errors(draw_like_the_page, *result)
        except Exception as err:  # noqa: BLE001 — the point: name the case that escaped
            pytest.fail(f"{case}: {type(err).__name__}: {err}"[:500])
        outcomes["refused" if isinstance(result, CNNLabError) else "read"] += 1
    # the generator reaches both sides: some mutations still read, most are refused
    assert outcomes["read"] > 10 and outcomes["refused"] > 100, outcomes


def test_named_hostile_json_gets_the_right_message():
    messages = {case: str(only_user_errors(parse_keras_json, text))
                for case, text in list(hostile_json_texts(n_mutations=0))}
    assert "nested 5,000 levels deep" in messages["deep list"]
    assert "nested 5,000 levels deep" in messages["deep object"]
    assert "nested 65 levels deep" in messages["65 levels"]
    assert "NaN" in messages["NaN"] and "-Infinity" in messages["-Infinity"]
    assert f"at most {MAX_JSON_BYTES:,}" in messages["too big"]
    assert "not UTF-8" in messages["not UTF-8"]
    assert "2,007 layers" in messages["2,000 layers"]
    assert "lone UTF-16 surrogate" in messages["escaped lone surrogate"]


def test_hostile_cli_files_exit_2_with_one_line(tmp_path, capsys):
    from cnn_core.calculator.__main__ import main

    for i, (case, text) in enumerate(hostile_json_texts(n_mutations=40, seed=SEED + 1)):
        path = tmp_path / f"{i}.json"
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_bytes(text.encode("utf-8", "surrogatepass"))
        try:
            status = main(["--keras-json", str(path), "--json"])
        except Exception as err:  # noqa: BLE001
            pytest.fail(f"{case}: {type(err).__name__}: {err}"[:500])
        out, err = capsys.readouterr()
        if status == 0:
            assert json.loads(out)["total_params"] >= 0, case
        else:
            assert status == 2 and err.startswith("error: "), case
            assert len(err.strip().splitlines()) == 1, (case, err)


def hostile_queries(n=300, seed=SEED):
    rng = random.Random(seed)
    strings = [v for v in HOSTILE_VALUES if isinstance(v, str)] + [
        "exercise2", "lenet5", "64", "1", "0", "16", "adam", "float16", "200x300x3", "0x0x0",
        "Conv2D,8,3,1,same,1", "Conv2D,8,3,1,same,1;" * 1_200, ";;;", ",,,,,,,,", "%00",
        "Dense,1.5", "MaxPooling2D,,2,2,valid", "<script>alert(1)</script>", "a" * 100_000]
    for i in range(n):
        query = {rng.choice(KEYS + ("embed", "x", "", "😀")): rng.choice(strings)
                 for _ in range(rng.randint(1, 5))}
        if i % 10 == 0:  # a valid link with one value broken
            query = state_to_query(preset_state(rng.choice(("lenet5", "vgg16")))) | query
        yield query


def test_hostile_url_state_gives_a_message_and_a_network_that_works():
    for query in hostile_queries():
        try:
            state, problem = state_from_query(query)
            layers = layers_from_rows(list(state.rows))
            analyze(state.input_shape, layers, state.dtype).training_breakdown(
                state.batch_size, state.optimizer, state.gradients)
        except Exception as err:  # noqa: BLE001 — state_from_query must never raise
            pytest.fail(f"{str(query)[:200]}: {type(err).__name__}: {err}"[:500])
        if problem is None:  # a query read as valid reproduces itself
            assert state_from_query(state_to_query(state)) == (state, None)
        else:
            assert state == preset_state("exercise2") and len(problem) < 2_000


def test_hostile_table_cells_are_refused_naming_the_row():
    rng = random.Random(SEED)
    for _ in range(400):
        row = {column: rng.choice(HOSTILE_VALUES) for column in ROW_COLUMNS[1:]}
        row["type"] = rng.choice(["Conv2D", "Dense", "MaxPooling2D", "ZeroPadding2D", "Flatten",
                                  "DepthwiseConv2D", None, "", 3, "conv2d", "Reshape"])
        try:
            result = only_user_errors(layers_from_rows, [{"type": "Flatten"}, row])
        except Exception as err:  # noqa: BLE001
            pytest.fail(f"{row!r:.300}: {type(err).__name__}: {err}"[:500])
        if isinstance(result, CNNLabError):
            assert str(result).startswith("Row 2"), result
            assert len(str(result)) < 400  # a 20,000-character value is not echoed whole


def draw_graph_like_the_page(graph):
    """What the page computes from an imported graph; only CNNLabError may come out."""
    from cnn_core.calculator.analysis import analyze_graph
    from cnn_core.calculator.graph_views import depth_chart_alt, depth_frame, graph_dot, \
        heaviest_frame

    report = analyze_graph(graph)
    fits = report.max_batch_size(16 * GB, "adam", True)
    layer_frame(report), working_frame(report), working_lines(report, 50)
    memory_frame(report, "adam", True, (50, fits))
    heaviest_frame(report, "MACs"), depth_chart_alt(depth_frame(report)), graph_dot(report)
    return report


def test_hostile_json_for_the_graph_reader_is_refused_with_a_message():
    """The same generated texts through the graph reader (the import box, .keras and .h5)."""
    from cnn_core.calculator.keras_graph import parse_keras_model

    outcomes = {"read": 0, "refused": 0}
    for case, text in hostile_json_texts():
        try:
            result = only_user_errors(parse_keras_model, text)
            if not isinstance(result, CNNLabError):
                result = only_user_errors(draw_graph_like_the_page, result)
        except Exception as err:  # noqa: BLE001 — the point: name the case that escaped
            pytest.fail(f"{case}: {type(err).__name__}: {err}"[:500])
        outcomes["refused" if isinstance(result, CNNLabError) else "read"] += 1
    assert outcomes["read"] > 10 and outcomes["refused"] > 100, outcomes
