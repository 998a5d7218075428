"""The figures the Theory page's text quotes as ``{{name}}``, each computed by the calculator
or by the demos, so the text never states a number the code could contradict.
No TensorFlow, no Streamlit.
"""

from __future__ import annotations

from cnn_core.theory import architectures as arch
from cnn_core.calculator import MB, NetworkReport, analyze, format_bytes
from cnn_core.networks import preset
from cnn_core.theory.demos import (
    ALEXNET_LRN, dense_vs_conv, tf_lrn_arguments, torch_lrn_arguments,
)

# Xception's middle flow: 3×3 separable convolutions on 19×19×728 maps (Chollet 2017, Fig. 5)
XCEPTION_MIDDLE_FLOW = (19, 19, 728)


def geron_rounded_training_mb(report: NetworkReport, batch_size: int) -> float:
    """The training figure as Géron's printed answer reaches it: each layer's megabytes per
    image and the parameters' megabytes rounded to one decimal first (1.52 MB → 1.5 MB),
    then multiplied by the batch size and added to the inputs."""
    per_image = sum(round(report.layer_activation_bytes(l) / MB, 1) for l in report.layers)
    inputs = batch_size * report.input_bytes / MB
    return round(batch_size * per_image + inputs + round(report.param_bytes / MB, 1), 1)


def _exercise2() -> dict[str, str]:
    report = analyze(*preset("exercise2"), "float32")
    train50 = report.training_breakdown(50)
    out = {
        "exercise2.total_params": f"{report.total_params:,}",
        "exercise2.inference_bytes": f"{report.inference_bytes:,}",
        "exercise2.inference_size": format_bytes(report.inference_bytes),
        "exercise2.param_bytes": f"{report.param_bytes:,}",
        "exercise2.param_mb": f"{report.param_bytes / MB:,.2f}",
        "exercise2.param_mb_rounded": f"{round(report.param_bytes / MB, 1):,.1f}",
        "exercise2.training_bytes_50": f"{train50['bare_minimum']:,}",
        "exercise2.training_size_50": format_bytes(train50["bare_minimum"]),
        "exercise2.training_mb_50": f"{train50['bare_minimum'] / MB:,.1f}",
        "exercise2.geron_mb_50": f"{geron_rounded_training_mb(report, 50):,.1f}",
        "exercise2.activations_50": f"{train50['activations']:,}",
        "exercise2.inputs_50": f"{train50['inputs']:,}",
        "exercise2.peak_pair_bytes": f"{report.inference_peak[0]:,}",
    }
    for layer in report.layers:
        key = f"exercise2.layer{layer.index + 1}"
        out[f"{key}.params"] = f"{layer.params:,}"
        out[f"{key}.params_working"] = layer.params_working
        out[f"{key}.output_shape"] = "×".join(map(str, layer.output_shape))
        out[f"{key}.activation_bytes"] = f"{report.layer_activation_bytes(layer):,}"
        mb = report.layer_activation_bytes(layer) / MB
        out[f"{key}.activation_mb"] = f"{mb:,.2f}"
        out[f"{key}.activation_mb_rounded"] = f"{round(mb, 1):,.1f}"
    return out


def _question1() -> dict[str, str]:
    r = dense_vs_conv(28, 28, 1, filters=32, kernel_size=3)
    per_position = r["conv_params"] // 32  # one filter's weights and bias
    return {
        "q1.outputs": f"{r['outputs']:,}",
        "q1.conv_params": f"{r['conv_params']:,}",
        "q1.dense_params": f"{r['dense_params']:,}",
        "q1.ratio": f"{r['dense_params'] / r['conv_params']:,.0f}",
        "q1.conv_macs": f"{r['conv_macs']:,}",
        "q1.dense_macs": f"{r['dense_macs']:,}",
        "q1.macs_ratio": f"{r['dense_macs'] / r['conv_macs']:,.0f}",
        # a locally connected layer: the same connections, weights not shared between positions
        "q1.local_params": f"{r['outputs'] * per_position:,}",
    }


def _question6() -> dict[str, str]:
    out = {"lenet5.paper_params": f"{sum(arch.lenet5_paper_params().values()):,}"}
    for name in ("lenet5", "alexnet"):
        out[f"{name}.total_params"] = f"{analyze(*preset(name)).total_params:,}"
    out["alexnet.two_gpu_params"] = f"{analyze(*arch.alexnet_two_gpu()).total_params:,}"
    for side in (224, 227):
        h, w, _ = arch.alexnet_first_conv(side).layers[0].output_shape
        out[f"alexnet.conv1_{side}"] = f"{h}×{w}"
    c = 256
    out["senet.block_channels"] = f"{c:,}"
    out["senet.block_params"] = f"{arch.se_block(c).total_params:,}"
    out["senet.block_working"] = "; ".join(l.params_working for l in arch.se_block(c).layers[1:])
    out["senet.se_resnet50_extra"] = f"{arch.se_resnet50_extra_params():,}"
    x = arch.separable_vs_normal(*XCEPTION_MIDDLE_FLOW, filters=728, kernel_size=3)
    out["xception.shape"] = "×".join(map(str, XCEPTION_MIDDLE_FLOW))
    out["xception.normal_params"] = f"{x['normal_params']:,}"
    out["xception.separable_params"] = f"{x['separable_params']:,}"
    out["xception.ratio"] = f"{x['normal_params'] / x['separable_params']:,.1f}"
    out["xception.macs_ratio"] = f"{x['normal_macs'] / x['separable_macs']:,.1f}"
    return out


def facts() -> dict[str, str]:
    """The computed figures the content files refer to as {{name}}."""
    out = {**_exercise2(), **_question1(), **_question6()}
    out["lrn.depth_radius"] = str(tf_lrn_arguments(**ALEXNET_LRN)["depth_radius"])
    out["lrn.torch_alpha"] = f"{torch_lrn_arguments(**ALEXNET_LRN)['alpha']:g}"
    out["lrn.caffe_effective_alpha"] = f"{ALEXNET_LRN['alpha'] / ALEXNET_LRN['n']:g}"
    return out
