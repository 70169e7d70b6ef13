"""Fixtures shared by the test modules (the environment itself is set in ../conftest.py).

`smoke_records` holds every chapter smoke run this session has made, so a chapter runs once per
backend: tests/test_notebooks.py stores its TensorFlow runs there, and tests/test_jax_backend.py
compares its JAX runs with them. For that the JAX runs go last (`pytest_collection_modifyitems`).
"""

import pytest

JAX_BACKEND_TESTS = "test_jax_backend.py"


@pytest.fixture(scope="session")
def smoke_records():
    """``{(backend, chapter id): the run's results.json record}`` for this test session."""
    return {}


def pytest_collection_modifyitems(session, config, items):
    """Run the JAX-backend comparisons after everything else, so the TensorFlow smoke runs of
    test_notebooks.py (when collected) are already in `smoke_records` and are not repeated."""
    jax_runs = [item for item in items if item.path.name == JAX_BACKEND_TESTS]
    if jax_runs:
        items[:] = [item for item in items if item.path.name != JAX_BACKEND_TESTS] + jax_runs
