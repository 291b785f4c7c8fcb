"""The functions a notebook's demonstrations call: the library's, or the student's own.

Each notebook's settings cell has a switch, ``USE_MY_FUNCTIONS``, and an object made here::

    use = ExerciseFunctions(globals(), USE_MY_FUNCTIONS)

The demonstrations then call ``use.feature_reconstruction_loss(...)``, ``use.gram_matrix(...)``
and so on, and pass ``functions=use`` to `style_transfer`. With the switch off (the committed
solution runs) these are the library's functions; with it on (the students' versions, see
`nst_utils.grader.release`), they are those the student wrote in the exercise cells, so the
pictures are painted by the student's own code, and an answer that passes its checks but breaks
the optimisation shows up as a bad picture. An exercise still a stub (its code still raises
nbgrader's ``NotImplementedError``) is replaced by the library's, with one line that says so, so
that the notebook runs top to bottom before every exercise is done. The names are looked up when
used, because the exercise cells run after the settings.
"""

import inspect
from collections.abc import Mapping

from .index import references


def is_stub(answer):
    """Whether a student's function or class is still unwritten: its code (for a class, that of
    any of its methods) raises ``NotImplementedError``, as nbgrader's stub does."""
    functions = ([member for member in vars(answer).values() if inspect.isfunction(member)]
                 if inspect.isclass(answer) else [answer])
    return any("NotImplementedError" in getattr(getattr(function, "__code__", None),
                                                "co_names", ())
               for function in functions)


class ExerciseFunctions(Mapping):
    """The exercise functions a notebook's demonstrations use.

    As attributes: every exercise's function, the student's where `use_mine` is on and the
    notebook defines it (and it is no longer a stub), else the library's. As a mapping: only the
    student's functions in use ({} with the switch off), which is what `style_transfer`'s
    ``functions`` takes.
    """

    def __init__(self, namespace, use_mine):
        self._namespace, self._use_mine = namespace, bool(use_mine)
        self._announced = set()

    def _own(self):
        if not self._use_mine:
            return {}
        library = references()
        own = {name: self._namespace[name] for name in library
               if callable(self._namespace.get(name))
               and self._namespace[name] is not library[name]}
        for name in [name for name, answer in own.items() if is_stub(answer)]:
            del own[name]
            if name not in self._announced:  # once per name and notebook
                self._announced.add(name)
                print(f"USE_MY_FUNCTIONS: the library's {name} is used until yours is written "
                      "(it still raises NotImplementedError)")
        return own

    def __getattr__(self, name):
        library = references()
        if name.startswith("_") or name not in library:
            raise AttributeError(f"no exercise is called {name!r}; the exercises are "
                                 f"{', '.join(library)}")
        return self._own().get(name, library[name])

    def __getitem__(self, name):
        return self._own()[name]

    def __iter__(self):
        return iter(self._own())

    def __len__(self):
        return len(self._own())

    def __repr__(self):
        own = list(self._own())
        return f"your {', '.join(own)}; the library's others" if own else "the library's functions"
