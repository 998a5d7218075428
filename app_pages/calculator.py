"""Architecture calculator: parameters, inference RAM and training RAM across batch sizes."""

import streamlit as st

from cnn_core.calculator import DTYPES, GB, OPTIMIZER_SLOTS, analyze, format_bytes, layers_from_rows
from cnn_core.calculator_views import (
    layer_frame, memory_chart, memory_frame, rows_frame, working_lines,
)
from cnn_core.errors import CNNLabError
from cnn_core.keras_json import parse_keras_json
from cnn_core.layers import LAYER_TYPES
from cnn_core.mistakes import common_mistakes
from cnn_core.presets import PRESET_TITLES, PRESETS, preset

st.title("🧮 Architecture calculator")
st.caption("How many parameters does this CNN have, and how much RAM does it need to predict one "
           "image or to train on a batch? Exact figures, Keras semantics, the working shown.")

# A link such as ?preset=exercise2 (from the Theory page) selects that preset.
if st.query_params.get("preset") in PRESETS:
    st.session_state.calc_preset = st.query_params["preset"]

with st.sidebar:
    st.header("Training set-up")
    dtype = st.selectbox("dtype", list(DTYPES), key="calc_dtype",
                         help="mixed_float16: float16 activations, float32 weights.")
    optimizer = st.selectbox("optimizer", list(OPTIMIZER_SLOTS), index=3, key="calc_optimizer",
                             help="State kept per trainable parameter: SGD none, momentum and "
                                  "RMSprop 1×, Adam 2×.")
    gradients = st.toggle("count parameter gradients", value=True, key="calc_gradients")
    batch_size = st.number_input("batch size", 1, 1_000_000, 50, key="calc_batch")
    device_gb = st.select_slider("device memory (GB)", [2, 4, 6, 8, 11, 12, 16, 24, 32, 40, 48, 80],
                                 value=16, key="calc_device")


def report_ui(input_shape, layers):
    """Analyse a network and lay out its figures; a bad network shows an error instead."""
    try:
        report = analyze(input_shape, layers, dtype)
        breakdown = report.training_breakdown(batch_size, optimizer, gradients)
    except CNNLabError as err:
        st.error(f"⚠️ {err}")
        return
    fits = report.max_batch_size(int(device_gb * GB), optimizer, gradients)
    m = st.columns(2) + st.columns(2)
    m[0].metric("Parameters", f"{report.total_params:,}",
                help=f"trainable {report.trainable_params:,} · "
                     f"non-trainable {report.non_trainable_params:,}")
    m[1].metric("Predict one instance", f"{report.inference_bytes:,} B",
                help=format_bytes(report.inference_bytes))
    m[2].metric(f"Train, batch {batch_size} (bare minimum)", f"{breakdown['bare_minimum']:,} B",
                help=format_bytes(breakdown["bare_minimum"]))
    m[3].metric(f"+ gradients + {optimizer} state", f"{breakdown['total']:,} B",
                help=format_bytes(breakdown["total"]))
    st.caption(
        f"Predict: {format_bytes(report.inference_bytes)} · train (bare minimum): "
        f"{format_bytes(breakdown['bare_minimum'])} · with gradients "
        f"{format_bytes(breakdown['gradients'])} and {optimizer} state "
        f"{format_bytes(breakdown['optimizer_state'])}: {format_bytes(breakdown['total'])} · "
        f"{report.macs:,} multiply-accumulates per instance."
    )
    counts = ["parameters", "trainable", "non-trainable", "activation bytes / instance", "MACs"]
    columns = {c: st.column_config.NumberColumn(c, format="localized") for c in counts}
    columns |= {c: st.column_config.TextColumn(c, width="large")
                for c in ("shape working", "parameter working")}
    st.dataframe(layer_frame(report), hide_index=True, width="stretch", column_config=columns)
    left, right = st.columns([3, 2])
    with left:
        st.subheader("Training memory across batch sizes")
        curve = memory_frame(report, optimizer, gradients, fits)
        st.altair_chart(memory_chart(curve, device_gb, fits), width="stretch")
        st.caption(f"On a {device_gb} GB device the largest batch that fits is **{fits:,}**. "
                   "Smaller batches, float16/mixed precision, fewer filters or a larger stride "
                   "early on all lower the curve.")
    with right:
        st.subheader("The working")
        for line in working_lines(report, batch_size):
            st.markdown(line)
        with st.container(border=True):
            st.markdown("**Common mistakes** (computed on this network)")
            for mistake in common_mistakes(input_shape, layers, dtype, batch_size):
                st.markdown(f"- **{mistake.title}** → {mistake.wrong:,} instead of "
                            f"{mistake.right:,} {mistake.quantity}. {mistake.why}")


build_tab, import_tab = st.tabs(["Build a network", "Import a Keras model (JSON)"])

with build_tab:
    name = st.selectbox("Preset", list(PRESETS), format_func=PRESET_TITLES.get, key="calc_preset",
                        on_change=lambda: st.query_params.update(preset=st.session_state.calc_preset))
    preset_shape, preset_layers = preset(name)
    cols = st.columns(3)
    input_shape = tuple(
        col.number_input(label, 1, 100_000, value, key=f"calc_{label}_{name}")
        for col, label, value in zip(cols, ("height", "width", "channels"), preset_shape)
    )
    st.caption("Edit the layers below (add or delete rows). `filters_units`: Conv2D filters or "
               "Dense units; `kernel`/`stride`: `3` or `3x5`; pooling uses `kernel` as its pool.")
    edited = st.data_editor(
        rows_frame(preset_layers), key=f"calc_table_{name}", num_rows="dynamic", hide_index=True,
        width="stretch",
        column_config={
            "type": st.column_config.SelectboxColumn("type", options=list(LAYER_TYPES),
                                                     required=True),
            "filters_units": st.column_config.NumberColumn("filters_units", min_value=1, step=1),
            "padding": st.column_config.SelectboxColumn("padding", options=["same", "valid"]),
            "use_bias": st.column_config.CheckboxColumn("use_bias"),
        },
    )
    try:
        layers = layers_from_rows(edited.to_dict("records"))
    except CNNLabError as err:
        st.error(f"⚠️ {err}")
    else:
        report_ui(input_shape, layers)

with import_tab:
    st.write("Paste or upload the JSON of a Keras `model.to_json()` (Sequential, or a Functional "
             "model that is a single chain of layers). It is read as data, without TensorFlow.")
    uploaded = st.file_uploader("model.to_json() file", type=["json"], key="calc_json_file")
    pasted = st.text_area("…or paste it here", key="calc_json_text", height=150)
    source = uploaded.getvalue() if uploaded is not None else pasted.strip()
    if source:
        try:
            json_shape, json_layers = parse_keras_json(source)
        except CNNLabError as err:
            st.error(f"⚠️ {err}")
        else:
            st.success(f"Imported {len(json_layers)} layers, input {json_shape}.")
            report_ui(json_shape, json_layers)
