"""The calculator's whole state as a URL query string: a link reproduces a network exactly.

A student sends ``…/calculator?preset=exercise2&input=200x300x3&layers=Conv2D,100,3,2,same,1;…
&dtype=float32&optimizer=adam&gradients=1&batch=50&device=16`` and the teacher sees that
network with those settings (TensorFlow Playground does the same). ``input`` and ``layers`` are
left out while they are the preset's own; the ImageNet architectures (``catalog.py``: graphs,
not table rows) are links of their name and settings only (``?preset=resnet50&batch=32``).
Layers are table rows (``cnn_core.calculator.table``): fields in ``ROW_COLUMNS`` order
separated by ``,`` (trailing empty fields dropped; use_bias ``1``/``0``), rows separated by
``;``.

Reading is strict and bounded: any unknown key, unknown preset, malformed or out-of-range
value, or a network that cannot be built gives a message naming it, and the default network is
used instead. No Streamlit, no TensorFlow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

from cnn_core.calculator.analysis import DTYPES, OPTIMIZER_SLOTS, analyze
from cnn_core.calculator.catalog import ALL_TITLES, architecture_graph, is_architecture
from cnn_core.errors import CNNLabError
from cnn_core.calculator.table import ROW_COLUMNS, layer_to_row, layers_from_rows
from cnn_core.strict_values import MAX_LAYERS, shown
from cnn_core.networks import preset

# The calculator's defaults, shared by the page and the command line.
DEFAULT_PRESET = "exercise2"
DEFAULT_DTYPE = "float32"
DEFAULT_OPTIMIZER = "adam"
DEFAULT_GRADIENTS = True
DEFAULT_BATCH_SIZE = 50
DEFAULT_DEVICE_GB = 16

DEVICE_GB_OPTIONS = (2, 4, 6, 8, 11, 12, 16, 24, 32, 40, 48, 80)
MAX_INPUT_SIDE = 100_000  # height, width or channels
MAX_BATCH_SIZE = 1_000_000
MAX_VALUE_CHARS = 40 * MAX_LAYERS  # one query value; a 1,000-layer table fits
KEYS = ("preset", "input", "layers", "dtype", "optimizer", "gradients", "batch", "device")

_DIGITS = re.compile(r"[0-9]{1,7}", re.ASCII)
_INPUT = re.compile(r"([0-9]{1,6})x([0-9]{1,6})x([0-9]{1,6})", re.ASCII)


@dataclass(frozen=True)
class CalculatorState:
    preset: str = DEFAULT_PRESET  # the preset the network started from
    input_shape: tuple[int, int, int] = (200, 300, 3)  # (height, width, channels)
    rows: tuple[dict, ...] = field(default=(), compare=True)  # the layer table
    dtype: str = DEFAULT_DTYPE
    optimizer: str = DEFAULT_OPTIMIZER
    gradients: bool = DEFAULT_GRADIENTS
    batch_size: int = DEFAULT_BATCH_SIZE
    device_gb: int = DEFAULT_DEVICE_GB


def preset_state(name: str = DEFAULT_PRESET, settings: CalculatorState | None = None):
    """The state of a preset's network, keeping the training settings of ``settings``."""
    if is_architecture(name):  # a graph: no table rows
        return replace(settings or CalculatorState(), preset=name, rows=(),
                       input_shape=tuple(architecture_graph(name).input_shapes[0]))
    input_shape, layers = preset(name)
    return replace(settings or CalculatorState(), preset=name, input_shape=tuple(input_shape),
                   rows=tuple(layer_to_row(layer) for layer in layers))


# -- the page's widgets (keys in st.session_state) --------------------------------------------

SIDES = ("height", "width", "channels")


def widget_values(state: CalculatorState) -> dict:
    """The page's widget values (by key) for a state; ``calc_rows`` seeds the layer table."""
    return {"calc_preset": state.preset, "calc_dtype": state.dtype,
            "calc_optimizer": state.optimizer, "calc_gradients": state.gradients,
            "calc_batch": state.batch_size, "calc_device": state.device_gb,
            "calc_rows": state.rows} | {
        f"calc_{side}": size for side, size in zip(SIDES, state.input_shape)}


def state_from_widgets(values, rows=None) -> CalculatorState:
    """The state the page's widgets show (``values``: st.session_state), with table ``rows``."""
    return CalculatorState(
        preset=values["calc_preset"], dtype=values["calc_dtype"],
        optimizer=values["calc_optimizer"], gradients=values["calc_gradients"],
        batch_size=values["calc_batch"], device_gb=values["calc_device"],
        input_shape=tuple(values[f"calc_{side}"] for side in SIDES),
        rows=tuple(values["calc_rows"] if rows is None else rows))


# -- writing ----------------------------------------------------------------------------------

def _cell_text(value) -> str:
    if value is True or value is False:
        return "1" if value else "0"
    return "" if value is None else str(value).strip()


def rows_to_text(rows) -> str:
    return ";".join(",".join(_cell_text(row.get(c)) for c in ROW_COLUMNS).rstrip(",")
                    for row in rows)


def state_to_query(state: CalculatorState) -> dict[str, str]:
    """The query parameters of a state; ``input``/``layers`` only where they differ from the
    preset's."""
    own = preset_state(state.preset)
    query = {"preset": state.preset}
    if tuple(state.input_shape) != own.input_shape:
        query["input"] = "x".join(str(d) for d in state.input_shape)
    if rows_to_text(state.rows) != rows_to_text(own.rows):
        query["layers"] = rows_to_text(state.rows)
    query |= {"dtype": state.dtype, "optimizer": state.optimizer,
              "gradients": "1" if state.gradients else "0", "batch": str(state.batch_size),
              "device": str(state.device_gb)}
    return query


def share_link(base_url: str | None, query: dict[str, str]) -> str:
    """The link to send: the page's address and the state (``,;`` left readable)."""
    return f"{base_url or '/calculator'}?{urlencode(query, safe=',;')}"


# -- reading ----------------------------------------------------------------------------------

def rows_from_text(text: str) -> tuple[dict, ...]:
    if text.count(";") >= MAX_LAYERS:
        raise CNNLabError(f"layers holds {text.count(';') + 1:,} rows; at most {MAX_LAYERS:,}")
    rows = []
    for i, row_text in enumerate(text.split(";")):
        cells = row_text.split(",")
        if len(cells) > len(ROW_COLUMNS):
            raise CNNLabError(f"layer {i + 1} has {len(cells)} fields; at most "
                              f"{len(ROW_COLUMNS)} ({', '.join(ROW_COLUMNS)}).")
        row = dict(zip(ROW_COLUMNS, [c.strip() or None for c in cells]))
        bias = row.get("use_bias")
        if bias not in (None, "0", "1"):
            raise CNNLabError(f"layer {i + 1}, use_bias: {shown(bias)} is not 1 or 0.")
        row["use_bias"] = None if bias is None else bias == "1"
        rows.append(dict.fromkeys(ROW_COLUMNS) | row)
    return tuple(rows)


def _whole(text: str, key: str, low: int, high: int) -> int:
    if not _DIGITS.fullmatch(text) or not low <= int(text) <= high:
        raise CNNLabError(f"{key}={shown(text)} is not a whole number from {low:,} to {high:,}.")
    return int(text)


def _choice(text: str, key: str, options) -> str:
    if text not in options:
        raise CNNLabError(f"{key}={shown(text)} is not one of {', '.join(map(str, options))}.")
    return text


def state_from_query(query) -> tuple[CalculatorState, str | None]:
    """(state, None) for a good query; (the default state, a message) for a bad one.

    ``query`` maps keys to strings (``st.query_params.to_dict()``). An empty query is the
    default state, without a message."""
    problems: list[str] = []
    values: dict[str, str] = {}
    for key, value in dict(query).items():
        if key not in KEYS:
            problems.append(f"unknown setting {shown(key, 30)} (known: {', '.join(KEYS)})")
        elif not isinstance(value, str):
            problems.append(f"{key} is not text")
        elif len(value) > MAX_VALUE_CHARS:
            problems.append(f"{key} is {len(value):,} characters long (at most "
                            f"{MAX_VALUE_CHARS:,})")
        else:
            values[key] = value.strip()
    name = values.get("preset", DEFAULT_PRESET)
    if name not in ALL_TITLES:
        problems.append(f"unknown preset {shown(name, 30)} (known: {', '.join(ALL_TITLES)})")
        name = DEFAULT_PRESET
    elif is_architecture(name) and ({"input", "layers"} & set(values)):
        problems.append(f"{name} is a branching network: a link cannot change its input or "
                        "layers (import the model's file to size a variant)")
    state = preset_state(name)
    readers = {
        "input": lambda v: dict(input_shape=_input_shape(v)),
        "layers": lambda v: dict(rows=rows_from_text(v)),
        "dtype": lambda v: dict(dtype=_choice(v, "dtype", DTYPES)),
        "optimizer": lambda v: dict(optimizer=_choice(v, "optimizer", OPTIMIZER_SLOTS)),
        "gradients": lambda v: dict(gradients=_choice(v, "gradients", ("1", "0")) == "1"),
        "batch": lambda v: dict(batch_size=_whole(v, "batch", 1, MAX_BATCH_SIZE)),
        "device": lambda v: dict(device_gb=_whole(v, "device", 1, DEVICE_GB_OPTIONS[-1])),
    }
    for key, read in readers.items():
        if key in values:
            try:
                state = replace(state, **read(values[key]))
            except CNNLabError as err:
                problems.append(str(err).rstrip("."))
    if state.device_gb not in DEVICE_GB_OPTIONS:
        problems.append(f"device={state.device_gb} is not one of "
                        f"{', '.join(map(str, DEVICE_GB_OPTIONS))}")
    if not problems and not is_architecture(state.preset):
        try:
            analyze(state.input_shape, layers_from_rows(list(state.rows)), state.dtype)
        except CNNLabError as err:
            problems.append(f"the network in the link cannot be built: {err}".rstrip("."))
    if problems:
        shown_problems = "; ".join(problems[:5]) + ("; …" if len(problems) > 5 else "")
        return preset_state(), (f"The link's settings could not be used ({shown_problems}). "
                                "Showing the default network instead.")
    return state, None


def _input_shape(text: str) -> tuple[int, int, int]:
    match = _INPUT.fullmatch(text)
    sizes = tuple(int(g) for g in match.groups()) if match else ()
    if not sizes or not all(1 <= d <= MAX_INPUT_SIDE for d in sizes):
        raise CNNLabError(f"input={shown(text)} is not height x width x channels, each a whole "
                          f"number from 1 to {MAX_INPUT_SIDE:,} (e.g. 200x300x3)")
    return sizes
