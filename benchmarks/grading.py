"""How long `nst grade` takes for a class: N submissions of notebook 02, before and after the
sandbox.

    .venv/bin/python benchmarks/grading.py                          # 30 submissions
    .venv/bin/python benchmarks/grading.py --count 10 --before /work/main/.venv/bin/nst

Each configuration grades the same N copies of the solution of notebook 02 with the `nst`
command, in a subprocess, timed from start to exit (so the grader's own start-up is counted once):

* before: the `nst` given by --before, the grader that ran hidden checks in a Jupyter kernel;
* after, --no-sandbox, with --jobs 1 and 2: the same worker and judge without namespaces;
* after, sandbox, with --jobs 1 and 2.

The sandbox's cost per submission is (sandbox - no sandbox) / N at the same --jobs. Every row
prints as soon as it is measured; a configuration whose grades are not all full marks is reported.
First, the sandbox's set-up alone: starting a Python process that builds the namespaces, the
read-only root and the limits and exits (`sandbox.check_available`), against a bare `python -I`.
"""

import argparse
import csv
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from nst_utils.grader import sandbox

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "02_style_reconstruction.ipynb"
HERE_NST = Path(sys.executable).parent / "nst"


def _time(command, folder, name, count):
    """Seconds `command` took, and whether every submission got full marks."""
    out = folder / f"{name}.csv"
    started = time.perf_counter()
    subprocess.run([*command, "--out", str(out)], check=True, stdout=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    full = len(rows) == count and all(row["total"] == row["max"] != "0" for row in rows)
    return seconds, full


def _setup_cost(repeats=20):
    """Mean seconds of a sandbox that starts and exits, and of a bare interpreter start."""
    started = time.perf_counter()
    for _ in range(repeats):
        sandbox.check_available()
    jail = (time.perf_counter() - started) / repeats
    started = time.perf_counter()
    for _ in range(repeats):
        subprocess.run([sys.executable, "-I", "-c", "pass"], check=True)
    return jail, (time.perf_counter() - started) / repeats


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=30, help="submissions (default: 30)")
    parser.add_argument("--before", help="the `nst` of the grader to compare with, e.g. "
                                         "/work/main/.venv/bin/nst (default: none)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nst-grading-benchmark-") as tmp:
        folder = Path(tmp)
        submissions = []
        for index in range(args.count):
            submissions.append(folder / f"student_{index:02d}.ipynb")
            shutil.copyfile(NOTEBOOK, submissions[-1])
        grade = ["grade", *map(str, submissions)]
        configurations = [("after, --no-sandbox, --jobs 1", [HERE_NST, *grade, "--no-sandbox"]),
                          ("after, --no-sandbox, --jobs 2",
                           [HERE_NST, *grade, "--no-sandbox", "--jobs", "2"]),
                          ("after, sandbox, --jobs 1", [HERE_NST, *grade]),
                          ("after, sandbox, --jobs 2", [HERE_NST, *grade, "--jobs", "2"])]
        if args.before:
            configurations.insert(0, ("before (Jupyter kernel, no sandbox)", [args.before, *grade]))
        jail, bare = _setup_cost()
        print(f"sandbox set-up (namespaces, read-only root, limits, then exit): {jail * 1000:.0f} "
              f"ms; bare `python -I -c pass`: {bare * 1000:.0f} ms (means of 20)\n")
        print(f"{args.count} submissions of {NOTEBOOK.name} (solution copies)\n")
        print("| configuration | seconds | per submission | all full marks |")
        print("| --- | --- | --- | --- |")
        for number, (name, command) in enumerate(configurations):
            seconds, full = _time(command, folder, f"run{number}", args.count)
            print(f"| {name} | {seconds:.1f} | {seconds / args.count:.2f} | {full} |", flush=True)


if __name__ == "__main__":
    main()
