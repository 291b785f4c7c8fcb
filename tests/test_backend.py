"""nst_utils.backend: gradients and compilation on the running Keras backend, and the same losses
on every backend installed."""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from keras import ops

from nst_utils import backend

#: The first loss of a transfer, with one gradient-descent step: its record holds the loss at the
#: starting image, since the step's one evaluation is there.
FIRST_LOSS = """
import json, sys
import nst_utils as nst
_, history = nst.style_transfer(nst.transfer.IMAGES_DIR / "chelsea.jpg",
                                nst.transfer.IMAGES_DIR / "scream.jpg", sys.argv[1], max_size=96,
                                iterations=1, optimizer="gd", scales=(1.0,), progress=False,
                                **nst.defaults.loss_settings("homework"))
terms = {name: history[0][name] for name in ("loss", "content", "style", "tv")}
print(json.dumps({"backend": nst.backend.NAME, "terms": terms,
                  "tensorflow_imported": "tensorflow" in sys.modules}))
"""


def test_value_and_grad_gives_the_value_and_the_exact_gradient():
    x = np.array([[1.0, -2.0], [0.5, 3.0]], np.float32)
    value, grad = backend.value_and_grad(lambda t: ops.sum(t ** 3))(x)
    assert float(value) == pytest.approx(1 - 8 + 0.125 + 27)
    np.testing.assert_allclose(ops.convert_to_numpy(grad), 3 * x ** 2, rtol=1e-6)


def test_value_and_grad_returns_the_aux_part_alongside():
    (total, terms), grad = backend.value_and_grad(
        lambda t: (ops.sum(t) + ops.sum(t * t), {"linear": ops.sum(t)}), has_aux=True)(
            np.full((3,), 2.0))
    assert float(total) == pytest.approx(18.0) and float(terms["linear"]) == pytest.approx(6.0)
    np.testing.assert_allclose(ops.convert_to_numpy(grad), [5.0, 5.0, 5.0])


def test_gradient_is_none_where_numpy_or_float_cut_the_link():
    x = np.arange(4, dtype=np.float32)
    np.testing.assert_allclose(backend.gradient(lambda t: ops.sum(ops.square(t)), x), 2 * x)
    assert backend.gradient(lambda t: ops.sum(ops.convert_to_tensor(np.asarray(t) ** 2)), x) is None
    assert backend.gradient(lambda t: ops.convert_to_tensor(float(ops.sum(t))), x) is None
    assert backend.gradient(lambda t: ops.sum(ops.ones((3,))), x) is None


def test_a_bug_in_the_function_is_raised_not_taken_for_a_missing_gradient():
    with pytest.raises(ValueError, match="a student's bug"):
        backend.gradient(lambda t: (_ for _ in ()).throw(ValueError("a student's bug")), [1.0])


def test_run_counter_counts_every_execution_of_a_compiled_function():
    counter = backend.run_counter()
    compiled = backend.value_and_grad(lambda t: ops.sum(counter.tick(t) ** 2))
    for value in (1.0, 2.0, 3.0):
        compiled(np.full((2,), value))
    assert int(counter) == 3


@pytest.mark.tensorflow
@pytest.mark.slow
def test_the_first_loss_is_the_same_on_every_installed_backend(tmp_path):
    """TensorFlow against each other backend in this environment (the test extra brings JAX;
    PyTorch where it is installed): same images and weights, relative difference below 1e-3."""
    others = [name for name in ("jax", "torch") if importlib.util.find_spec(name)]
    assert "jax" in others, "the test extra installs JAX: pip install -e '.[cpu,test]'"
    results = {}
    for name in ["tensorflow", *others]:
        done = subprocess.run([sys.executable, "-c", FIRST_LOSS, str(tmp_path / f"{name}.png")],
                              capture_output=True, text=True, timeout=600,
                              env={**os.environ, "KERAS_BACKEND": name})
        assert done.returncode == 0, done.stderr[-2000:]
        results[name] = json.loads(done.stdout.strip().splitlines()[-1])
        assert results[name]["backend"] == name
        assert results[name]["tensorflow_imported"] == (name == "tensorflow")
    reference = results["tensorflow"]["terms"]
    assert reference["loss"] > 0 and reference["style"] > 0
    for name in others:
        for term, value in results[name]["terms"].items():
            assert value == pytest.approx(reference[term], rel=1e-3), (name, term)
