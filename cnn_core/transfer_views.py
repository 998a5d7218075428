"""Charts and tables for the "Teach your own classes" page (Altair/pandas, no Streamlit):
live learning curves, the confusion matrix, per-class accuracy and a prediction's bars."""


def curves_chart(history, metric):
    """Training and validation ``metric`` ("loss" or "accuracy") per epoch, one line per fold."""
    import altair as alt
    import pandas as pd

    rows = []
    for row in history:
        fold = f"fold {row['fold']}" if row.get("fold") != "all" else "all images"
        for split, key in (("training", metric), ("validation", f"val_{metric}")):
            if key in row:
                rows.append({"epoch": row["epoch"], metric: row[key], "split": split,
                             "fold": fold})
    data = pd.DataFrame(rows, columns=["epoch", metric, "split", "fold"])
    scale = alt.Scale(domain=[0, 1]) if metric == "accuracy" else alt.Scale(zero=True)
    return alt.Chart(data).mark_line().encode(
        x=alt.X("epoch:Q"),
        y=alt.Y(f"{metric}:Q", scale=scale),
        color=alt.Color("split:N", legend=alt.Legend(orient="bottom")),
        strokeDash=alt.StrokeDash("split:N", legend=None),
        detail="fold:N",
        tooltip=["fold", "split", "epoch", alt.Tooltip(f"{metric}:Q", format=".3f")],
    )          # no fixed height: with a legend, Streamlit squashes the plot to fit it


def confusion_chart(classes, confusion):
    """Heatmap of counts: rows the true class, columns the predicted one, numbers written in."""
    import altair as alt
    import pandas as pd

    data = pd.DataFrame([{"true": t, "predicted": p, "images": int(confusion[i][j])}
                         for i, t in enumerate(classes) for j, p in enumerate(classes)])
    base = alt.Chart(data, title="Confusion matrix (validation)").encode(
        x=alt.X("predicted:N", sort=list(classes)), y=alt.Y("true:N", sort=list(classes)))
    cells = base.mark_rect().encode(color=alt.Color("images:Q", scale=alt.Scale(scheme="blues"),
                                                    legend=None), tooltip=["true", "predicted",
                                                                           "images"])
    text = base.mark_text(fontSize=14).encode(
        text="images:Q",
        color=alt.condition(alt.datum.images > max(1, int(max(map(max, confusion)))) / 2,
                            alt.value("white"), alt.value("black")))
    return (cells + text).properties(height=alt.Step(40))   # a fixed height squashes bands


def per_class_table(classes, confusion, per_class_accuracy):
    import pandas as pd

    return pd.DataFrame({"class": classes,
                         "validated images": [int(sum(row)) for row in confusion],
                         "right": [int(confusion[i][i]) for i in range(len(classes))],
                         "accuracy": [f"{a:.0%}" for a in per_class_accuracy]})



def prediction_chart(ranked, title):
    """The Classify page's bars (``classify_views.top_k_chart``, a Vega-Lite dict for
    ``st.vega_lite_chart``) for your classes, one 28-px step per class (a fixed height
    squashes the bars when there are only 2 or 3)."""
    from cnn_core.classify_views import top_k_chart

    return {**top_k_chart(ranked, title), "height": {"step": 28}}


def summary_metrics(fit, counts):
    """(label, value, help) for the results' metrics: ``fit`` a HeadFit, ``counts`` from
    ``cnn_core.transfer.parameter_counts``."""
    return [
        ("Validation accuracy", f"{fit.val_accuracy:.1%}", f"on {fit.val_images} images"),
        ("Trained on", f"{fit.train_images} images", "the photos the kept head learned from"),
        ("Training time", f"{fit.seconds:.1f} s",
         "all folds; the embeddings are computed as photos arrive"),
        ("Parameters: head / whole", f"{counts['head']:,} / {counts['whole']:,}",
         f"head {counts['head']:,} (the calculator's count; trainable) + frozen backbone "
         f"{counts['backbone']:,} (Keras' count) + preprocessing {counts['preprocessing']}"),
    ]


def misclassified_captions(fit):
    """Indices of the misclassified images and "true → predicted" for each."""
    wrong = fit.misclassified()
    return wrong, [f"{fit.classes[fit.labels[i]]} → {fit.classes[fit.predicted[i]]}"
                   for i in wrong]
