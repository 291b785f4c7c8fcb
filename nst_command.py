"""The `nst` command's entry point, outside the nst_utils package on purpose.

Importing nst_utils imports Keras and its backend (TensorFlow by default), which takes seconds.
This module first parses and checks the arguments with the package's light modules, before the
package's `__init__` runs, so that `--help` and every mistake that needs no model are answered
at once; then it loads Keras, ready to stop the command cleanly if Ctrl-C or SIGTERM arrives
meanwhile (which would otherwise end in a KeyboardInterrupt traceback).
"""

import importlib.util
import os
import signal
import sys

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def main():
    """Check the arguments, then run `nst_utils.cli.main`; SIGINT or SIGTERM before it runs
    exits 130 or 143 with one line."""
    # A copy of stderr, because nst_utils sends file descriptor 2 to /dev/null while Keras loads.
    stderr = os.dup(sys.stderr.fileno())

    def stop_while_starting(signum, frame):
        # Ends the process here rather than raising KeyboardInterrupt into the import: code the
        # libraries run at import time may catch every exception and go on loading, and an
        # interrupt that passes through exec() of a string (dataclasses and namedtuple build
        # their methods so) leaves CPython set to end the process by SIGINT, whatever status
        # main returns. Nothing has been written yet, so there is nothing to clean up.
        name = signal.Signals(signum).name
        os.write(stderr, f"nst: stopped by {name} while starting; nothing was done.\n".encode())
        os._exit(128 + signum)

    handlers = {signum: signal.signal(signum, stop_while_starting) for signum in STOP_SIGNALS}
    try:
        package, spec = _package_without_init()
        from nst_utils.commandline import check, parse
        from nst_utils.errors import NSTError, command_line_names

        args = parse()  # --help, or a usage mistake in one line: exits here
        if args is None:  # no command: the help is printed
            return 2
        try:
            with command_line_names():
                check(args)
        except NSTError as error:
            print(f"nst: error: {error}", file=sys.stderr)
            return 1
        if spec is not None:
            spec.loader.exec_module(package)  # the package's __init__: Keras and TensorFlow
        from nst_utils.cli import main as run
    except ModuleNotFoundError as error:
        if error.name != "tensorflow":
            raise
        print(f"nst: error: {error.msg}.", file=sys.stderr)
        return 1
    finally:
        # cli.main handles both signals while it runs and puts these handlers back when it
        # returns, so a signal while the interpreter shuts down is not called a stop while
        # starting.
        for signum, handler in handlers.items():
            signal.signal(signum, handler)
        os.close(stderr)
    return run()


def _package_without_init():
    """nst_utils, imported without running its `__init__` yet, and the spec that runs it.

    The package's light modules (`commandline`, `defaults`, `errors`, `preflight`...) import
    as usual into this module object; running the spec's loader on it later completes the
    package in place, and the modules already imported stay its own. Where nst_utils is already
    imported, that module and None.
    """
    if "nst_utils" in sys.modules:
        return sys.modules["nst_utils"], None
    spec = importlib.util.find_spec("nst_utils")
    package = importlib.util.module_from_spec(spec)
    sys.modules["nst_utils"] = package
    return package, spec


if __name__ == "__main__":
    sys.exit(main())
