"""Figure builders of the Preprocess page: arrays in, pictures or inline SVG out (no Streamlit here).

Rows of images are pictures (:mod:`dashboard.montage`), which a browser shows at no cost. The split,
the histograms and the diagrams are inline SVG (:mod:`dashboard.svg_charts`, shown with
``st.markdown(..., unsafe_allow_html=True)``): none needs zoom or clicks, and without a Plotly chart
the page spares the browser Plotly's 4.7 MB script (about 1.2 s when the page opens a tab). Every
value stays readable, written out or on its shape's tooltip.
"""
from __future__ import annotations

import html
from collections.abc import Sequence

import numpy as np

from .montage import Montage, montage
from .svg_charts import TEXT_COLOUR, log_histogram_panels, nice_ticks, svg_box

TRAIN_COLOUR, VAL_COLOUR, TEST_COLOUR = "#636efa", "#ef553b", "#00cc96"
SAMPLE_COLOUR = "#ffa15a"


IMAGE_SCALE = 2


def before_after_picture(
    before: np.ndarray, before_titles: list[str], after: np.ndarray, after_titles: list[str],
    row_labels: tuple[str, str] = ("before", "after"),
) -> Montage:
    """Two rows of images (the first ones before and after a step), each titled ``label · #index``.

    A shorter row is padded with blank tiles; tile ``i`` of the second row is tile ``columns + i``.
    """
    columns = max(len(before), len(after), 1)
    blank = np.full((max(columns - len(before), 0), *before.shape[1:]), np.nan, dtype=np.float32)
    tiles = np.concatenate([before.astype(np.float32), blank, after.astype(np.float32)])
    titles = list(before_titles) + [""] * len(blank) + list(after_titles)
    rows = -(-len(tiles) // columns)
    return montage(tiles, columns=columns, titles=titles, row_labels=list(row_labels)[:rows], scale=IMAGE_SCALE)


SPLIT_WIDTH, SPLIT_MARGIN, SPLIT_BAR_TOP, SPLIT_BAR_HEIGHT = 900, 28, 8, 40
SPLIT_LEGEND_COLUMNS, LEGEND_ROW = 2, 20
# About how wide a character of the 12 px sans-serif text is: a segment writes its numbers only if they fit.
CHAR_WIDTH = 7.0
UNUSED_COLOUR = "#bbbbbb"


def split_svg(n_train: int, n_val: int, n_test: int = 0, n_unused: int = 0) -> str:
    """Where the images go: one horizontal bar cut into training, validation (and unused / test),
    each part's size and share on its tooltip and in the legend below (inside it too where it fits)."""
    counts = {"n_train": n_train, "n_val": n_val, "n_test": n_test, "n_unused": n_unused}
    if any(int(count) < 0 for count in counts.values()) or not sum(counts.values()):
        raise ValueError(f"expected image counts of at least 0, not all 0, got {counts}")
    used, in_file = n_train + n_val, n_train + n_val + n_unused
    parts_of_bar = [
        ("training", n_train, TRAIN_COLOUR, f"{100 * n_train / max(used, 1):.1f}% of the {used:,} used"),
        ("validation", n_val, VAL_COLOUR, f"{100 * n_val / max(used, 1):.1f}% of the {used:,} used"),
        ("not used", n_unused, UNUSED_COLOUR, f"{100 * n_unused / max(in_file, 1):.1f}% of the {in_file:,} in the training file"),
        ("test (separate file)", n_test, TEST_COLOUR, ""),
    ]
    shown = [(name, int(count), colour, share) for name, count, colour, share in parts_of_bar if count > 0]
    total = sum(count for _, count, _, _ in shown)
    span = SPLIT_WIDTH - 2 * SPLIT_MARGIN
    bottom = SPLIT_BAR_TOP + SPLIT_BAR_HEIGHT

    def x(count: float) -> float:
        return SPLIT_MARGIN + span * count / total

    parts, so_far = [], 0
    for name, count, colour, share in shown:
        tip = f"{name}: {count:,} images" + (f" ({share})" if share else "")
        left, right = x(so_far), x(so_far + count)
        parts.append(f'<rect x="{left:.1f}" y="{SPLIT_BAR_TOP}" width="{right - left:.1f}" height="{SPLIT_BAR_HEIGHT}" '
                     f'fill="{colour}" stroke="white"><title>{html.escape(tip)}</title></rect>')
        text = next((text for text in (f"{name}: {count:,}", f"{count:,}") if len(text) * CHAR_WIDTH < right - left - 8), "")
        if text:
            parts.append(f'<text x="{(left + right) / 2:.1f}" y="{SPLIT_BAR_TOP + SPLIT_BAR_HEIGHT / 2 + 4}" '
                         f'text-anchor="middle" fill="white" pointer-events="none">{html.escape(text)}</text>')
        so_far += count
    parts.append(f'<line x1="{SPLIT_MARGIN}" x2="{SPLIT_MARGIN + span}" y1="{bottom}" y2="{bottom}" stroke="{TEXT_COLOUR}"/>')
    for tick in nice_ticks(0, total):
        parts.append(f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{bottom}" y2="{bottom + 4}" stroke="{TEXT_COLOUR}"/>'
                     f'<text x="{x(tick):.1f}" y="{bottom + 17}" text-anchor="middle">{tick:,.0f}</text>')
    parts.append(f'<text x="{SPLIT_WIDTH / 2}" y="{bottom + 34}" text-anchor="middle">images</text>')
    legend_top = bottom + 56
    column_width = span / SPLIT_LEGEND_COLUMNS
    for index, (name, count, colour, share) in enumerate(shown):
        left = SPLIT_MARGIN + column_width * (index % SPLIT_LEGEND_COLUMNS)
        top = legend_top + LEGEND_ROW * (index // SPLIT_LEGEND_COLUMNS)
        written = f"{name}: {count:,} images" + (f" ({share})" if share else "")
        parts.append(f'<rect x="{left:.1f}" y="{top - 10}" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{left + 18:.1f}" y="{top}">{html.escape(written)}</text>')
    height = legend_top + LEGEND_ROW * (-(-len(shown) // SPLIT_LEGEND_COLUMNS) - 1) + 8
    return svg_box(SPLIT_WIDTH, height, f"Where the {total:,} images go", parts)


BEFORE_COLOUR = "#888888"


def scaling_histogram_svg(
    before_counts: np.ndarray, before_edges: np.ndarray, after_counts: np.ndarray, after_edges: np.ndarray,
    after_title: str,
) -> str:
    """Pixel-value histograms before (raw 0-255) and after scaling, side by side on one log count axis
    (the same pixels in both: the background's spike would hide the rest on a linear one)."""
    return log_histogram_panels(
        [("before: raw pixels 0-255", before_counts, before_edges, BEFORE_COLOUR),
         (after_title, after_counts, after_edges, TRAIN_COLOUR)],
        "Pixel values before and after scaling")


TRANSPOSE_WIDTH, TRANSPOSE_HEIGHT = 760, 352
ROWS_MATRIX = (110.0, 44.0, 120.0, 240.0)      # x, y, width, height: tall, one image per row
COLUMNS_MATRIX = (480.0, 104.0, 240.0, 120.0)  # wide, one image per column
STRIPE = 12.0


def _matrix(box: tuple[float, float, float, float], stripe: str, name: str, shape: tuple[int, int], tip: str,
            stripe_tip: str) -> list[str]:
    """A grey rectangle standing for a matrix, one image's stripe (``"row"`` or ``"column"``) highlighted,
    its name and shape written below it."""
    x, y, width, height = box
    stripe_box = (x, y, width, STRIPE) if stripe == "row" else (x, y, STRIPE, height)
    return [
        f'<rect x="{x}" y="{y}" width="{width}" height="{height}" fill="#969696" fill-opacity="0.25" stroke="#444444">'
        f"<title>{html.escape(tip)}</title></rect>",
        f'<rect x="{stripe_box[0]}" y="{stripe_box[1]}" width="{stripe_box[2]}" height="{stripe_box[3]}" '
        f'fill="{SAMPLE_COLOUR}"><title>{html.escape(stripe_tip)}</title></rect>',
        f'<text x="{x + width / 2}" y="{y + height + 20}" text-anchor="middle" font-size="13">'
        f'<tspan font-weight="700">{html.escape(name)}</tspan>  ({shape[0]}, {shape[1]})</text>',
    ]


def transpose_svg(n_samples: int, n_features: int = 784, first_hidden: int = 256) -> str:
    """The two layouts of the same training matrix, labelled with their real shapes.

    Left: nnlib's rows ``(m, 784)``, one image per row; right: the seed study's columns
    ``(784, m)``, one image per column; between them the transposition ``X.T``.
    """
    if n_samples < 1 or n_features < 1 or first_hidden < 1:
        raise ValueError(f"expected sizes of at least 1, got {n_samples}, {n_features}, {first_hidden}")
    x, y, width, height = ROWS_MATRIX
    parts = _matrix(ROWS_MATRIX, "row", "X", (n_samples, n_features),
                    f"X: {n_samples:,} rows (one per image) x {n_features} columns (one per pixel)",
                    f"the first image: row 0 of X, {n_features} pixels")
    middle = y + height / 2
    parts += [
        f'<text x="{x + width / 2}" y="{y - 10}" text-anchor="middle" fill="{SAMPLE_COLOUR}">'
        f"one image = one row of {n_features} pixels</text>",
        f'<text x="{x - 10}" y="{middle}" text-anchor="middle" transform="rotate(-90 {x - 10} {middle})">'
        f"{n_samples:,} images</text>",
        f'<text x="{x + width / 2}" y="{y + height + 38}" text-anchor="middle">rows: nnlib</text>',
        f'<text x="{x + width / 2}" y="{y + height + 56}" text-anchor="middle" font-size="11">'
        f"X @ W1 with W1 ({n_features}, {first_hidden}) → ({n_samples}, {first_hidden})</text>",
    ]
    arrow_from, arrow_to = x + width + 60, COLUMNS_MATRIX[0] - 50
    centre = (arrow_from + arrow_to) / 2
    parts += [
        f'<line x1="{arrow_from}" x2="{arrow_to - 10}" y1="{middle}" y2="{middle}" stroke="{TEXT_COLOUR}" stroke-width="2"/>',
        f'<polygon points="{arrow_to},{middle} {arrow_to - 14},{middle - 7} {arrow_to - 14},{middle + 7}"/>',
        f'<text x="{centre}" y="{middle - 14}" text-anchor="middle" font-size="13"><tspan font-weight="700">transpose</tspan>'
        f": X.T</text>",
        f'<text x="{centre}" y="{middle + 24}" text-anchor="middle" font-size="11">same numbers,</text>',
        f'<text x="{centre}" y="{middle + 38}" text-anchor="middle" font-size="11">other axis first</text>',
    ]
    x, y, width, height = COLUMNS_MATRIX
    parts += _matrix(COLUMNS_MATRIX, "column", "X.T", (n_features, n_samples),
                     f"X.T: {n_features} rows (one per pixel) x {n_samples:,} columns (one per image)",
                     f"the first image: column 0 of X.T, {n_features} pixels")
    side = x + width + 14
    parts += [
        f'<text x="{x}" y="{y - 10}" fill="{SAMPLE_COLOUR}">one image = one column of {n_features} pixels</text>',
        f'<text x="{side}" y="{middle}" text-anchor="middle" transform="rotate(90 {side} {middle})">{n_features} pixels</text>',
        f'<text x="{x + width / 2}" y="{y + height + 38}" text-anchor="middle">columns: seed study</text>',
        f'<text x="{x + width / 2}" y="{y + height + 56}" text-anchor="middle" font-size="11">'
        f"W1 @ X.T with W1 ({first_hidden}, {n_features}) → ({first_hidden}, {n_samples})</text>",
    ]
    return svg_box(TRANSPOSE_WIDTH, TRANSPOSE_HEIGHT, f"X ({n_samples}, {n_features}) and its transpose X.T", parts)


CELL_HEIGHT, MIN_CELL_WIDTH, ONE_HOT_HEADER = 26, 30, 44
OFF_COLOUR = "#f4f4f4"


def one_hot_svg(labels: np.ndarray, encoded: np.ndarray, class_names: Sequence[str],
                indices: np.ndarray | None = None) -> str:
    """A few labels and their one-hot rows: one row per image (``#index → label``), a column per class,
    each cell's 0 or 1 written in it and on its tooltip, the 1s coloured."""
    labels = np.asarray(labels)
    encoded = np.asarray(encoded)
    if encoded.shape != (len(labels), len(class_names)):
        raise ValueError(f"expected one row per label and one column per class, {(len(labels), len(class_names))}, "
                         f"got {encoded.shape}")
    if indices is not None and len(indices) != len(labels):
        raise ValueError(f"expected one index per label, got {len(indices)} for {len(labels)}")
    names = [str(name) for name in class_names]
    rows = [f"#{i} → {names[y]}" if indices is not None else names[y]
            for i, y in zip(indices if indices is not None else labels, labels)]
    cell_width = max(MIN_CELL_WIDTH, CHAR_WIDTH * max(map(len, names), default=1) + 10)
    label_width = CHAR_WIDTH * max(map(len, rows), default=1) + 12
    left = 24 + label_width
    width = left + cell_width * len(names) + 4
    height = ONE_HOT_HEADER + CELL_HEIGHT * len(rows) + 4
    parts = [f'<text x="{left + cell_width * len(names) / 2:.1f}" y="14" text-anchor="middle" font-weight="600">class</text>']
    for column, name in enumerate(names):
        parts.append(f'<text x="{left + cell_width * (column + 0.5):.1f}" y="{ONE_HOT_HEADER - 8}" '
                     f'text-anchor="middle">{html.escape(name)}</text>')
    for row, (label, values) in enumerate(zip(rows, encoded)):
        top = ONE_HOT_HEADER + CELL_HEIGHT * row
        parts.append(f'<text x="{left - 8:.1f}" y="{top + CELL_HEIGHT / 2 + 4}" text-anchor="end">{html.escape(label)}</text>')
        for column, (name, value) in enumerate(zip(names, values)):
            on = value == 1
            cell_x = left + cell_width * column
            ink = 'fill="white" font-weight="700"' if on else 'fill="#999999"'
            parts.append(
                f'<g><title>{html.escape(f"{label}, column {name}: {float(value):g}")}</title>'
                f'<rect x="{cell_x + 1:.1f}" y="{top + 1}" width="{cell_width - 2:.1f}" height="{CELL_HEIGHT - 2}" '
                f'fill="{TRAIN_COLOUR if on else OFF_COLOUR}"/>'
                f'<text x="{cell_x + cell_width / 2:.1f}" y="{top + CELL_HEIGHT / 2 + 4}" text-anchor="middle" '
                f'{ink}>{float(value):g}</text></g>')
    middle = ONE_HOT_HEADER + CELL_HEIGHT * len(rows) / 2
    parts.append(f'<text x="12" y="{middle}" text-anchor="middle" transform="rotate(-90 12 {middle})" '
                 f'font-weight="600">image → label</text>')
    return svg_box(width, height, f"One-hot rows of {len(rows)} labels", parts)


AUGMENT_SCALE = 3


def augment_preview_picture(original: np.ndarray, augmented: np.ndarray, columns: int = 6) -> Montage:
    """The original image (tile 0) followed by random augmented versions of it (tiles 1...)."""
    tiles = np.concatenate([np.asarray(original, dtype=np.float32)[None], np.asarray(augmented, dtype=np.float32)])
    titles = ["original"] + [f"random {i}" for i in range(1, len(augmented) + 1)]
    return montage(tiles, columns=columns, titles=titles, scale=AUGMENT_SCALE)
