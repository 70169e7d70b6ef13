"""lmcourse.losses against Keras and against the formulas chapter 02 derives."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from lmcourse import losses  # noqa: E402

V = 67


def _random_problem(scale: float, n: int = 256, dtype: str = "float64", seed: int = 0):
    rng = np.random.default_rng(seed)
    logits = (rng.normal(size=(n, V)) * scale).astype(dtype)
    labels = rng.integers(0, V, size=n)
    return labels, logits


def _keras_ce(labels, logits, dtype):
    ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None, dtype=dtype)
    return keras.ops.convert_to_numpy(ce(labels, logits))


def _np_softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("scale", [0.1, 1.0, 10.0, 1000.0])
def test_cross_entropy_matches_keras_float64(scale):
    labels, logits = _random_problem(scale)
    ours = keras.ops.convert_to_numpy(losses.sparse_cross_entropy(labels, logits))
    ref = _keras_ce(labels, logits, "float64")
    assert ours.shape == labels.shape
    assert np.all(np.isfinite(ours))
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-6)


@pytest.mark.parametrize("scale", [1.0, 1000.0])
def test_cross_entropy_matches_keras_float32(scale):
    # float32 sums in a different order differ by a few ulps: compare relatively.
    labels, logits = _random_problem(scale, dtype="float32")
    ours = keras.ops.convert_to_numpy(losses.sparse_cross_entropy(labels, logits))
    ref = _keras_ce(labels, logits, "float32")
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-6)


def test_mean_and_sum_reductions():
    labels, logits = _random_problem(3.0)
    per_example = keras.ops.convert_to_numpy(losses.sparse_cross_entropy(labels, logits))
    mean = float(losses.sparse_cross_entropy(labels, logits, reduction="mean"))
    total = float(losses.sparse_cross_entropy(labels, logits, reduction="sum"))
    keras_mean = float(
        keras.losses.SparseCategoricalCrossentropy(from_logits=True, dtype="float64")(
            labels, logits
        )
    )
    assert mean == pytest.approx(per_example.mean(), abs=1e-12)
    assert total == pytest.approx(per_example.sum(), rel=1e-12)
    assert mean == pytest.approx(keras_mean, abs=1e-6)
    with pytest.raises(ValueError, match="reduction='avg'"):
        losses.sparse_cross_entropy(labels, logits, reduction="avg")


def test_naive_log_softmax_overflows_where_the_stable_one_does_not():
    logits = np.array([[1000.0, 0.0, -1000.0], [5.0, 1000.0, 999.0]], dtype="float32")
    labels = np.array([0, 2])
    naive = keras.ops.convert_to_numpy(losses.naive_log_softmax(logits))
    stable = keras.ops.convert_to_numpy(losses.log_softmax(logits))
    assert not np.all(np.isfinite(naive))
    assert np.isnan(naive).any()
    assert np.all(np.isfinite(stable))
    np.testing.assert_allclose(stable[0], [0.0, -1000.0, -2000.0], atol=1e-3)
    naive_ce = keras.ops.convert_to_numpy(losses.sparse_cross_entropy(labels, logits, stable=False))
    assert not np.all(np.isfinite(naive_ce))
    ours = keras.ops.convert_to_numpy(losses.sparse_cross_entropy(labels, logits))
    np.testing.assert_allclose(ours, _keras_ce(labels, logits, "float32"), rtol=1e-6, atol=1e-6)
    # label 2 has logit 999: -log p = 1000 + log(1 + e^-1) - 999
    np.testing.assert_allclose(ours, [0.0, 1.0 + np.log1p(np.exp(-1.0))], atol=1e-5)


def test_naive_and_stable_agree_on_small_logits():
    _, logits = _random_problem(1.0)
    naive = keras.ops.convert_to_numpy(losses.naive_log_softmax(logits))
    stable = keras.ops.convert_to_numpy(losses.log_softmax(logits))
    np.testing.assert_allclose(naive, stable, atol=1e-12)


@pytest.mark.parametrize("scale", [1.0, 1000.0])
def test_log_softmax_rows_are_distributions(scale):
    _, logits = _random_problem(scale)
    logp = keras.ops.convert_to_numpy(losses.log_softmax(logits))
    assert np.all(logp <= 1e-12)
    np.testing.assert_allclose(np.exp(logp).sum(axis=-1), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.exp(logp), _np_softmax(logits), atol=1e-12)
    # another axis: classes first
    logp_t = keras.ops.convert_to_numpy(losses.log_softmax(logits.T, axis=0))
    np.testing.assert_allclose(logp_t, logp.T, atol=1e-12)


def test_logsumexp_matches_numpy():
    _, logits = _random_problem(50.0)
    m = logits.max(axis=-1)
    ref = m + np.log(np.exp(logits - m[:, None]).sum(axis=-1))
    ours = keras.ops.convert_to_numpy(losses.logsumexp(logits))
    np.testing.assert_allclose(ours, ref, rtol=1e-12)


@pytest.mark.parametrize("scale", [1.0, 30.0])
def test_gradient_is_softmax_minus_onehot(scale):
    labels, logits = _random_problem(scale, n=64)
    z = tf.constant(logits)
    with tf.GradientTape() as tape:
        tape.watch(z)
        loss = losses.sparse_cross_entropy(labels, z, reduction="sum")
    grad = tape.gradient(loss, z).numpy()
    expected = _np_softmax(logits) - np.eye(V)[labels]
    np.testing.assert_allclose(grad, expected, atol=1e-6)
    closed_form = keras.ops.convert_to_numpy(losses.cross_entropy_grad(labels, logits))
    np.testing.assert_allclose(closed_form, expected, atol=1e-6)


def test_gradient_of_mean_is_divided_by_n():
    labels, logits = _random_problem(1.0, n=10, dtype="float32")
    z = tf.constant(logits)
    with tf.GradientTape() as tape:
        tape.watch(z)
        loss = losses.sparse_cross_entropy(labels, z, reduction="mean")
    grad = tape.gradient(loss, z).numpy()
    expected = (_np_softmax(logits.astype("float64")) - np.eye(V)[labels]) / 10
    np.testing.assert_allclose(grad, expected, atol=1e-6)


def test_works_with_extra_batch_axes():
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(4, 5, V))
    labels = rng.integers(0, V, size=(4, 5))
    ours = keras.ops.convert_to_numpy(losses.sparse_cross_entropy(labels, logits))
    assert ours.shape == (4, 5)
    ref = _keras_ce(labels.reshape(-1), logits.reshape(-1, V), "float64").reshape(4, 5)
    np.testing.assert_allclose(ours, ref, atol=1e-6)


@pytest.mark.parametrize(
    ("labels_shape", "logits_shape"),
    [((8, 1), (8, V)), ((7,), (8, V)), ((8, V), (8, V)), ((), (V,)), ((2,), ())],
)
def test_bad_shapes_raise_a_clear_error(labels_shape, logits_shape):
    labels = np.zeros(labels_shape, dtype="int32")
    logits = np.zeros(logits_shape, dtype="float32")
    if logits_shape == (V,) and labels_shape == ():
        # a single example without a batch axis is fine: labels () == logits.shape[:-1]
        assert float(losses.sparse_cross_entropy(labels, logits)) == pytest.approx(np.log(V))
        return
    with pytest.raises(ValueError) as err:
        losses.sparse_cross_entropy(labels, logits)
    message = str(err.value)
    assert f"labels shape {labels_shape}" in message
    assert f"logits shape {logits_shape}" in message


def test_float_labels_are_rejected():
    with pytest.raises(ValueError, match="integer class ids"):
        losses.sparse_cross_entropy(np.zeros(3, dtype="float32"), np.zeros((3, V)))
