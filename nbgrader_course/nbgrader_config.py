"""nbgrader 0.9 configuration for the nst notebooks: copy it into your nbgrader course folder.

Each solution notebook with exercises is an assignment of its own, named after the notebook
(`source/01_content_reconstruction/01_content_reconstruction.ipynb`, and so on); see the README's
section for instructors. `NST_QUICK=1 nbgrader autograde ...` runs the notebooks' demonstrations
at their quick setting (tiny images, two iterations), which is enough for grading: the checks do
not depend on them.

Autograde warns "Attribute 'checksum' for cell ... has changed!" for every test cell with hidden
tests: generate_assignment records the checksum before it removes the hidden tests from the
release, and autograde grades with the recorded cell (jupyter/nbgrader#1961). It is expected.
"""

import os

from nbconvert.preprocessors import TagRemovePreprocessor
from nbgrader.converters import GenerateAssignment

c = get_config()  # noqa: F821 - nbgrader defines it when it reads this file

QUICK = os.environ.get("NST_QUICK") == "1"
# The longest cell, notebook 03's 512 px showcase, took 6 minutes at the full setting on two CPU
# cores shared with other jobs (24 minutes on a busier machine before it was shortened) and under
# 30 s in quick mode; nbgrader's default, 30 s, fits neither.
c.ExecutePreprocessor.timeout = 300 if QUICK else 2400
# Run timestamps of the instructor's machine never reach the students.
c.ClearOutput.remove_metadata_fields = {"collapsed", "scrolled", "execution"}
# The claim cells (tag `claim`) hold the prose to the solution's run and answer its "predict
# first" questions: generate_assignment leaves them out, as `nst assign` does, before nbgrader's
# own steps.
c.GenerateAssignment.preprocessors = [
    TagRemovePreprocessor, *GenerateAssignment.class_traits()["preprocessors"].default()]
c.TagRemovePreprocessor.enabled = True
c.TagRemovePreprocessor.remove_cell_tags = {"claim"}
