"""No library sends usage data from CNN Lab: turned off here, once, whenever cnn_core is imported.

A school may serve the app to a class from one URL; nothing may leave the server that a user or
the operator did not ask for. What we know to phone home, and how each is turned off here —
inside this process and the processes it starts, without writing into the user's home folder:

- OpenVINO's model converter sends usage events to Google Analytics through the
  ``openvino_telemetry`` package — once when ``openvino.tools.ovc`` is imported (``import
  openvino`` does), and per ``openvino.convert_model`` — unless ``CI=true`` or a consent file in
  ``~/intel`` says no. So cnn_core must be imported before OpenVINO (the app, the command lines
  and the workers all do). The converter falls back to its own no-op stub
  (``openvino/tools/ovc/telemetry_stub.py``) when that package cannot be imported, so we make
  its import fail (``sys.modules[name] = None``); if it was imported before us, its telemetry
  object is told the user declined.
- Ray reports usage statistics from a cluster it starts unless ``RAY_USAGE_STATS_ENABLED=0``:
  set here unless the operator set it (an operator's explicit choice wins).
- Streamlit's browser usage statistics: ``gatherUsageStats = false`` in .streamlit/config.toml;
  its server's address look-ups: streamlit_app.py (cnn_core does not import Streamlit).

tests/test_nothing_leaves.py runs the server, every page and the command lines with ``CI``
unset, behind a counting proxy and a socket guard, and asserts that nothing left.
"""

import os
import sys

BLOCKED_MODULES = ("openvino_telemetry",)


def turn_off_telemetry():
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    for name in BLOCKED_MODULES:
        module = sys.modules.get(name)
        if module is None:
            sys.modules[name] = None  # `import openvino_telemetry` now raises ImportError
        else:
            _decline(module)


def _decline(telemetry_module):
    """``openvino_telemetry`` was imported before cnn_core: every consent check it makes from
    now on answers "declined" (so an instance made later sends nothing and writes no consent
    file), and the instance already made, if any, loses its consent."""
    from openvino_telemetry.utils.opt_in_checker import ConsentCheckResult, OptInChecker

    OptInChecker.check = lambda self, *args, **kwargs: ConsentCheckResult.DECLINED
    telemetry = getattr(telemetry_module, "Telemetry", None)
    instance = getattr(telemetry, "_SingletonMetaClass__single_instance", None)
    if instance is not None:
        instance.consent = False
