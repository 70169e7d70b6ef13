"""The encoder-decoder translator: it learns a toy task, greedy and beam decoding agree where
the model is sure, one beam is greedy, and bad arguments get one clear error."""

import keras
import numpy as np
import pytest

from lmcourse.models import seq2seq

BOS, EOS, S = 1, 2, 6


@pytest.fixture(scope="module")
def reverser():
    """A translator trained to write the source backwards (ids 3..11)."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    n = rng.integers(2, 5, 1200)
    source = np.zeros((1200, S), "int32")
    target = np.zeros((1200, S + 1), "int32")
    for i, k in enumerate(n):
        words = rng.integers(3, 12, k)
        source[i, :k] = words
        target[i, : k + 2] = [BOS, *words[::-1], EOS]
    t = seq2seq.build_translator(
        12,
        source_len=S,
        target_len=S + 1,
        d_model=32,
        num_heads=2,
        ff_dim=64,
        num_layers=1,
        dropout=0.0,
    )
    t.model.compile(
        keras.optimizers.Adam(3e-3),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0),
    )
    t.model.fit([source, target[:, :-1]], target[:, 1:], batch_size=32, epochs=12, verbose=0)
    return t, source[:50], target[:50]


def test_greedy_and_beam_translate_a_learned_task(reverser):
    t, source, target = reverser
    want = seq2seq.cut_at_eos(target[:, 1:], EOS)
    greedy = seq2seq.cut_at_eos(
        seq2seq.greedy_translate(t, source, bos=BOS, eos=EOS, max_len=S), EOS
    )
    beam = seq2seq.cut_at_eos(
        seq2seq.beam_translate(t, source, bos=BOS, eos=EOS, max_len=S, num_beams=3), EOS
    )
    assert np.mean([g == w for g, w in zip(greedy, want, strict=True)]) > 0.9
    assert np.mean([b == w for b, w in zip(beam, want, strict=True)]) > 0.9


def test_one_beam_is_greedy(reverser):
    t, source, _ = reverser
    greedy = seq2seq.greedy_translate(t, source, bos=BOS, eos=EOS, max_len=S)
    one = seq2seq.beam_translate(t, source, bos=BOS, eos=EOS, max_len=S, num_beams=1)
    assert seq2seq.cut_at_eos(one, EOS) == seq2seq.cut_at_eos(greedy, EOS)


def test_cut_at_eos():
    assert seq2seq.cut_at_eos(np.array([[5, 6, 2, 7], [5, 0, 0, 0]]), 2) == [[5, 6], [5]]


def test_bad_arguments(reverser):
    t, source, _ = reverser
    with pytest.raises(ValueError, match="max_len must be an int from 1 to 6"):
        seq2seq.greedy_translate(t, source, bos=BOS, eos=EOS, max_len=S + 1)
    with pytest.raises(ValueError, match=r"expected \(batch, source_len\)"):
        seq2seq.greedy_translate(t, source[0], bos=BOS, eos=EOS, max_len=3)
    with pytest.raises(ValueError, match="num_beams must be an int"):
        seq2seq.beam_translate(t, source, bos=BOS, eos=EOS, max_len=3, num_beams=0)
    with pytest.raises(ValueError, match="num_heads"):
        seq2seq.build_translator(10, source_len=4, target_len=4, d_model=10, num_heads=3)
