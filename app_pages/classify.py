"""Classify photos: upload, camera or bundled samples → the preprocessing as pictures → top-5,
inference time, Grad-CAM and a second model side by side. Logic lives in cnn_core.classify."""

import hashlib

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


@st.cache_resource(show_spinner="Looking for the model's weights (Keras download on first use)…")
def weights_status(key, configured):
    return imagenet_models.find_weights(key, configured)


@st.cache_resource(show_spinner="Loading the model…")
def cached_classifier(key, weights_path, precision):
    classifier = inference.load_classifier(key, configured=weights_path, precision=precision)
    classifier.warm_up()
    return classifier


@st.cache_resource(show_spinner="Classifying the sample photos…", max_entries=8)
def sample_results(key, weights, precision):
    """The bundled samples' results, computed once per model for all sessions."""
    paths = list_image_files(DATA_DIR / "samples")
    classifier = cached_classifier(key, weights, precision)
    return paths, *classify.classify_sources(classifier, paths, names=[p.name for p in paths])


@st.cache_resource(show_spinner=False, max_entries=256)
def cached_grad_cam(key, weights, precision, digest, class_index, _pixels):
    """Grad-CAM keyed by the image's digest, so reruns and other sessions reuse it."""
    return cached_classifier(key, weights, precision).grad_cam(_pixels, class_index)


def weights_path(key):
    return weights_status(key, configured_weights(key)).path


def classifier_ui(key, precision):
    """The model ``key``, or SqueezeNet with a visible banner when its weights are missing."""
    status = weights_status(key, configured_weights(key))
    if status.path is None:
        st.warning(f"**{models[key].title} is not available here**: its ImageNet weights are "
                   "not on this server and could not be downloaded. Showing the bundled "
                   "**SqueezeNet v1.1** instead (~58% top-1 on ImageNet).", icon="⚠️")
        with st.expander("How to make it available"):
            st.write(f"Set `{models[key].env_var}` (environment or `st.secrets`) to a weights "
                     "file, or put Keras' file in `~/.keras/models/`, then restart. "
                     f"Details: {status.message}")
        return classifier_ui("squeezenet", precision)
    try:
        return cached_classifier(key, str(status.path), precision)
    except CNNLabError as error:
        st.error(str(error))
        if key == "squeezenet":
            st.stop()
        return classifier_ui("squeezenet", precision)


def pipeline_ui(image, classifier):
    side = classifier.spec.input_size
    width, height = image.original_size
    steps = [(image.original, f"Original {width}×{height} {image.original_mode} (EXIF applied)"),
             (image.rgb, "RGB, 8 bits, alpha on white"),
             (image.crop, f"Centre crop {image.crop_side}×{image.crop_side}"),
             (image.resized, f"Resized {side}×{side}")]
    for column, (picture, caption) in zip(st.columns(4), steps):
        column.image(picture, caption=caption, width="stretch")
    low, high = classify.value_range(classifier, image.pixels[None])
    notes = "; ".join(image.notes) or "nothing to convert"
    st.caption(f"{notes}. After scaling for {classifier.spec.title}: values in "
               f"[{low:.4f}, {high:.4f}] ({classifier.spec.value_range}).")


def result_ui(result, classifier, second, show_cam):
    """One photo: pipeline pictures, top-5 chart, Grad-CAM, and ``second`` = (title, top)."""
    with st.container(border=True):
        st.subheader(result.name)
        pipeline_ui(result.image, classifier)
        columns = st.columns([3, 2, 3] if second else [3, 2])
        columns[0].altair_chart(top_k_chart(result.top, classifier.spec.title),
                                width="stretch", height=220)
        columns[0].caption(f"{result.top[0]['label']}: "
                           f"{result.top[0]['probability']:.1%} (ImageNet class "
                           f"{result.top[0]['index']})")
        if show_cam:
            best = result.top[0]
            pixels = result.image.pixels
            cam = cached_grad_cam(classifier.spec.key, str(weights_path(classifier.spec.key)),
                                  precision, hashlib.sha1(pixels.tobytes()).hexdigest(),
                                  best["index"], pixels)
            columns[1].image(heatmap_overlay(result.image.resized, cam),
                             caption=f"Grad-CAM: where {classifier.spec.title} saw "
                                     f"“{best['label']}”", width="stretch")
        if second:
            columns[-1].altair_chart(top_k_chart(second[1], second[0]), width="stretch",
                                     height=220)


st.title("📷 Classify photos")
st.write("Upload photos of animals (or anything), take one with the camera, or look at the "
         "samples: each is cropped, resized and scaled the way the network was trained, then "
         "classified into one of the 1000 ImageNet classes.")

with st.sidebar:
    model_key = st.selectbox("Model", list(models), format_func=lambda k: models[k].title)
    show_cam = st.toggle("Grad-CAM heatmap", value=True, key="grad_cam")
    precision = "bfloat16" if st.toggle(
        "bfloat16 inference", help="About 2× faster on CPUs with AVX512-BF16; the sample "
        "photos' top-5 is unchanged (see the benchmark).") else "float32"

classifier = classifier_ui(model_key, precision)
with st.sidebar:
    others = [key for key in models if key != classifier.spec.key and weights_path(key)]
    compare_key = st.selectbox("Compare with", [None, *others], key="compare",
                               format_func=lambda k: models[k].title if k else "—")
    if not others:
        st.caption("Side by side needs a second model's weights (see the README).")

folder = st.toggle("Upload a whole folder")
uploads = st.file_uploader("Photos", accept_multiple_files="directory" if folder else True)
photo = st.camera_input("Take a photo") if st.toggle("Use the camera", key="camera") else None
sources = [*uploads, *([photo] if photo else [])]
names = [source.name for source in sources]
if sources:
    results, seconds = classify.classify_sources(classifier, sources, names=names)
else:
    st.info("No upload yet: classifying the bundled sample photos (credits in data/samples).")
    sources, results, seconds = sample_results(classifier.spec.key,
                                               str(weights_path(classifier.spec.key)), precision)
good = [(source, result) for source, result in zip(sources, results) if result.top]
if good:
    st.metric("Inference time", f"{1000 * seconds / len(good):.0f} ms per image",
              help=f"{len(good)} image(s) in one batched forward pass: {1000 * seconds:.0f} ms")
second = {}
if compare_key and good:
    try:
        other_classifier = cached_classifier(compare_key, str(weights_path(compare_key)), precision)
        other_results, _ = classify.classify_sources(other_classifier, [s for s, _ in good])
        second = {id(result): (other_classifier.spec.title, other.top)
                  for (_, result), other in zip(good, other_results) if other.top}
    except CNNLabError as error:
        st.error(str(error))
for result in results:
    if result.error:
        st.error(result.error)
    else:
        result_ui(result, classifier, second.get(id(result)), show_cam)
