"""Strict, bounded reading of the numbers and flags a user gives (table cells, JSON, links).

Nothing is rounded, trimmed of a sign or of a stray character: ``1.5``, ``-5`` and ``3x`` are
refused, not read as 15, 5 and 3. Every size is bounded (``MAX_SIZE``), so a hostile input
cannot make the arithmetic or the page's tables explode, and a value echoed in a message is cut
(``shown``), so a pasted novel stays short.
"""

from __future__ import annotations

import numbers
import re

from cnn_core.errors import CNNLabError

# Bounds on any one size (filters, units, kernel, stride, input side, ...) and on the number of
# layers: far beyond real networks (VGG-16's largest layer has 4,096 units; the Theory page's
# dense-vs-conv demo builds a 6,000,000-unit Dense layer), small enough that a hostile input
# cannot make the arithmetic or the page's tables explode.
MAX_SIZE = 1_000_000_000
MAX_LAYERS = 1_000

_WHOLE = re.compile(r"[0-9]{1,10}", re.ASCII)
_WHOLE_PAIR = re.compile(r"\s*([0-9]{1,10})\s*(?:[x×]\s*([0-9]{1,10})\s*)?", re.ASCII)


def shown(value, limit: int = 40) -> str:
    """A user's value quoted for a message, cut if it is long (a pasted novel stays short)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def whole_number(value, what: str, minimum: int = 1) -> int:
    """A whole number in [minimum, MAX_SIZE]: an int (numpy's too), an integral float or ASCII
    digits. Nothing is rounded, trimmed of a sign or of a stray character: 1.5, -5 and '3x' are
    refused."""
    if isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = int(value)
    real = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if real and float(value).is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise CNNLabError(f"{what} must be a whole number, not {shown(value)}.")
    if value < minimum:
        raise CNNLabError(f"{what} must be at least {minimum}, not {value}.")
    if value > MAX_SIZE:
        raise CNNLabError(f"{what} must be at most {MAX_SIZE:,}, not {value:,}.")
    return value


def size_pair(value, what: str, minimum: int = 1) -> tuple[int, int]:
    """Accept 3, (3, 3), [3, 5] or "3x5" (exactly that) and return a pair of whole numbers."""
    if isinstance(value, str):
        match = _WHOLE_PAIR.fullmatch(value.lower())
        if not match:
            raise CNNLabError(f"{what} must be a whole number or two like 3x5, not {shown(value)}.")
        value = tuple(int(g) for g in match.groups() if g is not None)
    if isinstance(value, numbers.Real):
        value = (value, value)
    if not isinstance(value, (tuple, list)):
        raise CNNLabError(f"{what} must be a whole number or a pair, not {shown(value)}.")
    pair = tuple(value)
    if len(pair) == 1:
        pair = (pair[0], pair[0])
    if len(pair) != 2:
        raise CNNLabError(
            f"{what} must be one number or two (height x width), not {shown(value)}."
        )
    return whole_number(pair[0], what, minimum), whole_number(pair[1], what, minimum)


def true_or_false(value, what: str) -> bool:
    if not isinstance(value, bool):
        raise CNNLabError(f"{what} must be true or false, not {shown(value)}.")
    return value
