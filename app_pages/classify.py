"""Classify photos: upload, camera or bundled samples → the preprocessing as pictures → top-5,
then Grad-CAM and a second model side by side. Logic lives in cnn_core.imagenet (models:
which model serves; runtime: the shared OpenVINO runtime; classify: photos → top-5)."""

from functools import partial

import streamlit as st

from cnn_core.calculator import architecture_figures
from cnn_core.errors import CNNLabError
from cnn_core.imagenet import classify
from cnn_core.imagenet import models as imagenet_models
from cnn_core.imagenet import runtime as inference
from cnn_core.imagenet.views import grad_cam_alt, stage_alts, top_k_alt, top_k_chart
from cnn_core.imagenet.weights import downloads_allowed
from cnn_core.imaging import list_image_files
from cnn_core.paths import DATA_DIR

models = imagenet_models.models


def configured_weights(key):
    """A weights path from ``st.secrets`` (the environment variable is read by cnn_core)."""
    try:
        return st.secrets.get(models[key].env_var) or None
    except Exception:            # no secrets.toml on this server
        return None


@st.cache_resource(show_spinner="Loading and compiling the model (once per server)…")
def shared_classifier(key, weights, precision):
    classifier = inference.load_classifier(key, configured=weights, precision=precision,
                                           runtime=inference.server_runtime())
    classifier.warm_up()
    inference.freeze_long_lived_objects()       # later garbage collections skip the model
    return classifier


@st.cache_resource(show_spinner=False, max_entries=256)
def shared_grad_cam(key, weights, precision, digest, class_index, _pixels):
    """Grad-CAM keyed by the photo's digest, so reruns and other sessions reuse it."""
    return shared_classifier(key, weights, precision).grad_cam(_pixels, class_index)


def download_ui(key, where):
    """A button that downloads ``key``'s weights (size stated first), then its progress."""
    if not downloads_allowed():
        where.info("Downloads are turned off on this server: its operator adds weights files "
                   "instead (CNN Lab's docs/deploy.md says how).", icon=":material/block:")
        return
    job, size_mb = imagenet_models.weights_download_job(key), models[key].weights_bytes / 1e6
    if job is not None and job.succeeded:
        where.success(f"{job.title} weights downloaded and verified.", icon=":material/check:")
        return
    if job is None or job.error:
        if job is not None:
            where.error(job.error)
        if where.button(f"Download {models[key].title} weights ({size_mb:,.0f} MB)",
                        key=f"download_{key}", icon=":material/download:"):
            imagenet_models.download_model_weights(key)
            st.rerun()
        return

    @st.fragment(run_every=1.0 if not job.finished else None)
    def progress_ui():
        if job.finished:
            st.rerun()                                    # weights are here: whole page anew
        st.progress(job.fraction, text=f"Downloading {job.title}: {job.done_bytes / 1e6:,.1f} "
                                       f"of {size_mb:,.0f} MB (the page stays usable meanwhile)")
    with where:
        progress_ui()


st.title(":material/photo_camera: Classify photos")
st.write("Upload photos of animals (or anything), take one with the camera, or look at the "
         "samples: each is cropped, resized and scaled the way the network was trained, then "
         "classified into one of the 1000 ImageNet classes.")

bf16_ok, bf16_why = inference.bfloat16_support()
with st.sidebar:
    model_key = st.selectbox("Model", list(models), format_func=lambda k: models[k].title)
    precision = "bfloat16" if st.toggle(
        "bfloat16 inference", disabled=not bf16_ok, key="bf16",
        help=f"About 2× faster; same top-1 on the sample photos. {bf16_why[0].upper()}"
             f"{bf16_why[1:]}.") else "float32"
serving = imagenet_models.serving_model(model_key, configured_weights(model_key))
if serving.note:
    st.warning(f"**{models[model_key].title} is not available here**: its ImageNet weights are "
               f"not on this server. Showing the bundled **{models[serving.key].title}** instead "
               "(~58% top-1 on ImageNet).", icon=":material/warning:")
    download_ui(model_key, st)
    with st.expander("Other ways to make it available"):
        st.write("The server's operator can add the weights file (CNN Lab's docs/deploy.md says "
                 "how); the page uses it from then on.")
try:
    classifier = shared_classifier(serving.key, serving.weights, precision)
except CNNLabError as error:
    st.error(str(error))
    st.stop()
fallback = f" (fallback: {models[model_key].title} weights missing)" if serving.note else ""
with st.sidebar:
    st.caption(f":material/memory: **In use: {models[serving.key].title}**{fallback}, "
               f"{inference.runtime_titles[classifier.runtime]} {precision}, shared by every "
               "session." + ("" if bf16_ok else f" bfloat16 is not offered: {bf16_why}."))
    params, macs = architecture_figures(serving.key)
    st.caption(f":material/calculate: {params:,} parameters · {macs / 1e9:,.2f} G "
               "multiply-accumulates per photo")
    # a link in a caption shows no keyboard focus (tests/browser/test_browser_accessibility.py)
    st.markdown(f"[Open it in the calculator](/calculator?preset={serving.key})")

folder = st.toggle("Upload a whole folder")
uploads = st.file_uploader("Photos", accept_multiple_files="directory" if folder else True)
photo = st.camera_input("Take a photo") if st.toggle("Use the camera", key="camera") else None
sources = [*uploads, *([photo] if photo else [])]
if not sources:
    st.info("No upload yet: classifying the bundled sample photos (credits in data/samples).",
            icon=":material/photo_library:")
    sources = list_image_files(DATA_DIR / "samples")


@st.fragment
def results_ui(sources):
    """Top-5 of every photo first, then the heatmaps. Toggles here rerun only this part, and
    the shared cache answers for photos already classified: no forward pass. Only the sources
    (uploads, paths) are kept for the fragment's reruns, not the decoded pictures."""
    names = [getattr(source, "name", None) for source in sources]
    results, seconds = classify.classify_sources(classifier, sources, names=names)
    good = [result for result in results if result.top]
    for result in results:
        if result.error:
            st.error(result.error)
    if not good:
        return
    st.caption(":material/speed: " + classify.describe_timing(results, seconds))
    left, right = st.columns(2)
    show_cam = left.toggle("Grad-CAM heatmap", value=True, key="grad_cam")
    others = [key for key in models if key != serving.key and
              imagenet_models.find_weights(key, configured_weights(key)).path]
    compare_key = right.selectbox("Compare with", [None, *others], key="compare",
                                  format_func=lambda k: models[k].title if k else "—")
    for key in [k for k in models if k not in {serving.key, model_key, *others}]:
        download_ui(key, right.container())                  # offered, never fetched unasked
    if compare_key:
        other = shared_classifier(compare_key, imagenet_models.serving_model(
            compare_key, configured_weights(compare_key)).weights, precision)
        second = dict(zip(good, classify.classify_sources(
            other, [sources[results.index(r)] for r in good], names=[r.name for r in good])[0]))
    cams = []
    for result in good:
        with st.container(border=True):
            st.subheader(result.name)
            pictures = classify.stage_pictures(result)          # encoded once per photo
            for column, (picture, caption), alt in zip(st.columns(4), pictures,
                                                       stage_alts(result.name, pictures)):
                column.image(picture, caption=caption, width="stretch", alt=alt)
            st.caption(classify.describe_result(classifier, result))
            if st.button("Look inside the network for this photo", key=f"inside_{result.digest}",
                         icon=":material/visibility:"):
                st.session_state.update(
                    inside_model="classify", inside_photo_kind="The photo from Classify",
                    inside_photo=(result.name.rsplit("/", 1)[-1], result.image.pixels),
                    inside_classify=(serving.key, serving.weights))
                st.switch_page("app_pages/inside.py")
            columns = st.columns([3, 2, 3] if compare_key else [3, 2])
            title = classifier.spec.title
            columns[0].vega_lite_chart(spec=top_k_chart(result.top, title), width="stretch",
                                       height=220, alt=top_k_alt(result.name, result.top, title))
            if compare_key and second[result].top:
                columns[-1].vega_lite_chart(spec=top_k_chart(second[result].top, other.spec.title),
                                            width="stretch", height=220, alt=top_k_alt(
                                                result.name, second[result].top, other.spec.title))
            cams.append((result, columns[1].empty()))
    for result, slot in cams if show_cam else []:         # after every top-5 is on screen
        best = result.top[0]
        # TF's Grad-CAM, asked for only where the forward pass gave no map
        grad_cam = partial(shared_grad_cam, serving.key, serving.weights, precision,
                           result.digest, best["index"], result.image.pixels)
        picture = classify.heatmap_picture(classifier, result, best["index"], grad_cam)
        slot.image(picture, width="stretch",
                   caption=f"Grad-CAM: where {classifier.spec.title} saw “{best['label']}”",
                   alt=grad_cam_alt(result.name, best["label"], classifier.spec.title,
                                    classify.class_map(result, best["index"], grad_cam)))


results_ui(sources)
