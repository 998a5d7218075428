"""CNN Lab — entry point: the shared frame and the navigation over the pages in ``app_pages/``."""

import streamlit as st

st.set_page_config(page_title="CNN Lab", page_icon=":material/psychology:", layout="wide")

pages = [
    st.Page("app_pages/home.py", title="Home", icon=":material/home:", default=True),
    st.Page("app_pages/theory.py", title="Theory Q&A", icon=":material/menu_book:"),
    st.Page("app_pages/calculator.py", title="Architecture calculator", icon=":material/calculate:"),
    st.Page("app_pages/mnist.py", title="MNIST training", icon=":material/draw:"),
    st.Page("app_pages/classify.py", title="Classify photos", icon=":material/photo_camera:"),
    st.Page("app_pages/transfer.py", title="Teach your own classes", icon=":material/school:"),
]
navigation = st.navigation(pages)

with st.sidebar:
    st.caption(
        "CNN Lab — learn and *do* image classification with convolutional networks. "
        "Every number on these pages is computed by `cnn_core` or cited."
    )

navigation.run()
