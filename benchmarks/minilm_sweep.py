"""Chapter 08's MiniLM full fine-tuning on 4,000 Rotten Tomatoes labels, over several settings.

Each argument is one setting ``peak_lr,passes,seq_len,batch``; every run starts from the same
seed, trains as the chapter's section 5(e) does (AdamW, warm-up 10 % then linear decay,
clip-norm 1, mean pooling), keeps the epoch of best validation accuracy, and prints one JSON
line with the validation accuracy per pass and the test accuracy. Choose on validation only::

    python benchmarks/minilm_sweep.py 5e-5,2,48,16 5e-5,3,48,16 3e-5,3,48,16 8e-5,2,48,16 5e-5,2,64,16

(about 45 minutes on a 2-core CPU for these five). The shipped standard profile is the first.
"""

from __future__ import annotations

import json
import sys
import time

import keras
import tensorflow as tf

from lmcourse import data, finetuning, metrics, pretrained, text
from lmcourse.classification_batches import ClassificationBatches
from lmcourse.models.bert_classifier import build_classifier
from lmcourse.pipelines import encode_for_classification

SEED, LABELS = 42, 4000


def run(setting: str, splits, tokenizer, ids) -> dict:
    """Fine-tune MiniLM once under ``peak_lr,passes,seq_len,batch``; the JSON record."""
    lr, passes, seq_len, batch = (
        f(v) for f, v in zip((float, int, int, int), setting.split(","), strict=True)
    )
    x = {
        name: encode_for_classification(
            tokenizer, list(s.texts), seq_len=seq_len, cls_id=ids[text.CLS], sep_id=ids[text.SEP]
        )
        for name, s in splits.items()
    }
    keras.utils.set_random_seed(SEED)
    encoder, _, _ = pretrained.load_minilm(num_layers=6, vocabulary=tokenizer.get_vocabulary())
    keras.utils.set_random_seed(SEED)
    model = build_classifier(encoder, pooling="mean")
    train = ClassificationBatches(
        {k: v[:LABELS] for k, v in x["train"].items()},
        splits["train"].labels[:LABELS],
        shuffle=True,
        batch_size=batch,
        seed=SEED,
    )
    val = ClassificationBatches(x["validation"], splits["validation"].labels, batch_size=64)
    steps = passes * len(train)
    schedule = finetuning.WarmupLinearDecay(
        peak=lr, warmup_steps=max(1, steps // 10), total_steps=steps
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=0.01, global_clipnorm=1.0),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        jit_compile=False,
    )
    best = keras.callbacks.EarlyStopping(
        "val_accuracy", mode="max", patience=passes, restore_best_weights=True
    )
    start = time.perf_counter()
    history = model.fit(train, validation_data=val, epochs=passes, verbose=0, callbacks=[best])
    seconds = time.perf_counter() - start
    test = ClassificationBatches(x["test"], splits["test"].labels, batch_size=64)
    return {
        "lr": lr,
        "epochs": passes,
        "seq_len": seq_len,
        "batch": batch,
        "val": [round(float(v), 4) for v in history.history["val_accuracy"]],
        "test": round(metrics.evaluate_classifier(model, test)["accuracy"], 4),
        "seconds": round(seconds),
    }


def main(settings: list[str]) -> None:
    tf.config.experimental.enable_op_determinism()
    splits = {s: data.movie_reviews(s, "rotten_tomatoes") for s in ("train", "validation", "test")}
    tokenizer = pretrained.minilm_tokenizer()
    ids = text.check_specials(tokenizer.get_vocabulary(), (text.PAD, text.CLS, text.SEP))
    for setting in settings:
        print(json.dumps(run(setting, splits, tokenizer, ids)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
