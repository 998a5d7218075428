"""ImageNet classification of your photos: which models exist and their weights, the inference
runtime (OpenVINO, TensorFlow as the reference), Grad-CAM, the photo pipeline and its caches.

    models.py      the model registry: preprocessing, class names, weights, serving_model()
    squeezenet.py  SqueezeNet 1.1 in Keras (the bundled offline model)
    weights.py     weight downloads, on request only
    runtime.py     one compiled model per (model, runtime, precision) per process
    batching.py    dynamic batching: concurrent requests share a batch, a lone one never waits
    gradcam.py     Grad-CAM (from the forward pass for linear heads) and its overlay
    classify.py    photos → top-5, with the result, photo and overlay caches shared by sessions
    views.py       charts and the pictures' alternative texts
    __main__.py    the command line: ``python -m cnn_core.classify`` (or ``… cnn_core.imagenet``)

The transfer page uses this runtime through the names below.
"""

from cnn_core.imagenet.classify import (
    Classification,
    PreparedPhoto,
    ResultCache,
    classify_sources,
    describe_result,
    describe_timing,
    expand_paths,
    heatmap_picture,
    stage_pictures,
    value_range,
)
from cnn_core.imagenet.gradcam import GradCam, heatmap_overlay
from cnn_core.imagenet.models import (
    ModelSpec,
    Serving,
    class_names,
    imagenet_means_bgr,
    model_spec,
    resolve_weights,
    serving_model,
    top_k,
)
from cnn_core.imagenet.runtime import (
    Classifier,
    compile_model,
    freeze_long_lived_objects,
    load_classifier,
    load_keras_model,
    precisions,
    runtimes,
)
from cnn_core.imagenet.views import (grad_cam_alt, stage_alts, strongest_region, top_k_alt,
                                     top_k_chart)

__all__ = ["Classification", "PreparedPhoto", "ResultCache", "classify_sources",
           "describe_result", "describe_timing", "expand_paths", "heatmap_picture",
           "stage_pictures", "value_range", "GradCam", "heatmap_overlay", "ModelSpec", "Serving",
           "class_names", "imagenet_means_bgr", "model_spec", "resolve_weights", "serving_model",
           "top_k", "Classifier", "compile_model", "freeze_long_lived_objects", "load_classifier",
           "load_keras_model", "precisions", "runtimes", "top_k_chart", "top_k_alt",
           "strongest_region", "grad_cam_alt", "stage_alts"]
