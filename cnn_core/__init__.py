"""CNN Lab's application logic: pure Python, importable and testable without Streamlit.

Nothing here imports TensorFlow at import time; the modules that need it (training,
classification) import it inside the functions that use it, so the Theory and Calculator
pages open fast.
"""

from cnn_core.errors import CNNLabError

__all__ = ["CNNLabError"]
