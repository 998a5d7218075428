"""Weights download on request, against a local http.server on 127.0.0.1 (never the internet):
the bytes arrive, progress is reported, the hash is verified, a bad file leaves nothing behind,
and the background job is shared and keeps the caller free."""

import dataclasses
import functools
import hashlib
import http.server
import threading

import pytest

from cnn_core.imagenet import models as imagenet_models
from cnn_core.imagenet import weights as weights_download
from cnn_core.errors import CNNLabError

PAYLOAD = bytes(range(256)) * 12_000          # 3,072,000 bytes: several 1 MiB blocks


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("served")
    (folder / "weights.h5").write_bytes(PAYLOAD)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_download_verifies_the_hash_and_reports_progress(server, tmp_path):
    seen = []
    path = weights_download.download_weights(
        f"{server}/weights.h5", tmp_path / "models" / "w.h5", hashlib.md5(PAYLOAD).hexdigest(),
        progress=lambda done, total: seen.append((done, total)))
    assert path.read_bytes() == PAYLOAD
    assert seen[-1] == (len(PAYLOAD), len(PAYLOAD)) and len(seen) >= 3
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_a_file_with_the_wrong_hash_is_discarded(server, tmp_path):
    wrong = hashlib.sha256(b"other weights").hexdigest()
    with pytest.raises(CNNLabError, match="sha256 hash is .* not the published"):
        weights_download.download_weights(f"{server}/weights.h5", tmp_path / "w.h5", wrong)
    assert list(tmp_path.iterdir()) == []                     # no partial or bad file left


def test_a_missing_file_fails_clearly(server, tmp_path):
    with pytest.raises(CNNLabError, match=r"Downloading w.h5 from .*/nope.h5 failed \(.*"):
        weights_download.download_weights(f"{server}/nope.h5", tmp_path / "w.h5", "0" * 32)
    assert list(tmp_path.iterdir()) == []


def test_model_weights_download_runs_in_the_background_into_the_keras_cache(
        server, tmp_path, monkeypatch):
    spec = imagenet_models.models["resnet50"]
    local = dataclasses.replace(
        spec, weights_url=f"{server}/weights.h5", weights_hash=hashlib.md5(PAYLOAD).hexdigest(),
        weights_bytes=len(PAYLOAD))
    monkeypatch.setitem(imagenet_models.models, "resnet50", local)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.delenv(spec.env_var, raising=False)
    assert imagenet_models.find_weights("resnet50").path is None         # nothing local yet
    job = imagenet_models.download_model_weights("resnet50")
    assert imagenet_models.download_model_weights("resnet50") is job    # shared, not twice
    job.thread.join(timeout=60)
    assert job.succeeded and job.fraction == 1.0 and job.done_bytes == len(PAYLOAD)
    status = imagenet_models.find_weights("resnet50")
    assert status.path == tmp_path / "models" / spec.weights_file
    assert imagenet_models.serving_model("resnet50").key == "resnet50"   # now it serves


def test_the_fallback_rule_names_what_is_missing(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.delenv("CNNLAB_INCEPTION_WEIGHTS", raising=False)
    serving = imagenet_models.serving_model("auto")
    assert serving.key == "squeezenet" and serving.weights.endswith("squeezenet_v1_1.weights.h5")
    assert "Inception v3 weights are not on this server" in serving.note
    assert imagenet_models.serving_model("squeezenet").note == ""
