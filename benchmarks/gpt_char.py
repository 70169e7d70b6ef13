"""Benchmark: train the course's mini-GPT on Shakespeare characters; time Keras vs PyTorch.

    python benchmarks/gpt_char.py                       # the CPU configuration (4/4/128/64)
    python benchmarks/gpt_char.py --config full         # nanoGPT shakespeare-char (6/6/384/256)
    python benchmarks/gpt_char.py --save-data shakespeare_char.npz   # tokenize once, then:
    KERAS_BACKEND=jax python benchmarks/gpt_char.py --config full --data shakespeare_char.npz

It trains ``lmcourse.models.gpt.GPT`` (Keras) on the course's Shakespeare split
(training plays; validation = Julius Caesar, Macbeth, Twelfth Night) with nanoGPT's
shakespeare-char recipe, reports the validation loss (nats/char over every non-overlapping
window of the validation plays), tokens/s and the step time, and on a GPU the model FLOPs
utilisation. In the same run it times a plain PyTorch implementation of the same model on
the same batch (``benchmarks/torch_gpt.py``; skipped with a message if torch is missing) and
prints the ratio of the Keras and PyTorch step times.

Timing rules: the same shapes, batch, float32 (or the same mixed precision on a GPU), the
same number of threads, warm-up steps excluded, the median over ``--time-steps`` steps.
Keras steps are ``model.train_on_batch`` (one compiled train function per call); PyTorch
steps are the standard loop (forward, cross-entropy, backward, clip, AdamW).

With ``--data`` the script needs neither TensorFlow nor the course's data files: only Keras,
its backend, NumPy and ``lmcourse`` itself.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))  # torch_gpt beside this file

# nanoGPT's config/train_shakespeare_char.py, and its documented CPU variant (smaller).
CONFIGS = {
    "cpu": dict(
        num_layers=4,
        num_heads=4,
        d_model=128,
        seq_len=64,
        batch_size=32,
        dropout=0.0,
        learning_rate=2e-3,
        min_lr=2e-4,
        warmup=100,
        steps=2000,
        eval_every=250,
    ),
    "full": dict(
        num_layers=6,
        num_heads=6,
        d_model=384,
        seq_len=256,
        batch_size=64,
        dropout=0.2,
        learning_rate=1e-3,
        min_lr=1e-4,
        warmup=100,
        steps=5000,
        eval_every=500,
    ),
}
WEIGHT_DECAY, BETA_2, CLIP = 0.1, 0.99, 1.0
# Dense bf16/fp16 tensor-core peaks (TFLOP/s) for the model FLOPs utilisation.
PEAK_TFLOPS = {
    "H200": 989.0,
    "H100": 989.0,
    "A100": 312.0,
    "L4": 121.0,
    "A10": 125.0,
    "T4": 65.0,
    "V100": 125.0,
}


def log(msg: str) -> None:
    print(msg, flush=True)


# ------------------------------------------------------------------------------- data


def load_data(path: str | None) -> dict:
    """``{"train": ids, "val": ids, "vocab": [chars]}``: from an ``.npz`` or the course data."""
    if path:
        npz = np.load(path, allow_pickle=False)
        return {"train": npz["train"], "val": npz["val"], "vocab": list(npz["vocab"])}
    from lmcourse import data
    from lmcourse.vocabulary import Vocabulary

    train_text, val_text = data.shakespeare_text("train"), data.shakespeare_text("validation")
    vocab = Vocabulary.from_tokens(train_text)  # characters, most frequent first; <unk> = 0
    return {
        "train": vocab.encode(train_text).astype(np.int32),
        "val": vocab.encode(val_text).astype(np.int32),
        "vocab": [str(t) for t in vocab.tokens],
    }


def random_batch(ids: np.ndarray, batch: int, seq_len: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """nanoGPT's ``get_batch``: ``batch`` windows at random offsets; targets shifted by one."""
    starts = rng.integers(0, len(ids) - seq_len - 1, size=batch)
    idx = starts[:, None] + np.arange(seq_len + 1)[None, :]
    w = ids[idx]
    return w[:, :-1].astype(np.int32), w[:, 1:].astype(np.int32)


def val_windows(ids: np.ndarray, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
    """Every non-overlapping window of the validation text (all of it is scored)."""
    n = (len(ids) - 1) // seq_len
    x = ids[: n * seq_len].reshape(n, seq_len)
    y = ids[1 : n * seq_len + 1].reshape(n, seq_len)
    return x.astype(np.int32), y.astype(np.int32)


def lr_at(step: int, cfg: dict) -> float:
    """Linear warm-up, then cosine decay to ``min_lr`` (nanoGPT's ``get_lr``)."""
    if step < cfg["warmup"]:
        return cfg["learning_rate"] * (step + 1) / (cfg["warmup"] + 1)
    ratio = min(1.0, (step - cfg["warmup"]) / max(1, cfg["steps"] - cfg["warmup"]))
    coeff = 0.5 * (1.0 + math.cos(math.pi * ratio))
    return cfg["min_lr"] + coeff * (cfg["learning_rate"] - cfg["min_lr"])


# ------------------------------------------------------------------------------ Keras


def keras_model(cfg: dict, vocab_size: int, jit_compile):
    import keras

    from lmcourse.models.gpt import build_gpt

    model = build_gpt(
        vocab_size,
        cfg["seq_len"],
        cfg["d_model"],
        cfg["num_heads"],
        cfg["num_layers"],
        dropout=cfg["dropout"],
    )

    class Schedule(keras.optimizers.schedules.LearningRateSchedule):
        def __call__(self, step):
            from keras import ops

            step = ops.cast(step, "float32")
            warm = cfg["learning_rate"] * (step + 1.0) / (cfg["warmup"] + 1.0)
            ratio = ops.clip(
                (step - cfg["warmup"]) / max(1, cfg["steps"] - cfg["warmup"]), 0.0, 1.0
            )
            cos = cfg["min_lr"] + 0.5 * (1.0 + ops.cos(math.pi * ratio)) * (
                cfg["learning_rate"] - cfg["min_lr"]
            )
            return ops.where(step < cfg["warmup"], warm, cos)

    optimizer = keras.optimizers.AdamW(
        Schedule(), weight_decay=WEIGHT_DECAY, beta_2=BETA_2, global_clipnorm=CLIP
    )
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile=jit_compile,
    )
    return model


def keras_val_loss(model, x: np.ndarray, y: np.ndarray, batch: int) -> float:
    return float(model.evaluate(x, y, batch_size=batch, verbose=0))


def train_keras(cfg: dict, data: dict, jit_compile, seed: int) -> dict:
    import keras

    keras.utils.set_random_seed(seed)
    model = keras_model(cfg, len(data["vocab"]), jit_compile)
    rng = np.random.default_rng(seed)
    xv, yv = val_windows(data["val"], cfg["seq_len"])
    eval_batch = max(cfg["batch_size"], 8192 // cfg["seq_len"])
    n_quick = min(len(xv), 20 * eval_batch)  # the same fixed subset at every evaluation
    curve, times, start = [], [], time.perf_counter()
    for step in range(cfg["steps"]):
        x, y = random_batch(data["train"], cfg["batch_size"], cfg["seq_len"], rng)
        t0 = time.perf_counter()
        loss = model.train_on_batch(x, y)
        times.append(time.perf_counter() - t0)
        if (step + 1) % cfg["eval_every"] == 0 or step + 1 == cfg["steps"]:
            val = keras_val_loss(model, xv[:n_quick], yv[:n_quick], eval_batch)
            curve.append((step + 1, float(loss), val))
            log(
                f"  keras step {step + 1:5d}  train {float(loss):.4f}  val (subset) {val:.4f}"
                f"  {time.perf_counter() - start:6.0f} s"
            )
    train_s = time.perf_counter() - start
    val_loss = keras_val_loss(model, xv, yv, eval_batch)
    return {
        "model": model,
        "val_loss": val_loss,
        "train_seconds": train_s,
        "curve": curve,
        "fit_step_s": float(np.median(times[10:] or times)),
        "params": int(model.count_params()),
    }


def time_keras(model, x, y, warmup: int, steps: int) -> list[float]:
    for _ in range(warmup):
        model.train_on_batch(x, y)
    out = []
    for _ in range(steps):
        t0 = time.perf_counter()
        model.train_on_batch(x, y)
        out.append(time.perf_counter() - t0)
    return out


# ----------------------------------------------------------------------------- PyTorch


def time_torch(
    cfg: dict,
    vocab_size: int,
    x,
    y,
    warmup: int,
    steps: int,
    threads: int,
    flash: bool,
    mixed: bool,
) -> dict | str:
    try:
        import torch
    except ImportError:
        return (
            "PyTorch is not installed: `pip install -r benchmarks/requirements-bench.txt` "
            "to time it (skipped)"
        )
    from torch_gpt import TorchGPT, count_params, make_train_step

    torch.manual_seed(0)
    torch.set_num_threads(threads)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = TorchGPT(
        vocab_size,
        cfg["seq_len"],
        cfg["d_model"],
        cfg["num_heads"],
        cfg["num_layers"],
        dropout=cfg["dropout"],
        flash=flash,
    ).to(device)
    model.train()
    autocast = torch.bfloat16 if (mixed and device == "cuda") else None
    step = make_train_step(
        model,
        lr=cfg["learning_rate"],
        weight_decay=WEIGHT_DECAY,
        betas=(0.9, BETA_2),
        clip=CLIP,
        autocast_dtype=autocast,
    )
    xt = torch.as_tensor(x, dtype=torch.long, device=device)
    yt = torch.as_tensor(y, dtype=torch.long, device=device)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    for _ in range(warmup):
        step(xt, yt)
    sync()
    out = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step(xt, yt).item()  # .item() waits for the step, as Keras's returned loss does
        sync()
        out.append(time.perf_counter() - t0)
    return {
        "times": out,
        "params": count_params(model),
        "threads": torch.get_num_threads(),
        "version": torch.__version__,
        "device": device,
    }


# ------------------------------------------------------------------------------- main


def device_info() -> tuple[str, float | None]:
    """A short device description and its peak TFLOP/s (None on a CPU or an unknown GPU)."""
    import keras

    backend = keras.backend.backend()
    name = ""
    if backend == "jax":
        import jax

        gpus = [d for d in jax.devices() if d.platform == "gpu"]
        name = gpus[0].device_kind if gpus else ""
    elif backend == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        name = (
            tf.config.experimental.get_device_details(gpus[0]).get("device_name", "GPU")
            if gpus
            else ""
        )
    elif backend == "torch":
        import torch

        name = torch.cuda.get_device_name(0) if torch.cuda.is_available() else ""
    if not name:
        return f"CPU ({os.cpu_count()} cores, {platform.processor() or platform.machine()})", None
    peak = next((v for k, v in PEAK_TFLOPS.items() if k in name), None)
    return f"GPU {name}", peak


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", choices=sorted(CONFIGS), default="cpu")
    p.add_argument("--steps", type=int, help="training steps (default: the config's)")
    p.add_argument("--batch-size", type=int, help="sequences per batch (default: the config's)")
    p.add_argument("--data", help="pre-tokenized .npz from --save-data (no TensorFlow needed)")
    p.add_argument("--save-data", metavar="NPZ", help="write the tokenized data and exit")
    p.add_argument(
        "--jit",
        choices=("auto", "true", "false"),
        default="auto",
        help="Keras jit_compile (auto: Keras chooses; XLA off on a TF CPU)",
    )
    p.add_argument(
        "--precision",
        choices=("auto", "float32", "mixed_bfloat16"),
        default="auto",
        help="auto: mixed_bfloat16 on a GPU, float32 on a CPU",
    )
    p.add_argument("--time-steps", type=int, default=30, help="timed steps per framework")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps before timing")
    p.add_argument("--no-torch", action="store_true", help="skip the PyTorch timing")
    p.add_argument(
        "--torch-attention",
        choices=("sdpa", "manual"),
        default="sdpa",
        help="PyTorch attention: F.scaled_dot_product_attention or written out",
    )
    p.add_argument("--no-train", action="store_true", help="only time steps, no training")
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.save_data:
        d = load_data(None)
        np.savez_compressed(
            args.save_data, train=d["train"], val=d["val"], vocab=np.array(d["vocab"])
        )
        log(
            f"wrote {args.save_data}: {len(d['train']):,} training and {len(d['val']):,} "
            f"validation characters, vocabulary of {len(d['vocab'])}"
        )
        return 0
    cfg = dict(CONFIGS[args.config])
    cfg["steps"] = args.steps or cfg["steps"]
    cfg["batch_size"] = args.batch_size or cfg["batch_size"]
    cfg["eval_every"] = min(cfg["eval_every"], cfg["steps"])

    from lmcourse import runtime

    runtime.import_framework()  # TensorFlow's start-up log lines filtered out
    import keras

    from lmcourse.models.gpt import training_flops_per_token

    device, peak = device_info()
    precision = args.precision
    if precision == "auto":
        precision = "float32" if device.startswith("CPU") else "mixed_bfloat16"
    keras.config.set_dtype_policy(precision)
    jit = {"auto": "auto", "true": True, "false": False}[args.jit]
    data = load_data(args.data)
    V = len(data["vocab"])
    tokens_per_step = cfg["batch_size"] * cfg["seq_len"]
    log(f"gpt_char: config {args.config} {json.dumps(cfg)}")
    log(
        f"  Keras {keras.__version__}, backend {keras.backend.backend()}, {device}, "
        f"precision {precision}, jit_compile={args.jit}; vocabulary {V}, "
        f"{len(data['train']):,} training / {len(data['val']):,} validation characters"
    )

    report: dict = {
        "config": args.config,
        **cfg,
        "device": device,
        "precision": precision,
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "backend": keras.backend.backend(),
        "jit_compile": args.jit,
    }
    if args.no_train:
        model = keras_model(cfg, V, jit)
        trained = None
    else:
        trained = train_keras(cfg, data, jit, args.seed)
        model = trained["model"]
        report.update(
            val_loss=trained["val_loss"],
            train_seconds=trained["train_seconds"],
            curve=trained["curve"],
            train_step_s=trained["fit_step_s"],
        )
    report["params"] = int(model.count_params())
    x, y = random_batch(data["train"], cfg["batch_size"], cfg["seq_len"], np.random.default_rng(0))
    flops = training_flops_per_token(model, cfg["seq_len"])
    # Keras as compiled for training; on TensorFlow also the other jit_compile setting, so the
    # table says which is faster (Keras's "auto" turns XLA off on a CPU, on on a GPU).
    variants = [(f"Keras, jit_compile={args.jit}", model)]
    if keras.backend.backend() == "tensorflow":
        other = False if jit is True else True
        twin = keras_model(cfg, V, other)
        twin.set_weights(model.get_weights())
        variants.append((f"Keras, jit_compile={other}", twin))
    timings = {}
    for label, m in variants:
        timings[label] = float(np.median(time_keras(m, x, y, args.warmup, args.time_steps)))
    report["keras_step_s"] = timings
    best_label = min(timings, key=timings.get)
    best = timings[best_label]
    report["tflops_per_s"] = flops * tokens_per_step / best / 1e12
    if peak:
        report["mfu"] = report["tflops_per_s"] / peak
    if args.no_torch:
        torch_result: dict | str = "skipped (--no-torch)"
    else:
        torch_result = time_torch(
            cfg,
            V,
            x,
            y,
            args.warmup,
            args.time_steps,
            threads=os.cpu_count() or 1,
            flash=args.torch_attention == "sdpa",
            mixed=precision != "float32",
        )
    if isinstance(torch_result, dict):
        report["torch_step_s"] = float(np.median(torch_result["times"]))
        report["torch_params"] = torch_result["params"]
        report["torch"] = (
            f"{torch_result['version']} on {torch_result['device']}, "
            f"{torch_result['threads']} threads, attention {args.torch_attention}"
        )
        report["keras_over_torch"] = {k: v / report["torch_step_s"] for k, v in timings.items()}
    else:
        log(f"  PyTorch: {torch_result}")
        report["torch"] = torch_result

    # ---- the table
    rows = [
        (
            "model",
            f"{cfg['num_layers']} layers x {cfg['num_heads']} heads x "
            f"{cfg['d_model']} dims, block {cfg['seq_len']}, batch {cfg['batch_size']}",
        ),
        ("parameters (Keras)", f"{report['params']:,}"),
    ]
    if "torch_params" in report:
        rows.append(("parameters (PyTorch)", f"{report['torch_params']:,}"))
    if trained:
        rows += [
            (
                "validation loss",
                f"{report['val_loss']:.4f} nats/char "
                f"({report['val_loss'] / math.log(2):.3f} bits/char)",
            ),
            (
                "training",
                f"{cfg['steps']} steps, {cfg['steps'] * tokens_per_step / 1e6:.1f} M"
                f" tokens in {report['train_seconds']:.0f} s "
                f"({cfg['steps'] * tokens_per_step / report['train_seconds']:,.0f}"
                " tokens/s incl. evaluation)",
            ),
        ]
    for label, t in timings.items():
        rows.append((f"{label} step", f"{1e3 * t:.1f} ms  ({tokens_per_step / t:,.0f} tokens/s)"))
    rows.append(
        (
            f"model FLOP/s ({best_label})",
            f"{report['tflops_per_s'] * 1e3:.1f} GFLOP/s"
            + (f"  (MFU {100 * report['mfu']:.1f}% of {peak:.0f} TFLOP/s)" if peak else ""),
        )
    )
    if "torch_step_s" in report:
        rows.append(
            (
                "PyTorch step",
                f"{1e3 * report['torch_step_s']:.1f} ms  "
                f"({tokens_per_step / report['torch_step_s']:,.0f} tokens/s;"
                f" {report['torch']})",
            )
        )
        for label, ratio in report["keras_over_torch"].items():
            rows.append((f"ratio {label} / PyTorch", f"{ratio:.2f}"))
    else:
        rows.append(("PyTorch", report["torch"]))
    if report["load_average"] is not None:
        report["load_average_end"] = os.getloadavg()[0]
        rows.append(
            (
                "load average (1 min)",
                f"{report['load_average']:.2f} at the start, "
                f"{report['load_average_end']:.2f} at the end",
            )
        )
    width = max(len(r[0]) for r in rows)
    log("\n" + "\n".join(f"{a:<{width}}  {b}" for a, b in rows))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
