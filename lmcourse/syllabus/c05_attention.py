"""Chapter 05's parameters and profile values.

Attention from scratch: scaled dot-product, masks as biases, multi-head.
"""

from __future__ import annotations

from lmcourse.params import Chapter, Param

CHAPTER = Chapter(
    id="05",
    slug="05_attention",
    title="Attention from scratch: scaled dot-product, masks as biases, multi-head",
    params={
        "d_model": Param(
            int,
            "size of the word vectors and of the multi-head attention's inputs; num_heads "
            "must divide it (d_model / num_heads is each head's d_k)",
            min=8,
            max=512,
        ),
        "num_heads": Param(int, "heads of the multi-head attention", min=1, max=64),
        "max_seq_len": Param(
            int,
            "longest sequence in the cost sweep (64, 128, ... up to this); the attention "
            "weights take 16 * num_heads * max_seq_len**2 bytes",
            min=256,
            max=16_384,
        ),
        "vocab_size": Param(
            int,
            "most frequent training words that get count-based (PPMI-SVD) word vectors",
            min=1000,
            max=10_000,
        ),
    },
    # Nothing is trained; the cost sweep (time ~ max_seq_len**2) and the eigendecomposition
    # of the vocab_size x vocab_size PPMI matrix (~ vocab_size**3) set the run time.
    profiles={
        "smoke": {"d_model": 32, "num_heads": 4, "max_seq_len": 2048, "vocab_size": 1000},
        "standard": {"d_model": 64, "num_heads": 4, "max_seq_len": 2048, "vocab_size": 2000},
        "full": {"d_model": 128, "num_heads": 8, "max_seq_len": 4096, "vocab_size": 4000},
    },
)
