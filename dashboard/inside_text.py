"""The words and equations of the Inside page: each step explained simply, and as maths.

Equations are LaTeX for ``st.latex``, in the seed study's notation (samples in columns,
``Z1 = W1 X + b1``) with nnlib's row form beside it. Shapes are written both ways: the
seed's ``W1: (256, 784)``, ``X: (784, m)`` and nnlib's ``W: (784, 256)``, ``X: (m, 784)``.
"""
from __future__ import annotations

SIMPLE = "Explain it simply"
MATHS = "The maths"
EXPLAIN_MODES = (SIMPLE, MATHS)

TEXT: dict[str, dict[str, str]] = {
    "input": {
        SIMPLE: "The network never sees a picture: it gets 784 numbers, one per pixel, from 0 (black) to 1 "
                "(white ink), read row by row. Every layer after this one only ever does arithmetic on them.",
        MATHS: "The 28x28 image is flattened row-major into $x \\in \\mathbb{R}^{784}$ and scaled as the model "
               "was trained. A batch of $m$ images is a matrix: $X$ of shape $(784, m)$ in the seed study's "
               "columns, $(m, 784)$ in nnlib's rows.",
    },
    "dense": {
        SIMPLE: "Each unit of this layer looks at every number of the layer before, multiplies each by its own "
                "weight, adds them up with a bias, and keeps the result only if it is positive (ReLU). A unit "
                "lights up when its favourite pattern is there. Click a unit to see what it looks for.",
        MATHS: "An affine map then an element-wise non-linearity. Each column of $Z$ is one image; each row one "
               "unit. ReLU zeroes the negative pre-activations, so the layer is piecewise linear in its input.",
    },
    "conv": {
        SIMPLE: "A convolution slides a small 5x5 stamp (a kernel) over the image and, at each place, scores how "
                "well the patch under it matches the stamp: one score per place makes a feature map. Each kernel "
                "looks for one kind of stroke. Click a pixel of a map to see the sum that made it.",
        MATHS: "A cross-correlation with $C_{out}$ kernels of $k \\times k \\times C_{in}$ weights, stride 1, no "
               "padding (\"valid\"): each output pixel is the dot product of a kernel with the patch under it, "
               "plus the kernel's bias. nnlib computes all of them at once as one matrix product (im2col).",
    },
    "pool": {
        SIMPLE: "Max-pooling keeps the strongest score of each 2x2 square and drops the other three: the map "
                "gets half as wide and half as tall, and a stroke moved by a pixel still gives the same answer.",
        MATHS: "$P_{i,j,c} = \\max_{0 \\le a, b < 2} A_{2i+a,\\,2j+b,\\,c}$. The gradient flows back only to the "
               "kept position of each window (marked on the map).",
    },
    "logits": {
        SIMPLE: "The last layer gives one score per digit. Softmax turns the scores into probabilities that add "
                "up to 1: the biggest score wins, and the gaps between scores decide how sure the network is.",
        MATHS: "The output layer is affine with no activation: the logits $z$. "
               "$\\mathrm{softmax}(z)_i = e^{z_i - \\max z} / \\sum_j e^{z_j - \\max z}$ (subtracting the maximum "
               "changes nothing but keeps $e^{z}$ from overflowing).",
    },
    "backward": {
        SIMPLE: "To learn, the network compares its answer with the right one: the error is how much each "
                "probability should move. That error is sent back through the layers, each one working out how "
                "much each of its weights was to blame, and every weight moves a little the other way. "
                "Press Step and watch the probability of the right digit grow.",
        MATHS: "Cross-entropy loss $L = -\\frac{1}{m}\\sum \\log A_{y}$; its gradient at the logits is the famous "
               "$dZ = A - Y$. Each layer turns the gradient of its output into those of its weights and of its "
               "input (chain rule), and gradient descent moves every weight by $-\\alpha\\, dW$.",
    },
    "learned": {
        SIMPLE: "Here are hundreds of test images as each layer sees them, squashed onto a flat map "
                "(PCA): points of the same colour are the same digit. In the pixels the digits overlap; layer by "
                "layer the network pulls them apart until each digit has its own corner.",
        MATHS: "Each panel projects a layer's representation of the images onto its first two principal "
               "components (centred SVD). Linear separability of the classes grows with depth; the logits are "
               "nearly separable by construction of the training objective.",
    },
    "health": {
        SIMPLE: "A dead unit is never switched on by any test image: it does nothing and learns nothing (ReLU "
                "passes no gradient through a unit that is off). A saturated unit (sigmoid or tanh stuck at its "
                "limit) learns nothing either.",
        MATHS: "Dead: $\\max_{images} A_j \\le 0$ (ReLU), so $\\partial L / \\partial W_{:,j} = 0$ for every image. "
               "Saturated: $|\\tanh| > 0.99$ (or a sigmoid within 0.01 of 0 or 1) on at least 99% of images, "
               "where the derivative nearly vanishes.",
    },
}


def explain(topic: str, mode: str) -> str:
    """The text for ``topic`` in ``mode`` (:data:`SIMPLE` or :data:`MATHS`)."""
    return TEXT[topic][MATHS if mode == MATHS else SIMPLE]


def dense_equations(layer_number: int, activation: str | None, first: bool) -> list[tuple[str, str]]:
    """``(label, LaTeX)`` lines for Dense layer ``layer_number`` (1-based): the seed's form, nnlib's, the activation."""
    previous = "X" if first else f"A^{{[{layer_number - 1}]}}"
    lines = [("Seed study (samples in columns)",
              f"Z^{{[{layer_number}]}} = W^{{[{layer_number}]}} \\, {previous} + b^{{[{layer_number}]}}"),
             ("nnlib (samples in rows): `x @ W + b`",
              f"Z^{{[{layer_number}]}} = {{{previous}}}^{{\\top}} W + b")]
    if activation:
        lines.append(("Activation", f"A^{{[{layer_number}]}} = \\mathrm{{{activation}}}(Z^{{[{layer_number}]}})"
                      + (" = \\max(Z, 0)" if activation == "ReLU" else "")))
    return lines


def dense_shapes(layer_number: int, fan_in: int, fan_out: int, first: bool) -> tuple[str, str]:
    """The shapes of one Dense layer for a batch of m images: (seed's column layout, nnlib's row layout)."""
    previous = "X" if first else f"A{layer_number - 1}"
    seed = (f"`W{layer_number}: ({fan_out}, {fan_in})` · `{previous}: ({fan_in}, m)` · "
            f"`b{layer_number}: ({fan_out}, 1)` · `Z{layer_number}: ({fan_out}, m)`")
    rows = f"`W: ({fan_in}, {fan_out})` · `x: (m, {fan_in})` · `b: ({fan_out},)` · `Z: (m, {fan_out})`"
    return seed, rows


def conv_equations(activation: str | None) -> list[tuple[str, str]]:
    """``(label, LaTeX)`` lines of a convolution and its activation."""
    lines = [("Each output pixel", r"Z_{i,j,c} = \sum_{a,b < k} \sum_{d} X_{i+a,\,j+b,\,d}\; W_{a,b,d,c} + b_c"),
             ("nnlib, all pixels at once (im2col: one row per output pixel)",
              r"Z = \texttt{cols} \cdot W_{(k k C_{in},\, C_{out})} + b")]
    if activation:
        lines.append(("Activation", f"A = \\mathrm{{{activation}}}(Z)"))
    return lines


def conv_shapes(input_shape: tuple[int, ...], kernel_shape: tuple[int, ...],
                output_shape: tuple[int, ...]) -> tuple[str, str]:
    """(seed's layout, nnlib's layout) for a convolution: the seed study had none, so its column is the flat input."""
    flat = 1
    for size in input_shape:
        flat *= size
    seed = (f"The seed study had no convolutions; in its column layout these {flat} inputs per image "
            f"would be `({flat}, m)`.")
    rows = (f"`X: (m, {', '.join(map(str, input_shape))})` · `W: {tuple(kernel_shape)}` · "
            f"`b: ({kernel_shape[-1]},)` · `Z: (m, {', '.join(map(str, output_shape))})`")
    return seed, rows


SOFTMAX_EQUATION = r"A = \mathrm{softmax}(Z)_i = \frac{e^{Z_i - \max Z}}{\sum_j e^{Z_j - \max Z}}"
POOL_EQUATION = r"P_{i,j,c} = \max\left(A_{2i,2j,c},\, A_{2i,2j+1,c},\, A_{2i+1,2j,c},\, A_{2i+1,2j+1,c}\right)"
BACKWARD_EQUATIONS = (
    r"L = -\frac{1}{m} \sum_{i} \log A_{y_i, i} \qquad dZ^{[L]} = A - Y",
    r"dW^{[l]} = \frac{1}{m}\, dZ^{[l]} A^{[l-1]\top} \qquad db^{[l]} = \frac{1}{m} \sum_i dZ^{[l]}_{:,i}",
    r"dA^{[l-1]} = W^{[l]\top} dZ^{[l]} \qquad dZ^{[l-1]} = dA^{[l-1]} \odot \mathbb{1}[Z^{[l-1]} > 0]",
    r"W^{[l]} \leftarrow W^{[l]} - \alpha\, dW^{[l]} \qquad b^{[l]} \leftarrow b^{[l]} - \alpha\, db^{[l]}",
)
BACKWARD_ROWS_NOTE = ("nnlib (samples in rows) computes the same numbers transposed: `dL/dW = x.T @ g`, "
                      "`dL/db = g.sum(axis=0)`, `dL/dx = g @ W.T`, with `g = (A - Y) / m` at the output "
                      "(the loss folds the 1/m into the gradient).")
