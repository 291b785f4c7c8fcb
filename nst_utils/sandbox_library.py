"""The library as a grading sandbox sees it: the graded exercises' answers are not in it.

The syntax-tree rules (`nst_utils.rules`) catch the ways of borrowing an answer that they know;
this module makes the others impossible. While an assignment is graded, its sandbox imports not
the installed `nst_utils` (the sandbox never mounts it) but a build written here for that
assignment: the library's modules, in which every definition listed in `WITHHELD` for the
assignment's exercises is replaced by a stand-in from `nst_utils.withheld`, and, for the modules
only the grader and the checks use (which compute the reference answers), a stand-in module.
Whatever spelling, frame or module table a submission uses, the library's code for the exercise
it is graded on is not there to reach. The other exercises' answers stay, since the library's
functions that an exercise may use (the losses inside the total loss) are among them.
"""

import ast
import compileall
import os
import pkgutil
import shutil
import tempfile
import threading
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
#: Each exercise's answer in the library, as module.name: its own definition first, then the
#: library's other definitions that compute it. While the exercise is graded, all are withheld.
WITHHELD = {
    "preprocess_image": ("images.preprocess_image",),
    "deprocess_image": ("images.deprocess_image", "images.to_uint8"),
    "feature_reconstruction_loss": ("losses.feature_reconstruction_loss",),
    "gram_matrix": ("losses.gram_matrix", "losses.normalized_gram"),
    "style_reconstruction_loss": ("losses.style_reconstruction_loss",
                                  "losses.style_loss_to_target", "losses.normalized_gram"),
    "total_variation_loss": ("losses.total_variation_loss",),
    "Evaluator": ("optimize.Evaluator",),
    "weighted_transfer_loss": ("transfer.weighted_transfer_loss",),
}
#: The modules of the method, which submissions may use; `nst_utils.rules` calls every other
#: module of the package the grader's own code.
LIBRARY_MODULES = ("__init__", "animation", "backend", "bundled", "color", "defaults", "display",
                   "errors", "files", "images", "losses", "memory", "models", "optimize",
                   "preflight", "regions", "transfer", "weights")
#: The grader's modules that run inside the sandbox: none of them knows an answer.
WORKER_MODULES = ("probes", "wire", "worker", "withheld")
STAND_IN_MODULE = ('"""Not in the grader\'s sandbox: see nst_utils.sandbox_library."""\n'
                   "from .withheld import module as _module\n\n__getattr__ = _module(__name__)\n")


def package_modules():
    """The names of the package's modules (``__init__`` included), from its folder."""
    return ["__init__", *sorted(info.name for info in pkgutil.iter_modules([str(PACKAGE_DIR)])
                                if not info.ispkg)]


def build(exercises, folder):
    """Write the sandbox's `nst_utils` for grading `exercises` into `folder`/nst_utils.

    Readable by everyone (a sandbox may run as a user id of its own) and compiled, since the
    sandbox cannot write Python's caches. Raises ValueError if a withheld definition is missing
    from its module, so that a renamed answer cannot slip through.
    """
    withheld = {}
    for exercise in exercises:
        for dotted in WITHHELD[exercise]:
            module, name = dotted.split(".")
            withheld.setdefault(module, {}).setdefault(name, exercise)
    target = Path(folder) / "nst_utils"
    target.mkdir(parents=True)
    for module in package_modules():
        if module in LIBRARY_MODULES or module in WORKER_MODULES:
            source = (PACKAGE_DIR / f"{module}.py").read_text(encoding="utf-8")
            text = _withhold(source, withheld.pop(module, {}), module)
        else:
            text = STAND_IN_MODULE
        (target / f"{module}.py").write_text(text, encoding="utf-8")
    if withheld:
        raise ValueError(f"withheld answers in modules the sandbox does not hold: {withheld}")
    compileall.compile_dir(target, quiet=1)
    for path in [Path(folder), *Path(folder).rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return Path(folder)


def _withhold(source, names, module):
    """`source` with the top-level definitions in `names` ({name: exercise}) replaced by
    stand-ins."""
    if not names:
        return source
    tree = ast.parse(source)
    found = set()
    for position, node in enumerate(tree.body):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name in names:
            kind = "cls" if isinstance(node, ast.ClassDef) else "function"
            tree.body[position] = ast.parse(
                f"{node.name} = _withheld.{kind}({node.name!r}, {names[node.name]!r})").body[0]
            found.add(node.name)
    if found != set(names):
        raise ValueError(f"nst_utils.{module} defines no {sorted(set(names) - found)} to withhold")
    docstring = ast.get_docstring(tree, clean=False) is not None
    tree.body.insert(1 if docstring else 0, ast.parse("from . import withheld as _withheld").body[0])
    return ast.unparse(tree) + "\n"


class Builds:
    """The sandbox libraries of one grading run, one per assignment, built when first needed and
    removed when the run ends (use with `with`)."""

    def __init__(self):
        self._root = tempfile.mkdtemp(prefix="nst-library-")
        self._folders, self._lock = {}, threading.Lock()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self._root, ignore_errors=True)

    def folder(self, exercises):
        """The folder holding `nst_utils` with the answers to `exercises` withheld."""
        key = tuple(sorted(exercises))
        with self._lock:
            if key not in self._folders:
                self._folders[key] = build(key, os.path.join(self._root, str(len(self._folders))))
            return self._folders[key]
