"""The committed notebooks carry complete, fresh outputs of one top-to-bottom run that renders in
every viewer, and no paths.

nbval (run by `pytest` on notebooks/, strict: `--nbval` in pyproject.toml) re-executes the
notebooks and compares every cell's output with these stored outputs, after the sanitizers of
notebooks/sanitize.cfg; only cells tagged ``nbval-ignore-output`` are exempt. The tests here make
sure there is something valid to compare with, that it is small and viewable without widgets,
and that the prose does not quote times, counts of runs or patch sizes the code and outputs
contradict.

Claim cells (tagged ``claim``, and ``nbval-ignore-output`` as their lines differ between the
settings) hold the prose's numbers and descriptions to the values the cells computed: each
asserts what the markdown around it says, at the full setting (the committed run) and, where
the claim holds there too, under ``NST_QUICK``; a claim that only makes sense at the full
setting is skipped in quick mode with one printed line. nbval runs them, so a re-execution
whose numbers move fails the claim instead of leaving a wrong sentence. The student versions
leave them out (`nst_utils.grader.notebooks.is_claim`).
"""

import base64
import io
import re
import tomllib
from pathlib import Path

import nbformat
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
SIZE_BUDGET = 3_000_000  # bytes per committed solution notebook
CHECK_TAG, IGNORE_TAG, CLAIM_TAG = "nbval-check-output", "nbval-ignore-output", "claim"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
# Absolute paths of the machine that ran the notebook: home folders, the work tree, temp files.
ABSOLUTE_PATH = re.compile(r"(/work/|/root/|/home/|/Users/|/tmp/|[A-Za-z]:\\\\Users)")
# A time quoted in prose: "131 s", "2.5 seconds", "4 min", "about 90 s".
QUOTED_TIME = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)\s?(s|seconds?|min|minutes?)\b")
# A count of runs named in prose ("runs twelve transfers"), which the notebook must print
# ("transfers run: 12"), and a patch size ("the same 32x32 patch"), which its outputs must print.
RUN_COUNT = re.compile(r"\bruns (\w+) (transfers|reconstructions|syntheses)\b")
PATCH = re.compile(r"\b(\d+)\s?[x×]\s?(\d+)(?:[- ]pixels?| px)? patch\b")
NUMBER_WORDS = {word: number for number, word in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty".split())}
# README's times of the committed run: "04 151 s" (the notebook prints its own time).
README_TIME = re.compile(r"\b(0\d) (\d+) s\b")
# A text progress bar that did not finish: "lbfgs:  40%|####      | 20/50".
UNFINISHED_BAR = re.compile(r"\b(\d{1,2})%\|")


def _cells(path, cell_type="code"):
    return [cell for cell in nbformat.read(path, as_version=4).cells
            if cell.cell_type == cell_type]


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


def _images(cell):
    """Every PNG and JPEG a cell's outputs hold, as PIL images."""
    for output in cell.get("outputs", []):
        for mime in ("image/png", "image/jpeg"):
            if mime in output.get("data", {}):
                yield Image.open(io.BytesIO(base64.b64decode(output["data"][mime])))


def test_the_notebooks_exist():
    names = [path.name for path in NOTEBOOKS]
    assert names == ["01_content_reconstruction.ipynb", "02_style_reconstruction.ipynb",
                     "03_style_transfer.ipynb", "04_beyond_gatys.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_every_code_cell_was_executed_in_order(path):
    counts = [cell.execution_count for cell in _cells(path)]
    assert None not in counts, f"{path.name}: cells never executed (execution_count is None)"
    assert counts == list(range(1, len(counts) + 1)), (
        f"{path.name}: execution counts {counts} are not 1, 2, 3, ... top to bottom; re-run the "
        "whole notebook from a fresh kernel before committing")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_nbval_markers_are_tags_on_cells_with_outputs(path):
    """nbval's markers are cell tags (nothing in the source that would reach students)."""
    checked = [cell for cell in _cells(path) if CHECK_TAG in cell.metadata.get("tags", [])]
    assert checked, f"{path.name} has no cell tagged {CHECK_TAG}"
    for cell in checked:
        assert cell.execution_count is not None and cell.outputs, (
            f"{path.name}: checked cell without stored output:\n{cell.source[:200]}")
    for cell in _cells(path):
        assert "NBVAL" not in cell.source, (
            f"{path.name}: nbval comment marker in a cell's source; use a cell tag:\n"
            f"{cell.source[:200]}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_no_errors_and_no_absolute_paths_in_outputs(path):
    for cell in _cells(path):
        assert not any(output.output_type == "error" for output in cell.get("outputs", [])), (
            f"{path.name}: a cell ended with an error:\n{cell.source[:200]}")
        for text in _output_texts(cell):
            match = ABSOLUTE_PATH.search(text)
            assert match is None, (f"{path.name}: output shows an absolute path "
                                   f"({text[max(0, match.start() - 40):match.end() + 40]!r})")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_size_budget(path):
    size = path.stat().st_size
    assert size < SIZE_BUDGET, (
        f"{path.name} is {size / 1e6:.2f} MB, over the {SIZE_BUDGET / 1e6:.0f} MB budget: show "
        "photos as JPEG (nst_utils.display) and fewer or smaller figures")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_no_widget_only_progress(path):
    """Every output renders without widget support: no widget views, no half-drawn text bars."""
    assert "widgets" not in nbformat.read(path, as_version=4).metadata, (
        f"{path.name}: widget state in the notebook's metadata")
    for cell in _cells(path):
        for output in cell.get("outputs", []):
            assert WIDGET_MIME not in output.get("data", {}), (
                f"{path.name}: a widget output (a tqdm.auto progress bar?), which GitHub and "
                f"nbviewer show as its first state; pass progress=False:\n{cell.source[:200]}")
        for text in _output_texts(cell):
            stuck = [int(p) for p in UNFINISHED_BAR.findall(text.split("\r")[-1])]
            assert all(percent == 100 for percent in stuck), (
                f"{path.name}: an unfinished progress bar in the output:\n{text[-200:]}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_quoted_times_come_from_the_outputs(path):
    """A run time quoted in the prose must be printed by the committed run itself."""
    outputs = "\n".join(text for cell in _cells(path) for text in _output_texts(cell))
    printed = {float(value) for value, _ in QUOTED_TIME.findall(outputs)}
    for cell in _cells(path, "markdown"):
        for value, unit in QUOTED_TIME.findall(cell.source):
            seconds = float(value) * (60 if unit.startswith("min") else 1)
            assert seconds in printed or float(value) in printed, (
                f"{path.name}: the prose quotes {value} {unit}, which no output of the committed "
                f"run prints; re-run and quote the printed time, or leave it out")


def _comments(source):
    return "\n".join(line.split("#", 1)[1] for line in source.split("\n") if "#" in line)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_prose_counts_patches_and_times_agree_with_the_code_and_outputs(path):
    """A count of runs or a patch size named in the prose or a code comment must be what the
    committed run printed; the README's time for a notebook that prints its own must be it."""
    outputs = "\n".join(text for cell in _cells(path) for text in _output_texts(cell))
    prose = [cell.source for cell in _cells(path, "markdown")]
    prose += [_comments(cell.source) for cell in _cells(path)]
    for text in prose:
        for word, noun in RUN_COUNT.findall(text):
            count = NUMBER_WORDS.get(word.lower(), word)
            printed = re.findall(noun + r" run: \d+", outputs) or "no count"
            assert f"{noun} run: {count}\n" in outputs, (
                f"{path.name}: the prose says it runs {word} {noun}, but the committed run "
                f"printed {printed}")
        for rows, cols in PATCH.findall(text):
            printed = re.findall(r"patch: \d+x\d+", outputs) or "no patch size"
            assert f"{rows}x{cols}" in outputs, (
                f"{path.name}: the prose names a {rows}x{cols} patch, but the committed run "
                f"printed {printed}")
    total = re.search(r"Whole notebook: (\d+) s", outputs)
    for number, seconds in README_TIME.findall((ROOT / "README.md").read_text()):
        if total and path.name.startswith(number):
            assert seconds == total.group(1), (
                f"README quotes {seconds} s for {path.name}, whose committed run printed "
                f"{total.group(0)}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_claim_cells_assert_and_say_when_they_are_skipped(path):
    """Every notebook holds its prose to its values in claim cells (see the module docstring)."""
    claims = [cell for cell in _cells(path) if CLAIM_TAG in cell.metadata.get("tags", [])]
    assert claims, f"{path.name} has no cell tagged {CLAIM_TAG}"
    for cell in claims:
        assert IGNORE_TAG in cell.metadata["tags"], cell.source[:200]
        assert "assert " in cell.source, cell.source[:200]
        if "if QUICK:" in cell.source:
            quick = cell.source.split("if QUICK:")[1].split("else:")[0]
            assert "print(" in quick and "full setting only" in quick, cell.source[:300]
    student = NOTEBOOKS_DIR / "student" / path.name
    if student.exists():
        assert not [cell for cell in nbformat.read(student, as_version=4).cells
                    if CLAIM_TAG in cell.metadata.get("tags", [])], f"claim cells in {student}"


def test_showcase_panels_are_at_least_512_pixels_wide():
    """Notebook 03's showcase shows each bundled pair's result at 512 px, pixel for pixel."""
    path = NOTEBOOKS_DIR / "03_style_transfer.ipynb"
    showcase = [cell for cell in _cells(path) if "show.show_result(" in cell.source]
    assert showcase, "notebook 03 has no showcase cell (show.show_result)"
    widths = [image.width for cell in showcase for image in _images(cell)]
    # show_result draws the result at its own resolution with the inputs at half its width.
    assert len([width for width in widths if width >= 512 * 3 // 2]) >= 3, widths


def test_the_animation_is_an_inline_gif_that_plays():
    path = NOTEBOOKS_DIR / "03_style_transfer.ipynb"
    gifs = [re.search(r'data:image/gif;base64,([^"]+)"', text)
            for cell in _cells(path) for text in _output_texts(cell)]
    gifs = [Image.open(io.BytesIO(base64.b64decode(m.group(1)))) for m in gifs if m]
    assert gifs, "notebook 03 shows no animated GIF"
    assert all(gif.n_frames > 5 and gif.info.get("loop") == 0 for gif in gifs)


def test_written_answers_are_manually_graded_cells_without_the_model_answer():
    """Written questions: nbgrader answer cells; the model answers never reach students."""
    solution = nbformat.read(NOTEBOOKS_DIR / "03_style_transfer.ipynb", as_version=4)
    student = nbformat.read(NOTEBOOKS_DIR / "student" / "03_style_transfer.ipynb", as_version=4)
    answers = [cell for cell in solution.cells if cell.cell_type == "markdown"
               and cell.metadata.get("nbgrader", {}).get("grade")]
    assert len(answers) >= 3
    student_text = nbformat.writes(student)
    for cell in answers:
        meta = cell.metadata["nbgrader"]
        assert meta["solution"] and meta["points"] > 0 and not meta["locked"], meta
        model = cell.source.split("### BEGIN SOLUTION\n")[1].split("\n### END SOLUTION")[0]
        sentence = max(model.split("."), key=len).strip()
        assert len(sentence) > 40 and sentence not in student_text, sentence
    assert not [cell for cell in solution.cells if cell.source.startswith("%%markdown")]


def test_pytest_runs_nbval_strict_with_the_committed_sanitizers():
    options = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"][
        "ini_options"]["addopts"].split()
    assert "--nbval" in options and "--nbval-lax" not in options, options
    sanitizers = options[options.index("--nbval-sanitize-with") + 1]
    assert (ROOT / sanitizers).is_file(), sanitizers
