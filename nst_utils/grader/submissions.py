"""The files a class hands in: which notebooks an instructor's paths stand for, and how their
names may be shown.

Light on purpose (the standard library only), so that `nst grade` answers a mistyped path before
Keras loads. A file name is the student's data: it is escaped wherever it is shown.
"""

import os

from ..errors import NSTError


def submissions_in(paths):
    """The notebooks to grade for the paths an instructor typed: a folder stands for every
    .ipynb file below it (sorted, Jupyter's checkpoints left out, symbolic links to folders not
    followed). Raises `NSTError` for a path that is not there or a file that is not named .ipynb;
    what a named file holds is judged later, in its own row."""
    found = []
    for path in map(str, paths):
        if os.path.isdir(path):
            inside = []
            for folder, subfolders, files in os.walk(path):
                subfolders[:] = sorted(name for name in subfolders
                                       if name != ".ipynb_checkpoints")
                inside += [os.path.join(folder, name) for name in sorted(files)
                           if name.endswith(".ipynb")]
            if not inside:
                raise NSTError(f"No notebook (.ipynb file) in the folder '{shown(path)}'.")
            found += inside
        elif not os.path.lexists(path):
            raise NSTError(f"No file or folder '{shown(path)}'; check the path.")
        elif not path.endswith(".ipynb"):
            raise NSTError(f"'{shown(path)}' is not a notebook (.ipynb file); give notebooks or "
                           "a folder of them.")
        else:
            found.append(path)
    return found


def shown(text):
    """A name as it may be shown on a terminal or in a gradebook cell: control characters,
    newlines and undecodable bytes escaped (``\\n``, ``\\x1b``), so that a file name cannot
    move the cursor, colour the screen or start a line of its own."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape", "backslashreplace")
                   .decode("ascii") for ch in str(text))
