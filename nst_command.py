"""The `nst` command's entry point, outside the nst_utils package on purpose.

Importing nst_utils imports Keras and its backend (TensorFlow by default), which takes seconds; a
Ctrl-C meanwhile would end in a KeyboardInterrupt traceback before `nst_utils.cli.main` could
catch anything. This module imports
nothing heavy itself, so it can catch that too.
"""

import signal
import sys


def main():
    """Run `nst_utils.cli.main`; a Ctrl-C while it loads exits 130 with one line."""
    received = []

    def on_sigint(signum, frame):
        # Remembered as well as raised: some import-time code in the libraries catches every
        # exception, which would swallow the KeyboardInterrupt and let the run go on.
        received.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        from nst_utils.cli import main as run
    except KeyboardInterrupt:
        received.append(signal.SIGINT)
    except ModuleNotFoundError as error:
        if error.name != "tensorflow":
            raise
        print(f"nst: error: {error.msg}.", file=sys.stderr)
        return 1
    signal.signal(signal.SIGINT, previous)
    if received:
        print("nst: stopped by SIGINT while starting; nothing was done.", file=sys.stderr)
        return 128 + signal.SIGINT
    return run()


if __name__ == "__main__":
    sys.exit(main())
