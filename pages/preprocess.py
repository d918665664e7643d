"""Preprocess: the seed study's pipeline step by step on real images, ending in one config for Train."""
import numpy as np
import streamlit as st

from dashboard.page import setup_page

setup_page("Preprocess", "🧪")

from dashboard import preprocess_charts as charts  # noqa: E402
from dashboard import share_setup, state  # noqa: E402
from dashboard.data import current_dataset_or_stop  # noqa: E402
from dashboard.markdown_text import monospace_lines  # noqa: E402
from nnlib import analysis  # noqa: E402
from nnlib.augment import DEFAULT_AUGMENT, AugmentConfig, augment_images  # noqa: E402
from nnlib.data import PIXELS, Dataset  # noqa: E402
from nnlib.preprocessing import (  # noqa: E402
    SCALING_LABELS,
    SCALINGS,
    SEED_STUDY_CONFIG,
    PreprocessConfig,
    Scaler,
    flatten,
    one_hot,
    shuffled_indices,
    split_indices,
    split_sizes,
)

FIRST_IMAGES = 10
HISTOGRAM_SAMPLE = 2000
ONE_HOT_ROWS = 8
AUGMENT_COPIES = 11


@st.cache_data(show_spinner="Fitting the scaler on the training split...", max_entries=16)
def fitted_scaler(fingerprint: str, n_used: int, val_fraction: float, seed: int, scaling: str,
                  _dataset: Dataset) -> Scaler:
    train_indices, _ = split_indices(n_used, val_fraction, seed)
    return Scaler.fit(scaling, flatten(_dataset.x_train[train_indices]))


def titles_of(dataset: Dataset, indices: np.ndarray) -> list[str]:
    return [f"{dataset.class_names[y] if y >= 0 else '?'} · #{i}" for i, y in zip(indices, dataset.y_train[indices])]


def init_widget(key: str, value, upper=None) -> None:
    """Start a widget at the stored config's value; keep a value the user set unless out of range."""
    if key not in st.session_state or (upper is not None and st.session_state[key] > upper):
        st.session_state[key] = value if upper is None else min(value, upper)


st.title("🧪 Preprocess")
st.markdown(
    "The steps between the raw images and what the network trains on, as the seed study did them: "
    "**subset and shuffle, split, scale, transpose, one-hot**, and optionally **augment**. "
    "Every choice here goes into one preprocessing config (shown at the bottom); "
    "the Train page trains on exactly that config."
)
dataset = current_dataset_or_stop()
n_total = len(dataset.x_train)
if n_total < 2:
    st.error(f"{dataset.name} has {n_total} image; at least 2 are needed to split.")
    st.stop()
labelled = analysis.has_labels(dataset.y_train)
if not labelled:
    st.warning("This dataset has no labels (its CSV has no label column): the steps below can be previewed, "
               "but a network cannot be trained on it.")

share_setup.open_preprocess_link()  # a shared link sets the config
stored = st.session_state.get(state.PREPROCESS_CONFIG)
initial = stored if isinstance(stored, PreprocessConfig) else SEED_STUDY_CONFIG
initial_augment = initial.augment or DEFAULT_AUGMENT
init_widget(state.PREPROCESS_TRAIN_SIZE, initial.train_size or n_total, upper=n_total)
init_widget(state.PREPROCESS_SEED, initial.seed)
init_widget(state.PREPROCESS_TRAIN_SHARE, float(np.clip(round(1 - initial.val_fraction, 2), 0.5, 0.95)))
init_widget(state.PREPROCESS_SCALING, initial.scaling)
init_widget(state.PREPROCESS_AUGMENT_ON, initial.augment is not None)
init_widget(state.PREPROCESS_SHIFT, float(initial_augment.max_shift_px))
init_widget(state.PREPROCESS_ROTATION, float(initial_augment.max_rotation_deg))
init_widget(state.PREPROCESS_ZOOM, float(initial_augment.max_scale))
init_widget(state.PREPROCESS_NOISE, float(initial_augment.noise_std))
init_widget(state.PREPROCESS_PREVIEW_INDEX, 0, upper=n_total - 1)

# ------------------------------------------------------------------ 1. subset and shuffle
st.header("1. Subset and shuffle")
cols = st.columns(2)
n_used = cols[0].number_input(
    f"Training images to use (of {n_total:,})", min_value=min(10, n_total), max_value=n_total,
    step=max(1, n_total // 60), key=state.PREPROCESS_TRAIN_SIZE, persist_state="session",
    help="The first N images of the training file. The seed study used 42,000.")
seed = cols[1].number_input("Shuffle seed", 0, 2**31 - 1, step=1, key=state.PREPROCESS_SEED,
                            persist_state="session", help="Same seed, same shuffle, same split: runs are reproducible.")
n_used, seed = int(n_used), int(seed)
st.caption("The files are not in random order, and a split must not put, say, one writer's digits all in "
           "validation: so the images are shuffled with a seed first. Top: the first images of the file; "
           "bottom: the first ones after the shuffle (these start the training split).")
first = np.arange(min(FIRST_IMAGES, n_used))
shuffled_first = shuffled_indices(n_used, seed)[:FIRST_IMAGES]
st.image(charts.before_after_picture(
    dataset.x_train[first], titles_of(dataset, first), dataset.x_train[shuffled_first],
    titles_of(dataset, shuffled_first), row_labels=("file order", "shuffled")).picture, output_format="PNG")

# ------------------------------------------------------------------ 2. split
st.header("2. Split into training and validation")
train_share = st.slider("Share for training", 0.5, 0.95, step=0.05, key=state.PREPROCESS_TRAIN_SHARE,
                        persist_state="session", help="The rest is held out to measure how well the network "
                        "does on images it never trained on.")
val_fraction = round(1.0 - float(train_share), 4)
n_train, n_val = split_sizes(n_used, val_fraction)
train_indices, val_indices = split_indices(n_used, val_fraction, seed)

n_test = len(dataset.x_test) if dataset.has_test else 0
st.caption("Where the images go: the network learns from the training split; validation tells us whether it "
           "learned digits or memorised images. The test set is a separate file, kept for the very end.")
st.markdown(charts.split_svg(n_train, n_val, n_test=n_test, n_unused=n_total - n_used), unsafe_allow_html=True)
cols = st.columns(2)
with cols[0]:
    st.markdown("**Seed study's layout: one image per column**")
    seed_lines = [f"X train ({PIXELS}, {n_train})", f"Y train ({n_train},)",
                  f"X val ({PIXELS}, {n_val})", f"Y val ({n_val},)"]
    st.markdown(monospace_lines(seed_lines))
with cols[1]:
    st.markdown("**nnlib's layout: one image per row**")
    row_lines = [f"X train ({n_train}, {PIXELS})", f"Y train ({n_train},)",
                 f"X val ({n_val}, {PIXELS})", f"Y val ({n_val},)"]
    if n_test:
        row_lines += [f"X test ({n_test}, {PIXELS})", f"Y test ({n_test},)"]
    st.markdown(monospace_lines(row_lines))

# ------------------------------------------------------------------ 3. scaling
st.header("3. Scale the pixels")
scaling = st.radio("Scaling", SCALINGS, format_func=SCALING_LABELS.get, key=state.PREPROCESS_SCALING,
                   persist_state="session", horizontal=True)
scaler = fitted_scaler(analysis.dataset_fingerprint(dataset), n_used, val_fraction, seed, scaling, dataset)
raw_sample = dataset.x_train[train_indices[:HISTOGRAM_SAMPLE]]
scaled_sample = scaler.transform(flatten(raw_sample))
before_counts, before_edges = analysis.intensity_histogram(raw_sample)
after_counts, after_edges = analysis.intensity_histogram(scaled_sample)
summary = analysis.value_summary(scaled_sample)
st.caption(f"Pixel values of {len(raw_sample):,} training images before and after scaling (log counts). "
           "Gradient descent takes one step size for every weight: inputs of 0-255 make the first layer's "
           "gradients about 255 times larger than inputs of 0-1, so a learning rate that suits one scale "
           "overshoots or crawls on the other. Small, similar-sized inputs keep the activations in the range "
           "where ReLU and softmax learn well.")
st.markdown(charts.scaling_histogram_svg(before_counts, before_edges, after_counts, after_edges,
                                         f"after: {SCALING_LABELS[scaling]}"), unsafe_allow_html=True)
stats_line = (f"After scaling: min {summary['min']:.3g}, max {summary['max']:.3g}, "
              f"mean {summary['mean']:.3g}, std {summary['std']:.3g}")
if scaling == "standardize":
    stats_line += f" (fitted on the training split: mean {scaler.mean:.4f}, std {scaler.std:.4f} of the 0-1 pixels)"
st.markdown(stats_line)

# ------------------------------------------------------------------ 4. transposition
st.header("4. Transpose: rows or columns")
st.caption("The same numbers in two layouts. The seed study kept one image per column, (784, m), and wrote "
           "W @ X; nnlib (like NumPy, scikit-learn and PyTorch) keeps one image per row, (m, 784), and writes "
           "X @ W. Transposing swaps the axes without changing a single value.")
st.markdown(charts.transpose_svg(n_train, PIXELS), unsafe_allow_html=True)

# ------------------------------------------------------------------ 5. one-hot
st.header("5. One-hot labels")
if labelled:
    one_hot_indices = train_indices[:ONE_HOT_ROWS]
    labels = dataset.y_train[one_hot_indices]
    st.caption("Each label becomes a row with a 1 in its class's column: the target the softmax output "
               "is compared with by the cross-entropy loss. The first training images of the split:")
    st.markdown(charts.one_hot_svg(labels, one_hot(labels, dataset.n_classes), dataset.class_names,
                                   indices=one_hot_indices), unsafe_allow_html=True)
else:
    st.info("No labels to encode in this dataset.")

# ------------------------------------------------------------------ 6. augmentation
st.header("6. Augmentation (optional)")
st.caption("Random small shifts, rotations, zooms and noise, drawn anew for every training batch: the network "
           "sees a slightly different version of each image every epoch, which fights overfitting. "
           "Validation and test images are never augmented.")
augment_on = st.checkbox("Augment the training batches", key=state.PREPROCESS_AUGMENT_ON, persist_state="session")
cols = st.columns(4)
shift = cols[0].slider("Max shift (pixels)", 0.0, 5.0, step=0.5, key=state.PREPROCESS_SHIFT, persist_state="session")
rotation = cols[1].slider("Max rotation (degrees)", 0.0, 45.0, step=1.0, key=state.PREPROCESS_ROTATION,
                          persist_state="session")
zoom = cols[2].slider("Max zoom (±)", 0.0, 0.4, step=0.02, key=state.PREPROCESS_ZOOM, persist_state="session")
noise = cols[3].slider("Noise (std, share of 0-255)", 0.0, 0.4, step=0.02, key=state.PREPROCESS_NOISE,
                       persist_state="session")
augment_config = AugmentConfig(max_shift_px=float(shift), max_rotation_deg=float(rotation),
                               max_scale=float(zoom), noise_std=float(noise))
cols = st.columns(2)
preview_index = int(cols[0].number_input("Image to preview (index)", 0, n_total - 1, step=1,
                                         key=state.PREPROCESS_PREVIEW_INDEX, persist_state="session"))
preview_seed = int(cols[1].number_input("Preview seed", 0, 2**31 - 1, value=0, step=1,
                                        key=state.PREPROCESS_PREVIEW_SEED, persist_state="session"))
original = dataset.x_train[preview_index]
copies = augment_images(np.repeat(original[None], AUGMENT_COPIES, axis=0), augment_config,
                        np.random.default_rng(preview_seed))
if not augment_on:
    st.info("Augmentation is off: the training batches are used as they are. The preview shows what these "
            "strengths would do.")
st.image(charts.augment_preview_picture(original, copies).picture, output_format="PNG")

# ------------------------------------------------------------------ the config
config = PreprocessConfig(
    train_size=n_used,
    val_fraction=val_fraction,
    seed=seed,
    scaling=scaling,
    augment=augment_config if augment_on and not augment_config.is_identity else None,
)
st.session_state[state.PREPROCESS_CONFIG] = config
st.header("The preprocessing config")
share_setup.share_preprocess_link(config)
st.caption("Kept for this session: the Train page trains on exactly this, and saves it with the model.")
st.json(config.to_dict())
