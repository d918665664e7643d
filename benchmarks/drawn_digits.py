"""Does the Predict page read what people draw? The quality bar of issue 5.

Builds canvas-like drawings from MNIST *test* digits (never seen in training): each
digit is cropped to its ink, upscaled to between 50 and 260 pixels tall, thresholded
into crisp thick strokes (a canvas has no grey), and placed at a random spot on a
280x280 canvas; most are white on black (the page's canvas), some black on white (a
scan or a photo). The model then reads every drawing twice: through the page's
preprocessing (:func:`nnlib.imaging.to_mnist_style`: crop, fit 20x20, centre of mass)
and through what most drawing demos do, resizing the whole canvas to 28x28. Each step
switched off on its own is reported too. A harder second check: digits typed in
every font installed on the machine (``fc-list``), at random sizes and positions.

    .venv/bin/python benchmarks/drawn_digits.py [--model data/models/default.npz] [--n 5000]

Prints a Markdown report and writes it to ``benchmarks/results/drawn_digits.md``.
"""
from __future__ import annotations

import argparse
import subprocess
import time
from pathlib import Path

import numpy as np
from common import ROOT, machine, record_headlines  # re-executes without the variables that pin OpenBLAS's kernel
from PIL import Image, ImageDraw, ImageFont

from nnlib.data import load_mnist
from nnlib.imaging import ink_bbox, to_mnist_style
from nnlib.model import Sequential
from nnlib.preprocessing import Scaler

CANVAS = 280
DEFAULT_MODEL = ROOT / "data" / "models" / "default.npz"
RESULTS = ROOT / "benchmarks" / "results" / "drawn_digits.md"
BLACK_ON_WHITE_SHARE = 0.2
HEIGHT_RANGE = (50, 260)       # digit height on the 280x280 canvas, pixels
THRESHOLD_RANGE = (0.3, 0.6)   # where the upscaled grey digit is cut into crisp ink

# name -> keyword arguments of to_mnist_style
METHODS = {
    "page preprocessing (crop, fit 20x20, centre of mass)": {},
    "resize the whole canvas to 28x28": dict(crop=False, fit_20=False, center_of_mass=False),
    "without crop (whole canvas fitted to 20x20, centred)": dict(crop=False),
    "without fit 20x20 (crop fills 28x28)": dict(fit_20=False),
    "without centre of mass (box centred)": dict(center_of_mass=False),
}


def drawn_from_mnist(digit: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """One MNIST digit as a canvas drawing: uint8 ``(280, 280)``; and whether black on white."""
    top, left, bottom, right = ink_bbox(digit / 255.0)
    ink = digit[top:bottom, left:right].astype(np.float32) / 255
    height = int(rng.integers(*HEIGHT_RANGE, endpoint=True))
    width = max(1, min(CANVAS, int(round(ink.shape[1] * height / ink.shape[0]))))
    big = np.asarray(Image.fromarray(ink, mode="F").resize((width, height), Image.Resampling.BICUBIC))
    strokes = big > rng.uniform(*THRESHOLD_RANGE)
    if not strokes.any():
        strokes = big > big.max() / 2
    canvas = np.zeros((CANVAS, CANVAS), dtype=np.uint8)
    row = int(rng.integers(0, CANVAS - height, endpoint=True))
    col = int(rng.integers(0, CANVAS - width, endpoint=True))
    canvas[row:row + height, col:col + width][strokes] = 255
    black_on_white = bool(rng.random() < BLACK_ON_WHITE_SHARE)
    return (255 - canvas if black_on_white else canvas), black_on_white


def font_files() -> list[Path]:
    """Every TrueType/OpenType font fontconfig knows, sorted (empty when fc-list is missing)."""
    try:
        listing = subprocess.run(["fc-list", "--format", "%{file}\\n"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return []
    return sorted({Path(line) for line in listing.stdout.splitlines() if line.lower().endswith((".ttf", ".otf"))})


def typed_digit(font_path: Path, digit: int, rng: np.random.Generator) -> tuple[np.ndarray, bool] | None:
    """A digit typed in a font, random size and place, on a 280x280 canvas; None if the font lacks it."""
    size = int(rng.integers(60, 240, endpoint=True))
    font = ImageFont.truetype(str(font_path), size)
    glyph = Image.new("L", (CANVAS * 2, CANVAS * 2), 0)
    ImageDraw.Draw(glyph).text((CANVAS // 2, CANVAS // 2), str(digit), fill=255, font=font)
    box = glyph.getbbox()
    if box is None:
        return None
    glyph = glyph.crop(box)
    if glyph.height > CANVAS - 4 or glyph.width > CANVAS - 4:
        scale = (CANVAS - 4) / max(glyph.size)
        glyph = glyph.resize((max(1, int(glyph.width * scale)), max(1, int(glyph.height * scale))), Image.Resampling.LANCZOS)
    canvas = Image.new("L", (CANVAS, CANVAS), 0)
    canvas.paste(glyph, (int(rng.integers(0, CANVAS - glyph.width, endpoint=True)),
                         int(rng.integers(0, CANVAS - glyph.height, endpoint=True))))
    array = np.asarray(canvas)
    black_on_white = bool(rng.random() < BLACK_ON_WHITE_SHARE)
    return (255 - array if black_on_white else array), black_on_white


def read_all(model: Sequential, scaler: Scaler, canvases: list[np.ndarray], options: dict) -> np.ndarray:
    """Predicted labels for every canvas through ``to_mnist_style(**options)``; -1 when empty."""
    images = [to_mnist_style(canvas, **options) for canvas in canvases]
    batch = np.stack([result.image.reshape(-1) for result in images])
    labels = model.predict(scaler.transform(batch, already_unit=True))
    labels[[result.is_empty for result in images]] = -1
    return labels


def percent(correct: np.ndarray) -> str:
    return f"{100 * correct.mean():.2f}%" if correct.size else "n/a"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--n", type=int, default=5000, help="MNIST test digits to draw (max 10000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)

    model = Sequential.load(args.model)
    scaler = Scaler.from_metadata(model.metadata)
    rng = np.random.default_rng(args.seed)
    mnist = load_mnist()
    pick = rng.choice(len(mnist.x_test), size=min(args.n, len(mnist.x_test)), replace=False)
    started = time.perf_counter()
    drawings = [drawn_from_mnist(mnist.x_test[i], rng) for i in pick]
    canvases = [canvas for canvas, _ in drawings]
    black_on_white = np.array([flag for _, flag in drawings])
    labels = mnist.y_test[pick]

    results = {name: read_all(model, scaler, canvases, options) == labels for name, options in METHODS.items()}
    page = results[next(iter(METHODS))]
    boxes = [to_mnist_style(c).bbox for c in canvases]
    heights = np.array([b[2] - b[0] for b in boxes])
    seconds_per_image = (time.perf_counter() - started) / len(canvases) / (len(METHODS) + 1)

    fonts = font_files()
    typed, typed_labels, typed_fonts = [], [], []
    font_rng = np.random.default_rng(args.seed + 1)
    for font_path in fonts:
        for digit in range(10):
            for _ in range(3):
                made = typed_digit(font_path, digit, font_rng)
                if made is not None:
                    typed.append(made[0])
                    typed_labels.append(digit)
                    typed_fonts.append(font_path.stem)
    typed_labels_array = np.array(typed_labels)
    typed_results = ({name: read_all(model, scaler, typed, METHODS[name]) == typed_labels_array
                      for name in list(METHODS)[:2]} if typed else {})

    metrics = model.metadata.get("metrics") or {}
    test_accuracy = metrics.get("test_accuracy")
    lines = [
        "# Drawn digits: does the Predict page read what people draw?",
        "",
        f"Model `{args.model.relative_to(ROOT) if args.model.is_relative_to(ROOT) else args.model}`"
        + (f" (MNIST test accuracy {100 * test_accuracy:.2f}%)" if test_accuracy else "")
        + f", input scaling `{scaler.method}`. Made by `python benchmarks/drawn_digits.py --n {args.n} --seed {args.seed}`"
        f" on {machine()}.",
        "",
        f"## {len(canvases):,} canvas drawings from MNIST test digits",
        "",
        f"Cropped to the ink, upscaled to {HEIGHT_RANGE[0]}-{HEIGHT_RANGE[1]} px tall, thresholded into crisp strokes,"
        f" placed at random on a {CANVAS}x{CANVAS} canvas; {100 * BLACK_ON_WHITE_SHARE:.0f}% black on white.",
        "",
        "| preprocessing | accuracy |",
        "| --- | ---: |",
        *[f"| {name} | {percent(correct)} |" for name, correct in results.items()],
        "",
        "Page preprocessing, by kind of drawing:",
        "",
        "| drawings | n | accuracy |",
        "| --- | ---: | ---: |",
        f"| white on black | {int((~black_on_white).sum())} | {percent(page[~black_on_white])} |",
        f"| black on white | {int(black_on_white.sum())} | {percent(page[black_on_white])} |",
        f"| small (< 120 px tall) | {int((heights < 120).sum())} | {percent(page[heights < 120])} |",
        f"| large (>= 120 px tall) | {int((heights >= 120).sum())} | {percent(page[heights >= 120])} |",
        *[f"| digit {d} | {int((labels == d).sum())} | {percent(page[labels == d])} |" for d in range(10)],
        "",
        f"About {1000 * seconds_per_image:.1f} ms per drawing for the preprocessing and prediction.",
        "",
    ]
    if typed:
        per_font = {}
        page_typed = typed_results[next(iter(METHODS))]
        for name, correct in zip(typed_fonts, page_typed):
            per_font.setdefault(name, []).append(correct)
        worst = sorted(per_font.items(), key=lambda item: np.mean(item[1]))[:5]
        lines += [
            f"## Typed digits: {len(typed):,} images, {len(fonts)} fonts from `fc-list`, 0-9 three times each",
            "",
            "A harder check: printed digits differ from handwriting (serifs, the 1's flag, the open 4).",
            "",
            "| preprocessing | accuracy |",
            "| --- | ---: |",
            *[f"| {name} | {percent(correct)} |" for name, correct in typed_results.items()],
            "",
            "Page preprocessing, by digit: "
            + ", ".join(f"{d}: {percent(page_typed[typed_labels_array == d])}" for d in range(10)) + ".",
            "",
            "Hardest fonts: " + ", ".join(f"{name} {100 * np.mean(v):.0f}%" for name, v in worst) + ".",
            "",
        ]
    else:
        lines += ["## Typed digits", "", "No fonts found (`fc-list` missing or empty; Debian: `apt-get install fonts-dejavu-core`).", ""]
    report = "\n".join(lines)
    print(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report, encoding="utf-8")
    model_name = args.model.stem
    headlines = [[f"Canvas-like drawings of {len(canvases):,} MNIST test digits, model {model_name}",
                  f"{percent(page)} read right", f"MNIST test {100 * test_accuracy:.2f}%" if test_accuracy else "", ""]]
    if typed:
        headlines.append([f"Digits typed in {len(fonts)} fonts, model {model_name}",
                          f"{percent(typed_results[next(iter(METHODS))])} read right", "", ""])
    record_headlines(f"drawn_digits_{model_name}", headlines)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
