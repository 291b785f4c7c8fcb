"""The `nst` command's entry point, outside the nst_utils package on purpose.

Importing nst_utils imports Keras and its backend (TensorFlow by default), which takes seconds; a
Ctrl-C meanwhile would end in a KeyboardInterrupt traceback before `nst_utils.cli.main` could
catch anything. This module imports nothing heavy itself, so it can stop the command cleanly
while that import runs.
"""

import os
import signal
import sys

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def main():
    """Run `nst_utils.cli.main`; SIGINT or SIGTERM while it loads exits 130 or 143 with one
    line."""
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


if __name__ == "__main__":
    sys.exit(main())
