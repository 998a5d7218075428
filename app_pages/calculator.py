"""Architecture calculator: parameters, inference RAM and training RAM across batch sizes."""

import streamlit as st

from cnn_core.calculator.analysis import DTYPES, GB, OPTIMIZER_SLOTS, analyze, analyze_graph
from cnn_core.calculator.catalog import ALL_TITLES, architecture_graph, is_architecture
from cnn_core.calculator.graph_views import (
    HEAVIEST, depth_chart, depth_chart_alt, depth_frame, graph_alt, graph_dot, heaviest_frame,
    layer_blocks, search_layers,
)
from cnn_core.calculator.keras_graph import parse_keras_model
from cnn_core.calculator.mistakes import common_mistakes
from cnn_core.calculator.model_file import MAX_UPLOAD_MB, read_model_bytes
from cnn_core.calculator.state import (
    DEVICE_GB_OPTIONS, MAX_BATCH_SIZE, MAX_INPUT_SIDE, SIDES, CalculatorState, preset_state,
    share_link, state_from_query, state_from_widgets, state_to_query, widget_values,
)
from cnn_core.calculator.views import (
    fit_sentence, import_sentence, layer_frame, memory_chart, memory_chart_alt, memory_frame,
    memory_summary, metric_figures, mistake_lines, rows_frame, rows_from_frame, working_frame,
    working_lines,
)
from cnn_core.calculator.table import TABLE_TYPES, layers_from_rows
from cnn_core.errors import CNNLabError

ERROR = ":material/error:"

st.title(":material/calculate: Architecture calculator")
st.caption("How many parameters and multiply-accumulates does this CNN have, and how much RAM "
           "does it need to predict one image or to train on a batch? Exact figures, Keras "
           "semantics, any graph (ResNet, Inception, …), the working shown.")


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

# The input-size boxes are drawn for chains only; Streamlit forgets a widget's value after a
# run that does not draw it, so an architecture preset would lose them: keep them as state.
for side in SIDES:
    if f"calc_{side}" in st.session_state:
        st.session_state[f"calc_{side}"] = st.session_state[f"calc_{side}"]

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


def report_ui(analyse, chain=None, where="build"):
    """Analyse a network (``analyse(dtype)``) and lay out its figures; a bad network shows an
    error instead. ``chain``: (input shape, layers) of a chain, for its common mistakes."""
    batch, device_gb, optimizer = setup.batch_size, setup.device_gb, setup.optimizer
    try:
        report = analyse(setup.dtype)
        breakdown = report.training_breakdown(batch, optimizer, setup.gradients)
    except CNNLabError as err:
        st.error(str(err), icon=ERROR)
        return None
    fits = report.max_batch_size(int(device_gb * GB), optimizer, setup.gradients)
    for column, (label, value, detail) in zip(st.columns(2) + st.columns(2),
                                              metric_figures(report, breakdown, optimizer)):
        column.metric(label, value, help=detail)
    st.caption(memory_summary(report, breakdown, optimizer))
    layers_ui(report, where)
    sentence = fit_sentence(batch, breakdown["total"], device_gb, fits)
    if batch > fits:
        st.warning(sentence, icon=":material/memory:")
    left, right = st.columns([3, 2])
    with left:
        st.subheader("Training memory across batch sizes")
        curve = memory_frame(report, optimizer, setup.gradients, (batch, fits))
        st.vega_lite_chart(spec=memory_chart(curve, device_gb, fits, batch), width="stretch",
                           alt=memory_chart_alt(curve, device_gb, fits, batch))
        st.caption(f"{sentence if batch <= fits else ''} Smaller batches, float16/mixed "
                   "precision, fewer filters or a larger stride early on all lower the curve.")
    with right:
        st.subheader("The working")
        for line in working_lines(report, batch):
            st.markdown(line)
        if chain is not None:
            with st.container(border=True):
                st.markdown("**Common mistakes** (computed on this network)")
                st.markdown("\n".join(mistake_lines(
                    common_mistakes(*chain, setup.dtype, batch))))
    return report


VIEWS = ("Layers", "Heaviest layers", "Memory along the depth", "Graph")


def layers_ui(report, where):
    """The per-layer table (searchable) and, for a big network, its heaviest layers, memory
    along the depth and the graph in blocks."""
    numbers = {c: st.column_config.NumberColumn(c, format="localized") for c in (
        "parameters", "trainable", "non-trainable", "activation bytes / instance", "MACs",
        "activation bytes")} | {"share of total": st.column_config.NumberColumn(format="percent")}
    view = st.radio("Show", VIEWS, horizontal=True, key=f"calc_view_{where}")  # only it is drawn
    if view == VIEWS[0]:
        found = st.text_input("Find layers (name or type)", key=f"calc_find_{where}",
                              placeholder="e.g. conv2_block1 or Concatenate")
        st.dataframe(search_layers(layer_frame(report), found), hide_index=True,
                     width="stretch", column_config=numbers)
        with st.expander("Shape and parameter working, layer by layer",
                         icon=":material/functions:"):
            st.table(search_layers(working_frame(report).assign(type=""), found)
                     .drop(columns="type").set_index("layer"))
    elif view == VIEWS[1]:
        by = st.radio("Largest by", list(HEAVIEST), horizontal=True, key=f"calc_heavy_{where}")
        st.dataframe(heaviest_frame(report, by), hide_index=True, width="stretch",
                     column_config=numbers)
    elif view == VIEWS[2]:
        frame = depth_frame(report)
        st.altair_chart(depth_chart(frame), width="stretch", alt=depth_chart_alt(frame))
    else:
        blocks = sorted({b for b in layer_blocks(report) if b}, key=layer_blocks(report).index)
        opened = frozenset(st.multiselect("Expand blocks", blocks, key=f"calc_blocks_{where}",
                                          placeholder="Each box is a block; pick some to open"))
        st.graphviz_chart(graph_dot(report, opened), alt=graph_alt(report, opened))


def share_ui(box, rows):
    """The URL follows a network that works; the link to share is shown."""
    shared = state_to_query(state_from_widgets(st.session_state, rows))
    if query or shared != state_to_query(preset_state()):  # a fresh visit stays clean
        st.query_params.from_dict(shared)
        st.session_state.calc_query = shared
    box.caption("**Share this network:** the link holds its input, layers and "
                "settings (hover it for the copy button).")
    box.code(share_link(st.context.url, shared), language=None, wrap_lines=True)


TABS = [":material/build: Build a network",
        ":material/upload_file: Import a Keras model"]
handoff = st.session_state.pop("calc_handoff_json", None)  # "open in the calculator" elsewhere
if handoff:
    st.session_state.calc_json_text = handoff
build_tab, import_tab = st.tabs(TABS, default=TABS[1] if handoff else None)

def architecture_ui(name):
    """A shipped graph (ResNet-50, Inception v3, …): figures and a link, no table."""
    st.caption("A branching network, read from its Keras JSON (nothing is built). The table "
               "edits chains; import a model file to size a variant.")
    share_box = st.container()
    if report_ui(lambda dtype: analyze_graph(architecture_graph(name), dtype)):
        share_ui(share_box, ())


def table_ui():
    """The layer table of a chain, its figures and its link."""
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
        if report_ui(lambda dtype: analyze(input_shape, layers, dtype), (input_shape, layers)):
            share_ui(share_box, rows)


with build_tab:
    st.selectbox("Preset", list(ALL_TITLES), format_func=ALL_TITLES.get, key="calc_preset",
                 on_change=lambda: load_state(preset_state(
                     st.session_state.calc_preset, state_from_widgets(st.session_state))))
    if is_architecture(st.session_state.calc_preset):
        architecture_ui(st.session_state.calc_preset)
    else:
        table_ui()

with import_tab:
    st.write("Upload a Keras model file — `.keras`, `.h5` or the JSON of `model.to_json()` — "
             "or "
             "paste the JSON: any graph (branches, merges, shared layers, nested models). Only "
             "its architecture is read, as data: no weights, no code from the file is run.")
    uploaded = st.file_uploader("Model file", type=["keras", "h5", "json"], key="calc_json_file",
                                max_upload_size=MAX_UPLOAD_MB)
    pasted = st.text_area("…or paste the JSON here", key="calc_json_text", height=150)
    try:
        graph = (read_model_bytes(uploaded.getvalue(), uploaded.name) if uploaded is not None
                 else parse_keras_model(pasted.strip()) if pasted.strip() else None)
    except CNNLabError as err:
        st.error(str(err), icon=ERROR)
    else:
        if graph is not None:
            st.success(import_sentence(graph), icon=":material/check_circle:")
            report_ui(lambda dtype: analyze_graph(graph, dtype), where="import")
