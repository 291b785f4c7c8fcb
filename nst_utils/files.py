"""Writing files so that nothing is lost: all or nothing, and never over an existing file."""

import os
import tempfile
from pathlib import Path

from .errors import NSTError, option


def atomic_write(path, write, overwrite=False):
    """Create `path` by calling ``write(binary_handle)`` on a temporary file, then moving it.

    A crash never leaves half a file behind, and an existing file is never replaced unless
    `overwrite` is true (checked again at the moment of the move, so a file that appears
    meanwhile is not clobbered either). Returns the path.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise _exists(path)
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


def text_writer(text):
    """A writer for `atomic_write` of `text` as UTF-8."""
    return lambda handle: handle.write(text.encode("utf-8"))


def _exists(path):
    return NSTError(f"'{path}' already exists; choose another name, or pass "
                    f"{option('overwrite', True)} to replace it.")


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def check_writable(path, overwrite=False):
    """Raise NSTError unless `path` can be created (or, with `overwrite`, replaced) now.

    Checked by doing it: a temporary file is made in the folder (or, when the folder does not
    exist yet, a temporary folder in the nearest existing one) and removed. This is the only
    honest test: permission bits do not stop root, while read-only mounts, /proc and full
    quotas stop everyone.
    """
    path = Path(path)
    if path.is_dir():
        raise NSTError(f"'{path}' is a folder; give a file name for the output.")
    if path.exists() and not overwrite:
        raise _exists(path)
    existing = next(folder for folder in [path.parent, *path.parent.parents]
                    if os.path.lexists(folder))
    if not existing.is_dir():
        raise NSTError(f"Cannot write '{path}': '{existing}' is a file, not a folder. Choose "
                       "another output path.")
    try:
        if existing == path.parent:
            fd, probe = tempfile.mkstemp(prefix=f".{path.stem}-", dir=existing)
            os.close(fd)
            os.unlink(probe)
        else:
            os.rmdir(tempfile.mkdtemp(prefix=".nst-", dir=existing))
    except OSError as error:
        raise NSTError(f"Cannot write '{path}': creating a file in '{existing}' failed "
                       f"({error.strerror or error}). Choose another output folder.") from None


def write_or_fall_back(path, write, overwrite=False):
    """`atomic_write` to `path`, or, if that fails with an OSError (a full disk, a folder gone
    read-only), to the same name (numbered if taken) in the temporary, the working or the home
    folder, the first that works. Returns (the path written, the OSError of `path` or None);
    raises that OSError if no place worked."""
    path = Path(path)
    try:
        return atomic_write(path, write, overwrite), None
    except OSError as error:
        failure = error
    for folder in (Path(tempfile.gettempdir()), Path.cwd(), Path.home()):
        candidate, number = folder / path.name, 1
        while candidate.exists():
            number += 1
            candidate = folder / f"{path.stem}_{number}{path.suffix}"
        try:
            return atomic_write(candidate, write), failure
        except (OSError, NSTError):
            continue
    raise failure
