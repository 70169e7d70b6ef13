"""Fine-tuning: the BERT learning-rate schedule, freezing, gradual unfreezing from the top.

:class:`WarmupLinearDecay` warms the learning rate up linearly, then decays it linearly to an
end value (BERT's recipe, with :func:`warmup_adamw` the optimizer around it); :func:`freeze`,
:func:`set_trainable` and :func:`trainable_count` choose and count what trains;
:func:`unfreeze_schedule` and :func:`fit_gradual_unfreezing` train the head first and then one
more group of layers per stage, top first (ULMFiT, Howard & Ruder 2018).

Example:
    >>> lr = WarmupLinearDecay(peak=1e-3, warmup_steps=10, total_steps=100)
    >>> round(float(lr(5)), 6), round(float(lr(10)), 6), round(float(lr(100)), 6)
    (0.0005, 0.001, 0.0)
    >>> unfreeze_schedule(["top", "middle", "bottom"], epochs=4)
    [[], [0], [0, 1], [0, 1, 2]]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import keras
import numpy as np

from lmcourse._checks import check_int, check_number
from lmcourse.training import ProgressLogger


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
        where = "WarmupLinearDecay"
        self.total_steps = check_int(
            "total_steps", total_steps, where=where, hint="pass epochs * batches per epoch"
        )
        self.warmup_steps = check_int(
            "warmup_steps",
            warmup_steps,
            0,
            self.total_steps,
            where=where,
            hint="warm up for at most the whole run (often 6-10% of it)",
        )
        self.peak = check_number(
            "peak", peak, low=0, low_open=True, where=where, hint="a learning rate"
        )
        self.end = check_number("end", end, low=0, where=where, hint="a learning rate")
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


def warmup_adamw(
    peak: float, total_steps: int, *, warmup_fraction: float = 0.1, weight_decay: float = 0.01
) -> keras.optimizers.AdamW:
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
    epochs = check_int("epochs", epochs, where="unfreeze_schedule")
    epochs_per_stage = check_int("epochs_per_stage", epochs_per_stage, where="unfreeze_schedule")
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
    if not model.trainable:
        raise ValueError(
            "model.trainable is False, so none of its weights can train: set "
            "model.trainable = True (fit_gradual_unfreezing freezes the groups itself)"
        )
    stages = _stages(unfreeze_schedule(groups, epochs, epochs_per_stage=epochs_per_stage))
    history: dict[str, list[float]] = {}
    callbacks = list(callbacks)
    for stage, (start, end, trainable) in enumerate(stages):
        _unfreeze(head_layers, groups, trainable)
        optimizer = make_optimizer(stage)
        if getattr(optimizer, "built", False):
            raise ValueError(
                f"make_optimizer({stage}) returned an optimizer that was already used: return a "
                f"new one on each call, e.g. lambda stage: keras.optimizers.AdamW(1e-4)"
            )
        model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
        count = trainable_count(model)
        shown = f"groups {trainable}" if trainable else "no groups"
        print_fn(
            f"stage {stage + 1}/{len(stages)}: epochs {start + 1}-{end}: the head + {shown} "
            f"train ({count:,} trainable parameters)"
        )
        result = model.fit(
            train_data,
            validation_data=val_data,
            epochs=end,
            initial_epoch=start,
            callbacks=[ProgressLogger(epochs, print_fn=print_fn), *callbacks],
            verbose=0,
        )
        ran = _extend(history, result.history, start, count)
        if ran < end - start:  # a callback stopped training (e.g. EarlyStopping)
            break
    return history


def _stages(schedule: list[list[int]]) -> list[tuple[int, int, list[int]]]:
    """Runs of equal epochs of ``schedule`` -> ``(first epoch, end epoch, groups)``."""
    stages: list[tuple[int, int, list[int]]] = []
    for e, trainable in enumerate(schedule):
        if stages and stages[-1][2] == trainable:
            stages[-1] = (stages[-1][0], e + 1, trainable)
        else:
            stages.append((e, e + 1, trainable))
    return stages


def _unfreeze(head_layers: Any, groups: Sequence[Any], trainable: list[int]) -> None:
    """Freeze every group, then let the head and the groups ``trainable`` train."""
    set_trainable(list(groups), False)
    set_trainable(head_layers, True)
    for i in trainable:
        set_trainable(groups[i], True)


def _extend(
    history: dict[str, list[float]], stage: dict[str, list[Any]], start: int, count: int
) -> int:
    """Append one stage's ``fit`` history (epochs from ``start + 1``); its epoch count."""
    ran = len(next(iter(stage.values()), []))
    for key, values in stage.items():
        history.setdefault(key, []).extend(float(v) for v in values)
    history.setdefault("epoch", []).extend(range(start + 1, start + ran + 1))
    history.setdefault("trainable_params", []).extend([count] * ran)
    return ran
