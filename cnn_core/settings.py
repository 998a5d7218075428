"""The operator's settings: ``CNNLAB_*`` environment variables, read strictly.

Every setting is listed, with its default and when to change it, in docs/deploy.md (a test keeps
that list and the code in step). A value that cannot be read is an error for the operator: its
name and value go to the server's log (``CNNLabError.server_detail``); a page says only that a
server setting is wrong, never its value.
"""

import os

from cnn_core.errors import CNNLabError

ON, OFF = ("on", "true", "1", "yes"), ("off", "false", "0", "no")


def _invalid(name: str, raw: str, expected: str) -> CNNLabError:
    return CNNLabError("A setting of this server is invalid; its operator can find which in the "
                       "server's log.", server_detail=f"{name}={raw!r}: {expected}")


def on_off(name: str, default: bool) -> bool:
    """A switch: on/true/1/yes or off/false/0/no (any case); unset or empty → ``default``."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if raw.lower() in ON:
        return True
    if raw.lower() in OFF:
        return False
    raise _invalid(name, raw, "expected on or off")


def choice(name: str, default: str, choices) -> str:
    """One of ``choices`` (exactly as written); unset or empty → ``default``."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if raw not in choices:
        raise _invalid(name, raw, f"expected one of {', '.join(choices)}")
    return raw


def positive_number(name: str, default, kind=int, zero_allowed=False):
    """A count or a number of seconds above 0 (or 0 too, if ``zero_allowed``); unset or
    empty → ``default``."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise _invalid(name, raw, f"expected {'a whole number' if kind is int else 'a number'}"
                       ) from None
    if not (value >= 0 if zero_allowed else value > 0):
        raise _invalid(name, raw, f"expected a number {'of 0 or more' if zero_allowed else 'above 0'}")
    return value
