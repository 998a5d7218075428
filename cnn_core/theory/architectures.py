"""Question 6's computed figures: LeNet-5 as its paper counts it, AlexNet's input size and
two-GPU layout, a squeeze-and-excitation block, and a depthwise separable convolution — each
sized by the architecture calculator (no TensorFlow, no Streamlit; tests compare with Keras).
"""

from __future__ import annotations

import dataclasses

from cnn_core.calculator import NetworkReport, analyze
from cnn_core.networks import Conv2D, Dense, DepthwiseConv2D, GlobalAveragePooling2D, Layer, preset

# -- LeNet-5 and AlexNet -----------------------------------------------------------------------


def lenet5_paper_params() -> dict[str, int]:
    """LeNet-5's trainable parameters per layer as LeCun et al. (1998, section II.B) count them:
    subsampling layers have one coefficient and one bias per map, C3 connects each of its 16 maps
    to only some of S2's 6 maps (6 maps see 3, 9 see 4, 1 sees all 6), and the RBF output
    layer's weights are fixed by hand."""
    c3_inputs = 6 * 3 + 9 * 4 + 1 * 6  # input maps summed over C3's 16 maps
    return {
        "C1": (5 * 5 * 1 + 1) * 6,
        "S2": 2 * 6,
        "C3": 5 * 5 * c3_inputs + 16,
        "S4": 2 * 16,
        "C5": (5 * 5 * 16 + 1) * 120,
        "F6": (120 + 1) * 84,
    }


def alexnet_two_gpu():
    """The 'alexnet' preset as laid out on the paper's two GPUs: conv 2, 4 and 5 see only the
    maps on their own GPU (two groups); conv 3 and the dense layers see both halves."""
    shape, layers = preset("alexnet")
    convs = [i for i, layer in enumerate(layers) if isinstance(layer, Conv2D)]
    for i in (convs[1], convs[3], convs[4]):
        layers[i] = dataclasses.replace(layers[i], groups=2)
    return shape, layers


def alexnet_first_conv(side: int) -> NetworkReport:
    """AlexNet's first layer (96 kernels 11×11, stride 4, no padding) on a side×side RGB image.
    The paper says 224×224 in and 55×55 out; only 227 gives 55 exactly."""
    return analyze((side, side, 3), [Conv2D(96, 11, strides=4, padding="valid")])


# -- SENet: the squeeze-and-excitation block ---------------------------------------------------

SE_REDUCTION = 16  # r, the reduction ratio of Hu et al. (2018)
# ResNet-50's stages: (output channels of a bottleneck block, number of blocks), He et al. (2016),
# Table 1; SE-ResNet-50 adds one SE block to each of these 16 blocks.
RESNET50_STAGES = ((256, 3), (512, 4), (1024, 6), (2048, 3))


def se_block_layers(channels: int, reduction: int = SE_REDUCTION) -> list[Layer]:
    """The layers with weights of an SE block on C channels: squeeze (global average pooling,
    one number per channel), excitation (C → C/r with ReLU, C/r → C with a sigmoid). The block's
    output multiplies each feature map by its weight; that product has no parameters."""
    return [
        GlobalAveragePooling2D(),  # (C,)
        Dense(channels // reduction, activation="relu"),  # (C/r,)
        Dense(channels, activation="sigmoid"),  # (C,) one weight in (0, 1) per channel
    ]


def se_block(channels: int, reduction: int = SE_REDUCTION, size: int = 7) -> NetworkReport:
    """An SE block on a size×size×C feature map (the size does not change its parameters)."""
    return analyze((size, size, channels), se_block_layers(channels, reduction))


def se_resnet50_extra_params(reduction: int = SE_REDUCTION) -> int:
    """Parameters the SE blocks add to ResNet-50: one block per bottleneck block."""
    return sum(blocks * se_block(c, reduction).total_params for c, blocks in RESNET50_STAGES)


# -- Xception: depthwise separable convolutions ------------------------------------------------


def separable_conv_layers(filters: int, kernel_size: int) -> list[Layer]:
    """A depthwise separable convolution as Keras' SeparableConv2D holds it: a depthwise k×k
    convolution without bias (each channel filtered on its own), then a 1×1 pointwise
    convolution with bias (the channels mixed)."""
    return [DepthwiseConv2D(kernel_size, padding="same", use_bias=False),
            Conv2D(filters, 1)]


def separable_vs_normal(height: int, width: int, channels: int, filters: int,
                        kernel_size: int) -> dict:
    """A 'same' k×k convolution and its depthwise separable counterpart, by the calculator."""
    shape = (height, width, channels)
    normal = analyze(shape, [Conv2D(filters, kernel_size, padding="same")])
    separable = analyze(shape, separable_conv_layers(filters, kernel_size))
    depthwise, pointwise = separable.layers
    return {
        "output_shape": normal.layers[0].output_shape,
        "normal_params": normal.total_params,
        "normal_working": normal.layers[0].params_working,
        "normal_macs": normal.macs,
        "separable_params": separable.total_params,
        "separable_working": f"depthwise {depthwise.params_working}; "
                             f"pointwise {pointwise.params_working}",
        "separable_macs": separable.macs,
    }
