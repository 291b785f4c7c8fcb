"""The instructor's grader: releasing the notebooks and grading what students hand in.

Releasing: `release` (student versions, `nst assign`) and `otter` (otter-grader master notebooks),
from what `notebooks` finds in the solution notebooks. Grading (`nst grade`): `grading` reads each
file (`submissions`, `reading`), checks its syntax trees (`rules`), runs it in an OS sandbox
(`sandbox`, `jail`, `worker`, `wire`) against a library without the graded answers
(`sandbox_library`, `withheld`), judges with the exercises' records (`nst_utils.exercises`) and
writes the `gradebook`. Imports run one way: the grader uses the exercises and the library,
never the reverse.
"""
