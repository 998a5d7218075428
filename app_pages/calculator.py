"""Architecture calculator: parameters, inference RAM and training RAM across batch sizes."""

import streamlit as st

from cnn_core.calculator.analysis import DTYPES, GB, OPTIMIZER_SLOTS, analyze
from cnn_core.calculator.keras_json import MAX_JSON_BYTES, parse_keras_json
from cnn_core.calculator.mistakes import common_mistakes
from cnn_core.calculator.state import (
    DEVICE_GB_OPTIONS, MAX_BATCH_SIZE, MAX_INPUT_SIDE, SIDES, CalculatorState, preset_state,
    share_link, state_from_query, state_from_widgets, state_to_query, widget_values,
)
from cnn_core.calculator.views import (
    fit_sentence, layer_frame, memory_chart, memory_chart_alt, memory_frame, memory_summary,
    metric_figures, mistake_lines, rows_frame, rows_from_frame, working_frame, working_lines,
)
from cnn_core.calculator.table import TABLE_TYPES, layers_from_rows
from cnn_core.errors import CNNLabError
from cnn_core.networks import PRESET_TITLES, PRESETS

ERROR = ":material/error:"

st.title(":material/calculate: Architecture calculator")
st.caption("How many parameters does this CNN have, and how much RAM does it need to predict one "
           "image or to train on a batch? Exact figures, Keras semantics, the working shown.")


def load_state(state: CalculatorState):
    """Put a state into the widgets (before they are drawn); the layer table starts afresh."""
    st.session_state.update(widget_values(state),
                            calc_table=st.session_state.get("calc_table", 0) + 1)


# The URL holds the whole state (a link reproduces the network): read it when it changed. With
# no query (back from another page) the session's last network comes back.
query = st.query_params.to_dict()
if query != st.session_state.get("calc_query") or "calc_batch" not in st.session_state:
    url_state, link_problem = state_from_query(query or st.session_state.get("calc_query", {}))
    load_state(url_state)
    st.session_state.calc_query = query
    if link_problem:
        st.error(link_problem, icon=ERROR)

with st.sidebar:
    st.header("Training set-up")
    st.selectbox("dtype", list(DTYPES), key="calc_dtype",
                 help="mixed_float16: float16 activations, float32 weights.")
    st.selectbox("optimizer", list(OPTIMIZER_SLOTS), key="calc_optimizer",
                 help="State kept per trainable parameter: SGD none, momentum and RMSprop 1×, "
                      "Adam 2×.")
    st.toggle("count parameter gradients", key="calc_gradients")
    st.number_input("batch size", 1, MAX_BATCH_SIZE, key="calc_batch")
    st.select_slider("device memory (GB)", DEVICE_GB_OPTIONS, key="calc_device")
setup = state_from_widgets(st.session_state)


def report_ui(input_shape, layers):
    """Analyse a network and lay out its figures; a bad network shows an error instead."""
    batch, device_gb, optimizer = setup.batch_size, setup.device_gb, setup.optimizer
    try:
        report = analyze(input_shape, layers, setup.dtype)
        breakdown = report.training_breakdown(batch, optimizer, setup.gradients)
    except CNNLabError as err:
        st.error(str(err), icon=ERROR)
        return None
    fits = report.max_batch_size(int(device_gb * GB), optimizer, setup.gradients)
    for column, (label, value, detail) in zip(st.columns(2) + st.columns(2),
                                              metric_figures(report, breakdown, optimizer)):
        column.metric(label, value, help=detail)
    st.caption(memory_summary(report, breakdown, optimizer))
    counts = ["parameters", "trainable", "non-trainable", "activation bytes / instance", "MACs"]
    st.dataframe(layer_frame(report), hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(c, format="localized")
                                for c in counts})
    with st.expander("Shape and parameter working, layer by layer", icon=":material/functions:"):
        st.table(working_frame(report).set_index("layer"))
    sentence = fit_sentence(batch, breakdown["total"], device_gb, fits)
    if batch > fits:
        st.warning(sentence, icon=":material/memory:")
    left, right = st.columns([3, 2])
    with left:
        st.subheader("Training memory across batch sizes")
        curve = memory_frame(report, optimizer, setup.gradients, (batch, fits))
        st.altair_chart(memory_chart(curve, device_gb, fits, batch), width="stretch",
                        alt=memory_chart_alt(curve, device_gb, fits, batch))
        st.caption(f"{sentence if batch <= fits else ''} Smaller batches, float16/mixed "
                   "precision, fewer filters or a larger stride early on all lower the curve.")
    with right:
        st.subheader("The working")
        for line in working_lines(report, batch):
            st.markdown(line)
        with st.container(border=True):
            st.markdown("**Common mistakes** (computed on this network)")
            st.markdown("\n".join(mistake_lines(
                common_mistakes(input_shape, layers, setup.dtype, batch))))
    return report


build_tab, import_tab = st.tabs([":material/build: Build a network",
                                 ":material/upload_file: Import a Keras model (JSON)"])

with build_tab:
    st.selectbox("Preset", list(PRESETS), format_func=PRESET_TITLES.get, key="calc_preset",
                 on_change=lambda: load_state(preset_state(
                     st.session_state.calc_preset, state_from_widgets(st.session_state))))
    cols = st.columns(3)
    input_shape = tuple(col.number_input(side, 1, MAX_INPUT_SIDE, key=f"calc_{side}")
                        for col, side in zip(cols, SIDES))
    st.caption("Edit the layers below (add or delete rows). `filters_units`: Conv2D filters or "
               "Dense units; `kernel`/`stride`: `3` or `3x5`; pooling uses `kernel` as its pool; "
               "ZeroPadding2D its padding. Cells a layer does not use stay empty.")
    edited = st.data_editor(
        rows_frame(st.session_state.calc_rows), key=f"calc_table_{st.session_state.calc_table}",
        num_rows="dynamic", hide_index=True, width="stretch", placeholder="",
        column_config={
            "type": st.column_config.SelectboxColumn("type", options=TABLE_TYPES, required=True),
            "padding": st.column_config.SelectboxColumn("padding", options=["same", "valid"]),
            "use_bias": st.column_config.CheckboxColumn("use_bias"),
        },
    )
    rows = rows_from_frame(edited)
    share_box = st.container()  # filled once the network is known to work
    try:
        layers = layers_from_rows(rows)
    except CNNLabError as err:
        st.error(str(err), icon=ERROR)
    else:
        if report_ui(input_shape, layers) is not None:  # the URL follows a network that works
            shared = state_to_query(state_from_widgets(st.session_state, rows))
            if query or shared != state_to_query(preset_state()):  # a fresh visit stays clean
                st.query_params.from_dict(shared)
                st.session_state.calc_query = shared
            share_box.caption("**Share this network:** the link holds its input, layers and "
                              "settings (hover it for the copy button).")
            share_box.code(share_link(st.context.url, shared), language=None, wrap_lines=True)

with import_tab:
    st.write("Paste or upload the JSON of a Keras `model.to_json()` (Sequential, or a Functional "
             "model that is a single chain of layers). It is read as data, without TensorFlow.")
    uploaded = st.file_uploader("model.to_json() file", type=["json"], key="calc_json_file",
                                max_upload_size=MAX_JSON_BYTES // 10**6)  # MB
    pasted = st.text_area("…or paste it here", key="calc_json_text", height=150)
    source = uploaded.getvalue() if uploaded is not None else pasted.strip()
    if source:
        try:
            json_shape, json_layers = parse_keras_json(source)
        except CNNLabError as err:
            st.error(str(err), icon=ERROR)
        else:
            st.success(f"Imported {len(json_layers):,} layers, input "
                       f"{' × '.join(f'{d:,}' for d in json_shape)}.",
                       icon=":material/check_circle:")
            report_ui(json_shape, json_layers)
