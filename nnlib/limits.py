"""The limits every loader checks before it allocates, in one place.

A server for a classroom reads files from anyone, and a small file can declare a huge
thing: a 1 MB gzip that inflates to 1 GiB, a 797-byte model header that declares a
100,000 x 100,000 layer. Each loader checks the *declared* or *decompressed* size
against these limits before it allocates, and refuses with a message naming the limit.

They are generous for real data: MNIST's training images are 47 MB uncompressed
(60,000 images), Kaggle's digit-recognizer ``train.csv`` is 73 MB (42,000 rows), and the
largest network the Train page builds (five hidden layers of 1,024) has 4.9 million
parameters.
"""
from __future__ import annotations

MIB = 1024 * 1024

# Datasets (IDX, CSV, .npz)
MAX_IMAGES = 250_000                 # images per dataset split (MNIST: 60,000 + 10,000)
MIN_IMAGES = 2                       # a training set needs at least two images to split and learn from
MAX_DECOMPRESSED_BYTES = 256 * MIB   # one IDX file after gunzip (MNIST's largest: 45 MiB)
MAX_CSV_BYTES = 256 * MIB            # CSV text after gunzip (Kaggle's train.csv: 73 MB)
MAX_CSV_CELL_CHARS = 64              # a number in a CSV cell ("255", "0.0039215686")
MAX_ARRAY_BYTES = 256 * MIB          # one array in a .npz, as declared by its .npy header
                                     # (MNIST's 60,000 training images as float32: 188 MB)
MAX_ARCHIVE_MEMBERS = 256            # arrays in one .npz (a model of 100 layers has 201)

# Model files
MAX_MODEL_HEADER_BYTES = 1 * MIB     # the JSON header (ours: about 5 KB)
MAX_MODEL_LAYERS = 100
MAX_MODEL_PARAMETERS = 25_000_000    # 100 MB as float32; the Train page's largest net: 4.9 million
MAX_LAYER_SIZE = 1_000_000           # any one size in a layer's config (units, channels, pixels)
MAX_SAMPLE_ACTIVATIONS = 2_000_000   # numbers one image's forward pass holds at once (an activation or
                                     # a convolution's patches); the Train page's largest CNN: 102,400

# Pictures (the Predict page, ``python -m nnlib predict``)
MAX_IMAGE_PIXELS = 50_000_000        # a 48-megapixel phone photo still opens
MIN_IMAGE_SIDE = 5                   # pixels: less cannot hold a recognisable digit
MAX_IMAGE_ASPECT = 20                # longer side / shorter side; a digit is roughly square


def megabytes(n_bytes: int) -> str:
    """``n_bytes`` as MiB for messages (``"256 MiB"``)."""
    return f"{n_bytes / MIB:,.0f} MiB" if n_bytes >= MIB else f"{n_bytes:,} bytes"
