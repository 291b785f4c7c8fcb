"""The old name of the exercises' checks, kept working for student notebooks released before
the exercises moved: use `nst_utils.exercises` (``from nst_utils.exercises import
check_gram_matrix``)."""

from .exercises import *  # noqa: F401,F403
from .exercises import CHECKS, EXERCISES, STUDENT_SEED, CheckResult  # noqa: F401

#: Points per exercise, as the old module had them.
POINTS = {name: record.points for name, record in EXERCISES.items()}
