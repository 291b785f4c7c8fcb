import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

from nst_utils import backend  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line("markers", "tensorflow: tests TensorFlow's own behaviour (a student's "
                            "GradientTape, TensorFlow's file API); run on that backend only")


def pytest_collection_modifyitems(config, items):
    if backend.NAME == "tensorflow":
        return
    skip = pytest.mark.skip(reason=f"tests TensorFlow itself; the backend is {backend.NAME}")
    for item in items:
        if "tensorflow" in item.keywords:
            item.add_marker(skip)
