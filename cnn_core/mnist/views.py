"""What the MNIST page shows about training jobs: tables, texts and Altair charts, and the
alternative texts of its charts and pictures (what each shows, from its data).

No Streamlit here (the page draws these), no TensorFlow. Percentages are written one way
("99.12%"), counts with thousands separators ("10,000"); legends sit outside the plots.
"""

from __future__ import annotations

import math

import numpy as np

CLASSES = 10
HISTORY_COLUMNS = ("member", "epoch", "x", "complete", "loss", "accuracy", "val_loss",
                   "val_accuracy", "learning_rate", "seconds")
FEW_STEPS = 400  # fewer optimizer steps than this: the page warns what to expect


# -- texts and tables -----------------------------------------------------------------------------

def percent(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}%}"


def duration(seconds: float) -> str:
    """'45 s', '4 min', '1 h 05 min' (rounded: these are estimates)."""
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    hours, minutes = divmod(round(seconds / 60), 60)
    return f"{hours} h {minutes:02d} min"


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def expectation_note(settings, examples: int) -> str | None:
    """What to expect from a short run: few examples (or epochs) mean few optimizer steps."""
    steps = math.ceil(examples / settings.batch_size) * settings.epochs
    if steps >= FEW_STEPS:
        return None
    return (f"Only {steps:,} optimizer steps ({examples:,} examples, batch {settings.batch_size}, "
            f"{settings.epochs} epoch{'s' * (settings.epochs != 1)}): expect well below the 99% "
            "the full data set reaches — often 50–95% here, varying from run to run (batch "
            "norm's statistics and the learning-rate schedule need more steps). More examples, "
            "more epochs or a smaller batch help.")


def live_figures(job) -> list[tuple[str, str]]:
    """(label, value) of the running figures and the last epoch's validation figures."""
    figures = []
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        source = job.history[-1] if key.startswith("val") and job.history else job.latest
        value = source.get(key)
        figures.append((key.replace("_", " "), "–" if value is None else
                        percent(value) if "accuracy" in key else f"{value:.4f}"))
    return figures


def queue_text(counts: dict) -> str:
    return (f"{counts['waiting']:,} waiting · {counts['training']:,} training · "
            f"{counts['slots']:,} {counts['executor']} worker slot(s)")


def history_frame(history: list[dict]):
    """One row per epoch (a stopped epoch is kept with complete=False); x = epochs trained."""
    import pandas as pd

    return pd.DataFrame([{k: row.get(k) for k in HISTORY_COLUMNS} for row in history],
                        columns=list(HISTORY_COLUMNS))


def history_csv(history: list[dict]) -> str:
    return history_frame(history).to_csv(index=False)


def run_summary(job, number: int) -> dict:
    """One row of the session's table of runs (strings: formatted one way)."""
    s, last = job.spec.settings, (job.history[-1] if job.history else {})
    result = job.result
    return {
        "run": f"#{number} {job.spec.recipe_name}", "state": job.state,
        "epochs": f"{sum(bool(r.get('complete')) for r in job.history)}/{job.total_epochs}",
        "examples": f"{job.spec.examples:,}", "batch": f"{s.batch_size:,}",
        "lr": f"{s.learning_rate:g}", "augment": "yes" if s.augment else "no",
        "val acc": percent(last.get("val_accuracy")),
        "test acc": percent(result.accuracy if result else None),
        "test errors": f"{result.errors:,}" if result and result.errors is not None else "–",
        "fit s": f"{result.seconds:,.1f}" if result else "–",
    }


def members_rows(members: list[dict], combined_accuracy: float | None,
                 combined_errors: int | None) -> list[dict]:
    """An ensemble's members and their combination: the gain is the last row's difference."""
    rows = [{"model": (m.get("name") or f"member {i}")
                      + (f" ({m['recipe']}, seed {m.get('seed')})" if m.get("recipe") else ""),
             "test acc": percent(m.get("test_accuracy")),
             "test errors": f"{m['errors']:,}" if m.get("errors") is not None else "–",
             "fit s": f"{m['fit_seconds']:,.1f}" if m.get("fit_seconds") is not None else "–"}
            for i, m in enumerate(members, 1)]
    rows.append({"model": "ensemble (probabilities averaged)",
                 "test acc": percent(combined_accuracy),
                 "test errors": f"{combined_errors:,}" if combined_errors is not None else "–",
                 "fit s": f"{sum(m.get('fit_seconds') or 0 for m in members):,.1f}"})
    return rows


# -- charts ---------------------------------------------------------------------------------------

def _legend_outside():
    import altair as alt

    return alt.Legend(orient="right", title=None)


def curve_rows(history: list[dict], batches: list[dict], metric: str) -> tuple[list[dict], str]:
    """The points of the 'loss'/'accuracy' curves ({epochs, metric, series}) and the chart's
    title: for an ensemble, only the member training now."""
    member = (batches[-1] if batches else history[-1] if history else {}).get("member")
    same = (lambda e: e.get("member") == member)
    rows = [{"epochs": b["x"], metric: b[metric], "series": "train (running mean)"}
            for b in batches if metric in b and same(b)]
    rows += [{"epochs": h["x"], metric: h[f"val_{metric}"], "series": "validation"}
             for h in history if f"val_{metric}" in h and same(h)]
    return rows, metric if member is None else f"{metric} · member {member}"


def curves_chart(history: list[dict], batches: list[dict], metric: str):
    """Training (running mean within each epoch) and validation curves of 'loss'/'accuracy';
    for an ensemble, the member training now."""
    import altair as alt
    import pandas as pd

    rows, title = curve_rows(history, batches, metric)
    data = pd.DataFrame(rows, columns=["epochs", metric, "series"])
    y_axis = alt.Axis(format=".0%") if metric == "accuracy" else alt.Axis()
    return (
        alt.Chart(data, title=title, height=260)
        .mark_line(point=alt.OverlayMarkDef(size=30))
        .encode(x=alt.X("epochs:Q", title="epochs", axis=alt.Axis(tickMinStep=1)),
                y=alt.Y(f"{metric}:Q", scale=alt.Scale(zero=False), axis=y_axis),
                color=alt.Color("series:N", legend=_legend_outside()))
    )


def confusion_chart(confusion: np.ndarray):
    """Heatmap: rows true digit, columns predicted; counts written in black in the cells, on
    the lighter 65 % of "blues" (its darkest, #3b8ac2, is 5.6:1 with black)."""
    import altair as alt
    import pandas as pd

    data = pd.DataFrame([{"true": t, "predicted": p, "count": int(confusion[t, p])}
                         for t in range(CLASSES) for p in range(CLASSES)])
    base = alt.Chart(data, title="confusion matrix (test set)", height=320, width=320)
    cells = base.mark_rect().encode(
        x="predicted:O", y="true:O",
        color=alt.Color("count:Q", scale=alt.Scale(type="symlog", scheme=alt.SchemeParams(
                            "blues", extent=[0, 0.65])),
                        legend=alt.Legend(orient="right", format=",d")),
        tooltip=["true", "predicted", alt.Tooltip("count:Q", format=",d")])
    text = base.mark_text(fontSize=10, color="black").encode(
        x="predicted:O", y="true:O", text=alt.Text("count:Q", format=",d"))
    return cells + text


def per_class_chart(per_class_accuracy: np.ndarray):
    import altair as alt
    import pandas as pd

    data = pd.DataFrame({"digit": range(CLASSES), "accuracy": per_class_accuracy})
    low = float(min(per_class_accuracy.min(), 0.99)) - 0.005
    bars = alt.Chart(data, title="accuracy per digit (test set)", height=320).mark_bar(
        clip=True).encode(
        x="digit:O", y=alt.Y("accuracy:Q", scale=alt.Scale(domain=[low, 1]),
                             axis=alt.Axis(format=".1%")),
        tooltip=["digit", alt.Tooltip("accuracy:Q", format=".2%")])
    labels = bars.mark_text(dy=-6, fontSize=10).encode(text=alt.Text("accuracy:Q", format=".1%"))
    return bars + labels


def runs_chart(jobs: list):
    """The validation accuracy of the session's runs, overlaid; None while fewer than two runs
    have a validated epoch (one run's dot compares nothing)."""
    import altair as alt
    import pandas as pd

    rows = [{"epochs": h["x"], "val_accuracy": h["val_accuracy"],
             "run": f"#{i} {job.spec.recipe_name}"}
            for i, job in enumerate(jobs, 1) for h in job.history
            if "val_accuracy" in h and h.get("member") in (None, 1)]
    data = pd.DataFrame(rows, columns=["epochs", "val_accuracy", "run"])
    if data["run"].nunique() < 2:
        return None
    return alt.Chart(data, title="validation accuracy of this session's runs", height=260) \
        .mark_line(point=True).encode(
            x=alt.X("epochs:Q", axis=alt.Axis(tickMinStep=1)),
            color=alt.Color("run:N", legend=alt.Legend(orient="right", title=None)),
            y=alt.Y("val_accuracy:Q", title="validation accuracy", scale=alt.Scale(zero=False),
                    axis=alt.Axis(format=".1%")),
            tooltip=["run", alt.Tooltip("val_accuracy:Q", format=".2%")])


def probabilities_chart(probabilities: np.ndarray):
    import altair as alt
    import pandas as pd

    data = pd.DataFrame({"digit": range(CLASSES), "probability": probabilities})
    bars = alt.Chart(data, height=220).mark_bar().encode(
        x="digit:O", y=alt.Y("probability:Q", scale=alt.Scale(domain=[0, 1]),
                             axis=alt.Axis(format=".0%")),
        tooltip=["digit", alt.Tooltip("probability:Q", format=".1%")])
    return bars + bars.mark_text(dy=-6, fontSize=10).encode(
        text=alt.Text("probability:Q", format=".0%"))


# -- alternative texts (docs/accessibility.md) ----------------------------------------------------

def _value(metric: str, value: float) -> str:
    return percent(value) if "accuracy" in metric else f"{value:.4f}"


def curves_alt(history: list[dict], batches: list[dict], metric: str) -> str:
    """What ``curves_chart`` shows: its axes and each series' first and last point."""
    rows, title = curve_rows(history, batches, metric)
    said = []
    for series in ("train (running mean)", "validation"):
        points = [r for r in rows if r["series"] == series]
        if points:
            first, last = points[0], points[-1]
            said.append(f"{series} from {_value(metric, first[metric])} at epoch "
                        f"{round(first['epochs'], 2):g} to {_value(metric, last[metric])} at "
                        f"epoch {round(last['epochs'], 2):g}")
    return (f"Line chart of {title} (y axis) against epochs (x axis): "
            + ("; ".join(said) if said else "no points yet") + ".")


def confusion_alt(confusion: np.ndarray) -> str:
    """What ``confusion_chart`` shows: how many digits are right, and the commonest mistakes."""
    confusion = np.asarray(confusion)
    right, total = int(np.trace(confusion)), int(confusion.sum())
    mistakes = [(int(confusion[t, p]), t, p) for t in range(CLASSES) for p in range(CLASSES)
                if t != p and confusion[t, p]]
    common = ", ".join(f"{t} read as {p} ({count:,} times)"
                       for count, t, p in sorted(mistakes, key=lambda m: -m[0])[:3])
    return (f"Confusion matrix of the test set, true digit (rows) against predicted digit "
            f"(columns): {right:,} of {total:,} on the diagonal (right)."
            + (f" Commonest mistakes: {common}." if common else " No mistakes."))


def per_class_alt(per_class_accuracy: np.ndarray) -> str:
    """What ``per_class_chart`` shows: every digit's test accuracy."""
    bars = ", ".join(f"{digit}: {percent(a, 1)}" for digit, a in enumerate(per_class_accuracy))
    worst = int(np.argmin(per_class_accuracy))
    return (f"Bar chart of test accuracy (y axis) per digit (x axis): {bars}. Lowest: digit "
            f"{worst}.")


def probabilities_alt(probabilities: np.ndarray) -> str:
    """What ``probabilities_chart`` shows: the three most probable digits."""
    top = np.argsort(-np.asarray(probabilities), kind="stable")[:3]
    said = ", ".join(f"{d} {percent(probabilities[d], 1)}" for d in top)
    return f"Bar chart of the network's probability (y axis) for each digit (x axis): {said}, …"


def runs_alt(jobs: list) -> str:
    """What ``runs_chart`` shows: each run's last validation accuracy."""
    said = []
    for i, job in enumerate(jobs, 1):
        validated = [h for h in job.history if "val_accuracy" in h and h.get("member") in (None, 1)]
        if validated:
            said.append(f"#{i} {job.spec.recipe_name} {percent(validated[-1]['val_accuracy'])} "
                        f"at epoch {validated[-1]['x']:g}")
    return ("Line chart of validation accuracy (y axis) against epochs (x axis), one line per run: "
            + "; ".join(said) + ".")


def misclassified_alts(wrong: list[dict]) -> list[str]:
    """One text per misclassified test digit (``Evaluation.misclassified`` rows)."""
    return [f"Test digit {w['true']} (test image {w['index']:,}) that the network read as "
            f"{w['predicted']}, {percent(w['confidence'], 0)} sure." for w in wrong]


def digit_alt(probabilities: np.ndarray) -> str:
    """Your digit as the network sees it, and what it reads."""
    best = int(np.argmax(probabilities))
    return (f"Your digit, white on black, centred and scaled to 28×28 pixels as the network sees "
            f"it; read as {best} ({percent(probabilities[best], 1)}).")
