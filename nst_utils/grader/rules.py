"""What a submitted exercise may not do, judged by the grader from the submission's syntax trees.

These rules run in the trusted grader, before and apart from the sandbox, on the cells that the
sandbox will execute. An exercise breaks them, and scores 0 with a reason, when its function (or
class) or the code around it in its cell:

* uses the library's own implementation of that exercise, under any name: imported with an alias,
  reached through another module (``nst.transfer.normalized_gram``), or through the exercises' and
  the grader's own modules (``nst_utils.exercises``, ``nst_utils.grader``...);
* uses a module for files, processes, imports or introspection (``os``, ``sys``, ``importlib``,
  ``inspect``...), a file-reading or -writing method (``open``, ``np.load``, ``read_text``...),
  or changes an attribute of a module (``np.allclose = ...``);
* runs code it builds at run time or reaches objects by computed names: ``exec``, ``eval``,
  ``compile``, ``__import__``, ``globals()``, ``vars()``, ``getattr`` with a computed name,
  ``__dict__``, ``__builtins__`` and other dunder attributes.

Legitimate uses of the library stay allowed: ``nst.build_vgg`` in the Evaluator, the library's
losses inside the total loss, ``keras.ops`` everywhere. The no-loop rule of some exercises is also
decided here, from the submitted tree, and judged with the other cases (`loop_problem`); the
students' checks apply the same rule (`nst_utils.exercises.loops`) to their function's source.
"""

import ast
import builtins
import importlib

from ..exercises import EXERCISES
from ..exercises.loops import loop_verdict
from ..exercises.record import library_object
from .sandbox_library import grader_module

#: The library's own answer to each exercise: using any of these scores 0 for that exercise.
#: The grader's sandbox does not hold them either (`nst_utils.grader.sandbox_library`); this rule
#: is the students' early warning and the grader's first line, which names what was borrowed.
BORROWED = {name: [library_object(dotted) for dotted in record.answer]
            for name, record in EXERCISES.items()}
#: Modules no exercise needs: files, processes, imports, introspection, the network.
FORBIDDEN_MODULES = {
    "os", "posix", "sys", "io", "pathlib", "shutil", "glob", "tempfile", "fcntl", "mmap",
    "subprocess", "multiprocessing", "threading", "concurrent", "signal", "resource", "pty",
    "socket", "select", "asyncio", "urllib", "http", "requests", "importlib", "pkgutil",
    "zipimport", "runpy", "site", "sysconfig", "builtins", "gc", "inspect", "types", "ctypes",
    "code", "codeop", "dis", "ast", "tokenize", "linecache", "pickle", "marshal", "copyreg",
    "operator", "atexit", "json", "nbformat", "nbclient", "IPython", "ipykernel"}
FORBIDDEN_CALLS = {"exec", "eval", "compile", "__import__", "globals", "vars", "locals", "open",
                   "breakpoint", "input", "setattr", "delattr"}
FILE_METHODS = {"open", "read_text", "read_bytes", "write_text", "write_bytes", "load", "save",
                "savez", "savez_compressed", "loadtxt", "savetxt", "genfromtxt", "fromfile",
                "tofile", "memmap", "read_file", "write_file", "get_file", "load_model",
                "system", "popen"}
ALLOWED_DUNDERS = {"__init__", "__call__", "__name__"}


def violations(cells, exercises):
    """The rules' verdicts on a submission: ({exercise: reason}, {cell position: reason}).

    `cells` are the (index, source, exercise names) triples the sandbox would run, in order; the
    first is the grader's own preamble. The second dict holds the cells that must not run at
    all: code that breaks a rule other than borrowing one exercise's answer could change what
    the other exercises appear to return, so it is never executed. Their exercises score 0.
    """
    trees = [(_parse(source), names) for _, source, names in cells]
    aliases, stars, own = _bindings(trees)
    designated = {name: position for position, (_, names) in enumerate(trees) for name in names}
    per_exercise, blocked = {}, {}
    for position, (tree, names) in enumerate(trees[1:], start=1):
        if tree is None:
            continue
        reason = _rebinding(tree, position, designated)
        if names and not reason:
            reason = _first_violation(tree.body, None, aliases, stars, own)
        if reason:
            blocked[position] = reason
        for name in names:
            if name in exercises:
                reason = _first_violation(_scope(tree, name, names), name, aliases, stars, own)
                if reason or position in blocked:
                    per_exercise[name] = reason or (
                        f"not run: its cell breaks the grader's rules ({blocked[position]})")
    return per_exercise, blocked


def _rebinding(tree, position, designated):
    """Why a cell's code replaces an exercise's function from outside its own cell, or None."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            return "uses a star import, which could replace an exercise's function"
        if isinstance(node, (ast.Global, ast.Nonlocal)) and set(node.names) & set(designated):
            return "declares an exercise's name global"
    for node in tree.body:
        bound = _top_level_names(node)
        for name in bound & set(designated):
            if not (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                    and designated[name] == position):
                return f"rebinds {name} outside its own definition"
    return None


def _top_level_names(node):
    """The names a top-level statement binds in the notebook's namespace."""
    names, stack = set(), [node]
    while stack:
        child = stack.pop()
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(child.name)
            continue  # what its body binds is local to it
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in child.names}
        elif isinstance(child, ast.Name) and isinstance(child.ctx, (ast.Store, ast.Del)):
            names.add(child.id)
        elif isinstance(child, ast.Lambda):
            continue
        stack.extend(ast.iter_child_nodes(child))
    return names


def loop_problem(cells, exercise):
    """The no-loop rule's verdict on the submitted definition of `exercise` (None: no loop)."""
    for _, source, names in cells:
        tree = _parse(source) if exercise in names else None
        definition = tree and _definition(tree, exercise)
        if definition is not None:
            return loop_verdict(definition, source.split("\n"))
    return None


def _parse(source):
    try:
        return ast.parse(source)
    except (SyntaxError, ValueError, RecursionError):
        return None  # the sandbox reports the error when it runs the cell


def _definition(tree, name):
    """The last top-level definition of `name` in a cell: the one in force after it runs."""
    found = None
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and (
                node.name == name):
            found = node
    return found


def _scope(tree, exercise, names):
    """The code an exercise runs with: its definition and what its cell runs besides other
    exercises' definitions (imports, helpers, assignments)."""
    others = {name for name in names if name != exercise}
    definition = _definition(tree, exercise)
    return [node for node in tree.body
            if not (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                    and (node.name in others or node.name == exercise))] + (
        [definition] if definition is not None else [])


def _bindings(trees):
    """Names bound to modules or library objects by imports and simple assignments, names bound
    by star imports, and the names that cells define themselves."""
    aliases, stars, own = {}, [], set()
    for tree, _ in trees:
        for node in ast.walk(tree) if tree else []:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        aliases[alias.asname] = alias.name
                    else:
                        root = alias.name.split(".")[0]
                        aliases[root] = root
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    if alias.name == "*":
                        stars.append(node.module)
                    else:
                        aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                own.add(node.name)
    for _ in range(3):  # `l = nst.losses` then `g = l.gram_matrix`
        for tree, _ in trees:
            for node in ast.walk(tree) if tree else []:
                for target, value in _assignments(node):
                    path = _path(value, aliases, stars, own)
                    if path and isinstance(target, ast.Name):
                        aliases[target.id] = path
    return aliases, stars, own


def _assignments(node):
    if isinstance(node, ast.Assign):
        for target in node.targets:
            if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                yield from zip(target.elts, node.value.elts)
            else:
                yield target, node.value
    elif isinstance(node, (ast.AnnAssign, ast.NamedExpr)) and node.value is not None:
        yield node.target, node.value


def _path(node, aliases, stars, own):
    """The dotted path a Name or attribute chain stands for, if it starts at an imported name."""
    attributes = []
    while isinstance(node, ast.Attribute):
        attributes.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id in own:
        return None
    root = aliases.get(node.id) or _star_path(node.id, stars)
    return ".".join([root, *reversed(attributes)]) if root else None


def _star_path(name, stars):
    """`module.name` if a star import of the library or of a forbidden module bound `name`."""
    if hasattr(builtins, name):
        return None
    for module in stars:
        root = module.split(".")[0]
        try:
            if root == "nst_utils":
                source = _resolve(module)[-1]
            elif root in FORBIDDEN_MODULES:
                source = importlib.import_module(module)
            else:
                continue
        except ImportError:
            continue
        if hasattr(source, name):
            return f"{module}.{name}"
    return None


def _first_violation(nodes, exercise, aliases, stars, own):
    for top in nodes:
        for node in ast.walk(top):
            reason = _node_violation(node, exercise, aliases, stars, own)
            if reason:
                return reason
    return None


def _node_violation(node, exercise, aliases, stars, own):
    """Why one node breaks a rule for `exercise` (None: the rules for every exercise), or None."""
    if isinstance(node, ast.Name) and node.id not in own:
        if _dunder(node.id):
            return f"uses {node.id}, which no exercise needs"
        if node.id in FORBIDDEN_CALLS and node.id not in aliases:
            return f"uses {node.id}(), which the grader does not allow: write the code itself"
    if isinstance(node, ast.Attribute) and _dunder(node.attr):
        return f"uses .{node.attr}, which no exercise needs"
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in FILE_METHODS:
            return f"reads or writes files or runs programs (.{func.attr}), which no exercise needs"
        if isinstance(func, ast.Name) and func.id in ("getattr", "hasattr") and (
                len(node.args) < 2 or not isinstance(node.args[1], ast.Constant)):
            return f"uses {func.id} with a computed name, which the grader does not allow"
    for target in _changed(node):
        path = _path(target, aliases, stars, own)
        if path and isinstance(target, ast.Attribute):
            return f"changes {path}, which a submission may not do"
    if isinstance(node, ast.ImportFrom) and node.module and not node.level:
        paths = [f"{node.module}.{alias.name}" for alias in node.names]
    elif isinstance(node, ast.Import):
        paths = [alias.name for alias in node.names]
    elif isinstance(node, (ast.Name, ast.Attribute)):
        paths = [_path(node, aliases, stars, own)]
    else:
        paths = []
    return next(filter(None, (_path_violation(path, exercise) for path in paths if path)), None)


def _changed(node):
    if isinstance(node, (ast.Assign, ast.Delete)):
        return node.targets
    if isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        return [node.target]
    return []


def _dunder(name):
    return name.startswith("__") and name.endswith("__") and name not in ALLOWED_DUNDERS


def _path_violation(path, exercise):
    """Why using the object at dotted `path` breaks a rule for `exercise`, or None."""
    root = path.split(".")[0]
    if root in FORBIDDEN_MODULES:
        return f"uses the {root} module, which no exercise needs (no files, processes or imports)"
    if root != "nst_utils":
        return None
    chain = _resolve(path) or []
    for depth, obj in enumerate(chain):
        name = getattr(obj, "__name__", "")
        if grader_module(name) or grader_module(getattr(obj, "__module__", None) or ""):
            return f"uses {'.'.join(path.split('.')[:depth + 1])}, the grader's own code"
        if exercise and any(obj is borrowed for borrowed in BORROWED[exercise]):
            return (f"borrowed answer: uses the library's own {obj.__module__}."
                    f"{obj.__qualname__} instead of its own code")
    return None


def _resolve(path):
    """The objects along dotted `path` inside the trusted nst_utils, as far as they exist."""
    parts = path.split(".")
    chain = [importlib.import_module("nst_utils")]
    for depth, part in enumerate(parts[1:], start=2):
        module = ".".join(parts[:depth])
        if hasattr(chain[-1], part):
            chain.append(getattr(chain[-1], part))
            continue
        try:
            chain.append(importlib.import_module(module))
        except ImportError:
            break
    return chain
