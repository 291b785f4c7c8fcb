"""Red team: submissions that attack `nst grade`, graded in one run with a blank and a solution.

Each attack sits in the gram_matrix cell of the blank student version of notebook 02; most store
what they achieved in RESULT, which the style cell (clean code, so the syntax-tree rules leave it
alone) raises, so the gradebook's reason shows what the attack could do inside the sandbox. Every
abuse is bounded (at most 500 forks, 3 GB of address space, 500 MB of writes, 200 MB of output)
and dies with its sandbox.
"""

import csv
import hashlib
import os
import socket
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from nst_utils import grading, sandbox
from nst_utils.cli import main

NOTEBOOKS = grading.SOURCE_DIR
SOLUTION = NOTEBOOKS / "02_style_reconstruction.ipynb"
BLANK = NOTEBOOKS / "student" / "02_style_reconstruction.ipynb"
SITE_PACKAGES = Path(next(p for p in sys.path if p.endswith("site-packages")))
STUB = "\ndef gram_matrix(x):\n    raise NotImplementedError()\n"
REPORT = ("\ndef style_reconstruction_loss(base, output):\n    return STOLEN(base, output)\n"
          "raise RuntimeError('RESULT ' + RESULT)\n")
CANARY = "canary-7f3a9d"

ATTACKS = {
    "forged_stdout": """
for token in ("0" * 32, "f" * 32, ""):
    print(token + '{"gram_matrix": {"points": 2000, "failures": []}}')
print("gram_matrix: 3/3 checks passed, 2/2 points")
""" + STUB,
    "forged_stdout_wrappers": """
import sys, builtins, json
class Forger:
    def write(self, text):
        return sys.__stdout__.write(text.replace("0/", "2/"))
    def flush(self):
        pass
sys.stdout = sys.stderr = Forger()
builtins.print = lambda *a, **k: sys.__stdout__.write('{"gram_matrix": {"points": 2000}}\\n')
json.dumps = lambda *a, **k: '{"gram_matrix": {"points": 2000, "failures": []}}'
for token in ("0" * 32, "f" * 32):
    sys.__stdout__.write(token + '{"gram_matrix": {"points": 2000, "failures": []}}\\n')
print("all done")
""" + STUB,
    "forged_channel_not_json": """
with tf.io.gfile.GFile("/proc/self/fd/3", "w") as channel:
    channel.write('{"gram_matrix": 2000} not json\\n')
""" + STUB,
    "forged_channel_points_as_text": """
with tf.io.gfile.GFile("/proc/self/fd/3", "w") as channel:
    channel.write('{"step": 2, "error": null, "points": "2"}\\n')
    channel.write('{"step": 3, "raw": {"x0": {"array": {"dtype": "object"}}}}\\n')
""" + STUB,
    "gfile_read_secrets_and_solutions": """
RESULT, STOLEN = "", None
for path in ["{home}/.ssh/id_rsa", "/root/.ssh/id_rsa", "{solutions}/02_style_reconstruction.ipynb"]:
    try:
        RESULT += tf.io.gfile.GFile(path).read()[:40] + "|"
    except Exception as error:
        RESULT += type(error).__name__ + "|"
RESULT += str(len(tf.io.gfile.glob("{solutions}/*.ipynb"))) + " notebooks"
""" + STUB,
    "gfile_persist_and_overwrite": """
RESULT, STOLEN = "", None
for path in ["{package}/checks.py", "{site}/evil.pth", "{submissions}/solution.ipynb", "{home}/pwned"]:
    try:
        with tf.io.gfile.GFile(path, "w") as handle:
            handle.write("import os")
        RESULT += "wrote " + path + "|"
    except Exception as error:
        RESULT += type(error).__name__ + "|"
try:
    tf.io.gfile.rmtree("{submissions}")
    RESULT += "removed the submissions"
except Exception as error:
    RESULT += type(error).__name__
""" + STUB,
    "patched_checks": """
import numpy
import nst_utils.checks as checks, nst_utils.judging as judging, nst_utils.probes as probes
numpy.allclose = lambda *a, **k: True
numpy.testing.assert_allclose = lambda *a, **k: None
checks.CHECKS["gram_matrix"] = lambda *a, **k: checks.CheckResult("gram_matrix", [], 3)
checks.POINTS["gram_matrix"] = 2000
judging.judge = lambda *a, **k: []
probes.PROBES["gram_matrix"] = lambda fn, inputs: {"x0": numpy.eye(3), "x1": numpy.eye(6)}
""" + STUB,
    "import_hooks": """
import sys, types, importlib.abc, importlib.machinery
class Rigged(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name.startswith("nst_utils"):
            return importlib.machinery.ModuleSpec(name, self)
    def create_module(self, spec):
        return types.ModuleType(spec.name)
    def exec_module(self, module):
        module.CHECKS = {}
sys.meta_path.insert(0, Rigged())
for name in [m for m in sys.modules if m.startswith("nst_utils")]:
    del sys.modules[name]
try:
    get_ipython().events.register("post_run_cell", lambda result: print("token{}"))
except NameError:
    pass
""" + STUB,
    "borrowed_alias": """
from nst_utils.losses import gram_matrix as g
def gram_matrix(x):
    return g(x)
""",
    "borrowed_dynamic": """
import nst_utils as nst
def gram_matrix(x):
    namespace = {"x": x, "ops": ops}
    exec("f = ops.reshape(x, (-1, x.shape[-1]))\\nfor _ in range(1): g = ops.matmul(ops.transpose(f), f)", namespace)
    return namespace["g"]
def style_reconstruction_loss(base, output):
    return getattr(nst.losses, "style_" + "reconstruction_loss")(base, output)
""",
    "read_solutions": """
import glob, json, os, nst_utils
RESULT, STOLEN = "found nothing", None
package = os.path.dirname(nst_utils.__file__)
for path in glob.glob(os.path.dirname(package) + "/notebooks/*.ipynb") + glob.glob("{solutions}/*.ipynb"):
    for cell in json.load(open(path))["cells"]:
        source = "".join(cell["source"])
        if "def style_reconstruction_loss" in source:
            scope = {"ops": ops, "gram_matrix": lambda x: ops.matmul(ops.transpose(ops.reshape(x, (-1, x.shape[-1]))), ops.reshape(x, (-1, x.shape[-1])))}
            exec(source, scope)
            STOLEN, RESULT = scope["style_reconstruction_loss"], "stole " + path
""" + STUB,
    "persist_package": """
import os, nst_utils
RESULT, STOLEN = "", None
package = os.path.dirname(nst_utils.__file__)
for path, text in [(package + "/checks.py", "POINTS = {}"), (package + "/evil.py", "x = 1"),
                   ("{site}/evil.pth", "import os; os.system('touch /tmp/pwned')"),
                   ("{site}/sitecustomize.py", "import os"), ("{package}/__init__.py", "")]:
    try:
        with open(path, "a") as handle:
            handle.write(text)
        RESULT += "wrote " + path + "; "
    except OSError as error:
        RESULT += type(error).__name__ + "; "
""" + STUB,
    "read_home_and_secrets": """
import os, glob
RESULT, STOLEN = "", None
for path in ["{home}/.ssh/id_rsa", os.path.expanduser("~/.ssh/id_rsa"), "/proc/1/environ"] + glob.glob("/proc/*/environ"):
    try:
        RESULT += open(path, errors="replace").read()[:80] + "|"
    except OSError as error:
        RESULT += type(error).__name__ + "|"
RESULT += os.environ.get("NST_TEST_SECRET", "no secret") + "|" + ",".join(sorted(os.environ))
""" + STUB,
    "write_outside": """
import os
RESULT, STOLEN = "", None
for path in ["{home}/pwned", "{submissions}/pwned.ipynb", "{package}/../pwned", "/tmp/../pwned", "/pwned"]:
    try:
        open(path, "w").write("pwned")
        RESULT += "wrote " + path + "; "
    except OSError as error:
        RESULT += type(error).__name__ + "; "
""" + STUB,
    "other_submissions": """
import os, glob, shutil
RESULT, STOLEN = "", None
targets = glob.glob("{submissions}/*") + glob.glob("/proc/*/cwd/*.ipynb") + glob.glob("/proc/*/fd/*")
for path in targets:
    try:
        if path.endswith(".ipynb"):
            os.remove(path)
            RESULT += "removed " + path + "; "
    except OSError as error:
        RESULT += type(error).__name__ + "; "
try:
    shutil.rmtree("{submissions}")
    RESULT += "removed the folder"
except OSError as error:
    RESULT += "folder " + type(error).__name__
""" + STUB,
    "signal_grader": """
import os, signal
RESULT, STOLEN = "", None
for pid, sig in [(os.getppid(), signal.SIGSTOP), (os.getppid(), signal.SIGTERM), (0, signal.SIGSTOP),
                 (-1, signal.SIGTERM)] + [(int(p), signal.SIGKILL) for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]:
    try:
        os.kill(pid, sig)
        RESULT += f"signalled {pid}; "
    except OSError as error:
        RESULT += type(error).__name__ + "; "
""" + STUB,
    "memory_3GB": """
RESULT, STOLEN = "", None
try:
    block = bytearray(3 * 1024 ** 3)
    RESULT = "allocated 3 GB"
except MemoryError:
    RESULT = "MemoryError"
""" + STUB,
    "fork_500": """
import os, time
RESULT, STOLEN, children = "", None, 0
for _ in range(500):
    try:
        if os.fork() == 0:
            time.sleep(600)
            os._exit(0)
        children += 1
    except OSError as error:
        RESULT = type(error).__name__ + " "
        break
RESULT += f"forked {children}"
""" + STUB,
    "disk_500MB": """
RESULT, STOLEN, written = "", None, 0
for folder in ("/tmp", "."):
    try:
        with open(folder + "/big", "wb") as handle:
            for _ in range(250):
                handle.write(b"x" * (1 << 20))
                written += 1
    except OSError as error:
        RESULT += type(error).__name__ + " "
RESULT += f"wrote {written} MB"
""" + STUB,
    "print_200MB": "for _ in range(200):\n    print('x' * (1 << 20))\n" + STUB,
    "setsid_survivor": """
import os
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv("/bin/sleep", ["sleep", "4242.5"])
    os._exit(0)
""" + STUB,
    "network": """
import socket
RESULT, STOLEN = "", None
try:
    connection = socket.create_connection(("127.0.0.1", {port}), timeout=3)
    RESULT = "connected: " + connection.recv(100).decode()
except OSError as error:
    RESULT = type(error).__name__
""" + STUB,
    "cpu_spin": "while True:\n    pass\n" + STUB,
}


def _digest(folder):
    """One hash of every file's path, mode and content under `folder`."""
    digest = hashlib.sha256()
    for path in sorted(Path(folder).rglob("*")):
        if "__pycache__" in path.parts:
            continue  # Python's own caches, written by the test process, not by submissions
        digest.update(str(path).encode() + oct(path.lstat().st_mode).encode())
        if path.is_file() and not path.is_symlink():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _leftovers():
    """Processes that a sandbox left behind: the survivor's sleep, a jail, a sandbox user id."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if not entry.name.isdigit():
                continue
            cmdline = (entry / "cmdline").read_bytes()
            uid = int((entry / "status").read_text().split("Uid:")[1].split()[0])
        except (OSError, IndexError, ValueError):
            continue
        if b"4242.5" in cmdline or b"nst_utils/jail.py" in cmdline or uid >= 2_000_000_000:
            found.append((entry.name, cmdline[:80]))
    return found


class Listener:
    """A TCP server outside the sandbox that records every connection made to it."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.5)
        self.port, self.connections, self.running = self.server.getsockname()[1], 0, True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while self.running:
            try:
                connection, _ = self.server.accept()
            except OSError:
                continue
            self.connections += 1
            connection.sendall(b"answers")
            connection.close()

    def close(self):
        self.running = False
        self.thread.join()
        self.server.close()


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("redteam")
    submissions, home = tmp / "submissions", tmp / "home"
    submissions.mkdir()
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text(CANARY)
    listener = Listener()
    values = {"home": home, "submissions": submissions, "package": sandbox.PACKAGE_DIR,
              "site": SITE_PACKAGES, "solutions": NOTEBOOKS, "port": listener.port}
    blank = nbformat.read(BLANK, as_version=4)
    cells = grading.exercises_in(blank)
    paths = []
    for name, code in ATTACKS.items():
        notebook = nbformat.read(BLANK, as_version=4)
        for key, value in values.items():
            code = code.replace("{" + key + "}", str(value))
        notebook.cells[cells["gram_matrix"]].source = code
        if "RESULT" in code:
            notebook.cells[cells["style_reconstruction_loss"]].source = REPORT
        paths.append(submissions / f"{name}.ipynb")
        nbformat.write(notebook, paths[-1])
    metadata = nbformat.read(SOLUTION, as_version=4)  # metadata claiming fewer exercises
    metadata.metadata["nst"] = {"assignment": "no_such_assignment", "exercises": {"gram_matrix": 2}}
    metadata.cells[grading.exercises_in(metadata)["style_reconstruction_loss"]].source = "pass\n"
    paths.append(submissions / "fake_metadata.ipynb")
    nbformat.write(metadata, paths[-1])
    for name, source in (("blank", BLANK), ("solution", SOLUTION)):
        paths.append(submissions / f"{name}.ipynb")
        paths[-1].write_bytes(source.read_bytes())
    before = {folder: _digest(folder) for folder in
              (sandbox.PACKAGE_DIR, SITE_PACKAGES, submissions, home)}
    out = tmp / "grades.csv"
    environ = {"HOME": str(home), "NST_TEST_SECRET": CANARY}
    saved = {key: os.environ.get(key) for key in environ}
    os.environ.update(environ)
    started = time.monotonic()
    try:
        status = main(["grade", *map(str, paths), "--out", str(out), "--jobs", "2",
                       "--cell-timeout", "10", "--total-timeout", "120"])
    finally:
        seconds = time.monotonic() - started
        for key, value in saved.items():
            os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)
        listener.close()
    time.sleep(1)  # let the kernel finish tearing down the last namespaces
    with open(out, newline="") as handle:
        rows = {Path(row["submission"]).stem: row for row in csv.DictReader(handle)}
    return {"status": status, "rows": rows, "text": out.read_text(), "seconds": seconds,
            "before": before, "after": {folder: _digest(folder) for folder in before},
            "connections": listener.connections, "leftovers": _leftovers(), "count": len(paths)}


def reason(attacked, name):
    return attacked["rows"][name]["reasons"]


#: Attacks whose code the syntax-tree rules refuse to run at all (they score 0 for it).
REFUSED = ["forged_stdout_wrappers", "patched_checks", "import_hooks", "read_solutions",
           "persist_package", "read_home_and_secrets", "write_outside", "other_submissions",
           "signal_grader", "fork_500", "disk_500MB", "setsid_survivor", "network"]


def test_every_submission_is_graded_in_one_run_within_its_limits(attacked):
    assert attacked["status"] == 0 and len(attacked["rows"]) == attacked["count"]
    # two at a time, each well within its 120 s total limit
    assert attacked["seconds"] < 120 * attacked["count"] / 2


def test_attacks_score_nothing_and_the_solution_everything(attacked):
    rows = attacked["rows"]
    for name in ATTACKS:
        assert rows[name]["total"] == "0" and rows[name]["max"] == "4", (name, rows[name])
    assert rows["solution"]["total"] == "4" and rows["solution"]["reasons"] == ""
    assert rows["blank"]["total"] == "0" and "not implemented yet" in rows["blank"]["reasons"]
    assert all(row["sandbox"] == "yes" for row in rows.values())


def test_code_that_breaks_the_rules_never_runs(attacked):
    for name in REFUSED:
        assert "not run: its cell breaks the grader's rules" in reason(attacked, name) or (
            "uses" in reason(attacked, name)), name
        assert "RuntimeError: RESULT" not in reason(attacked, name), name  # it never ran


def test_fake_metadata_does_not_lower_the_maximum(attacked):
    row = attacked["rows"]["fake_metadata"]
    assert (row["gram_matrix"], row["style_reconstruction_loss"], row["max"]) == ("2", "0", "4")
    assert "no cell defines style_reconstruction_loss" in row["reasons"]


def test_forged_output_is_never_read_and_the_reply_pipe_cannot_be_reopened(attacked):
    assert "not implemented yet" in reason(attacked, "forged_stdout")
    for name in ("forged_channel_not_json", "forged_channel_points_as_text"):
        # an unprivileged process cannot reopen its descriptors through /proc/self/fd
        assert "PermissionDeniedError: /proc/self/fd/3" in reason(attacked, name)


@pytest.mark.parametrize("garbage", [b"x" * (5 << 20), b'{"step": 1, "error": null, "points": 2}'],
                         ids=["5MB-line", "extra-field"])
def test_malformed_replies_make_a_zero_not_a_crash(garbage):
    steps = [{"kind": "cell", "source": "import os", "name": "<preamble>"},
             {"kind": "cell", "source": f"os.write(3, {garbage!r} + b'\\n')", "name": "c"},
             {"kind": "cell", "source": "x = 1", "name": "d"},
             {"kind": "probe", "exercise": "gram_matrix", "inputs": {}}]
    replies, problems, malformed = sandbox.run_steps(steps, 30, 120)
    if malformed is None:  # a well-formed line for the wrong step or with an extra field
        with pytest.raises(grading.Malformed):
            grading._outcomes(steps, [[], ["gram_matrix"], ["gram_matrix"], ["gram_matrix"]],
                              replies, problems)
    else:
        assert malformed.startswith("malformed reply from the sandbox")


def test_borrowed_answers_are_caught_from_the_syntax_tree(attacked):
    assert "borrowed answer" in reason(attacked, "borrowed_alias")
    assert "nst_utils.losses.gram_matrix" in reason(attacked, "borrowed_alias")
    text = reason(attacked, "borrowed_dynamic")
    assert "uses exec()" in text and "getattr with a computed name" in text
    assert "uses nst_utils.checks, the grader's own code" in reason(attacked, "patched_checks")


def test_code_that_slips_past_the_rules_meets_the_sandbox(attacked):
    text = reason(attacked, "gfile_read_secrets_and_solutions")
    assert "RESULT NotFoundError|NotFoundError|NotFoundError|0 notebooks" in text
    assert CANARY not in attacked["text"]
    text = reason(attacked, "gfile_persist_and_overwrite")
    assert "wrote" not in text and "removed" not in text and text.count("Error|") == 4
    assert "MemoryError" in reason(attacked, "memory_3GB")
    assert "printed more than the limit of 1 MB" in reason(attacked, "print_200MB")
    assert "timed out after 10 s" in reason(attacked, "cpu_spin")


def test_nothing_outside_is_touched_and_nothing_outlives_the_run(attacked):
    assert attacked["before"] == attacked["after"]  # package, site-packages, submissions, home
    assert attacked["connections"] == 0 and attacked["leftovers"] == []
    assert not Path("/tmp/pwned").exists() and not Path("/pwned").exists()


UNCHECKED = ["persist_package", "read_home_and_secrets", "write_outside", "other_submissions",
             "read_solutions", "signal_grader", "network", "memory_3GB", "disk_500MB",
             "fork_500", "setsid_survivor", "patched_checks"]


@pytest.fixture(scope="module")
def unchecked(tmp_path_factory):
    """The attacks run straight in one sandbox, past the syntax-tree rules: the sandbox alone
    must hold. Each attack is a step whose error reports its RESULT; a last step probes."""
    tmp = tmp_path_factory.mktemp("unchecked")
    submissions, home = tmp / "submissions", tmp / "home"
    submissions.mkdir()
    (submissions / "other.ipynb").write_text("{}")
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text(CANARY)
    listener = Listener()
    values = {"home": home, "submissions": submissions, "package": sandbox.PACKAGE_DIR,
              "site": SITE_PACKAGES, "solutions": NOTEBOOKS, "port": listener.port}
    steps = [{"kind": "cell", "source": grading._PREAMBLE + "import nst_utils as nst",
              "name": "<preamble>"}]
    for name in UNCHECKED:
        code = ATTACKS[name]
        for key, value in values.items():
            code = code.replace("{" + key + "}", str(value))
        if "RESULT" not in code:
            code += "\nRESULT = 'done'"
        steps.append({"kind": "cell", "source": code + "\nraise RuntimeError(RESULT)",
                      "name": name})
    inputs = grading.CASES["gram_matrix"](12345)
    steps.append({"kind": "probe", "exercise": "gram_matrix",
                  "inputs": {key: grading.encode_array(value) for key, value in inputs.items()}})
    before = {folder: _digest(folder) for folder in
              (sandbox.PACKAGE_DIR, SITE_PACKAGES, submissions, home)}
    saved = os.environ.get("NST_TEST_SECRET")
    os.environ["NST_TEST_SECRET"] = CANARY
    try:
        replies, problems, malformed = sandbox.run_steps(steps, 30, 240)
    finally:
        os.environ.pop("NST_TEST_SECRET") if saved is None else os.environ.update(
            NST_TEST_SECRET=saved)
        listener.close()
    results = {name: replies[index + 1]["error"] for index, name in enumerate(UNCHECKED)
               if index + 1 in replies}
    return {"results": results, "problems": problems, "malformed": malformed,
            "probe": replies.get(len(steps) - 1), "connections": listener.connections,
            "before": before, "after": {folder: _digest(folder) for folder in before},
            "leftovers": _leftovers()}


def test_the_sandbox_alone_holds_every_attack(unchecked):
    results = unchecked["results"]
    assert unchecked["malformed"] is None and unchecked["problems"] == {}
    assert set(results) == set(UNCHECKED)
    assert "wrote" not in results["persist_package"]
    assert results["persist_package"].count("Error; ") == 5
    assert CANARY not in results["read_home_and_secrets"]
    assert "no secret" in results["read_home_and_secrets"]
    assert "wrote" not in results["write_outside"] and results["write_outside"].count("Error; ") == 5
    assert "removed" not in results["other_submissions"]
    assert "found nothing" in results["read_solutions"]
    assert "signalled" not in results["signal_grader"].replace("signalled 0", "")
    assert "connected" not in results["network"] and unchecked["connections"] == 0
    assert "MemoryError" in results["memory_3GB"]
    written = int(results["disk_500MB"].split("wrote ")[1].split()[0])
    assert written <= 2 * 64  # two tmpfs folders of 64 MB
    forked = int(results["fork_500"].split("forked ")[1].split()[0])
    assert forked < sandbox.LIMITS["RLIMIT_NPROC"]
    assert unchecked["before"] == unchecked["after"] and unchecked["leftovers"] == []


def test_patched_checks_inside_change_only_raw_outputs(unchecked):
    probe = unchecked["probe"]  # numpy, checks, judging and probes patched by an earlier step
    assert set(probe["raw"]) == {"x0", "x1"}
    assert all("array" in value for value in probe["raw"].values())  # eye(3), eye(6): wrong
