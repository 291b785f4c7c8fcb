"""The one exception type for mistakes a user can make and fix, and how to name their options."""

import contextvars
from contextlib import contextmanager

_COMMAND_LINE = contextvars.ContextVar("nst_command_line", default=False)

#: `style_transfer()` arguments whose `nst transfer` spelling is not --the-keyword.
COMMAND_LINE_NAMES = {"base_img_path": "CONTENT", "style_img_path": "STYLE",
                      "output_img_path": "--output", "memory_limit": "--memory-limit"}


class NSTError(Exception):
    """A problem with the user's input or environment, with a message that says what to do.

    The command line prints these without a traceback; anything else is a bug in nst_utils.
    """


def option(keyword, value=None):
    """`keyword` as the user writes it: ``--max-size`` (``--max-size 20`` with a value,
    ``--overwrite`` for True) under the `nst` command, else the Python keyword (``max_size``,
    ``max_size=20``, ``overwrite=True``)."""
    if _COMMAND_LINE.get():
        name = COMMAND_LINE_NAMES.get(keyword, "--" + keyword.replace("_", "-"))
        return name if value is None or value is True else f"{name} {value}"
    return keyword if value is None else f"{keyword}={value!r}"


@contextmanager
def command_line_names():
    """Within this block, `option` names options as the `nst` command spells them."""
    token = _COMMAND_LINE.set(True)
    try:
        yield
    finally:
        _COMMAND_LINE.reset(token)
