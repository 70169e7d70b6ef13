"""Chapters 07-08 without notebooks, on any Keras backend: pretrain, fine-tune, compare.

    python benchmarks/bert_imdb.py --config smoke                      # end to end here, ~1 min
    python benchmarks/bert_imdb.py --config full --save-data imdb_full.npz   # tokenize (TensorFlow)
    KERAS_BACKEND=jax python benchmarks/bert_imdb.py --config full --data imdb_full.npz \
        --json full.json

It pretrains chapter 07's mini-BERT (MLM + NSP) on the texts of the IMDB training reviews and
fine-tunes chapter 08's ``[CLS]`` classifier three ways on the same labels: from random weights
(the baseline), frozen backbone (the head only) and full fine-tuning; it prints the test
accuracies, the gain of pretraining in points and the times. ``--config`` takes chapter 07's and
08's profile of that name (``lmcourse/syllabus/``), so the script and the notebooks cannot
drift apart; ``--steps``/``--labels`` override the two budgets.

The code is the package's: ``pretraining_data.pairs_from_documents`` (the chapter's sentence pairs),
``pretraining.pretrain``, ``bert_classifier.build_classifier``, ``finetuning.WarmupLinearDecay``,
``metrics.evaluate_classifier``. Tokenizing needs TensorFlow (the course's WordPiece runs on
``tf_text``), so ``--save-data`` does it once, here, and writes every token id the run needs
(the vocabulary, the training reviews split into sentences, the classification inputs) to one
``.npz``: about 15 MB for ``full``. With ``--data`` the script needs only Keras, its backend,
NumPy and ``lmcourse`` - what the course's GPU machine (JAX, no TensorFlow, no internet) has once
three pure wheels travel with it (Keras, namex, optree; benchmarks/README.md says how).

Targets (issue 6): ``full`` test accuracy >= 0.88, above keras.io's MLM-then-fine-tune example
(0.863) and its small Transformer trained from scratch (0.8745); ``standard``: pretrained +
fine-tuned beats from scratch by >= 3 points.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # lmcourse without installing it

VAL_PAIRS = 512
SEED = 42  # --seed: pairs, masks, initial weights, dropout and batch order
FORMAT = 1  # of the .npz


def log(msg: str) -> None:
    print(msg, flush=True)


def settings(config: str, steps: int | None = None, labels: int | None = None) -> dict:
    """Chapter 07's and 08's ``config`` profile as one flat dict (08's keys prefixed ``ft_``)."""
    from lmcourse.chapters import get_chapter

    pre = dict(get_chapter("07").profiles[config])
    ft = {f"ft_{k}": v for k, v in get_chapter("08").profiles[config].items()}
    out = {"config": config, **pre, **ft, "seed": SEED}
    if steps is not None:
        out["steps"] = steps
    if labels is not None:
        out["ft_train_examples"] = labels
    if out["ft_seq_len"] > out["seq_len"]:
        raise SystemExit(
            f"chapter 08's seq_len {out['ft_seq_len']} is longer than the encoder's "
            f"{out['seq_len']}"
        )
    return out


# ------------------------------------------------------------------------------- data


def tokenize(cfg: dict) -> dict[str, np.ndarray]:
    """Every token id the run needs, as flat arrays (see :func:`documents_from`)."""
    from lmcourse import data, pipelines, pretraining_data, text

    train = data.movie_reviews("train")
    texts = list(train.texts[: cfg["train_reviews"] or None])  # texts only, no labels
    start = time.perf_counter()
    vocab = text.learn_wordpiece_vocabulary(texts, cfg["vocab_size"])
    tokenizer = text.FastWordPiece(vocab)
    docs = pretraining_data.split_documents(tokenizer, texts)
    ids = text.check_specials(vocab, (text.PAD, text.CLS, text.SEP))
    out = {
        "format": np.array(FORMAT),
        "vocabulary": np.array(vocab),
        "vocab_size": np.array(cfg["vocab_size"]),
        "seq_len": np.array(cfg["ft_seq_len"]),
        "doc_sentences": np.array([len(d) for d in docs], dtype=np.int32),
        "sentence_lengths": np.array([len(s) for d in docs for s in d], dtype=np.int32),
        "tokens": np.concatenate([s for d in docs for s in d]).astype(np.int32),
    }
    n_labels = cfg["ft_train_examples"] or len(train)
    val, test = data.movie_reviews("validation"), data.movie_reviews("test")
    splits = {
        "train": (train.texts[:n_labels], train.labels[:n_labels]),
        "validation": (val.texts, val.labels),
        "test": (test.texts, test.labels),
    }
    for name, (split_texts, labels) in splits.items():
        enc = pipelines.encode_for_classification(
            tokenizer,
            split_texts,
            seq_len=cfg["ft_seq_len"],
            cls_id=ids[text.CLS],
            sep_id=ids[text.SEP],
        )
        assert not enc["segment_ids"].any() and np.array_equal(
            enc["padding_mask"] != 0, enc["token_ids"] != ids[text.PAD]
        )
        out[f"{name}_token_ids"] = enc["token_ids"]
        out[f"{name}_labels"] = np.asarray(labels, dtype=np.int32)
    dtype = np.int16 if len(vocab) <= np.iinfo(np.int16).max else np.int32
    for key in [k for k in out if k == "tokens" or k.endswith("_token_ids")]:
        out[key] = out[key].astype(dtype)  # half the file
    n_reviews = sum(len(labels) for _, labels in splits.values())
    log(
        f"tokenized {len(texts):,} pretraining texts and {n_reviews:,} "
        f"labelled reviews in {time.perf_counter() - start:.0f} s"
    )
    return out


def load(path: Path, cfg: dict) -> dict[str, np.ndarray]:
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    got = {k: int(arrays[k]) for k in ("format", "vocab_size", "seq_len")}
    want = {"format": FORMAT, "vocab_size": cfg["vocab_size"], "seq_len": cfg["ft_seq_len"]}
    if got != want:
        raise SystemExit(
            f"{path} holds {got} but --config {cfg['config']} needs {want}: make it "
            f"with --config {cfg['config']} --save-data {path}"
        )
    n = len(arrays["train_labels"])
    if cfg["ft_train_examples"] and cfg["ft_train_examples"] > n:
        raise SystemExit(
            f"{path} has {n:,} labelled training reviews, fewer than --labels "
            f"{cfg['ft_train_examples']:,}: make it again with that --labels"
        )
    return arrays


def documents_from(arrays: dict[str, np.ndarray]) -> list[list[np.ndarray]]:
    """The training texts as lists of sentences of token ids (``split_documents``' output)."""
    sentences = np.split(
        arrays["tokens"].astype(np.int32), np.cumsum(arrays["sentence_lengths"])[:-1]
    )
    bounds = np.concatenate([[0], np.cumsum(arrays["doc_sentences"])])
    return [sentences[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def classification_inputs(arrays: dict[str, np.ndarray], split: str, n: int = 0):
    ids = arrays[f"{split}_token_ids"].astype(np.int32)
    labels = arrays[f"{split}_labels"]
    if n:
        ids, labels = ids[:n], labels[:n]
    # [PAD] is id 0 in every course vocabulary; tokenize() checked the saved masks against it.
    return {
        "token_ids": ids,
        "segment_ids": np.zeros_like(ids),
        "padding_mask": (ids != 0).astype(np.int32),
    }, labels


# ------------------------------------------------------------------------------ runs


def pretrain(arrays: dict[str, np.ndarray], cfg: dict) -> tuple[object, dict]:
    from lmcourse import pretraining, pretraining_data

    # Rounds as chapter 07 counts them; each round masks every pair afresh (dynamic masking),
    # so one round's worth of distinct pairs is enough and keeps the arrays in memory small.
    rounds = pretraining_data.pretraining_rounds(cfg["steps"])
    per_round = cfg["steps"] // rounds
    start = time.perf_counter()
    data = pretraining_data.pairs_from_documents(
        documents_from(arrays),
        [str(t) for t in arrays["vocabulary"]],
        seq_len=cfg["seq_len"],
        n_examples=per_round * cfg["batch_size"] + VAL_PAIRS,
        seed=cfg["seed"],
        val_examples=VAL_PAIRS,
    )
    log(
        f"{len(data.nsp_labels):,} sentence pairs of {cfg['seq_len']} tokens in "
        f"{time.perf_counter() - start:.0f} s; pretraining {rounds} x {per_round} steps"
    )
    run = pretraining.pretrain(
        data,
        d_model=cfg["d_model"],
        num_heads=cfg["num_heads"],
        num_layers=cfg["num_layers"],
        steps=rounds * per_round,
        batch_size=cfg["batch_size"],
        learning_rate=cfg["learning_rate"],
        epochs=rounds,
        seed=cfg["seed"],
        print_fn=log,
    )
    tokens = rounds * per_round * cfg["batch_size"] * cfg["seq_len"]
    return run.encoder, {
        **{f"pretrain_{k}": v for k, v in run.metrics.items()},
        "pretrain_steps": rounds * per_round,
        "pretrain_seconds": run.seconds,
        "pretrain_tokens_per_s": tokens / run.seconds,
    }


def finetune(name: str, encoder, splits: dict[str, tuple], cfg: dict) -> dict:
    """Train the ``[CLS]`` classifier on ``encoder`` and score it on the test split."""
    import keras

    from lmcourse import classification_batches, finetuning, metrics
    from lmcourse.models import bert_classifier

    peak = {
        "scratch": cfg["ft_scratch_learning_rate"],
        "frozen": cfg["ft_head_learning_rate"],
        "full": cfg["ft_learning_rate"],
    }[name]
    if name == "frozen":
        finetuning.freeze(encoder)
    keras.utils.set_random_seed(cfg["seed"])  # the head starts the same in every run
    model = bert_classifier.build_classifier(encoder, num_classes=2)
    batches = classification_batches.ClassificationBatches(
        *splits["train"], batch_size=cfg["ft_batch_size"], shuffle=True, seed=cfg["seed"]
    )
    model.compile(
        finetuning.warmup_adamw(peak, cfg["ft_epochs"] * len(batches)),  # as chapter 08
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    val = classification_batches.ClassificationBatches(*splits["validation"], batch_size=256)
    start = time.perf_counter()
    history = model.fit(batches, validation_data=val, epochs=cfg["ft_epochs"], verbose=0).history
    seconds = time.perf_counter() - start
    test = classification_batches.ClassificationBatches(*splits["test"], batch_size=256)
    scores = metrics.evaluate_classifier(model, test)
    log(
        f"{name:8s} test accuracy {scores['accuracy']:.4f}  macro-F1 {scores['macro_f1']:.4f}  "
        f"validation per epoch {[round(v, 4) for v in history['val_accuracy']]}  {seconds:.0f} s"
    )
    return {
        f"acc_{name}": scores["accuracy"],
        f"f1_{name}": scores["macro_f1"],
        f"val_acc_{name}": history["val_accuracy"],
        f"seconds_{name}": seconds,
    }


def run(arrays: dict[str, np.ndarray], cfg: dict) -> dict:
    import keras

    from lmcourse.models import bert

    splits = {
        "train": classification_inputs(arrays, "train", cfg["ft_train_examples"]),
        "validation": classification_inputs(arrays, "validation"),
        "test": classification_inputs(arrays, "test"),
    }
    result = {
        "config": cfg["config"],
        "backend": keras.backend.backend(),
        "devices": _devices(),
        "settings": cfg,
        "labels": len(splits["train"][1]),
        "test_reviews": len(splits["test"][1]),
    }
    keras.utils.set_random_seed(cfg["seed"])
    encoder, pre = pretrain(arrays, cfg)
    result.update(pre)
    log(
        f"held-out MLM loss {pre['pretrain_mlm_loss']:.3f}, "
        f"accuracy {pre['pretrain_mlm_accuracy']:.3f}, "
        f"NSP {pre['pretrain_nsp_accuracy']:.3f}; {pre['pretrain_seconds']:.0f} s "
        f"({pre['pretrain_tokens_per_s']:,.0f} token positions/s)"
    )
    weights = encoder.get_weights()
    shape = bert.encoder_config(encoder)
    for name in ("scratch", "frozen", "full"):
        keras.utils.set_random_seed(cfg["seed"])
        enc = bert.build_bert_encoder(**shape)  # a fresh copy: each run starts alike
        if name != "scratch":
            enc.set_weights(weights)
        result.update(finetune(name, enc, splits, cfg))
    result["pretrained_gain_points"] = 100 * (result["acc_full"] - result["acc_scratch"])
    result["targets"] = {
        "standard: gain >= 3 points": result["pretrained_gain_points"] >= 3,
        "full: accuracy >= 0.88": result["acc_full"] >= 0.88,
        "full: beats keras.io 0.863 and 0.8745": result["acc_full"] > 0.8745,
    }
    return result


def _devices() -> list[str]:
    import keras

    if keras.backend.backend() == "jax":
        import jax

        return [str(d) for d in jax.devices()]
    return []


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--config",
        choices=("smoke", "standard", "full"),
        default="smoke",
        help="chapter 07's and 08's profile",
    )
    parser.add_argument("--steps", type=int, help="pretraining steps (default: the profile's)")
    parser.add_argument(
        "--labels", type=int, help="labelled training reviews (0: all; default: the profile's)"
    )
    parser.add_argument(
        "--save-data",
        type=Path,
        metavar="NPZ",
        help="tokenize for --config, write NPZ and stop (needs TensorFlow)",
    )
    parser.add_argument(
        "--data", type=Path, metavar="NPZ", help="read the token ids from NPZ instead of tokenizing"
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--seed", type=int, default=SEED, help=f"the run's seed (default {SEED})")
    args = parser.parse_args(argv)
    if args.steps is not None and args.steps < 10:
        parser.error(f"--steps {args.steps}: pretraining needs at least 10 steps")
    if args.labels is not None and args.labels < 0:
        parser.error(f"--labels {args.labels} must be >= 0 (0: all)")
    if args.data is not None and not args.data.is_file():
        parser.error(
            f"--data {args.data}: no such file; make it with --config {args.config} "
            f"--save-data {args.data} on a machine with the course installed"
        )
    cfg = settings(args.config, args.steps, args.labels)
    cfg["seed"] = args.seed
    if args.save_data is not None:
        arrays = tokenize(cfg)
        tmp = args.save_data.with_name(args.save_data.name + ".part.npz")
        np.savez_compressed(tmp, **arrays)
        tmp.replace(args.save_data)  # never a half-written file under the name
        log(f"wrote {args.save_data} ({args.save_data.stat().st_size / 2**20:.1f} MiB)")
        return
    arrays = load(args.data, cfg) if args.data is not None else tokenize(cfg)
    result = run(arrays, cfg)
    text = json.dumps(result, default=float)
    print(text, flush=True)
    if args.json is not None:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
