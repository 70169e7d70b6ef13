"""Semantic search: an index of vectors, ranking by cosine similarity, recall@k and MRR.

A query and every document become vectors (TF-IDF, BM25 weights, or a sentence encoder's
embeddings); the documents are ranked by cosine similarity to the query. With the relevant
documents of each query known, two numbers summarize a ranking:

- recall@k: the share of queries with a relevant document among the top k;
- MRR (mean reciprocal rank): the mean of 1 / rank of the first relevant document (0 if none
  is ranked), so rank 1 scores 1, rank 2 scores 0.5.

Example:
    >>> docs = np.array([[1.0, 0.0], [0.0, 1.0], [0.7, 0.7]])
    >>> index = EmbeddingIndex(docs)
    >>> index.search(np.array([[0.9, 0.1]]), k=2)[0].tolist()
    [[0, 2]]
    >>> ranks = first_relevant_rank(index.search(np.array([[0.9, 0.1]]), k=3)[0], [{2}])
    >>> ranks.tolist(), recall_at_k(ranks, 1), mean_reciprocal_rank(ranks)
    ([2], 0.0, 0.5)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lmcourse._checks import check_int


def normalize_rows(x: np.ndarray) -> np.ndarray:
    """Each row divided by its length (rows of zeros stay zero): (N, d) -> (N, d)."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


class EmbeddingIndex:
    """Document vectors ``(N, d)``, searched by cosine similarity (exact, one matrix product)."""

    def __init__(self, vectors: np.ndarray) -> None:
        vectors = np.asarray(vectors)
        if vectors.ndim != 2 or not len(vectors):
            raise ValueError(f"vectors of shape {vectors.shape}: expected (documents, dims)")
        self.vectors = normalize_rows(vectors)

    def __len__(self) -> int:
        return len(self.vectors)

    def search(self, queries: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest documents of each query: ids ``(Q, k)`` and similarities ``(Q, k)``,
        best first."""
        queries = np.asarray(queries)
        if queries.ndim != 2 or queries.shape[1] != self.vectors.shape[1]:
            raise ValueError(
                f"queries of shape {queries.shape}: expected (queries, {self.vectors.shape[1]}), "
                "the documents' vector size"
            )
        k = check_int("k", k, 1, len(self), where="EmbeddingIndex.search")
        scores = normalize_rows(queries) @ self.vectors.T  # (Q, N) cosine similarities
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(scores, top, 1), axis=1, kind="stable")
        ids = np.take_along_axis(top, order, 1)
        return ids, np.take_along_axis(scores, ids, 1)


def first_relevant_rank(ranked: np.ndarray, relevant: Sequence[set[int]]) -> np.ndarray:
    """For each query, the 1-based rank of its first relevant document in ``ranked (Q, k)``,
    or 0 if none is ranked."""
    ranked = np.asarray(ranked)
    if len(ranked) != len(relevant):
        raise ValueError(f"{len(ranked)} rankings but {len(relevant)} sets of relevant documents")
    ranks = np.zeros(len(ranked), dtype=int)
    for q, (row, good) in enumerate(zip(ranked, relevant, strict=True)):
        hits = [i for i, doc in enumerate(row) if int(doc) in good]
        ranks[q] = hits[0] + 1 if hits else 0
    return ranks


def recall_at_k(ranks: np.ndarray, k: int) -> float:
    """Share of queries whose first relevant document ranks within the top ``k``."""
    ranks = np.asarray(ranks)
    return float(np.mean((ranks >= 1) & (ranks <= check_int("k", k, 1))))


def mean_reciprocal_rank(ranks: np.ndarray) -> float:
    """Mean of 1 / rank (0 for a query with no relevant document ranked)."""
    ranks = np.asarray(ranks, dtype=float)
    return float(np.mean(np.where(ranks > 0, 1.0 / np.maximum(ranks, 1), 0.0)))
