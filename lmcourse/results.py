"""A run's headline numbers: ``record`` them in a chapter, read them back in tests and tables.

A chapter calls ``record("val_perplexity", 212.3)``. When the notebook runs under
``lmcourse run``, the environment variable ``LMCOURSE_RESULTS`` names the run's
``results.json`` and every record rewrites that file at once (so a run that fails later still
leaves what it measured). In JupyterLab without that variable the numbers stay in memory;
``show()`` prints them.

The file holds::

    {"chapter": "01", "parameters": {...}, "results": {"val_perplexity": 212.3, ...}}
"""

from __future__ import annotations

import json
import math
import numbers
import os
import re
from pathlib import Path
from typing import Any

from lmcourse._checks import is_number

RESULTS_ENV = "LMCOURSE_RESULTS"
RUN_DIR_ENV = "LMCOURSE_RUN_DIR"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

_current: dict[str, Any] = {"chapter": None, "parameters": {}, "results": {}}


def begin(chapter: str, parameters: dict[str, Any]) -> None:
    """Start a fresh record for ``chapter`` run with ``parameters`` (called by start_chapter)."""
    _current.update(chapter=chapter, parameters=dict(parameters), results={})
    _write()


def record(name: str, value: Any) -> Any:
    """Record one headline number (or short string) of this run; returns ``value``.

    Args:
        name: snake_case, e.g. ``"val_perplexity"``; recording a name again replaces it.
        value: a finite int/float (NumPy and 0-d tensors are converted) or a string.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"result name {name!r} must be snake_case, e.g. 'val_perplexity'")
    if hasattr(value, "numpy"):  # a 0-d tensor from any backend
        value = value.numpy()
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:  # NumPy scalar / 0-d array
        value = value.item()
    if not (is_number(value) or isinstance(value, str)):
        raise TypeError(f"result {name!r} must be a number or a string, got {type(value).__name__}")
    if isinstance(value, numbers.Real):
        value = int(value) if isinstance(value, numbers.Integral) else float(value)
        if not math.isfinite(value):
            raise ValueError(f"result {name!r} is {value}: training diverged or a metric is broken")
    _current["results"][name] = value
    _write()
    return value


def current() -> dict[str, Any]:
    """The record of this kernel's run so far (a copy)."""
    return json.loads(json.dumps(_current))


def _write() -> None:
    path = os.environ.get(RESULTS_ENV)
    if not path:
        return
    path = Path(path)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(_current, indent=2) + "\n")
    tmp.replace(path)  # atomic: a reader never sees half a file


def read(path: str | Path) -> dict[str, Any]:
    """Read a run's ``results.json``."""
    return json.loads(Path(path).read_text())


def format_table(records: list[dict[str, Any]]) -> str:
    """Records (as written by a run) -> one text table: chapter, result, value."""
    rows = []
    for rec in records:
        for name, value in rec.get("results", {}).items():
            shown = f"{value:.4g}" if isinstance(value, float) else str(value)
            rows.append((str(rec.get("chapter")), name, shown))
    if not rows:
        return "(no results recorded)"
    widths = [
        max(len(h), *(len(r[i]) for r in rows))
        for i, h in enumerate(("chapter", "result", "value"))
    ]
    head = ("chapter", "result", "value")
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def show() -> None:
    """Print this run's recorded results as a table (the last cell of every chapter)."""
    print(format_table([_current]))


def run_dir(chapter: str | None = None) -> Path:
    """Where this run writes artifacts (checkpoints, TensorBoard logs, figures).

    ``lmcourse run`` sets it to the run's output folder; in JupyterLab it is
    ``runs/interactive/<chapter>`` beside the notebook.
    """
    path = os.environ.get(RUN_DIR_ENV)
    if path:
        out = Path(path)
    else:
        out = Path("runs") / "interactive" / (chapter or _current["chapter"] or "scratch")
    out.mkdir(parents=True, exist_ok=True)
    return out
