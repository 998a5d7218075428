"""Hardening: malformed uploads, decompression bombs, and nothing unpickled or executed.

A corpus of broken image files is generated here (truncated, wrong magic bytes, absurd
dimensions in the header, random bytes, zero bytes, ...) and fed to the preprocessing in
``cnn_core.imaging`` and to the Classify page through AppTest: each yields a clear
``CNNLabError`` naming the file, and the good photo of the same upload is still classified.
The app's own code is scanned for calls that could unpickle or execute user data, and the
repository's one unpickler (the weight converter) is attacked with a malicious pickle.
"""

import ast
import importlib.util
import io
import os
import pickle
import struct
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnn_core.errors import CNNLabError

REPO_ROOT = Path(__file__).resolve().parent.parent


# --- a corpus of malformed images, generated -----------------------------------------------


def _png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header(width, height, with_image_data=False):
    """A PNG whose IHDR claims ``width`` × ``height`` RGB pixels (CRCs valid)."""
    ihdr = _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    body = _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) if with_image_data else b""
    return b"\x89PNG\r\n\x1a\n" + ihdr + body + _png_chunk(b"IEND", b"")


def jpeg_with_size(jpeg, width, height):
    """Rewrite the frame header (SOF0) of a baseline JPEG to claim another size."""
    sof = jpeg.index(b"\xff\xc0")
    # SOF0: marker(2) length(2) precision(1) height(2) width(2)
    return jpeg[: sof + 5] + struct.pack(">HH", height, width) + jpeg[sof + 9 :]


def gif_with_size(width, height):
    """A GIF whose screen and only frame claim ``width`` × ``height`` (a 1-pixel LZW body)."""
    screen = b"GIF89a" + struct.pack("<HH", width, height) + b"\x00\x00\x00"
    frame = b"\x2c" + struct.pack("<HHHH", 0, 0, width, height) + b"\x00"
    return screen + frame + b"\x02\x02\x44\x01\x00\x3b"


def bmp_with_size(width, height):
    """A 24-bit BMP header claiming ``width`` × ``height``, followed by 16 bytes of pixels."""
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + 40 + 16, 0, 0, 54) + info + b"\x00" * 16


def good_image(fmt):
    """A small valid photo-like image (64×48 noise) encoded as ``fmt``."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(48, 64, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt)
    return buffer.getvalue()


def malformed_images():
    """{file name: bytes} — every entry is a file Pillow cannot decode."""
    jpeg, png = good_image("JPEG"), good_image("PNG")
    rng = np.random.default_rng(1234)
    return {
        "zero-bytes.jpg": b"",
        "random-bytes.jpg": b"\x00RND" + rng.bytes(4096),
        "text-renamed.jpg": b"This is a shopping list, not a photo.\nmilk\neggs\n",
        "wrong-magic.png": b"\x89PNX\r\n\x1a\n" + png[8:],
        "wrong-magic.jpg": b"\x00\x00" + jpeg[2:],
        "truncated.jpg": jpeg[: len(jpeg) // 3],
        "truncated.png": png[: len(png) // 2],
        "header-only.png": png_header(64, 48),
        "magic-then-garbage.png": b"\x89PNG\r\n\x1a\n" + rng.bytes(512),
        "absurd-dimensions.png": png_header(100_000, 100_000, with_image_data=True),
        "absurd-dimensions.jpg": jpeg_with_size(jpeg, 65_000, 65_000),
        "absurd-dimensions.gif": gif_with_size(65_535, 65_535),
        "absurd-dimensions.bmp": bmp_with_size(200_000, 200_000),
        "zero-width.png": png_header(0, 48, with_image_data=True),
        "vector.svg": b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
                      b'<rect width="64" height="64"/></svg>',
    }


def decompression_bomb_png(side=10_000):
    """A *valid* grayscale PNG of side × side black pixels: ~100 KB on disk, 100 MB decoded."""
    row = b"\x00" + b"\x00" * side                       # filter byte + one row of pixels
    idat = zlib.compress(row * side, 9)
    ihdr = _png_chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + ihdr + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def tiny_png(side):
    buffer = io.BytesIO()
    Image.new("RGB", (side, side), (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


MALFORMED = malformed_images()


def test_corpus_is_really_malformed():
    """Each corpus file is one Pillow itself cannot decode: the tests below test something."""
    for name, data in MALFORMED.items():
        with pytest.raises(Exception):
            with Image.open(io.BytesIO(data)) as image:
                image.load()


# --- the preprocessing ---------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_preprocessing_rejects_malformed_file_naming_it(name):
    from cnn_core.imaging import prepare_image

    with pytest.raises(CNNLabError) as error:
        prepare_image(MALFORMED[name], 299, name=name)
    message = str(error.value)
    assert message.startswith(name), message           # names the file, for a many-file upload
    assert "Traceback" not in message and len(message) < 300


@pytest.mark.parametrize("side", [1, 2, 31])
def test_preprocessing_rejects_images_too_small_to_classify(side):
    from cnn_core.imaging import prepare_image

    with pytest.raises(CNNLabError, match=f"{side}×{side}"):
        prepare_image(tiny_png(side), 299, name="tiny.png")


def test_decompression_bomb_refused_before_decoding():
    """A valid 10,000×10,000 PNG (100 MB of pixels, ~100 KB of file) is refused from its
    header: the refusal allocates a small fraction of what decoding it would."""
    from cnn_core.imaging import max_pixels, prepare_image

    bomb = decompression_bomb_png(10_000)
    assert len(bomb) < 200_000 and 10_000 * 10_000 > max_pixels
    tracemalloc.start()
    with pytest.raises(CNNLabError, match="pixels"):
        prepare_image(bomb, 299, name="bomb.png")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 10_000 * 10_000 / 10, f"allocated {peak:,} bytes: it decoded the pixels"


def test_dimensions_under_pillows_own_limit_are_refused_by_ours():
    """A JPEG header claiming 12,000×12,000 (144 MP, 432 MB as RGB) passes Pillow's bomb check
    (it only warns below 179 MP); the app's lower pixel limit refuses it from the header."""
    from cnn_core.imaging import max_pixels, prepare_image

    claimed = jpeg_with_size(good_image("JPEG"), 12_000, 12_000)
    with pytest.warns(Image.DecompressionBombWarning):    # Pillow warns, does not refuse
        with Image.open(io.BytesIO(claimed)) as image:
            assert image.size == (12_000, 12_000)
    assert 12_000 * 12_000 > max_pixels
    with pytest.raises(CNNLabError, match="refused before decoding"):
        prepare_image(claimed, 299, name="huge.jpg")


def test_good_image_after_bad_ones_still_prepares():
    """No state left behind by the failures: a good photo afterwards goes through."""
    from cnn_core.imaging import prepare_image

    for name, data in MALFORMED.items():
        with pytest.raises(CNNLabError):
            prepare_image(data, 299, name=name)
    prepared = prepare_image(good_image("JPEG"), 299, name="good.jpg")
    assert prepared.pixels.shape == (299, 299, 3) and prepared.pixels.dtype == np.uint8


# --- nothing a user supplies is unpickled or executed -------------------------------------

# Calls that can execute code hidden in data: (module-ish prefix, function) as written in source.
UNSAFE_CALLS = {
    "pickle.load", "pickle.loads", "pickle.Unpickler", "cPickle.load", "cPickle.loads",
    "dill.load", "dill.loads", "cloudpickle.load", "cloudpickle.loads", "joblib.load",
    "torch.load", "marshal.load", "marshal.loads", "shelve.open", "yaml.load", "yaml.unsafe_load",
    "eval", "exec", "keras.config.enable_unsafe_deserialization",
}


def dotted_name(node):
    """``a.b.c`` for a Name/Attribute chain, else ''."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return ""


def unsafe_calls_in(source):
    """Each call in ``source`` that may unpickle or execute data, as 'line: reason'."""
    findings = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        name = dotted_name(node.func)
        keywords = {kw.arg: kw.value for kw in node.keywords}
        constant = lambda key: getattr(keywords.get(key), "value", None)  # noqa: E731
        if name in UNSAFE_CALLS or name.endswith(".enable_unsafe_deserialization"):
            findings.append(f"{node.lineno}: {name}()")
        elif name.endswith("load") and constant("allow_pickle") is True:
            findings.append(f"{node.lineno}: {name}(allow_pickle=True)")
        elif "safe_mode" in keywords and constant("safe_mode") is not True:
            findings.append(f"{node.lineno}: {name}(safe_mode=...) not literally True")
    return findings


def app_sources():
    """Every Python file the running app can import: the entry point, pages, cnn_core."""
    files = [REPO_ROOT / "streamlit_app.py", *sorted((REPO_ROOT / "app_pages").glob("*.py")),
             *sorted((REPO_ROOT / "cnn_core").rglob("*.py"))]
    assert len(files) > 5
    return files


def test_the_detector_finds_unsafe_calls():
    """The scan below would catch each pattern (guards against a scan that sees nothing)."""
    sample = (
        "import pickle, numpy as np, keras\n"
        "pickle.loads(b)\n"
        "np.load(f, allow_pickle=True)\n"
        "keras.models.load_model(p, safe_mode=False)\n"
        "keras.saving.load_model(p, safe_mode=flag)\n"
        "keras.config.enable_unsafe_deserialization()\n"
        "np.load(f, allow_pickle=False)\n"
        "keras.models.load_model(p, safe_mode=True)\n"
    )
    assert [f.split(":")[0] for f in unsafe_calls_in(sample)] == ["2", "3", "4", "5", "6"]


@pytest.mark.parametrize("path", app_sources(), ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_app_code_never_unpickles_or_executes_data(path):
    assert unsafe_calls_in(path.read_text()) == [], f"{path.name} may run code from data"


def test_weight_converter_unpickler_refuses_code(tmp_path):
    """The one unpickler in the repo (scripts/convert_squeezenet.py) only rebuilds numpy arrays:
    a pickle that would run a shell command is refused and the command never runs."""
    spec = importlib.util.spec_from_file_location(
        "convert_squeezenet", REPO_ROOT / "scripts" / "convert_squeezenet.py")
    converter = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(converter)

    sentinel = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {sentinel}",))

    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        converter.NumpyOnlyUnpickler(io.BytesIO(pickle.dumps(Exploit()))).load()
    assert not sentinel.exists()

    # ...while a dict of float32 arrays, the weights' real shape, still loads.
    weights = {"conv1": (np.ones((3, 3, 3, 64), np.float32), np.zeros(64, np.float32))}
    loaded = converter.NumpyOnlyUnpickler(io.BytesIO(pickle.dumps(weights))).load()
    np.testing.assert_array_equal(loaded["conv1"][0], weights["conv1"][0])


# --- the Classify page, through AppTest ----------------------------------------------------


def test_classify_page_reports_each_malformed_file_and_classifies_the_good_one():
    """The whole corpus and one real photo in a single upload: one clear error per broken file
    (naming it), no exception, and the photo still gets its top-5."""
    from streamlit.testing.v1 import AppTest

    from cnn_core.paths import DATA_DIR

    cat = (DATA_DIR / "samples" / "cat_chelsea.png").read_bytes()
    app = AppTest.from_file(str(REPO_ROOT / "app_pages" / "classify.py"), default_timeout=300).run()
    assert not app.exception
    upload = [(name, data, "application/octet-stream") for name, data in MALFORMED.items()]
    app.file_uploader[0].set_value(upload + [("cat.png", cat, "image/png")]).run()

    assert not app.exception, app.exception
    errors = [error.value for error in app.error]
    assert sorted(error.split(":")[0] for error in errors) == sorted(MALFORMED), errors
    assert [subheader.value for subheader in app.subheader] == ["cat.png"]
    assert len(app.get("arrow_vega_lite_chart") or app.get("vega_lite_chart")) == 1

    # The session keeps working: the next upload, a good photo alone, is classified.
    app.file_uploader[0].set_value([("again.png", cat, "image/png")]).run()
    assert not app.exception and not app.error
    assert [subheader.value for subheader in app.subheader] == ["again.png"]


# --- model files are never deserialized as code --------------------------------------------


@pytest.mark.slow
def test_configured_weights_file_carrying_code_is_not_executed(tmp_path, monkeypatch):
    """A ``.keras`` file whose Lambda layer writes a file when deserialized, given as the
    configured Inception v3 weights: the app loads weights only (never the model's code), so it
    refuses the file with a clear error and the code never runs. Loading the same file as a
    whole model with safe mode off *does* run it — the file is a real attack."""
    import keras

    sentinel = tmp_path / "code-ran"
    monkeypatch.setenv("CNNLAB_TEST_SENTINEL", str(sentinel))
    # No closure or defaults: the bytecode alone, as an attacker would ship it.
    touch = lambda x: (  # noqa: E731
        open(__import__("os").environ["CNNLAB_TEST_SENTINEL"], "w").close(), x)[1]
    evil = keras.Sequential([keras.Input((4,)), keras.layers.Lambda(touch)])
    path = tmp_path / "weights.keras"
    evil.save(path)
    sentinel.unlink()              # building the model above ran the lambda once

    from cnn_core.imagenet.runtime import load_classifier

    with pytest.raises(CNNLabError, match="could not be loaded"):
        load_classifier("inception_v3", configured=str(path))
    assert not sentinel.exists(), "loading configured weights executed code from the file"

    with pytest.raises(ValueError, match="(?i)unsafe|lambda"):
        keras.saving.load_model(path)                       # Keras' default: safe mode on
    assert not sentinel.exists()
    keras.saving.load_model(path, safe_mode=False)
    assert sentinel.exists()


# --- deployment settings -------------------------------------------------------------------


def test_streamlit_config_is_fit_for_a_shared_deployment():
    """.streamlit/config.toml: no tracebacks or error details shown to users, a bounded
    upload size, no usage statistics sent, no file watcher on a server."""
    import tomllib

    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] in ("none", False)
    assert 1 <= config["server"]["maxUploadSize"] <= 50
    assert config["browser"]["gatherUsageStats"] is False
    assert config["server"]["fileWatcherType"] == "none"
