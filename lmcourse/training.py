"""Training helpers: ``fit`` with progress, logs, checkpoints and resume.

:func:`fit` wraps ``model.fit`` with the callbacks every long training run wants, and keeps
everything of one run in one folder, ``<run_dir>/<name>/``::

    log.csv          one row per epoch: loss, val_loss, seconds, steps/s (CSVLogger)
    tensorboard/     the same curves for TensorBoard (if TensorFlow and tensorboard are installed)
    best.keras       the model with the lowest validation loss so far (ModelCheckpoint)
    backup/          weights + optimizer state + epoch after every epoch (BackupAndRestore)
    signature.json   the shapes of the model's weights, to refuse a backup of another model

Interrupt a run (kernel restart, Ctrl-C, a lost Colab session) and call :func:`fit` again
with the same ``run_dir`` and ``name``: it restores the last finished epoch and goes on. Call
it again after it finished and it restores the final state without training (raise
``epochs`` to train on). The data pipeline is not part of the state: a resumed run sees
freshly shuffled batches.

:func:`run_name` derives a name from the run's settings, so a changed setting starts a new
run instead of resuming an incompatible one; :func:`load_checkpoint` loads a saved model and
checks that it fits the current vocabulary.

Fine-tuning (schedules, freezing, gradual unfreezing) lives in :mod:`lmcourse.finetuning`,
classifier evaluation in :mod:`lmcourse.metrics`.

Example:
    >>> history = fit(model, train_ds, val_ds, epochs=3, run_dir="runs/demo",
    ...               name="char_lstm")                              # doctest: +SKIP
    epoch 1/3  200 steps  41.2 s (4.9 steps/s)  loss 2.3110  val_loss 2.0412
    ...
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import shutil
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import keras

from lmcourse._checks import check_int


class CheckpointMismatchError(ValueError):
    """A checkpoint or backup belongs to another model. The message names the fix."""


def run_name(prefix: str, settings: Mapping[str, Any]) -> str:
    """``prefix-<8 hex digits>``: a name that changes whenever one of ``settings`` does.

    Example:
        >>> run_name("char_lstm", {"units": 256, "seq_len": 100})
        'char_lstm-e39a90f8'
    """
    text = json.dumps({k: settings[k] for k in sorted(settings)}, default=str)
    return f"{prefix}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"


def model_signature(model: keras.Model) -> dict[str, Any]:
    """What must match for weights to be loaded into a model: the class name and the
    path and shape of every weight, in order."""
    return {
        "class": type(model).__name__,
        "weights": [[w.path, [int(d) for d in w.shape]] for w in model.weights],
    }


def _same_model(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Same class and the same weight shapes in the same order (names may differ)."""
    return a.get("class") == b.get("class") and _shapes(a) == _shapes(b)


def _shapes(signature: dict[str, Any]) -> list[tuple[int, ...]]:
    return [tuple(shape) for _, shape in signature.get("weights", [])]


def _signature_diff(saved: dict[str, Any], current: dict[str, Any]) -> str:
    if saved.get("class") != current["class"]:
        return f"a {saved.get('class')} vs a {current['class']}"
    a, b = saved.get("weights", []), current["weights"]
    if len(a) != len(b):
        return f"{len(a)} weight tensors vs {len(b)}"
    for (pa, sa), (pb, sb) in zip(a, b, strict=True):
        if list(sa) != list(sb):
            return f"weight {pa} of shape {tuple(sa)} vs {pb} of shape {tuple(sb)}"
    return "no difference"


class ProgressLogger(keras.callbacks.Callback):
    """One line per epoch (and optionally every ``log_every`` steps), readable in a notebook
    and in a papermill log alike: no progress bars that rewrite themselves.

    It also adds ``seconds`` and ``steps_per_s`` to each epoch's logs, so they reach the CSV
    log and the returned history.
    """

    def __init__(self, epochs: int, log_every: int | None = None, print_fn=print) -> None:
        super().__init__()
        self.epochs = epochs
        self.log_every = log_every
        self.print_fn = print_fn

    def on_epoch_begin(self, epoch, logs=None):
        self._start = self._last = time.perf_counter()
        self._steps = 0
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self._steps = batch + 1
        if self.log_every and self._steps % self.log_every == 0:
            now = time.perf_counter()
            rate = self.log_every / max(now - self._last, 1e-9)
            self._last = now
            loss = (logs or {}).get("loss")
            shown = f"loss {float(loss):.4f}  " if loss is not None else ""
            self.print_fn(
                f"  epoch {self._epoch + 1} step {self._steps}  {shown}({rate:.1f} steps/s)"
            )

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self._start
        if logs is not None:
            logs["seconds"] = seconds
            logs["steps_per_s"] = self._steps / max(seconds, 1e-9)
        shown = "  ".join(
            f"{k} {float(v):.4f}"
            for k, v in (logs or {}).items()
            if k not in ("seconds", "steps_per_s", "learning_rate")
        )
        self.print_fn(
            f"epoch {epoch + 1}/{self.epochs}  {self._steps} steps  {seconds:.1f} s "
            f"({self._steps / max(seconds, 1e-9):.1f} steps/s)  {shown}"
        )


def tensorboard_available() -> bool:
    """True when TensorBoard logs can be written: TensorFlow and the ``tensorboard`` package
    (``pip install tensorboard``) are both installed."""
    return all(importlib.util.find_spec(m) is not None for m in ("tensorflow", "tensorboard"))


def read_log(path: str | Path) -> dict[str, list[float]]:
    """A CSV training log -> ``{column: [value per epoch]}`` (epochs counted from 1)."""
    path = Path(path)
    if not path.is_file():
        return {}
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    out: dict[str, list[float]] = {}
    for row in rows:
        for key, value in row.items():
            if key is None or value in (None, "", "NA"):  # CSVLogger's "NA": no validation data
                continue
            out.setdefault(key, []).append(float(value))
    if "epoch" in out:
        out["epoch"] = [int(e) + 1 for e in out["epoch"]]
    return out


def _built(model: keras.Model, train_ds: Any) -> None:
    if model.built and model.weights:
        return
    batch = next(iter(train_ds))
    x = batch[0] if isinstance(batch, (tuple, list)) else batch
    model(x[:1])


def fit(
    model: keras.Model,
    train_ds: Any,
    val_ds: Any = None,
    *,
    epochs: int,
    run_dir: str | Path,
    name: str = "model",
    steps_per_epoch: int | None = None,
    validation_steps: int | None = None,
    resume: bool = True,
    checkpoint: bool = True,
    tensorboard: bool = True,
    backup: bool = True,
    log_every: int | None = None,
    callbacks: Iterable[keras.callbacks.Callback] = (),
    print_fn=print,
) -> dict[str, list[float]]:
    """Train a compiled model with logs, the best checkpoint and resume-after-interruption.

    Args:
        model: a compiled Keras model.
        train_ds: training data: a ``tf.data.Dataset`` of ``(x, y)`` batches (repeat it
            when you give ``steps_per_epoch``), or anything ``model.fit`` accepts.
        val_ds: validation data, evaluated after every epoch (None: none; the best
            checkpoint then tracks the training loss).
        epochs: train until this many epochs are done in all (a resumed run counts the
            epochs done before).
        run_dir: the folder of this chapter run (``lmcourse.results.run_dir("04")``).
        name: the run's subfolder; one model per name (see :func:`run_name`).
        steps_per_epoch: batches per epoch (None: one pass over ``train_ds``).
        validation_steps: validation batches per epoch (None: all of ``val_ds``).
        resume: continue from ``<run_dir>/<name>/backup`` if it exists; False deletes the
            backup and the log and starts over.
        checkpoint: save the best model as ``best.keras``.
        tensorboard: write TensorBoard logs (only if :func:`tensorboard_available`).
        backup: keep the training state (weights and optimizer) of the last epoch in
            ``<run_dir>/<name>/backup`` so that an interrupted run resumes; False saves the
            disk and time this costs for large models trained for minutes (a fine-tuned
            22.7 M-parameter encoder: about 270 MB an epoch).
        log_every: also print a line every this many steps.
        callbacks: more Keras callbacks.
        print_fn: where progress lines go.

    Returns:
        The whole history, read back from ``log.csv``: ``{"epoch": [1, 2, ...], "loss": [...],
        "val_loss": [...], "seconds": [...], "steps_per_s": [...]}``, one value per epoch,
        including epochs run before a resume.

    Raises:
        CheckpointMismatchError: the backup in ``<run_dir>/<name>`` belongs to a model with
            other weights (another vocabulary or size).
        ValueError: the model is not compiled, or ``epochs`` < 1.
    """
    epochs = check_int("epochs", epochs)
    if getattr(model, "optimizer", None) is None or not getattr(model, "compiled", True):
        raise ValueError("compile the model first: model.compile(optimizer=..., loss=...)")
    run = _RunFolder(Path(run_dir) / name)
    if not resume:
        run.clear()
    run.folder.mkdir(parents=True, exist_ok=True)
    _built(model, train_ds)
    resuming = run.check_resume(model_signature(model))
    monitor = "val_loss" if val_ds is not None else "loss"
    cbs = _callbacks(
        run,
        epochs,
        resuming,
        monitor,
        checkpoint=checkpoint,
        tensorboard=tensorboard,
        backup=backup,
        log_every=log_every,
        print_fn=print_fn,
    )
    cbs.extend(callbacks)
    done = _epochs_done(run.backup)
    if done >= epochs:
        print_fn(
            f"{name}: {done} epochs already done in {run.folder}; restoring them "
            f"(pass a larger epochs to train on, or resume=False to start over)"
        )
    elif done:
        print_fn(f"{name}: resuming after epoch {done} from {run.backup}")
    model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        validation_steps=validation_steps,
        callbacks=cbs,
        shuffle=False,  # a tf.data pipeline shuffles itself
        verbose=0,
    )
    return read_log(run.log)


class _RunFolder:
    """The files of one ``fit`` run: ``log.csv``, ``backup/``, ``signature.json``, ..."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.backup, self.log, self.signature = (
            folder / "backup",
            folder / "log.csv",
            folder / "signature.json",
        )

    def clear(self) -> None:
        """Start over: delete the training state, logs and checkpoint of an earlier run."""
        for p in (self.backup, self.folder / "tensorboard"):
            shutil.rmtree(p, ignore_errors=True)
        for p in (self.log, self.signature, self.folder / "best.keras"):
            p.unlink(missing_ok=True)

    def check_resume(self, signature: dict[str, Any]) -> bool:
        """Whether a backup of this model is here to resume; refuse another model's."""
        resuming = self.backup.is_dir() and any(self.backup.iterdir())
        if resuming:
            saved = json.loads(self.signature.read_text()) if self.signature.is_file() else {}
            if not _same_model(saved, signature):
                raise CheckpointMismatchError(
                    f"{self.backup} holds the training state of another model "
                    f"({_signature_diff(saved, signature)}): train under another name "
                    f"(fit(..., name=...)), pass resume=False to start over, or delete {self.folder}"
                )
        else:
            self.log.unlink(missing_ok=True)  # a fresh run gets a fresh log
        self.signature.write_text(json.dumps(signature) + "\n")
        return resuming


def _callbacks(
    run: _RunFolder,
    epochs: int,
    resuming: bool,
    monitor: str,
    *,
    checkpoint: bool,
    tensorboard: bool,
    backup: bool,
    log_every: int | None,
    print_fn,
) -> list[keras.callbacks.Callback]:
    """Progress lines, the CSV log, the best checkpoint, TensorBoard, the backup - in order."""
    cbs: list[keras.callbacks.Callback] = [ProgressLogger(epochs, log_every, print_fn)]
    cbs.append(keras.callbacks.CSVLogger(str(run.log), append=resuming))
    if checkpoint:
        past = read_log(run.log).get(monitor, []) if resuming else []
        cbs.append(
            keras.callbacks.ModelCheckpoint(
                str(run.folder / "best.keras"),
                monitor=monitor,
                save_best_only=True,
                initial_value_threshold=min(past) if past else None,
            )
        )
    if tensorboard and tensorboard_available():
        cbs.append(
            keras.callbacks.TensorBoard(
                log_dir=str(run.folder / "tensorboard"),
                write_graph=False,
                profile_batch=0,
            )
        )
    if backup:
        cbs.append(keras.callbacks.BackupAndRestore(str(run.backup), delete_checkpoint=False))
    return cbs


def _epochs_done(backup_dir: Path) -> int:
    meta = backup_dir / "training_metadata.json"
    if not meta.is_file():
        return 0
    return int(json.loads(meta.read_text()).get("epoch", 0))


def load_checkpoint(
    path: str | Path,
    *,
    vocab_size: int | None = None,
    like: keras.Model | None = None,
    compile: bool = True,
) -> keras.Model:
    """Load a saved ``.keras`` model and check it is the model you mean.

    Args:
        path: the ``.keras`` file (e.g. ``<run_dir>/<name>/best.keras``).
        vocab_size: the size of the current vocabulary; the checkpoint's embedding must read
            that many ids and its output must score that many tokens.
        like: a model the checkpoint must match weight for weight (same shapes).
        compile: restore the optimizer and loss too.

    Returns:
        The loaded model.

    Raises:
        FileNotFoundError: no file at ``path``.
        CheckpointMismatchError: the checkpoint was trained with another vocabulary or has
            other weights than ``like``; the message says what differs and what to do.
    """
    from lmcourse.models.rnn import vocab_size_of

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no checkpoint at {path}: train first (training.fit saves <run_dir>/<name>/best.keras)"
        )
    model = keras.saving.load_model(path, compile=compile)
    if vocab_size is not None:
        reads = vocab_size_of(model)
        scores = int(model.outputs[0].shape[-1]) if getattr(model, "outputs", None) else None
        for what, size in (("reads", reads), ("scores", scores)):
            if size is not None and size != vocab_size:
                raise CheckpointMismatchError(
                    f"checkpoint {path} {what} {size} token ids, but the current vocabulary has "
                    f"{vocab_size}: it was trained on other text or another tokenizer. Rebuild "
                    f"the vocabulary it was trained with, or retrain (delete {path})"
                )
    if like is not None:
        a, b = model_signature(model), model_signature(like)
        if not _same_model({**a, "class": b["class"]}, b):
            raise CheckpointMismatchError(
                f"checkpoint {path} is another model ({_signature_diff(a, b)}): load the "
                f"checkpoint of this model, or retrain (delete {path})"
            )
    return model
