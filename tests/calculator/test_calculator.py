"""The calculator against hand computation: the reference exercise, memory rules, errors, CLI."""

import json
import subprocess
import sys

import pytest

from cnn_core.calculator.analysis import MB, MiB, TB, analyze, format_bytes
from cnn_core.calculator.views import a_or_an, fit_sentence, memory_chart, memory_frame
from cnn_core.errors import CNNLabError
from cnn_core.calculator.keras_json import parse_keras_json
from cnn_core.calculator.table import layer_from_row, layers_from_rows
from cnn_core.networks.layers import BatchNormalization, Conv2D, Dense, Flatten, MaxPooling2D
from cnn_core.calculator.mistakes import common_mistakes
from cnn_core.networks.presets import preset
from tests.conftest import REPO_ROOT


@pytest.fixture
def exercise():
    return analyze(*preset("exercise2"))


def test_reference_parameters(exercise):
    # (3·3·3 + 1)·100, (3·3·100 + 1)·200, (3·3·200 + 1)·400
    assert [l.params for l in exercise.layers] == [2_800, 180_200, 720_400]
    assert exercise.total_params == 903_400


def test_reference_feature_maps(exercise):
    # 'same' → ceil(n / 2): 200×300 → 100×150 → 50×75 → 25×38 (75 / 2 rounds up)
    assert [l.output_shape for l in exercise.layers] == [
        (100, 150, 100), (50, 75, 200), (25, 38, 400)]
    assert [exercise.layer_activation_bytes(l) for l in exercise.layers] == [
        6_000_000, 3_000_000, 1_520_000]


def test_reference_one_prediction(exercise):
    # peak pair: layer 1 + layer 2 = 6 MB + 3 MB, plus 903,400 × 4 bytes of parameters
    assert exercise.param_bytes == 3_613_600
    assert exercise.inference_peak == (9_000_000, 1)
    assert exercise.inference_bytes == 12_613_600


def test_reference_training_batch_of_50(exercise):
    b = exercise.training_breakdown(50)
    assert b["activations"] == 50 * 10_520_000
    assert b["inputs"] == 50 * 200 * 300 * 3 * 4 == 36_000_000
    assert b["bare_minimum"] == exercise.training_bytes(50) == 565_613_600
    assert round(565_613_600 / MiB, 1) == 539.4 and round(565_613_600 / MB, 1) == 565.6


def test_gradients_and_optimizer_state_lines(exercise):
    sgd = exercise.training_breakdown(50, "sgd", gradients=True)
    momentum = exercise.training_breakdown(50, "momentum")
    adam = exercise.training_breakdown(50, "adam", gradients=False)
    assert sgd["gradients"] == 3_613_600 and sgd["optimizer_state"] == 0
    assert momentum["optimizer_state"] == 3_613_600
    assert adam["gradients"] == 0 and adam["optimizer_state"] == 2 * 3_613_600
    assert adam["total"] == 565_613_600 + 7_227_200


@pytest.mark.parametrize("dtype, act, par", [
    ("float32", 4, 4), ("float16", 2, 2), ("bfloat16", 2, 2), ("mixed_float16", 2, 4)])
def test_dtypes(dtype, act, par):
    r = analyze(*preset("exercise2"), dtype=dtype)
    assert r.param_bytes == 903_400 * par
    assert r.inference_bytes == (6_000_000 + 3_000_000) // 4 * act + 903_400 * par
    assert r.training_bytes(50) == 50 * (10_520_000 + 720_000) // 4 * act + 903_400 * par


def test_peak_pair_can_include_the_input():
    # a big image into a tiny conv: the peak pair is (input, first layer)
    r = analyze((100, 100, 3), [Conv2D(1, 1), Flatten(), Dense(2)])
    assert r.inference_peak == ((30_000 + 10_000) * 4, 0)


def test_max_batch_size_is_the_largest_that_fits(exercise):
    device = 16 * 10**9
    n = exercise.max_batch_size(device, "adam")
    assert exercise.training_breakdown(n, "adam")["total"] <= device
    assert exercise.training_breakdown(n + 1, "adam")["total"] > device
    assert exercise.max_batch_size(1000, "adam") == 0


def test_batch_norm_and_dense_parameters():
    r = analyze((8, 8, 3), [Conv2D(5, 3, use_bias=False), BatchNormalization(), Flatten(),
                            Dense(4)])
    assert [l.params for l in r.layers] == [3 * 3 * 3 * 5, 4 * 5, 0, 6 * 6 * 5 * 4 + 4]
    assert r.non_trainable_params == 2 * 5 and r.trainable_params == 135 + 10 + 724


@pytest.mark.parametrize("n, k, s, padding, expected", [
    (7, 3, 2, "same", 4), (7, 3, 2, "valid", 3), (5, 2, 3, "valid", 2), (5, 1, 7, "same", 1),
    (299, 3, 2, "valid", 149), (224, 7, 2, "same", 112)])
def test_shape_rules(n, k, s, padding, expected):
    r = analyze((n, n, 1), [Conv2D(1, k, strides=s, padding=padding)])
    assert r.layers[0].output_shape == (expected, expected, 1)


@pytest.mark.parametrize("input_shape, layers, message", [
    ((4, 4, 3), [Conv2D(8, 5)], "does not fit"),
    ((0, 28, 1), [Conv2D(8, 3)], "input sizes must be at least 1, not 0"),
    ((28, 28, 1), [lambda: Conv2D(0, 3)], "at least 1"),
    ((28, 28, 1), [Flatten(), Conv2D(4, 3)], "image-shaped input"),
    ((28, 28, 1), [Conv2D(4, 3, groups=2)], "divisible by groups"),
    ((28, 28, 1), [], "no layers"),
])
def test_impossible_networks_are_refused_clearly(input_shape, layers, message):
    with pytest.raises(CNNLabError, match=message):
        analyze(input_shape, [l() if isinstance(l, type(lambda: 0)) else l for l in layers])


def test_negative_stride_is_refused():
    with pytest.raises(CNNLabError, match="at least 1"):
        Conv2D(8, 3, strides=-1)


def test_layer_table_rows():
    rows = [
        {"type": "Conv2D", "filters_units": "100", "kernel": "3", "stride": "2", "padding": "same",
         "use_bias": True},
        {"type": "maxpooling2d", "filters_units": None, "kernel": "2x2", "stride": " 2 ",
         "padding": "valid", "use_bias": None},
        {"type": "Flatten"}, {"type": "Dense", "filters_units": 10.0, "use_bias": False},
        {"type": None},  # an empty row added in the editor is ignored
    ]
    r = analyze((200, 300, 3), layers_from_rows(rows))
    assert [l.output_shape for l in r.layers] == [(100, 150, 100), (50, 75, 100),
                                                  (375_000,), (10,)]
    assert r.total_params == 2_800 + 3_750_000
    with pytest.raises(CNNLabError, match="Row 1, type: unknown layer type 'Conv3D'"):
        layers_from_rows([{"type": "Conv3D"}])
    with pytest.raises(CNNLabError, match="Row 2 .*kernel"):
        layers_from_rows([rows[0], dict(rows[0], kernel="a")])


CONV_ROW = {"type": "Conv2D", "filters_units": "100", "kernel": "3", "stride": "2",
            "padding": "same", "use_bias": True}


@pytest.mark.parametrize("column, value", [
    # the three values the page once changed silently (1.5 → 15, -5 → 5, '3x' → 3), then empty
    ("filters_units", "1.5"), ("filters_units", "-5"), ("kernel", "3x"), ("filters_units", ""),
    ("kernel", None), ("stride", "   "), ("padding", None), ("use_bias", None),
    ("filters_units", 1.5), ("filters_units", "0"), ("filters_units", "1e3"),
    ("filters_units", "٣"), ("filters_units", "+5"), ("kernel", "3x5x7"), ("kernel", "x3"),
    ("stride", "2.0"), ("stride", "0"), ("padding", "full"), ("use_bias", "yes"),
    ("filters_units", "1000000001"), ("filters_units", True),
])
def test_every_cell_is_parsed_strictly(column, value):
    """A non-integer, negative, empty or malformed cell is refused, naming row, column, value."""
    with pytest.raises(CNNLabError) as err:
        layers_from_rows([CONV_ROW, dict(CONV_ROW, **{column: value})])
    message = str(err.value)
    assert message.startswith("Row 2 (Conv2D), " + column), message
    assert "empty" in message if value is None or not str(value).strip() else repr(value) in message


@pytest.mark.parametrize("row, column", [
    ({"type": "Dense", "filters_units": "10", "kernel": "3", "use_bias": True}, "kernel"),
    ({"type": "Flatten", "stride": "2"}, "stride"),
    ({"type": "MaxPooling2D", "filters_units": "64", "kernel": "2", "stride": "2",
      "padding": "valid"}, "filters_units"),
    ({"type": "MaxPooling2D", "kernel": "2", "stride": "2", "padding": "valid",
      "use_bias": True}, "use_bias"),
])
def test_a_cell_the_layer_does_not_use_is_refused_not_ignored(row, column):
    with pytest.raises(CNNLabError, match=f"Row 1 \\({row['type']}\\), {column}: .* has no"):
        layer_from_row(row)


def test_table_cells_parse_to_what_was_typed():
    layer = layer_from_row({"type": "Conv2D", "filters_units": "7", "kernel": "3x5",
                            "stride": "2×1", "padding": "Valid", "use_bias": False})
    assert (layer.filters, layer.kernel_size, layer.strides, layer.padding, layer.use_bias) == (
        7, (3, 5), (2, 1), "valid", False)


def test_common_mistakes_on_the_exercise():
    by_title = {m.title: m for m in common_mistakes(*preset("exercise2"))}
    assert by_title["Forgetting the bias"].wrong == 903_400 - 700
    assert by_title["Using the image's channels as every layer's input depth"].wrong == (
        28 * 100 + 28 * 200 + 28 * 400)
    assert by_title["Rounding a 'same' output size down"].wrong == (
        6_000_000 + 3_000_000 + 25 * 37 * 400 * 4)
    assert by_title["Summing every layer to predict one instance"].wrong == (
        720_000 + 10_520_000 + 3_613_600)


@pytest.mark.parametrize("text, message", [
    ("{not json", "not valid JSON"),
    ('{"a": 1}', "not a Keras model"),
    (b"\xff\xfe\x00", "not UTF-8"),
    ('{"class_name": "Sequential", "config": {"layers": [{"class_name": "Conv2D", '
     '"config": {"filters": 3, "kernel_size": [3, 3]}}]}}', "no fixed input shape"),
    ('{"class_name": "Sequential", "config": {"layers": [{"class_name": "InputLayer", '
     '"config": {"batch_shape": [null, 8, 8, 1]}}, {"class_name": "LSTM", "config": {}}, '
     '{"class_name": "Conv3D", "config": {}}]}}', "LSTM, Conv3D|Conv3D, LSTM"),
])
def test_keras_json_errors(text, message):
    with pytest.raises(CNNLabError, match=message):
        parse_keras_json(text)


def test_keras2_style_json():
    text = json.dumps({"class_name": "Sequential", "config": {"name": "s", "layers": [
        {"class_name": "Conv2D", "config": {"name": "c", "batch_input_shape": [None, 28, 28, 1],
                                            "filters": 32, "kernel_size": [3, 3],
                                            "strides": [1, 1], "padding": "valid",
                                            "use_bias": True}},
        {"class_name": "Flatten", "config": {"name": "f"}},
        {"class_name": "Dense", "config": {"name": "d", "units": 10}}]}})
    shape, layers = parse_keras_json(text)
    assert shape == (28, 28, 1)
    assert analyze(shape, layers).total_params == 320 + 26 * 26 * 32 * 10 + 10


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "cnn_core.calculator", *args],
                          capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)


def test_cli_json_for_the_exercise():
    out = run_cli("--preset", "exercise2", "--batch-size", "50", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["total_params"] == data["trainable_params"] == 903_400
    assert data["inference_bytes"] == 12_613_600
    assert data["training_bytes"] == 565_613_600
    assert [l["output_shape"] for l in data["layers"]] == [[100, 150, 100], [50, 75, 200],
                                                           [25, 38, 400]]
    assert [l["params"] for l in data["layers"]] == [2_800, 180_200, 720_400]
    assert {"name", "type"} <= set(data["layers"][0])
    assert data["training_breakdown"]["inputs"] == 36_000_000


def test_cli_keras_json_file(tmp_path):
    path = tmp_path / "model.json"
    path.write_text(json.dumps({"class_name": "Sequential", "config": {"layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, 9, 9, 2]}},
        {"class_name": "MaxPooling2D", "config": {"pool_size": [2, 2], "padding": "same"}},
        {"class_name": "GlobalAveragePooling2D", "config": {}},
        {"class_name": "Dense", "config": {"units": 3}}]}}))
    out = run_cli("--keras-json", str(path), "--dtype", "float16", "--optimizer", "adam",
                  "--batch-size", "4", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["total_params"] == 9
    assert [l["output_shape"] for l in data["layers"]] == [[5, 5, 2], [2], [3]]
    # 4 × (50 + 2 + 3 activations + 162 input) × 2 bytes + 9 parameters × 2 bytes
    assert data["training_bytes"] == 4 * (50 + 2 + 3 + 162) * 2 + 18


@pytest.mark.parametrize("args", [
    ["--preset", "nope"],
    ["--keras-json", "/nonexistent/model.json"],
    ["--preset", "exercise2", "--batch-size", "0"],
    ["--preset", "exercise2", "--batch-size", "-3"],
    ["--preset", "exercise2", "--dtype", "int4"],
])
def test_cli_bad_input_exits_2_with_one_line(args):
    out = run_cli(*args)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("content", ["{broken", '{"class_name": "Sequential", "config": {"layers": '
                                     '[{"class_name": "InputLayer", "config": {"batch_shape": '
                                     '[null, 3, 3, 1]}}, {"class_name": "Conv2D", "config": '
                                     '{"filters": 2, "kernel_size": [5, 5]}}]}}'])
def test_cli_bad_json_file_exits_2(tmp_path, content):
    path = tmp_path / "bad.json"
    path.write_text(content)
    out = run_cli("--keras-json", str(path))
    assert out.returncode == 2
    assert out.stderr.startswith("error: ") and "Traceback" not in out.stderr


# -- the CLI says and uses the page's defaults; its table keeps columns apart ------------------

def test_cli_defaults_are_the_pages(capsys):
    from cnn_core.calculator.__main__ import main
    from cnn_core.calculator.state import DEFAULT_BATCH_SIZE, DEFAULT_OPTIMIZER

    assert main(["--preset", "exercise2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["batch_size"], data["optimizer"]) == (DEFAULT_BATCH_SIZE, DEFAULT_OPTIMIZER)
    # by hand: 565,613,600 bare minimum + gradients (1×) + Adam (2×) × 3,613,600 bytes
    assert data["training_breakdown"]["total"] == 565_613_600 + 3 * 3_613_600 == 576_454_400
    assert main(["--preset", "exercise2", "--json", "--no-gradients", "--optimizer", "sgd",
                 "--batch-size", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["training_breakdown"]["total"] == (
        10_520_000 + 720_000 + 3_613_600)
    with pytest.raises(SystemExit):
        main(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--optimizer adam --batch-size 50" in help_text and "default: adam" in help_text


def test_cli_text_table_keeps_long_names_apart(tmp_path, capsys):
    from cnn_core.calculator.__main__ import main

    path = tmp_path / "model.json"
    path.write_text(json.dumps({"class_name": "Sequential", "config": {"layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, 9, 9, 2]}},
        {"class_name": "GlobalAveragePooling2D", "config": {}},
        {"class_name": "Dense",
         "config": {"units": 3, "name": "a_rather_long_dense_layer_name"}}]}}))
    assert main(["--keras-json", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    row = next(l for l in lines if l.startswith("global_average_pooling2d"))
    assert row.split() == ["global_average_pooling2d", "GlobalAveragePooling2D", "2", "0", "0"]
    assert next(l for l in lines if l.startswith("a_rather")).split()[:2] == [
        "a_rather_long_dense_layer_name", "Dense"]


def test_cli_deeply_nested_json_gives_one_line_not_a_traceback(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 5000 + "]" * 5000)
    out = run_cli("--keras-json", str(path))
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines() == [
        "error: this JSON is nested 5,000 levels deep; a Keras model needs far fewer "
        "(at most 64 are read)."]


# -- the memory chart and its sentence ---------------------------------------------------------

def test_batch_beyond_the_device_is_said_plainly(exercise):
    total = exercise.training_breakdown(100_000, "adam", True)["total"]
    # by hand: 100,000 × 11,240,000 + 4 × 3,613,600 (parameters, gradients, Adam's 2 slots)
    assert total == 1_124_014_454_400
    fits = exercise.max_batch_size(11 * 10**9, "adam", True)
    assert fits == (11 * 10**9 - 4 * 3_613_600) // 11_240_000 == 977
    assert fit_sentence(100_000, total, 11, fits) == (
        "Batch 100,000 needs 1.12 TB (1.02 TiB): it does not fit. "
        "The 11 GB device fits at most 977.")
    assert fit_sentence(50, 576_454_400, 11, fits).endswith(
        "it fits on an 11 GB device, which takes batches of up to 977.")
    assert format_bytes(1.5 * TB) == "1.50 TB (1.36 TiB)"


@pytest.mark.parametrize("gb, article", [(2, "a"), (8, "an"), (11, "an"), (16, "a"),
                                         (18, "an"), (80, "an"), (110, "a"), (11_000, "an")])
def test_article_before_a_number(gb, article):
    assert a_or_an(gb) == article


def test_memory_chart_marks_the_chosen_batch_beyond_the_default_axis(exercise):
    frame = memory_frame(exercise, "adam", True, (100_000, 977))
    assert 100_000 in set(frame["batch size"]) and frame["batch size"].max() >= 100_000
    spec = memory_chart(frame, 11, 977, 100_000)
    marks = [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"]
             for layer in spec["layer"]]
    assert "point" in marks
    assert "batch 100,000: 1,124.01 GB" in json.dumps(spec)
