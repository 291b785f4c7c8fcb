import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

from nst_utils import backend  # noqa: E402


def pytest_configure(config):
    if backend.NAME == "jax":
        # Many tests run the same tiny transfer; JAX's compilation cache compiles each distinct
        # program once per session instead of once per Evaluator (about 3 s each on two cores).
        import jax

        jax.config.update("jax_compilation_cache_dir",
                          str(config.rootpath / ".pytest-jax-cache"))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
    config.addinivalue_line("markers", "tensorflow: tests TensorFlow's own behaviour (a student's "
                            "GradientTape, TensorFlow's file API); run on that backend only")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.suffix == ".ipynb":  # a notebook's cell, which nbval runs in a kernel
            item.add_marker(pytest.mark.slow)
    if backend.NAME == "tensorflow":
        return
    skip = pytest.mark.skip(reason=f"tests TensorFlow itself; the backend is {backend.NAME}")
    for item in items:
        if "tensorflow" in item.keywords:
            item.add_marker(skip)
