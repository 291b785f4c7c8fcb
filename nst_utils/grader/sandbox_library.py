"""The library as a grading sandbox sees it: the graded exercises' answers are not in it.

The syntax-tree rules (`nst_utils.grader.rules`) catch the ways of borrowing an answer that they
know; this module makes the others impossible. While an assignment is graded, its sandbox imports
not the installed `nst_utils` (the sandbox never mounts it) but a build written here for that
assignment:

* the library (the package's own modules): every definition that computes a graded exercise's
  answer (its record's ``answer``) is replaced by a stand-in from `nst_utils.grader.withheld`;
* the exercises (`nst_utils.exercises`): of each exercise's module only what its ``probe``
  needs (imports, constants and the ``probe`` functions), and the probing tools; the judges,
  which compute the reference answers, are not there;
* the grader: only the modules that run in the sandbox (`WORKER_MODULES`).

Every other module is a stand-in module: importing it works, using it raises `Withheld`. Whatever
spelling, frame or module table a submission uses, the library's code for the exercise it is
graded on is not there to reach. The other exercises' answers stay, since the library's
functions that an exercise may use (the losses inside the total loss) are among them.
"""

import ast
import compileall
import functools
import os
import shutil
import tempfile
import threading
from pathlib import Path

from ..exercises import EXERCISES

PACKAGE_DIR = Path(__file__).resolve().parent.parent
#: The packages that are not the method: a module under these is the exercises' or the grader's.
GRADER_PACKAGES = ("exercises", "grader")
#: The grader's modules that run inside the sandbox: none of them knows an answer.
WORKER_MODULES = ("grader/__init__.py", "grader/worker.py", "grader/wire.py",
                  "grader/withheld.py")
#: The exercises' tools that their probes use inside the sandbox.
PROBING_MODULES = ("exercises/probing.py",)
STAND_IN_MODULE = ('"""Not in the grader\'s sandbox: see nst_utils.grader.sandbox_library."""\n'
                   "from nst_utils.grader.withheld import module as _module\n\n"
                   "__getattr__ = _module(__name__)\n")


@functools.cache
def library_modules():
    """The package's top-level modules that are the method: those that import neither the
    exercises nor the grader (the command line and the old names of moved modules do)."""
    return frozenset(path.name for path in PACKAGE_DIR.glob("*.py")
                     if not _imports_grader(path.read_text(encoding="utf-8")))


def _imports_grader(source):
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            names = [module + "." + alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            names = ["." + alias.name.removeprefix("nst_utils") for alias in node.names
                     if alias.name.startswith("nst_utils")]
        else:
            continue
        if any(name.lstrip(".").split(".")[0] in GRADER_PACKAGES for name in names):
            return True
    return False


def grader_module(name):
    """Whether the module called `name` (dotted) is the exercises' or the grader's code, or
    another module of the package that is not the method."""
    parts = name.split(".")
    if parts[0] != "nst_utils" or len(parts) < 2:
        return False
    return parts[1] in GRADER_PACKAGES or f"{parts[1]}.py" not in library_modules()


def withheld_answers(exercises):
    """{module path: {name: exercise}}: the library's definitions withheld for `exercises`."""
    withheld = {}
    for exercise in exercises:
        for dotted in EXERCISES[exercise].answer:
            module, name = dotted.split(".")
            withheld.setdefault(f"{module}.py", {}).setdefault(name, exercise)
    return withheld


def build(exercises, folder):
    """Write the sandbox's `nst_utils` for grading `exercises` into `folder`/nst_utils.

    Readable by everyone (a sandbox may run as a user id of its own) and compiled, since the
    sandbox cannot write Python's caches. Raises ValueError if a withheld definition is missing
    from its module, so that a renamed answer cannot slip through.
    """
    withheld = withheld_answers(exercises)
    probes = {_relative(EXERCISES[name].probe.__code__.co_filename) for name in EXERCISES}
    library = library_modules()
    target = Path(folder) / "nst_utils"
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        relative = path.relative_to(PACKAGE_DIR).as_posix()
        source = path.read_text(encoding="utf-8")
        if relative in library:
            text = _withhold(source, withheld.pop(relative, {}), relative)
        elif relative in WORKER_MODULES or relative in PROBING_MODULES:
            text = source
        elif relative in probes:
            text = _probe_only(source)
        else:
            text = STAND_IN_MODULE
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        (target / relative).write_text(text, encoding="utf-8")
    if withheld:
        raise ValueError(f"withheld answers in modules the sandbox does not hold: {withheld}")
    compileall.compile_dir(target, quiet=1)
    for path in [Path(folder), *Path(folder).rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return Path(folder)


def _relative(filename):
    return Path(filename).resolve().relative_to(PACKAGE_DIR).as_posix()


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
        raise ValueError(f"nst_utils/{module} defines no {sorted(set(names) - found)} to withhold")
    _insert_after_docstring(tree, "from nst_utils.grader import withheld as _withheld")
    return ast.unparse(tree) + "\n"


def _probe_only(source):
    """An exercise module reduced to its probe: its imports, its constants (literal values) and
    its ``probe`` functions; its inputs, judge, mistakes and record are not in the sandbox."""
    tree = ast.parse(source)
    tree.body = [node for node in tree.body if _probe_needs(node)]
    return ast.unparse(tree) + "\n"


def _probe_needs(node):
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return True
    if isinstance(node, ast.FunctionDef):
        return node.name.startswith("probe")
    if isinstance(node, ast.Expr):
        return isinstance(node.value, ast.Constant)  # the docstring
    if isinstance(node, ast.Assign):
        try:
            ast.literal_eval(node.value)
        except ValueError:
            return False
        return True
    return False


def _insert_after_docstring(tree, statement):
    docstring = ast.get_docstring(tree, clean=False) is not None
    tree.body.insert(1 if docstring else 0, ast.parse(statement).body[0])


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
