"""The photo pipeline in cnn_core.imaging: every image mode ends as (size, size, 3) uint8 RGB,
with values checked by hand (alpha on white, 16-bit rescaled, EXIF rotation, centre crop), and
every bad file is refused with a message naming it. Images are generated here."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from cnn_core.errors import CNNLabError
from cnn_core.imaging import centre_crop, list_image_files, max_pixels, prepare_image

RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)


def encode(image, fmt="PNG", **options):
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_rgb48(samples):
    """A 16-bit-per-channel RGB PNG written by hand (Pillow cannot save one): (h, w, 3) uint16."""
    height, width, _ = samples.shape
    rows = b"".join(b"\x00" + samples[y].astype(">u2").tobytes() for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
            + png_chunk(b"IDAT", zlib.compress(rows)) + png_chunk(b"IEND", b""))


def solid(mode, colour, size=(64, 48)):
    return Image.new(mode, size, colour)


# --- every mode → 8-bit RGB -----------------------------------------------------------------

@pytest.mark.parametrize("mode, colour, expected", [
    ("RGB", RED, RED),
    ("L", 128, (128, 128, 128)),
    ("1", 1, WHITE),
    ("RGBA", (255, 0, 0, 255), RED),             # opaque: unchanged
    ("RGBA", (255, 0, 0, 0), WHITE),             # fully transparent: the white background
    ("LA", (0, 0), WHITE),
    ("I;16", 65535, WHITE),                      # 16-bit full scale → 255
    ("I;16", 32896, (128, 128, 128)),            # 32896 / 257 = 128 exactly
    ("I", 257 * 200, (200, 200, 200)),           # 32-bit integer holding 16-bit data (TIFF)
])
def test_modes_become_rgb_uint8(mode, colour, expected):
    data = encode(solid(mode, colour), "TIFF" if mode == "I" else "PNG")
    prepared = prepare_image(data, 299, name=f"{mode}.img")
    assert prepared.pixels.shape == (299, 299, 3) and prepared.pixels.dtype == np.uint8
    assert tuple(prepared.pixels[150, 150]) == expected
    assert prepared.original_mode == Image.open(io.BytesIO(data)).mode


def test_half_transparent_alpha_blends_with_white():
    """Red at alpha 128 over white: 255·(128/255) + 255·(127/255) = 255 red, 127 green/blue."""
    prepared = prepare_image(encode(solid("RGBA", (255, 0, 0, 128))), 64, name="half.png")
    assert np.abs(prepared.pixels[32, 32].astype(int) - [255, 127, 127]).max() <= 1
    assert "transparency composited on white" in prepared.notes


def test_palette_with_transparent_index_goes_white():
    image = Image.new("P", (64, 64), 0)
    image.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)    # index 0 red, 1 blue
    image.paste(1, (32, 0, 64, 64))                           # right half blue
    prepared = prepare_image(encode(image, transparency=0), 64, name="palette.png")
    assert tuple(prepared.pixels[32, 10]) == WHITE          # transparent red → white
    assert tuple(prepared.pixels[32, 54]) == BLUE


def test_cmyk_jpeg_converted_to_rgb():
    """Pure red in CMYK is (C, M, Y, K) = (0, 255, 255, 0)."""
    data = encode(solid("CMYK", (0, 255, 255, 0)), "JPEG", quality=95)
    prepared = prepare_image(data, 299, name="cmyk.jpg")
    assert prepared.original_mode == "CMYK"
    assert np.abs(prepared.pixels[150, 150].astype(int) - RED).max() <= 3


def test_48_bit_rgb_png_keeps_the_high_byte():
    samples = np.zeros((40, 40, 3), np.uint16)
    samples[..., 0], samples[..., 1], samples[..., 2] = 0xFFFF, 0x8000, 0x00FF
    prepared = prepare_image(png_rgb48(samples), 40, name="deep.png")
    assert tuple(prepared.pixels[20, 20]) == (255, 128, 0)


def test_exif_orientation_is_applied():
    """Stored 64×32 with red on the left; orientation 6 means "rotate 90° clockwise to view":
    viewed it is 32 wide, 64 high, red on top."""
    image = solid("RGB", BLUE, (64, 32))
    image.paste(RED, (0, 0, 32, 32))
    exif = Image.Exif()
    exif[0x0112] = 6
    prepared = prepare_image(encode(image, exif=exif), 64, name="rotated.png")
    assert prepared.original_size == (64, 32)          # as stored in the file
    assert prepared.rgb.size == (32, 64)
    rgb = np.asarray(prepared.rgb)
    assert tuple(rgb[5, 16]) == RED and tuple(rgb[58, 16]) == BLUE
    assert "EXIF orientation 6 applied" in prepared.notes


def test_centre_crop_keeps_the_middle_square():
    columns = np.tile(np.arange(100, dtype=np.uint8), (50, 1))      # pixel value = x
    crop = centre_crop(Image.fromarray(columns))
    assert crop.size == (50, 50)
    assert np.asarray(crop)[0, 0] == 25 and np.asarray(crop)[0, -1] == 74


def test_resize_is_exact_size_for_any_aspect():
    for size in [(4000, 40), (40, 3000), (333, 777)]:
        prepared = prepare_image(encode(solid("RGB", RED, size)), 227, name="wide.png")
        assert prepared.resized.size == (227, 227) and prepared.crop_side == min(size)
        assert prepared.crop.size[0] == prepared.crop.size[1]


def test_animated_gif_uses_the_first_frame():
    frames = [solid("RGB", colour) for colour in (RED, (0, 255, 0), BLUE)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    assert Image.open(io.BytesIO(data)).n_frames == 3
    prepared = prepare_image(data, 64, name="anim.gif")
    assert tuple(prepared.pixels[32, 32]) == RED
    assert prepared.notes[0].startswith("animated (3 frames)")


def test_large_jpeg_is_decoded_reduced_and_kept_display_sized():
    """A 4000×3000 JPEG: decoded at 1/2 scale by the JPEG draft mode (2000×1500 ≥ 1024), kept
    at ≤ 1024 px for display; the crop's side is still reported in the photo's pixels."""
    gradient = np.tile(np.linspace(0, 255, 4000).astype(np.uint8), (3000, 1))
    data = encode(Image.fromarray(gradient).convert("RGB"), "JPEG", quality=95)
    prepared = prepare_image(data, 299, name="big.jpg")
    assert prepared.original_size == (4000, 3000) and prepared.crop_side == 3000
    assert max(prepared.original.size) == 1024 and max(prepared.crop.size) <= 1024
    full = np.asarray(Image.open(io.BytesIO(data)).convert("RGB").crop((500, 0, 3500, 3000))
                      .resize((299, 299), Image.Resampling.BICUBIC), dtype=int)
    assert np.abs(prepared.pixels.astype(int) - full).mean() < 2     # same picture, faster


# --- bad files: a clear message naming the file ----------------------------------------------

def truncated(fmt):
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    data = encode(Image.fromarray(noise), fmt)
    return data[: len(data) // 2]


@pytest.mark.parametrize("name, data, reason", [
    ("empty.jpg", b"", "empty"),
    ("notes.jpg", b"shopping list: milk, eggs\n", "not an image"),
    ("half.jpg", truncated("JPEG"), "truncated or corrupt"),
    ("half.png", truncated("PNG"), "truncated or corrupt"),
    ("logo.svg", b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "SVG"),
    ("dot.png", encode(solid("RGB", RED, (1, 1))), "1×1"),
    ("strip.png", encode(solid("RGB", RED, (5000, 8))), "5000×8"),
])
def test_bad_files_are_refused_by_name(name, data, reason):
    with pytest.raises(CNNLabError) as error:
        prepare_image(data, 299, name=name)
    assert str(error.value).startswith(f"{name}: ") and reason in str(error.value)


def test_pixel_limit_is_checked_from_the_header():
    """A PNG header claiming 8000×8000 = 64 MP with no pixel data: refused by the pixel count
    (if it were decoded, the missing data would give a 'truncated' error instead)."""
    ihdr = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 8000, 8000, 8, 2, 0, 0, 0))
    data = b"\x89PNG\r\n\x1a\n" + ihdr + png_chunk(b"IEND", b"")
    assert 8000 * 8000 > max_pixels
    with pytest.raises(CNNLabError, match="refused before decoding"):
        prepare_image(data, 299, name="bomb.png")


def test_missing_path_and_folder_listing(tmp_path):
    (tmp_path / "a.JPG").write_bytes(encode(solid("RGB", RED), "JPEG"))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.png").write_bytes(encode(solid("RGB", RED)))
    (tmp_path / "readme.txt").write_text("not a photo")
    (tmp_path / ".hidden.png").write_bytes(b"")
    assert list_image_files(tmp_path) == [tmp_path / "a.JPG", tmp_path / "sub" / "b.png"]
    with pytest.raises(CNNLabError, match="cannot be read"):
        prepare_image(tmp_path / "missing.jpg", 299)
