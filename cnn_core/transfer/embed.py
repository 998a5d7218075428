"""The frozen backbone of transfer learning: ImageNet CNN → one embedding per photo, cached.

The embedding is the global average of the backbone's last feature maps, the vector its
ImageNet classifier reads: for Inception v3 GAP(mixed10) = its ``avg_pool`` layer, 2,048
numbers; for SqueezeNet v1.1 GAP(fire9_concat), 512 numbers (its classifier, conv10, is a
1×1 convolution, so it reads the maps before pooling; the average is the same summary).

The preprocessing is part of the Keras model, built from standard serialisable layers only,
so an exported model takes RGB pixels 0–255 as they are:
    Inception v3   Rescaling(1/127.5, offset=−1)                     → [−1, 1]
    Caffe models   Dense(3) with a fixed permutation kernel and bias  → BGR − ImageNet means
                   (SqueezeNet, ResNet-50; exact: one 1.0 per output, the rest 0.0)

Interface for other modules:
    backbone_choice(requested="auto") → Serving(key, weights, note): Inception v3 if its
        weights are here, else the bundled SqueezeNet (the Classify page's rule)
    Backbone(key, weights)   built once per process, shared by all sessions, thread-safe:
        .spec, .features (512 or 2048), .input_size
        .conv_base   keras.Model: preprocessed image → last feature maps (h, w, features)
        .preprocessing()  a new preprocessing layer (0–255 RGB → the backbone's range)
        .embed(pixels uint8 (n, s, s, 3), keys) → float32 (n, features), cached by key
            (the image digest; ``cnn_core.transfer.data.pixels_digest``)
Computed through the shared inference runtime (``cnn_core.imagenet.compile_model``: OpenVINO
by default, TensorFlow as the reference). TensorFlow is imported inside the functions.
"""


import numpy as np

from cnn_core.imagenet import ResultCache, imagenet_means_bgr, model_spec, serving_model

max_cached_embeddings = 8192      # per backbone: ≤ 64 MB at 2,048 float32 features
embed_batch = 16


def backbone_choice(requested="auto", configured=None):
    """Which backbone serves: see ``cnn_core.imagenet.models.serving_model``."""
    return serving_model(requested, configured)


def preprocessing_layer(spec, name="preprocessing"):
    """A new Keras layer mapping RGB 0–255 to ``spec``'s input range; see the docstring."""
    import keras

    if spec.key == "inception_v3":
        return keras.layers.Rescaling(1 / 127.5, offset=-1.0, name=name)
    layer = keras.layers.Dense(3, trainable=False, name=name)        # Caffe: RGB→BGR − means
    layer.build((None, None, None, 3))
    layer.set_weights([np.eye(3, dtype=np.float32)[::-1].copy(), -imagenet_means_bgr])
    return layer


class Backbone:
    """A frozen ImageNet CNN cut at its pooled features, compiled once, shared by sessions."""

    def __init__(self, key, weights, runtime="openvino"):
        import keras

        from cnn_core.imagenet import compile_model, load_keras_model

        self.spec = model_spec(key)
        self.key, self.weights, self.input_size = key, str(weights), self.spec.input_size
        model = load_keras_model(self.spec, weights)
        # image (preprocessed) → last feature maps, e.g. (13, 13, 512) for SqueezeNet
        self.conv_base = keras.Model(model.inputs, model.get_layer(self.spec.gradcam_layer).output,
                                     name=f"{key}_features")
        self.conv_base.trainable = False
        self.features = int(self.conv_base.output.shape[-1])
        side = self.input_size
        pixels = keras.Input((side, side, 3), name="pixels")            # RGB 0–255
        maps = self.conv_base(self.preprocessing()(pixels))
        embedding = keras.layers.GlobalAveragePooling2D(name="embedding")(maps)
        self.embedding_model = keras.Model(pixels, embedding, name=f"{key}_embedding")
        self.forward = compile_model(self.embedding_model, runtime)
        self.cache = ResultCache(max_entries=max_cached_embeddings)

    def preprocessing(self):
        return preprocessing_layer(self.spec)

    def cached(self, keys):
        """(len(keys), features) float32 if every key is cached, else None."""
        rows = [self.cache.get((self.key, key)) for key in keys]
        if not rows or any(row is None for row in rows):
            return None
        return np.stack(rows)

    def embed(self, pixels, keys=None):
        """uint8 RGB (n, s, s, 3) → float32 (n, features); rows whose key is cached are not
        recomputed. ``keys``: one per image (its digest), or None to skip the cache."""
        pixels = np.asarray(pixels)
        rows = [self.cache.get((self.key, key)) if keys else None for key in (keys or pixels)]
        missing = [i for i, row in enumerate(rows) if row is None]
        for begin in range(0, len(missing), embed_batch):
            chunk = missing[begin:begin + embed_batch]
            for i, vector in zip(chunk, self.forward(pixels[chunk].astype(np.float32))):
                rows[i] = vector
                if keys:
                    self.cache.put((self.key, keys[i]), vector)
        if not rows:
            return np.zeros((0, self.features), np.float32)
        return np.stack(rows).astype(np.float32, copy=False)
