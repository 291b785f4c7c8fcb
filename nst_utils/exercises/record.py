"""One exercise as one record: everything the checks and the grader need to know about it.

Each exercise module (``nst_utils/exercises/gram_matrix.py`` and its siblings) defines its
inputs, its probe, its judge and its classic mistakes, and ends with one `Exercise`. The
students' ✓/✗ checks (`nst_utils.exercises`) and the grader (`nst_utils.grader`) read nothing
else: adding an exercise is writing one such module and naming it in `nst_utils.exercises`.
"""

import importlib
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Exercise:
    """An exercise of the notebooks.

    * ``name``: the function or class the student writes, as the notebooks name it.
    * ``points``: what a complete answer scores (all or nothing).
    * ``summary``: what its check checks, in one sentence (the ``check_*`` function's docstring).
    * ``inputs``: ``inputs(seed)``, the case's NumPy arrays drawn from a seed; the students'
      checks use a fixed seed, the grader a fresh one per submission that never leaves the
      grader.
    * ``probe``: ``probe(fn, inputs)``, runs the student's code and keeps what it returns; the
      only half that runs inside the grader's sandbox (`nst_utils.exercises.probing`).
    * ``outputs``: the keys of the probe's raw outputs; a reply with other keys is malformed.
    * ``judge``: ``judge(inputs, raw)``, [(case description, problem or None)], computed with
      the library's reference outside the sandbox (`nst_utils.exercises.judging`).
    * ``mistakes``: the classic mistakes, name -> `judging.Mistake`, each with the hint that
      names it.
    * ``answer``: the library's definitions that compute the answer, as "module.name" in
      nst_utils; the first is the reference itself. Using any of them is borrowing, and the
      grader's sandbox holds none of them while the exercise is graded.
    * ``no_loops``: whether the exercise asks for a vectorised answer
      (`nst_utils.exercises.loops`).
    """

    name: str
    points: int
    summary: str
    inputs: Callable
    probe: Callable
    outputs: tuple
    judge: Callable
    mistakes: dict
    answer: tuple
    no_loops: bool = False

    @property
    def reference(self):
        """The library's own answer, the object students' work is compared with."""
        return library_object(self.answer[0])

    @property
    def check_name(self):
        """The name of the student's check: ``check_gram_matrix``, ``check_evaluator``."""
        return f"check_{self.name.lower()}"


def library_object(dotted):
    """The library's object at "module.name" inside nst_utils."""
    module, name = dotted.split(".")
    return getattr(importlib.import_module(f"nst_utils.{module}"), name)
