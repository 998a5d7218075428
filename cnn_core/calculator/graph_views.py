"""Views that make a 300-layer network readable: the heaviest layers, activation memory along
the depth (a chart with its alternative text), the graph as Graphviz DOT grouped into blocks,
and a search over the per-layer table. pandas and Altair; no Streamlit, no TensorFlow.

Blocks: Keras names most architectures' layers by block (``conv2_block1_1_conv``,
``block_3_expand``, ``block4a_se_squeeze``, ``fire2_squeeze``); a network named otherwise
(Inception v3's ``conv2d_57``, NASNet's cells) is cut after each merge (``mixed3``: the layers
since the previous merge and the concatenation that closes them).
"""

from __future__ import annotations

import re

import altair as alt
import pandas as pd

from cnn_core.calculator.analysis import MB, NetworkReport

BLOCK_NAME = re.compile(r"^(.*?(?:block|fire|stage|cell)_?\d+[a-z]?)(?:_|$)")
MERGE_TYPES = ("Add", "Concatenate", "Multiply", "Subtract", "Average", "Maximum", "Minimum")
SMALL_GRAPH = 40  # layers: drawn one by one, without blocks
HEAVIEST = {"parameters": "parameters", "MACs": "MACs", "activation memory": "activation bytes"}


def heaviest_frame(report: NetworkReport, by: str, n: int = 10) -> pd.DataFrame:
    """The ``n`` layers largest by parameters, MACs or activation memory (bytes, one
    instance), with their share of the network's total."""
    itemsize = report.activation_itemsize
    rows = [{"layer": l.name, "type": l.type, "parameters": l.params, "MACs": l.macs,
             "activation bytes": l.activation_elements * itemsize} for l in report.layers]
    frame = pd.DataFrame(rows)
    column = HEAVIEST[by]
    total = frame[column].sum()
    top = frame.nlargest(n, column, keep="first")
    return top.assign(**{"share of total": (top[column] / total if total else 0.0)})


def depth_frame(report: NetworkReport) -> pd.DataFrame:
    """Per layer, in walk order: its output's memory and all activation memory alive while it
    runs (MB, 10⁶ bytes, one instance)."""
    itemsize = report.activation_itemsize
    alive = report.live_bytes()
    records = []
    for l, live in zip(report.layers, alive):
        records.append({"depth": l.index + 1, "layer": l.name, "memory": "the layer's output",
                        "MB": l.activation_elements * itemsize / MB})
        records.append({"depth": l.index + 1, "layer": l.name,
                        "memory": "alive while it runs", "MB": live / MB})
    return pd.DataFrame(records)


def depth_chart(frame: pd.DataFrame) -> alt.Chart:
    return alt.Chart(frame).mark_line(interpolate="step-after").encode(
        x=alt.X("depth:Q", title="layer (in the order they run)", axis=alt.Axis(format=",d"),
                scale=alt.Scale(nice=False)),
        y=alt.Y("MB:Q", title="activations, one instance (MB)"),
        color=alt.Color("memory:N", legend=alt.Legend(orient="bottom", title=None)),
        strokeDash=alt.StrokeDash("memory:N", legend=None),
        tooltip=["layer:N", alt.Tooltip("depth:Q", format=","), "memory:N",
                 alt.Tooltip("MB:Q", format=",.3f")],
    ).properties(height=280)


def depth_chart_alt(frame: pd.DataFrame) -> str:
    """What ``depth_chart`` shows, in words: its axes, and where each line peaks."""
    def peak(kind):
        rows = frame[frame["memory"] == kind]
        top = rows.loc[rows["MB"].idxmax()]
        return top, rows["MB"].iloc[-1]

    out, out_last = peak("the layer's output")
    live, _ = peak("alive while it runs")
    layers = int(frame["depth"].max())
    return (f"Line chart of activation memory for one instance (MB, y axis) along the "
            f"network's {layers:,} layers in the order they run (x axis). The layers' own "
            f"outputs peak at {out['MB']:,.2f} MB ({out['layer']}, layer {int(out['depth']):,}) "
            f"and end at {out_last:,.3f} MB; the memory alive while a layer runs peaks at "
            f"{live['MB']:,.2f} MB while {live['layer']} runs (layer {int(live['depth']):,}).")


# -- the graph ---------------------------------------------------------------------------------

def layer_blocks(report: NetworkReport) -> list[str]:
    """Each layer's block name ('' where it stands alone)."""
    names = [l.layer_name or l.name for l in report.layers]
    if len(names) <= SMALL_GRAPH:
        return [""] * len(names)
    by_name = [(m.group(1) if (m := BLOCK_NAME.match(n.rsplit("/", 1)[-1])) else "")
               for n in names]
    if sum(1 for b in by_name if b) >= len(names) // 3:
        prefixes = [n.rsplit("/", 1)[0] + "/" if "/" in n else "" for n in names]
        return [p + b if b else "" for p, b in zip(prefixes, by_name)]
    blocks, members = [""] * len(names), []
    for i, l in enumerate(report.layers):  # cut after each merge
        members.append(i)
        if l.type in MERGE_TYPES:
            for j in members:
                blocks[j] = l.name
            members = []
    return blocks


def _quote(text: str) -> str:
    """A DOT string: backslashes and quotes escaped, line breaks as DOT's \\n."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def graph_dot(report: NetworkReport, expanded: frozenset[str] = frozenset()) -> str:
    """Graphviz DOT of the network, top to bottom: one box per block (its layer count and
    parameters), the blocks in ``expanded`` drawn layer by layer inside a frame."""
    blocks = layer_blocks(report)
    k = len(report.all_input_shapes)

    def node_of(tensor: int) -> str:
        if tensor < k:
            return f"in{tensor}"
        i = tensor - k
        return f"b:{blocks[i]}" if blocks[i] and blocks[i] not in expanded else f"l{i}"

    lines = ["digraph network {", "  rankdir=TB;", '  node [shape=box, style="rounded,filled", '
             'fillcolor="#f0f2f6", fontname="sans-serif", fontsize=10];',
             '  edge [color="#555555"];']
    for t, (name, shape) in enumerate(zip(report.input_names, report.all_input_shapes)):
        label = f"{name}\n{'×'.join(map(str, shape))}"
        lines.append(f'  in{t} [label={_quote(label)}, fillcolor="#dde8f5"];')
    summary: dict[str, list] = {}
    for i, (l, block) in enumerate(zip(report.layers, blocks)):
        if block and block not in expanded:
            summary.setdefault(block, []).append(l)
    for block, members in summary.items():
        params = sum(l.params for l in members)
        label = (f"{block}\n{len(members)} layers · {params:,} params\n"
                 f"out {'×'.join(map(str, members[-1].output_shape))}")
        lines.append(f"  {_quote('b:' + block)} [label={_quote(label)}];")
    clusters: dict[str, list[str]] = {}
    for i, (l, block) in enumerate(zip(report.layers, blocks)):
        if block and block not in expanded:
            continue
        label = f"{l.name}\n{l.type} · {'×'.join(map(str, l.output_shape))}"
        line = f"  l{i} [label={_quote(label)}];"
        clusters.setdefault(block, []).append(line)
    for n, (block, node_lines) in enumerate(clusters.items()):
        if block:
            lines += [f"  subgraph cluster_{n} {{", f"    label={_quote(block)};",
                      '    style=dashed;', *["  " + x for x in node_lines], "  }"]
        else:
            lines += node_lines
    edges = []
    seen = set()
    for i, l in enumerate(report.layers):
        head = node_of(k + i)
        for t in l.inputs:
            tail = node_of(t)
            if tail != head and (tail, head) not in seen:
                seen.add((tail, head))
                edges.append(f"  {_quote(tail)} -> {_quote(head)};")
    return "\n".join(lines + edges + ["}"])


def graph_alt(report: NetworkReport, expanded: frozenset[str] = frozenset()) -> str:
    blocks = layer_blocks(report)
    named = sorted({b for b in blocks if b}, key=blocks.index)
    merges = sum(1 for l in report.layers if l.type in MERGE_TYPES)
    listed = ", ".join(named[:4]) + (", …" if len(named) > 4 else "")
    opened = f"; expanded: {', '.join(sorted(expanded))}" if expanded else ""
    grouped = f", drawn as {len(named)} blocks ({listed}{opened})" if named else ""
    return (f"Diagram of the network's graph, inputs at the top: {len(report.layers):,} layers"
            f"{grouped}, {merges:,} of them merging branches, "
            f"{len(report.all_input_shapes)} input(s) and {len(report.outputs or (0,))} output(s).")


def search_layers(frame: pd.DataFrame, text: str) -> pd.DataFrame:
    """The rows whose layer name or type holds ``text`` (case-insensitive, as typed: no
    pattern syntax)."""
    text = (text or "").strip().lower()
    if not text:
        return frame
    hit = frame["layer"].str.lower().str.contains(text, regex=False) | \
        frame["type"].str.lower().str.contains(text, regex=False)
    return frame[hit]
