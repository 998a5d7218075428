"""CNN Lab — entry point: the shared frame and the navigation over the pages in ``app_pages/``."""

import sys
from pathlib import Path
from string import Template

import streamlit as st

from cnn_core.errors import log_to_stderr
from cnn_core.malloc_arenas import limit_malloc_arenas
from cnn_core.paths import DATA_DIR

PAGES = [
    ("app_pages/home.py", "Home", ":material/home:"),
    ("app_pages/theory.py", "Theory Q&A", ":material/menu_book:"),
    ("app_pages/calculator.py", "Architecture calculator", ":material/calculate:"),
    ("app_pages/mnist.py", "MNIST training", ":material/draw:"),
    ("app_pages/classify.py", "Classify photos", ":material/photo_camera:"),
    ("app_pages/transfer.py", "Teach your own classes", ":material/school:"),
    ("app_pages/inside.py", "Inside a CNN", ":material/visibility:"),
]


def accessibility_style() -> str:
    """The app's own CSS for WCAG 2.1 AA (.streamlit/accessibility.css: visible keyboard
    focus, legible chart labels), in the theme's colours."""
    css = Template((Path(__file__).parent / ".streamlit" / "accessibility.css").read_text())
    return "<style>" + css.substitute(primary=st.get_option("theme.primaryColor"),
                                      text=st.get_option("theme.textColor")) + "</style>"


def keep_streamlit_from_probing_addresses() -> None:
    """Streamlit looks up the server's public address (an HTTP request to
    checkip.amazonaws.com) and its network address (a UDP socket towards 8.8.8.8) to print them
    in its start-up banner — hidden by ``logger.hideWelcomeMessage`` in config.toml — and to vet
    a cross-origin websocket's Origin. A student's tab is same-origin and never needs them;
    a cross-origin attempt is refused without them (tests/test_nothing_leaves.py)."""
    from streamlit import net_util

    net_util.get_external_ip = net_util.get_internal_ip = lambda: None


def keep_streamlit_from_clearing_keras() -> None:
    """After every script run of every session, Streamlit calls ``keras.backend.clear_session()``
    once Keras is imported (``ScriptRunner``'s ``_clean_problem_modules``), for scripts that
    build a new model on each run. Here the models are built once for the whole server and
    trained on other sessions' threads: the call resets Keras' global state under them, clears
    TensorFlow's kernel cache and runs a full garbage collection, each time any student moves
    a widget. With 30 sessions it was 25 % of the time the server's threads held the GIL
    (py-spy, docs/performance.md). Matplotlib's figures are still closed, as Streamlit does."""
    from streamlit.runtime.scriptrunner import script_runner

    def close_matplotlib_figures() -> None:
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")

    if hasattr(script_runner, "_clean_problem_modules"):
        script_runner._clean_problem_modules = close_matplotlib_figures


@st.cache_resource(show_spinner=False)
def configure_server_process() -> bool:
    """Once per server process: glibc keeps at most 2 malloc arenas (cnn_core.malloc_arenas:
    with one per script-run thread, the server's memory levelled off ~30 MiB higher), what
    only the operator may read (server paths, settings) goes to its standard error,
    Streamlit asks no one for the server's address and leaves the shared Keras state alone."""
    log_to_stderr()
    keep_streamlit_from_probing_addresses()
    keep_streamlit_from_clearing_keras()
    return limit_malloc_arenas(2)


def main() -> None:
    configure_server_process()
    # The tab's icon is a file served by this server: a Material icon here would make every
    # student's browser fetch it from Google's font server (tests/browser/test_browser_privacy.py).
    st.set_page_config(page_title="CNN Lab", page_icon=str(DATA_DIR / "icon.png"), layout="wide")
    st.html(accessibility_style())
    navigation = st.navigation([st.Page(path, title=title, icon=icon, default=index == 0)
                                for index, (path, title, icon) in enumerate(PAGES)])
    with st.sidebar:
        st.caption(
            "CNN Lab — learn and *do* image classification with convolutional networks. "
            "Every number on these pages is computed by `cnn_core` or cited."
        )
    navigation.run()


# Streamlit runs this script as __main__. A process started with multiprocessing's "spawn"
# method imports its parent's __main__ (this file) again, as "__mp_main__": the guard keeps it
# from drawing the app (multiprocessing's "safe importing of main module"). The training
# workers do not even import it (cnn_core.mnist.executors); this covers any other spawn.
if __name__ == "__main__":
    main()
