"""README.md runs as written: its shell blocks are extracted, the cheap commands run, and every
other command is listed below with the reason it is not run here (and where it is tested)."""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def shell_blocks():
    """README's ```bash blocks, each as a list of commands (continuation lines joined) with the
    comment that follows each command, if any."""
    blocks = []
    for block in re.findall(r"```bash\n(.*?)```", README, re.S):
        commands = []
        for line in block.replace("\\\n", " ").splitlines():
            command, _, comment = line.partition("#")
            if command.strip():
                commands.append((" ".join(command.split()), comment.strip()))
        blocks.append(commands)
    return blocks


COMMANDS = [command for block in shell_blocks() for command in block]

#: Commands not run here, by their first words, and why.
NOT_RUN = {
    "make demo": "a full transfer (about a minute); the demo's options are tested in test_cli",
    "make test": "the whole suite, which includes this test",
    "make test-fast": "the suite less its slow tests, which includes this test",
    "make lint": "ruff over the whole tree; make test runs it first",
    "make format": "rewrites files with ruff",
    "make test-jax": "the suite on JAX, in a virtual environment of its own (CI runs it)",
    "make test-torch": "the suite on PyTorch, whose wheel is several GB",
    "pip install": "installs from the network; tests/test_install.py installs the wheel",
    "KERAS_BACKEND=jax nst transfer": "a full transfer on JAX; tests/test_backend.py compares "
                                      "the backends",
    ".venv/bin/nst transfer images/": "a full transfer (a minute); the outputs must differ, "
                                      "checked below",
    ".venv/bin/nst weights": "downloads; the weights are fetched by make",
    ".venv/bin/nst assign": "writes the student versions; tests/test_nbgrader.py and "
                            "tests/test_otter.py run it",
    ".venv/bin/nst grade": "needs submissions; tests/test_grading.py grades some",
    "nbgrader ": "tests/test_nbgrader.py runs nbgrader on the notebooks",
    "NST_QUICK=1 nbgrader ": "tests/test_nbgrader.py autogrades submissions",
}

#: Commands run here, and what they must answer: (exit status, the stream README's comment
#: quotes, or None).
RUN = {
    ".venv/bin/nst transfer --help": (0, None),
    ".venv/bin/nst transfer --iterations abc": (2, "stderr"),
    ".venv/bin/nst transfer --iterations 0": (1, "stderr"),
}

#: The instructors' nbgrader set-up, run in an empty course folder.
COURSE_SETUP = ["mkdir -p source/01_content_reconstruction",
                'NOTEBOOKS=$(python -c "from nst_utils.bundled import NOTEBOOKS_DIR; '
                'print(NOTEBOOKS_DIR)")',
                'cp "$NOTEBOOKS/01_content_reconstruction.ipynb" source/01_content_reconstruction/']


def environment():
    """The environment of a shell in the checkout: this Python's tools first on PATH, and this
    checkout's package importable (the virtual environment may be another checkout's)."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    return {**os.environ, "PATH": path, "PYTHONPATH": str(ROOT)}


def test_every_command_is_run_here_or_said_why_not():
    unlisted = [command for command, _ in COMMANDS
                if command not in RUN and command not in COURSE_SETUP
                and not any(command.startswith(prefix) for prefix in NOT_RUN)]
    assert unlisted == []
    assert set(RUN) | set(COURSE_SETUP) <= {command for command, _ in COMMANDS}


@pytest.mark.parametrize("command", sorted(RUN))
def test_a_cheap_command_answers_as_readme_says(command):
    if not (ROOT / ".venv" / "bin" / "nst").exists():
        pytest.skip("no .venv here: make test creates it")
    status, stream = RUN[command]
    result = subprocess.run(command, shell=True, cwd=ROOT, capture_output=True, text=True,
                            env=environment(), timeout=120)
    assert result.returncode == status, result.stderr
    if stream:
        quoted = dict(COMMANDS)[command]
        said = getattr(result, stream).strip()
        assert said == quoted or (quoted.endswith("...") and said.startswith(quoted[:-3])), said


def test_the_transfers_write_different_files():
    outputs = [shlex.split(command)[shlex.split(command).index("-o") + 1]
               for command, _ in COMMANDS if " transfer " in command and " -o " in command]
    assert len(outputs) >= 2 and len(set(outputs)) == len(outputs)


@pytest.mark.slow
def test_the_course_setup_copies_the_notebook_from_wherever_nst_is(tmp_path):
    result = subprocess.run(" && ".join(COURSE_SETUP), shell=True, cwd=tmp_path,
                            capture_output=True, text=True, env=environment(), timeout=300)
    assert result.returncode == 0, result.stderr
    copied = tmp_path / "source" / "01_content_reconstruction" / "01_content_reconstruction.ipynb"
    assert copied.read_bytes() == (ROOT / "notebooks" / copied.name).read_bytes()


def test_environment_yml_installs_what_make_lab_installs():
    # What follows "- pip:" in the YAML file (PyYAML is not among the test dependencies).
    pip = re.findall(r'^ +- "(.*)"$', (ROOT / "environment.yml").read_text().split("- pip:")[1],
                     re.M)
    lab = re.search(r"^lab:.*?-e \"(\.\[[^\]]*\])\"", (ROOT / "Makefile").read_text(),
                    re.S | re.M).group(1)
    assert pip == [f"-e {lab}"]
