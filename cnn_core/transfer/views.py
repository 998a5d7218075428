"""Charts and tables for the "Teach your own classes" page, no Streamlit: live learning curves,
the confusion matrix, per-class accuracy and a prediction's bars. Charts are Vega-Lite
specifications (plain dicts, for ``st.vega_lite_chart``), as the Classify page's: built in
microseconds, without Altair's schema validation on every rerun."""


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
    """Heatmap of counts: rows the true class, columns the predicted one, numbers written in;
    one 40-px step per class (a fixed height squashes the bands)."""
    rows = [{"true": t, "predicted": p, "images": int(confusion[i][j])}
            for i, t in enumerate(classes) for j, p in enumerate(classes)]
    half = max(1, max(max(row) for row in confusion)) / 2
    return {
        "title": "Confusion matrix (validation)",
        "data": {"values": rows},
        "height": {"step": 40},
        "encoding": {"x": {"field": "predicted", "type": "nominal", "sort": list(classes)},
                     "y": {"field": "true", "type": "nominal", "sort": list(classes)}},
        "layer": [
            {"mark": "rect",
             "encoding": {"color": {"field": "images", "type": "quantitative",
                                    "scale": {"scheme": "blues"}, "legend": None},
                          "tooltip": [{"field": "true"}, {"field": "predicted"},
                                      {"field": "images", "type": "quantitative"}]}},
            {"mark": {"type": "text", "fontSize": 14},
             "encoding": {"text": {"field": "images", "type": "quantitative"},
                          "color": {"condition": {"test": f"datum.images > {half}",
                                                  "value": "white"}, "value": "black"}}},
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
