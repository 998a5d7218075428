"""Theory Q&A: six classic CNN questions, answered with sources, live demos and self-checks.

The text lives in content/theory/ (Markdown + one CSV); the demos are cnn_core/theory/: demos,
oom_fixes and architectures (numpy and the calculator — no TensorFlow
is imported by this page).
"""

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from cnn_core.calculator import DTYPES, OPTIMIZER_SLOTS, format_bytes
from cnn_core.errors import CNNLabError
from cnn_core.networks import PRESET_TITLES, PRESETS
from cnn_core.theory import architectures as arch
from cnn_core.theory import content as theory
from cnn_core.theory import demos
from cnn_core.theory import views as theory_views
from cnn_core.theory.facts import facts
from cnn_core.theory.oom_fixes import oom_fixes


@st.cache_data
def load_content():
    figures = facts()
    return theory.load_sections(figures), theory.load_architectures(figures)


def layer_size_ui(key: str, height: int, channels: int, filters: int) -> list[int]:
    """Height, width, channels, filters and kernel size of one convolution, side by side."""
    sizes = [("Height", 1024, height, "h"), ("Width", 1024, height, "w"),
             ("Channels", 4096, channels, "c"), ("Filters", 4096, filters, "f"),
             ("Kernel", 15, 3, "k")]
    return [int(col.number_input(label, 1, top, default, key=f"{key}_{name}"))
            for col, (label, top, default, name) in zip(st.columns(5), sizes)]


def metrics_ui(metrics: list[tuple[str, str]]):
    for column, (label, value) in zip(st.columns(len(metrics)), metrics):
        column.metric(label, value)


def dense_vs_conv_ui():
    st.markdown("**Try it:** a dense layer vs a 'same' convolution with as many outputs.")
    r = demos.dense_vs_conv(*layer_size_ui("q1", 28, 1, 32))
    metrics_ui([("Convolution: parameters", f"{r['conv_params']:,}"),
                ("Dense: parameters", f"{r['dense_params']:,}"),
                ("Dense / convolution", f"{r['dense_params'] / r['conv_params']:,.0f}×")])
    st.caption(f"Convolution: {r['conv_working']}; {r['conv_macs']:,} multiply-adds. Dense: "
               f"{r['dense_working']} ({format_bytes(r['dense_bytes'])} in float32); "
               f"{r['dense_macs']:,} multiply-adds. Counted by the calculator.")
    st.markdown("**Shift a digit:** the convolution's map moves with it; the dense layer's does not.")
    c = st.columns(3)
    digit = c[0].selectbox("Digit", list(demos.DIGIT_STROKES), index=2, key="q1_digit")
    dx = c[1].slider("Shift right (pixels)", -3, 3, 2, key="q1_dx")
    dy = c[2].slider("Shift down (pixels)", -3, 3, 0, key="q1_dy")
    d = demos.shifted_digit_demo(digit, dy, dx)
    images = [d["image"], d["shifted"]] + [demos.to_display(d[key]) for key in
              ("conv_map", "conv_shifted", "dense_map", "dense_shifted")]
    st.image(images, width=104, clamp=True, caption=["input", "shifted", "conv map",
             "conv map of shifted", "dense output", "dense output of shifted"],
             alt=theory_views.shifted_digit_alts(d, digit, dy, dx))
    gap = "‖f(shifted) − shifted f‖ / ‖f‖"
    metrics_ui([(f"Conv: {gap}", f"{d['conv_equivariance_error']:.1%}"),
                (f"Dense: {gap}", f"{d['dense_equivariance_error']:.1%}"),
                ("Conv + global max pool: change", f"{d['pooled_change']:.1%}")])


def reference_case_ui():
    c = st.columns(2)
    batch = c[0].number_input("Mini-batch size", 1, 4096, 50, key="q2_batch")
    dtype = c[1].selectbox("Number format", list(DTYPES), key="q2_dtype")
    report, b = demos.reference_case(int(batch), dtype)
    st.dataframe(pd.DataFrame(demos.layer_rows(report)), hide_index=True)
    metrics_ui([("Parameters", f"{report.total_params:,}"),
                ("Predict one image", f"{report.inference_bytes:,} B"),
                (f"Train, batch {b['batch_size']} (bare minimum)", f"{b['bare_minimum']:,} B")])
    st.caption(f"{format_bytes(report.inference_bytes)} to predict; "
               f"{format_bytes(b['bare_minimum'])} to train.")
    try:
        st.page_link("app_pages/calculator.py", label="Open this network in the calculator",
                     icon=":material/calculate:", query_params={"preset": "exercise2"})
    except StreamlitPageNotFoundError:  # page run on its own, outside the app's navigation
        st.markdown("[Open this network in the calculator](/calculator?preset=exercise2)")


def oom_fixes_ui():
    c = st.columns(3)
    name = c[0].selectbox("Network", list(PRESETS), format_func=PRESET_TITLES.get, key="q3_net")
    batch = c[1].number_input("Mini-batch size", 1, 4096, 32, key="q3_batch")
    opt = c[2].selectbox("Optimizer", list(OPTIMIZER_SLOTS), index=3, key="q3_opt")
    rows = oom_fixes(name, int(batch), opt)
    st.table(pd.DataFrame(rows).drop(columns="bytes"), hide_index=True, height=500)
    st.altair_chart(theory_views.oom_chart(rows), width="stretch",
                    alt=theory_views.oom_chart_alt(rows))


def pooling_vs_conv_ui():
    c = st.columns(4)
    shift = c[0].slider("Shift the photo (pixels)", 0, 3, 1, key="q4_shift")
    kernel = c[1].selectbox("Conv kernel", ["random (untrained)", "average"], key="q4_kernel")
    size = c[2].selectbox("Conv kernel size", [2, 3], key="q4_size")
    channels = c[3].number_input("Channels (for the counts)", 1, 1024, 64, key="q4_channels")
    r = demos.pooling_vs_strided_conv(shift, kernel, size, int(channels))
    st.image([demos.to_display(r[key]) for key in ("features", "pooled", "strided")], clamp=True,
             width=240, alt=theory_views.pooling_alts(r, kernel, size),
             caption=["edge map of the photo", "2×2 max pooling", "stride-2 convolution"])
    st.dataframe(pd.DataFrame(demos.pooling_rows(r, size, shift)), hide_index=True)
    st.caption(f"Conv parameters: {r['conv_working']}. FLOPs: 2 per multiply-accumulate, 1 per "
               f"comparison. The edge map itself changes by {r['feature_change']:.1%}. "
               "Photo: Chelsea the cat, Stefan van der Walt, CC0 (scikit-image).")


def lrn_ui():
    c = st.columns(5)
    peak = c[0].slider("Channel 3's activation", 0.0, 300.0, 100.0, key="q5_peak")
    n = c[1].selectbox("n", [1, 3, 5, 7, 9], index=2, key="q5_n")
    k = c[2].number_input("k", 0.0, 10.0, 2.0, key="q5_k")
    alpha = c[3].number_input("α", 0.0, 0.01, 1e-4, step=1e-5, format="%.5f", key="q5_alpha")
    beta = c[4].number_input("β", 0.0, 2.0, 0.75, key="q5_beta")
    lrn = demos.lrn_demo(peak, n, k, alpha, beta)
    rows = pd.DataFrame(lrn).set_index("channel")
    st.bar_chart(rows[["before", "after LRN"]], stack=False, alt=theory_views.lrn_chart_alt(lrn))
    st.dataframe(rows.style.format("{:.3f}"))
    st.caption(f"Each activation is divided by (k + α·Σ a²)^β over the {n} channels centred on "
               "it: the neighbours of the strong channel 3 are damped the most. TensorFlow "
               f"arguments for these settings: `{demos.tf_lrn_arguments(n, k, alpha, beta)}`; "
               f"PyTorch's LocalResponseNorm: `{demos.torch_lrn_arguments(n, k, alpha, beta)}`.")


def architectures_ui():
    st.table(pd.DataFrame(architectures), hide_index=True, height=600)
    st.markdown("**Try it:** a normal 'same' convolution vs a depthwise separable one (Xception).")
    r = arch.separable_vs_normal(*layer_size_ui("q6", 19, 728, 728))
    metrics_ui([("Normal convolution: parameters", f"{r['normal_params']:,}"),
                ("Depthwise separable: parameters", f"{r['separable_params']:,}"),
                ("Normal / separable", f"{r['normal_params'] / r['separable_params']:,.1f}×")])
    st.caption(f"Normal: {r['normal_working']}; {r['normal_macs']:,} multiply-adds. Separable: "
               f"{r['separable_working']}; {r['separable_macs']:,} multiply-adds. Counted by the "
               "calculator as DepthwiseConv2D (no bias) + 1×1 Conv2D, what Keras' SeparableConv2D "
               "holds.")


def quiz_ui(section):
    st.subheader("Self-check")
    choices = [st.radio(item.question, item.options, index=None, key=f"quiz{section.number}_{i}")
               for i, item in enumerate(section.quiz)]
    if st.toggle("Show the answers", key=f"reveal{section.number}"):
        for item, choice in zip(section.quiz, choices):
            verdict = "" if choice is None else (RIGHT if theory.is_correct(item, choice) else WRONG)
            st.markdown(f"{verdict}**{item.question}** — {item.options[item.answer]}. "
                        f"{item.explanation}")


RIGHT, WRONG = ":green[:material/check_circle: Right:] ", ":red[:material/cancel: Not this one:] "
DEMOS = {"dense_vs_conv": dense_vs_conv_ui, "reference_case": reference_case_ui,
         "oom_fixes": oom_fixes_ui, "pooling_vs_conv": pooling_vs_conv_ui, "lrn": lrn_ui,
         "architectures": architectures_ui}

st.title(":material/menu_book: Theory Q&A")
st.write("The classic CNN questions, answered with sources, with live demos computed by "
         "`cnn_core` and a self-check after each.")
sections, architectures = load_content()
query = st.text_input("Search the questions", placeholder="e.g. pooling, memory, ResNet",
                      key="theory_search")
shown = theory.search(sections, query)
if query.strip():
    st.caption(theory.match_summary(len(shown), len(sections), query))
if not shown:
    st.info(f"No question mentions “{query}”. Try another word.")
else:
    st.subheader("Contents", anchor="contents")
    st.markdown(theory.contents_markdown(shown))
for section in shown:
    st.header(theory.highlight(f"{section.number}. {section.title}", query),
              anchor=theory.anchor(section))
    st.markdown(theory.highlight(section.answer, query))
    with st.container(border=True):
        try:
            DEMOS[section.demo]()
        except CNNLabError as err:
            st.error(str(err))
    st.markdown("**References**\n\n" + theory.highlight(
        "\n".join(f"- {ref}" for ref in section.references), query))
    quiz_ui(section)
    st.markdown("[:material/arrow_upward: Contents](#contents)")
    st.divider()
