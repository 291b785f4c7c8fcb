"""nst installs anywhere: as a built wheel, beside a preinstalled TensorFlow, in a hosted notebook.

The wheel is built once per run from a copy of the checkout's files (nothing is written into the
checkout) with the project venv's setuptools, offline. "A fresh environment" is a new venv of the
same Python, without pip, that sees the project venv's site-packages through a .pth line: the
dependencies (TensorFlow above all) are reused instead of downloaded, but the .pth files of the
project venv are not processed, so its editable install of the checkout stays invisible; the
tests check that `nst_utils` is imported from the new venv. Cost, measured on two busy CPU cores
(load 6): 97 s in all; building the wheel 4 s, the venv and its first import 16 s, the tiny
`nst transfer` and `nst assign` 37 s, three pip dry runs 16 s, one sandbox 10 s.
"""

import json
import os
import re
import shutil
import site
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from email.parser import Parser
from importlib import metadata
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager
from PIL import Image

import nst_utils
from nst_utils import weights
from nst_utils.bundled import IMAGES_DIR, NOTEBOOKS_DIR
from nst_utils.grader import grading, notebooks, sandbox

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
STUDENT_VERSIONS = sorted((ROOT / "notebooks" / "student").glob("[0-9][0-9]_*.ipynb"))
REPOSITORY = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
INSTALL_COMMAND = f'%pip install --quiet "nst @ git+{REPOSITORY}"'
#: What the extra `cpu` installs here (tensorflow-cpu has no macOS build).
CPU_BUILD = "tensorflow" if sys.platform == "darwin" else "tensorflow-cpu"
#: What is not part of the source: environments, outputs, caches.
NOT_SOURCE = shutil.ignore_patterns(".venv", ".git", "build", "results", "student", "*.egg-info",
                                    "__pycache__", ".pytest_cache", ".ipynb_checkpoints")


def _clean_env():
    """This environment without pip's machine configuration and without PYTHONPATH."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("PIP_") and key != "PYTHONPATH"}
    return {**env, "PIP_CONFIG_FILE": os.devnull, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def _run(command, **options):
    done = subprocess.run([str(part) for part in command], capture_output=True, text=True,
                          env=_clean_env(), **options)
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done


def _venv(path):
    """A new venv of this Python, without pip; returns its site-packages folder."""
    _run([sys.executable, "-m", "venv", "--without-pip", path])
    return Path(sysconfig.get_path("purelib", vars={"base": str(path)}))


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel built from a copy of the checkout's sources."""
    source, out = tmp_path_factory.mktemp("source") / "nst", tmp_path_factory.mktemp("wheel")
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
          "--no-index", "--quiet", "--wheel-dir", out, source])
    (built,) = out.glob("nst-*.whl")
    return built


@pytest.fixture(scope="module")
def wheel_venv(wheel, tmp_path_factory):
    """A fresh venv with the wheel installed; the dependencies come from the project venv."""
    venv = tmp_path_factory.mktemp("venv") / "venv"
    packages = _venv(venv)
    (packages / "project_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    _run([venv / "bin" / "python", "-m", "pip", "install", "--no-deps", "--no-index",
          "--ignore-installed", "--quiet", wheel])
    return venv


@pytest.mark.slow
def test_the_wheel_carries_the_images_and_the_solution_notebooks(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for folder, bundled in (("images", IMAGES_DIR), ("notebooks", NOTEBOOKS_DIR)):
        expected = {f"nst_utils/data/{folder}/{path.name}" for path in bundled.iterdir()
                    if path.is_file() and path.suffix != ".cfg"}
        assert expected and expected <= names, expected - names
    assert not [name for name in names if "/student/" in name]


def _files(folder):
    return sorted(path for path in folder.rglob("*") if "__pycache__" not in path.parts)


@pytest.fixture(scope="module")
def installed(wheel_venv, tmp_path_factory):
    """What the wheel venv's nst_utils says of itself, asked from a folder outside the checkout
    (the checkout's own folder would put its nst_utils first on sys.path)."""
    asked = _run([wheel_venv / "bin" / "python", "-c",
                  "from nst_utils import bundled as b; from nst_utils.grader import sandbox as s; "
                  "print(b.__file__, b.IMAGES_DIR, b.NOTEBOOKS_DIR, *s.hidden_paths())"],
                 cwd=tmp_path_factory.mktemp("elsewhere")).stdout.split()
    return dict(zip(["module", "images", "notebooks", "hidden"], map(Path, asked)))


@pytest.mark.slow
def test_the_installed_wheel_paints_the_demo_and_assigns_from_another_folder(wheel_venv,
                                                                             installed, tmp_path):
    assert all(path.is_relative_to(wheel_venv) for path in installed.values()), installed
    work = tmp_path / "elsewhere"
    work.mkdir()
    package = installed["module"].parent
    files = _files(package)

    done = _run([wheel_venv / "bin" / "nst", "transfer", "--max-size", "64", "--iterations", "2"],
                cwd=work, timeout=300)
    result = Path("results") / "chelsea_in_the_style_of_scream.png"
    assert f"Saved {result} after 4 iterations" in done.stdout  # 2 at half size, 2 at full
    assert max(Image.open(work / result).size) == 64

    _run([wheel_venv / "bin" / "nst", "assign"], cwd=work, timeout=300)
    written = sorted((work / "notebooks" / "student").glob("*.ipynb"))
    assert [path.name for path in written] == [path.name for path in NOTEBOOKS[:3]]
    for path in written:
        assert path.read_text() == (ROOT / "notebooks" / "student" / path.name).read_text()
    assert _files(package) == files, "nst wrote into the installed package"


def _tensorflows(site_packages):
    """Names of the TensorFlow distributions installed in a folder."""
    return {dist.metadata["Name"].lower()
            for dist in metadata.distributions(path=[str(site_packages)])
            if dist.metadata["Name"].lower().startswith("tensorflow")}


def _fake_wheel(folder, name, version):
    """A wheel that holds only metadata, standing in for a real one in pip's resolution."""
    stem = f"{name.replace('-', '_')}-{version}"
    path = folder / f"{stem}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{stem}.dist-info/METADATA",
                         f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        archive.writestr(f"{stem}.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n"
                                                    "Tag: py3-none-any\n")
        archive.writestr(f"{stem}.dist-info/RECORD", "")
    return path


@pytest.fixture(scope="module")
def index(wheel, tmp_path_factory):
    """A package index of our wheel and metadata-only tensorflow and tensorflow-cpu wheels."""
    folder = tmp_path_factory.mktemp("index")
    shutil.copy(wheel, folder)
    for name in ("tensorflow", "tensorflow-cpu"):
        _fake_wheel(folder, name, "2.21.0")
    return folder


def _environment(path, preinstalled_tensorflow):
    """A venv holding the metadata of every distribution of the project venv except TensorFlow
    (pip then finds our other dependencies installed), with or without a `tensorflow`."""
    packages = _venv(path)
    for dist in metadata.distributions(path=site.getsitepackages()):
        name = dist.metadata["Name"]
        if not name.lower().startswith("tensorflow") and name != "nst":
            info = packages / f"{re.sub(r'[-_.]+', '_', name)}-{dist.version}.dist-info"
            info.mkdir(exist_ok=True)
            (info / "METADATA").write_text(dist.read_text("METADATA"))
    if preinstalled_tensorflow:
        info = packages / "tensorflow-2.19.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tensorflow\n"
                                       "Version: 2.19.0\n")
    return packages


def _tensorflows_after_install(path, preinstalled_tensorflow, requirement, index):
    """The TensorFlow distributions a venv would hold after `pip install requirement`: those
    installed plus those in pip's own report of what it would install (a dry run)."""
    packages = _environment(path, preinstalled_tensorflow)
    report = path / "report.json"
    _run([sys.executable, "-m", "pip", "--python", path / "bin" / "python", "install",
          "--dry-run", "--quiet", "--no-index", "--find-links", index, "--report", report,
          requirement])
    installs = {item["metadata"]["name"].lower()
                for item in json.loads(report.read_text())["install"]}
    assert "nst" in installs
    return _tensorflows(packages) | {name for name in installs if name.startswith("tensorflow")}


@pytest.mark.slow
def test_one_tensorflow_beside_a_preinstalled_one_and_the_cpu_build_on_a_fresh_machine(
        index, tmp_path):
    # A hosted notebook: tensorflow preinstalled; `%pip install "nst @ git+..."` adds none.
    assert _tensorflows_after_install(tmp_path / "hosted", True, "nst", index) == {"tensorflow"}
    # A fresh machine: the Makefile's `pip install -e ".[cpu,test]"` brings the CPU build.
    assert _tensorflows_after_install(tmp_path / "fresh", False, "nst[cpu]",
                                      index) == {CPU_BUILD}
    # The check sees a second TensorFlow when there is one: the extra beside a preinstalled one.
    assert _tensorflows_after_install(tmp_path / "both", True, "nst[cpu]",
                                      index) == {"tensorflow", CPU_BUILD}


@pytest.mark.slow
def test_the_wheel_requires_no_tensorflow_and_the_extra_cpu_the_cpu_build(wheel):
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [name for name in archive.namelist() if name.endswith(".dist-info/METADATA")]
        info = Parser().parsestr(archive.read(name).decode())
    requires = info.get_all("Requires-Dist")
    assert not [line for line in requires if "tensorflow" in line and "extra ==" not in line]
    assert ('tensorflow-cpu<2.22,>=2.16; sys_platform != "darwin" and extra == "cpu"'
            in requires)


def _install_cell(path):
    """The first code cell of a notebook."""
    return next(cell for cell in nbformat.read(path, as_version=4).cells
                if cell.cell_type == "code")


class _RecordingIPython:
    """Stands in for IPython in the install cell: records the magics it is asked to run."""

    def __init__(self, on_pip=None):
        self.magics, self.on_pip = [], on_pip

    def run_line_magic(self, name, line, *args):
        self.magics.append(f"%{name} {line}")
        if name == "pip" and self.on_pip:
            self.on_pip()


def _run_cell(source, ipython):
    code = TransformerManager().transform_cell(source)
    exec(compile(code, "install cell", "exec"), {"get_ipython": lambda: ipython})


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_the_install_cell_does_nothing_where_nst_is_installed(path, capsys):
    ipython = _RecordingIPython()
    _run_cell(_install_cell(path).source, ipython)
    assert ipython.magics == [] and capsys.readouterr() == ("", "")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_the_install_cell_installs_nst_and_the_weights_where_it_is_missing(path, monkeypatch,
                                                                           capsys):
    fetched = []
    monkeypatch.setattr(weights, "fetch_all", lambda: fetched.append(True))
    monkeypatch.setitem(sys.modules, "nst_utils", None)  # `import nst_utils` fails
    # The installation makes nst_utils importable again.
    ipython = _RecordingIPython(on_pip=lambda: monkeypatch.delitem(sys.modules, "nst_utils"))
    _run_cell(_install_cell(path).source, ipython)
    assert ipython.magics == [INSTALL_COMMAND]
    assert fetched == [True]
    assert "Installing nst" in capsys.readouterr().out


@pytest.mark.parametrize("path", NOTEBOOKS + STUDENT_VERSIONS,
                         ids=lambda path: str(path.relative_to(ROOT / "notebooks")))
def test_each_notebook_opens_itself_in_colab_from_its_first_cell(path):
    first = nbformat.read(path, as_version=4).cells[0]
    assert first.cell_type == "markdown" and _colab_badge(path) in first.source
    assert INSTALL_COMMAND in _install_cell(path).source


def test_every_install_command_names_the_repository_of_pyproject():
    readme = (ROOT / "README.md").read_text()
    sources = [readme] + [_install_cell(path).source for path in NOTEBOOKS]
    addresses = [address for source in sources
                 for address in re.findall(r'nst(?:\[\w+\])? @ git\+([^"]+)"', source)]
    # The README's three: nst[cpu], plain nst beside a preinstalled TensorFlow, nst[jax].
    assert len(addresses) == 3 + len(NOTEBOOKS) and set(addresses) == {REPOSITORY}, addresses
    listed = re.findall(r"\[!\[Open In Colab\][^\]]+\]\([^)]+\)", readme)
    assert sorted(listed) == sorted(_colab_badge(path) for path in NOTEBOOKS + STUDENT_VERSIONS)


def _colab_badge(path):
    owner_and_name = re.fullmatch(r"https://github\.com/(.+)", REPOSITORY).group(1)
    return (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"(https://colab.research.google.com/github/{owner_and_name}/blob/main/"
            f"{path.relative_to(ROOT).as_posix()})")


def test_the_install_cell_is_invisible_to_the_grader():
    """It has no top-level import, so the grader's sandbox never runs it."""
    for path in NOTEBOOKS:
        assert notebooks.imports_of(_install_cell(path).source) == ""


@pytest.mark.slow
def test_the_wheel_hides_its_package_with_the_answers_from_the_sandbox(installed):
    """A wheel's package folder, with the answers and the solution notebooks, lies inside
    site-packages, which the sandbox mounts: it is the sandbox's hidden path there (a checkout's
    is never mounted), and the sandbox imports the library built for it instead."""
    assert installed["hidden"] == installed["module"].parent
    assert installed["notebooks"].is_relative_to(installed["hidden"])
    assert sandbox.hidden_paths() == []


@pytest.mark.slow
def test_the_installed_wheel_grades_in_its_sandbox(wheel_venv, tmp_path):
    """The wheel's grader builds the sandbox's library from the installed package and grades
    the solution in full, and a submission that hands back the library's answer gets nothing."""
    borrowing = nbformat.read(NOTEBOOKS[1], as_version=4)
    cells = notebooks.exercises_in(borrowing)
    borrowing.cells[cells["gram_matrix"]].source = (
        "def gram_matrix(x):\n    return getattr(nst, 'gram_matrix')(x)\n")
    nbformat.write(borrowing, tmp_path / "borrowing.ipynb")
    shutil.copy(NOTEBOOKS[1], tmp_path / "solution.ipynb")
    done = _run([wheel_venv / "bin" / "nst", "grade", ".", "--out", "grades.csv"],
                cwd=tmp_path, timeout=600)
    # its style loss calls its gram_matrix, which hands back the library's: both score 0
    assert "borrowing.ipynb: 0/4" in done.stdout and "solution.ipynb: 4/4" in done.stdout
    assert "raised Withheld" in (tmp_path / "grades.csv").read_text()


SPY = """
import tensorflow as tf
RESULT = str(len(tf.io.gfile.glob("{solutions}/*.ipynb"))) + " notebooks"
def gram_matrix(x):
    raise NotImplementedError()
"""
REPORT = """
def style_reconstruction_loss(base, output):
    raise NotImplementedError()
raise RuntimeError('RESULT ' + RESULT)
"""


@pytest.mark.slow
def test_a_hidden_path_is_empty_inside_the_sandbox(tmp_path, monkeypatch):
    """The checkout's solution notebooks, mounted and hidden as a wheel's would be."""
    solutions = str(ROOT / "notebooks")
    mounted = sandbox.read_only_paths()
    monkeypatch.setattr(sandbox, "read_only_paths", lambda paths=mounted: [*paths, solutions])
    monkeypatch.setattr(sandbox, "hidden_paths", lambda: [solutions])
    spy = nbformat.read(ROOT / "notebooks" / "student" / NOTEBOOKS[1].name, as_version=4)
    cells = notebooks.exercises_in(spy)
    spy.cells[cells["gram_matrix"]].source = SPY.format(solutions=solutions)
    spy.cells[cells["style_reconstruction_loss"]].source = REPORT
    nbformat.write(spy, tmp_path / "spy.ipynb")
    (row,) = grading.grade([tmp_path / "spy.ipynb"], grading.Options(total_timeout=120))
    assert "RESULT 0 notebooks" in str(row["reasons"]), row["reasons"]


#: Runs `nst weights` as if TensorFlow were not installed.
WITHOUT_TENSORFLOW = """
import sys


class NoTensorFlow:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.partition(".")[0] == "tensorflow":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


sys.meta_path.insert(0, NoTensorFlow)
if sys.argv[1] == "import":
    import nst_utils
import nst_command
sys.exit(nst_command.main())
"""


def test_without_tensorflow_nst_says_in_one_line_what_to_install():
    done = subprocess.run([sys.executable, "-c", WITHOUT_TENSORFLOW, "weights"],
                          capture_output=True, text=True, cwd=ROOT)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == f"nst: error: {nst_utils.NO_TENSORFLOW}.\n"
    done = subprocess.run([sys.executable, "-c", WITHOUT_TENSORFLOW, "import"],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.stderr.splitlines()[-1] == f"ModuleNotFoundError: {nst_utils.NO_TENSORFLOW}"
