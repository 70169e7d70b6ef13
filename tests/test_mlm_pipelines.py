"""BERT inputs (lmcourse.pipelines, .masking, .classification_batches): packing, the 80/10/10
masking (own vs keras-hub), NSP pairs, batches."""

import numpy as np
import pytest

from lmcourse import classification_batches as CB
from lmcourse import masking
from lmcourse import pipelines as P

PAD, UNK, CLS, SEP, MASK = 0, 1, 4, 5, 6
SPECIALS = (0, 1, 2, 3, 4, 5, 6)


def _packed_batch(n=4000, seq_len=128, vocab=5000, seed=0):
    rng = np.random.default_rng(seed)
    texts = [rng.integers(7, vocab, int(rng.integers(10, seq_len))) for _ in range(n)]
    return P.pack_batch(texts, seq_len=seq_len, cls_id=CLS, sep_id=SEP)


def test_pack_pair_layout_and_longest_first_truncation():
    ids, seg, pad = P.pack_pair([10, 11], [20, 21, 22], seq_len=10, cls_id=CLS, sep_id=SEP)
    assert ids.tolist() == [CLS, 10, 11, SEP, 20, 21, 22, SEP, 0, 0]
    assert seg.tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 0, 0]
    assert pad.tolist() == [1] * 8 + [0, 0]
    ids, seg, _ = P.pack_pair(list(range(10, 20)), [30, 31], seq_len=8, cls_id=CLS, sep_id=SEP)
    assert ids.tolist() == [CLS, 10, 11, 12, SEP, 30, 31, SEP]  # the longer one was cut
    with pytest.raises(ValueError, match="seq_len=3 cannot hold"):
        P.pack_pair([1], [2], seq_len=3, cls_id=CLS, sep_id=SEP)
    with pytest.raises(ValueError, match="the split is empty"):
        P.pack_batch([], seq_len=8, cls_id=CLS, sep_id=SEP)


def test_mask_tokens_follows_the_80_10_10_rule():
    batch = _packed_batch()
    ids = batch["token_ids"]
    out = masking.mask_tokens(
        ids,
        rng=np.random.default_rng(1),
        vocab_size=5000,
        mask_id=MASK,
        special_ids=SPECIALS,
        max_predictions=20,
    )
    stats = masking.masking_stats(ids, out, mask_id=MASK, special_ids=SPECIALS)
    # 4000 x ~60 tokens: about 36k predictions; 3 standard errors of 80% is 0.6 points
    assert abs(stats["selected"] - 0.15) < 0.01
    assert abs(stats["masked"] - 0.8) < 0.01
    assert abs(stats["random"] - 0.1) < 0.01 and abs(stats["kept"] - 0.1) < 0.01
    # specials are never chosen, targets are the original ids, unused slots weigh 0
    w = out["mask_weights"] > 0
    rows = np.arange(len(ids))[:, None].repeat(20, 1)
    chosen = ids[rows[w], out["mask_positions"][w]]
    assert not np.isin(chosen, SPECIALS).any()
    assert (out["mask_ids"][w] == chosen).all() and (out["mask_ids"][~w] == 0).all()
    # only chosen positions change
    changed = out["token_ids"] != ids
    changed[rows[w], out["mask_positions"][w]] = False
    assert not changed.any()
    # seeded: the same generator state gives the same masking
    again = masking.mask_tokens(
        ids,
        rng=np.random.default_rng(1),
        vocab_size=5000,
        mask_id=MASK,
        special_ids=SPECIALS,
        max_predictions=20,
    )
    assert all((again[k] == out[k]).all() for k in out)


def test_own_masking_matches_keras_hub_statistically():
    batch = _packed_batch()
    kw = dict(vocab_size=5000, mask_id=MASK, special_ids=SPECIALS, max_predictions=20)
    own = masking.masking_stats(
        batch["token_ids"],
        masking.mask_tokens(batch["token_ids"], rng=np.random.default_rng(2), **kw),
        mask_id=MASK,
        special_ids=SPECIALS,
    )
    hub = masking.masking_stats(
        batch["token_ids"],
        masking.keras_hub_mask_tokens(batch["token_ids"], seed=2, **kw),
        mask_id=MASK,
        special_ids=SPECIALS,
    )
    for key in ("selected", "masked", "random", "kept"):
        assert abs(own[key] - hub[key]) < 0.015, (key, own[key], hub[key])


def test_masking_rejects_bad_rates():
    with pytest.raises(ValueError, match="mask_rate \\+ random_rate <= 1"):
        masking.mask_tokens(
            np.zeros((2, 4), int),
            rng=np.random.default_rng(),
            vocab_size=10,
            mask_id=MASK,
            special_ids=SPECIALS,
            max_predictions=2,
            mask_rate=0.95,
        )


def test_nsp_pairs_are_half_true_and_true_pairs_continue_the_document():
    rng = np.random.default_rng(0)
    # document d has sentences [d*100 + s] so a token tells its document and sentence
    docs = [[np.array([d * 100 + s] * 3) for s in range(4)] for d in range(1, 400)]
    a, b, labels = P.nsp_pairs(docs, rng=rng, segment_len=20)
    assert len(a) == len(b) == len(labels) == 399 and 0.42 < labels.mean() < 0.58
    for x, y, label in zip(a, b, labels, strict=True):
        same_doc = x[0] // 100 == y[0] // 100
        assert same_doc == bool(label)
        if label:
            assert y[0] == x[-1] + 1  # B starts with the sentence after A's last one
    with pytest.raises(ValueError, match="at least two documents"):
        P.nsp_pairs([[np.array([1])]], rng=rng, segment_len=5)


def test_split_sentences():
    assert P.split_sentences("Great film. I loved it! Would I watch again? Yes.") == [
        "Great film.",
        "I loved it!",
        "Would I watch again?",
        "Yes.",
    ]


def test_masked_lm_batches_remask_each_epoch_and_are_reproducible():
    batch = _packed_batch(n=64, seq_len=32)
    labels = np.arange(64) % 2
    kw = dict(
        batch_size=16,
        vocab_size=5000,
        mask_id=MASK,
        special_ids=SPECIALS,
        max_predictions=5,
        seed=3,
        nsp_labels=labels,
    )
    ds = P.MaskedLMBatches(batch, **kw)
    assert len(ds) == 4
    x, y, w = ds[0]
    assert x["token_ids"].shape == (16, 32) and x["mask_positions"].shape == (16, 5)
    assert y["mlm"].shape == (16, 5) and y["nsp"].shape == (16,) and w["mlm"].shape == (16, 5)
    x2 = P.MaskedLMBatches(batch, **kw)[0][0]
    assert (x2["token_ids"] == x["token_ids"]).all()
    ds.on_epoch_begin()  # epoch 0: the order it was built with
    assert (ds[0][0]["token_ids"] == x["token_ids"]).all()
    ds.on_epoch_end()  # fit calls this once before training too: it must change nothing
    ds.on_epoch_begin()  # epoch 1: new order, new masks
    assert not (ds[0][0]["token_ids"] == x["token_ids"]).all()


def test_masked_lm_batches_refuse_a_bad_rate_when_built_not_at_the_first_batch():
    batch = _packed_batch(n=32, seq_len=16)
    kw = dict(batch_size=8, vocab_size=5000, mask_id=MASK, special_ids=SPECIALS)
    with pytest.raises(ValueError, match=r"need 0 < rate <= 1.*rate=0"):
        P.MaskedLMBatches(batch, max_predictions=3, rate=0.0, **kw)
    with pytest.raises(ValueError, match="max_predictions must be >= 1, got 0"):
        P.MaskedLMBatches(batch, max_predictions=0, **kw)


def test_fit_sees_the_batches_a_hand_written_loop_sees():
    """model.fit calls on_epoch_end once before its first epoch; the order must not skip."""
    import keras

    batch = _packed_batch(n=48, seq_len=16, vocab=50)
    seen = []

    class Spy(CB.ClassificationBatches):
        def __getitem__(self, i):
            out = super().__getitem__(i)
            seen.append(out[1].tolist())
            return out

    def expected(epochs):
        ds, out = (
            CB.ClassificationBatches(batch, np.arange(48) % 2, batch_size=16, shuffle=True, seed=5),
            [],
        )
        for _ in range(epochs):
            ds.on_epoch_begin()
            out += [ds[i][1].tolist() for i in range(len(ds))]
            ds.on_epoch_end()
        return out

    model = keras.Sequential([keras.layers.Input((16,)), keras.layers.Dense(2)])
    model.compile(
        optimizer="sgd", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )

    class Wrap(Spy):
        def __getitem__(self, i):
            x, y = super().__getitem__(i)
            return x["token_ids"].astype("float32"), y

    model.fit(
        Wrap(batch, np.arange(48) % 2, batch_size=16, shuffle=True, seed=5),
        epochs=2,
        verbose=0,
        shuffle=False,
    )
    assert seen[-6:] == expected(2)  # fit may peek at batches first; then the two epochs


def test_classification_batches_check_labels_and_sizes():
    batch = _packed_batch(n=10, seq_len=16)
    ds = CB.ClassificationBatches(batch, [0, 1] * 5, batch_size=4)
    assert len(ds) == 3 and ds[2][0]["token_ids"].shape == (2, 16)  # evaluation keeps all
    assert len(CB.ClassificationBatches(batch, [0, 1] * 5, batch_size=4, shuffle=True)) == 2
    with pytest.raises(ValueError, match=r"only 0 \(negative\) and 1 \(positive\), found \[2\]"):
        CB.ClassificationBatches(batch, [0, 1, 2] + [0] * 7, batch_size=4)
    with pytest.raises(ValueError, match="10 inputs but 9 labels"):
        CB.ClassificationBatches(batch, [0] * 9, batch_size=4)
    empty = {k: v[:0] for k, v in batch.items()}
    with pytest.raises(ValueError, match="the split is empty"):
        CB.ClassificationBatches(empty, [], batch_size=4)


def test_trimmed_batches_cut_only_padding_and_change_no_output():
    import keras

    from lmcourse.models import bert, bert_classifier

    lengths = [3, 9, 5, 12, 4, 6, 7, 2]
    ids = [list(range(5, 5 + n)) for n in lengths]
    batch = P.pack_batch(ids, seq_len=32, cls_id=2, sep_id=3)
    full = CB.ClassificationBatches(batch, [0, 1] * 4, batch_size=4)
    trimmed = CB.ClassificationBatches(batch, [0, 1] * 4, batch_size=4, trim=8)
    assert [trimmed[i][0]["token_ids"].shape for i in range(2)] == [(4, 16), (4, 16)]
    assert trimmed[1][0]["padding_mask"].sum() == full[1][0]["padding_mask"].sum()
    keras.utils.set_random_seed(0)
    encoder = bert.build_bert_encoder(40, max_length=32, d_model=16, num_heads=2, num_layers=1)
    model = bert_classifier.build_classifier(encoder, pooling="mean")
    for i in range(2):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(model(trimmed[i][0])),
            keras.ops.convert_to_numpy(model(full[i][0])),
            atol=1e-6,
        )
    with pytest.raises(ValueError, match="trim must be None or an int >= 1"):
        CB.ClassificationBatches(batch, [0, 1] * 4, batch_size=4, trim=0)


def test_epoch_slices_serve_each_batch_of_a_pass_once_per_parts_epochs():
    batch = _packed_batch(n=40, seq_len=16)
    base = CB.ClassificationBatches(batch, np.arange(40) % 2, batch_size=4, shuffle=True, seed=1)
    reference = CB.ClassificationBatches(
        batch, np.arange(40) % 2, batch_size=4, shuffle=True, seed=1
    )
    slices = CB.EpochSlices(base, 3)
    assert len(slices) == 3  # 10 batches // 3
    for _pass in range(2):
        reference.on_epoch_begin()
        served = []
        for _ in range(3):
            slices.on_epoch_begin()
            served += [slices[i][0]["token_ids"].tolist() for i in range(len(slices))]
        assert served == [reference[i][0]["token_ids"].tolist() for i in range(9)]
    with pytest.raises(ValueError, match="parts must be an int from 1 to 10"):
        CB.EpochSlices(base, 11)
