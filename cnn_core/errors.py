"""The one exception type for errors a user can cause (bad upload, impossible layer, ...).

Its message is written for the user: pages show it with ``st.error``, command-line entry points
print it on one line and exit with status 2 (usage) or 1 (some inputs failed).
"""


class CNNLabError(ValueError):
    """A problem with the user's input, explained in plain words."""
