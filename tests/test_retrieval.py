"""Search: the index ranks by cosine similarity, recall@k and MRR are what they say, and the
question-answer corpus reads from the installed package."""

import numpy as np
import pytest

from lmcourse import qa_data, retrieval


def test_search_ranks_by_cosine_similarity_like_a_full_sort():
    rng = np.random.default_rng(0)
    docs, queries = rng.normal(size=(300, 16)), rng.normal(size=(20, 16))
    ids, scores = retrieval.EmbeddingIndex(docs).search(queries, k=7)
    cosine = retrieval.normalize_rows(queries) @ retrieval.normalize_rows(docs).T
    assert (ids == np.argsort(-cosine, axis=1)[:, :7]).all()
    assert np.allclose(scores, np.sort(cosine, axis=1)[:, ::-1][:, :7], atol=1e-6)


def test_recall_and_mrr_on_a_hand_example():
    ranked = np.array([[4, 2, 9], [1, 5, 3], [7, 8, 6]])
    ranks = retrieval.first_relevant_rank(ranked, [{2}, {1, 3}, {0}])
    assert ranks.tolist() == [2, 1, 0]
    assert retrieval.recall_at_k(ranks, 1) == pytest.approx(1 / 3)
    assert retrieval.recall_at_k(ranks, 3) == pytest.approx(2 / 3)
    assert retrieval.mean_reciprocal_rank(ranks) == pytest.approx((0.5 + 1 + 0) / 3)


def test_bad_input():
    index = retrieval.EmbeddingIndex(np.eye(3))
    with pytest.raises(ValueError, match=r"expected \(queries, 3\)"):
        index.search(np.ones((2, 4)))
    with pytest.raises(ValueError, match="k must be an int from 1 to 3"):
        index.search(np.ones((2, 3)), k=4)
    with pytest.raises(ValueError, match="expected \\(documents, dims\\)"):
        retrieval.EmbeddingIndex(np.ones(3))
    with pytest.raises(ValueError, match="2 rankings but 1 sets"):
        retrieval.first_relevant_rank(np.zeros((2, 3)), [{0}])


def test_the_question_answer_corpus():
    bench = qa_data.search_benchmark()
    assert (len(bench.queries), len(bench.documents)) == (1038, 1162)
    assert len(qa_data.question_answer_pairs()) == 2361
    i = bench.queries.index("What is AI?")
    assert len(bench.relevant[i]) >= 2 and bench.categories[i] == "ai"
    assert all(bench.relevant) and len(set(bench.queries)) == len(bench.queries)


def test_a_bad_corpus_file_is_named(tmp_path):
    path = tmp_path / "x.yml"
    path.write_text("conversations:\n- - Hi\n  - {a: 1}\n")
    with pytest.raises(
        qa_data.DataError, match="x.yml: conversation 0: a conversation turn must be a string"
    ):
        qa_data.read_conversations(path, "x")
    path.write_text("- just a list\n")
    with pytest.raises(qa_data.DataError, match="expected a mapping with a 'conversations' list"):
        qa_data.read_conversations(path, "x")
