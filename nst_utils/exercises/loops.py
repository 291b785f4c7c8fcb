"""The no-loop rule of the exercises that ask for a vectorised answer.

One implementation for the students' checks (on their function's source, read with `inspect`) and
for the grader (on the submitted cell's syntax tree, `nst_utils.grader.rules`).
"""

import ast

#: What the no-loop rule says of a loop over the data, and of a function not written yet.
LOOP_PROBLEM = ("uses a loop on line {line} ({text}); this exercise asks for a vectorised "
                "version with keras.ops (only a loop over a shape is allowed, such as "
                "H, W, C = [int(j) for j in x.shape])")
NOT_WRITTEN = "nothing to check yet: the function only raises NotImplementedError"
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)
def loop_verdict(definition, lines, first_line=1):
    """The no-loop rule, one implementation for the students' checks and the grader.

    `definition` is the syntax tree of the student's function, parsed from `lines`, whose first
    line is line `first_line` of its cell (or file). The rule: no ``while`` loop, and no ``for``
    loop or comprehension except over a shape: its iterable is ``x.shape``, a call of a function
    named ``shape`` or ``int_shape`` (``ops.shape(x)``, ``tf.shape(x)``), or a slice of either
    (``x.shape[1:]``). So ``H, W, C = [int(j) for j in x.shape]`` is allowed, and a loop over
    indices (``range(C)``) or over the tensor's values is not. Returns None (allowed), the
    problem naming the first offending line, or `NOT_WRITTEN` for a stub.
    """
    if _is_stub(definition):
        return NOT_WRITTEN
    lines_of_loops = [line for node in ast.walk(definition) for line in _loop_lines(node)]
    if not lines_of_loops:
        return None
    line = min(lines_of_loops)
    text = lines[line - 1].strip() if line <= len(lines) else "?"
    return LOOP_PROBLEM.format(line=line + first_line - 1,
                               text=text if len(text) <= 80 else text[:77] + "...")


def _loop_lines(node):
    """The lines where `node` loops over something other than a shape (its `for` clauses)."""
    if isinstance(node, ast.While):
        return [node.lineno]
    if isinstance(node, (ast.For, ast.AsyncFor)):
        return [] if _over_shape(node.iter) else [node.lineno]
    if isinstance(node, _COMPREHENSIONS):
        return [loop.target.lineno for loop in node.generators if not _over_shape(loop.iter)]
    return []


def _over_shape(node):
    """Whether an iterable is a shape (x.shape, shape(x), int_shape(x)) or a slice of one."""
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
        node = node.value
    if isinstance(node, ast.Attribute):
        return node.attr == "shape"
    if isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        return name in ("shape", "int_shape")
    return False


def _is_stub(definition):
    """Whether a function's body is only a docstring, ``pass`` and ``raise NotImplementedError``."""
    body = [statement for statement in getattr(definition, "body", [])
            if not isinstance(statement, ast.Pass) and not (
                isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant))]
    return bool(body) and all(
        isinstance(statement, ast.Raise) and "NotImplementedError" in ast.unparse(statement)
        for statement in body)


