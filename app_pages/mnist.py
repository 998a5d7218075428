"""MNIST training lab: pick a recipe, watch it train live, inspect its errors, try your digit."""

import streamlit as st

from cnn_core import CNNLabError, training
from cnn_core.calculator import analyze, format_bytes
from cnn_core.digits import predict_digit, preprocess_digit
from cnn_core.mnist_data import load_mnist
from cnn_core.presets import preset
from cnn_core.recipes import RECIPES

st.title("✍️ MNIST training lab")
st.caption("Real MNIST (60,000 training and 10,000 test digits, shipped with the app). "
           "Validation uses held-out training images; the test set is scored once, at the end.")
runs = st.session_state.setdefault("mnist_runs", [])


def settings_ui():
    """Recipe and its editable settings; returns (recipe name, settings, training examples)."""
    name = st.selectbox("Recipe", list(RECIPES), format_func=lambda n: RECIPES[n].title)
    default = RECIPES[name].settings
    c1, c2, c3, c4, c5 = st.columns(5)
    epochs = c1.number_input("Epochs", 1, 100, default.epochs, key=f"epochs_{name}")
    batch = c2.number_input("Batch size", 1, 4096, default.batch_size, key=f"batch_{name}")
    lr = c3.number_input("Learning rate", 1e-5, 1.0, default.learning_rate, format="%.4f",
                         key=f"lr_{name}")
    examples = c4.number_input("Training examples", 100, 60000 - default.holdout,
                               60000 - default.holdout, step=1000, key=f"examples_{name}")
    augment = c5.toggle("Augment (shift/rotate)", default.augment, key=f"aug_{name}")
    settings = default.with_changes(epochs=int(epochs), batch_size=int(batch),
                                    learning_rate=float(lr), augment=augment)
    report = analyze(*preset(RECIPES[name].preset), dtype=settings.calculator_dtype)
    memory = report.training_breakdown(settings.batch_size, "adam")["total"]
    st.caption(f"**{report.total_params:,} parameters** · training memory at batch "
               f"{settings.batch_size}: {format_bytes(memory)} (calculator, {settings.precision}"
               f", Adam) · {settings.schedule} learning rate · validation: {settings.validation}")
    return name, settings, None if examples == 60000 - default.holdout else int(examples)


def session_alive():
    """A callable telling the training thread whether this browser session is still open."""
    from streamlit import runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or not runtime.exists():
        return None  # AppTest or bare mode: no sessions to watch
    session_id, rt = ctx.session_id, runtime.get_instance()
    return lambda: rt.is_active_session(session_id)


def live_ui(run):
    """Progress, metrics and curves; polls the background thread while it trains."""
    latest = run.latest
    st.progress(latest.get("progress", 0.0), text=run.progress_text())
    m = st.columns(4)
    for col, key in zip(m, ("loss", "accuracy", "val_loss", "val_accuracy")):
        source = run.history[-1] if key.startswith("val") and run.history else latest
        col.metric(key.replace("_", " "), f"{source[key]:.4f}" if key in source else "–")
    c1, c2 = st.columns(2)
    c1.altair_chart(training.curves_chart(run.history, run.batches, "loss"))
    c2.altair_chart(training.curves_chart(run.history, run.batches, "accuracy"))
    if not run.done:
        st.button("⏹ Stop (keeps the model trained so far)", on_click=run.stop)
    elif st.session_state.get("mnist_live") is run:
        st.session_state.mnist_live = None
        st.rerun()  # the whole page: show the results section


def busy_ui(other):
    """Another session holds the server's training slot: say so, and look again every 3 s."""
    if training.active_run() is not other:
        st.rerun()  # it finished: enable the Train button
    st.warning(f"Another session is training {other.describe()}. One training runs at a time "
               "on this server; the Train button works again when it finishes.")


name, settings, examples = settings_ui()
other = training.active_run()
if other is not None and other not in runs:
    st.fragment(busy_ui, run_every=3.0)(other)
if st.button("▶ Train", type="primary", disabled=other is not None):
    try:
        run = training.start_training(name, settings, examples, keep_alive=session_alive())
        runs.append(run)
        st.session_state.mnist_live = run
    except CNNLabError as err:
        st.error(str(err))

if runs:
    run = runs[-1]
    if run.error:
        st.error(run.error)
    st.fragment(live_ui, run_every=None if run.done else 1.0)(run)

if runs and runs[-1].result is not None:
    run, result = runs[-1], runs[-1].result
    evaluation = result.evaluation
    st.header("Results on the test set")
    c1, c2, c3 = st.columns(3)
    c1.metric("test accuracy", f"{evaluation.accuracy:.2%}")
    c2.metric("test errors", f"{evaluation.errors} / {len(evaluation.labels):,}")
    c3.metric("training time", f"{result.seconds:.0f} s")
    c1, c2 = st.columns(2)
    c1.altair_chart(training.confusion_chart(evaluation.confusion))
    c2.altair_chart(training.per_class_chart(evaluation.per_class_accuracy))
    st.subheader("Misclassified test digits (most confident first)")
    x_test = load_mnist()[1][0]
    wrong = evaluation.misclassified(limit=24)
    st.image([x_test[w["index"]] for w in wrong], width=64, caption=[
        f"{w['true']}→{w['predicted']} ({w['confidence']:.0%})" for w in wrong])
    d1, d2 = st.columns(2)
    d1.download_button("Download model (.keras)", run.keras_file(),
                       f"mnist_{run.recipe_name}.keras", on_click="ignore")
    d2.download_button("Download history (CSV)", training.history_csv(run.history),
                       f"mnist_{run.recipe_name}_history.csv", "text/csv", on_click="ignore")

    st.header("Try it: your own digit")
    draw, upload = st.tabs(["Draw", "Upload a photo"])
    with draw:
        from streamlit_drawable_canvas import st_canvas

        canvas = st_canvas(stroke_width=18, stroke_color="#FFFFFF", background_color="#000000",
                           height=280, width=280, return_image_data=True, key="mnist_canvas")
        image = canvas.image_data if canvas is not None else None
    with upload:
        photo = st.file_uploader("A photo of one digit", type=["png", "jpg", "jpeg", "webp"])
    source = photo.getvalue() if photo is not None else image
    if source is not None:
        try:
            digit = preprocess_digit(source)
            c1, c2 = st.columns([1, 3])
            c1.image(digit, width=140, caption="as the network sees it (28×28)")
            probabilities = predict_digit(result.model, digit)
            c2.altair_chart(training.probabilities_chart(probabilities))
            c2.metric("prediction", f"{probabilities.argmax()} ({probabilities.max():.1%})")
        except CNNLabError as err:
            st.info(str(err))

if len(runs) > 1 or (runs and runs[0].done):
    st.header("This session's runs")
    st.dataframe([training.run_summary(r, i) for i, r in enumerate(runs, 1)])
    st.altair_chart(training.runs_chart(runs))
