"""Reading a handed-in file: its bytes, once and safely, and the notebook in them, checked
against the format and size limits before anything parses its code."""

import os
import stat

import nbformat

#: Submissions larger than this are not read; notebooks with more code or cells than these are
#: not parsed, which bounds the grader's own memory and time per submission (the solutions have
#: about 40 kB of code in 60 cells).
MAX_NOTEBOOK_BYTES, MAX_CODE_BYTES, MAX_CELLS = 20 << 20, 1 << 20, 5000


class Unreadable(Exception):
    """What keeps a handed-in file from being graded, in words that quote none of its content."""


def read_submission(path):
    """The bytes of a handed-in file, read once and only if it is a regular file.

    The path is not followed if it is a symbolic link (it could lead to any file the grader can
    read, or to another student's notebook) and is opened without blocking (a FIFO would wait
    for a writer for ever); at most `MAX_NOTEBOOK_BYTES` + 1 bytes are read (/dev/zero never
    ends). Raises `Unreadable`.
    """
    try:
        before = os.lstat(path)
    except OSError as error:
        raise Unreadable(f"cannot be read ({error.strerror})") from None
    if stat.S_ISLNK(before.st_mode):
        raise Unreadable("is a symbolic link, which is never followed; hand in the notebook "
                         "itself")
    if not stat.S_ISREG(before.st_mode):
        raise Unreadable("is not a regular file (a folder, FIFO, socket or device)")
    flags = (os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
             | getattr(os, "O_NOCTTY", 0))
    try:
        handle = os.open(path, flags)
    except OSError as error:
        raise Unreadable(f"cannot be read ({error.strerror})") from None
    try:
        status = os.fstat(handle)
        if not stat.S_ISREG(status.st_mode) or (status.st_dev, status.st_ino) != (
                before.st_dev, before.st_ino):
            raise Unreadable("was replaced while it was opened")
        chunks, size = [], 0
        while size <= MAX_NOTEBOOK_BYTES:
            chunk = os.read(handle, min(1 << 20, MAX_NOTEBOOK_BYTES + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as error:
        raise Unreadable(f"cannot be read ({error.strerror})") from None
    finally:
        os.close(handle)
    if size > MAX_NOTEBOOK_BYTES:
        raise Unreadable(f"is larger than {MAX_NOTEBOOK_BYTES >> 20} MB")
    return b"".join(chunks)


def parse_notebook(data):
    """The notebook in `data`, checked against nbformat's schema and the size limits before
    anything uses it. Raises `Unreadable` with the kind of problem, never the content."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise Unreadable("is not UTF-8 text, so not a notebook") from None
    try:
        # nbformat's own reads() would log an invalid notebook's content to the terminal.
        notebook = nbformat.reader.reads(text)
        if notebook.nbformat == 4:
            nbformat.validate(notebook)
    except nbformat.ValidationError as error:
        raise Unreadable("does not follow the notebook format (nbformat 4): "
                         f"{_schema_problem(error)}") from None
    except RecursionError:
        raise Unreadable("nests its JSON too deeply to be a notebook") from None
    except Exception:  # noqa: BLE001 - nbformat's messages quote the content
        raise Unreadable("is not a Jupyter notebook (not JSON, or no nbformat version)") from None
    if notebook.nbformat != 4:
        raise Unreadable(f"is a notebook of format {int(notebook.nbformat)}; open it in Jupyter "
                         "and save it again (format 4)")
    if len(notebook.cells) > MAX_CELLS:
        raise Unreadable(f"has more than {MAX_CELLS} cells")
    code = sum(len(cell.source.encode("utf-8")) for cell in notebook.cells
               if cell.cell_type == "code")
    if code > MAX_CODE_BYTES:
        raise Unreadable(f"has more than {MAX_CODE_BYTES >> 20} MB of code")
    return notebook


#: The fields of nbformat 4's schema, which a reason may name (a submission's own keys, never).
SCHEMA_FIELDS = {"cells", "metadata", "nbformat", "nbformat_minor", "cell_type", "source",
                 "outputs", "execution_count", "id", "attachments", "output_type", "data", "text",
                 "name", "ename", "evalue", "traceback"}


def _schema_problem(error):
    """Where a notebook breaks the schema, in words that quote none of its content."""
    path = list(getattr(error, "absolute_path", []))
    where = (f"cell {path[1]}" if len(path) > 1 and path[0] == "cells"
             and isinstance(path[1], int) else "the notebook")
    fields = [part for part in path[2:] if part in SCHEMA_FIELDS]
    if fields:
        return f"the field {fields[-1]!r} of {where} does not fit the format"
    return f"{where} does not fit the format"
