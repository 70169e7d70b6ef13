"""Fine-tuning tools in lmcourse.finetuning (the warm-up schedule, freezing, gradual
unfreezing) and classifier evaluation in lmcourse.metrics.

All on a toy classifier (Embedding -> 2 Dense blocks -> mean pool -> Dropout -> Dense head),
so the whole file runs in seconds on a CPU.
"""

import math

import keras
import numpy as np
import pytest

from lmcourse import finetuning, metrics
from lmcourse.finetuning import WarmupLinearDecay

V, L, CLASSES = 20, 12, 2
HEAD_PARAMS = 16 * CLASSES + CLASSES
GROUP_PARAMS = {"block_1": 16 * 16 + 16, "block_0": 8 * 16 + 16, "embed": V * 8}


def toy_classifier(dropout=0.0, seed=0):
    """Built after set_random_seed(seed): the same seed gives the same weights and the same
    Dropout seed generator."""
    keras.utils.set_random_seed(seed)
    ids = keras.Input((L,), dtype="int32", name="ids")
    h = keras.layers.Embedding(V, 8, name="embed")(ids)
    h = keras.layers.Dense(16, activation="relu", name="block_0")(h)
    h = keras.layers.Dense(16, activation="relu", name="block_1")(h)
    h = keras.layers.GlobalAveragePooling1D(name="pool")(h)
    h = keras.layers.Dropout(dropout, name="dropout")(h)
    return keras.Model({"ids": ids}, keras.layers.Dense(CLASSES, name="head")(h))


def toy_data(n, seed=0):
    """Label 1 when most tokens are from the lower half of the vocabulary."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, V, (n, L)).astype("int32")
    return x, (np.sum(x < V // 2, axis=1) > L // 2).astype("int32")


class Batches(keras.utils.PyDataset):
    """Fixed-order ({"ids": x}, y) batches, usable by model.fit and custom_fit alike."""

    def __init__(self, x, y, batch_size):
        super().__init__()
        self.x, self.y, self.batch_size = x, y, batch_size

    def __len__(self):
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, i):
        s = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return {"ids": self.x[s]}, self.y[s]


LOSS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def weights_of(model, name):
    return [w.copy() for w in model.get_layer(name).get_weights()]


def same(a, b):
    return all(np.array_equal(p, q) for p, q in zip(a, b, strict=True))


def quiet(_line):
    pass


# --- WarmupLinearDecay --------------------------------------------------------------------


def test_warmup_linear_decay_values_exactly():
    lr = WarmupLinearDecay(peak=1.0, warmup_steps=4, total_steps=12, end=0.25)
    steps = [0, 1, 2, 4, 8, 10, 12, 13, 100]
    expected = [0.0, 0.25, 0.5, 1.0, 0.625, 0.4375, 0.25, 0.25, 0.25]  # exact in float32
    assert [float(lr(s)) for s in steps] == expected
    no_warmup = WarmupLinearDecay(peak=1.0, warmup_steps=0, total_steps=4)
    assert [float(no_warmup(s)) for s in (0, 1, 2, 4, 9)] == [1.0, 0.75, 0.5, 0.0, 0.0]
    all_warmup = WarmupLinearDecay(peak=1.0, warmup_steps=4, total_steps=4, end=0.5)
    assert [float(all_warmup(s)) for s in (0, 2, 3, 4, 9)] == [0.0, 0.5, 0.75, 0.5, 0.5]
    bert = WarmupLinearDecay(peak=2e-5, warmup_steps=100, total_steps=1000)
    np.testing.assert_allclose(
        [float(bert(s)) for s in (50, 100, 550, 1000)],
        [1e-5, 2e-5, 1e-5, 0.0],
        rtol=1e-6,
        atol=1e-12,
    )
    # the optimizer reads the schedule at its step counter, an int64 variable
    assert float(bert(keras.Variable(np.int64(550), dtype="int64"))) == pytest.approx(1e-5)


def test_warmup_adamw_is_chapter_08s_optimizer():
    from lmcourse.finetuning import warmup_adamw

    for total in (1, 9, 37, 375):
        opt = warmup_adamw(5e-4, total)
        # chapter 08's make_optimizer: 10% warm-up (at least 1 step), decay to 0, clip at 1
        ref = WarmupLinearDecay(peak=5e-4, warmup_steps=max(1, total // 10), total_steps=total)
        assert opt.global_clipnorm == 1.0 and opt.weight_decay == pytest.approx(0.01)
        schedule = opt.get_config()["learning_rate"]  # the serialized schedule
        assert schedule["class_name"] == "WarmupLinearDecay"
        assert schedule["config"] == ref.get_config()
    quarter = warmup_adamw(1e-3, 100, warmup_fraction=0.25).get_config()["learning_rate"]
    assert quarter["config"]["warmup_steps"] == 25


def test_warmup_linear_decay_serializes_with_its_optimizer():
    lr = WarmupLinearDecay(peak=3e-4, warmup_steps=10, total_steps=100, end=1e-6)
    back = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(lr))
    assert isinstance(back, WarmupLinearDecay) and back.get_config() == lr.get_config()
    optimizer = keras.optimizers.AdamW(learning_rate=lr, weight_decay=0.01)
    again = keras.optimizers.AdamW.from_config(optimizer.get_config())
    saved = again.get_config()["learning_rate"]
    assert saved["registered_name"] == "lmcourse>WarmupLinearDecay"
    assert saved == optimizer.get_config()["learning_rate"]
    again.iterations.assign(55)
    assert float(again.learning_rate) == pytest.approx(float(lr(55)))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"peak": 1e-3, "warmup_steps": 11, "total_steps": 10},
            r"warmup_steps must be an int from 0 to 10, got 11: warm up",
        ),
        (
            {"peak": 1e-3, "warmup_steps": -1, "total_steps": 10},
            r"warmup_steps must be an int from 0 to 10",
        ),
        (
            {"peak": 1e-3, "warmup_steps": 0, "total_steps": 0},
            r"total_steps must be an int >= 1, got 0: pass epochs \* batches",
        ),
        (
            {"peak": 0.0, "warmup_steps": 0, "total_steps": 10},
            r"peak must be a number > 0, got 0.0: a learning rate",
        ),
        (
            {"peak": 1e-3, "warmup_steps": 0, "total_steps": 10, "end": -1e-4},
            r"end must be a number >= 0, got -0.0001: a learning rate",
        ),
        (
            {"peak": 1e-3, "warmup_steps": 1.5, "total_steps": 10},
            r"warmup_steps must be an int from 0 to 10, got 1.5",
        ),
        (
            {"peak": 1e-3, "warmup_steps": np.int64(2), "total_steps": np.int64(10)},
            None,
        ),  # NumPy ints are ints
    ],
)
def test_warmup_linear_decay_rejects_bad_arguments(kwargs, message):
    if message is None:
        assert WarmupLinearDecay(**kwargs).get_config()["warmup_steps"] == 2
        return
    with pytest.raises(ValueError, match="^WarmupLinearDecay: " + message):
        WarmupLinearDecay(**kwargs)


# --- freezing -----------------------------------------------------------------------------


def test_a_frozen_backbone_stays_bit_for_bit_the_same_while_the_head_learns():
    model = toy_classifier()
    total = finetuning.trainable_count(model)
    assert total == HEAD_PARAMS + sum(GROUP_PARAMS.values())
    backbone = [model.get_layer(n) for n in ("embed", "block_0", "block_1")]
    finetuning.freeze(backbone)
    assert finetuning.trainable_count(model) == HEAD_PARAMS
    assert finetuning.trainable_count(backbone) == 0
    model.compile(keras.optimizers.AdamW(1e-2, weight_decay=0.1), LOSS)  # decay too would move them
    before = {n: weights_of(model, n) for n in ("embed", "block_0", "block_1", "head")}
    x, y = toy_data(16)
    model.train_on_batch({"ids": x}, y)
    for name in ("embed", "block_0", "block_1"):
        assert same(weights_of(model, name), before[name]), f"frozen {name} changed"
    assert not same(weights_of(model, "head"), before["head"]), "the head did not train"
    finetuning.set_trainable(backbone, True)
    assert finetuning.trainable_count(model) == total
    with pytest.raises(TypeError, match="expected a keras layer, a model or a list of layers"):
        finetuning.freeze(3)


# --- gradual unfreezing -------------------------------------------------------------------


def test_unfreeze_schedule_unfreezes_one_group_per_stage_from_the_top():
    groups = [["top"], ["middle"], ["bottom"]]
    assert finetuning.unfreeze_schedule(groups, 6) == [
        [],
        [0],
        [0, 1],
        [0, 1, 2],
        [0, 1, 2],
        [0, 1, 2],
    ]
    assert finetuning.unfreeze_schedule(groups, 5, epochs_per_stage=2) == [[], [], [0], [0], [0, 1]]
    assert finetuning.unfreeze_schedule(groups, 2) == [[], [0]]
    assert finetuning.unfreeze_schedule([], 2) == [[], []]
    with pytest.raises(ValueError, match="epochs must be an int >= 1, got 0"):
        finetuning.unfreeze_schedule(groups, 0)
    with pytest.raises(ValueError, match="epochs_per_stage must be an int >= 1"):
        finetuning.unfreeze_schedule(groups, 3, epochs_per_stage=0)


class Snapshots(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.after = {}

    def on_epoch_end(self, epoch, logs=None):
        self.after[epoch] = {n: weights_of(self.model, n) for n in (*GROUP_PARAMS, "head")}


def test_gradual_unfreezing_trains_only_the_unfrozen_groups():
    model = toy_classifier()
    groups = [
        [model.get_layer("block_1")],
        [model.get_layer("block_0")],
        [model.get_layer("embed")],
    ]
    init = {n: weights_of(model, n) for n in (*GROUP_PARAMS, "head")}
    x, y = toy_data(64)
    snaps, stages, lines = Snapshots(), [], []

    def make_optimizer(stage):
        stages.append(stage)
        return keras.optimizers.AdamW(1e-2 / (stage + 1))

    history = finetuning.fit_gradual_unfreezing(
        model,
        model.get_layer("head"),
        groups,
        Batches(x, y, 16),
        Batches(x[:32], y[:32], 16),
        epochs=3,
        make_optimizer=make_optimizer,
        loss=LOSS,
        metrics=["accuracy"],
        callbacks=[snaps],
        print_fn=lines.append,
    )
    assert stages == [0, 1, 2]
    assert history["epoch"] == [1, 2, 3]
    assert history["trainable_params"] == [HEAD_PARAMS, HEAD_PARAMS + 272, HEAD_PARAMS + 272 + 144]
    assert {"loss", "val_loss", "val_accuracy", "seconds"} <= set(history)
    assert all(len(v) == 3 for v in history.values())
    a = snaps.after
    # stage 1: the head alone
    assert all(same(a[0][n], init[n]) for n in GROUP_PARAMS)
    assert not same(a[0]["head"], init["head"])
    # stage 2: the top group joins; the lower groups are still bit-for-bit untouched
    assert not same(a[1]["block_1"], a[0]["block_1"])
    assert same(a[1]["block_0"], init["block_0"]) and same(a[1]["embed"], init["embed"])
    # stage 3: the next group down; the bottom one still waits
    assert not same(a[2]["block_0"], a[1]["block_0"])
    assert same(a[2]["embed"], init["embed"])
    assert lines[0] == "stage 1/3: epochs 1-1: the head + no groups train (34 trainable parameters)"
    assert lines[2].startswith("stage 2/3: epochs 2-2: the head + groups [0] train (306 ")
    assert [ln.split()[1] for ln in lines if ln.startswith("epoch")] == ["1/3", "2/3", "3/3"]


def test_gradual_unfreezing_refuses_a_reused_optimizer_and_a_frozen_model():
    model = toy_classifier()
    x, y = toy_data(16)
    shared = keras.optimizers.Adam(1e-3)
    with pytest.raises(
        ValueError, match=r"make_optimizer\(1\) returned an optimizer that was already used"
    ):
        finetuning.fit_gradual_unfreezing(
            model,
            model.get_layer("head"),
            [[model.get_layer("block_1")]],
            Batches(x, y, 16),
            epochs=2,
            make_optimizer=lambda stage: shared,
            loss=LOSS,
            print_fn=quiet,
        )
    model.trainable = False
    with pytest.raises(ValueError, match="set model.trainable = True"):
        finetuning.fit_gradual_unfreezing(
            model,
            model.get_layer("head"),
            [],
            Batches(x, y, 16),
            epochs=1,
            make_optimizer=lambda s: keras.optimizers.Adam(),
            loss=LOSS,
        )


# --- evaluation ---------------------------------------------------------------------------

# 8 examples; p(class 1) = r / (1 + r) for logits [0, ln r]
P1 = np.array([0.25, 0.1, 0.75, 0.8, 0.9, 0.2, 0.75, 0.8])
LABELS = np.array([0, 0, 0, 1, 1, 1, 1, 0])
# predictions                                    0    0    1    1    1    0    1    1
# true 0 -> predicted [0, 0, 1, 1]: 2 right, 2 wrong; true 1 -> [1, 1, 0, 1]: 3 right, 1 wrong
CONFUSION = [[2, 2], [1, 3]]
F1 = [2 * 2 / (2 * 2 + 1 + 2), 2 * 3 / (2 * 3 + 2 + 1)]  # 2TP / (2TP + FP + FN): 4/7, 2/3


def identity_model(width):
    inputs = keras.Input((width,))
    return keras.Model(inputs, keras.layers.Identity()(inputs))


@pytest.mark.parametrize(
    "scores, from_logits",
    [
        (np.stack([np.zeros(8), np.log(P1 / (1 - P1))], -1), True),  # two logits
        (np.stack([1 - P1, P1], -1), False),  # two probabilities
        (np.log(P1 / (1 - P1))[:, None], True),  # one sigmoid logit
    ],
)
def test_evaluate_classifier_against_hand_computed_numbers(scores, from_logits):
    scores = scores.astype("float32")
    batches = [(scores[:3], LABELS[:3]), (scores[3:], LABELS[3:])]
    result = metrics.evaluate_classifier(
        identity_model(scores.shape[1]), batches, from_logits=from_logits
    )
    assert result["accuracy"] == 5 / 8
    np.testing.assert_array_equal(result["confusion_matrix"], CONFUSION)
    np.testing.assert_allclose(result["f1"], F1, rtol=1e-12)
    assert result["macro_f1"] == pytest.approx(13 / 21, rel=1e-12)  # (4/7 + 2/3) / 2
    np.testing.assert_allclose(result["probabilities"][:, 1], P1, rtol=1e-6)
    np.testing.assert_allclose(result["probabilities"].sum(-1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(result["predictions"], [0, 0, 1, 1, 1, 0, 1, 1])
    np.testing.assert_array_equal(result["labels"], LABELS)


def test_evaluate_classifier_macro_f1_skips_absent_classes_and_checks_labels():
    scores = np.eye(3, dtype="float32")[[0, 1, 1, 0]] * 5  # predicts 0 1 1 0; class 2 never
    result = metrics.evaluate_classifier(identity_model(3), [(scores, np.array([0, 1, 0, 0]))])
    # class 0: TP 2, FP 0, FN 1 -> 4/5; class 1: TP 1, FP 1, FN 0 -> 2/3; class 2 absent
    assert result["macro_f1"] == pytest.approx((4 / 5 + 2 / 3) / 2)
    assert result["confusion_matrix"].shape == (3, 3)
    with pytest.raises(ValueError, match="label 3 is outside the model's 3 classes 0..2"):
        metrics.evaluate_classifier(identity_model(3), [(scores, np.array([0, 1, 3, 0]))])
