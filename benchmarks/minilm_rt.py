"""MiniLM fine-tuned on Rotten Tomatoes sentences and IMDB reviews, on any Keras backend.

Chapter 08's full fine-tuning of all-MiniLM-L6-v2, without the notebook, with the settings of
its profile of the same name (``--config smoke|standard|full``, read from
``lmcourse/syllabus/c08_finetuning.py``): every labelled RT training sentence (``full``: 6,845, 64 tokens)
and every IMDB training review (``full``: 19,923, 256 tokens), scored on the test splits.

Tokenizing and reading the checkpoint need the installed weights package and ``tokenizers``,
so ``--save-data`` does it once, on a machine with the course installed, and writes one
``.npz``: the weights as float16 (half the size; the script computes in float32 or mixed
precision), the config, and every token id the run needs. With ``--data`` the script needs
only Keras, a backend and this package's model code - no TensorFlow (the course's GPU
machine runs it under JAX)::

    python benchmarks/minilm_rt.py --config full --save-data runs/gpu/minilm_full.npz
    KERAS_BACKEND=jax python benchmarks/minilm_rt.py --config full --data runs/gpu/minilm_full.npz \\
        --json full.json

It prints one JSON line: test accuracies, steps, seconds, and which targets of the ``full``
profile it met (RT >= 0.86, IMDB >= 0.90).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lmcourse.chapters import get_chapter  # noqa: E402

TARGETS = {"rt": 0.86, "imdb": 0.90}
SEED = 42


def settings(config: str) -> dict:
    """Chapter 08's profile ``config``, the values this script uses."""
    p = get_chapter("08").profiles[config]
    return {
        "config": config,
        **{
            k: p[k]
            for k in (
                "train_examples",
                "seq_len",
                "minilm_layers",
                "epochs",
                "batch_size",
                "learning_rate",
                "imdb_examples",
                "imdb_test_examples",
                "imdb_seq_len",
                "imdb_epochs",
            )
        },
    }


# ------------------------------------------------------------------ here: --save-data


def save_data(cfg: dict, path: Path) -> dict:
    """Tokenize both tasks with MiniLM's vocabulary and write weights + ids to ``path``."""
    from lmcourse import data, pipelines, pretrained

    config, tensors = pretrained.read_checkpoint()
    tokenizer = pretrained.minilm_tokenizer()
    vocab = tokenizer.get_vocabulary()
    cls_id, sep_id = vocab.index("[CLS]"), vocab.index("[SEP]")
    arrays = {
        f"w/{k}": v.astype(np.float16)
        for k, v in tensors.items()
        if k not in pretrained.IGNORED_TENSORS
    }
    limits = {
        ("rt", "train"): cfg["train_examples"],
        ("imdb", "train"): cfg["imdb_examples"],
        ("imdb", "test"): cfg["imdb_test_examples"],
        ("imdb", "validation"): 500,
    }
    for task, source, length in (
        ("rt", "rotten_tomatoes", cfg["seq_len"]),
        ("imdb", "imdb", cfg["imdb_seq_len"]),
    ):
        for split in ("train", "validation", "test"):
            reviews = data.movie_reviews(split, source)
            n = limits.get((task, split)) or len(reviews)
            x = pipelines.encode_for_classification(
                tokenizer, reviews.texts[:n], seq_len=length, cls_id=cls_id, sep_id=sep_id
            )
            arrays[f"{task}/{split}/ids"] = x["token_ids"].astype(np.uint16)  # V = 30,522 < 2^16
            arrays[f"{task}/{split}/labels"] = reviews.labels[:n].astype(np.int8)
    arrays["config"] = np.array(json.dumps(config))
    arrays["settings"] = np.array(json.dumps(cfg))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **arrays)
    return {"file": str(path), "mib": round(path.stat().st_size / 2**20, 1)}


# ---------------------------------------------------------------- anywhere: --data


def inputs(ids: np.ndarray) -> dict[str, np.ndarray]:
    """The encoder's three inputs from padded token ids ([PAD] = 0 only at the end)."""
    ids = ids.astype(np.int32)
    return {
        "token_ids": ids,
        "segment_ids": np.zeros_like(ids),
        "padding_mask": (ids != 0).astype(np.int32),
    }


def load(path: Path) -> tuple[dict, dict, dict]:
    """``(checkpoint config, tensors as float32, arrays by task/split)`` of a ``--save-data`` file."""
    with np.load(path) as f:
        config = json.loads(str(f["config"]))
        tensors = {k[2:]: f[k].astype(np.float32) for k in f.files if k.startswith("w/")}
        splits = {k: f[k] for k in f.files if k.count("/") == 2}
    return config, tensors, splits


def build_classifier(config: dict, tensors: dict, num_layers: int):
    import keras

    from lmcourse import pretrained
    from lmcourse.models import bert, bert_classifier

    keras.utils.set_random_seed(SEED)
    args = {**pretrained.encoder_arguments(config), "num_layers": num_layers}
    encoder = bert.build_bert_encoder(**args, name="minilm")
    pretrained.load_weights(encoder, pretrained.keep_layers(tensors, num_layers))
    keras.utils.set_random_seed(SEED)
    return bert_classifier.build_classifier(encoder, pooling="mean")


def fine_tune(task: str, cfg: dict, config: dict, tensors: dict, splits: dict) -> dict:
    """Full fine-tuning on one task; the best validation epoch's weights are scored on test."""
    import keras

    from lmcourse import classification_batches, finetuning, metrics

    epochs = cfg["epochs"] if task == "rt" else cfg["imdb_epochs"]
    if epochs == 0:
        return {"skipped": "the profile's imdb_epochs is 0"}
    model = build_classifier(config, tensors, cfg["minilm_layers"])
    x, y = (inputs(splits[f"{task}/train/ids"]), splits[f"{task}/train/labels"])
    train = classification_batches.ClassificationBatches(
        x, y, batch_size=cfg["batch_size"], shuffle=True, seed=SEED
    )
    val = classification_batches.ClassificationBatches(
        inputs(splits[f"{task}/validation/ids"]),
        splits[f"{task}/validation/labels"],
        batch_size=128,
    )
    test = classification_batches.ClassificationBatches(
        inputs(splits[f"{task}/test/ids"]), splits[f"{task}/test/labels"], batch_size=128
    )
    steps = epochs * len(train)
    model.compile(
        optimizer=finetuning.warmup_adamw(cfg["learning_rate"], steps),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    best = keras.callbacks.EarlyStopping(
        "val_accuracy", mode="max", patience=epochs, restore_best_weights=True
    )
    start = time.perf_counter()
    history = model.fit(train, validation_data=val, epochs=epochs, callbacks=[best], verbose=2)
    seconds = time.perf_counter() - start
    accuracy = metrics.evaluate_classifier(model, test)["accuracy"]
    return {
        "labels": int(len(y)),
        "test_examples": int(len(test.labels)),
        "epochs": epochs,
        "steps": steps,
        "seconds": round(seconds, 1),
        "test_accuracy": accuracy,
        "val_accuracy": [float(v) for v in history.history["val_accuracy"]],
    }


def run(cfg: dict, path: Path, tasks: tuple[str, ...]) -> dict:
    import keras

    config, tensors, splits = load(path)
    saved = json.loads(str(np.load(path)["settings"]))
    if saved["config"] != cfg["config"]:
        raise SystemExit(
            f"{path} holds --config {saved['config']} data, not {cfg['config']}: "
            f"make it with --config {cfg['config']} --save-data {path}"
        )
    if keras.backend.backend() == "jax":
        import jax

        device = str(jax.devices()[0])
    else:
        device = keras.backend.backend()
    out = {"config": cfg["config"], "backend": keras.backend.backend(), "device": device}
    for task in tasks:
        out[task] = fine_tune(task, cfg, config, tensors, splits)
    out["targets_met"] = {
        f"{t} >= {v}": out[t].get("test_accuracy", 0) >= v for t, v in TARGETS.items() if t in out
    }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", choices=("smoke", "standard", "full"), default="smoke")
    parser.add_argument(
        "--save-data",
        type=Path,
        metavar="NPZ",
        help="tokenize and write the weights and ids, then exit",
    )
    parser.add_argument("--data", type=Path, metavar="NPZ", help="a --save-data file to train on")
    parser.add_argument("--tasks", default="rt,imdb", help="comma-separated: rt, imdb")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    cfg = settings(args.config)
    if args.save_data is not None:
        result = save_data(cfg, args.save_data)
    elif args.data is None or not args.data.is_file():
        parser.error(
            f"--data {args.data}: no such file; make it with --config {args.config} "
            f"--save-data FILE on a machine with the course installed"
        )
    else:
        tasks = tuple(t for t in args.tasks.split(",") if t)
        bad = set(tasks) - {"rt", "imdb"}
        if bad:
            parser.error(f"--tasks: unknown {sorted(bad)}; use rt and/or imdb")
        result = run(cfg, args.data, tasks)
    line = json.dumps(result)
    print(line)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(line + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
