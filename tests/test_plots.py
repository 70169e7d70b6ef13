"""lmcourse.plots draws what it is given (matplotlib's Agg backend, no display needed)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lmcourse import plots  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_plot_curves_draws_one_line_per_history_and_baselines(tmp_path):
    fig = plots.plot_curves(
        {"SGD": [4.0, 3.0, 2.5], "Adam": [4.0, 2.6, 2.4]},
        ylabel="loss (nats)",
        title="optimizers",
        baselines={"uniform": 4.4, "optimum": 2.3},
    )
    ax = fig.axes[0]
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["SGD", "Adam", "uniform", "optimum"]
    np.testing.assert_array_equal(lines[1].get_ydata(), [4.0, 2.6, 2.4])
    np.testing.assert_array_equal(lines[0].get_xdata(), [0, 1, 2])
    assert lines[2].get_ydata()[0] == 4.4 and lines[2].get_linestyle() == "--"
    assert ax.get_ylabel() == "loss (nats)" and ax.get_title() == "optimizers"
    assert ax.get_xlabel() == "step" and ax.get_yscale() == "linear"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["SGD", "Adam", "uniform", "optimum"]
    fig.savefig(tmp_path / "curves.png")
    assert (tmp_path / "curves.png").stat().st_size > 1000


def test_plot_curves_hides_diverged_values_and_uses_log_scale():
    fig = plots.plot_curves(
        {"too large": [1.0, 10.0, float("inf"), float("nan")], "fine": [1.0, 0.1, 0.01, 0.0]},
        ylabel="loss",
        title="lr",
        logy=True,
        x=[0, 10, 20, 30],
    )
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    diverged, fine = ax.get_lines()
    np.testing.assert_array_equal(diverged.get_xdata(), [0, 10, 20, 30])
    assert np.isnan(diverged.get_ydata()[2:]).all() and diverged.get_ydata()[1] == 10.0
    assert np.isnan(fine.get_ydata()[3])  # 0 cannot be drawn on a log axis
    low, high = ax.get_ylim()
    assert np.isfinite(low) and np.isfinite(high) and high < 1e3


def test_plot_curves_per_history_x_and_errors():
    fig = plots.plot_curves(
        {"a": [3.0, 2.0], "b": [3.0, 2.5, 2.0]}, "loss", "t", x={"a": [0, 100], "b": [0, 50, 100]}
    )
    a, b = fig.axes[0].get_lines()
    np.testing.assert_array_equal(a.get_xdata(), [0, 100])
    np.testing.assert_array_equal(b.get_xdata(), [0, 50, 100])
    with pytest.raises(ValueError, match="has 2 values but its x has 3"):
        plots.plot_curves({"a": [1.0, 2.0]}, "loss", "t", x=[0, 1, 2])
    with pytest.raises(ValueError, match="at least one history"):
        plots.plot_curves({}, "loss", "t")


def test_plot_curves_into_given_axes():
    fig, (left, right) = plt.subplots(1, 2)
    out = plots.plot_curves({"x": [1.0, 2.0]}, "y", "left", ax=left)
    assert out is fig
    assert len(left.get_lines()) == 1 and len(right.get_lines()) == 0


def test_plot_heatmap_shows_the_matrix_with_labels():
    m = np.arange(6, dtype=float).reshape(2, 3)
    fig = plots.plot_heatmap(m, "probabilities", xlabels=["a", "b", "c"], ylabels=["x", "y"])
    ax = fig.axes[0]
    np.testing.assert_array_equal(ax.get_images()[0].get_array(), m)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["x", "y"]
    assert len(fig.axes) == 2  # the image and its color bar
    with pytest.raises(ValueError, match="2-D"):
        plots.plot_heatmap(np.zeros(3), "bad")
    with pytest.raises(ValueError, match="xlabels has 2 labels for 3"):
        plots.plot_heatmap(m, "bad", xlabels=["a", "b"])


def test_finite_or_nan():
    out = plots.finite_or_nan([1.0, float("inf"), -float("inf"), float("nan"), 2.0])
    assert out.dtype == np.float64
    np.testing.assert_array_equal(np.isnan(out), [False, True, True, True, False])
