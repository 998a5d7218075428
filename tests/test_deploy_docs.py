"""docs/deploy.md against the code: every operator setting the code reads is documented, the
documentation names none that the code does not read, and the config.toml table matches the
file; the settings themselves are read strictly (cnn_core/settings.py)."""

import re
import tomllib

import pytest

from cnn_core.errors import CNNLabError
from cnn_core.settings import choice, on_off, positive_number
from tests.conftest import REPO_ROOT

DEPLOY = (REPO_ROOT / "docs" / "deploy.md").read_text()
SETTING = re.compile(r"CNNLAB_[A-Z0-9_]+")


def settings_in_code():
    files = [REPO_ROOT / "streamlit_app.py", *(REPO_ROOT / "app_pages").glob("*.py"),
             *(REPO_ROOT / "cnn_core").rglob("*.py")]
    return {name for path in files for name in SETTING.findall(path.read_text())}


def documented_settings():
    """The variables in the first column of the 'Environment variables' table."""
    section = DEPLOY.split("## Environment variables", 1)[1].split("\n## ", 1)[0]
    return {match for line in section.splitlines() if line.startswith("| `CNNLAB_")
            for match in SETTING.findall(line.split("|")[1])}


def test_every_setting_the_code_reads_is_documented_and_no_other():
    in_code = settings_in_code()
    assert len(in_code) >= 10                                  # the scan reads the code
    assert documented_settings() == in_code


def test_the_config_table_matches_config_toml():
    config = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())
    section = DEPLOY.split("## `.streamlit/config.toml`", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.split("|")[1:-1]]
        if len(cells) == 4 and cells[0].startswith("`") and "," not in cells[0]:
            rows[cells[0].strip("`")] = cells[1]
    assert len(rows) >= 8
    for key, shown in rows.items():
        group, name = key.split(".")
        value = config.get(group, {}).get(name)
        if shown == "unset":
            assert value is None, key
        else:
            assert value is not None, key
            expected = str(value).lower() if isinstance(value, bool) else str(value)
            assert shown.strip('"').split(" ")[0].strip('"') == expected, key


def test_switches_and_numbers_are_read_strictly(monkeypatch):
    monkeypatch.setenv("CNNLAB_TEST_SWITCH", "Off")
    assert on_off("CNNLAB_TEST_SWITCH", True) is False
    monkeypatch.setenv("CNNLAB_TEST_SWITCH", "")
    assert on_off("CNNLAB_TEST_SWITCH", True) is True         # empty: the default
    monkeypatch.setenv("CNNLAB_TEST_SWITCH", "/srv/secret")
    with pytest.raises(CNNLabError) as error:
        on_off("CNNLAB_TEST_SWITCH", True)
    assert "/srv/secret" not in str(error.value)              # the page never shows the value
    assert error.value.server_detail == "CNNLAB_TEST_SWITCH='/srv/secret': expected on or off"
    monkeypatch.setenv("CNNLAB_TEST_NUMBER", "0")
    with pytest.raises(CNNLabError):
        positive_number("CNNLAB_TEST_NUMBER", 3)
    assert positive_number("CNNLAB_TEST_NUMBER", 3.0, float, zero_allowed=True) == 0.0
    monkeypatch.setenv("CNNLAB_TEST_NUMBER", "2.5")
    with pytest.raises(CNNLabError):
        positive_number("CNNLAB_TEST_NUMBER", 3)               # a count is whole
    monkeypatch.setenv("CNNLAB_TEST_CHOICE", "onnx")
    with pytest.raises(CNNLabError) as error:
        choice("CNNLAB_TEST_CHOICE", "openvino", ("openvino", "tensorflow"))
    assert "onnx" not in str(error.value) and "onnx" in error.value.server_detail
