"""Home: what CNN Lab is and where to start."""

import streamlit as st

st.title("🧠 CNN Lab")
st.write(
    "Learn and *do* image classification with convolutional neural networks: read the classic "
    "questions answered with live demos, size a network's parameters and memory before you "
    "build it, train a CNN on MNIST while you watch, and classify your own photos."
)

col1, col2 = st.columns(2)
with col1:
    st.page_link("app_pages/theory.py", label="Theory Q&A", icon="📖")
    st.caption("Why CNNs beat dense nets on images, pooling vs stride, LRN, AlexNet → ResNet.")
    st.page_link("app_pages/calculator.py", label="Architecture calculator", icon="🧮")
    st.caption("Parameters, inference RAM and training RAM across batch sizes — with the working.")
with col2:
    st.page_link("app_pages/mnist.py", label="MNIST training", icon="✍️")
    st.caption("Pick a recipe, watch it train live, inspect its mistakes, draw your own digit.")
    st.page_link("app_pages/classify.py", label="Classify photos", icon="📷")
    st.caption("Upload photos; see the preprocessing, the top-5 and where the model looked.")
