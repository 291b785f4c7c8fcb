"""The CSV gradebook: one row per submission, written atomically as each row is ready, with
names escaped and no cell a spreadsheet would run as a formula."""

import csv
import io
import os
import threading
from pathlib import Path

from ..errors import NSTError
from ..exercises import EXERCISES
from ..files import atomic_write, text_writer
from .submissions import shown


class Gradebook:
    """The CSV gradebook: one row per submission, the whole file rewritten atomically as each row
    is ready, so a crash loses at most the rows not finished yet.

    The file is the grader's own: if another program puts a file at its path meanwhile, that file
    is left alone and the gradebook goes on in a new file next to it (`path` says which).
    """

    def __init__(self, path, count, overwrite=False):
        self.path = self._requested = Path(path)
        if self.path.exists() and not overwrite:
            raise NSTError(f"'{path}' already exists; choose another --out or pass --overwrite.")
        self.rows, self._overwrite, self._ours = [None] * count, overwrite, None
        self._lock = threading.Lock()
        self._number = 1

    def add(self, index, row):
        """Record row `index` (in the submissions' order) and rewrite the file."""
        with self._lock:
            self.rows[index] = row
            self._write()

    def _write(self):
        data = text_writer(_csv([row for row in self.rows if row is not None]))
        while True:
            mine = self._ours is not None and _identity(self.path) == self._ours
            try:
                atomic_write(self.path, data, overwrite=mine or self._overwrite)
                break
            except NSTError:  # a file appeared there that is not ours: never replace it
                self._number += 1
                base = self._requested
                self.path = base.with_name(f"{base.stem}-{self._number}{base.suffix}")
                self._ours, self._overwrite = None, False
        self._ours, self._overwrite = _identity(self.path), False


def _identity(path):
    """What tells our last write of `path` from anyone else's: the file, its size and time."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns


def _csv(rows):
    """The gradebook's text: points per exercise, total, max, sandbox and reasons."""
    exercises = [name for name in EXERCISES if any(name in row["points"] for row in rows)]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["submission", *exercises, "total", "max", "sandbox", "reasons"])
    for row in rows:
        reasons = "; ".join(f"{name}: {reason}" for name, reason in row["reasons"].items())
        writer.writerow([_inert(row["submission"]),
                         *[row["points"].get(name, "") for name in exercises],
                         row["total"], row["max"], row["sandbox"], _inert(reasons)])
    return buffer.getvalue()


#: What makes a spreadsheet read a cell as a formula (OWASP, "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _inert(text):
    """A gradebook cell that no spreadsheet runs as a formula: escaped (`shown`), and quoted
    with a leading apostrophe where it would start like one, as OWASP recommends."""
    text = shown(text)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
