"""The data of BERT pretraining: documents to sentence pairs to masked batches.

:func:`prepare` learns a WordPiece vocabulary on raw texts and builds ``[CLS] A [SEP] B
[SEP]`` pairs (:func:`make_pairs`; half of the B sentences really follow A, for next-sentence
prediction); :func:`batches` masks them per batch (80/10/10) for the masked-LM objective;
:func:`unigram_log_probs` is the best guess without context, the MLM head's starting bias.
``lmcourse.pretraining`` trains on what this module prepares.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lmcourse import pipelines, text


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
    return a[len(a) - la :], b[:lb]


def make_pairs(
    documents: list[list[np.ndarray]],
    n_examples: int,
    *,
    seq_len: int,
    ids: dict[str, int],
    seed: int,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
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
    inputs = pipelines.pack_batch(
        a_all[:n_examples],
        b_all[:n_examples],
        seq_len=seq_len,
        cls_id=ids[text.CLS],
        sep_id=ids[text.SEP],
        pad_id=ids[text.PAD],
    )
    return inputs, np.concatenate(labels)[:n_examples]


def pretraining_rounds(steps: int) -> int:
    """Into how many rounds ("epochs") chapter 07 splits ``steps``: 2 to 8, one per ~300 steps.

    Each round masks its pairs afresh and adds a point to the learning curves.
    """
    return max(2, min(8, steps // 300))


def _check_val_examples(val_examples: int, n_examples: int) -> None:
    if not 0 <= val_examples < n_examples:
        raise ValueError(
            f"val_examples={val_examples} must be >= 0 and below n_examples={n_examples}"
        )


def prepare(
    texts: Sequence[str],
    *,
    vocab_size: int,
    seq_len: int,
    n_examples: int,
    seed: int = 0,
    vocabulary: Sequence[str] | None = None,
    val_examples: int = 0,
) -> PretrainingData:
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
    vocab = (
        list(vocabulary)
        if vocabulary is not None
        else text.learn_wordpiece_vocabulary(texts, vocab_size)
    )
    text.check_specials(vocab, (text.PAD, text.UNK_TOKEN, text.CLS, text.SEP, text.MASK))  # early
    tokenizer = text.FastWordPiece(vocab)
    data = pairs_from_documents(
        split_documents(tokenizer, texts),
        vocab,
        seq_len=seq_len,
        n_examples=n_examples,
        seed=seed,
        val_examples=val_examples,
    )
    data.tokenizer = tokenizer
    return data


def pairs_from_documents(
    documents: list[list[np.ndarray]],
    vocabulary: Sequence[str],
    *,
    seq_len: int,
    n_examples: int,
    seed: int = 0,
    val_examples: int = 0,
) -> PretrainingData:
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
                "val_examples or more texts"
            )
        held_out, rest = usable[-val_examples:], usable[:-val_examples]
        val_inputs, val_labels = make_pairs(
            held_out, val_examples, seq_len=seq_len, ids=ids, seed=seed + 1
        )
        inputs, labels = make_pairs(
            rest, n_examples - val_examples, seq_len=seq_len, ids=ids, seed=seed
        )
        inputs = {k: np.concatenate([val_inputs[k], inputs[k]]) for k in inputs}
        labels = np.concatenate([val_labels, labels])
    else:
        inputs, labels = make_pairs(documents, n_examples, seq_len=seq_len, ids=ids, seed=seed)
    return PretrainingData(
        vocabulary=vocab,
        tokenizer=None,
        inputs=inputs,
        nsp_labels=labels,
        ids=ids,
        val_examples=val_examples,
    )


def batches(
    data: PretrainingData,
    *,
    batch_size: int,
    seed: int,
    nsp: bool = True,
    start: int = 0,
    stop: int | None = None,
    shuffle: bool = True,
    rate: float = 0.15,
):
    """:class:`lmcourse.pipelines.MaskedLMBatches` over examples ``start:stop`` of ``data``,
    choosing ``rate`` of the ordinary tokens of each sequence (``ceil(rate * S)`` slots)."""
    sl = slice(start, stop)
    return pipelines.MaskedLMBatches(
        {k: v[sl] for k, v in data.inputs.items()},
        batch_size=batch_size,
        vocab_size=len(data.vocabulary),
        mask_id=data.ids[text.MASK],
        special_ids=data.special_ids,
        max_predictions=data.max_predictions(rate),
        seed=seed,
        nsp_labels=data.nsp_labels[sl] if nsp else None,
        shuffle=shuffle,
        rate=rate,
    )


def unigram_log_probs(data: PretrainingData) -> np.ndarray:
    """``(V,)`` log-frequencies of the ordinary tokens in ``data``'s inputs (add-one
    smoothed; special tokens get the smallest value): the best guess without context."""
    counts = np.bincount(data.inputs["token_ids"].ravel(), minlength=len(data.vocabulary))
    counts = counts.astype(np.float64) + 1.0
    counts[data.special_ids] = 1.0
    return np.log(counts / counts.sum()).astype(np.float32)
