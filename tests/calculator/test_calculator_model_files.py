"""Model files (.keras, .h5, .json), hostile ones included, and the command line.

Hostile files get one message each and nothing in them runs: a module that would write a file
when imported is never imported, a Lambda's code is never loaded, a zip bomb is refused from its
directory before anything is decompressed."""

import io
import json
import sys
import zipfile

import pytest

from cnn_core.calculator.__main__ import main
from cnn_core.calculator.analysis import analyze_graph
from cnn_core.calculator.catalog import architecture_graph
from cnn_core.calculator.keras_graph import parse_keras_model
from cnn_core.calculator.keras_json import MAX_JSON_BYTES
from cnn_core.calculator.model_file import read_model_bytes, read_model_file
from cnn_core.errors import CNNLabError

import keras


@pytest.fixture(scope="module")
def small_model():
    x = keras.Input((12, 12, 3), name="image")
    y = keras.layers.Conv2D(4, 3, name="conv")(x)
    y = keras.layers.Add(name="sum")([y, keras.layers.Conv2D(4, 3, name="side")(x)])
    flat = keras.layers.Flatten(name="flatten")(y)
    model = keras.Model(x, keras.layers.Dense(2, name="head")(flat))
    yield model
    keras.backend.clear_session()


@pytest.mark.parametrize("suffix", [".keras", ".h5", ".json"])
def test_model_files_read_like_to_json(small_model, tmp_path, suffix):
    path = tmp_path / f"model{suffix}"
    if suffix == ".json":
        path.write_text(small_model.to_json())
    else:
        small_model.save(path)
    for graph in (read_model_file(path), read_model_bytes(path.read_bytes(), path.name)):
        report = analyze_graph(graph)
        assert report.total_params == small_model.count_params()
        assert [l.name for l in report.layers] == [l.name for l in small_model.layers[1:]]


# -- hostile files -----------------------------------------------------------------------------

EVIL = '''
import pathlib
pathlib.Path({marker!r}).write_text("imported")
class Evil:
    pass
'''


def with_layer(document: dict, entry: dict) -> str:
    """A model's JSON with one more layer spliced in after the input."""
    document = json.loads(json.dumps(document))
    document["config"]["layers"].insert(1, entry)
    return json.dumps(document)


def test_a_module_outside_keras_is_named_and_never_imported(small_model, tmp_path, monkeypatch):
    marker = tmp_path / "ran.txt"
    (tmp_path / "evil_calculator_module.py").write_text(EVIL.format(marker=str(marker)))
    monkeypatch.syspath_prepend(str(tmp_path))
    entry = {"module": "evil_calculator_module", "class_name": "Evil",
             "registered_name": "evil_calculator_module>Evil",
             "config": {"name": "evil", "trainable": True}, "name": "evil",
             "inbound_nodes": [[["image", 0, 0, {}]]]}
    text = with_layer(json.loads(small_model.to_json()), entry)
    with pytest.raises(CNNLabError, match=r"'evil' \('Evil', layer 2 of .* comes from "
                                          r"'evil_calculator_module', not from Keras"):
        parse_keras_model(text)
    assert not marker.exists()
    assert "evil_calculator_module" not in sys.modules


def test_a_lambda_layer_is_named_and_its_code_never_loaded(tmp_path):
    marker = tmp_path / "lambda_ran.txt"

    def write_marker(t):  # would leave a file behind if anything called it
        if not isinstance(t, keras.KerasTensor):
            marker.write_text("ran")
        return t

    x = keras.Input((4, 4, 1))
    model = keras.Model(x, keras.layers.Lambda(write_marker, name="my_lambda")(x))
    text = model.to_json()
    marker.unlink(missing_ok=True)  # Keras itself ran it once, to infer the output shape
    with pytest.raises(CNNLabError, match=r"'my_lambda' \('Lambda', layer 2 of 2 in the model\)"):
        parse_keras_model(text)
    assert not marker.exists()
    keras.backend.clear_session()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_a_zip_bomb_is_refused_before_decompressing():
    bomb = zip_bytes({"config.json": b" " * (50 * 10**6)})  # 50 MB of spaces in ~50 kB
    assert len(bomb) < 100_000
    with pytest.raises(CNNLabError, match="config.json is 50,000,000 bytes"):
        read_model_bytes(bomb, "bomb.keras")
    dense = zip_bytes({"config.json": b"{" + b" " * (MAX_JSON_BYTES - 2) + b"}"})
    with pytest.raises(CNNLabError, match="zip bomb"):
        read_model_bytes(dense, "dense.keras")
    many = zip_bytes({f"f{i}": b"" for i in range(1_000)})
    with pytest.raises(CNNLabError, match="holds 1,000 files"):
        read_model_bytes(many, "many.keras")


def test_a_truncated_keras_file_gets_a_message(small_model, tmp_path):
    path = tmp_path / "model.keras"
    small_model.save(path)
    data = path.read_bytes()
    for cut in (len(data) // 2, 40):
        with pytest.raises(CNNLabError, match="not a complete .keras file"):
            read_model_bytes(data[:cut], "model.keras")


def test_an_h5_that_is_not_a_model_gets_a_message(small_model, tmp_path):
    import h5py
    path = tmp_path / "data.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("numbers", data=[1, 2, 3])
    with pytest.raises(CNNLabError, match="without a model_config: not a Keras model"):
        read_model_file(path)
    weights = tmp_path / "only.weights.h5"
    small_model.save_weights(weights)
    with pytest.raises(CNNLabError, match="not a Keras model"):
        read_model_bytes(weights.read_bytes(), weights.name)
    with pytest.raises(CNNLabError, match="not a readable .h5 model file"):
        read_model_bytes(weights.read_bytes()[:300], weights.name)


def test_a_zip_that_is_not_a_keras_file_gets_a_message():
    with pytest.raises(CNNLabError, match="without config.json"):
        read_model_bytes(zip_bytes({"readme.txt": b"hello"}), "photos.zip")


# -- the command line --------------------------------------------------------------------------

def test_cli_preset_resnet50_json(capsys):
    assert main(["--preset", "resnet50", "--batch-size", "32", "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    report = analyze_graph(architecture_graph("resnet50"))
    assert payload["total_params"] == report.total_params == 25_636_712  # Keras' count_params()
    assert payload["macs"] == report.macs and payload["flops"] == 2 * report.macs
    assert payload["inference_peak_bytes"] == report.inference_peak[0]
    assert payload["training_breakdown"] == report.training_breakdown(32, "adam", True)
    first = payload["layers"][0]
    assert (first["name"], first["output_shape"]) == ("conv1_pad", [230, 230, 3])


def test_cli_model_file_and_keras_json_read_graphs(small_model, tmp_path, capsys):
    path = tmp_path / "model.keras"
    small_model.save(path)
    (tmp_path / "model.json").write_text(small_model.to_json())
    assert main(["--model-file", str(path), "--json"]) == 0
    from_file = json.loads(capsys.readouterr().out)
    assert main(["--keras-json", str(tmp_path / "model.json"), "--json"]) == 0
    from_json = json.loads(capsys.readouterr().out)
    assert from_file == from_json
    assert from_file["total_params"] == small_model.count_params()
    assert [l["name"] for l in from_file["layers"]] == ["conv", "side", "sum", "flatten", "head"]
    assert from_file["layers"][2]["inputs"] == ["conv", "side"]


def test_cli_bad_file_is_one_line(tmp_path, capsys):
    path = tmp_path / "broken.keras"
    path.write_bytes(b"PK\x03\x04 not really")
    assert main(["--model-file", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: broken.keras is not a complete .keras file")
    assert err.count("\n") == 1
