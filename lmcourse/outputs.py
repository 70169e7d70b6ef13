"""The output folder of ``lmcourse run``: one writer at a time, and an interrupted run resumes.

A run's folder holds, besides the executed notebooks and ``results.json``::

    run.json    what was asked (chapters, profile, parameters) and whether it finished
    .lock       the process id of the run writing here, while it runs

Rules, checked before any kernel starts:

* an empty or missing folder: a new run;
* a folder another live ``lmcourse run`` writes to (its ``.lock`` names a running process):
  refused, and that run is left alone;
* a folder of the *same* run that did not finish (killed, a lost session, Ctrl-C): resumed.
  Its checkpoints are kept, so ``training.fit`` goes on from the last finished epoch;
* anything else (other files, another run, a finished run): refused.

Example:
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp()) / "out"
    >>> with claim(folder, {"chapters": ["04"], "profile": "smoke", "parameters": {}}) as resumed:
    ...     resumed, (folder / LOCK).is_file()
    (False, True)
    >>> (folder / LOCK).exists(), json.loads((folder / PLAN).read_text())["finished"]
    (False, True)
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

LOCK, PLAN = ".lock", "run.json"


class OutputError(Exception):
    """The output folder cannot take this run; the message is one line naming the fix."""


def _busy(out: Path, pid: int | None) -> OutputError:
    who = f"process {pid}" if pid else "a process that is starting"
    return OutputError(
        f"output folder {out} is in use by another lmcourse run ({who}): wait for "
        f"it to finish, or choose another --output"
    )


def _not_empty(out: Path) -> OutputError:
    return OutputError(
        f"output folder {out} already exists and is not empty: choose another --output"
    )


def _read_pid(lock: Path) -> int | None:
    try:
        return int(lock.read_text().strip())
    except (OSError, ValueError):  # gone, or created but its pid not yet written
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def _read_plan(out: Path) -> dict[str, Any] | None:
    try:
        return json.loads((out / PLAN).read_text())
    except (OSError, ValueError):
        return None


def check(out: Path, plan: dict[str, Any]) -> bool:
    """Whether ``out`` can take the run ``plan``: False for a new run, True to resume one.

    Raises:
        OutputError: the folder is in use, finished, or holds something else.
    """
    if not out.exists():
        return False
    if not out.is_dir():
        raise _not_empty(out)
    if not any(out.iterdir()):
        return False
    lock = out / LOCK
    if lock.exists():
        pid = _read_pid(lock)
        if pid is None or _alive(pid):
            raise _busy(out, pid)
    saved = _read_plan(out)
    if saved is None or {k: v for k, v in saved.items() if k != "finished"} != plan:
        raise _not_empty(out)
    if saved.get("finished"):
        raise OutputError(
            f"output folder {out} holds a finished run of the same chapter and "
            f"parameters: choose another --output to run it again"
        )
    return True


def _lock(out: Path) -> None:
    """Create ``.lock`` atomically; a lock whose process is gone (killed) is taken over."""
    lock = out / LOCK
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            pid = _read_pid(lock)
            if pid is None or _alive(pid):
                raise _busy(out, pid) from None
            lock.unlink(missing_ok=True)  # a stale lock: its process was killed
            continue
        with os.fdopen(fd, "w") as f:
            f.write(f"{os.getpid()}\n")
        return
    raise _busy(out, _read_pid(lock))


@contextlib.contextmanager
def claim(out: Path, plan: dict[str, Any]) -> Iterator[bool]:
    """Hold ``out`` for the run ``plan`` (a JSON-able dict) while the ``with`` body runs.

    Yields True when an unfinished run of the same plan is resumed, False for a new run. On a
    normal exit ``run.json`` is marked finished; the lock goes in every case (a killed process
    leaves it behind, and the next run sees that its process is gone).

    Raises:
        OutputError: see :func:`check`; also when another run takes the folder first.
    """
    resumed = check(out, plan)
    out.mkdir(parents=True, exist_ok=True)
    _lock(out)
    try:
        (out / PLAN).write_text(json.dumps({**plan, "finished": False}, indent=2) + "\n")
        yield resumed
        (out / PLAN).write_text(json.dumps({**plan, "finished": True}, indent=2) + "\n")
    finally:
        (out / LOCK).unlink(missing_ok=True)
