"""A transfer model (cnn_core.transfer: preprocessing → SqueezeNet's conv base → pooling → a
Sequential head) is opened layer by layer: its maps equal Keras' and its last output is the
model's own prediction; the first convolution reads the preprocessing layer's BGR output."""

import numpy as np
import pytest

from cnn_core.inside import photo_input, transfer_inside_model
from cnn_core.transfer import Backbone, HeadSettings, TransferModel

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def transfer_model():
    from cnn_core.transfer.head import build_head

    backbone = Backbone("squeezenet", "data/models/squeezenet_v1_1.weights.h5",
                        runtime="tensorflow")
    head = build_head(backbone.features, 2, HeadSettings(hidden_units=8))
    return TransferModel("squeezenet", ["cat", "cup"], backbone.preprocessing(),
                         backbone.conv_base, head)


def test_a_transfer_model_is_opened_layer_by_layer(transfer_model):
    model = transfer_inside_model(transfer_model, runtime="tensorflow")
    names = [layer.name for layer in model.activations.layers]
    assert names[0] == "preprocessing" and names[1] == "conv1"
    assert "fire9_concat" in names and "embedding" in names and len(names) > 40
    assert model.activations.feeds[1] == 0                       # conv1 reads the BGR layer
    assert model.bgr and model.kind == "photo"
    photo = photo_input("data/samples/cat_chelsea.png", 227)
    look = model.look(photo, cache=None)
    expected = transfer_model.predict(photo.pixels[None])[0]
    np.testing.assert_allclose(look.probabilities, expected, atol=1e-5)
    bgr = photo.pixels[..., ::-1].astype(np.float32) - np.array([103.939, 116.779, 123.68])
    np.testing.assert_allclose(look.conv_input, bgr, atol=1e-3)
    conv1 = np.asarray(transfer_model.conv_base.get_layer("conv1")(bgr[None]))[0]
    np.testing.assert_allclose(look.conv_output, conv1, atol=1e-3)
