"""Writing files so that nothing is lost: all or nothing, and never over an existing file."""

import os
import tempfile
from pathlib import Path

from .errors import NSTError


def atomic_write(path, write, overwrite=False):
    """Create `path` by calling ``write(binary_handle)`` on a temporary file, then moving it.

    A crash never leaves half a file behind, and an existing file is never replaced unless
    `overwrite` is true (checked again at the moment of the move, so a file that appears
    meanwhile is not clobbered either). Returns the path.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise NSTError(f"'{path}' already exists; choose another name, or pass overwrite=True "
                       "(--overwrite) to replace it.")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
        os.chmod(temp, 0o666 & ~_umask())  # mkstemp makes 0600 files; give the usual mode
        if overwrite:
            os.replace(temp, path)
        else:
            try:
                os.link(temp, path)  # fails if the name was taken meanwhile
            except FileExistsError:
                raise NSTError(f"'{path}' appeared while saving; not replacing it.") from None
    finally:
        if os.path.exists(temp):
            os.unlink(temp)
    return path


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask
