"""training.fit: learns, logs one row per epoch, checkpoints, resumes, refuses other models."""

import csv
import math

import keras
import numpy as np
import pytest

from lmcourse import pipelines, training
from lmcourse.models.rnn import build_char_lstm

V = 10


@pytest.fixture(scope="module")
def data():
    ids = np.tile(np.arange(V), 200)  # a text a model can learn: 0 1 2 ... 9 0 1 2 ...
    train = pipelines.lm_dataset(ids, 16, 8, seed=0)
    val = pipelines.lm_dataset(ids[:400], 16, 8, shuffle=False)
    return train, val


def make(vocab_size=V, units=16, lr=1e-2):
    keras.utils.set_random_seed(0)
    model = build_char_lstm(vocab_size, embed_dim=8, units=units)
    model.compile(
        keras.optimizers.Adam(lr), keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    return model


class Interrupt(keras.callbacks.Callback):
    def __init__(self, at_epoch):
        super().__init__()
        self.at_epoch = at_epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at_epoch:
            raise KeyboardInterrupt("simulated interruption")


def test_fit_learns_logs_one_row_per_epoch_and_keeps_the_best(data, tmp_path):
    lines = []
    history = training.fit(
        make(), *data, epochs=3, run_dir=tmp_path, name="lm", print_fn=lines.append
    )
    assert history["epoch"] == [1, 2, 3]
    assert history["val_loss"][-1] < history["val_loss"][0] < math.log(V) + 0.5
    assert history["val_loss"][-1] < 0.5 * math.log(V), "the LSTM did not learn a trivial sequence"
    assert all(s > 0 for s in history["steps_per_s"])
    with open(tmp_path / "lm" / "log.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3 and {"loss", "val_loss", "seconds", "steps_per_s"} <= set(rows[0])
    assert len(lines) == 3 and lines[0].startswith("epoch 1/3") and "val_loss" in lines[0]
    best = training.load_checkpoint(tmp_path / "lm" / "best.keras", vocab_size=V)
    assert best.evaluate(*next(iter(data[1])), verbose=0) < math.log(V)


def test_fit_resumes_after_an_interruption_and_counts_epochs(data, tmp_path):
    with pytest.raises(KeyboardInterrupt):
        training.fit(
            make(),
            *data,
            epochs=4,
            run_dir=tmp_path,
            name="lm",
            callbacks=[Interrupt(2)],
            print_fn=lambda s: None,
        )
    assert len(training.read_log(tmp_path / "lm" / "log.csv")["epoch"]) == 2
    lines = []
    fresh = make()  # a new process would build a new, untrained model
    history = training.fit(
        fresh, *data, epochs=4, run_dir=tmp_path, name="lm", print_fn=lines.append
    )
    assert lines[0].startswith("lm: resuming after epoch 2")
    assert [ln.split()[1] for ln in lines[1:]] == ["3/4", "4/4"], "only the missing epochs run"
    assert history["epoch"] == [1, 2, 3, 4]
    # resumed from the backup: the loss goes on from where it was, not from an untrained model
    assert history["loss"][2] < history["loss"][0]
    # calling it again restores the finished run without training; more epochs train on
    again = make()
    lines.clear()
    history = training.fit(
        again, *data, epochs=4, run_dir=tmp_path, name="lm", print_fn=lines.append
    )
    assert "4 epochs already done" in lines[0] and len(lines) == 1
    np.testing.assert_allclose(again.get_weights()[0], fresh.get_weights()[0])
    history = training.fit(
        again, *data, epochs=5, run_dir=tmp_path, name="lm", print_fn=lambda s: None
    )
    assert history["epoch"] == [1, 2, 3, 4, 5]


def test_resume_false_starts_over(data, tmp_path):
    training.fit(make(), *data, epochs=2, run_dir=tmp_path, name="lm", print_fn=lambda s: None)
    history = training.fit(
        make(), *data, epochs=1, run_dir=tmp_path, name="lm", resume=False, print_fn=lambda s: None
    )
    assert history["epoch"] == [1]


def test_a_backup_of_another_model_is_refused_with_the_fix(data, tmp_path):
    training.fit(make(), *data, epochs=1, run_dir=tmp_path, name="lm", print_fn=lambda s: None)
    with pytest.raises(
        training.CheckpointMismatchError,
        match=r"another model \(weight lstm_1/lstm_cell/kernel of shape \(8, 64\) vs "
        r".*\(8, 48\)\): .*pass resume=False to start over",
    ):
        training.fit(
            make(units=12), *data, epochs=2, run_dir=tmp_path, name="lm", print_fn=lambda s: None
        )


def test_load_checkpoint_checks_vocabulary_and_model(data, tmp_path):
    training.fit(make(), *data, epochs=1, run_dir=tmp_path, name="lm", print_fn=lambda s: None)
    path = tmp_path / "lm" / "best.keras"
    with pytest.raises(
        training.CheckpointMismatchError,
        match=r"reads 10 token ids, but the current vocabulary has 12.*retrain",
    ):
        training.load_checkpoint(path, vocab_size=12)
    with pytest.raises(training.CheckpointMismatchError, match=r"another model .*lstm"):
        training.load_checkpoint(path, like=build_char_lstm(V, embed_dim=8, units=20))
    assert training.load_checkpoint(path, like=build_char_lstm(V, embed_dim=8, units=16))
    with pytest.raises(FileNotFoundError, match="train first"):
        training.load_checkpoint(tmp_path / "nothing.keras")


def test_fit_rejects_an_uncompiled_model_and_bad_epochs(data, tmp_path):
    with pytest.raises(ValueError, match="compile the model first"):
        training.fit(build_char_lstm(V, 4, 4), *data, epochs=1, run_dir=tmp_path)
    with pytest.raises(ValueError, match="epochs must be an int >= 1"):
        training.fit(make(), *data, epochs=0, run_dir=tmp_path)


def test_tensorboard_logs_when_available(data, tmp_path):
    if not training.tensorboard_available():
        pytest.skip("tensorboard is not installed (pip install tensorboard)")
    training.fit(make(), *data, epochs=1, run_dir=tmp_path, name="lm", print_fn=lambda s: None)
    assert any((tmp_path / "lm" / "tensorboard").rglob("events.out.tfevents*"))


def test_run_name_changes_with_the_settings():
    a = training.run_name("char_lstm", {"units": 256, "seq_len": 100})
    assert a == training.run_name("char_lstm", {"seq_len": 100, "units": 256})
    assert a != training.run_name("char_lstm", {"units": 128, "seq_len": 100})
    assert a.startswith("char_lstm-") and len(a) == len("char_lstm-") + 8


def test_fit_without_backup_writes_no_training_state(data, tmp_path):
    history = training.fit(
        make(),
        *data,
        epochs=2,
        run_dir=tmp_path,
        name="nb",
        backup=False,
        checkpoint=False,
        print_fn=lambda *a: None,
    )
    assert history["epoch"] == [1, 2]
    assert (
        not (tmp_path / "nb" / "backup").exists() and not (tmp_path / "nb" / "best.keras").exists()
    )


def test_fit_without_validation_data_logs_the_training_loss_only(data, tmp_path):
    """Keras' CSVLogger writes "NA" in the validation columns of a run without validation."""
    train, _ = data
    history = training.fit(
        make(),
        train,
        epochs=2,
        run_dir=tmp_path,
        name="no_val",
        tensorboard=False,
        print_fn=lambda _: None,
    )
    assert history["epoch"] == [1, 2] and len(history["loss"]) == 2
    assert not any(k.startswith("val_") for k in history)
    assert "NA" in (tmp_path / "no_val" / "log.csv").read_text()  # what the reader skipped
