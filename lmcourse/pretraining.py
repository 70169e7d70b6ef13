"""Pretraining a mini-BERT on unlabelled text, and the artifact that fine-tuning starts from.

Chapter 07 walks through these steps one cell at a time; chapter 08 calls
:func:`load_or_pretrain`, which loads chapter 07's encoder or, when it is missing, pretrains a
small one on the spot (and says so), so that every chapter runs on its own.

The pieces (the data side is :mod:`lmcourse.pretraining_data`)::

    texts --learn_wordpiece_vocabulary--> vocabulary --FastWordPiece--> ids per sentence
        --nsp_pairs + pack_batch--> [CLS] A [SEP] B [SEP] inputs (+ is-next labels)
        --MaskedLMBatches--> masked batches --build_pretrainer + fit--> encoder
        --save_pretrained--> <artifacts>/mini_bert-<profile>/{encoder.keras, vocab.txt, metadata.json}
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmcourse.paths import ARTIFACTS_DIR
from lmcourse.pretraining_data import PretrainingData, batches, prepare, unigram_log_probs

ARTIFACTS_ENV = "LMCOURSE_ARTIFACTS"


def artifacts_root() -> Path:
    """Where chapters leave models for later chapters: ``$LMCOURSE_ARTIFACTS``, else
    ``runs/artifacts`` in the course checkout (whatever the current directory)."""
    env = os.environ.get(ARTIFACTS_ENV)
    if env:
        return Path(env)
    return ARTIFACTS_DIR


def encoder_dir(profile: str) -> Path:
    """The folder of the mini-BERT pretrained under ``profile`` (one per profile, so a smoke
    run never replaces a standard encoder)."""
    return artifacts_root() / f"mini_bert-{profile}"


def set_unigram_bias(pretrainer, data: PretrainingData) -> None:
    """Start the MLM head's output bias at the unigram log-frequencies.

    The logits then begin as the unigram model (MLM loss = the unigram loss, instead of
    ~log V) and training spends its first hundreds of steps learning to use the context,
    not learning word frequencies one Adam step at a time (the same trick as initializing a
    classifier's bias to the class prior).
    """
    head = next(layer for layer in pretrainer.layers if hasattr(layer, "output_bias"))
    head.output_bias.assign(unigram_log_probs(data))


def compile_pretrainer(
    model,
    *,
    learning_rate: float,
    total_steps: int,
    nsp: bool,
    warmup_fraction: float = 0.1,
    weight_decay: float = 0.01,
) -> None:
    """AdamW with linear warm-up and decay (BERT's recipe); MLM loss (+ NSP loss), accuracies."""
    import keras

    from lmcourse.finetuning import warmup_adamw

    # The MLM loss averages over the real predictions only (unused slots weigh 0), and its
    # accuracy must be a *weighted* metric: plain metrics ignore sample weights.
    loss = {
        "mlm": keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, reduction="mean_with_sample_weight"
        )
    }
    weighted = {"mlm": [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]}
    metrics = {}
    if nsp:
        loss["nsp"] = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        metrics["nsp"] = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
    model.compile(
        optimizer=warmup_adamw(
            learning_rate, total_steps, warmup_fraction=warmup_fraction, weight_decay=weight_decay
        ),
        loss=loss,
        metrics=metrics or None,
        weighted_metrics=weighted,
    )


@dataclass
class Pretrained:
    """A pretraining run's outcome: the encoder, its vocabulary, per-epoch history, numbers."""

    encoder: Any
    pretrainer: Any
    vocabulary: list[str]
    history: dict[str, list[float]]
    metrics: dict[str, float]
    seconds: float


def pretrain(
    data: PretrainingData,
    *,
    d_model: int,
    num_heads: int,
    num_layers: int,
    steps: int,
    batch_size: int,
    learning_rate: float,
    nsp: bool = True,
    dropout: float = 0.1,
    norm_first: bool = False,
    unigram_bias: bool = True,
    val_examples: int | None = None,
    mask_selection_rate: float = 0.15,
    epochs: int = 1,
    seed: int = 0,
    run_dir: str | Path | None = None,
    name: str = "mini_bert",
    print_fn: Callable[..., Any] = print,
) -> Pretrained:
    """Build a mini-BERT and pretrain it with masked-LM (and next-sentence) losses.

    The first ``val_examples`` pairs are held out (scored at the end of every epoch); the
    rest train for ``steps`` batches in all, split over ``epochs`` so the learning curve has
    points (each epoch masks anew). ``val_examples=None``: the held-out pairs that
    :func:`prepare` made from held-out texts (``data.val_examples``), else 512.
    ``mask_selection_rate``: the fraction of tokens chosen for prediction in the *training*
    batches (keras-hub's name; BERT: 0.15; Wettig et al. 2023 find higher rates train
    faster); the held-out pairs are always scored at BERT's 0.15, so runs with different
    rates compare on the same task.

    Returns:
        :class:`Pretrained`; ``metrics`` has ``mlm_loss``/``mlm_accuracy`` (and
        ``nsp_accuracy``) on the held-out pairs; ``history`` has ``mlm_loss``,
        ``mlm_accuracy``, ``val_mlm_loss`` and ``val_mlm_accuracy`` per epoch, also without NSP.

    Raises:
        ValueError: ``val_examples`` leaves no training pairs, or differs from the held-out
            pairs that ``data`` was prepared with; a ``mask_selection_rate`` outside (0, 1].
    """
    val_examples = _check_pretraining(data, val_examples, mask_selection_rate)
    # The batches first: their checks (batch size, masking) fail before anything is built.
    train = batches(
        data,
        batch_size=batch_size,
        seed=seed,
        nsp=nsp,
        start=val_examples,
        rate=mask_selection_rate,
    )
    val = batches(
        data,
        batch_size=min(batch_size, val_examples),
        seed=seed + 1,
        nsp=nsp,
        stop=val_examples,
        shuffle=False,
    )
    encoder, pretrainer = _build(
        data,
        seed,
        nsp=nsp,
        d_model=d_model,
        num_heads=num_heads,
        num_layers=num_layers,
        dropout=dropout,
        norm_first=norm_first,
    )
    if unigram_bias:
        set_unigram_bias(pretrainer, data)
    compile_pretrainer(pretrainer, learning_rate=learning_rate, total_steps=steps, nsp=nsp)
    start = time.perf_counter()
    history = _train(
        pretrainer, train, val, epochs, max(1, steps // epochs), run_dir, name, print_fn
    )
    seconds = time.perf_counter() - start
    history, metrics = _held_out_scores(pretrainer, val, history, nsp)
    vocabulary = list(data.vocabulary)
    return Pretrained(encoder, pretrainer, vocabulary, history, metrics, seconds)


def _build(data: PretrainingData, seed: int, *, nsp: bool, **encoder_shape: Any):
    """``(encoder, pretrainer)`` for ``data``'s vocabulary and length, seeded."""
    import keras

    from lmcourse.models import bert

    keras.utils.set_random_seed(seed)
    encoder = bert.build_bert_encoder(
        len(data.vocabulary), max_length=data.inputs["token_ids"].shape[1], **encoder_shape
    )
    return encoder, bert.build_pretrainer(encoder, nsp=nsp)


def _train(pretrainer, train, val, epochs, steps_per_epoch, run_dir, name, print_fn):
    """``training.fit`` into ``run_dir`` (logs, TensorBoard), or plain ``fit`` without one."""
    from lmcourse import training

    if run_dir is not None:
        return training.fit(
            pretrainer,
            train,
            val,
            epochs=epochs,
            run_dir=run_dir,
            name=name,
            steps_per_epoch=steps_per_epoch,
            resume=False,
            checkpoint=False,
            print_fn=print_fn,
        )
    logger = training.ProgressLogger(epochs, print_fn=print_fn)
    return pretrainer.fit(
        train,
        validation_data=val,
        epochs=epochs,
        verbose=0,
        steps_per_epoch=steps_per_epoch,
        callbacks=[logger],
    ).history


def _check_pretraining(
    data: PretrainingData, val_examples: int | None, mask_selection_rate: float
) -> int:
    """The held-out pair count to use; a clear error for a bad one or a bad masking rate."""
    n = len(data.nsp_labels)
    if val_examples is None:
        val_examples = data.val_examples or 512
    elif data.val_examples and val_examples != data.val_examples:
        raise ValueError(
            f"val_examples={val_examples}, but the data was prepared with "
            f"val_examples={data.val_examples} held-out pairs: pass the same number "
            "(or leave it out)"
        )
    if val_examples >= n:
        raise ValueError(f"val_examples={val_examples} leaves no training pairs of {n}")
    if not 0 < mask_selection_rate <= 1:
        raise ValueError(
            f"mask_selection_rate={mask_selection_rate} must be in (0, 1]: the "
            "fraction of tokens chosen for prediction (BERT: 0.15)"
        )
    return val_examples


def _held_out_scores(
    pretrainer: Any, val: Any, history: dict[str, list[float]], nsp: bool
) -> tuple[dict[str, list[float]], dict[str, float]]:
    """The held-out MLM (and NSP) scores; the history's names made the same with and
    without NSP."""
    scores = pretrainer.evaluate(val, verbose=0, return_dict=True)
    if not nsp:
        # With the MLM output alone Keras names the logs "loss"/"accuracy" (no "mlm_"
        # prefix): give them the names they have with NSP, so both runs read the same way.
        scores = {**scores, "mlm_loss": scores["loss"], "mlm_accuracy": scores["accuracy"]}
        for prefix in ("", "val_"):
            for name in ("loss", "accuracy"):
                if prefix + name in history:
                    history[f"{prefix}mlm_{name}"] = history[prefix + name]
    metrics = {"mlm_loss": float(scores["mlm_loss"]), "mlm_accuracy": float(scores["mlm_accuracy"])}
    if nsp:
        metrics["nsp_accuracy"] = float(scores["nsp_accuracy"])
    return history, metrics


@dataclass(frozen=True)
class FallbackRecipe:
    """How to pretrain a small encoder on the spot when chapter 07's is missing: the
    :func:`prepare` settings (``vocab_size``, ``seq_len``, ``n_examples`` pairs) and the
    :func:`pretrain` ones."""

    vocab_size: int
    seq_len: int
    n_examples: int
    d_model: int
    num_heads: int
    num_layers: int
    steps: int
    batch_size: int
    learning_rate: float
    val_examples: int = 128

    @classmethod
    def from_chapter07(cls, values: dict[str, Any], val_examples: int = 128) -> FallbackRecipe:
        """Chapter 07's encoder shape from its profile ``values``, pretrained for a quarter of
        its steps (at least 20): enough to stand in, quick enough to run inside chapter 08."""
        steps = max(20, values["steps"] // 4)
        shape = ("vocab_size", "seq_len", "d_model", "num_heads", "num_layers", "batch_size")
        return cls(
            **{k: values[k] for k in shape},
            steps=steps,
            learning_rate=values["learning_rate"],
            val_examples=val_examples,
            n_examples=steps * values["batch_size"] + val_examples,
        )


@dataclass(frozen=True)
class LoadedEncoder:
    """What :func:`load_or_pretrain` found: the encoder, its vocabulary, its metadata
    (``metadata["folder"]`` is where it was loaded from: load it again there for a fresh
    copy), and whether it was pretrained by this chapter rather than chapter 07."""

    encoder: Any
    vocabulary: list[str]
    metadata: dict[str, Any]
    pretrained_here: bool


def load_or_pretrain(
    profile: str,
    *,
    texts: Sequence[str],
    recipe: FallbackRecipe,
    seed: int = 0,
    print_fn: Callable[..., Any] = print,
) -> LoadedEncoder:
    """The encoder chapter 07 saved for ``profile``, or a small one pretrained here.

    Args:
        profile: whose artifact to look for (:func:`encoder_dir`).
        texts: unlabelled texts to pretrain on if there is no artifact.
        recipe: how to pretrain in that case.
    """
    from lmcourse.models import bert

    folder = encoder_dir(profile)
    own = folder.with_name(folder.name + "-fallback")
    if (folder / "metadata.json").is_file():
        print_fn(
            f"loaded the mini-BERT that chapter 07 pretrained ({profile} profile) from {folder}"
        )
        return _load(folder, pretrained_here=False)
    if (own / "metadata.json").is_file():
        print_fn(
            f"no encoder from chapter 07 at {folder}; loaded the small one an earlier run "
            f"of this chapter pretrained, from {own}. Run chapter 07 ({profile}) for the real one."
        )
        return _load(own, pretrained_here=True)
    print_fn(
        f"no pretrained encoder at {folder}: pretraining a small one here "
        f"({recipe.steps} steps, saved to {own}). Run chapter 07 with the {profile} "
        "profile first for the real one."
    )
    settings = dataclasses.asdict(recipe)
    prep_keys = ("vocab_size", "seq_len", "n_examples")
    data = prepare(texts, seed=seed, **{k: settings.pop(k) for k in prep_keys})
    result = pretrain(data, seed=seed, print_fn=print_fn, **settings)
    meta = {
        "profile": profile,
        "pretrained_by": "chapter 08 (fallback)",
        **result.metrics,
        "steps": recipe.steps,
        "seconds": result.seconds,
    }
    bert.save_pretrained(result.encoder, result.vocabulary, own, meta)
    return _load(own, pretrained_here=True)


def _load(folder: Path, *, pretrained_here: bool) -> LoadedEncoder:
    from lmcourse.models import bert

    encoder, vocab, meta = bert.load_pretrained(folder)
    return LoadedEncoder(encoder, vocab, {**meta, "folder": str(folder)}, pretrained_here)
