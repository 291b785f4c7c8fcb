"""Gradients and compilation on every Keras 3 backend: the package's only backend-specific code.

The losses are written once with `keras.ops` and run on TensorFlow, JAX and PyTorch alike. Taking
a gradient and compiling are not part of `keras.ops`: each backend has its own way, and this
module hides them behind two functions.

* `value_and_grad(fn)`: a function's value and its gradient, computed in one pass and compiled
  where the backend compiles (`tf.GradientTape` + `tf.function`, `jax.value_and_grad` +
  `jax.jit`, `torch.autograd` run eagerly). The Evaluator is built on it.
* `gradient(fn, x)`: one uncompiled gradient, or None when no gradient flows from the result
  back to `x` (the checks use it to tell a NumPy answer from a differentiable one).

`run_counter()` counts the executions of a compiled function, which Python code inside it
cannot do (it runs once, when the function is traced).
"""

import keras
from keras import ops

#: The running backend: "tensorflow", "jax" or "torch" (set with KERAS_BACKEND before import).
NAME = keras.backend.backend()

if NAME == "jax":
    import jax

    # TensorFlow and PyTorch compute float64 inputs in float64; JAX would silently round them to
    # float32. The checks' inputs are float64 and print their expected values, which must not
    # depend on the backend. The network, the images and the optimisation stay float32.
    jax.config.update("jax_enable_x64", True)


def value_and_grad(fn, has_aux=False, jit_compile=False):
    """Compile ``x -> (fn(x), d fn / dx)`` for a function `fn` of one float32 tensor.

    `fn` returns a scalar, or with `has_aux` a pair (scalar, anything) whose second part is
    returned along, not differentiated: ``(scalar, aux), grad``, as in `jax.value_and_grad`.
    `jit_compile` asks TensorFlow for XLA; JAX always compiles with XLA and PyTorch runs eagerly,
    so both ignore it. The returned function accepts NumPy arrays and backend tensors.
    """
    compiled = _VALUE_AND_GRAD[NAME](fn, has_aux, jit_compile)
    return lambda x: compiled(ops.convert_to_tensor(x, dtype="float32"))


def gradient(fn, x):
    """The gradient of the scalar `fn(x)` with respect to the array `x`, as a NumPy array; None
    when the result does not depend on `x` through the backend's operations (NumPy,
    ``.numpy()`` or ``float()`` cut the link). Exceptions of `fn` itself propagate."""
    grad = _GRADIENT[NAME](fn, ops.convert_to_tensor(x))
    return None if grad is None else ops.convert_to_numpy(grad)


class run_counter:  # noqa: N801 - used like a function: counter = run_counter()
    """Counts its `tick(value)` calls as they execute, also inside a compiled function.

    ``tick`` returns `value` unchanged; put it on the path of a function's result so that
    every execution passes through it.
    """

    def __init__(self):
        self.count = 0
        if NAME == "tensorflow":
            import tensorflow as tf

            self._variable = tf.Variable(0, dtype=tf.int64, trainable=False)

    def tick(self, value):
        if NAME == "tensorflow":  # a stateful op runs at every call of a tf.function
            self._variable.assign_add(1)
        elif NAME == "jax":  # a host callback runs at every call of a jitted function
            import jax

            jax.debug.callback(self._add_one)
        else:  # PyTorch runs the Python code itself every time
            self._add_one()
        return value

    def _add_one(self):
        self.count += 1

    def __int__(self):
        return int(self._variable.numpy()) if NAME == "tensorflow" else self.count


def _split(out, has_aux):
    return out[0] if has_aux else out


# --- TensorFlow: GradientTape, compiled by tf.function (with XLA on request) -------------------

def _tensorflow_value_and_grad(fn, has_aux, jit_compile):
    import tensorflow as tf

    def run(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = fn(x)
        return out, tape.gradient(_split(out, has_aux), x)

    return tf.function(run, jit_compile=jit_compile)


def _tensorflow_gradient(fn, x):
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(x)
        y = ops.convert_to_tensor(fn(x))
    return tape.gradient(y, x)


# --- JAX: value_and_grad, compiled by jit -------------------------------------------------------

def _jax_value_and_grad(fn, has_aux, jit_compile):
    import jax

    return jax.jit(jax.value_and_grad(fn, has_aux=has_aux))


def _jax_gradient(fn, x):
    import jax

    def traced(value):
        try:
            y = fn(value)
        # Converting a traced value to NumPy or to a Python number is how a NumPy answer shows
        # under JAX: there is no gradient to take.
        except (jax.errors.TracerArrayConversionError,
                jax.errors.ConcretizationTypeError) as error:
            raise _NoGradient from error
        if not isinstance(y, jax.core.Tracer):  # a constant: computed without x
            raise _NoGradient
        return y

    try:
        return jax.grad(traced)(x)
    except _NoGradient:
        return None


# --- PyTorch: autograd, run eagerly -------------------------------------------------------------

def _torch_value_and_grad(fn, has_aux, jit_compile):
    import torch

    def run(x):
        x = x.detach().requires_grad_(True)
        out = fn(x)
        (grad,) = torch.autograd.grad(_split(out, has_aux), x)
        return _detach(out), grad

    return run


def _detach(out):
    import torch

    if isinstance(out, torch.Tensor):
        return out.detach()
    if isinstance(out, dict):
        return {key: _detach(value) for key, value in out.items()}
    if isinstance(out, (tuple, list)):
        return type(out)(_detach(value) for value in out)
    return out


def _torch_gradient(fn, x):
    import torch

    x = x.detach().requires_grad_(True)
    try:
        y = ops.convert_to_tensor(fn(x))
    except RuntimeError as error:
        # PyTorch refuses .numpy() on a tensor that takes part in autograd: a NumPy answer.
        if "requires grad" in str(error):
            return None
        raise
    if not y.requires_grad:  # computed without autograd (float(), NumPy, torch.no_grad)
        return None
    (grad,) = torch.autograd.grad(ops.sum(y), x, allow_unused=True)
    return grad


class _NoGradient(Exception):
    """Raised inside a JAX trace to stop it once the result turned out not to depend on x."""


_VALUE_AND_GRAD = {"tensorflow": _tensorflow_value_and_grad, "jax": _jax_value_and_grad,
                   "torch": _torch_value_and_grad}
_GRADIENT = {"tensorflow": _tensorflow_gradient, "jax": _jax_gradient, "torch": _torch_gradient}

