"""Teach your own classes: photos per class → frozen backbone embeddings → a small head
trained live → validation results → try it → one .keras file. Logic: cnn_core.transfer."""

import hashlib

import streamlit as st

from cnn_core import transfer
from cnn_core.errors import CNNLabError
from cnn_core.imagenet import freeze_long_lived_objects, grad_cam_alt, heatmap_overlay, top_k_alt
from cnn_core.imaging import prepare_image
from cnn_core.transfer import views
from cnn_core.transfer.data import (TeachingSet, folders_root, load_class_folders, max_classes,
                                    max_images_per_class, server_folder)
from cnn_core.transfer.embed import Backbone, backbone_choice
from cnn_core.transfer.finetune import fine_tune
from cnn_core.transfer.head import HeadSettings
from cnn_core.transfer.model import load_transfer_model

state = st.session_state


@st.cache_resource(show_spinner="Loading the backbone (once for the whole server)…")
def shared_backbone(key, weights):
    backbone = Backbone(key, weights)
    freeze_long_lived_objects()                 # later garbage collections skip the model
    return backbone


def report(problems):
    """Messages shown after the rerun (which empties the uploaders and the camera)."""
    state["transfer_messages"] = state.get("transfer_messages", []) + list(problems)
    state["transfer_nonce"] = nonce + 1
    st.rerun()


def add_images(name, sources):
    report(teaching.add_images(name, sources, backbone.embed))


def remove_picked(name):
    for digest in state[f"rm_{name}"]:
        teaching.remove_image(name, digest)
    state[f"rm_{name}"] = []


def settings_ui():
    with st.sidebar:
        st.subheader("Head")
        hidden = st.select_slider("Hidden units", [0, 32, 64, 128, 256], 0,
                                  help="0: the softmax reads the embedding directly")
        epochs = st.slider("Epochs", 5, 200, HeadSettings.epochs)
        rate = st.select_slider("Learning rate", [1e-4, 3e-4, 1e-3, 3e-3, 1e-2], 1e-3)
        augment = st.toggle("Augment (flips, crops, rotations, colour)", help="also train on "
                            f"{transfer.augment_copies} altered copies of each training photo")
    return HeadSettings(hidden_units=hidden, epochs=epochs, learning_rate=rate,
                        augment_copies=transfer.augment_copies if augment else 0)


def import_ui():
    upload = st.sidebar.file_uploader("Import a model exported here (.keras)", type=["keras"],
                                      max_upload_size=200, key="transfer_import")
    if upload is None or state.get("transfer_imported") == upload.file_id:
        return
    state["transfer_imported"] = upload.file_id
    try:
        model = load_transfer_model(upload.getvalue(), upload.name)
    except CNNLabError as error:
        st.sidebar.error(str(error))
        return
    state["transfer_set"] = transfer.restore_classes(teaching, model)
    state["transfer_result"] = {"model": model, "fit": None}
    report([f"{upload.name}: classes {', '.join(model.classes)} restored; add photos and train "
            "again, or try the imported model below."])


def class_ui(name, examples, folders):
    with st.container(border=True):
        top = st.columns([5, 1])
        top[0].markdown(f"**{name}** · {len(examples)} of {max_images_per_class} images")
        top[1].button("Remove class", key=f"drop_{name}", icon=":material/delete:",
                      on_click=teaching.remove_class, args=(name,))
        files = st.file_uploader(f"Photos of {name}", key=f"up_{name}_{nonce}",
                                 accept_multiple_files="directory" if folders else True)
        if files:
            add_images(name, files)
        if examples:
            st.image([e.thumbnail for e in examples], width=72,
                     caption=[e.name[:10] for e in examples],
                     alt=views.thumbnail_alts(name, len(examples)))
            names = {e.digest: e.name for e in examples}
            st.multiselect("Remove an image", names, format_func=names.get, key=f"rm_{name}",
                           on_change=remove_picked, args=(name,))


def collect_ui():
    with st.form("new_class", clear_on_submit=True, border=False):
        left, right = st.columns([5, 1], vertical_alignment="bottom")
        name = left.text_input(f"New class (2 to {max_classes})", placeholder="e.g. mug")
        if right.form_submit_button("Add class", icon=":material/add:"):
            try:
                teaching.add_class(name)
            except CNNLabError as error:
                st.error(str(error))
    if (root := folders_root()) is not None:
        with st.expander("Or load a folder from the server (one subfolder per class)"):
            path = st.text_input("Folder, inside the server's teaching folder",
                                 help="Its operator chose that folder (docs/deploy.md).")
            if st.button("Load folder", icon=":material/folder_open:") and path:
                try:
                    state["transfer_set"], problems = load_class_folders(
                        server_folder(path, root), backbone.key, backbone.input_size,
                        backbone.embed, label=path)
                    report(problems)
                except CNNLabError as error:
                    st.error(str(error))
    folders = bool(teaching.classes) and st.toggle("Upload whole folders", key="transfer_folders")
    for name, examples in list(teaching.classes.items()):
        class_ui(name, examples, folders)
    if teaching.classes and st.toggle("Add photos from the camera", key="transfer_camera"):
        target = st.selectbox("Add the shot to", teaching.class_names)
        if shot := st.camera_input("Take a photo", key=f"cam_{nonce}"):
            add_images(target, [shot])


def train_ui(settings):
    try:
        teaching.check_trainable()
    except CNNLabError as error:
        return st.info(str(error), icon=":material/info:")
    if not st.button("Train", type="primary", icon=":material/play_arrow:"):
        return
    progress, history = st.progress(0.0, "Training…"), []
    live = [column.empty() for column in st.columns(2)]

    def on_progress(row):
        history.append(row)
        if row["epoch"] % 10 == 0 or row["epoch"] == settings.epochs:
            progress.progress(row["epoch"] / settings.epochs,
                              f"Fold {row['fold']}: epoch {row['epoch']}")
            for place, metric in zip(live, ("loss", "accuracy")):
                place.vega_lite_chart(spec=views.curves_chart(history, metric), width="stretch",
                                      alt=views.curves_alt(history, metric))

    with st.spinner("Training (altered copies are embedded first)…"):
        fit, model = transfer.teach(teaching, backbone, settings, on_progress)
    state["transfer_result"] = {"fit": fit, "model": model, "examples": teaching.arrays()[2],
                                "settings": settings}
    st.rerun()


def results_ui(fit, examples, settings):
    st.subheader("Results")
    st.caption(f"Validation: {fit.plan.describe()}.")
    counts = transfer.parameter_counts(backbone, fit.classes, settings)
    for column, (label, value, note) in zip(st.columns(4), views.summary_metrics(fit, counts)):
        column.metric(label, value, help=note)
    st.caption(views.parameters_sentence(counts))
    left, right = st.columns(2)
    for column, metric in zip((left, right), ("loss", "accuracy")):
        column.markdown(f"**{metric.capitalize()}** per epoch (one line per fold)")
        column.vega_lite_chart(spec=views.curves_chart(fit.history, metric), width="stretch",
                               alt=views.curves_alt(fit.history, metric))
    left.vega_lite_chart(spec=views.confusion_chart(fit.classes, fit.confusion), width="stretch",
                         alt=views.confusion_alt(fit.classes, fit.confusion))
    right.dataframe(views.per_class_table(fit.classes, fit.confusion, fit.per_class_accuracy),
                    hide_index=True)
    wrong, captions = views.misclassified_captions(fit)
    right.caption("Misclassified (true → predicted):" if captions else "Misclassified: none.")
    if captions:
        right.image([examples[i].thumbnail for i in wrong], width=72, caption=captions,
                    alt=views.misclassified_alts(fit, wrong))


def fine_tune_ui(result):
    with st.expander("Fine-tune the backbone's top block (optional, Géron's second step)"):
        st.caption("A copy of the backbone for you: its top block unfrozen, 3 epochs at learning "
                   "rate 1e-5 on the training photos; the same held-out photos before and after.")
        try:
            if st.button("Fine-tune", icon=":material/tune:"):
                with st.spinner("Fine-tuning (about a minute)…"):
                    result["tuned"] = fine_tune(result["model"], result["examples"], result["fit"])
        except CNNLabError as error:
            st.error(str(error))
        if tuned := result.get("tuned"):
            before, after = st.columns(2)
            before.metric("Validation accuracy, head only", f"{tuned.before:.1%}")
            after.metric("After fine-tuning", f"{tuned.after:.1%}",
                         help=f"{tuned.trainable_params:,} parameters trained, {tuned.seconds:.0f} s")


def try_ui(model):
    st.subheader("Try it")
    files = st.file_uploader("New photos", accept_multiple_files=True, key="transfer_try")
    camera = st.toggle("Camera", key="try_camera")
    shot = st.camera_input("Take one", key="try_shot") if camera else None
    for source in [*files, *([shot] if shot else [])]:
        try:
            image = prepare_image(source, model.spec.input_size)
        except CNNLabError as error:
            st.error(str(error))
            continue
        top = transfer.ranked(model.predict(image.pixels[None])[0], model.classes, 10)
        left, right = st.columns([3, 2])
        left.vega_lite_chart(spec=views.prediction_chart(top, image.name), width="stretch",
                             alt=top_k_alt(image.name, top, "your model"))
        chosen = right.selectbox("Grad-CAM for", model.classes, index=top[0]["index"],
                                 key=f"cam_{hashlib.sha1(image.pixels.tobytes()).hexdigest()}")
        cam = model.grad_cam(image.pixels, model.classes.index(chosen))
        right.image(heatmap_overlay(image.resized, cam), caption=f"Where it saw “{chosen}”",
                    width=240, alt=grad_cam_alt(image.name, chosen, "your model", cam))
    if st.button("Look inside your model", icon=":material/visibility:"):
        st.session_state["inside_model"] = "transfer"
        st.switch_page("app_pages/inside.py")
    if st.button("Open this model in the calculator", icon=":material/calculate:"):
        st.session_state["calc_handoff_json"] = model.model.to_json()  # its architecture only
        st.switch_page("app_pages/calculator.py")
    st.download_button("Download the model (.keras)", model.to_bytes, "my_classes.keras",
                       icon=":material/download:", help="One file: preprocessing, backbone and "
                       "head; keras.models.load_model(path, safe_mode=True) reads it; it takes "
                       "RGB 0–255.")


st.title(":material/school: Teach your own classes")
st.write("Transfer learning: a network pretrained on ImageNet stays frozen and turns each photo "
         "into an embedding; a small new classifier (the head) learns your classes from them. "
         f"Up to {max_classes} classes and {max_images_per_class} photos per class; only "
         "thumbnails and embeddings are kept.")
serving = backbone_choice()
backbone = shared_backbone(serving.key, serving.weights)
st.caption(f"Backbone: **{backbone.spec.title}** (frozen); embedding = global average of "
           f"`{backbone.spec.gradcam_layer}` = **{backbone.features} features**. "
           f"{serving.note[:1].upper() + serving.note[1:]}")
teaching = state.get("transfer_set")
if teaching is None or teaching.backbone != backbone.key:
    teaching = state["transfer_set"] = TeachingSet(backbone.key, backbone.input_size)
nonce = state.get("transfer_nonce", 0)
settings = settings_ui()
import_ui()
for message in state.pop("transfer_messages", []):
    st.warning(message, icon=":material/warning:")
collect_ui()
train_ui(settings)
if (result := state.get("transfer_result")) and result["fit"] is not None:
    results_ui(result["fit"], result["examples"], result["settings"])
    fine_tune_ui(result)
if result:
    try_ui(result["tuned"].model if result.get("tuned") else result["model"])
