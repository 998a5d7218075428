"""Classify photos (paths, bytes or uploads) with an ImageNet CNN; the command line over it,
``python -m cnn_core.classify``, is ``cnn_core/imagenet/__main__.py``.

Each photo's bytes are hashed (SHA-256); a photo already classified by the same model, runtime
and precision — on a rerun or by another session — is taken from a bounded cache shared by the
process, not classified again, and a photo already decoded is not decoded again (a rerun of the
page re-reads every photo of the session). Bad files become error entries; the rest are
classified in batches.

Interface for other modules:
    classify_sources(classifier, sources, k=5, batch_size=16, names=None, cache=results_cache,
                     photos=photos_cache)
        → (list[Classification] in input order, forward-pass seconds)
    Classification(name, image, top, error, digest, cached, cams)
    ResultCache(max_entries): thread-safe LRU of results keyed by (digest, model…)
    PreparedPhoto(resized, pictures, notes): a photo through the pipeline, kept small; shared
        by digest in photos_cache, so a rerun decodes only the photos it has not seen
    stage_pictures(result) → [(JPEG bytes ≤ 640 px, caption)] of the preprocessing
    heatmap_picture(classifier, result, class_index, grad_cam) → JPEG bytes of the photo with
        its Grad-CAM, made once per photo, model and class (overlays_cache, shared)
    class_map(result, class_index, grad_cam) → that Grad-CAM itself, (h, w) in [0, 1]
    value_range(classifier, pixels) → (min, max) of the model input after scaling
    describe_result(classifier, result), describe_timing(results, seconds) → lines for the page
The models and weights live in cnn_core.imagenet.models, the runtime in cnn_core.imagenet.runtime,
Grad-CAM in cnn_core.imagenet.gradcam and charts in cnn_core.imagenet.views.
"""

import collections
import hashlib
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from cnn_core.errors import CNNLabError
from cnn_core.imagenet.gradcam import heatmap_overlay
from cnn_core.imagenet.models import top_k
from cnn_core.imaging import (PreparedImage, jpeg_bytes, list_image_files, prepare_image,
                              read_bytes)


class ResultCache:
    """Results by key, least recently used dropped first, at most ``max_entries`` of them:
    for classifications, (probability row, top-k Grad-CAMs) — 4 kB + 1.3 kB (Inception v3) —
    by (digest, model, weights, runtime, precision)."""

    def __init__(self, max_entries=4096):
        self.max_entries = max_entries
        self.rows = collections.OrderedDict()
        self.lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key):
        with self.lock:
            row = self.rows.get(key)
            if row is None:
                self.misses += 1
                return None
            self.rows.move_to_end(key)
            self.hits += 1
            return row

    def put(self, key, row):
        with self.lock:
            self.rows[key] = row
            self.rows.move_to_end(key)
            while len(self.rows) > self.max_entries:
                self.rows.popitem(last=False)

    def __len__(self):
        return len(self.rows)


results_cache = ResultCache()         # shared by every session of this process
CAM_CLASSES = 5                       # Grad-CAMs kept per photo: its top-5 classes at most
DISPLAY_SIDE = 640                    # px: a quarter of the wide page, twice over for HiDPI


@dataclass(frozen=True)
class PreparedPhoto:
    """A photo through the pipeline, kept small enough to share (~0.5 MB for a 1024-px photo
    at 299 px instead of its ~10 MB of decoded stages): the model's input, every stage as a
    JPEG at most ``DISPLAY_SIDE`` px (Streamlit would otherwise encode each as a quality-100
    JPEG on every rerun; captions keep the real sizes) and what the pipeline did, in words."""

    resized: Image.Image      # size × size RGB: the model's input, the heatmap's background
    pictures: tuple             # ((JPEG bytes, caption), …) of every stage, in order
    notes: tuple

    @property
    def pixels(self):
        """(size, size, 3) uint8 RGB array, ready for a model's own scaling."""
        return np.asarray(self.resized, dtype=np.uint8)

    @classmethod
    def of(cls, image: PreparedImage, max_side=DISPLAY_SIDE):
        encoded, pictures = {}, []       # an RGB photo's original is its RGB stage: once
        for picture, caption in image.stages():
            if id(picture) not in encoded:
                encoded[id(picture)] = jpeg_bytes(picture, 90, max_side)
            pictures.append((encoded[id(picture)], caption))
        return cls(image.resized, tuple(pictures), tuple(image.notes))


# Photos by (digest, input size): a rerun or another session neither decodes nor encodes them
# again. ~0.55 MB for a 1024-px JPEG at Inception v3's 299 px (pictures 0.29 MB, input 0.27):
# 128 photos ≈ 70 MB at most; a photo pushed out is only decoded again when next shown.
photos_cache = ResultCache(max_entries=128)


# Grad-CAM overlays as JPEG (~25 kB) by (photo, model…, class): a rerun shows them as they are.
overlays_cache = ResultCache(max_entries=512)


def heatmap_picture(classifier, result, class_index, grad_cam, cache=overlays_cache):
    """The photo (model input) with its Grad-CAM for ``class_index`` blended on top, as JPEG
    bytes, made once per photo, classifier and class (blending and encoding cost ~9 ms a photo
    on every rerun otherwise). The map is the forward pass's (``result.cams``) where there is
    one, else ``grad_cam()``'s, which is called only then."""
    key = (*cache_key(classifier, result.digest), class_index)
    picture = cache.get(key) if cache is not None else None
    if picture is None:
        picture = jpeg_bytes(heatmap_overlay(result.image.resized,
                                             class_map(result, class_index, grad_cam)), 90)
        if cache is not None:
            cache.put(key, picture)
    return picture


def class_map(result, class_index, grad_cam):
    """The Grad-CAM (h, w) of ``class_index`` for ``result``: the forward pass's where there is
    one, else ``grad_cam()``'s (called only then)."""
    cam = (result.cams or {}).get(class_index)
    return grad_cam() if cam is None else cam


def stage_pictures(result):
    """[(JPEG bytes, caption)] of ``result``'s preprocessing stages, for display."""
    image = result.image
    return list((image if isinstance(image, PreparedPhoto) else PreparedPhoto.of(image)).pictures)


@dataclass(eq=False)
class Classification:
    """The result for one input: its preprocessing stages and top-k, or the error."""

    name: str
    image: PreparedPhoto | PreparedImage | None = None    # PreparedImage without a photo cache
    top: list | None = None
    error: str | None = None
    digest: str = ""            # SHA-256 of the file's bytes
    cached: bool = False        # top-k came from the shared cache, no forward pass
    cams: dict | None = None    # {class index: Grad-CAM (h, w)} of the top-k, if the forward
    # pass gives them (runtime.Classifier.predict_with_cams); else computed on demand

    def as_json(self, model_key):
        if self.error:
            return {"path": self.name, "error": self.error}
        return {"path": self.name, "model": model_key, "top": self.top}


def source_name(source):
    return str(source) if isinstance(source, (str, Path)) else getattr(source, "name", "upload")


def prepare(source, name, side, photos=photos_cache):
    """Read one source and hash its bytes (SHA-256: the photo's name in the caches); run the
    pipeline unless ``photos`` already holds this photo at this size (then nothing is decoded).
    Without ``photos`` the full PreparedImage is kept and no display JPEG is made (the CLI)."""
    name = name or source_name(source)
    try:
        _, data = read_bytes(source)
        digest = hashlib.sha256(data).hexdigest()
        if photos is None:
            return Classification(name, prepare_image(data, side, name=name), digest=digest)
        image = photos.get((digest, side))
        if image is None:
            image = PreparedPhoto.of(prepare_image(data, side, name=name))
            photos.put((digest, side), image)
        return Classification(name, image, digest=digest)
    except CNNLabError as error:
        return Classification(name, error=str(error))


def cache_key(classifier, digest):
    return (digest, classifier.spec.key, classifier.weights, classifier.runtime,
            classifier.precision)


def classify_sources(classifier, sources, k=5, batch_size=16, names=None, cache=results_cache,
                     photos=photos_cache):
    """Prepare every source (a bad file becomes an error entry; ``photos``: see ``prepare``),
    take known photos from ``cache``, classify the others in batches. ``names`` overrides the
    names shown (default: the path or upload name).
    Returns (classifications in input order, forward-pass seconds)."""
    results = [prepare(source, name, classifier.spec.input_size, photos)
               for source, name in zip(sources, names or [None] * len(sources))]
    found = {}                  # id(result) → (probability row, {class index: Grad-CAM})
    for result in results:
        if result.image is not None and cache is not None:
            entry = cache.get(cache_key(classifier, result.digest))
            if entry is not None:
                found[id(result)], result.cached = entry, True
    todo = [result for result in results if result.image is not None and id(result) not in found]
    seconds = 0.0
    if todo:
        pixels = np.stack([result.image.pixels for result in todo])     # (n, s, s, 3) uint8
        start = time.perf_counter()
        probabilities, cams = classifier.predict_with_cams(pixels, min(k, CAM_CLASSES),
                                                           batch_size=batch_size)
        seconds = time.perf_counter() - start
        for result, entry in zip(todo, zip(probabilities, cams)):
            found[id(result)] = entry
            if cache is not None:
                cache.put(cache_key(classifier, result.digest), entry)
    for result in results:
        if id(result) in found:
            row, cams = found[id(result)]
            result.top, result.cams = top_k(row, k), cams
    return results, seconds


def value_range(classifier, pixels):
    """(min, max) of the model input after scaling, to show the user."""
    scaled = classifier.spec.preprocess(pixels)
    return float(scaled.min()), float(scaled.max())


def describe_result(classifier, result):
    """One line under a photo: what the pipeline did, the scaled range, the top-1."""
    low, high = value_range(classifier, result.image.pixels[None])
    best = result.top[0]
    return (f"{'; '.join(result.image.notes) or 'nothing to convert'}. After scaling for "
            f"{classifier.spec.title}: values in [{low:.4f}, {high:.4f}] "
            f"({classifier.spec.value_range}). Top-1: {best['label']}, "
            f"{best['probability']:.1%} (ImageNet class {best['index']}).")


def describe_timing(results, seconds):
    """How the photos' top-5 were had: through the network (ms per image) or from the cache."""
    good = [result for result in results if result.top]
    computed = sum(not result.cached for result in good)
    timing = (f"{computed:,} through the network, {1000 * seconds / computed:,.0f} ms per "
              "image; " if computed else "")
    return (f"{len(good):,} photo(s): {timing}{len(good) - computed:,} already classified "
            "(same bytes, shared cache).")


def expand_paths(paths):
    """Files as given; folders → their image files (recursively). Missing paths are kept so
    they are reported as errors in order."""
    expanded = []
    for path in map(Path, paths):
        if path.is_dir():
            files = list_image_files(path)
            expanded.extend(files if files else [path])
        else:
            expanded.append(path)
    return expanded
