"""Pretraining a mini-BERT on unlabelled text, and the artifact that fine-tuning starts from.

Chapter 07 walks through these steps one cell at a time; chapter 08 calls
:func:`load_or_pretrain`, which loads chapter 07's encoder or, when it is missing, pretrains a
small one on the spot (and says so), so that every chapter runs on its own.

The pieces::

    texts --learn_wordpiece_vocabulary--> vocabulary --FastWordPiece--> ids per sentence
        --nsp_pairs + pack_batch--> [CLS] A [SEP] B [SEP] inputs (+ is-next labels)
        --MaskedLMBatches--> masked batches --build_pretrainer + fit--> encoder
        --save_pretrained--> <artifacts>/mini_bert-<profile>/{encoder.keras, vocab.txt, metadata.json}
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from lmcourse import pipelines, text
from lmcourse.paths import ARTIFACTS_DIR

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


@dataclass
class PretrainingData:
    """What the pretraining loop reads, built by :func:`prepare`.

    Attributes:
        vocabulary: WordPiece tokens in id order (``[PAD]`` = 0).
        tokenizer: a :class:`lmcourse.text.FastWordPiece` over it (None from
            :func:`pairs_from_documents`, which gets ids already tokenized).
        inputs: ``{"token_ids", "segment_ids", "padding_mask"}``, each ``(N, S)`` int32:
            ``[CLS] A [SEP] B [SEP]`` sentence pairs.
        nsp_labels: ``(N,)`` 1 = B follows A in the review, 0 = B is from another review.
        ids: the special ids: ``{"[PAD]": 0, "[CLS]": 4, ...}``.
        val_examples: the first ``val_examples`` pairs come from held-out texts that no
            other pair uses (0: no such split was made; see :func:`prepare`).
    """

    vocabulary: list[str]
    tokenizer: Any
    inputs: dict[str, np.ndarray]
    nsp_labels: np.ndarray
    ids: dict[str, int] = field(default_factory=dict)
    val_examples: int = 0

    @property
    def special_ids(self) -> list[int]:
        return sorted(self.ids.values())

    def max_predictions(self, rate: float = 0.15) -> int:
        """Prediction slots per sequence: ``ceil(rate * S)`` (BERT: 20 for S = 128)."""
        return int(np.ceil(rate * self.inputs["token_ids"].shape[1]))


def split_documents(tokenizer, texts: Sequence[str]) -> list[list[np.ndarray]]:
    """Each text as a list of sentences, each sentence an array of token ids."""
    sentences = [pipelines.split_sentences(t) for t in texts]
    flat = [s for doc in sentences for s in doc]
    encoded = pipelines.tokenize_texts(tokenizer, flat)
    out, i = [], 0
    for doc in sentences:
        out.append([e for e in encoded[i : i + len(doc)] if len(e)])
        i += len(doc)
    return out


def fit_pair(a: np.ndarray, b: np.ndarray, budget: int) -> tuple[np.ndarray, np.ndarray]:
    """Cut segments A and B to ``len(a) + len(b) <= budget`` ids, keeping the ids next to
    the A|B boundary: A loses ids from its *start*, B from its end.

    The lengths are those of :func:`lmcourse.pipelines.pack_pair`'s longest-first rule, but
    ``pack_pair`` cuts both segments at their ends, which for an "is next" pair would remove
    the end of A - the text that B continues - and leave a gap between the two.
    """
    la, lb = len(a), len(b)
    excess = la + lb - budget
    if excess > 0:
        d = min(excess, abs(la - lb))  # first cut the longer one down to the shorter
        if la >= lb:
            la -= d
        else:
            lb -= d
        excess -= d  # then both in turn, A first (as pack_pair does)
        la, lb = la - (excess + 1) // 2, lb - excess // 2
    return a[len(a) - la:], b[:lb]


def make_pairs(documents: list[list[np.ndarray]], n_examples: int, *, seq_len: int,
               ids: dict[str, int], seed: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """``n_examples`` NSP pairs packed to ``seq_len``: passes over the documents with fresh
    split points and partners each pass, until there are enough. Each pair is cut to fit
    with :func:`fit_pair`, so an "is next" B starts right where A ends."""
    rng = np.random.default_rng(seed)
    a_all: list[np.ndarray] = []
    b_all: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    budget = seq_len - 3  # [CLS] A [SEP] B [SEP]
    while sum(map(len, labels)) < n_examples:
        a, b, y = pipelines.nsp_pairs(documents, rng=rng, segment_len=budget)
        for x, z in zip(a, b, strict=True):
            x, z = fit_pair(x, z, budget)
            a_all.append(x)
            b_all.append(z)
        labels.append(y)
    inputs = pipelines.pack_batch(a_all[:n_examples], b_all[:n_examples], seq_len=seq_len,
                                  cls_id=ids[text.CLS], sep_id=ids[text.SEP], pad_id=ids[text.PAD])
    return inputs, np.concatenate(labels)[:n_examples]


def pretraining_rounds(steps: int) -> int:
    """Into how many rounds ("epochs") chapter 07 splits ``steps``: 2 to 8, one per ~300 steps.

    Each round masks its pairs afresh and adds a point to the learning curves.
    """
    return max(2, min(8, steps // 300))


def _check_val_examples(val_examples: int, n_examples: int) -> None:
    if not 0 <= val_examples < n_examples:
        raise ValueError(f"val_examples={val_examples} must be >= 0 and below n_examples={n_examples}")


def prepare(texts: Sequence[str], *, vocab_size: int, seq_len: int, n_examples: int,
            seed: int = 0, vocabulary: Sequence[str] | None = None,
            val_examples: int = 0) -> PretrainingData:
    """Vocabulary (learned unless given), tokenization, sentence pairs: everything before training.

    Args:
        texts: the unlabelled texts.
        vocab_size: the size of the vocabulary to learn (ignored when ``vocabulary`` is given).
        seq_len: tokens per packed pair.
        n_examples: pairs in all, the ``val_examples`` held-out ones included.
        seed: the pairs' random split points and partners.
        vocabulary: a WordPiece vocabulary to use instead of learning one.
        val_examples: build the first ``val_examples`` pairs from as many held-out texts
            (the last texts of two or more sentences, one pair each; "not next" partners
            from held-out texts too), and the other pairs from the remaining texts only, so
            that :func:`pretrain` scores text it never trained on. 0: every pair may come
            from any text (several passes over the texts give each text several pairs).

    Raises:
        ValueError: no texts, texts with too few multi-sentence documents for pairs, or a
            ``val_examples`` that leaves fewer than two documents to train on.
    """
    if len(texts) == 0:
        raise ValueError("no texts to pretrain on: pass a non-empty list of strings")
    _check_val_examples(val_examples, n_examples)
    vocab = list(vocabulary) if vocabulary is not None else text.learn_wordpiece_vocabulary(
        texts, vocab_size)
    text.check_specials(vocab, (text.PAD, text.UNK_TOKEN, text.CLS, text.SEP, text.MASK))  # early
    tokenizer = text.FastWordPiece(vocab)
    data = pairs_from_documents(split_documents(tokenizer, texts), vocab, seq_len=seq_len,
                                n_examples=n_examples, seed=seed, val_examples=val_examples)
    data.tokenizer = tokenizer
    return data


def pairs_from_documents(documents: list[list[np.ndarray]], vocabulary: Sequence[str], *,
                         seq_len: int, n_examples: int, seed: int = 0,
                         val_examples: int = 0) -> PretrainingData:
    """The sentence pairs of :func:`prepare` from texts already tokenized into sentences.

    Pure NumPy, so that a machine without TensorFlow (a JAX GPU box given pre-tokenized
    arrays, ``benchmarks/bert_imdb.py``) builds exactly the pairs the chapter builds. The
    arguments are :func:`prepare`'s; ``documents`` is :func:`split_documents`' output. The
    result's ``tokenizer`` is None.
    """
    _check_val_examples(val_examples, n_examples)
    vocab = list(vocabulary)
    ids = text.check_specials(vocab, (text.PAD, text.UNK_TOKEN, text.CLS, text.SEP, text.MASK))
    if val_examples:
        usable = [d for d in documents if len(d) >= 2]
        if len(usable) < val_examples + 2:
            raise ValueError(
                f"val_examples={val_examples} held-out texts leave {len(usable) - val_examples} "
                f"of the {len(usable)} texts with two or more sentences for training: use fewer "
                "val_examples or more texts")
        held_out, rest = usable[-val_examples:], usable[:-val_examples]
        val_inputs, val_labels = make_pairs(held_out, val_examples, seq_len=seq_len, ids=ids,
                                            seed=seed + 1)
        inputs, labels = make_pairs(rest, n_examples - val_examples, seq_len=seq_len, ids=ids,
                                    seed=seed)
        inputs = {k: np.concatenate([val_inputs[k], inputs[k]]) for k in inputs}
        labels = np.concatenate([val_labels, labels])
    else:
        inputs, labels = make_pairs(documents, n_examples, seq_len=seq_len, ids=ids, seed=seed)
    return PretrainingData(vocabulary=vocab, tokenizer=None, inputs=inputs,
                           nsp_labels=labels, ids=ids, val_examples=val_examples)


def batches(data: PretrainingData, *, batch_size: int, seed: int, nsp: bool = True,
            start: int = 0, stop: int | None = None, shuffle: bool = True, rate: float = 0.15):
    """:class:`lmcourse.pipelines.MaskedLMBatches` over examples ``start:stop`` of ``data``,
    choosing ``rate`` of the ordinary tokens of each sequence (``ceil(rate * S)`` slots)."""
    sl = slice(start, stop)
    return pipelines.MaskedLMBatches(
        {k: v[sl] for k, v in data.inputs.items()}, batch_size=batch_size,
        vocab_size=len(data.vocabulary), mask_id=data.ids[text.MASK],
        special_ids=data.special_ids, max_predictions=data.max_predictions(rate), seed=seed,
        nsp_labels=data.nsp_labels[sl] if nsp else None, shuffle=shuffle, rate=rate)


def unigram_log_probs(data: PretrainingData) -> np.ndarray:
    """``(V,)`` log-frequencies of the ordinary tokens in ``data``'s inputs (add-one
    smoothed; special tokens get the smallest value): the best guess without context."""
    counts = np.bincount(data.inputs["token_ids"].ravel(), minlength=len(data.vocabulary))
    counts = counts.astype(np.float64) + 1.0
    counts[data.special_ids] = 1.0
    return np.log(counts / counts.sum()).astype(np.float32)


def set_unigram_bias(pretrainer, data: PretrainingData) -> None:
    """Start the MLM head's output bias at the unigram log-frequencies.

    The logits then begin as the unigram model (MLM loss = the unigram loss, instead of
    ~log V) and training spends its first hundreds of steps learning to use the context,
    not learning word frequencies one Adam step at a time (the same trick as initializing a
    classifier's bias to the class prior).
    """
    head = next(layer for layer in pretrainer.layers if hasattr(layer, "output_bias"))
    head.output_bias.assign(unigram_log_probs(data))


def compile_pretrainer(model, *, learning_rate: float, total_steps: int, nsp: bool,
                       warmup_fraction: float = 0.1, weight_decay: float = 0.01) -> None:
    """AdamW with linear warm-up and decay (BERT's recipe); MLM loss (+ NSP loss), accuracies."""
    import keras

    from lmcourse.finetuning import warmup_adamw

    # The MLM loss averages over the real predictions only (unused slots weigh 0), and its
    # accuracy must be a *weighted* metric: plain metrics ignore sample weights.
    loss = {"mlm": keras.losses.SparseCategoricalCrossentropy(
        from_logits=True, reduction="mean_with_sample_weight")}
    weighted = {"mlm": [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]}
    metrics = {}
    if nsp:
        loss["nsp"] = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        metrics["nsp"] = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
    model.compile(
        optimizer=warmup_adamw(learning_rate, total_steps, warmup_fraction=warmup_fraction,
                               weight_decay=weight_decay),
        loss=loss, metrics=metrics or None, weighted_metrics=weighted,
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
    import keras

    from lmcourse import training
    from lmcourse.models import bert

    n = len(data.nsp_labels)
    if val_examples is None:
        val_examples = data.val_examples or 512
    elif data.val_examples and val_examples != data.val_examples:
        raise ValueError(f"val_examples={val_examples}, but the data was prepared with "
                         f"val_examples={data.val_examples} held-out pairs: pass the same number "
                         "(or leave it out)")
    if val_examples >= n:
        raise ValueError(f"val_examples={val_examples} leaves no training pairs of {n}")
    if not 0 < mask_selection_rate <= 1:
        raise ValueError(f"mask_selection_rate={mask_selection_rate} must be in (0, 1]: the "
                         "fraction of tokens chosen for prediction (BERT: 0.15)")
    # The batches first: their checks (batch size, masking) fail before anything is built.
    train = batches(data, batch_size=batch_size, seed=seed, nsp=nsp, start=val_examples,
                    rate=mask_selection_rate)
    val = batches(data, batch_size=min(batch_size, val_examples), seed=seed + 1, nsp=nsp,
                  stop=val_examples, shuffle=False)
    keras.utils.set_random_seed(seed)
    seq_len = data.inputs["token_ids"].shape[1]
    encoder = bert.build_bert_encoder(
        len(data.vocabulary), max_length=seq_len, d_model=d_model, num_heads=num_heads,
        num_layers=num_layers, dropout=dropout, norm_first=norm_first)
    pretrainer = bert.build_pretrainer(encoder, nsp=nsp)
    if unigram_bias:
        set_unigram_bias(pretrainer, data)
    compile_pretrainer(pretrainer, learning_rate=learning_rate, total_steps=steps, nsp=nsp)
    steps_per_epoch = max(1, steps // epochs)
    start = time.perf_counter()
    if run_dir is not None:
        history = training.fit(pretrainer, train, val, epochs=epochs, run_dir=run_dir, name=name,
                               steps_per_epoch=steps_per_epoch, resume=False, checkpoint=False,
                               print_fn=print_fn)
    else:
        logger = training.ProgressLogger(epochs, print_fn=print_fn)
        history = pretrainer.fit(train, validation_data=val, epochs=epochs, verbose=0,
                                 steps_per_epoch=steps_per_epoch, callbacks=[logger]).history
    seconds = time.perf_counter() - start
    scores = pretrainer.evaluate(val, verbose=0, return_dict=True)
    if not nsp:
        # With the MLM output alone Keras names the logs "loss"/"accuracy" (no "mlm_"
        # prefix): give them the names they have with NSP, so both runs read the same way.
        scores = {**scores, "mlm_loss": scores["loss"], "mlm_accuracy": scores["accuracy"]}
        for prefix in ("", "val_"):
            for name in ("loss", "accuracy"):
                if prefix + name in history:
                    history[f"{prefix}mlm_{name}"] = history[prefix + name]
    metrics = {"mlm_loss": float(scores["mlm_loss"]),
               "mlm_accuracy": float(scores["mlm_accuracy"])}
    if nsp:
        metrics["nsp_accuracy"] = float(scores["nsp_accuracy"])
    return Pretrained(encoder=encoder, pretrainer=pretrainer, vocabulary=list(data.vocabulary),
                      history=history, metrics=metrics, seconds=seconds)


def load_or_pretrain(
    profile: str,
    *,
    texts: Sequence[str],
    fallback: dict[str, Any],
    seed: int = 0,
    print_fn: Callable[..., Any] = print,
) -> tuple[Any, list[str], dict[str, Any], bool]:
    """The encoder chapter 07 saved for ``profile``, or a small one pretrained here.

    Args:
        profile: whose artifact to look for (:func:`encoder_dir`).
        texts: unlabelled texts to pretrain on if there is no artifact.
        fallback: :func:`prepare` and :func:`pretrain` settings for that case (``vocab_size``,
            ``seq_len``, ``n_examples``, ``d_model``, ``num_heads``, ``num_layers``,
            ``steps``, ``batch_size``, ``learning_rate``).

    Returns:
        ``(encoder, vocabulary, metadata, pretrained_here)``; ``metadata["folder"]`` is where
        the encoder was loaded from (load it again there for a fresh copy).
    """
    from lmcourse.models import bert

    folder = encoder_dir(profile)
    own = folder.with_name(folder.name + "-fallback")
    if (folder / "metadata.json").is_file():
        encoder, vocab, meta = bert.load_pretrained(folder)
        print_fn(f"loaded the mini-BERT that chapter 07 pretrained ({profile} profile) from {folder}")
        return encoder, vocab, {**meta, "folder": str(folder)}, False
    if (own / "metadata.json").is_file():
        encoder, vocab, meta = bert.load_pretrained(own)
        print_fn(f"no encoder from chapter 07 at {folder}; loaded the small one an earlier run "
                 f"of this chapter pretrained, from {own}. Run chapter 07 ({profile}) for the real one.")
        return encoder, vocab, {**meta, "folder": str(own)}, True
    print_fn(f"no pretrained encoder at {folder}: pretraining a small one here "
             f"({fallback['steps']} steps, saved to {own}). Run chapter 07 with the {profile} "
             "profile first for the real one.")
    prep_keys = ("vocab_size", "seq_len", "n_examples")
    data = prepare(texts, seed=seed, **{k: fallback[k] for k in prep_keys})
    result = pretrain(data, seed=seed, print_fn=print_fn,
                      **{k: v for k, v in fallback.items() if k not in prep_keys})
    meta = {"profile": profile, "pretrained_by": "chapter 08 (fallback)", **result.metrics,
            "steps": fallback["steps"], "seconds": result.seconds}
    bert.save_pretrained(result.encoder, result.vocabulary, own, meta)
    encoder, vocab, meta = bert.load_pretrained(own)
    return encoder, vocab, {**meta, "folder": str(own)}, True
