"""The penultimate layer of a digit model in two dimensions: principal component analysis of
its activations for test digits, the model's mistakes marked.

The penultimate layer is the input of the model's last layer (the vector the classifier
reads). PCA: the activations centred, their two leading right singular vectors (numpy's SVD)
as axes; ``explained`` = each axis' share of the total variance.

Interface:
    penultimate_pca(model, preprocess, digits uint8 (n, 28, 28), labels) → Projection(points
        (n, 2), labels, predicted, explained (2,))
    projection_chart(projection) → Vega-Lite spec; projection_alt(projection) → its text
TensorFlow is imported inside.
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Projection:
    points: np.ndarray       # float32 (n, 2)
    labels: np.ndarray       # (n,) true digits
    predicted: np.ndarray    # (n,) the model's reading
    explained: np.ndarray    # (2,) share of the variance on each axis

    @property
    def mistakes(self):
        return int((self.labels != self.predicted).sum())


def principal_components(activations, count=2):
    """(points (n, count), explained (count,)) of ``activations`` (n, features)."""
    centred = np.asarray(activations, np.float64)
    centred = centred - centred.mean(axis=0)
    _, singular, axes = np.linalg.svd(centred, full_matrices=False)
    variance = singular ** 2
    return (centred @ axes[:count].T).astype(np.float32), (variance[:count] / variance.sum())


def penultimate_pca(model, preprocess, digits, labels):
    import keras

    reader = keras.Model(model.inputs, [model.layers[-1].input, model.outputs[0]])
    features, probabilities = reader(preprocess(digits), training=False)
    features = np.asarray(features).reshape(len(digits), -1)
    points, explained = principal_components(features)
    return Projection(points, np.asarray(labels), np.asarray(probabilities).argmax(axis=1),
                      explained)


def projection_chart(projection):
    rows = [{"x": float(x), "y": float(y), "digit": str(t), "read as": str(p),
             "mistake": "mistake" if t != p else "right"}
            for (x, y), t, p in zip(projection.points, projection.labels, projection.predicted)]
    first, second = (f"{share:.0%}" for share in projection.explained)
    return {"data": {"values": rows}, "height": 420, "layer": [
        {"mark": {"type": "point", "filled": True, "size": 12, "opacity": 0.5},
         "transform": [{"filter": "datum.mistake == 'right'"}]},
        {"mark": {"type": "point", "shape": "cross", "filled": True, "size": 80,
                  "color": "black"},
         "transform": [{"filter": "datum.mistake == 'mistake'"}]}],
        "encoding": {"x": {"field": "x", "type": "quantitative",
                           "title": f"first principal component ({first} of the variance)"},
                     "y": {"field": "y", "type": "quantitative",
                           "title": f"second principal component ({second})"},
                     "color": {"field": "digit", "type": "nominal", "title": "true digit"},
                     "tooltip": [{"field": "digit"}, {"field": "read as"}]}}


def projection_alt(projection):
    centres = "; ".join(
        f"{d}: ({projection.points[projection.labels == d, 0].mean():.1f}, "
        f"{projection.points[projection.labels == d, 1].mean():.1f})"
        for d in np.unique(projection.labels))
    return (f"Scatter plot of {len(projection.labels):,} test digits' penultimate-layer "
            f"activations on their first two principal components ({projection.explained[0]:.0%}"
            f" and {projection.explained[1]:.0%} of the variance), one colour per true digit; "
            f"{projection.mistakes} mistakes marked with black crosses. Each digit's centre: "
            f"{centres}.")
