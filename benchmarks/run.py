"""Four ways to the same style transfer, timed on one machine: the classic recipes against ours.

    .venv/bin/python benchmarks/run.py                 # 256 px, writes benchmarks/results_256/
    .venv/bin/python benchmarks/run.py --size 512      # the same at 512 px (much longer)
    .venv/bin/python benchmarks/run.py --memory        # peak RSS per size, fits nst_utils.memory
    .venv/bin/python benchmarks/run.py --xla 128 256 512   # XLA against plain tf.function
    .venv/bin/python benchmarks/run.py --backend tensorflow jax torch   # one evaluation per
                                                   # Keras backend at 256 and 512 px (--sizes)

Every recipe optimises the same loss (`problem.py`: VGG19, block4_conv2 content, five style
layers, content_weight=100, style_weights=(1000, 100, 12, 1, 1), tv_weight=200) on the same images;
losses are measured by that loss at the full size, so the curves are comparable. Each clock starts
before the recipe builds its network, so model building and tracing/compilation are counted.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import backends  # noqa: E402,I001
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402,I001
from problem import CONTENT_LAYER, LAYERS, WEIGHTS, benchmark_loss, images  # noqa: E402,I001
from scipy.optimize import fmin_l_bfgs_b  # noqa: E402

from nst_utils import style_transfer  # noqa: E402  (first: it quietens TensorFlow)
from nst_utils.images import VGG_MEAN_BGR, deprocess_image, preprocess_image, save_image  # noqa: E402
from nst_utils.losses import (  # noqa: E402
    feature_reconstruction_loss,
    style_reconstruction_loss,
    total_variation_loss,
)
from nst_utils.memory import activations_per_pixel, predict_peak_bytes, truncated_table  # noqa: E402
from nst_utils.models import build_vgg  # noqa: E402
from nst_utils.optimize import Evaluator  # noqa: E402
from nst_utils.transfer import STYLE_LAYERS  # noqa: E402

HERE = Path(__file__).resolve().parent


class Recorder:
    """Loss after every network evaluation, against seconds since the recipe started."""

    def __init__(self):
        self.start = time.perf_counter()
        self.points = []  # (seconds, evaluations, loss)
        self.evaluations = 0

    def record(self, loss, evaluations=1):
        self.evaluations += evaluations
        self.points.append((time.perf_counter() - self.start, self.evaluations, float(loss)))


def three_image_step(extractor, content, style):
    """The homework's and keras-io's evaluation: content, style and image in one batch."""
    fixed = tf.constant(np.concatenate([preprocess_image(content), preprocess_image(style)]))
    layer_weights = [w / len(STYLE_LAYERS) for w in WEIGHTS["style_weights"]]

    @tf.function
    def step(image):
        with tf.GradientTape() as tape:
            tape.watch(image)
            features = extractor(tf.concat([fixed, image], axis=0))
            loss = WEIGHTS["content_weight"] * feature_reconstruction_loss(
                features[CONTENT_LAYER][0], features[CONTENT_LAYER][2])
            for weight, layer in zip(layer_weights, STYLE_LAYERS):
                loss += weight * style_reconstruction_loss(features[layer][1], features[layer][2])
            loss += WEIGHTS["tv_weight"] * total_variation_loss(image)
        return loss, tape.gradient(loss, image)

    return step


def recipe_homework(content, style, budget, restarts=10, seed=0):
    """1. The course homework: noise start, fmin_l_bfgs_b(maxfun=20) restarted, loss and grads
    each running the network on the three-image batch (two evaluations per point)."""
    recorder = Recorder()
    step = three_image_step(build_vgg("vgg19", "max", LAYERS), content, style)
    shape = (1, *content.shape)

    def run(x):
        loss, grads = step(tf.constant(x.reshape(shape), tf.float32))
        recorder.record(loss)
        return float(loss), grads.numpy().ravel().astype(np.float64)

    x = (np.random.default_rng(seed).uniform(0, 255, shape) - 128.0).ravel()
    for _ in range(restarts):
        x, _, _ = fmin_l_bfgs_b(lambda v: run(v)[0], x, fprime=lambda v: run(v)[1], maxfun=20)
    return recorder, x.reshape(shape)


def recipe_tf_tutorial(content, style, budget):
    """2. TensorFlow's tutorial: Adam(0.02, beta_1=0.99, epsilon=0.1) on an RGB image in [0, 1],
    clipped to [0, 1] after every step, from the content image."""
    recorder = Recorder()
    loss_fn = benchmark_loss(content, style)
    image = tf.Variable(content[None] / 255.0, dtype=tf.float32)
    optimizer = tf.keras.optimizers.Adam(learning_rate=0.02, beta_1=0.99, epsilon=0.1)

    @tf.function
    def train_step():
        with tf.GradientTape() as tape:
            # The tutorial's model does this conversion inside: [0, 1] RGB to VGG's input.
            loss = sum(loss_fn(image[..., ::-1] * 255.0 - VGG_MEAN_BGR).values())
        optimizer.apply_gradients([(tape.gradient(loss, image), image)])
        image.assign(tf.clip_by_value(image, 0.0, 1.0))
        return loss

    while recorder.points == [] or recorder.points[-1][0] < budget:
        recorder.record(train_step())
    return recorder, preprocess_image(image.numpy()[0] * 255.0)


def recipe_keras_io(content, style, budget):
    """3. The keras-io example: SGD with ExponentialDecay(100, 100, 0.96) on the preprocessed
    image, from the content image, the three-image batch through VGG19 at every step."""
    recorder = Recorder()
    step = three_image_step(build_vgg("vgg19", "max", LAYERS), content, style)
    image = tf.Variable(preprocess_image(content))
    optimizer = tf.keras.optimizers.SGD(
        tf.keras.optimizers.schedules.ExponentialDecay(100.0, decay_steps=100, decay_rate=0.96))
    while recorder.points == [] or recorder.points[-1][0] < budget:
        loss, grads = step(image)
        if not np.isfinite(float(loss)):
            break  # diverged: nothing after this is comparable
        recorder.record(loss)
        optimizer.apply_gradients([(grads, image)])
    return recorder, image.numpy()


def recipe_ours(content, style, budget, iterations=(50, 150)):
    """4. nst_utils: one L-BFGS run per scale, content start, coarse-to-fine (0.5, 1.0),
    targets computed once, jit_compile="auto"."""
    recorder = Recorder()
    with tempfile.TemporaryDirectory() as folder:
        content_path, style_path = Path(folder) / "content.png", Path(folder) / "style.png"
        save_image(content_path, content)
        save_image(style_path, style)

        def on_iteration(iteration, image, record):
            # Losses at the coarse scale belong to another (smaller) problem: not comparable.
            if record["scale"] == 1.0:
                recorder.points.append((time.perf_counter() - recorder.start,
                                        record["evaluations"], record["loss"]))
            if time.perf_counter() - recorder.start > budget:
                raise KeyboardInterrupt  # minimize() stops and keeps the best image

        image, _ = style_transfer(content_path, style_path, Path(folder) / "out.png", "vgg19",
                                  WEIGHTS["content_weight"],
                                  WEIGHTS["style_weights"], WEIGHTS["tv_weight"], CONTENT_LAYER,
                                  STYLE_LAYERS, list(iterations), init="content",
                                  scales=(0.5, 1.0), max_size=None, progress=False,
                                  callback=on_iteration)
    return recorder, preprocess_image(image)


def first_time_below(points, target):
    """(seconds, evaluations) when the running best loss first reached `target`, or None."""
    return next(((s, e) for s, e, loss in points if loss <= target), None)


def best_by(points, seconds):
    """The best loss reached within `seconds`."""
    losses = [loss for s, _, loss in points if s <= seconds]
    return min(losses) if losses else float("nan")


def conv_gflops(height, width, convnet="vgg19", layers=LAYERS):
    """Forward convolution GFLOP of the truncated network on one image: 2*H*W*9*Cin*Cout each."""
    return sum(2 * (height / d) * (width / d) * 9 * c_in * c_out
               for name, d, c_in, c_out in truncated_table(convnet, layers)
               if "conv" in name) / 1e9


def peak_gflops(n=2048, repeats=5):
    """Machine peak estimate: the best of `repeats` float32 n x n matmuls with TensorFlow."""
    a = tf.random.normal((n, n))
    tf.linalg.matmul(a, a).numpy()  # warm up the thread pool
    best = min(_timed(lambda: tf.linalg.matmul(a, a).numpy()) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def _timed(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def throughput(content, style, jit, repeats=5):
    """(seconds per evaluation, achieved GFLOP/s) of our evaluation at this size."""
    loss_fn = benchmark_loss(content, style)
    x = preprocess_image(content)
    evaluator = Evaluator(loss_fn, x.shape, jit_compile=jit)
    evaluator(x.ravel().astype(np.float64))  # trace and compile
    seconds = np.median([_timed(lambda i=i: evaluator(x.ravel() + i + 1.0))
                         for i in range(repeats)])
    # Forward plus backward: only the gradient with respect to the input is needed (VGG's weights
    # are constants here), and each conv's input gradient costs as much as its forward pass,
    # so x2; training, which also needs weight gradients, would be x3.
    return seconds, 2 * conv_gflops(*content.shape[:2]) / seconds


def xla_report(sizes, repeats=3):
    """First-call (trace + compile) and per-evaluation seconds with and without XLA."""
    print("| size | XLA | first call | per evaluation |\n| --- | --- | --- | --- |")
    for size in sizes:
        content, style = images(size)
        for jit in (False, True):
            loss_fn = benchmark_loss(content, style)
            x = preprocess_image(content).ravel().astype(np.float64)
            evaluator = Evaluator(loss_fn, (1, *content.shape), jit_compile=jit)
            first = _timed(lambda evaluator=evaluator, x=x: evaluator(x))
            later = np.median([_timed(lambda i=i, evaluator=evaluator, x=x: evaluator(x + i + 1.0))
                               for i in range(repeats)])
            print(f"| {content.shape[1]}x{content.shape[0]} | {jit} | {first:.2f} s | "
                  f"{later:.3f} s |", flush=True)


def throughput_lines(content, style):
    """Achieved GFLOP/s of one evaluation, with and without XLA, as a fraction of peak."""
    peak = peak_gflops()
    height, width = content.shape[:2]
    lines = [f"\nPeak estimate: {peak:.0f} GFLOP/s (best of 5 float32 2048x2048 tf.matmul), "
             f"load {os.getloadavg()[0]:.2f}.",
             f"One evaluation at {width}x{height}: forward conv {conv_gflops(height, width):.1f} "
             "GFLOP, x2 with the backward pass to the input."]
    for jit in (False, True):
        seconds, achieved = throughput(content, style, jit)
        lines.append(f"jit_compile={jit}: {seconds:.3f} s per evaluation, {achieved:.0f} "
                     f"GFLOP/s = {achieved / peak:.0%} of peak")
    return lines


def measure_rss(size, jit):
    """Peak RSS (bytes) of a fresh process making two evaluations at `size` px."""
    output = subprocess.run([sys.executable, __file__, "--rss-child", str(size), jit],
                            capture_output=True, text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def rss_child(size, jit):
    """In the child: two evaluations, then report peak RSS and the image's pixel count."""
    content, style = images(size)
    loss_fn = benchmark_loss(content, style)
    x = preprocess_image(content).ravel().astype(np.float64)
    evaluator = Evaluator(loss_fn, (1, *content.shape), jit_compile=jit == "True")
    start = time.perf_counter()
    evaluator(x)
    evaluator(x + 1.0)
    print(json.dumps({"size": size, "jit": jit, "height": content.shape[0],
                      "width": content.shape[1], "seconds_two_evals":
                      time.perf_counter() - start,
                      "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))


def memory_report(sizes):
    """Peak RSS per size with and without XLA, and a least-squares fit of nst_utils.memory."""
    rows = [measure_rss(size, jit) for size in sizes for jit in ("False", "True")]
    per_pixel = activations_per_pixel("vgg19", LAYERS)
    print("| size | pixels | XLA | two evaluations | peak RSS | predicted |\n"
          "| --- | --- | --- | --- | --- | --- |")
    for row in rows:
        predicted = predict_peak_bytes(row["height"], row["width"], "vgg19", LAYERS,
                                       row["jit"] == "True")
        print(f"| {row['size']} | {row['width']}x{row['height']} | {row['jit']} | "
              f"{row['seconds_two_evals']:.1f} s | {row['rss'] / 2**30:.2f} GiB | "
              f"{predicted / 2**30:.2f} GiB |")
    for jit in ("False", "True"):
        chosen = [row for row in rows if row["jit"] == jit]
        pixels = np.array([row["height"] * row["width"] for row in chosen], float)
        rss = np.array([row["rss"] for row in chosen], float)
        slope, base = np.polyfit(pixels, rss, 1)
        print(f"fit (XLA {jit}): BASE = {base:.3g} bytes, FACTOR = "
              f"{slope / (4 * per_pixel):.2f} (activation values per pixel: {per_pixel:.0f})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--budget", type=float, default=90.0,
                        help="wall-clock seconds for recipes 2-4 (recipe 1 always runs fully)")
    parser.add_argument("--restarts", type=int, default=10, help="recipe 1's restarts")
    parser.add_argument("--memory", action="store_true", help="only measure peak RSS per size")
    parser.add_argument("--memory-sizes", type=int, nargs="+", default=[256, 512, 1024])
    parser.add_argument("--xla", type=int, nargs="+", metavar="SIZE",
                        help="only time evaluations with and without XLA at these sizes")
    parser.add_argument("--throughput", action="store_true",
                        help="only measure peak and achieved GFLOP/s at --size")
    parser.add_argument("--backend", nargs="+", choices=list(backends.MODULES),
                        help="only time one evaluation on each of these Keras backends")
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512],
                        help="the sizes of --backend")
    parser.add_argument("--rss-child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.backend:
        return backends.compare(args.backend, args.sizes)
    if args.rss_child:
        return rss_child(int(args.rss_child[0]), args.rss_child[1])
    if args.throughput:
        return print("\n".join(throughput_lines(*images(args.size))))
    if args.xla:
        return xla_report(args.xla)
    if args.memory:
        return memory_report(args.memory_sizes)
    run_recipes(args)


def run_recipes(args):
    """Run the four recipes and write the table, the plot and the images."""
    out = HERE / f"results_{args.size}"
    out.mkdir(exist_ok=True)
    content, style = images(args.size)
    print(f"{content.shape[1]}x{content.shape[0]} px, load {os.getloadavg()[0]:.2f}", flush=True)
    recipes = {"1. homework (3-image batch, L-BFGS x10 restarts)": lambda: recipe_homework(
                   content, style, None, args.restarts),
               "2. TF tutorial (Adam on [0,1])": lambda: recipe_tf_tutorial(
                   content, style, args.budget),
               "3. keras-io (SGD 100, decay)": lambda: recipe_keras_io(content, style, args.budget),
               "4. ours (L-BFGS, content, 0.5->1.0)": lambda: recipe_ours(
                   content, style, args.budget)}
    results = {}
    for name, run in recipes.items():
        recorder, batch = run()
        results[name] = (recorder.points, batch)
        print(f"{name}: {len(recorder.points)} points, {recorder.points[-1][0]:.0f} s, best "
              f"{min(p[2] for p in recorder.points):.4g}, load {os.getloadavg()[0]:.2f}",
              flush=True)
    report(args, out, content, style, results)


def report(args, out, content, style, results):
    """Print the table and throughput; save the plot, the images and the raw curves."""
    names = list(results)
    reference = results[names[0]][0]
    target, reference_time = min(p[2] for p in reference), reference[-1][0]
    budget = min(args.budget, reference_time)
    lines = [f"{content.shape[1]}x{content.shape[0]} px. Target: recipe 1's final loss "
             f"{target:.4g}, reached after {reference_time:.0f} s. "
             f"Budget for the last column: {budget:.0f} s.", "",
             f"| recipe | time to target | evaluations to target | speed-up | best loss within "
             f"{budget:.0f} s |", "| --- | --- | --- | --- | --- |"]
    first = first_time_below(reference, target)
    for name in names:
        points = results[name][0]
        hit = first_time_below(points, target)
        reached = (f"{hit[0]:.1f} s | {hit[1]} | {first[0] / hit[0]:.1f}x" if hit
                   else "not reached | - | -")
        lines.append(f"| {name} | {reached} | {best_by(points, budget):.4g} |")
    load = os.getloadavg()
    lines.append(f"\nLoad average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    table = "\n".join(lines + throughput_lines(content, style))
    print(table)
    (out / "table.md").write_text(table + "\n")
    (out / "curves.json").write_text(json.dumps({n: results[n][0] for n in names}))
    plot(out, names, results, target, *content.shape[:2])


def plot(out, names, results, target, height, width):
    """Loss against time and evaluations, and the four final images side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name in names:
        points = np.array(results[name][0])
        best = np.minimum.accumulate(points[:, 2])
        axes[0].plot(points[:, 0], best, label=name)
        axes[1].plot(points[:, 1], best, label=name)
    for axis, label in zip(axes, ("wall-clock seconds", "network evaluations")):
        axis.axhline(target, color="grey", linestyle=":", linewidth=1)
        axis.set(xlabel=label, ylabel="best loss so far", yscale="log", xscale="log")
    axes[0].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(out / "loss.png", dpi=80)
    strip = np.concatenate([deprocess_image(results[name][1], height, width) for name in names],
                           axis=1)
    save_image(out / "final_images.jpg", strip,
               overwrite=True)


if __name__ == "__main__":
    main()
