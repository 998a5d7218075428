"""Classify photos: upload, camera or bundled samples → the preprocessing as pictures → top-5,
then Grad-CAM and a second model side by side. Logic lives in cnn_core (imagenet_models:
which model serves; inference: the shared OpenVINO runtime; classify: photos → top-5)."""

import streamlit as st

from cnn_core import classify, imagenet_models, inference
from cnn_core.classify_views import top_k_chart
from cnn_core.errors import CNNLabError
from cnn_core.gradcam import heatmap_overlay
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
    return classifier


@st.cache_resource(show_spinner=False, max_entries=256)
def shared_grad_cam(key, weights, precision, digest, class_index, _pixels):
    """Grad-CAM keyed by the photo's digest, so reruns and other sessions reuse it."""
    return shared_classifier(key, weights, precision).grad_cam(_pixels, class_index)


def ready(key):
    return imagenet_models.find_weights(key, configured_weights(key)).path is not None


def size_mb(key):
    return f"{models[key].weights_bytes / 1e6:,.0f} MB"


def download_ui(key, where):
    """A button that downloads ``key``'s weights (size stated first), then its progress."""
    job = imagenet_models.weights_download_job(key)
    if job is None or job.error:
        if job is not None:
            where.error(job.error)
        if where.button(f"Download {models[key].title} weights ({size_mb(key)})",
                        key=f"download_{key}", icon=":material/download:"):
            imagenet_models.download_model_weights(key)
            st.rerun()
        return

    @st.fragment(run_every=1.0 if not job.finished else None)
    def progress_ui():
        if job.finished:
            st.rerun()                                    # weights are here: whole page anew
        st.progress(job.fraction, text=f"Downloading {job.title}: "
                                       f"{job.done_bytes / 1e6:,.1f} of {size_mb(key)} "
                                       "(the page stays usable meanwhile)")
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
        st.write(f"Set `{models[model_key].env_var}` (environment or `st.secrets`) to a weights "
                 f"file, or put Keras' file in `~/.keras/models/`. Details: {serving.note}")
try:
    classifier = shared_classifier(serving.key, serving.weights, precision)
except CNNLabError as error:
    st.error(str(error))
    st.stop()
with st.sidebar:
    st.caption(f":material/memory: **In use: {models[serving.key].title}**"
               f"{' (fallback: ' + models[model_key].title + ' weights missing)' if serving.note else ''}"
               f", {classifier.runtime} {precision}, shared by every session.")
    if not bf16_ok:
        st.caption(f"bfloat16 is not offered: {bf16_why}.")

folder = st.toggle("Upload a whole folder")
uploads = st.file_uploader("Photos", accept_multiple_files="directory" if folder else True)
photo = st.camera_input("Take a photo") if st.toggle("Use the camera", key="camera") else None
sources = [*uploads, *([photo] if photo else [])]
if not sources:
    st.info("No upload yet: classifying the bundled sample photos (credits in data/samples).",
            icon=":material/photo_library:")
    sources = list_image_files(DATA_DIR / "samples")
names = [getattr(source, "name", None) for source in sources]
results, seconds = classify.classify_sources(classifier, sources, names=names)
good = [(source, result) for source, result in zip(sources, results) if result.top]
for result in results:
    if result.error:
        st.error(result.error)
computed = sum(not result.cached for _, result in good)
if good:
    st.caption(f":material/speed: {len(good):,} photo(s): " + (
        f"{computed:,} through the network, {1000 * seconds / computed:,.0f} ms per image; "
        if computed else "") + f"{len(good) - computed:,} already classified (same bytes, "
        "shared cache).")


@st.fragment
def results_ui(good):
    """Top-5 of every photo first, then the heatmaps; toggles here rerun only this part."""
    left, right = st.columns(2)
    show_cam = left.toggle("Grad-CAM heatmap", value=True, key="grad_cam")
    others = [key for key in models if key != serving.key and ready(key)]
    compare_key = right.selectbox("Compare with", [None, *others], key="compare",
                                  format_func=lambda k: models[k].title if k else "—")
    for key in models.keys() - {serving.key, model_key, *others}:    # offered, not fetched
        download_ui(key, right.container())
    second = {}
    if compare_key:
        other = shared_classifier(compare_key, imagenet_models.serving_model(
            compare_key, configured_weights(compare_key)).weights, precision)
        second = {id(r): o.top for (_, r), o in zip(good, classify.classify_sources(
            other, [s for s, _ in good], names=[r.name for _, r in good])[0])}
    cams = []
    for _, result in good:
        with st.container(border=True):
            st.subheader(result.name)
            pipeline_ui(result)
            columns = st.columns([3, 2, 3] if compare_key else [3, 2])
            columns[0].altair_chart(top_k_chart(result.top, models[serving.key].title),
                                    width="stretch", height=220)
            if compare_key and second.get(id(result)):
                columns[-1].altair_chart(top_k_chart(second[id(result)], models[compare_key].title),
                                         width="stretch", height=220)
            cams.append((result, columns[1].empty()))
    for result, slot in cams if show_cam else []:         # after every top-5 is on screen
        best = result.top[0]
        cam = shared_grad_cam(serving.key, serving.weights, precision, result.digest,
                              best["index"], result.image.pixels)
        slot.image(heatmap_overlay(result.image.resized, cam), width="stretch",
                   caption=f"Grad-CAM: where {models[serving.key].title} saw “{best['label']}”")


def pipeline_ui(result):
    image, best, side = result.image, result.top[0], classifier.spec.input_size
    width, height = image.original_size
    steps = [(image.original, f"Original {width:,}×{height:,} {image.original_mode} (EXIF applied)"),
             (image.rgb, "RGB, 8 bits, alpha on white"),
             (image.crop, f"Centre crop {image.crop_side:,}×{image.crop_side:,}"),
             (image.resized, f"Resized {side}×{side}")]
    for column, (picture, caption) in zip(st.columns(4), steps):
        column.image(picture, caption=caption, width="stretch")
    low, high = classify.value_range(classifier, image.pixels[None])
    notes = "; ".join(image.notes) or "nothing to convert"
    st.caption(f"{notes}. After scaling for {classifier.spec.title}: values in "
               f"[{low:.4f}, {high:.4f}] ({classifier.spec.value_range}). Top-1: "
               f"{best['label']}, {best['probability']:.1%} (ImageNet class {best['index']}).")


if good:
    results_ui(good)
