"""The calculator's editable layer table: one row per layer, every cell parsed strictly.

A row holds the fields a user edits (``ROW_COLUMNS``) as plain values, the way
``st.data_editor`` hands them back: text, ``None`` for an empty cell, ``True``/``False`` for
the bias checkbox. Nothing typed is ever guessed at: ``1.5``, ``-5``, ``3x`` or an empty cell
where a layer needs a value is refused with an error naming the row, the column and the value,
and so is a value in a column the layer does not have (a Dense row with a kernel). No
Streamlit, no TensorFlow.
"""

from __future__ import annotations

import math

from cnn_core.errors import CNNLabError
from cnn_core.networks import LAYER_TYPES, PADDINGS, Layer
from cnn_core.strict_values import MAX_LAYERS, MAX_SIZE, shown, size_pair, whole_number

ROW_COLUMNS = ("type", "filters_units", "kernel", "stride", "padding", "use_bias")

# The columns each layer type reads, with the parser of each cell. ZeroPadding2D reads its
# padding from `kernel` (``2`` or ``1x2``: rows × columns added on each side, 0 allowed).
_COUNT, _SIZE, _PAD, _PADDING, _BIAS = "count", "size", "pad", "padding", "bias"
TABLE_COLUMNS: dict[str, dict[str, str]] = {
    "Conv2D": {"filters_units": _COUNT, "kernel": _SIZE, "stride": _SIZE, "padding": _PADDING,
               "use_bias": _BIAS},
    "DepthwiseConv2D": {"kernel": _SIZE, "stride": _SIZE, "padding": _PADDING, "use_bias": _BIAS},
    "MaxPooling2D": {"kernel": _SIZE, "stride": _SIZE, "padding": _PADDING},
    "AveragePooling2D": {"kernel": _SIZE, "stride": _SIZE, "padding": _PADDING},
    "ZeroPadding2D": {"kernel": _PAD},
    "Flatten": {}, "GlobalAveragePooling2D": {}, "GlobalMaxPooling2D": {},
    "Dense": {"filters_units": _COUNT, "use_bias": _BIAS},
    "BatchNormalization": {}, "Dropout": {}, "Activation": {},
}
TABLE_TYPES = tuple(TABLE_COLUMNS)  # the type column's options (Reshape is import-only)

_WHAT = {_COUNT: "a whole number ≥ 1", _SIZE: "a whole number ≥ 1 or two like 3x5",
         _PAD: "a whole number ≥ 0 or two like 1x2", _PADDING: "'same' or 'valid'",
         _BIAS: "a tick (bias) or no tick (no bias)"}


def _fmt(pair: tuple[int, int]) -> str:
    return f"{pair[0]}" if pair[0] == pair[1] else f"{pair[0]}x{pair[1]}"


def layer_to_row(layer: Layer) -> dict:
    """One row of the layer table: the fields a user edits, as text (None when not used)."""
    row = dict.fromkeys(ROW_COLUMNS)
    row["type"] = layer.type
    if layer.type not in TABLE_COLUMNS:
        raise CNNLabError(f"{layer.type} layers cannot be edited in the table.")
    if layer.type == "Conv2D":
        row["filters_units"] = str(layer.filters)
    if layer.type == "Dense":
        row["filters_units"] = str(layer.units)
    if hasattr(layer, "pool_size"):
        row["kernel"] = _fmt(layer.pool_size)
    elif layer.type == "ZeroPadding2D":
        (t, b), (l, r) = layer.padding
        if t != b or l != r:
            raise CNNLabError("asymmetric ZeroPadding2D cannot be edited in the table.")
        row["kernel"] = _fmt((t, l))
    elif hasattr(layer, "kernel_size"):
        row["kernel"] = _fmt(layer.kernel_size)
    if hasattr(layer, "strides"):
        row["stride"] = _fmt(layer.strides)
    if "padding" in TABLE_COLUMNS[layer.type] and layer.type != "ZeroPadding2D":
        row["padding"] = layer.padding
    if hasattr(layer, "use_bias"):
        row["use_bias"] = layer.use_bias
    return row


def is_empty(value) -> bool:
    """An empty cell: None, NaN/NA (pandas) or only spaces."""
    if value is None or type(value).__name__ == "NAType":
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def parse_cell(kind: str, value, what: str):
    """One cell, strictly: raises CNNLabError (without the row) when it is not ``kind``."""
    if is_empty(value):
        raise CNNLabError(f"empty; it needs {_WHAT[kind]}." if kind != _BIAS else
                          "empty; tick it for a bias, untick it for none.")
    if kind == _BIAS:
        if type(value).__name__ in ("bool", "bool_"):
            return bool(value)
        raise CNNLabError(f"{shown(value)} is not {_WHAT[kind]}.")
    if kind == _PADDING:
        if isinstance(value, str) and value.strip().lower() in PADDINGS:
            return value.strip().lower()
        raise CNNLabError(f"{shown(value)} is not {_WHAT[kind]}.")
    try:
        if kind == _COUNT:
            return whole_number(value, what)
        return size_pair(value, what, minimum=0 if kind == _PAD else 1)
    except CNNLabError as err:
        if "at most" in str(err):
            raise CNNLabError(f"{shown(value)} is too large (at most {MAX_SIZE:,}).") from None
        raise CNNLabError(f"{shown(value)} is not {_WHAT[kind]}.") from None


def layer_from_row(row: dict, index: int = 0) -> Layer:
    """Build a layer from a table row; a bad cell raises CNNLabError naming row, column, value."""
    if not isinstance(row, dict):
        raise CNNLabError(f"Row {index + 1} is not a table row: {shown(row)}.")
    kind = row.get("type")
    names = {k.lower(): k for k in TABLE_TYPES}
    if not isinstance(kind, str) or kind.strip().lower() not in names:
        raise CNNLabError(f"Row {index + 1}, type: unknown layer type {shown(kind)}; "
                          f"choose one of {', '.join(TABLE_TYPES)}.")
    kind = names[kind.strip().lower()]
    columns = TABLE_COLUMNS[kind]
    cells = {}
    for column in ROW_COLUMNS[1:]:
        value = row.get(column)
        where = f"Row {index + 1} ({kind}), {column}"
        if column not in columns:
            if not is_empty(value) and value is not False:  # an unticked box is not a value
                action = "untick it" if column == "use_bias" else "clear the cell"
                raise CNNLabError(f"{where}: {kind} has no {column}; {action} "
                                  f"(it holds {shown(value)}).")
            continue
        try:
            cells[column] = parse_cell(columns[column], value, column)
        except CNNLabError as err:
            raise CNNLabError(f"{where}: {err}") from None
    arguments = {"filters_units": "filters" if kind == "Conv2D" else "units",
                 "kernel": "pool_size" if "Pooling" in kind else "kernel_size",
                 "stride": "strides", "padding": "padding", "use_bias": "use_bias"}
    if kind == "ZeroPadding2D":
        arguments["kernel"] = "padding"
    try:
        return LAYER_TYPES[kind](**{arguments[c]: v for c, v in cells.items()})
    except CNNLabError as err:
        raise CNNLabError(f"Row {index + 1} ({kind}): {err}") from None


def layers_from_rows(rows: list[dict]) -> list[Layer]:
    """The table's layers; a row left entirely empty (just added in the editor) is skipped."""
    if len(rows) > MAX_LAYERS:
        raise CNNLabError(f"the table has {len(rows):,} rows; the calculator takes at most "
                          f"{MAX_LAYERS:,} layers.")
    return [layer_from_row(row, i) for i, row in enumerate(rows)
            if not (isinstance(row, dict) and all(is_empty(row.get(c)) for c in ROW_COLUMNS))]
