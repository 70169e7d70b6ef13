"""Tokens to ids for the neural models: special tokens, character and WordPiece tokenizers, padding.

* ``SPECIAL_TOKENS`` (``[PAD]`` ``[UNK]`` ``[BOS]`` ``[EOS]`` ``[CLS]`` ``[SEP]`` ``[MASK]``)
  and :func:`check_specials`, which names the missing ones and the fix.
* :class:`CharTokenizer` - characters <-> ids, lossless (chapter 04's character LM).
* :func:`train_wordpiece` / :func:`wordpiece_tokenizer` - keras-hub WordPiece (chapter 03);
  :func:`learn_wordpiece_vocabulary` / :class:`FastWordPiece` - the same vocabulary format,
  learned and encoded by HuggingFace ``tokenizers`` (chapters 07-08).
* :func:`pad_batch` - ragged id lists -> a padded ``(B, T)`` batch and its mask.

Text is split into words by :mod:`lmcourse.words`, words get ids from a
:class:`lmcourse.vocabulary.Vocabulary`; byte-pair encoding, written from scratch, is in
:mod:`lmcourse.bpe`.

Example:
    >>> tok = CharTokenizer.fit("to be or not to be")
    >>> check_specials(tok, (PAD, UNK_TOKEN))
    {'[PAD]': 0, '[UNK]': 1}
    >>> ids, mask = pad_batch([tok.encode("to be"), tok.encode("or")])
    >>> ids.shape, mask.sum(axis=1).tolist()
    ((2, 5), [5, 2])
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from lmcourse.vocabulary import Vocabulary

# The course's special tokens for neural models, spelled as BERT and keras-hub spell them.
# [PAD] comes first so that it is id 0, the id `keras.layers.Embedding(mask_zero=True)` masks.
PAD = "[PAD]"  # fills short sequences up to the batch's length
UNK_TOKEN = "[UNK]"  # stands for a token (or character) the vocabulary does not know
BOS = "[BOS]"  # begin of sequence: what a generator is conditioned on first
EOS = "[EOS]"  # end of sequence: a generator stops when it samples this
CLS = "[CLS]"  # BERT: first token; its final vector summarizes the sequence
SEP = "[SEP]"  # BERT: ends a segment (separates sentence A from sentence B)
MASK = "[MASK]"  # BERT: hides a token the masked-LM objective must predict
SPECIAL_TOKENS = (PAD, UNK_TOKEN, BOS, EOS, CLS, SEP, MASK)


# ---------------------------------------------------------------------------------------------
# Special tokens
# ---------------------------------------------------------------------------------------------


def vocabulary_tokens(vocabulary: Any) -> list[str]:
    """The token list of any of the course's vocabularies, in id order.

    Accepts a :class:`~lmcourse.vocabulary.Vocabulary`, a :class:`CharTokenizer`, a
    ``BPETokenizer``, a keras-hub tokenizer (``get_vocabulary()``) or a plain list of tokens.
    """
    if isinstance(vocabulary, Vocabulary):
        return vocabulary.tokens
    if isinstance(vocabulary, CharTokenizer):
        return vocabulary.vocab.tokens
    if hasattr(vocabulary, "get_vocabulary"):
        return list(vocabulary.get_vocabulary())
    if hasattr(vocabulary, "vocabulary") and not isinstance(vocabulary, (list, tuple)):
        return list(vocabulary.vocabulary)
    return list(vocabulary)


def check_specials(vocabulary: Any, required: Sequence[str] = SPECIAL_TOKENS) -> dict[str, int]:
    """Check that a vocabulary has the special tokens a model needs; return their ids.

    Args:
        vocabulary: a vocabulary or tokenizer (see :func:`vocabulary_tokens`).
        required: the special tokens needed, e.g. ``(PAD, UNK_TOKEN, MASK)`` for masked LM.

    Returns:
        ``{token: id}`` for the required tokens.

    Raises:
        ValueError: one or more are missing; the message names them and the fix.

    Example:
        >>> check_specials(["[PAD]", "[UNK]", "a"], required=("[PAD]", "[UNK]"))
        {'[PAD]': 0, '[UNK]': 1}
    """
    tokens = vocabulary_tokens(vocabulary)
    ids = {t: i for i, t in reversed(list(enumerate(tokens)))}  # first occurrence wins
    missing = [t for t in required if t not in ids]
    if missing:
        raise ValueError(
            f"the vocabulary ({len(tokens)} tokens) lacks the special token(s) "
            f"{', '.join(missing)}: build it with them, e.g. train_wordpiece(texts, size, "
            "reserved_tokens=SPECIAL_TOKENS), Vocabulary.from_tokens(tokens, "
            "specials=SPECIAL_TOKENS, unk=UNK_TOKEN) or CharTokenizer.fit(text)"
        )
    return {t: ids[t] for t in required}


# ---------------------------------------------------------------------------------------------
# Characters
# ---------------------------------------------------------------------------------------------


class CharTokenizer:
    """Characters <-> ids, with the course's special tokens first (``[PAD]`` = 0).

    Lossless: ``decode(encode(text)) == text`` for every text made of known characters
    (unknown ones become ``[UNK]``). Build it with :meth:`fit`.

    Example:
        >>> tok = CharTokenizer.fit("hello world")
        >>> tok.encode("hello")[:3]
        array([ 9, 10,  7])
        >>> tok.decode(tok.encode("hello", add_bos=True, add_eos=True))
        'hello'
    """

    def __init__(self, vocab: Vocabulary) -> None:
        self.vocab = vocab
        self.ids = check_specials(vocab, (PAD, UNK_TOKEN, BOS, EOS))
        self.pad_id, self.unk_id = self.ids[PAD], self.ids[UNK_TOKEN]
        self.bos_id, self.eos_id = self.ids[BOS], self.ids[EOS]

    @classmethod
    def fit(
        cls, text: str, *, min_count: int = 1, specials: Sequence[str] = SPECIAL_TOKENS
    ) -> CharTokenizer:
        """Learn the character set of ``text`` (characters seen ``min_count`` times or more).

        Raises:
            ValueError: the text is empty.
        """
        if not isinstance(text, str):
            raise TypeError(f"CharTokenizer.fit expects a str, got {type(text).__name__}")
        if not text:
            raise ValueError("CharTokenizer.fit got an empty text: pass the training text")
        return cls(
            Vocabulary.from_tokens(text, min_count=min_count, specials=specials, unk=UNK_TOKEN)
        )

    def __len__(self) -> int:
        return len(self.vocab)

    def __repr__(self) -> str:
        return f"CharTokenizer(size={len(self)}, specials={len(self.vocab.specials)})"

    def encode(self, text: str, *, add_bos: bool = False, add_eos: bool = False) -> np.ndarray:
        """Text -> ids, int64 of shape ``(n,)`` (with ``[BOS]``/``[EOS]`` if asked).

        Raises:
            ValueError: the text is empty.
        """
        if not isinstance(text, str):
            raise TypeError(f"CharTokenizer.encode expects a str, got {type(text).__name__}")
        if not text:
            raise ValueError("CharTokenizer.encode got an empty text: pass at least one character")
        ids = self.vocab.encode(text)
        if add_bos or add_eos:
            ids = np.concatenate([[self.bos_id] * add_bos, ids, [self.eos_id] * add_eos])
        return ids.astype(np.int64)

    def decode(self, ids: Iterable[int], *, skip_specials: bool = True) -> str:
        """Ids -> text. Special tokens are dropped (``[UNK]`` is kept, as the text ``[UNK]``)."""
        specials = set(self.vocab.specials) - {UNK_TOKEN} if skip_specials else set()
        return "".join(t for t in self.vocab.decode(ids) if t not in specials)


# ---------------------------------------------------------------------------------------------
# WordPiece (keras-hub)
# ---------------------------------------------------------------------------------------------


def wordpiece_tokenizer(
    vocabulary: Sequence[str],
    *,
    lowercase: bool = True,
    strip_accents: bool = False,
    sequence_length: int | None = None,
    required: Sequence[str] = (PAD, UNK_TOKEN),
):
    """A ``keras_hub.tokenizers.WordPieceTokenizer`` over ``vocabulary``, specials checked.

    Args:
        vocabulary: the WordPiece tokens in id order (continuation pieces start with ``##``).
        lowercase, strip_accents: must match how the vocabulary was trained.
        sequence_length: pad/truncate every output to this length (dense output); None
            gives ragged output.
        required: special tokens that must be in the vocabulary (see :func:`check_specials`);
            ``[UNK]`` is what words with unknown characters become.
    """
    import keras_hub

    check_specials(list(vocabulary), tuple(dict.fromkeys([*required, UNK_TOKEN])))
    return keras_hub.tokenizers.WordPieceTokenizer(
        vocabulary=list(vocabulary),
        lowercase=lowercase,
        strip_accents=strip_accents,
        oov_token=UNK_TOKEN,
        sequence_length=sequence_length,
    )


def train_wordpiece(
    texts: Sequence[str] | Any,
    vocab_size: int,
    *,
    reserved_tokens: Sequence[str] = SPECIAL_TOKENS,
    lowercase: bool = True,
    strip_accents: bool = False,
    sequence_length: int | None = None,
):
    """Train a WordPiece vocabulary with keras-hub and return a tokenizer over it.

    Args:
        texts: a list of strings (each a text - never file names) or a ``tf.data.Dataset``
            of strings.
        vocab_size: the largest vocabulary wanted, reserved tokens included. keras-hub's
            learner searches a count threshold and may return fewer tokens (read the size
            from ``tokenizer.vocabulary_size()``).
        reserved_tokens: special tokens placed first (``[PAD]`` = id 0); must include ``[UNK]``.
        lowercase, strip_accents: text normalization, applied when training and encoding.
        sequence_length: see :func:`wordpiece_tokenizer`.

    Returns:
        A ``keras_hub.tokenizers.WordPieceTokenizer``; ``get_vocabulary()`` lists its tokens.

    Raises:
        ValueError: no text, a single string instead of a list, too small a ``vocab_size``,
            or ``[UNK]`` missing from ``reserved_tokens``.
    """
    import keras_hub
    import tensorflow as tf

    check_specials(list(reserved_tokens), (UNK_TOKEN,))
    if isinstance(texts, str):
        raise ValueError("train_wordpiece expects a list of texts, got one str: pass [text]")
    if not isinstance(texts, tf.data.Dataset):
        texts = [t for t in texts if isinstance(t, str) and t.strip()]
        if not texts:
            raise ValueError(
                "train_wordpiece got no text (empty list or only empty strings): "
                "pass a non-empty list of strings"
            )
        # A list of str would be read as *file names* by keras-hub: pass a Dataset of texts.
        texts = tf.data.Dataset.from_tensor_slices(texts).batch(1000)
    if vocab_size <= len(reserved_tokens):
        raise ValueError(
            f"vocab_size={vocab_size} leaves no room beside the "
            f"{len(reserved_tokens)} reserved tokens: use a larger vocab_size"
        )
    vocab = keras_hub.tokenizers.compute_word_piece_vocabulary(
        texts,
        vocab_size,
        lowercase=lowercase,
        strip_accents=strip_accents,
        reserved_tokens=list(reserved_tokens),
    )
    if len(vocab) <= len(reserved_tokens):
        raise ValueError("train_wordpiece learned no tokens: the dataset holds no text")
    return wordpiece_tokenizer(
        vocab,
        lowercase=lowercase,
        strip_accents=strip_accents,
        sequence_length=sequence_length,
        required=(UNK_TOKEN,),
    )


def _hf_wordpiece(vocab: dict[str, int] | None, *, lowercase: bool):
    """A HuggingFace WordPiece ``Tokenizer`` with BERT's normalization and splitting: one place
    for it, so that the learner and the encoder (:class:`FastWordPiece`) cannot drift apart.

    ``vocab=None``: an empty model, to be trained.
    """
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    model = (
        models.WordPiece(unk_token=UNK_TOKEN)
        if vocab is None
        else models.WordPiece(vocab, unk_token=UNK_TOKEN, max_input_chars_per_word=100)
    )
    tok = Tokenizer(model)
    tok.normalizer = normalizers.BertNormalizer(
        lowercase=lowercase, strip_accents=lowercase, clean_text=True, handle_chinese_chars=True
    )
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return tok


def learn_wordpiece_vocabulary(
    texts: Sequence[str],
    vocab_size: int,
    *,
    reserved_tokens: Sequence[str] = SPECIAL_TOKENS,
    lowercase: bool = True,
    min_frequency: int = 2,
) -> list[str]:
    """Learn a WordPiece vocabulary with HuggingFace ``tokenizers`` (Rust; seconds, not minutes).

    The vocabulary has the format keras-hub's ``WordPieceTokenizer`` reads (reserved tokens
    first, continuation pieces marked ``##``), so :func:`wordpiece_tokenizer` encodes with
    it. keras-hub's own learner (:func:`train_wordpiece`, chapter 03) gives a similar
    vocabulary but took 80-95 s for 2,000-5,000 reviews on the 2-core CPU, this one about
    20 s for 20,000 (both measured under load).

    Args:
        texts: the training texts (a list of strings).
        vocab_size: the vocabulary size wanted, reserved tokens included (the learner may
            stop short when the text has fewer pieces).
        reserved_tokens: special tokens placed first, in order (``[PAD]`` = id 0).
        lowercase: lowercase (and strip accents) before learning; encode the same way.
        min_frequency: pieces seen fewer times are not added.

    Returns:
        The tokens in id order: the reserved tokens, then the learned pieces sorted. The same
        texts and arguments give the same vocabulary in every run.

    Raises:
        ValueError: no text, or a ``vocab_size`` that leaves no room beside the reserved tokens.
    """
    from tokenizers import trainers

    if isinstance(texts, str):
        raise ValueError(
            "learn_wordpiece_vocabulary expects a list of texts, got one str: pass [text]"
        )
    texts = [t for t in texts if isinstance(t, str) and t.strip()]
    if not texts:
        raise ValueError("learn_wordpiece_vocabulary got no text: pass a non-empty list of strings")
    check_specials(list(reserved_tokens), (UNK_TOKEN,))
    if vocab_size <= len(reserved_tokens):
        raise ValueError(
            f"vocab_size={vocab_size} leaves no room beside the "
            f"{len(reserved_tokens)} reserved tokens: use a larger vocab_size"
        )

    def train(size: int, fixed: list[str]) -> set[str]:
        tok = _hf_wordpiece(None, lowercase=lowercase)
        trainer = trainers.WordPieceTrainer(
            vocab_size=size,
            min_frequency=min_frequency,
            special_tokens=fixed,
            continuing_subword_prefix="##",
            show_progress=False,
        )
        tok.train_from_iterator(texts, trainer=trainer)
        return set(tok.get_vocab())

    # The learner merges the most frequent pair and breaks ties by the pair's ids. It numbers
    # the continuation symbols ("##e") in the order it meets them in a hash map, which changes
    # from run to run, so the same text could give other pieces. A first pass with no merges
    # finds those symbols; the second numbers them in sorted order, so ties fall the same way.
    symbols = sorted(t for t in train(1, list(reserved_tokens)) if _is_continuation_symbol(t))
    learned = train(vocab_size, list(reserved_tokens) + symbols) - set(reserved_tokens)
    return list(reserved_tokens) + sorted(learned)  # sorted: the same pieces get the same ids


def _is_continuation_symbol(token: str) -> bool:
    """True for one character after the ``##`` prefix (``"##e"``): the learner's starting
    symbols inside a word."""
    return token.startswith("##") and len(token) == 3


class FastWordPiece:
    """WordPiece encoding of a fixed vocabulary by HuggingFace ``tokenizers`` (Rust, threads).

    The same vocabulary, normalization (lowercase, accents stripped) and splitting as
    :func:`wordpiece_tokenizer`; ids agree with keras-hub's tokenizer on ordinary text (chapter
    07 measures how often) and it is faster on a CPU (chapter 07 times both), which matters for encoding a
    corpus of millions of tokens. Call it like a keras-hub tokenizer: a list of texts in, a
    list of id lists out.
    """

    def __init__(self, vocabulary: Sequence[str], *, lowercase: bool = True) -> None:
        vocabulary = list(vocabulary)
        check_specials(vocabulary, (PAD, UNK_TOKEN))
        self.vocabulary = vocabulary
        self._tok = _hf_wordpiece({t: i for i, t in enumerate(vocabulary)}, lowercase=lowercase)

    def vocabulary_size(self) -> int:
        return len(self.vocabulary)

    def get_vocabulary(self) -> list[str]:
        return list(self.vocabulary)

    def __call__(self, texts: Sequence[str] | str) -> list[list[int]] | list[int]:
        if isinstance(texts, str):
            return self._tok.encode(texts, add_special_tokens=False).ids
        return [e.ids for e in self._tok.encode_batch(list(texts), add_special_tokens=False)]

    def detokenize(self, ids: Sequence[Sequence[int]]) -> list[str]:
        """Ids back to text: pieces joined, ``##`` continuations glued to the previous piece."""
        out = []
        for row in ids:
            words: list[str] = []
            for i in row:
                token = self.vocabulary[int(i)]
                if token.startswith("##") and words:
                    words[-1] += token[2:]
                else:
                    words.append(token)
            out.append(" ".join(words))
        return out


# ---------------------------------------------------------------------------------------------
# Padding and masks
# ---------------------------------------------------------------------------------------------


def pad_batch(
    sequences: Sequence[Sequence[int]],
    pad_id: int = 0,
    max_len: int | None = None,
    *,
    truncate: str = "post",
) -> tuple[np.ndarray, np.ndarray]:
    """Pad id sequences of different lengths into one batch, and say which entries are real.

    Args:
        sequences: ``B`` sequences of ids.
        pad_id: the id of ``[PAD]`` (0 in the course's vocabularies).
        max_len: the batch length ``T``; None -> the longest sequence. Longer sequences are
            cut: ``truncate="post"`` keeps their start, ``"pre"`` their end.

    Returns:
        ``(ids, mask)``: int32 ``(B, T)`` ids, padded at the end with ``pad_id``, and a bool
        ``(B, T)`` mask, True where a real token is.

    Example:
        >>> ids, mask = pad_batch([[5, 6, 7], [8]])
        >>> ids.tolist(), mask.astype(int).tolist()
        ([[5, 6, 7], [8, 0, 0]], [[1, 1, 1], [1, 0, 0]])
    """
    if len(sequences) == 0:
        raise ValueError("pad_batch got no sequences: pass a non-empty list of id sequences")
    if truncate not in ("post", "pre"):
        raise ValueError(
            f"truncate={truncate!r}: use 'post' (keep the start) or 'pre' (keep the end)"
        )
    lengths = [len(s) for s in sequences]
    T = max(lengths) if max_len is None else max_len
    if T < 1:
        raise ValueError(f"max_len must be >= 1, got {T} (all sequences empty?)")
    ids = np.full((len(sequences), T), pad_id, dtype=np.int32)
    mask = np.zeros((len(sequences), T), dtype=bool)
    for i, seq in enumerate(sequences):
        seq = np.asarray(seq, dtype=np.int32)
        seq = seq[:T] if truncate == "post" else seq[max(0, len(seq) - T) :]
        ids[i, : len(seq)] = seq
        mask[i, : len(seq)] = True
    return ids, mask
