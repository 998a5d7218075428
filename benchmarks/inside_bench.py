"""Inside a CNN: every layer's maps for a new input, against the tutorials' way, same run.

    python benchmarks/inside_bench.py            # 20 new photos, 50 new digits
    python benchmarks/inside_bench.py --smoke    # 2 of each: proves it runs

Measured (median seconds, wall clock, after the models are compiled and warmed up):
  squeezenet_all_maps   all 39 layers' maps of SqueezeNet v1.1 for a photo never seen
                        (``InsideModel.look`` without the cache: ONE forward pass of the
                        multi-output model through OpenVINO, then every layer's pictures)
  mnist_all_maps        the same for the shipped MNIST CNN and a new digit (TensorFlow)
  switch_layer          showing another layer of a photo already looked at: the cached
                        pictures → that layer's grid as PNG (what the page does)
and beside each, the baseline of the tutorials: one Keras sub-model per layer
(``keras.Model(model.input, layer.output)``, built once, not timed), each called on the input
(``sub(x, training=False)``, cheaper than ``predict``), the same pictures made from its output;
switching a layer = that layer's sub-model called again and its grid made. Targets (issue 19):
SqueezeNet < 1 s, MNIST < 0.3 s, switching < 0.2 s. New inputs are the sample photos / test
digits with seeded noise added, so no cache can answer. The last line is one JSON object.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from cnn_core.inside import (imagenet_model, layer_maps, mosaic,  # noqa: E402
                             photo_input, shipped_digit_model)
from cnn_core.inside.inputs import InsideInput, pixels_digest  # noqa: E402
from cnn_core.mnist import load_mnist  # noqa: E402
from cnn_core.paths import DATA_DIR, MODELS_DIR  # noqa: E402


def new_inputs(base, count, kind, seed=19):
    """``count`` inputs no cache has seen: ``base`` pixels with seeded noise (±8 levels)."""
    rng = np.random.default_rng(seed)
    made = []
    for i in range(count):
        pixels = base[i % len(base)].astype(np.int16) + rng.integers(-8, 9, base[0].shape)
        pixels = np.clip(pixels, 0, 255).astype(np.uint8)
        made.append(InsideInput(f"new {i}", kind, pixels, pixels_digest(pixels)))
    return made


def tutorial_layers(model, activations):
    """One Keras sub-model per shown layer, the tutorials' way (built once, not timed)."""
    import keras

    return [keras.Model(model.model.inputs, layer.output) for layer in activations.keras_layers]


def tutorial_look(model, submodels, inp):
    inputs = model.preprocess(inp.pixels[None])
    return [layer_maps(info, np.asarray(sub(inputs, training=False))[0])
            for info, sub in zip(model.activations.layers, submodels)]


def median_seconds(function, inputs):
    times = []
    for inp in inputs:
        start = time.perf_counter()
        function(inp)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(model, inputs, warm):
    start = time.perf_counter()
    model.look(warm, cache=None)                          # builds, compiles, warms up
    compile_s = time.perf_counter() - start
    submodels = tutorial_layers(model, model.activations)
    tutorial_look(model, submodels, warm)                 # the baseline warmed up too
    ours = median_seconds(lambda inp: model.look(inp, cache=None), inputs)
    baseline = median_seconds(lambda inp: tutorial_look(model, submodels, inp), inputs)
    return compile_s, ours, baseline, submodels


def measure_switch(model, submodels, inp, layers):
    look = model.look(inp, cache=None)
    ours = statistics.median(timed(lambda i=i: mosaic(look.maps[i])) for i in layers)

    def tutorial(i):
        inputs = model.preprocess(inp.pixels[None])
        output = np.asarray(submodels[i](inputs, training=False))[0]
        mosaic(layer_maps(model.activations.layers[i], output))
    baseline = statistics.median(timed(lambda i=i: tutorial(i)) for i in layers)
    return ours, baseline


def timed(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=20)
    parser.add_argument("--digits", type=int, default=50)
    parser.add_argument("--smoke", action="store_true", help="2 photos, 2 digits")
    args = parser.parse_args()
    if args.smoke:
        args.photos = args.digits = 2
    load_start = os.getloadavg()[0]

    squeezenet = imagenet_model("squeezenet", MODELS_DIR / "squeezenet_v1_1.weights.h5")
    samples = sorted((DATA_DIR / "samples").glob("*.*[gG]"))
    bases = [photo_input(path, 227).pixels for path in samples]
    photos = new_inputs(bases, args.photos + 1, "photo")
    sq_compile, sq_ours, sq_base, sq_subs = measure(squeezenet, photos[1:], photos[0])
    print(f"SqueezeNet, all {len(squeezenet.activations.layers)} layers' maps of a new photo: "
          f"{sq_ours:.3f} s (one pass, OpenVINO) vs {sq_base:.3f} s (one Keras sub-model per "
          f"layer); compiled once in {sq_compile:.1f} s", flush=True)

    digits = load_mnist()[1][0][:max(args.digits, 1) + 1]
    mnist = shipped_digit_model()
    new_digits = new_inputs(digits, args.digits + 1, "digit")
    mn_compile, mn_ours, mn_base, _ = measure(mnist, new_digits[1:], new_digits[0])
    print(f"MNIST CNN, all {len(mnist.activations.layers)} layers' maps of a new digit: "
          f"{mn_ours:.4f} s vs {mn_base:.4f} s; built once in {mn_compile:.1f} s", flush=True)

    layers = range(len(squeezenet.activations.layers)) if not args.smoke else range(3)
    sw_ours, sw_base = measure_switch(squeezenet, sq_subs, photos[1], layers)
    print(f"SqueezeNet, switching layers (median over {len(layers)}): {sw_ours:.4f} s vs "
          f"{sw_base:.4f} s", flush=True)
    print(json.dumps({
        "squeezenet_all_maps_s": round(sq_ours, 4), "squeezenet_baseline_s": round(sq_base, 4),
        "squeezenet_compile_s": round(sq_compile, 2),
        "mnist_all_maps_s": round(mn_ours, 5), "mnist_baseline_s": round(mn_base, 5),
        "switch_layer_s": round(sw_ours, 5), "switch_layer_baseline_s": round(sw_base, 5),
        "photos": args.photos, "digits": args.digits, "cpus": os.cpu_count(),
        "load_start": round(load_start, 2), "load_end": round(os.getloadavg()[0], 2)}))


if __name__ == "__main__":
    main()
