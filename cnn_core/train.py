"""``python -m cnn_core.train``: the MNIST trainer's command line (``cnn_core/mnist/__main__.py``;
``python -m cnn_core.mnist`` is the same command)."""

import sys

from cnn_core.mnist.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
