"""Small plotting helpers the chapters share: learning curves and heatmaps.

Each function draws into a new figure (or into ``ax`` when given) and returns the
:class:`matplotlib.figure.Figure`, so a notebook can ``plt.show()`` it and a test or script can
``fig.savefig(...)`` it. Only matplotlib is needed; nothing here imports a deep-learning
framework.

Example:
    >>> from lmcourse import plots
    >>> fig = plots.plot_curves({"train": [3.0, 2.1, 1.7], "validation": [3.1, 2.4, 2.2]},
    ...                         ylabel="loss (nats)", title="learning curves")
    >>> [line.get_label() for line in fig.axes[0].get_lines()]
    ['train', 'validation']
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def finite_or_nan(values: Sequence[float]) -> np.ndarray:
    """``values`` as a float array with ``inf``/``-inf``/``nan`` (and overflow) set to NaN.

    matplotlib leaves a gap at NaN, so a diverged run is drawn up to where it blew up
    instead of stretching the axis to infinity.
    """
    out = np.asarray(values, dtype=np.float64).copy()
    out[~np.isfinite(out)] = np.nan
    return out


def _figure_and_axes(ax: Any, figsize: tuple[float, float]) -> tuple[Any, Any]:
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
    return ax.figure, ax


def plot_curves(
    histories: Mapping[str, Sequence[float]],
    ylabel: str,
    title: str,
    logy: bool = False,
    *,
    x: Sequence[float] | Mapping[str, Sequence[float]] | None = None,
    xlabel: str = "step",
    baselines: Mapping[str, float] | None = None,
    logx: bool = False,
    ax: Any = None,
    figsize: tuple[float, float] = (7.0, 4.0),
) -> Any:
    """Learning curves: one line per named history, optional dashed baselines.

    Non-finite values (a diverged run) are not drawn (see :func:`finite_or_nan`); on a log
    axis, values <= 0 are not drawn either.

    Args:
        histories: ``{label: [y_0, y_1, ...]}``, e.g. ``{"lr 0.1": losses}``. Lines are drawn
            in this order.
        ylabel: the y axis label, with units (``"loss (nats)"``).
        title: the plot title.
        logy: log-scale y axis (for losses spanning orders of magnitude).
        x: the x values: one sequence for all histories, or ``{label: xs}`` per history; by
            default ``0, 1, 2, ...``.
        xlabel: the x axis label.
        baselines: ``{label: y}`` drawn as dashed horizontal lines (e.g. a uniform model's
            loss, the best achievable loss).
        logx: log-scale x axis.
        ax: draw into this matplotlib Axes instead of a new figure.
        figsize: size of a new figure, in inches.

    Returns:
        The matplotlib Figure.

    Raises:
        ValueError: no histories, or an ``x`` whose length differs from its history's.
    """
    if not histories:
        raise ValueError("plot_curves needs at least one history, e.g. {'train': [2.3, 1.9]}")
    fig, ax = _figure_and_axes(ax, figsize)
    for label, ys in histories.items():
        ys = finite_or_nan(ys)
        if logy:
            ys[ys <= 0] = np.nan
        xs = x.get(label) if isinstance(x, Mapping) else x
        xs = np.arange(len(ys)) if xs is None else np.asarray(xs, dtype=np.float64)
        if len(xs) != len(ys):
            raise ValueError(f"history {label!r} has {len(ys)} values but its x has {len(xs)}")
        ax.plot(xs, ys, label=label)
    for i, (label, y) in enumerate((baselines or {}).items()):
        if math.isfinite(y) and (y > 0 or not logy):
            ax.axhline(y, linestyle="--", linewidth=1, color=f"C{len(histories) + i}", label=label)
    if logy:
        ax.set_yscale("log")
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def plot_heatmap(
    matrix: Any,
    title: str,
    *,
    xlabels: Sequence[str] | None = None,
    ylabels: Sequence[str] | None = None,
    xlabel: str = "",
    ylabel: str = "",
    vmin: float | None = None,
    vmax: float | None = None,
    cmap: str = "viridis",
    colorbar: bool = True,
    ax: Any = None,
    figsize: tuple[float, float] = (5.0, 4.5),
) -> Any:
    """A matrix as an image: attention weights, transition probabilities, confusion matrices.

    Args:
        matrix: 2-D array-like ``(rows, cols)``; row ``i`` is drawn at the top for ``i = 0``.
        title: the plot title.
        xlabels: one tick label per column (e.g. tokens); omitted -> no tick labels.
        ylabels: one tick label per row.
        xlabel: the x axis label.
        ylabel: the y axis label.
        vmin: the value at the bottom of the color scale (default: the minimum).
        vmax: the value at the top of the color scale (default: the maximum).
        cmap: a matplotlib colormap name.
        colorbar: draw a color bar beside the image.
        ax: draw into this Axes instead of a new figure.
        figsize: size of a new figure, in inches.

    Returns:
        The matplotlib Figure.

    Raises:
        ValueError: ``matrix`` is not 2-D, or a label list does not match its axis.
    """
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2:
        raise ValueError(f"plot_heatmap needs a 2-D matrix, got shape {m.shape}")
    for name, labels, size in (("xlabels", xlabels, m.shape[1]), ("ylabels", ylabels, m.shape[0])):
        if labels is not None and len(labels) != size:
            raise ValueError(
                f"{name} has {len(labels)} labels for {size} entries of shape {m.shape}"
            )
    fig, ax = _figure_and_axes(ax, figsize)
    image = ax.imshow(m, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto", interpolation="nearest")
    if xlabels is not None:
        ax.set_xticks(range(m.shape[1]), labels=list(xlabels))
    else:
        ax.set_xticks([])
    if ylabels is not None:
        ax.set_yticks(range(m.shape[0]), labels=list(ylabels))
    else:
        ax.set_yticks([])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if colorbar:
        fig.colorbar(image, ax=ax)
    fig.tight_layout()
    return fig
