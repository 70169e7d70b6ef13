"""Runtime: TensorFlow's start-up noise is filtered, real stderr lines are kept; seeds work."""

import os
import subprocess
import sys

import numpy as np

from lmcourse import runtime


def test_noise_patterns_match_tensorflow_startup_lines_only():
    assert runtime.is_noise(
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
    )
    assert runtime.is_noise(
        "I0000 00:00:17.44 3548 port.cc:153] oneDNN custom operations are on. You may see"
    )
    assert runtime.is_noise(
        "E0000 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error"
    )
    assert not runtime.is_noise("UserWarning: the model was saved with a different vocabulary")
    assert not runtime.is_noise(
        "W tensorflow/core/framework/op_kernel.cc: OUT_OF_RANGE: End of sequence"
    )


def test_filtered_stderr_drops_noise_and_replays_the_rest():
    code = (
        "import os\n"
        "from lmcourse.runtime import filtered_stderr\n"
        "with filtered_stderr():\n"
        "    os.write(2, b'I0000 port.cc] oneDNN custom operations are on. blah\\n')\n"
        "    os.write(2, b'a real warning\\n')\n"
        "os.write(2, b'after\\n')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stderr.splitlines() == ["a real warning", "after"]


def test_import_framework_prints_no_startup_noise():
    env = {**os.environ, "KERAS_BACKEND": "tensorflow"}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # the package sets it itself
    code = (
        "from lmcourse import runtime\nruntime.import_framework()\n"
        "import keras\nprint(keras.backend.backend())"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert proc.stdout.strip() == "tensorflow"
    assert "absl::InitializeLog" not in proc.stderr and "oneDNN" not in proc.stderr, proc.stderr


def test_seed_everything_makes_keras_and_numpy_repeatable():
    import keras

    runtime.import_framework()
    runtime.seed_everything(7)
    a = (np.random.rand(3), keras.ops.convert_to_numpy(keras.random.normal((3,))))
    runtime.seed_everything(7)
    b = (np.random.rand(3), keras.ops.convert_to_numpy(keras.random.normal((3,))))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_precision_policy_is_float32_without_gpu_and_mixed_with_one():
    assert runtime.mixed_precision_policy([]) == "float32"
    assert runtime.mixed_precision_policy(["/physical_device:GPU:0"]) == "mixed_float16"
