"""What the grader's sandbox holds in place of the library's answers.

While an assignment is graded, the sandbox imports a build of `nst_utils` in which each graded
exercise's reference implementation is replaced by a stand-in made here
(`nst_utils.grader.sandbox_library` writes that build; nothing of the answer's code is in it). A
stand-in for an exercise's own name (``gram_matrix`` while ``gram_matrix`` is graded) calls the
submission's definition of that name, so library code that needs the function gets the student's;
any other use, such as a student's ``gram_matrix`` that calls the library's, raises `Withheld`. The
library's modules that only the grader and the checks use are replaced by stand-in modules:
importing them works, using anything from them raises `Withheld`.
"""

import threading

_submission = {}
_active = threading.local()


class Withheld(RuntimeError):
    """The library's own answer to an exercise was used while that exercise is graded."""


def use_submission(namespace):
    """Let stand-ins call the submission's own functions, looked up in `namespace` when used."""
    global _submission
    _submission = namespace


def _calling():
    if not hasattr(_active, "names"):
        _active.names = set()
    return _active.names


def _refuse(name, exercise):
    if name == exercise:
        return Withheld(f"uses the library's own {name}, which is withheld while {exercise} is "
                        "graded; write it yourself")
    return Withheld(f"uses the library's {name}, which computes the answer to {exercise} and is "
                    f"withheld while {exercise} is graded")


def _own(name, exercise, stand_in):
    """The submission's own `name`, when the stand-in may hand over to it, else None."""
    own = _submission.get(name) if name == exercise else None
    if callable(own) and own is not stand_in and name not in _calling():
        return own
    return None


def _hand_over(own, name, exercise, args, kwargs):
    """Call the submission's own `name` for the library; `Withheld` where there is none."""
    if own is None:
        raise _refuse(name, exercise)
    _calling().add(name)  # its own use of the stand-in, from here on, is borrowing
    try:
        return own(*args, **kwargs)
    finally:
        _calling().discard(name)


def function(name, exercise):
    """The stand-in for the library's function `name` while `exercise` is graded."""
    def stand_in(*args, **kwargs):
        return _hand_over(_own(name, exercise, stand_in), name, exercise, args, kwargs)

    stand_in.__name__ = stand_in.__qualname__ = name
    stand_in.__doc__ = f"Withheld while {exercise} is graded."
    return stand_in


def cls(name, exercise):
    """The stand-in for the library's class `name`: building one builds the submission's own
    class; a subclass (the student's own, or the library's) cannot be built."""
    def __new__(kind, *args, **kwargs):
        own = _own(name, exercise, stand_in) if kind is stand_in else None
        return _hand_over(own, name, exercise, args, kwargs)

    stand_in = type(name, (), {"__new__": __new__, "__doc__": f"Withheld while {exercise} is "
                                                               "graded."})
    return stand_in


def module(module_name):
    """A module's ``__getattr__`` for a module the sandbox does not hold: every public name is
    a function that raises `Withheld`, so that importing from the module still works."""
    def __getattr__(attribute):
        if attribute.startswith("__"):
            raise AttributeError(attribute)

        def stand_in(*args, **kwargs):
            raise Withheld(f"uses {module_name}.{attribute}, which is not available while "
                           "grading")

        stand_in.__name__ = stand_in.__qualname__ = attribute
        return stand_in

    return __getattr__
