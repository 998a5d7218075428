"""From a photo file to the pixels a CNN expects, one visible step at a time.

    bytes ──open──▶ original (EXIF orientation applied, first frame of an animation)
          ──to RGB──▶ 3 channels, 8 bits (alpha composited on white; palette, CMYK, 16-bit,
                      grayscale converted)
          ──centre crop──▶ the largest centred square
          ──resize──▶ size×size (299 for Inception v3, 227 for SqueezeNet), uint8

Scaling to the model's value range (e.g. [−1, 1] for Inception v3) is the model's own step, in
``cnn_core.classify``. Every problem with a file raises ``CNNLabError`` naming the file.
Only Pillow and numpy are needed here.
"""

import io
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from cnn_core.errors import CNNLabError

max_pixels = 50_000_000    # a 48-megapixel phone photo passes; a decompression bomb does not
min_side = 32              # a smaller photo holds too little to classify
display_side = 1024        # longest side of the "original" picture kept for display
image_suffixes = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp"}

# Errors Pillow raises for truncated or corrupt data while decoding.
decode_errors = (OSError, SyntaxError, EOFError, ValueError, zlib.error, IndexError)


@dataclass
class PreparedImage:
    """One photo and every stage of its preprocessing (PIL images for display)."""

    name: str
    original: Image.Image        # EXIF-rotated, first frame; RGBA if it had alpha (≤ 1024 px)
    rgb: Image.Image             # 3 × 8-bit channels, alpha composited on white (≤ 1024 px)
    crop: Image.Image            # centred square of ``rgb`` (≤ 1024 px)
    resized: Image.Image         # crop resized to size × size
    original_size: tuple         # (width, height) as stored in the file
    original_mode: str           # Pillow mode in the file: "RGB", "P", "CMYK", "I;16", ...
    notes: list = field(default_factory=list)   # what the pipeline had to do, in words

    @property
    def crop_side(self):
        """Side of the centre crop in the photo's own pixels (before any display scaling)."""
        return min(self.original_size)

    @property
    def pixels(self):
        """(size, size, 3) uint8 RGB array, ready for a model's own scaling."""
        return np.asarray(self.resized, dtype=np.uint8)

    def stages(self):
        """[(picture, caption)] of every step, in order, for display."""
        width, height = self.original_size
        side = self.resized.size[0]
        return [(self.original, f"Original {width:,}×{height:,} {self.original_mode} "
                                "(EXIF applied)"),
                (self.rgb, "RGB, 8 bits, alpha on white"),
                (self.crop, f"Centre crop {self.crop_side:,}×{self.crop_side:,}"),
                (self.resized, f"Resized {side}×{side}")]


def jpeg_bytes(picture, quality, max_side=None):
    """A PIL image as JPEG bytes, alpha composited on white; shrunk (Lanczos) to fit
    ``max_side`` px first if given."""
    if max_side is not None and max(picture.size) > max_side:
        picture = picture.copy()
        picture.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    if picture.mode != "RGB":
        rgba = picture.convert("RGBA")
        picture = Image.new("RGB", rgba.size, "white")
        picture.paste(rgba, mask=rgba.getchannel("A"))
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def read_bytes(source):
    """(name, bytes) from a path, raw bytes, or a file-like upload with ``.name``."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        if path.is_dir():
            raise CNNLabError(f"{path.name}: is a folder with no image files in it.",
                              server_detail=str(path))
        try:
            return path.name, path.read_bytes()
        except OSError as error:
            raise CNNLabError(f"{path.name}: cannot be read ({error.strerror or 'no access'}).",
                              server_detail=str(path)) from None
    if isinstance(source, bytes):
        return "image", source
    return getattr(source, "name", "upload"), source.getvalue()


def open_image(data, name):
    """Decode ``data`` into a loaded PIL image, EXIF orientation applied, first frame only;
    returns (image, the EXIF orientation it had: 1 = none).

    The pixel count is checked from the header before any pixel is decoded, so a
    decompression bomb (a tiny file that expands to gigabytes) is refused cheaply.
    """
    if len(data) == 0:
        raise CNNLabError(f"{name}: the file is empty (0 bytes).")
    head = data[:512].lstrip().lower()
    if head.startswith(b"<svg") or (head.startswith(b"<?xml") and b"<svg" in data[:4096].lower()):
        raise CNNLabError(f"{name}: is an SVG drawing (vector graphics); export it as PNG or JPEG.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)   # our limit is lower
        try:
            image = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError:
            raise CNNLabError(f"{name}: has far too many pixels to open safely "
                              f"(limit {max_pixels:,}).") from None
        except UnidentifiedImageError:
            raise CNNLabError(f"{name}: is not an image file this app can read "
                              "(JPEG, PNG, GIF, BMP, TIFF or WebP).") from None
        except decode_errors as error:
            raise CNNLabError(f"{name}: is corrupt and cannot be opened ({error}).") from None
    width, height = image.size
    if width * height > max_pixels:
        raise CNNLabError(f"{name}: is {width:,}×{height:,} = {width * height:,} pixels, more than "
                          f"the {max_pixels:,} this app opens (refused before decoding).")
    if min(width, height) < min_side:
        raise CNNLabError(f"{name}: is only {width}×{height} pixels; a photo needs at least "
                          f"{min_side} pixels on each side to be classified.")
    try:
        image.seek(0)          # first frame of an animated GIF/WebP/APNG
        if image.format == "JPEG":   # decode at 1/2, 1/4 or 1/8 scale, still ≥ display_side
            image.draft(None, (display_side, display_side))
        image.load()
        orientation = image.getexif().get(0x0112, 1)    # loaded: a PNG's eXIf chunk is read
        image = ImageOps.exif_transpose(image)
    except decode_errors as error:
        raise CNNLabError(f"{name}: is truncated or corrupt ({error}).") from None
    return image, orientation


def has_alpha(image):
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        image.mode in ("P", "L", "RGB") and "transparency" in image.info)


def to_rgb(image):
    """3 × 8-bit channels. Transparent pixels become white; high bit depths are rescaled."""
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        if image.mode.startswith("I;16") or values.max() > 255:   # 16-bit: 0…65535 → 0…255
            values = values / 257.0
        gray = np.clip(np.rint(values), 0, 255).astype(np.uint8)
        return Image.fromarray(gray).convert("RGB")
    if has_alpha(image):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return image.convert("RGB")


def centre_crop(image):
    """The largest square centred in the image (short side × short side)."""
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return image.crop((left, top, left + side, top + side))


def describe(image, original_mode, frames, orientation):
    """Plain words for what the pipeline does to this file (shown under the pictures)."""
    notes = []
    if frames > 1:
        notes.append(f"animated ({frames} frames): the first frame is used")
    if orientation not in (0, 1):
        notes.append(f"EXIF orientation {orientation} applied")
    if has_alpha(image):
        notes.append("transparency composited on white")
    if original_mode not in ("RGB", "RGBA"):
        notes.append(f"{original_mode} converted to 8-bit RGB")
    return notes


def prepare_image(source, size, name=None):
    """Load ``source`` (path, bytes or upload) and run the pipeline to ``size`` × ``size``."""
    file_name, data = read_bytes(source)
    name = name or file_name
    image, orientation = open_image(data, name)
    with Image.open(io.BytesIO(data)) as header:      # mode and frames as stored, not decoded
        original_mode, original_size = header.mode, header.size
        notes = describe(header, original_mode, getattr(header, "n_frames", 1), orientation)
    rgb = to_rgb(image)
    crop = centre_crop(rgb)
    resized = crop.resize((size, size), Image.Resampling.BICUBIC)    # antialiased downscale
    original = image.convert("RGBA") if has_alpha(image) else rgb   # the same picture if RGB
    for picture in {id(p): p for p in (original, rgb, crop)}.values():
        picture.thumbnail((display_side, display_side))   # only display-sized copies are kept
    return PreparedImage(name, original, rgb, crop, resized, original_size, original_mode, notes)


def list_image_files(folder):
    """Image files under ``folder`` (recursively, sorted), by suffix; hidden files skipped."""
    return sorted(path for path in Path(folder).rglob("*")
                  if path.is_file() and path.suffix.lower() in image_suffixes
                  and not any(part.startswith(".") for part in path.relative_to(folder).parts))
