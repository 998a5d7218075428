"""The one exception type for errors a user can cause (bad upload, impossible layer, ...).

Its message is written for the user: pages show it with ``st.error``, command-line entry points
print it on one line and exit with status 2 (usage) or 1 (some inputs failed). A page is seen
by every student of a class, so the message never holds a server path, an environment value or
a user name; what only the server's operator needs (which file, which variable) goes in
``server_detail``: written to the server's log (logger ``cnn_core``, once per process), and
printed by the command lines, whose user is the operator.
"""

import functools
import logging

logger = logging.getLogger("cnn_core")


class CNNLabError(ValueError):
    """A problem with the user's input, explained in plain words."""

    def __init__(self, message: str, server_detail: str = ""):
        super().__init__(message)
        self.server_detail = server_detail
        if server_detail:
            log_for_operator(with_detail(message, server_detail))

    def for_operator(self) -> str:
        """The message with its server detail: for a command line or the log, not a page."""
        return with_detail(str(self), self.server_detail)


def with_detail(message: str, detail: str) -> str:
    """"x is missing." + "the path" → "x is missing (the path)."."""
    if not detail:
        return message
    end = "." if message.endswith(".") else ""
    return f"{message.removesuffix('.')} ({detail}){end}"


@functools.lru_cache(maxsize=256)
def log_for_operator(text: str) -> None:
    """Once per distinct text per process (a page rerun repeats its checks)."""
    logger.warning(text)


def quiet_operator_log() -> None:
    """For a command line, whose user is the operator and reads ``for_operator()`` in its error
    lines: the log line would repeat them on stderr, so the logger keeps them to itself."""
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())


def log_to_stderr() -> None:
    """For the server: operator messages on its standard error, with the time (once)."""
    if not any(isinstance(h, logging.StreamHandler) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s cnn_core: %(message)s"))
        logger.addHandler(handler)
