"""Red team: submissions that attack `nst grade`, graded in one run with a blank and a solution.

Each attack sits in the gram_matrix cell of the blank student version of notebook 02; most store
what they achieved in RESULT, which the style cell (clean code, so the syntax-tree rules leave it
alone) raises, so the gradebook's reason shows what the attack could do inside the sandbox. Every
abuse is bounded (at most 500 forks, 3 GB of address space, 500 MB of writes, 200 MB of output)
and dies with its sandbox.
"""

import contextlib
import csv
import hashlib
import io
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from nst_utils.cli import main
from nst_utils.exercises import EXERCISES, judging
from nst_utils.grader import (
    gradebook,
    grading,
    notebooks,
    reading,
    rules,
    sandbox,
    sandbox_library,
    submissions,
    wire,
)

pytestmark = pytest.mark.slow  # left out of `make test-fast`

NOTEBOOKS = notebooks.SOURCE_DIR
#: The module whose probe the sandbox runs for gram_matrix, as the grader names it in a request.
GRAM_PROBE = EXERCISES["gram_matrix"].probe.__module__
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
""" + STUB,  # noqa: E501 (an attack, as written)
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
""" + STUB,  # noqa: E501 (an attack, as written)
    "patched_checks": """
import numpy
import nst_utils.exercises as exercises, nst_utils.exercises.judging as judging
import nst_utils.exercises.gram_matrix as gram
numpy.allclose = lambda *a, **k: True
numpy.testing.assert_allclose = lambda *a, **k: None
gram.probe = lambda fn, inputs: {"x0": numpy.eye(3), "x1": numpy.eye(6)}
RESULT = ""
for patch in ('exercises.CHECKS["gram_matrix"] = lambda *a, **k: None',
              'exercises.EXERCISES["gram_matrix"] = None',
              'judging.compare = lambda *a, **k: None'):
    try:
        exec(patch)
        RESULT += "patched|"
    except Exception as error:
        RESULT += type(error).__name__ + "|"
""" + STUB,
    # Borrowed answers under spellings the syntax-tree rules do not know: the sandbox's library
    # holds only stand-ins for the answers being graded (nst_utils.grader.sandbox_library).
    "borrowed_getattr_constant": """
def gram_matrix(x):
    return getattr(nst, "gram_matrix")(x)
""",
    "borrowed_match_pattern": """
def gram_matrix(x):
    match nst:
        case object(gram_matrix=library_gram):
            return library_gram(x)
""",
    "borrowed_reduce_getattr": """
import functools
def gram_matrix(x):
    area = x.shape[0] * x.shape[1]
    return functools.reduce(getattr, ["losses", "normalized_gram"], nst)(x) * area
""",
    "borrowed_through_another_library": """
import keras
def gram_matrix(x):
    modules = keras.src.utils.io_utils.sys.modules
    return modules["nst_utils.losses"].gram_matrix(x)
""",
    "borrowed_generator_frame": """
def gram_matrix(x):
    frame = (i for i in [0]).gi_frame
    losses = frame.f_builtins["__import__"]("nst_utils.losses", fromlist=["gram_matrix"])
    return losses.gram_matrix(x)
""",
    "answers_in_the_sandbox": """
import gc, hashlib, os, sys, types
DIGESTS = {answers}  # of the bytecode of every reference answer to the exercises being graded
PRINTS = ["ops.matmul(ops.transpose(features), features)", "flat.T @ flat"]
def codes(code):
    yield code
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            yield from codes(constant)
def fingerprint(code):
    constants = [repr(c) for c in code.co_consts if not isinstance(c, types.CodeType)]
    return hashlib.sha256(repr((code.co_code, code.co_names, constants)).encode()).hexdigest()
code = sorted({f"{inner.co_filename}:{inner.co_name}" for f in gc.get_objects()
               if isinstance(f, types.FunctionType) for inner in codes(f.__code__)
               if fingerprint(inner) in DIGESTS})
places = ["/nst"] + [os.path.join(folder, name) for folder in sys.path if os.path.isdir(folder)
                     for name in os.listdir(folder) if "nst" in name]
hits = []
for place in places:
    for folder, _, names in os.walk(place) if os.path.isdir(place) else [("", [], [place])]:
        for name in names:
            try:
                with open(os.path.join(folder, name), "rb") as handle:
                    text = handle.read(1 << 20)
            except OSError:
                continue
            hits += [name for mark in PRINTS if mark.encode() in text]
modules = sorted(name for name, module in list(sys.modules.items()) if name.startswith("nst_utils")
                 and not (getattr(module, "__file__", None) or "/nst").startswith("/nst/"))
RESULT = f"code {code}; files {hits}; modules {modules}; searched {len(places)} places"
""" + STUB,
    "nested_namespaces": """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
RESULT = ""
for flags in (0x10000000 | 0x00020000, 0x00020000, 0x40000000):  # user+mount, mount, net
    RESULT += f"unshare {libc.unshare(flags)} {os.strerror(ctypes.get_errno())}|"
RESULT += f"mount {libc.mount(b'tmpfs', b'/tmp', b'tmpfs', 0, b'size=1g')} " \
          f"{os.strerror(ctypes.get_errno())}|"
RESULT += f"clone {libc.syscall(56, 0x10000000 | 17, 0, 0, 0, 0)} {os.strerror(ctypes.get_errno())}|"
""" + STUB,  # noqa: E501 (an attack, as written)
    "keyrings_and_memory_files": """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
RESULT = ""
calls = {"keyctl": (250, 0, -3, 0), "add_key": (248, b"user", b"k", b"v", 1, -3),
         "memfd_create": (319, b"hoard", 0), "shmget": (29, 0, 1 << 30, 0o1000 | 0o600)}
for name, args in calls.items():
    RESULT += f"{name} {libc.syscall(*args)} {os.strerror(ctypes.get_errno())}|"
""" + STUB,
    "memory_in_children": """
import os, time
RESULT, STOLEN = "", None
children = []
for _ in range(8):  # 8 x 700 MB at once, more than one sandbox may hold in all (4 GiB)
    pid = os.fork()
    if pid == 0:
        try:
            hoard = b"x" * (700 << 20)
            time.sleep(4)
        finally:
            os._exit(0)
    children.append(pid)
RESULT = "children " + " ".join(str(os.waitpid(pid, 0)[1] & 0x7f) for pid in children)
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
""",  # noqa: E501 (an attack, as written)
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
""" + STUB,  # noqa: E501 (an attack, as written)
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
""" + STUB,  # noqa: E501 (an attack, as written)
    "write_outside": """
import os
RESULT, STOLEN = "", None
for path in ["{home}/pwned", "{submissions}/pwned.ipynb", "{package}/../pwned", "/tmp/../pwned", "/pwned"]:
    try:
        open(path, "w").write("pwned")
        RESULT += "wrote " + path + "; "
    except OSError as error:
        RESULT += type(error).__name__ + "; "
""" + STUB,  # noqa: E501 (an attack, as written)
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
""" + STUB,  # noqa: E501 (an attack, as written)
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
""" + STUB,  # noqa: E501 (an attack, as written)
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


def _answer_digests(exercises):
    """Fingerprints of the code of the library's and the judge's answers to `exercises`."""
    objects = [obj for name in exercises for obj in rules.BORROWED[name]]
    objects += [EXERCISES[name].judge for name in exercises] + [judging.gram]
    functions = [member for obj in objects for member in (
        vars(obj).values() if isinstance(obj, type) else [obj]) if hasattr(member, "__code__")]
    stack, digests = [function.__code__ for function in functions], set()
    while stack:  # the same fingerprint as the attack's: bytecode, names and constants
        code = stack.pop()
        constants = [repr(c) for c in code.co_consts if not isinstance(c, type(code))]
        digests.add(hashlib.sha256(repr((code.co_code, code.co_names, constants)).encode())
                    .hexdigest())
        stack += [constant for constant in code.co_consts if isinstance(constant, type(code))]
    return digests


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


def _leftovers(uids=None, wait=5):
    """Processes that this test's sandboxes left behind: any process of their user ids (the
    survivor's sleep, a child) or a jail started for one of them. Another grader's sandboxes on
    the same machine have user ids of their own (`sandbox.sandbox_uids`) and are not counted.
    Waits up to `wait` seconds for the kernel to finish tearing down killed namespaces."""
    deadline = time.monotonic() + wait
    while (found := _processes_of(uids or sandbox.sandbox_uids())) and (
            time.monotonic() < deadline):
        time.sleep(0.1)
    return found


def _processes_of(uids):
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if not entry.name.isdigit():
                continue
            cmdline = (entry / "cmdline").read_bytes()
            uid = int((entry / "status").read_text().split("Uid:")[1].split()[0])
        except (OSError, IndexError, ValueError):
            continue
        jail = b"nst_utils/jail.py" in cmdline and any(
            f'"uid": {number},'.encode() in cmdline for number in uids)
        if uid in uids or jail:
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


def _world(tmp):
    """What the attacks aim at: a folder of submissions, a home with a secret key, a listening
    port; and the values their placeholders ({home}, {port}...) stand for."""
    submissions, home = tmp / "submissions", tmp / "home"
    submissions.mkdir()
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text(CANARY)
    listener = Listener()
    values = {"home": home, "submissions": submissions, "package": sandbox.PACKAGE_DIR,
              "site": SITE_PACKAGES, "solutions": NOTEBOOKS, "port": listener.port,
              "answers": _answer_digests(["gram_matrix", "style_reconstruction_loss"])}
    return submissions, home, listener, values


@pytest.fixture(scope="module")
def attacked(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("redteam")
    submissions, home, listener, values = _world(tmp)
    blank = nbformat.read(BLANK, as_version=4)
    cells = notebooks.exercises_in(blank)
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
    metadata.cells[notebooks.exercises_in(metadata)["style_reconstruction_loss"]].source = "pass\n"
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
           "signal_grader", "fork_500", "disk_500MB", "setsid_survivor", "network",
           "answers_in_the_sandbox", "nested_namespaces", "keyrings_and_memory_files",
           "memory_in_children"]
#: Borrowed answers that the syntax-tree rules let through: the sandbox has no answer to give.
WITHHELD = ["borrowed_getattr_constant", "borrowed_match_pattern", "borrowed_reduce_getattr",
            "borrowed_through_another_library", "borrowed_generator_frame"]


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
             {"kind": "probe", "exercise": "gram_matrix", "module": GRAM_PROBE,
              "inputs": {}}]
    with sandbox_library.Builds() as builds:
        replies, problems, malformed = sandbox.run_steps(steps, 30, 120,
                                                         builds.folder(["gram_matrix"]))
    if malformed is None:  # a well-formed line for the wrong step or with an extra field
        owned = [{**step, "owners": owners} for step, owners in
                 zip(steps, [[], ["gram_matrix"], ["gram_matrix"], ["gram_matrix"]])]
        with pytest.raises(wire.Malformed):
            grading._outcomes(owned, replies, problems)
    else:
        assert malformed.startswith("malformed reply from the sandbox")


def test_borrowed_answers_are_caught_from_the_syntax_tree(attacked):
    assert "borrowed answer" in reason(attacked, "borrowed_alias")
    assert "nst_utils.losses.gram_matrix" in reason(attacked, "borrowed_alias")
    text = reason(attacked, "borrowed_dynamic")
    assert "uses exec()" in text and "getattr with a computed name" in text
    assert "uses nst_utils.exercises, the grader's own code" in reason(attacked, "patched_checks")


def test_answers_borrowed_under_any_spelling_are_not_in_the_sandbox(attacked):
    for name in WITHHELD:
        text = reason(attacked, name)
        assert "gram_matrix: random 10x10x3 feature map: raised Withheld: uses the library's" in (
            text), (name, text)
        assert "withheld while gram_matrix is graded" in text, (name, text)


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
             "fork_500", "setsid_survivor", "patched_checks", "answers_in_the_sandbox",
             "nested_namespaces", "keyrings_and_memory_files"]


@pytest.fixture(scope="module")
def unchecked(tmp_path_factory):
    """The attacks run straight in one sandbox, past the syntax-tree rules: the sandbox alone
    must hold. Each attack is a step whose error reports its RESULT; a last step probes."""
    submissions, home, listener, values = _world(tmp_path_factory.mktemp("unchecked"))
    (submissions / "other.ipynb").write_text("{}")
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
    inputs = EXERCISES["gram_matrix"].inputs(12345)
    steps.append({"kind": "probe", "exercise": "gram_matrix", "module": GRAM_PROBE,
                  "inputs": {key: wire.encode_array(value) for key, value in inputs.items()}})
    before = {folder: _digest(folder) for folder in
              (sandbox.PACKAGE_DIR, SITE_PACKAGES, submissions, home)}
    saved = os.environ.get("NST_TEST_SECRET")
    os.environ["NST_TEST_SECRET"] = CANARY
    try:
        with sandbox_library.Builds() as builds:
            replies, problems, malformed = sandbox.run_steps(
                steps, 30, 240, builds.folder(["gram_matrix", "style_reconstruction_loss"]))
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
    assert "wrote" not in results["write_outside"]
    assert results["write_outside"].count("Error; ") == 5
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
    probe = unchecked["probe"]  # numpy and the probe patched by an earlier step
    assert set(probe["raw"]) == {"x0", "x1"}
    assert all("array" in value for value in probe["raw"].values())  # eye(3), eye(6): wrong
    # the checks and the judge are not in the sandbox: nothing there to patch
    assert "TypeError|TypeError|patched|" in unchecked["results"]["patched_checks"]


def test_no_answer_is_reachable_inside_the_sandbox(unchecked):
    """No code object of the withheld answers in the sandbox's object graph, no file with their
    code on its import path, no module of the installed package in its module table."""
    result = unchecked["results"]["answers_in_the_sandbox"]
    assert "code []; files []; modules []; searched" in result, result
    assert int(result.split("searched ")[1].split()[0]) >= 1


def test_the_sandbox_creates_no_namespace_and_reaches_no_keyring_or_memory_file(unchecked):
    result = unchecked["results"]["nested_namespaces"]
    assert result.count("unshare -1 Operation not permitted|") == 3, result
    assert "mount -1 Operation not permitted|" in result
    assert "clone -1 Operation not permitted|" in result  # a child in a new user namespace
    result = unchecked["results"]["keyrings_and_memory_files"]
    for call in ("keyctl", "add_key", "memfd_create", "shmget"):
        assert f"{call} -1 Operation not permitted|" in result, result


@pytest.mark.skipif(not sandbox.cgroups_available(),
                    reason="cgroup v1 memory and pids controllers need a root grader; README "
                           "lists the total memory of a sandbox under what it does not guarantee")
def test_one_sandbox_cannot_hold_more_memory_in_all_than_its_cgroup_allows():
    steps = [{"kind": "cell", "source": "import os", "name": "<preamble>"},
             {"kind": "cell", "source": ATTACKS["memory_in_children"] + "\nraise "
              "RuntimeError(RESULT)", "name": "memory_in_children"},
             {"kind": "probe", "exercise": "gram_matrix", "module": GRAM_PROBE,
              "inputs": {}}]
    with sandbox_library.Builds() as builds:
        replies, problems, _ = sandbox.run_steps(steps, 60, 120, builds.folder(["gram_matrix"]))
    outcome = replies[1]["error"] if 1 in replies else problems[1]
    # Without the cap all eight children end normally ("children 0 0 0 0 0 0 0 0"); with it the
    # kernel kills some (signal 9), or the whole submission's process.
    assert " 9" in outcome or "killed by signal SIGKILL" in outcome, outcome
    assert _leftovers() == []


# --- Submissions whose bytes, kind or name attack the grader itself ---------------------------

SOLUTION_03 = NOTEBOOKS / "03_style_transfer.ipynb"
BLANK_03 = NOTEBOOKS / "student" / "03_style_transfer.ipynb"
#: File names that a spreadsheet would run, or that would move the instructor's terminal.
HOSTILE_NAMES = ["=2+5+cmd|' -C calc'!A0.ipynb", "+SUM(1).ipynb", "-rf.ipynb", "@SUM(1).ipynb",
                 "forged\nlines.ipynb", "\x1b[2J\x1b[31mred.ipynb", "\ttab.ipynb",
                 "\rreturn.ipynb"]


def _notebook_json(cells):
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}


def _code(source, **extra):
    return {"cell_type": "code", "id": "c1", "metadata": {}, "source": source, "outputs": [],
            "execution_count": None, **extra}


def _borrowing_03():
    """The blank notebook 03 whose three exercises hand back the library's own answers."""
    notebook = nbformat.read(BLANK_03, as_version=4)
    cells = notebooks.exercises_in(notebook)
    sources = {"total_variation_loss": "def total_variation_loss(x):\n    return getattr("
                                       "nst.losses, 'total_variation_loss')(x)\n",
               "Evaluator": "class Evaluator(nst.optimize.OwnEvaluator.__mro__[1]):\n    pass\n",
               "weighted_transfer_loss": "def weighted_transfer_loss(*args, **kwargs):\n"
                                         "    return vars(nst.transfer)['weighted_transfer_loss']"
                                         "(*args, **kwargs)\n"}
    for name, source in sources.items():
        notebook.cells[cells[name]].source = source
    return nbformat.writes(notebook)


@pytest.fixture(scope="module")
def hostile_folder(tmp_path_factory):
    """A folder of malformed, linked, special, huge and hostile-named submissions beside an
    honest one, graded with `nst grade FOLDER` in this process."""
    tmp = tmp_path_factory.mktemp("hostile")
    folder, secret = tmp / "submissions", tmp / "secret.txt"
    folder.mkdir()
    secret.write_text(CANARY + "\n")
    (folder / "honest.ipynb").write_bytes(SOLUTION.read_bytes())
    (folder / "honest_03.ipynb").write_bytes(SOLUTION_03.read_bytes())
    (folder / "borrowing_03.ipynb").write_text(_borrowing_03())
    blank = nbformat.read(BLANK, as_version=4)
    deep = copy_of(blank)
    deep.cells[notebooks.exercises_in(blank)["gram_matrix"]].source = (
        "def gram_matrix(x):\n    return " + "-" * 100_000 + "x\n")
    files = {
        "no_cell_type.ipynb": json.dumps(_notebook_json([{"metadata": {}, "source": "x = 1"}])),
        "source_not_text.ipynb": json.dumps(_notebook_json([_code(42)])),
        "deep_json.ipynb": "[" * 200_000 + "]" * 200_000,
        "not_json.ipynb": "def gram_matrix(x): pass",
        "empty.ipynb": "",
        "unknown_version.ipynb": json.dumps({"nbformat": 99, "cells": []}),
        "version_3.ipynb": json.dumps({"nbformat": 3, "nbformat_minor": 0, "metadata": {},
                                       "worksheets": [{"cells": []}]}),
        "deep_code.ipynb": nbformat.writes(deep),
        "dense_code.ipynb": json.dumps(_notebook_json([_code("x = [" + "1," * 700_000 + "]")])),
    }
    for name, text in files.items():
        (folder / name).write_text(text)
    (folder / "binary.ipynb").write_bytes(b"\xff\xfe\x00" * 1000)
    with open(folder / "huge.ipynb", "wb") as handle:
        handle.truncate(reading.MAX_NOTEBOOK_BYTES + 1)  # sparse: no disk used
    (folder / "link_to_secret.ipynb").symlink_to(secret)
    (folder / "link_to_honest.ipynb").symlink_to(folder / "honest.ipynb")
    (folder / "zero.ipynb").symlink_to("/dev/zero")
    (folder / "proc_environ.ipynb").symlink_to("/proc/self/environ")
    os.mkfifo(folder / "fifo.ipynb")
    (folder / "a_folder.ipynb").mkdir()  # a folder is walked, not graded
    for name in HOSTILE_NAMES:  # the name is the attack: the content need not run
        (folder / name).write_text("not a notebook")
    out = tmp / "grades.csv"
    files = sorted(path.name for path in folder.iterdir()
                   if not path.is_dir() or path.is_symlink())
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started, printed, cwd = time.monotonic(), io.StringIO(), os.getcwd()
    try:  # as README's `nst grade ... -- *.ipynb` in the folder: names start the cells
        os.chdir(folder)
        with contextlib.redirect_stdout(printed):
            status = main(["grade", "--out", str(out), "--jobs", "2", "--cell-timeout", "20",
                           "--total-timeout", "120", "--", *files])
    finally:
        os.chdir(cwd)
    seconds = time.monotonic() - started
    text = out.read_text(encoding="utf-8")
    with open(out, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return {"status": status, "rows": rows, "text": text, "printed": printed.getvalue(),
            "files": files, "seconds": seconds, "leftovers": _leftovers(),
            "peak_growth_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before}


def copy_of(notebook):
    return nbformat.reads(nbformat.writes(notebook), as_version=4)


def _row(hostile_folder, name):
    (row,) = [row for row in hostile_folder["rows"] if row["submission"] == name]
    return row


def test_every_submission_gets_exactly_one_row_whatever_its_bytes(hostile_folder):
    assert hostile_folder["status"] == 0
    assert len(hostile_folder["rows"]) == len(hostile_folder["files"]) == 27
    assert len({row["submission"] for row in hostile_folder["rows"]}) == 27
    assert (_row(hostile_folder, "honest.ipynb")["total"],
            _row(hostile_folder, "honest.ipynb")["max"]) == ("4", "4")
    assert _row(hostile_folder, "honest_03.ipynb")["total"] == "6"
    expected = {"no_cell_type.ipynb": "nbformat 4): cell 0 does not fit the format",
                "source_not_text.ipynb": "the field 'source' of cell 0 does not fit the format",
                "deep_json.ipynb": "nests its JSON too deeply",
                "not_json.ipynb": "is not a Jupyter notebook",
                "empty.ipynb": "is not a Jupyter notebook",
                "unknown_version.ipynb": "is not a Jupyter notebook",
                "version_3.ipynb": "is a notebook of format 3; open it in Jupyter",
                "deep_code.ipynb": "the grader could not handle this notebook",
                "dense_code.ipynb": "has more than 1 MB of code",
                "binary.ipynb": "is not UTF-8 text",
                "huge.ipynb": "is larger than 20 MB",
                "fifo.ipynb": "is not a regular file",
                "link_to_secret.ipynb": "is a symbolic link, which is never followed",
                "link_to_honest.ipynb": "is a symbolic link, which is never followed",
                "zero.ipynb": "is a symbolic link", "proc_environ.ipynb": "is a symbolic link"}
    for name, words in expected.items():
        row = _row(hostile_folder, name)
        assert row["total"] == "0" and words in row["reasons"], (name, row)


def test_a_notebook_that_reexports_the_library_scores_nothing(hostile_folder):
    row = _row(hostile_folder, "borrowing_03.ipynb")
    assert (row["total"], row["max"]) == ("0", "6"), row
    assert "Withheld" in row["reasons"] or "borrowed answer" in row["reasons"], row


def test_no_secret_formula_or_control_character_reaches_the_gradebook_or_the_terminal(
        hostile_folder):
    text, printed = hostile_folder["text"], hostile_folder["printed"]
    assert CANARY not in text and CANARY not in printed
    assert "NST_TEST" not in text and "PATH=" not in text  # /proc/self/environ never read
    for row in hostile_folder["rows"]:
        for value in row.values():
            assert not value.startswith(gradebook.FORMULA_STARTS), value
            assert value.isprintable(), value
    names = [row["submission"] for row in hostile_folder["rows"]]
    assert {"'=2+5+cmd|' -C calc'!A0.ipynb", "'+SUM(1).ipynb", "'-rf.ipynb", "'@SUM(1).ipynb",
            "forged\\nlines.ipynb", "\\x1b[2J\\x1b[31mred.ipynb", "\\ttab.ipynb",
            "\\rreturn.ipynb"} <= set(names)
    assert "\x1b" not in printed and "\r" not in printed and "\t" not in printed
    lines = printed.splitlines()  # one line per submission, then "wrote ..."
    assert len(lines) == len(hostile_folder["rows"]) + 1
    assert sum(line.endswith(": 4/4") for line in lines) == 1  # no forged line


def test_hostile_files_cost_the_grader_no_memory_time_or_process(hostile_folder):
    assert hostile_folder["leftovers"] == []
    assert hostile_folder["peak_growth_kb"] < 600 << 10  # /dev/zero, 20 MB, dense code
    assert hostile_folder["seconds"] < 240  # the FIFO does not hang it


def test_a_reply_whose_shape_overflows_is_malformed_not_a_crash():
    huge = {"dtype": "float32", "shape": [65536] * 4, "data": ""}  # 2**64 elements wrap to 0
    with pytest.raises(wire.Malformed):
        wire.decode_value({"array": huge})


def test_names_are_escaped_and_cells_neutralised(tmp_path):
    assert submissions.shown("a\nb\x1b[31m\udcff") == "a\\nb\\x1b[31m\\udcff"
    names = ["=1+2", "\tx", "-rf", "solution.ipynb"]
    book = gradebook.Gradebook(tmp_path / "grades.csv", len(names))
    for index, name in enumerate(names):
        book.add(index, {"submission": name, "points": {}, "total": 0, "max": 0, "sandbox": "",
                         "reasons": {}})
    rows = list(csv.reader(io.StringIO(book.path.read_text(encoding="utf-8"))))
    assert [row[0] for row in rows[1:]] == ["'=1+2", "\\tx", "'-rf", "solution.ipynb"]


def _grader_leftovers(pid, wait=5):
    first = 2_000_000_000 + (pid % 1_000_000) * 1000
    return _leftovers(range(first, first + 1000), wait)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stop_ends_grading_at_once_keeping_what_was_graded(tmp_path, signum):
    folder = tmp_path / "submissions"
    folder.mkdir()
    (folder / "a_honest.ipynb").write_bytes(SOLUTION.read_bytes())
    spinner = nbformat.read(BLANK, as_version=4)
    spinner.cells[notebooks.exercises_in(spinner)["gram_matrix"]].source = ATTACKS["cpu_spin"]
    nbformat.write(spinner, folder / "b_spinner.ipynb")
    out = tmp_path / "grades.csv"
    grader = subprocess.Popen(
        [sys.executable, "-m", "nst_command", "grade", str(folder), "--out", str(out),
         "--cell-timeout", "100", "--total-timeout", "200"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = grader.stdout.readline()
        assert first.endswith("a_honest.ipynb: 4/4\n"), first
        deadline = time.monotonic() + 60  # until the spinner's sandbox runs
        while not _grader_leftovers(grader.pid, wait=0) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _grader_leftovers(grader.pid)
        time.sleep(1)
        stopped = time.monotonic()
        grader.send_signal(signum)
        _, stderr = grader.communicate(timeout=30)
        seconds = time.monotonic() - stopped
    finally:
        grader.kill()
        grader.wait()
    assert grader.returncode == 128 + signum and seconds < 10, (grader.returncode, seconds)
    name = signal.Signals(signum).name
    assert stderr.strip().endswith(f"nst: stopped by {name}: 1 of 2 submissions graded, in "
                                   f"{out}."), stderr
    with open(out, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [Path(row["submission"]).name for row in rows] == ["a_honest.ipynb"]
    assert rows[0]["total"] == "4"
    assert _grader_leftovers(grader.pid) == []
