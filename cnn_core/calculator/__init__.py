"""The architecture calculator: parameters, RAM to predict one image and RAM to train on a batch,
for a network given as layers, a layer table, Keras JSON or a preset. No TensorFlow.

    analysis.py    analyze(input_shape, layers, dtype) → NetworkReport; the memory rules
    table.py       the page's layer table, parsed strictly (nothing typed is changed)
    graph.py       a network as a graph of layer calls; the liveness walk
    graph_layers.py  separable/transposed convolutions, resizing, normalisation, merges
    keras_json.py  a Keras ``to_json()`` → a chain's layers (bounded: hostile input is refused)
    keras_graph.py any Keras model's JSON → a graph (nothing in it is run)
    model_file.py  a .keras (its config.json), .h5 (its model_config) or .json file → a graph
    catalog.py     every preset by name, the ImageNet architectures as shipped Keras JSON
    graph_views.py heaviest layers, memory along the depth, the graph as DOT, layer search
    state.py       the page's whole state as a URL query string (shareable links)
    mistakes.py    the usual mistakes in sizing this network, computed
    views.py       tables and charts of a report
    __main__.py    the command line: ``python -m cnn_core.calculator``
"""

from cnn_core.calculator.analysis import (
    DTYPE_ALIASES,
    DTYPES,
    GB,
    MB,
    OPTIMIZER_SLOTS,
    TB,
    GiB,
    LayerReport,
    MiB,
    NetworkReport,
    TiB,
    analyze,
    analyze_graph,
    batch_sizes,
    format_bytes,
    resolve_dtype,
    resolve_optimizer,
)
from cnn_core.calculator.catalog import (
    ALL_TITLES,
    ARCHITECTURE_TITLES,
    architecture_figures,
    architecture_graph,
)
from cnn_core.calculator.graph import Call, Graph
from cnn_core.calculator.keras_graph import parse_keras_model
from cnn_core.calculator.keras_json import MAX_JSON_BYTES, parse_keras_json, read_keras_json_file
from cnn_core.calculator.model_file import read_model_bytes, read_model_file
from cnn_core.calculator.mistakes import Mistake, common_mistakes
from cnn_core.calculator.state import (
    CalculatorState,
    preset_state,
    share_link,
    state_from_query,
    state_from_widgets,
    state_to_query,
    widget_values,
)
from cnn_core.calculator.table import (
    ROW_COLUMNS,
    TABLE_TYPES,
    layer_from_row,
    layer_to_row,
    layers_from_rows,
)
from cnn_core.calculator.views import layer_frame, memory_chart, memory_frame, working_frame

__all__ = [
    "DTYPE_ALIASES", "DTYPES", "GB", "GiB", "MB", "MiB", "TB", "TiB", "OPTIMIZER_SLOTS",
    "LayerReport", "NetworkReport", "analyze", "analyze_graph", "batch_sizes", "format_bytes",
    "resolve_dtype",
    "resolve_optimizer", "MAX_JSON_BYTES", "parse_keras_json", "read_keras_json_file", "Mistake",
    "common_mistakes", "CalculatorState", "preset_state", "share_link", "state_from_query",
    "state_from_widgets", "state_to_query", "widget_values", "ROW_COLUMNS", "TABLE_TYPES",
    "layer_from_row", "layer_to_row", "layers_from_rows", "layer_frame", "memory_chart",
    "memory_frame", "working_frame", "ALL_TITLES", "ARCHITECTURE_TITLES",
    "architecture_figures", "architecture_graph", "Call", "Graph", "parse_keras_model",
    "read_model_bytes", "read_model_file",
]
