"""Inside a CNN: a model (your MNIST run, the shipped small CNN, the Classify model, your
transfer model) and an input → every layer's feature maps, the kernels, one convolution step
by step, occlusion next to Grad-CAM. Logic: cnn_core.inside. Other pages open this one with
``st.session_state`` "inside_model" (and "inside_photo" = (name, pixels)) set."""

import streamlit as st

from cnn_core import inside
from cnn_core.errors import CNNLabError
from cnn_core.imagenet import grad_cam_alt, heatmap_overlay
from cnn_core.imaging import list_image_files
from cnn_core.inside import views
from cnn_core.paths import DATA_DIR

state = st.session_state
FULL = 12                       # networks with more layers get the overview and a picker
SCALES = {"channel": "per channel", "shared": "shared by the layer"}


def digit_input_ui(runs):
    from cnn_core.mnist import load_mnist

    x_test, y_test = load_mnist()[1]
    run = dict(runs).get(int(state["inside_model"][3:])) if state["inside_model"][:3] == "run" \
        else None
    wrong = run.result.evaluation.misclassified(24) if run and run.result.evaluation else []
    kind = st.radio("Input", ["A test digit", "Draw", "Upload a photo of a digit"]
                    + ["One of the run's mistakes"] * bool(wrong), horizontal=True,
                    key="inside_digit_kind")
    if kind == "Draw":
        from streamlit_drawable_canvas import st_canvas

        st.caption("Draw a digit, white on black, large and centred.")
        canvas = st_canvas(stroke_width=18, stroke_color="#FFFFFF", background_color="#000000",
                           height=280, width=280, return_image_data=True, key="inside_canvas")
        drawn = canvas.image_data if canvas is not None else None
        return inside.digit_input(drawn, "your drawing") if drawn is not None and \
            drawn[..., :3].any() else None
    if kind == "Upload a photo of a digit":
        photo = st.file_uploader("A photo of one digit", type=["png", "jpg", "jpeg", "webp"])
        return inside.digit_input(photo.getvalue(), photo.name) if photo else None
    if wrong and kind == "One of the run's mistakes":
        index = st.selectbox("Mistake (true → read as)", wrong, key="inside_wrong",
                             format_func=lambda w: f"test image {w['index']:,}: {w['true']} → "
                                                   f"{w['predicted']}")["index"]
    else:
        index = int(st.number_input(f"Test image number (0 to {len(x_test) - 1:,})", 0,
                                    len(x_test) - 1, 0, key="inside_test"))
    return inside.digit_input(x_test[index], f"test image {index:,}", str(y_test[index]),
                              as_is=True)


def photo_input_ui(model):
    given = state.get("inside_photo")
    kind = st.radio("Input", ["The photo from Classify"] * bool(given) + ["Sample photo",
                    "Upload"], horizontal=True, key="inside_photo_kind")
    if kind == "Upload":
        photo = st.file_uploader("A photo", type=["png", "jpg", "jpeg", "webp"])
        return inside.photo_input(photo, model.input_size) if photo else None
    if kind == "Sample photo":
        samples = {path.name: path for path in list_image_files(DATA_DIR / "samples")}
        return inside.photo_input(samples[st.selectbox("Sample", list(samples))],
                                  model.input_size)
    return inside.photo_input(given[1], model.input_size, given[0])


def layer_ui(maps, number, scale):
    st.markdown(f"**{number}. {maps.name}** · {maps.kind} · output "
                f"{views.shape_text(maps.output_shape)}")
    start = st.selectbox("Channels", range(0, maps.channels, 64), key="inside_start",
                         format_func=lambda s: f"{s + 1}–{min(s + 64, maps.channels)}") \
        if maps.channels > 64 else 0
    st.image(inside.mosaic(maps, scale, start),
             alt=views.maps_alt(maps, inp.name, scale, start, 64))


def maps_ui(look, layers):
    st.header("Feature maps, layer by layer")
    scale = st.radio("Colour scale (grey: black = lowest, white = highest)", list(SCALES),
                     format_func=SCALES.get, horizontal=True, key="inside_scale")
    st.caption(f"Each map at most {inside.MAX_SIDE} px a side. {views.shapes_note(layers)} "
               "Dropout does nothing at inference: not shown.")
    if len(look.maps) <= FULL:
        for number, maps in enumerate(look.maps, 1):
            layer_ui(maps, number, scale)
    else:
        st.image([inside.overview_picture(m) for m in look.maps], width=64,
                 caption=[f"{n}. {m.name}" for n, m in enumerate(look.maps, 1)],
                 alt=[views.overview_alt(m) for m in look.maps])
        number = st.selectbox("Layer", range(1, len(look.maps) + 1), key="inside_layer",
                              format_func=lambda n: f"{n}. {look.maps[n - 1].name}")
        layer_ui(look.maps[number - 1], number, scale)
    with st.expander("Enlarge one channel"):
        pictured = {m.name: m for m in look.maps if not m.vector}
        maps = pictured[st.selectbox("Layer to enlarge", list(pictured), key="inside_big_layer")]
        channel = int(st.number_input("Channel", 1, maps.channels, 1, key="inside_big")) - 1
        st.image(inside.channel_picture(maps, channel, scale), alt=(
            f"Channel {channel + 1} of {maps.name} for {inp.name}, enlarged: values from "
            f"{maps.lows[channel]:.3g} (black) to {maps.highs[channel]:.3g} (white)."))


def kernels_ui(activations):
    st.header("Kernels")
    convolutions = {l.name: l for l in activations.keras_layers if type(l).__name__ == "Conv2D"}
    first = next(iter(convolutions.values()))
    picture, peak, filters = inside.kernel_mosaic(first, model.bgr)
    st.image(picture, alt=views.kernels_alt(first.name, filters, first.kernel.shape, peak,
                                            model.bgr))
    c = st.columns(3)
    deeper = list(convolutions)[1:] or [first.name]
    wide = [n for n in deeper if convolutions[n].kernel.shape[0] > 1]     # 3×3 before 1×1
    layer = convolutions[c[0].selectbox("Deeper layer", deeper, key="inside_k_layer",
                                        index=deeper.index(wide[0]) if wide else 0)]
    f = int(c[1].number_input("Filter", 1, layer.kernel.shape[3], 1, key="inside_k_filter")) - 1
    d = int(c[2].number_input("Input channel", 1, layer.kernel.shape[2], 1,
                              key="inside_k_in")) - 1
    values, bias = inside.filter_weights(layer, f, d)
    st.vega_lite_chart(spec=views.filter_chart(values, f"{layer.name}: filter {f + 1}, input "
                                                       f"channel {d + 1}"), width="content",
                       alt=views.filter_alt(layer.name, f, d, values, bias))


def step_ui(activations, look):
    index = inside.first_convolution(activations)
    layer, shape = activations.keras_layers[index], activations.layers[index].output_shape
    st.header(f"One convolution, step by step ({layer.name})")
    c, key = st.columns(3), model.digest[:12]          # positions differ from model to model
    row = int(c[0].number_input("Output row", 0, shape[0] - 1, shape[0] // 2, key=f"r{key}"))
    col = int(c[1].number_input("Output column", 0, shape[1] - 1, shape[1] // 2, key=f"c{key}"))
    channel = int(c[2].number_input("Output channel", 1, shape[2], 1, key=f"k{key}")) - 1
    step = inside.convolution_step(layer, look.conv_input, row, col, channel)
    st.dataframe(views.convolution_rows(step), hide_index=True)
    st.markdown(views.step_sentence(step, float(look.conv_output[row, col, channel])))


def occlusion_ui(look):
    st.header("Occlusion sensitivity next to Grad-CAM")
    best, side = int(look.probabilities.argmax()), model.input_size
    label, small = model.classes[best], side < 64
    c = st.columns(2)
    patch = c[0].select_slider("Square (px)", [s for s in (4, 7, 14, 16, 32, 48, 64)
                                               if s <= side // 2], 7 if small else 32)
    stride = c[1].select_slider("Stride (px)", [s for s in (2, 4, 7, 8, 16, 32) if s <= patch],
                                min(patch, 7 if small else 16))
    passes = inside.forward_passes(side, side, patch, stride)
    settings = (model.digest, inp.digest, best, patch, stride)
    if st.button(f"Run occlusion for “{label}” ({passes:,} forward passes)",
                 key="inside_occlude"):
        state["inside_occluded"] = settings
    left, right = st.columns(2)
    if state.get("inside_occluded") == settings:
        result = model.occlusion(inp, best, patch, stride)
        left.image(inside.occlusion_picture(result, inp.picture), caption="Occlusion",
                   alt=views.occlusion_alt(inp.name, label, result))
    if (cam := model.grad_cam(inp.pixels, best)) is not None:
        right.image(heatmap_overlay(inp.picture.convert("RGB"), cam), caption="Grad-CAM",
                    alt=grad_cam_alt(inp.name, label, model.title, cam))


def digit_extras_ui(activations):
    """Activation maximisation and the penultimate layer's PCA, each computed when asked."""
    if st.toggle("What a class or a filter answers most (activation maximisation)"):
        targets = [activations.layers[-1].name] + [l.name for l in activations.layers
                                                   if l.kind == "Conv2D"]
        c = st.columns(2)
        layer = c[0].selectbox("Class (the last layer) or filter of", targets, key="inside_am")
        count = dict((l.name, l.output_shape[-1]) for l in activations.layers)[layer]
        index = int(c[1].number_input("Class" if layer == targets[0] else "Filter", 0 if
                                      layer == targets[0] else 1, count - (layer == targets[0]),
                                      key=f"inside_am_{layer}")) - (layer != targets[0])
        result = model.maximised(layer, index)
        st.image(inside.channel_picture(inside.layer_maps(activations.layers[0],
                                                          result.pixels[..., None]), 0),
                 alt=views.maximised_alt(layer, index, result, model.classes,
                                         layer == targets[0]))
    if st.toggle(f"The penultimate layer of {inside.PROJECTED_DIGITS:,} test digits (PCA)"):
        projection = model.projection()
        st.vega_lite_chart(spec=inside.projection_chart(projection),
                           alt=inside.projection_alt(projection))


st.title(":material/visibility: Inside a CNN")
st.write("Every layer's feature maps for your input, the kernels the network learned, one "
         "convolution computed by hand, and which parts of the input the answer depends on.")
runs = [(n, job) for n, job in enumerate(state.get("mnist_runs", []), 1)
        if job.result is not None and job.result.keras_file]
transfer = (state.get("transfer_result") or {}).get("model")
choices = inside.model_choices(runs, state.get("inside_classify"), transfer)
if state.get("inside_model") not in choices:
    state["inside_model"] = f"run{runs[-1][0]}" if runs else "shipped"
picked = st.selectbox("Model", list(choices), format_func=lambda k: choices[k][0],
                      key="inside_model")
try:
    with st.spinner("Loading the model (once per server)…"):
        model = choices[picked][1]()
    inp = digit_input_ui(runs) if model.kind == "digit" else photo_input_ui(model)
    if inp is None:
        st.info("Draw, pick or upload an input to see inside the network.",
                icon=":material/info:")
        st.stop()
    look = model.look(inp)
except CNNLabError as error:
    st.error(str(error))
    st.stop()
left, right = st.columns([1, 3])
left.image(inp.picture, width=160, caption="as the network sees it", alt=(
    f"{inp.name} as the network sees it ({model.input_size}×{model.input_size} pixels)."))
right.markdown(views.prediction_line(model, look, inp.label))
maps_ui(look, model.activations.layers)
kernels_ui(model.activations)
step_ui(model.activations, look)
occlusion_ui(look)
if model.kind == "digit":
    st.header("More: maximisation and the penultimate layer")
    digit_extras_ui(model.activations)
