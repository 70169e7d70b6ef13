"""Test-session settings, shared by the unit tests and the notebook runs (nbval, papermill).

Kernels started by nbval inherit this process's environment, so the profile set here is the
one every notebook runs with under `pytest`. A value already in the environment wins:
`LMCOURSE_PROFILE=standard pytest chapters/04_rnn_lstm.ipynb` checks a chapter at full size.
"""

import os
import tempfile

os.environ.setdefault("LMCOURSE_PROFILE", "smoke")
# Before TensorFlow is imported anywhere: keep its C++ info lines out of the test output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# Plots are drawn without a screen.
os.environ.setdefault("MPLBACKEND", "Agg")
# Checkpoints and logs of notebook runs under nbval go to a scratch folder, not the checkout.
os.environ.setdefault("LMCOURSE_RUN_DIR", tempfile.mkdtemp(prefix="lmcourse-nbval-"))
# Models one chapter leaves for the next (chapter 07's encoder for chapter 08) go to a scratch
# folder shared by this test session, never into the checkout's runs/artifacts.
os.environ.setdefault("LMCOURSE_ARTIFACTS", tempfile.mkdtemp(prefix="lmcourse-artifacts-"))
