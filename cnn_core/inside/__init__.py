"""Inside a CNN: every layer's feature maps from one forward pass, the kernels, one
convolution step by step and occlusion sensitivity — on the session's own model and input.

    sources.py       which model (the shipped small MNIST CNN, a session's MNIST run, the
                     Classify page's ImageNet model, a transfer model), with its own
                     preprocessing; built once per process, shared; the caches
    inputs.py        which input: a digit or a photo through the model's own pipeline
    activations.py   one multi-output model per model: every layer's output from one pass
    maps.py          feature maps → small pictures (≤ 128 px a map), the byte-bounded cache
    kernels.py       the first convolution's kernels as pictures, a deeper filter's weights
    convolution.py   one output value of a convolution, step by step
    occlusion.py     occlusion sensitivity (Zeiler & Fergus 2014), batched and cached
    maximisation.py  the input a class or filter of a digit model answers most (gradient ascent)
    projection.py    the penultimate layer's PCA for test digits, mistakes marked
    views.py         alternative texts and the lines the page prints

No Streamlit here; TensorFlow is imported only when a model is built (not by this package).
"""

from cnn_core.inside.activations import Activations, LayerInfo, layer_shapes
from cnn_core.inside.convolution import ConvolutionStep, convolution_step
from cnn_core.inside.kernels import filter_weights, first_convolution, kernel_mosaic
from cnn_core.inside.maps import (MAX_SIDE, LayerMaps, PictureCache, channel_picture,
                                  layer_maps, mosaic, overview_picture)
from cnn_core.inside.maximisation import Maximised, maximise
from cnn_core.inside.occlusion import (Occlusion, forward_passes, occlusion_map,
                                       occlusion_picture, occlusion_positions)
from cnn_core.inside.projection import (Projection, penultimate_pca, projection_alt,
                                        projection_chart)
from cnn_core.inside.inputs import InsideInput, digit_input, photo_input
from cnn_core.inside.sources import (PROJECTED_DIGITS, InsideModel, digit_model, imagenet_model,
                                     model_choices, shipped_card, shipped_digit_model,
                                     transfer_inside_model)
from cnn_core.inside.views import (convolution_rows, kernels_alt, maps_alt, occlusion_alt,
                                   overview_alt, step_sentence)

__all__ = [
    "Activations", "LayerInfo", "layer_shapes", "ConvolutionStep", "convolution_step",
    "filter_weights", "first_convolution", "kernel_mosaic", "MAX_SIDE", "LayerMaps",
    "PictureCache", "channel_picture", "layer_maps", "mosaic", "overview_picture", "Maximised",
    "maximise", "Occlusion", "forward_passes", "occlusion_map", "occlusion_picture",
    "occlusion_positions", "Projection", "penultimate_pca", "projection_alt",
    "projection_chart", "PROJECTED_DIGITS", "InsideInput", "InsideModel", "digit_input",
    "digit_model", "imagenet_model", "model_choices", "photo_input", "shipped_card",
    "shipped_digit_model", "transfer_inside_model", "convolution_rows", "kernels_alt",
    "maps_alt", "occlusion_alt", "overview_alt", "step_sentence",
]
