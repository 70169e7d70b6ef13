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

Fine-tuning (chapter 08): :class:`WarmupLinearDecay` (the BERT learning-rate schedule),
:func:`freeze` / :func:`set_trainable` / :func:`trainable_count`, gradual unfreezing from the
top (:func:`unfreeze_schedule`, :func:`fit_gradual_unfreezing`), :func:`custom_fit` (the
training loop by hand with ``tf.GradientTape``, equal to ``model.fit`` step for step) and
:func:`evaluate_classifier` (accuracy, macro-F1, confusion matrix, probabilities).

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
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import keras
import numpy as np


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
            self.print_fn(f"  epoch {self._epoch + 1} step {self._steps}  {shown}({rate:.1f} steps/s)")

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self._start
        if logs is not None:
            logs["seconds"] = seconds
            logs["steps_per_s"] = self._steps / max(seconds, 1e-9)
        shown = "  ".join(
            f"{k} {float(v):.4f}" for k, v in (logs or {}).items()
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
            if key is None or value in (None, ""):
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
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be an int >= 1, got {epochs!r}")
    if getattr(model, "optimizer", None) is None or not getattr(model, "compiled", True):
        raise ValueError("compile the model first: model.compile(optimizer=..., loss=...)")
    folder = Path(run_dir) / name
    backup_dir, log_path, sig_path = folder / "backup", folder / "log.csv", folder / "signature.json"
    if not resume:
        for p in (backup_dir, folder / "tensorboard"):
            shutil.rmtree(p, ignore_errors=True)
        for p in (log_path, sig_path, folder / "best.keras"):
            p.unlink(missing_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    _built(model, train_ds)
    signature = model_signature(model)
    resuming = backup_dir.is_dir() and any(backup_dir.iterdir())
    if resuming:
        saved = json.loads(sig_path.read_text()) if sig_path.is_file() else {}
        if not _same_model(saved, signature):
            raise CheckpointMismatchError(
                f"{backup_dir} holds the training state of another model "
                f"({_signature_diff(saved, signature)}): train under another name "
                f"(fit(..., name=...)), pass resume=False to start over, or delete {folder}"
            )
    else:
        log_path.unlink(missing_ok=True)  # a fresh run gets a fresh log
    sig_path.write_text(json.dumps(signature) + "\n")

    monitor = "val_loss" if val_ds is not None else "loss"
    cbs: list[keras.callbacks.Callback] = [ProgressLogger(epochs, log_every, print_fn)]
    cbs.append(keras.callbacks.CSVLogger(str(log_path), append=resuming))
    if checkpoint:
        past = read_log(log_path).get(monitor, []) if resuming else []
        cbs.append(keras.callbacks.ModelCheckpoint(
            str(folder / "best.keras"), monitor=monitor, save_best_only=True,
            initial_value_threshold=min(past) if past else None,
        ))
    if tensorboard and tensorboard_available():
        cbs.append(keras.callbacks.TensorBoard(
            log_dir=str(folder / "tensorboard"), write_graph=False, profile_batch=0,
        ))
    if backup:
        cbs.append(keras.callbacks.BackupAndRestore(str(backup_dir), delete_checkpoint=False))
    cbs.extend(callbacks)

    done = _epochs_done(backup_dir)
    if done >= epochs:
        print_fn(f"{name}: {done} epochs already done in {folder}; restoring them "
                 f"(pass a larger epochs to train on, or resume=False to start over)")
    elif done:
        print_fn(f"{name}: resuming after epoch {done} from {backup_dir}")
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
    return read_log(log_path)


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


# --------------------------------------------------------------------------------------------
# Fine-tuning: learning-rate warm-up, freezing, gradual unfreezing, a custom loop, evaluation
# --------------------------------------------------------------------------------------------
#
# Chapter 08 fine-tunes a pretrained encoder under four strategies (frozen backbone, gradual
# unfreezing from the top, full fine-tuning, from scratch) and writes the training loop twice:
# once as ``model.fit`` and once by hand with ``tf.GradientTape`` (:func:`custom_fit`), which
# gives the same numbers step for step.


@keras.saving.register_keras_serializable(package="lmcourse")
class WarmupLinearDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up from 0 to ``peak`` over ``warmup_steps``, then linear decay to ``end``
    at ``total_steps``, constant after (the BERT fine-tuning schedule):

    .. math:: \\eta(s) = \\begin{cases}
       \\eta_{peak}\\, s / w & s < w \\\\
       \\eta_{peak} + (\\eta_{end} - \\eta_{peak}) \\min(1, (s - w) / (T - w)) & s \\ge w
       \\end{cases}

    The optimizer asks for the rate at its step counter ``s`` = 0, 1, 2, ... *before* each
    update, so with a warm-up the first update uses rate 0 (it only fills Adam's moments),
    as in the original BERT code and Hugging Face's ``get_linear_schedule_with_warmup``.
    Written with ``keras.ops`` only, so it runs on every backend.

    Args:
        peak: the highest learning rate, reached at step ``warmup_steps``; > 0.
        warmup_steps: steps of linear warm-up, 0 <= warmup_steps <= total_steps (a common
            choice: 6-10% of ``total_steps``).
        total_steps: steps of the whole run (epochs * batches per epoch), >= 1.
        end: the rate at ``total_steps`` and after; >= 0.
        name: an optional name.

    Raises:
        ValueError: an argument is out of range; the message says which and why.

    Example:
        >>> lr = WarmupLinearDecay(peak=1.0, warmup_steps=4, total_steps=12, end=0.25)
        >>> [float(lr(s)) for s in (0, 2, 4, 8, 12, 100)]
        [0.0, 0.5, 1.0, 0.625, 0.25, 0.25]
        >>> optimizer = keras.optimizers.AdamW(learning_rate=lr)
    """

    def __init__(
        self,
        peak: float,
        warmup_steps: int,
        total_steps: int,
        end: float = 0.0,
        name: str | None = None,
    ) -> None:
        super().__init__()
        for what, value in (("warmup_steps", warmup_steps), ("total_steps", total_steps)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise ValueError(f"WarmupLinearDecay: {what} must be an int, got {value!r}")
        if total_steps < 1:
            raise ValueError(
                f"WarmupLinearDecay: total_steps must be >= 1, got {total_steps}: pass "
                f"epochs * batches per epoch"
            )
        if not 0 <= warmup_steps <= total_steps:
            raise ValueError(
                f"WarmupLinearDecay: warmup_steps must be in [0, total_steps] = [0, {total_steps}], "
                f"got {warmup_steps}: warm up for at most the whole run (often 6-10% of it)"
            )
        if not float(peak) > 0:
            raise ValueError(f"WarmupLinearDecay: peak must be a learning rate > 0, got {peak!r}")
        if not float(end) >= 0:
            raise ValueError(f"WarmupLinearDecay: end must be a learning rate >= 0, got {end!r}")
        self.peak = float(peak)
        self.warmup_steps = int(warmup_steps)
        self.total_steps = int(total_steps)
        self.end = float(end)
        self.name = name

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        w, t = float(self.warmup_steps), float(self.total_steps)
        if self.total_steps > self.warmup_steps:
            frac = keras.ops.clip((step - w) / (t - w), 0.0, 1.0)
            decay = self.peak + (self.end - self.peak) * frac
        else:  # warm-up takes the whole run: the end rate from then on
            decay = keras.ops.zeros_like(step) + self.end
        if self.warmup_steps == 0:
            return decay
        return keras.ops.where(step < w, self.peak * step / w, decay)

    def get_config(self) -> dict[str, Any]:
        return {
            "peak": self.peak,
            "warmup_steps": self.warmup_steps,
            "total_steps": self.total_steps,
            "end": self.end,
            "name": self.name,
        }


def warmup_adamw(peak: float, total_steps: int, *, warmup_fraction: float = 0.1,
                 weight_decay: float = 0.01) -> keras.optimizers.AdamW:
    """BERT's optimizer: AdamW on :class:`WarmupLinearDecay` (warm-up over the first
    ``warmup_fraction`` of ``total_steps``, then linear decay to 0), gradients clipped to a
    global norm of 1. Chapter 07's pretraining and the chapter 07-08 benchmarks use it;
    chapter 08 writes the same two lines out, where they are the lesson.
    """
    total_steps = max(1, total_steps)
    warmup_steps = max(1, int(warmup_fraction * total_steps))
    schedule = WarmupLinearDecay(peak=peak, warmup_steps=warmup_steps, total_steps=total_steps)
    return keras.optimizers.AdamW(schedule, weight_decay=weight_decay, global_clipnorm=1.0)


def _layers_of(model_or_layers: Any) -> list[keras.layers.Layer]:
    """One layer (or model) -> [it]; an iterable of layers (nested lists too) -> flat list."""
    if isinstance(model_or_layers, keras.layers.Layer):
        return [model_or_layers]
    try:
        items = list(model_or_layers)
    except TypeError:
        raise TypeError(
            f"expected a keras layer, a model or a list of layers, got "
            f"{type(model_or_layers).__name__}"
        ) from None
    out: list[keras.layers.Layer] = []
    for item in items:
        out.extend(_layers_of(item))
    return out


def set_trainable(layers: Any, trainable: bool) -> None:
    """Set ``trainable`` on each layer (and, as Keras does, on all its sublayers).

    Changing ``trainable`` after ``compile`` takes effect only after compiling again (Keras
    3 builds the training step for the variables that were trainable at compile time).

    Args:
        layers: a layer, a model, or a (nested) list of them, e.g. the groups of
            ``lmcourse.models.bert.layer_groups(encoder)``.
        trainable: the new flag.
    """
    for layer in _layers_of(layers):
        layer.trainable = bool(trainable)


def freeze(model_or_layers: Any) -> None:
    """Freeze a model, a layer or a (nested) list of layers: ``set_trainable(..., False)``.

    Frozen weights get no gradient and no optimizer update (not even weight decay);
    compile the model again afterwards.

    Example:
        >>> freeze(encoder)                       # doctest: +SKIP
        >>> classifier.compile(...)               # doctest: +SKIP
    """
    set_trainable(model_or_layers, False)


def trainable_count(model: Any) -> int:
    """The number of trainable parameters (scalars) of a model, a layer or a list of layers.

    A weight shared by several of the given layers is counted once.
    """
    seen: dict[int, int] = {}
    for layer in _layers_of(model):
        for w in layer.trainable_weights:
            seen[id(w)] = int(np.prod(w.shape))
    return sum(seen.values())


def unfreeze_schedule(
    groups: Sequence[Any], epochs: int, *, epochs_per_stage: int = 1
) -> list[list[int]]:
    """Which layer groups train in each epoch of gradual unfreezing (ULMFiT, top first).

    Stage 0 trains only the head; each later stage unfreezes the next group down, so group
    ``i`` (0 = the top, next to the head) trains from stage ``i + 1`` on. Each stage lasts
    ``epochs_per_stage`` epochs; after the last group everything stays unfrozen.

    Args:
        groups: the layer groups, top group first (only their number is used).
        epochs: epochs in all, >= 1.
        epochs_per_stage: epochs before the next group is unfrozen, >= 1.

    Returns:
        For each epoch, the indices of the trainable groups, e.g. 3 groups, 5 epochs:
        ``[[], [0], [0, 1], [0, 1, 2], [0, 1, 2]]``.

    Raises:
        ValueError: ``epochs`` or ``epochs_per_stage`` is not an int >= 1.
    """
    for what, value in (("epochs", epochs), ("epochs_per_stage", epochs_per_stage)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"unfreeze_schedule: {what} must be an int >= 1, got {value!r}")
    n = len(groups)
    return [list(range(min(e // epochs_per_stage, n))) for e in range(epochs)]


def fit_gradual_unfreezing(
    model: keras.Model,
    head_layers: Any,
    groups: Sequence[Any],
    train_data: Any,
    val_data: Any = None,
    *,
    epochs: int,
    make_optimizer: Callable[[int], keras.optimizers.Optimizer],
    loss: Any,
    metrics: Any = None,
    epochs_per_stage: int = 1,
    callbacks: Iterable[keras.callbacks.Callback] = (),
    print_fn=print,
) -> dict[str, list[float]]:
    """Fine-tune with gradual unfreezing: the head first, then one more group per stage.

    At each stage (see :func:`unfreeze_schedule`) all groups are frozen, the head and the
    stage's groups are made trainable, the model is compiled again with a new optimizer
    ``make_optimizer(stage)`` (Keras 3 needs a recompile to see a changed ``trainable``, and
    an optimizer's state belongs to the variables it was built for), and ``model.fit`` runs
    the stage's epochs with ``initial_epoch``, so the epochs count on across stages. Layers
    in neither ``head_layers`` nor ``groups`` keep their ``trainable`` flag.

    Args:
        model: the whole model (backbone + head); compiled or not.
        head_layers: the layer(s) that always train (a layer or a list of layers).
        groups: lists of backbone layers, top group first, e.g.
            ``lmcourse.models.bert.layer_groups(encoder)``.
        train_data: a ``tf.data.Dataset`` or ``keras.utils.PyDataset`` of ``(x, y)``
            batches.
        val_data: validation batches, evaluated after every epoch (None: none).
        epochs: epochs in all, >= 1.
        make_optimizer: ``stage -> a new optimizer`` (e.g. a lower learning rate for later
            stages, when lower layers train).
        loss: the loss, as for ``model.compile``.
        metrics: metrics, as for ``model.compile`` (e.g. ``["accuracy"]``).
        epochs_per_stage: epochs before the next group is unfrozen.
        callbacks: more Keras callbacks; they are passed to every stage's ``fit`` (so
            ``on_train_begin`` runs once per stage).
        print_fn: where the stage and epoch lines go.

    Returns:
        The merged history, one value per epoch: ``{"epoch": [1, 2, ...], "loss": [...],
        "val_loss": [...], <metrics>, "seconds": [...], "steps_per_s": [...],
        "trainable_params": [...]}``.

    Raises:
        ValueError: a bad ``epochs``/``epochs_per_stage``, ``model.trainable`` is False, or
            ``make_optimizer`` returned an optimizer that was already used.
    """
    schedule = unfreeze_schedule(groups, epochs, epochs_per_stage=epochs_per_stage)
    if not model.trainable:
        raise ValueError(
            "model.trainable is False, so none of its weights can train: set "
            "model.trainable = True (fit_gradual_unfreezing freezes the groups itself)"
        )
    stages: list[tuple[int, int, list[int]]] = []  # (first epoch, end epoch, groups)
    for e, trainable in enumerate(schedule):
        if stages and stages[-1][2] == trainable:
            stages[-1] = (stages[-1][0], e + 1, trainable)
        else:
            stages.append((e, e + 1, trainable))
    history: dict[str, list[float]] = {}
    callbacks = list(callbacks)
    for stage, (start, end, trainable) in enumerate(stages):
        set_trainable(list(groups), False)
        set_trainable(head_layers, True)
        for i in trainable:
            set_trainable(groups[i], True)
        optimizer = make_optimizer(stage)
        if getattr(optimizer, "built", False):
            raise ValueError(
                f"make_optimizer({stage}) returned an optimizer that was already used: return a "
                f"new one on each call, e.g. lambda stage: keras.optimizers.AdamW(1e-4)"
            )
        model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
        count = trainable_count(model)
        shown = f"groups {trainable}" if trainable else "no groups"
        print_fn(f"stage {stage + 1}/{len(stages)}: epochs {start + 1}-{end}: the head + {shown} "
                 f"train ({count:,} trainable parameters)")
        result = model.fit(
            train_data,
            validation_data=val_data,
            epochs=end,
            initial_epoch=start,
            callbacks=[ProgressLogger(epochs, print_fn=print_fn), *callbacks],
            verbose=0,
        )
        ran = len(next(iter(result.history.values()), []))
        for key, values in result.history.items():
            history.setdefault(key, []).extend(float(v) for v in values)
        history.setdefault("epoch", []).extend(range(start + 1, start + ran + 1))
        history.setdefault("trainable_params", []).extend([count] * ran)
        if ran < end - start:  # a callback stopped training (e.g. EarlyStopping)
            break
    return history


def _require_tensorflow(what: str):
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            f"{what} is written with tf.GradientTape and needs the TensorFlow backend, but "
            f"Keras runs on {keras.backend.backend()!r}: set KERAS_BACKEND=tensorflow before "
            f"importing keras (or use model.fit, which runs on every backend)"
        )
    import tensorflow as tf

    return tf


def _batch_size(x: Any) -> int:
    return int(keras.tree.flatten(x)[0].shape[0])


def _check_reiterable(batches: Any, what: str) -> None:
    if iter(batches) is batches:
        raise ValueError(
            f"{what} is an iterator, which runs out after one epoch: pass a list of batches, a "
            f"keras.utils.PyDataset or a tf.data.Dataset"
        )


def _correct(logits: np.ndarray, y: np.ndarray) -> tuple[int, int]:
    """(number right, number of labels) for argmax(logits) vs integer labels."""
    pred = np.argmax(logits, axis=-1)
    y = np.asarray(y)
    if y.shape != pred.shape and y.size == pred.size:
        y = y.reshape(pred.shape)  # labels of shape (N, 1)
    return int(np.sum(pred == y)), int(pred.size)


def custom_fit(
    model: keras.Model,
    train_batches: Any,
    val_batches: Any = None,
    *,
    epochs: int,
    optimizer: keras.optimizers.Optimizer,
    loss_fn: Callable[[Any, Any], Any],
    clip_norm: float | None = None,
    metrics_fn: Callable[[np.ndarray, np.ndarray], Mapping[str, float]] | None = None,
    jit_compile: bool = False,
    print_fn=print,
    seed: int | None = None,
) -> dict[str, list[float]]:
    """Train a classifier with a hand-written ``tf.GradientTape`` loop (TensorFlow backend).

    Each step does what ``model.fit`` does inside ``train_step``::

        with tf.GradientTape() as tape:
            logits = model(x, training=True)           # (batch, classes)
            loss = loss_fn(y, logits) + sum(model.losses)
        grads = tape.gradient(loss, model.trainable_variables)
        grads, _ = tf.clip_by_global_norm(grads, clip_norm)       # if clip_norm
        optimizer.apply_gradients(zip(grads, model.trainable_variables))

    compiled once with ``tf.function(reduce_retracing=True)``. With the same initial weights,
    batches, optimizer and clipping (``model.fit`` clips with the optimizer's
    ``global_clipnorm``) it gives the same losses as ``model.fit`` to float32 rounding; the
    Dropout masks match too, as both draw them from the layers' own seed generators in the
    same order. No loss scaling: for ``mixed_float16`` use ``model.fit``.

    Args:
        model: a built Keras model mapping ``x`` to logits ``(batch, classes)``.
        train_batches: a re-iterable of ``(x, y)`` batches: a list, a
            ``keras.utils.PyDataset`` or a ``tf.data.Dataset``; ``x`` an array ``(batch,
            ...)`` or a dict of them, ``y`` integer labels ``(batch,)``.
        val_batches: the same for validation, evaluated after every epoch (None: none).
        epochs: passes over ``train_batches``, >= 1.
        optimizer: a Keras optimizer (e.g. ``AdamW(WarmupLinearDecay(...))``); it keeps its
            step counter, so calling ``custom_fit`` again continues the schedule.
        loss_fn: ``(y, logits) -> scalar loss``, e.g.
            ``keras.losses.SparseCategoricalCrossentropy(from_logits=True)``.
        clip_norm: clip the gradients to this global norm (None: no clipping). Give it here
            or as the optimizer's ``global_clipnorm``, not both.
        metrics_fn: ``(labels (N,), logits (N, classes)) -> {name: value}`` over the whole
            validation set, recorded as ``val_<name>``.
        jit_compile: compile the step with XLA (as ``model.fit`` does by default when every
            layer supports it).
        print_fn: where the line per epoch goes.
        seed: if given, ``keras.utils.set_random_seed(seed)`` first (Python, NumPy and
            TensorFlow global seeds). Dropout layers draw from their own seed generators,
            seeded when the model was built: build the model after setting the seed.

    Returns:
        ``{"epoch": [1, ...], "loss": [...], "seconds": [...], "steps_per_s": [...]}`` plus
        ``"val_loss"``, ``"val_accuracy"`` (and ``val_<name>`` of ``metrics_fn``) with
        ``val_batches``; the losses are means over examples, as in ``model.fit``.

    Raises:
        RuntimeError: Keras does not run on TensorFlow (the message names KERAS_BACKEND).
        ValueError: bad ``epochs``, ``clip_norm`` given twice, data that is an iterator (it
            would run out after one epoch) or empty, or no trainable weights.
    """
    tf = _require_tensorflow("custom_fit")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"custom_fit: epochs must be an int >= 1, got {epochs!r}")
    if clip_norm is not None and getattr(optimizer, "global_clipnorm", None):
        raise ValueError(
            "custom_fit: clip_norm is given and the optimizer has global_clipnorm too: give one"
        )
    if clip_norm is not None and not clip_norm > 0:
        raise ValueError(f"custom_fit: clip_norm must be > 0 or None, got {clip_norm!r}")
    _check_reiterable(train_batches, "train_batches")
    if val_batches is not None:
        _check_reiterable(val_batches, "val_batches")
    if seed is not None:
        keras.utils.set_random_seed(seed)
    if not model.built:
        model(next(iter(train_batches))[0])
    variables = model.trainable_variables
    if not variables:
        raise ValueError("custom_fit: the model has no trainable weights: unfreeze some layers "
                         "(set_trainable(layers, True))")
    if not optimizer.built:
        optimizer.build(variables)

    def total_loss(y, logits):
        loss = loss_fn(y, logits)
        if model.losses:  # regularizers and add_loss, as model.fit adds them
            loss = loss + tf.add_n([tf.reduce_sum(x) for x in model.losses])
        return loss

    @tf.function(reduce_retracing=True, jit_compile=jit_compile)
    def train_step(x, y):
        with tf.GradientTape() as tape:
            logits = model(x, training=True)
            loss = total_loss(y, logits)
        grads = tape.gradient(loss, variables)
        if clip_norm is not None:  # the norm model.fit's global_clipnorm uses
            grads, _ = tf.clip_by_global_norm(grads, clip_norm)
        # An Embedding's gradient is a tf.IndexedSlices with one row per token *occurrence*;
        # Keras' Adam squares those rows one by one, so a token seen k times gets a second
        # moment of sum(g_i^2) instead of (sum g_i)^2. Summing them first gives true Adam.
        grads = [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g
                 for g in grads]
        optimizer.apply_gradients(zip(grads, variables, strict=True))
        return loss

    @tf.function(reduce_retracing=True, jit_compile=jit_compile)
    def val_step(x, y):
        logits = model(x, training=False)
        return total_loss(y, logits), logits

    history: dict[str, list[float]] = {}
    for epoch in range(epochs):
        start = time.perf_counter()
        getattr(train_batches, "on_epoch_begin", lambda: None)()  # a PyDataset's hooks
        loss_sum, seen, steps = 0.0, 0, 0
        for x, y in train_batches:
            n = _batch_size(x)
            loss_sum += float(train_step(x, y)) * n
            seen += n
            steps += 1
        getattr(train_batches, "on_epoch_end", lambda: None)()
        if not steps:
            raise ValueError("custom_fit: train_batches gave no batches")
        logs = {"loss": loss_sum / seen}
        if val_batches is not None:
            logs.update(_validate(val_step, val_batches, metrics_fn))
        seconds = time.perf_counter() - start
        logs.update(seconds=seconds, steps_per_s=steps / max(seconds, 1e-9))
        history.setdefault("epoch", []).append(epoch + 1)
        for key, value in logs.items():
            history.setdefault(key, []).append(float(value))
        shown = "  ".join(f"{k} {v:.4f}" for k, v in logs.items()
                          if k not in ("seconds", "steps_per_s"))
        print_fn(f"epoch {epoch + 1}/{epochs}  {steps} steps  {seconds:.1f} s "
                 f"({steps / max(seconds, 1e-9):.1f} steps/s)  {shown}")
    return history


def _validate(val_step, val_batches, metrics_fn) -> dict[str, float]:
    loss_sum, seen, right, labels_seen = 0.0, 0, 0, 0
    all_y, all_logits = [], []
    for x, y in val_batches:
        loss, logits = val_step(x, y)
        n = _batch_size(x)
        loss_sum += float(loss) * n
        seen += n
        logits, y = keras.ops.convert_to_numpy(logits), keras.ops.convert_to_numpy(y)
        r, m = _correct(logits, y)
        right, labels_seen = right + r, labels_seen + m
        if metrics_fn is not None:
            all_y.append(y.reshape(-1))
            all_logits.append(logits.reshape(-1, logits.shape[-1]))
    if not seen:
        raise ValueError("custom_fit: val_batches gave no batches")
    logs = {"val_loss": loss_sum / seen, "val_accuracy": right / labels_seen}
    if metrics_fn is not None:
        extra = metrics_fn(np.concatenate(all_y), np.concatenate(all_logits))
        logs.update({f"val_{k}": float(v) for k, v in extra.items()})
    return logs


def _confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """``(num_classes, num_classes)`` counts; row = true class, column = predicted class."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (y_true, y_pred), 1)
    return matrix


def _f1_per_class(confusion: np.ndarray) -> np.ndarray:
    """F1 = 2 TP / (2 TP + FP + FN) for each class; 0 where a class is never true nor
    predicted (0/0)."""
    tp = np.diag(confusion).astype(np.float64)
    fp = confusion.sum(axis=0) - tp
    fn = confusion.sum(axis=1) - tp
    denom = 2 * tp + fp + fn
    return np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)


def evaluate_classifier(model: keras.Model, batches: Any, *, from_logits: bool = True
                        ) -> dict[str, Any]:
    """Accuracy, macro-F1, the confusion matrix and the predicted probabilities.

    Args:
        model: maps ``x`` to class scores ``(batch, classes)``: logits (``from_logits``) or
            probabilities; one column ``(batch, 1)`` is read as binary (a sigmoid's input
            or output).
        batches: an iterable of ``(x, y)`` batches, ``y`` integer labels ``(batch,)``.
        from_logits: the model outputs logits (softmax/sigmoid them) rather than
            probabilities.

    Returns:
        ``{"accuracy": float, "macro_f1": float, "f1": (classes,) per-class F1,
        "confusion_matrix": (classes, classes) int array, rows = true class, columns =
        predicted, "probabilities": (N, classes), "predictions": (N,), "labels": (N,)}``.
        Macro-F1 averages the F1 of the classes that occur among the labels or the
        predictions (as scikit-learn's ``f1_score(average="macro")`` does).

    Raises:
        ValueError: no batches, or a label outside the model's classes.
    """
    probs, labels = [], []
    for x, y in batches:
        scores = keras.ops.convert_to_numpy(model(x, training=False)).astype(np.float64)
        scores = scores.reshape(-1, scores.shape[-1])
        if scores.shape[-1] == 1:
            p1 = 1 / (1 + np.exp(-scores[:, 0])) if from_logits else scores[:, 0]
            p = np.stack([1 - p1, p1], axis=-1)
        elif from_logits:
            e = np.exp(scores - scores.max(axis=-1, keepdims=True))
            p = e / e.sum(axis=-1, keepdims=True)
        else:
            p = scores
        probs.append(p)
        labels.append(np.asarray(keras.ops.convert_to_numpy(y)).reshape(-1).astype(np.int64))
    if not probs:
        raise ValueError("evaluate_classifier: batches gave no batches")
    p, y = np.concatenate(probs), np.concatenate(labels)
    k = p.shape[-1]
    if y.size != len(p):
        raise ValueError(f"evaluate_classifier: {y.size} labels for {len(p)} predictions: "
                         f"give one integer label per example")
    if y.size and (y.min() < 0 or y.max() >= k):
        raise ValueError(f"evaluate_classifier: label {int(y.max() if y.max() >= k else y.min())} "
                         f"is outside the model's {k} classes 0..{k - 1}")
    pred = np.argmax(p, axis=-1)
    confusion = _confusion_matrix(y, pred, k)
    f1 = _f1_per_class(confusion)
    present = (confusion.sum(axis=0) + confusion.sum(axis=1)) > 0
    return {
        "accuracy": float(np.mean(pred == y)),
        "macro_f1": float(f1[present].mean()),
        "f1": f1,
        "confusion_matrix": confusion,
        "probabilities": p,
        "predictions": pred,
        "labels": y,
    }
