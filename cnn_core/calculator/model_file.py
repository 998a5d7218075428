"""Read a model file's architecture, and only that: ``.keras``, ``.h5`` or ``.json``.

- ``.keras`` (a zip): its ``config.json``. The member count, each member's size and the total
  uncompressed size are checked from the zip's directory before anything is decompressed, and
  ``config.json`` is read through a bounded stream, so a zip bomb or a truncated file gets a
  message. The weights are never read.
- ``.h5`` (HDF5): the ``model_config`` attribute of the root, read as text with h5py; no
  dataset is read.
- ``.json``: ``model.to_json()``.
Then ``keras_graph.parse_keras_model``: nothing is deserialised into Keras objects and no code in
the file runs. No TensorFlow, no Keras.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from cnn_core.calculator.graph import Graph
from cnn_core.calculator.keras_graph import parse_keras_model
from cnn_core.calculator.keras_json import MAX_JSON_BYTES
from cnn_core.errors import CNNLabError

MAX_UPLOAD_MB = 200  # the page's uploader (a .keras of ResNet-50 with its weights is ~100 MB)
MAX_MODEL_FILE_BYTES = 2 * 10**9  # a .keras with VGG-19's weights is ~0.6 GB; read from disk
MAX_ZIP_MEMBERS = 64  # a .keras holds 3 (metadata.json, config.json, model.weights.h5)
MAX_ZIP_TOTAL_BYTES = 4 * 10**9  # uncompressed, all members together
MAX_COMPRESSION_RATIO = 200  # a model's JSON deflates ~30×; 1,000× is a bomb

ZIP_MAGIC = b"PK\x03\x04"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
KINDS = (".keras", ".h5", ".hdf5", ".json")


def read_model_bytes(data: bytes, filename: str = "model") -> Graph:
    """The graph of an uploaded model file (its kind from its first bytes, else its name)."""
    if not isinstance(data, (bytes, bytearray)):
        raise CNNLabError(f"expected the bytes of a model file, not {type(data).__name__}.")
    head = bytes(data[:8])
    name = str(filename)
    if head.startswith(ZIP_MAGIC) or name.lower().endswith(".keras"):
        return _read_keras_zip(io.BytesIO(data), name)
    if head.startswith(HDF5_MAGIC) or name.lower().endswith((".h5", ".hdf5")):
        return _read_h5(io.BytesIO(data), name)
    return parse_keras_model(bytes(data))


def read_model_file(path: str | Path) -> Graph:
    """The graph of a model file on disk (``.keras``, ``.h5`` or ``.json``)."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as file:
            head = file.read(8)
            if head.startswith(ZIP_MAGIC) or head.startswith(HDF5_MAGIC):
                if size > MAX_MODEL_FILE_BYTES:
                    raise CNNLabError(f"{path.name} is {size:,} bytes; the calculator opens model "
                                      f"files of at most {MAX_MODEL_FILE_BYTES:,}.")
                file.seek(0)
                reader = _read_keras_zip if head.startswith(ZIP_MAGIC) else _read_h5
                return reader(file, path.name)
            return parse_keras_model(head + file.read(MAX_JSON_BYTES + 1 - len(head)))
    except OSError as err:
        raise CNNLabError(f"cannot read {path.name}: {err.strerror or err}.")


def _read_keras_zip(file, name: str) -> Graph:
    try:
        with zipfile.ZipFile(file) as archive:
            members = archive.infolist()
            if len(members) > MAX_ZIP_MEMBERS:
                raise CNNLabError(f"{name} holds {len(members):,} files; a .keras file holds a "
                                  f"few (at most {MAX_ZIP_MEMBERS} are accepted).")
            total = sum(m.file_size for m in members)
            if total > MAX_ZIP_TOTAL_BYTES:
                raise CNNLabError(f"{name} would unpack to {total:,} bytes; at most "
                                  f"{MAX_ZIP_TOTAL_BYTES:,} are accepted (is it a zip bomb?).")
            config = next((m for m in members if m.filename == "config.json"), None)
            if config is None:
                raise CNNLabError(f"{name} is a zip without config.json: not a .keras model "
                                  "file (save it with model.save('model.keras')).")
            if config.file_size > MAX_JSON_BYTES:
                raise CNNLabError(f"{name}'s config.json is {config.file_size:,} bytes; the "
                                  f"calculator reads at most {MAX_JSON_BYTES:,}.")
            if config.file_size > MAX_COMPRESSION_RATIO * max(config.compress_size, 1):
                raise CNNLabError(f"{name}'s config.json is compressed "
                                  f"{config.file_size // max(config.compress_size, 1):,}-fold; "
                                  "a model's JSON is not (is it a zip bomb?).")
            if config.flag_bits & 0x1:
                raise CNNLabError(f"{name}'s config.json is encrypted.")
            with archive.open(config) as stream:
                text = stream.read(MAX_JSON_BYTES + 1)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as err:
        raise CNNLabError(f"{name} is not a complete .keras file (a zip): it may be truncated "
                          f"or damaged ({str(err)[:80]}).") from None
    except OSError as err:
        raise CNNLabError(f"cannot read {name}: {err.strerror or err}.") from None
    if len(text) > MAX_JSON_BYTES:
        raise CNNLabError(f"{name}'s config.json unpacks to more than its size says.")
    return parse_keras_model(text)


def _read_h5(file, name: str) -> Graph:
    try:
        import h5py
    except ImportError:
        raise CNNLabError("reading .h5 files needs h5py (pip install h5py); upload the model's "
                          "JSON (model.to_json()) or a .keras file instead.") from None
    try:
        with h5py.File(file, "r") as h5:
            if "model_config" not in h5.attrs:
                raise CNNLabError(f"{name} is an HDF5 file without a model_config: not a Keras "
                                  "model (a weights-only file holds no architecture).")
            attribute = h5.attrs.get_id("model_config")
            if attribute.get_storage_size() > MAX_JSON_BYTES:
                raise CNNLabError(f"{name}'s model_config is over {MAX_JSON_BYTES:,} bytes.")
            text = h5.attrs["model_config"]
    except CNNLabError:
        raise
    except (OSError, ValueError, TypeError, KeyError) as err:
        raise CNNLabError(f"{name} is not a readable .h5 model file: it may be truncated or "
                          f"not HDF5 ({str(err)[:80]}).") from None
    if hasattr(text, "tobytes") and not isinstance(text, (bytes, str)):
        text = text.tobytes() if getattr(text, "ndim", 1) == 0 else None
    if not isinstance(text, (bytes, str)):
        raise CNNLabError(f"{name}'s model_config is not text.")
    return parse_keras_model(text)
