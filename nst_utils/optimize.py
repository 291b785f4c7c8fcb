"""Optimising an image: the `Evaluator` for scipy's L-BFGS, and the drivers around it.

Style transfer optimises pixels, not weights. The objective is a function of one image batch that
returns a dict of named loss terms; their sum is minimised by one of four methods:

* ``"lbfgs"`` (the default): one uninterrupted L-BFGS run of `iterations` iterations.
* ``"lbfgs-restarts"``: the course homework's loop, ``fmin_l_bfgs_b(..., maxfun=20)`` called
  `iterations` times. Every restart throws L-BFGS's curvature history away, so it needs more
  evaluations for the same loss; it is kept to show exactly that.
* ``"adam"``: Keras's Adam on the pixels, clipped to valid colours after every step.
* ``"gd"``: plain gradient descent with a fixed step.
"""

import math
import time
import warnings

import numpy as np
from keras import ops
from scipy.optimize import fmin_l_bfgs_b
from tqdm.auto import tqdm

from .backend import value_and_grad
from .defaults import check_name
from .errors import NSTError
from .images import VGG_MEAN_BGR


class Interrupted(UserWarning):
    """The warning that Ctrl-C (KeyboardInterrupt) ended an optimisation early."""


class _LevelledOff(Exception):
    """Raised from the per-iteration hook to end a run whose loss has levelled off."""


#: A run "levels off" when its best loss has fallen by less than LEVEL_OFF_RATE per iteration on
#: average over the last LEVEL_OFF_WINDOW iterations. Coarse scales stop there: their last
#: iterations cost little but buy less than the full size's (benchmarks/README.md, issue 21).
LEVEL_OFF_WINDOW, LEVEL_OFF_RATE = 10, 0.005


def levelled_off(losses, window=LEVEL_OFF_WINDOW, rate=LEVEL_OFF_RATE):
    """Whether a run with these per-iteration best losses has levelled off (see LEVEL_OFF_RATE):
    ``losses[-window - 1] - losses[-1] < window * rate * losses[-1]``."""
    return len(losses) > window and losses[-window - 1] - losses[-1] < window * rate * losses[-1]


# Valid preprocessed pixel values: 0-255 minus the mean, per BGR channel.
_LOW, _HIGH = -VGG_MEAN_BGR, 255.0 - VGG_MEAN_BGR


class Evaluator:
    """Loss and gradient of an image objective, computed together once per point.

    scipy's ``fmin_l_bfgs_b`` wants the loss and the gradient of a float64 vector. Computing the
    two separately would run the network twice; the Evaluator runs one compiled forward and
    backward pass and serves both, either through ``evaluator(x) -> (loss, grads)`` (scipy's
    ``func`` with ``fprime=None``) or through separate ``loss(x)`` and ``grads(x)`` methods (the
    fast.ai pattern: ``grads`` returns what ``loss`` computed for the same x).

    It also keeps the best point seen, so an interrupted run can return it.

    Args:
        loss_fn: maps an image batch (1, H, W, 3) to a dict {term name: scalar tensor}.
        shape: the image batch shape.
        jit_compile: on TensorFlow, compile the loss and gradient with XLA (faster on CPU for
            large images, at the price of a longer first call); JAX always uses XLA.
    """

    def __init__(self, loss_fn, shape, jit_compile=False):
        self.loss_fn = loss_fn
        self.shape = tuple(shape)
        self.evaluations = 0
        self.best_loss = math.inf
        self.best_x = None
        self.best_terms = {}
        self.interrupted = False  # set by `minimize` when KeyboardInterrupt ended the run
        self._compiled = value_and_grad(self.total_and_terms, has_aux=True,
                                        jit_compile=jit_compile)
        self._cached_x = None
        self._cached = None

    def total_and_terms(self, image):
        """Total loss and the dict of its terms for an image tensor (not compiled)."""
        terms = self.loss_fn(image)
        return ops.sum(ops.stack(list(terms.values()))), terms

    def _evaluate(self, image):
        """Total, terms and gradient at a float32 image: the compiled pass."""
        (total, terms), grads = self._compiled(image)
        return total, terms, grads

    def evaluate_tensor(self, image):
        """One evaluation of a float32 image tensor; records the best point."""
        total, terms, grads = self._evaluate(image)
        self.evaluations += 1
        loss = float(total)
        if not math.isfinite(loss):
            raise NSTError(f"The loss became {loss} at evaluation {self.evaluations}. Lower the "
                           "learning rate or the loss weights, or start from the content image.")
        if loss < self.best_loss:
            self.best_loss = loss
            self.best_x = np.array(ops.convert_to_numpy(image), copy=True)
            self.best_terms = {name: float(value) for name, value in terms.items()}
        return total, grads

    def __call__(self, x):
        """Loss (float) and gradient (float64 vector) at the float64 vector x, for scipy."""
        if self._cached_x is None or not np.array_equal(x, self._cached_x):
            total, grads = self.evaluate_tensor(np.reshape(x, self.shape).astype(np.float32))
            self._cached_x = np.array(x, copy=True)
            self._cached = (float(total), ops.convert_to_numpy(grads).ravel().astype(np.float64))
        return self._cached

    def loss(self, x):
        """The loss at x (also computes and caches the gradient)."""
        return self(x)[0]

    def grads(self, x):
        """The gradient at x, from the same evaluation as `loss(x)`."""
        return self(x)[1]


class OwnEvaluator(Evaluator):
    """The library's bookkeeping around an Evaluator written for notebook 3's exercise.

    `evaluator_class(loss_fn, shape)` must have ``loss(x)`` and ``grads(x)`` of a flat float64
    vector; this wrapper gives it what `minimize` needs (the best point, the evaluation count,
    tensors for Adam and gradient descent), so the student's own Evaluator can drive a transfer.
    """

    def __init__(self, evaluator_class, loss_fn, shape):
        super().__init__(loss_fn, shape)
        self.own = evaluator_class(loss_fn, self.shape)

    def _evaluate(self, image):
        x = ops.convert_to_numpy(image).astype(np.float64).ravel()
        total = self.own.loss(x)
        grads = np.reshape(np.asarray(self.own.grads(x), dtype=np.float32), self.shape)
        return ops.convert_to_tensor(total, "float32"), {}, ops.convert_to_tensor(grads)


def minimize(evaluator, x0, optimizer="lbfgs", iterations=100, learning_rate=None,
             callback=None, progress=True, *, continue_from=None, tags=None, level_off=False):
    """Minimise the evaluator's loss from image batch `x0`; return (best image batch, history).

    `history` has one dict per iteration: ``iteration``, ``evaluations``, ``seconds``, ``loss``
    (best total so far) and each loss term. ``callback(iteration, image_batch, record)`` is
    called after every iteration (to save or show images). Ctrl-C ends the run early and
    still returns the best image found so far.

    To continue an earlier run's history (coarse-to-fine), pass its last record as
    `continue_from`: iteration, evaluations and seconds then count on from its values. `tags`
    are extra fields copied into every record (such as ``{"scale": 0.5}``).

    With `level_off`, `iterations` is a budget: the run also ends as soon as its loss has
    levelled off (`levelled_off`), as coarse-to-fine's coarse scales do.
    """
    check_name("optimizer", optimizer)
    if int(iterations) < 1:
        raise NSTError(f"iterations must be at least 1, got {iterations}.")
    x0 = np.asarray(x0, dtype=np.float32).reshape(evaluator.shape)
    history = []
    bar = tqdm(total=int(iterations), desc=optimizer, unit="it", disable=not progress,
               leave=True)
    base = {key: (continue_from or {}).get(key, 0)
            for key in ("iteration", "evaluations", "seconds")}
    start = time.perf_counter()

    def on_iteration(image):
        record = {"iteration": base["iteration"] + len(history) + 1,
                  "evaluations": base["evaluations"] + evaluator.evaluations,
                  "seconds": base["seconds"] + time.perf_counter() - start,
                  "loss": evaluator.best_loss, **evaluator.best_terms, **(tags or {})}
        history.append(record)
        bar.update(1)
        bar.set_postfix({name: f"{value:.3g}" for name, value in record.items()
                         if name not in ("iteration", "evaluations", "seconds", *(tags or {}))},
                        refresh=False)
        if callback is not None:
            callback(record["iteration"], np.reshape(image, evaluator.shape), record)
        if level_off and levelled_off([record["loss"] for record in history]):
            raise _LevelledOff

    run = {"lbfgs": _lbfgs, "lbfgs-restarts": _lbfgs_restarts, "adam": _adam, "gd": _gd}
    try:
        run[optimizer](evaluator, x0, int(iterations), on_iteration, learning_rate)
    except _LevelledOff:  # the best point so far is the result, as after a spent budget
        bar.total = bar.n  # a full bar: this stage is done, not cut short
    except KeyboardInterrupt:
        evaluator.interrupted = True
        warnings.warn(f"Interrupted after {base['iteration'] + len(history)} iterations; "
                      "returning the best image found so far.", Interrupted, stacklevel=2)
    finally:
        bar.close()
    if evaluator.best_x is None:
        raise NSTError("Stopped before the first evaluation finished; nothing to return.")
    if not history:  # L-BFGS found nothing to improve at the start: report that point
        on_iteration(evaluator.best_x)
    return evaluator.best_x.reshape(evaluator.shape), history


def _lbfgs(evaluator, x0, iterations, on_iteration, learning_rate):
    x = x0.ravel().astype(np.float64)
    done = 0
    # L-BFGS can stop early when a line search fails in float32 noise; carry on from where it
    # stopped (a fresh history) until the iteration budget is spent or no progress is made.
    while done < iterations:
        before = evaluator.best_loss
        counter = {"n": 0}

        def step(xk):  # called within this pass of the loop only
            counter["n"] += 1  # noqa: B023
            on_iteration(xk)

        x, _, _ = fmin_l_bfgs_b(evaluator, x, maxiter=iterations - done,
                                maxfun=20 * (iterations - done) + 20, callback=step)
        done += counter["n"]
        if counter["n"] == 0 or not evaluator.best_loss < before:
            break


def _lbfgs_restarts(evaluator, x0, iterations, on_iteration, learning_rate):
    x = x0.ravel().astype(np.float64)
    for _ in range(iterations):
        x, _, _ = fmin_l_bfgs_b(evaluator, x, maxfun=20)
        on_iteration(x)


def _adam(evaluator, x0, iterations, on_iteration, learning_rate):
    import keras

    image = keras.Variable(x0, dtype="float32", name="image")
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate or 5.0)
    optimizer.build([image])

    for _ in range(iterations):
        _, grads = evaluator.evaluate_tensor(image.value)
        optimizer.apply_gradients([(grads, image)])
        image.assign(ops.clip(image.value, _LOW, _HIGH))
        on_iteration(ops.convert_to_numpy(image.value))


def _gd(evaluator, x0, iterations, on_iteration, learning_rate):
    image = ops.convert_to_tensor(x0)
    step = learning_rate
    for _ in range(iterations):
        _, grads = evaluator.evaluate_tensor(image)
        if step is None:
            # Without a given rate, fix it once so the first step moves no pixel more than 2
            # grey levels: the loss scale differs by orders of magnitude between problems.
            step = 2.0 / max(float(ops.max(ops.abs(grads))), 1e-12)
        image = ops.clip(image - step * grads, _LOW, _HIGH)
        on_iteration(ops.convert_to_numpy(image))
