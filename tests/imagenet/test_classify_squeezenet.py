"""The bundled SqueezeNet v1.1 really classifies: its size against the published figure, its
shapes against the paper's architecture, real photos (a cat → a cat class), batching, Grad-CAM
locality, and bfloat16 agreeing with float32 without leaking a global dtype policy."""

import numpy as np
import pytest
from PIL import Image

from cnn_core.imagenet.classify import classify_sources
from cnn_core.imagenet.gradcam import heatmap_overlay
from cnn_core.imagenet.models import top_k
from cnn_core.imagenet.runtime import load_classifier
from cnn_core.imaging import prepare_image
from cnn_core.imagenet.squeezenet import fire_modules

SAMPLES = ["data/samples/cat_chelsea.png", "data/samples/raccoon.jpg",
           "data/samples/coffee_cup.png"]
DOMESTIC_CATS = set(range(281, 286))     # tabby, tiger cat, Persian, Siamese, Egyptian cat


@pytest.fixture(scope="module")
def squeezenet():
    return load_classifier("squeezenet", runtime="tensorflow")


@pytest.fixture(scope="module")
def sample_pixels():
    return np.stack([prepare_image(path, 227).pixels for path in SAMPLES])   # (3, 227, 227, 3)


def test_parameter_count_matches_published_and_hand_count(squeezenet):
    """1,235,496: torchvision's squeezenet1_1 table; by hand: conv1, 8 fire modules, conv10."""
    by_hand, channels = 3 * 3 * 3 * 64 + 64, 64
    for _, squeeze, expand in fire_modules:
        by_hand += channels * squeeze + squeeze                  # squeeze 1×1
        by_hand += squeeze * expand + expand                     # expand 1×1
        by_hand += 9 * squeeze * expand + expand                 # expand 3×3
        channels = 2 * expand
    by_hand += channels * 1000 + 1000                            # conv10
    assert squeezenet.model.count_params() == by_hand == 1_235_496


def test_feature_map_shapes_follow_the_paper(squeezenet):
    """227 → conv1 (3×3/2) 113 → pool 56 → pool 27 → pool 13; fire9 has 2·256 channels."""
    shape = lambda name: squeezenet.model.get_layer(name).output.shape[1:]   # noqa: E731
    assert shape("conv1") == (113, 113, 64) and shape("pool1") == (56, 56, 64)
    assert shape("fire9_concat") == (13, 13, 512) and shape("conv10") == (13, 13, 1000)


def test_cat_photo_gets_a_cat_class_in_the_top5(squeezenet):
    results, _ = classify_sources(squeezenet, ["data/samples/cat_chelsea.png"])
    top5 = {entry["index"] for entry in results[0].top}
    assert top5 & DOMESTIC_CATS, results[0].top
    assert results[0].top[0]["index"] in DOMESTIC_CATS


def test_coffee_photo_is_espresso(squeezenet):
    results, _ = classify_sources(squeezenet, ["data/samples/coffee_cup.png"], k=1)
    assert results[0].top[0]["label"] == "espresso"          # class 967


def test_batch_equals_single_and_keras_predict(squeezenet, sample_pixels):
    batch = squeezenet.predict(sample_pixels)
    singles = np.concatenate([squeezenet.predict(sample_pixels[i:i + 1]) for i in range(3)])
    np.testing.assert_allclose(batch, singles, atol=1e-5)
    reference = squeezenet.model(squeezenet.spec.preprocess(sample_pixels), training=False)
    np.testing.assert_allclose(batch, reference.numpy(), atol=1e-5)
    np.testing.assert_allclose(batch.sum(axis=1), 1.0, atol=1e-5)


def test_bad_file_in_a_batch_does_not_stop_the_others(squeezenet):
    results, seconds = classify_sources(squeezenet, [b"", "data/samples/cat_chelsea.png"],
                                        cache=None)
    assert results[0].error and results[1].top and seconds > 0


def test_grad_cam_looks_at_the_cat(squeezenet):
    """The cat on the left half of a grey canvas: the cat class's map weighs more on the left."""
    cat = Image.open("data/samples/cat_chelsea.png").convert("RGB").resize((227, 227))
    canvas = Image.new("RGB", (454, 454), (128, 128, 128))
    canvas.paste(cat, (0, 113))
    pixels = np.asarray(canvas.resize((227, 227)))
    top = top_k(squeezenet.predict(pixels[None])[0], 1)[0]
    cam = squeezenet.grad_cam(pixels, top["index"])
    assert cam.shape == (13, 13) and cam.min() >= 0 and cam.max() == pytest.approx(1.0)
    assert cam[:, :6].sum() > 2 * cam[:, 7:].sum()
    overlay = heatmap_overlay(Image.fromarray(pixels), cam)
    assert overlay.size == (227, 227) and overlay.mode == "RGB"


def test_bfloat16_keeps_the_top5_and_leaks_no_global_policy(squeezenet, sample_pixels):
    import keras

    policy_before = keras.config.dtype_policy().name
    fast = load_classifier("squeezenet", runtime="tensorflow", precision="bfloat16")
    assert keras.config.dtype_policy().name == policy_before == "float32"
    assert fast.forward.model.get_layer("conv1").compute_dtype == "bfloat16"
    assert fast.forward.model.get_layer("predictions").compute_dtype == "float32"
    assert fast.model.get_layer("conv1").compute_dtype == "float32"   # Grad-CAM's model
    for full, half in zip(squeezenet.predict(sample_pixels), fast.predict(sample_pixels)):
        assert [e["index"] for e in top_k(full)] == [e["index"] for e in top_k(half)]
    assert keras.layers.Dense(2).dtype_policy.name == "float32"   # new layers unaffected
