"""The shipped MNIST files: published SHA-256, Keras' layout and order, errors on damage."""

import gzip
import hashlib
import shutil

import numpy as np
import pytest

from cnn_core.errors import CNNLabError
from cnn_core.mnist.data import (
    MNIST_DIR,
    SHA256,
    decode_idx,
    download_mnist,
    encode_idx,
    load_mnist,
    read_idx_gz,
    save_mnist_npz,
)

# published facts about MNIST's test set (LeCun & Cortes; the same in every copy)
TEST_LABEL_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_shipped_files_have_the_published_sha256():
    for name, digest in SHA256.items():
        raw = gzip.decompress((MNIST_DIR / f"{name}.gz").read_bytes())
        assert hashlib.sha256(raw).hexdigest() == digest


def test_shapes_dtype_and_label_counts():
    (x_train, y_train), (x_test, y_test) = load_mnist()
    assert x_train.shape == (60000, 28, 28) and y_train.shape == (60000,)
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    assert {a.dtype for a in (x_train, y_train, x_test, y_test)} == {np.dtype(np.uint8)}
    assert np.bincount(y_test).tolist() == TEST_LABEL_COUNTS
    assert np.bincount(y_train).sum() == 60000 and y_train.max() == 9
    # the first training labels, as printed in countless tutorials: 5 0 4 1 9 2 1 3 1 4
    assert y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert x_train.max() == 255 and x_train.min() == 0


def test_idx_round_trip_matches_the_files():
    """encode_idx(decode_idx(raw)) gives back the exact bytes, so the header rule is right."""
    raw = gzip.decompress((MNIST_DIR / "t10k-labels-idx1-ubyte.gz").read_bytes())
    assert encode_idx(decode_idx(raw)) == raw


def test_keras_npz_via_the_download_path_equals_the_idx_loader(tmp_path):
    """Build Keras' mnist.npz, 'download' it from a file:// URL and compare every array."""
    source = save_mnist_npz(tmp_path / "served.npz")
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    data = download_mnist(source.as_uri(), tmp_path / "cache" / "mnist.npz", sha256=digest)
    for ours, theirs in zip(sum(load_mnist(), ()), sum(data, ())):
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
        assert np.array_equal(ours, theirs)
    # a second call reads the cached file instead of the URL
    again = download_mnist("file:///nonexistent/mnist.npz", tmp_path / "cache" / "mnist.npz")
    assert np.array_equal(again[1][1], data[1][1])


def test_download_rejects_a_wrong_file(tmp_path):
    source = save_mnist_npz(tmp_path / "served.npz")
    with pytest.raises(CNNLabError, match="not the expected"):
        download_mnist(source.as_uri(), tmp_path / "a.npz", sha256="0" * 64)
    with pytest.raises(CNNLabError, match="cannot download"):
        download_mnist((tmp_path / "missing.npz").as_uri(), tmp_path / "b.npz")


def test_npz_with_altered_pixels_fails_the_idx_digest(tmp_path):
    (x_train, y_train), (x_test, y_test) = load_mnist()
    x_test = x_test.copy()
    x_test[0, 0, 0] ^= 1
    source = save_mnist_npz(tmp_path / "bad.npz", ((x_train, y_train), (x_test, y_test)))
    with pytest.raises(CNNLabError, match="t10k-images.*SHA-256"):
        download_mnist(source.as_uri(), tmp_path / "c.npz", sha256=None)


def test_damaged_and_truncated_files_raise_clear_errors(tmp_path):
    name = "t10k-labels-idx1-ubyte"
    raw = gzip.decompress((MNIST_DIR / f"{name}.gz").read_bytes())
    damaged = bytearray(raw)
    damaged[100] = (damaged[100] + 1) % 10
    (tmp_path / f"{name}.gz").write_bytes(gzip.compress(bytes(damaged)))
    with pytest.raises(CNNLabError, match="SHA-256"):
        read_idx_gz(tmp_path / f"{name}.gz")
    (tmp_path / f"{name}.gz").write_bytes(gzip.compress(raw)[:-20])  # cut gzip stream
    with pytest.raises(CNNLabError, match="cannot be decompressed"):
        read_idx_gz(tmp_path / f"{name}.gz")
    with pytest.raises(CNNLabError, match="truncated"):
        decode_idx(raw[:-5], name)


def test_missing_file_names_the_readme(tmp_path):
    for name in SHA256:
        if name != "train-images-idx3-ubyte":
            shutil.copy(MNIST_DIR / f"{name}.gz", tmp_path)
    with pytest.raises(CNNLabError, match="train-images-idx3-ubyte.gz is not on this server.*"
                                          r"data/mnist/README\.md") as error:
        load_mnist(tmp_path)
    assert str(tmp_path) not in str(error.value)             # the path is for the operator
    assert error.value.server_detail == f"{tmp_path}/train-images-idx3-ubyte.gz is missing"
