"""The functions a notebook's demonstrations call: the library's, or the student's own.

Each notebook's settings cell has a switch, ``USE_MY_FUNCTIONS``, and an object made here::

    use = ExerciseFunctions(globals(), USE_MY_FUNCTIONS)

The demonstrations then call ``use.feature_reconstruction_loss(...)``, ``use.gram_matrix(...)``
and so on, and pass ``functions=use`` to `style_transfer`. With the switch off (the committed
runs) these are the library's functions; with it on, they are those the student wrote in the
exercise cells, so an answer that passes its checks but breaks the optimisation shows up as a bad
picture. The names are looked up when used, because the exercise cells run after the settings.
"""

from collections.abc import Mapping

from .index import references


class ExerciseFunctions(Mapping):
    """The exercise functions a notebook's demonstrations use.

    As attributes: every exercise's function, the student's where `use_mine` is on and the
    notebook defines it, else the library's. As a mapping: only the student's functions in use
    ({} with the switch off), which is what `style_transfer`'s ``functions`` takes.
    """

    def __init__(self, namespace, use_mine):
        self._namespace, self._use_mine = namespace, bool(use_mine)

    def _own(self):
        if not self._use_mine:
            return {}
        library = references()
        return {name: self._namespace[name] for name in library
                if callable(self._namespace.get(name))
                and self._namespace[name] is not library[name]}

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
