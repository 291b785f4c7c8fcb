"""The files that come with nst: the bundled images and the solution notebooks.

A checkout keeps them in its top-level `images/` and `notebooks/` folders, where students and
instructors open them, and an editable install imports the package straight from that checkout.
A wheel (and so `pip install git+URL`) has no checkout around it: pyproject.toml's `package-dir`
copies both folders into the package, as `nst_utils/data/images` and `nst_utils/data/notebooks`.
The user's own paths (images, results) are never looked up here: they stay relative to the
current folder.
"""

from importlib import resources
from pathlib import Path


def bundled_folder(name):
    """The folder `name` ("images" or "notebooks") of this installation: the copy inside the
    package (a wheel), else the checkout's own (an editable install, or the checkout on
    `sys.path`)."""
    packaged = resources.files(__package__) / "data" / name
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / name


IMAGES_DIR = bundled_folder("images")
NOTEBOOKS_DIR = bundled_folder("notebooks")
