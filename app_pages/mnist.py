"""MNIST training lab: pick a recipe, queue a training job, watch it live, inspect its errors,
try your own digit. Jobs run in worker processes (cnn_core.mnist.jobs), not here."""

import uuid

import streamlit as st

from cnn_core import CNNLabError
from cnn_core.calculator import analyze, format_bytes
from cnn_core.mnist import views
from cnn_core.mnist.data import load_mnist
from cnn_core.mnist.digits import predict_digit, preprocess_digit
from cnn_core.mnist.jobs import JobSpec
from cnn_core.mnist.queue import keep_recent_results, shared_queue
from cnn_core.mnist.recipes import RECIPES
from cnn_core.networks import preset

st.title(":material/draw: MNIST training lab")
st.caption("Real MNIST (60,000 training and 10,000 test digits, shipped with the app). "
           "Validation uses held-out training images; the test set is scored once, at the end.")
jobs = st.session_state.setdefault("mnist_runs", [])
owner = st.session_state.setdefault("mnist_owner", uuid.uuid4().hex)
try:
    queue = shared_queue()
except CNNLabError as err:               # a training setting of the server cannot be read
    st.error(str(err))
    st.stop()


def settings_ui():
    """Recipe, its editable settings, what to expect; returns the job's spec."""
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
    spec = JobSpec(name, settings, None if examples == 60000 - default.holdout else int(examples))
    figures = [f"about **{views.duration(queue.estimate(spec))}** on this server",
               f"{settings.schedule} learning rate", f"validation: {settings.validation}"]
    if getattr(RECIPES[name], "preset", None):
        report = analyze(*preset(RECIPES[name].preset), dtype=settings.calculator_dtype)
        memory = report.training_breakdown(settings.batch_size, "adam")["total"]
        figures[:0] = [f"**{report.total_params:,} parameters**", f"training memory at batch "
                       f"{settings.batch_size:,}: {format_bytes(memory)} (calculator, "
                       f"{settings.precision}, Adam)"]
    st.caption(" · ".join(figures))
    note = views.expectation_note(settings, spec.examples)
    if note:
        st.info(note, icon=":material/info:")
    return spec


def session_alive():
    """A callable telling the queue whether this browser session is still open."""
    from streamlit import runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or not runtime.exists():
        return None  # AppTest or bare mode: no sessions to watch
    session_id, rt = ctx.session_id, runtime.get_instance()
    return lambda: rt.is_active_session(session_id)


def live_ui(job):
    """Place in the queue or progress, Stop/Cancel beside it, figures and curves."""
    bar, button = st.columns([6, 1], vertical_alignment="bottom")
    bar.progress(job.latest.get("progress", 0.0), text=job.progress_text())
    if job.waiting and not job.latest:
        button.button("Cancel", icon=":material/close:", on_click=job.cancel,
                      help="leave the queue")
        st.caption(views.queue_text(queue.counts()))
    else:
        if not job.done:
            button.button("Stop", icon=":material/stop:", on_click=job.stop,
                          help="end at the next batch; keeps the model trained so far")
        for col, (label, value) in zip(st.columns(4), views.live_figures(job)):
            col.metric(label, value)
        c1, c2 = st.columns(2)
        for column, metric in ((c1, "loss"), (c2, "accuracy")):
            column.altair_chart(views.curves_chart(job.history, job.batches, metric),
                                alt=views.curves_alt(job.history, job.batches, metric))
    if job.done and st.session_state.get("mnist_live") is job:
        st.session_state.mnist_live = None
        st.rerun()  # the whole page: it draws the results section (and this area, unticked)


spec = settings_ui()
active = jobs[-1] if jobs and not jobs[-1].done else None
if st.button("Train", icon=":material/play_arrow:", type="primary", disabled=active is not None):
    try:
        job = queue.submit(spec, owner, keep_alive=session_alive())
        jobs.append(job)
        keep_recent_results(jobs)
        st.session_state.mnist_live = job
    except CNNLabError as err:
        st.error(str(err))

if jobs:
    job = jobs[-1]
    if job.error:
        st.error(job.error)
    if job.done:
        # Drawn as plain elements, not as a fragment: a once-a-second tick still in flight
        # from the browser then names a fragment this run did not register, and Streamlit
        # drops it. (Re-running the fragment after this run had drawn the results made the
        # browser lose the element right after it, e.g. the results' header, now and then.)
        st.session_state.mnist_live = None
        live_ui(job)
    else:
        st.fragment(live_ui, run_every=1.0)(job)

if jobs and jobs[-1].result is not None and jobs[-1].result.evaluation is not None:
    job, result = jobs[-1], jobs[-1].result
    evaluation = result.evaluation
    st.header("Results on the test set")
    c1, c2, c3 = st.columns(3)
    c1.metric("test accuracy", views.percent(evaluation.accuracy))
    c2.metric("test errors", f"{evaluation.errors:,} / {len(evaluation.labels):,}")
    c3.metric("training time", f"{result.seconds:,.0f} s")
    if result.members:
        st.dataframe(views.members_rows(result.members, evaluation.accuracy, evaluation.errors),
                     hide_index=True)
    c1, c2 = st.columns(2)
    c1.altair_chart(views.confusion_chart(evaluation.confusion),
                    alt=views.confusion_alt(evaluation.confusion))
    c2.altair_chart(views.per_class_chart(evaluation.per_class_accuracy),
                    alt=views.per_class_alt(evaluation.per_class_accuracy))
    st.subheader("Misclassified test digits (most confident first)")
    x_test = load_mnist()[1][0]
    wrong = evaluation.misclassified(limit=24)
    st.image([x_test[w["index"]] for w in wrong], width=64, caption=[
        f"{w['true']}→{w['predicted']} ({w['confidence']:.0%})" for w in wrong],
        alt=views.misclassified_alts(wrong))
    d1, d2 = st.columns(2)
    d1.download_button("Download model (.keras)", result.keras_file,
                       f"mnist_{job.spec.recipe_name}.keras", on_click="ignore",
                       icon=":material/download:")
    d2.download_button("Download history (CSV)", views.history_csv(job.history),
                       f"mnist_{job.spec.recipe_name}_history.csv", "text/csv",
                       on_click="ignore", icon=":material/download:")
    if st.button("Look inside this model", icon=":material/visibility:",
                 help="its feature maps, kernels and mistakes, layer by layer"):
        st.session_state["inside_model"] = f"run{len(jobs)}"
        st.switch_page("app_pages/inside.py")

    st.header("Try it: your own digit")
    draw, upload, test_digit = st.tabs(["Draw", "Upload a photo", "A test digit"])
    with draw:
        from streamlit_drawable_canvas import st_canvas

        st.caption("Draw a digit, white on black, large and centred, as in MNIST.")
        canvas = st_canvas(stroke_width=18, stroke_color="#FFFFFF", background_color="#000000",
                           height=280, width=280, return_image_data=True, key="mnist_canvas")
        image = canvas.image_data if canvas is not None else None
    with upload:
        photo = st.file_uploader("A photo of one digit", type=["png", "jpg", "jpeg", "webp"])
    with test_digit:                                  # no pointer, no file: type a number
        number = st.number_input(f"Test image number (0 to {len(x_test) - 1:,})", 0,
                                 len(x_test) - 1, None, placeholder="e.g. 7", key="mnist_test")
    source = (photo.getvalue() if photo is not None else
              x_test[number] if number is not None else image)
    if source is not None:
        try:
            digit = preprocess_digit(source)
            c1, c2 = st.columns([1, 3])
            probabilities = predict_digit(result.model(), digit)
            c1.image(digit, width=140, caption="as the network sees it (28×28)",
                     alt=views.digit_alt(probabilities))
            c2.altair_chart(views.probabilities_chart(probabilities),
                            alt=views.probabilities_alt(probabilities))
            c2.metric("prediction",
                      f"{probabilities.argmax()} ({views.percent(probabilities.max(), 1)})")
        except CNNLabError as err:
            st.info(str(err))

if len(jobs) > 1 or (jobs and jobs[0].done):
    st.header("This session's runs")
    st.dataframe([views.run_summary(j, i) for i, j in enumerate(jobs, 1)], hide_index=True)
    chart = views.runs_chart(jobs)
    if chart is not None:
        st.altair_chart(chart, alt=views.runs_alt(jobs))
