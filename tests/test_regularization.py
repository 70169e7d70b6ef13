"""Token dropout, the LR range test and the bag-of-embeddings classifier."""

import keras
import numpy as np
import pytest

from lmcourse import regularization
from lmcourse.models import bag_classifier


def test_token_dropout_drops_at_its_rate_in_training_only_and_saves(tmp_path):
    ids = np.arange(1, 20_001, dtype="int32").reshape(4, 5000)
    layer = regularization.TokenDropout(0.3, seed=1)
    dropped = np.asarray(layer(ids, training=True))
    assert abs((dropped == 0).mean() - 0.3) < 0.02
    assert ((dropped == 0) | (dropped == ids)).all()  # kept ids are unchanged
    assert (np.asarray(layer(ids, training=False)) == ids).all()
    model = keras.Sequential(
        [keras.Input((None,), dtype="int32"), regularization.TokenDropout(0.2)]
    )
    model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras")
    assert again.layers[0].rate == 0.2


@pytest.mark.parametrize("rate", [1.0, -0.1, "0.2"])
def test_token_dropout_refuses_a_bad_rate(rate):
    with pytest.raises(ValueError, match="rate must be in"):
        regularization.TokenDropout(rate)


def test_range_test_records_each_batchs_own_loss_and_stops_on_divergence():
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).normal(size=(640, 4)).astype("float32")
    y = x @ np.array([1.0, -2.0, 0.5, 3.0], "float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(1e-4), "mse")
    finder = regularization.LRRangeTest(start=1e-4, end=10.0, steps=20)
    model.fit(x, y, batch_size=32, epochs=1, callbacks=[finder], verbose=0, shuffle=False)
    assert 2 <= len(finder.losses) <= 20 and finder.lrs == sorted(finder.lrs)
    # the first batch's loss is that batch's MSE under the initial weights, not a running mean
    assert finder.lrs[0] == pytest.approx(1e-4)
    assert max(finder.losses) > 4 * min(finder.losses) or len(finder.losses) == 20
    assert 1e-5 < finder.suggestion() < 1.0


def test_range_test_bad_arguments():
    with pytest.raises(ValueError, match="need 0 < start < end"):
        regularization.LRRangeTest(start=1.0, end=0.1)
    with pytest.raises(ValueError, match="steps must be an int"):
        regularization.LRRangeTest(steps=1)
    with pytest.raises(ValueError, match="no losses recorded"):
        regularization.LRRangeTest().suggestion()


def test_bag_classifier_pads_ignores_padding_and_reloads(tmp_path):
    vocab = bag_classifier.word_vocabulary(["a good film", "a bad film"])
    ids = bag_classifier.word_ids(["a good film", "good"], vocab, 6)
    assert ids.shape == (2, 6) and ids[1, 1:].sum() == 0 and vocab.tokens[:2] == ["<pad>", "<unk>"]
    model = bag_classifier.build_bag_classifier(
        len(vocab), dim=4, hidden=8, token_dropout=0.5, seed=0
    )
    short = np.asarray(model(ids[1:, :1]))
    padded = np.asarray(model(ids[1:]))
    assert np.allclose(short, padded, atol=1e-6)  # padding does not change the mean
    all_dropped = np.asarray(model(np.zeros((1, 6), "int32"), training=True))
    assert np.isfinite(all_dropped).all()
    model.save(tmp_path / "bag.keras")
    again = keras.saving.load_model(tmp_path / "bag.keras")
    assert np.allclose(np.asarray(again(ids)), np.asarray(model(ids)), atol=1e-6)


def test_bag_classifier_bad_arguments():
    with pytest.raises(ValueError, match="l2 must be a number >= 0"):
        bag_classifier.build_bag_classifier(10, l2=-1.0)
    with pytest.raises(ValueError, match="num_classes must be an int"):
        bag_classifier.build_bag_classifier(10, num_classes=1)
