"""The calculator and its page open without importing TensorFlow (it takes seconds to import)."""

import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

CHECK = """
import sys
sys.path.insert(0, {root!r})
{body}
heavy = sorted(m for m in ("tensorflow", "keras") if m in sys.modules)
print("HEAVY:" + ",".join(heavy))
"""

APPTEST = """
from streamlit.testing.v1 import AppTest
at = AppTest.from_file({page!r}, default_timeout=60).run()
assert not at.exception, at.exception
"""


def run(body):
    code = CHECK.format(root=str(REPO_ROOT), body=body)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO_ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def test_calculator_modules_import_no_tensorflow():
    body = ("import cnn_core, cnn_core.networks, cnn_core.calculator, cnn_core.theory, "
            "cnn_core.calculator.__main__, cnn_core.theory.facts, cnn_core.theory.oom_fixes, "
            "cnn_core.inside\n"
            "from cnn_core.calculator import analyze\n"
            "from cnn_core.networks import preset\n"
            "analyze(*preset('vgg16'))")
    assert run(body) == "HEAVY:"


@pytest.mark.parametrize("page", ["app_pages/calculator.py", "streamlit_app.py"])
def test_page_opens_without_tensorflow(page):
    assert run(APPTEST.format(page=str(REPO_ROOT / page))) == "HEAVY:"


def test_the_check_detects_tensorflow():
    # the probe itself can fail: importing keras is seen
    assert run("import keras") != "HEAVY:"
