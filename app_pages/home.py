"""Home: what CNN Lab is, and a path through the pages for a newcomer."""

import streamlit as st

# The "start here" path: (page file, title, icon, what to do there, link query), in order.
START_HERE = [
    ("app_pages/theory.py", "Theory Q&A", ":material/menu_book:",
     "Read question 1 (why a CNN beats a dense network on images) and play with its demo; "
     "answer the self-check. Come back for pooling, LRN and AlexNet → Xception.", {}),
    ("app_pages/calculator.py", "Architecture calculator", ":material/calculate:",
     "It opens on the reference case (three convolutions on a 200×300 photo): see where its "
     "parameters come from and why training a batch of 50 needs far more memory than "
     "predicting one image. Then change a layer.", {"preset": "exercise2"}),
    ("app_pages/mnist.py", "MNIST training", ":material/draw:",
     "Train the default recipe for a few epochs, look at its mistakes, then draw a digit "
     "and see what it predicts.", {}),
    ("app_pages/classify.py", "Classify photos", ":material/photo_camera:",
     "Upload a photo of your own: see how it is prepared for the model, its top-5 guesses "
     "and where the model looked.", {}),
    ("app_pages/transfer.py", "Teach your own classes", ":material/school:",
     "Reuse a trained network to recognise classes of your own from a few photos each.", {}),
]

st.title(":material/psychology: CNN Lab")
st.write(
    "Learn and *do* image classification with convolutional neural networks: read the classic "
    "questions answered with live demos, size a network's parameters and memory before you "
    "build it, train a CNN on MNIST while you watch, classify your own photos and teach a "
    "network classes of your own."
)

st.subheader("Start here")
st.caption(f"New to CNNs? Follow these {len(START_HERE)} steps in order; each takes a few "
           "minutes. Every page also stands on its own.")
for step, (page, title, icon, what, query) in enumerate(START_HERE, start=1):
    with st.container(border=True):
        st.page_link(page, label=f"Step {step}: {title}", icon=icon, query_params=query)
        st.write(what)
