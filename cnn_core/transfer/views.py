"""Charts and tables for the "Teach your own classes" page, no Streamlit: live learning curves,
the confusion matrix, per-class accuracy and a prediction's bars. Charts are Vega-Lite
specifications (plain dicts, for ``st.vega_lite_chart``), as the Classify page's: built in
microseconds, without Altair's schema validation on every rerun. Each chart and picture has
an alternative text here, computed from its data (docs/accessibility.md); a prediction's bars
and Grad-CAM are the Classify page's (``cnn_core.imagenet.top_k_alt``, ``grad_cam_alt``)."""

# The lighter 65 % of Vega's "blues" (its darkest, #3b8ac2, is 5.6:1 with black text).
HEATMAP_SCHEME = {"name": "blues", "extent": [0, 0.65]}


def curves_chart(history, metric):
    """Training and validation ``metric`` ("loss" or "accuracy") per epoch, one line per fold.
    No fixed height: with a legend, Streamlit squashes a fixed-height plot to fit it."""
    rows = []
    for row in history:
        fold = f"fold {row['fold']}" if row.get("fold") != "all" else "all images"
        for split, key in (("training", metric), ("validation", f"val_{metric}")):
            if key in row:
                rows.append({"epoch": row["epoch"], metric: row[key], "split": split,
                             "fold": fold})
    scale = {"domain": [0, 1]} if metric == "accuracy" else {"zero": True}
    return {
        "data": {"values": rows},
        "mark": "line",
        "encoding": {
            "x": {"field": "epoch", "type": "quantitative"},
            "y": {"field": metric, "type": "quantitative", "scale": scale},
            "color": {"field": "split", "type": "nominal", "legend": {"orient": "bottom"}},
            "strokeDash": {"field": "split", "type": "nominal", "legend": None},
            "detail": {"field": "fold", "type": "nominal"},
            "tooltip": [{"field": "fold"}, {"field": "split"}, {"field": "epoch"},
                        {"field": metric, "type": "quantitative", "format": ".3f"}],
        },
    }


def confusion_chart(classes, confusion):
    """Heatmap of counts: rows the true class, columns the predicted one, numbers written in
    black; one 40-px step per class (a fixed height squashes the bands). The colours are the
    lighter part of "blues", so that black text passes 4.5:1 on every cell."""
    rows = [{"true": t, "predicted": p, "images": int(confusion[i][j])}
            for i, t in enumerate(classes) for j, p in enumerate(classes)]
    return {
        "title": "Confusion matrix (validation)",
        "data": {"values": rows},
        "height": {"step": 40},
        "encoding": {"x": {"field": "predicted", "type": "nominal", "sort": list(classes)},
                     "y": {"field": "true", "type": "nominal", "sort": list(classes)}},
        "layer": [
            {"mark": "rect",
             "encoding": {"color": {"field": "images", "type": "quantitative",
                                    "scale": {"scheme": HEATMAP_SCHEME}, "legend": None},
                          "tooltip": [{"field": "true"}, {"field": "predicted"},
                                      {"field": "images", "type": "quantitative"}]}},
            {"mark": {"type": "text", "fontSize": 14, "color": "black"},
             "encoding": {"text": {"field": "images", "type": "quantitative"}}},
        ],
    }


def per_class_table(classes, confusion, per_class_accuracy):
    import pandas as pd

    return pd.DataFrame({"class": classes,
                         "validated images": [int(sum(row)) for row in confusion],
                         "right": [int(confusion[i][i]) for i in range(len(classes))],
                         "accuracy": [f"{a:.0%}" for a in per_class_accuracy]})



def prediction_chart(ranked, title):
    """The Classify page's bars (``cnn_core.imagenet.top_k_chart``, a Vega-Lite dict for
    ``st.vega_lite_chart``) for your classes, one 28-px step per class (a fixed height
    squashes the bars when there are only 2 or 3)."""
    from cnn_core.imagenet import top_k_chart

    return {**top_k_chart(ranked, title), "height": {"step": 28}}


def summary_metrics(fit, counts):
    """(label, value, help) for the results' metrics: ``fit`` a HeadFit, ``counts`` from
    ``cnn_core.transfer.parameter_counts``."""
    return [
        ("Validation accuracy", f"{fit.val_accuracy:.1%}", f"on {fit.val_images} images"),
        ("Trained on", f"{fit.train_images} images", "the photos the kept head learned from"),
        ("Training time", f"{fit.seconds:.1f} s",
         "all folds; the embeddings are computed as photos arrive"),
        ("Head parameters", f"{counts['head']:,}", "the calculator's count; all trainable"),
    ]


def parameters_sentence(counts):
    """The whole exported model's parameter count, in words."""
    return (f"Whole model: {counts['whole']:,} parameters = frozen backbone "
            f"{counts['backbone']:,} (Keras' count: the calculator refuses branching networks) "
            f"+ preprocessing {counts['preprocessing']} + head {counts['head']:,} (calculator).")


def misclassified_captions(fit):
    """Indices of the misclassified images and "true → predicted" for each."""
    wrong = fit.misclassified()
    return wrong, [f"{fit.classes[fit.labels[i]]} → {fit.classes[fit.predicted[i]]}"
                   for i in wrong]


def curves_alt(history, metric):
    """What ``curves_chart`` shows: its axes and, at the last epoch, the training and
    validation ``metric`` (the mean over the folds)."""
    if not history:
        return f"Line chart of {metric} (y axis) per epoch (x axis): no epochs yet."
    last = max(row["epoch"] for row in history)
    rows = [row for row in history if row["epoch"] == last]
    said = []
    for split, key in (("training", metric), ("validation", f"val_{metric}")):
        values = [row[key] for row in rows if key in row]
        if values:
            mean = sum(values) / len(values)
            said.append(f"{split} {mean:.1%}" if metric == "accuracy" else f"{split} {mean:.3f}")
    folds = len({row.get("fold") for row in rows})
    per_fold = f", one line per fold ({folds} folds)" if folds > 1 else ""
    averaged = " (mean over the folds)" if folds > 1 else ""
    return (f"Line chart of {metric} (y axis) per epoch (x axis), training and validation"
            f"{per_fold}. At epoch {last}: {', '.join(said)}{averaged}.")


def confusion_alt(classes, confusion):
    """What ``confusion_chart`` shows: how many validated photos are right, and every kind of
    mistake with its count (at most 5, the commonest first)."""
    n = len(classes)
    right, total = sum(int(confusion[i][i]) for i in range(n)), int(sum(map(sum, confusion)))
    mistakes = sorted(((int(confusion[i][j]), classes[i], classes[j]) for i in range(n)
                       for j in range(n) if i != j and confusion[i][j]), key=lambda m: -m[0])
    said = "; ".join(f"“{t}” taken for “{p}” {count}×" for count, t, p in mistakes[:5])
    return (f"Confusion matrix (validation), true class (rows) against predicted class "
            f"(columns): {right} of {total} right. " + (f"Mistakes: {said}." if said
                                                         else "No mistakes."))


def thumbnail_alts(name, count):
    """The thumbnails of a class: what each is, from the class it was given to."""
    return [f"Photo {i} of {count} of the class “{name}”." for i in range(1, count + 1)]


def misclassified_alts(fit, wrong):
    """One text per misclassified photo (indices from ``misclassified_captions``)."""
    return [f"A photo of “{fit.classes[fit.labels[i]]}” that the head took for "
            f"“{fit.classes[fit.predicted[i]]}”, {fit.probabilities[i].max():.0%} sure."
            for i in wrong]
