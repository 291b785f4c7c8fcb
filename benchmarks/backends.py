"""One evaluation (loss and gradient) of the benchmark's transfer loss on each Keras backend.

Run through `benchmarks/run.py --backend tensorflow jax torch [--sizes 256 512]`. Each backend
runs in a child process of its own, this file run as a script (KERAS_BACKEND is read once, at
import), with this interpreter when it has the backend's package, else with the Makefile's
`.venv-<backend>`. A child builds VGG19 and the loss of `run.py` (the same images, layers and
weights), then times the first evaluation (tracing and compiling included) and the median of five
later ones, and reports the first loss, so the table also shows that the backends compute the same
thing.

Imports nothing of a backend itself: the parent may lack some, the children each have theirs.
"""

import importlib.util
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}


def python_for(backend):
    """The interpreter that has `backend` installed: this one, or `.venv-<backend>`; or None."""
    if importlib.util.find_spec(MODULES[backend]):
        return sys.executable
    venv = ROOT / f".venv-{backend}" / "bin" / "python"
    return str(venv) if venv.exists() else None


def child(size, repeats=5):
    """In the child: time the evaluations of the benchmark's loss at `size` px on this backend."""
    import numpy as np
    from problem import benchmark_loss, images

    from nst_utils import backend
    from nst_utils.images import preprocess_image
    from nst_utils.optimize import Evaluator

    start = time.perf_counter()
    content, style = images(size)
    loss_fn = benchmark_loss(content, style)
    x = preprocess_image(content).ravel().astype(np.float64)
    evaluator = Evaluator(loss_fn, (1, *content.shape), jit_compile=size >= 200)
    first_loss, _ = evaluator(x)
    first = time.perf_counter() - start
    times = []
    for i in range(repeats):
        began = time.perf_counter()
        evaluator(x + i + 1.0)
        times.append(time.perf_counter() - began)
    print(json.dumps({"backend": backend.NAME, "width": content.shape[1],
                      "height": content.shape[0], "first_call": first,
                      "per_evaluation": float(np.median(times)), "first_loss": first_loss,
                      "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))


def compare(backends, sizes):
    """Print a Markdown table: each backend at each size, measured in one run, one at a time."""
    print(f"Load average before: {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs.\n")
    print("| backend | size | first call (build, trace, compile) | per evaluation | "
          "first loss | peak RSS |\n| --- | --- | --- | --- | --- | --- |")
    for size in sizes:
        for name in backends:
            python = python_for(name)
            if python is None:
                print(f"| {name} | {size} | not installed (make test-{name} creates "
                      f".venv-{name}) | | | |")
                continue
            done = subprocess.run(
                [python, __file__, str(size)],
                capture_output=True, text=True, env={**os.environ, "KERAS_BACKEND": name})
            if done.returncode != 0:
                print(f"| {name} | {size} | failed: {done.stderr.strip().splitlines()[-1]} "
                      "| | | |")
                continue
            row = json.loads(done.stdout.strip().splitlines()[-1])
            print(f"| {row['backend']} | {row['width']}x{row['height']} | "
                  f"{row['first_call']:.1f} s | {row['per_evaluation']:.3f} s | "
                  f"{row['first_loss']:.6g} | {row['peak_rss'] / 2**30:.2f} GiB |", flush=True)


if __name__ == "__main__":
    child(int(sys.argv[1]))
