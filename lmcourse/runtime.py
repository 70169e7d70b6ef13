"""Where the code runs: framework import, seeds, devices, mixed precision.

TensorFlow prints start-up lines from C++ (absl, oneDNN, CUDA probing) straight to file
descriptor 2, before its own log level applies, so ``TF_CPP_MIN_LOG_LEVEL`` alone cannot stop
them. :func:`import_framework` imports the framework with fd 2 redirected to a temporary
file and then replays every line that is not on the known-noise list, so real warnings still
reach the learner.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import platform
import random
import re
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

# Lines TensorFlow prints on every start-up that tell a learner nothing actionable.
NOISE_PATTERNS = [
    r"All log messages before absl::InitializeLog\(\) is called are written to STDERR",
    r"oneDNN custom operations are on",
    r"Could not find cuda drivers on your machine",
    r"failed call to cuInit",
    r"Unable to register cu(DNN|FFT|BLAS) factory",
    r"computation placer already registered",
    r"This TensorFlow binary is optimized to use available CPU instructions",
    r"To enable the following instructions: .* rebuild TensorFlow",
    r"TF-TRT Warning: Could not find TensorRT",
    r"cudart_stub\.cc",
]
_NOISE = re.compile("|".join(NOISE_PATTERNS))


def is_noise(line: str) -> bool:
    """True for a TensorFlow start-up line that :func:`filtered_stderr` drops."""
    return bool(_NOISE.search(line))


@contextlib.contextmanager
def filtered_stderr() -> Iterator[None]:
    """Capture C-level stderr for the block; replay all lines but TensorFlow's start-up noise."""
    # Always fd 2, the descriptor C++ code writes to. (In a Jupyter kernel sys.stderr.fileno()
    # is a *copy* of the terminal's stderr, while fd 2 is the pipe that reaches the notebook.)
    fd = 2
    sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), fd)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, fd)
            os.close(saved)
            tmp.seek(0)
            kept = [
                ln for ln in tmp.read().decode(errors="replace").splitlines() if not is_noise(ln)
            ]
            if kept:
                print("\n".join(kept), file=sys.stderr)


def backend() -> str:
    """The Keras backend that will be (or is) used: $KERAS_BACKEND, else tensorflow."""
    if "keras" in sys.modules and hasattr(sys.modules["keras"], "backend"):
        return sys.modules["keras"].backend.backend()
    return os.environ.get("KERAS_BACKEND", "tensorflow")


def import_framework() -> None:
    """Import Keras (and TensorFlow on that backend) once, with start-up noise filtered.

    keras-hub and tensorflow-text load more native libraries that print the same lines, so
    they are imported here too when the backend is TensorFlow and they are installed.
    """
    if "keras" in sys.modules and (backend() != "tensorflow" or "tensorflow" in sys.modules):
        return
    with filtered_stderr():
        if backend() == "tensorflow":
            tf = importlib.import_module("tensorflow")
            tf.config.list_physical_devices()  # CUDA probing prints here, not at import
        importlib.import_module("keras")
        if backend() == "tensorflow" and importlib.util.find_spec("keras_hub") is not None:
            importlib.import_module("keras_hub")


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy and Keras (which seeds the backend: TF/JAX/torch).

    Same seed, same CPU, same library versions -> the same numbers. GPU kernels and
    multi-threaded reductions may still differ in the last bits.
    """
    random.seed(seed)
    try:
        import numpy as np

        np.random.seed(seed)
    except ImportError:  # pragma: no cover - numpy is a dependency
        pass
    if "keras" in sys.modules:
        sys.modules["keras"].utils.set_random_seed(seed)


def gpus() -> list[str]:
    """Names of the GPUs the current Keras backend can use (empty on a CPU machine)."""
    name = backend()
    if name == "tensorflow":
        import tensorflow as tf

        return [d.name for d in tf.config.list_physical_devices("GPU")]
    if name == "jax":
        import jax

        return [str(d) for d in jax.devices() if d.platform == "gpu"]
    if name == "torch":
        import torch

        return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return []


def mixed_precision_policy(gpu_names: list[str] | None = None) -> str:
    """The dtype policy the course uses here: mixed precision on a GPU, float32 on a CPU.

    On most CPUs float16/bfloat16 math is emulated and slower. CPUs with AMX (Intel Sapphire
    Rapids and later) do multiply large bfloat16 matrices faster: 1,141 against 249 GFLOP/s
    for float32 on the course's 2-core machine (a (4096, 512) @ (512, 512) matmul). But the
    course's small models spend most of a step elsewhere (chapter 07's encoder: 49.1 s for 100
    steps under ``mixed_bfloat16``, 48.5 s in float32), so the course keeps float32 on a CPU.
    """
    gpu_names = gpus() if gpu_names is None else gpu_names
    return "mixed_float16" if gpu_names else "float32"


def configure_precision(policy: str = "auto") -> str:
    """Set Keras's global dtype policy (``"auto"``: mixed on a GPU, float32 on a CPU)."""
    import keras

    chosen = mixed_precision_policy() if policy == "auto" else policy
    keras.config.set_dtype_policy(chosen)
    return chosen


def _version(module: str) -> str:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:  # not installed
        return "not installed"


def report() -> dict[str, Any]:
    """What the course runs on: versions, backend, devices, precision policy."""
    import_framework()
    gpu_names = gpus()
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_cores": os.cpu_count(),
        "keras_backend": backend(),
        **{
            pkg: _version(pkg)
            for pkg in ("tensorflow", "jax", "keras", "keras-hub", "numpy", "papermill")
        },
        "gpus": gpu_names or "none (CPU only)",
        "precision_policy": mixed_precision_policy(gpu_names),
    }
