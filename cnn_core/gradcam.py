"""Grad-CAM (Selvaraju et al., 2017): where in the picture a class's score came from, and the
heatmap laid over the photo.

Interface for other modules:
    GradCam(model, feature_layer) — ``model``: any Keras model whose last layer is a softmax
        ``Dense`` or ``Activation`` (a classifier, or a backbone + new head); ``feature_layer``:
        the name of its last convolutional feature maps. Build once, call from any thread:
        ``cam = grad_cam_obj(inputs (1, h, w, 3) float32 already preprocessed, class_index)``
        → float32 (h', w') map in [0, 1].
    heatmap_overlay(pil_image, cam, opacity=0.45) → PIL RGB image
TensorFlow is imported inside the functions.
"""

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
