"""Text to tokens to ids: cleaning, tokenizers, vocabularies, special tokens, padding.

One module for the whole first step of every model, text -> integer ids:

* :func:`clean_text` - Unicode normalization (NFC/NFKC), case, accents, punctuation, spaces.
* :func:`word_tokenize` / :func:`detokenize` - lower-case words and punctuation (chapter 01).
* :class:`Vocabulary` - a two-way token <-> id map, with ``<unk>`` or the special tokens.
* :class:`CharTokenizer` - characters <-> ids, lossless (chapter 04's character LM).
* :func:`train_wordpiece` / :func:`wordpiece_tokenizer` - keras-hub WordPiece (chapter 07).
* ``SPECIAL_TOKENS`` (``[PAD]`` ``[UNK]`` ``[BOS]`` ``[EOS]`` ``[CLS]`` ``[SEP]`` ``[MASK]``)
  and :func:`check_specials`, which names the missing ones and the fix.
* :func:`pad_batch` - ragged id lists -> a padded ``(B, T)`` batch and its mask.
* :func:`chinese_chars` / :func:`chinese_words` - Chinese by character or by word (jieba).

Byte-pair encoding, written from scratch, is in :mod:`lmcourse.bpe`.

Example:
    >>> tokens = word_tokenize("To be, or not to be:\\nthat is the question.")
    >>> tokens[:6]
    ['to', 'be', ',', 'or', 'not', 'to']
    >>> vocab = Vocabulary.from_tokens(tokens, min_count=2)
    >>> vocab.decode(vocab.encode(["to", "be", "hamlet"]))
    ['to', 'be', '<unk>']
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import numpy as np

UNK = "<unk>"  # the unknown word of chapter 01's n-gram vocabularies (Vocabulary's default)
NEWLINE = "\n"

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

# A word: letters/digits with inner apostrophes (o'er) and elisions at either end ('tis, th');
# a run of dashes; or any other single non-space character (punctuation). Text is lower-cased.
_TOKEN = re.compile(r"\n|'?[a-z0-9]+(?:'[a-z0-9]+)*'?|-+|[^\sa-z0-9]")
_BLANK_LINES = re.compile(r"[ \t\r\f\v]*\n(?:[ \t\r\f\v]*\n)+")
_NO_SPACE_BEFORE = set(".,;:!?)]}-\n")
_NO_SPACE_AFTER = set("([{-\n")


def word_tokenize(text: str, *, newlines: bool = True) -> list[str]:
    """Split text into lower-case words and punctuation marks.

    Args:
        text: any text.
        newlines: if True, a line break is the token ``"\\n"`` and a run of blank lines is kept
            as one blank line (two ``"\\n"``); if False, line breaks are plain white space.

    Returns:
        The tokens, in order. ``"don't"`` and ``"'tis"`` stay one word; ``"--"`` is one token.

    Raises:
        ValueError: the text has no tokens (empty or only white space).

    Example:
        >>> word_tokenize("O Romeo, Romeo!\\n\\n\\nWherefore art thou")
        ['o', 'romeo', ',', 'romeo', '!', '\\n', '\\n', 'wherefore', 'art', 'thou']
    """
    if not isinstance(text, str):
        raise TypeError(f"word_tokenize expects a str, got {type(text).__name__}")
    text = _BLANK_LINES.sub("\n\n", text.lower())
    if not newlines:
        text = text.replace("\n", " ")
    tokens = _TOKEN.findall(text)
    if not any(t != NEWLINE for t in tokens):
        raise ValueError("word_tokenize got a text with no words: pass a non-empty text")
    return tokens


def detokenize(tokens: Iterable[str]) -> str:
    """Join word tokens back into readable text (the inverse of :func:`word_tokenize`, up to
    case and spacing): no space before punctuation, ``"\\n"`` tokens become line breaks."""
    out: list[str] = []
    prev = NEWLINE
    for tok in tokens:
        if out and prev not in _NO_SPACE_AFTER and tok not in _NO_SPACE_BEFORE:
            out.append(" ")
        out.append(tok)
        prev = tok
    return "".join(out)


class Vocabulary:
    """A two-way map between tokens and integer ids ``0 .. len(vocab) - 1``.

    Special tokens come first (``<unk>`` is id 0 by default), then the regular tokens in the
    order given (:meth:`from_tokens` orders them by descending count). Any hashable token
    works: words, characters, or ids of another vocabulary.

    Args:
        tokens: the regular tokens, each once.
        specials: special tokens put before the regular ones; must include ``unk`` if ``unk``
            is not None.
        unk: the token that unknown tokens encode to, or None to make unknown tokens an error.

    Raises:
        ValueError: no tokens at all, a duplicate token, or ``unk`` missing from ``specials``.
    """

    def __init__(
        self,
        tokens: Iterable[Hashable],
        *,
        specials: Sequence[Hashable] = (UNK,),
        unk: Hashable | None = UNK,
    ) -> None:
        special_set = set(specials)
        itos = list(specials) + [t for t in tokens if t not in special_set]
        if not itos:
            raise ValueError("a Vocabulary needs at least one token: the token list is empty")
        if unk is not None and unk not in specials:
            raise ValueError(f"unk={unk!r} must be one of the special tokens {list(specials)}")
        self._itos = itos
        self._stoi = {t: i for i, t in enumerate(itos)}
        if len(self._stoi) != len(itos):
            dup = next(t for t, c in Counter(itos).items() if c > 1)
            raise ValueError(f"token {dup!r} appears twice in the vocabulary")
        self.specials = tuple(specials)
        self.unk = unk
        self.unk_id: int | None = None if unk is None else self._stoi[unk]
        # Training counts of each token when built by from_tokens (else None).
        self.counts: dict[Hashable, int] | None = None

    @classmethod
    def from_tokens(
        cls,
        tokens: Iterable[Hashable],
        *,
        min_count: int = 1,
        max_size: int | None = None,
        specials: Sequence[Hashable] = (UNK,),
        unk: Hashable | None = UNK,
    ) -> Vocabulary:
        """Build a vocabulary from training tokens: those seen at least ``min_count`` times.

        Args:
            tokens: the training tokens (e.g. the output of :func:`word_tokenize`).
            min_count: tokens seen fewer times become ``<unk>`` (1 keeps every token).
            max_size: keep at most this many tokens in all (specials included), the most
                frequent first; None for no limit.
            specials: special tokens, put first.
            unk: the token unknown tokens map to.

        Returns:
            A Vocabulary ordered by descending count (ties: first seen first).

        Raises:
            ValueError: empty ``tokens``, ``min_count < 1``, or no token reaches ``min_count``.
        """
        if not isinstance(min_count, int) or min_count < 1:
            raise ValueError(f"min_count must be an int >= 1, got {min_count!r}")
        counts = Counter(tokens)
        if not counts:
            raise ValueError("cannot build a Vocabulary from an empty token list")
        kept = [t for t, c in counts.most_common() if c >= min_count and t not in specials]
        if not kept:
            raise ValueError(
                f"no token occurs {min_count} or more times in {sum(counts.values())} tokens: "
                "lower min_count or pass more text"
            )
        if max_size is not None:
            if max_size <= len(specials):
                raise ValueError(f"max_size={max_size} leaves no room beside the specials")
            kept = kept[: max_size - len(specials)]
        vocab = cls(kept, specials=specials, unk=unk)
        vocab.counts = {t: counts.get(t, 0) for t in vocab._itos}
        return vocab

    def __len__(self) -> int:
        return len(self._itos)

    def __contains__(self, token: Hashable) -> bool:
        return token in self._stoi

    def __repr__(self) -> str:
        head = ", ".join(repr(t) for t in self._itos[:8])
        more = ", ..." if len(self) > 8 else ""
        return f"Vocabulary(size={len(self)}, tokens=[{head}{more}])"

    @property
    def tokens(self) -> list[Hashable]:
        """All tokens in id order (a copy)."""
        return list(self._itos)

    def token_to_id(self, token: Hashable) -> int:
        """The id of ``token``; an unknown token gives the ``<unk>`` id.

        Raises:
            KeyError: unknown token and the vocabulary has no ``unk``.
        """
        i = self._stoi.get(token, self.unk_id)
        if i is None:
            raise KeyError(f"token {token!r} is not in the vocabulary (which has no unk token)")
        return i

    def id_to_token(self, i: int) -> Hashable:
        """The token with id ``i``.

        Raises:
            IndexError: ``i`` is not in ``0 .. len(self) - 1``.
        """
        if not 0 <= int(i) < len(self._itos):
            raise IndexError(f"id {i} is out of range for a vocabulary of size {len(self)}")
        return self._itos[int(i)]

    def encode(self, tokens: Iterable[Hashable]) -> np.ndarray:
        """Tokens -> ids, shape ``(n,)``, dtype int64; unknown tokens become the ``<unk>`` id.

        Raises:
            KeyError: an unknown token and the vocabulary has no ``unk``.
        """
        if self.unk_id is None:
            ids = [self.token_to_id(t) for t in tokens]
        else:
            get, unk = self._stoi.get, self.unk_id
            ids = [get(t, unk) for t in tokens]
        return np.asarray(ids, dtype=np.int64)

    def decode(self, ids: Iterable[int]) -> list[Hashable]:
        """Ids (any integer iterable or array of shape ``(n,)``) -> tokens."""
        return [self.id_to_token(i) for i in ids]


# ---------------------------------------------------------------------------------------------
# Cleaning and normalization
# ---------------------------------------------------------------------------------------------

UNICODE_FORMS = ("NFC", "NFD", "NFKC", "NFKD")
_SPACES = re.compile(r"\s+")


def clean_text(
    text: str,
    *,
    form: str | None = "NFC",
    lowercase: bool = False,
    strip_accents: bool = False,
    strip_punctuation: bool = False,
    collapse_whitespace: bool = False,
) -> str:
    """Normalize text before tokenizing it; each option merges strings a model then cannot tell apart.

    Args:
        form: Unicode normalization: ``"NFC"`` composes ``e`` + combining accent into ``é``
            (same look, same bytes after); ``"NFKC"`` also folds *compatibility* variants -
            full-width ``Ａ１`` to ``A1``, the ligature ``ﬁ`` to ``fi``, Chinese ``，`` to
            ``,``; None leaves the text as it is.
        lowercase: ``"Will"`` (a name) and ``"will"`` become one token.
        strip_accents: drop combining marks (``café`` -> ``cafe``; also Pinyin tones).
        strip_punctuation: delete every character of a Unicode punctuation category (P*);
            ``"don't"`` -> ``"dont"``.
        collapse_whitespace: runs of any white space (tabs, line breaks, no-break and
            ideographic spaces) -> one space, and none at either end.

    Raises:
        ValueError: an unknown ``form``.
    """
    if not isinstance(text, str):
        raise TypeError(f"clean_text expects a str, got {type(text).__name__}")
    if form is not None and form not in UNICODE_FORMS:
        raise ValueError(f"form={form!r} is not a Unicode normalization form: use one of "
                         f"{', '.join(UNICODE_FORMS)} or None")
    if form is not None:
        text = unicodedata.normalize(form, text)
    if lowercase:
        text = text.lower()
    if strip_accents:
        text = "".join(c for c in unicodedata.normalize("NFD", text)
                       if unicodedata.category(c) != "Mn")
        text = unicodedata.normalize(form or "NFC", text)
    if strip_punctuation:
        text = "".join(c for c in text if not unicodedata.category(c).startswith("P"))
    if collapse_whitespace:
        text = _SPACES.sub(" ", text).strip()
    return text


# ---------------------------------------------------------------------------------------------
# Special tokens
# ---------------------------------------------------------------------------------------------


def vocabulary_tokens(vocabulary: Any) -> list[str]:
    """The token list of any of the course's vocabularies, in id order.

    Accepts a :class:`Vocabulary`, a :class:`CharTokenizer`, a ``BPETokenizer``, a keras-hub
    tokenizer (``get_vocabulary()``) or a plain list of tokens.
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
    def fit(cls, text: str, *, min_count: int = 1, specials: Sequence[str] = SPECIAL_TOKENS
            ) -> CharTokenizer:
        """Learn the character set of ``text`` (characters seen ``min_count`` times or more).

        Raises:
            ValueError: the text is empty.
        """
        if not isinstance(text, str):
            raise TypeError(f"CharTokenizer.fit expects a str, got {type(text).__name__}")
        if not text:
            raise ValueError("CharTokenizer.fit got an empty text: pass the training text")
        return cls(Vocabulary.from_tokens(text, min_count=min_count, specials=specials,
                                          unk=UNK_TOKEN))

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
            raise ValueError("train_wordpiece got no text (empty list or only empty strings): "
                             "pass a non-empty list of strings")
        # A list of str would be read as *file names* by keras-hub: pass a Dataset of texts.
        texts = tf.data.Dataset.from_tensor_slices(texts).batch(1000)
    if vocab_size <= len(reserved_tokens):
        raise ValueError(f"vocab_size={vocab_size} leaves no room beside the "
                         f"{len(reserved_tokens)} reserved tokens: use a larger vocab_size")
    vocab = keras_hub.tokenizers.compute_word_piece_vocabulary(
        texts, vocab_size, lowercase=lowercase, strip_accents=strip_accents,
        reserved_tokens=list(reserved_tokens),
    )
    if len(vocab) <= len(reserved_tokens):
        raise ValueError("train_wordpiece learned no tokens: the dataset holds no text")
    return wordpiece_tokenizer(vocab, lowercase=lowercase, strip_accents=strip_accents,
                               sequence_length=sequence_length, required=(UNK_TOKEN,))


def _hf_wordpiece(vocab: dict[str, int] | None, *, lowercase: bool):
    """A HuggingFace WordPiece ``Tokenizer`` with BERT's normalization and splitting: one place
    for it, so that the learner and the encoder (:class:`FastWordPiece`) cannot drift apart.

    ``vocab=None``: an empty model, to be trained.
    """
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers

    model = (models.WordPiece(unk_token=UNK_TOKEN) if vocab is None else
             models.WordPiece(vocab, unk_token=UNK_TOKEN, max_input_chars_per_word=100))
    tok = Tokenizer(model)
    tok.normalizer = normalizers.BertNormalizer(lowercase=lowercase, strip_accents=lowercase,
                                                clean_text=True, handle_chinese_chars=True)
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
        The tokens in id order.

    Raises:
        ValueError: no text, or a ``vocab_size`` that leaves no room beside the reserved tokens.
    """
    from tokenizers import trainers

    if isinstance(texts, str):
        raise ValueError("learn_wordpiece_vocabulary expects a list of texts, got one str: pass [text]")
    texts = [t for t in texts if isinstance(t, str) and t.strip()]
    if not texts:
        raise ValueError("learn_wordpiece_vocabulary got no text: pass a non-empty list of strings")
    check_specials(list(reserved_tokens), (UNK_TOKEN,))
    if vocab_size <= len(reserved_tokens):
        raise ValueError(f"vocab_size={vocab_size} leaves no room beside the "
                         f"{len(reserved_tokens)} reserved tokens: use a larger vocab_size")
    tok = _hf_wordpiece(None, lowercase=lowercase)
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                        special_tokens=list(reserved_tokens),
                                        continuing_subword_prefix="##", show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer)
    by_id = sorted(tok.get_vocab().items(), key=lambda kv: kv[1])
    return [token for token, _ in by_id]


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
        raise ValueError(f"truncate={truncate!r}: use 'post' (keep the start) or 'pre' (keep the end)")
    lengths = [len(s) for s in sequences]
    T = max(lengths) if max_len is None else max_len
    if T < 1:
        raise ValueError(f"max_len must be >= 1, got {T} (all sequences empty?)")
    ids = np.full((len(sequences), T), pad_id, dtype=np.int32)
    mask = np.zeros((len(sequences), T), dtype=bool)
    for i, seq in enumerate(sequences):
        seq = np.asarray(seq, dtype=np.int32)
        seq = seq[:T] if truncate == "post" else seq[max(0, len(seq) - T):]
        ids[i, : len(seq)] = seq
        mask[i, : len(seq)] = True
    return ids, mask


# ---------------------------------------------------------------------------------------------
# Chinese
# ---------------------------------------------------------------------------------------------


def chinese_chars(text: str) -> list[str]:
    """Chinese as characters: every non-space character is a token (no segmenter needed).

    Raises:
        ValueError: the text has no characters.
    """
    tokens = [c for c in text if not c.isspace()]
    if not tokens:
        raise ValueError("chinese_chars got an empty text: pass at least one character")
    return tokens


def chinese_words(text: str, *, hmm: bool = True) -> list[str]:
    """Chinese as words, segmented by jieba (a dictionary + an HMM for unknown words).

    Args:
        hmm: let jieba's HMM join characters into words its dictionary lacks.

    Raises:
        ValueError: the text has no characters.

    Example:
        >>> chinese_words("我来到北京清华大学")  # doctest: +SKIP
        ['我', '来到', '北京', '清华大学']
    """
    if not text or text.isspace():
        raise ValueError("chinese_words got an empty text: pass at least one character")
    return [w for w in _jieba().lcut(text, HMM=hmm) if not w.isspace()]


def _jieba():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)  # it logs "Building prefix dict ..." on first use
    return jieba


def segmentation_scores(
    predicted: Iterable[Sequence[str]], gold: Iterable[Sequence[str]]
) -> dict[str, float]:
    """Score a word segmenter against a hand-segmented gold standard (word precision/recall/F1).

    A predicted word counts as correct when the gold segmentation has a word with exactly the
    same start and end in the text. Each pair of segmentations must spell the same text.

    Args:
        predicted, gold: one list of words per sentence, in the same order.

    Returns:
        ``{"precision", "recall", "f1"}``.

    Example:
        >>> segmentation_scores([["研究", "生命"]], [["研究生", "命"]])["f1"]
        0.0
    """
    correct = n_pred = n_gold = 0
    for k, (pred, ref) in enumerate(zip(predicted, gold, strict=True)):
        if "".join(pred) != "".join(ref):
            raise ValueError(f"sentence {k}: the predicted and gold words spell different texts "
                             "(segment the gold text itself, normalized the same way)")
        spans = [_spans(pred), _spans(ref)]
        correct += len(spans[0] & spans[1])
        n_pred, n_gold = n_pred + len(spans[0]), n_gold + len(spans[1])
    precision, recall = correct / max(n_pred, 1), correct / max(n_gold, 1)
    f1 = 2 * precision * recall / (precision + recall) if correct else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def _spans(words: Sequence[str]) -> set[tuple[int, int]]:
    out, i = set(), 0
    for w in words:
        out.add((i, i + len(w)))
        i += len(w)
    return out
