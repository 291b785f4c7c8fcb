"""The grader's sandboxed side: run one submission's cells, then probe its exercises.

Started by `nst_utils.grader.jail` inside the sandbox, from the library built for the assignment
(`nst_utils.grader.sandbox_library`), with or without namespaces (``--no-sandbox``). Reads one
request from standard input (see `nst_utils.grader.wire`): a list of steps, each a cell to execute
in one shared namespace or an exercise to probe on inputs the grader drew. Answers one JSON line
per step on file descriptor 3, the grader's result pipe; what the submission prints goes to
standard output and error, which the grader discards. This process judges nothing: a submission
that tampers with it can only change what its own functions appear to return.
"""

import importlib
import json
import os
import sys

RESULT_FD = 3


def main():
    request = json.loads(sys.stdin.buffer.read())
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # the submission gets no input
    channel = os.fdopen(RESULT_FD, "wb", buffering=0)
    from nst_utils.grader import wire, withheld

    namespace = {"__name__": "__main__"}
    withheld.use_submission(namespace)  # the library's stand-ins for the graded answers
    for index, step in enumerate(request["steps"]):
        if step["kind"] == "cell":
            reply = {"step": index, "error": _execute(step["source"], step["name"], namespace)}
        elif step["exercise"] not in namespace:
            reply = {"step": index, "missing": True}
        else:
            inputs = {key: wire.decode_array(value) for key, value in step["inputs"].items()}
            probe = importlib.import_module(step["module"]).probe  # the exercise's own module
            raw = probe(namespace[step["exercise"]], inputs)
            reply = {"step": index, "raw": {key: wire.encode_value(value)
                                            for key, value in raw.items()}}
        channel.write(json.dumps(reply).encode("utf-8") + b"\n")


def _execute(source, name, namespace):
    """Run one cell; None, or the exception it raised in one line (the submission's own words)."""
    try:
        exec(compile(source, name, "exec"), namespace)  # noqa: S102 - this is the sandbox
    except BaseException as error:  # SystemExit and KeyboardInterrupt are a cell's errors too
        first = (str(error).splitlines() or [""])[0]
        return f"{type(error).__name__}: {first}"[:300]
    return None


if __name__ == "__main__":
    main()
