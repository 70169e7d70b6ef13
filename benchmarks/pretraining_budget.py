"""Does CPU-budget masked-LM pretraining help fine-tuning? The experiments behind issue 6.

Two steps, each a separate process so that the timings do not share a warm graph:

    python benchmarks/pretraining_budget.py pretrain NAME STEPS LR [--selection-rate 0.4]
                                            [--dropout 0.0] [--norm-first]
    python benchmarks/pretraining_budget.py finetune NAME|scratch LR [--labels 4000] [--epochs 3]
                                            [--pool cls|mean] [--reinit transformer_layer_1,pooler]
                                            [--embedding-norm 0.2] [--norm-first]

(``--d-model``/``--num-heads``/``--num-layers`` before the subcommand change the encoder's
shape, for ``pretrain`` and for a ``scratch`` fine-tune.)

``pretrain`` trains chapter 07's standard encoder (2 layers, d = 128, 4 heads, 32 pairs of 128
tokens per step, MLM + NSP, vocabulary of 8,000 learned on the training reviews) and saves it
under ``--out`` (default ``runs/bench/pretraining``); it prints the held-out MLM loss (512
pairs from held-out reviews, scored at 15% masking) and the seconds. ``finetune`` trains
chapter 08's classifier on the first ``--labels`` training reviews, with AdamW, 10% warm-up
and linear decay, and prints the accuracy on the first 2,000 test reviews. ``--reinit``
resets the named encoder layers to their random initialization first (which parts of the
pretrained encoder help?); ``--embedding-norm`` shrinks or grows the embedding tables, which
changes nothing the encoder computes, only how fast fine-tuning moves them. Each prints one
JSON line; results are in ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SEQ_LEN, VOCAB_SIZE, SEED = 128, 8000, 42
ENCODER = dict(d_model=128, num_heads=4, num_layers=2)  # chapter 07's standard encoder


def vocabulary(out: Path, texts) -> list[str]:
    from lmcourse import text

    path = out / f"vocab{VOCAB_SIZE}.json"
    if path.is_file():
        return json.loads(path.read_text())
    vocab = text.learn_wordpiece_vocabulary(texts, VOCAB_SIZE)
    path.write_text(json.dumps(vocab))
    return vocab


def encoder_shape(args) -> dict:
    """Chapter 07's standard encoder, or the shape given by --d-model/--num-heads/--num-layers."""
    return {k: getattr(args, k) or v for k, v in ENCODER.items()}


def rescale_embeddings(encoder, norm: float) -> float:
    """Scale the token, position and segment tables so token vectors have mean norm ``norm``.

    ``LayerNorm(c (token + position + segment)) = LayerNorm(token + position + segment)``, so
    this changes nothing the encoder computes, only how far each fine-tuning step moves the
    tables relative to their size (Adam's steps are about ``lr`` in absolute terms).
    Returns the factor ``c``.
    """
    import numpy as np

    emb = encoder.get_layer("embeddings")
    factor = norm / float(np.mean(np.linalg.norm(emb.token_embedding.embeddings.numpy(), axis=-1)))
    for table in (emb.token_embedding, emb.position_embedding, emb.segment_embedding):
        table.embeddings.assign(table.embeddings.numpy() * factor)
    return factor


def pretrain(args) -> dict:
    from lmcourse import data, pretraining, pretraining_data
    from lmcourse.models import bert

    texts = list(data.movie_reviews("train").texts)
    pairs = pretraining_data.prepare(
        texts,
        vocab_size=VOCAB_SIZE,
        seq_len=SEQ_LEN,
        n_examples=args.steps * args.batch_size + 512,
        val_examples=512,
        seed=SEED,
        vocabulary=vocabulary(args.out, texts),
    )
    epochs = pretraining_data.pretraining_rounds(args.steps)  # as chapter 07
    run = pretraining.pretrain(
        pairs,
        **encoder_shape(args),
        steps=epochs * (args.steps // epochs),
        batch_size=args.batch_size,
        learning_rate=args.lr,
        epochs=epochs,
        seed=SEED,
        dropout=args.dropout,
        norm_first=args.norm_first,
        mask_selection_rate=args.selection_rate,
        print_fn=lambda *a, **k: None,
    )
    bert.save_pretrained(
        run.encoder,
        run.vocabulary,
        args.out / f"enc_{args.name}",
        {"profile": "bench", **run.metrics},
    )
    return {
        "pretrain": args.name,
        **encoder_shape(args),
        "steps": args.steps,
        "lr": args.lr,
        "selection_rate": args.selection_rate,
        "dropout": args.dropout,
        "norm_first": args.norm_first,
        **{k: round(v, 4) for k, v in run.metrics.items()},
        "val_mlm_loss_per_round": [round(x, 3) for x in run.history["val_mlm_loss"]],
        "seconds": round(run.seconds, 1),
    }


def finetune(args) -> dict:
    import keras

    from lmcourse import classification_batches, data, finetuning, metrics, pipelines, text
    from lmcourse.models import bert, bert_classifier, bert_layers

    train, test = data.movie_reviews("train"), data.movie_reviews("test")
    vocab = vocabulary(args.out, list(train.texts))
    tokenizer = text.FastWordPiece(vocab)
    ids = text.check_specials(vocab, (text.PAD, text.CLS, text.SEP))

    def encode(texts):
        return pipelines.encode_for_classification(
            tokenizer, texts, seq_len=SEQ_LEN, cls_id=ids[text.CLS], sep_id=ids[text.SEP]
        )

    keras.utils.set_random_seed(SEED)
    if args.name == "scratch":
        encoder = bert.build_bert_encoder(
            len(vocab), max_length=SEQ_LEN, **encoder_shape(args), norm_first=args.norm_first
        )
    else:
        encoder, _, _ = bert.load_pretrained(args.out / f"enc_{args.name}", vocabulary=vocab)
    reinit = [n for n in args.reinit.split(",") if n]
    if reinit:
        keras.utils.set_random_seed(SEED)  # the weights a scratch run starts from
        fresh = bert.build_bert_encoder(**bert.encoder_config(encoder))
        for name in reinit:
            encoder.get_layer(name).set_weights(fresh.get_layer(name).get_weights())
    if args.embedding_norm:
        rescale_embeddings(encoder, args.embedding_norm)
    keras.utils.set_random_seed(SEED)
    if args.pool == "cls":
        model = bert_classifier.build_classifier(encoder, num_classes=2)
    else:  # masked mean of sequence_output
        inputs = bert_layers.encoder_inputs()
        h = encoder(inputs)["sequence_output"]
        m = keras.ops.expand_dims(keras.ops.cast(inputs["padding_mask"], "float32"), -1)
        pooled = keras.layers.Dropout(0.1)(keras.ops.sum(h * m, 1) / keras.ops.sum(m, 1))
        model = keras.Model(inputs, keras.layers.Dense(2, dtype="float32")(pooled))
    batches = classification_batches.ClassificationBatches(
        encode(train.texts[: args.labels]),
        train.labels[: args.labels],
        batch_size=32,
        shuffle=True,
        seed=SEED,
    )
    model.compile(
        finetuning.warmup_adamw(args.lr, args.epochs * len(batches)),  # as chapter 08
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    start = time.perf_counter()
    history = model.fit(batches, epochs=args.epochs, verbose=0).history
    seconds = time.perf_counter() - start
    test_batches = classification_batches.ClassificationBatches(
        encode(test.texts[:2000]), test.labels[:2000], batch_size=128
    )
    accuracy = metrics.evaluate_classifier(model, test_batches)["accuracy"]
    return {
        "finetune": args.name,
        "lr": args.lr,
        "labels": args.labels,
        "epochs": args.epochs,
        "pool": args.pool,
        "reinit": reinit,
        "embedding_norm": args.embedding_norm,
        "test_accuracy_2000": round(accuracy, 4),
        "train_loss_per_epoch": [round(x, 3) for x in history["loss"]],
        "seconds": round(seconds, 1),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("runs/bench/pretraining"),
        help="where the vocabulary and the encoders are kept",
    )
    for key in ENCODER:
        parser.add_argument(
            f"--{key.replace('_', '-')}",
            type=int,
            default=0,
            help=f"encoder {key} of pretrain and of a scratch fine-tune (default {ENCODER[key]})",
        )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pretrain", help="pretrain one encoder and save it")
    p.add_argument("name")
    p.add_argument("steps", type=int)
    p.add_argument("lr", type=float)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--selection-rate", type=float, default=0.15)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument(
        "--norm-first", action="store_true", help="pre-LN blocks (default: BERT's post-LN)"
    )
    f = sub.add_parser("finetune", help="fine-tune a saved encoder (or 'scratch') and test it")
    f.add_argument("name")
    f.add_argument("lr", type=float)
    f.add_argument("--labels", type=int, default=4000)
    f.add_argument("--norm-first", action="store_true", help="pre-LN blocks for 'scratch'")
    f.add_argument("--epochs", type=int, default=3)
    f.add_argument("--pool", choices=("cls", "mean"), default="cls")
    f.add_argument("--reinit", default="", help="comma-separated encoder layer names")
    f.add_argument(
        "--embedding-norm",
        type=float,
        default=0.0,
        help="rescale the three embedding tables so that token vectors have this "
        "mean norm (0: as saved); the encoder's outputs do not change",
    )
    args = parser.parse_args(argv)
    if (
        args.command == "finetune"
        and args.name != "scratch"
        and not (args.out / f"enc_{args.name}" / "metadata.json").is_file()
    ):
        parser.error(
            f"no encoder {args.name!r} under {args.out}: run `pretrain {args.name} ...` "
            "first, or fine-tune 'scratch'"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    result = pretrain(args) if args.command == "pretrain" else finetune(args)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
