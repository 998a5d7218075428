"""``python -m cnn_core.classify``: the ImageNet classifier's command line
(``cnn_core/imagenet/__main__.py``; ``python -m cnn_core.imagenet`` is the same command)."""

import sys

from cnn_core.imagenet.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
