"""Your own classes and their images, collected for transfer learning ("Teach your own classes").

    TeachingSet              the classes (2–10, named by you) and their images, in order
      .add_class(name)       a new empty class (name checked: not empty, not a duplicate)
      .add_images(class, sources, embed)   photos → prepared, embedded, kept (bad files reported)
      .remove_image(class, digest), .remove_class(name), .counts()
      .check_trainable()     CNNLabError unless ≥ 2 classes, each with ≥ 2 images
      .arrays()              (embeddings (n, features) float32, labels (n,) int, examples)
    read_class_folders(root) {class: [image paths]} in Keras' ``image_dataset_from_directory``
                             layout (one subfolder per class, sorted by name)

What is kept per image is bounded: a 96-px JPEG thumbnail, the backbone-sized crop as a JPEG
(for augmentation and Grad-CAM; ~15–30 kB), and the embedding (512 or 2048 float32). At most
``max_images_per_class`` images per class and ``max_classes`` classes: at Inception v3's size
that is ≲ 20 MB per session, never the full-size uploads.

``embed`` is any callable: uint8 RGB (n, s, s, 3) + digests → float32 (n, features) — the
shared, cached backbone of ``cnn_core.transfer.embed`` on the page, a stub in tests. No
TensorFlow import here.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from cnn_core.errors import CNNLabError
from cnn_core.imaging import jpeg_bytes, list_image_files, prepare_image
from cnn_core.paths import DATA_DIR

min_classes = 2
max_classes = 10
max_images_per_class = 60
min_images_per_class = 2        # one to learn from, one to check it on
max_name_length = 40
thumbnail_side = 96             # pixels, longest side
crop_jpeg_quality = 92
embed_batch = 16               # photos decoded and embedded at a time


def pixels_digest(pixels):
    """SHA-1 of the backbone-sized uint8 pixels: the key of the shared embedding cache."""
    return hashlib.sha1(np.ascontiguousarray(pixels, dtype=np.uint8).tobytes()).hexdigest()


@dataclass
class Example:
    """One image of a class: name, digest, small JPEGs and the backbone's embedding."""

    name: str
    digest: str                  # SHA-1 of the prepared (s, s, 3) pixels
    thumbnail: bytes             # JPEG, longest side ``thumbnail_side``
    crop: bytes                  # JPEG of the centre crop at the backbone's input size
    embedding: np.ndarray        # (features,) float32

    @property
    def pixels(self):
        """(s, s, 3) uint8 RGB, decoded from the stored crop (JPEG: close to, not exactly,
        the pixels the embedding came from)."""
        return np.asarray(Image.open(io.BytesIO(self.crop)).convert("RGB"), dtype=np.uint8)


def make_examples(prepared, embed):
    """[(PreparedImage, digest)] → [Example], embedded in one batch."""
    embeddings = embed(np.stack([image.pixels for image, _ in prepared]),
                       [digest for _, digest in prepared])
    examples = []
    for (image, digest), embedding in zip(prepared, embeddings):
        thumbnail = image.crop.copy()
        thumbnail.thumbnail((thumbnail_side, thumbnail_side))
        examples.append(Example(image.name, digest, jpeg_bytes(thumbnail, 85),
                                jpeg_bytes(image.resized, crop_jpeg_quality),
                                np.asarray(embedding, np.float32)))
    return examples


def check_class_name(name, existing=()):
    """The stripped name, or CNNLabError (empty, too long, duplicate ignoring case)."""
    stripped = str(name).strip()
    if not stripped:
        raise CNNLabError("A class needs a name (it is empty).")
    if len(stripped) > max_name_length:
        raise CNNLabError(f"Class name {stripped[:max_name_length]}… is longer than "
                          f"{max_name_length} characters.")
    if stripped.casefold() in {other.casefold() for other in existing}:
        raise CNNLabError(f"There is already a class called {stripped!r}; class names must "
                          "differ (ignoring upper/lower case).")
    return stripped


@dataclass
class TeachingSet:
    """The user's classes, in the order they were made (that order is the model's output)."""

    backbone: str                                   # key of the backbone the embeddings are from
    input_size: int                                 # its input side, pixels
    classes: dict = field(default_factory=dict)     # class name → [Example]
    # Two script runs of one session can overlap (a rerun while photos are being embedded):
    # images are checked and appended under this lock, so a photo is never added twice.
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def class_names(self):
        return list(self.classes)

    def counts(self):
        return {name: len(examples) for name, examples in self.classes.items()}

    def add_class(self, name):
        if len(self.classes) >= max_classes:
            raise CNNLabError(f"At most {max_classes} classes; remove one to add {name!r}.")
        name = check_class_name(name, self.classes)
        self.classes[name] = []
        return name

    def remove_class(self, name):
        with self.lock:
            self.classes.pop(name, None)

    def remove_image(self, name, digest):
        with self.lock:
            if name in self.classes:
                self.classes[name] = [e for e in self.classes[name] if e.digest != digest]

    def add_images(self, class_name, sources, embed, names=None):
        """Prepare, embed and keep ``sources`` (paths, bytes or uploads) in ``class_name``.

        Returns the messages for what was not added (not an image, a duplicate, over the cap);
        the good images are added whatever the others are, and nothing already there is lost.
        """
        if class_name not in self.classes:
            raise CNNLabError(f"There is no class called {class_name!r}; add it first.")
        examples, problems = self.classes[class_name], []
        known = {e.digest for e in examples}
        names = names or [getattr(source, "name", None) for source in sources]
        for start in range(0, len(sources), embed_batch):    # bounded: 16 decoded photos at once
            prepared = []
            for source, name in zip(sources[start:start + embed_batch],
                                    names[start:start + embed_batch]):
                try:
                    image = prepare_image(source, self.input_size, name=name)
                except CNNLabError as error:
                    problems.append(str(error))
                    continue
                digest = pixels_digest(image.pixels)
                if digest in known:
                    problems.append(f"{image.name}: is already in {class_name!r}; skipped.")
                elif len(examples) + len(prepared) >= max_images_per_class:
                    problems.append(f"{image.name}: {class_name!r} already has the maximum of "
                                    f"{max_images_per_class} images; skipped.")
                else:
                    known.add(digest)
                    prepared.append((image, digest))
            if prepared:
                problems += self.append(class_name, make_examples(prepared, embed))
        return problems

    def append(self, class_name, new):
        """Append ``new`` examples under the lock, re-checking duplicates and the cap."""
        problems = []
        with self.lock:
            examples = self.classes.get(class_name)
            if examples is None:
                return [f"{class_name!r} was removed meanwhile; its new photos were dropped."]
            known = {e.digest for e in examples}
            for example in new:
                if example.digest in known:
                    continue                    # added by an overlapping run: already there
                if len(examples) >= max_images_per_class:
                    problems.append(f"{example.name}: {class_name!r} already has the maximum "
                                    f"of {max_images_per_class} images; skipped.")
                    continue
                known.add(example.digest)
                examples.append(example)
        return problems

    def check_trainable(self):
        """CNNLabError naming what is missing before a head can be trained."""
        if len(self.classes) < min_classes:
            raise CNNLabError(f"Training needs at least {min_classes} classes; there "
                              f"{'is' if len(self.classes) == 1 else 'are'} "
                              f"{len(self.classes)}.")
        empty = [name for name, examples in self.classes.items() if not examples]
        if empty:
            raise CNNLabError(f"Class{'es' if len(empty) > 1 else ''} "
                              f"{', '.join(map(repr, empty))} "
                              f"{'have' if len(empty) > 1 else 'has'} no images yet.")
        few = [name for name, examples in self.classes.items()
               if len(examples) < min_images_per_class]
        if few:
            raise CNNLabError(f"Each class needs at least {min_images_per_class} images (one to "
                              f"learn from, one to check on); add more to "
                              f"{', '.join(map(repr, few))}.")

    def arrays(self):
        """(embeddings (n, features) float32, labels (n,) int64, examples), class by class."""
        examples = [e for items in self.classes.values() for e in items]
        labels = np.array([index for index, items in enumerate(self.classes.values())
                           for _ in items], dtype=np.int64)
        if not examples:
            return np.zeros((0, 0), np.float32), labels, examples
        return np.stack([e.embedding for e in examples]), labels, examples


def read_class_folders(root, label=None):
    """{class name: [image paths]} from ``root/<class>/…`` (sorted, as Keras'
    ``image_dataset_from_directory`` orders them); CNNLabError if that is not the layout.
    ``label``: how messages name the folder (the page: what the user typed, not the server's
    path); default the path itself (the command line's user gave it)."""
    root = Path(root).expanduser()
    label = label or str(root)
    if not root.is_dir():
        raise CNNLabError(f"{label} is not a folder.")
    folders = sorted(path for path in root.iterdir()
                     if path.is_dir() and not path.name.startswith("."))
    if len(folders) < min_classes:
        raise CNNLabError(f"{label} needs one subfolder per class (at least {min_classes}); "
                          f"it has {len(folders)}.")
    if len(folders) > max_classes:
        raise CNNLabError(f"{label} has {len(folders)} subfolders; at most {max_classes} "
                          "classes are supported.")
    return {folder.name: list_image_files(folder) for folder in folders}


def folders_root():
    """Where the page may read class folders: ``$CNNLAB_TRANSFER_FOLDERS``, else ``data/``;
    None when the operator set it to ``off`` (the page then takes uploads only)."""
    configured = os.environ.get("CNNLAB_TRANSFER_FOLDERS", "").strip()
    if configured.lower() == "off":
        return None
    return Path(configured) if configured else DATA_DIR


def server_folder(path, allowed_root):
    """``path`` resolved, if it lies inside ``allowed_root`` (a class shares one server: the
    page reads folders only under the root its operator chose), else CNNLabError."""
    root = Path(allowed_root).expanduser().resolve()
    folder = (root / Path(str(path).strip()).expanduser()).resolve()
    if not folder.is_relative_to(root):
        raise CNNLabError(f"{path}: only folders inside the server's teaching folder can be "
                          "read.", server_detail=f"the teaching folder is {root}")
    return folder


def load_class_folders(root, backbone, input_size, embed, label=None):
    """A TeachingSet from a folder layout, and the messages for files that were skipped
    (``label`` as in ``read_class_folders``)."""
    teaching = TeachingSet(backbone, input_size)
    problems = []
    for name, paths in read_class_folders(root, label).items():
        teaching.add_class(name)
        problems += teaching.add_images(name, [str(path) for path in paths], embed,
                                        names=[f"{name}/{path.name}" for path in paths])
    return teaching, problems
