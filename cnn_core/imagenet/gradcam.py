"""Grad-CAM (Selvaraju et al., 2017): where in the picture a class's score came from, and the
heatmap laid over the photo.

For a network whose last feature maps reach the softmax only through global average pooling
and one Dense layer (Inception v3, ResNet-50), Grad-CAM *is* the class activation map (CAM,
Zhou et al., 2016; Selvaraju et al. §3.1): the logit is y_c = Σ_k W[k, c] · mean_ij A_k[i, j]
+ b_c, so every gradient ∂y_c/∂A_k[i, j] = W[k, c] / (h·w), each weight α_k = W[k, c] / (h·w),
and Grad-CAM = ReLU(Σ_k W[k, c] A_k) / (h·w) — the same map once scaled to [0, 1]. SqueezeNet's
1×1 conv10 + ReLU + pooling gives the same map too (see LinearHead). No backward pass is
needed: the forward pass that gives the top-5 can hand out the feature maps too.

Interface for other modules:
    linear_head(model, feature_layer) → LinearHead(kernel, bias, relu) if only global average
        pooling and one Dense (or a 1×1 convolution before the pooling) lie between the feature
        maps and the softmax (dropout aside), else None
    class_activation_maps(features (n, h, w, c), head, class_indices (n, k))
        → float32 (n, k, h, w) maps in [0, 1], equal to Grad-CAM's for such a head
    GradCam(model, feature_layer) — ``model``: any Keras model whose last layer is a softmax
        ``Dense`` or ``Activation`` (a classifier, or a backbone + new head); ``feature_layer``:
        the name of its last convolutional feature maps. Build once, call from any thread:
        ``cam = grad_cam_obj(inputs (1, h, w, 3) float32 already preprocessed, class_index)``
        → float32 (h', w') map in [0, 1].
    heatmap_overlay(pil_image, cam, opacity=0.45) → PIL RGB image
TensorFlow is imported inside the functions.
"""

from dataclasses import dataclass

import numpy as np


class GradCam:
    """Weights each feature map by the mean gradient of the class *logit* (before softmax) and
    keeps the positive sum: e.g. (8, 8) for Inception v3, (13, 13) for SqueezeNet."""

    def __init__(self, model, feature_layer):
        import keras
        import tensorflow as tf

        self.final = model.layers[-1]                # Dense(softmax) or Activation(softmax)
        if not isinstance(self.final, (keras.layers.Dense, keras.layers.Activation)):
            raise ValueError(f"Grad-CAM needs a softmax Dense or Activation last layer, not "
                             f"{type(self.final).__name__}")
        features = model.get_layer(feature_layer).output
        self.grad_model = keras.Model(model.inputs, [features, self.final.input])
        # Traced once: an eager GradientTape through a Keras model costs ~10× more CPU.
        signature = [tf.TensorSpec([1, *model.inputs[0].shape[1:]], tf.float32),
                     tf.TensorSpec([], tf.int32)]
        self.compute = tf.function(self.class_activation_map, input_signature=signature)

    def class_activation_map(self, inputs, class_index):
        import keras
        import tensorflow as tf

        with tf.GradientTape() as tape:
            feature_maps, penultimate = self.grad_model(inputs, training=False)
            if isinstance(self.final, keras.layers.Dense):
                logits = tf.matmul(penultimate, self.final.kernel) + self.final.bias
            else:
                logits = penultimate
            score = logits[:, class_index]
        gradients = tape.gradient(score, feature_maps)                 # (1, h, w, c)
        channel_weights = tf.reduce_mean(gradients, axis=(1, 2))       # (1, c)
        return tf.nn.relu(tf.reduce_sum(feature_maps * channel_weights[:, None, None, :], -1))[0]

    def __call__(self, inputs, class_index):
        cam = self.compute(np.asarray(inputs, np.float32), np.int32(class_index))
        cam = cam.numpy().astype(np.float32)
        return cam / cam.max() if cam.max() > 0 else cam


IDENTITIES_AT_INFERENCE = ("Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout",
                           "AlphaDropout")


@dataclass(frozen=True)
class LinearHead:
    """The class weights between the last feature maps and the softmax, where Grad-CAM is a
    product: ``kernel`` (channels, classes), ``bias`` (classes,), and ``relu``: a ReLU before
    the pooling (SqueezeNet's conv10). With it, ∂y_c/∂A_k[i, j] = W[k, c]·[z_c(i, j) > 0]/(h·w):
    the mask is the same for every channel k, so α_k is still W[k, c] times one positive
    number — the same map once scaled — unless no position has z_c > 0 (then all zero)."""

    kernel: np.ndarray
    bias: np.ndarray
    relu: bool


def _chain(model, feature_layer):
    """The layers after ``feature_layer`` up to the model's last, if they form a single chain
    (each fed by the one before), identities at inference left out; else None."""
    layer, chain = model.layers[-1], []
    while layer.name != feature_layer:
        if type(layer).__name__ not in IDENTITIES_AT_INFERENCE:
            chain.append(layer)
        nodes = layer._inbound_nodes
        parents = nodes[0].parent_nodes if len(nodes) == 1 else []
        if len(parents) != 1:
            return None
        layer = parents[0].operation
    return chain[::-1]


def linear_head(model, feature_layer):
    """A LinearHead if ``model`` goes from ``feature_layer`` to its softmax through global
    average pooling and one Dense layer (Inception v3, ResNet-50), or through a 1×1 convolution
    (linear or ReLU) and global average pooling (SqueezeNet); else None."""
    def softmax(layer):
        return getattr(getattr(layer, "activation", None), "__name__", "") == "softmax"

    chain = _chain(model, feature_layer) or []
    kinds = [type(layer).__name__ for layer in chain]
    if kinds == ["GlobalAveragePooling2D", "Dense"] and softmax(chain[1]) \
            and not chain[0].keepdims:
        dense = chain[1]
        bias = dense.bias if dense.use_bias else np.zeros(dense.units)
        return LinearHead(np.asarray(dense.kernel, np.float32), np.asarray(bias, np.float32),
                          relu=False)
    if kinds == ["Conv2D", "GlobalAveragePooling2D", "Activation"] and softmax(chain[2]):
        conv = chain[0]
        activation = getattr(conv.activation, "__name__", "")
        if (tuple(conv.kernel_size) == (1, 1) and tuple(conv.strides) == (1, 1)
                and conv.groups == 1 and activation in ("linear", "relu")
                and not chain[1].keepdims):
            bias = conv.bias if conv.use_bias else np.zeros(conv.filters)
            return LinearHead(np.asarray(conv.kernel, np.float32)[0, 0],
                              np.asarray(bias, np.float32), relu=activation == "relu")
    return None


def class_activation_maps(features, head, class_indices):
    """Grad-CAM of each image for each of its classes through a LinearHead:
    ReLU(Σ_k A_k · W[k, c]) scaled to [0, 1] (all zero if it is, or if the head's ReLU passes
    nothing of class c). features (n, h, w, channels); class_indices (n, k) → (n, k, h, w)."""
    features = np.asarray(features, np.float32)
    class_indices = np.asarray(class_indices)
    scores = np.einsum("nhwc,cnk->nkhw", features, head.kernel[:, class_indices])
    maps = np.maximum(scores, 0.0)
    peaks = maps.max(axis=(2, 3), keepdims=True)
    if head.relu:  # z_c = scores + b_c: no positive position → no gradient → all zero
        biases = head.bias[class_indices][:, :, None, None]
        peaks = np.where((scores + biases).max(axis=(2, 3), keepdims=True) > 0, peaks, 0.0)
    return np.divide(maps, peaks, out=np.zeros_like(maps), where=peaks > 0)


# Anchor colours of a "jet"-like colour map: dark blue (cold) → red (hot).
heat_anchors = np.array([0.0, 0.125, 0.375, 0.625, 0.875, 1.0])
heat_colours = np.array([[0, 0, 143], [0, 0, 255], [0, 255, 255], [255, 255, 0], [255, 0, 0],
                         [128, 0, 0]], dtype=np.float32)


def heatmap_overlay(image, cam, opacity=0.45):
    """The photo (PIL) with the Grad-CAM map, upsampled to its size, blended on top."""
    from PIL import Image

    heat = Image.fromarray(cam.astype(np.float32), mode="F").resize(image.size,
                                                                  Image.Resampling.BILINEAR)
    heat = np.clip(np.asarray(heat), 0.0, 1.0)
    colours = np.stack([np.interp(heat, heat_anchors, heat_colours[:, channel])
                        for channel in range(3)], axis=-1)
    blended = (1 - opacity) * np.asarray(image, np.float32) + opacity * colours
    return Image.fromarray(np.clip(np.rint(blended), 0, 255).astype(np.uint8))
