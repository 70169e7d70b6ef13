"""Draw the course's conceptual diagrams into this folder, one SVG each.

    python chapters/figures/make_figures.py           # (re)draw every figure
    python chapters/figures/make_figures.py --check   # exit 1 if a committed SVG is stale

Every figure is drawn in inch coordinates (the axes fill the figure, 1 data unit = 1 inch) from
a few shared helpers (:func:`box`, :func:`op`, :func:`arrow`, :func:`label`), in one palette.
Text stays text in the SVG (``svg.fonttype = "none"``) and ids and dates are fixed, so the
same code and matplotlib version give byte-identical files and a diff shows what changed.
"""

from __future__ import annotations

import argparse
import io
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch  # noqa: E402
from matplotlib.path import Path as MplPath  # noqa: E402

HERE = Path(__file__).resolve().parent

STYLE = {
    "svg.fonttype": "none",
    "svg.hashsalt": "lmcourse",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Helvetica", "Arial", "sans-serif"],
    "mathtext.fontset": "dejavusans",
    "font.size": 10,
    "hatch.color": "#c4c4c4",
    "hatch.linewidth": 0.6,
}
INK, WIRE, MUTED = "#222222", "#4d4d4d", "#6b6b6b"
ACCENT = "#d55e00"  # the one thing a figure asks you to look at
# role -> (face, edge); tints of the Okabe-Ito colour-blind-safe palette
PALETTE = {
    "input": ("#dbeaf7", "#0072b2"),
    "state": ("#fde8c8", "#e69f00"),
    "op": ("#dcf0e6", "#009e73"),
    "norm": ("#fbf3c0", "#b59a00"),
    "output": ("#f3dcea", "#cc79a7"),
    "frozen": ("#ececec", "#9a9a9a"),
    "new": ("#f8c9a8", ACCENT),
    "plain": ("#ffffff", "#4d4d4d"),
}


@dataclass(frozen=True)
class Box:
    """A drawn shape: centre (x, y), width w, height h; its edge midpoints as properties."""

    x: float
    y: float
    w: float
    h: float

    @property
    def left(self) -> tuple[float, float]:
        return (self.x - self.w / 2, self.y)

    @property
    def right(self) -> tuple[float, float]:
        return (self.x + self.w / 2, self.y)

    @property
    def top(self) -> tuple[float, float]:
        return (self.x, self.y + self.h / 2)

    @property
    def bottom(self) -> tuple[float, float]:
        return (self.x, self.y - self.h / 2)


def canvas(width: float, height: float, title: str | None = None) -> tuple[Figure, object]:
    """A figure ``width`` x ``height`` inches whose data coordinates are inches."""
    fig = Figure(figsize=(width, height))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.set_axis_off()
    if title:
        ax.text(0.15, height - 0.15, title, ha="left", va="top", fontsize=11.5, weight="bold")
    return fig, ax


def box(
    ax, x, y, w, h, text="", role="op", fontsize=10, hatch=None, lw=1.2, edge=None, **text_kw
) -> Box:
    """A rounded box centred on (x, y), filled in ``role``'s colours, with centred text."""
    face, role_edge = PALETTE[role]
    edge = edge or role_edge
    radius = min(0.08, h / 4, w / 4)
    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle=f"round,pad=0,rounding_size={radius}",
            facecolor=face,
            edgecolor=edge,
            linewidth=lw,
            hatch=hatch,
            zorder=2,
            clip_on=False,
        )
    )
    if text:
        text_kw.setdefault("color", INK)
        ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, zorder=3, **text_kw)
    return Box(x, y, w, h)


def op(ax, x, y, symbol, r=0.15, role="op", fontsize=11) -> Box:
    """A small circle with an operator in it ("+", "×", "tanh")."""
    face, edge = PALETTE[role]
    ax.add_patch(Circle((x, y), r, fc=face, ec=edge, lw=1.2, zorder=2, clip_on=False))
    ax.text(x, y, symbol, ha="center", va="center", fontsize=fontsize, color=INK, zorder=3)
    return Box(x, y, 2 * r, 2 * r)


def arrow(ax, *points, color=WIRE, lw=1.3, head=True, dashed=False, zorder=1):
    """A polyline through ``points`` (x, y), with an arrowhead at the last point."""
    style = "-|>,head_length=0.45,head_width=0.22" if head else "-"
    ax.add_patch(
        FancyArrowPatch(
            path=MplPath(points),
            arrowstyle=style,
            mutation_scale=12 * max(1.0, lw / 1.3) ** 0.5,
            color=color,
            linewidth=lw,
            linestyle="--" if dashed else "-",
            joinstyle="miter",
            capstyle="butt",
            zorder=zorder,
            clip_on=False,
        )
    )


def panel(ax, x0, y0, w, h, face="#f3f3f3", edge="none", radius=0.1, zorder=0):
    """A plain rounded rectangle from its lower-left corner (x0, y0): a background or a bar."""
    style = f"round,pad=0,rounding_size={radius}"
    patch = FancyBboxPatch((x0, y0), w, h, boxstyle=style, facecolor=face, edgecolor=edge)
    patch.set_zorder(zorder)
    patch.set_clip_on(False)
    ax.add_patch(patch)


def rule(ax, xs, ys, color="#d0d0d0"):
    """A thin straight line through the points (xs[i], ys[i]): a separator or a bracket."""
    ax.plot(xs, ys, color=color, lw=0.8, clip_on=False)


def dot(ax, x, y, color=WIRE):
    """A junction dot where a wire splits."""
    ax.add_patch(Circle((x, y), 0.035, facecolor=color, edgecolor=color, zorder=3, clip_on=False))


def label(ax, x, y, text, fontsize=9, color=MUTED, **kw):
    """Annotation text (smaller and greyer than box text)."""
    kw.setdefault("ha", "center")
    kw.setdefault("va", "center")
    ax.text(x, y, text, fontsize=fontsize, color=color, zorder=4, **kw)


# --- chapter 04 ------------------------------------------------------------------------------


def rnn_unrolled() -> Figure:
    fig, ax = canvas(8.4, 3.9, "A recurrent network, folded and unrolled over 4 time steps")
    # folded: one cell with a loop back into itself
    cell = box(ax, 0.95, 1.75, 0.9, 0.6, "RNN\ncell", role="state")
    x_in = box(ax, 0.95, 0.45, 0.5, 0.38, "$x_t$", role="input")
    h_out = box(ax, 0.95, 3.05, 0.5, 0.38, "$h_t$", role="output")
    arrow(ax, x_in.top, cell.bottom)
    arrow(ax, cell.top, h_out.bottom)
    loop = [(1.4, 1.9), (1.72, 1.9), (1.72, 1.6), (1.4, 1.6)]
    arrow(ax, *loop, color=ACCENT)
    label(ax, 1.9, 1.75, "$U$", color=ACCENT, fontsize=10)
    label(ax, 1.11, 1.1, "$W$", fontsize=10)
    label(ax, 2.3, 1.75, "=", fontsize=20, color=INK)
    # unrolled: the same cell once per step, h_{t-1} feeding step t
    xs = [3.8 + 1.3 * i for i in range(4)]
    h0 = box(ax, 2.8, 1.75, 0.42, 0.38, "$h_0$", role="state", fontsize=10)
    prev = h0.right
    for t, x in enumerate(xs, start=1):
        c = box(
            ax, x, 1.75, 0.9, 0.6, f"$\\tanh(Wx_{{{t}}}$\n$+\\,Uh_{{{t - 1}}}+b)$", "state", 8.5
        )
        xi = box(ax, x, 0.45, 0.5, 0.38, f"$x_{t}$", role="input")
        ho = box(ax, x, 3.05, 0.5, 0.38, f"$h_{t}$", role="output")
        arrow(ax, xi.top, c.bottom)
        arrow(ax, c.top, ho.bottom)
        arrow(ax, prev, c.left, color=ACCENT)
        label(ax, x + 0.16, 1.1, "$W$", fontsize=10)
        label(ax, (prev[0] + c.left[0]) / 2, 1.92, "$U$", color=ACCENT, fontsize=10)
        prev = c.right
    for t, x in enumerate(xs[1:], start=1):
        label(ax, x - 0.65, 1.58, f"$h_{t}$", fontsize=8.5, color=ACCENT)
    label(
        ax,
        5.6,
        0.07,
        "the same weights $W$, $U$, $b$ at every step; only $x_t$ and $h_{t-1}$ change",
        fontsize=9,
        va="bottom",
    )
    return fig


GATE_NAMES = {"f": "$f_t$", "i": "$i_t$", "g": "$\\tilde c_t$", "o": "$o_t$"}
LSTM_EQUATIONS = (
    "$f_t, i_t, o_t = \\sigma(W_\\ast x_t + U_\\ast h_{t-1} + b_\\ast)$,   "
    "$\\tilde c_t = \\tanh(W_c x_t + U_c h_{t-1} + b_c)$\n"
    "$c_t = f_t \\odot c_{t-1} + i_t \\odot \\tilde c_t$,   $h_t = o_t \\odot \\tanh(c_t)$"
)


def lstm_cell() -> Figure:
    fig, ax = canvas(
        8.4, 5.2, "An LSTM cell: gates decide what the cell state forgets, adds, shows"
    )
    panel(ax, 1.15, 1.75, 6.1, 2.8, face="#f7f7f7", edge="#b0b0b0", radius=0.15)
    top, gate_y, bus, h_y = 4.1, 2.75, 2.05, 1.45  # cell state, gates, [h, x] bus, h wires
    forget, add = op(ax, 2.1, top, "×"), op(ax, 3.8, top, "+")
    mult_in, mult_out = op(ax, 3.8, 3.4, "×"), op(ax, 6.2, gate_y, "×")
    squash = op(ax, 6.2, 3.4, "tanh", r=0.24, fontsize=8.5)
    gates = {}
    for name, x, fn in (("f", 2.1, "σ"), ("i", 3.2, "σ"), ("g", 4.4, "tanh"), ("o", 5.4, "σ")):
        gates[name] = box(ax, x, gate_y, 0.6, 0.42, fn, role="op")
        arrow(ax, (x, bus), gates[name].bottom)
        dot(ax, x, bus)
    # the cell state along the top: c_{t-1} -> (× f_t) -> (+ i_t × c~_t) -> c_t
    for start, end in (
        ((0.35, top), forget.left),
        (forget.right, add.left),
        (add.right, (7.95, top)),
    ):
        arrow(ax, start, end, color=ACCENT, lw=2.2)
    arrow(ax, (6.2, top), squash.top, color=ACCENT)
    dot(ax, 6.2, top, ACCENT)
    wires = (
        (gates["f"].top, forget.bottom),
        (gates["i"].top, (3.2, 3.4), mult_in.left),
        (gates["g"].top, (4.4, 3.4), mult_in.right),
        (mult_in.top, add.bottom),
        (squash.bottom, mult_out.top),
        (gates["o"].right, mult_out.left),
        (mult_out.right, (6.85, gate_y), (6.85, h_y), (7.95, h_y)),  # h_t = o_t × tanh(c_t)
    )
    for points in wires:
        arrow(ax, *points)
    # inputs: h_{t-1} from the left, x_t from below, joined into one vector
    x_in = box(ax, 1.7, 0.95, 0.5, 0.38, "$x_t$", role="input")
    arrow(ax, (0.35, h_y), (1.7, h_y), (1.7, bus), (5.4, bus), head=False)
    arrow(ax, x_in.top, (1.7, h_y), head=False)
    dot(ax, 1.7, h_y)
    texts = (
        (0.55, top + 0.25, "$c_{t-1}$", 11, ACCENT),
        (7.8, top + 0.25, "$c_t$", 11, ACCENT),
        (2.95, top + 0.22, "forget", 8.5, MUTED),
        (4.55, top + 0.22, "add", 8.5, MUTED),
        (0.6, h_y + 0.22, "$h_{t-1}$", 11, INK),
        (7.45, h_y + 0.22, "$h_t$", 11, INK),
        (3.75, bus - 0.2, "$[h_{t-1}, x_t]$ (concatenated)", 9, MUTED),
        (4.2, 0.37, LSTM_EQUATIONS, 9.5, INK),
    )
    texts += tuple((gates[n].x - 0.45, gate_y, t, 11, INK) for n, t in GATE_NAMES.items())
    for x, y, text, size, color in texts:
        label(ax, x, y, text, fontsize=size, color=color, linespacing=1.8)
    return fig


# --- chapter 05 ------------------------------------------------------------------------------

ATTENTION_NOTE = (
    "A dict returns the value of the one key equal to the query; attention returns a blend of "
    "all values,\nweighted by how well each key matches the query."
)
ATTENTION_SHAPES = (
    "All $T$ queries at once:  $\\mathrm{softmax}(QK^\\top/\\sqrt{d_k})\\,V$,   $Q$: $(T, d_k)$,"
    "  $K$: $(T, d_k)$,  $V$: $(T, d_v)$  →  weights $(T, T)$, output $(T, d_v)$"
)
ATTENTION_HEADS = (
    (0.75, "query $q$\n(a row of $Q$)"),
    (2.35, "keys $K$\n$(T, d_k)$"),
    (3.55, "score\n$q \\cdot k_j / \\sqrt{d_k}$"),
    (4.9, "weights $a_j$\n(softmax)"),
    (6.35, "values $V$\n$(T, d_v)$"),
    (7.85, "output\n$(d_v)$"),
)


def attention_lookup() -> Figure:
    fig, ax = canvas(8.6, 4.9, "Attention as a soft dictionary lookup")
    label(ax, 0.15, 4.38, ATTENTION_NOTE, fontsize=9, ha="left")
    scores = [2.0, 0.4, -0.6, 1.2]
    total = sum(math.exp(s) for s in scores)
    weights = [math.exp(s) / total for s in scores]
    rows = [3.3, 2.6, 1.9, 1.2]
    mid = sum(rows) / len(rows)
    for x, text in ATTENTION_HEADS:
        label(ax, x, 3.85, text, fontsize=9, color=INK)
    q = box(ax, 0.75, mid, 0.7, 0.45, "$q$", role="input", fontsize=11)
    out = box(ax, 7.85, mid, 1.1, 0.55, "$\\sum_j a_j v_j$", role="output", fontsize=11)
    for j, (y, s, a) in enumerate(zip(rows, scores, weights, strict=True), start=1):
        panel(ax, 1.85, y - 0.27, 5.0, 0.54)  # one dictionary entry: (k_j, v_j)
        k = box(ax, 2.35, y, 0.6, 0.4, f"$k_{j}$", role="state")
        v = box(ax, 6.35, y, 0.6, 0.4, f"$v_{j}$", role="op")
        arrow(ax, q.right, k.left, lw=0.9)
        label(ax, 3.55, y, f"{s:+.1f}".replace("-", "−"), fontsize=10, color=INK)
        panel(ax, 4.3, y - 0.12, 1.5 * a, 0.24, face=ACCENT, radius=0.04, zorder=2)
        label(ax, 4.38 + 1.5 * a, y, f"{a:.2f}", fontsize=9, color=INK, ha="left")
        arrow(ax, v.right, (out.left[0], mid + 0.12 * (2.5 - j)), color=ACCENT, lw=0.5 + 7 * a)
    label(ax, 0.75, mid - 0.55, "dot product\nwith each key", fontsize=8.5)
    label(ax, 4.9, 0.72, "weights sum to 1", fontsize=8.5)
    label(ax, 0.15, 0.3, ATTENTION_SHAPES, fontsize=9.5, color=INK, ha="left")
    return fig


# --- chapter 06 ------------------------------------------------------------------------------

_SUBLAYER = {
    "LN": ("LayerNorm", "norm"),
    "MHA": ("multi-head\nself-attention", "state"),
    "FFN": ("feed-forward\n(FFN)", "op"),
}


def _block_column(ax, cx: float, order: list[list[str]], y0: float, step: float) -> None:
    """One Transformer block, bottom to top: sub-blocks ``order``, a residual around each."""
    prev = box(ax, cx, y0, 1.2, 0.4, "$x$: $(T, d)$", role="input", fontsize=10).top
    y = y0
    for sub in order:
        branch = (cx, prev[1] + 0.12)
        for kind in sub:
            y += step
            if kind == "+":
                node = op(ax, cx, y, "+")
                arrow(ax, branch, (cx - 1.3, branch[1]), (cx - 1.3, y), node.left, color=ACCENT)
                dot(ax, *branch, color=ACCENT)
                label(ax, cx - 1.45, (branch[1] + y) / 2, "residual", 8.5, ACCENT, rotation=90)
            else:
                text, role = _SUBLAYER[kind]
                node = box(ax, cx, y, 1.9, 0.46, text, role=role, fontsize=9.5)
            arrow(ax, prev, node.bottom)
            prev = node.top
    arrow(ax, prev, (cx, y + step - 0.1))
    label(ax, cx, y + step + 0.02, "to the next block, $(T, d)$", fontsize=8.5)


def transformer_block() -> Figure:
    fig, ax = canvas(8.0, 7.2, "One Transformer block, two orders of the same parts")
    heads = (
        (
            2.3,
            "pre-LN (GPT-2 and later)",
            "LN inside each branch; the stream is a plain sum\n(one more LN after the last block)",
        ),
        (5.9, "post-LN (original Transformer, BERT)", "LN after each residual add\n"),
    )
    for x, name, note in heads:
        label(ax, x, 6.65, name, fontsize=10.5, color=INK, weight="bold")
        label(ax, x, 6.25, note, fontsize=8.5)
    _block_column(ax, 2.3, [["LN", "MHA", "+"], ["LN", "FFN", "+"]], 0.45, 0.74)
    _block_column(ax, 5.9, [["MHA", "+", "LN"], ["FFN", "+", "LN"]], 0.45, 0.74)
    return fig


def _cache_grid(ax, x0: float, title: str, cached: bool) -> None:
    """Which positions' k, v each call computes ("new") or reads from the cache ("state")."""
    prompt, steps, dx = 4, 3, 0.34
    xs = [x0 + 1.2 + dx * col for col in range(prompt + steps)]
    label(ax, (xs[0] + xs[-1]) / 2, 2.98, title, fontsize=9.5, color=INK, weight="bold")
    for first, last, name in ((0, prompt - 1, "prompt"), (prompt, prompt + steps - 1, "generated")):
        rule(ax, [xs[first] - 0.14, xs[last] + 0.14], [2.6, 2.6], MUTED)
        label(ax, (xs[first] + xs[last]) / 2, 2.72, name, fontsize=8)
    for col, x in enumerate(xs):
        label(ax, x, 2.47, str(col + 1), fontsize=8)
    counts = []
    for row, name in enumerate(["prefill", "step 1", "step 2", "step 3"]):
        y = 2.15 - 0.36 * row
        label(ax, x0 + 0.85, y, name, fontsize=9, color=INK, ha="right")
        fresh = [not cached or row == 0 or col == prompt + row - 1 for col in range(prompt + row)]
        for x, new in zip(xs, fresh, strict=False):
            box(ax, x, y, dx - 0.06, 0.25, role="new" if new else "state", lw=0.8)
        counts.append(sum(fresh))
    total = " + ".join(map(str, counts))
    label(
        ax,
        (xs[0] + xs[-1]) / 2,
        0.75,
        f"k, v computed: {total} = {sum(counts)} positions",
        fontsize=9,
        color=INK,
    )


def kv_cache() -> Figure:
    fig, ax = canvas(8.6, 6.1, "Generating with a key/value cache")
    y = 4.55
    tok = box(ax, 0.8, y, 1.2, 0.55, "new token\n$x_t$", role="input", fontsize=9.5)
    proj = box(ax, 2.65, y, 1.6, 0.55, "$q_t, k_t, v_t$\nfor this position only", "op", 8.5)
    arrow(ax, tok.right, proj.left)
    for row, name in enumerate(("$K$", "$V$")):
        ry = 5.25 - 0.32 * row
        label(ax, 4.05, ry, name, fontsize=10, color=INK)
        for col in range(6):
            box(ax, 4.35 + 0.32 * col, ry, 0.26, 0.25, role="new" if col == 5 else "state", lw=0.8)
    label(ax, 5.15, 5.62, "cache: $k, v$ of positions $1, \\dots, t$  (the new one appended)", 8.5)
    arrow(ax, (3.2, proj.top[1]), (3.2, 5.09), (4.15, 5.09), color=ACCENT)
    label(ax, 3.05, 5.1, "append $k_t, v_t$", fontsize=8.5, color=ACCENT, ha="right")
    att = box(
        ax,
        5.15,
        3.9,
        2.0,
        0.55,
        "attend over all cached:\nsoftmax$(q_t K^\\top/\\sqrt{d_k})\\,V$",
        role="state",
        fontsize=8.5,
    )
    arrow(ax, (2.65, proj.bottom[1]), (2.65, 3.9), att.left)
    label(ax, 2.75, 4.05, "$q_t$", fontsize=10, color=INK, ha="left")
    arrow(ax, (5.15, 4.8), att.top)
    nxt = box(ax, 7.6, 3.9, 1.3, 0.55, "logits →\nnext token", role="output", fontsize=9)
    arrow(ax, att.right, nxt.left)
    arrow(ax, nxt.bottom, (7.6, 3.4), (0.8, 3.4), tok.bottom, dashed=True)
    label(ax, 4.2, 3.52, "the sampled token is the next step's input", fontsize=8.5)
    rule(ax, [0.2, 8.4], [3.22, 3.22])
    _cache_grid(ax, 0.0, "with the cache", cached=True)
    _cache_grid(ax, 4.3, "without: recompute every position", cached=False)
    for x, role, text in (
        (1.6, "new", "k, v (and q) computed in this call"),
        (5.2, "state", "k, v read from the cache"),
    ):
        box(ax, x, 0.3, 0.3, 0.22, role=role, lw=0.8)
        label(ax, x + 0.25, 0.3, text, fontsize=8.5, ha="left")
    return fig


# --- chapter 07 ------------------------------------------------------------------------------

BERT_TOKENS = ["[CLS]", "my", "dog", "[SEP]", "it", "barks", "[SEP]"]


def bert_embeddings() -> Figure:
    fig, ax = canvas(8.6, 5.35, "BERT's input: three embeddings summed, then LayerNorm")
    xs = [2.0 + 0.95 * j for j in range(len(BERT_TOKENS))]
    rows = (
        ("input tokens", "", 4.35),
        ("token", "table $(V, d)$", 3.45),
        ("segment", "table $(2, d)$", 2.55),
        ("position", "table $(T_{max}, d)$", 1.65),
    )
    for name, shape, y in rows:
        label(ax, 0.15, y + (0.1 if shape else 0), name, fontsize=10, color=INK, ha="left")
        if shape:
            label(ax, 0.15, y - 0.14, shape, fontsize=8.5, ha="left")
    for j, (x, tok) in enumerate(zip(xs, BERT_TOKENS, strict=True)):
        segment = "A" if j <= 3 else "B"
        t = box(ax, x, 4.35, 0.82, 0.42, tok, role="plain", fontsize=9.5)
        e = box(ax, x, 3.45, 0.82, 0.42, f"$E_{{\\mathrm{{{tok}}}}}$", role="input", fontsize=9.5)
        box(
            ax,
            x,
            2.55,
            0.82,
            0.42,
            f"$E_{segment}$",
            role="state" if segment == "A" else "output",
            fontsize=10,
        )
        p = box(ax, x, 1.65, 0.82, 0.42, f"$E_{j}$", role="op", fontsize=10)
        arrow(ax, t.bottom, e.top)
        for yy in (3.0, 2.1):
            label(ax, x, yy, "+", fontsize=12, color=INK)
        arrow(ax, p.bottom, (x, 1.05))
    box(
        ax,
        (xs[0] + xs[-1]) / 2,
        0.85,
        xs[-1] - xs[0] + 0.82,
        0.4,
        "sum, then LayerNorm (and dropout)  →  the encoder's input, $(T, d)$",
        "norm",
        10,
    )
    for first, last, name in ((0, 3, "sentence A"), (4, 6, "sentence B")):
        rule(ax, [xs[first] - 0.38, xs[last] + 0.38], [4.7, 4.7], MUTED)
        label(ax, (xs[first] + xs[last]) / 2, 4.83, name, fontsize=8.5)
    return fig


MLM_TEXT = "the dog chased the ball across the wet grass and then slept .".split()
MLM_CHOSEN = {1: ("[MASK]", "80%: [MASK]"), 4: ("sky", "10%: random"), 8: ("grass", "10%: kept")}
MLM_NOTES = (
    "15% of the positions are chosen at random (here 3 of 13, so that each case shows once)",
    "BERT encoder: every position attends to every other, both ways",
    "cross-entropy against the original token, at the chosen positions only; "
    "the other positions (—) are not scored",
)


def mlm_masking() -> Figure:
    fig, ax = canvas(8.6, 5.5, "Masked language modelling: what BERT sees and what it is scored on")
    xs = [1.45 + 0.555 * j for j in range(len(MLM_TEXT))]
    for name, y in (("text", 4.35), ("model input", 3.15), ("encoder", 2.3), ("targets", 1.45)):
        label(ax, 0.15, y, name, fontsize=10, color=INK, ha="left")
    label(ax, 0.15, 4.85, MLM_NOTES[0], fontsize=9, ha="left")
    for j, (x, word) in enumerate(zip(xs, MLM_TEXT, strict=True)):
        if j not in MLM_CHOSEN:
            box(ax, x, 4.35, 0.5, 0.38, word, role="plain", fontsize=8.5, lw=0.8)
            box(ax, x, 3.15, 0.5, 0.38, word, role="plain", fontsize=8.5, lw=0.8)
            label(ax, x, 1.45, "—", fontsize=9, color="#aaaaaa")
            continue
        shown, case = MLM_CHOSEN[j]
        box(ax, x, 4.35, 0.5, 0.38, word, role="plain", fontsize=8.5, lw=2.0, edge=ACCENT)
        box(ax, x, 3.15, 0.5, 0.38, shown, role="input", fontsize=7.5 if "[" in shown else 8.5)
        arrow(ax, (x, 4.15), (x, 3.35), color=ACCENT)
        label(ax, x + 0.04, 3.75, case, fontsize=8, color=ACCENT, ha="left")
        target = box(ax, x, 1.45, 0.5, 0.38, word, role="output", fontsize=8.5)
        arrow(ax, (x, 2.05), target.top, color=ACCENT)
    width = xs[-1] - xs[0] + 0.5
    box(ax, (xs[0] + xs[-1]) / 2, 2.3, width, 0.42, MLM_NOTES[1], role="state", fontsize=9.5)
    label(ax, 0.15, 0.98, MLM_NOTES[2], fontsize=9, ha="left")
    _split_bar(ax, 1.2, 0.4, 7.1)
    return fig


def _split_bar(ax, x0: float, y: float, width: float) -> None:
    """The 80/10/10 rule as one stacked bar, segment widths to scale."""
    label(ax, 0.15, y, "each chosen\nposition", fontsize=9, color=INK, ha="left")
    parts = (
        ("80%  →  [MASK]", 0.8, "input"),
        ("10%\nrandom", 0.1, "output"),
        ("10%\nkept", 0.1, "op"),
    )
    x = x0
    for text, share, role in parts:
        box(
            ax,
            x + width * share / 2,
            y,
            width * share - 0.04,
            0.44,
            text,
            role=role,
            fontsize=9 if share > 0.5 else 7.5,
        )
        x += width * share


# --- chapter 08 ------------------------------------------------------------------------------

_LAYERS = ["embeddings", "block 1", "block 2", "block 3", "block 4", "head (new)"]


def _stack(ax, cx: float, trainable: int, width: float = 1.15) -> None:
    """Encoder layers bottom to top; the top ``trainable`` of them (head included) train."""
    for k, name in enumerate(_LAYERS):
        train = k >= len(_LAYERS) - trainable
        role = ("output" if k == len(_LAYERS) - 1 else "state") if train else "frozen"
        box(
            ax,
            cx,
            0.95 + 0.46 * k,
            width,
            0.38,
            name,
            role=role,
            fontsize=8.5,
            color=INK if train else MUTED,
            hatch=None if train else "//",
        )


def finetuning_strategies() -> Figure:
    fig, ax = canvas(8.6, 5.0, "Three ways to fine-tune a pretrained encoder")
    heads = (
        (1.1, "frozen backbone", "train the head only"),
        (4.35, "gradual unfreezing", "from the top down, one stage (say, an epoch) at a time"),
        (7.55, "full fine-tuning", "train every weight"),
    )
    for x, name, note in heads:
        label(ax, x, 4.2, name, fontsize=10.5, color=INK, weight="bold")
        label(ax, x, 3.9, note, fontsize=8.5)
    _stack(ax, 1.1, trainable=1)
    for e, x in enumerate((3.2, 4.35, 5.5)):
        _stack(ax, x, trainable=e + 1, width=1.0)
        label(ax, x, 0.55, f"stage {e + 1}", fontsize=9, color=INK)
    _stack(ax, 7.55, trainable=len(_LAYERS))
    for x in (2.35, 6.4):
        rule(ax, [x, x], [0.55, 4.3])
    legend = (
        ("output", None, "trained: the new head"),
        ("state", None, "trained: pretrained weights"),
        ("frozen", "//", "frozen: no gradient, no update"),
    )
    for x, (role, hatch, text) in zip((0.6, 3.25, 6.0), legend, strict=True):
        box(ax, x, 0.2, 0.3, 0.22, role=role, hatch=hatch, lw=0.8)
        label(ax, x + 0.22, 0.2, text, fontsize=8.5, ha="left")
    return fig


FIGURES: dict[str, Callable[[], Figure]] = {
    "rnn_unrolled": rnn_unrolled,
    "lstm_cell": lstm_cell,
    "attention_lookup": attention_lookup,
    "transformer_block": transformer_block,
    "kv_cache": kv_cache,
    "bert_embeddings": bert_embeddings,
    "mlm_masking": mlm_masking,
    "finetuning_strategies": finetuning_strategies,
}


def render(name: str) -> bytes:
    """The SVG bytes of figure ``name`` (deterministic: fixed hash salt, no date)."""
    with matplotlib.rc_context(STYLE):
        fig = FIGURES[name]()
        buf = io.BytesIO()
        fig.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    parser.add_argument("--out", type=Path, default=HERE, help="folder (default: this one)")
    args = parser.parse_args(argv)
    stale = []
    for name in FIGURES:
        path = args.out / f"{name}.svg"
        svg = render(name)
        if args.check:
            if not path.exists() or path.read_bytes() != svg:
                stale.append(path.name)
        else:
            path.write_bytes(svg)
            print(f"wrote {path} ({len(svg) / 1024:.0f} KiB)")
    if stale:
        print("differ from a fresh drawing (run python chapters/figures/make_figures.py):")
        print("\n".join(f"  {name}" for name in stale))
        return 1
    if args.check:
        print(f"all {len(FIGURES)} figures match a fresh drawing")
    return 0


if __name__ == "__main__":
    sys.exit(main())
