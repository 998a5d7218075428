"""CNN Lab's application logic: pure Python, importable and testable without Streamlit.

Nothing here imports TensorFlow at import time; the modules that need it (training,
classification) import it inside the functions that use it, so the Theory and Calculator
pages open fast. Importing it turns off the usage statistics that libraries would send
(``telemetry.py``).
"""

from cnn_core.errors import CNNLabError
from cnn_core.telemetry import turn_off_telemetry

turn_off_telemetry()  # before any library that phones home is imported (cnn_core/telemetry.py)

__all__ = ["CNNLabError"]
