"""The `nst` command: `nst transfer`, `nst weights`, `nst assign`, `nst grade`.

Its entry point is `nst_command.main` (``nst`` or ``python -m nst_command``), which parses and
checks the arguments (`nst_utils.commandline`) before it loads this module, so that a mistake is
answered at once and a Ctrl-C during the slow import of TensorFlow exits without a traceback;
this module is not meant to be run on its own. By then the package's `__init__` has loaded
Keras and the transfer, so their imports below cost nothing more; only the grader's modules are
imported when their command runs.
"""

import signal
import sys
import threading
import time
import warnings
from pathlib import Path

from .commandline import check, parse, transfer_call
from .errors import NSTError, command_line_names
from .optimize import Interrupted
from .preflight import output_paths
from .transfer import style_transfer
from .weights import fetch_all


def main(argv=None):
    """Entry point of the `nst` command; returns the exit status.

    Ctrl-C (SIGINT) and SIGTERM stop a transfer and keep the best image so far; the status is
    then 128 + the signal's number (130, 143), as a shell reports a process the signal ended.
    """
    with StopSignals() as stop, command_line_names():
        try:
            args = parse(argv)
            if args is None:
                return 2
            args.stop = stop
            return COMMANDS[args.command](args) or 0
        except NSTError as error:
            if stop.signum is None:
                print(f"nst: error: {error}", file=sys.stderr)
                return 1
            print(f"nst: stopped by {stop.name}: {error}", file=sys.stderr)
        except KeyboardInterrupt:
            stop.signum = stop.signum or signal.SIGINT
            print(f"nst: stopped by {stop.name} before a result was made; nothing was saved.",
                  file=sys.stderr)
        return stop.status


class StopSignals:
    """Within this block the first SIGINT or SIGTERM raises KeyboardInterrupt, which the
    optimiser turns into an early end that keeps the best image; later signals are only
    noted, so that saving the result is not cut short. Outside the main thread (where Python
    cannot handle signals) it does nothing."""

    def __init__(self):
        self.signum = None
        self._previous = {}

    @property
    def name(self):
        """The signal's name, such as "SIGTERM"."""
        return signal.Signals(self.signum).name

    @property
    def status(self):
        """The exit status that tells a signal ended the run: 128 + its number."""
        return 128 + self.signum

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = {signum: signal.signal(signum, self._handle)
                              for signum in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc_info):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _handle(self, signum, frame):
        if self.signum is None:
            self.signum = signum
            raise KeyboardInterrupt


def _transfer(args):
    content, style, output, keywords = transfer_call(args)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Interrupted)  # said below, in one line
        _, history = style_transfer(content, style, output, **keywords)
    last = history[-1]
    saved = output_paths(output)[0]
    if args.stop.signum is not None:
        # No "of N": a coarse scale that levels off makes the total unknown in advance
        print(f"nst: stopped by {args.stop.name} after {last['iteration']} iterations; "
              f"the best image so far is saved in {saved}.",
              file=sys.stderr)
        return args.stop.status
    terms = ", ".join(f"{name} {value:.3g}" for name, value in last.items()
                      if name not in ("iteration", "evaluations", "seconds", "scale"))
    print(f"Saved {saved} after {last['iteration']} iterations, {last['evaluations']} "
          f"evaluations, {time.perf_counter() - started:.0f} s in all ({terms}).")
    return 0


def _weights(args):
    for convnet, path in fetch_all().items():
        print(f"{convnet}: {path}")


def _assign(args):
    from .grader.notebooks import SOURCE_DIR
    from .grader.release import TARGETS, assign

    # Without SOURCE the output goes to the current folder, never into an installed package.
    out = args.out or (None if args.source else Path("notebooks") / TARGETS[args.format])
    for path in assign(args.source or SOURCE_DIR, out, args.format):
        print(f"wrote {path}")


def _grade(args):
    from .grader.gradebook import Gradebook
    from .grader.grading import Options, grade
    from .grader.submissions import shown, submissions_in

    check(args)
    submissions = submissions_in(args.submissions)
    gradebook = Gradebook(args.out, len(submissions), overwrite=args.overwrite)

    def on_row(index, row):
        gradebook.add(index, row)
        print(f"{row['submission']}: {row['total']}/{row['max']}", flush=True)

    try:
        grade(submissions, Options(args.cell_timeout, args.total_timeout, not args.no_sandbox,
                                   args.assignment), args.jobs, on_row)
    except KeyboardInterrupt:
        graded = sum(row is not None for row in gradebook.rows)
        print(f"nst: stopped by {args.stop.name}: {graded} of {len(submissions)} submissions "
              f"graded, in {shown(gradebook.path) if graded else 'no gradebook'}.",
              file=sys.stderr)
        return args.stop.status
    if gradebook.path != Path(args.out):
        print(f"'{shown(args.out)}' was replaced by another program while grading; it was left "
              "alone.")
    print(f"wrote {shown(gradebook.path)}")


COMMANDS = {"transfer": _transfer, "weights": _weights, "assign": _assign, "grade": _grade}
