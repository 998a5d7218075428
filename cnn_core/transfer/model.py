"""Your classifier as one Keras model: preprocessing → frozen backbone → pooled features →
head, saved as one ``.keras`` file that plain Keras loads in safe mode, and read back safely.

    TransferModel(backbone_key, classes, preprocessing, conv_base, head)
        .model        keras.Model: RGB pixels 0–255, float32 (n, s, s, 3) → (n, classes)
        .predict(pixels) → float32 (n, classes) probabilities (the page's "Try it")
        .grad_cam(pixels (s, s, 3), class_index) → (h, w) map in [0, 1]
        .save(path)   the .keras file, with ``cnnlab_transfer.json`` (class names, backbone,
                      input size) added to its zip; Keras ignores the extra member
    load_transfer_model(source) → TransferModel, from a path or uploaded bytes; refuses
        anything that is not a CNN Lab export *before* Keras deserialises it (not a zip, no
        metadata, a layer outside Keras' built-ins, a Lambda or any ``module`` outside
        ``keras``), then loads it with ``safe_mode=True`` — no code in a file is ever run.

Reading the exported file elsewhere needs nothing from CNN Lab:

    model = keras.models.load_model("model.keras", safe_mode=True)
    probabilities = model.predict(rgb_pixels_0_255)      # (n, s, s, 3) → (n, classes)
    classes = json.loads(zipfile.ZipFile("model.keras").read("cnnlab_transfer.json"))["classes"]

TensorFlow is imported inside the functions.
"""

import io
import json
import os
import tempfile
import zipfile

import numpy as np

from cnn_core.errors import CNNLabError
from cnn_core.imagenet import model_spec

metadata_member = "cnnlab_transfer.json"
export_format = "cnnlab-transfer/1"
max_export_bytes = 200 * 10**6
# Keras layer classes an export may contain (the backbones' and the head's layers, nothing else).
allowed_classes = {
    "Functional", "Model", "Sequential", "InputLayer", "Dense", "Rescaling", "Conv2D",
    "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "Concatenate", "Dropout",
    "Activation", "BatchNormalization", "Normalization",
    # serialised objects inside layer configs
    "DTypePolicy", "FloatDTypePolicy", "GlorotUniform", "Zeros", "Ones", "RandomNormal",
    "RandomUniform", "HeNormal", "VarianceScaling", "TruncatedNormal", "Constant",
    "L2", "L1", "L1L2", "SeedGenerator", "__tensor__", "__keras_tensor__",
}


class TransferModel:
    """Preprocessing, the backbone's conv base and the head, as one model (shared weights)."""

    def __init__(self, backbone_key, classes, preprocessing, conv_base, head, model=None):
        import keras

        self.spec = model_spec(backbone_key)
        self.backbone_key, self.classes = backbone_key, list(classes)
        self.conv_base, self.head = conv_base, head
        side = self.spec.input_size
        if model is None:
            pixels = keras.Input((side, side, 3), name="pixels")            # RGB 0–255
            maps = conv_base(preprocessing(pixels))
            embedding = keras.layers.GlobalAveragePooling2D(name="embedding")(maps)
            model = keras.Model(pixels, head(embedding), name="cnnlab_transfer")
        self.model = model
        self.preprocessing = preprocessing
        self.cam = None

    @property
    def metadata(self):
        return {"format": export_format, "classes": self.classes, "backbone": self.backbone_key,
                "input_size": self.spec.input_size,
                "input": "RGB pixels 0–255, float32, (batch, size, size, 3); preprocessing "
                         "is inside the model",
                "feature_layer": self.spec.gradcam_layer}

    def predict(self, pixels):
        """uint8/float RGB (n, s, s, 3) → float32 (n, classes), the saved model's own forward."""
        return np.asarray(self.model(np.asarray(pixels, np.float32), training=False), np.float32)

    def grad_cam(self, pixels, class_index):
        """Where the head's ``class_index`` logit came from, on the backbone's last maps."""
        import keras

        from cnn_core.imagenet import GradCam

        if self.cam is None:
            # A flat graph (the feature layer must be reachable): the conv base's own graph,
            # then copies of the head's few layers with its weights.
            x = keras.layers.GlobalAveragePooling2D(name="embedding")(self.conv_base.output)
            for layer in self.head.layers:
                copy = layer.__class__.from_config(layer.get_config())
                x = copy(x)
                copy.set_weights(layer.get_weights())
            self.cam = GradCam(keras.Model(self.conv_base.inputs, x), self.spec.gradcam_layer)
        inputs = np.asarray(self.preprocessing(np.asarray(pixels, np.float32)[None]))
        return self.cam(inputs, class_index)

    def save(self, path):
        """Write the .keras file and add the metadata member to its zip."""
        self.model.save(str(path))
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr(metadata_member, json.dumps(self.metadata, indent=1))
        return path

    def to_bytes(self):
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "model.keras")
            self.save(path)
            with open(path, "rb") as file:
                return file.read()


def check_config(node, where="config.json"):
    """Walk a Keras config: every class must be a Keras built-in from the allowed list."""
    if isinstance(node, dict):
        module = node.get("module")
        if module is not None and not str(module).startswith("keras"):
            raise CNNLabError(f"the model refers to code outside Keras (module {module!r}); "
                              "it was not loaded.")
        name = node.get("class_name")
        if name is not None and module is not None and name not in allowed_classes:
            raise CNNLabError(f"the model contains a {name!r} layer, which a CNN Lab export "
                              "never has; it was not loaded.")
        if node.get("registered_name") not in (None, name) and module is not None:
            raise CNNLabError(f"the model uses a custom object "
                              f"({node.get('registered_name')!r}); it was not loaded.")
        for value in node.values():
            check_config(value, where)
    elif isinstance(node, list):
        for value in node:
            check_config(value, where)


def read_metadata(data, name):
    """CNN Lab's metadata from the zip, after checking the archive and its config."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise CNNLabError(f"{name}: is not a .keras file (not a zip archive).") from None
    if not {"config.json", "model.weights.h5"} <= members:
        raise CNNLabError(f"{name}: is not a Keras 3 model (.keras without config.json and "
                          "model.weights.h5).")
    if metadata_member not in members:
        raise CNNLabError(f"{name}: is a Keras model, but not one exported by CNN Lab's "
                          f"'Teach your own classes' (no {metadata_member}, so its classes "
                          "are unknown).")
    try:
        metadata = json.loads(archive.read(metadata_member))
        config = json.loads(archive.read("config.json"))
    except (ValueError, zipfile.BadZipFile, OSError, EOFError) as error:
        raise CNNLabError(f"{name}: its metadata cannot be read ({error}).") from None
    if not isinstance(metadata, dict) or metadata.get("format") != export_format:
        raise CNNLabError(f"{name}: unknown export format {metadata.get('format')!r} "
                          f"(expected {export_format}).")
    classes = metadata.get("classes")
    if (not isinstance(classes, list) or not 2 <= len(classes) <= 10
            or not all(isinstance(c, str) and c.strip() for c in classes)
            or len({c.casefold() for c in classes}) != len(classes)):
        raise CNNLabError(f"{name}: its class names are not 2–10 distinct names.")
    try:
        check_config(config)
    except CNNLabError as error:
        raise CNNLabError(f"{name}: {error}") from None
    model_spec(metadata.get("backbone"))             # a backbone CNN Lab knows
    return metadata


def load_transfer_model(source, name=None):
    """A TransferModel from a path or bytes (an upload's ``getvalue()``); see the docstring."""
    import keras

    if isinstance(source, (str, os.PathLike)):
        name = name or os.path.basename(source)
        with open(source, "rb") as file:
            data = file.read(max_export_bytes + 1)
    else:
        data = source
    name = name or "model.keras"
    if len(data) > max_export_bytes:
        raise CNNLabError(f"{name}: is larger than {max_export_bytes // 10**6} MB.")
    metadata = read_metadata(data, name)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.keras")
        with open(path, "wb") as file:
            file.write(data)
        try:
            model = keras.models.load_model(path, safe_mode=True, compile=False)
        except Exception as error:       # damaged weights, shape mismatch, refused by safe mode
            reason = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
            raise CNNLabError(f"{name}: Keras could not load it in safe mode ({reason}).") \
                from None
    spec = model_spec(metadata["backbone"])
    side, classes = spec.input_size, metadata["classes"]
    if (tuple(model.input_shape) != (None, side, side, 3)
            or tuple(model.output_shape) != (None, len(classes))):
        raise CNNLabError(f"{name}: takes {model.input_shape} and gives {model.output_shape}, "
                          f"not ({side}, {side}, 3) pixels → {len(classes)} classes.")
    try:
        preprocessing = model.get_layer("preprocessing")
        conv_base = model.get_layer(f"{spec.key}_features")
        head = model.get_layer("head")
    except ValueError as error:
        raise CNNLabError(f"{name}: is not laid out as a CNN Lab export ({error}).") from None
    return TransferModel(spec.key, classes, preprocessing, conv_base, head, model=model)
