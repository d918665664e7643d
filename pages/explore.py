"""Explore: what the images look like, how many of each class, where the information is."""
import numpy as np
import streamlit as st

from dashboard.page import setup_page

setup_page("Explore", "🔍")

from dashboard import explore_charts as charts  # noqa: E402
from dashboard import html_charts, state  # noqa: E402
from dashboard.data import current_dataset_or_stop  # noqa: E402
from dashboard.explore_data import DEFAULT_MAP_SIZE, MAP_SIZES, dataset_statistics, pca_points  # noqa: E402
from dashboard.figures import upscale  # noqa: E402
from dashboard.svg_picker import pick_index, show_svg, svg_picker  # noqa: E402
from dashboard.thumbnails import thumbnail_grid_html  # noqa: E402
from nnlib import analysis  # noqa: E402
from nnlib.data import Dataset  # noqa: E402

SAMPLE_MODES = ("A few of each class", "Many of one class")
THUMBNAIL_WIDTH = 72


def label_of(dataset: Dataset, index: int) -> str:
    label = int(dataset.y_train[index])
    return dataset.class_names[label] if label >= 0 else "?"


st.title("🔍 Explore the data")
dataset = current_dataset_or_stop()
fingerprint = analysis.dataset_fingerprint(dataset)
stats = dataset_statistics(fingerprint, dataset)
names = dataset.class_names

cols = st.columns(5)
cols[0].metric("Dataset", dataset.name)
cols[1].metric("Training images", f"{stats.n_train:,}")
cols[2].metric("Test images", f"{stats.n_test:,}" if dataset.has_test else "none")
cols[3].metric("Classes", dataset.n_classes if stats.labelled else "unlabelled")
cols[4].metric("Always-blank pixels", f"{stats.blank_pixels} of 784")
if not stats.labelled:
    st.warning("This dataset has no labels (its CSV has no label column): per-class charts are left out, "
               "and it cannot be trained on.")

# ------------------------------------------------------------------ samples
st.header("Samples")
st.caption("Random training images with their label and index: look at them before trusting any statistic; "
           "the seed reshuffles, the same seed brings the same images back.")
cols = st.columns([2, 2, 2, 1])
mode = cols[0].radio("Show", SAMPLE_MODES, key=state.EXPLORE_SAMPLE_MODE, horizontal=True,
                     persist_state="session", disabled=not stats.labelled)
one_class = stats.labelled and mode == SAMPLE_MODES[1]
chosen_class = cols[1].selectbox("Class", range(len(names)), format_func=lambda c: names[c],
                                 key=state.EXPLORE_SAMPLE_CLASS, persist_state="session", disabled=not one_class)
count = cols[2].slider("Images" if one_class or not stats.labelled else "Images per class", 5, 60,
                       value=10, step=5, key=state.EXPLORE_SAMPLE_COUNT, persist_state="session")
seed = cols[3].number_input("Seed", 0, 2**31 - 1, value=0, step=1, key=state.EXPLORE_SAMPLE_SEED,
                            persist_state="session")

rng = np.random.default_rng(int(seed))
if one_class:
    groups = [analysis.sample_indices(dataset.y_train, count, rng, class_index=chosen_class)]
elif stats.labelled:
    groups = analysis.sample_per_class(dataset.y_train, dataset.n_classes, count, rng)
else:
    groups = [analysis.sample_indices(dataset.y_train, count, rng)]
for group in groups:
    if len(group):
        st.html(thumbnail_grid_html([dataset.x_train[i] for i in group], [f"{label_of(dataset, i)} · #{i}" for i in group],
                                    width_px=THUMBNAIL_WIDTH))
shown = [int(i) for group in groups for i in group]

st.subheader("One image up close")
st.caption("Every pixel's value, 0 (background) to 255 (full ink): this grid of numbers is all the network sees.")
if st.session_state.get(state.EXPLORE_ENLARGED) not in shown:
    st.session_state.pop(state.EXPLORE_ENLARGED, None)
enlarged = st.selectbox("Image", shown, format_func=lambda i: f"{label_of(dataset, i)} · #{i}",
                        key=state.EXPLORE_ENLARGED)
if enlarged is not None:
    st.html(html_charts.pixel_grid(dataset.x_train[enlarged], f"#{enlarged}, label {label_of(dataset, enlarged)}"))

# ------------------------------------------------------------------ class balance
if stats.labelled:
    st.header("Class balance")
    st.caption("Images per class in the training and test sets: a class with far fewer images would be learned "
               "worse, and plain accuracy would hide it.")
    st.html(charts.class_balance_html(names, stats.train_counts, stats.test_counts))

# ------------------------------------------------------------------ mean images and spread
st.header("Average images and where the information is")
if stats.labelled:
    st.caption("The mean image of each class: the typical shape of each, and how much the classes overlap "
               "where their means look alike.")
    st.image(charts.class_means_picture(names, stats.class_means).picture, output_format="PNG")
st.caption(f"Left: the mean of every pixel over all training images, where the ink usually is. Right: each "
           f"pixel's standard deviation: {stats.blank_pixels} pixels never change (0) and carry no information; "
           "the bright middle is where images differ. Hover for a pixel's value.")
for column, pixel_map, key in zip(st.columns(2), charts.pixel_maps_svg(stats.pixel_mean, stats.pixel_std),
                                  (state.EXPLORE_MEAN_MAP, state.EXPLORE_SPREAD_MAP), strict=True):
    with column:
        show_svg(pixel_map, key=key)

# ------------------------------------------------------------------ pixel statistics
st.header("Pixel statistics")
cols = st.columns(2)
with cols[0]:
    st.caption("Pixel values over all training images, log scale: most pixels are background (0), most ink is "
               "near 255; the few grey values are the anti-aliased edges. Hover a bar for its count.")
    st.markdown(charts.intensity_histogram_svg(stats.histogram_counts, stats.histogram_edges), unsafe_allow_html=True)
with cols[1]:
    if stats.labelled:
        st.caption("Ink per image (sum of pixels / 255) per class: a 1 uses far less ink than a 0 or an 8, "
                   "so total brightness alone already says something about the class. Hover a box for its numbers.")
        st.markdown(charts.ink_box_svg(names, stats.ink), unsafe_allow_html=True)

# ------------------------------------------------------------------ 2-D map
st.header("A 2-D map of the images (PCA)")
st.caption("Each point is an image, placed by its first two principal components (the two directions in which "
           "the 784 pixels vary most). Classes that form their own cloud are easy; overlapping clouds are "
           "the classes a network will confuse. Hover for label and index; click a point to see its image; "
           "Ctrl + wheel (or a pinch) zooms, dragging pans, a double click resets, a click on a class in the "
           "legend hides it.")
n_points = st.select_slider("Images on the map", MAP_SIZES, value=DEFAULT_MAP_SIZE, key=state.EXPLORE_MAP_POINTS,
                            persist_state="session")
points = pca_points(fingerprint, n_points, dataset)
cols = st.columns([4, 1])
with cols[0]:
    picked = svg_picker(charts.pca_map_svg(points, names), key=state.EXPLORE_MAP_CHART)
with cols[1]:
    index = pick_index(picked)
    if 0 <= index < len(dataset.x_train):
        st.image(upscale(dataset.x_train[index], 5), output_format="PNG", caption=f"{label_of(dataset, index)} · #{index}")
    else:
        st.info("Click a point to see the image here.")

# ------------------------------------------------------------------ unusual examples
if stats.labelled:
    st.header("Unusual examples")
    st.caption("Per class, the images whose shape is farthest from their class's mean image (each image scaled "
               "to the same length first, so bold strokes alone do not count; above each: index · distance). Odd "
               "handwriting and mislabelled images hide here, and a network cannot do better than its labels.")
    unusual = charts.unusual_examples_picture(dataset.x_train, stats.unusual_indices, stats.unusual_distances, names)
    if unusual is not None:
        st.image(unusual.picture, output_format="PNG")
