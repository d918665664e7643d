"""MNIST Lab: the home page and the entry point (`streamlit run app.py`)."""
import numpy as np
import streamlit as st

from dashboard.data import current_dataset_or_stop
from dashboard.page import setup_page
from dashboard.thumbnails import thumbnail_grid_html
from nnlib.analysis import sample_per_class

setup_page("Home", "🔢")

st.title("🔢 MNIST Lab")
st.markdown(
    "Learn how a neural network learns to read handwritten digits, one step at a time: "
    "**explore** the data, see every **preprocessing** step, **train** a network with "
    "sliders and watch it learn live, then **draw** a digit and see what the network "
    "answers and why. Every number here is computed on the real data by `nnlib`, a small "
    "NumPy neural-network library written for this app."
)

dataset = current_dataset_or_stop()

n_test = len(dataset.x_test) if dataset.has_test else 0
cols = st.columns(4)
cols[0].metric("Dataset", dataset.name)
cols[1].metric("Training images", f"{len(dataset.x_train):,}")
cols[2].metric("Test images", f"{n_test:,}")
cols[3].metric("Classes", dataset.n_classes)

st.subheader("A few of its images")
st.caption("Two training images of each class, as the network gets them: 28x28 pixels, 0 (black) to 255 (white).")
SAMPLES_PER_CLASS = 2
samples = []
captions = []
per_class = sample_per_class(dataset.y_train, dataset.n_classes, SAMPLES_PER_CLASS, np.random.default_rng(0))
for class_name, indices in zip(dataset.class_names, per_class):
    for index in indices:
        samples.append(dataset.x_train[index])
        captions.append(f"{class_name} · #{index}")
if samples:
    st.html(thumbnail_grid_html(samples, captions, width_px=84))
else:
    st.html(thumbnail_grid_html(dataset.x_train[:20], None, width_px=84))

st.subheader("Where to go next")
st.markdown(
    """
1. **Explore the data**: samples, class balance, mean images, pixel statistics, a 2-D map.
2. **Preprocess**: shuffle, split, scale, transpose, one-hot: the steps before training.
3. **Train a network**: pick layers and an optimiser, press Train, watch the curves.
4. **Draw and predict**: draw a digit and see what the network sees and answers.
5. **Runs**: every network trained here, kept across reloads and restarts: compare, rename, export.
6. **Sweep**: let a search try many settings at once and map where training works.
7. **Inside the network**: follow one digit through every layer, then watch one step of learning.
"""
)
st.caption(
    "MNIST by Yann LeCun, Corinna Cortes and Christopher J.C. Burges, "
    "licensed CC BY-SA 3.0; bundled in data/mnist/."
)
