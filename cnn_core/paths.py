"""Where the files that ship with CNN Lab live (data sets, weights, teaching content)."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = REPO_ROOT / "data"          # MNIST IDX files, ImageNet class names, sample photos
MODELS_DIR = DATA_DIR / "models"       # bundled weights (SqueezeNet v1.1)
CONTENT_DIR = REPO_ROOT / "content"    # teaching text (Markdown/YAML), editable without code
