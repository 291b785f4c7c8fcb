"""The committed notebooks carry complete, fresh outputs of one top-to-bottom run, and no paths.

nbval (run by `pytest` on notebooks/) re-executes the notebooks and compares the cells marked
``# NBVAL_CHECK_OUTPUT`` with these stored outputs; the tests here make sure there is something
valid to compare with, and that nothing machine-specific was committed.
"""

import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
MARKER = "# NBVAL_CHECK_OUTPUT"
# Absolute paths of the machine that ran the notebook: home folders, the work tree, temp files.
ABSOLUTE_PATH = re.compile(r"(/work/|/root/|/home/|/Users/|/tmp/|[A-Za-z]:\\\\Users)")


def _code_cells(path):
    return [cell for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]


def _output_texts(cell):
    """Every piece of text in a cell's outputs (streams, tracebacks and text-like data)."""
    for output in cell.get("outputs", []):
        if "text" in output:
            yield output["text"]
        if "traceback" in output:
            yield "\n".join(output["traceback"])
        for mime, value in output.get("data", {}).items():
            if mime.startswith("text/") or mime.endswith("json"):
                yield value if isinstance(value, str) else str(value)


def test_the_notebooks_exist():
    names = [path.name for path in NOTEBOOKS]
    assert names == ["01_content_reconstruction.ipynb", "02_style_reconstruction.ipynb",
                     "03_style_transfer.ipynb", "04_beyond_gatys.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_every_code_cell_was_executed_in_order(path):
    counts = [cell.execution_count for cell in _code_cells(path)]
    assert None not in counts, f"{path.name}: cells never executed (execution_count is None)"
    assert counts == list(range(1, len(counts) + 1)), (
        f"{path.name}: execution counts {counts} are not 1, 2, 3, ... top to bottom; re-run the "
        "whole notebook from a fresh kernel before committing")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_checked_cells_have_outputs(path):
    checked = [cell for cell in _code_cells(path) if cell.source.lstrip().startswith(MARKER)]
    assert checked, f"{path.name} has no {MARKER} cell"
    for cell in checked:
        assert cell.execution_count is not None and cell.outputs, (
            f"{path.name}: checked cell without stored output:\n{cell.source[:200]}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_no_errors_and_no_absolute_paths_in_outputs(path):
    for cell in _code_cells(path):
        assert not any(output.output_type == "error" for output in cell.get("outputs", [])), (
            f"{path.name}: a cell ended with an error:\n{cell.source[:200]}")
        for text in _output_texts(cell):
            match = ABSOLUTE_PATH.search(text)
            assert match is None, (f"{path.name}: output shows an absolute path "
                                   f"({text[max(0, match.start() - 40):match.end() + 40]!r})")
