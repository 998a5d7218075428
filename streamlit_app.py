"""CNN Lab — entry point: the shared frame and the navigation over the pages in ``pages/``."""

import streamlit as st

st.set_page_config(page_title="CNN Lab", page_icon="🧠", layout="wide")

pages = [
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
    st.Page("pages/theory.py", title="Theory Q&A", icon="📖"),
    st.Page("pages/calculator.py", title="Architecture calculator", icon="🧮"),
    st.Page("pages/mnist.py", title="MNIST training", icon="✍️"),
    st.Page("pages/classify.py", title="Classify photos", icon="📷"),
]
navigation = st.navigation(pages)

with st.sidebar:
    st.caption(
        "CNN Lab — learn and *do* image classification with convolutional networks. "
        "Every number on these pages is computed by `cnn_core` or cited."
    )

navigation.run()
